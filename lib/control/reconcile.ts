/**
 * Reconcile: the single writer that turns (latest snapshot + fleet + config + time) into a
 * plan and puts the plan's commands on the bus. Pure orchestration over ports.
 *
 * Order of one reconcile, and why:
 * 1. A snapshot is stored seq-guarded first (I7): an older seq is counted
 *    (`StaleSnapshotsIgnored`) and ignored, nothing is decided from it. An equal seq is a
 *    redelivery (`DuplicateEvents`): its journaled decision is replayed (step 4), or made if
 *    the first delivery crashed before journaling; it is never planned twice.
 * 2. The single-writer lease (StatePort.acquireLease, one conditional write) is taken; a busy
 *    lease is counted (`ReconcileBusy`) and the invocation ends cleanly: whoever holds it
 *    decides from the same stored state, and the next snapshot/tick reconciles again. Two
 *    concurrent reconciles therefore never both plan, which is what keeps launches within
 *    the active max (I1). Reserved concurrency 1 on the function is the second guard.
 * 3. Fleet, in-flight launches, drains, unavailable offerings and the last scale-out time
 *    are read AFTER the lease, so the plan sees everything earlier writers recorded.
 * 4. The decision is journaled first (its id is deterministic per trigger, so a redelivered
 *    trigger finds it): `duplicate` means this trigger was decided before, and the journaled
 *    plan is re-emitted rather than re-planned (every consumer is idempotent: launch keys,
 *    terminate by id, drain by node), so a crash between journal and emit loses nothing.
 * 5. In-flight launches and the scale-out time are recorded BEFORE ScaleOutRequested is put
 *    on the bus: from then on the launch counts as capacity for every later plan, even if
 *    the launch Lambda has not run yet or crashed after RunInstances (the instance also
 *    carries the decision-id tag, which the planner matches in-flight entries against).
 * 6. Drains are recorded, then commands are emitted; the lease is released in `finally`.
 * The operator's pause (`k3s-burst pause`, read in step 3) removes every launch from the plan
 * before it is journaled, and with `--drain` adds a drain of every managed node (./pause.ts).
 *    Drains of instances EC2 no longer lists are forgotten (housekeeping).
 * EC2 state changes of instances without this cluster's tag decide nothing
 * (`ForeignInstanceEvents`): EC2 sends them for every instance in the account.
 */
import { backoffPolicy, launchHealthUpdates } from '../core/backoff.js';
import { entriesOf, inFlightOf, triggerKind, triggerOf } from '../core/decision-events.js';
import { decisionIdFor, parseProviderId } from '../core/ids.js';
import { planCluster } from '../core/plan.js';
import type { BusPort, DecisionRecord, FleetPort, StatePort } from '../core/ports.js';
import { futureDated, receivedAgeSeconds } from '../core/snapshot-time.js';
import type {
  ClusterSnapshot,
  DrainInProgress,
  FleetState,
  LaunchBackoff,
  ManagedInstance,
  Plan,
} from '../events/index.js';
import { type ControlBase, ControlMetrics, emitAll, type Invocation, SECONDS_PER_DAY } from './common.js';
import type { ReconcileInput } from './inputs.js';
import { applyPause } from './pause.js';
import { recordStageTimings } from './stage-timings.js';

/** Ports reconcile uses. */
export interface ReconcilePorts {
  fleet: FleetPort;
  bus: BusPort;
  state: StatePort;
}
export type ReconcileDeps = ControlBase & ReconcilePorts;

/** Lease length: longer than the function timeout (60 s), so a live holder never loses it. */
export const RECONCILE_LEASE_SECONDS = 120;
/** How long decisions stay in the journal (DynamoDB TTL). */
export const JOURNAL_TTL_SECONDS = 7 * SECONDS_PER_DAY;
/** How many recent decisions are searched when a redelivered trigger must be re-emitted. */
const JOURNAL_LOOKBACK = 25;

