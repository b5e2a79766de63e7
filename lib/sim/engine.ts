/**
 * The discrete-event simulation: a virtual clock (integer ms since the epoch), an agenda of
 * timed events, a seeded PRNG and fault injection. It models only the world — a K3s cluster of
 * Pis (pods, nodes, a kube-scheduler approximation, kubelet join, the API server's PDB-aware
 * Eviction), EC2 instances booting and dying, the tailnet — and runs the shipped k3s-burst code
 * in it: the agent's Publisher, snapshot builder, CommandConsumer and drain executor on the
 * simulator's clock (lib/sim/agent-host.ts), and the five Lambdas' parsers and `lib/control`
 * use-cases over the world models of lib/sim/world (lib/sim/lambdas.ts). Events travel as
 * EventBridge envelopes routed by the stack's own rules.
 *
 * Every loop is bounded: the run stops at the scenario's end or after `maxEvents` events.
 */

import {
  type RawPod,
  type SlimNode,
  type SlimPdb,
  type SlimPod,
  slimNode,
  slimPdb,
  slimPod,
} from '../agent/model.js';
import { buildSnapshot } from '../agent/snapshot-builder.js';
import {
  type InterruptionResult,
  type JanitorReport,
  type LaunchResult,
  type ReconcileResult,
  SPOT_NOTICE_MS,
} from '../control/index.js';
import {
  activeSchedule,
  buildCatalog,
  type Catalog,
  cloudNodeLabels,
  type InstanceSpec,
  KERNEL_MEMORY_FRACTION,
  scheduleBoundaries,
  shapeFitsNode,
} from '../core/index.js';
import type { LaunchOneRequest } from '../core/ports.js';
import {
  AWS_PROVIDER_ID_PREFIX,
  type CapacityType,
  type ClusterSnapshot,
  type ClusterSnapshotInput,
  type Config,
  type DaemonSetOverhead,
  DetailTypes,
  Labels,
  type PendingShape,
  type Plan,
  Sources,
} from '../events/index.js';
import { AgentUplink, QueueLink, SimAgent, SimClock } from './agent-host.js';
import { EventQueue } from './event-queue.js';
import {
  type ActionCause,
  type CheckCoverage,
  type CheckerParams,
  InvariantChecker,
  type TraceEvent,
  type Violation,
} from './invariants.js';
import { ClusterApi, type ClusterApiModel } from './kube-api.js';
import { rawDaemonPod, rawNode, rawPdb, rawPod } from './kube-objects.js';
import {
  type CrashPoint,
  LAMBDA_RETRY_DELAYS_MS,
  type LambdaName,
  SIM_AGENT_TOKEN,
  SIM_AGENT_TOKEN_SECRET,
  SimLambdas,
  SimulatedCrashError,
} from './lambdas.js';
import type { PodTemplate, SimInstance, SimNode, SimPod } from './model.js';
import { Rng } from './rng.js';
import { clockMinutes, type Scenario } from './scenario.js';
import { FakeQueue } from './world/agent-ports.js';
import { FakeFleet, type FakeInstance, FakeSecrets, FakeState } from './world/index.js';
import { type RouteTarget, RoutingBus, type WorldEnvelope } from './world/routing-bus.js';
import { Tailnet } from './world/tailnet.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** The janitor (and a reconcile tick) runs every 5 minutes, as the stack schedules it. */
export const JANITOR_PERIOD_MS = 5 * MINUTE;
/** One reconcile Lambda run; reconcile has reserved concurrency 1 (single writer). */
const RECONCILE_RUN_MS = 300;
/** One launch/terminate Lambda run. */
const LAMBDA_RUN_MS = 800;
/** How long a kubelet may be silent before the node controller marks the node NotReady. */
const NODE_MONITOR_GRACE_MS = 40_000;
/** Kubelet re-registration after connectivity returns. */
const NODE_RECOVER_MS = 5_000;
const SCHEDULER_DEBOUNCE_MS = 1_000;
const AGENT_RESTART_MS = 20_000;
const SAMPLE_MS = MINUTE;

export interface SimOptions {
  scenario: Scenario;
  config: Config;
  seed: number;
  /** Override the scenario's length. */
  hours?: number;
  /** Hard cap on processed events (default 5,000,000). */
  maxEvents?: number;
  /** Called with the fraction of simulated time done, at most ~200 times per run. */
  onProgress?: (fraction: number) => void;
  /** Keep every decision for the report (default true; chaos runs turn it off). */
  recordDecisions?: boolean;
}

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
}

type Ev =
  | { k: 'pod-arrive'; template: PodTemplate; durationMs: number }
  | { k: 'pod-finish'; pod: string }
  | { k: 'pdb-status' }
  | { k: 'service-window'; template: PodTemplate; replicas: number; up: boolean }
  | { k: 'sched' }
  | { k: 'agent-timer'; id: number }
  | { k: 'agent-conn'; reason: string; on: boolean }
  | { k: 'agent-restart' }
  | { k: 'agent-up'; gen: number }
  | { k: 'invoke'; fn: LambdaName; event: unknown; attempt: number; withTick?: boolean }
  | { k: 'to-queue'; envelope: WorldEnvelope }
  | { k: 'tick' }
  | { k: 'boundary'; policy: string }
  | { k: 'boot'; id: string }
  | { k: 'join'; id: string }
  | { k: 'shutdown-done'; id: string }
  | { k: 'spot-warning'; id: string }
  | { k: 'spot-reclaim'; id: string }
  | { k: 'ts-outage'; on: boolean; agentAffected: boolean }
  | { k: 'node-not-ready'; node: string; gen: number }
  | { k: 'sample' };

/** What the planner saw of the fleet when a reconcile started (for I5's "constrained"). */
interface FleetView {
  inFlight: number;
  unavailable: number;
  pendingOrUnready: number;
}

/** The trigger of a reconcile input, as the report names it. */
function triggerName(event: unknown): string {
  const e = event as { action?: string; policy?: string; 'detail-type'?: string; detail?: { seq?: number } };
  if (e.action) return e.policy ? `schedule:${e.policy}` : `tick`;
  if (e['detail-type'] === DetailTypes.clusterSnapshot) return `snapshot`;
  return e['detail-type'] ?? 'event';
}

