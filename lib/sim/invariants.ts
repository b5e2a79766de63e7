/**
 * The safety invariants I1–I11 of docs/architecture.md, checked over a trace of what happened in a
 * simulation. The simulator reports ground truth (which node is really on-prem, which
 * instance really never registered) as trace events; the checker keeps its own books from
 * those events and checks after every step. It never reads the simulator's state, so a
 * hand-built trace can exercise every check (test/unit/sim/invariants.test.ts), and a bug in
 * the model's bookkeeping cannot hide a violation.
 *
 * The slack each check allows ("hop" = one EventBridge/SQS delivery with the worst injected
 * delay plus one Lambda run):
 * - I1: none while the max is steady. A stopped warm-pool member is not counted (it runs nothing;
 *   lib/core/warm-pool.ts); a warming, stopping or started one is. When a schedule lowers it, instances decided before the
 *   drop may drain out: per round of `maxConcurrentDrains`, drain timeout + one tick period (the
 *   reconcile that notices the drain ended, if its result was dropped) + shutdown + 4 hops.
 *   Under `scaleIn.scheduleScaleDown=wait` those drains are voluntary (I9 wins): the instances
 *   decided before the drop may stay as long as their pods cannot be evicted, but nothing is
 *   launched above the lower max.
 *   Spot-interrupted instances are not counted (AWS reclaims them).
 * - I2, I6, I7, I8: none; checked on each action or decision.
 * - I3: registrationTimeout + janitor period + shutdown + 2 hops, counted from when the control
 *   plane has a fresh view (or, while it has none, until the agent is abandoned).
 * - I4: janitor period + 2 hops after the instance is gone.
 * - I5: the pending pod is in a snapshot within batchMax + 1 hop while the agent can publish, and
 *   the first decision on that snapshot launches for it unless the plan was constrained.
 * - I9: none for pods: once a decision asked for a voluntary drain of a node (and nothing
 *   involuntary — a spot warning, an involuntary drain, a repair or abandonment — happened to
 *   it since), the node's instance must not stop and its Node must not be deleted while workload
 *   pods still run on it (the world reports the pods it ended). A voluntary drain whose node
 *   still runs workload pods at its deadline must leave the node schedulable within one janitor
 *   period + 2 hops (the agent uncordons it).
 * - I10: none: after the k-th failure in a row of a launch setup (type, image, capacity type) —
 *   an instance terminated while the view was fresh, never registered, registrationTimeout after
 *   its launch — or of an EC2 quota (capacity type, quota class), EC2 sees no launch of that
 *   setup (no RunInstances of that quota) before min(maxSeconds, initialSeconds·2^(k−1)) has
 *   passed. A registration of a newer instance of the setup, a successful launch of the quota, or
 *   resetAfterSeconds without a failure start the count again (launch.backoff in the config).
 * - I11: none; of reconcile invocations that ran concurrently, at most one may decide (the others
 *   find the lease taken). The simulator knows which invocations overlapped (ground truth).
 */
import { quotaClassOf } from '../core/backoff.js';

export type InvariantId = 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6' | 'I7' | 'I8' | 'I9' | 'I10' | 'I11';

export const INVARIANT_TITLES: Record<InvariantId, string> = {
  I1: 'managed instances never exceed the active max',
  I2: 'no on-prem node is ever cordoned, drained, deleted or terminated',
  I3: 'no orphan instance outlives registrationTimeout + janitor period',
  I4: 'no Tailscale device of a terminated instance outlives the janitor period',
  I5: 'every helpable pending pod gets capacity within the batch window + one decision',
  I6: 'no eviction violates a PodDisruptionBudget',
  I7: 'redelivered/reordered events never launch twice nor act on an older snapshot',
  I8: 'no scale-in or repair on a stale snapshot',
  I9: "a voluntary disruption never ends a pod's run by force",
  I10: 'a failing launch setup or quota is retried only with bounded, growing backoff',
  I11: 'exactly one writer of capacity: of reconciles running at once, at most one decides',
};

export interface Violation {
  atMs: number;
  invariant: InvariantId;
  message: string;
  /** The last trace lines before the violation, oldest first. */
  timeline: string[];
}

/** Timing parameters of the checks, all derived from the config (see `checkerParamsFor`). */
export interface CheckerParams {
  janitorPeriodMs: number;
  registrationTimeoutMs: number;
  staleAfterMs: number;
  batchMaxMs: number;
  drainTimeoutMs: number;
  maxConcurrentDrains: number;
  /** Latency allowance for one hop through EventBridge/SQS plus one Lambda run. */
  hopMs: number;
  /** EC2 shutdown time: an instance told to terminate is counted until it is shutting-down. */
  shutdownMs: number;
  abandonAfterMs: number;
  /** scaleIn.scheduleScaleDown of the config (I1 after a schedule lowers the max). */
  scheduleScaleDown?: 'wait' | 'force';
  /** launch.backoff of the config (I10). */
  backoff: { initialMs: number; maxMs: number; resetAfterMs: number };
}

