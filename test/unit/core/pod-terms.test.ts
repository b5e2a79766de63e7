/**
 * Required inter-pod affinity, anti-affinity and topology spread in the planner (issue 15 item 3),
 * behaviours distilled from Karpenter's scheduling topology tests and the Kubernetes docs:
 * one pod per node for hostname anti-affinity (N replicas → N nodes in one decision), nodes
 * running matching pods excluded, zone spread over the allowed zones counting running pods,
 * affinity to running pods, and explicit answers for what is not modelled.
 */
import { describe, expect, it } from 'vitest';
import type { Plan, SnapshotNode } from '../../../lib/events/index.js';
import { cloudNode, fleet, instance, makeConfig, plan, said, shape, snapshot } from './fixtures.js';

const SEL = 'sel0web000';
const SEL_DB = 'sel0db0000';
const selectors = [
  { id: SEL, namespaces: ['shop'], matchLabels: { app: 'web' } },
  { id: SEL_DB, namespaces: ['shop'], matchLabels: { app: 'db' } },
];
const config3 = makeConfig({ network: { availabilityZoneCount: 3 } });

/** A cloud node with room for several small pods, running `matches` pods of each selector. */
function roomyNode(id: string, zone: string, matches: Record<string, number> = {}): SnapshotNode {
  return cloudNode(id, {
    zone,
    requested: { cpuMilli: 200, memoryMiB: 500, pods: 3 },
    usedHostPorts: [],
    ...(Object.keys(matches).length ? { podSelectorCounts: matches } : {}),
  });
}
/** A cloud node with no room left, running matching pods. */
function fullNode(id: string, zone: string, matches: Record<string, number>): SnapshotNode {
  return cloudNode(id, {
    zone,
    requested: { cpuMilli: 2000, memoryMiB: 7700, pods: 20 },
    usedHostPorts: [],
    podSelectorCounts: matches,
  });
}
const launchedFor = (p: Plan, id: string) =>
  (p.podAnswers ?? [])
    .filter((a) => a.shapeId === id && a.kind === 'launched-for')
    .reduce((n, a) => n + a.count, 0);
const nodesFor = (p: Plan, id: string) =>
  p.launches.filter((l) => l.shapeIds.includes(id)).reduce((n, l) => n + l.count, 0);
const podsByZone = (p: Plan, id: string) => {
  const out: Record<string, number> = {};
  for (const l of p.launches.filter((x) => x.shapeIds.includes(id))) {
    expect(l.zones).toHaveLength(1);
    out[l.zones[0] as string] = (out[l.zones[0] as string] ?? 0) + l.podsCovered;
  }
  return out;
};

