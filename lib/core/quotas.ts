/**
 * EC2 vCPU quotas: which account quota each candidate instance type counts against, how many
 * vCPUs a config can ask of it at most, and the port that reads the quota's value.
 *
 * Why it exists: a new account's quotas are small (often 5 vCPUs of spot, sometimes 0 for
 * G instances), and the first burst is the wrong moment to learn it. EC2 counts running vCPUs
 * per quota class (family letters) and capacity type; past the quota an on-demand launch
 * fails with `VcpuLimitExceeded` (no other offering helps) and a spot launch with
 * `MaxSpotInstanceCountExceeded` (the launch falls back to the next capacity type).
 * `k3s-burst doctor` compares the two before anything launches.
 *
 * Quota codes and family letters are those Service Quotas lists for EC2 (service code `ec2`):
 * "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" and its spot twin, and
 * "Running On-Demand G and VT instances" and its spot twin. Other families (F, P, X, Inf,
 * DL, Trn, HPC, U-, Mac) have quotas of their own that are not read here.
 */
import type { CapacityType, Config } from '../events/index.js';
import type { Catalog } from './catalog.js';
import { PortError } from './ports.js';

/** A group of instance families that share one vCPU quota per capacity type. */
export type QuotaClass = 'standard' | 'g-vt';

/** One EC2 vCPU quota as Service Quotas names it. */
export interface Ec2VcpuQuota {
  quotaClass: QuotaClass;
  capacityType: CapacityType;
  /** Service Quotas quota code (service code `ec2`). */
  quotaCode: string;
  /** The quota's name in Service Quotas, quoted in doctor's messages. */
  quotaName: string;
}

/** The four vCPU quotas doctor reads (codes checked against AWS's published names). */
export const EC2_VCPU_QUOTAS: readonly Ec2VcpuQuota[] = [
  {
    quotaClass: 'standard',
    capacityType: 'on-demand',
    quotaCode: 'L-1216C47A',
    quotaName: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
  },
  {
    quotaClass: 'standard',
    capacityType: 'spot',
    quotaCode: 'L-34B43A08',
    quotaName: 'All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests',
  },
  {
    quotaClass: 'g-vt',
    capacityType: 'on-demand',
    quotaCode: 'L-DB2E81BA',
    quotaName: 'Running On-Demand G and VT instances',
  },
  {
    quotaClass: 'g-vt',
    capacityType: 'spot',
    quotaCode: 'L-3819A6DF',
    quotaName: 'All G and VT Spot Instance Requests',
  },
];

/** The shape of a Service Quotas quota code. */
export const QUOTA_CODE_PATTERN = /^L-[0-9A-F]{8}$/;

/**
 * Family letters of an instance type: the letters before the generation digit
 * (`m7g.large` → `m`, `im4gn.xlarge` → `im`, `vt1.3xlarge` → `vt`, `hpc7g.4xlarge` → `hpc`).
 */
export function familyLetters(instanceType: string): string {
  return /^[a-z]+/.exec(instanceType)?.[0] ?? '';
}

// `im` (im4gn) and `is` (is4gen) are I-family types; `gr` (gr6) is a G-family type.
const CLASS_OF_LETTERS: ReadonlyMap<string, QuotaClass> = new Map([
  ...['a', 'c', 'd', 'h', 'i', 'im', 'is', 'm', 'r', 't', 'z'].map((l) => [l, 'standard'] as const),
  ...['g', 'gr', 'vt'].map((l) => [l, 'g-vt'] as const),
]);

/** The quota class an instance type counts against, or undefined for families with a quota of their own. */
export function quotaClassOf(instanceType: string): QuotaClass | undefined {
  return CLASS_OF_LETTERS.get(familyLetters(instanceType));
}

/** What the config can ask of one quota class. */
export interface QuotaDemand {
  quotaClass: QuotaClass;
  /** The candidate types in this class, in config order. */
  instanceTypes: string[];
  smallestVcpus: number;
  largestVcpus: number;
  largestType: string;
  /**
   * The most vCPUs of this class the config can have running at once:
   * min(limits.maxVcpus, limits.maxNodes × vCPUs of the largest type).
   */
  maxVcpus: number;
}

