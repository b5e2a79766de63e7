/**
 * Mixed packing (#15 item 6): every shape that may share a node is packed together, the way
 * Karpenter's scheduler fills NodeClaims. Grouping shapes by the exact set of types they fit and
 * giving each group its own nodes left half-empty nodes of different groups side by side.
 *
 * Order and why:
 * 1. Items largest first by the scarcer resource (the one the workload needs most of relative to
 *    the biggest type), then the other one: first-fit-decreasing, so big pods claim nodes first
 *    and small ones fill the gaps.
 * 2. Each open node keeps the types that are allowed for everything on it (the intersection of its
 *    items' allowed types) and still fit what it holds, cheapest first (Karpenter narrows a
 *    NodeClaim's instance-type options the same way). A pod joins the first node where some
 *    remaining type holds it; the node then keeps only the types that still hold everything.
 * 3. Each node is launched as the cheapest type of its set; the rest of the set is its fallback
 *    list for capacity errors (every one of them holds the node's pods).
 * 4. Improving moves within an iteration bound (deterministic, no clock): merge two nodes into one
 *    when a single type holds both for less than the two cost, emptiest nodes first.
 *
 * Pure and allocation-light: 10,000 distinct shapes against 400 types plan in tens of ms (bench
 * `planner.scaleOut.10k-distinct-shapes.400-types`).
 */
import { addPorts, type Free, type PackItem, portClashes } from './packing.js';

/** A type the packer may open nodes of: its fresh-node room and the price that ranks it. */
export interface MixedType {
  /** Free room of a fresh node of this type (see freeOf). */
  free: Free;
  /** Hourly price used to choose between types (the preferred capacity type's). */
  price: number;
  /** Tie-break between equal prices (the type's name). */
  name: string;
}

/** One shape to pack, with the indices (into the type list) of the types it may run on. */
export interface MixedItem extends PackItem {
  allowed: readonly number[];
}

/** A node of the result: the cheapest type first, then every other type holding it by price. */
export interface MixedNode {
  /** Type indices that hold everything on the node and are allowed for all of it, cheapest first. */
  types: number[];
  /** Pods per item index placed on this node. */
  contents: Array<[item: number, pods: number]>;
}

/** Result of {@link packMixed}. */
export interface MixedResult {
  nodes: MixedNode[];
  /** Pods placed per item (same order as the input). */
  covered: number[];
  /** Improving moves applied (merges). */
  moves: number;
}

/** Bounds of the improvement phase: pairs examined and merges applied. */
export interface MixedBounds {
  /** The emptiest nodes considered for merging. @default 48 */
  mergeWindow?: number;
  /** Merges applied at most (per packing pass). @default 64 */
  maxMerges?: number;
  /** Node-size caps tried besides none (the types with the best fluid cost). @default 3 */
  ceilings?: number;
}

interface Node {
  cpu: number;
  mem: number;
  eph: number;
  gpu: number;
  pods: number;
  ports: Set<string> | null;
  /** Types allowed for everything on the node within this pass's size cap (membership). */
  allowed: Uint8Array;
  /** Types allowed for everything on the node, cap or not: the final type list is drawn from these. */
  full: Uint8Array;
  /** Allowed types that still hold the node's contents, cheapest first. */
  fit: number[];
  /** Largest free CPU / memory over `fit`: a cheap first test before the per-type one. */
  maxCpu: number;
  maxMem: number;
  maxPods: number;
  contents: Array<[number, number]>;
}

/** How many pods of `item` fit on type `t` of node `n` (host ports: at most one, never reused). */
function fitOn(t: MixedType, n: Node, item: PackItem): number {
  const f = t.free;
  let k = f.pods - n.pods;
  if (k <= 0) return 0;
  if (item.cpuMilli > 0) k = Math.min(k, Math.floor((f.cpu - n.cpu) / item.cpuMilli));
  if (item.memoryMiB > 0) k = Math.min(k, Math.floor((f.mem - n.mem) / item.memoryMiB));
  if (item.ephemeralMiB > 0) k = Math.min(k, Math.floor((f.eph - n.eph) / item.ephemeralMiB));
  if (item.gpus > 0) k = Math.min(k, Math.floor((f.gpu - n.gpu) / item.gpus));
  if (k <= 0) return 0;
  if (item.hostPorts.length > 0) {
    for (const p of item.hostPorts) if (portClashes(f.ports, p) || portClashes(n.ports, p)) return 0;
    return 1;
  }
  return k;
}

/** Whether type `t` holds usage `u` (a node's or two nodes' together) plus its ports. */
function holds(t: MixedType, u: Pick<Node, 'cpu' | 'mem' | 'eph' | 'gpu' | 'pods'>): boolean {
  const f = t.free;
  return f.cpu >= u.cpu && f.mem >= u.mem && f.eph >= u.eph && f.gpu >= u.gpu && f.pods >= u.pods;
}