/** How often the I9 and I10 checks had something to judge: a check that never saw a case proves nothing. */
export interface CheckCoverage {
  /** Voluntary drains whose node the agent cordoned. */
  voluntaryDrainsCordoned: number;
  /** Of those, drains still holding workload pods at their deadline (a PDB or blocker held them). */
  voluntaryDrainsBlockedAtDeadline: number;
  /** Failures of a launch setup (a never-registered instance terminated). */
  launchSetupFailures: number;
  /** Launches of a setup checked against its backoff. */
  launchSetupRelaunches: number;
  /** RunInstances refused by an EC2 quota. */
  quotaRefusals: number;
  /** RunInstances attempts checked against a quota backoff. */
  quotaRetries: number;
}

/** Why an action targeted a node or instance, as the plan classified it. */
export type ActionCause =
  | 'scale-in'
  | 'repair'
  | 'schedule'
  | 'stale'
  | 'spot'
  | 'janitor'
  | 'drain-timeout'
  | 'other';

export type TraceEvent =
  /** The active capacity policy changed (or the run started). */
  | { kind: 'schedule'; atMs: number; name: string | null; maxNodes: number }
  /** A launch decision (from the plan); `count` instances may follow under `launchId`. */
  | {
      kind: 'launch-decided';
      atMs: number;
      decisionId: string;
      launchId: string;
      count: number;
    }
  /** EC2 created an instance (RunInstances succeeded, not a reused one). */
  | {
      kind: 'instance-created';
      atMs: number;
      instanceId: string;
      launchId: string;
      index: number;
      /** When the decision that launched it was made. */
      decidedAtMs: number;
      /** Its launch setup and Node name, as EC2 holds them (I9, I10). */
      setup?: { instanceType: string; capacityType: string; imageId: string };
      nodeName?: string;
    }
  /** One RunInstances attempt reached EC2 (I10): `outcome` is `launched` or the EC2 error code. */
  | {
      kind: 'run-instances';
      atMs: number;
      instanceType: string;
      capacityType: string;
      zone: string;
      outcome: string;
    }
  /** The instance's K3s node registered (ground truth). */
  | { kind: 'instance-registered'; atMs: number; instanceId: string }
  /** EC2 reports a warm-pool member stopped (parked): it counts toward no limit (I1). */
  | { kind: 'instance-stopped'; atMs: number; instanceId: string }
  /**
   * StartInstances started a stopped member for slot `index` of launch `launchId` (a warm start):
   * it counts again, and must register anew within registrationTimeout (I3).
   */
  | {
      kind: 'instance-started';
      atMs: number;
      instanceId: string;
      launchId: string;
      index: number;
      decidedAtMs: number;
    }
  /** A spot interruption warning for the instance: AWS reclaims it, not us. */
  | { kind: 'instance-interrupted'; atMs: number; instanceId: string }
  /** The instance left pending/running (shutting-down or terminated). */
  | { kind: 'instance-gone'; atMs: number; instanceId: string }
  | { kind: 'device-created'; atMs: number; deviceId: string; instanceId: string }
  | { kind: 'device-deleted'; atMs: number; deviceId: string }
  /** The control plane's view is fresh (a snapshot younger than staleAfter is stored) or not. */
  | { kind: 'freshness'; atMs: number; fresh: boolean }
  /** Any destructive action against a node or instance; `onPrem` is ground truth. */
  | {
      kind: 'node-action';
      atMs: number;
      action: 'cordon' | 'uncordon' | 'drain-requested' | 'evict' | 'delete-node' | 'terminate';
      target: string;
      onPrem: boolean;
      /** For a cordon: workload (non-DaemonSet) pods on the node then. */
      workloadPods?: number;
      /** For a drain requested outside a decision (the interruption function). */
      disruption?: 'voluntary' | 'involuntary';
    }
  /** The workload pods of a cordoned node changed (evicted, finished). */
  | { kind: 'node-workload'; atMs: number; node: string; workloadPods: number }
  /** Workload pods ended without eviction: their node's instance stopped or the Node was deleted (I9). */
  | {
      kind: 'workload-killed';
      atMs: number;
      node: string;
      pods: number;
      how: 'instance-stopped' | 'node-deleted';
    }
  /** One eviction through the (simulated) Eviction API, with the PDB state before it. */
  | {
      kind: 'eviction';
      atMs: number;
      pod: string;
      pdb?: { name: string; healthyBefore: number; minAvailable: number };
    }
  /** A pod failed a scheduling attempt. `helpable`: a candidate cloud node would fit it (ground truth). */
  | {
      kind: 'pod-unschedulable';
      atMs: number;
      pod: string;
      shapeId: string;
      helpable: boolean;
    }
  /** The pod got a node or went away. */
  | { kind: 'pod-resolved'; atMs: number; pod: string }
  /** The agent is able to publish (running and connected) or not. */
  | { kind: 'agent-publishing'; atMs: number; ok: boolean }
  /** The agent published a snapshot containing these pending shapes. */
  | { kind: 'snapshot-published'; atMs: number; seq: number; shapeIds: string[] }
  /** A reconcile ran the planner and carried the plan out. */
  | {
      kind: 'decision';
      atMs: number;
      decisionId: string;
      snapshotSeq: number | null;
      /** When the snapshot the plan used was observed by the agent. */
      snapshotObservedAtMs: number | null;
      shapeIds: string[];
      launchedShapeIds: string[];
      unhelpableShapeIds: string[];
      /** The plan could not launch freely: clamp, schedule, capacity errors, in-flight capacity, stale… */
      constrained: boolean;
      /** Destructive actions of the plan with their causes. */
      actions: Array<{
        target: string;
        action: 'drain' | 'terminate' | 'delete-node';
        cause: ActionCause;
        /** Drains: the plan's disruption class and deadline (I9). */
        disruption?: 'voluntary' | 'involuntary';
        deadlineMs?: number;
      }>;
    }
  /** Reconcile invocations that ran at the same time, and how many of them made a decision. */
  | { kind: 'reconciles-overlapped'; atMs: number; count: number; decided: number }
  /** Free text for the timeline only. */
  | { kind: 'note'; atMs: number; text: string };

