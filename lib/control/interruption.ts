/**
 * Interruption use-case: an EC2 Spot Instance Interruption Warning (the instance is reclaimed
 * two minutes after the event time) or a Rebalance Recommendation (elevated risk, no fixed
 * time) for one of this cluster's instances:
 *
 * 1. drain now: `DrainNode` with a deadline inside the two-minute notice (warning) or
 *    `scaleIn.drainTimeoutSeconds` from now (rebalance); the drain is recorded, so reconcile
 *    terminates at the deadline and the agent's `NodeDrained` reaches terminate;
 * 2. request a replacement in parallel: one `ScaleOutRequested` for the same instance type
 *    first, then the other candidate types of the same architecture, recorded as in-flight
 *    capacity BEFORE it is emitted (so reconcile, seeing the evicted pods pending, does not
 *    launch again) — unless the node is known empty, or the replacement would exceed the
 *    active schedule's max (I1: the interrupted instance still counts until it is gone).
 *    For a spot warning the interrupted offering (type, zone, spot) is marked unavailable so
 *    the launch falls back to other zones, types or on-demand.
 *
 * EC2 events reach this function for every instance in the account (rules cannot filter by
 * tag): an instance this cluster's fleet does not list is ignored and counted, never acted
 * upon. Idempotent: the replacement's decision and launch ids derive from the instance id
 * (a redelivery, or a warning after a rebalance recommendation, yields the same launch, which
 * the launch function de-duplicates by its launch key), and a drain already recorded with
 * an earlier or equal deadline is not requested again.
 */

import { buildCatalog } from '../core/catalog.js';
import { decisionIdFor } from '../core/ids.js';
import { checkScaleOutRequest } from '../core/launch-guard.js';
import type { BusEntry, BusPort, FleetPort, StatePort } from '../core/ports.js';
import { activeSchedule } from '../core/schedule.js';
import {
  type Arch,
  DetailTypes,
  type DrainInProgress,
  type DrainNode,
  type InFlightLaunch,
  type ManagedInstance,
  type PlannedLaunch,
  SCHEMA_VERSION,
  type ScaleOutRequested,
  Sources,
} from '../events/index.js';
import { type ControlBase, ControlMetrics, emitAll, type Invocation, inFlightRecord } from './common.js';
import type { InterruptionInput } from './inputs.js';

/** The ports interruption needs. */
export interface InterruptionDeps extends ControlBase {
  fleet: Pick<FleetPort, 'list'>;
  bus: BusPort;
  state: Pick<
    StatePort,
    'listDrains' | 'recordDrain' | 'listInFlight' | 'recordInFlight' | 'getLatestSnapshot' | 'offeringCache'
  >;
}

/** AWS reclaims a spot instance this long after the warning's event time. */
export const SPOT_NOTICE_MS = 120_000;
/** The drain must end this long before the reclaim, so terminate can clean up first. */
export const SPOT_DRAIN_MARGIN_MS = 20_000;
/** A drain deadline is never closer than this to now (the agent needs a moment to start). */
export const MIN_DRAIN_MS = 10_000;

export type ReplacementDecision =
  | { requested: true; launchId: string; instanceTypes: string[] }
  | { requested: false; reason: string };

export type InterruptionResult =
  | {
      outcome: 'handled';
      kind: InterruptionInput['kind'];
      instanceId: string;
      nodeName: string;
      deadline: string;
      /** False when a drain with an earlier or equal deadline was already requested. */
      drainRequested: boolean;
      replacement: ReplacementDecision;
      emitted: string[];
    }
  /** Not an instance of this cluster (or already gone): nothing was done. */
  | { outcome: 'ignored'; instanceId: string; reason: string };

const LIVE_STATES = new Set(['pending', 'running', 'stopping', 'stopped']);

/** The drain deadline for an interruption input. */
export function drainDeadline(input: InterruptionInput, now: Date, drainTimeoutSeconds: number): Date {
  const floor = now.getTime() + MIN_DRAIN_MS;
  if (input.kind === 'spot-interruption') {
    return new Date(Math.max(floor, Date.parse(input.time) + SPOT_NOTICE_MS - SPOT_DRAIN_MARGIN_MS));
  }
  return new Date(Math.max(floor, now.getTime() + drainTimeoutSeconds * 1000));
}

