/**
 * Reconcile's part of the burst stage timings (issue 17 item 2, lib/core/stage-timings.ts): after
 * a fresh decision it validates the agent's observations (untrusted: each item on its own, at
 * most MAX_STAGE_OBSERVATIONS read), joins them with what only AWS and the state table know
 * (the instance's LaunchTime, the decision time of an in-flight launch), records each (stage,
 * subject) once in the state table and emits each new duration as a CloudWatch EMF metric in
 * Seconds — CloudWatch computes p50/p95 over them; `k3s-burst status` summarises the record.
 *
 * Observability, not control: a failure here is logged and counted, never fails the reconcile
 * (its decision is already journaled and its commands emitted).
 */
import { StatePortError } from '../core/ports.js';
import { nextStageTimings, STAGES, type StageInputs, stageOutcome } from '../core/stage-timings.js';
import {
  type ClusterSnapshot,
  type InFlightLaunch,
  MAX_STAGE_OBSERVATIONS,
  type ManagedInstance,
  type Plan,
  StageObservation,
  type StageTimings,
} from '../events/index.js';
import { type ControlBase, type ControlMetricName, ControlMetrics, type ControlPorts } from './common.js';

export interface RecordStageTimingsInput {
  plan: Plan;
  snapshot: ClusterSnapshot | undefined;
  /** Every instance EC2 lists, terminated ones included. */
  instances: readonly ManagedInstance[];
  inFlight: readonly InFlightLaunch[];
  now: Date;
}

/** The agent's observations that parse, and how many did not (or were beyond the bound). */
export function parseObservations(raw: readonly unknown[] | undefined): {
  valid: StageObservation[];
  invalid: number;
  firstProblem?: string;
} {
  const list = raw ?? [];
  const valid: StageObservation[] = [];
  let invalid = Math.max(0, list.length - MAX_STAGE_OBSERVATIONS);
  let firstProblem: string | undefined =
    invalid > 0
      ? `${list.length} observations, only the first ${MAX_STAGE_OBSERVATIONS} are read`
      : undefined;
  for (const item of list.slice(0, MAX_STAGE_OBSERVATIONS)) {
    const r = StageObservation.safeParse(item);
    if (r.success) valid.push(r.data);
    else {
      invalid++;
      firstProblem ??= r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`)
        .join('; ');
    }
  }
  return { valid, invalid, ...(firstProblem ? { firstProblem } : {}) };
}

/**
 * The recorded stage durations. A stored item that cannot be parsed (not gzip, not JSON, not the
 * schema) would stop every later reconcile from recording: it is counted, logged, and replaced
 * by this reconcile's samples (the old ones are lost). A failed read of the table is thrown.
 */
async function readRecorded(
  cluster: string,
  deps: ControlBase & Pick<ControlPorts, 'state'>,
): Promise<StageTimings | undefined> {
  try {
    return await deps.state.getStageTimings(cluster);
  } catch (err) {
    if (err instanceof StatePortError) throw err;
    deps.metrics.count(ControlMetrics.stageTimingFailures);
    deps.log.warn("the stored stage timings cannot be parsed: replaced by this reconcile's samples", {
      error: err instanceof Error ? `${err.name}: ${err.message.slice(0, 300)}` : String(err),
    });
    return undefined;
  }
}

/** Record and emit the stage durations this reconcile can newly measure. Never throws. */
export async function recordStageTimings(
  input: RecordStageTimingsInput,
  deps: ControlBase & Pick<ControlPorts, 'state'>,
): Promise<void> {
  const { config, state, log, metrics } = deps;
  const cluster = config.cluster.name;
  try {
    const parsed = parseObservations(input.snapshot?.stageObservations);
    if (parsed.invalid > 0) {
      metrics.count(ControlMetrics.stageObservationsRejected, parsed.invalid);
      log.warn(
        'stage observations rejected: not valid StageObservation items (lib/events/stage-timings.ts)',
        {
          seq: input.snapshot?.seq,
          rejected: parsed.invalid,
          problem: parsed.firstProblem,
        },
      );
    }
    const stageInputs: StageInputs = {
      observations: parsed.valid,
      instances: input.instances,
      inFlight: input.inFlight,
      recorded: undefined,
    };
    if (input.plan.launches.length > 0 && input.snapshot)
      stageInputs.decided = {
        decidedAt: input.plan.decidedAt,
        launches: input.plan.launches,
        pendingShapes: input.snapshot.pendingShapes,
      };
    // Cheap exit: nothing that could give a sample (most reconciles of a quiet cluster).
    const inFlightIds = new Set(input.inFlight.map((f) => f.decisionId));
    if (
      parsed.valid.length === 0 &&
      !stageInputs.decided &&
      !input.instances.some((i) => inFlightIds.has(i.decisionId))
    )
      return;
    stageInputs.recorded = await readRecorded(cluster, deps);
    const outcome = stageOutcome(stageInputs);
    if (outcome.samples.length === 0 && outcome.rejected.length === 0) return;
    await state.putStageTimings(
      cluster,
      nextStageTimings(stageInputs.recorded, outcome, input.now.getTime()),
    );
    for (const s of outcome.samples)
      metrics.gauge(STAGES[s.stage].metric as ControlMetricName, s.seconds, 'Seconds');
    if (outcome.rejected.length > 0) {
      metrics.count(ControlMetrics.stageObservationsRejected, outcome.rejected.length);
      log.warn('stage durations rejected: their timestamps cannot be right', {
        rejected: outcome.rejected.slice(0, 10).map((r) => ({ subject: r.subject, reason: r.detail })),
      });
    }
    log.info('stage timings recorded', {
      samples: outcome.samples
        .map((s) => ({ stage: s.stage, subject: s.subject, seconds: s.seconds }))
        .slice(0, 40),
    });
  } catch (err) {
    metrics.count(ControlMetrics.stageTimingFailures);
    log.warn('stage timings not recorded (the decision is unaffected)', {
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
  }
}