export type ReconcileResult =
  | { outcome: 'stale-snapshot'; seq: number }
  | { outcome: 'future-snapshot'; seq: number; skewSeconds: number; reason: string }
  | { outcome: 'busy' }
  | { outcome: 'foreign-instance'; instanceId: string }
  | {
      outcome: 'decided' | 'replayed';
      decisionId: string;
      /** Detail types put on the bus, in order. */
      emitted: string[];
      plan: Plan;
    }
  | { outcome: 'duplicate'; decisionId: string };

/**
 * When a snapshot was received (I12, I8): EventBridge's receive time from the envelope — the
 * agent does not set it, so it is AWS's clock and includes any wait in transit (a snapshot
 * delivered minutes late is minutes old) — capped at the Lambda's clock `now`, so a bad or
 * forged `time` can only make a snapshot older (more cautious), never fresher.
 */
export function receivedAtOf(input: Extract<ReconcileInput, { kind: 'snapshot' }>, now: Date): Date {
  const bus = Date.parse(input.busTime);
  return Number.isFinite(bus) && bus < now.getTime() ? new Date(bus) : now;
}

/** Run one reconcile for a parsed input. Throws only on port failures (Lambda retries). */
export async function reconcile(
  input: ReconcileInput,
  deps: ReconcileDeps,
  invocation: Invocation,
): Promise<ReconcileResult> {
  const { config, state, log, metrics } = deps;
  const cluster = config.cluster.name;
  const started = new Date(deps.clock.now());
  let redelivered = false;

  if (input.kind === 'snapshot') {
    // I12: the agent's clock is not trusted. A snapshot dated ahead of ours is refused (it
    // would otherwise never age, and its seq would lock out every correct snapshot after it).
    const future = futureDated(input.snapshot, started);
    if (future) {
      metrics.count(ControlMetrics.futureSnapshotsRejected);
      log.warn('snapshot rejected: dated in the future by the agent clock', {
        seq: input.snapshot.seq,
        observedAt: input.snapshot.observedAt,
        receivedAt: started.toISOString(),
        skewSeconds: future.skewSeconds,
        eventId: input.eventId,
        reason: future.reason,
      });
      return { outcome: 'future-snapshot', seq: input.snapshot.seq, ...future };
    }
    const stored = await state.putSnapshotIfNewer(input.snapshot, started, receivedAtOf(input, started));
    if (stored === 'stale') {
      const latest = await state.getLatestSnapshot(cluster);
      if (latest?.snapshot.seq !== input.snapshot.seq) {
        metrics.count(ControlMetrics.staleSnapshotsIgnored);
        log.info('snapshot ignored: a snapshot with a higher seq is stored already', {
          seq: input.snapshot.seq,
          storedSeq: latest?.snapshot.seq,
          eventId: input.eventId,
        });
        return { outcome: 'stale-snapshot', seq: input.snapshot.seq };
      }
      // Equal seq: a redelivery. Its decision is replayed from the journal (or made, if the
      // first delivery crashed before journaling), never planned twice.
      metrics.count(ControlMetrics.duplicateEvents);
      redelivered = true;
    }
  }

  const holder = invocation.requestId;
  if (!(await state.acquireLease(cluster, holder, started, RECONCILE_LEASE_SECONDS))) {
    metrics.count(ControlMetrics.reconcileBusy);
    log.info('another reconcile holds the lease; it decides from the same stored state', {
      trigger: triggerOf(input),
    });
    return { outcome: 'busy' };
  }
  try {
    return await reconcileUnderLease(input, deps, started, redelivered);
  } finally {
    try {
      await state.releaseLease(cluster, holder);
    } catch (err) {
      // The lease expires on its own; a failed release only delays the next reconcile.
      log.warn('could not release the reconcile lease; it expires by itself', {
        error: err instanceof Error ? err.name : 'Error',
      });
    }
  }
}

