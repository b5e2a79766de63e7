/**
 * The warm pool (issue 17 item 4, docs/operations.md "Warm pool"): on-demand instances launched
 * once in warm mode, joined to the tailnet and to K3s with a warming taint, then stopped (parked)
 * and their Node deleted. Scale-out starts a parked member (StartInstances, ~20 s) instead of
 * launching a new instance (minutes on a stock image).
 *
 * How members count (decided here, documented in docs/operations.md, checked by the simulator):
 * - A member is an instance tagged `k3s-burst:warm-pool=member`. It is never a node of the fleet
 *   for scale-in, repairs or room (`PlanContext.liveInstances` and the node collections leave it
 *   out); only the rules below act on it.
 * - A stopped member does not count toward `maxNodes`, vCPU, memory or the hourly cost cap: it
 *   runs nothing and costs only its EBS volume (reported apart, `status` and `simulate`). A
 *   stopping one still counts until EC2 lists it stopped.
 * - A warming member (pending or running, not yet parked) and a fill decided but not yet listed
 *   count toward every limit like any node, so I1 holds for running instances.
 * - A started member (`started`) is an ordinary node from then on.
 * Members are on-demand only: EC2 cannot stop a one-time spot instance. A launch that allows
 * on-demand may be served by a start; one that requires spot is launched as before.
 *
 * Pure: no clock, no I/O. Rules:
 * - starts: scale-out packs pending pods onto startable members ({@link startableMembers})
 *   before any new node, unless that covers fewer pods under the limits than launching; then
 *   ({@link planWarmStarts}) each planned launch that allows on-demand takes stopped members of a
 *   type it lists and a zone it allows (cheapest, then oldest first) for its first indexes;
 * - abandonment ({@link planWarmPoolAbandonment}): every member is terminated with the fleet;
 * - with a fresh agent ({@link planWarmPool}): age-out (older than `warmPool.maxAgeHours`),
 *   members that never registered, parks (Ready, no workload pods → stop), Node deletion of
 *   stopped members, excess over the active target, then the fill within the limits' headroom —
 *   in the background only: not while launches for pending pods are decided or in flight.
 *   Nothing at all while the agent is stale: a node that cannot reach the K3s server cannot join.
 */
import type { ManagedInstance, PlannedLaunch, PlannedPark } from '../events/index.js';
import type { PlanBuilder } from './builder.js';
import type { InstanceSpec } from './catalog.js';
import type { PlanContext } from './context.js';
import { fmtDuration, fmtUsd, plural } from './format.js';
import { chargeNewNodes, type Headroom, type HeadroomLimit, maxNewNodes } from './headroom.js';

/** The config field behind each limit, for the fill's clamp explanation. */
const LIMIT_NAMES: Record<HeadroomLimit, string> = {
  nodes: 'maxNodes (or the schedule)',
  vcpu: 'maxVcpus',
  memory: 'maxMemoryMiB',
  cost: 'maxHourlyCostUsd',
};

/**
 * gp3 storage list price, USD per GiB-month, eu-central-1 (AWS EBS pricing page, recorded
 * 2026-12-07; us-east-1 is 0.08). A parked member costs only its root volume: no instance hours,
 * and its auto-assigned public IPv4 is released while stopped.
 */
export const GP3_USD_PER_GIB_MONTH = 0.0952;
/** Hours in the month the prices are quoted for (AWS uses 730). */
export const HOURS_PER_MONTH = 730;

/** What one parked member costs per hour: its root volume (`nodes.rootVolumeGiB`, gp3). */
export function parkedMemberHourlyUsd(rootVolumeGiB: number): number {
  return Math.round(((rootVolumeGiB * GP3_USD_PER_GIB_MONTH) / HOURS_PER_MONTH) * 1e6) / 1e6;
}

/**
 * Members the active schedule (its `warmPoolSize`) or `warmPool.size` asks for. Takes only the
 * config and the active schedule so `status` shows the target reconcile acts on.
 */
export function warmPoolTarget(ctx: Pick<PlanContext, 'config' | 'schedule'>): number {
  return ctx.schedule.warmPoolSize ?? ctx.config.warmPool.size;
}

/**
 * Types members are launched as, most preferred first: `warmPool.instanceTypes`, else the first
 * candidate type of `warmPool.arch` (default: the first candidate's arch) — candidate order is
 * the operator's preference, and one type keeps every member startable for the same pods.
 */
