import type { PendingShape, SnapshotNode, Taint } from '../events/index.js';
import type { InstanceSpec } from './catalog.js';
import { instanceIdOfNode, type PlanContext } from './context.js';
import { labelMismatch, untoleratedTaint } from './matching.js';
import { addPorts, type Free, fitCount, type PackItem, portKey } from './packing.js';

/**
 * Room for pending pods that exists already or is on its way: the free room of a Ready node, or
 * a launched instance that has not joined yet. Pods placed here launch nothing.
 */
export interface RoomBin extends Free {
  /** `node pi-node-2`, `launch pi-lab-…-0`, `instance i-…`: for explanations. */
  label: string;
  /** What a pod answer names: the node name or launch id. */
  target: string;
  labels: Record<string, string>;
  /** Taints to check; null when the caller already checked the cloud taints (in-flight nodes). */
  taints: readonly Taint[] | null;
  spec?: InstanceSpec;
  /** False when the bin's used host ports are unknown: host-port pods are not placed there. */
  portsKnown: boolean;
  /** Free extended resources other than `nvidia.com/gpu` (that one is `gpu`). */
  extended: Record<string, number>;
}

/** `nvidia.com/gpu`: the one extended resource the catalog knows. */
export const GPU_RESOURCE = 'nvidia.com/gpu';

/** Extended resources of a shape other than GPUs (which pack as a dimension). */
const NO_EXTENDED: ReadonlyArray<readonly [string, number]> = Object.freeze([]);

export function otherExtended(shape: PendingShape): ReadonlyArray<readonly [string, number]> {
  // Most shapes request none: one shared empty list, not two arrays per shape.
  if (!shape.extendedResources) return NO_EXTENDED;
  return Object.entries(shape.extendedResources).filter(([k]) => k !== GPU_RESOURCE);
}

/** Why an existing node's room does not count, or undefined when it does. */
export function existingNodeExclusion(
  ctx: PlanContext,
  node: SnapshotNode,
  removing: (id: string) => boolean,
): string | undefined {
  if (!node.ready) return 'NotReady';
  if (node.cordoned) return 'cordoned';
  if (node.deleting) return 'being deleted';
  if (node.managed) {
    const id = instanceIdOfNode(node);
    if (!id || !ctx.liveIds.has(id)) return 'its instance is not running';
    if (removing(id) || ctx.drains.some((d) => d.instanceId === id)) return 'being drained or terminated';
  }
  return undefined;
}

/**
 * The free room (allocatable − requested) of every Ready, uncordoned, not-being-deleted node —
 * on-prem and managed — as Cluster Autoscaler's filter-out-schedulable and Karpenter's
 * existing-node simulation see it. A managed node whose instance is being drained or
 * terminated by this plan or an earlier one is left out. Sorted by node name.
 */
export function existingBins(ctx: PlanContext, removing: (id: string) => boolean): RoomBin[] {
  const out: RoomBin[] = [];
  const nodes = [...ctx.nodesByName.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const node of nodes) {
    if (existingNodeExclusion(ctx, node, removing) !== undefined) continue;
    const cpu = node.allocatable.cpuMilli - node.requested.cpuMilli;
    const mem = node.allocatable.memoryMiB - node.requested.memoryMiB;
    const pods = node.allocatable.pods - node.requested.pods;
    if (pods <= 0) continue;
    const eph = node.ephemeralStorage
      ? Math.max(0, node.ephemeralStorage.allocatableMiB - node.ephemeralStorage.requestedMiB)
      : Number.POSITIVE_INFINITY;
    const extended: Record<string, number> = {};
    for (const [k, v] of Object.entries(node.extended?.allocatable ?? {}))
      extended[k] = Math.max(0, v - (node.extended?.requested[k] ?? 0));
    const gpu = extended[GPU_RESOURCE] ?? 0;
    delete extended[GPU_RESOURCE];
    out.push({
      label: `node ${node.name}`,
      target: node.name,
      labels: node.labels,
      taints: node.taints,
      cpu: Math.max(0, cpu),
      mem: Math.max(0, mem),
      eph,
      gpu,
      pods,
      ports: node.usedHostPorts?.length ? addPorts(null, node.usedHostPorts.map(portKey)) : null,
      portsKnown: node.usedHostPorts !== undefined,
      extended,
    });
  }
  return out;
}

