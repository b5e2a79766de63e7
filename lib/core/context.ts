import type {
  ClusterSnapshot,
  Config,
  DrainInProgress,
  FleetState,
  InFlightLaunch,
  LaunchBackoff,
  ManagedInstance,
  SnapshotNode,
  UnavailableOffering,
} from '../events/index.js';
import type { Catalog } from './catalog.js';
import { parseProviderId } from './ids.js';
import type { ActiveSchedule } from './schedule.js';

/** Instance states that occupy a slot under the limits. Billing stops at shutting-down. */
const LIVE_STATES = new Set(['pending', 'running', 'stopping', 'stopped']);

/** An in-flight launch entry and how many of its instances EC2 does not list yet. */
export interface UnmatchedInFlight {
  entry: InFlightLaunch;
  count: number;
}

/**
 * Facts derived once from the plan input and shared by every rule. All arrays are sorted
 * by a stable key so that the plan does not depend on input order.
 */
export interface PlanContext {
  config: Config;
  catalog: Catalog;
  now: Date;
  nowMs: number;
  decisionId: string;
  snapshot: ClusterSnapshot | undefined;
  schedule: ActiveSchedule;
  /** Seconds since the snapshot was received (observed, offline); undefined without a snapshot. */
  snapshotAgeSeconds: number | undefined;
  agentStale: boolean;
  /** Snapshot older than abandonAfterSeconds (not set when there is no snapshot at all). */
  abandoned: boolean;
  /** Every node in the snapshot, by name. */
  nodesByName: Map<string, SnapshotNode>;
  /** Every node in the snapshot whose providerID (or instanceId) names an EC2 instance. */
  nodesByInstanceId: Map<string, SnapshotNode>;
  /** Managed nodes only, sorted by name. */
  managedNodes: SnapshotNode[];
  /** Names and instance ids of on-prem nodes: nothing may ever touch them (I2). */
  onPremNodeNames: Set<string>;
  onPremInstanceIds: Set<string>;
  /**
   * Non-terminated (not shutting-down) instances, sorted by id — warm-pool members excluded
   * (they are in `poolMembers`: not nodes of the fleet, lib/core/warm-pool.ts).
   */
  liveInstances: ManagedInstance[];
  /** Warm-pool members (tag `member`) in pending, running, stopping or stopped, sorted by id. */
  poolMembers: ManagedInstance[];
  /**
   * Nodes of warm-pool members by instance id. They are in no other node collection of the
   * context: no rule but the warm pool's sees a warming node (scale-in, repairs, room).
   */
  poolNodes: Map<string, SnapshotNode>;
  /** Warm-pool fills decided but not listed by EC2 yet: limits count them, pods do not. */
  warmFillsInFlight: UnmatchedInFlight[];
  liveIds: Set<string>;
  instancesById: Map<string, ManagedInstance>;
  /** In-flight launches not yet listed by EC2 and not expired, sorted by launchId. */
  unmatchedInFlight: UnmatchedInFlight[];
  /** Drains in progress, sorted by node name (abandoned voluntary drains are not). */
  drains: DrainInProgress[];
  /** Abandoned voluntary drains still holding their node out of voluntary scale-in (I9). */
  drainHolds: DrainInProgress[];
  /** Offerings that recently failed with a capacity error. */
  unavailableOfferings: UnavailableOffering[];
  /** Launch setups and quotas backed off (only those whose `until` is after now hold launches back). */
  backoffs: LaunchBackoff[];
  lastScaleOutAtMs: number | undefined;
}

/** The instance id a node belongs to: the agent's parsed field, else the providerID. */
export function instanceIdOfNode(node: SnapshotNode): string | undefined {
  return node.instanceId ?? parseProviderId(node.providerID)?.instanceId;
}

