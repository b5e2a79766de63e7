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
 * `planner.scaleOut.10k-distinct-shapes.400-types`). The first-fit scan asks a max tree over the
 * open nodes' room for the next node that may take a pod (not a walk past every full node);
 * types are sorted once by price and by size, so a node's cheapest type is the first that
 * qualifies and a Pareto front is a filter; mask combinations keep their intersection as a bit set.
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
  /** Pods per item index placed on each of these nodes. */
  contents: Array<[item: number, pods: number]>;
  /** Identical nodes (same types, same contents). */
  count: number;
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
  /** Node-size caps tried besides none (the types with the best fluid cost). @default 3, or 1 above 2,000 items */
  ceilings?: number;
}

interface Node {
  cpu: number;
  mem: number;
  eph: number;
  gpu: number;
  pods: number;
  ports: Set<string> | null;
  /**
   * The Pareto front of the node's candidate types: allowed for everything on it (within this
   * pass's size cap), holding it, and not smaller in every dimension than another such type. A
   * pod fits some candidate iff it fits one of these, and the front only shrinks as the node
   * fills (a type that no longer holds the node hides nothing that still does), so checks cost
   * the front's size (a handful), not the type count.
   */
  front: number[];
  /** The membership masks (size-capped) applied so far: the candidates are their intersection. */
  masks: Uint8Array[];
  /** The ids of `masks` in order: the key of their cached front (see FrontCache). */
  combo: string;
  /** The items' own allowed masks (no cap): the final type list is drawn from their intersection. */
  fulls: Uint8Array[];
  /** Upper bounds of the free CPU / memory / pod slots over the front: a cheap first test. */
  maxCpu: number;
  maxMem: number;
  maxPods: number;
  /** After a pass: the candidates cheapest first, and the cheapest (what the node costs). */
  fit: number[];
  cheapest: number;
  /** Pods per item on each node of the class. */
  contents: Array<[number, number]>;
  /** Identical nodes this entry stands for (a big shape fills many alike: one entry, not hundreds). */
  mult: number;
}

