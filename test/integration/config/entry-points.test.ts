/**
 * Issue #12 "Config checks differ by entry point": each config mistake is refused by
 * `plan`, `simulate`, the CDK app's loader (`cdk synth`) and the Lambdas' `CONFIG_JSON`
 * reader alike, with the same problem lines, and the CLIs exit 2. Before the one validator,
 * an unknown field was dropped (exit 0), synth skipped the catalog and cron checks, SSM
 * names, labels, taints and the server URL were not checked, heartbeat ≥ stale passed, and
 * a deeply nested document crashed with a stack trace.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../../lambdas/runtime.js';
import type { CliIo } from '../../../lib/cli/io.js';
import { run as plan } from '../../../lib/cli/plan.js';
import { run as simulate } from '../../../lib/cli/simulate.js';
import { loadStackConfig } from '../../../lib/infra/index.js';

const root = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'k3s-burst-config-entry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: test mutations of a JSON document
type Doc = Record<string, any>;

function example(): Doc {
  return JSON.parse(readFileSync(join(root, 'examples', 'k3s-burst.config.json'), 'utf8'));
}

function io(): CliIo & { out: string; err: string } {
  const r = {
    out: '',
    err: '',
    stdout: (t: string) => {
      r.out += t;
    },
    stderr: (t: string) => {
      r.err += t;
    },
    cwd: root,
    env: {},
    isTTY: false,
  };
  return r;
}

const LAMBDA_ENV = {
  CLUSTER_NAME: 'pi-lab',
  EVENT_BUS_NAME: 'k3s-burst-pi-lab',
  TABLE_NAME: 'k3s-burst-pi-lab',
  TAILSCALE_OAUTH_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:ts-AbCdEf',
  K3S_JOIN_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:k3s-AbCdEf',
  SUBNET_IDS: 'subnet-0123456789abcdef0',
  SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
};

/** The `$.…` problem lines of an error text, in order (without the Lambda's closing advice). */
function problemLines(text: string): string[] {
  return text
    .replace(/\. The k3s-burst stack sets it; .*$/s, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('$'));
}

interface Outcome {
  planCode: number;
  planErr: string;
  simulateCode: number;
  simulateErr: string;
  synth: string;
  lambda: string;
}

function errorText(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '(accepted)';
}

async function everyEntryPoint(name: string, text: string): Promise<Outcome> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, text);
  const p = io();
  const planCode = await plan(
    [
      '--snapshot',
      'examples/plan/burst/snapshot.json',
      '--fleet',
      'examples/plan/burst/fleet.json',
      '--config',
      file,
    ],
    p,
  );
  const s = io();
  const simulateCode = await simulate(
    ['--scenario', 'examples/scenarios/ci-burst.json', '--config', file, '--out', join(dir, 'sim-out')],
    s,
  );
  return {
    planCode,
    planErr: p.err,
    simulateCode,
    simulateErr: s.err,
    synth: errorText(() => loadStackConfig(file)),
    lambda: errorText(() => readEnv({ ...LAMBDA_ENV, CONFIG_JSON: text })),
  };
}