export function warmPoolTypes(ctx: PlanContext): InstanceSpec[] {
  const specs = (types: readonly string[]) =>
    types.map((t) => ctx.catalog.get(t)).filter((s): s is InstanceSpec => s !== undefined);
  const configured = ctx.config.warmPool.instanceTypes;
  if (configured && configured.length > 0) return specs(configured);
  const candidates = specs(ctx.config.nodes.candidateTypes);
  const arch = ctx.config.warmPool.arch ?? candidates[0]?.arch;
  const first = candidates.find((s) => s.arch === arch);
  return first ? [first] : [];
}

/** Hourly price of a member while it runs (members are on-demand). */
function onDemandPrice(ctx: PlanContext, type: string): number {
  return ctx.catalog.get(type)?.onDemandHourlyUsd ?? 0;
}

function ageSeconds(ctx: PlanContext, inst: ManagedInstance): number {
  return (ctx.nowMs - Date.parse(inst.launchedAt)) / 1000;
}

/** Members that run (warming, parking): they count toward the limits (I1). */
export function runningMembers(ctx: PlanContext): ManagedInstance[] {
  return ctx.poolMembers.filter(
    (m) => m.state === 'pending' || m.state === 'running' || m.state === 'stopping',
  );
}

const tooOld = (ctx: PlanContext, m: ManagedInstance) =>
  ageSeconds(ctx, m) > ctx.config.warmPool.maxAgeHours * 3600;

/**
 * Stopped members a decision may start, cheapest then oldest first. A member whose Node object
 * still exists is not startable yet: its kubelet would find that Node and keep the warming taint
 * (registration taints apply only when the Node is created). Reconcile deletes the Node once EC2
 * says stopped; from then on the member is startable.
 */
export function startableMembers(ctx: PlanContext, b: PlanBuilder): ManagedInstance[] {
  return ctx.poolMembers
    .filter(
      (m) =>
        m.state === 'stopped' &&
        !b.isRemoving(m.instanceId) &&
        !tooOld(ctx, m) &&
        !ctx.poolNodes.has(m.instanceId),
    )
    .sort(
      (a, c) =>
        onDemandPrice(ctx, a.instanceType) - onDemandPrice(ctx, c.instanceType) ||
        Date.parse(a.launchedAt) - Date.parse(c.launchedAt) ||
        (a.instanceId < c.instanceId ? -1 : 1),
    );
}

/**
 * Scale-out packs pending pods onto startable members first (lib/core/scale-out.ts: each member
 * is the room of a fresh node of its type and zone, while the limits can take it running). When
 * that plan would cover fewer pods than launching (starts take limits a bigger new node uses
 * better), scale-out launches instead; this then still turns each planned launch that allows
 * on-demand into starts of members whose type the launch lists (same type: same room and
 * limits), cheapest then oldest, for its first indexes (`warmStarts[i]` for index `i`).
 * A member's zone must be one the launch allows (any, when it names none). A launch sized for a
 * root volume larger than `nodes.rootVolumeGiB` takes no member (members have the default
 * volume). Warm-pool fills take none.
 */
export function planWarmStarts(ctx: PlanContext, b: PlanBuilder): void {
  const stopped = startableMembers(ctx, b);
  if (stopped.length === 0) return;
  const taken = new Set(b.launches.flatMap((l) => l.warmStarts ?? []));
  const zoneOk = (launch: PlannedLaunch, m: ManagedInstance) =>
    launch.zones.length === 0 || launch.zones.includes(m.zone);
  for (const launch of b.launches) {
    if (launch.warmPool || launch.warmStarts || !launch.capacityTypes.includes('on-demand')) continue;
    if (launch.rootVolumeGiB !== undefined && launch.rootVolumeGiB > ctx.config.nodes.rootVolumeGiB) continue;
    const picks = stopped
      .filter(
        (m) => !taken.has(m.instanceId) && launch.instanceTypes.includes(m.instanceType) && zoneOk(launch, m),
      )
      .slice(0, launch.count);
    for (const m of picks) taken.add(m.instanceId);
    if (picks.length > 0) {
      launch.warmStarts = picks.map((m) => m.instanceId);
      const rest = launch.count - picks.length;
      b.explain(
        'warm-pool',
        `start ${plural(picks.length, 'stopped warm-pool member')} (${picks.map((m) => `${m.instanceId} ${m.instanceType} in ${m.zone}`).join(', ')}) for launch ${launch.launchId} instead of launching: a start re-registers a node that joined once (on-demand, ${fmtUsd(onDemandPrice(ctx, picks[0]?.instanceType ?? ''))} each)${rest > 0 ? `; ${rest} more ${rest === 1 ? 'is' : 'are'} launched` : ''}`,
        launch.launchId,
      );
    }
  }
}

