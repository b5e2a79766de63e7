/**
 * Janitor use-case: on a schedule, clean up what the event-driven path may have missed
 * (a lost event, a Lambda that failed after its retries, Tailscale down during a terminate):
 *
 * - **orphan instances** (I3): a tagged instance in pending/running launched more than
 *   `repairs.registrationTimeoutSeconds` ago with no Node in the latest snapshot — only when
 *   that snapshot is fresh (younger than `agent.staleAfterSeconds`), complete (not truncated)
 *   and observed after the instance's registration deadline. A stale or absent snapshot means
 *   we cannot see the cluster, so nothing is judged an orphan (stale-agent fail-safe, I8);
 *   abandonment after a long silence is reconcile's business, not the janitor's. An orphan
 *   terminated is a registration failure of its launch setup, as reconcile's registration-timeout
 *   terminations are: it counts toward `launch.backoff` (I10; an instance counted already is not
 *   counted again);
 * - **stale Tailscale devices** (I4): a device with our tag whose hostname is a managed node
 *   name (prefix + instance id) and whose instance is terminated / shutting-down, or not listed
 *   at all while the device has been offline for `tailscale.deviceStaleAfterSeconds`.
 *   Connected devices of unlisted instances are left alone (EC2's list may lag a launch);
 *   devices with other hostnames (e.g. a Pi that carries the tag) are never touched;
 * - **Node objects of terminated instances**: a managed node (never an on-prem one, I2) in a
 *   fresh snapshot whose instance is terminated / shutting-down, or not listed and NotReady →
 *   `DeleteNode` to the agent (which re-checks the node is ours before deleting).
 *
 * - **drain records** of instances that are terminated or no longer listed are forgotten.
 *
 * Only instances carrying this cluster's tag are ever listed or terminated (the fleet adapter
 * lists by tag and refuses untagged ids). Each kind of work is capped per run and the run
 * stops starting new actions after a time budget; what was left is counted and reported, the
 * next run continues. One failed action never stops the others.
 */

import { backoffKey, backoffPolicy, registrationFailureBackoffs } from '../core/backoff.js';
import { managedTag } from '../core/ids.js';
import {
  DEFAULT_JANITOR_LIMITS,
  instanceGone,
  type JanitorLimits,
  type JanitorPlan,
  planJanitor,
} from '../core/janitor.js';
import type {
  BusEntry,
  BusPort,
  Device,
  DeviceRegistryPort,
  FleetPort,
  StatePort,
  StoredSnapshot,
} from '../core/ports.js';
import { DeviceRegistryError, ForeignInstanceError } from '../core/ports.js';
import {
  type DeleteNode,
  DetailTypes,
  type InstanceTerminated,
  type ManagedInstance,
  SCHEMA_VERSION,
  Sources,
} from '../events/index.js';
import { type ControlBase, ControlMetrics, EmitFailedError, type Invocation } from './common.js';
import type { JanitorInput } from './inputs.js';

/** The ports the janitor needs. */
export interface JanitorDeps extends ControlBase {
  fleet: Pick<FleetPort, 'list' | 'terminate'>;
  devices: Pick<DeviceRegistryPort, 'listDevices' | 'deleteDevice'>;
  bus: BusPort;
  state: Pick<StatePort, 'getLatestSnapshot' | 'listDrains' | 'clearDrain' | 'listBackoffs' | 'putBackoff'>;
}

/** What one run did. */
export interface JanitorReport extends JanitorPlan {
  outcome: 'done';
  tickId: string;
  orphansTerminated: string[];
  /** Launch setups (backoff keys) the terminated orphans counted a failure against (I10). */
  backoffsRecorded: string[];
  devicesDeleted: string[];
  nodeDeletionsRequested: string[];
  /** Instance ids whose drain record was forgotten because the instance is gone. */
  drainsCleared: string[];
  /** Actions that failed (each also logged and counted); retried by the next run. */
  failures: { action: string; target: string; message: string }[];
  /** Actions not started because the time budget ran out. */
  outOfTime: number;
}

function msg(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}

/**
 * One janitor run: read, plan ({@link planJanitor}), act within the caps and time budget.
 * Throws only when the fleet cannot be listed (nothing can be judged without it); every
 * other failure is reported and left for the next run.
 */