function byKey<T>(key: (t: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

/**
 * In-flight entries minus the instances EC2 already lists (in any state, terminated included)
 * for the same decision. A decision
 * can have several launch groups, so listed instances are matched per decision by count
 * (same instance type first, since the launcher may fall back to another type), in launchId
 * order; whatever is left is still in flight.
 */
function unmatchedInFlight(fleet: FleetState, nowMs: number): UnmatchedInFlight[] {
  const listedByDecision = new Map<string, ManagedInstance[]>();
  // Terminated instances count too: their launch happened, it is not on its way any more.
  for (const i of [...fleet.instances, ...(fleet.goneInstances ?? [])]) {
    if (!i.decisionId) continue;
    const list = listedByDecision.get(i.decisionId) ?? [];
    list.push(i);
    listedByDecision.set(i.decisionId, list);
  }
  const entries = fleet.inFlight
    .filter((e) => Date.parse(e.expiresAt) > nowMs)
    .sort(byKey((e) => e.launchId));
  const byDecision = new Map<string, InFlightLaunch[]>();
  for (const e of entries) {
    const list = byDecision.get(e.decisionId) ?? [];
    list.push(e);
    byDecision.set(e.decisionId, list);
  }
  const out: UnmatchedInFlight[] = [];
  for (const [decisionId, list] of byDecision) {
    const remaining = list.map((entry) => ({ entry, count: entry.count }));
    const listed = listedByDecision.get(decisionId) ?? [];
    const leftover: ManagedInstance[] = [];
    for (const inst of listed) {
      const slot = remaining.find((r) => r.count > 0 && r.entry.instanceType === inst.instanceType);
      if (slot) slot.count--;
      else leftover.push(inst);
    }
    for (const _ of leftover) {
      const slot = remaining.find((r) => r.count > 0);
      if (slot) slot.count--;
    }
    for (const r of remaining) if (r.count > 0) out.push(r);
  }
  return out.sort(byKey((u) => u.entry.launchId));
}

export function buildContext(args: {
  config: Config;
  catalog: Catalog;
  snapshot: ClusterSnapshot | undefined;
  fleet: FleetState;
  now: Date;
  decisionId: string;
  schedule: ActiveSchedule;
  /** When the control plane received the snapshot (its clock); default the snapshot's observedAt. */
  snapshotReceivedAt?: string | undefined;
}): PlanContext {
  const { config, snapshot, fleet, now } = args;
  const nowMs = now.getTime();
  // I12: age by the receiver's clock when it is known, never by the agent's alone.
  const snapshotAgeSeconds = snapshot
    ? (nowMs - Date.parse(args.snapshotReceivedAt ?? snapshot.observedAt)) / 1000
    : undefined;
  const agentStale = snapshotAgeSeconds === undefined || snapshotAgeSeconds > config.agent.staleAfterSeconds;
  const abandoned = snapshotAgeSeconds !== undefined && snapshotAgeSeconds > config.agent.abandonAfterSeconds;
  const poolMembers = fleet.instances
    .filter((i) => i.warmPool === 'member' && LIVE_STATES.has(i.state))
    .sort(byKey((i) => i.instanceId));
  const poolNodes = new Map<string, SnapshotNode>();
  let nodes = [...(snapshot?.nodes ?? [])].sort(byKey((n) => n.name));
  if (poolMembers.length > 0) {
    const byName = new Map(poolMembers.map((m) => [m.nodeName, m.instanceId]));
    const ids = new Set(poolMembers.map((m) => m.instanceId));
    nodes = nodes.filter((n) => {
      const id = instanceIdOfNode(n);
      const member = id !== undefined && ids.has(id) ? id : n.managed ? byName.get(n.name) : undefined;
      if (member === undefined || !n.managed) return true;
      poolNodes.set(member, n);
      return false;
    });
  }
  const nodesByName = new Map(nodes.map((n) => [n.name, n]));
  const nodesByInstanceId = new Map<string, SnapshotNode>();
  for (const n of nodes) {
    const id = instanceIdOfNode(n);
    if (id && !nodesByInstanceId.has(id)) nodesByInstanceId.set(id, n);
  }
  const onPremNodeNames = new Set<string>();
  const onPremInstanceIds = new Set<string>();
  for (const n of nodes) {
    if (n.managed) continue;
    onPremNodeNames.add(n.name);
    const id = instanceIdOfNode(n);
    if (id) onPremInstanceIds.add(id);
  }
  const liveInstances = fleet.instances
    .filter((i) => LIVE_STATES.has(i.state) && i.warmPool !== 'member')
    .sort(byKey((i) => i.instanceId));
  const inFlight = unmatchedInFlight(fleet, nowMs);
  return {
    config,
    catalog: args.catalog,
    now,
    nowMs,
    decisionId: args.decisionId,
    snapshot,
    schedule: args.schedule,
    snapshotAgeSeconds,
    agentStale,
    abandoned,
    nodesByName,
    nodesByInstanceId,
    managedNodes: nodes.filter((n) => n.managed),
    onPremNodeNames,
    onPremInstanceIds,
    liveInstances,
    poolMembers,
    poolNodes,
    liveIds: new Set(liveInstances.map((i) => i.instanceId)),
    instancesById: new Map(fleet.instances.map((i) => [i.instanceId, i])),
    unmatchedInFlight: inFlight.filter((u) => !u.entry.warmPool),
    warmFillsInFlight: inFlight.filter((u) => u.entry.warmPool === true),
    drains: fleet.drains.filter((d) => !d.abandonedAt).sort(byKey((d) => d.nodeName)),
    drainHolds: fleet.drains
      .filter((d) => d.abandonedAt && d.holdUntil && Date.parse(d.holdUntil) > nowMs)
      .sort(byKey((d) => d.nodeName)),
    unavailableOfferings: fleet.unavailableOfferings,
    backoffs: fleet.backoffs ?? [],
    lastScaleOutAtMs: fleet.lastScaleOutAt ? Date.parse(fleet.lastScaleOutAt) : undefined,
  };
}

/** The snapshot node of an instance: by recorded node name, else by providerID / instance id. */
export function nodeOfInstance(ctx: PlanContext, inst: ManagedInstance): SnapshotNode | undefined {
  return ctx.nodesByName.get(inst.nodeName) ?? ctx.nodesByInstanceId.get(inst.instanceId);
}

export { byKey };