interface InstanceBook {
  launchId: string;
  nodeName?: string;
  /** `type#image#capacityType` when the trace gave it (I10). */
  setupKey?: string;
  createdAtMs: number;
  decidedAtMs: number;
  registered: boolean;
  interrupted: boolean;
  goneAtMs?: number;
  /** A parked warm-pool member (stopped): not alive for I1, not waiting to register for I3. */
  stopped?: boolean;
  /** Counted as a failure of its launch setup already (I10). */
  failureCounted?: boolean;
}

/** The last disruption decided for a node (I9). */
interface DisruptionBook {
  voluntary: boolean;
  decisionId: string;
  deadlineMs: number;
  /** The deadline passed with workload pods on the node (counted once). */
  blockedAtDeadline: boolean;
}

/** Consecutive failures of a launch setup or a quota (I10). */
interface BackoffBook {
  failures: number;
  lastFailureMs: number;
  untilMs: number;
}

interface PendingBook {
  shapeId: string;
  sinceMs: number;
  helpable: boolean;
  /** Set once a snapshot containing the shape was published after `sinceMs`. */
  publishedSeq?: number;
  judged: boolean;
}

/** Significant events kept for a violation's timeline. */
const TIMELINE_LINES = 20;
/** Most recent events of any kind kept for it as well. */
const ROUTINE_LINES = 4;

/** Events that change the fleet, the policy or the cluster, as opposed to heartbeats. */
function isSignificant(e: TraceEvent): boolean {
  switch (e.kind) {
    case 'snapshot-published':
    case 'pod-unschedulable':
    case 'pod-resolved':
    case 'node-workload':
      return false;
    case 'decision':
      return e.actions.length > 0 || e.launchedShapeIds.length > 0;
    default:
      return true;
  }
}

/** Checks I1–I11 over a trace. Call `observe` for every event and `step` after each simulated instant. */
export class InvariantChecker {
  readonly violations: Violation[] = [];
  private readonly recent: Array<{ n: number; e: TraceEvent }> = [];
  private readonly significant: Array<{ n: number; e: TraceEvent }> = [];
  private seq = 0;
  private readonly seen = new Set<string>();

  private maxNodes = Number.POSITIVE_INFINITY;
  /** Last drop of the active max: instances decided before it may drain out during `graceUntilMs`. */
  private dropAtMs = Number.NEGATIVE_INFINITY;
  private graceUntilMs = Number.NEGATIVE_INFINITY;

  private readonly instances = new Map<string, InstanceBook>();
  private readonly launches = new Map<string, { count: number; created: Set<number> }>();
  private readonly devices = new Map<string, { instanceId: string; deletedAtMs?: number }>();
  private fresh = true;
  private freshSinceMs = 0;
  private agentOk = true;
  private agentOkSinceMs = 0;
  private readonly pending = new Map<string, PendingBook>();
  private maxActedSeq = -1;
  /** I9: per node name, the last disruption decided for it; and cordoned nodes' workload pods. */
  private readonly disruptions = new Map<string, DisruptionBook>();
  private readonly cordoned = new Map<string, number>();
  private readonly nodeOfInstance = new Map<string, string>();
  /** I10: per launch setup key and per quota key (`capacityType#class`). */
  private readonly setups = new Map<string, BackoffBook>();
  private readonly quotas = new Map<string, BackoffBook>();
  readonly coverage: CheckCoverage = {
    voluntaryDrainsCordoned: 0,
    voluntaryDrainsBlockedAtDeadline: 0,
    launchSetupFailures: 0,
    launchSetupRelaunches: 0,
    quotaRefusals: 0,
    quotaRetries: 0,
  };

