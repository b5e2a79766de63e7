import type {
  ClusterSnapshot,
  Config,
  FleetState,
  LaunchBackoff,
  Plan,
  PlannedPark,
  PlannedTermination,
  PodAnswer,
} from '../events/index.js';
import { SCHEMA_VERSION } from '../events/index.js';
import { availabilitySummary } from './availability.js';
import { backoffKey, backoffPolicy, launchHealthUpdates } from './backoff.js';
import { PlanBuilder } from './builder.js';
import { buildCatalog } from './catalog.js';
import { buildContext, nodeOfInstance, type PlanContext } from './context.js';
import { fmtDuration, fmtTime, fmtUsd, plural } from './format.js';
import { planAbandonment, planDrainProgress, planRepairs } from './repairs.js';
import { planForcedScaleDown, planScaleIn } from './scale-in.js';
import {
  candidateAvailability,
  type Headroom,
  type HeadroomLimits,
  planScaleOut,
  planWarmCapacity,
} from './scale-out.js';
import { activeSchedule } from './schedule.js';
import { planWarmPool, planWarmPoolAbandonment, planWarmStarts, runningMembers } from './warm-pool.js';

/** Everything a decision depends on. Time is a parameter: the planner never reads a clock. */
export interface PlanInput {
  config: Config;
  /** The latest snapshot from the agent, or undefined if none was ever received. */
  snapshot: ClusterSnapshot | undefined;
  /**
   * When the control plane received `snapshot`, by its own clock: its age (stale, abandoned) is
   * measured from here (I12). Absent (offline `plan`, the simulator): the snapshot's `observedAt`.
   */
  snapshotReceivedAt?: string;
  fleet: FleetState;
  now: Date;
  /** Deterministic id of this decision (see decisionIdFor); launch ids derive from it. */
  decisionId: string;
}

/** What the fleet uses now (every non-terminated instance + unmatched in-flight launch). */
export interface FleetUsage {
  nodes: number;
  vcpu: number;
  memoryMiB: number;
  hourlyUsd: number;
  /** Instance types the catalog does not know (counted as 0 vCPU / 0 MiB / $0). */
  unknownTypes: string[];
}

/** Usage as the clamps count it: instances at their own capacity type's price, in-flight likewise. */
export function fleetUsage(ctx: PlanContext): FleetUsage {
  const usage: FleetUsage = { nodes: 0, vcpu: 0, memoryMiB: 0, hourlyUsd: 0, unknownTypes: [] };
  const add = (type: string, cap: 'spot' | 'on-demand', n: number) => {
    usage.nodes += n;
    const spec = ctx.catalog.get(type);
    if (!spec) {
      if (!usage.unknownTypes.includes(type)) usage.unknownTypes.push(type);
      return;
    }
    usage.vcpu += n * spec.vcpu;
    usage.memoryMiB += n * spec.memoryMiB;
    usage.hourlyUsd += n * (cap === 'spot' ? spec.spotHourlyUsd : spec.onDemandHourlyUsd);
  };
  for (const i of ctx.liveInstances) add(i.instanceType, i.capacityType, 1);
  for (const u of ctx.unmatchedInFlight) add(u.entry.instanceType, u.entry.capacityType, u.count);
  // Warm pool (lib/core/warm-pool.ts): warming members and fills count; parked (stopped) ones do not.
  for (const m of runningMembers(ctx)) add(m.instanceType, m.capacityType, 1);
  for (const u of ctx.warmFillsInFlight) add(u.entry.instanceType, u.entry.capacityType, u.count);
  usage.unknownTypes.sort();
  return usage;
}

function headroomFor(ctx: PlanContext, usage: FleetUsage): { head: Headroom; names: HeadroomLimits } {
  const l = ctx.config.limits;
  const maxNodes = Math.min(l.maxNodes, ctx.schedule.maxNodes);
  const nodesLabel =
    ctx.schedule.name !== null && ctx.schedule.maxNodes < l.maxNodes
      ? `schedule "${ctx.schedule.name}" (maxNodes=${ctx.schedule.maxNodes})`
      : `limits.maxNodes=${l.maxNodes}`;
  return {
    head: {
      nodes: Math.max(0, maxNodes - usage.nodes),
      vcpu: Math.max(0, l.maxVcpus - usage.vcpu),
      memoryMiB: Math.max(0, l.maxMemoryMiB - usage.memoryMiB),
      costUsd: Math.max(0, l.maxHourlyCostUsd - usage.hourlyUsd),
    },
    names: { nodesLabel, nodesLimit: maxNodes },
  };
}

