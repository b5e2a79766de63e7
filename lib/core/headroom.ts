/**
 * What the limits and the active schedule still allow (nodes, vCPU, memory, hourly cost), and
 * the two operations every rule that adds running nodes uses on it: how many more nodes of a
 * type fit, and charging them. Scale-out's launches, warm-pool starts and warm-pool fills all
 * spend the same headroom, so I1 and the caps hold for their sum.
 */
import type { InstanceSpec } from './catalog.js';

/** What is still allowed under the limits and the active schedule. */
export interface Headroom {
  nodes: number;
  vcpu: number;
  memoryMiB: number;
  costUsd: number;
}

/** The limit that binds a count of new nodes. */
export type HeadroomLimit = 'nodes' | 'vcpu' | 'memory' | 'cost';

/** Per-limit count of how many more nodes of a type fit at `price` each; the smallest one binds. */
export function maxNewNodes(
  head: Headroom,
  spec: InstanceSpec,
  price: number,
): { n: number; limit: HeadroomLimit } {
  const byLimit: Array<[number, HeadroomLimit]> = [
    [head.nodes, 'nodes'],
    [Math.floor(head.vcpu / spec.vcpu), 'vcpu'],
    [Math.floor(head.memoryMiB / spec.memoryMiB), 'memory'],
    [price > 0 ? Math.floor(head.costUsd / price + 1e-9) : Number.MAX_SAFE_INTEGER, 'cost'],
  ];
  let best = byLimit[0] as [number, HeadroomLimit];
  for (const e of byLimit) if (e[0] < best[0]) best = e;
  return { n: Math.max(0, best[0]), limit: best[1] };
}

/** Charge `n` running nodes of `spec` at `price` each to the headroom. */
export function chargeNewNodes(head: Headroom, spec: InstanceSpec, price: number, n: number): void {
  head.nodes -= n;
  head.vcpu -= n * spec.vcpu;
  head.memoryMiB -= n * spec.memoryMiB;
  head.costUsd -= n * price;
}
