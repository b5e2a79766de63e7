import { backoffKey } from '../../core/backoff.js';
import type { DecisionRecord, OfferingCache, StatePort, StoredSnapshot } from '../../core/ports.js';
import {
  type ClusterSnapshot,
  type DrainInProgress,
  type InFlightLaunch,
  type LaunchBackoff,
  MAX_AGENT_CLOCK_SKEW_SECONDS,
  PauseState,
  parseOrThrow,
  StageTimings,
} from '../../events/index.js';
import { FakeOfferingCache } from './offering-cache.js';

interface ClusterState {
  snapshot?: StoredSnapshot;
  decisions: Map<string, { record: DecisionRecord; expiresAtMs: number }>;
  /** The same records ordered by `decidedAt` (oldest first), so the newest are read from the end. */
  journal: DecisionRecord[];
  inFlight: Map<string, InFlightLaunch>;
  drains: Map<string, DrainInProgress>;
  lastScaleOutAt?: string;
  lease?: { holder: string; expiresAtMs: number };
  offerings: FakeOfferingCache;
  pause?: PauseState;
  backoffs: Map<string, LaunchBackoff>;
  stageTimings?: StageTimings;
}

/** A private copy of a JSON-shaped record (equal to `structuredClone(v)`, see {@link copyPlain}). */
const clone = <T>(v: T): T => copyPlain(v, false) as T;

/**
 * A stored copy that readers share: copied once on write and deep-frozen, so a caller that
 * mutated what it read would throw (ESM is strict mode) instead of silently changing the store.
 * Snapshots and journaled plans are large; sharing them keeps the simulator fast.
 *
 * Records are JSON-shaped (plain objects, arrays, strings, numbers, booleans, null), so the copy
 * walks them directly; anything else (a Date, a Map) is copied by `structuredClone`. The result
 * equals `structuredClone(v)` (keys whose value is undefined are kept), at a fraction of its cost.
 */
function frozenCopy<T>(v: T): T {
  return copyPlain(v, true) as T;
}

/** Deep copy of JSON-shaped data (frozen with `freeze`); other objects go through `structuredClone`. */
function copyPlain(v: unknown, freeze: boolean): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copyPlain(v[i], freeze);
    return freeze ? Object.freeze(out) : out;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) {
    const copy = structuredClone(v);
    return freeze ? deepFreeze(copy) : copy;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = copyPlain((v as Record<string, unknown>)[k], freeze);
  return freeze ? Object.freeze(out) : out;
}

function deepFreeze<T>(o: T): T {
  if (o === null || typeof o !== 'object' || Object.isFrozen(o)) return o;
  Object.freeze(o);
  for (const x of Object.values(o)) deepFreeze(x);
  return o;
}

/**
 * In-memory {@link StatePort} with the same guarantees as the DynamoDB adapter: the snapshot
 * seq guard (older or equal ignored), the single-writer lease (free, expired or own), event
 * dedup with expiry, monotonic lastScaleOutAt. Methods are synchronous inside, so concurrent
 * calls behave like DynamoDB's atomic conditional writes.
 */
export class FakeState implements StatePort {
  readonly clusters = new Map<string, ClusterState>();
  readonly seenEvents = new Map<string, number>();

  private of(cluster: string): ClusterState {
    let s = this.clusters.get(cluster);
    if (!s) {
      s = {
        decisions: new Map(),
        journal: [],
        inFlight: new Map(),
        drains: new Map(),
        offerings: new FakeOfferingCache(),
        backoffs: new Map(),
      };
      this.clusters.set(cluster, s);
    }
    return s;
  }

  async putSnapshotIfNewer(
    snapshot: ClusterSnapshot,
    now: Date,
    receivedAt: Date = now,
  ): Promise<'stored' | 'stale'> {
    const s = this.of(snapshot.cluster);
    const future = now.getTime() + MAX_AGENT_CLOCK_SKEW_SECONDS * 1000;
    if (s.snapshot && s.snapshot.snapshot.seq >= snapshot.seq && s.snapshot.snapshot.seq <= future)
      return 'stale';
    s.snapshot = frozenCopy({ snapshot, storedAt: receivedAt.toISOString() });
    return 'stored';
  }

  async getLatestSnapshot(cluster: string): Promise<StoredSnapshot | undefined> {
    const snap = this.of(cluster).snapshot;
    return snap;
  }