function refresh(types: readonly MixedType[], n: Node): void {
  let c = 0;
  let m = 0;
  let p = 0;
  for (const i of n.fit) {
    const f = (types[i] as MixedType).free;
    if (f.cpu - n.cpu > c) c = f.cpu - n.cpu;
    if (f.mem - n.mem > m) m = f.mem - n.mem;
    if (f.pods - n.pods > p) p = f.pods - n.pods;
  }
  n.maxCpu = c;
  n.maxMem = m;
  n.maxPods = p;
}

function byPrice(types: readonly MixedType[]): (a: number, b: number) => number {
  return (a, b) => {
    const ta = types[a] as MixedType;
    const tb = types[b] as MixedType;
    return ta.price - tb.price || (ta.name < tb.name ? -1 : ta.name > tb.name ? 1 : 0);
  };
}

/**
 * Place up to `want` pods of `item` on node `n`: as many as the best remaining type takes, then
 * narrow the node's types to those that hold the result. Returns the pods placed.
 */
function placeOn(
  types: readonly MixedType[],
  n: Node,
  item: MixedItem,
  mask: Uint8Array,
  full: Uint8Array,
  want: number,
): number {
  let k = 0;
  for (const i of n.fit) {
    if (mask[i] !== 1) continue;
    const f = fitOn(types[i] as MixedType, n, item);
    if (f > k) k = f;
    if (k >= want) break;
  }
  if (k === 0) return 0;
  k = Math.min(k, want);
  const kept: number[] = [];
  for (const i of n.fit) if (mask[i] === 1 && fitOn(types[i] as MixedType, n, item) >= k) kept.push(i);
  n.fit = kept;
  if (n.allowed !== mask) {
    n.allowed = intersect(n.allowed, mask);
  }
  if (n.full !== full) n.full = intersect(n.full, full);
  n.cpu += k * item.cpuMilli;
  n.mem += k * item.memoryMiB;
  n.eph += k * item.ephemeralMiB;
  n.gpu += k * item.gpus;
  n.pods += k;
  if (item.hostPorts.length > 0) n.ports = addPorts(n.ports, item.hostPorts);
  refresh(types, n);
  return k;
}

/**
 * One first-fit-decreasing pass in `order`. With a `ceiling` (a type membership mask), nodes
 * open only as types inside it, except for items no type inside it may run: those keep their
 * own allowed types.
 */
function packOnce(
  items: readonly MixedItem[],
  types: readonly MixedType[],
  order: readonly number[],
  ceiling: Uint8Array | null,
  cmp: (a: number, b: number) => number,
): { nodes: Node[]; covered: number[] } {
  // One membership mask and one price-sorted list per distinct allowed set.
  const masks = new Map<readonly number[], { mask: Uint8Array; full: Uint8Array; sorted: number[] }>();
  const maskOf = (allowed: readonly number[]) => {
    let m = masks.get(allowed);
    if (!m) {
      let within = ceiling ? allowed.filter((i) => ceiling[i] === 1) : allowed;
      if (within.length === 0) within = allowed;
      const mask = new Uint8Array(types.length);
      for (const i of within) mask[i] = 1;
      const full = new Uint8Array(types.length);
      for (const i of allowed) full[i] = 1;
      m = { mask, full, sorted: [...new Set(within)].sort(cmp) };
      masks.set(allowed, m);
    }
    return m;
  };

  let minCpu = Number.POSITIVE_INFINITY;
  let minMem = Number.POSITIVE_INFINITY;
  for (const it of items) {
    minCpu = Math.min(minCpu, it.cpuMilli);
    minMem = Math.min(minMem, it.memoryMiB);
  }
  const nodes: Node[] = [];
  const covered = new Array<number>(items.length).fill(0);
  let live = 0; // nodes before this index take no more items
  for (const idx of order) {
    const item = items[idx] as MixedItem;
    const { mask, full, sorted } = maskOf(item.allowed);
    let r = item.count;
    for (let j = live; j < nodes.length && r > 0; j++) {
      const n = nodes[j] as Node;
      if (n.maxPods <= 0 || item.cpuMilli > n.maxCpu || item.memoryMiB > n.maxMem) continue;
      const k = placeOn(types, n, item, mask, full, r);
      if (k > 0) {
        n.contents.push([idx, k]);
        r -= k;
      }
    }
    while (r > 0) {
      const n: Node = {
        cpu: 0,
        mem: 0,
        eph: 0,
        gpu: 0,
        pods: 0,
        ports: null,
        allowed: mask,
        full,
        fit: sorted,
        maxCpu: 0,
        maxMem: 0,
        maxPods: 0,
        contents: [],
      };
      const k = placeOn(types, n, item, mask, full, r);
      if (k === 0) break; // no allowed type holds even one pod: left uncovered
      n.contents.push([idx, k]);
      nodes.push(n);
      r -= k;
    }
    covered[idx] = item.count - r;
    while (live < nodes.length) {
      const n = nodes[live] as Node;
      if (n.maxPods > 0 && n.maxCpu >= minCpu && n.maxMem >= minMem) break;
      live++;
    }
  }
  return { nodes, covered };
}