describe('required pod anti-affinity on kubernetes.io/hostname', () => {
  it('gives a Deployment of 5 replicas 5 nodes in one decision, and says why in the answer', () => {
    const web = shape({
      id: 'web-anti',
      count: 5,
      cpuMilli: 100,
      memoryMiB: 128,
      podAntiAffinity: [{ selector: SEL, topology: 'hostname' }],
      matchesSelectors: [SEL],
    });
    const p = plan({ snapshot: snapshot({ pendingShapes: [web], podSelectors: selectors }) });
    expect(launchedFor(p, 'web-anti')).toBe(5);
    expect(nodesFor(p, 'web-anti')).toBe(5);
    const a = (p.podAnswers ?? []).find((x) => x.shapeId === 'web-anti');
    expect(a?.message).toMatch(/at most one per node/);
  });

  it('without the term the same pods share one node (the test can fail)', () => {
    const p = plan({
      snapshot: snapshot({
        pendingShapes: [shape({ id: 'web-free', count: 5, cpuMilli: 100, memoryMiB: 128 })],
      }),
    });
    expect(nodesFor(p, 'web-free')).toBe(1);
  });

  it('skips existing nodes that run a matching pod and uses the others, one pod each', () => {
    const web = shape({
      id: 'web-anti',
      count: 4,
      cpuMilli: 100,
      memoryMiB: 128,
      podAntiAffinity: [{ selector: SEL, topology: 'hostname' }],
      matchesSelectors: [SEL],
    });
    const nodes = [
      roomyNode('i-0aaaaaaaaaaaaaaa1', 'eu-central-1a', { [SEL]: 1 }),
      roomyNode('i-0aaaaaaaaaaaaaaa2', 'eu-central-1b'),
    ];
    const p = plan({
      snapshot: snapshot({ pendingShapes: [web], podSelectors: selectors, nodes }),
      fleet: fleetOf(nodes),
    });
    const onExisting = (p.podAnswers ?? []).filter(
      (a) => a.shapeId === 'web-anti' && a.kind === 'fits-on-existing',
    );
    expect(onExisting.map((a) => [a.count, a.targets])).toEqual([[1, ['burst-i-0aaaaaaaaaaaaaaa2']]]);
    expect(launchedFor(p, 'web-anti')).toBe(3);
    expect(nodesFor(p, 'web-anti')).toBe(3);
  });

  it('keeps pending pods the selector matches off the nodes of the pods that carry the term, both ways', () => {
    const web = shape({
      id: 'web-anti',
      count: 2,
      cpuMilli: 100,
      memoryMiB: 128,
      podAntiAffinity: [{ selector: SEL, topology: 'hostname' }],
      matchesSelectors: [SEL],
    });
    const canary = shape({
      id: 'web-canary',
      count: 1,
      cpuMilli: 100,
      memoryMiB: 128,
      matchesSelectors: [SEL],
    });
    const p = plan({ snapshot: snapshot({ pendingShapes: [web, canary], podSelectors: selectors }) });
    // Three pods that pairwise may not share a node: three nodes
    expect(p.launches.reduce((n, l) => n + l.count, 0)).toBe(3);
    expect(p.launches.reduce((n, l) => n + l.podsCovered, 0)).toBe(3);
  });
});

describe('topology spread', () => {
  it('spreads over the allowed zones with maxSkew, counting running matching pods per zone', () => {
    const web = shape({
      id: 'web-spread',
      count: 4,
      cpuMilli: 100,
      memoryMiB: 128,
      topologySpread: [{ selector: SEL, topology: 'zone', maxSkew: 1 }],
      matchesSelectors: [SEL],
    });
    const nodes = [...snapshot().nodes, fullNode('i-0bbbbbbbbbbbbbbb1', 'eu-central-1a', { [SEL]: 2 })];
    const p = plan({
      config: config3,
      snapshot: snapshot({ pendingShapes: [web], podSelectors: selectors, nodes }),
      fleet: fleetOf(nodes),
    });
    // a has 2 running: the 4 new pods go 2 to b and 2 to c (2/2/2)
    expect(podsByZone(p, 'web-spread')).toEqual({ 'eu-central-1b': 2, 'eu-central-1c': 2 });
    expect((p.podAnswers ?? []).find((a) => a.shapeId === 'web-spread')?.message).toMatch(
      /topology spread over zones/,
    );
  });

  it('counts for spread only the pods on nodes the pod may use (nodeAffinityPolicy Honor)', () => {
    const web = shape({
      id: 'web-arm',
      count: 2,
      cpuMilli: 100,
      memoryMiB: 128,
      nodeSelector: { 'kubernetes.io/arch': 'arm64' },
      topologySpread: [{ selector: SEL, topology: 'zone', maxSkew: 1 }],
      matchesSelectors: [SEL],
    });
    // 3 matching pods on an amd64 node in 1a: not a node the arm64 pods may use, so not counted
    const amd = fullNode('i-0fffffffffffffff1', 'eu-central-1a', { [SEL]: 3 });
    amd.labels = { ...amd.labels, 'kubernetes.io/arch': 'amd64' };
    const nodes = [...snapshot().nodes, amd];
    const p = plan({
      snapshot: snapshot({ pendingShapes: [web], podSelectors: selectors, nodes }),
      fleet: fleetOf(nodes),
    });
    expect(podsByZone(p, 'web-arm')).toEqual({ 'eu-central-1a': 1, 'eu-central-1b': 1 });
  });

  it('answers the pods no zone can take within maxSkew when minDomains exceeds the zones', () => {
    const web = shape({
      id: 'web-spread',
      count: 5,
      cpuMilli: 100,
      memoryMiB: 128,
      topologySpread: [{ selector: SEL, topology: 'zone', maxSkew: 1, minDomains: 5 }],
      matchesSelectors: [SEL],
    });
    const p = plan({
      config: config3,
      snapshot: snapshot({ pendingShapes: [web], podSelectors: selectors }),
    });
    // 3 domains < minDomains 5: the global minimum counts as 0, so at most 1 pod per zone
    expect(Object.values(podsByZone(p, 'web-spread')).sort()).toEqual([1, 1, 1]);
    const held = (p.podAnswers ?? []).find((a) => a.shapeId === 'web-spread' && a.kind === 'unhelpable');
    expect(held).toMatchObject({ count: 2, code: 'pod-zone-terms' });
    expect(held?.message).toMatch(/maxSkew 1/);
  });

  it('holds a spread shape back whole when the limits cannot cover every zone (a partial launch would break maxSkew)', () => {
    const web = shape({
      id: 'web-spread',
      count: 30,
      cpuMilli: 1500,
      memoryMiB: 1024,
      topologySpread: [{ selector: SEL, topology: 'zone', maxSkew: 1 }],
      matchesSelectors: [SEL],
    });
    const tight = makeConfig({ network: { availabilityZoneCount: 3 }, limits: { maxNodes: 4 } });
    const p = plan({ config: tight, snapshot: snapshot({ pendingShapes: [web], podSelectors: selectors }) });
    expect(p.launches).toEqual([]);
    expect((p.podAnswers ?? []).filter((a) => a.shapeId === 'web-spread')).toEqual([
      expect.objectContaining({ kind: 'held-by-limit', count: 30, code: 'limit:topology-spread' }),
    ]);
  });

  it('keeps hostname spread to one pod per node', () => {
    const web = shape({
      id: 'web-hspread',
      count: 3,
      cpuMilli: 100,
      memoryMiB: 128,
      topologySpread: [{ selector: SEL, topology: 'hostname', maxSkew: 1 }],
      matchesSelectors: [SEL],
    });
    const p = plan({ snapshot: snapshot({ pendingShapes: [web], podSelectors: selectors }) });
    expect(nodesFor(p, 'web-hspread')).toBe(3);
  });
});

