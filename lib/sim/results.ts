/**
 * What a simulation run produces: the time series behind the report's charts, the decisions
 * as the report shows them, the run's counters and the violations the invariant checker found.
 * Plain data — the engine and its world models fill it in, the summary and report read it.
 */
import type { CapacityType } from '../events/index.js';
import type { CheckCoverage, Violation } from './invariants.js';

/** One point of the time series behind the report's charts. */
export interface Sample {
  atMs: number;
  pendingPods: number;
  unschedulablePods: number;
  runningPods: number;
  onPremReady: number;
  cloudInstances: number;
  cloudReady: number;
  cumulativeCostUsd: number;
}

/** A decision as the report shows it. */
export interface DecisionEntry {
  atMs: number;
  decisionId: string;
  trigger: string;
  snapshotSeq: number | null;
  schedule: string | null;
  maxNodes: number;
  agentStale: boolean;
  launches: Array<{
    launchId: string;
    count: number;
    instanceTypes: string[];
    capacityTypes: string[];
    podsCovered: number;
    reason: string;
  }>;
  drains: Array<{ nodeName: string; reason: string }>;
  terminations: Array<{ instanceId: string; reason: string }>;
  nodeDeletions: Array<{ nodeName: string; reason: string }>;
  unhelpable: Array<{ shapeId: string; count: number; reason: string }>;
  explanations: Array<{ kind: string; subject?: string; message: string }>;
}

export interface SimStats {
  podsCreated: number;
  podsBound: number;
  podsCompleted: number;
  podsRecreated: number;
  /** Wait (created → bound) in ms of every bound pod. */
  waitsMs: number[];
  /** Waits of pods that were unschedulable at least once (they waited for capacity). */
  capacityWaitsMs: number[];
  pendingAtEnd: number;
  oldestPendingAtEndMs: number;
  decisions: number;
  decisionsWithActions: number;
  ignoredStaleSnapshots: number;
  /** Snapshots refused for being dated ahead of the control plane's clock (the agent's clock is off, I12). */
  futureSnapshotsRejected: number;
  duplicateDecisions: number;
  launchDecisions: number;
  instancesLaunched: number;
  launchReuses: number;
  /** ScaleOutRequested delivered after the in-flight TTL: dropped (see launchHandler). */
  expiredLaunchRequests: number;
  capacityFallbacks: number;
  /** RunInstances attempts refused by an EC2 quota (VcpuLimitExceeded, InstanceLimitExceeded). */
  quotaRefusals: number;
  noCapacity: number;
  /** Join tokens the agent's rotator published to Secrets Manager. */
  joinTokensPublished: number;
  /** Launches refused for want of a usable join token (expired or running short, JoinTokenUnavailable). */
  launchesRefusedJoinToken: number;
  drainsRequested: number;
  drainsCompleted: number;
  drainsTimedOut: number;
  evictions: number;
  terminationsRequested: number;
  instancesTerminated: number;
  nodeDeletions: number;
  janitorTerminations: number;
  janitorDeviceDeletions: number;
  spotInterruptions: number;
  tailscaleOutages: number;
  agentRestarts: number;
  /** Lambda invocations that died after a port call (injected crashes). */
  lambdaCrashes: number;
  snapshotsPublished: number;
  snapshotsLost: number;
  snapshotBytesMax: number;
  eventsDropped: number;
  eventsDuplicated: number;
  eventsDelayed: number;
  peakCloudInstances: number;
  peakPendingPods: number;
  nodeHours: Record<CapacityType, number>;
  costUsd: Record<CapacityType, number>;
  launchesByType: Record<string, number>;
  /** Warm pool: members launched (fills), starts and stops that reached EC2. */
  warmPoolFills: number;
  warmStarts: number;
  warmParks: number;
  /** Warm starts whose member never re-registered (no fresh credential in its user data). */
  warmStartsFailed: number;
  /** Hours of stopped members and what their volumes cost (gp3, `parkedMemberHourlyUsd`). */
  parkedMemberHours: number;
  parkedVolumeUsd: number;
  eventsProcessed: number;
  /** True when the run hit `maxEvents` before the end. */
  truncated: boolean;
}

export interface SimResult {
  scenario: string;
  seed: number;
  startMs: number;
  endMs: number;
  clusterName: string;
  samples: Sample[];
  decisions: DecisionEntry[];
  violations: Violation[];
  /** How often the I9 and I10 checks had a case to judge. */
  checks: CheckCoverage;
  stats: SimStats;
  /** Schedule boundaries in the run, for the chart. */
  boundaries: Array<{ atMs: number; policy: string }>;
  /** Notable events (faults, launches, terminations), for the report. */
  notes: Array<{ atMs: number; text: string }>;
  /** Warm-pool members alive at the end of the run (EC2's view), for `simulate`'s listing. */
  warmPoolAtEnd: WarmPoolMember[];
}

/** A warm-pool member as `simulate` lists it at the end of a run. */
export interface WarmPoolMember {
  instanceId: string;
  instanceType: string;
  zone: string;
  /** EC2 state: `stopped` = parked, `pending`/`running` = warming, `stopping`. */
  state: string;
  /** Since its first launch. */
  ageSeconds: number;
  /** What it costs per hour in this state: its volume when stopped, else its on-demand price. */
  hourlyUsd: number;
}

/** All counters at zero: a run starts from these. */
export function emptyStats(): SimStats {
  return {
    podsCreated: 0,
    podsBound: 0,
    podsCompleted: 0,
    podsRecreated: 0,
    waitsMs: [],
    capacityWaitsMs: [],
    pendingAtEnd: 0,
    oldestPendingAtEndMs: 0,
    decisions: 0,
    decisionsWithActions: 0,
    ignoredStaleSnapshots: 0,
    futureSnapshotsRejected: 0,
    duplicateDecisions: 0,
    launchDecisions: 0,
    instancesLaunched: 0,
    launchReuses: 0,
    expiredLaunchRequests: 0,
    capacityFallbacks: 0,
    quotaRefusals: 0,
    noCapacity: 0,
    joinTokensPublished: 0,
    launchesRefusedJoinToken: 0,
    drainsRequested: 0,
    drainsCompleted: 0,
    drainsTimedOut: 0,
    evictions: 0,
    terminationsRequested: 0,
    instancesTerminated: 0,
    nodeDeletions: 0,
    janitorTerminations: 0,
    janitorDeviceDeletions: 0,
    spotInterruptions: 0,
    tailscaleOutages: 0,
    agentRestarts: 0,
    lambdaCrashes: 0,
    snapshotsPublished: 0,
    snapshotsLost: 0,
    snapshotBytesMax: 0,
    eventsDropped: 0,
    eventsDuplicated: 0,
    eventsDelayed: 0,
    peakCloudInstances: 0,
    peakPendingPods: 0,
    nodeHours: { spot: 0, 'on-demand': 0 },
    costUsd: { spot: 0, 'on-demand': 0 },
    launchesByType: {},
    warmPoolFills: 0,
    warmStarts: 0,
    warmParks: 0,
    warmStartsFailed: 0,
    parkedMemberHours: 0,
    parkedVolumeUsd: 0,
    eventsProcessed: 0,
    truncated: false,
  };
}

/** The p-th percentile (nearest rank) of an ascending list; 0 for an empty one. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}
