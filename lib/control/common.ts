/**
 * What every control-plane use-case shares: the metric names, the invocation context, event
 * rejection, and emitting to the bus with partial-failure reporting.
 *
 * Use-cases in `lib/control` are pure orchestration over the ports of `lib/core/ports.ts`:
 * no SDK imports, no environment, no wall clock (time comes from `clock`). The Lambda
 * handlers in `lambdas/` wire real adapters; tests wire fakes or moto-backed adapters.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type {
  BusEntry,
  BusPort,
  DeviceRegistryPort,
  FleetPort,
  PutFailure,
  SecretsPort,
  StatePort,
} from '../core/ports.js';
import type { Config } from '../events/index.js';

/** Metric names the control plane emits (namespace `k3s-burst`, dimensions service + cluster). */
export const ControlMetrics = {
  invalidEvents: 'InvalidEvents',
  duplicateEvents: 'DuplicateEvents',
  staleSnapshotsIgnored: 'StaleSnapshotsIgnored',
  /** reconcile: a snapshot dated (observedAt or seq) beyond the allowed clock skew ahead (I12). */
  futureSnapshotsRejected: 'FutureSnapshotsRejected',
  reconcileBusy: 'ReconcileBusy',
  pendingPods: 'PendingPods',
  managedNodes: 'ManagedNodes',
  snapshotAge: 'SnapshotAgeSeconds',
  decisionLatency: 'DecisionLatencyMs',
  launches: 'Launches',
  drains: 'Drains',
  terminations: 'Terminations',
  unhelpablePods: 'UnhelpablePods',
  instancesLaunched: 'InstancesLaunched',
  instancesReused: 'InstancesReused',
  instancesTerminated: 'InstancesTerminated',
  launchFailures: 'LaunchFailures',
  /** launch: a ScaleOutRequested the launch guard refused (forged, foreign, over the limits). */
  launchRequestsRefused: 'LaunchRequestsRefused',
  capacityLimitErrors: 'CapacityLimitErrors',
  /** A launch setup or quota was backed off (I10): alarmed. */
  launchBackoffs: 'LaunchBackoffs',
  /** A launch request held back entirely by a backoff. */
  launchesBackedOff: 'LaunchesBackedOff',
  /** A voluntary drain reached its deadline without emptying its node and was abandoned (I9). */
  drainsAbandoned: 'DrainsAbandoned',
  tailscaleKeyFailures: 'TailscaleKeyFailures',
  /**
   * launch / terminate / janitor: the Tailscale credential was refused (the OAuth client; with
   * workload identity federation the STS identity token, e.g. federation disabled in the
   * account, or its exchange at Tailscale). Not transient: an operator must fix the setting
   * the log line names. Alarmed.
   */
  tailscaleAuthFailures: 'TailscaleAuthFailures',
  foreignInstances: 'ForeignInstanceEvents',
  foreignTerminateRefused: 'ForeignTerminateRefused',
  devicesDeleted: 'TailscaleDevicesDeleted',
  orphansTerminated: 'OrphansTerminated',
  nodeDeletionsRequested: 'NodeDeletionsRequested',
  interruptions: 'Interruptions',
  rebalanceRecommendations: 'RebalanceRecommendations',
  /** interruption: reconcile asked to decide the replacement of an interrupted node (I11). */
  reconcilesRequested: 'ReconcilesRequested',
  busPutFailures: 'BusPutFailures',
  // terminate / janitor / interruption
  deviceDeleteFailures: 'TailscaleDeviceDeleteFailures',
  terminationsDeferred: 'TerminationsDeferred',
  /** terminate: a NodeDrained for a drain the control plane did not request (no record / other decision). */
  unrequestedDrainReports: 'UnrequestedDrainReports',
  janitorFailSafeSkips: 'JanitorFailSafeSkips',
  janitorWorkCapped: 'JanitorWorkCapped',
  janitorFailures: 'JanitorFailures',
  /** launch: warm-pool members started instead of launched (lib/core/warm-pool.ts). */
  warmStarts: 'WarmStarts',
  /** launch: a planned start that could not happen (capacity, not stopped, refused): launched instead. */
  warmStartFallbacks: 'WarmStartFallbacks',
  /** reconcile: warm-pool members stopped (parked). */
  warmParks: 'WarmParks',
  /** Instances a plan wanted to launch while the operator's pause was set. */
  launchesPaused: 'LaunchesPaused',
  /**
   * launch: no usable K3s join token (bootstrap-token mode: the agent's published token is
   * missing, malformed or too close to expiry), so nothing was launched.
   */
  joinTokenUnavailable: 'JoinTokenUnavailable',
  /** reconcile: burst stage durations (Seconds), one metric per stage (lib/core/stage-timings.ts STAGES). */
  stagePendingToDecision: 'StagePendingToDecisionSeconds',
  stageDecisionToRunning: 'StageDecisionToRunningSeconds',
  stageRunningToReady: 'StageRunningToReadySeconds',
  stageRegisteredToReady: 'StageRegisteredToReadySeconds',
  stagePodWait: 'StagePodWaitSeconds',
  /** reconcile: agent stage observations that were invalid, or durations whose timestamps cannot be right. */
  stageObservationsRejected: 'StageObservationsRejected',
  /** reconcile: stage timings could not be recorded (state read/write failed); the decision is unaffected. */
  stageTimingFailures: 'StageTimingFailures',
} as const;
export type ControlMetricName = (typeof ControlMetrics)[keyof typeof ControlMetrics];

