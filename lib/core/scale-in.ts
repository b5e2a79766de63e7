import type { ManagedInstance, PodGroup, SnapshotNode } from '../events/index.js';
import type { PlanBuilder } from './builder.js';
import { instanceIdOfNode, nodeOfInstance, type PlanContext } from './context.js';
import { fmtCpu, fmtDuration, fmtMem, fmtTime, plural } from './format.js';

/** Highest of CPU and memory requested / allocatable, in percent. */
export function utilizationPercent(n: SnapshotNode): number {
  const cpu = n.allocatable.cpuMilli > 0 ? n.requested.cpuMilli / n.allocatable.cpuMilli : 1;
  const mem = n.allocatable.memoryMiB > 0 ? n.requested.memoryMiB / n.allocatable.memoryMiB : 1;
  return Math.round(Math.max(cpu, mem) * 1000) / 10;
}

/**
 * The latest time from which a node's current workload can be assumed unchanged: the last
 * workload change the agent reports, else when it last became Ready or was created. Without
 * `workloadChangedAt` a node that emptied a minute ago counts as empty since it became Ready;
 * the delay-after-scale-out guard covers the common case (pods left after a burst).
 */
export function workloadStableSinceMs(n: SnapshotNode): number {
  let t = Math.max(Date.parse(n.readySince), Date.parse(n.createdAt));
  if (n.workloadChangedAt) t = Math.max(t, Date.parse(n.workloadChangedAt));
  return t;
}

/** Most recent launch we know of: the fleet's record, any live instance, any in-flight decision. */
function lastScaleOutMs(ctx: PlanContext): number | undefined {
  let t = ctx.lastScaleOutAtMs;
  for (const i of ctx.liveInstances) {
    const l = Date.parse(i.launchedAt);
    if (t === undefined || l > t) t = l;
  }
  for (const u of ctx.unmatchedInFlight) {
    const d = Date.parse(u.entry.decidedAt);
    if (t === undefined || d > t) t = d;
  }
  return t;
}

function drainDeadline(ctx: PlanContext): string {
  return new Date(ctx.nowMs + ctx.config.scaleIn.drainTimeoutSeconds * 1000).toISOString();
}

/** Instances that count as fleet members after this plan: live, not being removed. */
function remaining(ctx: PlanContext, b: PlanBuilder): ManagedInstance[] {
  const draining = new Set(ctx.drains.map((d) => d.instanceId));
  return ctx.liveInstances.filter((i) => !b.isRemoving(i.instanceId) && !draining.has(i.instanceId));
}

function inFlightCount(ctx: PlanContext): number {
  return ctx.unmatchedInFlight.reduce((a, u) => a + u.count, 0);
}

/**
 * Schedule-forced scale-down: when the fleet (instances + unmatched in-flight) exceeds the
 * active maxNodes, remove the excess even with a stale agent. Unregistered instances go first
 * (terminated at once when the snapshot is fresh: they run no pods), then nodes: empty, then
 * least utilized, do-not-disrupt / blocked ones last — the schedule is a hard ceiling (I1),
 * and the drain still goes through the Eviction API so PDBs hold; the drain deadline then
 * forces termination. Not limited by maxConcurrentDrains, so a night schedule converges in
 * one drain timeout rather than one per node.
 */
