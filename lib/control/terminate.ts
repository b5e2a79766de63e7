/**
 * Terminate use-case: on `TerminateRequested` (reconcile: scale-in, repair, drain deadline
 * passed, abandonment; interruption) or `NodeDrained` (the agent finished a drain), remove one
 * managed instance completely.
 *
 * A `NodeDrained` acts only when a drain record of that instance exists and names the same
 * decision (I12: reconcile and interruption write it when they ask for the drain); otherwise
 * it is ignored and counted (`UnrequestedDrainReports`), so the agent's key alone cannot
 * terminate a node. The node name then comes from the record, not from the report. A real
 * drain whose report was lost still ends at its deadline (reconcile terminates then).
 *
 * 1. terminate it by instance id — the fleet adapter refuses ids without this cluster's tag
 *    ({@link ForeignInstanceError}): then NOTHING else is done, the refusal is logged and counted;
 * 2. delete its Tailscale device(s) (hostname = prefix + instance id, our tag). This also cuts the node
 *    off from the K3s server (the tailnet is its only path), so a kubelet still running during
 *    shutdown cannot re-register the Node deleted in the next step. A Tailscale failure does
 *    not stop the termination: the device is left for the janitor (counted, reported);
 * 3. ask the agent to delete the Node object (`DeleteNode` carries the instance id; the agent
 *    refuses nodes that are not this cluster's managed node of that instance, I2);
 * 4. forget the drain record and emit `InstanceTerminated`.
 *
 * Idempotent: every step tolerates having been done before (already-gone instance, device
 * not found, Node not found, drain not recorded), so a retry after a failure in the middle
 * and a redelivery both simply redo them. The event id is remembered after the last step, so
 * a redelivery is recognised (`redelivered`, `DuplicateEvents` metric).
 */
import type {
  BusEntry,
  BusPort,
  Device,
  DeviceRegistryPort,
  FleetPort,
  StatePort,
  TerminateResult,
} from '../core/ports.js';
import { DeviceRegistryError, ForeignInstanceError } from '../core/ports.js';
import { TERMINATE_AFTER } from '../core/terminate.js';
import {
  type DeleteNode,
  DetailTypes,
  type InstanceTerminated,
  SCHEMA_VERSION,
  Sources,
} from '../events/index.js';
import {
  type ControlBase,
  ControlMetrics,
  emitAll,
  type Invocation,
  managedTag,
  SECONDS_PER_DAY,
} from './common.js';
import type { TerminateInput } from './inputs.js';

/** The ports terminate needs. */
export interface TerminateDeps extends ControlBase {
  fleet: Pick<FleetPort, 'list' | 'terminate'>;
  devices: Pick<DeviceRegistryPort, 'listDevices' | 'deleteDevice'>;
  bus: BusPort;
  state: Pick<StatePort, 'clearDrain' | 'markEventSeen' | 'listDrains'>;
}

/** How long a handled event id is remembered (EventBridge retries terminate for up to 6 h). */
export const TERMINATE_DEDUP_SECONDS = SECONDS_PER_DAY;

export type DeviceCleanup =
  /** Every device with this hostname and our tag was deleted (`deleted` of them). */
  | { outcome: 'deleted'; deleted: number }
  /** No device with this hostname and our tag exists. */
  | { outcome: 'absent' }
  /** Tailscale could not be reached or refused: the device is left for the janitor. */
  | { outcome: 'failed'; kind: string; message: string };

export type TerminateResultOutcome =
  | {
      outcome: 'terminated';
      instanceId: string;
      nodeName: string;
      /** EC2 accepted the termination now (false: it was already gone). */
      terminatedNow: boolean;
      device: DeviceCleanup;
      emitted: string[];
      /** This event id had been handled completely before (a redelivery): nothing new was done. */
      redelivered: boolean;
    }
  /** The instance does not carry this cluster's tag: nothing was done. */
  | { outcome: 'refused'; instanceId: string; reason: string }
  /** A NodeDrained whose outcome does not allow termination (blocked / refused). */
  | { outcome: 'deferred'; instanceId: string; reason: string }
  /** A voluntary drain the agent abandoned (I9): the node is uncordoned and kept, never terminated for it. */
  | { outcome: 'kept'; instanceId: string; reason: string }
  /** A NodeDrained for a drain that was not requested (no drain record of that instance and decision). */
  | { outcome: 'ignored'; instanceId: string; reason: string };

interface Target {
  instanceId: string;
  nodeName: string | undefined;
  reason: string;
  decisionId: string;
}

