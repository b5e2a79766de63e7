/**
 * The yardstick for packing quality (#15 item 6): random mixed workloads, the simple heuristic
 * the issue names, and a lower bound on what any plan can cost. These measure the planner; they
 * are not part of it (lib/core never imports them).
 *
 * - Workloads: a fixed-seed PRNG draws `count` workloads of 10–2,000 pods in 1–30 shapes, each
 *   shape pinned to arm64 (70 %) or amd64 (30 %) by nodeSelector, requests from 100m to 4 CPU
 *   and 128 MiB to 16 GiB, on-demand only, against 40 built-in types.
 * - Heuristic: per architecture, first-fit-decreasing of every pod (largest CPU + memory share
 *   first) onto nodes of the largest type of that architecture, then each node shrunk to the
 *   cheapest type of that architecture that still holds it.
 * - Lower bound: the LP relaxation over CPU, memory and pod slots per architecture (fractional
 *   nodes of any type covering the total demand). With three constraints an optimal basic
 *   solution uses k ≤ 3 types with k constraints tight, so enumerating every such choice and
 *   keeping the feasible ones solves it exactly. Any real plan pays at least this.
 *
 * Node room is the planner's own model (newNodeCapacity: system-reserved, DaemonSets), so all
 * three compare the same thing.
 */
import {
  builtInInstanceSpecs,
  cloudNodeLabels,
  type InstanceSpec,
  newNodeCapacity,
} from '../../lib/core/index.js';
import type { ClusterSnapshotInput, Config, DaemonSetOverhead, Plan } from '../../lib/events/index.js';
import { CLOUD_TAINT, makeConfig } from '../unit/core/fixtures.js';

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 40 candidate types from the built-in table: the smallest burstables and the very largest left out. */
export function fortyTypes(): string[] {
  const skip = new Set([
    't4g.nano',
    't4g.micro',
    't4g.small',
    't3.micro',
    't3.small',
    'm7g.medium',
    'c7g.medium',
    'r7g.medium',
    'm6g.medium',
    'c6g.medium',
    'm7g.16xlarge',
    'c7g.16xlarge',
    'm7g.12xlarge',
    'c7g.12xlarge',
    'r7g.8xlarge',
    'm7i.8xlarge',
  ]);
  const types = builtInInstanceSpecs()
    .map((s) => s.instanceType)
    .filter((t) => !skip.has(t));
  if (types.length !== 40) throw new Error(`expected 40 candidate types, got ${types.length}`);
  return types;
}

export const CLOUD_TOLERATION = {
  key: 'k3s-burst.io/cloud',
  operator: 'Equal' as const,
  value: 'true',
  effect: 'NoSchedule' as const,
};

/** DaemonSets on every cloud node (the overhead new nodes carry). */
export const QUALITY_DAEMONSETS: DaemonSetOverhead[] = [
  {
    name: 'monitoring/node-exporter',
    cpuMilli: 50,
    memoryMiB: 64,
    tolerations: [{ operator: 'Exists' }],
    nodeSelector: {},
    requiredAffinity: [],
  },
  {
    name: 'logging/fluent-bit',
    cpuMilli: 100,
    memoryMiB: 128,
    tolerations: [CLOUD_TOLERATION],
    nodeSelector: {},
    requiredAffinity: [],
  },
];

/** On-demand only, 40 types, limits that never bind. */
export function qualityConfig(): Config {
  return makeConfig({
    nodes: {
      candidateTypes: fortyTypes(),
      capacityTypes: ['on-demand'],
      labels: { 'k3s-burst.io/pool': 'cloud' },
      taints: [CLOUD_TAINT],
    },
    limits: {
      maxNodes: 100_000,
      maxVcpus: 10_000_000,
      maxMemoryMiB: 1_000_000_000,
      maxHourlyCostUsd: 100_000,
    },
  });
}

export type Shape = NonNullable<ClusterSnapshotInput['pendingShapes']>[number];

/** One random mixed workload: 10–2,000 pods (log-uniform) in 1–30 shapes. */
export function mixedWorkload(r: () => number, since: string): Shape[] {
  const pods = Math.round(10 * 200 ** r());
  const shapes = Math.min(pods, 1 + Math.floor(r() * 30));
  const weights = Array.from({ length: shapes }, () => r() + 0.05);
  const total = weights.reduce((a, w) => a + w, 0);
  const counts = weights.map((w) => Math.max(1, Math.floor((w / total) * pods)));
  const cpus = [100, 250, 500, 750, 1000, 1500, 2000, 3000, 4000];
  const mems = [128, 256, 512, 1024, 1536, 2048, 4096, 6144, 8192, 12_288, 16_384];
  return counts.map((count, i) => ({
    id: `w${i}-${Math.floor(r() * 1e9).toString(36)}`,
    cpuMilli: cpus[Math.floor(r() * cpus.length)] as number,
    memoryMiB: mems[Math.floor(r() * mems.length)] as number,
    nodeSelector: { 'kubernetes.io/arch': r() < 0.7 ? 'arm64' : 'amd64' },
    requiredAffinity: [],
    tolerations: [CLOUD_TOLERATION],
    usesLocalVolume: false,
    hostPorts: [],
    count,
    oldestPendingSince: since,
    examplePods: [`bench/w${i}`],
  }));
}

interface Room {
  spec: InstanceSpec;
  cpu: number;
  mem: number;
  pods: number;
  price: number;
}

