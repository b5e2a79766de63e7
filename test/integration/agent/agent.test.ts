/**
 * The whole agent (informers → snapshot → publisher; queue → drain/delete; Lease; Events;
 * /healthz /readyz /metrics) against the fake API server and in-memory AWS fakes.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type HealthServer, startHealthServer } from '../../../lib/agent/http-server.js';
import { MetricNames } from '../../../lib/agent/metrics.js';
import { type ClusterSnapshot, decodeSnapshotDetail } from '../../../lib/events/index.js';
import { startTestAgent, type TestAgent, until } from '../../support/fake-k8s/agent.js';
import {
  CLUSTER,
  commandEnvelope,
  daemonSetPod,
  ec2Node,
  EC2_ID as ID,
  mirrorPod,
  EC2_NODE as NODE,
  pdb,
  piNode,
  pod,
} from '../../support/fake-k8s/fixtures.js';
import { type FakeK8s, startFakeK8s } from '../../support/fake-k8s/server.js';

function snapshots(t: TestAgent): ClusterSnapshot[] {
  return t.bus.accepted
    .filter((e) => e.detailType === 'ClusterSnapshot')
    .map((e) => decodeSnapshotDetail(JSON.parse(e.detail)));
}

function unschedulable(k8s: FakeK8s, node: string): boolean | undefined {
  return (k8s.get('nodes', undefined, node)?.spec as { unschedulable?: boolean } | undefined)?.unschedulable;
}

function seedCluster(k8s: FakeK8s): void {
  k8s.upsert('nodes', piNode('pi-node-1', { controlPlane: true }));
  k8s.upsert('nodes', piNode('pi-node-2'));
  k8s.upsert('nodes', ec2Node(ID));
  k8s.upsert('pods', daemonSetPod('pi-node-1'));
  k8s.upsert('pods', daemonSetPod(NODE));
  k8s.upsert('pods', mirrorPod('pi-node-1'));
  k8s.upsert('pods', pod('web-a1', { node: NODE, labels: { app: 'web' } }));
  k8s.upsert('pods', pod('api-p1', { cpu: '500m', memory: '512Mi' }));
  k8s.upsert('pods', pod('api-p2', { cpu: '500m', memory: '512Mi' }));
  k8s.upsert('poddisruptionbudgets', pdb('web-pdb', 'web', 1));
}

describe('agent against the fake API server', () => {
  let k8s: FakeK8s;
  let t: TestAgent | undefined;
  const extra: TestAgent[] = [];
  let server: HealthServer | undefined;

  /** /healthz, /readyz, /metrics of the agent on a free port; readiness follows `t`. */
  const serveHealth = (agent: TestAgent) =>
    startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: agent.agent.metrics,
      ready: () => t?.agent.readiness() ?? { ready: false, reason: 'stopped' },
    });

  beforeAll(async () => {
    k8s = await startFakeK8s({ token: 'agent-token' });
  });
  afterAll(async () => {
    await k8s.close();
  });
  beforeEach(() => {
    for (const r of ['pods', 'nodes', 'poddisruptionbudgets', 'events', 'leases'])
      for (const o of k8s.list(r)) k8s.remove(r, o.metadata?.namespace, o.metadata?.name as string);
    k8s.requests.length = 0;
    seedCluster(k8s);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await t?.stop();
    t = undefined;
    for (const a of extra.splice(0)) await a.stop();
  });

  it('is not ready before the first full sync, then publishes a snapshot of the cluster', async () => {
    // Given the pod list fails twice first
    k8s.failNext({ verb: 'list', resource: 'pods' }, 500, 2);
    // When
    t = await startTestAgent(k8s);
    server = await serveHealth(t);
    // Then: not ready, nothing published while the caches are incomplete
    const early = await fetch(`http://127.0.0.1:${server.port}/readyz`);
    expect(early.status).toBe(503);
    expect(await early.text()).toMatch(/not synced|no snapshot/);
    expect(snapshots(t)).toHaveLength(0);
    await t.agent.synced;
    await until(() => snapshots(t as TestAgent).length > 0, 'first snapshot');
    await until(() => t?.agent.readiness().ready === true, 'ready');
    const ready = await fetch(`http://127.0.0.1:${server.port}/readyz`);
    expect(ready.status).toBe(200);
    const s = snapshots(t)[0] as ClusterSnapshot;
    expect(s.cluster).toBe(CLUSTER);
    expect(s.pendingShapes).toHaveLength(1);
    expect(s.pendingShapes[0]).toMatchObject({ count: 2, cpuMilli: 500, memoryMiB: 512 });
    expect(s.nodes.map((n) => [n.name, n.managed])).toEqual([
      [NODE, true],
      ['pi-node-1', false],
      ['pi-node-2', false],
    ]);
    expect(t.agent.metrics.get(MetricNames.relists, { resource: 'pods' })).toBe(3);
    expect(t.agent.metrics.get(MetricNames.watchRestarts, { resource: 'pods', reason: 'error' })).toBe(2);
  });

  it('publishes a new snapshot with a higher seq after a change, and only then', async () => {
    t = await startTestAgent(k8s);
    await until(() => snapshots(t as TestAgent).length === 1, 'first snapshot');
    // An irrelevant change (a node heartbeat that changes nothing we model) does not publish
    k8s.upsert('nodes', { ...piNode('pi-node-2') });
    await new Promise((r) => setTimeout(r, 150));
    expect(snapshots(t)).toHaveLength(1);
    // A new pending pod does, after the batch window
    k8s.upsert('pods', pod('batch-x1', { cpu: '2', memory: '1Gi' }));
    await until(() => snapshots(t as TestAgent).length === 2, 'snapshot after change');
    const [first, second] = snapshots(t) as [ClusterSnapshot, ClusterSnapshot];
    expect(second.seq).toBeGreaterThan(first.seq);
    expect(second.pendingShapes.reduce((n, x) => n + x.count, 0)).toBe(3);
  });

  it('serves /healthz, /metrics in Prometheus text format, 404 and 405', async () => {
    t = await startTestAgent(k8s);
    server = await serveHealth(t);
    await until(() => snapshots(t as TestAgent).length > 0, 'first snapshot');
    const base = `http://127.0.0.1:${server.port}`;
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await metrics.text();
    expect(text).toContain('# TYPE k3s_burst_agent_snapshots_published_total counter');
    expect(text).toMatch(/^k3s_burst_agent_snapshots_published_total [1-9]\d*$/m);
    expect(text).toMatch(/^k3s_burst_agent_pending_pods 2$/m);
    expect(text).toMatch(/^k3s_burst_agent_pending_pods_by_shape\{shape="[^"]+"\} 2$/m);
    expect(text).toMatch(/^k3s_burst_agent_last_successful_publish_timestamp_seconds \d{10}$/m);
    expect(text).toMatch(/^k3s_burst_agent_is_leader 1$/m);
    expect(text).toMatch(/^k3s_burst_agent_cached_objects\{resource="pods"\} 6$/m);
    // every sample line belongs to a declared family
    const families = new Set([...text.matchAll(/^# TYPE (\S+) (counter|gauge)$/gm)].map((m) => m[1]));
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
      expect(families.has(line.split(/[{ ]/)[0] as string)).toBe(true);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('drains a managed node from a queued DrainNode, reports NodeDrained, then deletes the message', async () => {
    t = await startTestAgent(k8s);
    await until(() => snapshots(t as TestAgent).length > 0, 'first snapshot');
    const deadline = new Date(Date.now() + 5000).toISOString();
    const id = t.queue.send(
      commandEnvelope(
        'DrainNode',
        {
          schemaVersion: 1,
          cluster: CLUSTER,
          decisionId: 'dec-7',
          nodeName: NODE,
          instanceId: ID,
          reason: 'empty for 10m',
          deadline,
        },
        'evt-drain-1',
      ),
    );
    await until(() => (t as TestAgent).queue.deleted.includes(id), 'message deleted');
    const drained = t.bus.ofType<{ outcome: string; evictedPods: number; decisionId: string }>('NodeDrained');
    expect(drained).toEqual([
      expect.objectContaining({ outcome: 'drained', evictedPods: 1, decisionId: 'dec-7' }),
    ]);
    expect(unschedulable(k8s, NODE)).toBe(true);
    // Events explain it on the node (drain start/end) and on the evicted pod
    const events = k8s.list('events') as { reason: string; involvedObject: { kind: string; name: string } }[];
    expect(events.filter((e) => e.involvedObject.kind === 'Node').map((e) => e.reason)).toEqual([
      'DrainStarted',
      'DrainFinished',
    ]);
    expect(events.find((e) => e.reason === 'Evicted')?.involvedObject.name).toBe('web-a1');
    // The eviction shows up in the next snapshot (the cordon too)
    await until(
      () => snapshots(t as TestAgent).some((s) => s.nodes.find((n) => n.name === NODE)?.cordoned === true),
      'cordoned node in a snapshot',
    );
  });

  it('refuses DrainNode and DeleteNode for an on-prem Pi: no cordon, no eviction, no delete', async () => {
    k8s.upsert('pods', pod('web-pi1', { node: 'pi-node-2', labels: { app: 'web' } }));
    t = await startTestAgent(k8s);
    await t.agent.synced;
    const drainId = t.queue.send(
      commandEnvelope('DrainNode', {
        schemaVersion: 1,
        cluster: CLUSTER,
        decisionId: 'dec-8',
        nodeName: 'pi-node-2',
        instanceId: 'i-0aaaaaaaaaaaaaaa1',
        reason: 'bogus',
        deadline: new Date(Date.now() + 5000).toISOString(),
      }),
    );
    const deleteId = t.queue.send(
      commandEnvelope('DeleteNode', {
        schemaVersion: 1,
        cluster: CLUSTER,
        decisionId: 'dec-8',
        nodeName: 'pi-node-1',
        reason: 'bogus',
      }),
    );
    await until(
      () =>
        (t as TestAgent).queue.deleted.includes(drainId) && (t as TestAgent).queue.deleted.includes(deleteId),
      'both handled',
    );
    expect(t.bus.ofType<{ outcome: string }>('NodeDrained').map((d) => d.outcome)).toEqual(['refused']);
    expect(
      k8s.requests.filter((r) => ['patch', 'delete', 'update'].includes(r.verb) && r.resource !== 'leases'),
    ).toEqual([]);
    expect(k8s.requestsOf('create', 'pods/eviction')).toEqual([]);
    expect(k8s.get('nodes', undefined, 'pi-node-1')).toBeDefined();
    expect(unschedulable(k8s, 'pi-node-2')).toBeUndefined();
    expect(t.agent.metrics.get(MetricNames.nodeDeletes, { outcome: 'refused' })).toBe(1);
    expect(t.agent.metrics.get(MetricNames.drains, { outcome: 'refused' })).toBe(1);
  });

  it('deletes a managed Node for DeleteNode and handles a redelivered command once', async () => {
    t = await startTestAgent(k8s);
    await t.agent.synced;
    const body = commandEnvelope(
      'DeleteNode',
      {
        schemaVersion: 1,
        cluster: CLUSTER,
        decisionId: 'dec-9',
        nodeName: NODE,
        instanceId: ID,
        reason: 'terminated',
      },
      'evt-del-1',
    );
    const first = t.queue.send(body);
    await until(() => (t as TestAgent).queue.deleted.includes(first), 'first delivery handled');
    const again = t.queue.send(body);
    await until(() => (t as TestAgent).queue.deleted.includes(again), 'redelivery handled');
    expect(k8s.get('nodes', undefined, NODE)).toBeUndefined();
    expect(k8s.requestsOf('delete', 'nodes')).toHaveLength(1);
    expect(t.agent.metrics.get(MetricNames.nodeDeletes, { outcome: 'deleted' })).toBe(1);
  });

  it('records TriggeredScaleUp and NotHelpable Events on the pending pods of a decision', async () => {
    k8s.upsert('pods', pod('gpu-g1', { cpu: '64', memory: '1Ti' }));
    t = await startTestAgent(k8s);
    await until(() => snapshots(t as TestAgent).length > 0, 'first snapshot');
    const shapes = (snapshots(t)[0] as ClusterSnapshot).pendingShapes;
    const api = shapes.find((x) => x.cpuMilli === 500)?.id as string;
    const gpu = shapes.find((x) => x.cpuMilli === 64_000)?.id as string;
    const a = t.queue.send(
      commandEnvelope(
        'ScaleOutRequested',
        {
          schemaVersion: 1,
          cluster: CLUSTER,
          decisionId: 'dec-s',
          requestedAt: '2026-03-14T09:30:00Z',
          launch: {
            launchId: 'dec-s-0',
            instanceTypes: ['t4g.medium', 't4g.large'],
            capacityTypes: ['spot'],
            arch: 'arm64',
            count: 1,
            shapeIds: [api],
            podsCovered: 2,
            estimatedHourlyUsd: 0.01,
            reason: '2 pods of 500m/512Mi',
          },
        },
        'evt-scale',
      ),
    );
    const b = t.queue.send(
      commandEnvelope(
        'DecisionRecorded',
        {
          schemaVersion: 1,
          cluster: CLUSTER,
          decisionId: 'dec-s',
          decidedAt: '2026-03-14T09:30:00Z',
          trigger: 'snapshot',
          snapshotSeq: 1,
          launches: 1,
          drains: 0,
          terminations: 0,
          unhelpablePods: 1,
          explanations: [
            { kind: 'unhelpable', subject: gpu, message: '1 pod needs 64 CPUs, more than any allowed type' },
          ],
        },
        'evt-dec',
      ),
    );
    await until(
      () => (t as TestAgent).queue.deleted.includes(a) && (t as TestAgent).queue.deleted.includes(b),
      'notices handled',
    );
    const events = (
      k8s.list('events') as {
        reason: string;
        type: string;
        message: string;
        involvedObject: { kind: string; name: string };
      }[]
    )
      .filter((e) => e.involvedObject.kind === 'Pod')
      .map((e) => [e.involvedObject.name, e.reason, e.type]);
    expect(events.sort()).toEqual([
      ['api-p1', 'TriggeredScaleUp', 'Normal'],
      ['api-p2', 'TriggeredScaleUp', 'Normal'],
      ['gpu-g1', 'NotHelpable', 'Warning'],
    ]);
    const msg = (k8s.list('events') as { reason: string; message: string }[]).find(
      (e) => e.reason === 'NotHelpable',
    )?.message;
    expect(msg).toContain('more than any allowed type');
  });

  it('records NotTriggerScaleUp with the answer for every pod a decision did not launch for', async () => {
    k8s.upsert('pods', pod('gpu-g1', { cpu: '64', memory: '1Ti' }));
    t = await startTestAgent(k8s);
    await until(() => snapshots(t as TestAgent).length > 0, 'first snapshot');
    const shapes = (snapshots(t)[0] as ClusterSnapshot).pendingShapes;
    const api = shapes.find((x) => x.cpuMilli === 500)?.id as string;
    const gpu = shapes.find((x) => x.cpuMilli === 64_000)?.id as string;
    const answer = (shapeId: string, kind: string, code: string, message: string) => ({
      shapeId,
      kind,
      count: 1,
      code,
      message,
      targets: [],
      examplePods: [],
    });
    const b = t.queue.send(
      commandEnvelope(
        'DecisionRecorded',
        {
          schemaVersion: 1,
          cluster: CLUSTER,
          decisionId: 'dec-h',
          decidedAt: '2026-03-14T09:30:00Z',
          trigger: 'snapshot',
          snapshotSeq: 1,
          launches: 0,
          drains: 0,
          terminations: 0,
          unhelpablePods: 1,
          explanations: [],
          podAnswers: [
            {
              ...answer(api, 'held-by-limit', 'limit:maxVcpus', 'held back by limits.maxVcpus=32'),
              count: 2,
              limit: { name: 'maxVcpus', nodesNeeded: 1 },
            },
            answer(
              gpu,
              'unhelpable',
              'too-large',
              'requests 64 CPU, more than any matching candidate type offers',
            ),
          ],
        },
        'evt-held',
      ),
    );
    await until(() => (t as TestAgent).queue.deleted.includes(b), 'notice handled');
    const events = (
      k8s.list('events') as {
        reason: string;
        type: string;
        message: string;
        involvedObject: { kind: string; name: string };
      }[]
    ).filter((e) => e.involvedObject.kind === 'Pod');
    expect(events.map((e) => [e.involvedObject.name, e.reason, e.type]).sort()).toEqual([
      ['api-p1', 'NotTriggerScaleUp', 'Warning'],
      ['api-p2', 'NotTriggerScaleUp', 'Warning'],
      ['gpu-g1', 'NotTriggerScaleUp', 'Warning'],
    ]);
    expect(events.find((e) => e.involvedObject.name === 'api-p1')?.message).toBe(
      "pod didn't trigger scale-up (held-by-limit, limit:maxVcpus): held back by limits.maxVcpus=32",
    );
  });

  it('with two replicas and a Lease, exactly one publishes and consumes; the other takes over', async () => {
    t = await startTestAgent(k8s, { leaderElect: true, identity: 'agent-a' });
    await until(() => t?.agent.isLeader() === true, 'a leads');
    const b = await startTestAgent(k8s, {
      leaderElect: true,
      identity: 'agent-b',
      bus: t.bus,
      queue: t.queue,
    });
    extra.push(b);
    await b.agent.synced;
    await new Promise((r) => setTimeout(r, 200));
    expect([t.agent.isLeader(), b.agent.isLeader()]).toEqual([true, false]);
    expect(b.agent.readiness()).toEqual({ ready: true, reason: 'synced (standby)' });
    expect(b.agent.metrics.get(MetricNames.isLeader)).toBe(0);
    expect(b.log.lines.some((l) => l.msg === 'snapshot published')).toBe(false);
    const lease = k8s.get('leases', 'k3s-burst', 'k3s-burst-agent') as { spec: { holderIdentity: string } };
    expect(lease.spec.holderIdentity).toBe('agent-a');
    // When the leader stops (releasing the lease), the standby takes over and publishes
    const before = snapshots(t).length;
    await t.stop();
    t = undefined;
    await until(() => b.agent.isLeader(), 'b leads');
    await until(() => snapshots(b).length > before, 'b publishes');
    expect((k8s.get('leases', 'k3s-burst', 'k3s-burst-agent') as typeof lease).spec.holderIdentity).toBe(
      'agent-b',
    );
  });
});