/**
 * Pack `items` onto new nodes of `types` (see the module header). Items need not be sorted.
 * Pods an item's allowed types cannot hold at all are left uncovered (the caller has already
 * filtered those out; the count is reported, never dropped silently).
 */
export function packMixed(
  items: readonly MixedItem[],
  types: readonly MixedType[],
  bounds: MixedBounds = {},
): MixedResult {
  const cmp = byPrice(types);
  // Which resource is scarce: total demand relative to the biggest type's room.
  let refCpu = 1;
  let refMem = 1;
  for (const t of types) {
    refCpu = Math.max(refCpu, t.free.cpu);
    refMem = Math.max(refMem, t.free.mem);
  }
  let totCpu = 0;
  let totMem = 0;
  for (const it of items) {
    totCpu += it.cpuMilli * it.count;
    totMem += it.memoryMiB * it.count;
  }
  const cpuScarce = totCpu / refCpu >= totMem / refMem;
  const primary = (it: PackItem) => (cpuScarce ? it.cpuMilli / refCpu : it.memoryMiB / refMem);
  const secondary = (it: PackItem) => (cpuScarce ? it.memoryMiB / refMem : it.cpuMilli / refCpu);
  const order = items.map((_, i) => i);
  order.sort((a, b) => {
    const ia = items[a] as MixedItem;
    const ib = items[b] as MixedItem;
    return (
      primary(ib) - primary(ia) ||
      secondary(ib) - secondary(ia) ||
      ib.gpus - ia.gpus ||
      ib.ephemeralMiB - ia.ephemeralMiB ||
      a - b
    );
  });

  // Node size: packing fills a node until no allowed type can take more, which favours the
  // biggest types. Where small types are cheaper per pod (burstables), that loses, so the pass
  // also runs with nodes capped at the few types with the best fluid cost (no bigger than them
  // in CPU and memory), and the cheapest result wins.
  const union = new Set<number>();
  let totPods = 0;
  for (const it of items) {
    for (const i of it.allowed) union.add(i);
    totPods += it.count;
  }
  const fluid = (i: number) => {
    const t = types[i] as MixedType;
    const f = t.free;
    const n = Math.max(
      f.cpu > 0 ? totCpu / f.cpu : Number.POSITIVE_INFINITY,
      f.mem > 0 ? totMem / f.mem : Number.POSITIVE_INFINITY,
      f.pods > 0 ? totPods / f.pods : Number.POSITIVE_INFINITY,
    );
    return Math.ceil(n) * t.price;
  };
  const ranked = [...union].sort((a, b) => fluid(a) - fluid(b) || cmp(a, b));
  const ceilings: Array<Uint8Array | null> = [null];
  for (const c of ranked.slice(0, bounds.ceilings ?? 3)) {
    const top = (types[c] as MixedType).free;
    const mask = new Uint8Array(types.length);
    for (let i = 0; i < types.length; i++) {
      const f = (types[i] as MixedType).free;
      if (f.cpu <= top.cpu && f.mem <= top.mem) mask[i] = 1;
    }
    ceilings.push(mask);
  }
  let best: MixedResult | undefined;
  let bestCost = Number.POSITIVE_INFINITY;
  for (const ceiling of ceilings) {
    const pass = packOnce(items, types, order, ceiling, cmp);
    const done = improve(types, pass.nodes, bounds);
    const short = pass.covered.reduce((a, c, i) => a + (items[i] as MixedItem).count - c, 0);
    let cost = 0;
    for (const n of done.nodes) cost += (types[n.types[0] as number] as MixedType).price;
    // Covering every pod comes first; then cost; then fewer nodes.
    const score = short * 1e12 + cost;
    if (
      !best ||
      score < bestCost - 1e-9 ||
      (Math.abs(score - bestCost) <= 1e-9 && done.nodes.length < best.nodes.length)
    ) {
      best = { ...done, covered: pass.covered };
      bestCost = score;
    }
  }
  return best as MixedResult;
}