  constructor(private readonly p: CheckerParams) {}

  /** Record an event and run the checks it triggers. */
  observe(e: TraceEvent): void {
    // The timeline keeps the last few events of any kind plus the last significant ones:
    // heartbeats (snapshots, decisions that did nothing) and pod-level events would crowd out
    // the launches, drains, terminations and schedule changes that explain a violation.
    this.seq++;
    if (e.kind !== 'pod-unschedulable' && e.kind !== 'pod-resolved') {
      this.recent.push({ n: this.seq, e });
      if (this.recent.length > ROUTINE_LINES * 4) this.recent.splice(0, this.recent.length - ROUTINE_LINES);
    }
    if (isSignificant(e)) {
      this.significant.push({ n: this.seq, e });
      if (this.significant.length > TIMELINE_LINES * 2) this.significant.splice(0, TIMELINE_LINES);
    }
    switch (e.kind) {
      case 'schedule': {
        if (e.maxNodes < this.maxNodes && Number.isFinite(this.maxNodes)) {
          const alive = this.aliveCount(e.atMs);
          const excess = Math.max(0, alive - e.maxNodes);
          const rounds = Math.ceil(excess / Math.max(1, this.p.maxConcurrentDrains));
          this.dropAtMs = e.atMs;
          // Each round: the drain (bounded by its timeout), the next reconcile that notices it
          // ended (a heartbeat snapshot, or at worst the periodic tick when the drain result and
          // the snapshots in between were dropped), termination and one decision.
          this.graceUntilMs =
            e.atMs +
            rounds * (this.p.drainTimeoutMs + this.p.janitorPeriodMs + this.p.shutdownMs + 4 * this.p.hopMs) +
            this.p.hopMs;
        }
        this.maxNodes = e.maxNodes;
        break;
      }
      case 'launch-decided':
        this.launches.set(e.launchId, { count: e.count, created: new Set() });
        break;
      case 'instance-created': {
        const book = this.launches.get(e.launchId);
        if (!book) {
          this.fail(
            e.atMs,
            'I7',
            `instance ${e.instanceId} created for launch ${e.launchId} that no decision made`,
          );
        } else if (book.created.has(e.index) || e.index >= book.count) {
          this.fail(
            e.atMs,
            'I7',
            `launch ${e.launchId} created a second instance (${e.instanceId}) for slot ${e.index} of ${book.count}: a redelivered request launched twice`,
          );
        }
        book?.created.add(e.index);
        const setupKey = e.setup
          ? `${e.setup.instanceType}#${e.setup.imageId}#${e.setup.capacityType}`
          : undefined;
        if (setupKey) this.checkRelaunch(e.atMs, setupKey, e.instanceId);
        if (e.nodeName) this.nodeOfInstance.set(e.instanceId, e.nodeName);
        this.instances.set(e.instanceId, {
          launchId: e.launchId,
          nodeName: e.nodeName,
          setupKey,
          createdAtMs: e.atMs,
          decidedAtMs: e.decidedAtMs,
          registered: false,
          interrupted: false,
        });
        break;
      }
      case 'instance-registered': {
        const i = this.instances.get(e.instanceId);
        if (i) {
          i.registered = true;
          // A newer instance of a failing setup registered: the setup works again (I10).
          const s = i.setupKey ? this.setups.get(i.setupKey) : undefined;
          if (i.setupKey && s && i.createdAtMs > s.lastFailureMs) this.setups.delete(i.setupKey);
        }
        break;
      }
      case 'instance-stopped': {
        const i = this.instances.get(e.instanceId);
        if (i) i.stopped = true;
        break;
      }
      case 'instance-started': {
        const book = this.launches.get(e.launchId);
        if (!book) {
          this.fail(e.atMs, 'I7', `${e.instanceId} started for launch ${e.launchId} that no decision made`);
        } else if (book.created.has(e.index) || e.index >= book.count) {
          this.fail(
            e.atMs,
            'I7',
            `launch ${e.launchId} started ${e.instanceId} for slot ${e.index} of ${book.count}, which already has an instance: a redelivered request acted twice`,
          );
        }
        book?.created.add(e.index);
        const i = this.instances.get(e.instanceId);
        if (!i) break;
        if (!i.stopped || i.goneAtMs !== undefined) {
          this.fail(e.atMs, 'I7', `${e.instanceId} started although it was not a stopped warm-pool member`);
        }
        i.stopped = false;
        i.registered = false;
        i.failureCounted = false;
        i.launchId = e.launchId;
        i.createdAtMs = e.atMs;
        i.decidedAtMs = e.decidedAtMs;
        break;
      }
      case 'instance-interrupted': {
        const i = this.instances.get(e.instanceId);
        if (i) i.interrupted = true;
        this.involuntary(this.nodeOfInstance.get(e.instanceId));
        break;
      }
      case 'instance-gone': {
        const i = this.instances.get(e.instanceId);
        if (i && i.goneAtMs === undefined) i.goneAtMs = e.atMs;
        const node = this.nodeOfInstance.get(e.instanceId);
        if (node) {
          this.disruptions.delete(node);
          this.cordoned.delete(node);
        }
        break;
      }
      case 'run-instances':
        this.checkRunInstances(e);
        break;
      case 'node-workload':
        if (this.cordoned.has(e.node)) this.cordoned.set(e.node, e.workloadPods);
        break;
      case 'workload-killed': {
        const d = this.disruptions.get(e.node);
        if (d?.voluntary && e.pods > 0) {
          this.fail(
            e.atMs,
            'I9',
            `${e.how === 'node-deleted' ? 'the Node' : 'the instance'} of ${e.node} ${e.how === 'node-deleted' ? 'was deleted' : 'stopped'} with ${e.pods} workload pod(s) still running after a voluntary drain (decision ${d.decisionId}): a voluntary disruption ended pods by force`,
          );
        }
        if (e.how === 'node-deleted') {
          this.disruptions.delete(e.node);
          this.cordoned.delete(e.node);
        }
        break;
      }
      case 'device-created':
        this.devices.set(e.deviceId, { instanceId: e.instanceId });
        break;
      case 'device-deleted': {
        const d = this.devices.get(e.deviceId);
        if (d) d.deletedAtMs = e.atMs;
        break;
      }
      case 'freshness':
        if (e.fresh && !this.fresh) this.freshSinceMs = e.atMs;
        this.fresh = e.fresh;
        break;
      case 'agent-publishing':
        if (e.ok && !this.agentOk) this.agentOkSinceMs = e.atMs;
        this.agentOk = e.ok;
        break;
      case 'node-action':
        if (e.onPrem && e.action !== 'uncordon') {
          this.fail(e.atMs, 'I2', `${e.action} of on-prem node ${e.target}`);
        }
        if (e.action === 'cordon') {
          this.cordoned.set(e.target, e.workloadPods ?? 0);
          if (this.disruptions.get(e.target)?.voluntary) this.coverage.voluntaryDrainsCordoned++;
        } else if (e.action === 'uncordon') {
          const d = this.disruptions.get(e.target);
          if (d?.voluntary && e.atMs >= d.deadlineMs && (this.cordoned.get(e.target) ?? 0) > 0)
            this.blocked(d);
          this.cordoned.delete(e.target);
        } else if (e.action === 'drain-requested' && e.disruption === 'involuntary') {
          this.involuntary(e.target);
        } else if (e.action === 'terminate') {
          this.setupFailure(e.atMs, e.target);
        }
        break;
      case 'eviction':
        if (e.pdb && e.pdb.healthyBefore - 1 < e.pdb.minAvailable) {
          this.fail(
            e.atMs,
            'I6',
            `evicted ${e.pod} although PDB ${e.pdb.name} allows no disruption (healthy ${e.pdb.healthyBefore}, minAvailable ${e.pdb.minAvailable})`,
          );
        }
        break;
      case 'pod-unschedulable':
        if (!this.pending.has(e.pod)) {
          this.pending.set(e.pod, {
            shapeId: e.shapeId,
            sinceMs: e.atMs,
            helpable: e.helpable,
            judged: false,
          });
        }
        break;
      case 'pod-resolved':
        this.pending.delete(e.pod);
        break;
      case 'snapshot-published': {
        const shapes = new Set(e.shapeIds);
        for (const p of this.pending.values()) {
          if (p.publishedSeq === undefined && shapes.has(p.shapeId)) p.publishedSeq = e.seq;
        }
        break;
      }
      case 'decision':
        this.checkDecision(e);
        break;
      case 'reconciles-overlapped':
        if (e.decided > 1) {
          this.fail(
            e.atMs,
            'I11',
            `${e.decided} of ${e.count} concurrent reconciles decided: the single-writer lease did not hold`,
          );
        }
        break;
      case 'note':
        break;
    }
  }

