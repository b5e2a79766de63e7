/**
 * Stage timings of a burst in production (issue 17 item 2): how long a pending pod waits for a
 * decision, the decision for a running instance, the running instance for a Ready Node, and the
 * pod for Running on a cloud node. `k3s-burst verify` times one test pod offline; these are the
 * same stages measured on every real burst, by the agent (/metrics), reconcile and launch
 * (CloudWatch EMF), and summarised by `k3s-burst status`.
 *
 * Pure: two timestamps in, a duration or a rejection out. The two ends of a stage often come
 * from different clocks (the Kubernetes API server on a Pi, EC2, the Lambda), so a duration a
 * little below zero is clock skew and counts as 0 s; a duration further below zero, beyond the
 * stage's bound, or from an unparsable time is rejected with the reason, never recorded: one
 * absurd value would move a p95 for days.
 */
import {
  type InFlightLaunch,
  type ManagedInstance,
  type PendingShape,
  type PlannedLaunch,
  StageName,
  type StageObservation,
  type StageTimings,
} from '../events/index.js';

/** The stages, in the order a burst goes through them: the wire enum's values (lib/events). */
export const STAGE_IDS = StageName.options;
export type StageId = (typeof STAGE_IDS)[number];

/** What each stage measures, its bound and its CloudWatch metric (unit Seconds). */
export const STAGES: Record<StageId, { from: string; to: string; maxSeconds: number; metric: string }> = {
  'pending-to-decision': {
    from: 'oldest pending pod of the shapes a launch was decided for became Unschedulable',
    to: 'reconcile decided the launch',
    maxSeconds: 3_600,
    metric: 'StagePendingToDecisionSeconds',
  },
  'decision-to-running': {
    from: 'reconcile decided the launch',
    to: 'EC2 launched (or started) the instance (its LaunchTime)',
    maxSeconds: 3_600,
    metric: 'StageDecisionToRunningSeconds',
  },
  'running-to-ready': {
    from: 'EC2 launched (or started) the instance (its LaunchTime)',
    to: 'its Node became Ready',
    maxSeconds: 3_600,
    metric: 'StageRunningToReadySeconds',
  },
  'registered-to-ready': {
    from: 'the Node object was created (kubelet registered)',
    to: 'the Node became Ready',
    maxSeconds: 3_600,
    metric: 'StageRegisteredToReadySeconds',
  },
  'pod-wait': {
    from: 'the pod became Unschedulable',
    to: 'it ran on a cloud node (containers ready)',
    maxSeconds: 6 * 3_600,
    metric: 'StagePodWaitSeconds',
  },
};

/** A duration this far below zero is clock skew between the two sources, counted as 0 s. */
export const STAGE_SKEW_TOLERANCE_SECONDS = 5;

/**
 * Histogram buckets (upper bounds, seconds) for the agent's `k3s_burst_stage_seconds`: 1 s to
 * 15 min, dense where the budgets are (20 s warm, 45 s pre-baked, 85 s stock).
 */
export const STAGE_BUCKETS_SECONDS = [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900] as const;

/** A measured stage, or why the two timestamps give no trustworthy duration. */
export type StageMeasurement =
  | { ok: true; stage: StageId; seconds: number }
  | { ok: false; stage: StageId; reason: 'invalid-time' | 'negative' | 'too-long'; detail: string };

/**
 * Duration of `stage` from `from` to `to` (ISO 8601 strings or epoch milliseconds), in seconds
 * rounded to milliseconds. Skew within {@link STAGE_SKEW_TOLERANCE_SECONDS} gives 0.
 */
