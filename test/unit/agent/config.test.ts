/** Agent configuration: flags win over env, and every error names the flag, the variable and the fix. */
import { describe, expect, it } from 'vitest';
import { AgentConfigError, parseAgentConfig } from '../../../lib/agent/config.js';
import { createLogger, memoryLogger } from '../../../lib/agent/logger.js';
import { errorFields } from '../../../lib/core/logger.js';

const ENV = {
  K3S_BURST_CLUSTER: 'pi-lab',
  K3S_BURST_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/123456789012/k3s-burst-pi-lab-commands',
  AWS_REGION: 'eu-central-1',
};

function problems(args: string[], env: Record<string, string | undefined>): string[] {
  try {
    parseAgentConfig(args, env);
  } catch (err) {
    if (err instanceof AgentConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('parseAgentConfig', () => {
  it('applies defaults and lets flags win over the environment', () => {
    expect(parseAgentConfig([], ENV)).toMatchObject({
      cluster: 'pi-lab',
      eventBusName: 'k3s-burst-pi-lab',
      metricsPort: 8080,
      leaderElect: false,
      namespace: 'k3s-burst',
      batchIdleMs: 1000,
      batchMaxMs: 10_000,
      heartbeatSeconds: 60,
      logLevel: 'info',
    });
    expect(
      parseAgentConfig(['--cluster', 'lab-2', '--leader-elect', '--heartbeat-seconds', '30'], {
        ...ENV,
        K3S_BURST_HEARTBEAT_SECONDS: '90',
      }),
    ).toMatchObject({
      cluster: 'lab-2',
      eventBusName: 'k3s-burst-lab-2',
      leaderElect: true,
      heartbeatSeconds: 30,
    });
    expect(parseAgentConfig(['-h'], {})).toBe('help');
  });

  it('lists every missing required setting with its flag, variable and where to find it', () => {
    expect(problems([], {})).toEqual([
      expect.stringMatching(/^--cluster \/ K3S_BURST_CLUSTER is required: set it to the cluster name/),
      expect.stringMatching(
        /^--queue-url \/ K3S_BURST_QUEUE_URL is required: use the CommandQueueUrl output/,
      ),
      expect.stringMatching(/^--region \/ AWS_REGION is required: the region of the k3s-burst stack/),
    ]);
  });

  it.each([
    [{ K3S_BURST_CLUSTER: 'Pi_Lab' }, '--cluster / K3S_BURST_CLUSTER must be 2-32 lowercase letters'],
    [{ K3S_BURST_QUEUE_URL: 'sqs://nope' }, '--queue-url / K3S_BURST_QUEUE_URL is not an SQS queue URL'],
    [{ AWS_REGION: 'europe' }, '--region / AWS_REGION is not an AWS region (got "europe")'],
    [
      { K3S_BURST_METRICS_PORT: '80000' },
      '--metrics-port / K3S_BURST_METRICS_PORT must be an integer in [0, 65535] (got "80000")',
    ],
    [
      { K3S_BURST_HEARTBEAT_SECONDS: '5' },
      '--heartbeat-seconds / K3S_BURST_HEARTBEAT_SECONDS must be an integer in [10, 600]',
    ],
    [
      { K3S_BURST_BATCH_IDLE_MS: '5000', K3S_BURST_BATCH_MAX_MS: '2000' },
      '--batch-max-ms must be ≥ --batch-idle-ms',
    ],
    [{ K3S_BURST_LEADER_ELECT: 'yes' }, 'K3S_BURST_LEADER_ELECT must be true or false (got "yes")'],
    [
      { K3S_BURST_LOG_LEVEL: 'trace' },
      '--log-level / K3S_BURST_LOG_LEVEL must be debug, info, warn or error',
    ],
    [
      { K3S_BURST_EVENT_BUS: 'bus with spaces' },
      '--event-bus / K3S_BURST_EVENT_BUS is not a bus name or ARN',
    ],
  ])('rejects %o naming the setting', (over, message) => {
    const found = problems([], { ...ENV, ...over });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('rejects unknown flags with a pointer to --help', () => {
    expect(problems(['--clustr', 'x'], ENV)[0]).toMatch(/--clustr.*see k3s-burst agent --help/);
  });
});

describe('logger', () => {
  it('writes one JSON object per line with time, level and fields, honouring the level', () => {
    const lines: string[] = [];
    const log = createLogger({
      write: (l) => lines.push(l),
      level: 'info',
      now: () => 0,
      base: { component: 'agent' },
    });
    log.debug('hidden');
    log.child({ node: 'n1' }).warn('drain refused', { reason: 'on-prem' });
    expect(lines).toEqual([
      '{"time":"1970-01-01T00:00:00.000Z","level":"warn","msg":"drain refused","component":"agent","node":"n1","reason":"on-prem"}\n',
    ]);
  });

  it('redacts secret-looking fields at any depth, so AWS keys and tokens never reach the log', () => {
    const log = memoryLogger();
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';
    log.info('careless', {
      AWS_SECRET_ACCESS_KEY: secret,
      credentials: { secretAccessKey: secret },
      headers: { authorization: `Bearer ${secret}`, Cookie: secret },
      nested: [{ sessionToken: secret, password: secret }],
      key: secret,
    });
    expect(JSON.stringify(log.lines)).not.toContain(secret);
    expect(log.lines[0]).toMatchObject({
      AWS_SECRET_ACCESS_KEY: '<redacted>',
      headers: { authorization: '<redacted>' },
    });
  });

  it('logs errors by message and status only', () => {
    const err = Object.assign(new Error('GET /api/v1/nodes → 401: Unauthorized'), {
      status: 401,
      config: { token: 'x' },
    });
    expect(errorFields(err)).toEqual({ error: 'GET /api/v1/nodes → 401: Unauthorized', status: 401 });
  });
});