describe('required pod affinity', () => {
  it('puts pods with zone affinity in the zone where the matching pods run', () => {
    const api = shape({
      id: 'api-near-db',
      count: 3,
      podAffinity: [{ selector: SEL_DB, topology: 'zone' }],
    });
    const nodes = [...snapshot().nodes, fullNode('i-0ccccccccccccccc1', 'eu-central-1b', { [SEL_DB]: 1 })];
    const p = plan({
      config: config3,
      snapshot: snapshot({ pendingShapes: [api], podSelectors: selectors, nodes }),
      fleet: fleetOf(nodes),
    });
    expect(podsByZone(p, 'api-near-db')).toEqual({ 'eu-central-1b': 3 });
  });

  it('puts pods with hostname affinity on the node where the matching pod runs, and launches nothing for them', () => {
    const api = shape({
      id: 'api-beside-db',
      count: 2,
      podAffinity: [{ selector: SEL_DB, topology: 'hostname' }],
    });
    const withRoom = roomyNode('i-0ddddddddddddddd1', 'eu-central-1a', { [SEL_DB]: 1 });
    const other = roomyNode('i-0ddddddddddddddd2', 'eu-central-1a');
    const p = plan({
      snapshot: snapshot({ pendingShapes: [api], podSelectors: selectors, nodes: [other, withRoom] }),
      fleet: fleetOf([other, withRoom]),
    });
    expect((p.podAnswers ?? []).filter((a) => a.shapeId === 'api-beside-db')).toEqual([
      expect.objectContaining({ kind: 'fits-on-existing', count: 2, targets: ['burst-i-0ddddddddddddddd1'] }),
    ]);
    // No room there: unhelpable with the reason, never a new node
    const full = fullNode('i-0ddddddddddddddd1', 'eu-central-1a', { [SEL_DB]: 1 });
    const q = plan({
      snapshot: snapshot({ pendingShapes: [api], podSelectors: selectors, nodes: [other, full] }),
      fleet: fleetOf([other, full]),
    });
    expect(q.launches).toEqual([]);
    expect((q.podAnswers ?? []).filter((a) => a.shapeId === 'api-beside-db')).toEqual([
      expect.objectContaining({ kind: 'unhelpable', count: 2, code: 'pod-affinity-existing-only' }),
    ]);
  });

  it('waits for pending pods it must follow; plans the first of a self-affine group', () => {
    const follower = shape({
      id: 'api-follow',
      count: 2,
      podAffinity: [{ selector: SEL_DB, topology: 'hostname' }],
    });
    const db = shape({ id: 'db-0', count: 1, matchesSelectors: [SEL_DB] });
    const group = shape({
      id: 'db-group',
      count: 3,
      podAffinity: [{ selector: SEL_DB, topology: 'hostname' }],
      matchesSelectors: [SEL_DB],
    });
    const p = plan({ snapshot: snapshot({ pendingShapes: [follower, db], podSelectors: selectors }) });
    expect((p.podAnswers ?? []).find((a) => a.shapeId === 'api-follow')).toMatchObject({
      code: 'pod-affinity-waits',
      count: 2,
    });
    expect(launchedFor(p, 'db-0')).toBe(1);
    const q = plan({ snapshot: snapshot({ pendingShapes: [group], podSelectors: selectors }) });
    expect(launchedFor(q, 'db-group')).toBe(1);
    expect((q.podAnswers ?? []).find((a) => a.kind === 'unhelpable')).toMatchObject({
      code: 'pod-affinity-follows',
      count: 2,
    });
  });
});