export async function runJanitor(
  input: JanitorInput,
  deps: JanitorDeps,
  _invocation?: Invocation,
  limits: JanitorLimits = DEFAULT_JANITOR_LIMITS,
): Promise<JanitorReport> {
  const { config, log, metrics } = deps;
  const cluster = config.cluster.name;
  const startMs = deps.clock.now();
  const tag = managedTag(config);

  const instances = await deps.fleet.list({ includeTerminated: true });
  const failures: JanitorReport['failures'] = [];
  let stored: StoredSnapshot | undefined;
  let snapshotReadable = true;
  try {
    stored = await deps.state.getLatestSnapshot(cluster);
  } catch (err) {
    snapshotReadable = false; // treated as absent: fail-safe
    failures.push({ action: 'read-snapshot', target: cluster, message: msg(err) });
  }
  let devices: Device[] | undefined;
  try {
    devices = await deps.devices.listDevices({ tag });
  } catch (err) {
    if (err instanceof DeviceRegistryError && err.kind === 'auth')
      metrics.count(ControlMetrics.tailscaleAuthFailures);
    failures.push({ action: 'list-devices', target: tag, message: msg(err) });
  }

  const now = new Date(deps.clock.now());
  const plan = planJanitor({ config, now, instances, stored, devices, limits });
  if (!snapshotReadable) plan.skipped.push('the snapshot could not be read');
  if (plan.snapshot !== 'fresh') metrics.count(ControlMetrics.janitorFailSafeSkips);
  const cappedTotal = plan.capped.orphans + plan.capped.devices + plan.capped.nodes;
  if (cappedTotal > 0) metrics.count(ControlMetrics.janitorWorkCapped, cappedTotal);

  let outOfTime = 0;
  const inTime = (): boolean => {
    if (deps.clock.now() - startMs < limits.timeBudgetMs) return true;
    outOfTime++;
    return false;
  };

  // Orphans: terminate by id (the adapter re-checks the cluster tag).
  const orphansTerminated: string[] = [];
  const terminatedEvents: BusEntry[] = [];
  for (const o of plan.orphans) {
    if (!inTime()) continue;
    try {
      const r = await deps.fleet.terminate([o.instanceId]);
      orphansTerminated.push(o.instanceId);
      if (r.terminating.includes(o.instanceId)) {
        metrics.count(ControlMetrics.orphansTerminated);
        metrics.count(ControlMetrics.instancesTerminated);
      }
      log.warn('orphan instance terminated', { instanceId: o.instanceId, reason: o.reason });
      const detail: InstanceTerminated = {
        schemaVersion: SCHEMA_VERSION,
        cluster,
        instanceId: o.instanceId,
        nodeName: o.nodeName,
        reason: o.reason.slice(0, 1000),
        // Its device (if any) is in this run's device list; it never registered a Node.
        tailscaleDeviceDeleted: false,
        nodeDeletionRequested: false,
        terminatedAt: new Date(deps.clock.now()).toISOString(),
      };
      terminatedEvents.push({ source: Sources.janitor, detailType: DetailTypes.instanceTerminated, detail });
    } catch (err) {
      if (err instanceof ForeignInstanceError) metrics.count(ControlMetrics.foreignTerminateRefused);
      failures.push({ action: 'terminate-orphan', target: o.instanceId, message: msg(err) });
    }
  }

  const backoffsRecorded = await recordOrphanFailures(orphansTerminated, instances, deps, now, failures);

  // Devices of gone instances (and of the orphans just terminated).
  const devicesDeleted: string[] = [];
  for (const d of plan.devices) {
    if (!inTime()) continue;
    if (
      !orphansTerminated.includes(d.instanceId) &&
      plan.orphans.some((o) => o.instanceId === d.instanceId)
    ) {
      continue; // its orphan could not be terminated: keep the device of a live instance
    }
    try {
      const r = await deps.devices.deleteDevice(d.nodeId);
      devicesDeleted.push(d.nodeId);
      if (r === 'deleted') metrics.count(ControlMetrics.devicesDeleted);
      log.info('stale tailscale device deleted', {
        hostname: d.hostname,
        nodeId: d.nodeId,
        reason: d.reason,
      });
    } catch (err) {
      metrics.count(ControlMetrics.deviceDeleteFailures);
      failures.push({ action: 'delete-device', target: d.hostname, message: msg(err) });
    }
  }

  // Drain records of instances that are gone (their terminate ran elsewhere, or EC2 reclaimed
  // them): reconcile ignores them, but they would stay in the table forever.
  const drainsCleared: string[] = [];
  try {
    const byId = new Map(instances.map((i) => [i.instanceId, i]));
    const dead = (await deps.state.listDrains(cluster)).filter((d) => {
      const inst = byId.get(d.instanceId);
      return !inst || instanceGone(inst.state);
    });
    for (const d of dead.slice(0, limits.maxNodeDeletions)) {
      if (!inTime()) continue;
      await deps.state.clearDrain(cluster, d.instanceId);
      drainsCleared.push(d.instanceId);
    }
  } catch (err) {
    failures.push({ action: 'clear-drains', target: cluster, message: msg(err) });
  }

  // Node objects of gone instances: DeleteNode to the agent (which re-checks ownership).
  const nodeEntries: BusEntry[] = [];
  for (const n of plan.nodes) {
    if (!inTime()) continue;
    const detail: DeleteNode = {
      schemaVersion: SCHEMA_VERSION,
      cluster,
      nodeName: n.nodeName,
      instanceId: n.instanceId,
      reason: `janitor: ${n.reason}`,
    };
    nodeEntries.push({ source: Sources.janitor, detailType: DetailTypes.deleteNode, detail });
  }
  const nodeDeletionsRequested: string[] = [];
  const entries = [...nodeEntries, ...terminatedEvents];
  if (entries.length > 0) {
    const result = await deps.bus.put(entries).catch((err: unknown) => {
      failures.push({ action: 'put-events', target: `${entries.length} event(s)`, message: msg(err) });
      return undefined;
    });
    if (result) {
      const failed = new Set(result.failed.map((f) => f.index));
      nodeEntries.forEach((e, i) => {
        const name = (e.detail as DeleteNode).nodeName;
        if (failed.has(i))
          failures.push({ action: 'request-node-deletion', target: name, message: 'PutEvents entry failed' });
        else nodeDeletionsRequested.push(name);
      });
      if (result.failed.length > 0) {
        metrics.count(ControlMetrics.busPutFailures, result.failed.length);
        log.error('some janitor events could not be put on the bus', {
          error: new EmitFailedError(
            [],
            result.failed.map((f) => ({ ...f, detailType: entries[f.index]?.detailType ?? '?' })),
          ).message,
        });
      }
    }
  }
  if (nodeDeletionsRequested.length > 0) {
    metrics.count(ControlMetrics.nodeDeletionsRequested, nodeDeletionsRequested.length);
  }
  if (failures.length > 0) metrics.count(ControlMetrics.janitorFailures, failures.length);

  const report: JanitorReport = {
    outcome: 'done',
    tickId: input.tick.id,
    ...plan,
    orphansTerminated,
    backoffsRecorded,
    devicesDeleted,
    nodeDeletionsRequested,
    drainsCleared,
    failures,
    outOfTime,
  };
  log.info('janitor run finished', {
    snapshot: plan.snapshot,
    orphansTerminated: orphansTerminated.length,
    backoffsRecorded: backoffsRecorded.length,
    devicesDeleted: devicesDeleted.length,
    nodeDeletionsRequested: nodeDeletionsRequested.length,
    drainsCleared: drainsCleared.length,
    failures: failures.length,
    capped: plan.capped,
    outOfTime,
    skipped: plan.skipped,
  });
  return report;
}