function withLaunchHealth(ctx: PlanContext, terminations: PlannedTermination[]): LaunchBackoff[] {
  const updates = launchHealthUpdates({
    terminations,
    instances: ctx.liveInstances,
    registered: (i) => nodeOfInstance(ctx, i)?.ready === true,
    backoffs: ctx.backoffs,
    now: ctx.now,
    policy: backoffPolicy(ctx.config),
    registrationTimeoutSeconds: ctx.config.repairs.registrationTimeoutSeconds,
  });
  if (updates.put.length === 0 && updates.clear.length === 0) return ctx.backoffs;
  const replaced = new Set([...updates.put.map((u) => backoffKey(u)), ...updates.clear]);
  return [...ctx.backoffs.filter((x) => !replaced.has(backoffKey(x))), ...updates.put];
}

/** I2, enforced once more at the end whatever the rules did: nothing touches an on-prem node. */
function enforceOnPremSafety(ctx: PlanContext, b: PlanBuilder): void {
  const isOnPrem = (nodeName: string | undefined, instanceId: string | undefined) =>
    (nodeName !== undefined && ctx.onPremNodeNames.has(nodeName)) ||
    (instanceId !== undefined && ctx.onPremInstanceIds.has(instanceId));
  const refuse = (what: string, subject: string) =>
    b.explain(
      'repair',
      `refused to ${what}: it is an on-prem node (managed=false) and k3s-burst never touches those`,
      subject,
    );
  for (const [id, d] of [...b.drains]) {
    if (!isOnPrem(d.nodeName, id)) continue;
    b.drains.delete(id);
    refuse(`drain ${d.nodeName}`, d.nodeName);
  }
  for (const [id, t] of [...b.terminations]) {
    if (!isOnPrem(t.nodeName, id)) continue;
    b.terminations.delete(id);
    refuse(`terminate ${id}`, t.nodeName ?? id);
  }
  for (const [name] of [...b.nodeDeletions]) {
    if (!isOnPrem(name, undefined)) continue;
    b.nodeDeletions.delete(name);
    refuse(`delete Node ${name}`, name);
  }
}

/** Order of a shape's answers: where its pods go, then why the rest wait. */
const ANSWER_ORDER: Record<PodAnswer['kind'], number> = {
  'fits-on-existing': 0,
  'fits-in-flight': 1,
  'launched-for': 2,
  'held-by-limit': 3,
  'waiting-for-offering': 4,
  expendable: 5,
  unhelpable: 6,
};

function byString<T>(key: (t: T) => string): (a: T, c: T) => number {
  return (a, c) => (key(a) < key(c) ? -1 : key(a) > key(c) ? 1 : 0);
}

/**
 * THE decision function (docs/architecture.md): snapshot + fleet + config + time → plan. Pure and
 * deterministic — no clock, no I/O, no randomness, input order does not matter — so Lambda,
 * the simulator and `k3s-burst plan` decide identically. Rules run in priority order:
 * abandonment, drains in progress, repairs, schedule-forced scale-down, scale-out, warm
 * capacity (minNodes), voluntary scale-in; a final pass refuses anything aimed at an on-prem
 * node. With a stale agent (I8) only the schedule ceiling, drain deadlines and minNodes act.
 */
