import type { Arch, CapacityType, Config } from '../events/index.js';
import { BUILT_IN_INSTANCE_TYPES, DEFAULT_MAX_PODS_PER_NODE } from '../events/index.js';

/** What the planner knows about one EC2 instance type. */
export interface InstanceSpec {
  instanceType: string;
  vcpu: number;
  /** Nominal memory as EC2 lists it (the kernel sees ~94 % of it, see {@link KERNEL_MEMORY_FRACTION}). */
  memoryMiB: number;
  arch: Arch;
  /** Pods the kubelet admits. K3s uses flannel, not the VPC CNI, so ENI limits do not apply: 110. */
  maxPods: number;
  onDemandHourlyUsd: number;
  /** Expected spot price: on-demand × (1 − spot discount). */
  spotHourlyUsd: number;
  /** NVIDIA GPUs (`nvidia.com/gpu`); absent = none. Only `config.catalog` entries set it. */
  gpus?: number;
}

/** The instance types the planner may use, with prices. */
export interface Catalog {
  get(type: string): InstanceSpec | undefined;
  /** Every known type, sorted by name. */
  list(): InstanceSpec[];
  /** Hourly price of one instance; throws for a type the catalog does not know. */
  hourlyUsd(type: string, capacityType: CapacityType): number;
}

/** Thrown for a lookup of an instance type the catalog does not know. */
export class UnknownInstanceTypeError extends Error {
  constructor(readonly instanceType: string) {
    super(
      `instance type "${instanceType}" is not in the catalog: add it to config.catalog with vcpu, memoryMiB, arch and onDemandHourlyUsd`,
    );
    this.name = 'UnknownInstanceTypeError';
  }
}

/**
 * Fraction of nominal memory the kernel reports as MemTotal (and K3s, which sets no
 * kube-reserved, as allocatable). Measured on a t4g.medium: 3,946,408 KiB of 4 GiB = 0.941.
 */
export const KERNEL_MEMORY_FRACTION = 0.94;

/**
 * Fraction of the root volume the kubelet reports as allocatable ephemeral-storage (file-system
 * overhead, then the default 5 % reserve). Measured on a t4g.medium with the default 20 GiB gp3
 * root volume: allocatable 19,700,621,394 bytes of 20 GiB = 0.917.
 */
export const EPHEMERAL_ALLOCATABLE_FRACTION = 0.917;

/** Default expected spot discount (spot ≈ 40 % of on-demand), as in the config schema. */
export const DEFAULT_SPOT_DISCOUNT = 0.6;

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** The built-in rows as specs (spot at the default discount). */
export function builtInInstanceSpecs(): InstanceSpec[] {
  return BUILT_IN_INSTANCE_TYPES.map(([instanceType, vcpu, memoryGiB, arch, onDemandHourlyUsd]) => ({
    instanceType,
    vcpu,
    memoryMiB: memoryGiB * 1024,
    arch,
    maxPods: DEFAULT_MAX_PODS_PER_NODE,
    onDemandHourlyUsd,
    spotHourlyUsd: round4(onDemandHourlyUsd * (1 - DEFAULT_SPOT_DISCOUNT)),
  }));
}

/**
 * The built-in table plus `config.catalog` (an entry with the same type replaces the
 * built-in row). Pure: the same config always gives the same catalog.
 */
export function buildCatalog(config: Config): Catalog {
  const byType = new Map<string, InstanceSpec>();
  for (const spec of builtInInstanceSpecs()) byType.set(spec.instanceType, spec);
  for (const e of config.catalog) {
    byType.set(e.instanceType, {
      instanceType: e.instanceType,
      vcpu: e.vcpu,
      memoryMiB: e.memoryMiB,
      arch: e.arch,
      maxPods: e.maxPods,
      onDemandHourlyUsd: e.onDemandHourlyUsd,
      spotHourlyUsd: round4(e.onDemandHourlyUsd * (1 - e.spotDiscountFraction)),
      ...(e.gpus > 0 ? { gpus: e.gpus } : {}),
    });
  }
  const sorted = [...byType.values()].sort((a, b) => (a.instanceType < b.instanceType ? -1 : 1));
  return {
    get: (type) => byType.get(type),
    list: () => [...sorted],
    hourlyUsd(type, capacityType) {
      const spec = byType.get(type);
      if (!spec) throw new UnknownInstanceTypeError(type);
      return capacityType === 'spot' ? spec.spotHourlyUsd : spec.onDemandHourlyUsd;
    },
  };
}
