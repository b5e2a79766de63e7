/**
 * The safety invariants I1–I8 and I11 of docs/architecture.md, checked over a trace of what happened in a
 * simulation. The simulator reports ground truth (which node is really on-prem, which
 * instance really never registered) as trace events; the checker keeps its own books from
 * those events and checks after every step. It never reads the simulator's state, so a
 * hand-built trace can exercise every check (test/unit/sim/invariants.test.ts), and a bug in
 * the model's bookkeeping cannot hide a violation.
 *
 * The slack each check allows ("hop" = one EventBridge/SQS delivery with the worst injected
 * delay plus one Lambda run):
 * - I1: none while the max is steady. When a schedule lowers it, instances decided before the
 *   drop may drain out: per round of `maxConcurrentDrains`, drain timeout + one tick period (the
 *   reconcile that notices the drain ended, if its result was dropped) + shutdown + 4 hops.
 *   Spot-interrupted instances are not counted (AWS reclaims them).
 * - I2, I6, I7, I8: none; checked on each action or decision.
 * - I3: registrationTimeout + janitor period + shutdown + 2 hops, counted from when the control
 *   plane has a fresh view (or, while it has none, until the agent is abandoned).
 * - I4: janitor period + 2 hops after the instance is gone.
 * - I5: the pending pod is in a snapshot within batchMax + 1 hop while the agent can publish, and
 *   the first decision on that snapshot launches for it unless the plan was constrained.
 * - I11: none; of reconcile invocations that ran concurrently, at most one may decide (the others
 *   find the lease taken). The simulator knows which invocations overlapped (ground truth).
 */

export type InvariantId = 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6' | 'I7' | 'I8' | 'I11';

export const INVARIANT_TITLES: Record<InvariantId, string> = {
  I1: 'managed instances never exceed the active max',
  I2: 'no on-prem node is ever cordoned, drained, deleted or terminated',
  I3: 'no orphan instance outlives registrationTimeout + janitor period',
  I4: 'no Tailscale device of a terminated instance outlives the janitor period',
  I5: 'every helpable pending pod gets capacity within the batch window + one decision',
  I6: 'no eviction violates a PodDisruptionBudget',
  I7: 'redelivered/reordered events never launch twice nor act on an older snapshot',
  I8: 'no scale-in or repair on a stale snapshot',
  I11: 'exactly one writer of capacity: of reconciles running at once, at most one decides',
};

export interface Violation {
  atMs: number;
  invariant: InvariantId;
  message: string;
  /** The last trace lines before the violation, oldest first. */
  timeline: string[];
}

/** Timing parameters of the checks, all derived from the config (see `checkerParamsFor`). */
export interface CheckerParams {
  janitorPeriodMs: number;
  registrationTimeoutMs: number;
  staleAfterMs: number;
  batchMaxMs: number;
  drainTimeoutMs: number;
  maxConcurrentDrains: number;
  /** Latency allowance for one hop through EventBridge/SQS plus one Lambda run. */
  hopMs: number;
  /** EC2 shutdown time: an instance told to terminate is counted until it is shutting-down. */
  shutdownMs: number;
  abandonAfterMs: number;
}

/** Why an action targeted a node or instance, as the plan classified it. */
export type ActionCause =
  | 'scale-in'
  | 'repair'
  | 'schedule'
  | 'stale'
  | 'spot'
  | 'janitor'
  | 'drain-timeout'
  | 'other';