async function reconcileUnderLease(
  input: ReconcileInput,
  deps: ReconcileDeps,
  now: Date,
  redelivered: boolean,
): Promise<ReconcileResult> {
  const { config, state, fleet, log, metrics } = deps;
  const cluster = config.cluster.name;
  const trigger = triggerOf(input);
  const decisionId = decisionIdFor(cluster, trigger);
  if (redelivered) {
    const earlier = await findJournaled(decisionId, deps);
    if (earlier) return replay(decisionId, deps, now, earlier);
  }

  // Terminated instances too: an ec2-state event may be about one, and they settle in-flight
  // launches whose instance already ended (interrupted, scaled in) before the record expires.
  const all = await fleet.list({ includeTerminated: true });
  if (input.kind === 'ec2-state' && !all.some((i) => i.instanceId === input.instanceId)) {
    // EC2 state changes arrive for every instance in the account: only ours trigger a decision.
    metrics.count(ControlMetrics.foreignInstances);
    log.debug('state change of an instance this cluster does not manage; nothing to do', {
      instanceId: input.instanceId,
    });
    return { outcome: 'foreign-instance', instanceId: input.instanceId };
  }
  const instances = all.filter((i) => i.state !== 'terminated');

  const [stored, inFlight, drains, unavailable, lastScaleOutAt, pause, backoffs] = await Promise.all([
    state.getLatestSnapshot(cluster),
    state.listInFlight(cluster, now),
    state.listDrains(cluster),
    state.offeringCache(cluster).listUnavailable(now),
    state.lastScaleOutAt(cluster),
    state.getPause(cluster),
    state.listBackoffs(cluster, now),
  ]);
  // Plan on the newest snapshot stored (a newer one may have landed while we waited).
  let snapshot: ClusterSnapshot | undefined = stored?.snapshot;
  let snapshotReceivedAt: string | undefined = stored?.storedAt;
  if (input.kind === 'snapshot' && (!snapshot || snapshot.seq < input.snapshot.seq)) {
    snapshot = input.snapshot;
    snapshotReceivedAt = receivedAtOf(input, now).toISOString();
  }

  const gone = all.filter((i) => i.state === 'terminated');
  const fleetState: FleetState = {
    instances,
    ...(gone.length > 0 ? { goneInstances: gone } : {}),
    inFlight,
    drains,
    unavailableOfferings: unavailable,
    backoffs,
    lastScaleOutAt,
  };
  // The operator's pause (k3s-burst pause) is applied to the plan before it is journaled.
  const { plan, launchesHeld } = applyPause({
    plan: planCluster({ config, snapshot, snapshotReceivedAt, fleet: fleetState, now, decisionId }),
    pause,
    instances,
    draining: new Set(drains.map((d) => d.instanceId)),
    config,
    now,
  });
  if (pause) metrics.count(ControlMetrics.launchesPaused, launchesHeld);

  const journaled = await state.journalDecision({ plan, trigger: triggerKind(input) }, JOURNAL_TTL_SECONDS);
  if (journaled === 'duplicate') {
    metrics.count(ControlMetrics.duplicateEvents);
    return replay(decisionId, deps, now, await findJournaled(decisionId, deps));
  }

  await recordBeforeEmit(plan, deps, now);
  await recordLaunchHealth(plan, instances, snapshot, backoffs, deps, now);
  // Drains of instances EC2 no longer lists are finished whatever the agent said.
  const live = new Set(instances.map((i) => i.instanceId));
  for (const d of drains) {
    if (!live.has(d.instanceId) && !plan.drains.some((p) => p.instanceId === d.instanceId)) {
      await state.clearDrain(cluster, d.instanceId);
    }
  }
  await settleVoluntaryDrains(plan, drains, live, deps, now);

  const emitted = await emitAll(deps.bus, entriesOf(plan, trigger, now), deps);
  await parkMembers(plan, deps);
  observe(plan, snapshot, snapshotReceivedAt, instances.length, deps, now);
  await recordStageTimings({ plan, snapshot, instances: all, inFlight, now }, deps);
  log.info('reconciled', {
    decisionId,
    trigger,
    snapshotSeq: plan.snapshotSeq,
    launches: plan.launches.map((l) => ({ launchId: l.launchId, count: l.count, types: l.instanceTypes })),
    drains: plan.drains.map((d) => d.nodeName),
    terminations: plan.terminations.map((t) => t.instanceId),
    nodeDeletions: plan.nodeDeletions.map((n) => n.nodeName),
    unhelpable: plan.unhelpable.length,
    explanations: plan.explanations.filter((e) => e.kind !== 'noop').slice(0, 20),
  });
  return { outcome: 'decided', decisionId, emitted, plan };
}