export function planForcedScaleDown(ctx: PlanContext, b: PlanBuilder): void {
  const max = ctx.schedule.maxNodes;
  const members = remaining(ctx, b);
  const flying = inFlightCount(ctx);
  let excess = members.length + flying - max;
  if (excess <= 0) return;
  const limitName =
    ctx.schedule.name !== null && max < ctx.config.limits.maxNodes
      ? `schedule "${ctx.schedule.name}" (maxNodes=${max})`
      : `limits.maxNodes=${max}`;
  const force = ctx.config.scaleIn.scheduleScaleDown === 'force';
  const disruption = force ? ('involuntary' as const) : ('voluntary' as const);
  b.explain(
    'schedule',
    `the fleet has ${members.length} managed ${members.length === 1 ? 'instance' : 'instances'}${flying ? ` and ${flying} in flight` : ''}, more than ${limitName} allows: removing ${excess}${
      force
        ? ' (scaleIn.scheduleScaleDown=force: a drain that cannot finish by its deadline ends in termination)'
        : ' (scaleIn.scheduleScaleDown=wait: drains are voluntary — PDBs and eviction blockers hold, a node whose pods cannot all be evicted is kept and retried later, I9)'
    }`,
  );
  const withNode = members.map((inst) => ({
    inst,
    node: ctx.snapshot ? nodeOfInstance(ctx, inst) : undefined,
  }));
  const unregistered = withNode
    .filter((x) => !x.node)
    .sort(
      (a, c) =>
        Date.parse(c.inst.launchedAt) - Date.parse(a.inst.launchedAt) ||
        (a.inst.instanceId < c.inst.instanceId ? -1 : 1),
    );
  const deadline = drainDeadline(ctx);
  for (const { inst } of unregistered) {
    if (excess <= 0) break;
    if (!ctx.agentStale) {
      b.terminate(
        {
          instanceId: inst.instanceId,
          nodeName: inst.nodeName,
          reason: `terminate ${inst.instanceId} (${inst.instanceType}, not registered yet, so no pods to drain): the fleet exceeds ${limitName}`,
        },
        'schedule',
      );
    } else {
      b.drain(
        {
          nodeName: inst.nodeName,
          instanceId: inst.instanceId,
          deadline,
          reason: `drain ${inst.nodeName} (${inst.instanceType}) by ${fmtTime(deadline, ctx.now)}, then terminate: the fleet exceeds ${limitName} (the agent is stale, so the drain is attempted${force ? ' and the deadline enforces it' : ''})`,
          disruption,
        },
        'schedule',
      );
    }
    excess--;
  }
  const registered = withNode
    .filter((x): x is { inst: ManagedInstance; node: SnapshotNode } => x.node !== undefined)
    .sort((a, c) => {
      const pa = a.node.doNotDisrupt || a.node.blockers.length > 0 ? 1 : 0;
      const pc = c.node.doNotDisrupt || c.node.blockers.length > 0 ? 1 : 0;
      const ea = a.node.workloadPodCount === 0 ? 0 : 1;
      const ec = c.node.workloadPodCount === 0 ? 0 : 1;
      return (
        pa - pc ||
        ea - ec ||
        utilizationPercent(a.node) - utilizationPercent(c.node) ||
        (a.node.name < c.node.name ? -1 : 1)
      );
    });
  const heldIds = new Set(ctx.drainHolds.map((d) => d.instanceId));
  for (const { inst, node } of registered) {
    if (excess <= 0) break;
    if (!node.managed) continue;
    if (!force && (node.doNotDisrupt || node.blockers.length > 0 || heldIds.has(inst.instanceId))) {
      b.explain(
        'schedule',
        `keep ${node.name} for now although the fleet exceeds ${limitName}: ${
          node.doNotDisrupt
            ? 'it carries do-not-disrupt'
            : node.blockers.length > 0
              ? `${plural(node.blockers.length, 'pod')} cannot be evicted (${node.blockers
                  .slice(0, 2)
                  .map((x) => `${x.pod}: ${x.reason}`)
                  .join(', ')})`
              : 'its last voluntary drain was abandoned'
        }; scaleIn.scheduleScaleDown=wait retries on a later reconcile (set it to "force" to end such pods at the drain deadline)`,
        node.name,
      );
      continue;
    }
    const note = node.doNotDisrupt
      ? ' (it has do-not-disrupt, but the schedule ceiling is a hard limit)'
      : node.blockers.length
        ? ` (${plural(node.blockers.length, 'pod')} may block eviction; the deadline then forces termination)`
        : '';
    b.drain(
      {
        nodeName: node.name,
        instanceId: inst.instanceId,
        deadline,
        reason: `drain ${node.name} (${inst.instanceType}, ${plural(node.workloadPodCount, 'workload pod')}, ${utilizationPercent(node)} % utilized) by ${fmtTime(deadline, ctx.now)}, then terminate: the fleet exceeds ${limitName}${note}`,
        disruption,
      },
      'schedule',
    );
    excess--;
  }
  if (excess > 0 && flying > 0) {
    b.explain(
      'schedule',
      `${plural(Math.min(excess, flying), 'in-flight launch', 'in-flight launches')} cannot be cancelled; the excess is removed once EC2 lists them`,
    );
  }
}

