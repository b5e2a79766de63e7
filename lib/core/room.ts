import type { PendingShape, SnapshotNode, Taint } from '../events/index.js';
import type { InstanceSpec } from './catalog.js';
import { instanceIdOfNode, type PlanContext } from './context.js';
import { labelMismatch, untoleratedTaint } from './matching.js';
import { fitCount, type PackItem } from './packing.js';

/**
 * Room for pending pods that exists already or is on its way: the free room of a Ready node, or
 * a launched instance that has not joined yet. Pods placed here launch nothing.
 */
export interface RoomBin {
  /** `node pi-node-2`, `launch pi-lab-…-0`, `instance i-…`: for explanations. */
  label: string;
  /** What a pod answer names: the node name or launch id. */
  target: string;
  labels: Record<string, string>;
  /** Taints to check; null when the caller already checked the cloud taints (in-flight nodes). */
  taints: readonly Taint[] | null;
  spec?: InstanceSpec;
  cpu: number;
  mem: number;
  pods: number;
  /** Host ports in use; null = none known to be in use. */
  ports: Set<number> | null;
  /** False when the bin's used host ports are unknown: host-port pods are not placed there. */
  portsKnown: boolean;
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
    out.push({
      label: `node ${node.name}`,
      target: node.name,
      labels: node.labels,
      taints: node.taints,
      cpu: Math.max(0, cpu),
      mem: Math.max(0, mem),
      pods,
      ports: null,
      portsKnown: false,
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
  /** Cache key of its tolerations. */
  tolerationsKey: string;
}

/** Pods placed per target by {@link placeOnRoom}. */
export type Placement = Map<string, number>;

/**
 * First-fit of each shape's remaining pods onto the bins, in the order given (shapes largest
 * first). A bin takes a pod only when the pod's node selector and required affinity match the
 * bin's labels, it tolerates the bin's taints and the requests fit. Mutates the bins' room and
 * the shapes' `remaining`; returns, per shape index, the pods placed per bin target.
 */
export function placeOnRoom(
  shapes: readonly RoomShape[],
  bins: RoomBin[],
  accept: (s: RoomShape) => boolean = () => true,
): Placement[] {
  const matchMemo = new Map<string, boolean>();
  const out: Placement[] = shapes.map(() => new Map());
  if (bins.length === 0) return out;
  shapes.forEach((s, i) => {
    if (s.remaining === 0 || !accept(s)) return;
    const placed = out[i] as Placement;
    for (let k = 0; k < bins.length && s.remaining > 0; k++) {
      const bin = bins[k] as RoomBin;
      if (bin.pods <= 0) continue;
      if (s.item.hostPorts.length > 0 && !bin.portsKnown) continue;
      const room = fitCount(bin.cpu, bin.mem, bin.pods, bin.ports, s.item);
      if (room === 0) continue;
      const mk = `${s.constraintsKey}\u0000${s.tolerationsKey}\u0000${k}`;
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
      bin.pods -= f;
      if (s.item.hostPorts.length) {
        bin.ports = new Set(bin.ports ?? []);
        for (const p of s.item.hostPorts) bin.ports.add(p);
      }
      s.remaining -= f;
      placed.set(bin.target, (placed.get(bin.target) ?? 0) + f);
    }
  });
  return out;
}

/** Whether any bin could take at least one pod of the shape (nothing is placed). */
export function fitsAnyRoom(s: RoomShape, bins: readonly RoomBin[]): boolean {
  for (const bin of bins) {
    if (s.item.hostPorts.length > 0 && !bin.portsKnown) continue;
    if (fitCount(bin.cpu, bin.mem, bin.pods, bin.ports, s.item) === 0) continue;
    if (labelMismatch(s.shape, bin.labels) !== undefined) continue;
    if (bin.taints !== null && untoleratedTaint(s.shape.tolerations, bin.taints) !== undefined) continue;
    return true;
  }
  return false;
}
