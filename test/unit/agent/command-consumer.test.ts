/**
 * CommandConsumer with a ManualClock, the in-memory SQS/EventBridge fakes and an in-process
 * API (MemoryKube): long-polling, at-least-once deletion, refusal of on-prem nodes, 429 retry
 * until the deadline, NodeDrained with blocking pods, redelivery, invalid messages, shutdown.
 */
import { describe, expect, it } from 'vitest';
import { CommandConsumer, parseCommand } from '../../../lib/agent/command-consumer.js';
import { EventRecorder } from '../../../lib/agent/k8s-events.js';
import { memoryLogger } from '../../../lib/agent/logger.js';
import { agentMetrics, MetricNames } from '../../../lib/agent/metrics.js';
import type { CommandQueuePort } from '../../../lib/agent/ports.js';
import { type RawPv, type RawPvc, slimPv, slimPvc, type VolumeLookup } from '../../../lib/agent/volumes.js';
import type { NodeDrained } from '../../../lib/events/index.js';
import { FakeEventBus, FakeQueue } from '../../../lib/sim/world/agent-ports.js';
import {
  CLUSTER,
  commandEnvelope,
  daemonSetPod,
  ec2Node,
  EC2_ID as ID,
  mirrorPod,
  EC2_NODE as NODE,
  piNode,
  pod,
  pv,
  pvc,
} from '../../support/fake-k8s/fixtures.js';
import { MemoryKube } from '../../support/fake-k8s/memory-api.js';
import { ManualClock } from '../../support/manual-clock.js';

const PDB_MESSAGE = 'The disruption budget web-pdb needs 2 healthy pods and has 2 currently';

function setup(opts: { visibilitySeconds?: number; maxReceiveCount?: number; volumes?: VolumeLookup } = {}) {
  const clock = new ManualClock();
  const api = new MemoryKube();
  const bus = new FakeEventBus();
  const queue = new FakeQueue({ clock, maxReceiveCount: opts.maxReceiveCount ?? 5 });
  const receives: { waitSeconds: number; visibilitySeconds: number; maxMessages: number }[] = [];
  const spy: CommandQueuePort = {
    receive: (o) => {
      receives.push({
        waitSeconds: o.waitSeconds,
        visibilitySeconds: o.visibilitySeconds,
        maxMessages: o.maxMessages,
      });
      return queue.receive(o);
    },
    delete: (h) => queue.delete(h),
    changeVisibility: (h, s) => queue.changeVisibility(h, s),
  };
  const log = memoryLogger();
  const metrics = agentMetrics();
  const consumer = new CommandConsumer({
    queue: spy,
    bus,
    api,
    cluster: CLUSTER,
    eventBusName: `k3s-burst-${CLUSTER}`,
    clock,
    log,
    metrics,
    events: new EventRecorder({ api, clock, log, instance: 'agent-0' }),
    visibilitySeconds: opts.visibilitySeconds ?? 120,
    drainBackoffMs: 1000,
    ...(opts.volumes ? { volumes: opts.volumes } : {}),
  });
  const drain = (over: Record<string, unknown> = {}, id?: string) =>
    queue.send(
      commandEnvelope(
        'DrainNode',
        {
          schemaVersion: 1,
          cluster: CLUSTER,
          decisionId: 'dec-1',
          nodeName: NODE,
          instanceId: ID,
          reason: 'empty for 10m',
          deadline: new Date(clock.now() + 60_000).toISOString(),
          ...over,
        },
        id,
      ),
    );
  const del = (nodeName: string, id?: string) =>
    queue.send(
      commandEnvelope(
        'DeleteNode',
        { schemaVersion: 1, cluster: CLUSTER, nodeName, reason: 'terminated' },
        id,
      ),
    );
  const drained = () => bus.ofType<NodeDrained>('NodeDrained');
  return { clock, api, bus, queue, receives, log, metrics, consumer, drain, del, drained };
}

