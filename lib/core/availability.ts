/**
 * Which candidate offerings may be planned right now (I10: the planner sees what launch
 * learned). Pure: the offering cache entries and the time come in as parameters.
 *
 * Launch records an offering that failed with a capacity error per (type, zone, capacity
 * type), and account-wide entries (`instanceType: '*'`, e.g. `MaxSpotInstanceCountExceeded`
 * makes every spot offering unavailable). This module turns those entries into the candidate
 * set the packing works on — a capacity type of a type is dropped only when it is unavailable
 * in every zone a launch could use (launch itself skips a single blocked zone) — and into the
 * sentences explanations and pod notices carry: what is unavailable, until when, why, and
 * what is tried instead. It sits before packing, not inside it, so the packing code never
 * sees an offering that cannot launch.
 */
import type { CapacityType, LaunchBackoff, UnavailableOffering } from '../events/index.js';
import { backoffBlocks } from './backoff.js';
import { fmtTime } from './format.js';

/** True when `entry` covers the offering (exact or `*` type and zone, same capacity type). */
export function entryCovers(
  entry: UnavailableOffering,
  instanceType: string,
  zone: string,
  capacityType: CapacityType,
): boolean {
  return (
    entry.capacityType === capacityType &&
    (entry.instanceType === '*' || entry.instanceType === instanceType) &&
    (entry.zone === '*' || entry.zone === zone)
  );
}

/** The active entry (`until` after `nowMs`) that covers the offering, latest `until` first; undefined when available. */
export function blockingEntry(
  entries: readonly UnavailableOffering[],
  instanceType: string,
  zone: string,
  capacityType: CapacityType,
  nowMs: number,
): UnavailableOffering | undefined {
  let best: UnavailableOffering | undefined;
  for (const e of entries) {
    if (Date.parse(e.until) <= nowMs) continue;
    if (!entryCovers(e, instanceType, zone, capacityType)) continue;
    if (!best || Date.parse(e.until) > Date.parse(best.until)) best = e;
  }
  return best;
}

/** One capacity type of one candidate type that is (partly) unavailable. */
export interface BlockedOffering {
  instanceType: string;
  capacityType: CapacityType;
  /** Zones it is unavailable in (all of `zones` when `everywhere`). */
  zones: string[];
  /** Unavailable in every zone a launch could use: the planner does not plan it. */
  everywhere: boolean;
  /** When the first blocked zone opens again (ISO); for `everywhere`, when the offering returns. */
  until: string;
  /** The EC2 codes (or causes) behind the entries, deduplicated. */
  reasons: string[];
  /** True when an account-wide (`*` type) entry blocks it. */
  accountWide: boolean;
}

/** Candidate offerings after the offering cache. */
export interface CandidateAvailability {
  /** Per candidate type, the capacity types (config order) still available in at least one zone. */
  capacityTypes: Map<string, CapacityType[]>;
  /** Every (type, capacity type) blocked in some zone, sorted by type then capacity type. */
  blocked: BlockedOffering[];
}

/**
 * Filter the candidate (type × capacity type) set by the active cache entries. A capacity type
 * stays when at least one of `zones` is open for it (launch skips the blocked zones itself);
 * it is dropped when every zone is blocked. `zones` empty means "every zone": then only
 * `zone: '*'` entries block.
 */
export function filterCandidateOfferings(args: {
  instanceTypes: readonly string[];
  capacityTypes: readonly CapacityType[];
  zones: readonly string[];
  unavailable: readonly UnavailableOffering[];
  nowMs: number;
}): CandidateAvailability {
  const { capacityTypes, unavailable, nowMs } = args;
  const zones = args.zones.length > 0 ? [...args.zones] : ['*'];
  const out: CandidateAvailability = { capacityTypes: new Map(), blocked: [] };
  const active = unavailable.filter((u) => Date.parse(u.until) > nowMs);
  for (const type of args.instanceTypes) {
    if (out.capacityTypes.has(type)) continue;
    const caps: CapacityType[] = [];
    for (const cap of capacityTypes) {
      const blockedZones: string[] = [];
      const entries: UnavailableOffering[] = [];
      for (const z of zones) {
        const e =
          z === '*'
            ? active.find((u) => u.zone === '*' && entryCovers(u, type, '*', cap))
            : blockingEntry(active, type, z, cap, nowMs);
        if (!e) continue;
        blockedZones.push(z);
        entries.push(e);
      }
      const everywhere = blockedZones.length === zones.length;
      if (!everywhere) caps.push(cap);
      if (blockedZones.length === 0) continue;
      const untilMs = Math.min(...entries.map((e) => Date.parse(e.until)));
      out.blocked.push({
        instanceType: type,
        capacityType: cap,
        zones: blockedZones.filter((z) => z !== '*'),
        everywhere,
        until: new Date(untilMs).toISOString(),
        reasons: [...new Set(entries.map((e) => e.reason ?? 'capacity error'))].sort(),
        accountWide: entries.some((e) => e.instanceType === '*'),
      });
    }
    out.capacityTypes.set(type, caps);
  }
  out.blocked.sort((a, b) =>
    a.instanceType < b.instanceType
      ? -1
      : a.instanceType > b.instanceType
        ? 1
        : a.capacityType < b.capacityType
          ? -1
          : a.capacityType > b.capacityType
            ? 1
            : 0,
  );
  return out;
}

