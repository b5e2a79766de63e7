import type { Arch, CapacityType, Config } from '../events/index.js';
import { DEFAULT_MAX_PODS_PER_NODE } from '../events/index.js';

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

type Row = [type: string, vcpu: number, memoryGiB: number, arch: Arch, onDemandHourlyUsd: number];

/**
 * Built-in table: Linux on-demand prices in eu-central-1 (Frankfurt), rounded, as of 2025.
 * They only rank types and enforce the cost cap, so being a few percent off is harmless;
 * override any row through `config.catalog`.
 */
const BUILT_IN: Row[] = [
  // Graviton burstable
  ['t4g.nano', 2, 0.5, 'arm64', 0.0048],
  ['t4g.micro', 2, 1, 'arm64', 0.0096],
  ['t4g.small', 2, 2, 'arm64', 0.0192],
  ['t4g.medium', 2, 4, 'arm64', 0.0384],
  ['t4g.large', 2, 8, 'arm64', 0.0768],
  ['t4g.xlarge', 4, 16, 'arm64', 0.1536],
  ['t4g.2xlarge', 8, 32, 'arm64', 0.3072],
  // Graviton3 general purpose
  ['m7g.medium', 1, 4, 'arm64', 0.0476],
  ['m7g.large', 2, 8, 'arm64', 0.0952],
  ['m7g.xlarge', 4, 16, 'arm64', 0.1904],
  ['m7g.2xlarge', 8, 32, 'arm64', 0.3808],
  ['m7g.4xlarge', 16, 64, 'arm64', 0.7616],
  ['m7g.8xlarge', 32, 128, 'arm64', 1.5232],
  ['m7g.12xlarge', 48, 192, 'arm64', 2.2848],
  ['m7g.16xlarge', 64, 256, 'arm64', 3.0464],
  // Graviton3 compute optimised
  ['c7g.medium', 1, 2, 'arm64', 0.0413],
  ['c7g.large', 2, 4, 'arm64', 0.0826],
  ['c7g.xlarge', 4, 8, 'arm64', 0.1652],
  ['c7g.2xlarge', 8, 16, 'arm64', 0.3304],
  ['c7g.4xlarge', 16, 32, 'arm64', 0.6608],
  ['c7g.8xlarge', 32, 64, 'arm64', 1.3216],
  ['c7g.12xlarge', 48, 96, 'arm64', 1.9824],
  ['c7g.16xlarge', 64, 128, 'arm64', 2.6432],
  // Graviton3 memory optimised
  ['r7g.medium', 1, 8, 'arm64', 0.0627],
  ['r7g.large', 2, 16, 'arm64', 0.1253],
  ['r7g.xlarge', 4, 32, 'arm64', 0.2506],
  ['r7g.2xlarge', 8, 64, 'arm64', 0.5012],
  ['r7g.4xlarge', 16, 128, 'arm64', 1.0024],
  ['r7g.8xlarge', 32, 256, 'arm64', 2.0048],
  // Graviton2
  ['m6g.medium', 1, 4, 'arm64', 0.046],
  ['m6g.large', 2, 8, 'arm64', 0.092],
  ['m6g.xlarge', 4, 16, 'arm64', 0.184],
  ['m6g.2xlarge', 8, 32, 'arm64', 0.368],
  ['m6g.4xlarge', 16, 64, 'arm64', 0.736],
  ['m6g.8xlarge', 32, 128, 'arm64', 1.472],
  ['c6g.medium', 1, 2, 'arm64', 0.0388],
  ['c6g.large', 2, 4, 'arm64', 0.0776],
  ['c6g.xlarge', 4, 8, 'arm64', 0.1552],
  ['c6g.2xlarge', 8, 16, 'arm64', 0.3104],
  ['c6g.4xlarge', 16, 32, 'arm64', 0.6208],
  // x86 burstable
  ['t3.micro', 2, 1, 'amd64', 0.012],
  ['t3.small', 2, 2, 'amd64', 0.024],
  ['t3.medium', 2, 4, 'amd64', 0.048],
  ['t3.large', 2, 8, 'amd64', 0.096],
  ['t3.xlarge', 4, 16, 'amd64', 0.192],
  ['t3.2xlarge', 8, 32, 'amd64', 0.384],
  // x86 Sapphire Rapids
  ['m7i.large', 2, 8, 'amd64', 0.1159],
  ['m7i.xlarge', 4, 16, 'amd64', 0.2318],
  ['m7i.2xlarge', 8, 32, 'amd64', 0.4637],
  ['m7i.4xlarge', 16, 64, 'amd64', 0.9274],
  ['m7i.8xlarge', 32, 128, 'amd64', 1.8547],
  ['c7i.large', 2, 4, 'amd64', 0.1016],
  ['c7i.xlarge', 4, 8, 'amd64', 0.2033],
  ['c7i.2xlarge', 8, 16, 'amd64', 0.4066],
  ['c7i.4xlarge', 16, 32, 'amd64', 0.8131],
  ['c7i.8xlarge', 32, 64, 'amd64', 1.6262],
];

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** The built-in rows as specs (spot at the default discount). */
export function builtInInstanceSpecs(): InstanceSpec[] {
  return BUILT_IN.map(([instanceType, vcpu, memoryGiB, arch, onDemandHourlyUsd]) => ({
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