/**
 * I10: the orphans just terminated never registered, like reconcile's registration-timeout
 * terminations, so each counts against its launch setup; without this a setup whose instances
 * only the janitor catches (reconcile's decision lost or crashed) would be launched again at
 * once, every janitor period. A failed read or write is reported; the next orphan of the setup
 * counts again.
 */
async function recordOrphanFailures(
  terminated: readonly string[],
  instances: readonly ManagedInstance[],
  deps: JanitorDeps,
  now: Date,
  failures: JanitorReport['failures'],
): Promise<string[]> {
  if (terminated.length === 0) return [];
  const { config, state, log, metrics } = deps;
  const cluster = config.cluster.name;
  const ids = new Set(terminated);
  const recorded: string[] = [];
  try {
    const updates = registrationFailureBackoffs({
      failed: instances.filter((i) => ids.has(i.instanceId)),
      backoffs: await state.listBackoffs(cluster, now),
      now,
      policy: backoffPolicy(config),
      registrationTimeoutSeconds: config.repairs.registrationTimeoutSeconds,
    });
    for (const b of updates) {
      await state.putBackoff(cluster, b);
      recorded.push(backoffKey(b));
      metrics.count(ControlMetrics.launchBackoffs);
      log.warn('launch setup backed off: its instances do not register (orphans terminated)', {
        instanceType: b.instanceType,
        capacityType: b.capacityType,
        imageId: b.imageId,
        failures: b.failures,
        until: b.until,
      });
    }
  } catch (err) {
    failures.push({
      action: 'record-backoff',
      target: terminated.join(' ').slice(0, 200),
      message: msg(err),
    });
  }
  return recorded;
}