export type TraceEvent =
  /** The active capacity policy changed (or the run started). */
  | { kind: 'schedule'; atMs: number; name: string | null; maxNodes: number }
  /** A launch decision (from the plan); `count` instances may follow under `launchId`. */
  | {
      kind: 'launch-decided';
      atMs: number;
      decisionId: string;
      launchId: string;
      count: number;
    }
  /** EC2 created an instance (RunInstances succeeded, not a reused one). */
  | {
      kind: 'instance-created';
      atMs: number;
      instanceId: string;
      launchId: string;
      index: number;
      /** When the decision that launched it was made. */
      decidedAtMs: number;
    }
  /** The instance's K3s node registered (ground truth). */
  | { kind: 'instance-registered'; atMs: number; instanceId: string }
  /** A spot interruption warning for the instance: AWS reclaims it, not us. */
  | { kind: 'instance-interrupted'; atMs: number; instanceId: string }
  /** The instance left pending/running (shutting-down or terminated). */
  | { kind: 'instance-gone'; atMs: number; instanceId: string }
  | { kind: 'device-created'; atMs: number; deviceId: string; instanceId: string }
  | { kind: 'device-deleted'; atMs: number; deviceId: string }
  /** The control plane's view is fresh (a snapshot younger than staleAfter is stored) or not. */
  | { kind: 'freshness'; atMs: number; fresh: boolean }
  /** Any destructive action against a node or instance; `onPrem` is ground truth. */
  | {
      kind: 'node-action';
      atMs: number;
      action: 'cordon' | 'drain-requested' | 'evict' | 'delete-node' | 'terminate';
      target: string;
      onPrem: boolean;
    }
  /** One eviction through the (simulated) Eviction API, with the PDB state before it. */
  | {
      kind: 'eviction';
      atMs: number;
      pod: string;
      pdb?: { name: string; healthyBefore: number; minAvailable: number };
    }
  /** A pod failed a scheduling attempt. `helpable`: a candidate cloud node would fit it (ground truth). */
  | {
      kind: 'pod-unschedulable';
      atMs: number;
      pod: string;
      shapeId: string;
      helpable: boolean;
    }
  /** The pod got a node or went away. */
  | { kind: 'pod-resolved'; atMs: number; pod: string }
  /** The agent is able to publish (running and connected) or not. */
  | { kind: 'agent-publishing'; atMs: number; ok: boolean }
  /** The agent published a snapshot containing these pending shapes. */
  | { kind: 'snapshot-published'; atMs: number; seq: number; shapeIds: string[] }
  /** A reconcile ran the planner and carried the plan out. */
  | {
      kind: 'decision';
      atMs: number;
      decisionId: string;
      snapshotSeq: number | null;
      /** When the snapshot the plan used was observed by the agent. */
      snapshotObservedAtMs: number | null;
      shapeIds: string[];
      launchedShapeIds: string[];
      unhelpableShapeIds: string[];
      /** The plan could not launch freely: clamp, schedule, capacity errors, in-flight capacity, stale… */
      constrained: boolean;
      /** Destructive actions of the plan with their causes. */
      actions: Array<{ target: string; action: 'drain' | 'terminate' | 'delete-node'; cause: ActionCause }>;
    }
  /** Reconcile invocations that ran at the same time, and how many of them made a decision. */
  | { kind: 'reconciles-overlapped'; atMs: number; count: number; decided: number }
  /** Free text for the timeline only. */
  | { kind: 'note'; atMs: number; text: string };

interface InstanceBook {
  launchId: string;
  createdAtMs: number;
  decidedAtMs: number;
  registered: boolean;
  interrupted: boolean;
  goneAtMs?: number;
}

interface PendingBook {
  shapeId: string;
  sinceMs: number;
  helpable: boolean;
  /** Set once a snapshot containing the shape was published after `sinceMs`. */
  publishedSeq?: number;
  judged: boolean;
}

/** Significant events kept for a violation's timeline. */
const TIMELINE_LINES = 20;
/** Most recent events of any kind kept for it as well. */
const ROUTINE_LINES = 4;

/** Events that change the fleet, the policy or the cluster, as opposed to heartbeats. */
function isSignificant(e: TraceEvent): boolean {
  switch (e.kind) {
    case 'snapshot-published':
    case 'pod-unschedulable':
    case 'pod-resolved':
      return false;
    case 'decision':
      return e.actions.length > 0 || e.launchedShapeIds.length > 0;
    default:
      return true;
  }
}