  /** Time-based checks (I1, I3, I4, I5 deadlines); call after every simulated instant. */
  step(nowMs: number): void {
    // I1
    const inGrace = nowMs <= this.graceUntilMs;
    let alive = 0;
    let legacy = 0;
    for (const i of this.instances.values()) {
      if (i.goneAtMs !== undefined || i.interrupted || i.stopped) continue;
      alive++;
      if (i.decidedAtMs < this.dropAtMs) legacy++;
    }
    const waits = this.p.scheduleScaleDown === 'wait';
    const allowed = inGrace || waits ? Math.max(this.maxNodes, legacy) : this.maxNodes;
    if (alive > allowed) {
      this.fail(
        nowMs,
        'I1',
        `${alive} managed instances alive, active max ${this.maxNodes}` +
          (inGrace || waits
            ? ` (${legacy} from before the schedule dropped the max are still draining)`
            : ''),
      );
    }
    // I3: an instance that never registered must be gone by launch + registrationTimeout +
    // janitor period, counted from when the control plane could see it (fresh snapshots).
    const slack = this.p.janitorPeriodMs + 2 * this.p.hopMs + this.p.shutdownMs;
    for (const [id, i] of this.instances) {
      if (i.registered || i.goneAtMs !== undefined || i.stopped) continue;
      const visibleFrom = Math.max(
        i.createdAtMs + this.p.registrationTimeoutMs,
        this.fresh ? this.freshSinceMs : nowMs,
      );
      const backstop = i.createdAtMs + this.p.registrationTimeoutMs + this.p.abandonAfterMs + slack;
      if ((this.fresh && nowMs > visibleFrom + slack) || nowMs > backstop) {
        this.fail(
          nowMs,
          'I3',
          `instance ${id} never registered and is still alive ${fmtDur(nowMs - i.createdAtMs)} after launch`,
        );
      }
    }
    // I4
    for (const [deviceId, d] of this.devices) {
      if (d.deletedAtMs !== undefined) continue;
      const inst = this.instances.get(d.instanceId);
      if (inst?.goneAtMs === undefined) continue;
      if (nowMs > inst.goneAtMs + this.p.janitorPeriodMs + 2 * this.p.hopMs) {
        this.fail(
          nowMs,
          'I4',
          `Tailscale device ${deviceId} of terminated ${d.instanceId} still exists ${fmtDur(nowMs - inst.goneAtMs)} after termination`,
        );
      }
    }
    // I9: a voluntary drain that could not finish by its deadline gives the node back.
    for (const [node, d] of this.disruptions) {
      if (!d.voluntary || nowMs < d.deadlineMs) continue;
      const pods = this.cordoned.get(node);
      if (pods === undefined || pods === 0) continue;
      this.blocked(d);
      if (nowMs > d.deadlineMs + this.p.janitorPeriodMs + 2 * this.p.hopMs) {
        this.fail(
          nowMs,
          'I9',
          `node ${node} is still cordoned with ${pods} workload pod(s) ${fmtDur(nowMs - d.deadlineMs)} after the deadline of its voluntary drain (decision ${d.decisionId}): an abandoned drain must uncordon`,
        );
      }
    }
    // I5 (first half): the batch window. A helpable unschedulable pod appears in a published
    // snapshot within batchMaxMs (+ one hop), unless the agent could not publish.
    for (const [pod, p] of this.pending) {
      if (!p.helpable || p.publishedSeq !== undefined || p.judged) continue;
      const from = Math.max(p.sinceMs, this.agentOk ? this.agentOkSinceMs : nowMs);
      if (this.agentOk && nowMs > from + this.p.batchMaxMs + this.p.hopMs) {
        p.judged = true;
        this.fail(
          nowMs,
          'I5',
          `pending pod ${pod} (shape ${p.shapeId}) was not in any snapshot ${fmtDur(nowMs - p.sinceMs)} after it became unschedulable`,
        );
      }
    }
  }