/** Abandonment: members are terminated with the fleet (nothing can use them without the Pis). */
export function planWarmPoolAbandonment(ctx: PlanContext, b: PlanBuilder): void {
  const limit = ctx.config.agent.abandonAfterSeconds;
  for (const m of ctx.poolMembers) {
    if (!ctx.abandoned && (ctx.snapshot || ageSeconds(ctx, m) <= limit)) continue;
    b.terminate(
      {
        instanceId: m.instanceId,
        nodeName: m.nodeName,
        reason: `terminate warm-pool member ${m.instanceId} (${m.instanceType}, ${m.state}): ${ctx.snapshot ? `the agent has been silent for more than abandonAfterSeconds=${limit}` : `no agent snapshot has been received and it was launched more than abandonAfterSeconds=${limit} ago`}; a member without the K3s server has nothing to join`,
      },
      'warm-pool',
    );
  }
}

/**
 * With a fresh agent: age-out, never-registered members, parks, Node deletion of stopped
 * members, excess over the target, then the fill within `head` (what scale-out left).
 */
export function planWarmPool(ctx: PlanContext, b: PlanBuilder, head: Headroom, parks: PlannedPark[]): void {
  const target = warmPoolTarget(ctx);
  if (ctx.poolMembers.length === 0 && ctx.warmFillsInFlight.length === 0 && target === 0) return;
  const { registrationTimeoutSeconds, unhealthyAfterSeconds } = ctx.config.repairs;
  const starting = new Set(b.launches.flatMap((l) => l.warmStarts ?? []));

  for (const m of ctx.poolMembers) {
    if (starting.has(m.instanceId) || b.isRemoving(m.instanceId)) continue;
    const node = ctx.poolNodes.get(m.instanceId);
    const age = ageSeconds(ctx, m);
    if (tooOld(ctx, m)) {
      b.terminate(
        {
          instanceId: m.instanceId,
          nodeName: m.nodeName,
          reason: `terminate warm-pool member ${m.instanceId} (${m.instanceType}, ${m.state}): ${fmtDuration(age)} old, over warmPool.maxAgeHours=${ctx.config.warmPool.maxAgeHours}; it is replaced by a fresh one`,
        },
        'warm-pool',
      );
      continue;
    }
    const warming = m.state === 'pending' || m.state === 'running';
    if (warming && !node && age > registrationTimeoutSeconds) {
      b.terminate(
        {
          instanceId: m.instanceId,
          nodeName: m.nodeName,
          reason: `terminate warm-pool member ${m.instanceId} (${m.instanceType}): launched ${fmtDuration(age)} ago and no node ${m.nodeName} has registered (registrationTimeoutSeconds=${registrationTimeoutSeconds}); check its console output`,
          cause: 'registration-timeout',
        },
        'warm-pool',
      );
      continue;
    }
    if (
      warming &&
      node &&
      !node.ready &&
      (ctx.nowMs - Date.parse(node.readySince)) / 1000 > unhealthyAfterSeconds
    ) {
      b.terminate(
        {
          instanceId: m.instanceId,
          nodeName: m.nodeName,
          reason: `terminate warm-pool member ${m.instanceId}: its node ${node.name} has been NotReady for more than unhealthyAfterSeconds=${unhealthyAfterSeconds} while warming`,
        },
        'warm-pool',
      );
      continue;
    }
    if (m.state === 'running' && node?.ready) {
      if (node.workloadPodCount > 0) {
        b.explain(
          'warm-pool',
          `warm-pool member ${m.instanceId} is not parked: ${plural(node.workloadPodCount, 'workload pod')} run on ${node.name} despite its warming taint (they tolerate it); it is parked once they are gone`,
          m.instanceId,
        );
        continue;
      }
      const reason = `park warm-pool member ${m.instanceId} (${m.instanceType} in ${m.zone}): its node ${node.name} joined and is Ready with no workload pods; stop it, then delete its Node once EC2 says stopped`;
      parks.push({ instanceId: m.instanceId, nodeName: node.name, reason });
      b.explain('warm-pool', reason, m.instanceId);
      continue;
    }
    if (m.state === 'stopped' && node) {
      // Only once stopped: deleting the Node while the kubelet runs makes it register again.
      b.deleteNode({
        nodeName: node.name,
        reason: `delete Node ${node.name}: its warm-pool member ${m.instanceId} is stopped (a parked member is never a NotReady node; the kubelet registers it again on start)`,
      });
    }
  }

  const parked = new Set(parks.map((p) => p.instanceId));
  const kept = ctx.poolMembers.filter((m) => !starting.has(m.instanceId) && !b.isRemoving(m.instanceId));
  const fills = ctx.warmFillsInFlight.reduce((a, u) => a + u.count, 0);
  let excess = kept.length + fills - target;
  if (excess > 0) {
    // Running members cost most: they go first, then the oldest stopped ones.
    const order = [...kept].sort(
      (a, c) =>
        Number(a.state === 'stopped' || parked.has(a.instanceId)) -
          Number(c.state === 'stopped' || parked.has(c.instanceId)) ||
        Date.parse(a.launchedAt) - Date.parse(c.launchedAt) ||
        (a.instanceId < c.instanceId ? -1 : 1),
    );
    for (const m of order) {
      if (excess <= 0) break;
      const i = parks.findIndex((p) => p.instanceId === m.instanceId);
      if (i >= 0) parks.splice(i, 1);
      b.terminate(
        {
          instanceId: m.instanceId,
          nodeName: m.nodeName,
          reason: `terminate warm-pool member ${m.instanceId} (${m.instanceType}, ${m.state}): the pool holds ${kept.length + fills}, more than the ${target} ${ctx.schedule.warmPoolSize !== undefined ? `schedule "${ctx.schedule.name}" asks for (warmPoolSize)` : 'warmPool.size asks for'}`,
        },
        'warm-pool',
      );
      excess--;
    }
    return;
  }

  const want = target - kept.length - fills;
  if (want <= 0) return;
  // In the background only: while capacity for pods is on the way (decided now, in flight, or
  // an instance not Ready yet), more of their burst may follow, and a warming member would take
  // the headroom those pods need (it counts like a node until parked).
  const coming =
    b.launches.filter((l) => !l.warmPool).length +
    ctx.unmatchedInFlight.length +
    ctx.liveInstances.filter(
      (i) =>
        (i.state === 'pending' || i.state === 'running') &&
        ctx.nodesByInstanceId.get(i.instanceId)?.ready !== true,
    ).length;
  if (coming > 0) {
    b.explain(
      'warm-pool',
      `the warm pool is refilled later (${plural(want, 'member')} short of ${target}): capacity for pending pods is still on the way (${plural(coming, 'launch or node', 'launches or nodes')} not Ready yet)`,
      'warm-pool',
    );
    return;
  }
  const types = warmPoolTypes(ctx);
  const first = types[0];
  if (!first) {
    b.explain(
      'warm-pool',
      'the warm pool cannot be filled: no warm-pool type is in the catalog (warmPool.instanceTypes, or a candidate type of warmPool.arch)',
    );
    return;
  }
  const price = first.onDemandHourlyUsd;
  const room = maxNewNodes(head, first, price);
  const limit = LIMIT_NAMES[room.limit];
  const n = Math.min(want, room.n);
  if (n < want) {
    b.explain(
      'clamp',
      `the warm pool wants ${plural(want, 'more member')} but limits.${limit} allows only ${n} now: a warming member counts like a running node until it is parked`,
      'warm-pool',
    );
  }
  if (n === 0) return;
  chargeNewNodes(head, first, price, n);
  const parkedUsd = parkedMemberHourlyUsd(ctx.config.nodes.rootVolumeGiB);
  const reason = `fill the warm pool: launch ${n}× ${first.instanceType} (on-demand) in warm mode to be parked (${kept.length} member${kept.length === 1 ? '' : 's'}${fills > 0 ? ` + ${fills} on the way` : ''}, target ${target}); while warming ${n === 1 ? 'it counts' : 'they count'} toward the limits at ${fmtUsd(price)} each, parked only ${n === 1 ? 'its' : 'each'} ${ctx.config.nodes.rootVolumeGiB} GiB volume costs (~$${parkedUsd.toFixed(4)}/h)`;
  const launch: PlannedLaunch = {
    launchId: `${ctx.decisionId}-${b.launches.length}`,
    // Fallbacks only of the same arch and no bigger (the limits above were checked for the first).
    instanceTypes: [
      first.instanceType,
      ...types
        .slice(1)
        .filter(
          (t) =>
            t.arch === first.arch &&
            t.vcpu <= first.vcpu &&
            t.memoryMiB <= first.memoryMiB &&
            t.onDemandHourlyUsd <= price,
        )
        .map((t) => t.instanceType),
    ],
    capacityTypes: ['on-demand'],
    arch: first.arch,
    count: n,
    zones: [],
    shapeIds: [],
    podsCovered: 0,
    estimatedHourlyUsd: Math.round(n * price * 10_000) / 10_000,
    reason,
    warmPool: true,
  };
  b.launches.push(launch);
  b.explain('warm-pool', reason, launch.launchId);
}