/** Checks I1–I8 over a trace. Call `observe` for every event and `step` after each simulated instant. */
export class InvariantChecker {
  readonly violations: Violation[] = [];
  private readonly recent: Array<{ n: number; e: TraceEvent }> = [];
  private readonly significant: Array<{ n: number; e: TraceEvent }> = [];
  private seq = 0;
  private readonly seen = new Set<string>();

  private maxNodes = Number.POSITIVE_INFINITY;
  /** Last drop of the active max: instances decided before it may drain out during `graceUntilMs`. */
  private dropAtMs = Number.NEGATIVE_INFINITY;
  private graceUntilMs = Number.NEGATIVE_INFINITY;

  private readonly instances = new Map<string, InstanceBook>();
  private readonly launches = new Map<string, { count: number; created: Set<number> }>();
  private readonly devices = new Map<string, { instanceId: string; deletedAtMs?: number }>();
  private fresh = true;
  private freshSinceMs = 0;
  private agentOk = true;
  private agentOkSinceMs = 0;
  private readonly pending = new Map<string, PendingBook>();
  private maxActedSeq = -1;

  constructor(private readonly p: CheckerParams) {}

  /** Record an event and run the checks it triggers. */
  observe(e: TraceEvent): void {
    // The timeline keeps the last few events of any kind plus the last significant ones:
    // heartbeats (snapshots, decisions that did nothing) and pod-level events would crowd out
    // the launches, drains, terminations and schedule changes that explain a violation.
    this.seq++;
    if (e.kind !== 'pod-unschedulable' && e.kind !== 'pod-resolved') {
      this.recent.push({ n: this.seq, e });
      if (this.recent.length > ROUTINE_LINES * 4) this.recent.splice(0, this.recent.length - ROUTINE_LINES);
    }
    if (isSignificant(e)) {
      this.significant.push({ n: this.seq, e });
      if (this.significant.length > TIMELINE_LINES * 2) this.significant.splice(0, TIMELINE_LINES);
    }
    switch (e.kind) {
      case 'schedule': {
        if (e.maxNodes < this.maxNodes && Number.isFinite(this.maxNodes)) {
          const alive = this.aliveCount(e.atMs);
          const excess = Math.max(0, alive - e.maxNodes);
          const rounds = Math.ceil(excess / Math.max(1, this.p.maxConcurrentDrains));
          this.dropAtMs = e.atMs;
          // Each round: the drain (bounded by its timeout), the next reconcile that notices it
          // ended (a heartbeat snapshot, or at worst the periodic tick when the drain result and
          // the snapshots in between were dropped), termination and one decision.
          this.graceUntilMs =
            e.atMs +
            rounds * (this.p.drainTimeoutMs + this.p.janitorPeriodMs + this.p.shutdownMs + 4 * this.p.hopMs) +
            this.p.hopMs;
        }
        this.maxNodes = e.maxNodes;
        break;
      }
      case 'launch-decided':
        this.launches.set(e.launchId, { count: e.count, created: new Set() });
        break;
      case 'instance-created': {
        const book = this.launches.get(e.launchId);
        if (!book) {
          this.fail(
            e.atMs,
            'I7',
            `instance ${e.instanceId} created for launch ${e.launchId} that no decision made`,
          );
        } else if (book.created.has(e.index) || e.index >= book.count) {
          this.fail(
            e.atMs,
            'I7',
            `launch ${e.launchId} created a second instance (${e.instanceId}) for slot ${e.index} of ${book.count}: a redelivered request launched twice`,
          );
        }
        book?.created.add(e.index);
        this.instances.set(e.instanceId, {
          launchId: e.launchId,
          createdAtMs: e.atMs,
          decidedAtMs: e.decidedAtMs,
          registered: false,
          interrupted: false,
        });
        break;
      }
      case 'instance-registered': {
        const i = this.instances.get(e.instanceId);
        if (i) i.registered = true;
        break;
      }
      case 'instance-interrupted': {
        const i = this.instances.get(e.instanceId);
        if (i) i.interrupted = true;
        break;
      }
      case 'instance-gone': {
        const i = this.instances.get(e.instanceId);
        if (i && i.goneAtMs === undefined) i.goneAtMs = e.atMs;
        break;
      }
      case 'device-created':
        this.devices.set(e.deviceId, { instanceId: e.instanceId });
        break;
      case 'device-deleted': {
        const d = this.devices.get(e.deviceId);
        if (d) d.deletedAtMs = e.atMs;
        break;
      }
      case 'freshness':
        if (e.fresh && !this.fresh) this.freshSinceMs = e.atMs;
        this.fresh = e.fresh;
        break;
      case 'agent-publishing':
        if (e.ok && !this.agentOk) this.agentOkSinceMs = e.atMs;
        this.agentOk = e.ok;
        break;
      case 'node-action':
        if (e.onPrem) {
          this.fail(e.atMs, 'I2', `${e.action} of on-prem node ${e.target}`);
        }
        break;
      case 'eviction':
        if (e.pdb && e.pdb.healthyBefore - 1 < e.pdb.minAvailable) {
          this.fail(
            e.atMs,
            'I6',
            `evicted ${e.pod} although PDB ${e.pdb.name} allows no disruption (healthy ${e.pdb.healthyBefore}, minAvailable ${e.pdb.minAvailable})`,
          );
        }
        break;
      case 'pod-unschedulable':
        if (!this.pending.has(e.pod)) {
          this.pending.set(e.pod, {
            shapeId: e.shapeId,
            sinceMs: e.atMs,
            helpable: e.helpable,
            judged: false,
          });
        }
        break;
      case 'pod-resolved':
        this.pending.delete(e.pod);
        break;
      case 'snapshot-published': {
        const shapes = new Set(e.shapeIds);
        for (const p of this.pending.values()) {
          if (p.publishedSeq === undefined && shapes.has(p.shapeId)) p.publishedSeq = e.seq;
        }
        break;
      }
      case 'decision':
        this.checkDecision(e);
        break;
      case 'reconciles-overlapped':
        if (e.decided > 1) {
          this.fail(
            e.atMs,
            'I11',
            `${e.decided} of ${e.count} concurrent reconciles decided: the single-writer lease did not hold`,
          );
        }
        break;
      case 'note':
        break;
    }
  }

