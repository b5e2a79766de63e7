/**
 * The Lambda runtime (lambdas/runtime.ts) through the reconcile handler: environment
 * validation, refusals that never throw, port failures that do, on in-memory fakes.
 */

import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler, reconcileSpec } from '../../../lambdas/reconcile.js';
import {
  type ControlDeps,
  makeHandler,
  RuntimeConfigError,
  type RuntimeEnv,
  readEnv,
} from '../../../lambdas/runtime.js';
import { ControlMetrics } from '../../../lib/control/common.js';
import type { ReconcileResult } from '../../../lib/control/reconcile.js';
import { DetailTypes } from '../../../lib/events/index.js';
import { systemClock } from '../../../lib/system/clock.js';
import { fakeWorld, isoAgo, shape, snapshot, snapshotEvent } from '../../support/control.js';

const CONFIG = {
  cluster: {
    name: 'pi-lab',
    region: 'eu-central-1',
    k3sServerUrl: 'https://100.64.5.11:6443',
    k3sVersion: 'v1.32.6+k3s1',
  },
  tailscale: { federatedClientId: 'kFed3rat3dCNTRL' },
};
const ENV = {
  CLUSTER_NAME: 'pi-lab',
  EVENT_BUS_NAME: 'k3s-burst-pi-lab',
  TABLE_NAME: 'k3s-burst-pi-lab',
  COMMAND_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/123456789012/k3s-burst-pi-lab-commands',
  K3S_JOIN_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:k3s-AbCdEf',
  LAUNCH_TEMPLATE_ID: 'lt-0123456789abcdef0',
  SUBNET_IDS: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
  SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
  INSTANCE_PROFILE_ARN: 'arn:aws:iam::123456789012:instance-profile/k3s-burst-pi-lab-node',
  AMI_PARAMETER_ARM64: '/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
  AMI_PARAMETER_AMD64: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
  CONFIG_JSON: JSON.stringify(CONFIG),
};
const ctx = (id = 'req-1') => ({ awsRequestId: id, functionName: 'k3s-burst-pi-lab-reconcile' }) as Context;

/** ControlDeps over the fake world. */
function depsOf(w: ReturnType<typeof fakeWorld>): ControlDeps {
  const env: RuntimeEnv = readEnv(ENV);
  return { ...w.deps, env, clock: { ...systemClock, ...w.clock.fn, sleep: async () => {} } };
}