/** Fit pod groups into the free room of target nodes (first-fit-decreasing); commits only if all fit. */
function fitsElsewhere(
  groups: PodGroup[],
  targets: Array<{ node: SnapshotNode; cpu: number; mem: number; pods: number }>,
  received: Set<string>,
): boolean {
  const items = [...groups].sort((a, c) => c.cpuMilli - a.cpuMilli || c.memoryMiB - a.memoryMiB);
  const trial = targets.map((t) => ({ ...t }));
  for (const g of items) {
    let left = g.count;
    for (const t of trial) {
      if (left === 0) break;
      let f = Math.min(t.pods, left);
      if (g.cpuMilli > 0) f = Math.min(f, Math.floor(t.cpu / g.cpuMilli));
      if (g.memoryMiB > 0) f = Math.min(f, Math.floor(t.mem / g.memoryMiB));
      if (f <= 0) continue;
      t.cpu -= f * g.cpuMilli;
      t.mem -= f * g.memoryMiB;
      t.pods -= f;
      left -= f;
    }
    if (left > 0) return false;
  }
  trial.forEach((t, i) => {
    const target = targets[i] as (typeof targets)[number];
    if (t.pods !== target.pods) received.add(t.node.name);
    Object.assign(target, t);
  });
  return true;
}

/**
 * Voluntary scale-in on a fresh snapshot (docs/architecture.md): empty managed nodes after
 * emptyAfterSeconds, then (if enabled) nodes under the utilization threshold for
 * underutilizedAfterSeconds whose workload fits in the other managed nodes' free room. Never
 * within delayAfterScaleOutSeconds of a launch, never below the active minNodes, never more
 * than maxConcurrentDrains at once (drains in progress included), never a node with
 * do-not-disrupt or eviction blockers, never an on-prem node.
 */
