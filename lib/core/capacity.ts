import type { CapacityType, Config, DaemonSetOverhead, Taint } from '../events/index.js';
import { EPHEMERAL_ALLOCATABLE_FRACTION, type InstanceSpec, KERNEL_MEMORY_FRACTION } from './catalog.js';
import { labelMismatch, untoleratedTaint } from './matching.js';
import { portKey } from './packing.js';

/** Room on one node for pending pods: CPU, memory and pod slots. */
export interface NodeRoom {
  cpuMilli: number;
  memoryMiB: number;
  pods: number;
  /** Ephemeral storage, MiB; absent = not checked. */
  ephemeralMiB?: number;
  /** `nvidia.com/gpu`; absent = none. */
  gpus?: number;
  /** Host ports DaemonSets already bind on the node, as packing port keys. */
  ports?: readonly string[];
}

/** A fresh node's room after system-reserved and the DaemonSets that will run on it. */
export interface NewNodeCapacity extends NodeRoom {
  daemonSets: string[];
  daemonSetCpuMilli: number;
  daemonSetMemoryMiB: number;
}

/** Whether a DaemonSet's pods would run on a node with these labels and taints. */
export function daemonSetRunsOn(
  ds: DaemonSetOverhead,
  labels: Record<string, string>,
  taints: Taint[],
): boolean {
  return labelMismatch(ds, labels) === undefined && untoleratedTaint(ds.tolerations, taints) === undefined;
}

/**
 * What a new node of `spec` with `labels` offers to pending pods: the kernel-visible memory
 * (see KERNEL_MEMORY_FRACTION) minus `nodes.systemReserved`, minus the requests and pod slots
 * of every DaemonSet that would run there; pods = min(maxPodsPerNode, catalog maxPods) minus
 * those DaemonSet pods; ephemeral storage = the root volume's allocatable share minus the
 * DaemonSets'; GPUs from the catalog; the DaemonSets' host ports are taken. Exported so the simulator models new nodes the way the planner does.
 */
export function newNodeCapacity(
  config: Config,
  spec: InstanceSpec,
  labels: Record<string, string>,
  daemonSets: readonly DaemonSetOverhead[],
): NewNodeCapacity {
  const taints = config.nodes.taints;
  let cpu = spec.vcpu * 1000 - config.nodes.systemReserved.cpuMilli;
  let mem = Math.floor(spec.memoryMiB * KERNEL_MEMORY_FRACTION) - config.nodes.systemReserved.memoryMiB;
  let pods = Math.min(config.nodes.maxPodsPerNode, spec.maxPods);
  let eph = Math.floor(config.nodes.rootVolumeGiB * 1024 * EPHEMERAL_ALLOCATABLE_FRACTION);
  const names: string[] = [];
  const ports = new Set<string>();
  let dsCpu = 0;
  let dsMem = 0;
  for (const ds of daemonSets) {
    if (!daemonSetRunsOn(ds, labels, taints)) continue;
    names.push(ds.name);
    dsCpu += ds.cpuMilli;
    dsMem += ds.memoryMiB;
    eph -= ds.ephemeralStorageMiB ?? 0;
    for (const p of ds.ports ?? []) ports.add(portKey(p));
    pods -= 1;
  }
  cpu -= dsCpu;
  mem -= dsMem;
  return {
    cpuMilli: Math.max(0, cpu),
    memoryMiB: Math.max(0, mem),
    pods: Math.max(0, pods),
    ephemeralMiB: Math.max(0, eph),
    gpus: spec.gpus ?? 0,
    ...(ports.size > 0 ? { ports: [...ports].sort() } : {}),
    daemonSets: names.sort(),
    daemonSetCpuMilli: dsCpu,
    daemonSetMemoryMiB: dsMem,
  };
}

/** Price the cost cap charges for a launch: the dearest capacity type it may fall back to. */
export function worstCasePrice(prices: Record<CapacityType, number>, caps: readonly CapacityType[]): number {
  let p = 0;
  for (const c of caps) p = Math.max(p, prices[c]);
  return p;
}