function targetOf(input: TerminateInput): Target {
  if (input.kind === 'terminate-requested') {
    const r = input.request;
    return { instanceId: r.instanceId, nodeName: r.nodeName, reason: r.reason, decisionId: r.decisionId };
  }
  const d = input.drained;
  return {
    instanceId: d.instanceId,
    nodeName: d.nodeName,
    reason: `drain ${d.outcome}${d.decisionId ? ` (decision ${d.decisionId})` : ''}: ${d.evictedPods} pods evicted${
      d.blockingPods.length ? `, ${d.blockingPods.length} left behind` : ''
    }`,
    decisionId: d.decisionId,
  };
}

/** Hostname comparison as Tailscale does it (case-insensitive, no trailing dot). */
function sameHost(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');
}

/**
 * Delete every tagged device whose hostname is the node name. Never throws: a Tailscale
 * failure is logged, counted and returned, and the janitor removes the device later (I4).
 */
export async function deleteDevicesOf(
  nodeName: string,
  deps: Pick<TerminateDeps, 'devices' | 'config' | 'log' | 'metrics'>,
): Promise<DeviceCleanup> {
  const tag = managedTag(deps.config);
  try {
    const devices: Device[] = await deps.devices.listDevices({ tag });
    const mine = devices.filter((d) => sameHost(d.hostname, nodeName) && d.tags.includes(tag));
    if (mine.length === 0) return { outcome: 'absent' };
    let deleted = 0;
    for (const d of mine.slice(0, 10)) {
      const r = await deps.devices.deleteDevice(d.nodeId);
      if (r === 'deleted') deleted++;
    }
    if (deleted > 0) deps.metrics.count(ControlMetrics.devicesDeleted, deleted);
    deps.log.info('tailscale device(s) of the node deleted', { nodeName, deleted, found: mine.length });
    return { outcome: 'deleted', deleted };
  } catch (err) {
    const kind = err instanceof DeviceRegistryError ? err.kind : 'unexpected';
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 300);
    deps.metrics.count(ControlMetrics.deviceDeleteFailures);
    if (kind === 'auth') deps.metrics.count(ControlMetrics.tailscaleAuthFailures);
    deps.log.warn('tailscale device could not be deleted; the janitor will remove it', {
      nodeName,
      kind,
      message,
    });
    return { outcome: 'failed', kind, message };
  }
}

/**
 * Terminate one instance and clean up after it (see the module comment for the steps).
 * Throws (so Lambda retries the event) only when EC2 or the bus cannot be reached; every
 * step before the failure is idempotent.
 */