  async journalDecision(record: DecisionRecord, ttlSeconds: number): Promise<'recorded' | 'duplicate'> {
    const s = this.of(record.plan.cluster);
    if (s.decisions.has(record.plan.decisionId)) return 'duplicate';
    const stored = frozenCopy(record);
    s.decisions.set(record.plan.decisionId, {
      record: stored,
      expiresAtMs: Date.parse(record.plan.decidedAt) + ttlSeconds * 1000,
    });
    // Insertion sort from the end: decisions arrive (almost) in time order. Equal times keep arrival order.
    let i = s.journal.length;
    while (i > 0 && (s.journal[i - 1] as DecisionRecord).plan.decidedAt > stored.plan.decidedAt) i--;
    s.journal.splice(i, 0, stored);
    return 'recorded';
  }

  async listRecentDecisions(cluster: string, limit: number): Promise<DecisionRecord[]> {
    const journal = this.of(cluster).journal;
    const out: DecisionRecord[] = [];
    for (let i = journal.length - 1; i >= 0 && out.length < limit; i--)
      out.push(journal[i] as DecisionRecord);
    return out;
  }

  async recordInFlight(cluster: string, launches: InFlightLaunch[]): Promise<void> {
    const s = this.of(cluster);
    for (const l of launches) s.inFlight.set(l.launchId, clone(l));
  }

  async listInFlight(cluster: string, now: Date): Promise<InFlightLaunch[]> {
    return [...this.of(cluster).inFlight.values()]
      .filter((l) => Date.parse(l.expiresAt) > now.getTime())
      .map(clone);
  }

  async clearInFlight(cluster: string, launchIds: string[]): Promise<void> {
    const s = this.of(cluster);
    for (const id of launchIds) s.inFlight.delete(id);
  }

  async recordDrain(cluster: string, drain: DrainInProgress): Promise<void> {
    this.of(cluster).drains.set(drain.instanceId, clone(drain));
  }

  async listDrains(cluster: string): Promise<DrainInProgress[]> {
    return [...this.of(cluster).drains.values()].map(clone);
  }

  async clearDrain(cluster: string, instanceId: string): Promise<void> {
    this.of(cluster).drains.delete(instanceId);
  }

  async recordScaleOut(cluster: string, at: Date): Promise<void> {
    const s = this.of(cluster);
    if (s.lastScaleOutAt && Date.parse(s.lastScaleOutAt) >= at.getTime()) return;
    s.lastScaleOutAt = at.toISOString();
  }

  async lastScaleOutAt(cluster: string): Promise<string | undefined> {
    return this.of(cluster).lastScaleOutAt;
  }

  async acquireLease(cluster: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean> {
    const s = this.of(cluster);
    const l = s.lease;
    if (l && l.holder !== holder && l.expiresAtMs > now.getTime()) return false;
    s.lease = { holder, expiresAtMs: now.getTime() + ttlSeconds * 1000 };
    return true;
  }

  async releaseLease(cluster: string, holder: string): Promise<void> {
    const s = this.of(cluster);
    if (s.lease?.holder === holder) s.lease = undefined;
  }

  async markEventSeen(eventId: string, now: Date, ttlSeconds: number): Promise<boolean> {
    const until = this.seenEvents.get(eventId);
    if (until !== undefined && until > now.getTime()) return false;
    this.seenEvents.set(eventId, now.getTime() + ttlSeconds * 1000);
    return true;
  }

  offeringCache(cluster: string): OfferingCache {
    return this.of(cluster).offerings;
  }

  async getPause(cluster: string): Promise<PauseState | undefined> {
    const p = this.of(cluster).pause;
    return p ? clone(p) : undefined;
  }

  async setPause(cluster: string, pause: PauseState): Promise<void> {
    // Same validation as the DynamoDB adapter: a malformed pause is refused, not stored.
    this.of(cluster).pause = clone(parseOrThrow(PauseState, pause, 'pause'));
  }

  async clearPause(cluster: string): Promise<PauseState | undefined> {
    const s = this.of(cluster);
    const was = s.pause;
    s.pause = undefined;
    return was;
  }

  async listBackoffs(cluster: string, now: Date): Promise<LaunchBackoff[]> {
    return [...this.of(cluster).backoffs.values()]
      .filter((b) => Date.parse(b.forgetAt) > now.getTime())
      .map((b) => clone(b));
  }

  async putBackoff(cluster: string, backoff: LaunchBackoff): Promise<void> {
    this.of(cluster).backoffs.set(backoffKey(backoff), clone(backoff));
  }

  async clearBackoff(cluster: string, key: string): Promise<void> {
    this.of(cluster).backoffs.delete(key);
  }

  async getStageTimings(cluster: string): Promise<StageTimings | undefined> {
    const t = this.of(cluster).stageTimings;
    return t ? clone(t) : undefined;
  }

  async putStageTimings(cluster: string, timings: StageTimings): Promise<void> {
    // Same validation as the DynamoDB adapter.
    this.of(cluster).stageTimings = clone(parseOrThrow(StageTimings, timings, 'stage timings'));
  }
}