/**
 * Warm pool: stop the members the plan parks (lib/core/warm-pool.ts), under the lease (I11).
 * `FleetPort.stop` refuses anything that is not a member of this cluster; a failure is logged
 * and counted, never thrown: the next reconcile plans the park again (stop is idempotent). The
 * member's Node is deleted by a later plan, once EC2 lists it stopped (order matters: deleting
 * it while the kubelet runs makes it register again).
 */
async function parkMembers(plan: Plan, deps: ReconcileDeps): Promise<void> {
  const ids = (plan.parks ?? []).map((p) => p.instanceId);
  if (ids.length === 0) return;
  try {
    const result = await deps.fleet.stop(ids);
    deps.metrics.count(ControlMetrics.warmParks, result.stopping.length);
    deps.log.info('warm-pool members parked', { ...result });
  } catch (err) {
    deps.log.error('could not park warm-pool members; the next reconcile tries again', {
      instanceIds: ids,
      error: err instanceof Error ? err.name : 'Error',
      message: err instanceof Error ? err.message : String(err),
    });
  }
}

/**
 * I10: instances terminated for never registering count against their launch setup (type,
 * image, capacity type), which then backs off with a growing delay; a setup whose newer
 * instance registered is forgotten. Only for a fresh decision (a replay counted already).
 */
async function recordLaunchHealth(
  plan: Plan,
  instances: ManagedInstance[],
  snapshot: ClusterSnapshot | undefined,
  backoffs: LaunchBackoff[],
  deps: ReconcileDeps,
  now: Date,
): Promise<void> {
  const { config, state, log, metrics } = deps;
  const cluster = config.cluster.name;
  const ready = new Set<string>();
  for (const n of snapshot?.nodes ?? []) {
    if (!n.managed || !n.ready) continue;
    ready.add(n.name);
    const id = n.instanceId ?? parseProviderId(n.providerID)?.instanceId;
    if (id) ready.add(id);
  }
  const updates = launchHealthUpdates({
    terminations: plan.terminations,
    instances,
    registered: (i) => ready.has(i.nodeName) || ready.has(i.instanceId),
    backoffs,
    now,
    policy: backoffPolicy(config),
    registrationTimeoutSeconds: config.repairs.registrationTimeoutSeconds,
  });
  for (const b of updates.put) {
    await state.putBackoff(cluster, b);
    metrics.count(ControlMetrics.launchBackoffs);
    log.warn('launch setup backed off: its instances do not register', {
      instanceType: b.instanceType,
      capacityType: b.capacityType,
      imageId: b.imageId,
      failures: b.failures,
      until: b.until,
    });
  }
  for (const key of updates.clear) {
    await state.clearBackoff(cluster, key);
    log.info('launch setup registered again; its backoff is reset', { key });
  }
}

/**
 * I9: a voluntary drain past its deadline that this plan did not end (its node still runs
 * workload pods) is abandoned: the record is kept as a hold that keeps the node out of
 * voluntary scale-in for `scaleIn.abandonedDrainHoldSeconds` (the agent uncordons the node at
 * the deadline and reports `abandoned`). Holds that ran out are forgotten.
 */
async function settleVoluntaryDrains(
  plan: Plan,
  drains: DrainInProgress[],
  live: Set<string>,
  deps: ReconcileDeps,
  now: Date,
): Promise<void> {
  const { config, state, log, metrics } = deps;
  const cluster = config.cluster.name;
  const terminating = new Set(plan.terminations.map((t) => t.instanceId));
  for (const d of drains) {
    if (!live.has(d.instanceId)) continue;
    if (d.abandonedAt) {
      if (!d.holdUntil || Date.parse(d.holdUntil) <= now.getTime())
        await state.clearDrain(cluster, d.instanceId);
      continue;
    }
    if (d.disruption !== 'voluntary' || Date.parse(d.deadline) > now.getTime()) continue;
    if (terminating.has(d.instanceId) || plan.drains.some((p) => p.instanceId === d.instanceId)) continue;
    const holdUntil = new Date(now.getTime() + config.scaleIn.abandonedDrainHoldSeconds * 1000).toISOString();
    await state.recordDrain(cluster, { ...d, abandonedAt: now.toISOString(), holdUntil });
    metrics.count(ControlMetrics.drainsAbandoned);
    log.info('voluntary drain abandoned at its deadline; the node stays (I9)', {
      nodeName: d.nodeName,
      instanceId: d.instanceId,
      holdUntil,
    });
  }
}