describe('CommandConsumer', () => {
  it('long-polls SQS (20 s wait, visibility per receive) and keeps polling when idle', async () => {
    const { clock, consumer, receives } = setup();
    consumer.start();
    await clock.advance(0);
    expect(receives[0]).toEqual({ waitSeconds: 20, visibilitySeconds: 120, maxMessages: 4 });
    await clock.advance(60_000);
    expect(receives.length).toBe(4); // one long poll per 20 s, no busy loop
    await consumer.stop();
  });

  it('drains a managed node: cordon, evict, NodeDrained, and deletes the message only after', async () => {
    const { clock, api, queue, consumer, drain, drained } = setup();
    api.addNode(ec2Node(ID));
    api.addPod(pod('web-a1', { node: NODE }));
    api.addPod(daemonSetPod(NODE));
    api.addPod(mirrorPod(NODE));
    let open!: () => void;
    api.gate = new Promise<void>((r) => {
      open = r;
    });
    const id = drain();
    consumer.start();
    await clock.advance(0);
    // The work is in flight (held at the API): the message is not deleted yet
    expect(consumer.inFlightCount).toBe(1);
    expect(queue.deleted).toEqual([]);
    expect(drained()).toEqual([]);
    open();
    api.gate = undefined;
    await clock.advance(0);
    expect(drained()).toEqual([
      expect.objectContaining({ outcome: 'drained', evictedPods: 1, blockingPods: [], nodeName: NODE }),
    ]);
    expect(queue.deleted).toEqual([id]);
    expect(api.callsOf('PATCH', `/nodes/${NODE}`)).toHaveLength(1);
    expect(api.callsOf('POST', '/eviction').map((c) => c.path)).toEqual([
      '/api/v1/namespaces/default/pods/web-a1/eviction',
    ]);
    expect(api.events.map((e) => e.reason)).toEqual(['DrainStarted', 'Evicted', 'DrainFinished']);
    await consumer.stop();
  });

  it('refuses to drain an on-prem Pi: no cordon, no eviction, reports refused', async () => {
    const { clock, api, queue, consumer, drain, drained, metrics } = setup();
    api.addNode(piNode('pi-node-1', { controlPlane: true }));
    api.addPod(pod('web-p1', { node: 'pi-node-1' }));
    const id = drain({ nodeName: 'pi-node-1' });
    consumer.start();
    await clock.advance(0);
    expect(drained()).toEqual([
      expect.objectContaining({ outcome: 'refused', nodeName: 'pi-node-1', evictedPods: 0 }),
    ]);
    expect(api.calls.filter((c) => c.method !== 'GET' && !c.path.endsWith('/events'))).toEqual([]);
    expect(api.pods.size).toBe(1);
    expect(api.events.map((e) => [e.reason, e.type])).toEqual([['DrainRefused', 'Warning']]);
    expect(metrics.get(MetricNames.drains, { outcome: 'refused' })).toBe(1);
    expect(queue.deleted).toEqual([id]);
    await consumer.stop();
  });

  it('retries a PDB 429 with backoff until the deadline, extends visibility, reports the blocking pod', async () => {
    const { clock, api, queue, consumer, drain, drained } = setup({ visibilitySeconds: 30 });
    api.addNode(ec2Node(ID));
    api.addPod(pod('web-b1', { node: NODE, namespace: 'shop' }));
    api.evictionAnswer = () => ({ code: 429, message: PDB_MESSAGE });
    const id = drain();
    consumer.start();
    await clock.advance(0);
    const attemptsAt = () => api.callsOf('POST', '/eviction').length;
    expect(attemptsAt()).toBe(1);
    await clock.advance(1000);
    expect(attemptsAt()).toBe(2);
    await clock.advance(2000);
    expect(attemptsAt()).toBe(3); // 1 s, 2 s, 4 s, 8 s, then capped at 10 s
    expect(queue.deleted).toEqual([]);
    await clock.advance(57_000);
    expect(drained()).toEqual([
      expect.objectContaining({
        outcome: 'timed-out',
        evictedPods: 0,
        blockingPods: [{ pod: 'shop/web-b1', reason: expect.stringContaining(PDB_MESSAGE) }],
      }),
    ]);
    // at 0, 1, 3, 7, 15, 25, 35, 45, 55 s and a last one at the 60 s deadline, not beyond
    expect(attemptsAt()).toBe(10);
    expect(queue.visibilityChanges.filter((v) => v.seconds === 30).length).toBeGreaterThanOrEqual(3);
    expect(queue.deleted).toEqual([id]);
    expect(api.pods.has('shop/web-b1')).toBe(true);
    expect(api.events.at(-1)).toMatchObject({ reason: 'DrainFinished', type: 'Warning' });
    await consumer.stop();
  });

  it('a voluntary drain whose pod a PDB protects until the deadline is abandoned: node uncordoned, no pod forced (I9)', async () => {
    const { clock, api, queue, consumer, drain, drained } = setup();
    api.addNode(ec2Node(ID));
    api.addPod(pod('web-v1', { node: NODE, namespace: 'shop' }));
    api.evictionAnswer = () => ({ code: 429, message: PDB_MESSAGE });
    const id = drain({ disruption: 'voluntary' });
    consumer.start();
    await clock.advance(0);
    const node = () => api.nodes.get(NODE) as { spec?: { unschedulable?: boolean } };
    expect(node().spec?.unschedulable).toBe(true);
    await clock.advance(61_000);
    expect(drained()).toEqual([
      expect.objectContaining({
        outcome: 'abandoned',
        evictedPods: 0,
        blockingPods: [{ pod: 'shop/web-v1', reason: expect.stringContaining(PDB_MESSAGE) }],
      }),
    ]);
    expect(node().spec?.unschedulable).toBe(false);
    expect(api.pods.has('shop/web-v1')).toBe(true);
    expect(queue.deleted).toEqual([id]);
    await consumer.stop();
  });

  it('a voluntary drain does not start (no cordon, no eviction) when a pod must never be evicted: hostPath, safe-to-evict "false", karpenter do-not-disrupt', async () => {
    for (const blocker of ['hostPath', 'safe-to-evict', 'karpenter'] as const) {
      const { clock, api, consumer, drain, drained } = setup();
      api.addNode(ec2Node(ID));
      const p = pod('keep-h1', {
        node: NODE,
        ...(blocker === 'safe-to-evict'
          ? { annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } }
          : blocker === 'karpenter'
            ? { annotations: { 'karpenter.sh/do-not-disrupt': 'true' } }
            : {}),
      });
      if (blocker === 'hostPath')
        (p.spec as Record<string, unknown>).volumes = [{ name: 'logs', hostPath: { path: '/var/log/app' } }];
      api.addPod(p);
      api.addPod(pod('web-h1', { node: NODE }));
      drain({ disruption: 'voluntary' });
      consumer.start();
      await clock.advance(0);
      expect(drained()[0], blocker).toMatchObject({
        outcome: 'abandoned',
        evictedPods: 0,
        blockingPods: [
          { pod: 'default/keep-h1', reason: blocker === 'hostPath' ? 'local-storage' : 'do-not-disrupt' },
        ],
      });
      expect(api.callsOf('POST', '/eviction')).toHaveLength(0);
      expect((api.nodes.get(NODE) as { spec?: { unschedulable?: boolean } }).spec?.unschedulable).not.toBe(
        true,
      );
      await consumer.stop();
    }
  });

  it('a voluntary drain does not evict a pod whose volume is pinned to the node, nor one whose claims are unresolved', async () => {
    const claim = slimPvc(pvc('cache', { volume: 'pvc-local' }) as RawPvc);
    const volume = slimPv(pv('pvc-local', { node: NODE, claim: 'cache' }) as RawPv);
    const lookup = (synced: boolean): VolumeLookup => ({
      synced: () => synced,
      claim: (k) => (k === claim.key ? claim : undefined),
      volume: (n) => (n === volume.name ? volume : undefined),
      storageClass: () => undefined,
    });
    for (const synced of [true, false]) {
      const { clock, api, consumer, drain, drained } = setup({ volumes: lookup(synced) });
      api.addNode(ec2Node(ID));
      api.addPod(pod('cache-0', { node: NODE, claims: ['cache'] }));
      api.addPod(pod('web-h1', { node: NODE }));
      drain({ disruption: 'voluntary' });
      consumer.start();
      await clock.advance(0);
      expect(drained()[0], `synced=${synced}`).toMatchObject({
        outcome: 'abandoned',
        evictedPods: 0,
        blockingPods: [{ pod: 'default/cache-0', reason: 'local-storage' }],
      });
      expect(api.callsOf('POST', '/eviction')).toHaveLength(0);
      await consumer.stop();
    }
    // Without the caches (before this change) the same pod was evicted.
    const { clock, api, consumer, drain, drained } = setup();
    api.addNode(ec2Node(ID));
    api.addPod(pod('cache-0', { node: NODE, claims: ['cache'] }));
    drain({ disruption: 'voluntary' });
    consumer.start();
    await clock.advance(0);
    expect(drained()[0]).toMatchObject({ outcome: 'drained', evictedPods: 1 });
    await consumer.stop();
  });

  it('safe-to-evict "true" lets an emptyDir pod and a bare pod be evicted', async () => {
    const { clock, api, consumer, drain, drained } = setup();
    api.addNode(ec2Node(ID));
    const safe = { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' };
    api.addPod(pod('cache-s1', { node: NODE, emptyDir: true, annotations: safe }));
    api.addPod(pod('bare-s1', { node: NODE, owner: null, annotations: safe }));
    drain({ disruption: 'voluntary' });
    consumer.start();
    await clock.advance(0);
    expect(drained()[0]).toMatchObject({ outcome: 'drained', evictedPods: 2, blockingPods: [] });
    await consumer.stop();
  });

  it('reports blocked with every pod it must not evict and why', async () => {
    const { clock, api, consumer, drain, drained } = setup();
    api.addNode(ec2Node(ID));
    api.addPod(pod('bare-c1', { node: NODE, owner: null }));
    api.addPod(pod('cache-c1', { node: NODE, emptyDir: true }));
    api.addPod(pod('keep-c1', { node: NODE, annotations: { 'k3s-burst.io/do-not-disrupt': 'true' } }));
    api.addPod(pod('web-c1', { node: NODE }));
    drain();
    consumer.start();
    await clock.advance(0);
    expect(drained()[0]).toMatchObject({
      outcome: 'blocked',
      evictedPods: 1,
      blockingPods: [
        { pod: 'default/bare-c1', reason: 'no-controller' },
        { pod: 'default/cache-c1', reason: 'local-storage' },
        { pod: 'default/keep-c1', reason: 'do-not-disrupt' },
      ],
    });
    await consumer.stop();
  });

  it('keeps the message when NodeDrained cannot be published; the redelivery re-runs idempotently', async () => {
    const { clock, api, bus, queue, consumer, drain, drained } = setup({ visibilitySeconds: 30 });
    api.addNode(ec2Node(ID));
    api.addPod(pod('web-d1', { node: NODE }));
    bus.failNextCalls = 5;
    const id = drain();
    consumer.start();
    await clock.advance(10_000); // 5 attempts: 0.5 + 1 + 2 + 4 s of backoff
    expect(bus.calls).toBe(5);
    expect(drained()).toEqual([]);
    expect(queue.deleted).toEqual([]);
    // After the visibility timeout the message comes back and the drain runs again
    await clock.advance(30_000);
    expect(drained()).toEqual([expect.objectContaining({ outcome: 'drained', evictedPods: 0 })]);
    expect(queue.deleted).toEqual([id]);
    expect(api.callsOf('PATCH')).toHaveLength(1); // already cordoned: no second patch
    await consumer.stop();
  });

  it('deletes a redelivered, already handled command without doing the work again', async () => {
    const { clock, api, queue, consumer, drain, drained } = setup();
    api.addNode(ec2Node(ID));
    const first = drain({}, 'evt-same');
    consumer.start();
    await clock.advance(0);
    const calls = api.calls.length;
    const second = drain({}, 'evt-same');
    await clock.advance(20_000);
    expect(queue.deleted).toEqual([first, second]);
    expect(api.calls.length).toBe(calls);
    expect(drained()).toHaveLength(1);
    await consumer.stop();
  });

  it('DeleteNode deletes only a managed node; refuses a Pi; a missing node is done', async () => {
    const { clock, api, queue, consumer, del, metrics } = setup();
    api.addNode(ec2Node(ID));
    api.addNode(piNode('pi-node-1'));
    const a = del(NODE);
    const b = del('pi-node-1');
    const c = del('burst-i-0ccccccccccccccc3');
    consumer.start();
    await clock.advance(0);
    expect([...api.nodes.keys()]).toEqual(['pi-node-1']);
    expect(api.callsOf('DELETE').map((x) => x.path)).toEqual([`/api/v1/nodes/${NODE}`]);
    expect(api.callsOf('DELETE')[0]?.body).toMatchObject({ preconditions: { uid: `uid-node-${NODE}` } });
    expect(queue.deleted.sort()).toEqual([a, b, c].sort());
    expect(metrics.get(MetricNames.nodeDeletes, { outcome: 'deleted' })).toBe(1);
    expect(metrics.get(MetricNames.nodeDeletes, { outcome: 'refused' })).toBe(1);
    expect(metrics.get(MetricNames.nodeDeletes, { outcome: 'not-found' })).toBe(1);
    await consumer.stop();
  });

  it('leaves invalid messages for the dead-letter queue and never acts on them', async () => {
    const { clock, api, queue, consumer, log, metrics } = setup({ maxReceiveCount: 2 });
    api.addNode(ec2Node(ID));
    queue.send('not json');
    queue.send(
      commandEnvelope('DeleteNode', { schemaVersion: 1, cluster: 'other', nodeName: NODE, reason: 'x' }),
    );
    queue.send(commandEnvelope('DrainNode', { schemaVersion: 1, cluster: CLUSTER, nodeName: NODE }));
    consumer.start();
    await clock.advance(0);
    expect(metrics.get(MetricNames.invalidCommands)).toBe(3);
    expect(
      log.lines
        .filter((l) => l.msg === 'invalid command left for the dead-letter queue')
        .map((l) => l.reason),
    ).toEqual([
      'body is not JSON',
      'DeleteNode is for cluster "other", this agent serves "pi-lab"',
      expect.stringMatching(/^invalid DrainNode: /),
    ]);
    await clock.advance(300_000); // visibility runs out twice → redrive
    expect(queue.deadLetters).toHaveLength(3);
    expect(queue.deleted).toEqual([]);
    expect(api.calls).toEqual([]);
    await consumer.stop();
  });

  it('on shutdown abandons an in-flight drain and makes its message visible again at once', async () => {
    const { clock, api, queue, consumer, drain, drained } = setup();
    api.addNode(ec2Node(ID));
    api.addPod(pod('web-e1', { node: NODE }));
    api.evictionAnswer = () => ({ code: 429, message: PDB_MESSAGE });
    const id = drain();
    consumer.start();
    await clock.advance(2500);
    await consumer.stop();
    expect(queue.visibilityChanges).toContainEqual({ messageId: id, seconds: 0 });
    expect(queue.deleted).toEqual([]);
    expect(drained()).toEqual([]);
  });

  it('backs off after a failed receive', async () => {
    const { clock, queue, consumer, log } = setup();
    let failures = 1;
    const original = queue.receive.bind(queue);
    queue.receive = async (o) => {
      if (failures-- > 0) throw new Error('fake SQS: AccessDenied');
      return original(o);
    };
    consumer.start();
    await clock.advance(0);
    expect(log.lines.filter((l) => l.msg === 'receiving commands failed')).toHaveLength(1);
    await clock.advance(4999);
    expect(failures).toBe(0); // still backing off
    await clock.advance(1);
    expect(failures).toBe(-1);
    await consumer.stop();
  });

  it('turns a waiting-for-offering pod answer into a Warning NotTriggerScaleUp notice that says until when', () => {
    const parsed = parseCommand(
      commandEnvelope('DecisionRecorded', {
        schemaVersion: 1,
        cluster: CLUSTER,
        decisionId: 'dec-w',
        decidedAt: '2026-03-14T09:30:00Z',
        trigger: 'snapshot',
        snapshotSeq: 3,
        launches: 0,
        drains: 0,
        terminations: 0,
        unhelpablePods: 0,
        explanations: [
          {
            kind: 'waiting',
            subject: 'web',
            message: '2 pods of shape web wait: all spot capacity is unavailable',
          },
        ],
        podAnswers: [
          {
            shapeId: 'web',
            kind: 'waiting-for-offering',
            count: 2,
            code: 'offering-unavailable',
            message: 'all spot capacity is unavailable until 09:45',
          },
        ],
      }),
      CLUSTER,
    );
    expect(parsed).toMatchObject({
      ok: true,
      kind: 'notice',
      notice: [
        {
          shapeId: 'web',
          reason: 'NotTriggerScaleUp',
          message:
            "pod didn't trigger scale-up (waiting-for-offering, offering-unavailable): all spot capacity is unavailable until 09:45",
          warning: true,
        },
      ],
    });
  });

  it('parseCommand names the problem', () => {
    expect(parseCommand('{}', CLUSTER)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^not an EventBridge event/),
    });
    expect(
      parseCommand(
        commandEnvelope('DeleteNode', { schemaVersion: 1, cluster: CLUSTER, nodeName: 'n', reason: 'r' }),
        CLUSTER,
      ),
    ).toMatchObject({ ok: true, kind: 'delete' });
  });
});