/**
 * The vCPU demand of a config per quota class. Pure: the caller reads the quotas and
 * compares (`lib/ops/quota-check.ts`).
 */
export function quotaDemand(
  config: Config,
  catalog: Catalog,
): { demands: QuotaDemand[]; unchecked: string[] } {
  const byClass = new Map<QuotaClass, { type: string; vcpu: number }[]>();
  /** Candidate types whose family has a quota of its own (not read). */
  const unchecked: string[] = [];
  for (const t of config.nodes.candidateTypes) {
    const spec = catalog.get(t);
    const cls = quotaClassOf(t);
    // The config validator refuses candidate types the catalog does not know.
    if (!spec) continue;
    if (!cls) unchecked.push(t);
    else byClass.set(cls, [...(byClass.get(cls) ?? []), { type: t, vcpu: spec.vcpu }]);
  }
  const demands: QuotaDemand[] = [];
  for (const cls of ['standard', 'g-vt'] as const) {
    const types = byClass.get(cls);
    if (!types || types.length === 0) continue;
    const largest = types.reduce((a, b) => (b.vcpu > a.vcpu ? b : a));
    const smallest = Math.min(...types.map((x) => x.vcpu));
    demands.push({
      quotaClass: cls,
      instanceTypes: types.map((x) => x.type),
      smallestVcpus: smallest,
      largestVcpus: largest.vcpu,
      largestType: largest.type,
      maxVcpus: Math.min(config.limits.maxVcpus, config.limits.maxNodes * largest.vcpu),
    });
  }
  return { demands, unchecked };
}

// ───────────────────────────── the port ─────────────────────────────

/** The value in force of one EC2 quota. */
export interface QuotaValue {
  quotaCode: string;
  quotaName: string;
  /** vCPUs (EC2's instance quotas are counted in vCPUs). */
  value: number;
  /** `applied`: this account's value; `default`: AWS's default, used when no applied value exists. */
  source: 'applied' | 'default';
}

export type QuotaPortErrorKind =
  | 'access-denied'
  | 'not-found'
  | 'throttled'
  | 'invalid-request'
  | 'invalid-response'
  | 'unavailable';

/** Why a quota could not be read; the message names the quota code and the fix. */
export class QuotaPortError extends PortError {
  override readonly retryable: boolean;
  constructor(
    readonly kind: QuotaPortErrorKind,
    readonly quotaCode: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QuotaPortError';
    this.retryable = kind === 'throttled' || kind === 'unavailable';
  }
}

/** The IAM actions a reader of EC2 quotas needs (documented in docs/iam.md). */
export const QUOTA_READ_ACTIONS = [
  'servicequotas:GetServiceQuota',
  'servicequotas:GetAWSDefaultServiceQuota',
];

/**
 * Reads EC2 quotas of one region (Service Quotas). Contract
 * (test/support/fakes/quota-contract.ts, run on the adapter and the fake):
 * - `getEc2Quota(code)` returns the account's applied value when there is one, else AWS's
 *   default (`source` says which);
 * - a code that is not `L-` + 8 hex digits is refused with kind `invalid-request` before asking;
 * - a code neither knows: kind `not-found`; refused by IAM: kind `access-denied`, whose
 *   message names {@link QUOTA_READ_ACTIONS};
 * - an answer without a finite, non-negative value is kind `invalid-response`, never a number.
 */
export interface QuotaPort {
  getEc2Quota(quotaCode: string): Promise<QuotaValue>;
}

/** The message of an `access-denied` error: the same words from every implementation. */
export function quotaAccessDeniedMessage(quotaCode: string, detail: string): string {
  return `Service Quotas refused to read EC2 quota ${quotaCode} (${detail}): allow ${QUOTA_READ_ACTIONS.join(' and ')} to the identity running doctor (docs/iam.md)`;
}

/** Refuse a quota code that is not `L-` + 8 hex digits, before any request is made. */
export function assertQuotaCode(quotaCode: string): void {
  if (!QUOTA_CODE_PATTERN.test(quotaCode)) {
    throw new QuotaPortError(
      'invalid-request',
      quotaCode,
      `"${quotaCode.slice(0, 40)}" is not a Service Quotas quota code (expected L- and 8 hex digits, e.g. L-1216C47A)`,
    );
  }
}