export function measureStage(stage: StageId, from: string | number, to: string | number): StageMeasurement {
  const a = typeof from === 'number' ? from : Date.parse(from);
  const b = typeof to === 'number' ? to : Date.parse(to);
  if (!Number.isFinite(a) || !Number.isFinite(b))
    return {
      ok: false,
      stage,
      reason: 'invalid-time',
      detail: `${stage}: unparsable time (from ${JSON.stringify(from)}, to ${JSON.stringify(to)})`,
    };
  const seconds = Math.round(b - a) / 1000;
  if (seconds < -STAGE_SKEW_TOLERANCE_SECONDS)
    return {
      ok: false,
      stage,
      reason: 'negative',
      detail: `${stage}: ends ${-seconds} s before it starts (more than the ${STAGE_SKEW_TOLERANCE_SECONDS} s clock skew tolerated)`,
    };
  const max = STAGES[stage].maxSeconds;
  if (seconds > max)
    return {
      ok: false,
      stage,
      reason: 'too-long',
      detail: `${stage}: ${seconds} s is over the ${max} s bound (a stale or unrelated timestamp)`,
    };
  return { ok: true, stage, seconds: Math.max(0, seconds) };
}

/** One recorded stage duration: what `status` summarises. */
export interface StageSample {
  stage: StageId;
  /** What was measured: an instance id, a launch id, a pod uid. Unique per stage. */
  subject: string;
  /** When the stage ended (ISO 8601). */
  at: string;
  seconds: number;
}

/** p50/p95 of one stage over recorded samples. */
export interface StageSummary {
  stage: StageId;
  count: number;
  p50Seconds: number | null;
  p95Seconds: number | null;
  maxSeconds: number | null;
}

/** Nearest-rank percentile (`p` in (0, 100]) of ascending `sorted`; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? null;
}

/**
 * p50/p95 per stage over the `lastPerStage` most recent samples of each stage (every stage is
 * listed, with count 0 when it has none).
 */
export function summarizeStages(samples: readonly StageSample[], lastPerStage = 100): StageSummary[] {
  return STAGE_IDS.map((stage) => {
    const recent = samples
      .filter((s) => s.stage === stage && Number.isFinite(s.seconds))
      .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
      .slice(0, lastPerStage)
      .map((s) => s.seconds)
      .sort((a, b) => a - b);
    return {
      stage,
      count: recent.length,
      p50Seconds: percentile(recent, 50),
      p95Seconds: percentile(recent, 95),
      maxSeconds: recent.length > 0 ? (recent[recent.length - 1] as number) : null,
    };
  });
}

/** A measurement that was rejected, with the subject it was about. */
export type RejectedStage = Extract<StageMeasurement, { ok: false }> & { subject: string };

/** What reconcile knows when it records stage timings (every list is already parsed). */
export interface StageInputs {
  /** The agent's observations from the snapshot (valid items only). */
  observations: readonly StageObservation[];
  /** Instances EC2 lists (terminated too): their LaunchTime and decision. */
  instances: readonly Pick<ManagedInstance, 'instanceId' | 'launchedAt' | 'decisionId'>[];
  /** In-flight launches: when their decision was made. */
  inFlight: readonly Pick<InFlightLaunch, 'decisionId' | 'decidedAt'>[];
  /** Launches decided now, with the pending shapes they were sized for. */
  decided?: {
    decidedAt: string;
    launches: readonly Pick<PlannedLaunch, 'launchId' | 'shapeIds'>[];
    pendingShapes: readonly Pick<PendingShape, 'id' | 'oldestPendingSince'>[];
  };
  /** What was recorded before (samples and rejections), to recognise a re-sent observation. */
  recorded: StageTimings | undefined;
}

/** New samples and new rejections: each (stage, subject) at most once, ever. */
export interface StageOutcome {
  samples: StageSample[];
  rejected: RejectedStage[];
}

const keyOf = (stage: StageId, subject: string) => `${stage}/${subject}`;

/**
 * The stage durations to record now: pending → decision for launches decided now; decision →
 * running for instances of in-flight decisions; and from the agent's observations running →
 * Ready (joined with the instance's LaunchTime), registered → Ready and pod wait. Anything
 * recorded (or rejected) before is skipped, so a snapshot re-sending an observation, or the next
 * reconcile seeing the same instance, adds nothing.
 */