/** Decide the replacement launch group, or why there is none. Pure. */
export function planReplacement(args: {
  deps: Pick<ControlBase, 'config'>;
  instance: ManagedInstance;
  input: InterruptionInput;
  liveInstances: ManagedInstance[];
  allInstances: ManagedInstance[];
  inFlight: InFlightLaunch[];
  nodeWorkloadPods: number | undefined;
  now: Date;
}): { launch: PlannedLaunch; decisionId: string; inFlight: InFlightLaunch } | { skip: string } {
  const { config } = args.deps;
  const inst = args.instance;
  const cluster = config.cluster.name;
  const decisionId = decisionIdFor(cluster, `replace:${inst.instanceId}`);
  const launchId = `${decisionId}-r`;
  if (args.nodeWorkloadPods === 0) {
    return { skip: `node ${inst.nodeName} runs no workload pods (fresh snapshot): nothing to replace` };
  }
  if (args.allInstances.some((i) => i.decisionId === decisionId)) {
    return { skip: `a replacement for ${inst.instanceId} was launched already (decision ${decisionId})` };
  }
  const catalog = buildCatalog(config);
  const spec = catalog.get(inst.instanceType);
  const arch: Arch | undefined = spec?.arch;
  if (!arch) {
    return {
      skip: `instance type ${inst.instanceType} is not in the catalog; reconcile replaces the capacity once the pods are pending`,
    };
  }
  // I1: the interrupted instance still counts (it is live until EC2 reclaims it).
  const max = activeSchedule(config, args.now).maxNodes;
  const listedDecisions = new Map<string, number>();
  for (const i of args.liveInstances)
    listedDecisions.set(i.decisionId, (listedDecisions.get(i.decisionId) ?? 0) + 1);
  const alreadyInFlight = args.inFlight.some((f) => f.launchId === launchId);
  const unmatchedInFlight = args.inFlight
    .filter((f) => f.launchId !== launchId)
    .reduce((sum, f) => sum + Math.max(0, f.count - (listedDecisions.get(f.decisionId) ?? 0)), 0);
  const occupied = args.liveInstances.length + unmatchedInFlight;
  if (!alreadyInFlight && occupied + 1 > max) {
    return {
      skip: `a replacement would make ${occupied + 1} managed instances, over the active max of ${max}; reconcile replaces the capacity once ${inst.instanceId} is gone`,
    };
  }
  const sameArch = config.nodes.candidateTypes.filter(
    (t) => t !== inst.instanceType && catalog.get(t)?.arch === arch,
  );
  const instanceTypes = [inst.instanceType, ...sameArch];
  const capacityTypes = [...config.nodes.capacityTypes];
  const preferred = capacityTypes[0] ?? 'on-demand';
  const what =
    args.input.kind === 'spot-interruption' ? 'spot interruption warning' : 'rebalance recommendation';
  const launch: PlannedLaunch = {
    launchId,
    instanceTypes,
    capacityTypes,
    arch,
    count: 1,
    zones: [],
    shapeIds: [],
    podsCovered: args.nodeWorkloadPods ?? 0,
    estimatedHourlyUsd: catalog.hourlyUsd(inst.instanceType, preferred),
    reason: `replace ${inst.instanceId} (${inst.instanceType}, ${inst.capacityType}, ${inst.zone}) after a ${what}`,
  };
  // The launch guard (I12) charges a request for its dearest / biggest fallback: keep only the
  // fallbacks that fit the limits on their own, so the request launch receives is one it accepts.
  const verdictFor = (types: string[]) => {
    const l = { ...launch, instanceTypes: types };
    const record = inFlightRecord(decisionId, l, args.now, config.launch.inFlightTtlSeconds);
    return checkScaleOutRequest({
      config,
      request: {
        schemaVersion: SCHEMA_VERSION,
        cluster,
        decisionId,
        launch: l,
        requestedAt: args.now.toISOString(),
      },
      inFlight: [...args.inFlight.filter((f) => f.launchId !== launchId), record],
      instances: args.liveInstances,
      now: args.now,
    });
  };
  const alone = verdictFor([inst.instanceType]);
  if (!alone.ok) {
    return {
      skip: `no replacement for ${inst.instanceId}: ${alone.reason}; reconcile replaces the capacity once the pods are pending`,
    };
  }
  launch.instanceTypes = [
    inst.instanceType,
    ...sameArch.filter((t) => verdictFor([inst.instanceType, t]).ok),
  ];
  const inFlight = inFlightRecord(decisionId, launch, args.now, config.launch.inFlightTtlSeconds);
  return { launch, decisionId, inFlight };
}

/**
 * Handle one interruption warning or rebalance recommendation (see the module comment).
 * Throws (so Lambda retries, within the event's 2-minute max age) only when EC2, DynamoDB
 * or the bus cannot be reached.
 */
