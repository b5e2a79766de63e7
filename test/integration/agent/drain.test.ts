import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deleteNode, drainNode } from '../../../lib/agent/drain.js';
import { EventRecorder } from '../../../lib/agent/k8s-events.js';
import { KubeClient } from '../../../lib/agent/kube-client.js';
import { kubeconfigTarget } from '../../../lib/agent/kube-config.js';
import { memoryLogger } from '../../../lib/agent/logger.js';
import { agentMetrics, MetricNames } from '../../../lib/agent/metrics.js';
import type { DrainNode } from '../../../lib/events/index.js';
import { systemClock } from '../../../lib/system/clock.js';
import {
  CLUSTER,
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

describe('drain and delete against the fake API server', () => {
  let k8s: FakeK8s;
  let client: KubeClient;
  let metrics: ReturnType<typeof agentMetrics>;
  const log = memoryLogger();

  beforeAll(async () => {
    k8s = await startFakeK8s({ token: 'drain-token' });
    client = new KubeClient(await kubeconfigTarget(k8s.writeKubeconfig()));
  });
  afterAll(async () => {
    client.close();
    await k8s.close();
  });
  beforeEach(() => {
    for (const r of ['pods', 'nodes', 'poddisruptionbudgets', 'events'])
      for (const o of k8s.list(r)) k8s.remove(r, o.metadata?.namespace, o.metadata?.name as string);
    k8s.requests.length = 0;
    metrics = agentMetrics();
  });

  const deps = () => ({
    api: client,
    clock: systemClock,
    log,
    metrics,
    events: new EventRecorder({ api: client, clock: systemClock, log, instance: 'test' }),
    cluster: CLUSTER,
    initialBackoffMs: 50,
    maxBackoffMs: 200,
  });
  const command = (over: Partial<DrainNode> = {}): DrainNode => ({
    schemaVersion: 1,
    cluster: CLUSTER,
    decisionId: 'dec-1',
    nodeName: NODE,
    instanceId: ID,
    reason: 'empty for 10m',
    deadline: new Date(Date.now() + 5000).toISOString(),
    ...over,
  });

  it('cordons, evicts workload pods, skips DaemonSet and mirror pods, and reports drained', async () => {
    // Given a managed node with two web pods, a DaemonSet pod and a mirror pod
    k8s.upsert('nodes', ec2Node(ID));
    k8s.upsert('pods', pod('web-a1', { node: NODE, labels: { app: 'web' } }));
    k8s.upsert('pods', pod('web-a2', { node: NODE, labels: { app: 'web' } }));
    k8s.upsert('pods', daemonSetPod(NODE));
    k8s.upsert('pods', mirrorPod(NODE));
    k8s.upsert('poddisruptionbudgets', pdb('web-pdb', 'web', 2));
    // When
    const result = await drainNode(command(), deps(), new AbortController().signal);
    // Then
    expect(result).toMatchObject({
      outcome: 'drained',
      evictedPods: 2,
      blockingPods: [],
      decisionId: 'dec-1',
      instanceId: ID,
    });
    expect(
      (k8s.get('nodes', undefined, NODE)?.spec as { unschedulable?: boolean } | undefined)?.unschedulable,
    ).toBe(true);
    expect(k8s.requestsOf('patch', 'nodes')).toHaveLength(1);
    expect(
      k8s
        .requestsOf('create', 'pods/eviction')
        .map((r) => r.name)
        .sort(),
    ).toEqual(['web-a1', 'web-a2']);
    expect(
      k8s
        .list('pods')
        .map((p) => p.metadata?.name)
        .sort(),
    ).toEqual([`node-exporter-${NODE.slice(-5)}`, `wg-healthcheck-${NODE}`]);
    const reasons = k8s.list('events').map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['DrainStarted', 'Evicted', 'DrainFinished']));
  });

  it('retries a PDB-blocked eviction (429) until the deadline, then reports timed-out with the pod', async () => {
    // Given a pod protected by a PDB that allows no disruption
    k8s.upsert('nodes', ec2Node(ID));
    k8s.upsert('pods', pod('web-b1', { node: NODE, labels: { app: 'web' }, namespace: 'shop' }));
    k8s.upsert('pods', pod('free-b1', { node: NODE, labels: { app: 'free' }, namespace: 'shop' }));
    k8s.upsert('poddisruptionbudgets', pdb('web-pdb', 'web', 0, 'shop'));
    const started = Date.now();
    // When
    const result = await drainNode(
      command({ deadline: new Date(started + 1200).toISOString() }),
      deps(),
      new AbortController().signal,
    );
    // Then
    expect(Date.now() - started).toBeGreaterThanOrEqual(1100);
    expect(result.outcome).toBe('timed-out');
    expect(result.evictedPods).toBe(1);
    expect(result.blockingPods).toEqual([
      {
        pod: 'shop/web-b1',
        reason: expect.stringContaining(
          'The disruption budget web-pdb needs 2 healthy pods and has 2 currently',
        ),
      },
    ]);
    const attempts = k8s.requestsOf('create', 'pods/eviction').filter((r) => r.name === 'web-b1');
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.every((r) => r.status === 429)).toBe(true);
    expect(metrics.get(MetricNames.drains, { outcome: 'timed-out' })).toBe(1);
    expect(k8s.get('pods', 'shop', 'web-b1')).toBeDefined();
  });

  it('succeeds once the PDB allows the disruption before the deadline', async () => {
    k8s.upsert('nodes', ec2Node(ID));
    k8s.upsert('pods', pod('web-c1', { node: NODE, labels: { app: 'web' } }));
    k8s.upsert('poddisruptionbudgets', pdb('web-pdb', 'web', 0));
    setTimeout(() => k8s.upsert('poddisruptionbudgets', pdb('web-pdb', 'web', 1)), 200);
    const result = await drainNode(command(), deps(), new AbortController().signal);
    expect(result).toMatchObject({ outcome: 'drained', evictedPods: 1 });
  });

  it('stops at once on a pod with more than one PDB (500) and on kubectl-drain refusals', async () => {
    k8s.upsert('nodes', ec2Node(ID));
    k8s.upsert('pods', pod('multi-d1', { node: NODE, labels: { app: 'multi', tier: 'x' } }));
    k8s.upsert('pods', pod('bare-d1', { node: NODE, owner: null }));
    k8s.upsert('pods', pod('cache-d1', { node: NODE, emptyDir: true }));
    k8s.upsert(
      'pods',
      pod('keep-d1', { node: NODE, annotations: { 'k3s-burst.io/do-not-disrupt': 'true' } }),
    );
    k8s.upsert('poddisruptionbudgets', pdb('multi-pdb', 'multi', 1));
    k8s.upsert('poddisruptionbudgets', {
      ...pdb('tier-pdb', 'multi', 1),
      spec: { selector: { matchLabels: { tier: 'x' } } },
    });
    const started = Date.now();
    const result = await drainNode(command(), deps(), new AbortController().signal);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.outcome).toBe('blocked');
    expect(result.blockingPods).toEqual([
      { pod: 'default/bare-d1', reason: 'no-controller' },
      { pod: 'default/cache-d1', reason: 'local-storage' },
      { pod: 'default/keep-d1', reason: 'do-not-disrupt' },
      { pod: 'default/multi-d1', reason: 'multiple-pdbs' },
    ]);
    expect(k8s.requestsOf('create', 'pods/eviction').map((r) => r.name)).toEqual(['multi-d1']);
  });

  it('refuses to drain or delete an on-prem node and sends nothing that would change it', async () => {
    k8s.upsert('nodes', piNode('pi-node-1', { controlPlane: true }));
    k8s.upsert('pods', pod('web-e1', { node: 'pi-node-1' }));
    const drain = await drainNode(command({ nodeName: 'pi-node-1' }), deps(), new AbortController().signal);
    const del = await deleteNode({ nodeName: 'pi-node-1', reason: 'test' }, deps());
    expect(drain.outcome).toBe('refused');
    expect(del).toBe('refused');
    expect(
      k8s.requests.filter(
        (r) => ['patch', 'delete', 'update'].includes(r.verb) || r.resource === 'pods/eviction',
      ),
    ).toEqual([]);
    expect(k8s.get('nodes', undefined, 'pi-node-1')).toBeDefined();
    expect(k8s.list('events').map((e) => e.reason)).toEqual(['DrainRefused', 'DeleteRefused']);
  });

  it('refuses an EC2 node without our labels, and one whose instance id does not match', async () => {
    k8s.upsert('nodes', ec2Node('i-0aaaaaaaaaaaaaaa1', { managed: false }));
    k8s.upsert('nodes', ec2Node(ID));
    const foreign = await drainNode(
      command({ nodeName: 'burst-i-0aaaaaaaaaaaaaaa1', instanceId: 'i-0aaaaaaaaaaaaaaa1' }),
      deps(),
      new AbortController().signal,
    );
    const reused = await deleteNode(
      { nodeName: NODE, instanceId: 'i-0bbbbbbbbbbbbbbb2', reason: 'terminated' },
      deps(),
    );
    expect(foreign.outcome).toBe('refused');
    expect(reused).toBe('refused');
    expect(k8s.requestsOf('delete', 'nodes')).toEqual([]);
  });

  it('deletes a managed node (with a uid precondition) and reports a missing one', async () => {
    k8s.upsert('nodes', ec2Node(ID));
    expect(await deleteNode({ nodeName: NODE, instanceId: ID, reason: 'terminated' }, deps())).toBe(
      'deleted',
    );
    expect(k8s.get('nodes', undefined, NODE)).toBeUndefined();
    expect(await deleteNode({ nodeName: NODE, instanceId: ID, reason: 'terminated' }, deps())).toBe(
      'not-found',
    );
    const drain = await drainNode(command(), deps(), new AbortController().signal);
    expect(drain.outcome).toBe('not-found');
  });
});