  /** Time-based checks (I1, I3, I4, I5 deadlines); call after every simulated instant. */
  step(nowMs: number): void {
    // I1
    const inGrace = nowMs <= this.graceUntilMs;
    let alive = 0;
    let legacy = 0;
    for (const i of this.instances.values()) {
      if (i.goneAtMs !== undefined || i.interrupted) continue;
      alive++;
      if (i.decidedAtMs < this.dropAtMs) legacy++;
    }
    const allowed = inGrace ? Math.max(this.maxNodes, legacy) : this.maxNodes;
    if (alive > allowed) {
      this.fail(
        nowMs,
        'I1',
        `${alive} managed instances alive, active max ${this.maxNodes}` +
          (inGrace ? ` (${legacy} from before the schedule dropped the max are still draining)` : ''),
      );
    }
    // I3: an instance that never registered must be gone by launch + registrationTimeout +
    // janitor period, counted from when the control plane could see it (fresh snapshots).
    const slack = this.p.janitorPeriodMs + 2 * this.p.hopMs + this.p.shutdownMs;
    for (const [id, i] of this.instances) {
      if (i.registered || i.goneAtMs !== undefined) continue;
      const visibleFrom = Math.max(
        i.createdAtMs + this.p.registrationTimeoutMs,
        this.fresh ? this.freshSinceMs : nowMs,
      );
      const backstop = i.createdAtMs + this.p.registrationTimeoutMs + this.p.abandonAfterMs + slack;
      if ((this.fresh && nowMs > visibleFrom + slack) || nowMs > backstop) {
        this.fail(
          nowMs,
          'I3',
          `instance ${id} never registered and is still alive ${fmtDur(nowMs - i.createdAtMs)} after launch`,
        );
      }
    }
    // I4
    for (const [deviceId, d] of this.devices) {
      if (d.deletedAtMs !== undefined) continue;
      const inst = this.instances.get(d.instanceId);
      if (inst?.goneAtMs === undefined) continue;
      if (nowMs > inst.goneAtMs + this.p.janitorPeriodMs + 2 * this.p.hopMs) {
        this.fail(
          nowMs,
          'I4',
          `Tailscale device ${deviceId} of terminated ${d.instanceId} still exists ${fmtDur(nowMs - inst.goneAtMs)} after termination`,
        );
      }
    }
    // I5 (first half): the batch window. A helpable unschedulable pod appears in a published
    // snapshot within batchMaxMs (+ one hop), unless the agent could not publish.
    for (const [pod, p] of this.pending) {
      if (!p.helpable || p.publishedSeq !== undefined || p.judged) continue;
      const from = Math.max(p.sinceMs, this.agentOk ? this.agentOkSinceMs : nowMs);
      if (this.agentOk && nowMs > from + this.p.batchMaxMs + this.p.hopMs) {
        p.judged = true;
        this.fail(
          nowMs,
          'I5',
          `pending pod ${pod} (shape ${p.shapeId}) was not in any snapshot ${fmtDur(nowMs - p.sinceMs)} after it became unschedulable`,
        );
      }
    }
  }

