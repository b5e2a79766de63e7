import type { SnapshotNode } from '../events/index.js';
import type { PlanBuilder } from './builder.js';
import { instanceIdOfNode, nodeOfInstance, type PlanContext } from './context.js';
import { fmtDuration, fmtTime, plural } from './format.js';

/**
 * Abandonment (the stale agent, docs/architecture.md): the K3s server runs on the Pis, so when the agent
 * has been silent for abandonAfterSeconds, cloud nodes do no useful work and only cost money.
 * Returns true when the whole fleet is being terminated (nothing else should be planned).
 */
export function planAbandonment(ctx: PlanContext, b: PlanBuilder): boolean {
  const limit = ctx.config.agent.abandonAfterSeconds;
  if (ctx.snapshot && ctx.abandoned) {
    const age = fmtDuration(ctx.snapshotAgeSeconds ?? 0);
    for (const inst of ctx.liveInstances) {
      b.terminate(
        {
          instanceId: inst.instanceId,
          nodeName: inst.nodeName,
          reason: `terminate ${inst.instanceId} (${inst.instanceType}): the agent's last snapshot is ${age} old (abandonAfterSeconds=${limit}); without the K3s server on the Pis a cloud node does no useful work and only costs money`,
        },
        'stale',
      );
    }
    b.explain(
      'stale',
      `the agent has been silent for ${age} (last snapshot ${fmtTime(ctx.snapshot.observedAt, ctx.now)}, abandonAfterSeconds=${limit}): the cluster is treated as gone, nothing is launched and ${plural(ctx.liveInstances.length, 'managed instance')} ${ctx.liveInstances.length === 1 ? 'is' : 'are'} terminated`,
    );
    return true;
  }
  if (!ctx.snapshot) {
    for (const inst of ctx.liveInstances) {
      const ageSeconds = (ctx.nowMs - Date.parse(inst.launchedAt)) / 1000;
      if (ageSeconds <= limit) continue;
      b.terminate(
        {
          instanceId: inst.instanceId,
          nodeName: inst.nodeName,
          reason: `terminate ${inst.instanceId} (${inst.instanceType}): no agent snapshot has been received and it was launched ${fmtDuration(ageSeconds)} ago (abandonAfterSeconds=${limit}), so nothing can be using it`,
        },
        'stale',
      );
    }
  }
  return false;
}

/**
 * Drains already in progress. An involuntary drain past its deadline → terminate (the drain was
 * attempted; the deadline is the contract). A voluntary one (I9) is never ended by force: past
 * its deadline with workload pods still on the node it is abandoned (reconcile marks it, the
 * agent uncordons the node). With a fresh snapshot, a drained node (cordoned, no workload pods)
 * or one that has left the cluster is terminated at once, voluntary or not.
 */
export function planDrainProgress(ctx: PlanContext, b: PlanBuilder): void {
  for (const d of ctx.drains) {
    const inst = ctx.instancesById.get(d.instanceId);
    if (!inst || !ctx.liveIds.has(inst.instanceId)) continue;
    const deadlineMs = Date.parse(d.deadline);
    const voluntary = d.disruption === 'voluntary';
    if (voluntary && ctx.nowMs >= deadlineMs) {
      const node = ctx.agentStale ? undefined : ctx.nodesByName.get(d.nodeName);
      const gone = !ctx.agentStale && !node;
      const drained = node?.cordoned === true && node.workloadPodCount === 0;
      if (!gone && !drained) {
        b.explain(
          'scale-in',
          `the voluntary drain of ${d.nodeName} ("${d.reason}") passed its deadline ${fmtTime(d.deadline, ctx.now)}${node ? ` with ${plural(node.workloadPodCount, 'workload pod')} still running` : ' and the agent is stale'}: it is abandoned, not forced (I9) — the node is uncordoned and kept out of scale-in for scaleIn.abandonedDrainHoldSeconds=${ctx.config.scaleIn.abandonedDrainHoldSeconds}`,
          d.nodeName,
        );
        continue;
      }
    }
    if (!voluntary && ctx.nowMs >= deadlineMs) {
      b.terminate(
        {
          instanceId: d.instanceId,
          nodeName: d.nodeName,
          reason: `terminate ${d.instanceId} (node ${d.nodeName}): its drain ("${d.reason}") passed its deadline ${fmtTime(d.deadline, ctx.now)} ${fmtDuration((ctx.nowMs - deadlineMs) / 1000)} ago`,
        },
        'scale-in',
      );
      continue;
    }
    if (ctx.agentStale) continue;
    const node = ctx.nodesByName.get(d.nodeName);
    if (!node) {
      b.terminate(
        {
          instanceId: d.instanceId,
          nodeName: d.nodeName,
          reason: `terminate ${d.instanceId}: node ${d.nodeName} was being drained and is no longer in the cluster`,
        },
        'scale-in',
      );
    } else if (node.cordoned && node.workloadPodCount === 0) {
      b.terminate(
        {
          instanceId: d.instanceId,
          nodeName: d.nodeName,
          reason: `terminate ${d.instanceId}: node ${d.nodeName} is drained (cordoned, no workload pods left; drain reason: ${d.reason})`,
        },
        'scale-in',
      );
    }
  }
}

