/**
 * Mixed packing (#15 item 6): lib/core/mixed-packing.ts directly (fast-check properties on
 * random items and types), then planCluster on seeded random mixed workloads against the
 * yardstick of test/bench/packing-yardstick.ts (the heuristic the issue names).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planCluster } from '../../../lib/core/index.js';
import { type MixedItem, type MixedType, packMixed } from '../../../lib/core/mixed-packing.js';
import { freeOf, portKey } from '../../../lib/core/packing.js';
import { ClusterSnapshot, FleetState } from '../../../lib/events/index.js';
import {
  heuristicCost,
  lowerBoundCost,
  mixedWorkload,
  planCost,
  prng,
  QUALITY_DAEMONSETS,
  qualityConfig,
  rooms,
} from '../../bench/packing-yardstick.js';

const type = (
  name: string,
  cpuMilli: number,
  memoryMiB: number,
  price: number,
  ports?: string[],
): MixedType => ({
  name,
  price,
  free: freeOf({ cpuMilli, memoryMiB, pods: 110, ...(ports ? { ports } : {}) }),
});
const item = (
  cpuMilli: number,
  memoryMiB: number,
  count: number,
  allowed: number[],
  hostPorts: string[] = [],
): MixedItem => ({ cpuMilli, memoryMiB, ephemeralMiB: 0, gpus: 0, hostPorts, count, allowed });

describe('packMixed', () => {
  it('puts shapes with different allowed types on one node when a type allowed for both holds them', () => {
    // Given: a shape allowed on small+big, one allowed on big+huge; one big node holds both.
    const types = [
      type('small', 1850, 3500, 0.02),
      type('big', 3850, 7300, 0.04),
      type('huge', 7850, 15000, 0.08),
    ];
    // When
    const r = packMixed([item(1000, 2000, 2, [0, 1]), item(1000, 2000, 1, [1, 2])], types);
    // Then: one node of big (allowed for both), not a small for the first and a big for the second.
    expect(r.nodes).toEqual([
      { types: [1, 2].filter((i) => i === 1), contents: expect.any(Array), count: 1 },
    ]);
    expect(r.covered).toEqual([2, 1]);
  });

  it('launches each node as the cheapest type holding it and lists the other holders cheapest first', () => {
    const types = [type('c', 3850, 7300, 0.05), type('m', 3850, 15000, 0.06), type('r', 3850, 30000, 0.08)];
    const r = packMixed([item(1000, 1000, 3, [0, 1, 2])], types);
    expect(r.nodes).toHaveLength(1);
    expect(r.nodes[0]?.types).toEqual([0, 1, 2]);
  });

  it('merges two nodes into one cheaper node when a single type holds both', () => {
    // Given: two shapes whose allowed sets meet only in "both"; FFD opens a node per shape on
    // their own cheap types, then the merge finds one "both" node cheaper than the two.
    const types = [type('a', 1850, 3500, 0.05), type('b', 1850, 3500, 0.05), type('both', 3850, 7300, 0.06)];
    const r = packMixed([item(1000, 2000, 1, [0, 2]), item(1000, 2000, 1, [1, 2])], types, { ceilings: 0 });
    expect(r.nodes.map((n) => n.types[0])).toEqual([2]);
  });

  it('never puts two pods binding the same host port on one node, nor on a type whose DaemonSets bind it', () => {
    const p = portKey({ port: 9100 });
    const types = [type('ds', 7850, 15000, 0.05, [p]), type('free', 7850, 15000, 0.06)];
    const r = packMixed([item(100, 100, 3, [0, 1], [p])], types);
    expect(r.nodes.reduce((a, n) => a + n.count, 0)).toBe(3);
    for (const n of r.nodes) expect(n.types).toEqual([1]);
  });

  it('places every pod on a type allowed for everything on its node that holds it (property)', () => {
    const arb = fc.record({
      types: fc.array(
        fc.record({
          cpu: fc.integer({ min: 500, max: 16_000 }),
          mem: fc.integer({ min: 500, max: 64_000 }),
          price: fc.integer({ min: 1, max: 100 }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      items: fc.array(
        fc.record({
          cpu: fc.integer({ min: 0, max: 4000 }),
          mem: fc.integer({ min: 0, max: 16_000 }),
          count: fc.integer({ min: 1, max: 60 }),
          allowedBits: fc.integer({ min: 1, max: 4095 }),
          port: fc.option(fc.constantFrom(80, 443), { nil: undefined }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      ceilings: fc.integer({ min: 0, max: 3 }),
    });
    fc.assert(
      fc.property(arb, ({ types: ts, items: its, ceilings }) => {
        const types = ts.map((t, i) => type(`t${i}`, t.cpu, t.mem, t.price / 100));
        const items = its.map((it) => {
          const allowed = types.map((_, i) => i).filter((i) => (it.allowedBits >> i) & 1);
          return item(it.cpu, it.mem, it.count, allowed, it.port ? [portKey({ port: it.port })] : []);
        });
        const r = packMixed(items, types, { ceilings });
        items.forEach((it, i) => {
          const fitsOne = it.allowed.some((t) => {
            const f = (types[t] as MixedType).free;
            return f.cpu >= it.cpuMilli && f.mem >= it.memoryMiB;
          });
          // Every pod is covered exactly when some allowed type holds one.
          expect(r.covered[i]).toBe(fitsOne ? it.count : 0);
        });
        const placed = new Array<number>(items.length).fill(0);
        for (const n of r.nodes) {
          expect(n.types.length).toBeGreaterThan(0);
          let cpu = 0;
          let mem = 0;
          const ports = new Set<string>();
          for (const [i, k] of n.contents) {
            const it = items[i] as MixedItem;
            cpu += k * it.cpuMilli;
            mem += k * it.memoryMiB;
            placed[i] = (placed[i] as number) + k * n.count;
            for (const p of it.hostPorts) {
              expect(ports.has(p)).toBe(false);
              expect(k).toBe(1);
              ports.add(p);
            }
          }
          for (const t of n.types) {
            const f = (types[t] as MixedType).free;
            expect(f.cpu).toBeGreaterThanOrEqual(cpu);
            expect(f.mem).toBeGreaterThanOrEqual(mem);
            for (const [i] of n.contents) expect((items[i] as MixedItem).allowed).toContain(t);
          }
          // Cheapest first.
          const prices = n.types.map((t) => (types[t] as MixedType).price);
          expect(prices).toEqual([...prices].sort((a, b) => a - b));
        }
        expect(placed).toEqual(r.covered);
      }),
      { numRuns: 300, seed: 1207 },
    );
  });
});

describe('planCluster on random mixed workloads (packing-yardstick.ts)', () => {
  const NOW = new Date('2026-03-16T09:30:00Z');
  const config = qualityConfig();
  const typeRooms = rooms(config, QUALITY_DAEMONSETS);
  const roomOf = new Map(typeRooms.map((t) => [t.spec.instanceType, t]));
  const r = prng(2026);
  const workloads = Array.from({ length: 40 }, () => mixedWorkload(r, '2026-03-16T09:29:00Z'));

  it('launches for every pod, on types of its architecture with room for what each launch carries, never above the LP bound', () => {
    for (const shapes of workloads) {
      const snapshot = ClusterSnapshot.parse({
        schemaVersion: 1,
        cluster: 'pi-lab',
        seq: 1,
        observedAt: NOW.toISOString(),
        pendingShapes: shapes,
        nodes: [],
        daemonSets: QUALITY_DAEMONSETS,
      });
      const plan = planCluster({
        config,
        snapshot,
        fleet: FleetState.parse({}),
        now: NOW,
        decisionId: 'pi-lab-0test00000000',
      });
      const pods = shapes.reduce((a, s) => a + (s.count as number), 0);
      expect(plan.launches.reduce((a, l) => a + l.podsCovered, 0)).toBe(pods);
      const byId = new Map(shapes.map((s) => [s.id, s]));
      for (const l of plan.launches) {
        const carried = l.shapeIds.map((id) => byId.get(id) as (typeof shapes)[number]);
        for (const s of carried)
          expect(l.arch).toBe((s.nodeSelector as Record<string, string>)['kubernetes.io/arch']);
        for (const t of l.instanceTypes) {
          const room = roomOf.get(t);
          expect(room?.spec.arch).toBe(l.arch);
          // Every type listed (chosen or fallback) holds each carried shape's pod.
          for (const s of carried) {
            expect(room?.cpu).toBeGreaterThanOrEqual(s.cpuMilli);
            expect(room?.mem).toBeGreaterThanOrEqual(s.memoryMiB);
          }
        }
      }
      expect(planCost(plan)).toBeGreaterThanOrEqual(lowerBoundCost(shapes, typeRooms) - 1e-6);
    }
  });

  it('costs no more than the heuristic at the median and at most 5 % more at p90 (the bench budgets), on these seeds', () => {
    const ratios = workloads
      .map((shapes) => {
        const snapshot = ClusterSnapshot.parse({
          schemaVersion: 1,
          cluster: 'pi-lab',
          seq: 1,
          observedAt: NOW.toISOString(),
          pendingShapes: shapes,
          nodes: [],
          daemonSets: QUALITY_DAEMONSETS,
        });
        const plan = planCluster({
          config,
          snapshot,
          fleet: FleetState.parse({}),
          now: NOW,
          decisionId: 'pi-lab-0test00000000',
        });
        return planCost(plan) / heuristicCost(shapes, typeRooms);
      })
      .sort((a, b) => a - b);
    const median = ((ratios[19] as number) + (ratios[20] as number)) / 2;
    const p90 = ratios[Math.ceil(0.9 * ratios.length) - 1] as number;
    expect(median).toBeLessThanOrEqual(1);
    expect(p90).toBeLessThanOrEqual(1.05);
  });
});
