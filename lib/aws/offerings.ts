/**
 * Pure launch-offering logic shared by the EC2 fleet adapter and its fake: the order in which
 * offerings are tried, which EC2 error codes mean "try the next offering", which mean "stop,
 * a quota was hit", and when the offering cache says to skip one.
 */
import { blockingEntry } from '../core/availability.js';
import type { CapacityType, UnavailableOffering } from '../events/index.js';

/** A subnet the fleet may launch into, with its availability zone. */
export interface SubnetChoice {
  subnetId: string;
  zone: string;
}

/** One (instance type, capacity type, subnet) to try. */
export interface Offering {
  instanceType: string;
  capacityType: CapacityType;
  subnetId: string;
  zone: string;
}

/**
 * EC2 error codes after which the next offering may succeed. Sources: EC2 API error codes
 * reference (RunInstances) and the CreateFleet `InsufficientCapacity` family.
 */
export const FALLBACK_ERROR_CODES: ReadonlySet<string> = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientAddressCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientFreeAddressesInSubnet',
  'UnfulfillableCapacity',
  'SpotMaxPriceTooLow',
  'MaxSpotInstanceCountExceeded',
  'Unsupported',
]);

/** Account quota codes: no other offering helps, an operator must act. */
export const QUOTA_ERROR_CODES: ReadonlySet<string> = new Set(['VcpuLimitExceeded', 'InstanceLimitExceeded']);

/**
 * Offerings in the order they are tried: capacity type (the caller's preference, e.g. spot
 * before on-demand), then instance type (most preferred first), then zone. Spot of any
 * allowed type is tried before on-demand of the preferred one because it is the cheaper
 * outcome (docs/adapters.md: fall back across types, zones, then on-demand). Zones follow subnet
 * order, rotated by `rotation` so consecutive launches of a group spread across zones.
 */
export function orderOfferings(
  instanceTypes: readonly string[],
  capacityTypes: readonly CapacityType[],
  subnets: readonly SubnetChoice[],
  zones: readonly string[] | undefined,
  rotation = 0,
): Offering[] {
  const allowed = zones && zones.length > 0 ? subnets.filter((s) => zones.includes(s.zone)) : [...subnets];
  const n = allowed.length;
  const rotated = n === 0 ? [] : allowed.map((_, i) => allowed[(i + rotation) % n] as SubnetChoice);
  const out: Offering[] = [];
  for (const capacityType of dedupe(capacityTypes)) {
    for (const instanceType of dedupe(instanceTypes)) {
      for (const s of rotated) out.push({ instanceType, capacityType, subnetId: s.subnetId, zone: s.zone });
    }
  }
  return out;
}

function dedupe<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/**
 * True when `unavailable` has an entry covering this offering (exact or `*` type and zone) with
 * `until` after `now`. The same rule the planner applies (lib/core/availability.ts), so the
 * planner never plans what launch would skip.
 */
export function isUnavailable(
  offering: Offering,
  unavailable: readonly UnavailableOffering[],
  now: Date,
): boolean {
  return (
    blockingEntry(unavailable, offering.instanceType, offering.zone, offering.capacityType, now.getTime()) !==
    undefined
  );
}

/**
 * EC2 codes that say a whole capacity type is unavailable account-wide, not one offering:
 * `MaxSpotInstanceCountExceeded` is the account's spot instance (request) limit, so no other
 * spot type or zone helps until spot instances end; on-demand may.
 */
export const ACCOUNT_WIDE_ERROR_CODES: ReadonlySet<string> = new Set(['MaxSpotInstanceCountExceeded']);

/**
 * The cache entry for an offering that just failed with capacity error `code`: the exact
 * (type, zone, capacity type), or every type and zone of the capacity type for an
 * account-wide code.
 */
export function unavailableEntry(
  offering: Offering,
  now: Date,
  ttlSeconds: number,
  code?: string,
): UnavailableOffering {
  const accountWide = code !== undefined && ACCOUNT_WIDE_ERROR_CODES.has(code);
  return {
    instanceType: accountWide ? '*' : offering.instanceType,
    capacityType: offering.capacityType,
    zone: accountWide ? '*' : offering.zone,
    until: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
    ...(code ? { reason: code } : {}),
  };
}
