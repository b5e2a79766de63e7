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
  /** Ephemeral storage the DaemonSets request, MiB: part of what sizes the root volume. */
  daemonSetEphemeralMiB: number;
}

/** Root volume when `nodes.maxRootVolumeGiB` is not set: room for a few large scratch requests. */
export const DEFAULT_MAX_ROOT_VOLUME_GIB = 100;

/** The largest root volume a launch may get: `nodes.maxRootVolumeGiB`, else the larger of 100 and `nodes.rootVolumeGiB`. */
export function maxRootVolumeGiB(config: Config): number {
  return config.nodes.maxRootVolumeGiB ?? Math.max(DEFAULT_MAX_ROOT_VOLUME_GIB, config.nodes.rootVolumeGiB);
}

/** Allocatable ephemeral storage (MiB) the kubelet reports for a root volume of `gib`. */
export function ephemeralAllocatableMiB(gib: number): number {
  return Math.floor(gib * 1024 * EPHEMERAL_ALLOCATABLE_FRACTION);
}

/**
 * The root volume (GiB) for a node whose pods request `podsMiB` of ephemeral storage next to
 * DaemonSets requesting `daemonSetsMiB`: the smallest whole size whose allocatable share holds
 * both, never below `nodes.rootVolumeGiB` (which also holds the OS and images) nor above
 * {@link maxRootVolumeGiB} (the planner never places more than that offers).
 */
export function rootVolumeGiBFor(config: Config, podsMiB: number, daemonSetsMiB: number): number {
  const base = config.nodes.rootVolumeGiB;
  const need = podsMiB + daemonSetsMiB;
  if (need <= ephemeralAllocatableMiB(base)) return base;
  let gib = Math.ceil(need / (1024 * EPHEMERAL_ALLOCATABLE_FRACTION));
  while (ephemeralAllocatableMiB(gib) < need) gib += 1; // floor() in the allocatable share
  return Math.min(maxRootVolumeGiB(config), Math.max(base, gib));
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
 * those DaemonSet pods; ephemeral storage = the allocatable share of the largest root volume a
 * launch may get ({@link maxRootVolumeGiB}; each launch is then sized by {@link rootVolumeGiBFor})
 * minus the DaemonSets'; GPUs from the catalog; the DaemonSets' host ports are taken. Exported so the simulator models new nodes the way the planner does.
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
  let eph = ephemeralAllocatableMiB(maxRootVolumeGiB(config));
  let dsEph = 0;
  const names: string[] = [];
  const ports = new Set<string>();
  let dsCpu = 0;
  let dsMem = 0;
  for (const ds of daemonSets) {
    if (!daemonSetRunsOn(ds, labels, taints)) continue;
    names.push(ds.name);
    dsCpu += ds.cpuMilli;
    dsMem += ds.memoryMiB;
    dsEph += ds.ephemeralStorageMiB ?? 0;
    for (const p of ds.ports ?? []) ports.add(portKey(p));
    pods -= 1;
  }
  cpu -= dsCpu;
  mem -= dsMem;
  eph -= dsEph;
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
    daemonSetEphemeralMiB: dsEph,
  };
}

/** Price the cost cap charges for a launch: the dearest capacity type it may fall back to. */
export function worstCasePrice(prices: Record<CapacityType, number>, caps: readonly CapacityType[]): number {
  let p = 0;
  for (const c of caps) p = Math.max(p, prices[c]);
  return p;
}