export async function handleInterruption(
  input: InterruptionInput,
  deps: InterruptionDeps,
  _invocation?: Invocation,
): Promise<InterruptionResult> {
  const { config, log, metrics } = deps;
  const cluster = config.cluster.name;
  const now = deps.clock();
  const { instanceId } = input;

  const all = await deps.fleet.list({ includeTerminated: true });
  const inst = all.find((i) => i.instanceId === instanceId);
  if (!inst) {
    metrics.count(ControlMetrics.foreignInstances);
    log.info('interruption for an instance this cluster does not manage; ignored', {
      instanceId,
      kind: input.kind,
    });
    return {
      outcome: 'ignored',
      instanceId,
      reason: `${instanceId} does not carry the k3s-burst:cluster=${cluster} tag`,
    };
  }
  if (!LIVE_STATES.has(inst.state)) {
    log.info('interruption for an instance already going away; ignored', { instanceId, state: inst.state });
    return { outcome: 'ignored', instanceId, reason: `${instanceId} is already ${inst.state}` };
  }
  metrics.count(
    input.kind === 'spot-interruption'
      ? ControlMetrics.interruptions
      : ControlMetrics.rebalanceRecommendations,
  );

  const deadline = drainDeadline(input, now, config.scaleIn.drainTimeoutSeconds);
  const what =
    input.kind === 'spot-interruption'
      ? `spot interruption warning (${input.action})`
      : 'rebalance recommendation';
  const reason = `${what} for ${instanceId} at ${input.time}`;
  const decisionId = decisionIdFor(cluster, `replace:${instanceId}`);

  const existing = (await deps.state.listDrains(cluster)).find((d) => d.instanceId === instanceId);
  // A voluntary drain (or an abandoned one's hold) is superseded: this one is involuntary (I9).
  const drainRequested =
    !existing ||
    existing.disruption === 'voluntary' ||
    existing.abandonedAt !== undefined ||
    Date.parse(existing.deadline) > deadline.getTime();

  // Replacement: decided from the fleet, in-flight launches and (when fresh) the snapshot.
  // The snapshot only refines the replacement (empty node → none): unreadable is not fatal.
  const stored = await deps.state.getLatestSnapshot(cluster).catch((err: unknown) => {
    log.warn('latest snapshot could not be read; replacing without knowing the node load', {
      message: err instanceof Error ? err.message.slice(0, 200) : String(err),
    });
    return undefined;
  });
  const snapAgeS = stored ? (now.getTime() - Date.parse(stored.storedAt)) / 1000 : undefined;
  const node =
    stored && snapAgeS !== undefined && snapAgeS <= config.agent.staleAfterSeconds
      ? stored.snapshot.nodes.find((n) => n.name === inst.nodeName)
      : undefined;
  const plan = planReplacement({
    deps,
    instance: inst,
    input,
    liveInstances: all.filter((i) => LIVE_STATES.has(i.state)),
    allInstances: all,
    inFlight: await deps.state.listInFlight(cluster, now),
    nodeWorkloadPods: node?.workloadPodCount,
    now,
  });

  if (input.kind === 'spot-interruption' && inst.capacityType === 'spot') {
    // A hint for the launch's fallback order; losing it must not delay the drain.
    await deps.state
      .offeringCache(cluster)
      .markUnavailable({
        instanceType: inst.instanceType,
        zone: inst.zone || '*',
        capacityType: 'spot',
        until: new Date(now.getTime() + config.launch.unavailableOfferingTtlSeconds * 1000).toISOString(),
      })
      .catch((err: unknown) =>
        log.warn('interrupted offering could not be marked unavailable', {
          message: err instanceof Error ? err.message.slice(0, 200) : String(err),
        }),
      );
  }

  const entries: BusEntry[] = [];
  if (drainRequested) {
    const drain: DrainNode = {
      schemaVersion: SCHEMA_VERSION,
      cluster,
      decisionId,
      nodeName: inst.nodeName,
      instanceId,
      reason,
      deadline: deadline.toISOString(),
      disruption: 'involuntary',
    };
    entries.push({ source: Sources.interruption, detailType: DetailTypes.drainNode, detail: drain });
  }
  let replacement: ReplacementDecision;
  if ('launch' in plan) {
    // In-flight first: from now on reconcile counts it as capacity (no second launch).
    await deps.state.recordInFlight(cluster, [plan.inFlight]);
    const request: ScaleOutRequested = {
      schemaVersion: SCHEMA_VERSION,
      cluster,
      decisionId: plan.decisionId,
      launch: plan.launch,
      requestedAt: now.toISOString(),
    };
    entries.push({
      source: Sources.interruption,
      detailType: DetailTypes.scaleOutRequested,
      detail: request,
    });
    replacement = {
      requested: true,
      launchId: plan.launch.launchId,
      instanceTypes: plan.launch.instanceTypes,
    };
  } else {
    replacement = { requested: false, reason: plan.skip };
    metrics.count(ControlMetrics.replacementsSkipped);
  }

  const emitted = await emitAll(deps.bus, entries, deps);
  if (drainRequested) {
    // Recorded after the DrainNode is on the bus, so a retry after a failed put re-sends it.
    const record: DrainInProgress = {
      nodeName: inst.nodeName,
      instanceId,
      requestedAt: now.toISOString(),
      deadline: deadline.toISOString(),
      reason,
      decisionId,
      disruption: 'involuntary',
    };
    await deps.state.recordDrain(cluster, record);
    metrics.count(ControlMetrics.drains);
  }
  if (replacement.requested) metrics.count(ControlMetrics.replacementsRequested);

  log.info('interruption handled', {
    instanceId,
    kind: input.kind,
    nodeName: inst.nodeName,
    deadline: deadline.toISOString(),
    drainRequested,
    replacement,
  });
  return {
    outcome: 'handled',
    kind: input.kind,
    instanceId,
    nodeName: inst.nodeName,
    deadline: deadline.toISOString(),
    drainRequested,
    replacement,
    emitted,
  };
}