/** What every use-case gets besides its ports. */
export interface ControlBase {
  config: Config;
  /** Use-cases only read the time (lib/core/clock.ts); the runtime's adapters also sleep on it. */
  clock: Pick<Clock, 'now'>;
  log: Logger;
  /** Powertools Metrics (EMF) in the Lambdas, a summing sink in the simulator (lib/core/metrics.ts). */
  metrics: Metrics<ControlMetricName>;
}

/**
 * Every port a use-case may need (the Lambda runtime builds them lazily). A use-case types its
 * parameter as the subset it uses, e.g. `ControlBase & Pick<ControlPorts, 'fleet' | 'bus'>`.
 */
export interface ControlPorts {
  fleet: FleetPort;
  bus: BusPort;
  state: StatePort;
  secrets: SecretsPort;
  devices: DeviceRegistryPort;
  images: ImageResolver;
}

/** The Lambda invocation a use-case runs in. */
export interface Invocation {
  /** Lambda `awsRequestId`: lease holder, and (same across Lambda's own retries) retry detection. */
  requestId: string;
}

/** The result of an event that was refused before anything was done. */
export interface RejectedResult {
  outcome: 'rejected';
  reason: string;
}

/** Base error of the control use-cases. */
export class ControlError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ControlError';
  }
}

/**
 * Some bus entries could not be put after the adapter's bounded retries. Thrown AFTER the
 * successful part was recorded, so Lambda's async retry redoes only idempotent work.
 */
export class EmitFailedError extends ControlError {
  constructor(
    readonly sent: string[],
    readonly failed: Array<PutFailure & { detailType: string }>,
  ) {
    super(
      `${failed.length} of ${sent.length + failed.length} event(s) could not be put on the bus ` +
        `(${failed
          .slice(0, 5)
          .map((f) => `${f.detailType}: ${f.errorCode}`)
          .join('; ')}); the invocation fails so Lambda retries it, and every step is idempotent`,
    );
    this.name = 'EmitFailedError';
  }
}

/** The few envelope fields safe to log about an event we refuse (never its detail). */
export function describeEvent(raw: unknown): Record<string, unknown> {
  if (!raw || typeof raw !== 'object') return { type: raw === null ? 'null' : typeof raw };
  const r = raw as Record<string, unknown>;
  const pick = (k: string) => (typeof r[k] === 'string' ? (r[k] as string).slice(0, 120) : undefined);
  return { id: pick('id'), source: pick('source'), detailType: pick('detail-type') };
}

/** Refuse an event: log why, count it, act on nothing, do not throw (a throw makes Lambda retry). */
export function rejectEvent(base: ControlBase, reason: string, raw: unknown): RejectedResult {
  base.log.warn('event rejected; nothing was done', { reason, event: describeEvent(raw) });
  base.metrics.count(ControlMetrics.invalidEvents);
  return { outcome: 'rejected', reason };
}

/**
 * Put entries on the bus; on entries that still fail after the adapter's retries, log what
 * was sent and what was not, count it and throw {@link EmitFailedError}.
 * @returns the detail types sent, in order
 */
export async function emitAll(
  bus: BusPort,
  entries: BusEntry[],
  base: Pick<ControlBase, 'log' | 'metrics'>,
): Promise<string[]> {
  if (entries.length === 0) return [];
  const result = await bus.put(entries);
  const failedIdx = new Set(result.failed.map((f) => f.index));
  const sent = entries.filter((_, i) => !failedIdx.has(i)).map((e) => e.detailType);
  if (result.failed.length > 0) {
    const failed = result.failed.map((f) => ({ ...f, detailType: entries[f.index]?.detailType ?? '?' }));
    base.metrics.count(ControlMetrics.busPutFailures, failed.length);
    base.log.error('some events could not be put on the bus', {
      sent,
      failed: failed.map((f) => ({ detailType: f.detailType, errorCode: f.errorCode })),
    });
    throw new EmitFailedError(sent, failed);
  }
  return sent;
}

export const SECONDS_PER_DAY = 24 * 3600;

/** The tag every managed node's Tailscale device carries (defined in core: the janitor's plan uses it). */
export { managedTag } from '../core/ids.js';

/** Resolves the AMI to boot for an architecture (SSM public parameter in production). */
export interface ImageResolver {
  /** The image id (`ami-…`) for `arch`; throws with the parameter name when it cannot be read. */
  imageFor(arch: 'arm64' | 'amd64'): Promise<string>;
}
