/**
 * Property test of the inter-pod rules (issue 15 item 3): on generated clusters (existing cloud
 * nodes in random zones, with or without room, running random numbers of matching pods) an
 * independent checker reads only the plan — its launches, their zones and the per-pod answers —
 * and verifies every constraint the plan claims to honour: at most one hostname-anti-affinity pod
 * per node and none on a node running a matching pod; zone spread within maxSkew over the
 * domains (minDomains honoured); every pending pod answered exactly once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Plan, SnapshotNode } from '../../../lib/events/index.js';
import { cloudNode, fleet, instance, makeConfig, plan, shape, snapshot } from './fixtures.js';

const ANTI = 'selanti000';
const SPREAD = 'selspread0';
const ZONES = ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'];
const RUNS = { numRuns: 150, seed: 20261207, endOnFailure: true } as const;

const nodeArb = fc.record({
  zone: fc.integer({ min: 0, max: 2 }),
  roomy: fc.boolean(),
  anti: fc.integer({ min: 0, max: 2 }),
  spread: fc.integer({ min: 0, max: 4 }),
});
const caseArb = fc.record({
  zoneCount: fc.integer({ min: 2, max: 3 }),
  nodes: fc.array(nodeArb, { maxLength: 6 }),
  antiCount: fc.integer({ min: 1, max: 12 }),
  antiCpu: fc.constantFrom(100, 250, 500, 1000),
  spreadCount: fc.integer({ min: 1, max: 12 }),
  spreadCpu: fc.constantFrom(100, 250, 700),
  maxSkew: fc.integer({ min: 1, max: 2 }),
  minDomains: fc.option(fc.integer({ min: 2, max: 5 }), { nil: undefined }),
  plain: fc.integer({ min: 0, max: 20 }),
});

/** The value type an arbitrary generates. */
type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

function check(c: ValueOf<typeof caseArb>): void {
  const zones = ZONES.slice(0, c.zoneCount);
  const nodes: SnapshotNode[] = c.nodes.map((n, i) => {
    const counts: Record<string, number> = {};
    if (n.anti > 0) counts[ANTI] = n.anti;
    if (n.spread > 0) counts[SPREAD] = n.spread;
    return cloudNode(`i-0${i.toString(16).padStart(16, '0')}`, {
      zone: zones[n.zone % zones.length] as string,
      requested: n.roomy
        ? { cpuMilli: 100, memoryMiB: 300, pods: 2 }
        : { cpuMilli: 2000, memoryMiB: 7700, pods: 20 },
      usedHostPorts: [],
      ...(Object.keys(counts).length ? { podSelectorCounts: counts } : {}),
    });
  });
  const shapes = [
    shape({
      id: 'anti',
      count: c.antiCount,
      cpuMilli: c.antiCpu,
      memoryMiB: 256,
      podAntiAffinity: [{ selector: ANTI, topology: 'hostname' }],
      matchesSelectors: [ANTI],
    }),
    shape({
      id: 'spread',
      count: c.spreadCount,
      cpuMilli: c.spreadCpu,
      memoryMiB: 256,
      topologySpread: [
        {
          selector: SPREAD,
          topology: 'zone',
          maxSkew: c.maxSkew,
          ...(c.minDomains ? { minDomains: c.minDomains } : {}),
        },
      ],
      matchesSelectors: [SPREAD],
    }),
    ...(c.plain > 0 ? [shape({ id: 'plain', count: c.plain, cpuMilli: 300, memoryMiB: 600 })] : []),
  ];
  const p = plan({
    // Limits that never bind: a clamp holds spread shapes back whole (tested in pod-terms.test.ts).
    config: makeConfig({
      network: { availabilityZoneCount: c.zoneCount },
      limits: { maxNodes: 200, maxVcpus: 2000, maxMemoryMiB: 8_000_000, maxHourlyCostUsd: 500 },
    }),
    snapshot: snapshot({
      pendingShapes: shapes,
      nodes,
      podSelectors: [
        { id: ANTI, namespaces: ['shop'], matchLabels: { app: 'anti' } },
        { id: SPREAD, namespaces: ['shop'], matchLabels: { app: 'spread' } },
      ],
    }),
    fleet: fleet({
      instances: nodes.map((n) =>
        instance(n.instanceId as string, { zone: n.zone as string, nodeName: n.name }),
      ),
    }),
  });
  const byName = new Map(nodes.map((n) => [n.name, n]));

  // Every pending pod is answered exactly once.
  for (const s of shapes)
    expect((p.podAnswers ?? []).filter((a) => a.shapeId === s.id).reduce((n, a) => n + a.count, 0)).toBe(
      s.count,
    );

  // Hostname anti-affinity: no existing node running a match, at most one per node.
  const answersOf = (id: string, kind: NonNullable<Plan['podAnswers']>[number]['kind']) =>
    (p.podAnswers ?? []).filter((a) => a.shapeId === id && a.kind === kind);
  for (const a of answersOf('anti', 'fits-on-existing')) {
    for (const t of a.targets) expect(byName.get(t)?.podSelectorCounts?.[ANTI]).toBeUndefined();
    if (a.targets.length < 8) expect(a.count).toBeLessThanOrEqual(a.targets.length);
  }
  const antiLaunched = answersOf('anti', 'launched-for').reduce((n, a) => n + a.count, 0);
  const antiNodes = p.launches.filter((l) => l.shapeIds.includes('anti')).reduce((n, l) => n + l.count, 0);
  expect(antiLaunched).toBeLessThanOrEqual(antiNodes);

  // Zone spread: final counts per zone (running + placed) within maxSkew of the minimum.
  const finalByZone = new Map<string, number>(zones.map((z) => [z, 0]));
  for (const n of nodes)
    finalByZone.set(
      n.zone as string,
      (finalByZone.get(n.zone as string) ?? 0) + (n.podSelectorCounts?.[SPREAD] ?? 0),
    );
  const received = new Set<string>();
  for (const a of answersOf('spread', 'fits-on-existing')) {
    const zs = new Set(a.targets.map((t) => byName.get(t)?.zone));
    expect(zs.size).toBe(1); // one answer per zone piece
    const z = [...zs][0] as string;
    finalByZone.set(z, (finalByZone.get(z) ?? 0) + a.count);
    received.add(z);
  }
  for (const l of p.launches.filter((x) => x.shapeIds.includes('spread'))) {
    expect(l.zones).toHaveLength(1);
    expect(l.shapeIds).toEqual(['spread']); // the only zone-pinned shape: its launches hold only its pods
    const z = l.zones[0] as string;
    finalByZone.set(z, (finalByZone.get(z) ?? 0) + l.podsCovered);
    received.add(z);
  }
  const domainCount = finalByZone.size;
  const min =
    c.minDomains !== undefined && domainCount < c.minDomains ? 0 : Math.min(...finalByZone.values());
  for (const z of received) expect((finalByZone.get(z) as number) - min).toBeLessThanOrEqual(c.maxSkew);
}

describe('inter-pod rules: every plan honours what it claims (independent checker)', () => {
  it('hostname anti-affinity and zone spread on generated clusters', () => {
    fc.assert(fc.property(caseArb, check), RUNS);
  });
});
