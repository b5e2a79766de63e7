/**
 * The agent's view of burst stage timings (issue 17 item 2). It watches what the informers
 * already deliver — no extra API calls, no extra RBAC — and times two stages with the
 * Kubernetes API server's own timestamps:
 * - `registered-to-ready`: a managed Node's creationTimestamp (the kubelet registered) to its
 *   Ready condition's transition;
 * - `pod-wait`: a pod's Unschedulable transition to its containers being ready on a managed node.
 * Each goes into the histogram `k3s_burst_stage_seconds{stage=…}` and into a short list of
 * observations carried by the next snapshots, from which reconcile computes the stages the agent
 * cannot see (EC2's LaunchTime is not the agent's to read: its AWS identity may only PutEvents
 * and use its queue) and emits all of them to CloudWatch, each subject once.
 *
 * Bounded: at most {@link StageObserverOptions.maxTrackedPods} pending pods and a fixed number of
 * remembered nodes; observations are carried for {@link StageObserverOptions.carryMs} only.
 */
import type { Clock } from '../core/clock.js';
import { measureStage, type StageId } from '../core/stage-timings.js';
import { MAX_STAGE_OBSERVATIONS } from '../events/constants.js';
import type { StageObservation } from '../events/stage-timings.js';
import type { MetricsRegistry } from './metrics.js';
import { MetricNames } from './metrics.js';
import { isManagedNode, parseAwsProviderId, type RawPod, type SlimNode, type SlimPod } from './model.js';

export interface StageObserverOptions {
  cluster: string;
  clock: Pick<Clock, 'now'>;
  metrics: MetricsRegistry;
  /** The node cache (the nodes informer's store). */
  nodeByName: (name: string) => SlimNode | undefined;
  /** Pending pods followed at most; more are not timed (a burst of more is still sampled). @default 10_000 */
  maxTrackedPods?: number;
  /** How long an observation rides along in snapshots (reconcile records each once). @default 600_000 */
  carryMs?: number;
  /**
   * A Node that turned Ready longer ago than this when first seen (an agent restart) was timed
   * by an earlier run: it is not timed again. @default 900_000
   */
  recentMs?: number;
}

/** Node uids remembered as timed, at most (oldest forgotten first). */
const MAX_REMEMBERED_NODES = 4_096;

interface Carried {
  seenAtMs: number;
  observation: StageObservation;
}

/** When the pod's containers became ready (ContainersReady, else Ready, transition); undefined while not running. */
export function podRunningAt(raw: RawPod): string | undefined {
  if (raw.status?.phase !== 'Running') return undefined;
  const conditions = raw.status.conditions ?? [];
  for (const type of ['ContainersReady', 'Ready']) {
    const c = conditions.find((x) => x.type === type);
    if (c?.status === 'True' && c.lastTransitionTime) return c.lastTransitionTime;
  }
  return undefined;
}

export class StageObserver {
  private readonly pending = new Map<string, string>();
  private readonly timedNodes = new Set<string>();
  private carried: Carried[] = [];
  private readonly maxTrackedPods: number;
  private readonly carryMs: number;
  private readonly recentMs: number;

  constructor(private readonly o: StageObserverOptions) {
    this.maxTrackedPods = o.maxTrackedPods ?? 10_000;
    this.carryMs = o.carryMs ?? 600_000;
    this.recentMs = o.recentMs ?? 900_000;
  }

  /** Pending pods being followed (for tests and the bound). */
  get trackedPods(): number {
    return this.pending.size;
  }

  /** A Node was listed, added or updated. */
  node(n: SlimNode): void {
    if (!n.ready || !n.uid || this.timedNodes.has(n.uid) || !isManagedNode(n, this.o.cluster)) return;
    this.timedNodes.add(n.uid);
    if (this.timedNodes.size > MAX_REMEMBERED_NODES) {
      const oldest = this.timedNodes.values().next().value;
      if (oldest !== undefined) this.timedNodes.delete(oldest);
    }
    const now = this.o.clock.now();
    if (now - Date.parse(n.readySince) > this.recentMs) return;
    const instanceId = parseAwsProviderId(n.providerID)?.instanceId;
    if (!instanceId) return;
    if (!this.record('registered-to-ready', n.createdAt, n.readySince)) return;
    this.carry(now, {
      kind: 'node-ready',
      node: n.name,
      instanceId,
      registeredAt: n.createdAt,
      readyAt: n.readySince,
    });
  }

  /** A pod was listed, added or updated (raw for its conditions, slim for the rest). */
  pod(raw: RawPod, p: SlimPod): void {
    if (!p.uid) return;
    if (p.pendingSince !== undefined) {
      const known = this.pending.get(p.uid);
      if (known === undefined && this.pending.size >= this.maxTrackedPods) return;
      if (known === undefined || p.pendingSince < known) this.pending.set(p.uid, p.pendingSince);
      return;
    }
    const since = this.pending.get(p.uid);
    if (since === undefined) return;
    if (p.terminating || p.phase === 'Succeeded' || p.phase === 'Failed') {
      this.pending.delete(p.uid);
      return;
    }
    if (!p.nodeName) return;
    const node = this.o.nodeByName(p.nodeName);
    if (!node) return; // not cached yet: the pod's next update decides
    if (!isManagedNode(node, this.o.cluster)) {
      this.pending.delete(p.uid); // placed on a Pi: not a burst
      return;
    }
    const runningAt = podRunningAt(raw);
    if (runningAt === undefined) return;
    this.pending.delete(p.uid);
    if (!this.record('pod-wait', since, runningAt)) return;
    this.carry(this.o.clock.now(), {
      kind: 'pod-running',
      podUid: p.uid,
      node: p.nodeName,
      pendingSince: since,
      runningAt,
    });
  }

  /** A pod was deleted: stop following it. */
  podDeleted(p: SlimPod | undefined): void {
    if (p?.uid) this.pending.delete(p.uid);
  }

  /** Observations still carried, newest first, at most {@link MAX_STAGE_OBSERVATIONS}. */
  observations(): StageObservation[] {
    const cutoff = this.o.clock.now() - this.carryMs;
    this.carried = this.carried.filter((c) => c.seenAtMs >= cutoff);
    return this.carried
      .slice(-MAX_STAGE_OBSERVATIONS)
      .reverse()
      .map((c) => c.observation);
  }

  private record(stage: StageId, from: string, to: string): boolean {
    const m = measureStage(stage, from, to);
    if (!m.ok) {
      this.o.metrics.count(MetricNames.stageRejected, 1, { stage, reason: m.reason });
      return false;
    }
    this.o.metrics.observe(MetricNames.stageSeconds, m.seconds, { stage });
    return true;
  }

  private carry(now: number, observation: StageObservation): void {
    this.carried.push({ seenAtMs: now, observation });
    if (this.carried.length > 4 * MAX_STAGE_OBSERVATIONS)
      this.carried = this.carried.slice(-MAX_STAGE_OBSERVATIONS);
  }
}
