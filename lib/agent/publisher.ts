/**
 * Publishes `ClusterSnapshot` events: batched after changes (idle window, bounded by a maximum
 * window), a heartbeat when nothing changed, strictly increasing `seq`, per-entry retries, and
 * explicit degradation when a snapshot cannot fit one PutEvents entry.
 *
 * `seq` = max(previous + 1, wall-clock ms). After a restart the wall clock is ahead of the old
 * agent's last seq (it publishes at most one snapshot per batch window, far less than one per
 * millisecond), so seq keeps increasing across restarts without any stored state. The control
 * plane rejects a seq or observedAt more than MAX_AGENT_CLOCK_SKEW_SECONDS ahead of its own
 * clock, and {@link nextSnapshotSeq} restarts seq from the clock after the clock went back by
 * more than that: ordering survives a clock that ran ahead and was corrected (docs/agent.md).
 *
 * Truncation (only when even gzip+base64 exceeds 256 KB): drop pending shapes from the least
 * important end (fewest pods, then most recently pending) first; then on-prem nodes; then the
 * DaemonSet list. Managed nodes are never dropped: the core would take a missing managed node
 * for an instance that never registered and terminate it. `truncated` says what was left out and
 * why, a metric counts it, and a warning is logged. If even that does not fit, nothing is sent,
 * the failure is counted and logged at error level.
 */

import type { Clock } from '../core/clock.js';
import { errorFields, type Logger } from '../core/logger.js';
import {
  type ClusterSnapshotInput,
  DetailTypes,
  encodeSnapshotDetail,
  MAX_AGENT_CLOCK_SKEW_SECONDS,
  PUT_EVENTS_MAX_ENTRY_BYTES,
  putEventsEntryBytes,
  Sources,
} from '../events/index.js';
import { MetricNames, type MetricsRegistry } from './metrics.js';
import { AGENT_DEFAULTS } from './options.js';
import type { BusEntry, EventBusPort } from './ports.js';

/**
 * The next snapshot `seq`: the wall clock in ms, strictly increasing while the clock moves
 * forward (so it survives restarts without stored state). When the clock went BACK by more
 * than the control plane's allowed skew (it had run ahead and was corrected), seq restarts
 * from the clock: the control plane never stored a seq that far ahead (it rejects
 * future-dated snapshots, I12), so the corrected seq is accepted again within
 * {@link MAX_AGENT_CLOCK_SKEW_SECONDS}, instead of staying ahead of real time forever.
 */
export function nextSnapshotSeq(lastSeq: number, nowMs: number): number {
  const next = lastSeq + 1;
  if (next > nowMs + MAX_AGENT_CLOCK_SKEW_SECONDS * 1000) return nowMs;
  return Math.max(next, nowMs);
}

export class SnapshotTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`snapshot is ${bytes} bytes even with every pending shape, on-prem node and DaemonSet left out`);
    this.name = 'SnapshotTooLargeError';
  }
}

export interface FittedSnapshot {
  snapshot: ClusterSnapshotInput;
  detail: string;
  bytes: number;
}

function entryBytes(detail: string): number {
  return putEventsEntryBytes({ source: Sources.agent, detailType: DetailTypes.clusterSnapshot, detail });
}

