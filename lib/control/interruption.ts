/**
 * Interruption use-case: an EC2 Spot Instance Interruption Warning (the instance is reclaimed
 * two minutes after the event time) or a Rebalance Recommendation (elevated risk, no fixed
 * time) for one of this cluster's instances.
 *
 * It records, it does not decide capacity (I11: reconcile is the one writer of capacity):
 * 1. the interrupted or at-risk spot offering (type, zone, spot) is marked unavailable for
 *    `launch.unavailableOfferingTtlSeconds`, so new launches and the replacement go to other
 *    zones, types or on-demand. A rebalance recommendation stops here by default
 *    (`launch.rebalanceRecommendation: avoid`: a hint, no drain, as Karpenter); with `replace`
 *    it goes on like a warning, with the longer `scaleIn.drainTimeoutSeconds` deadline;
 * 2. the drain is RECORDED (deadline inside the two-minute notice for a warning,
 *    `scaleIn.drainTimeoutSeconds` for a rebalance recommendation; `replace` set) BEFORE
 *    `DrainNode` is sent: reconcile sees it at once, and terminate acts on the agent's
 *    `NodeDrained` only for a recorded drain (I12);
 * 3. `ReconcileRequested` asks reconcile to run: under its lease it plans room for the
 *    drained node's workload pods (lib/core/scale-out.ts, replacement shapes) before they are
 *    evicted. No `ScaleOutRequested` and no in-flight record come from here, and launch
 *    refuses a `ScaleOutRequested` from this source.
 *
 * EC2 events reach this function for every instance in the account (rules cannot filter by
 * tag): an instance this cluster's fleet does not list is ignored and counted, never acted
 * upon. Idempotent: a redelivery finds its drain recorded with the same deadline and sends the
 * same `DrainNode` again (the agent drains a node once), and reconcile's decision id derives
 * from the instance and the event time, so a redelivered request is decided once.
 */

import { decisionIdFor } from '../core/ids.js';
import { drainDeadline, interruptionDrainDecision } from '../core/interruption.js';
import type { BusEntry, BusPort, FleetPort, StatePort } from '../core/ports.js';
import {
  DetailTypes,
  type DrainInProgress,
  type DrainNode,
  type ReconcileRequested,
  SCHEMA_VERSION,
  Sources,
} from '../events/index.js';
import { type ControlBase, ControlMetrics, emitAll, type Invocation } from './common.js';
import type { InterruptionInput } from './inputs.js';

/** The ports interruption needs: it reads the fleet, records and asks; it launches nothing. */
export interface InterruptionDeps extends ControlBase {
  fleet: Pick<FleetPort, 'list'>;
  bus: BusPort;
  state: Pick<StatePort, 'listDrains' | 'recordDrain' | 'offeringCache'>;
}

/** Re-exported for callers of the use-case; defined with the deadline rule in lib/core/interruption.ts. */
export { MIN_DRAIN_MS, SPOT_DRAIN_MARGIN_MS, SPOT_NOTICE_MS } from '../core/interruption.js';

export type InterruptionResult =
  | {
      outcome: 'handled';
      kind: InterruptionInput['kind'];
      instanceId: string;
      nodeName: string;
      /** The drain deadline; empty when nothing is drained (a rebalance recommendation under `avoid`). */
      deadline: string;
      /** False when a drain with an earlier deadline was already requested, or none is wanted. */
      drainRequested: boolean;
      /** Reconcile was asked to decide the replacement (not for a rebalance recommendation under `avoid`). */
      reconcileRequested: boolean;
      emitted: string[];
    }
  /** Not an instance of this cluster (or already gone): nothing was done. */
  | { outcome: 'ignored'; instanceId: string; reason: string };

const LIVE_STATES = new Set(['pending', 'running', 'stopping', 'stopped']);

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
  const now = new Date(deps.clock.now());
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

  if (inst.capacityType === 'spot') {
    // The offering is interrupted or at risk (rebalance): new launches go elsewhere for a while.
    // A hint for the fallback order; losing it must not delay the drain.
    await deps.state
      .offeringCache(cluster)
      .markUnavailable({
        instanceType: inst.instanceType,
        zone: inst.zone || '*',
        capacityType: 'spot',
        until: new Date(now.getTime() + config.launch.unavailableOfferingTtlSeconds * 1000).toISOString(),
        reason: input.kind === 'spot-interruption' ? 'SpotInterruptionWarning' : 'RebalanceRecommendation',
      })
      .catch((err: unknown) =>
        log.warn('interrupted offering could not be marked unavailable', {
          message: err instanceof Error ? err.message.slice(0, 200) : String(err),
        }),
      );
  }

  if (input.kind === 'rebalance' && config.launch.rebalanceRecommendation === 'avoid') {
    // A hint, not a reclaim: the offering is marked at risk above; nothing is drained (as
    // Karpenter by default). launch.rebalanceRecommendation=replace drains and replaces.
    log.info('rebalance recommendation: offering marked at risk, node kept', {
      instanceId,
      offering: `${inst.instanceType}/${inst.zone}/${inst.capacityType}`,
    });
    return {
      outcome: 'handled',
      kind: input.kind,
      instanceId,
      nodeName: inst.nodeName,
      deadline: '',
      drainRequested: false,
      reconcileRequested: false,
      emitted: [],
    };
  }

  const existing = (await deps.state.listDrains(cluster)).find((d) => d.instanceId === instanceId);
  const { drainRequested, sameAsRecorded } = interruptionDrainDecision(existing, decisionId, deadline);

  const entries: BusEntry[] = [];
  if (drainRequested) {
    // Recorded BEFORE the DrainNode is sent: reconcile (replacement) and terminate (I12) see it.
    const record: DrainInProgress = {
      nodeName: inst.nodeName,
      instanceId,
      requestedAt: existing && sameAsRecorded ? existing.requestedAt : now.toISOString(),
      deadline: deadline.toISOString(),
      reason,
      decisionId,
      disruption: 'involuntary',
      replace: true,
    };
    if (!sameAsRecorded) {
      await deps.state.recordDrain(cluster, record);
      metrics.count(ControlMetrics.drains);
    }
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
  const request: ReconcileRequested = {
    schemaVersion: SCHEMA_VERSION,
    cluster,
    instanceId,
    reason,
    requestedAt: input.time,
  };
  entries.push({ source: Sources.interruption, detailType: DetailTypes.reconcileRequested, detail: request });
  const emitted = await emitAll(deps.bus, entries, deps);
  metrics.count(ControlMetrics.reconcilesRequested);

  log.info('interruption recorded; reconcile decides the replacement', {
    instanceId,
    kind: input.kind,
    nodeName: inst.nodeName,
    deadline: deadline.toISOString(),
    drainRequested,
  });
  return {
    outcome: 'handled',
    kind: input.kind,
    instanceId,
    nodeName: inst.nodeName,
    deadline: deadline.toISOString(),
    drainRequested,
    reconcileRequested: true,
    emitted,
  };
}