describe('what is not modelled is said', () => {
  it('answers an unsupported term as unhelpable with the term, and explains ignored preferred terms', () => {
    const rack = shape({
      id: 'rack-anti',
      count: 2,
      unsupportedPodTerm: 'required pod anti-affinity on topologyKey "example.com/rack"',
    });
    const soft = shape({ id: 'soft', count: 1, ignoredPodTerms: 2 });
    const p = plan({ snapshot: snapshot({ pendingShapes: [rack, soft] }) });
    expect((p.podAnswers ?? []).find((a) => a.shapeId === 'rack-anti')).toMatchObject({
      kind: 'unhelpable',
      count: 2,
      code: 'pod-term-unsupported',
    });
    expect(p.launches.flatMap((l) => l.shapeIds)).toEqual(['soft']);
    expect(said(p, 'scale-out').join('\n')).toMatch(
      /2 preferred terms \(pod affinity, anti-affinity or ScheduleAnyway spread\) in 1 shape are ignored/,
    );
    expect((p.podAnswers ?? []).find((a) => a.shapeId === 'soft')?.message).toMatch(/ignored/);
  });

  it('plans conservatively when the agent dropped the index: new nodes only, one per pod; zone terms wait', () => {
    const web = shape({
      id: 'web-anti',
      count: 2,
      cpuMilli: 100,
      memoryMiB: 128,
      podAntiAffinity: [{ selector: SEL, topology: 'hostname' }],
      matchesSelectors: [SEL],
    });
    const spread = shape({
      id: 'web-spread',
      count: 2,
      topologySpread: [{ selector: SEL_DB, topology: 'zone', maxSkew: 1 }],
    });
    const nodes = [roomyNode('i-0eeeeeeeeeeeeeee1', 'eu-central-1a')];
    const p = plan({
      snapshot: snapshot({
        pendingShapes: [web, spread],
        podSelectors: selectors,
        nodes,
        podIndexDropped: 'the index was left out to fit',
      }),
      fleet: fleetOf(nodes),
    });
    expect((p.podAnswers ?? []).filter((a) => a.shapeId === 'web-anti').map((a) => a.kind)).toEqual([
      'launched-for',
    ]);
    expect(nodesFor(p, 'web-anti')).toBe(2);
    expect((p.podAnswers ?? []).find((a) => a.shapeId === 'web-spread')).toMatchObject({
      code: 'pod-index-dropped',
      count: 2,
    });
    expect(said(p, 'scale-out').join('\n')).toMatch(/left out where matching pods run/);
  });
});

/** A fleet in which the managed nodes' instances run (their room counts as existing capacity). */
function fleetOf(nodes: SnapshotNode[]) {
  return fleet({
    instances: nodes
      .filter((n) => n.managed)
      .map((n) => instance(n.instanceId as string, { zone: n.zone as string, nodeName: n.name })),
  });
}
