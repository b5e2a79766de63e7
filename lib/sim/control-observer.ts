/**
 * The control plane, observed: after each Lambda invocation of the shipped code (lib/sim/lambdas.ts)
 * the simulator reads its result and reports the ground truth the invariant checker needs —
 * every decision with its actions classified by cause (I1, I2, I5, I7, I8), what the planner
 * could see of the fleet when reconcile started (for I5's "constrained"), launches, drains
 * asked for by the interruption handler, the janitor's terminations — and keeps the decisions
 * and counters for the report. It reads the world; it never changes it.
 */
import type { InterruptionResult, JanitorReport, LaunchResult, ReconcileResult } from '../control/index.js';
import { shapeFitsNode } from '../core/index.js';
import { type ClusterSnapshot, DetailTypes, type PendingShape, type Plan } from '../events/index.js';
import type { CloudModel } from './cloud-model.js';
import type { ClusterModel } from './cluster-model.js';
import type { ActionCause, TraceEvent } from './invariants.js';
import type { InvocationOutcome } from './lambdas.js';
import type { DecisionEntry } from './results.js';
import { type SimContext, traceNodeAction } from './sim-context.js';
import type { FakeState } from './world/index.js';

/** What the planner saw of the fleet when a reconcile started (for I5's "constrained"). */
export interface FleetView {
  inFlight: number;
  unavailable: number;
  pendingOrUnready: number;
}

/** The trigger of a reconcile input, as the report names it. */
function triggerName(event: unknown): string {
  const e = event as { action?: string; policy?: string; 'detail-type'?: string; detail?: { seq?: number } };
  if (e.action) return e.policy ? `schedule:${e.policy}` : `tick`;
  if (e['detail-type'] === DetailTypes.clusterSnapshot) return `snapshot`;
  return e['detail-type'] ?? 'event';
}

/** Reads each Lambda's result and the world around it; traces and records what happened. */
export class ControlObserver {
  /** Decision time of every launch id decided so far (reconcile or interruption). */
  readonly decidedAt = new Map<string, number>();
  /** True time at which the agent built each snapshot seq (its `observedAt` is on the agent's clock). */
  readonly builtAtMs = new Map<number, number>();
  /** When the snapshot reconcile last read was really observed (for the freshness trace). */
  snapshotObservedMs: number | undefined;
  readonly decisions: DecisionEntry[] = [];

  constructor(
    private readonly ctx: SimContext,
    private readonly clusterName: string,
    private readonly stateStore: FakeState,
    private readonly cluster: ClusterModel,
    private readonly cloud: CloudModel,
    /** Keep every decision for the report (chaos runs turn it off). */
    private readonly recordDecisions: boolean,
  ) {}

  /**
   * Observe one invocation that ran to its end (`before`: the fleet view read before a reconcile).
   * Returns reconcile's outcome (for I11's "at most one decided").
   */
  observe(
    outcome: Exclude<InvocationOutcome, { error: Error } | { rejected: string }>,
    before: FleetView | undefined,
    event: unknown,
  ): string | undefined {
    switch (outcome.fn) {
      case 'reconcile':
        this.observeReconcile(outcome.result, before as FleetView, event);
        return outcome.result.outcome;
      case 'launch':
        this.observeLaunch(outcome.result);
        return;
      case 'terminate':
        if (outcome.result.outcome === 'refused')
          this.ctx.note(`terminate refused: ${outcome.result.reason}`);
        if (outcome.result.outcome === 'terminated' && outcome.result.terminatedNow)
          this.ctx.stats.terminationsRequested++;
        return;
      case 'interruption':
        this.observeInterruption(outcome.result);
        return;
      case 'janitor':
        this.observeJanitor(outcome.result);
        return;
    }
  }

  /** What the planner is about to see (read before the reconcile runs; nothing moves meanwhile). */
  fleetView(): FleetView {
    const nowMs = this.ctx.now;
    const cs = this.stateStore.clusters.get(this.clusterName);
    let unavailable = 0;
    for (const o of cs?.offerings.entries.values() ?? []) if (Date.parse(o.until) > nowMs) unavailable++;
    let inFlight = 0;
    for (const f of cs?.inFlight.values() ?? []) if (Date.parse(f.expiresAt) > nowMs) inFlight++;
    const pendingOrUnready: string[] = [];
    for (const i of this.cloud.instances.values()) {
      if (i.state === 'pending') pendingOrUnready.push(i.instanceId);
      else if (i.state === 'running' && !this.snapshotNodeReady(i.nodeName))
        pendingOrUnready.push(i.instanceId);
    }
    return { inFlight, unavailable, pendingOrUnready: pendingOrUnready.length };
  }

  private storedSnapshot(): ClusterSnapshot | undefined {
    return this.stateStore.clusters.get(this.clusterName)?.snapshot?.snapshot;
  }

  private snapshotNodeReady(nodeName: string): boolean {
    return this.storedSnapshot()?.nodes.some((n) => n.name === nodeName && n.ready) ?? false;
  }

