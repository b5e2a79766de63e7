/**
 * The agent as a real process (`node bin/run.mjs agent`, and the bundle the image runs) against
 * the fake API server and a local AWS stub: it becomes ready, publishes, logs JSON, never logs
 * the AWS secret key, and shuts down cleanly on SIGTERM (lease released, exit 0).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../support/fake-k8s/agent.js';
import {
  type AgentProcess,
  bundleAgent,
  deploymentNodeOptions,
  FAKE_SECRET_KEY,
  spawnAgent,
  waitReady,
} from '../../support/fake-k8s/agent-process.js';
import { type AwsStub, startAwsStub } from '../../support/fake-k8s/aws-stub.js';
import { daemonSetPod, EC2_ID, ec2Node, piNode, pod } from '../../support/fake-k8s/fixtures.js';
import { type FakeK8s, startFakeK8s } from '../../support/fake-k8s/server.js';
import { freePort } from '../../support/moto.js';

function leaseHolder(k8s: FakeK8s): string | undefined {
  return (k8s.get('leases', 'k3s-burst', 'k3s-burst-agent')?.spec as { holderIdentity?: string } | undefined)
    ?.holderIdentity;
}

describe('agent process', () => {
  let k8s: FakeK8s;
  let aws: AwsStub;
  let proc: AgentProcess | undefined;

  beforeAll(async () => {
    k8s = await startFakeK8s({ token: 'process-token' });
    aws = await startAwsStub();
    k8s.upsert('nodes', piNode('pi-node-1', { controlPlane: true }));
    k8s.upsert('nodes', ec2Node(EC2_ID));
    k8s.upsert('pods', daemonSetPod('pi-node-1'));
    k8s.upsert('pods', pod('api-p1', { cpu: '500m', memory: '512Mi' }));
  });
  afterAll(async () => {
    await proc?.stop(2000);
    await aws.close();
    await k8s.close();
  });

  it('becomes ready, publishes a snapshot, and exits 0 on SIGTERM without logging secrets', async () => {
    proc = spawnAgent(k8s, aws, {
      metricsPort: await freePort(),
      env: { K3S_BURST_LOG_LEVEL: 'debug', K3S_BURST_LEADER_ELECT: 'true', POD_NAMESPACE: 'k3s-burst' },
    });
    await waitReady(proc.metricsPort);
    // ready may mean "synced (standby)" for a moment before the lease is won; then it publishes
    await until(() => aws.putEvents.some((e) => e.DetailType === 'ClusterSnapshot'), 'a snapshot', 10_000);
    // The leader starts the publisher and the command consumer together (lib/agent/agent.ts):
    // the first ReceiveMessage may reach the stub just after the first PutEvents.
    await until(
      () => aws.calls.some((c) => c.target === 'AmazonSQS.ReceiveMessage'),
      'a ReceiveMessage',
      10_000,
    );
    expect(leaseHolder(k8s)).toBe('agent-proc-0');
    const metrics = await (await fetch(`http://127.0.0.1:${proc.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^k3s_burst_agent_snapshots_published_total [1-9]/m);

    const started = Date.now();
    const code = await proc.stop(10_000);
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    // The lease was released on the way out, so a standby takes over at once
    expect(leaseHolder(k8s)).toBe('');

    const lines = proc.stdout().trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as { level: string; msg: string; time: string });
    expect(records.every((r) => typeof r.time === 'string' && typeof r.level === 'string')).toBe(true);
    expect(records.map((r) => r.msg)).toEqual(
      expect.arrayContaining([
        'agent started',
        'caches synced',
        'became leader',
        'signal received, shutting down',
        'agent stopped',
      ]),
    );
    expect(proc.stdout() + proc.stderr()).not.toContain(FAKE_SECRET_KEY);
    expect(proc.stdout()).not.toContain('process-token');
    // the SDK signed with the access key id; the secret itself never left the process
    expect(aws.calls.every((c) => !JSON.stringify(c).includes(FAKE_SECRET_KEY))).toBe(true);
  });

  it('exits 2 naming the variable when the configuration is invalid, without echoing secrets', async () => {
    const p = spawnAgent(k8s, aws, {
      metricsPort: await freePort(),
      env: { K3S_BURST_QUEUE_URL: 'not a url', AWS_REGION: 'mars' },
    });
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain('--queue-url / K3S_BURST_QUEUE_URL is not an SQS queue URL');
    expect(p.stderr()).toContain('--region / AWS_REGION is not an AWS region (got "mars")');
    expect(p.stdout() + p.stderr()).not.toContain(FAKE_SECRET_KEY);
  });

  it('the bundle built like deploy/Dockerfile runs `agent --help` and the agent itself with the Deployment NODE_OPTIONS', async () => {
    const bundle = bundleAgent();
    const help = execFileSync(process.execPath, [bundle, 'agent', '--help'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(help).toContain('Usage: k3s-burst agent [options]');
    // as deploy/deployment.yaml runs it: --jitless (no WebAssembly) among the flags
    const nodeOptions = deploymentNodeOptions();
    expect(nodeOptions).toContain('--jitless');
    const before = aws.putEvents.length;
    const p = spawnAgent(k8s, aws, {
      metricsPort: await freePort(),
      bundle,
      args: ['agent'],
      env: { NODE_OPTIONS: nodeOptions },
    });
    try {
      await waitReady(p.metricsPort);
      // it synced and published a snapshot through its own HTTP and SigV4 clients
      await until(() => aws.putEvents.length > before, 'a snapshot from the bundle', 20_000);
    } finally {
      expect(await p.stop(10_000)).toBe(0);
    }
    expect(p.stdout() + p.stderr()).not.toContain(FAKE_SECRET_KEY);
  });
});