/**
 * Repairs on a fresh snapshot (never on a stale one, I8):
 * - an instance with no Node registrationTimeoutSeconds after launch is terminated;
 * - a managed node NotReady for longer than unhealthyAfterSeconds is terminated, unless more
 *   than maxUnhealthyFraction of managed nodes are unhealthy at once (meltdown protection: a
 *   Tailscale or home-internet outage must not churn the fleet; strictly more: at exactly the
 *   fraction nodes are replaced). At most `repairs.maxReplacementsInFlight` replacements are
 *   under way at once, longest NotReady first ({@link replacementsUnderWay});
 * - a managed Node whose instance is terminated or gone is deleted;
 * - an instance someone stopped is terminated (k3s-burst never stops instances).
 */
export function planRepairs(ctx: PlanContext, b: PlanBuilder): void {
  const { registrationTimeoutSeconds, unhealthyAfterSeconds, maxUnhealthyFraction } = ctx.config.repairs;

  for (const inst of ctx.liveInstances) {
    if (inst.state === 'stopped') {
      b.terminate(
        {
          instanceId: inst.instanceId,
          nodeName: inst.nodeName,
          reason: `terminate ${inst.instanceId} (${inst.instanceType}): it is stopped, and k3s-burst never stops instances — a stopped node only holds an EBS volume and a slot under maxNodes`,
        },
        'repair',
      );
      continue;
    }
    if (inst.state !== 'pending' && inst.state !== 'running') continue;
    if (nodeOfInstance(ctx, inst)) continue;
    const ageSeconds = (ctx.nowMs - Date.parse(inst.launchedAt)) / 1000;
    if (ageSeconds <= registrationTimeoutSeconds) continue;
    b.terminate(
      {
        instanceId: inst.instanceId,
        nodeName: inst.nodeName,
        reason: `terminate ${inst.instanceId} (${inst.instanceType}, ${inst.state}): launched ${fmtDuration(ageSeconds)} ago at ${fmtTime(inst.launchedAt, ctx.now)} and no node ${inst.nodeName} has registered (registrationTimeoutSeconds=${registrationTimeoutSeconds}); check its console output, Tailscale auth and the K3s server URL`,
        cause: 'registration-timeout',
      },
      'repair',
    );
  }

  const unhealthy = ctx.managedNodes
    .filter((n) => !n.ready && (ctx.nowMs - Date.parse(n.readySince)) / 1000 > unhealthyAfterSeconds)
    // Longest NotReady first (then by name): the order replacements go in, one at a time.
    .sort((a, c) => Date.parse(a.readySince) - Date.parse(c.readySince) || (a.name < c.name ? -1 : 1));
  const total = ctx.managedNodes.length;
  if (unhealthy.length > 0) {
    const fraction = unhealthy.length / total;
    // The edge: protection starts strictly above the fraction; at exactly it, nodes are replaced.
    if (fraction > maxUnhealthyFraction) {
      b.explain(
        'repair',
        `meltdown protection: ${unhealthy.length} of ${total} managed nodes (${Math.round(fraction * 100)} %) are NotReady for more than ${fmtDuration(unhealthyAfterSeconds)} (${unhealthy
          .map((n) => n.name)
          .join(
            ', ',
          )}), more than maxUnhealthyFraction=${maxUnhealthyFraction}: this looks like a Tailscale or network outage, so no node is replaced and their capacity still counts (nothing is launched for their pods)`,
      );
    } else {
      const max = ctx.config.repairs.maxReplacementsInFlight;
      const under = replacementsUnderWay(ctx);
      let started = 0;
      const waiting: string[] = [];
      for (const n of unhealthy) {
        const id = instanceIdOfNode(n);
        const inst = id ? ctx.instancesById.get(id) : undefined;
        if (!id || !inst || !ctx.liveIds.has(inst.instanceId)) continue;
        if (b.isRemoving(id)) continue;
        if (under.length + started >= max) {
          waiting.push(n.name);
          continue;
        }
        started++;
        b.terminate(
          {
            instanceId: id,
            nodeName: n.name,
            reason: `replace node ${n.name} (${inst.instanceType}): NotReady since ${fmtTime(n.readySince, ctx.now)} (${fmtDuration((ctx.nowMs - Date.parse(n.readySince)) / 1000)}, unhealthyAfterSeconds=${unhealthyAfterSeconds}); its pods become pending and scale-out replaces the capacity`,
          },
          'repair',
        );
      }
      if (waiting.length > 0) {
        b.explain(
          'repair',
          `${plural(waiting.length, 'more unhealthy node')} (${waiting.slice(0, 4).join(', ')}${waiting.length > 4 ? ' …' : ''}) ${waiting.length === 1 ? 'waits' : 'wait'} for ${plural(under.length + started, 'replacement')} under way${under.length > 0 ? ` (${under.slice(0, 4).join(', ')})` : ''}: repairs.maxReplacementsInFlight=${max}, nodes are replaced one batch at a time`,
        );
      }
    }
  }

  for (const n of ctx.managedNodes) {
    const id = instanceIdOfNode(n);
    if (!id) continue;
    const inst = ctx.instancesById.get(id);
    if (inst && ctx.liveIds.has(inst.instanceId)) continue;
    b.deleteNode({
      nodeName: n.name,
      reason: inst
        ? `delete Node ${n.name}: its instance ${id} is ${inst.state}`
        : `delete Node ${n.name}: its instance ${id} no longer exists`,
    });
  }
}