export async function terminate(
  input: TerminateInput,
  deps: TerminateDeps,
  _invocation?: Invocation,
): Promise<TerminateResultOutcome> {
  const { config, log, metrics } = deps;
  const cluster = config.cluster.name;
  const target = targetOf(input);
  const { instanceId } = target;

  if (input.kind === 'node-drained') {
    // I12: the agent's word alone terminates nothing. Only a drain the control plane asked
    // for (recorded with its decision before the DrainNode was sent) may end in termination;
    // the node name comes from that record, not from the report.
    const d = input.drained;
    const drain = (await deps.state.listDrains(cluster)).find((r) => r.instanceId === instanceId);
    const matches = drain !== undefined && (!drain.decisionId || drain.decisionId === d.decisionId);
    if (!drain || !matches) {
      const reason = drain
        ? `NodeDrained for ${instanceId} names decision "${d.decisionId.slice(0, 80)}", but the drain was requested by decision "${drain.decisionId ?? ''}"`
        : `NodeDrained for ${instanceId} (${d.nodeName.slice(0, 80)}), but no drain of that instance was requested`;
      metrics.count(ControlMetrics.unrequestedDrainReports);
      log.warn(
        'drain report ignored: terminate acts only on drains it requested (reconcile terminates at a real drain deadline)',
        {
          instanceId,
          decisionId: d.decisionId.slice(0, 80),
          outcome: d.outcome,
          eventId: input.eventId,
          reason,
        },
      );
      return { outcome: 'ignored', instanceId, reason };
    }
    target.nodeName = drain.nodeName;
  }

  if (input.kind === 'node-drained' && input.drained.outcome === 'abandoned') {
    // I9: a voluntary drain that could not finish without force ends with the node kept: the
    // agent uncordoned it, and reconcile turns the record into a scale-in hold at its deadline.
    const reason = `voluntary drain of ${target.nodeName ?? input.drained.nodeName} was abandoned (a pod could not be evicted without force, I9): the agent uncordoned the node and the instance is kept, not terminated; reconcile keeps the node out of scale-in for scaleIn.abandonedDrainHoldSeconds once the drain deadline passes`;
    log.info('voluntary drain abandoned; the instance is kept', {
      instanceId,
      reason,
      blockingPods: input.drained.blockingPods.length,
    });
    return { outcome: 'kept', instanceId, reason };
  }

  if (input.kind === 'node-drained' && !TERMINATE_AFTER.has(input.drained.outcome)) {
    // blocked: pods that must not be evicted are still there; refused: the agent says the
    // node is not ours. Either way the drain record stays, and reconcile terminates at the
    // drain deadline (the deadline is the contract) — never earlier than the user allowed.
    const reason = `drain of ${input.drained.nodeName} ended "${input.drained.outcome}"; the instance is terminated at the drain deadline, not now`;
    log.info('termination deferred', { instanceId, reason, blockingPods: input.drained.blockingPods.length });
    metrics.count(ControlMetrics.terminationsDeferred);
    return { outcome: 'deferred', instanceId, reason };
  }

  const seenKey = `terminate:${cluster}:${input.eventId}`;

  // 1. Terminate (the adapter verifies the cluster tag first and terminates nothing if absent).
  let result: TerminateResult;
  try {
    result = await deps.fleet.terminate([instanceId]);
  } catch (err) {
    if (err instanceof ForeignInstanceError) {
      metrics.count(ControlMetrics.foreignTerminateRefused);
      log.error('refused to terminate an instance without this cluster tag; nothing was done', {
        instanceId,
        decisionId: target.decisionId,
        reason: target.reason.slice(0, 300),
      });
      return { outcome: 'refused', instanceId, reason: err.message };
    }
    throw err;
  }
  const terminatedNow = result.terminating.includes(instanceId);

  if (terminatedNow) {
    metrics.count(ControlMetrics.instancesTerminated);
    metrics.count(ControlMetrics.terminations);
  }

  // Node name: from the event, else the fleet's record, else prefix + instance id.
  const nodeName = target.nodeName || (await nodeNameFromFleet(deps, instanceId));

  // 2. Tailscale device (never blocks the termination). Looked up by the hostname every
  // managed node gets (prefix + instance id), never by the event's node name: a wrong name in
  // an event must not delete another machine's device (a Pi may carry the same tag).
  const device = await deleteDevicesOf(`${config.nodes.namePrefix}${instanceId}`, deps);

  // 3 + 4. DeleteNode to the agent, InstanceTerminated for everyone else.
  const now = new Date(deps.clock.now());
  const deleteNode: DeleteNode = {
    schemaVersion: SCHEMA_VERSION,
    cluster,
    nodeName,
    instanceId,
    reason: `instance ${instanceId} terminated: ${target.reason}`.slice(0, 1000),
  };
  const terminated: InstanceTerminated = {
    schemaVersion: SCHEMA_VERSION,
    cluster,
    instanceId,
    nodeName,
    reason: target.reason.slice(0, 1000),
    tailscaleDeviceDeleted: device.outcome !== 'failed',
    nodeDeletionRequested: true,
    terminatedAt: now.toISOString(),
  };
  const entries: BusEntry[] = [
    { source: Sources.terminate, detailType: DetailTypes.deleteNode, detail: deleteNode, resources: [] },
    {
      source: Sources.terminate,
      detailType: DetailTypes.instanceTerminated,
      detail: terminated,
      resources: [],
    },
  ];
  const emitted = await emitAll(deps.bus, entries, deps);
  metrics.count(ControlMetrics.nodeDeletionsRequested);

  await deps.state.clearDrain(cluster, instanceId);

  // Remembered only now, after every step succeeded: a retry after a failure above must redo
  // them. A redelivery of a fully handled event has re-run idempotent steps only (the instance
  // was already gone, the device absent); it is counted, and its events carry nothing new.
  const firstTime = await deps.state.markEventSeen(seenKey, now, TERMINATE_DEDUP_SECONDS);
  if (!firstTime) metrics.count(ControlMetrics.duplicateEvents);

  log.info('instance terminated and cleaned up', {
    instanceId,
    nodeName,
    terminatedNow,
    device: device.outcome,
    trigger: input.kind,
    redelivered: !firstTime,
  });
  return {
    outcome: 'terminated',
    instanceId,
    nodeName,
    terminatedNow,
    device,
    emitted,
    redelivered: !firstTime,
  };
}

async function nodeNameFromFleet(deps: TerminateDeps, instanceId: string): Promise<string> {
  try {
    const listed = await deps.fleet.list({ includeTerminated: true });
    const hit = listed.find((i) => i.instanceId === instanceId);
    if (hit?.nodeName) return hit.nodeName;
  } catch (err) {
    deps.log.warn('could not list the fleet to find the node name; using prefix + instance id', {
      instanceId,
      message: err instanceof Error ? err.message.slice(0, 200) : String(err),
    });
  }
  return `${deps.config.nodes.namePrefix}${instanceId}`;
}