export function planScaleIn(
  ctx: PlanContext,
  b: PlanBuilder,
  launchingNow: boolean,
  awaitedNodes: ReadonlyMap<string, number> = new Map(),
): void {
  const cfg = ctx.config.scaleIn;
  if (launchingNow) {
    if (ctx.managedNodes.length > 0)
      b.explain('scale-in', 'no scale-in while this decision launches capacity');
    return;
  }
  const last = lastScaleOutMs(ctx);
  if (last !== undefined && (ctx.nowMs - last) / 1000 < cfg.delayAfterScaleOutSeconds) {
    const waitS = cfg.delayAfterScaleOutSeconds - (ctx.nowMs - last) / 1000;
    if (ctx.managedNodes.length > 0) {
      b.explain(
        'scale-in',
        `no scale-in until ${fmtTime(new Date(last + cfg.delayAfterScaleOutSeconds * 1000), ctx.now)} (${fmtDuration(waitS)}): the last scale-out was at ${fmtTime(new Date(last), ctx.now)} (delayAfterScaleOutSeconds=${cfg.delayAfterScaleOutSeconds})`,
      );
    }
    return;
  }
  const draining = new Set(ctx.drains.map((d) => d.instanceId));
  const inProgress = ctx.drains.filter(
    (d) => !b.terminations.has(d.instanceId) && ctx.liveIds.has(d.instanceId),
  ).length;
  let budget = cfg.maxConcurrentDrains - inProgress - b.drains.size;
  const members = remaining(ctx, b).length + inFlightCount(ctx);
  let removable = members - ctx.schedule.minNodes;

  interface Candidate {
    node: SnapshotNode;
    inst: ManagedInstance;
  }
  const eligible: Candidate[] = [];
  const held = new Map(ctx.drainHolds.map((d) => [d.instanceId, d]));
  for (const node of ctx.managedNodes) {
    const id = instanceIdOfNode(node);
    const inst = id ? ctx.instancesById.get(id) : undefined;
    if (!id || !inst || inst.state !== 'running' || !ctx.liveIds.has(id)) continue;
    if (b.isRemoving(id) || draining.has(id) || !node.ready || node.cordoned) continue;
    const awaited = awaitedNodes.get(node.name);
    if (awaited !== undefined) {
      if (node.workloadPodCount === 0)
        b.explain(
          'scale-in',
          `keep ${node.name}: ${plural(awaited, 'pending pod')} fit on its free room and the scheduler is about to place them there`,
          node.name,
        );
      continue;
    }
    const hold = held.get(id);
    if (hold) {
      b.explain(
        'scale-in',
        `keep ${node.name} out of scale-in until ${fmtTime(hold.holdUntil ?? '', ctx.now)}: its voluntary drain was abandoned at ${fmtTime(hold.abandonedAt ?? '', ctx.now)} because its pods could not all be evicted in time (I9)`,
        node.name,
      );
      continue;
    }
    eligible.push({ node, inst });
  }

  const stableFor = (n: SnapshotNode) => (ctx.nowMs - workloadStableSinceMs(n)) / 1000;
  const chosen = new Set<string>();
  const protectedNote = (n: SnapshotNode): string | undefined =>
    n.doNotDisrupt
      ? 'it carries k3s-burst.io/do-not-disrupt'
      : n.blockers.length > 0
        ? `${plural(n.blockers.length, 'pod')} cannot be evicted (${n.blockers
            .slice(0, 2)
            .map((x) => `${x.pod}: ${x.reason}`)
            .join(', ')})`
        : undefined;

  const tryDrain = (c: Candidate, reason: string): boolean => {
    if (removable <= 0) {
      b.explain(
        'scale-in',
        `keep ${c.node.name}: ${reason.replace(/^drain [^ ]+ /, '')}, but schedule minNodes=${ctx.schedule.minNodes} must stay`,
        c.node.name,
      );
      return false;
    }
    if (budget <= 0) {
      b.explain(
        'scale-in',
        `${c.node.name} would be drained (${reason}) but maxConcurrentDrains=${cfg.maxConcurrentDrains} drains are already running`,
        c.node.name,
      );
      return false;
    }
    const deadline = drainDeadline(ctx);
    b.drain(
      {
        nodeName: c.node.name,
        instanceId: c.inst.instanceId,
        deadline,
        reason: `drain ${c.node.name} (${c.inst.instanceType}) by ${fmtTime(deadline, ctx.now)}, then terminate: ${reason}`,
        disruption: 'voluntary',
      },
      'scale-in',
    );
    chosen.add(c.node.name);
    budget--;
    removable--;
    return true;
  };

  // Empty nodes, longest-empty first.
  const empties = eligible
    .filter((c) => c.node.workloadPodCount === 0 && stableFor(c.node) >= cfg.emptyAfterSeconds)
    .sort(
      (a, c) =>
        workloadStableSinceMs(a.node) - workloadStableSinceMs(c.node) || (a.node.name < c.node.name ? -1 : 1),
    );
  for (const c of empties) {
    const prot = protectedNote(c.node);
    if (prot) {
      b.explain(
        'scale-in',
        `keep ${c.node.name} although it has been empty for ${fmtDuration(stableFor(c.node))}: ${prot}`,
        c.node.name,
      );
      continue;
    }
    tryDrain(
      c,
      `no workload pods for ${fmtDuration(stableFor(c.node))} (emptyAfterSeconds=${cfg.emptyAfterSeconds})`,
    );
  }

  if (!cfg.consolidation.enabled) return;
  const threshold = cfg.consolidation.utilizationThresholdPercent;
  const targets = eligible
    .filter((c) => !chosen.has(c.node.name))
    .map((c) => ({
      node: c.node,
      cpu: Math.max(0, c.node.allocatable.cpuMilli - c.node.requested.cpuMilli),
      mem: Math.max(0, c.node.allocatable.memoryMiB - c.node.requested.memoryMiB),
      pods: Math.max(0, c.node.allocatable.pods - c.node.requested.pods),
    }));
  const under = eligible
    .filter(
      (c) =>
        !chosen.has(c.node.name) &&
        c.node.workloadPodCount > 0 &&
        utilizationPercent(c.node) < threshold &&
        stableFor(c.node) >= cfg.consolidation.underutilizedAfterSeconds,
    )
    .sort(
      (a, c) =>
        utilizationPercent(a.node) - utilizationPercent(c.node) || (a.node.name < c.node.name ? -1 : 1),
    );
  // A node that takes pods from a consolidated one is not consolidated itself in the same plan.
  const received = new Set<string>();
  for (const c of under) {
    if (budget <= 0 || removable <= 0) break;
    if (received.has(c.node.name)) continue;
    const prot = protectedNote(c.node);
    if (prot) {
      b.explain(
        'scale-in',
        `keep ${c.node.name} although it is ${utilizationPercent(c.node)} % utilized: ${prot}`,
        c.node.name,
      );
      continue;
    }
    const podsInGroups = c.node.workloadPods.reduce((a, g) => a + g.count, 0);
    if (podsInGroups < c.node.workloadPodCount) continue; // the agent did not send its pods: cannot prove they fit
    const others = targets.filter((t) => t.node.name !== c.node.name && !chosen.has(t.node.name));
    if (!fitsElsewhere(c.node.workloadPods, others, received)) continue;
    const cpu = c.node.workloadPods.reduce((a, g) => a + g.cpuMilli * g.count, 0);
    const mem = c.node.workloadPods.reduce((a, g) => a + g.memoryMiB * g.count, 0);
    tryDrain(
      c,
      `consolidation: ${utilizationPercent(c.node)} % utilized (< ${threshold} %) for ${fmtDuration(stableFor(c.node))}, and its ${plural(podsInGroups, 'pod')} (${fmtCpu(cpu)}, ${fmtMem(mem)}) fit on the other managed nodes`,
    );
  }
}