describe('readEnv', () => {
  it('accepts the environment the stack sets', () => {
    const env = readEnv(ENV);
    expect(env.cluster).toBe('pi-lab');
    expect(env.subnetIds).toEqual(['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1']);
    expect(env.config.limits.maxNodes).toBe(5); // defaults applied
    expect(env.tailscaleApiUrl).toBe('https://api.tailscale.com');
  });

  it.each([
    ['CLUSTER_NAME', { CLUSTER_NAME: '' }, /CLUSTER_NAME is not set/],
    ['TABLE_NAME', { TABLE_NAME: undefined }, /TABLE_NAME is not set/],
    ['SUBNET_IDS', { SUBNET_IDS: 'subnet-1, nope' }, /SUBNET_IDS is malformed \(expected subnet-… ids/],
    ['SECURITY_GROUP_ID', { SECURITY_GROUP_ID: 'default' }, /SECURITY_GROUP_ID is malformed/],
    [
      'K3S_JOIN_TOKEN_SECRET_ARN',
      { K3S_JOIN_TOKEN_SECRET_ARN: 'my-token' },
      /K3S_JOIN_TOKEN_SECRET_ARN is malformed/,
    ],
    ['TAILSCALE_API_URL', { TAILSCALE_API_URL: 'http://evil.example.com' }, /TAILSCALE_API_URL is malformed/],
    ['CONFIG_JSON (not JSON)', { CONFIG_JSON: '{nope' }, /CONFIG_JSON is not JSON/],
    [
      'CONFIG_JSON (bad field)',
      { CONFIG_JSON: JSON.stringify({ ...CONFIG, limits: { maxNodes: -1 } }) },
      /CONFIG_JSON does not hold a valid config: .*\$\.limits\.maxNodes/s,
    ],
    [
      'tailscale.federatedClientId (federated, the default, without it: never an OAuth fallback)',
      { CONFIG_JSON: JSON.stringify({ ...CONFIG, tailscale: {} }) },
      /CONFIG_JSON \$\.tailscale\.federatedClientId: is required with tailscale\.auth "federated" \(the default\): create a federated identity/,
    ],
    [
      'TAILSCALE_OAUTH_SECRET_ARN (oauth-client without it)',
      { CONFIG_JSON: JSON.stringify({ ...CONFIG, tailscale: { auth: 'oauth-client' } }) },
      /TAILSCALE_OAUTH_SECRET_ARN is required with tailscale\.auth "oauth-client"/,
    ],
    [
      'CLUSTER_NAME vs CONFIG_JSON',
      { CLUSTER_NAME: 'other-lab' },
      /CLUSTER_NAME is "other-lab" but CONFIG_JSON is for cluster "pi-lab"/,
    ],
  ])('names %s when it is wrong, with the fix', (_what, patch, message) => {
    const env = { ...ENV, ...patch } as Record<string, string | undefined>;
    let error: unknown;
    try {
      readEnv(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RuntimeConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/redeploy the stack/);
  });

  it('never echoes a malformed value (it may be a secret pasted in the wrong place)', () => {
    expect(() => readEnv({ ...ENV, K3S_JOIN_TOKEN_SECRET_ARN: 'K10secretvalue::node:abc' })).toThrow(
      /got 24 chars/,
    );
    try {
      readEnv({ ...ENV, K3S_JOIN_TOKEN_SECRET_ARN: 'K10secretvalue::node:abc' });
    } catch (e) {
      expect((e as Error).message).not.toContain('K10secretvalue');
    }
  });
});

/** The reconcile handler, built from lambdas/reconcile.ts's spec over a fake world. */
function reconcileOver(w: ReturnType<typeof fakeWorld>) {
  return makeHandler('reconcile', reconcileSpec, { deps: () => depsOf(w) });
}

describe('makeHandler (reconcile)', () => {
  it('refuses an invalid event: logged reason + InvalidEvents metric, no throw, nothing done', async () => {
    const w = fakeWorld();
    const reconcileHandler = reconcileOver(w);
    const r = await reconcileHandler(
      { source: 'k3s-burst.agent', 'detail-type': 'ClusterSnapshot', id: 'x' },
      ctx(),
    );
    expect(r).toMatchObject({ outcome: 'rejected' });
    expect(w.metrics.total(ControlMetrics.invalidEvents)).toBe(1);
    expect(w.log.lines.some((l) => l.level === 'warn' && /rejected/.test(l.message))).toBe(true);
    expect(w.bus.sent).toHaveLength(0);
  });

  it('refuses a snapshot of another cluster', async () => {
    const w = fakeWorld();
    const reconcileHandler = reconcileOver(w);
    const foreign = snapshot({ cluster: 'other-lab', seq: 5, observedAt: isoAgo(5) });
    const r = await reconcileHandler(snapshotEvent(foreign), ctx());
    expect(r).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/other-lab/) });
    expect(await w.state.getLatestSnapshot('other-lab')).toBeUndefined();
  });

  it('runs the use-case for a valid snapshot and passes the request id as lease holder', async () => {
    const w = fakeWorld();
    const reconcileHandler = reconcileOver(w);
    const leases: string[] = [];
    const acquire = w.state.acquireLease.bind(w.state);
    w.state.acquireLease = async (c, holder, now, ttl) => {
      leases.push(holder);
      return acquire(c, holder, now, ttl);
    };
    const snap = snapshot({ seq: 7, observedAt: isoAgo(5), pendingShapes: [shape({ count: 2 })] });
    const r = (await reconcileHandler(snapshotEvent(snap), ctx('aws-req-42'))) as ReconcileResult;
    expect(r.outcome).toBe('decided');
    expect(leases).toEqual(['aws-req-42']);
    expect(w.bus.detailsOf(DetailTypes.scaleOutRequested)).toHaveLength(1);
  });

  it('a port failure is logged and rethrown so Lambda retries the event', async () => {
    const w = fakeWorld();
    const reconcileHandler = reconcileOver(w);
    w.state.putSnapshotIfNewer = async () => {
      throw new Error('DynamoDB unreachable');
    };
    const snap = snapshot({ seq: 9, observedAt: isoAgo(5) });
    await expect(reconcileHandler(snapshotEvent(snap), ctx())).rejects.toThrow(/DynamoDB unreachable/);
    expect(w.log.lines.some((l) => l.level === 'error' && /reconcile failed/.test(l.message))).toBe(true);
  });

  it('without test deps, a missing variable fails every invocation with an error naming it', async () => {
    const saved = { ...process.env };
    try {
      for (const k of Object.keys(ENV)) delete process.env[k];
      Object.assign(process.env, ENV, { EVENT_BUS_NAME: '' });
      await expect(handler(snapshotEvent(snapshot({ seq: 1 })), ctx())).rejects.toThrow(
        /EVENT_BUS_NAME is not set/,
      );
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