  private checkDecision(e: Extract<TraceEvent, { kind: 'decision' }>): void {
    // I9: what the plan decided about each node's disruption.
    for (const a of e.actions) {
      if (a.action === 'drain') {
        if (a.disruption === 'voluntary') {
          this.disruptions.set(a.target, {
            voluntary: true,
            decisionId: e.decisionId,
            deadlineMs: a.deadlineMs ?? e.atMs + this.p.drainTimeoutMs,
            blockedAtDeadline: false,
          });
        } else {
          this.involuntary(a.target);
        }
      } else if (a.cause === 'repair' || a.cause === 'stale' || a.cause === 'spot') {
        this.involuntary(a.action === 'terminate' ? this.nodeOfInstance.get(a.target) : a.target);
      }
    }
    // I7: never act on an older snapshot than one already acted on.
    const acts = e.actions.length > 0 || e.launchedShapeIds.length > 0;
    if (acts && e.snapshotSeq !== null) {
      if (e.snapshotSeq < this.maxActedSeq) {
        this.fail(
          e.atMs,
          'I7',
          `decision ${e.decisionId} acted on snapshot seq ${e.snapshotSeq} after acting on seq ${this.maxActedSeq}`,
        );
      }
      this.maxActedSeq = Math.max(this.maxActedSeq, e.snapshotSeq);
    }
    // I8: no scale-in or repair on a stale snapshot.
    const stale = e.snapshotObservedAtMs === null || e.atMs - e.snapshotObservedAtMs > this.p.staleAfterMs;
    if (stale) {
      for (const a of e.actions) {
        if (a.cause === 'scale-in' || a.cause === 'repair') {
          this.fail(
            e.atMs,
            'I8',
            `decision ${e.decisionId} planned ${a.action} of ${a.target} (${a.cause}) on a snapshot ${e.snapshotObservedAtMs === null ? 'that does not exist' : `${fmtDur(e.atMs - e.snapshotObservedAtMs)} old`}`,
          );
        }
      }
    }
    // I5 (second half): the first decision on a snapshot that contains a helpable pod's shape
    // launches for it, unless the plan was constrained (clamp, schedule, capacity errors,
    // in-flight capacity it packed onto, stale agent) or the pod was resolved meanwhile.
    const shapes = new Set(e.shapeIds);
    const launched = new Set(e.launchedShapeIds);
    const unhelpable = new Set(e.unhelpableShapeIds);
    for (const [pod, p] of this.pending) {
      if (p.judged || p.publishedSeq === undefined || e.snapshotSeq === null) continue;
      if (e.snapshotSeq < p.publishedSeq || !shapes.has(p.shapeId)) continue;
      p.judged = true;
      if (!p.helpable) continue;
      if (unhelpable.has(p.shapeId) && !e.constrained) {
        this.fail(
          e.atMs,
          'I5',
          `decision ${e.decisionId} called shape ${p.shapeId} (pod ${pod}) unhelpable, but a candidate cloud node fits it`,
        );
      } else if (!launched.has(p.shapeId) && !unhelpable.has(p.shapeId) && !e.constrained) {
        this.fail(
          e.atMs,
          'I5',
          `decision ${e.decisionId} saw helpable pending pod ${pod} (shape ${p.shapeId}) and launched nothing for it`,
        );
      }
    }
  }