const cases: Array<{ defect: string; mutate: (c: Doc) => void; line: string }> = [
  {
    defect: 'a misspelt top-level field (schedules → schedule) was dropped silently',
    mutate: (c) => {
      c.schedule = c.schedules;
      delete c.schedules;
    },
    line: '$.schedule: unknown field — did you mean "schedules"?',
  },
  {
    defect: 'synth accepted a candidate type missing from the catalog',
    mutate: (c) => {
      c.nodes.candidateTypes = ['t4g.mediun'];
    },
    line: '$.nodes.candidateTypes[0]: unknown instance type — did you mean "t4g.medium"?',
  },
  {
    defect: 'synth accepted a cron with fields out of range',
    mutate: (c) => {
      c.schedules[0].cron = '61 25 * * *';
    },
    line: '$.schedules[0].cron: minute 61 is out of range 0-59',
  },
  {
    defect: 'nodes.amiSsmParameters was unchecked',
    mutate: (c) => {
      c.nodes.amiSsmParameters = { arm64: 'ubuntu 24.04 arm64' };
    },
    line: '$.nodes.amiSsmParameters.arm64: an SSM parameter name may hold only letters, digits, "_", ".", "-" and "/" (no spaces)',
  },
  {
    defect: 'label syntax was checked only when user data was rendered',
    mutate: (c) => {
      c.nodes.labels = { 'k3s-burst.io/pool': 'cloud pool' };
    },
    line: '$.nodes.labels["k3s-burst.io/pool"]: a label value must be empty or 1-63 letters',
  },
  {
    defect: 'taint syntax was checked only when user data was rendered',
    mutate: (c) => {
      c.nodes.taints = [{ key: '-cloud', value: 'true', effect: 'NoSchedule' }];
    },
    line: '$.nodes.taints[0].key: name "-cloud" must be 1-63 letters',
  },
  {
    defect: 'the server URL was checked only when user data was rendered',
    mutate: (c) => {
      c.cluster.k3sServerUrl = 'https://100.64.5.11:6443/k3s?x=1';
    },
    line: '$.cluster.k3sServerUrl: the K3s server URL is https://host:port only',
  },
  {
    defect: 'heartbeatSeconds > staleAfterSeconds was accepted',
    mutate: (c) => {
      c.agent = { heartbeatSeconds: 400, staleAfterSeconds: 300, abandonAfterSeconds: 3600 };
    },
    line: '$.agent.heartbeatSeconds: heartbeatSeconds must be < staleAfterSeconds (got 400 ≥ 300)',
  },
  {
    defect: 'a time zone in the wrong case was accepted',
    mutate: (c) => {
      c.schedules[0].timezone = 'europe/berlin';
    },
    line: '$.schedules[0].timezone: write the time zone in its canonical form — did you mean "Europe/Berlin"?',
  },
  {
    defect: 'two policies firing at the same minute were accepted',
    mutate: (c) => {
      c.schedules[1].cron = c.schedules[0].cron;
    },
    line: '$.schedules[1].cron: fires at the same minute as schedules[0] ("weekday-day", "0 7 * * 1-5") in Europe/Berlin',
  },
];

describe('every entry point refuses the same config mistakes with the same lines', () => {
  it.each(cases)('$defect', async ({ mutate, line }) => {
    // Given the example config with one mistake
    const config = example();
    mutate(config);
    // When each entry point reads it
    const r = await everyEntryPoint('bad', JSON.stringify(config, null, 2));
    // Then each refuses it, naming the field
    expect(r.planCode).toBe(2);
    expect(r.simulateCode).toBe(2);
    for (const text of [r.planErr, r.simulateErr, r.synth, r.lambda]) expect(text).toContain(line);
    // And with identical problem lines
    const lines = problemLines(r.planErr);
    expect(lines.length).toBeGreaterThan(0);
    expect(problemLines(r.simulateErr)).toEqual(lines);
    expect(problemLines(r.synth)).toEqual(lines);
    expect(problemLines(r.lambda)).toEqual(lines);
  });

  it('refuses a 100,000-level nested document with a config error, not a stack overflow', async () => {
    // Given a document nested 100,000 levels deep under a real field (200 KB: under the size cap)
    const depth = 100_000;
    const config = example();
    config.nodes.labels = '@DEEP@';
    const text = JSON.stringify(config).replace('"@DEEP@"', `${'['.repeat(depth)}${']'.repeat(depth)}`);
    // When each entry point reads it
    const r = await everyEntryPoint('deep', text);
    // Then each names the limit, and nothing prints a stack trace
    const line = '$: objects and arrays are nested more than 16 levels deep';
    expect(r.planCode).toBe(2);
    expect(r.simulateCode).toBe(2);
    for (const out of [r.planErr, r.simulateErr, r.synth, r.lambda]) {
      expect(out).toContain(line);
      expect(out).not.toMatch(/RangeError|\n\s+at /);
    }
  });

  it('accepts the example config at every entry point', async () => {
    const text = readFileSync(join(root, 'examples', 'k3s-burst.config.json'), 'utf8');
    const file = join(dir, 'good.json');
    writeFileSync(file, text);
    const p = io();
    const code = await plan(
      [
        '--snapshot',
        'examples/plan/burst/snapshot.json',
        '--fleet',
        'examples/plan/burst/fleet.json',
        '--config',
        file,
      ],
      p,
    );
    expect(p.err).toBe('');
    expect(code).toBe(0);
    expect(loadStackConfig(file).cluster.name).toBe('pi-lab');
    expect(readEnv({ ...LAMBDA_ENV, CONFIG_JSON: text }).config.cluster.name).toBe('pi-lab');
  });
});
