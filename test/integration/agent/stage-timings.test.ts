/**
 * Stage timings through the whole agent (issue 17 item 2): a cloud Node registers and turns
 * Ready, a pending pod is bound to it and runs — the agent's /metrics shows the histograms and
 * the next snapshots carry the observations reconcile needs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HealthServer, startHealthServer } from '../../../lib/agent/http-server.js';
import { type ClusterSnapshot, decodeSnapshotDetail, StageObservation } from '../../../lib/events/index.js';
import { startTestAgent, type TestAgent, until } from '../../support/fake-k8s/agent.js';
import { ec2Node, pod } from '../../support/fake-k8s/fixtures.js';
import { type FakeK8s, startFakeK8s } from '../../support/fake-k8s/server.js';

const ID = 'i-0bbbbbbbbbbbbbbb7';
const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

function snapshots(t: TestAgent): ClusterSnapshot[] {
  return t.bus.accepted
    .filter((e) => e.detailType === 'ClusterSnapshot')
    .map((e) => decodeSnapshotDetail(JSON.parse(e.detail)));
}

/** A managed node registered `createdS` ago, Ready `readyS` ago (NotReady when undefined). */
function cloudNode(createdS: number, readyS: number | undefined) {
  const n = ec2Node(ID, { ready: readyS !== undefined });
  (n.metadata as Record<string, unknown>).creationTimestamp = ago(createdS);
  const status = n.status as { conditions: { type: string; lastTransitionTime: string }[] };
  for (const c of status.conditions) c.lastTransitionTime = ago(readyS ?? createdS);
  return n;
}

describe('agent stage timings against the fake API server', () => {
  let k8s: FakeK8s;
  let t: TestAgent | undefined;
  let server: HealthServer | undefined;

  beforeAll(async () => {
    k8s = await startFakeK8s({ token: 'agent-token' });
  });
  afterAll(async () => {
    await k8s.close();
  });
  afterEach(async () => {
    await server?.close();
    await t?.stop();
    t = undefined;
    server = undefined;
  });

  it('exposes registered-to-ready and pod-wait histograms on /metrics and carries both in the snapshot', async () => {
    // Given: a pod pending for 90 s and a cloud node registered 30 s ago, not Ready yet
    const job = pod('burst-job-1', { cpu: '1', memory: '1Gi', pendingSince: ago(90) });
    k8s.upsert('pods', job);
    k8s.upsert('nodes', cloudNode(30, undefined));
    t = await startTestAgent(k8s);
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: t.agent.metrics,
      ready: () => ({ ready: true, reason: 'test' }),
    });
    await until(() => snapshots(t as TestAgent).length > 0, 'first snapshot');
    expect(snapshots(t)[0]?.stageObservations).toBeUndefined();

    // When: the node turns Ready 18 s after it registered, the scheduler binds the pod to it,
    // and its containers become ready
    k8s.upsert('nodes', cloudNode(30, 12));
    const nodeName = `burst-${ID}`;
    const bound = structuredClone(job) as Record<string, Record<string, unknown>>;
    (bound.spec as Record<string, unknown>).nodeName = nodeName;
    bound.status = {
      phase: 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: ago(8) },
        { type: 'ContainersReady', status: 'True', lastTransitionTime: ago(2) },
      ],
    };
    k8s.upsert('pods', bound as never);

    // Then: /metrics has one observation per stage in the right buckets
    await until(
      () => snapshots(t as TestAgent).some((s) => (s.stageObservations?.length ?? 0) === 2),
      'a snapshot with both observations',
    );
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    expect(text).toContain('# TYPE k3s_burst_stage_seconds histogram');
    expect(text).toMatch(/^k3s_burst_stage_seconds_count\{stage="registered-to-ready"\} 1$/m);
    expect(text).toMatch(/^k3s_burst_stage_seconds_bucket\{stage="registered-to-ready",le="15"\} 0$/m);
    expect(text).toMatch(/^k3s_burst_stage_seconds_bucket\{stage="registered-to-ready",le="20"\} 1$/m);
    expect(text).toMatch(/^k3s_burst_stage_seconds_count\{stage="pod-wait"\} 1$/m);
    expect(text).toMatch(/^k3s_burst_stage_seconds_bucket\{stage="pod-wait",le="60"\} 0$/m);
    expect(text).toMatch(/^k3s_burst_stage_seconds_bucket\{stage="pod-wait",le="90"\} 1$/m);
    expect(text).toMatch(/^k3s_burst_stage_seconds_bucket\{stage="pod-wait",le="\+Inf"\} 1$/m);
    // … and the snapshot carries them, each a valid StageObservation
    const carried = snapshots(t).find((s) => s.stageObservations?.length === 2)?.stageObservations ?? [];
    const parsed = carried.map((o) => StageObservation.parse(o));
    expect(parsed.map((o) => o.kind).sort()).toEqual(['node-ready', 'pod-running']);
    expect(parsed.find((o) => o.kind === 'node-ready')).toMatchObject({ instanceId: ID, node: nodeName });
    expect(parsed.find((o) => o.kind === 'pod-running')).toMatchObject({
      podUid: 'uid-pod-default-burst-job-1',
      node: nodeName,
    });
  });
});