  private checkDecision(e: Extract<TraceEvent, { kind: 'decision' }>): void {
    // I7: never act on an older snapshot than one already acted on.
    const acts = e.actions.length > 0 || e.launchedShapeIds.length > 0;
    if (acts && e.snapshotSeq !== null) {
      if (e.snapshotSeq < this.maxActedSeq) {
        this.fail(
          e.atMs,
          'I7',
          `decision ${e.decisionId} acted on snapshot seq ${e.snapshotSeq} after acting on seq ${this.maxActedSeq}`,
        );
      }
      this.maxActedSeq = Math.max(this.maxActedSeq, e.snapshotSeq);
    }
    // I8: no scale-in or repair on a stale snapshot.
    const stale = e.snapshotObservedAtMs === null || e.atMs - e.snapshotObservedAtMs > this.p.staleAfterMs;
    if (stale) {
      for (const a of e.actions) {
        if (a.cause === 'scale-in' || a.cause === 'repair') {
          this.fail(
            e.atMs,
            'I8',
            `decision ${e.decisionId} planned ${a.action} of ${a.target} (${a.cause}) on a snapshot ${e.snapshotObservedAtMs === null ? 'that does not exist' : `${fmtDur(e.atMs - e.snapshotObservedAtMs)} old`}`,
          );
        }
      }
    }
    // I5 (second half): the first decision on a snapshot that contains a helpable pod's shape
    // launches for it, unless the plan was constrained (clamp, schedule, capacity errors,
    // in-flight capacity it packed onto, stale agent) or the pod was resolved meanwhile.
    const shapes = new Set(e.shapeIds);
    const launched = new Set(e.launchedShapeIds);
    const unhelpable = new Set(e.unhelpableShapeIds);
    for (const [pod, p] of this.pending) {
      if (p.judged || p.publishedSeq === undefined || e.snapshotSeq === null) continue;
      if (e.snapshotSeq < p.publishedSeq || !shapes.has(p.shapeId)) continue;
      p.judged = true;
      if (!p.helpable) continue;
      if (unhelpable.has(p.shapeId) && !e.constrained) {
        this.fail(
          e.atMs,
          'I5',
          `decision ${e.decisionId} called shape ${p.shapeId} (pod ${pod}) unhelpable, but a candidate cloud node fits it`,
        );
      } else if (!launched.has(p.shapeId) && !unhelpable.has(p.shapeId) && !e.constrained) {
        this.fail(
          e.atMs,
          'I5',
          `decision ${e.decisionId} saw helpable pending pod ${pod} (shape ${p.shapeId}) and launched nothing for it`,
        );
      }
    }
  }