export function planCluster(input: PlanInput): Plan {
  const { config, snapshot, fleet, now, decisionId } = input;
  const catalog = buildCatalog(config);
  const schedule = activeSchedule(config, now);
  const ctx = buildContext({
    config,
    catalog,
    snapshot,
    fleet,
    now,
    decisionId,
    schedule,
    snapshotReceivedAt: input.snapshotReceivedAt,
  });
  const b = new PlanBuilder();
  const parks: PlannedPark[] = [];

  if (snapshot?.truncated) {
    const t = snapshot.truncated;
    b.explain(
      'stale',
      `the snapshot was truncated by the agent (${t.reason}): ${plural(t.droppedPods, 'pending pod')} in ${plural(t.droppedShapes, 'shape')} and ${plural(t.droppedNodes, 'node')} were left out, so this plan may be short of capacity until the next snapshot`,
    );
  }

  const abandoned = planAbandonment(ctx, b);
  planWarmPoolAbandonment(ctx, b);
  if (!abandoned) {
    planDrainProgress(ctx, b);
    if (ctx.agentStale) {
      b.explain(
        'stale',
        snapshot
          ? `the agent's last snapshot (seq ${snapshot.seq}, observed ${fmtTime(snapshot.observedAt, now)}) was received ${fmtDuration(ctx.snapshotAgeSeconds ?? 0)} ago, more than staleAfterSeconds=${config.agent.staleAfterSeconds}: fail-safe, no scale-in, repairs or launches (warm capacity included: a node that cannot reach the K3s server cannot join); only the schedule ceiling and drain deadlines apply`
          : 'no agent snapshot has been received: fail-safe, no scale-in, repairs or scale-out; only the schedule ceiling and drain deadlines apply (warm capacity waits for the agent)',
      );
    } else {
      planRepairs(ctx, b);
      // I10: an instance terminated now for never registering backs off its launch setup in
      // this very plan (reconcile stores the same entries, computed by the same function).
      ctx.backoffs = withLaunchHealth(ctx, [...b.terminations.values()]);
    }
    planForcedScaleDown(ctx, b);
    const usage = fleetUsage(ctx);
    if (usage.unknownTypes.length > 0) {
      b.explain(
        'clamp',
        `instance types ${usage.unknownTypes.join(', ')} in the fleet are not in the catalog, so their vCPU, memory and cost are not counted against the limits; add them to config.catalog`,
      );
    }
    const { head, names } = headroomFor(ctx, usage);
    const out = ctx.agentStale ? undefined : planScaleOut(ctx, b, head, names);
    if (!ctx.agentStale) {
      const pending = snapshot?.pendingShapes.length ?? 0;
      const summary = pending > 0 ? availabilitySummary(candidateAvailability(ctx), now) : undefined;
      if (summary) b.explain('scale-out', summary, 'offerings');
    }
    if (snapshot && !ctx.agentStale) {
      const draining = new Set(ctx.drains.map((d) => d.instanceId));
      const present =
        ctx.liveInstances.filter((i) => !b.isRemoving(i.instanceId) && !draining.has(i.instanceId)).length +
        ctx.unmatchedInFlight.reduce((a, u) => a + u.count, 0) +
        b.launches.reduce((a, l) => a + l.count, 0);
      planWarmCapacity(ctx, b, head, present, names);
    }
    if (!ctx.agentStale) {
      planWarmStarts(ctx, b);
      if (snapshot) planWarmPool(ctx, b, head, parks);
    }
    if (!ctx.agentStale) planScaleIn(ctx, b, b.launches.length > 0, out?.awaitedNodes);
  }

  enforceOnPremSafety(ctx, b);

  const acted =
    b.launches.length +
    b.drains.size +
    b.terminations.size +
    b.nodeDeletions.size +
    b.unhelpable.length +
    parks.length;
  if (acted === 0) {
    const usage = fleetUsage(ctx);
    const pending = snapshot?.pendingShapes.reduce((a, s) => a + s.count, 0) ?? 0;
    const ready = ctx.managedNodes.filter((n) => n.ready).length;
    const sched =
      schedule.name === null
        ? 'no schedule'
        : `schedule "${schedule.name}" (${schedule.minNodes}–${schedule.maxNodes} nodes)`;
    b.explain(
      'noop',
      `nothing to do: ${plural(pending, 'pending pod')}${pending ? ' (all on capacity already on its way or waiting, see above)' : ''}, ${plural(ctx.liveInstances.length, 'managed instance')} (${ready} Ready), ${ctx.unmatchedInFlight.reduce((a, u) => a + u.count, 0)} in flight, ${fmtUsd(usage.hourlyUsd)} in total; ${sched}`,
    );
  }

  const launchIndex = (id: string) => Number(id.slice(id.lastIndexOf('-') + 1));
  return {
    schemaVersion: SCHEMA_VERSION,
    cluster: config.cluster.name,
    decisionId,
    decidedAt: now.toISOString(),
    snapshotSeq: snapshot ? snapshot.seq : null,
    activeSchedule: { name: schedule.name, minNodes: schedule.minNodes, maxNodes: schedule.maxNodes },
    agentStale: ctx.agentStale,
    launches: [...b.launches].sort((a, c) => launchIndex(a.launchId) - launchIndex(c.launchId)),
    drains: [...b.drains.values()].sort(byString((d) => d.nodeName)),
    terminations: [...b.terminations.values()].sort(byString((t) => t.instanceId)),
    nodeDeletions: [...b.nodeDeletions.values()].sort(byString((d) => d.nodeName)),
    unhelpable: [...b.unhelpable].sort(byString((u) => u.shapeId)),
    explanations: b.explanations,
    podAnswers: [...b.podAnswers].sort((a, c) =>
      a.shapeId < c.shapeId ? -1 : a.shapeId > c.shapeId ? 1 : ANSWER_ORDER[a.kind] - ANSWER_ORDER[c.kind],
    ),
    ...(parks.length > 0 ? { parks: parks.sort(byString((p) => p.instanceId)) } : {}),
  };
}