/**
 * Replacements of unhealthy nodes still under way, as labels: a managed node still in the
 * cluster whose instance is shutting down or terminated (its pods have not moved yet), and
 * capacity launched but not Ready (in-flight launches EC2 does not list yet, instances with no
 * node). Ordinary scale-out counts too: a growing fleet is not the moment to take another node
 * away. Why: replacing every unhealthy node at once turns a partial outage into a full one.
 */
export function replacementsUnderWay(ctx: PlanContext): string[] {
  const out: string[] = [];
  for (const n of ctx.managedNodes) {
    const id = instanceIdOfNode(n);
    const inst = id ? ctx.instancesById.get(id) : undefined;
    if (inst && (inst.state === 'shutting-down' || inst.state === 'terminated'))
      out.push(`${n.name} (shutting down)`);
  }
  for (const u of ctx.unmatchedInFlight)
    for (let i = 0; i < u.count; i++) out.push(`launch ${u.entry.launchId}`);
  for (const inst of ctx.liveInstances) {
    if (inst.state !== 'pending' && inst.state !== 'running') continue;
    if (nodeOfInstance(ctx, inst)) continue;
    const ageSeconds = (ctx.nowMs - Date.parse(inst.launchedAt)) / 1000;
    if (ageSeconds <= ctx.config.repairs.registrationTimeoutSeconds) out.push(`instance ${inst.instanceId}`);
  }
  return out;
}

/**
 * One NotReady node is a node failure, never taken for an outage (as Cluster Autoscaler's
 * ok-total-unready-count): its pods are launched for even in a one-node fleet.
 */
export const MIN_OUTAGE_NODES = 2;

/** More than `repairs.maxUnhealthyFraction` of managed nodes NotReady at once (see {@link outageOf}). */
export interface Outage {
  /** NotReady managed nodes whose instance is pending or running, by name. */
  notReady: SnapshotNode[];
  total: number;
}

/**
 * Meltdown protection's view for capacity: when more than `repairs.maxUnhealthyFraction` of the
 * managed nodes are NotReady at once (however briefly — the pods on them are evicted after
 * five minutes, before a node counts as unhealthy), a Tailscale or home-internet outage is
 * assumed. Those nodes are not replaced, and scale-out keeps counting them as capacity: a
 * node launched beside an unreachable fleet could not join through the same outage, and the
 * fleet's pods run again when it returns. Undefined when there is no such outage (or no fresh
 * view). Same edge as repairs: strictly more than the fraction; and at least
 * {@link MIN_OUTAGE_NODES} nodes.
 */
export function outageOf(ctx: PlanContext): Outage | undefined {
  const total = ctx.managedNodes.length;
  if (total === 0 || ctx.agentStale) return undefined;
  const notReady = ctx.managedNodes.filter((n) => {
    if (n.ready) return false;
    const id = instanceIdOfNode(n);
    const inst = id ? ctx.instancesById.get(id) : undefined;
    return inst !== undefined && (inst.state === 'pending' || inst.state === 'running');
  });
  if (
    notReady.length < MIN_OUTAGE_NODES ||
    notReady.length / total <= ctx.config.repairs.maxUnhealthyFraction
  )
    return undefined;
  return { notReady, total };
}