  private aliveCount(_nowMs: number): number {
    let n = 0;
    for (const i of this.instances.values()) if (i.goneAtMs === undefined && !i.interrupted) n++;
    return n;
  }

  /** The last significant events and the last few routine ones, in trace order. */
  private timeline(): string[] {
    const byN = new Map<number, TraceEvent>();
    for (const x of this.significant.slice(-TIMELINE_LINES)) byN.set(x.n, x.e);
    for (const x of this.recent.slice(-ROUTINE_LINES)) byN.set(x.n, x.e);
    return [...byN.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => describeTrace(e));
  }

  private fail(atMs: number, invariant: InvariantId, message: string): void {
    // One report per (invariant, message) keeps a persistent violation from flooding the output.
    const key = `${invariant}:${message.replace(/\d+(\.\d+)?(ms|s|m|h)\b/g, '')}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.violations.push({
      atMs,
      invariant,
      message,
      timeline: this.timeline(),
    });
  }
}

export function fmtDur(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

export function fmtClock(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** One line of the human-readable timeline. */
export function describeTrace(e: TraceEvent): string {
  const at = fmtClock(e.atMs);
  switch (e.kind) {
    case 'schedule':
      return `${at} schedule ${e.name ?? '(none)'} max ${e.maxNodes}`;
    case 'launch-decided':
      return `${at} decide launch ${e.launchId} ×${e.count}`;
    case 'instance-created':
      return `${at} EC2 created ${e.instanceId} for ${e.launchId}[${e.index}]`;
    case 'instance-registered':
      return `${at} node of ${e.instanceId} registered`;
    case 'instance-interrupted':
      return `${at} spot interruption warning ${e.instanceId}`;
    case 'instance-gone':
      return `${at} ${e.instanceId} terminated`;
    case 'device-created':
      return `${at} tailscale device ${e.deviceId} (${e.instanceId})`;
    case 'device-deleted':
      return `${at} tailscale device ${e.deviceId} deleted`;
    case 'freshness':
      return `${at} control plane view ${e.fresh ? 'fresh' : 'STALE'}`;
    case 'node-action':
      return `${at} ${e.action} ${e.target}${e.onPrem ? ' (ON-PREM)' : ''}`;
    case 'eviction':
      return `${at} evict ${e.pod}${e.pdb ? ` (pdb ${e.pdb.name} healthy ${e.pdb.healthyBefore}/min ${e.pdb.minAvailable})` : ''}`;
    case 'pod-unschedulable':
      return `${at} pod ${e.pod} unschedulable (${e.helpable ? 'helpable' : 'unhelpable'})`;
    case 'pod-resolved':
      return `${at} pod ${e.pod} resolved`;
    case 'agent-publishing':
      return `${at} agent ${e.ok ? 'publishing' : 'CANNOT publish'}`;
    case 'snapshot-published':
      return `${at} snapshot seq ${e.seq} (${e.shapeIds.length} pending shapes)`;
    case 'decision':
      return `${at} decision ${e.decisionId} on seq ${e.snapshotSeq ?? '-'}: launch ${e.launchedShapeIds.length} shapes, ${e.actions.map((a) => `${a.action} ${a.target} (${a.cause})`).join(', ') || 'no destructive actions'}`;
    case 'reconciles-overlapped':
      return `${at} ${e.count} reconciles ran at once, ${e.decided} decided`;
    case 'note':
      return `${at} ${e.text}`;
  }
}
