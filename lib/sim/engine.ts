/**
 * The discrete-event simulation: a virtual clock (integer ms since the epoch), an agenda of
 * timed events, a seeded PRNG and fault injection. It models only the world — the K3s cluster
 * (lib/sim/cluster-model.ts), EC2 and the tailnet (lib/sim/cloud-model.ts), the scenario's
 * workloads (lib/sim/workloads.ts) — and runs the shipped k3s-burst code in it: the agent's
 * Publisher, snapshot builder, CommandConsumer and drain executor on the simulator's clock
 * (lib/sim/agent-host.ts), and the five Lambdas' parsers and `lib/control` use-cases over the
 * world models of lib/sim/world (lib/sim/lambdas.ts), observed by lib/sim/control-observer.ts.
 * Events travel as EventBridge envelopes routed by the stack's own rules; this file keeps the
 * agenda (what happens when), the agent's process (start, restart, link to AWS) and the
 * delivery faults (loss, duplication, delay, concurrent reconciles, Lambda crashes and retries).
 *
 * Every loop is bounded: the run stops at the scenario's end or after `maxEvents` events.
 */

import { activeSchedule, buildCatalog, type Catalog, scheduleBoundaries } from '../core/index.js';
import { type ClusterSnapshotInput, type Config, DetailTypes } from '../events/index.js';
import { AgentUplink, JoinTokenLink, QueueLink, SimAgent, SimClock } from './agent-host.js';
import { CloudModel } from './cloud-model.js';
import { ClusterModel } from './cluster-model.js';
import { ControlObserver } from './control-observer.js';
import { EventQueue } from './event-queue.js';
import { type CheckerParams, InvariantChecker, type TraceEvent } from './invariants.js';
import { ClusterApi } from './kube-api.js';
import {
  type CrashPoint,
  LAMBDA_RETRY_DELAYS_MS,
  type LambdaName,
  SIM_AGENT_TOKEN_SECRET,
  SimLambdas,
  SimulatedCrashError,
} from './lambdas.js';
import { Recorder } from './recorder.js';
import { emptyStats, type SimResult, type SimStats } from './results.js';
import { Rng } from './rng.js';
import { clockMinutes, type Scenario } from './scenario.js';
import {
  AGENT_RESTART_MS,
  type Ev,
  HOUR,
  iso,
  JANITOR_PERIOD_MS,
  LAMBDA_RUN_MS,
  MINUTE,
  RECONCILE_RUN_MS,
  SAMPLE_MS,
  SCHEDULER_DEBOUNCE_MS,
  type SimContext,
} from './sim-context.js';
import { days, firstAt, scheduleWorkloads } from './workloads.js';
import { FakeQueue } from './world/agent-ports.js';
import { FakeFleet, FakeSecrets, FakeState } from './world/index.js';
import { type RouteTarget, RoutingBus, type WorldEnvelope } from './world/routing-bus.js';
import { Tailnet } from './world/tailnet.js';

export type { DecisionEntry, Sample, SimResult, SimStats } from './results.js';
export { JANITOR_PERIOD_MS } from './sim-context.js';

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