  /** A voluntary drain reached its deadline with workload pods still on its node (counted once). */
  private blocked(d: DisruptionBook): void {
    if (d.blockedAtDeadline) return;
    d.blockedAtDeadline = true;
    this.coverage.voluntaryDrainsBlockedAtDeadline++;
  }

  /** Something involuntary happened to a node: a later forced end of its pods is not I9's business. */
  private involuntary(node: string | undefined): void {
    if (!node) return;
    const d = this.disruptions.get(node);
    if (d) d.voluntary = false;
    else
      this.disruptions.set(node, {
        voluntary: false,
        decisionId: '',
        deadlineMs: Number.POSITIVE_INFINITY,
        blockedAtDeadline: false,
      });
  }

  /** The delay the config requires after the `failures`-th failure in a row (I10). */
  private backoffMs(failures: number): number {
    const b = this.p.backoff;
    return Math.min(b.maxMs, b.initialMs * 2 ** Math.min(failures - 1, 20));
  }

  /** One more failure of a setup or quota at `atMs`. */
  private countFailure(books: Map<string, BackoffBook>, key: string, atMs: number): void {
    const prev = books.get(key);
    const failures = prev && atMs - prev.lastFailureMs < this.p.backoff.resetAfterMs ? prev.failures + 1 : 1;
    books.set(key, { failures, lastFailureMs: atMs, untilMs: atMs + this.backoffMs(failures) });
  }

  /**
   * I10: a terminate of an instance that never registered, registrationTimeout after its launch,
   * while the control plane saw the cluster, is a failure of its launch setup.
   */
  private setupFailure(atMs: number, instanceId: string): void {
    const i = this.instances.get(instanceId);
    if (!i?.setupKey || i.registered || i.interrupted || i.goneAtMs !== undefined || i.failureCounted) return;
    if (!this.fresh || atMs - i.createdAtMs < this.p.registrationTimeoutMs) return;
    i.failureCounted = true;
    this.coverage.launchSetupFailures++;
    this.countFailure(this.setups, i.setupKey, atMs);
  }

  /** I10: EC2 created an instance of a setup: not before the setup's backoff ends. */
  private checkRelaunch(atMs: number, setupKey: string, instanceId: string): void {
    const s = this.setups.get(setupKey);
    if (!s) return;
    this.coverage.launchSetupRelaunches++;
    if (atMs < s.untilMs) {
      this.fail(
        atMs,
        'I10',
        `launch setup ${setupKey.replaceAll('#', ' ')} launched again (${instanceId}) ${fmtDur(atMs - s.lastFailureMs)} after its failure #${s.failures} in a row; the backoff (launch.backoff) allows it only after ${fmtDur(this.backoffMs(s.failures))}`,
      );
    }
  }