/**
 * `m7g.large spot (InsufficientInstanceCapacity) is unavailable in every zone until 09:33:00 UTC`
 * — one phrase per blocked offering; account-wide entries are reported once.
 */
export function describeBlocked(blocked: readonly BlockedOffering[], now: Date): string[] {
  const out: string[] = [];
  const grouped = new Map<string, string[]>();
  const accountWide = new Set<string>();
  for (const b of blocked) {
    const why = b.reasons.join('/');
    if (b.accountWide && b.everywhere) {
      if (accountWide.has(b.capacityType)) continue;
      accountWide.add(b.capacityType);
      out.push(
        `all ${b.capacityType} capacity (${why}, account-wide) is unavailable until ${fmtTime(b.until, now)}`,
      );
      continue;
    }
    const where = b.everywhere ? 'in every zone' : `in ${b.zones.join(', ')}`;
    const tail = `${b.capacityType} (${why}) is unavailable ${where} until ${fmtTime(b.until, now)}`;
    const same = grouped.get(tail);
    if (same) same.push(b.instanceType);
    else grouped.set(tail, [b.instanceType]);
  }
  for (const [tail, types] of grouped) out.push(`${types.join(', ')} ${tail}`);
  return out;
}

/** The earliest `until` among blocked offerings that are blocked everywhere (when capacity may return). */
export function earliestReturn(blocked: readonly BlockedOffering[]): string | undefined {
  let best: string | undefined;
  for (const b of blocked) {
    if (!b.everywhere) continue;
    if (!best || Date.parse(b.until) < Date.parse(best)) best = b.until;
  }
  return best;
}

/**
 * Why shapes whose every matching offering is unavailable wait, for explanations and the pod
 * notice: what is unavailable, why, and when it is tried again.
 */
export function unavailableReason(
  availability: CandidateAvailability,
  instanceTypes: readonly string[],
  capacityTypes: readonly CapacityType[],
  now: Date,
): string {
  const types = new Set(instanceTypes);
  const caps = new Set(capacityTypes);
  const relevant = availability.blocked.filter(
    (b) => b.everywhere && types.has(b.instanceType) && caps.has(b.capacityType),
  );
  const back = earliestReturn(relevant);
  const phrases = describeBlocked(relevant, now);
  const shown =
    phrases.slice(0, 4).join('; ') + (phrases.length > 4 ? `; and ${phrases.length - 4} more` : '');
  // Until when comes first: pod Events carry the first 300 characters of this sentence.
  const until = back ? `; the first offering is tried again after ${fmtTime(back, now)}` : '';
  return `every matching offering (${[...types].join(', ')} × ${[...caps].join('/')}) recently failed and nothing else can run these pods, so nothing is launched${until}: ${shown || 'no offering is available'}`;
}

/**
 * One sentence for the plan: what the offering cache rules out right now and what is planned
 * instead (`the remaining zones`, `m7g.large on-demand`, `other candidate types`).
 */
export function availabilitySummary(availability: CandidateAvailability, now: Date): string | undefined {
  if (availability.blocked.length === 0) return undefined;
  const phrases = describeBlocked(availability.blocked, now);
  const instead = new Set<string>();
  for (const b of availability.blocked) {
    if (!b.everywhere) {
      instead.add(`the other zones for ${b.instanceType} ${b.capacityType}`);
      continue;
    }
    const left = availability.capacityTypes.get(b.instanceType) ?? [];
    if (left.length > 0) instead.add(`${b.instanceType} ${left.join('/')}`);
  }
  const open = [...availability.capacityTypes.values()].some((c) => c.length > 0);
  if (open) instead.add('the other candidate types');
  const shown =
    phrases.slice(0, 6).join('; ') + (phrases.length > 6 ? `; and ${phrases.length - 6} more` : '');
  return `offering cache: ${shown}; ${
    open
      ? `planning ${[...instead].slice(0, 6).join(', ')} instead`
      : 'no candidate offering is available, so nothing is launched until one returns'
  }`;
}

/**
 * Active launch backoffs as offering-cache entries for the planner: a launch setup backs off
 * its (type, capacity type) in every zone (the planner does not know the AMI launch resolves,
 * so any image counts); a quota backs off every candidate type of its quota class.
 */
export function backoffsAsOfferings(
  backoffs: readonly LaunchBackoff[],
  candidateTypes: readonly string[],
  nowMs: number,
): UnavailableOffering[] {
  const out: UnavailableOffering[] = [];
  for (const b of backoffs) {
    if (Date.parse(b.until) <= nowMs) continue;
    const reason =
      b.kind === 'quota'
        ? `${b.reason} quota, backoff #${b.failures}`
        : `launch setup backed off #${b.failures}: ${b.reason}`.slice(0, 128);
    for (const t of candidateTypes) {
      if (!backoffBlocks(b, t, b.capacityType, nowMs)) continue;
      out.push({ instanceType: t, zone: '*', capacityType: b.capacityType, until: b.until, reason });
    }
  }
  return out;
}