/** Largest k in [0, n] with fits(k), assuming monotonicity; -1 when even fits(0) fails. */
function largestFitting(n: number, fits: (k: number) => boolean): number {
  if (fits(n)) return n;
  if (!fits(0)) return -1;
  let lo = 0;
  let hi = n; // fits(lo) && !fits(hi)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Encode a snapshot for PutEvents, truncating as described above when needed. Pure apart from
 * CPU. `pendingShapes` must already be ordered most important first (the builder does that).
 */
export function fitSnapshot(
  full: ClusterSnapshotInput,
  maxBytes = PUT_EVENTS_MAX_ENTRY_BYTES,
): FittedSnapshot {
  const first = encodeSnapshotDetail(full);
  if (entryBytes(first.detail) <= maxBytes)
    return { snapshot: full, detail: first.detail, bytes: first.bytes };
  // First degradation: the running pods' selector index goes (said in the snapshot; the planner
  // then plans shapes with inter-pod terms conservatively) before any pending shape is dropped.
  let snapshot = full;
  if ((full.nodes ?? []).some((n) => n.podSelectorCounts)) {
    snapshot = {
      ...full,
      nodes: (full.nodes ?? []).map(({ podSelectorCounts: _dropped, ...n }) => n),
      podIndexDropped: `the running pods' selector index was left out to fit the ${maxBytes}-byte PutEvents entry limit (${entryBytes(first.detail)} bytes with it)`,
    };
    const lean = encodeSnapshotDetail(snapshot);
    if (entryBytes(lean.detail) <= maxBytes) return { snapshot, detail: lean.detail, bytes: lean.bytes };
  }

  const shapes = snapshot.pendingShapes ?? [];
  const nodes = snapshot.nodes ?? [];
  const managedNodes = nodes.filter((n) => n.managed);
  const onPrem = nodes.filter((n) => !n.managed);
  const reasons: string[] = [];
  let last: { detail: string; bytes: number } = first;
  const attempt = (s: ClusterSnapshotInput): boolean => {
    const enc = encodeSnapshotDetail(s, { forceEncoding: 'gzip+base64' });
    last = enc;
    return entryBytes(enc.detail) <= maxBytes;
  };
  const withParts = (k: number, keptOnPrem: number, daemonSets: boolean): ClusterSnapshotInput => {
    const kept = shapes.slice(0, k);
    const keptNodes = [...managedNodes, ...onPrem.slice(0, keptOnPrem)].sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    return {
      ...snapshot,
      pendingShapes: kept,
      nodes: keptNodes,
      daemonSets: daemonSets ? snapshot.daemonSets : [],
      truncated: {
        droppedShapes: shapes.length - k,
        droppedPods: shapes.slice(k).reduce((s, x) => s + x.count, 0),
        droppedNodes: onPrem.length - keptOnPrem,
        reason: '',
      },
    };
  };

  let k = largestFitting(shapes.length, (n) => attempt(withParts(n, onPrem.length, true)));
  let keptOnPrem = onPrem.length;
  let daemonSets = true;
  if (k >= 0) reasons.push(`dropped ${shapes.length - k} least important pending shapes`);
  else {
    k = 0;
    reasons.push(`dropped all ${shapes.length} pending shapes`);
    keptOnPrem = largestFitting(onPrem.length, (n) => attempt(withParts(0, n, true)));
    if (keptOnPrem >= 0) reasons.push(`dropped ${onPrem.length - keptOnPrem} on-prem nodes`);
    else {
      keptOnPrem = 0;
      daemonSets = false;
      if (!attempt(withParts(0, 0, false))) throw new SnapshotTooLargeError(entryBytes(last.detail));
      reasons.push(`dropped all ${onPrem.length} on-prem nodes and the DaemonSet list`);
    }
  }
  // The reason text was not part of the search; give back a few more shapes if it tips the size.
  for (let guard = 0; guard <= shapes.length; guard++) {
    const out = withParts(k, keptOnPrem, daemonSets);
    (out.truncated as { reason: string }).reason =
      `snapshot exceeded the ${maxBytes}-byte PutEvents entry limit (${entryBytes(first.detail)} bytes): ${reasons.join('; ')}`;
    const enc = encodeSnapshotDetail(out, { forceEncoding: 'gzip+base64' });
    if (entryBytes(enc.detail) <= maxBytes) return { snapshot: out, detail: enc.detail, bytes: enc.bytes };
    if (k === 0) break;
    k = Math.max(0, k - Math.max(1, Math.ceil(k / 100)));
    reasons[0] = `dropped ${shapes.length - k} least important pending shapes`;
  }
  throw new SnapshotTooLargeError(entryBytes(last.detail));
}

export interface PublisherOptions {
  cluster: string;
  eventBusName: string;
  bus: EventBusPort;
  clock: Clock;
  log: Logger;
  metrics: MetricsRegistry;
  /** Builds the current snapshot (pure function of the caches). */
  build: (seq: number, observedAt: string) => ClusterSnapshotInput;
  /** @default AGENT_DEFAULTS.publisher.batchIdleMs */
  batchIdleMs?: number;
  /** @default AGENT_DEFAULTS.publisher.batchMaxMs */
  batchMaxMs?: number;
  /** @default AGENT_DEFAULTS.publisher.heartbeatMs */
  heartbeatMs?: number;
  /** Attempts per entry before giving up on it (a fresh snapshot follows). @default 3 */
  attempts?: number;
  /** First retry delay; doubles per attempt. @default AGENT_DEFAULTS.publisher.retryBaseMs */
  retryBaseMs?: number;
  maxEntryBytes?: number;
  /** Called after each successful publish. */
  onPublished?: (seq: number) => void;
}

export class Publisher {
  private lastSeq = 0;
  private dirtySince: number | undefined;
  private cancelBatch: (() => void) | undefined;
  private cancelHeartbeat: (() => void) | undefined;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private running = false;
  private consecutiveFailures = 0;
  private readonly abort = new AbortController();
  lastSuccessAt: number | undefined;

  constructor(private readonly o: PublisherOptions) {}

  get seq(): number {
    return this.lastSeq;
  }

  /** Start publishing: one snapshot now, then on change and on the heartbeat. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.flush();
  }

  /** Stop timers and wait for an in-flight publish (its retries are cut short). */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.cancelBatch?.();
    this.cancelHeartbeat?.();
    await this.inFlight;
  }

  /** Something relevant changed: publish after the idle window, at most batchMaxMs after the first change. */
  markDirty(): void {
    if (!this.running) return;
    const now = this.o.clock.now();
    this.dirtySince ??= now;
    const idle = this.o.batchIdleMs ?? AGENT_DEFAULTS.publisher.batchIdleMs;
    const max = this.o.batchMaxMs ?? AGENT_DEFAULTS.publisher.batchMaxMs;
    const at = Math.min(now + idle, this.dirtySince + max);
    this.cancelBatch?.();
    this.cancelBatch = this.o.clock.setTimer(() => this.flush(), at - now);
  }

  private flush(): void {
    this.cancelBatch?.();
    this.cancelBatch = undefined;
    this.dirtySince = undefined;
    if (!this.running) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = this.publishOnce().finally(() => {
      this.inFlight = undefined;
      if (this.again && this.running) {
        this.again = false;
        this.flush();
      }
    });
  }

  private armHeartbeat(ms: number): void {
    this.cancelHeartbeat?.();
    if (!this.running) return;
    this.cancelHeartbeat = this.o.clock.setTimer(() => this.flush(), ms);
  }

  private async publishOnce(): Promise<void> {
    const heartbeat = this.o.heartbeatMs ?? AGENT_DEFAULTS.publisher.heartbeatMs;
    const ok = await this.publishSnapshot();
    if (ok) {
      this.consecutiveFailures = 0;
      this.armHeartbeat(heartbeat);
    } else {
      this.consecutiveFailures++;
      // A fresh snapshot (new seq) follows after a capped backoff, or earlier on change.
      this.armHeartbeat(Math.min(heartbeat, 1000 * 2 ** Math.min(this.consecutiveFailures, 5)));
    }
  }

  /** Build, fit and send one snapshot. Returns true when EventBridge accepted it. */
  async publishSnapshot(): Promise<boolean> {
    const { clock, log, metrics } = this.o;
    const seq = nextSnapshotSeq(this.lastSeq, clock.now());
    this.lastSeq = seq;
    const observedAt = new Date(clock.now()).toISOString();
    let fitted: FittedSnapshot;
    try {
      const snapshot = this.o.build(seq, observedAt);
      this.recordPending(snapshot);
      fitted = fitSnapshot(snapshot, this.o.maxEntryBytes);
    } catch (err) {
      metrics.count(MetricNames.publishFailures, 1, {
        reason: err instanceof SnapshotTooLargeError ? 'too-large' : 'build',
      });
      log.error('snapshot not published', { seq, ...errorFields(err) });
      return false;
    }
    if (fitted.snapshot.truncated) {
      metrics.count(MetricNames.snapshotsTruncated);
      log.warn('snapshot truncated to fit PutEvents', { seq, ...fitted.snapshot.truncated });
    }
    const entry: BusEntry = {
      source: Sources.agent,
      detailType: DetailTypes.clusterSnapshot,
      detail: fitted.detail,
      eventBusName: this.o.eventBusName,
    };
    const ok = await sendWithRetry(entry, {
      bus: this.o.bus,
      clock,
      attempts: this.o.attempts ?? 3,
      baseMs: this.o.retryBaseMs ?? AGENT_DEFAULTS.publisher.retryBaseMs,
      signal: this.abort.signal,
      onFailure: (why) => {
        metrics.count(MetricNames.publishFailures, 1, { reason: 'put-events' });
        log.warn('PutEvents failed', { seq, ...why });
      },
    });
    if (!ok) return false;
    this.lastSuccessAt = clock.now();
    metrics.count(MetricNames.snapshotsPublished);
    metrics.gauge(MetricNames.lastPublish, Math.floor(clock.now() / 1000), 'Seconds');
    metrics.gauge(MetricNames.snapshotBytes, fitted.bytes, 'Bytes');
    log.debug('snapshot published', {
      seq,
      bytes: fitted.bytes,
      shapes: fitted.snapshot.pendingShapes?.length ?? 0,
    });
    this.o.onPublished?.(seq);
    return true;
  }

  private recordPending(s: ClusterSnapshotInput): void {
    const shapes = s.pendingShapes ?? [];
    this.o.metrics.gauge(MetricNames.pendingShapes, shapes.length, 'Count');
    this.o.metrics.gauge(
      MetricNames.pendingPods,
      shapes.reduce((n, x) => n + x.count, 0),
      'Count',
    );
    // Bounded label cardinality: the 50 biggest shapes.
    this.o.metrics.replace(
      MetricNames.pendingPodsByShape,
      shapes.slice(0, 50).map((x) => ({ labels: { shape: x.id }, value: x.count })),
    );
  }
}

/**
 * Send one entry, retrying only on failure (partial or whole-call) with exponential backoff.
 * Returns false after `attempts` failures or when `signal` aborts.
 */
export async function sendWithRetry(
  entry: BusEntry,
  o: {
    bus: EventBusPort;
    clock: Clock;
    attempts: number;
    baseMs: number;
    signal?: AbortSignal;
    onFailure: (why: Record<string, unknown>) => void;
  },
): Promise<boolean> {
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    try {
      const [result] = await o.bus.putEvents([entry]);
      if (result?.ok) return true;
      o.onFailure({ attempt, errorCode: result?.errorCode, errorMessage: result?.errorMessage });
      // A validation error will not go away by retrying the same bytes.
      if (result?.errorCode === 'ValidationException') return false;
    } catch (err) {
      o.onFailure({ attempt, ...errorFields(err) });
    }
    if (attempt < o.attempts) {
      if (o.signal?.aborted) return false;
      await o.clock.sleep(o.baseMs * 2 ** (attempt - 1), o.signal);
    }
  }
  return false;
}