/** The characters of a bootstrap token's id and secret ([a-z0-9]). */
const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Let the agent's promise continuations run before virtual time moves on (a macrotask turn). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

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
export async function simulate(opts: SimOptions): Promise<SimResult> {
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
  /** The agent's bootstrap-token ids and secrets: their own stream. */
  private readonly tokenRng: Rng;
  private readonly catalog: Catalog;
  private readonly cfg: Config;
  private readonly sc: Scenario;
  private readonly checker: InvariantChecker;
  private readonly clusterName: string;
  private now: number;
  private readonly startMs: number;
  private readonly endMs: number;
  private readonly maxEvents: number;
  private readonly seed: number;
  /** What the world models see of the engine. */
  private readonly ctx: SimContext;

  // World models
  private readonly cluster: ClusterModel;
  private readonly cloud: CloudModel;
  private readonly observer: ControlObserver;
  private readonly recorder: Recorder;

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
  /** Secrets Manager: the agent publishes the join token there, launch reads it. */
  private readonly secrets = new FakeSecrets();
  private readonly tokenLink = new JoinTokenLink((value) => {
    this.secrets.set(SIM_AGENT_TOKEN_SECRET, value);
    this.stats.joinTokensPublished++;
  });
  private readonly builtShapes = new Map<number, string[]>();

  // Control plane
  /** The world behind the control plane's ports, and the control plane itself. */
  private readonly stateStore = new FakeState();
  private readonly fleet: FakeFleet;
  private readonly tailnet: Tailnet;
  private readonly bus: RoutingBus;
  private readonly ec2Bus: RoutingBus;
  private readonly lambdas: SimLambdas;
  private lastFresh: boolean | undefined;
  private lastAgentOk = true;

  // Output
  private readonly notes: Array<{ atMs: number; text: string }> = [];
  private readonly boundaries: Array<{ atMs: number; policy: string }> = [];
  private readonly onProgress?: (fraction: number) => void;
  private readonly stats: SimStats = emptyStats();

  constructor(opts: SimOptions) {
    this.sc = opts.scenario;
    this.cfg = opts.config;
    this.clusterName = opts.config.cluster.name;
    this.seed = opts.seed;
    this.rng = new Rng(opts.seed);
    this.workRng = this.rng.fork(1);
    this.cloudRng = this.rng.fork(2);
    this.faultRng = this.rng.fork(3);
    this.crashRng = this.rng.fork(4);
    this.tokenRng = this.rng.fork(5);
    this.crashPoints = opts.scenario.faults.lambdaCrashes.map((c) => ({
      fn: c.fn,
      after: c.after,
      left: c.times,
    }));
    this.catalog = buildCatalog(opts.config);
    this.startMs = Date.parse(opts.scenario.start);
    this.now = this.startMs;
    this.endMs = this.startMs + Math.round((opts.hours ?? opts.scenario.hours) * HOUR);
    this.maxEvents = opts.maxEvents ?? 5_000_000;
    this.onProgress = opts.onProgress;
    this.checker = new InvariantChecker(checkerParamsFor(opts.config, opts.scenario));
    const sim = this;
    this.ctx = {
      get now() {
        return sim.now;
      },
      startMs: this.startMs,
      endMs: this.endMs,
      cfg: this.cfg,
      sc: this.sc,
      stats: this.stats,
      at: (delayMs, ev) => this.at(delayMs, ev),
      atTime: (atMs, ev) => this.q.push(atMs, ev),
      trace: (e) => this.trace(e),
      note: (text) => this.note(text),
    };
    const zones = opts.scenario.cloud.zones.map((z) =>
      z.length <= 2 ? `${opts.config.cluster.region}${z}` : z,
    );
    this.cluster = new ClusterModel(this.ctx, this.catalog, zones, () => this.agentChanged());
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
    this.api = new ClusterApi(this.cluster.apiModel());

    const clock = { now: () => this.now };
    const region = opts.config.cluster.region;
    this.tailnet = new Tailnet(clock, (nodeId) =>
      this.trace({ kind: 'device-deleted', atMs: this.now, deviceId: nodeId }),
    );
    this.fleet = new FakeFleet({
      cluster: this.clusterName,
      nodeNamePrefix: opts.config.nodes.namePrefix,
      subnets: zones.map((zone, i) => ({
        subnetId: `subnet-0${(i + 10).toString(16).padStart(16, '0')}`,
        zone,
      })),
      clock,
      offeringCache: this.stateStore.offeringCache(this.clusterName),
      unavailableOfferingTtlSeconds: opts.config.launch.unavailableOfferingTtlSeconds,
      offeringError: (o) => this.cloud.capacityError(o),
      onLaunched: (inst, req) => this.cloud.onLaunched(inst, req),
      onTerminating: (ids) => {
        for (const id of ids) this.cloud.onTerminating(id);
      },
      onStarting: (inst, req) => this.cloud.onStarting(inst, req),
      onStopping: (ids) => {
        for (const id of ids) this.cloud.onStopping(id);
      },
    });
    const deliver = (target: RouteTarget, envelope: WorldEnvelope) => this.deliver(target, envelope);
    this.bus = new RoutingBus({ bus: 'cluster', region, clock, deliver });
    this.ec2Bus = new RoutingBus({ bus: 'default', region, clock, deliver });
    this.uplink = new AgentUplink(this.bus, (e) => this.onAgentPut(e));
    this.lambdas = new SimLambdas({
      config: opts.config,
      clock,
      fleet: this.fleet,
      state: this.stateStore,
      devices: this.tailnet,
      secrets: this.secrets,
      bus: this.bus,
    });
    this.cloud = new CloudModel({
      ctx: this.ctx,
      catalog: this.catalog,
      cluster: this.cluster,
      fleet: this.fleet,
      tailnet: this.tailnet,
      ec2Bus: this.ec2Bus,
      cloudRng: this.cloudRng,
      faultRng: this.faultRng,
      decidedAt: (launchId) => this.observer.decidedAt.get(launchId),
      agentLink: (reason, on) => this.setAgentConnected(reason, on),
    });
    this.observer = new ControlObserver(
      this.ctx,
      this.clusterName,
      this.stateStore,
      this.cluster,
      this.cloud,
      opts.recordDecisions ?? true,
    );
    this.recorder = new Recorder(this.ctx, this.cluster, this.cloud);
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
    this.recorder.accrueCost();
    this.recorder.sample();
    this.recorder.finish();
    this.onProgress?.(1);
    return {
      scenario: this.sc.name,
      seed: this.seed,
      startMs: this.startMs,
      endMs: this.endMs,
      clusterName: this.clusterName,
      samples: this.recorder.samples,
      decisions: this.observer.decisions,
      violations: this.checker.violations,
      checks: { ...this.checker.coverage },
      stats: this.stats,
      boundaries: this.boundaries,
      notes: this.notes,
      warmPoolAtEnd: this.cloud.poolMembers(),
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
    this.cluster.addOnPremNodes();
    scheduleWorkloads(this.ctx, this.cluster, this.workRng);
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
      for (const day of days(this.startMs, this.endMs)) {
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
      const s = firstAt(o.at, this.startMs, this.endMs);
      if (s === undefined) return;
      this.q.push(s, { k: 'agent-conn', reason: `outage-${i}`, on: false });
      this.q.push(s + o.durationMinutes * MINUTE, { k: 'agent-conn', reason: `outage-${i}`, on: true });
    });
    for (const r of f.agentRestarts) {
      const s = firstAt(r, this.startMs, this.endMs);
      if (s !== undefined) this.q.push(s, { k: 'agent-restart' });
    }
  }

  private handle(ev: Ev): Promise<void> | undefined {
    switch (ev.k) {
      case 'pod-arrive':
        this.cluster.createPod(ev.template, ev.durationMs);
        return;
      case 'pod-finish':
        this.cluster.finishPod(ev.pod);
        return;
      case 'pdb-status':
        // A replica turned Ready: its PodDisruptionBudget's status changed.
        this.agentChanged();
        return;
      case 'service-window':
        this.cluster.serviceWindow(ev.template, ev.replicas, ev.up);
        return;
      case 'sched':
        this.cluster.runScheduler();
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
        this.cloud.boot(ev.id);
        return;
      case 'join':
        this.cloud.join(ev.id);
        return;
      case 'shutdown-done':
        this.cloud.shutdownDone(ev.id);
        return;
      case 'stop-done':
        this.cloud.stopDone(ev.id);
        return;
      case 'spot-warning':
        this.cloud.spotWarning(ev.id);
        return;
      case 'spot-reclaim':
        this.cloud.spotReclaim(ev.id);
        return;
      case 'ts-outage':
        this.cloud.tailscaleOutage(ev.on, ev.agentAffected);
        return;
      case 'node-not-ready':
        this.cloud.nodeNotReady(ev.node, ev.gen);
        return;
      case 'sample':
        this.recorder.accrueCost();
        this.recorder.sample();
        return;
    }
  }

  private afterStep(): void {
    // Schedule changes are a pure function of time: observe them as they happen.
    const snapshotObservedMs = this.observer.snapshotObservedMs;
    const fresh =
      snapshotObservedMs !== undefined &&
      this.now - snapshotObservedMs <= this.cfg.agent.staleAfterSeconds * 1000;
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

  // ───────────────────────────── the agent (its own code) ─────────────────────────────

  /** Something the agent watches changed: its publisher batches it (idle window, max window). */
  private agentChanged(): void {
    this.agent?.markDirty();
  }

  private startAgent(): void {
    this.agentRunning = true;
    this.agent = new SimAgent({
      cluster: this.clusterName,
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
      tokenStore: this.tokenLink,
      random: (n) => {
        let out = '';
        for (let i = 0; i < n; i++) out += TOKEN_CHARS[this.tokenRng.int(0, TOKEN_CHARS.length - 1)];
        return out;
      },
    });
    this.agent.start();
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
    this.tokenLink.connected = connected;
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

  /** The agent's snapshot of the cluster model (built by the agent's own code). */
  private buildSnapshot(seq: number, observedAt: string): ClusterSnapshotInput {
    this.observer.builtAtMs.set(seq, this.now);
    const snapshot = this.cluster.snapshotInput(seq, observedAt, this.clusterName);
    this.builtShapes.set(
      seq,
      (snapshot.pendingShapes ?? []).map((s) => s.id),
    );
    return snapshot;
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

  /** Run one Lambda invocation to its end (virtual time stands still meanwhile), then observe it. */
  private async invoke(fn: LambdaName, event: unknown, attempt: number): Promise<string | undefined> {
    const before = fn === 'reconcile' ? this.observer.fleetView() : undefined;
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
    return this.observer.observe(outcome, before, event);
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
}