async function findJournaled(decisionId: string, deps: ReconcileDeps): Promise<DecisionRecord | undefined> {
  const recent = await deps.state.listRecentDecisions(deps.config.cluster.name, JOURNAL_LOOKBACK);
  return recent.find((r) => r.plan.decisionId === decisionId);
}

/** A trigger decided before (redelivery, or a retry after a crash): re-emit the journaled plan. */
async function replay(
  decisionId: string,
  deps: ReconcileDeps,
  now: Date,
  record: DecisionRecord | undefined,
): Promise<ReconcileResult> {
  const { config, log } = deps;
  const maxAgeMs = config.launch.inFlightTtlSeconds * 1000;
  if (!record || now.getTime() - Date.parse(record.plan.decidedAt) > maxAgeMs) {
    log.info('trigger was decided before; its decision is too old to replay, nothing done', { decisionId });
    return { outcome: 'duplicate', decisionId };
  }
  // Same plan, same launch ids: launch finds its instances by launch key, terminate/drain are by id.
  await recordBeforeEmit(record.plan, deps, new Date(record.plan.decidedAt));
  const emitted = await emitAll(deps.bus, entriesOf(record.plan, record.trigger, now), deps);
  await parkMembers(record.plan, deps);
  log.info('trigger was decided before; re-emitted its commands (all idempotent)', { decisionId, emitted });
  return { outcome: 'replayed', decisionId, emitted, plan: record.plan };
}

/** In-flight launches, scale-out time and drains: written before any command is emitted. */
async function recordBeforeEmit(plan: Plan, deps: ReconcileDeps, decidedAt: Date): Promise<void> {
  const { state, config } = deps;
  const cluster = config.cluster.name;
  if (plan.launches.length > 0) {
    await state.recordInFlight(cluster, inFlightOf(plan, decidedAt, config.launch.inFlightTtlSeconds));
    await state.recordScaleOut(cluster, decidedAt);
  }
  for (const d of plan.drains) {
    await state.recordDrain(cluster, {
      nodeName: d.nodeName,
      instanceId: d.instanceId,
      requestedAt: decidedAt.toISOString(),
      deadline: d.deadline,
      reason: d.reason,
      decisionId: plan.decisionId,
      ...(d.disruption ? { disruption: d.disruption } : {}),
    });
  }
}

function observe(
  plan: Plan,
  snapshot: ClusterSnapshot | undefined,
  receivedAt: string | undefined,
  managedNodes: number,
  deps: ReconcileDeps,
  started: Date,
): void {
  const { metrics } = deps;
  metrics.count(ControlMetrics.managedNodes, managedNodes);
  if (snapshot) {
    metrics.count(
      ControlMetrics.pendingPods,
      snapshot.pendingShapes.reduce((a, s) => a + s.count, 0),
    );
    metrics.gauge(
      ControlMetrics.snapshotAge,
      receivedAgeSeconds(receivedAt ?? snapshot.observedAt, started),
      'Seconds',
    );
  }
  metrics.count(
    ControlMetrics.launches,
    plan.launches.reduce((a, l) => a + l.count, 0),
  );
  metrics.count(ControlMetrics.drains, plan.drains.length);
  metrics.count(ControlMetrics.terminations, plan.terminations.length);
  metrics.count(
    ControlMetrics.unhelpablePods,
    plan.unhelpable.reduce((a, u) => a + u.count, 0),
  );
  metrics.gauge(
    ControlMetrics.decisionLatency,
    Math.max(0, deps.clock.now() - started.getTime()),
    'Milliseconds',
  );
}