/** Merge moves, then the result. `contents` of nodes are final after this. */
function improve(
  types: readonly MixedType[],
  nodes: Node[],
  bounds: MixedBounds,
): Omit<MixedResult, 'covered'> {
  const window = bounds.mergeWindow ?? 48;
  const maxMerges = bounds.maxMerges ?? 64;
  const price = (n: Node) => (n.fit.length > 0 ? (types[n.fit[0] as number] as MixedType).price : 0);
  let moves = 0;
  const alive = new Set(nodes);
  while (moves < maxMerges) {
    // The emptiest nodes (most free room in their cheapest type) are the merge candidates.
    const util = (n: Node) => {
      const t = types[n.fit[0] as number] as MixedType;
      return Math.max(n.cpu / Math.max(1, t.free.cpu), n.mem / Math.max(1, t.free.mem));
    };
    const cand = [...alive].sort((a, b) => util(a) - util(b)).slice(0, window);
    let best: { a: Node; b: Node; gain: number } | undefined;
    for (let x = 0; x < cand.length; x++) {
      const a = cand[x] as Node;
      for (let y = x + 1; y < cand.length; y++) {
        const b = cand[y] as Node;
        const sum = {
          cpu: a.cpu + b.cpu,
          mem: a.mem + b.mem,
          eph: a.eph + b.eph,
          gpu: a.gpu + b.gpu,
          pods: a.pods + b.pods,
        };
        // A type that holds both holds each alone and is allowed for both: it is in a.fit and
        // b.fit, so a node whose best type lacks the room rules the merge out cheaply.
        if (sum.cpu > a.maxCpu + a.cpu || sum.cpu > b.maxCpu + b.cpu) continue;
        if (sum.mem > a.maxMem + a.mem || sum.mem > b.maxMem + b.mem) continue;
        if (sum.pods > a.maxPods + a.pods || sum.pods > b.maxPods + b.pods) continue;
        if (!portsCompatible(a, b)) continue;
        const before = price(a) + price(b);
        let cheapest = -1;
        // a.fit is cheapest first: the first type that holds both is the merge's type.
        for (const i of a.fit) {
          if (b.allowed[i] !== 1) continue;
          const t = types[i] as MixedType;
          if (holds(t, sum) && portsFit(t, a, b)) {
            cheapest = i;
            break;
          }
        }
        if (cheapest < 0) continue;
        const gain = before - (types[cheapest] as MixedType).price;
        if (gain > 1e-9 && (!best || gain > best.gain)) best = { a, b, gain };
      }
    }
    if (!best) break;
    const { a, b } = best;
    const allowed = intersect(a.allowed, b.allowed);
    a.full = intersect(a.full, b.full);
    a.cpu += b.cpu;
    a.mem += b.mem;
    a.eph += b.eph;
    a.gpu += b.gpu;
    a.pods += b.pods;
    a.ports = b.ports ? addPortsFrom(a.ports, b.ports) : a.ports;
    // Still cheapest first: a filter of a's price-sorted list.
    a.fit = a.fit.filter(
      (i) => allowed[i] === 1 && holds(types[i] as MixedType, a) && portsFit(types[i] as MixedType, a, null),
    );
    a.allowed = allowed;
    a.contents.push(...b.contents);
    refresh(types, a);
    alive.delete(b);
    moves++;
  }
  const out: MixedNode[] = [];
  for (const n of nodes) if (alive.has(n)) out.push({ types: finalTypes(types, n), contents: n.contents });
  return { nodes: out, moves };
}

/** Every type allowed for all of the node's pods (size cap or not) that holds them, cheapest first. */
function finalTypes(types: readonly MixedType[], n: Node): number[] {
  const out: number[] = [];
  for (let i = 0; i < types.length; i++) {
    if (n.full[i] !== 1) continue;
    const t = types[i] as MixedType;
    if (holds(t, n) && portsFit(t, n, null)) out.push(i);
  }
  return out.sort(byPrice(types));
}

function intersect(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] === 1 && b[i] === 1 ? 1 : 0;
  return out;
}

/** The port keys a node holds, without the wildcard markers addPorts adds. */
function portKeysOf(n: Node): string[] {
  return n.ports ? [...n.ports].filter((k) => !k.endsWith('/*')) : [];
}

function portsCompatible(a: Node, b: Node): boolean {
  if (!a.ports || !b.ports) return true;
  for (const k of portKeysOf(b)) if (portClashes(a.ports, k)) return false;
  return true;
}

/** Whether the DaemonSet ports of type `t` leave room for the ports of `a` and `b`. */
function portsFit(t: MixedType, a: Node, b: Node | null): boolean {
  if (!t.free.ports) return true;
  for (const k of portKeysOf(a)) if (portClashes(t.free.ports, k)) return false;
  if (b) for (const k of portKeysOf(b)) if (portClashes(t.free.ports, k)) return false;
  return true;
}

function addPortsFrom(a: Set<string> | null, b: Set<string>): Set<string> {
  return addPorts(
    a,
    [...b].filter((k) => !k.endsWith('/*')),
  );
}