/** How many pods of `item` fit on type `t` of node `n` (host ports: at most one, never reused). */
function fitOn(t: MixedType, n: Node, item: PackItem): number {
  const f = t.free;
  // Candidate lists may name types the node has outgrown; a request of 0 would not notice.
  if (!holds(t, n)) return 0;
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

/** Whether type `t` holds usage `u` (a node's or two nodes' together), ports aside. */
function holds(t: MixedType, u: Pick<Node, 'cpu' | 'mem' | 'eph' | 'gpu' | 'pods'>): boolean {
  const f = t.free;
  return f.cpu >= u.cpu && f.mem >= u.mem && f.eph >= u.eph && f.gpu >= u.gpu && f.pods >= u.pods;
}

/** Whether `a` has at least `b`'s room in every dimension and no DaemonSet port `b` lacks. */
function dominates(a: Free, b: Free): boolean {
  return (
    a.cpu >= b.cpu &&
    a.mem >= b.mem &&
    a.pods >= b.pods &&
    a.eph >= b.eph &&
    a.gpu >= b.gpu &&
    (a.ports === null || a.ports === b.ports)
  );
}

/**
 * Type indices in front order: biggest CPU first, then memory, pod slots, ephemeral storage,
 * GPUs, index. Sorted once per type list (a plan asks for ~1,000 fronts over 400 types; sorting
 * each subset again dominated packing), then every front is a filter of this order.
 */
const orderMemo = new WeakMap<readonly MixedType[], Int32Array>();

function frontOrder(types: readonly MixedType[]): Int32Array {
  let order = orderMemo.get(types);
  if (!order) {
    const idxs = types.map((_, i) => i);
    idxs.sort((a, b) => {
      const fa = (types[a] as MixedType).free;
      const fb = (types[b] as MixedType).free;
      return (
        fb.cpu - fa.cpu || fb.mem - fa.mem || fb.pods - fa.pods || fb.eph - fa.eph || fb.gpu - fa.gpu || a - b
      );
    });
    order = Int32Array.from(idxs);
    orderMemo.set(types, order);
  }
  return order;
}

/** The Pareto front (biggest CPU first) of the types `member` admits. */
function paretoFront(types: readonly MixedType[], member: (i: number) => boolean): number[] {
  const front: number[] = [];
  for (const i of frontOrder(types)) {
    if (!member(i)) continue;
    const f = (types[i] as MixedType).free;
    let hidden = false;
    for (const j of front) {
      if (dominates((types[j] as MixedType).free, f)) {
        hidden = true;
        break;
      }
    }
    if (!hidden) front.push(i);
  }
  return front;
}

function refresh(types: readonly MixedType[], n: Node): void {
  let c = 0;
  let m = 0;
  let p = 0;
  for (const i of n.front) {
    const f = (types[i] as MixedType).free;
    if (f.cpu - n.cpu > c) c = f.cpu - n.cpu;
    if (f.mem - n.mem > m) m = f.mem - n.mem;
    if (f.pods - n.pods > p) p = f.pods - n.pods;
  }
  n.maxCpu = c;
  n.maxMem = m;
  n.maxPods = p;
}

/**
 * Type indices cheapest first (price, then name, then index), sorted once per type list: the
 * cheapest qualifying type of a node is then the first that qualifies, with no sort or scan of
 * every type per node.
 */
const priceMemo = new WeakMap<readonly MixedType[], Int32Array>();

function priceOrder(types: readonly MixedType[]): Int32Array {
  let order = priceMemo.get(types);
  if (!order) {
    order = Int32Array.from(types.map((_, i) => i).sort(byPrice(types)));
    priceMemo.set(types, order);
  }
  return order;
}

function byPrice(types: readonly MixedType[]): (a: number, b: number) => number {
  return (a, b) => {
    const ta = types[a] as MixedType;
    const tb = types[b] as MixedType;
    return ta.price - tb.price || (ta.name < tb.name ? -1 : ta.name > tb.name ? 1 : 0);
  };
}

/** Whether every mask admits type `i`. */
function admitted(masks: readonly Uint8Array[], i: number): boolean {
  for (const m of masks) if (m[i] !== 1) return false;
  return true;
}

/**
 * Pareto fronts per combination of masks, for one pass. The front of every type the masks admit
 * (whether or not it still holds a node) is a valid candidate list for any node under those
 * masks: a type that is hidden is dominated by a front type, which holds whatever it holds.
 */
interface FrontCache {
  types: readonly MixedType[];
  ids: Map<Uint8Array, number>;
  fronts: Map<string, number[]>;
  /** Combination key → mask added → the new combination's key and front. */
  next: Map<string, Map<Uint8Array, { key: string; front: number[] }>>;
  /** Combination key → the types all of its masks admit (their intersection as a bit set, built once). */
  admits: Map<string, Uint32Array>;
  /** Each mask as a bit set. */
  bits: Map<Uint8Array, Uint32Array>;
}

/** The front of node `n`'s combination of masks plus `mask` (combination `key`). */
function comboFront(cache: FrontCache, n: Node, mask: Uint8Array, key: string): number[] {
  let front = cache.fronts.get(key);
  if (!front) {
    // One more mask narrows the combination's intersection: no walk over every mask per type.
    let base = cache.admits.get(n.combo);
    if (!base) {
      base = new Uint32Array((cache.types.length + 31) >> 5);
      for (let i = 0; i < cache.types.length; i++)
        if (admitted(n.masks, i)) base[i >> 5] = ((base[i >> 5] as number) | (1 << (i & 31))) >>> 0;
      cache.admits.set(n.combo, base);
    }
    let bits = cache.bits.get(mask);
    if (!bits) {
      bits = new Uint32Array(base.length);
      for (let i = 0; i < cache.types.length; i++)
        if (mask[i] === 1) bits[i >> 5] = ((bits[i >> 5] as number) | (1 << (i & 31))) >>> 0;
      cache.bits.set(mask, bits);
    }
    const admit = new Uint32Array(base.length);
    for (let w = 0; w < admit.length; w++) admit[w] = ((bits[w] as number) & (base[w] as number)) >>> 0;
    cache.admits.set(key, admit);
    front = paretoFront(cache.types, (i) => (((admit[i >> 5] as number) >>> (i & 31)) & 1) === 1);
    cache.fronts.set(key, front);
  }
  return front;
}

function maskId(cache: FrontCache, mask: Uint8Array): number {
  let id = cache.ids.get(mask);
  if (id === undefined) {
    id = cache.ids.size;
    cache.ids.set(mask, id);
  }
  return id;
}

/** The candidates the last probe used, and whether they need a new mask (no allocation per probe). */
let probedFront: number[] = [];
let probedNewMask = false;
let probedCombo = '';

/** How many pods of `item` one node of `n` takes (0: none), without changing it. */
function probe(cache: FrontCache, n: Node, item: MixedItem, mask: Uint8Array, want: number): number {
  const types = cache.types;
  let front = n.front;
  const newMask = !n.masks.includes(mask);
  if (newMask) {
    // Types in the cached front that no longer hold the node get 0 from fitOn. Looked up
    // through the combination's successors: no string or array is built per probe.
    let next = cache.next.get(n.combo);
    if (!next) {
      next = new Map();
      cache.next.set(n.combo, next);
    }
    let hit = next.get(mask);
    if (!hit) {
      const key = `${n.combo},${maskId(cache, mask)}`;
      hit = { key, front: comboFront(cache, n, mask, key) };
      next.set(mask, hit);
    }
    front = hit.front;
    probedCombo = hit.key;
  }
  let k = 0;
  for (const i of front) {
    const f = fitOn(types[i] as MixedType, n, item);
    if (f > k) k = f;
    if (k >= want) break;
  }
  probedFront = front;
  probedNewMask = newMask;
  return k;
}

/** Put `k` pods of item `idx` on each node of `n`; the candidates that take fewer leave the front. */
function commit(
  cache: FrontCache,
  n: Node,
  idx: number,
  item: MixedItem,
  mask: Uint8Array,
  full: Uint8Array,
  k: number,
): void {
  // Uses the candidates of the probe just made on `n` (or on the class it was split from).
  const types = cache.types;
  // Most commits keep every candidate: reuse the array then (no allocation per commit).
  let drops = false;
  for (const i of probedFront)
    if (fitOn(types[i] as MixedType, n, item) < k) {
      drops = true;
      break;
    }
  n.front = drops ? probedFront.filter((i) => fitOn(types[i] as MixedType, n, item) >= k) : probedFront;
  if (probedNewMask) {
    n.masks.push(mask);
    n.combo = probedCombo;
  }
  if (!n.fulls.includes(full)) n.fulls.push(full);
  n.cpu += k * item.cpuMilli;
  n.mem += k * item.memoryMiB;
  n.eph += k * item.ephemeralMiB;
  n.gpu += k * item.gpus;
  n.pods += k;
  if (item.hostPorts.length > 0) n.ports = addPorts(n.ports, item.hostPorts);
  n.contents.push([idx, k]);
  refresh(cache.types, n);
}

/** A copy of class `n` standing for `mult` of its nodes (its own lists: commit changes them in place). */
function split(n: Node, mult: number): Node {
  return {
    ...n,
    masks: n.masks.slice(),
    fulls: n.fulls.slice(),
    contents: n.contents.slice(),
    mult,
  };
}

/**
 * Place up to `want` pods of item `idx` on the class `n` (first fit): every node of it takes
 * as many as it can; when fewer pods remain, the class splits into nodes that take the full
 * count, one that takes the rest, and untouched ones (`add` receives the new classes).
 * Returns the pods placed.
 */
function placeOnClass(
  cache: FrontCache,
  n: Node,
  idx: number,
  item: MixedItem,
  mask: Uint8Array,
  full: Uint8Array,
  want: number,
  add: (n: Node) => void,
): number {
  const pk = probe(cache, n, item, mask, n.mult === 1 ? want : Number.POSITIVE_INFINITY);
  if (pk === 0) return 0;
  if (n.mult === 1) {
    const k = Math.min(pk, want);
    commit(cache, n, idx, item, mask, full, k);
    return k;
  }
  const per = pk;
  const whole = Math.min(n.mult, Math.floor(want / per));
  if (whole === n.mult) {
    commit(cache, n, idx, item, mask, full, per);
    return per * n.mult;
  }
  const rest = want - whole * per; // < per: what is left after the whole nodes
  let untouched = n.mult - whole - (rest > 0 ? 1 : 0);
  if (whole > 0) {
    const a = split(n, whole);
    commit(cache, a, idx, item, mask, full, per);
    add(a);
  }
  if (rest > 0) {
    const b = untouched === 0 ? n : split(n, 1);
    if (b === n) {
      n.mult = 1;
      untouched = -1; // n itself became the partial node
    }
    commit(cache, b, idx, item, mask, full, rest);
    if (b !== n) add(b);
  }
  if (untouched >= 0) n.mult = untouched;
  return whole * per + rest;
}

/**
 * A max tree over the open nodes' room bounds (maxCpu, maxMem, maxPods): the first node at or
 * after an index that may take an item is found in O(log n) steps instead of a scan of every
 * open node (with 10,000 distinct shapes most nodes are nearly full and a big pod passed
 * hundreds of them). It only skips nodes the first-fit scan's own test would skip, so the
 * nodes tried, and their order, are the same.
 */
interface RoomTree {
  /** Leaves (a power of two); leaf `j` is node `j`, internal node `i` holds the max of `2i` and `2i + 1`. */
  size: number;
  cpu: Float64Array;
  mem: Float64Array;
  pods: Float64Array;
}

function roomTree(size: number): RoomTree {
  return {
    size,
    cpu: new Float64Array(2 * size),
    mem: new Float64Array(2 * size),
    pods: new Float64Array(2 * size),
  };
}

/** Record node `j`'s current bounds (growing the tree when `j` is past its leaves). */
function setRoom(t: RoomTree, nodes: readonly Node[], j: number): void {
  if (j >= t.size) {
    const grown = roomTree(t.size * 2);
    for (let k = 0; k < nodes.length; k++) {
      const n = nodes[k] as Node;
      grown.cpu[grown.size + k] = n.maxCpu;
      grown.mem[grown.size + k] = n.maxMem;
      grown.pods[grown.size + k] = n.maxPods;
    }
    for (let i = grown.size - 1; i >= 1; i--) {
      grown.cpu[i] = Math.max(grown.cpu[2 * i] as number, grown.cpu[2 * i + 1] as number);
      grown.mem[i] = Math.max(grown.mem[2 * i] as number, grown.mem[2 * i + 1] as number);
      grown.pods[i] = Math.max(grown.pods[2 * i] as number, grown.pods[2 * i + 1] as number);
    }
    Object.assign(t, grown);
    return;
  }
  const n = nodes[j] as Node;
  let i = t.size + j;
  t.cpu[i] = n.maxCpu;
  t.mem[i] = n.maxMem;
  t.pods[i] = n.maxPods;
  for (i >>= 1; i >= 1; i >>= 1) {
    t.cpu[i] = Math.max(t.cpu[2 * i] as number, t.cpu[2 * i + 1] as number);
    t.mem[i] = Math.max(t.mem[2 * i] as number, t.mem[2 * i + 1] as number);
    t.pods[i] = Math.max(t.pods[2 * i] as number, t.pods[2 * i + 1] as number);
  }
}

/** Whether some node under tree node `i` may take a pod of `cpu` and `mem` (the scan's test). */
function mayTake(t: RoomTree, i: number, cpu: number, mem: number): boolean {
  return (t.pods[i] as number) > 0 && cpu <= (t.cpu[i] as number) && mem <= (t.mem[i] as number);
}

/** The first node at index `from` or later that may take a pod of `cpu` and `mem`, or -1. */
function nextRoom(t: RoomTree, from: number, cpu: number, mem: number): number {
  return searchRoom(t, 1, 0, t.size, from, cpu, mem);
}

/**
 * Leftmost leaf at or after `from` under tree node `i` (leaves `lo`..`hi`) that passes. A
 * subtree can pass on its maxima (CPU from one node, memory from another) with no node passing:
 * then the search backs out of it, so each query costs O(log n) plus such subtrees.
 */
function searchRoom(
  t: RoomTree,
  i: number,
  lo: number,
  hi: number,
  from: number,
  cpu: number,
  mem: number,
): number {
  if (hi <= from || !mayTake(t, i, cpu, mem)) return -1;
  if (i >= t.size) return lo;
  const mid = (lo + hi) >> 1;
  const left = searchRoom(t, 2 * i, lo, mid, from, cpu, mem);
  return left >= 0 ? left : searchRoom(t, 2 * i + 1, mid, hi, from, cpu, mem);
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
): { nodes: Node[]; covered: number[] } {
  // One membership mask and one Pareto front per distinct allowed set.
  const masks = new Map<readonly number[], { mask: Uint8Array; full: Uint8Array; front: number[] }>();
  const maskOf = (allowed: readonly number[]) => {
    let m = masks.get(allowed);
    if (!m) {
      let within = ceiling ? allowed.filter((i) => ceiling[i] === 1) : allowed;
      if (within.length === 0) within = allowed;
      const mask = new Uint8Array(types.length);
      for (const i of within) mask[i] = 1;
      const full = new Uint8Array(types.length);
      for (const i of allowed) full[i] = 1;
      m = { mask, full, front: paretoFront(types, (i) => mask[i] === 1) };
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
  const cache: FrontCache = {
    types,
    ids: new Map(),
    fronts: new Map(),
    next: new Map(),
    admits: new Map(),
    bits: new Map(),
  };
  const tree = roomTree(64);
  const covered = new Array<number>(items.length).fill(0);
  let live = 0; // nodes before this index take no more items
  const push = (n: Node) => {
    nodes.push(n);
    setRoom(tree, nodes, nodes.length - 1);
  };
  for (const idx of order) {
    const item = items[idx] as MixedItem;
    const { mask, full, front } = maskOf(item.allowed);
    let r = item.count;
    // First fit over the nodes that may take the item, in order (the tree skips the rest).
    for (let j = nextRoom(tree, live, item.cpuMilli, item.memoryMiB); j >= 0 && r > 0; ) {
      const n = nodes[j] as Node;
      r -= placeOnClass(cache, n, idx, item, mask, full, r, push);
      setRoom(tree, nodes, j);
      j = r > 0 ? nextRoom(tree, j + 1, item.cpuMilli, item.memoryMiB) : -1;
    }
    while (r > 0) {
      const n: Node = {
        cpu: 0,
        mem: 0,
        eph: 0,
        gpu: 0,
        pods: 0,
        ports: null,
        front,
        masks: [mask],
        combo: String(maskId(cache, mask)),
        fulls: [],
        fit: [],
        maxCpu: 0,
        maxMem: 0,
        maxPods: 0,
        cheapest: -1,
        contents: [],
        mult: 1,
      };
      const pk = probe(cache, n, item, mask, Number.POSITIVE_INFINITY);
      if (pk === 0) break; // no allowed type holds even one pod: left uncovered
      const whole = Math.floor(r / pk);
      if (whole > 0) {
        n.mult = whole;
        commit(cache, n, idx, item, mask, full, pk);
        r -= whole * pk;
      } else {
        commit(cache, n, idx, item, mask, full, r);
        r = 0;
      }
      push(n);
    }
    covered[idx] = item.count - r;
    while (live < nodes.length) {
      const n = nodes[live] as Node;
      if (n.maxPods > 0 && n.maxCpu >= minCpu && n.maxMem >= minMem) break;
      live++;
    }
  }
  for (const n of nodes) settle(types, n);
  return { nodes, covered };
}

/** The cheapest type the node's masks admit that holds it: what the node costs. */
function settle(types: readonly MixedType[], n: Node): void {
  n.cheapest = -1;
  // The first in price order that qualifies (most nodes stop after a few types, not all 400).
  for (const i of priceOrder(types)) {
    const t = types[i] as MixedType;
    if (holds(t, n) && admitted(n.masks, i) && portsFit(t, n, null)) {
      n.cheapest = i;
      return;
    }
  }
}

/** The node's candidates (every type its masks admit that holds it), cheapest first. */
function candidates(types: readonly MixedType[], n: Node): number[] {
  const fit: number[] = [];
  for (const i of priceOrder(types)) {
    const t = types[i] as MixedType;
    if (holds(t, n) && admitted(n.masks, i) && portsFit(t, n, null)) fit.push(i);
  }
  return fit;
}

/**
 * Pack `items` onto new nodes of `types` (see the module header). Items need not be sorted.
 * Pods an item's allowed types cannot hold at all are left uncovered (the caller has already
 * filtered those out; the count is reported, never dropped silently).
 *
 * Items whose allowed types never overlap, even through other items (arm64-only and
 * amd64-only pods), can never share a node: each such component is packed on its own, so each
 * gets the node size that suits it.
 */
export function packMixed(
  items: readonly MixedItem[],
  types: readonly MixedType[],
  bounds: MixedBounds = {},
): MixedResult {
  // The type orders are memoised per list for the calls below, built afresh for each packing
  // (a caller may change a list's rooms or prices between packings).
  orderMemo.delete(types);
  priceMemo.delete(types);
  const parent = types.map((_, i) => i);
  const find = (x: number): number => {
    let r = x;
    while (parent[r] !== r) r = parent[r] as number;
    while (parent[x] !== r) {
      const next = parent[x] as number;
      parent[x] = r;
      x = next;
    }
    return r;
  };
  const seen = new Set<readonly number[]>(); // shapes share allowed lists: union each list once
  for (const it of items) {
    const first = it.allowed[0];
    if (first === undefined || seen.has(it.allowed)) continue;
    seen.add(it.allowed);
    for (const i of it.allowed) parent[find(i)] = find(first);
  }
  const byRoot = new Map<number, number[]>();
  items.forEach((it, i) => {
    const root = it.allowed[0] === undefined ? -1 : find(it.allowed[0]);
    const list = byRoot.get(root);
    if (list) list.push(i);
    else byRoot.set(root, [i]);
  });
  if (byRoot.size <= 1) return packComponent(items, types, bounds);
  const out: MixedResult = { nodes: [], covered: new Array<number>(items.length).fill(0), moves: 0 };
  for (const root of [...byRoot.keys()].sort((a, b) => a - b)) {
    const members = byRoot.get(root) as number[];
    const r = packComponent(
      members.map((i) => items[i] as MixedItem),
      types,
      bounds,
    );
    for (const n of r.nodes) {
      out.nodes.push({ ...n, contents: n.contents.map(([i, k]) => [members[i] as number, k]) });
    }
    r.covered.forEach((c, i) => {
      out.covered[members[i] as number] = c;
    });
    out.moves += r.moves;
  }
  return out;
}

function packComponent(
  items: readonly MixedItem[],
  types: readonly MixedType[],
  bounds: MixedBounds,
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
  // Sort keys computed once per item, not twice per comparison (10,000 items).
  const primary = new Float64Array(items.length);
  const secondary = new Float64Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = items[i] as MixedItem;
    primary[i] = cpuScarce ? it.cpuMilli / refCpu : it.memoryMiB / refMem;
    secondary[i] = cpuScarce ? it.memoryMiB / refMem : it.cpuMilli / refCpu;
  }
  const order = items.map((_, i) => i);
  order.sort((a, b) => {
    const ia = items[a] as MixedItem;
    const ib = items[b] as MixedItem;
    return (
      (primary[b] as number) - (primary[a] as number) ||
      (secondary[b] as number) - (secondary[a] as number) ||
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
  const lists = new Set<readonly number[]>();
  for (const it of items) {
    lists.add(it.allowed);
    totPods += it.count;
  }
  for (const list of lists) for (const i of list) union.add(i);
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
  // Each cap is a whole extra pass: with thousands of distinct shapes one is tried, not three.
  const caps = bounds.ceilings ?? (items.length > 2000 ? 1 : 3);
  for (const c of ranked.slice(0, caps)) {
    const top = (types[c] as MixedType).free;
    const mask = new Uint8Array(types.length);
    for (let i = 0; i < types.length; i++) {
      const f = (types[i] as MixedType).free;
      if (f.cpu <= top.cpu && f.mem <= top.mem) mask[i] = 1;
    }
    ceilings.push(mask);
  }
  let best: { nodes: Node[]; moves: number; covered: number[] } | undefined;
  let bestCost = Number.POSITIVE_INFINITY;
  let bestCount = 0;
  for (const ceiling of ceilings) {
    const pass = packOnce(items, types, order, ceiling);
    const done = improve(types, pass.nodes, bounds);
    const short = pass.covered.reduce((a, c, i) => a + (items[i] as MixedItem).count - c, 0);
    let cost = 0;
    let count = 0;
    for (const n of done.nodes) {
      cost += (types[n.cheapest] as MixedType).price * n.mult;
      count += n.mult;
    }
    // Covering every pod comes first; then cost; then fewer nodes.
    const score = short * 1e12 + cost;
    if (!best || score < bestCost - 1e-9 || (Math.abs(score - bestCost) <= 1e-9 && count < bestCount)) {
      best = { ...done, covered: pass.covered };
      bestCost = score;
      bestCount = count;
    }
  }
  const won = best as { nodes: Node[]; moves: number; covered: number[] };
  return {
    nodes: won.nodes.map((n) => ({ types: finalTypes(types, n), contents: n.contents, count: n.mult })),
    covered: won.covered,
    moves: won.moves,
  };
}

/** Merge moves within the bounds; returns the nodes left. */
function improve(
  types: readonly MixedType[],
  nodes: Node[],
  bounds: MixedBounds,
): { nodes: Node[]; moves: number } {
  const window = bounds.mergeWindow ?? 48;
  const maxMerges = bounds.maxMerges ?? 64;
  const price = (n: Node) => (types[n.cheapest] as MixedType).price;
  let moves = 0;
  const alive = new Set(nodes);
  // The emptiest nodes (most free room in their cheapest type) are the merge candidates; the
  // window is chosen once, merged nodes stay in it. Their candidates are kept cheapest first.
  const util = (n: Node) => {
    const t = types[n.cheapest] as MixedType;
    return Math.max(n.cpu / Math.max(1, t.free.cpu), n.mem / Math.max(1, t.free.mem));
  };
  const cand = nodes
    .filter((n) => n.mult === 1)
    .map((n) => ({ n, u: util(n) }))
    .sort((a, b) => a.u - b.u)
    .slice(0, window)
    .map((x) => x.n);
  for (const n of cand) n.fit = candidates(types, n);
  while (moves < maxMerges) {
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
        // A type that holds both holds each alone and is allowed for both: it is among a's and
        // b's candidates, so a node whose biggest candidate lacks the room rules the merge out.
        if (sum.cpu > a.maxCpu + a.cpu || sum.cpu > b.maxCpu + b.cpu) continue;
        if (sum.mem > a.maxMem + a.mem || sum.mem > b.maxMem + b.mem) continue;
        if (sum.pods > a.maxPods + a.pods || sum.pods > b.maxPods + b.pods) continue;
        if (!portsCompatible(a, b)) continue;
        const before = price(a) + price(b);
        let cheapest = -1;
        // a.fit is cheapest first here: the first type that holds both is the merge's type.
        for (const i of a.fit) {
          if (!admitted(b.masks, i)) continue;
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
    a.cpu += b.cpu;
    a.mem += b.mem;
    a.eph += b.eph;
    a.gpu += b.gpu;
    a.pods += b.pods;
    if (b.ports) a.ports = addPorts(a.ports, portKeysOf(b));
    for (const m of b.masks) if (!a.masks.includes(m)) a.masks.push(m);
    for (const m of b.fulls) if (!a.fulls.includes(m)) a.fulls.push(m);
    // Still cheapest first: a filter of a's price-sorted list.
    a.fit = a.fit.filter(
      (i) =>
        admitted(b.masks, i) && holds(types[i] as MixedType, a) && portsFit(types[i] as MixedType, a, null),
    );
    a.cheapest = a.fit[0] as number;
    const fit = new Set(a.fit);
    a.front = paretoFront(types, (i) => fit.has(i));
    a.contents.push(...b.contents);
    refresh(types, a);
    alive.delete(b);
    cand.splice(cand.indexOf(b), 1);
    moves++;
  }
  return { nodes: nodes.filter((n) => alive.has(n)), moves };
}

/** How many types a node's final list keeps: the chosen one and enough fallbacks to pick from. */
const FINAL_TYPES = 16;

/**
 * The cheapest FINAL_TYPES types allowed for all of the node's pods (size cap or not) that
 * hold them, cheapest first.
 */
function finalTypes(types: readonly MixedType[], n: Node): number[] {
  const out: number[] = [];
  for (const i of priceOrder(types)) {
    const t = types[i] as MixedType;
    if (!holds(t, n) || !admitted(n.fulls, i) || !portsFit(t, n, null)) continue;
    out.push(i);
    if (out.length === FINAL_TYPES) break;
  }
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
