import type { NodeRoom } from './capacity.js';

/** One pending shape as the packer sees it. */
export interface PackItem {
  cpuMilli: number;
  memoryMiB: number;
  hostPorts: readonly number[];
  count: number;
}

/** Identical bins (same free room, same host ports used), `n` of them, in opening order. */
interface BinClass {
  cpu: number;
  mem: number;
  pods: number;
  ports: Set<number> | null;
  n: number;
}

/** Result of packing items onto fresh nodes of one type. */
export interface PackResult {
  bins: number;
  /** Pods placed per item (same order as the input). */
  covered: number[];
  coveredTotal: number;
  /** Largest usage of any bin, so a fallback type can be checked against the same packing. */
  maxUsed: NodeRoom;
}

/** How many pods of `item` fit in one bin with this room (host ports: at most one, never reused). */
export function fitCount(
  cpu: number,
  mem: number,
  pods: number,
  ports: Set<number> | null,
  item: PackItem,
): number {
  if (pods <= 0) return 0;
  let f = pods;
  if (item.cpuMilli > 0) f = Math.min(f, Math.floor(cpu / item.cpuMilli));
  if (item.memoryMiB > 0) f = Math.min(f, Math.floor(mem / item.memoryMiB));
  if (item.hostPorts.length > 0 && f > 0) {
    if (ports) for (const p of item.hostPorts) if (ports.has(p)) return 0;
    f = 1;
  }
  return f;
}

function place(c: BinClass, item: PackItem, k: number): void {
  c.cpu -= k * item.cpuMilli;
  c.mem -= k * item.memoryMiB;
  c.pods -= k;
  if (item.hostPorts.length > 0 && k > 0) {
    c.ports = new Set(c.ports ?? []);
    for (const p of item.hostPorts) c.ports.add(p);
  }
}

/**
 * First-fit-decreasing onto identical fresh nodes with room `room`, opening at most `maxBins`.
 * Items must already be sorted largest first. Identical bins are kept as one class with a
 * multiplicity, so 100,000 pods in 1,000 shapes cost O(shapes × classes), not O(pods × bins):
 * a shape fills a whole class at once, and a class splits at most once per shape.
 */
export function packFresh(items: readonly PackItem[], room: NodeRoom, maxBins: number): PackResult {
  const classes: BinClass[] = [];
  const covered: number[] = new Array(items.length).fill(0);
  let opened = 0;
  let coveredTotal = 0;
  // Smallest request in each dimension: a class with less room than that is full for good.
  let minCpu = Number.POSITIVE_INFINITY;
  let minMem = Number.POSITIVE_INFINITY;
  for (const it of items) {
    minCpu = Math.min(minCpu, it.cpuMilli);
    minMem = Math.min(minMem, it.memoryMiB);
  }
  let live = 0; // classes before this index are full
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as PackItem;
    let r = item.count;
    for (let k = live; k < classes.length && r > 0; k++) {
      const c = classes[k] as BinClass;
      const f = fitCount(c.cpu, c.mem, c.pods, c.ports, item);
      if (f === 0) continue;
      const full = Math.min(c.n, Math.floor(r / f));
      if (full === c.n) {
        place(c, item, f);
        r -= f * c.n;
        continue;
      }
      const rest = r - full * f;
      const replacement: BinClass[] = [];
      if (full > 0) {
        const a = { ...c, n: full };
        place(a, item, f);
        replacement.push(a);
      }
      let untouched = c.n - full;
      if (rest > 0) {
        const b = { ...c, n: 1 };
        place(b, item, rest);
        replacement.push(b);
        untouched -= 1;
      }
      if (untouched > 0) replacement.push({ ...c, n: untouched });
      classes.splice(k, 1, ...replacement);
      r = 0;
    }
    if (r > 0 && opened < maxBins) {
      const per = fitCount(room.cpuMilli, room.memoryMiB, room.pods, null, item);
      if (per > 0) {
        const full = Math.min(Math.floor(r / per), maxBins - opened);
        if (full > 0) {
          const c: BinClass = {
            cpu: room.cpuMilli,
            mem: room.memoryMiB,
            pods: room.pods,
            ports: null,
            n: full,
          };
          place(c, item, per);
          classes.push(c);
          opened += full;
          r -= full * per;
        }
        if (r > 0 && r < per && opened < maxBins) {
          const c: BinClass = { cpu: room.cpuMilli, mem: room.memoryMiB, pods: room.pods, ports: null, n: 1 };
          place(c, item, r);
          classes.push(c);
          opened += 1;
          r = 0;
        }
      }
    }
    covered[i] = item.count - r;
    coveredTotal += item.count - r;
    // Advance past leading classes that can no longer take the smallest item.
    while (live < classes.length) {
      const c = classes[live] as BinClass;
      if (c.pods > 0 && c.cpu >= minCpu && c.mem >= minMem) break;
      live++;
    }
  }
  let minFreeCpu = room.cpuMilli;
  let minFreeMem = room.memoryMiB;
  let minFreePods = room.pods;
  for (const c of classes) {
    minFreeCpu = Math.min(minFreeCpu, c.cpu);
    minFreeMem = Math.min(minFreeMem, c.mem);
    minFreePods = Math.min(minFreePods, c.pods);
  }
  return {
    bins: opened,
    covered,
    coveredTotal,
    maxUsed:
      opened === 0
        ? { cpuMilli: 0, memoryMiB: 0, pods: 0 }
        : {
            cpuMilli: room.cpuMilli - minFreeCpu,
            memoryMiB: room.memoryMiB - minFreeMem,
            pods: room.pods - minFreePods,
          },
  };
}

/** Lower bound on fresh nodes needed (fluid relaxation): ranks types before exact packing. */
export function binsLowerBound(items: readonly PackItem[], room: NodeRoom): number {
  let cpu = 0;
  let mem = 0;
  let pods = 0;
  const portPods = new Map<number, number>();
  for (const it of items) {
    cpu += it.cpuMilli * it.count;
    mem += it.memoryMiB * it.count;
    pods += it.count;
    for (const p of it.hostPorts) portPods.set(p, (portPods.get(p) ?? 0) + it.count);
  }
  let lb = Math.max(
    room.cpuMilli > 0 ? Math.ceil(cpu / room.cpuMilli) : 0,
    room.memoryMiB > 0 ? Math.ceil(mem / room.memoryMiB) : 0,
    room.pods > 0 ? Math.ceil(pods / room.pods) : Number.POSITIVE_INFINITY,
  );
  for (const n of portPods.values()) lb = Math.max(lb, n);
  return lb;
}