/** A pending shape as the room placement sees it. */
export interface RoomShape {
  shape: PendingShape;
  item: PackItem;
  /** Pods not placed yet; decremented by {@link placeOnRoom}. */
  remaining: number;
  /** Cache key of the shape's node constraints (selector + affinity). */
  constraintsKey: string;
  /**
   * Cache key of its constraints and tolerations, built by {@link placeOnRoom} the first time a
   * bin has room for the shape (most never get that far: 10,000 shapes, a few nearly full nodes).
   */
  matchKey?: string;
  /** Extended resources other than GPUs ({@link otherExtended}). */
  other: ReadonlyArray<readonly [string, number]>;
}

/**
 * A memo key of a shape's tolerations. Built by concatenation: JSON.stringify of 10,000 shapes'
 * tolerations took ~9 ms of a 90 ms budget. Fields cannot contain NUL, so the key is injective.
 */
export function tolerationsKey(s: PendingShape): string {
  let key = '';
  for (const t of s.tolerations)
    key += `${t.key === undefined ? '\u0002' : t.key}\u0000${t.operator}\u0000${t.value === undefined ? '\u0002' : t.value}\u0000${t.effect ?? ''}\u0001`;
  return key;
}

/** Pods placed per target by {@link placeOnRoom}. */
export type Placement = ReadonlyMap<string, number>;

/** What {@link placeOnRoom} returns for a shape it placed nothing of: one shared empty map. */
const NOTHING_PLACED: Placement = new Map();

/**
 * First-fit of each shape's remaining pods onto the bins, in the order given (shapes largest
 * first). A bin takes a pod only when the pod's node selector and required affinity match the
 * bin's labels, it tolerates the bin's taints and the requests fit. Mutates the bins' room and
 * the shapes' `remaining`; returns, per shape index, the pods placed per bin target (shapes
 * with nothing placed share one empty map: no allocation for the thousands that fit nowhere).
 */
export function placeOnRoom<S extends RoomShape>(
  shapes: readonly S[],
  bins: RoomBin[],
  accept: (s: S) => boolean = () => true,
): Placement[] {
  const matchMemo = new Map<string, boolean>();
  const out = new Array<Placement>(shapes.length).fill(NOTHING_PLACED);
  if (bins.length === 0) return out;
  for (let i = 0; i < shapes.length; i++) {
    const s = shapes[i] as S;
    if (s.remaining === 0 || !accept(s)) continue;
    let placed: Map<string, number> | undefined;
    for (let k = 0; k < bins.length && s.remaining > 0; k++) {
      const bin = bins[k] as RoomBin;
      if (bin.pods <= 0) continue;
      if (s.item.hostPorts.length > 0 && !bin.portsKnown) continue;
      let room = fitCount(bin, s.item);
      if (s.other.length > 0)
        for (const [k, v] of s.other) room = Math.min(room, Math.floor((bin.extended[k] ?? 0) / v));
      if (room === 0) continue;
      s.matchKey ??= `${s.constraintsKey}\u0000${tolerationsKey(s.shape)}`;
      const mk = `${s.matchKey}\u0000${k}`;
      let ok = matchMemo.get(mk);
      if (ok === undefined) {
        ok =
          labelMismatch(s.shape, bin.labels) === undefined &&
          (bin.taints === null || untoleratedTaint(s.shape.tolerations, bin.taints) === undefined);
        matchMemo.set(mk, ok);
      }
      if (!ok) continue;
      const f = Math.min(room, s.remaining);
      bin.cpu -= f * s.item.cpuMilli;
      bin.mem -= f * s.item.memoryMiB;
      bin.eph -= f * s.item.ephemeralMiB;
      bin.gpu -= f * s.item.gpus;
      bin.pods -= f;
      if (s.other.length > 0) for (const [k, v] of s.other) bin.extended[k] = (bin.extended[k] ?? 0) - f * v;
      if (s.item.hostPorts.length) bin.ports = addPorts(bin.ports, s.item.hostPorts);
      s.remaining -= f;
      placed ??= new Map();
      placed.set(bin.target, (placed.get(bin.target) ?? 0) + f);
    }
    if (placed) out[i] = placed;
  }
  return out;
}

/** Whether any bin could take at least one pod of the shape (nothing is placed). */
export function fitsAnyRoom(s: RoomShape, bins: readonly RoomBin[]): boolean {
  for (const bin of bins) {
    if (s.item.hostPorts.length > 0 && !bin.portsKnown) continue;
    if (fitCount(bin, s.item) === 0) continue;
    if (s.other.some(([k, v]) => (bin.extended[k] ?? 0) < v)) continue;
    if (labelMismatch(s.shape, bin.labels) !== undefined) continue;
    if (bin.taints !== null && untoleratedTaint(s.shape.tolerations, bin.taints) !== undefined) continue;
    return true;
  }
  return false;
}