/** Let the agent's promise continuations run before virtual time moves on (a macrotask turn). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Always with milliseconds, so that ISO strings compare in time order. */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function percentileFrom(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

export { percentileFrom as percentile };

/** Parameters of the invariant checks derived from the config (see the header of invariants.ts). */
export function checkerParamsFor(config: Config, scenario: Scenario): CheckerParams {
  const d = scenario.faults.delivery;
  return {
    janitorPeriodMs: JANITOR_PERIOD_MS,
    registrationTimeoutMs: config.repairs.registrationTimeoutSeconds * 1000,
    staleAfterMs: config.agent.staleAfterSeconds * 1000,
    batchMaxMs: config.agent.batchMaxMs,
    drainTimeoutMs: config.scaleIn.drainTimeoutSeconds * 1000,
    maxConcurrentDrains: config.scaleIn.maxConcurrentDrains,
    // One hop: normal latency, the worst injected delay, a Lambda run, the scheduler debounce.
    hopMs: d.latencyMs + d.extraDelayMaxMs + LAMBDA_RUN_MS + RECONCILE_RUN_MS + SCHEDULER_DEBOUNCE_MS + 1000,
    shutdownMs: scenario.cloud.shutdownSeconds * 1000,
    abandonAfterMs: config.agent.abandonAfterSeconds * 1000,
    scheduleScaleDown: config.scaleIn.scheduleScaleDown,
    backoff: {
      initialMs: config.launch.backoff.initialSeconds * 1000,
      maxMs: config.launch.backoff.maxSeconds * 1000,
      resetAfterMs: config.launch.backoff.resetAfterSeconds * 1000,
    },
  };
}

/** Run one simulation to its end and return what happened. Deterministic for (scenario, config, seed). */
export function simulate(opts: SimOptions): Promise<SimResult> {
  return new Simulation(opts).run();
}

export class Simulation {
  private readonly q = new EventQueue<Ev>();
  private readonly rng: Rng;
  private readonly faultRng: Rng;
  /** Crash draws: their own stream, so runs without crashes draw exactly as before. */
  private readonly crashRng: Rng;
  /** Scenario crash points not yet used up. */
  private readonly crashPoints: Array<{ fn: LambdaName; after: string; left: number }>;
  private readonly cloudRng: Rng;
  private readonly workRng: Rng;
  private readonly catalog: Catalog;
  private readonly cfg: Config;
  private readonly sc: Scenario;
  private readonly checker: InvariantChecker;
  private readonly cluster: string;
  private now: number;
  private readonly startMs: number;
  private readonly endMs: number;
  private readonly maxEvents: number;
  private readonly seed: number;

  private readonly pods = new Map<string, SimPod>();
  private readonly pendingPods = new Set<string>();
  private readonly nodes = new Map<string, SimNode>();
  private readonly instances = new Map<string, SimInstance>();
  private podCounter = 0;
  private schedQueued = false;
  private readonly helpableCache = new Map<string, boolean>();
  private readonly zones: string[];
  private readonly daemonSets: DaemonSetOverhead[];

  // Agent
  private agentRunning = true;
  private agentConnected = true;
  private readonly disconnectReasons = new Set<string>();
  private agentGen = 0;
  /** The agent process (undefined while its pod restarts) and the world it talks to. */
  private agent: SimAgent | undefined;
  private readonly agentClock: SimClock;
  private readonly agentTimers = new Map<number, () => void>();
  private timerSeq = 0;
  private readonly queue: FakeQueue;
  private readonly queueLink: QueueLink;
  private readonly uplink: AgentUplink;
  private readonly api: ClusterApi;
  /** The agent's slim copy of each pod, dropped whenever the pod changes (its informer's cache). */
  private readonly slimPods = new Map<string, SlimPod>();
  private readonly builtShapes = new Map<number, string[]>();
  private readonly onPremNames: string[];
  private readonly pdbTemplates: PodTemplate[] = [];

  // Control plane
  /** The world behind the control plane's ports, and the control plane itself. */
  private readonly stateStore = new FakeState();
  private readonly fleet: FakeFleet;
  private readonly tailnet: Tailnet;
  private readonly bus: RoutingBus;
  private readonly ec2Bus: RoutingBus;
  private readonly lambdas: SimLambdas;
  /** Decision time of every launch id decided so far (reconcile or interruption). */
  private readonly decidedAt = new Map<string, number>();
  private snapshotObservedMs: number | undefined;
  /** True time at which the agent built each snapshot seq (its `observedAt` is on the agent's clock). */
  private readonly builtAtMs = new Map<number, number>();
  private lastFresh: boolean | undefined;
  private lastAgentOk = true;

  // Output
  private readonly samples: Sample[] = [];
  private readonly decisions: DecisionEntry[] = [];
  private readonly notes: Array<{ atMs: number; text: string }> = [];
  private readonly boundaries: Array<{ atMs: number; policy: string }> = [];
  private cumulativeCost = 0;
  private lastCostMs: number;
  private readonly recordDecisions: boolean;
  private readonly onProgress?: (fraction: number) => void;
  private readonly stats: SimStats = {
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
    eventsProcessed: 0,
    truncated: false,
  };

  constructor(opts: SimOptions) {
    this.sc = opts.scenario;
    this.cfg = opts.config;
    this.cluster = opts.config.cluster.name;
    this.seed = opts.seed;
    this.rng = new Rng(opts.seed);
    this.workRng = this.rng.fork(1);
    this.cloudRng = this.rng.fork(2);
    this.faultRng = this.rng.fork(3);
    this.crashRng = this.rng.fork(4);
    this.crashPoints = opts.scenario.faults.lambdaCrashes.map((c) => ({
      fn: c.fn,
      after: c.after,
      left: c.times,
    }));
    this.catalog = buildCatalog(opts.config);
    this.startMs = Date.parse(opts.scenario.start);
    this.now = this.startMs;
    this.lastCostMs = this.startMs;
    this.endMs = this.startMs + Math.round((opts.hours ?? opts.scenario.hours) * HOUR);
    this.maxEvents = opts.maxEvents ?? 5_000_000;
    this.recordDecisions = opts.recordDecisions ?? true;
    this.onProgress = opts.onProgress;
    this.checker = new InvariantChecker(checkerParamsFor(opts.config, opts.scenario));
    this.zones = opts.scenario.cloud.zones.map((z) =>
      z.length <= 2 ? `${opts.config.cluster.region}${z}` : z,
    );
    this.daemonSets = opts.scenario.daemonSets.map((d) => ({
      name: d.name,
      cpuMilli: d.cpuMilli,
      memoryMiB: d.memoryMiB,
      nodeSelector: d.nodeSelector,
      requiredAffinity: [],
      tolerations: d.tolerations,
    }));
    this.onPremNames = opts.scenario.onPrem.map((n) => n.name);
    // The agent's clock may run ahead of or behind true time (skew); its timers fire after the
    // same durations. SQS keeps true time.
    const skewMs = opts.scenario.faults.agentClockSkewSeconds * 1000;
    const timerAt = (offsetMs: number) => (atMs: number, fn: () => void) => {
      const id = ++this.timerSeq;
      this.agentTimers.set(id, fn);
      this.q.push(atMs - offsetMs, { k: 'agent-timer', id });
      return () => this.agentTimers.delete(id);
    };
    this.agentClock = new SimClock(() => this.now + skewMs, timerAt(skewMs));
    // The command queue's redrive policy (lib/infra/command-queue.ts): 5 receives, then the DLQ.
    this.queue = new FakeQueue({ clock: new SimClock(() => this.now, timerAt(0)), maxReceiveCount: 5 });
    this.queueLink = new QueueLink(this.queue);
    this.api = new ClusterApi(this.apiModel());

    const clock = () => new Date(this.now);
    const region = opts.config.cluster.region;
    this.tailnet = new Tailnet(clock, (nodeId) =>
      this.trace({ kind: 'device-deleted', atMs: this.now, deviceId: nodeId }),
    );
    this.fleet = new FakeFleet({
      cluster: this.cluster,
      nodeNamePrefix: opts.config.nodes.namePrefix,
      subnets: this.zones.map((zone, i) => ({
        subnetId: `subnet-0${(i + 10).toString(16).padStart(16, '0')}`,
        zone,
      })),
      clock,
      offeringCache: this.stateStore.offeringCache(this.cluster),
      unavailableOfferingTtlSeconds: opts.config.launch.unavailableOfferingTtlSeconds,
      offeringError: (o) => this.capacityError(o),
      onLaunched: (inst, req) => this.onLaunched(inst, req),
      onTerminating: (ids) => {
        for (const id of ids) this.onTerminating(id);
      },
    });
    const deliver = (target: RouteTarget, envelope: WorldEnvelope) => this.deliver(target, envelope);
    this.bus = new RoutingBus({ bus: 'cluster', region, now: clock, deliver });
    this.ec2Bus = new RoutingBus({ bus: 'default', region, now: clock, deliver });
    this.uplink = new AgentUplink(this.bus, (e) => this.onAgentPut(e));
    this.lambdas = new SimLambdas({
      config: opts.config,
      clock,
      fleet: this.fleet,
      state: this.stateStore,
      devices: this.tailnet,
      secrets: new FakeSecrets({ [SIM_AGENT_TOKEN_SECRET]: SIM_AGENT_TOKEN }),
      bus: this.bus,
    });
  }

  // ───────────────────────────── run loop ─────────────────────────────

  async run(): Promise<SimResult> {
    this.init();
    let lastProgress = -1;
    const span = this.endMs - this.startMs;
    while (this.q.size > 0) {
      const next = this.q.peekTime() as number;
      if (next > this.endMs) break;
      if (this.stats.eventsProcessed >= this.maxEvents) {
        this.stats.truncated = true;
        break;
      }
      const item = this.q.pop();
      if (!item) break;
      this.now = Math.max(this.now, item.atMs);
      this.stats.eventsProcessed++;
      const pending = this.handle(item.value);
      if (pending) await pending;
      this.afterStep();
      if (this.onProgress) {
        const f = Math.floor(((this.now - this.startMs) / span) * 200);
        if (f !== lastProgress) {
          lastProgress = f;
          this.onProgress(f / 200);
        }
      }
    }
    this.now = Math.max(this.now, Math.min(this.endMs, this.q.peekTime() ?? this.endMs));
    if (!this.stats.truncated) this.now = this.endMs;
    this.accrueCost();
    this.sample();
    this.finish();
    this.onProgress?.(1);
    return {
      scenario: this.sc.name,
      seed: this.seed,
      startMs: this.startMs,
      endMs: this.endMs,
      clusterName: this.cluster,
      samples: this.samples,
      decisions: this.decisions,
      violations: this.checker.violations,
      checks: { ...this.checker.coverage },
      stats: this.stats,
      boundaries: this.boundaries,
      notes: this.notes,
    };
  }

  private at(delayMs: number, ev: Ev): void {
    this.q.push(this.now + Math.max(0, Math.round(delayMs)), ev);
  }

  private trace(e: TraceEvent): void {
    this.checker.observe(e);
  }

  private note(text: string): void {
    if (this.notes.length < 5000) this.notes.push({ atMs: this.now, text });
    this.trace({ kind: 'note', atMs: this.now, text });
  }

  private init(): void {
    const sched = activeSchedule(this.cfg, new Date(this.now));
    this.trace({ kind: 'schedule', atMs: this.now, name: sched.name, maxNodes: sched.maxNodes });
    this.trace({ kind: 'freshness', atMs: this.now, fresh: false });
    this.lastFresh = false;
    for (const n of this.sc.onPrem) {
      const node: SimNode = {
        name: n.name,
        onPrem: true,
        providerID: `k3s://${n.name}`,
        labels: {
          [Labels.arch]: 'arm64',
          [Labels.os]: 'linux',
          [Labels.hostname]: n.name,
          [Labels.instanceType]: 'k3s',
          'beta.kubernetes.io/arch': 'arm64',
          'beta.kubernetes.io/os': 'linux',
          ...n.labels,
        },
        taints: n.taints,
        allocatable: { cpuMilli: n.cpuMilli, memoryMiB: n.memoryMiB, pods: n.maxPods },
        daemonCpuMilli: 0,
        daemonMemoryMiB: 0,
        daemonPods: 0,
        usedCpuMilli: 0,
        usedMemoryMiB: 0,
        pods: new Set(),
        ready: true,
        readySinceMs: this.startMs - 30 * 86_400_000,
        cordoned: false,
        createdAtMs: this.startMs - 90 * 86_400_000,
        model: n.model,
      };
      this.applyDaemonSets(node);
      this.nodes.set(node.name, node);
    }
    this.scheduleWorkloads();
    // Control-plane clocks.
    for (const b of scheduleBoundaries(this.cfg, new Date(this.startMs + 1), new Date(this.endMs))) {
      this.q.push(b.at.getTime(), { k: 'boundary', policy: b.policy });
      this.boundaries.push({ atMs: b.at.getTime(), policy: b.policy });
    }
    for (let t = this.startMs + JANITOR_PERIOD_MS; t <= this.endMs; t += JANITOR_PERIOD_MS) {
      this.q.push(t, { k: 'tick' });
    }
    for (let t = this.startMs; t <= this.endMs; t += SAMPLE_MS) this.q.push(t, { k: 'sample' });
    this.agentGen++;
    this.startAgent();
    // Faults.
    const f = this.sc.faults;
    for (const o of f.tailscaleOutages) {
      for (const day of this.days()) {
        const s = day + clockMinutes(o.at) * MINUTE;
        if (s < this.startMs || s > this.endMs) continue;
        this.q.push(s, { k: 'ts-outage', on: true, agentAffected: o.agentAffected });
        this.q.push(s + o.durationMinutes * MINUTE, {
          k: 'ts-outage',
          on: false,
          agentAffected: o.agentAffected,
        });
        break;
      }
    }
    f.agentOutages.forEach((o, i) => {
      const s = this.firstAt(o.at);
      if (s === undefined) return;
      this.q.push(s, { k: 'agent-conn', reason: `outage-${i}`, on: false });
      this.q.push(s + o.durationMinutes * MINUTE, { k: 'agent-conn', reason: `outage-${i}`, on: true });
    });
    for (const r of f.agentRestarts) {
      const s = this.firstAt(r);
      if (s !== undefined) this.q.push(s, { k: 'agent-restart' });
    }
  }

  /** Midnights (UTC ms) of every simulated day. */
  private days(): number[] {
    const first = Math.floor(this.startMs / 86_400_000) * 86_400_000;
    const out: number[] = [];
    for (let d = first; d <= this.endMs; d += 86_400_000) out.push(d);
    return out;
  }

  /** First occurrence of a clock time at or after the start. */
  private firstAt(hhmm: string): number | undefined {
    for (const day of this.days()) {
      const t = day + clockMinutes(hhmm) * MINUTE;
      if (t >= this.startMs && t <= this.endMs) return t;
    }
    return undefined;
  }

  private templateOf(
    name: string,
    kind: 'service' | 'job',
    w: {
      cpuMilli: number;
      memoryMiB: number;
      nodeSelector: Record<string, string>;
      requiredAffinity: PodTemplate['requiredAffinity'];
      tolerations: PodTemplate['tolerations'];
      usesLocalVolume: boolean;
    },
    extra: { doNotDisrupt?: boolean; pdb?: { minAvailable: number }; readySeconds?: number } = {},
  ): PodTemplate {
    const base = {
      cpuMilli: w.cpuMilli,
      memoryMiB: w.memoryMiB,
      nodeSelector: w.nodeSelector,
      requiredAffinity: w.requiredAffinity,
      tolerations: w.tolerations,
      usesLocalVolume: w.usesLocalVolume,
    };
    const t: PodTemplate = {
      ...base,
      workload: name,
      kind,
      doNotDisrupt: extra.doNotDisrupt ?? false,
      pdb: extra.pdb ? { name: `${name}-pdb`, minAvailable: extra.pdb.minAvailable } : undefined,
      readyDelayMs: (extra.readySeconds ?? 0) * 1000,
      shapeId: '',
    };
    // The agent's own shape id (SHA-256 over the canonical shape, host ports included).
    const probe = {
      id: 'probe',
      template: t,
      createdAtMs: 0,
      phase: 'pending' as const,
      unschedulable: false,
    };
    t.shapeId = slimPod(rawPod(probe, this.onPremNames)).shapeId;
    if (t.pdb) this.pdbTemplates.push(t);
    return t;
  }

  private scheduleWorkloads(): void {
    this.sc.workloads.forEach((w, index) => {
      // One stream per workload: changing one workload (or the run length) leaves the others' draws alone.
      const rng = this.workRng.fork(index + 1);
      if (w.kind === 'service') {
        const t = this.templateOf(w.name, 'service', w, {
          doNotDisrupt: w.doNotDisrupt,
          pdb: w.pdb,
          readySeconds: w.readySeconds,
        });
        if (!w.between) {
          this.q.push(this.startMs, { k: 'service-window', template: t, replicas: w.replicas, up: true });
          return;
        }
        for (const day of this.days()) {
          const on = day + clockMinutes(w.between[0]) * MINUTE;
          const off = day + clockMinutes(w.between[1]) * MINUTE;
          if (off > this.startMs && on <= this.endMs) {
            this.q.push(Math.max(on, this.startMs), {
              k: 'service-window',
              template: t,
              replicas: w.replicas,
              up: true,
            });
            this.q.push(off, { k: 'service-window', template: t, replicas: w.replicas, up: false });
          }
        }
      } else if (w.kind === 'burst') {
        const t = this.templateOf(w.name, 'job', w);
        for (const day of this.days()) {
          const s = day + clockMinutes(w.at) * MINUTE;
          if (s >= this.startMs && s <= this.endMs) {
            for (let i = 0; i < w.pods; i++) {
              const offset = w.spreadSeconds > 0 ? rng.int(0, w.spreadSeconds * 1000) : 0;
              this.q.push(s + offset, {
                k: 'pod-arrive',
                template: t,
                durationMs: rng.logNormalMs(w.duration),
              });
            }
            if (!w.daily) break;
          }
        }
      } else {
        const t = this.templateOf(w.name, 'job', w);
        for (const day of this.days()) {
          const from = day + clockMinutes(w.between[0]) * MINUTE;
          const to = day + clockMinutes(w.between[1]) * MINUTE;
          let s = Math.max(from, this.startMs);
          for (let guard = 0; guard < 100_000; guard++) {
            s += rng.exponentialMs(w.ratePerHour);
            if (s > to || s > this.endMs) break;
            this.q.push(s, { k: 'pod-arrive', template: t, durationMs: rng.logNormalMs(w.duration) });
          }
        }
      }
    });
  }

  private handle(ev: Ev): Promise<void> | undefined {
    switch (ev.k) {
      case 'pod-arrive':
        this.createPod(ev.template, ev.durationMs);
        return;
      case 'pod-finish':
        this.finishPod(ev.pod);
        return;
      case 'pdb-status':
        // A replica turned Ready: its PodDisruptionBudget's status changed.
        this.agentChanged();
        return;
      case 'service-window':
        this.serviceWindow(ev.template, ev.replicas, ev.up);
        return;
      case 'sched':
        this.schedQueued = false;
        this.schedulePass();
        return;
      case 'agent-timer': {
        const fn = this.agentTimers.get(ev.id);
        if (!fn) return;
        this.agentTimers.delete(ev.id);
        fn();
        return settle();
      }
      case 'agent-conn':
        this.setAgentConnected(ev.reason, ev.on);
        return;
      case 'agent-restart':
        this.agentRestart();
        return;
      case 'agent-up':
        if (ev.gen !== this.agentGen) return;
        this.note('agent pod started');
        this.startAgent();
        return settle();
      case 'invoke':
        if (ev.withTick) {
          const tick = { action: 'reconcile', scheduledAt: iso(this.now) };
          return this.invokeTogether([ev, { fn: 'reconcile', event: tick }]);
        }
        return this.invoke(ev.fn, ev.event, ev.attempt).then(() => undefined);
      case 'to-queue':
        // SQS keeps the message until the agent receives (and deletes) it.
        this.queue.send(JSON.stringify(ev.envelope));
        return settle();
      case 'tick':
        this.schedulerInvoke('janitor');
        this.schedulerInvoke('reconcile');
        return;
      case 'boundary': {
        const s = activeSchedule(this.cfg, new Date(this.now));
        this.trace({ kind: 'schedule', atMs: this.now, name: s.name, maxNodes: s.maxNodes });
        this.note(`schedule boundary: ${ev.policy} (max ${s.maxNodes}, min ${s.minNodes})`);
        this.schedulerInvoke('reconcile', ev.policy);
        return;
      }
      case 'boot':
        this.boot(ev.id);
        return;
      case 'join':
        this.join(ev.id);
        return;
      case 'shutdown-done': {
        const i = this.instances.get(ev.id);
        if (i && i.state === 'shutting-down') {
          i.state = 'terminated';
          i.terminatedAtMs = this.now;
          this.fleet.setState(i.instanceId, 'terminated');
          this.ec2StateChange(i.instanceId, 'terminated');
        }
        return;
      }
      case 'spot-warning':
        this.spotWarning(ev.id);
        return;
      case 'spot-reclaim':
        this.spotReclaim(ev.id);
        return;
      case 'ts-outage':
        this.tailscaleOutage(ev.on, ev.agentAffected);
        return;
      case 'node-not-ready': {
        const n = this.nodes.get(ev.node);
        if (n?.ready && this.nodeGen(n) === ev.gen && this.nodeUnreachable(n)) {
          n.ready = false;
          n.readySinceMs = this.now;
          this.agentChanged();
        }
        return;
      }
      case 'sample':
        this.accrueCost();
        this.sample();
        return;
    }
  }

  private afterStep(): void {
    // Schedule changes are a pure function of time: observe them as they happen.
    const fresh =
      this.snapshotObservedMs !== undefined &&
      this.now - this.snapshotObservedMs <= this.cfg.agent.staleAfterSeconds * 1000;
    if (fresh !== this.lastFresh) {
      this.lastFresh = fresh;
      this.trace({ kind: 'freshness', atMs: this.now, fresh });
    }
    const agentOk = this.agentRunning && this.agentConnected;
    if (agentOk !== this.lastAgentOk) {
      this.lastAgentOk = agentOk;
      this.trace({ kind: 'agent-publishing', atMs: this.now, ok: agentOk });
    }
    this.checker.step(this.now);
  }

  // ───────────────────────────── workload + scheduler ─────────────────────────────

  private createPod(template: PodTemplate, durationMs: number, recreated = false): void {
    const id = `${template.workload}-${(++this.podCounter).toString(36)}`;
    this.pods.set(id, {
      id,
      template,
      createdAtMs: this.now,
      durationMs,
      phase: 'pending',
      unschedulable: false,
      everUnschedulable: false,
    });
    this.pendingPods.add(id);
    this.stats.podsCreated++;
    if (recreated) this.stats.podsRecreated++;
    this.agentChanged();
    this.queueSched();
  }

  private serviceWindow(template: PodTemplate, replicas: number, up: boolean): void {
    if (up) {
      for (let i = 0; i < replicas; i++) this.createPod(template, 0);
      return;
    }
    for (const pod of [...this.pods.values()]) {
      if (pod.template === template && pod.phase !== 'done') this.removePod(pod, 'done');
    }
  }

  private finishPod(id: string): void {
    const pod = this.pods.get(id);
    if (pod?.phase !== 'running') return;
    this.removePod(pod, 'done');
    this.stats.podsCompleted++;
  }

  /** Take a pod off its node (or out of the pending set) for good. */
  private removePod(pod: SimPod, phase: 'done'): void {
    if (pod.node) {
      const n = this.nodes.get(pod.node);
      if (n) {
        n.pods.delete(pod.id);
        n.usedCpuMilli -= pod.template.cpuMilli;
        n.usedMemoryMiB -= pod.template.memoryMiB;
        if (n.cordoned)
          this.trace({ kind: 'node-workload', atMs: this.now, node: n.name, workloadPods: n.pods.size });
      }
      pod.node = undefined;
    }
    if (this.pendingPods.delete(pod.id)) this.trace({ kind: 'pod-resolved', atMs: this.now, pod: pod.id });
    pod.phase = phase;
    this.pods.delete(pod.id);
    this.slimPods.delete(pod.id);
    this.agentChanged();
    this.queueSched();
  }

  /** A pod lost its node (eviction, node deleted, instance gone): its controller recreates it. */
  private evictPod(pod: SimPod): void {
    const template = pod.template;
    const duration = pod.durationMs;
    this.removePod(pod, 'done');
    this.createPod(template, duration, true);
  }

  private queueSched(): void {
    if (this.schedQueued) return;
    this.schedQueued = true;
    this.at(SCHEDULER_DEBOUNCE_MS, { k: 'sched' });
  }

  private fits(pod: SimPod, n: SimNode): boolean {
    return (
      n.ready &&
      !n.cordoned &&
      n.allocatable.cpuMilli - n.usedCpuMilli - n.daemonCpuMilli >= pod.template.cpuMilli &&
      n.allocatable.memoryMiB - n.usedMemoryMiB - n.daemonMemoryMiB >= pod.template.memoryMiB &&
      n.allocatable.pods - n.daemonPods - n.pods.size >= 1
    );
  }

  private schedulePass(): void {
    if (this.pendingPods.size === 0) return;
    const nodes = [...this.nodes.values()].filter((n) => n.ready && !n.cordoned);
    const matchCache = new Map<string, SimNode[]>();
    const exhausted = new Set<string>();
    // Oldest first, like the scheduler's FIFO-ish queue.
    for (const id of [...this.pendingPods]) {
      const pod = this.pods.get(id);
      if (!pod) continue;
      const t = pod.template;
      let candidates = matchCache.get(t.shapeId);
      if (!candidates) {
        candidates = t.usesLocalVolume
          ? nodes.filter((n) => n.onPrem && shapeFitsNode(t, n).ok)
          : nodes.filter((n) => shapeFitsNode(t, n).ok);
        matchCache.set(t.shapeId, candidates);
      }
      let best: SimNode | undefined;
      if (!exhausted.has(t.shapeId)) {
        // Least-allocated scoring: the node with the most free CPU.
        let bestFree = -1;
        for (const n of candidates) {
          if (!this.fits(pod, n)) continue;
          const free = n.allocatable.cpuMilli - n.usedCpuMilli - n.daemonCpuMilli;
          if (free > bestFree) {
            bestFree = free;
            best = n;
          }
        }
      }
      if (best) {
        this.bind(pod, best);
      } else {
        exhausted.add(t.shapeId);
        if (!pod.unschedulable) {
          pod.unschedulable = true;
          pod.unschedulableSinceMs = this.now;
          pod.everUnschedulable = true;
          this.slimPods.delete(pod.id);
          this.agentChanged();
          this.trace({
            kind: 'pod-unschedulable',
            atMs: this.now,
            pod: pod.id,
            shapeId: t.shapeId,
            helpable: this.helpable(t),
          });
        }
      }
    }
    const pending = this.pendingPods.size;
    if (pending > this.stats.peakPendingPods) this.stats.peakPendingPods = pending;
  }

  private bind(pod: SimPod, n: SimNode): void {
    pod.phase = 'running';
    pod.node = n.name;
    pod.boundAtMs = this.now;
    pod.unschedulable = false;
    this.slimPods.delete(pod.id);
    n.pods.add(pod.id);
    n.usedCpuMilli += pod.template.cpuMilli;
    n.usedMemoryMiB += pod.template.memoryMiB;
    this.pendingPods.delete(pod.id);
    this.trace({ kind: 'pod-resolved', atMs: this.now, pod: pod.id });
    this.stats.podsBound++;
    const wait = this.now - pod.createdAtMs;
    this.stats.waitsMs.push(wait);
    if (pod.everUnschedulable) this.stats.capacityWaitsMs.push(wait);
    if (pod.template.kind === 'job') this.at(pod.durationMs, { k: 'pod-finish', pod: pod.id });
    if (pod.template.pdb && pod.template.readyDelayMs > 0)
      this.at(pod.template.readyDelayMs, { k: 'pdb-status' });
    this.agentChanged();
  }

  /** Requests of the DaemonSet pods that land on a node with these labels and taints. */
  private daemonOverhead(node: Pick<SimNode, 'labels' | 'taints'>): {
    cpuMilli: number;
    memoryMiB: number;
    pods: number;
  } {
    const o = { cpuMilli: 0, memoryMiB: 0, pods: 0 };
    for (const d of this.daemonSets) {
      if (shapeFitsNode(d, node).ok) {
        o.cpuMilli += d.cpuMilli;
        o.memoryMiB += d.memoryMiB;
        o.pods++;
      }
    }
    return o;
  }

  private applyDaemonSets(n: SimNode): void {
    const o = this.daemonOverhead(n);
    n.daemonCpuMilli += o.cpuMilli;
    n.daemonMemoryMiB += o.memoryMiB;
    n.daemonPods += o.pods;
  }

  /** Allocatable of a fresh cloud node of this type, as K3s reports it. */
  private cloudAllocatable(spec: InstanceSpec): { cpuMilli: number; memoryMiB: number; pods: number } {
    return {
      cpuMilli: spec.vcpu * 1000 - this.cfg.nodes.systemReserved.cpuMilli,
      memoryMiB:
        Math.floor(spec.memoryMiB * KERNEL_MEMORY_FRACTION) - this.cfg.nodes.systemReserved.memoryMiB,
      pods: Math.min(spec.maxPods, this.cfg.nodes.maxPodsPerNode),
    };
  }

  /**
   * Ground truth for I5: some candidate cloud node (any zone, any allowed capacity type)
   * takes this pod by labels, taints and resources (after DaemonSets), within the limits.
   */
  private helpable(t: PodTemplate): boolean {
    const cached = this.helpableCache.get(t.shapeId);
    if (cached !== undefined) return cached;
    const ok = !t.usesLocalVolume && this.someCloudNodeTakes(t);
    this.helpableCache.set(t.shapeId, ok);
    return ok;
  }

  private someCloudNodeTakes(t: PodTemplate): boolean {
    for (const type of this.cfg.nodes.candidateTypes) {
      const spec = this.catalog.get(type);
      if (!spec) continue;
      if (spec.vcpu > this.cfg.limits.maxVcpus || spec.memoryMiB > this.cfg.limits.maxMemoryMiB) continue;
      const alloc = this.cloudAllocatable(spec);
      for (const ct of this.cfg.nodes.capacityTypes) {
        if (this.catalog.hourlyUsd(type, ct) > this.cfg.limits.maxHourlyCostUsd) continue;
        for (const zone of this.zones) {
          const node = { labels: cloudNodeLabels(this.cfg, spec, zone, ct), taints: this.cfg.nodes.taints };
          if (!shapeFitsNode(t, node).ok) continue;
          const ds = this.daemonOverhead(node);
          if (
            t.cpuMilli + ds.cpuMilli <= alloc.cpuMilli &&
            t.memoryMiB + ds.memoryMiB <= alloc.memoryMiB &&
            ds.pods + 1 <= alloc.pods
          ) {
            return true;
          }
        }
      }
    }
    return false;
  }

  // ───────────────────────────── the agent (its own code) and the API server it talks to ─────────────────────────────

  /** Something the agent watches changed: its publisher batches it (idle window, max window). */
  private agentChanged(): void {
    this.agent?.markDirty();
  }

  private startAgent(): void {
    this.agentRunning = true;
    this.agent = new SimAgent({
      cluster: this.cluster,
      clock: this.agentClock,
      uplink: this.uplink,
      queue: this.queueLink,
      api: this.api,
      build: (seq, observedAt) => this.buildSnapshot(seq, observedAt),
      batchIdleMs: this.cfg.agent.batchIdleMs,
      batchMaxMs: this.cfg.agent.batchMaxMs,
      heartbeatMs: this.cfg.agent.heartbeatSeconds * 1000,
      onPublished: (seq) => {
        this.stats.snapshotsPublished++;
        this.trace({
          kind: 'snapshot-published',
          atMs: this.now,
          seq,
          shapeIds: this.builtShapes.get(seq) ?? [],
        });
        this.builtShapes.clear();
      },
    });
    this.agent.start();
  }

  /** The snapshot the agent's builder makes from its caches (the cluster's objects, slimmed by the agent's code). */
  /** When a stored snapshot was really observed (ground truth for I3, I8; the agent's clock may be skewed). */
  private observedMs(snap: ClusterSnapshot): number {
    return this.builtAtMs.get(snap.seq) ?? Date.parse(snap.observedAt);
  }

  private buildSnapshot(seq: number, observedAt: string): ClusterSnapshotInput {
    this.builtAtMs.set(seq, this.now);
    const onPrem = this.onPremNames;
    const pods: SlimPod[] = [];
    for (const pod of this.pods.values()) {
      let slim = this.slimPods.get(pod.id);
      if (!slim) {
        slim = slimPod(rawPod(pod, onPrem));
        this.slimPods.set(pod.id, slim);
      }
      pods.push(slim);
    }
    const nodes: SlimNode[] = [];
    for (const n of this.nodes.values()) {
      nodes.push(slimNode(rawNode(n)));
      for (const d of this.daemonSetsOn(n)) pods.push(slimPod(rawDaemonPod(d, n)));
    }
    const pdbs: SlimPdb[] = [];
    for (const t of this.pdbTemplates) {
      const raw = rawPdb(t, this.pdbHealthy(t));
      if (raw) pdbs.push(slimPdb(raw));
    }
    const snapshot = buildSnapshot({
      cluster: this.cluster,
      seq,
      observedAt,
      agentVersion: 'sim',
      pods,
      nodes,
      pdbs,
    });
    this.builtShapes.set(
      seq,
      (snapshot.pendingShapes ?? []).map((s) => s.id),
    );
    return snapshot;
  }

  /** DaemonSets whose pods run on this node. */
  private daemonSetsOn(n: SimNode): DaemonSetOverhead[] {
    return this.daemonSets.filter((d) => shapeFitsNode(d, n).ok);
  }

  /** Ground truth of PutEvents from the agent (stats only; routing is the bus's). */
  private onAgentPut(e: { detailType: string; detail: string }): void {
    if (e.detailType === DetailTypes.clusterSnapshot) {
      if (e.detail.length > this.stats.snapshotBytesMax) this.stats.snapshotBytesMax = e.detail.length;
    } else if (e.detailType === DetailTypes.nodeDrained) {
      const outcome = (JSON.parse(e.detail) as { outcome?: string }).outcome;
      if (outcome === 'drained') this.stats.drainsCompleted++;
      else if (outcome === 'timed-out') this.stats.drainsTimedOut++;
    }
  }

  private setAgentConnected(reason: string, on: boolean): void {
    if (on) this.disconnectReasons.delete(reason);
    else this.disconnectReasons.add(reason);
    const connected = this.disconnectReasons.size === 0;
    if (connected === this.agentConnected) return;
    this.agentConnected = connected;
    this.uplink.connected = connected;
    this.queueLink.connected = connected;
    this.note(connected ? 'agent reconnected to AWS' : `agent cut off from AWS (${reason})`);
    if (connected) this.agentChanged();
  }

  /** The agent pod restarts: batch state is lost; drains in progress are released to SQS and redelivered. */
  private agentRestart(): void {
    this.stats.agentRestarts++;
    this.note('agent pod restarted (batch state lost, in-progress drains go back to the queue)');
    this.agentRunning = false;
    const old = this.agent;
    this.agent = undefined;
    // Not awaited: stopping may wait for agent timers still on the agenda.
    old?.stop().catch(() => undefined);
    this.agentGen++;
    this.at(AGENT_RESTART_MS, { k: 'agent-up', gen: this.agentGen });
  }

  /** The API server's answers, from the cluster model (I2 and I6 are traced here, at the source). */
  private apiModel(): ClusterApiModel {
    return {
      node: (name) => {
        const n = this.nodes.get(name);
        return n ? rawNode(n) : undefined;
      },
      podsOnNode: (name) => {
        const n = this.nodes.get(name);
        if (!n) return [];
        const out: RawPod[] = [];
        for (const id of n.pods) {
          const pod = this.pods.get(id);
          if (pod) out.push(rawPod(pod, this.onPremNames));
        }
        for (const d of this.daemonSetsOn(n)) out.push(rawDaemonPod(d, n));
        return out;
      },
      cordon: (name) => {
        const n = this.nodes.get(name);
        if (!n || n.cordoned) return;
        n.cordoned = true;
        this.trace({
          kind: 'node-action',
          atMs: this.now,
          action: 'cordon',
          target: n.name,
          onPrem: n.onPrem,
          workloadPods: n.pods.size,
        });
        this.agentChanged();
      },
      uncordon: (name) => {
        const n = this.nodes.get(name);
        if (!n?.cordoned) return;
        n.cordoned = false;
        this.traceNodeAction('uncordon', n.name, n.onPrem);
        this.agentChanged();
        this.queueSched();
      },
      evict: (_namespace, name) => {
        const pod = this.pods.get(name);
        if (!pod?.node) return 'not-found';
        const t = pod.template;
        const n = this.nodes.get(pod.node);
        if (t.pdb) {
          const healthy = this.pdbHealthy(t);
          if (healthy - 1 < t.pdb.minAvailable) {
            return {
              blocked: `Cannot evict pod as it would violate the pod's disruption budget ${t.pdb.name}.`,
            };
          }
          this.trace({
            kind: 'eviction',
            atMs: this.now,
            pod: pod.id,
            pdb: { name: t.pdb.name, healthyBefore: healthy, minAvailable: t.pdb.minAvailable },
          });
        } else {
          this.trace({ kind: 'eviction', atMs: this.now, pod: pod.id });
        }
        this.traceNodeAction('evict', pod.node, n?.onPrem ?? false);
        this.stats.evictions++;
        this.evictPod(pod);
        return 'evicted';
      },
      deleteNode: (name) => {
        const n = this.nodes.get(name);
        if (!n) return 'not-found';
        this.traceNodeAction('delete-node', n.name, n.onPrem);
        this.deleteNodeObject(n);
        return 'deleted';
      },
    };
  }

  /** Pods of a PDB's workload that are running and Ready on Ready nodes. */
  private pdbHealthy(t: PodTemplate): number {
    let healthy = 0;
    for (const pod of this.pods.values()) {
      if (pod.template !== t || pod.phase !== 'running' || !pod.node) continue;
      if (this.now < (pod.boundAtMs ?? 0) + t.readyDelayMs) continue;
      if (this.nodes.get(pod.node)?.ready) healthy++;
    }
    return healthy;
  }

  private deleteNodeObject(n: SimNode): void {
    if (n.pods.size > 0)
      this.trace({
        kind: 'workload-killed',
        atMs: this.now,
        node: n.name,
        pods: n.pods.size,
        how: 'node-deleted',
      });
    this.nodes.delete(n.name);
    this.stats.nodeDeletions++;
    for (const id of [...n.pods]) {
      const pod = this.pods.get(id);
      if (pod) this.evictPod(pod);
    }
    this.agentChanged();
  }

  // ───────────────────────────── event delivery (fault injection) ─────────────────────────────

  /**
   * EventBridge / SQS delivered one event to a rule's target: with the scenario's delivery
   * faults (loss, duplication, latency, extra delay — so also reordering) applied per delivery.
   */
  private deliver(target: RouteTarget, envelope: WorldEnvelope): void {
    const d = this.sc.faults.delivery;
    const make = (): Ev =>
      target === 'command-queue'
        ? { k: 'to-queue', envelope }
        : {
            k: 'invoke',
            fn: target,
            event: envelope,
            attempt: 0,
            ...(this.coincides(target, envelope) ? { withTick: true } : {}),
          };
    const r = this.faultRng;
    if (r.chance(d.dropProbability)) {
      this.stats.eventsDropped++;
      return;
    }
    const copies = r.chance(d.duplicateProbability) ? 2 : 1;
    if (copies === 2) this.stats.eventsDuplicated++;
    for (let c = 0; c < copies; c++) {
      let delay = d.latencyMs * (0.5 + r.next());
      if (d.extraDelayMaxMs > 0 && r.chance(d.delayProbability)) {
        delay += r.next() * d.extraDelayMaxMs;
        this.stats.eventsDelayed++;
      }
      this.at(delay, make());
    }
  }

  /** A snapshot's reconcile that arrives together with a scheduled tick (two reconciles at once). */
  private coincides(target: RouteTarget, envelope: WorldEnvelope): boolean {
    const p = this.sc.faults.delivery.concurrentReconcileProbability;
    return (
      p > 0 &&
      target === 'reconcile' &&
      envelope['detail-type'] === DetailTypes.clusterSnapshot &&
      this.faultRng.chance(p)
    );
  }

  /** Invocations that run concurrently (their awaits interleave); I11 is checked on the outcome. */
  private async invokeTogether(calls: Array<{ fn: LambdaName; event: unknown }>): Promise<void> {
    const outcomes = await Promise.all(calls.map((c) => this.invoke(c.fn, c.event, 0)));
    const decided = outcomes.filter((o) => o === 'decided').length;
    this.trace({ kind: 'reconciles-overlapped', atMs: this.now, count: calls.length, decided });
  }

  /** EventBridge Scheduler invokes a function directly with its input (no bus, no loss). */
  private schedulerInvoke(fn: 'reconcile' | 'janitor', policy?: string): void {
    const event = { action: fn, scheduledAt: iso(this.now), ...(policy ? { policy } : {}) };
    this.at(this.sc.faults.delivery.latencyMs, { k: 'invoke', fn, event, attempt: 0 });
  }

  /** EC2 puts an event on the account's default bus (spot warnings, state changes). */
  private ec2Event(detailType: string, detail: Record<string, unknown>): void {
    this.ec2Bus.emit(Sources.ec2, detailType, detail, []);
  }

  private ec2StateChange(instanceId: string, state: string): void {
    this.ec2Event(DetailTypes.ec2StateChange, { 'instance-id': instanceId, state });
  }

  // ───────────────────────────── control plane (the real lib/control, observed) ─────────────────────────────

  /** Run one Lambda invocation to its end (virtual time stands still meanwhile), then observe it. */
  private async invoke(fn: LambdaName, event: unknown, attempt: number): Promise<string | undefined> {
    const before = fn === 'reconcile' ? this.fleetView() : undefined;
    const outcome = await this.lambdas.invoke(fn, event, this.crashFor(fn));
    if ('error' in outcome) {
      const err = outcome.error;
      if (err instanceof SimulatedCrashError) {
        this.stats.lambdaCrashes++;
        // A crash point is used up by the invocations that reach it.
        const point = this.crashPoints.find((c) => c.fn === fn && c.left > 0 && c.after === err.after);
        if (point) point.left--;
      }
      const retryIn = LAMBDA_RETRY_DELAYS_MS[attempt];
      this.note(
        `${fn} failed (${outcome.error.name}: ${outcome.error.message.slice(0, 160)})${retryIn === undefined ? '; retries exhausted' : '; Lambda retries it'}`,
      );
      if (retryIn !== undefined) this.at(retryIn, { k: 'invoke', fn, event, attempt: attempt + 1 });
      return;
    }
    if ('rejected' in outcome) {
      this.note(`${fn} rejected an event: ${outcome.rejected.slice(0, 200)}`);
      return;
    }
    switch (outcome.fn) {
      case 'reconcile':
        this.observeReconcile(outcome.result, before as FleetView, event);
        return outcome.result.outcome;
      case 'launch':
        this.observeLaunch(outcome.result);
        return;
      case 'terminate':
        if (outcome.result.outcome === 'refused') this.note(`terminate refused: ${outcome.result.reason}`);
        if (outcome.result.outcome === 'terminated' && outcome.result.terminatedNow)
          this.stats.terminationsRequested++;
        return;
      case 'interruption':
        this.observeInterruption(outcome.result);
        return;
      case 'janitor':
        this.observeJanitor(outcome.result);
        return;
    }
  }

  /**
   * Whether this invocation dies, and where: a scenario crash point of this function not used up
   * yet, or with `crashProbability` after a random one of its first 12 port calls.
   */
  private crashFor(fn: LambdaName): CrashPoint | undefined {
    const point = this.crashPoints.find((c) => c.fn === fn && c.left > 0);
    if (point) return { after: point.after };
    const p = this.sc.faults.delivery.crashProbability;
    if (p > 0 && this.crashRng.chance(p)) return { afterCall: this.crashRng.int(1, 12) };
    return undefined;
  }

  /** What the planner is about to see (read before the reconcile runs; nothing moves meanwhile). */
  private fleetView(): FleetView {
    const nowMs = this.now;
    const cs = this.stateStore.clusters.get(this.cluster);
    let unavailable = 0;
    for (const o of cs?.offerings.entries.values() ?? []) if (Date.parse(o.until) > nowMs) unavailable++;
    let inFlight = 0;
    for (const f of cs?.inFlight.values() ?? []) if (Date.parse(f.expiresAt) > nowMs) inFlight++;
    const pendingOrUnready: string[] = [];
    for (const i of this.instances.values()) {
      if (i.state === 'pending') pendingOrUnready.push(i.instanceId);
      else if (i.state === 'running' && !this.snapshotNodeReady(i.nodeName))
        pendingOrUnready.push(i.instanceId);
    }
    return { inFlight, unavailable, pendingOrUnready: pendingOrUnready.length };
  }

  private storedSnapshot(): ClusterSnapshot | undefined {
    return this.stateStore.clusters.get(this.cluster)?.snapshot?.snapshot;
  }

  private snapshotNodeReady(nodeName: string): boolean {
    return this.storedSnapshot()?.nodes.some((n) => n.name === nodeName && n.ready) ?? false;
  }

  private observeReconcile(result: ReconcileResult, before: FleetView, event: unknown): void {
    const stored = this.storedSnapshot();
    this.snapshotObservedMs = stored ? this.observedMs(stored) : undefined;
    switch (result.outcome) {
      case 'stale-snapshot':
        this.stats.ignoredStaleSnapshots++;
        return;
      case 'future-snapshot':
        this.stats.futureSnapshotsRejected++;
        return;
      case 'busy':
      case 'duplicate':
      case 'replayed':
        this.stats.duplicateDecisions++;
        return;
      case 'foreign-instance':
        return;
      case 'decided':
        this.traceDecision(result.plan, before, triggerName(event));
    }
  }

  /** Classify a destructive action by the plan's own explanation of it (kind + reason). */
  private causeOf(plan: Plan, subjects: string[], reason: string): ActionCause {
    if (/passed its deadline/.test(reason)) return 'drain-timeout';
    if (/spot|interruption|rebalance/i.test(reason)) return 'spot';
    const ex = plan.explanations.find(
      (e) => e.subject !== undefined && subjects.includes(e.subject) && e.message === reason,
    );
    const kind =
      ex?.kind ??
      plan.explanations.find((e) => e.subject !== undefined && subjects.includes(e.subject))?.kind;
    switch (kind) {
      case 'stale':
        return 'stale';
      case 'schedule':
        return 'schedule';
      case 'repair':
        return 'repair';
      case 'scale-in':
        return 'scale-in';
      default:
        return 'other';
    }
  }

  /** Trace a decision reconcile made (for I1, I2, I5, I7, I8) and keep it for the report. */
  private traceDecision(plan: Plan, before: FleetView, trigger: string): void {
    this.stats.decisions++;
    const acts =
      plan.launches.length + plan.drains.length + plan.terminations.length + plan.nodeDeletions.length > 0;
    if (acts) this.stats.decisionsWithActions++;
    const snap = this.storedSnapshot();
    const actions: Extract<TraceEvent, { kind: 'decision' }>['actions'] = [];
    for (const d of plan.drains) {
      actions.push({
        target: d.nodeName,
        action: 'drain',
        cause: this.causeOf(plan, [d.nodeName, d.instanceId], d.reason),
        disruption: d.disruption ?? 'involuntary',
        deadlineMs: Date.parse(d.deadline),
      });
    }
    for (const t of plan.terminations) {
      actions.push({
        target: t.instanceId,
        action: 'terminate',
        cause: this.causeOf(plan, [t.instanceId, t.nodeName ?? t.instanceId], t.reason),
      });
    }
    for (const n of plan.nodeDeletions) {
      actions.push({
        target: n.nodeName,
        action: 'delete-node',
        cause: this.causeOf(plan, [n.nodeName], n.reason),
      });
    }
    const constrained =
      plan.agentStale ||
      // 'waiting': every offering the pods could use is unavailable or backed off (I10).
      plan.explanations.some((e) => e.kind === 'clamp' || e.kind === 'stale' || e.kind === 'waiting') ||
      // 'outage': pods counted on the capacity of an outage's NotReady nodes (meltdown protection,
      // #13 item 4): by design nothing is launched beside an unreachable fleet.
      plan.explanations.some((e) => e.subject === 'outage') ||
      before.inFlight > 0 ||
      before.unavailable > 0 ||
      before.pendingOrUnready > 0 ||
      plan.activeSchedule.maxNodes === 0 ||
      snap?.truncated !== undefined;
    for (const l of plan.launches) {
      this.stats.launchDecisions++;
      this.decidedAt.set(l.launchId, this.now);
      this.trace({
        kind: 'launch-decided',
        atMs: this.now,
        decisionId: plan.decisionId,
        launchId: l.launchId,
        count: l.count,
      });
      this.note(`decide: launch ${l.count}× ${l.instanceTypes[0]} (${l.podsCovered} pods) — ${l.reason}`);
    }
    this.trace({
      kind: 'decision',
      atMs: this.now,
      decisionId: plan.decisionId,
      snapshotSeq: plan.snapshotSeq,
      snapshotObservedAtMs: snap ? this.observedMs(snap) : null,
      shapeIds: snap
        ? snap.pendingShapes.filter((s) => !this.shapeFitsExisting(s, snap)).map((s) => s.id)
        : [],
      launchedShapeIds: [...new Set(plan.launches.flatMap((l) => l.shapeIds))],
      unhelpableShapeIds: plan.unhelpable.map((u) => u.shapeId),
      constrained,
      actions,
    });
    for (const d of plan.drains) {
      this.stats.drainsRequested++;
      this.traceNodeAction('drain-requested', d.nodeName, this.nodes.get(d.nodeName)?.onPrem ?? false);
      this.note(`decide: drain ${d.nodeName} — ${d.reason}`);
    }
    for (const t of plan.terminations) {
      this.traceNodeAction('terminate', t.instanceId, this.isOnPremTarget(t.instanceId, t.nodeName));
      this.note(`decide: terminate ${t.instanceId} — ${t.reason}`);
    }
    for (const n of plan.nodeDeletions) {
      this.traceNodeAction('delete-node', n.nodeName, this.nodes.get(n.nodeName)?.onPrem ?? false);
    }
    if (this.recordDecisions && (acts || plan.unhelpable.length > 0 || trigger.startsWith('schedule'))) {
      this.decisions.push({
        atMs: this.now,
        decisionId: plan.decisionId,
        trigger,
        snapshotSeq: plan.snapshotSeq,
        schedule: plan.activeSchedule.name,
        maxNodes: plan.activeSchedule.maxNodes,
        agentStale: plan.agentStale,
        launches: plan.launches.map((l) => ({
          launchId: l.launchId,
          count: l.count,
          instanceTypes: l.instanceTypes,
          capacityTypes: l.capacityTypes,
          podsCovered: l.podsCovered,
          reason: l.reason,
        })),
        drains: plan.drains.map((d) => ({ nodeName: d.nodeName, reason: d.reason })),
        terminations: plan.terminations.map((t) => ({ instanceId: t.instanceId, reason: t.reason })),
        nodeDeletions: plan.nodeDeletions.map((n) => ({ nodeName: n.nodeName, reason: n.reason })),
        unhelpable: plan.unhelpable.map((u) => ({ shapeId: u.shapeId, count: u.count, reason: u.reason })),
        explanations: plan.explanations.filter((e) => e.kind !== 'noop').slice(0, 30),
      });
    }
  }

  private traceNodeAction(
    action: 'cordon' | 'uncordon' | 'drain-requested' | 'evict' | 'delete-node' | 'terminate',
    target: string,
    onPrem: boolean,
  ): void {
    this.trace({ kind: 'node-action', atMs: this.now, action, target, onPrem });
  }

  private observeLaunch(r: LaunchResult): void {
    this.stats.launchReuses += r.instances.filter((i) => i.reused).length;
    if (r.stoppedBy === 'expired') {
      this.stats.expiredLaunchRequests++;
      this.note(`launch ${r.launchId}: request arrived after its in-flight TTL, dropped`);
    } else if (r.stoppedBy) {
      this.stats.noCapacity++;
      this.note(`launch ${r.launchId}: stopped (${r.stoppedBy}) after ${r.instances.length} instance(s)`);
    }
  }

  private observeInterruption(r: InterruptionResult): void {
    if (r.outcome !== 'handled') return;
    if (r.drainRequested) {
      this.stats.drainsRequested++;
      this.trace({
        kind: 'node-action',
        atMs: this.now,
        action: 'drain-requested',
        target: r.nodeName,
        onPrem: this.nodes.get(r.nodeName)?.onPrem ?? false,
        disruption: 'involuntary',
      });
    }
    // The replacement is reconcile's decision (ReconcileRequested): traced with its plan.
    this.note(`interruption: drain ${r.nodeName} recorded; reconcile asked for the replacement`);
  }

  private observeJanitor(r: JanitorReport): void {
    this.stats.janitorTerminations += r.orphansTerminated.length;
    this.stats.janitorDeviceDeletions += r.devicesDeleted.length;
    for (const o of r.orphans) {
      if (!r.orphansTerminated.includes(o.instanceId)) continue;
      this.traceNodeAction('terminate', o.instanceId, this.isOnPremTarget(o.instanceId, o.nodeName));
      this.note(`janitor: ${o.instanceId} never registered, terminated`);
    }
  }

  /** Whether a pending shape fits a Ready, schedulable node of the snapshot (the scheduler will place it). */
  private shapeFitsExisting(s: PendingShape, snap: ClusterSnapshot): boolean {
    return snap.nodes.some(
      (n) =>
        n.ready &&
        !n.cordoned &&
        shapeFitsNode(s, n).ok &&
        n.allocatable.cpuMilli - n.requested.cpuMilli >= s.cpuMilli &&
        n.allocatable.memoryMiB - n.requested.memoryMiB >= s.memoryMiB &&
        n.allocatable.pods - n.requested.pods >= 1,
    );
  }

  private isOnPremTarget(instanceId: string, nodeName: string | undefined): boolean {
    if (nodeName && this.nodes.get(nodeName)?.onPrem) return true;
    for (const n of this.nodes.values()) if (n.onPrem && n.instanceId === instanceId) return true;
    return false;
  }

  // ───────────────────────────── EC2 + Tailscale (the world) ─────────────────────────────

  /** Whether the clock time of now lies in a scenario window [from, to) (it may wrap midnight). */
  private inWindow(w: { from: string; to: string }): boolean {
    const minuteOfDay = Math.floor((this.now % 86_400_000) / MINUTE);
    const from = clockMinutes(w.from);
    const to = clockMinutes(w.to);
    return from <= to ? minuteOfDay >= from && minuteOfDay < to : minuteOfDay >= from || minuteOfDay < to;
  }

  /**
   * The world's answer to one RunInstances attempt: the scenario's capacity and quota windows.
   * Every attempt is traced (I10 checks quota retries against the backoff).
   */
  private capacityError(o: {
    instanceType: string;
    capacityType: CapacityType;
    zone: string;
  }): string | undefined {
    const hit = this.sc.faults.capacityErrors.find((w) => {
      if (w.instanceType !== '*' && w.instanceType !== o.instanceType) return false;
      if (w.zone !== '*' && w.zone !== o.zone && `${this.cfg.cluster.region}${w.zone}` !== o.zone)
        return false;
      if (w.capacityType !== '*' && w.capacityType !== o.capacityType) return false;
      return this.inWindow(w);
    });
    this.trace({ kind: 'run-instances', atMs: this.now, ...o, outcome: hit?.code ?? 'launched' });
    if (!hit) return undefined;
    if (hit.code === 'VcpuLimitExceeded' || hit.code === 'InstanceLimitExceeded') this.stats.quotaRefusals++;
    else this.stats.capacityFallbacks++;
    return hit.code;
  }

  /** A launch setup the scenario breaks for a while: its instances boot but never register. */
  private brokenSetup(inst: FakeInstance): boolean {
    return this.sc.faults.brokenLaunchSetups.some(
      (w) =>
        (w.instanceType === '*' || w.instanceType === inst.instanceType) &&
        (w.capacityType === '*' || w.capacityType === inst.capacityType) &&
        this.inWindow(w),
    );
  }

  /** RunInstances created an instance: it boots. */
  private onLaunched(inst: FakeInstance, req: LaunchOneRequest): void {
    const id = inst.instanceId;
    const sim: SimInstance = {
      instanceId: id,
      instanceType: inst.instanceType,
      zone: inst.zone,
      capacityType: inst.capacityType,
      state: 'pending',
      launchedAtMs: this.now,
      nodeName: inst.nodeName,
      decisionId: req.decisionId,
      launchId: req.launchId,
      launchKey: req.clientToken,
      reason: req.reason,
      hourlyUsd: this.catalog.get(inst.instanceType)
        ? this.catalog.hourlyUsd(inst.instanceType, inst.capacityType)
        : 0,
      // Drawn first: a broken-setup window leaves the seed's other draws as they were.
      failsToJoin: this.cloudRng.chance(this.sc.cloud.failedBootProbability) || this.brokenSetup(inst),
    };
    this.instances.set(id, sim);
    this.stats.instancesLaunched++;
    const key = `${inst.instanceType}/${inst.capacityType}`;
    this.stats.launchesByType[key] = (this.stats.launchesByType[key] ?? 0) + 1;
    this.trace({
      kind: 'instance-created',
      atMs: this.now,
      instanceId: id,
      launchId: req.launchId,
      index: req.index,
      decidedAtMs: this.decidedAt.get(req.launchId) ?? this.now,
      setup: { instanceType: inst.instanceType, capacityType: inst.capacityType, imageId: inst.imageId },
      nodeName: inst.nodeName,
    });
    this.note(`EC2: ${id} ${inst.instanceType} ${inst.capacityType} in ${inst.zone} pending`);
    const alive = this.aliveInstances();
    if (alive > this.stats.peakCloudInstances) this.stats.peakCloudInstances = alive;
    this.ec2StateChange(id, 'pending');
    this.at(this.cloudRng.logNormalMs(this.sc.cloud.boot), { k: 'boot', id });
  }

  private aliveInstances(): number {
    let n = 0;
    for (const i of this.instances.values()) if (i.state === 'pending' || i.state === 'running') n++;
    return n;
  }

  private boot(id: string): void {
    const i = this.instances.get(id);
    if (i?.state !== 'pending') return;
    i.state = 'running';
    i.bootedAtMs = this.now;
    this.fleet.setState(id, 'running');
    this.ec2StateChange(id, 'running');
    if (i.capacityType === 'spot' && this.sc.faults.spotInterruptionsPerNodeHour > 0) {
      this.at(this.faultRng.exponentialMs(this.sc.faults.spotInterruptionsPerNodeHour), {
        k: 'spot-warning',
        id,
      });
    }
    this.tailscaleUp(i);
  }

  /**
   * The bootstrap's `tailscale up` with the single-use key the launch Lambda put into the user
   * data. While the tailnet is down it waits (retried when it is back); a spent or expired key
   * fails the bootstrap, and the instance never registers (the janitor's business).
   */
  private tailscaleUp(i: SimInstance): void {
    if (i.deviceId || i.state !== 'running' || i.joinFailed || this.tailnet.down) return;
    const userData = this.fleet.instances.get(i.instanceId)?.userData ?? '';
    const key = /^TAILSCALE_AUTH_KEY='([^']*)'/m.exec(userData)?.[1] ?? '';
    try {
      const device = this.tailnet.join(i.nodeName, key);
      i.deviceId = device.nodeId;
      this.trace({
        kind: 'device-created',
        atMs: this.now,
        deviceId: device.nodeId,
        instanceId: i.instanceId,
      });
    } catch (err) {
      i.joinFailed = true;
      this.note(`${i.instanceId}: tailscale up failed (${(err as Error).message}); it will never register`);
      return;
    }
    if (i.failsToJoin) {
      this.note(`${i.instanceId} booted but its bootstrap fails: it will never register`);
      return;
    }
    this.at(this.cloudRng.logNormalMs(this.sc.cloud.join), { k: 'join', id: i.instanceId });
  }

  private join(id: string): void {
    const i = this.instances.get(id);
    if (i?.state !== 'running' || i.registeredAtMs !== undefined) return;
    if (this.tailnet.down) return; // retried when the tailnet is back
    const spec = this.catalog.get(i.instanceType);
    if (!spec) return;
    const node: SimNode = {
      name: i.nodeName,
      onPrem: false,
      providerID: `${AWS_PROVIDER_ID_PREFIX}${i.zone}/${id}`,
      labels: { ...cloudNodeLabels(this.cfg, spec, i.zone, i.capacityType), [Labels.hostname]: i.nodeName },
      taints: this.cfg.nodes.taints,
      allocatable: this.cloudAllocatable(spec),
      daemonCpuMilli: 0,
      daemonMemoryMiB: 0,
      daemonPods: 0,
      usedCpuMilli: 0,
      usedMemoryMiB: 0,
      pods: new Set(),
      ready: true,
      readySinceMs: this.now,
      cordoned: false,
      createdAtMs: this.now,
      instanceId: id,
      instanceType: i.instanceType,
      zone: i.zone,
      capacityType: i.capacityType,
      model: `${i.instanceType} (${i.capacityType})`,
    };
    this.applyDaemonSets(node);
    this.nodes.set(node.name, node);
    i.registeredAtMs = this.now;
    this.trace({ kind: 'instance-registered', atMs: this.now, instanceId: id });
    this.agentChanged();
    this.queueSched();
  }

  /** Node generation for NotReady timers: changes whenever readiness flips. */
  private nodeGen(n: SimNode): number {
    return n.readySinceMs;
  }

  private nodeUnreachable(n: SimNode): boolean {
    if (n.onPrem) return false;
    const i = n.instanceId ? this.instances.get(n.instanceId) : undefined;
    return this.tailnet.down || !i || i.state !== 'running';
  }

  private spotWarning(id: string): void {
    const i = this.instances.get(id);
    if (i?.state !== 'running') return;
    i.interruptedAtMs = this.now;
    this.stats.spotInterruptions++;
    this.trace({ kind: 'instance-interrupted', atMs: this.now, instanceId: id });
    this.note(`EC2: spot interruption warning for ${id} (reclaimed in 2 min)`);
    this.ec2Event(DetailTypes.ec2SpotInterruption, { 'instance-id': id, 'instance-action': 'terminate' });
    this.at(SPOT_NOTICE_MS, { k: 'spot-reclaim', id });
  }

  private spotReclaim(id: string): void {
    const i = this.instances.get(id);
    if (!i || (i.state !== 'running' && i.state !== 'pending')) return;
    this.note(`EC2: spot instance ${id} reclaimed`);
    this.fleet.setState(id, 'shutting-down');
    this.shutDown(i, this.faultRng.chance(0.8));
  }

  /** The terminate or janitor Lambda's TerminateInstances reached EC2. */
  private onTerminating(id: string): void {
    const i = this.instances.get(id);
    if (!i || (i.state !== 'running' && i.state !== 'pending')) return;
    this.note(`EC2: terminate ${id}`);
    this.shutDown(i, true);
  }

  /** The instance stops: the kubelet goes silent, Tailscale logs out if it can. */
  private shutDown(i: SimInstance, tailscaleLogout: boolean): void {
    const node = this.nodes.get(i.nodeName);
    if (node && node.pods.size > 0)
      this.trace({
        kind: 'workload-killed',
        atMs: this.now,
        node: node.name,
        pods: node.pods.size,
        how: 'instance-stopped',
      });
    i.state = 'shutting-down';
    i.goneAtMs = this.now;
    this.stats.instancesTerminated++;
    this.trace({ kind: 'instance-gone', atMs: this.now, instanceId: i.instanceId });
    this.ec2StateChange(i.instanceId, 'shutting-down');
    if (i.deviceId) {
      if (tailscaleLogout && !this.tailnet.down) this.tailnet.logout(i.deviceId);
      else this.tailnet.offline(i.deviceId);
    }
    const n = this.nodes.get(i.nodeName);
    if (n?.ready) this.at(NODE_MONITOR_GRACE_MS, { k: 'node-not-ready', node: n.name, gen: this.nodeGen(n) });
    this.at(this.sc.cloud.shutdownSeconds * 1000, { k: 'shutdown-done', id: i.instanceId });
  }
  private tailscaleOutage(on: boolean, agentAffected: boolean): void {
    this.tailnet.down = on;
    if (on) this.stats.tailscaleOutages++;
    this.note(
      on
        ? `Tailscale outage begins${agentAffected ? ' (home internet down: agent cut off too)' : ''}`
        : 'Tailscale outage ends',
    );
    if (agentAffected) this.setAgentConnected('tailscale-outage', !on);
    for (const n of this.nodes.values()) {
      if (n.onPrem) continue;
      if (on && n.ready) {
        this.at(NODE_MONITOR_GRACE_MS, { k: 'node-not-ready', node: n.name, gen: this.nodeGen(n) });
      } else if (!on && !n.ready) {
        const i = n.instanceId ? this.instances.get(n.instanceId) : undefined;
        if (i?.state === 'running') {
          n.ready = true;
          n.readySinceMs = this.now + NODE_RECOVER_MS;
          this.agentChanged();
          this.queueSched();
        }
      }
    }
    if (!on) {
      // Instances that booted during the outage join the tailnet, then the cluster, now.
      for (const i of this.instances.values()) {
        if (i.state !== 'running' || i.registeredAtMs !== undefined) continue;
        if (!i.deviceId) this.tailscaleUp(i);
        else if (!i.failsToJoin)
          this.at(this.cloudRng.logNormalMs(this.sc.cloud.join), { k: 'join', id: i.instanceId });
      }
    }
  }

  // ───────────────────────────── output ─────────────────────────────

  private accrueCost(): void {
    const dtH = (this.now - this.lastCostMs) / HOUR;
    if (dtH <= 0) return;
    for (const i of this.instances.values()) {
      if (i.state === 'terminated') continue;
      this.stats.nodeHours[i.capacityType] += dtH;
      this.stats.costUsd[i.capacityType] += dtH * i.hourlyUsd;
      this.cumulativeCost += dtH * i.hourlyUsd;
    }
    this.lastCostMs = this.now;
  }

  private sample(): void {
    let unschedulable = 0;
    for (const id of this.pendingPods) if (this.pods.get(id)?.unschedulable) unschedulable++;
    let onPremReady = 0;
    let cloudReady = 0;
    for (const n of this.nodes.values()) {
      if (!n.ready) continue;
      if (n.onPrem) onPremReady++;
      else cloudReady++;
    }
    let running = 0;
    for (const n of this.nodes.values()) running += n.pods.size;
    const alive = this.aliveInstances();
    if (alive > this.stats.peakCloudInstances) this.stats.peakCloudInstances = alive;
    this.samples.push({
      atMs: this.now,
      pendingPods: this.pendingPods.size,
      unschedulablePods: unschedulable,
      runningPods: running,
      onPremReady,
      cloudInstances: alive,
      cloudReady,
      cumulativeCostUsd: Math.round(this.cumulativeCost * 10_000) / 10_000,
    });
  }

  private finish(): void {
    this.stats.pendingAtEnd = this.pendingPods.size;
    let oldest = 0;
    for (const id of this.pendingPods) {
      const p = this.pods.get(id);
      if (p) oldest = Math.max(oldest, this.now - p.createdAtMs);
    }
    this.stats.oldestPendingAtEndMs = oldest;
  }
}
