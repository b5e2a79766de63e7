import type { NodeRoom } from './capacity.js';

/** One pending shape as the packer sees it. */
export interface PackItem {
  cpuMilli: number;
  memoryMiB: number;
  /** Ephemeral storage, MiB (0 when the pod requests none). */
  ephemeralMiB: number;
  /** `nvidia.com/gpu` (0 when none). */
  gpus: number;
  /** Host ports as {@link portKey}s. */
  hostPorts: readonly string[];
  count: number;
}

/** Free room of one bin (or of identical bins): what {@link fitCount} checks. */
export interface Free {
  cpu: number;
  mem: number;
  /** Ephemeral storage, MiB; Infinity when unknown (an older agent): not checked. */
  eph: number;
  gpu: number;
  pods: number;
  /** Host-port keys in use plus wildcard markers (see {@link addPorts}); null = none. */
  ports: Set<string> | null;
}

/** Identical bins (same free room, same host ports used), `n` of them, in opening order. */
interface BinClass extends Free {
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

/** `TCP/8080/` (every address) or `UDP/53/10.0.0.1`: a host port as the packer keys it. */
export function portKey(p: { port: number; protocol?: string; hostIP?: string }): string {
  return `${p.protocol ?? 'TCP'}/${p.port}/${p.hostIP ?? ''}`;
}

/**
 * Whether host port `key` clashes with the ports in use (kube-scheduler NodePorts): same
 * protocol and port, and equal host IPs or either one the wildcard.
 */
export function portClashes(used: Set<string> | null, key: string): boolean {
  if (!used) return false;
  const slash = key.lastIndexOf('/');
  const base = key.slice(0, slash + 1);
  if (slash === key.length - 1) return used.has(`${base}*`); // wildcard: any use of the port clashes
  return used.has(key) || used.has(base); // same address, or the port is taken on every address
}

/** Mark host ports as used: the key itself plus a `proto/port/*` marker for wildcard checks. */
export function addPorts(used: Set<string> | null, keys: readonly string[]): Set<string> {
  const out = new Set(used ?? []);
  for (const k of keys) {
    out.add(k);
    out.add(`${k.slice(0, k.lastIndexOf('/') + 1)}*`);
  }
  return out;
}

/** How many pods of `item` fit in one bin with this free room (host ports: at most one, never reused). */
export function fitCount(free: Free, item: PackItem): number {
  if (free.pods <= 0) return 0;
  let f = free.pods;
  if (item.cpuMilli > 0) f = Math.min(f, Math.floor(free.cpu / item.cpuMilli));
  if (item.memoryMiB > 0) f = Math.min(f, Math.floor(free.mem / item.memoryMiB));
  if (item.ephemeralMiB > 0) f = Math.min(f, Math.floor(free.eph / item.ephemeralMiB));
  if (item.gpus > 0) f = Math.min(f, Math.floor(free.gpu / item.gpus));
  if (item.hostPorts.length > 0 && f > 0) {
    for (const p of item.hostPorts) if (portClashes(free.ports, p)) return 0;
    // Two pods of one shape bind the same ports: at most one per node.
    f = 1;
  }
  return f;
}

/** A fresh node's free room. */
export function freeOf(room: NodeRoom): Free {
  return {
    cpu: room.cpuMilli,
    mem: room.memoryMiB,
    eph: room.ephemeralMiB ?? Number.POSITIVE_INFINITY,
    gpu: room.gpus ?? 0,
    pods: room.pods,
    ports: room.ports && room.ports.length > 0 ? addPorts(null, room.ports) : null,
  };
}

function place(c: Free, item: PackItem, k: number): void {
  c.cpu -= k * item.cpuMilli;
  c.mem -= k * item.memoryMiB;
  c.eph -= k * item.ephemeralMiB;
  c.gpu -= k * item.gpus;
  c.pods -= k;
  if (item.hostPorts.length > 0 && k > 0) c.ports = addPorts(c.ports, item.hostPorts);
}

/**
 * First-fit-decreasing onto identical fresh nodes with room `room`, opening at most `maxBins`.
 * Items must already be sorted largest first. Identical bins are kept as one class with a
 * multiplicity, so 100,000 pods in 1,000 shapes cost O(shapes × classes), not O(pods × bins):
 * a shape fills a whole class at once, and a class splits at most once per shape.
 */
export function packFresh(items: readonly PackItem[], room: NodeRoom, maxBins: number): PackResult {
  const classes: BinClass[] = [];
  const fresh = freeOf(room);
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
      const f = fitCount(c, item);
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
      const per = fitCount(fresh, item);
      if (per > 0) {
        const full = Math.min(Math.floor(r / per), maxBins - opened);
        if (full > 0) {
          const c: BinClass = { ...fresh, n: full };
          place(c, item, per);
          classes.push(c);
          opened += full;
          r -= full * per;
        }
        if (r > 0 && r < per && opened < maxBins) {
          const c: BinClass = { ...fresh, n: 1 };
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
  let minFreeEph = fresh.eph;
  let minFreeGpu = fresh.gpu;
  for (const c of classes) {
    minFreeCpu = Math.min(minFreeCpu, c.cpu);
    minFreeMem = Math.min(minFreeMem, c.mem);
    minFreePods = Math.min(minFreePods, c.pods);
    minFreeEph = Math.min(minFreeEph, c.eph);
    minFreeGpu = Math.min(minFreeGpu, c.gpu);
  }
  const usedEph = Number.isFinite(fresh.eph) ? fresh.eph - minFreeEph : 0;
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
            ephemeralMiB: usedEph,
            gpus: fresh.gpu - minFreeGpu,
          },
  };
}

/** Lower bound on fresh nodes needed (fluid relaxation): ranks types before exact packing. */
export function binsLowerBound(items: readonly PackItem[], room: NodeRoom): number {
  let cpu = 0;
  let mem = 0;
  let eph = 0;
  let gpu = 0;
  let pods = 0;
  const portPods = new Map<string, number>();
  for (const it of items) {
    cpu += it.cpuMilli * it.count;
    mem += it.memoryMiB * it.count;
    eph += it.ephemeralMiB * it.count;
    gpu += it.gpus * it.count;
    pods += it.count;
    for (const p of it.hostPorts) portPods.set(p, (portPods.get(p) ?? 0) + it.count);
  }
  const roomEph = room.ephemeralMiB ?? Number.POSITIVE_INFINITY;
  const roomGpu = room.gpus ?? 0;
  let lb = Math.max(
    room.cpuMilli > 0 ? Math.ceil(cpu / room.cpuMilli) : 0,
    room.memoryMiB > 0 ? Math.ceil(mem / room.memoryMiB) : 0,
    eph > 0 && roomEph > 0 ? Math.ceil(eph / roomEph) : 0,
    gpu > 0 ? (roomGpu > 0 ? Math.ceil(gpu / roomGpu) : Number.POSITIVE_INFINITY) : 0,
    room.pods > 0 ? Math.ceil(pods / room.pods) : Number.POSITIVE_INFINITY,
  );
  for (const n of portPods.values()) lb = Math.max(lb, n);
  return lb;
}