  /** The snapshot the agent's builder makes from its caches (the cluster's objects, slimmed by the agent's code). */
  /** When a stored snapshot was really observed (ground truth for I3, I8; the agent's clock may be skewed). */
  observedMs(snap: ClusterSnapshot): number {
    return this.builtAtMs.get(snap.seq) ?? Date.parse(snap.observedAt);
  }

  private observeReconcile(result: ReconcileResult, before: FleetView, event: unknown): void {
    const stored = this.storedSnapshot();
    this.snapshotObservedMs = stored ? this.observedMs(stored) : undefined;
    switch (result.outcome) {
      case 'stale-snapshot':
        this.ctx.stats.ignoredStaleSnapshots++;
        return;
      case 'future-snapshot':
        this.ctx.stats.futureSnapshotsRejected++;
        return;
      case 'busy':
      case 'duplicate':
      case 'replayed':
        this.ctx.stats.duplicateDecisions++;
        return;
      case 'foreign-instance':
        return;
      case 'decided':
        this.traceDecision(result.plan, before, triggerName(event));
    }
  }

  /** Classify a destructive action by the plan's own explanation of it (kind + reason). */
  private causeOf(plan: Plan, subjects: string[], reason: string): ActionCause {
    if (/passed its deadline/.test(reason)) return 'drain-timeout';
    if (/spot|interruption|rebalance/i.test(reason)) return 'spot';
    const ex = plan.explanations.find(
      (e) => e.subject !== undefined && subjects.includes(e.subject) && e.message === reason,
    );
    const kind =
      ex?.kind ??
      plan.explanations.find((e) => e.subject !== undefined && subjects.includes(e.subject))?.kind;
    switch (kind) {
      case 'stale':
        return 'stale';
      case 'schedule':
        return 'schedule';
      case 'repair':
        return 'repair';
      case 'scale-in':
        return 'scale-in';
      default:
        return 'other';
    }
  }

  /** Trace a decision reconcile made (for I1, I2, I5, I7, I8) and keep it for the report. */
  private traceDecision(plan: Plan, before: FleetView, trigger: string): void {
    this.ctx.stats.decisions++;
    const acts =
      plan.launches.length + plan.drains.length + plan.terminations.length + plan.nodeDeletions.length > 0;
    if (acts) this.ctx.stats.decisionsWithActions++;
    const snap = this.storedSnapshot();
    const actions: Extract<TraceEvent, { kind: 'decision' }>['actions'] = [];
    for (const d of plan.drains) {
      actions.push({
        target: d.nodeName,
        action: 'drain',
        cause: this.causeOf(plan, [d.nodeName, d.instanceId], d.reason),
        disruption: d.disruption ?? 'involuntary',
        deadlineMs: Date.parse(d.deadline),
      });
    }
    for (const t of plan.terminations) {
      actions.push({
        target: t.instanceId,
        action: 'terminate',
        cause: this.causeOf(plan, [t.instanceId, t.nodeName ?? t.instanceId], t.reason),
      });
    }
    for (const n of plan.nodeDeletions) {
      actions.push({
        target: n.nodeName,
        action: 'delete-node',
        cause: this.causeOf(plan, [n.nodeName], n.reason),
      });
    }
    const constrained =
      plan.agentStale ||
      // 'waiting': every offering the pods could use is unavailable or backed off (I10).
      plan.explanations.some((e) => e.kind === 'clamp' || e.kind === 'stale' || e.kind === 'waiting') ||
      // 'outage': pods counted on the capacity of an outage's NotReady nodes (meltdown protection,
      // #13 item 4): by design nothing is launched beside an unreachable fleet.
      plan.explanations.some((e) => e.subject === 'outage') ||
      before.inFlight > 0 ||
      before.unavailable > 0 ||
      before.pendingOrUnready > 0 ||
      plan.activeSchedule.maxNodes === 0 ||
      snap?.truncated !== undefined;
    for (const l of plan.launches) {
      this.ctx.stats.launchDecisions++;
      this.decidedAt.set(l.launchId, this.ctx.now);
      this.ctx.trace({
        kind: 'launch-decided',
        atMs: this.ctx.now,
        decisionId: plan.decisionId,
        launchId: l.launchId,
        count: l.count,
      });
      this.ctx.note(`decide: launch ${l.count}× ${l.instanceTypes[0]} (${l.podsCovered} pods) — ${l.reason}`);
    }
    this.ctx.trace({
      kind: 'decision',
      atMs: this.ctx.now,
      decisionId: plan.decisionId,
      snapshotSeq: plan.snapshotSeq,
      snapshotObservedAtMs: snap ? this.observedMs(snap) : null,
      shapeIds: snap
        ? snap.pendingShapes.filter((s) => !this.shapeFitsExisting(s, snap)).map((s) => s.id)
        : [],
      launchedShapeIds: [...new Set(plan.launches.flatMap((l) => l.shapeIds))],
      unhelpableShapeIds: plan.unhelpable.map((u) => u.shapeId),
      constrained,
      actions,
    });
    for (const d of plan.drains) {
      this.ctx.stats.drainsRequested++;
      traceNodeAction(
        this.ctx,
        'drain-requested',
        d.nodeName,
        this.cluster.nodes.get(d.nodeName)?.onPrem ?? false,
      );
      this.ctx.note(`decide: drain ${d.nodeName} — ${d.reason}`);
    }
    for (const t of plan.terminations) {
      traceNodeAction(this.ctx, 'terminate', t.instanceId, this.isOnPremTarget(t.instanceId, t.nodeName));
      this.ctx.note(`decide: terminate ${t.instanceId} — ${t.reason}`);
    }
    for (const n of plan.nodeDeletions) {
      traceNodeAction(
        this.ctx,
        'delete-node',
        n.nodeName,
        this.cluster.nodes.get(n.nodeName)?.onPrem ?? false,
      );
    }
    if (this.recordDecisions && (acts || plan.unhelpable.length > 0 || trigger.startsWith('schedule'))) {
      this.decisions.push({
        atMs: this.ctx.now,
        decisionId: plan.decisionId,
        trigger,
        snapshotSeq: plan.snapshotSeq,
        schedule: plan.activeSchedule.name,
        maxNodes: plan.activeSchedule.maxNodes,
        agentStale: plan.agentStale,
        launches: plan.launches.map((l) => ({
          launchId: l.launchId,
          count: l.count,
          instanceTypes: l.instanceTypes,
          capacityTypes: l.capacityTypes,
          podsCovered: l.podsCovered,
          reason: l.reason,
        })),
        drains: plan.drains.map((d) => ({ nodeName: d.nodeName, reason: d.reason })),
        terminations: plan.terminations.map((t) => ({ instanceId: t.instanceId, reason: t.reason })),
        nodeDeletions: plan.nodeDeletions.map((n) => ({ nodeName: n.nodeName, reason: n.reason })),
        unhelpable: plan.unhelpable.map((u) => ({ shapeId: u.shapeId, count: u.count, reason: u.reason })),
        explanations: plan.explanations.filter((e) => e.kind !== 'noop').slice(0, 30),
      });
    }
  }