/** The planner's room for each candidate type (on-demand price). */
export function rooms(config: Config, daemonSets: readonly DaemonSetOverhead[]): Room[] {
  const specs = new Map(builtInInstanceSpecs().map((s) => [s.instanceType, s]));
  return config.nodes.candidateTypes.map((t) => {
    const spec = specs.get(t) as InstanceSpec;
    const room = newNodeCapacity(config, spec, cloudNodeLabels(config, spec, '', 'on-demand'), daemonSets);
    return { spec, cpu: room.cpuMilli, mem: room.memoryMiB, pods: room.pods, price: spec.onDemandHourlyUsd };
  });
}

const archOf = (s: Shape) => (s.nodeSelector as Record<string, string>)['kubernetes.io/arch'] as string;

/** The heuristic of the module header: FFD onto the largest type per architecture, then shrink each node. */
export function heuristicCost(shapes: readonly Shape[], all: readonly Room[]): number {
  let cost = 0;
  for (const arch of ['arm64', 'amd64']) {
    const types = all.filter((t) => t.spec.arch === arch);
    const mine = shapes.filter((s) => archOf(s) === arch);
    if (mine.length === 0) continue;
    const big = types.reduce((a, t) => (t.cpu > a.cpu || (t.cpu === a.cpu && t.mem > a.mem) ? t : a));
    const size = (s: Shape) => s.cpuMilli / big.cpu + s.memoryMiB / big.mem;
    const sorted = [...mine].sort((a, b) => size(b) - size(a));
    const bins: Array<{ cpu: number; mem: number; pods: number }> = [];
    for (const s of sorted) {
      for (let k = 0; k < (s.count as number); k++) {
        let bin = bins.find(
          (b) => b.cpu + s.cpuMilli <= big.cpu && b.mem + s.memoryMiB <= big.mem && b.pods + 1 <= big.pods,
        );
        if (!bin) {
          bin = { cpu: 0, mem: 0, pods: 0 };
          bins.push(bin);
        }
        bin.cpu += s.cpuMilli;
        bin.mem += s.memoryMiB;
        bin.pods += 1;
      }
    }
    for (const b of bins) {
      let best = Number.POSITIVE_INFINITY;
      for (const t of types)
        if (t.cpu >= b.cpu && t.mem >= b.mem && t.pods >= b.pods) best = Math.min(best, t.price);
      cost += best;
    }
  }
  return cost;
}

/** Solve the 2×2 or 3×3 system `m x = d` (Cramer's rule); undefined when singular. */
function solve(m: number[][], d: number[]): number[] | undefined {
  const det = (x: number[][]): number =>
    x.length === 2
      ? (x[0]?.[0] as number) * (x[1]?.[1] as number) - (x[0]?.[1] as number) * (x[1]?.[0] as number)
      : (x[0] as number[]).reduce(
          (a, v, j) => a + (j % 2 ? -1 : 1) * v * det(x.slice(1).map((row) => row.filter((_, c) => c !== j))),
          0,
        );
  const D = det(m);
  if (Math.abs(D) < 1e-12) return undefined;
  return d.map((_, j) => det(m.map((row, i) => row.map((v, c) => (c === j ? (d[i] as number) : v)))) / D);
}

/** The LP relaxation of the module header, summed over the architectures. */
export function lowerBoundCost(shapes: readonly Shape[], all: readonly Room[]): number {
  let lb = 0;
  for (const arch of ['arm64', 'amd64']) {
    const types = all.filter((t) => t.spec.arch === arch);
    const demand: [number, number, number] = [0, 0, 0];
    for (const s of shapes) {
      if (archOf(s) !== arch) continue;
      demand[0] += s.cpuMilli * (s.count as number);
      demand[1] += s.memoryMiB * (s.count as number);
      demand[2] += s.count as number;
    }
    if (demand[2] === 0) continue;
    const col = (t: Room) => [t.cpu, t.mem, t.pods];
    const feasible = (sel: Room[], x: number[]) =>
      x.every((v) => v >= -1e-9) &&
      demand.every(
        (d, i) => sel.reduce((a, t, k) => a + (x[k] as number) * (col(t)[i] as number), 0) >= d - 1e-6,
      );
    const cost = (sel: Room[], x: number[]) => sel.reduce((a, t, k) => a + (x[k] as number) * t.price, 0);
    let best = Number.POSITIVE_INFINITY;
    // Basic solutions: k types with k of the three constraints tight (k = 1, 2, 3).
    for (const t of types)
      best = Math.min(best, t.price * Math.max(...demand.map((d, i) => d / (col(t)[i] as number))));
    const rowsets = [
      [0, 1],
      [0, 2],
      [1, 2],
    ];
    for (let i = 0; i < types.length; i++) {
      for (let j = i + 1; j < types.length; j++) {
        const sel = [types[i], types[j]] as Room[];
        for (const rows of rowsets) {
          const x = solve(
            rows.map((r) => sel.map((t) => col(t)[r] as number)),
            rows.map((r) => demand[r] as number),
          );
          if (x && feasible(sel, x)) best = Math.min(best, cost(sel, x));
        }
        for (let k = j + 1; k < types.length; k++) {
          const three = [types[i], types[j], types[k]] as Room[];
          const x = solve(
            [0, 1, 2].map((r) => three.map((t) => col(t)[r] as number)),
            demand,
          );
          if (x && feasible(three, x)) best = Math.min(best, cost(three, x));
        }
      }
    }
    lb += best;
  }
  return lb;
}

/** What a plan's launches cost per hour (their own estimate). */
export function planCost(plan: Plan): number {
  return plan.launches.reduce((a, l) => a + l.estimatedHourlyUsd, 0);
}