  /** I10: every RunInstances of a quota under backoff is a violation; a refusal counts, a launch resets. */
  private checkRunInstances(e: Extract<TraceEvent, { kind: 'run-instances' }>): void {
    const key = `${e.capacityType}#${quotaClassOf(e.instanceType)}`;
    const q = this.quotas.get(key);
    if (q) {
      this.coverage.quotaRetries++;
      if (e.atMs < q.untilMs) {
        this.fail(
          e.atMs,
          'I10',
          `RunInstances ${e.instanceType} ${e.capacityType} ${fmtDur(e.atMs - q.lastFailureMs)} after the ${e.capacityType} quota (${quotaClassOf(e.instanceType)} types) refused launch #${q.failures} in a row; the backoff (launch.backoff) allows it only after ${fmtDur(this.backoffMs(q.failures))}`,
        );
      }
    }
    if (e.outcome === 'VcpuLimitExceeded' || e.outcome === 'InstanceLimitExceeded') {
      this.coverage.quotaRefusals++;
      this.countFailure(this.quotas, key, e.atMs);
    } else if (e.outcome === 'launched') {
      this.quotas.delete(key);
    }
  }

  private aliveCount(_nowMs: number): number {
    let n = 0;
    for (const i of this.instances.values())
      if (i.goneAtMs === undefined && !i.interrupted && !i.stopped) n++;
    return n;
  }

  /** The last significant events and the last few routine ones, in trace order. */
  private timeline(): string[] {
    const byN = new Map<number, TraceEvent>();
    for (const x of this.significant.slice(-TIMELINE_LINES)) byN.set(x.n, x.e);
    for (const x of this.recent.slice(-ROUTINE_LINES)) byN.set(x.n, x.e);
    return [...byN.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => describeTrace(e));
  }

  private fail(atMs: number, invariant: InvariantId, message: string): void {
    // One report per (invariant, message) keeps a persistent violation from flooding the output.
    const key = `${invariant}:${message.replace(/\d+(\.\d+)?(ms|s|m|h)\b/g, '')}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.violations.push({
      atMs,
      invariant,
      message,
      timeline: this.timeline(),
    });
  }
}

export function fmtDur(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

export function fmtClock(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** One line of the human-readable timeline. */
export function describeTrace(e: TraceEvent): string {
  const at = fmtClock(e.atMs);
  switch (e.kind) {
    case 'schedule':
      return `${at} schedule ${e.name ?? '(none)'} max ${e.maxNodes}`;
    case 'launch-decided':
      return `${at} decide launch ${e.launchId} ×${e.count}`;
    case 'instance-created':
      return `${at} EC2 created ${e.instanceId} for ${e.launchId}[${e.index}]`;
    case 'run-instances':
      return `${at} RunInstances ${e.instanceType} ${e.capacityType} ${e.zone}: ${e.outcome}`;
    case 'node-workload':
      return `${at} cordoned ${e.node} has ${e.workloadPods} workload pods`;
    case 'workload-killed':
      return `${at} ${e.pods} workload pods on ${e.node} ended (${e.how})`;
    case 'instance-registered':
      return `${at} node of ${e.instanceId} registered`;
    case 'instance-stopped':
      return `${at} ${e.instanceId} stopped (warm pool)`;
    case 'instance-started':
      return `${at} EC2 started ${e.instanceId} for ${e.launchId}[${e.index}] (warm pool)`;
    case 'instance-interrupted':
      return `${at} spot interruption warning ${e.instanceId}`;
    case 'instance-gone':
      return `${at} ${e.instanceId} terminated`;
    case 'device-created':
      return `${at} tailscale device ${e.deviceId} (${e.instanceId})`;
    case 'device-deleted':
      return `${at} tailscale device ${e.deviceId} deleted`;
    case 'freshness':
      return `${at} control plane view ${e.fresh ? 'fresh' : 'STALE'}`;
    case 'node-action':
      return `${at} ${e.action} ${e.target}${e.onPrem ? ' (ON-PREM)' : ''}`;
    case 'eviction':
      return `${at} evict ${e.pod}${e.pdb ? ` (pdb ${e.pdb.name} healthy ${e.pdb.healthyBefore}/min ${e.pdb.minAvailable})` : ''}`;
    case 'pod-unschedulable':
      return `${at} pod ${e.pod} unschedulable (${e.helpable ? 'helpable' : 'unhelpable'})`;
    case 'pod-resolved':
      return `${at} pod ${e.pod} resolved`;
    case 'agent-publishing':
      return `${at} agent ${e.ok ? 'publishing' : 'CANNOT publish'}`;
    case 'snapshot-published':
      return `${at} snapshot seq ${e.seq} (${e.shapeIds.length} pending shapes)`;
    case 'decision':
      return `${at} decision ${e.decisionId} on seq ${e.snapshotSeq ?? '-'}: launch ${e.launchedShapeIds.length} shapes, ${e.actions.map((a) => `${a.action} ${a.target} (${a.cause}${a.disruption === 'voluntary' ? ', voluntary' : ''})`).join(', ') || 'no destructive actions'}`;
    case 'reconciles-overlapped':
      return `${at} ${e.count} reconciles ran at once, ${e.decided} decided`;
    case 'note':
      return `${at} ${e.text}`;
  }
}