  private observeLaunch(r: LaunchResult): void {
    this.ctx.stats.launchReuses += r.instances.filter((i) => i.reused).length;
    if (r.stoppedBy === 'expired') {
      this.ctx.stats.expiredLaunchRequests++;
      this.ctx.note(`launch ${r.launchId}: request arrived after its in-flight TTL, dropped`);
    } else if (r.stoppedBy === 'join-credential') {
      this.ctx.stats.launchesRefusedJoinToken++;
      this.ctx.note(`launch ${r.launchId}: refused, no usable join token (${r.refusal ?? 'unavailable'})`);
    } else if (r.stoppedBy) {
      this.ctx.stats.noCapacity++;
      this.ctx.note(`launch ${r.launchId}: stopped (${r.stoppedBy}) after ${r.instances.length} instance(s)`);
    }
  }

  private observeInterruption(r: InterruptionResult): void {
    if (r.outcome !== 'handled') return;
    if (r.drainRequested) {
      this.ctx.stats.drainsRequested++;
      this.ctx.trace({
        kind: 'node-action',
        atMs: this.ctx.now,
        action: 'drain-requested',
        target: r.nodeName,
        onPrem: this.cluster.nodes.get(r.nodeName)?.onPrem ?? false,
        disruption: 'involuntary',
      });
    }
    // The replacement is reconcile's decision (ReconcileRequested): traced with its plan.
    this.ctx.note(`interruption: drain ${r.nodeName} recorded; reconcile asked for the replacement`);
  }

  private observeJanitor(r: JanitorReport): void {
    this.ctx.stats.janitorTerminations += r.orphansTerminated.length;
    this.ctx.stats.janitorDeviceDeletions += r.devicesDeleted.length;
    for (const o of r.orphans) {
      if (!r.orphansTerminated.includes(o.instanceId)) continue;
      traceNodeAction(this.ctx, 'terminate', o.instanceId, this.isOnPremTarget(o.instanceId, o.nodeName));
      this.ctx.note(`janitor: ${o.instanceId} never registered, terminated`);
    }
  }

  /** Whether a pending shape fits a Ready, schedulable node of the snapshot (the scheduler will place it). */
  private shapeFitsExisting(s: PendingShape, snap: ClusterSnapshot): boolean {
    return snap.nodes.some(
      (n) =>
        n.ready &&
        !n.cordoned &&
        shapeFitsNode(s, n).ok &&
        n.allocatable.cpuMilli - n.requested.cpuMilli >= s.cpuMilli &&
        n.allocatable.memoryMiB - n.requested.memoryMiB >= s.memoryMiB &&
        n.allocatable.pods - n.requested.pods >= 1,
    );
  }

  private isOnPremTarget(instanceId: string, nodeName: string | undefined): boolean {
    if (nodeName && this.cluster.nodes.get(nodeName)?.onPrem) return true;
    for (const n of this.cluster.nodes.values()) if (n.onPrem && n.instanceId === instanceId) return true;
    return false;
  }
}