export function stageOutcome(input: StageInputs): StageOutcome {
  const known = new Set<string>(input.recorded?.rejected ?? []);
  for (const s of input.recorded?.samples ?? []) known.add(keyOf(s.stage, s.subject));
  const out: StageOutcome = { samples: [], rejected: [] };
  const add = (stage: StageId, subject: string, from: string, to: string) => {
    const key = keyOf(stage, subject);
    if (known.has(key)) return;
    known.add(key);
    const m = measureStage(stage, from, to);
    if (m.ok)
      out.samples.push({ stage, subject, at: new Date(Date.parse(to)).toISOString(), seconds: m.seconds });
    else out.rejected.push({ ...m, subject });
  };

  if (input.decided) {
    const since = new Map(input.decided.pendingShapes.map((s) => [s.id, s.oldestPendingSince]));
    for (const l of input.decided.launches) {
      const oldest = l.shapeIds
        .map((id) => since.get(id))
        .filter((t): t is string => t !== undefined)
        .sort()[0];
      if (oldest !== undefined) add('pending-to-decision', l.launchId, oldest, input.decided.decidedAt);
    }
  }
  const decidedAt = new Map(input.inFlight.map((f) => [f.decisionId, f.decidedAt]));
  const launchedAt = new Map<string, string>();
  for (const i of input.instances) {
    launchedAt.set(i.instanceId, i.launchedAt);
    const at = i.decisionId ? decidedAt.get(i.decisionId) : undefined;
    if (at !== undefined) add('decision-to-running', i.instanceId, at, i.launchedAt);
  }
  for (const o of input.observations) {
    if (o.kind === 'node-ready') {
      add('registered-to-ready', o.instanceId, o.registeredAt, o.readyAt);
      const launched = launchedAt.get(o.instanceId);
      if (launched !== undefined) add('running-to-ready', o.instanceId, launched, o.readyAt);
    } else add('pod-wait', o.podUid, o.pendingSince, o.runningAt);
  }
  return out;
}

/** Samples kept regardless of the per-stage count: those that ended this recently (the agent re-sends for 10 min after it saw a stage end, which may be up to 15 min after the end). */
export const STAGE_DEDUP_WINDOW_MS = 30 * 60_000;
/** Samples kept per stage beyond the window (what `status` summarises). */
export const STAGE_SAMPLES_PER_STAGE = 100;
/** Hard caps on what one state item holds. */
const MAX_RECENT_SAMPLES = 2_000;
const MAX_REJECTED_KEYS = 500;

/**
 * The record to store after adding `outcome`: the newest {@link STAGE_SAMPLES_PER_STAGE} samples
 * of each stage, plus every sample of the last {@link STAGE_DEDUP_WINDOW_MS} (so a re-sent
 * observation is still recognised during a big burst), bounded.
 */
export function nextStageTimings(
  recorded: StageTimings | undefined,
  outcome: StageOutcome,
  nowMs: number,
): StageTimings {
  const all = [...(recorded?.samples ?? []), ...outcome.samples].sort((a, b) =>
    a.at < b.at ? 1 : a.at > b.at ? -1 : 0,
  );
  const perStage = new Map<StageId, number>();
  const kept: StageSample[] = [];
  for (const s of all) {
    const n = perStage.get(s.stage) ?? 0;
    const recent = nowMs - Date.parse(s.at) <= STAGE_DEDUP_WINDOW_MS;
    if (n < STAGE_SAMPLES_PER_STAGE || (recent && kept.length < MAX_RECENT_SAMPLES)) {
      kept.push(s);
      perStage.set(s.stage, n + 1);
    }
  }
  const rejected = [
    ...(recorded?.rejected ?? []),
    ...outcome.rejected.map((r) => keyOf(r.stage, r.subject)),
  ].slice(-MAX_REJECTED_KEYS);
  return { samples: kept, rejected };
}
