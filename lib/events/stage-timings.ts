import * as z from 'zod';
import { InstanceId, IsoTime } from './common.js';

/**
 * A burst stage the agent saw end (issue 17 item 2), with the Kubernetes API's own timestamps:
 * a managed Node that became Ready (`node-ready`: registered = the Node's creationTimestamp,
 * ready = its Ready condition's transition), or a pod that was Unschedulable and now runs on a
 * managed node (`pod-running`). Reconcile joins `node-ready` with the instance's EC2 LaunchTime
 * (running → Ready), validates each item on its own, and records each subject once.
 */
export const StageObservation = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('node-ready'),
    node: z.string().min(1).max(253),
    instanceId: InstanceId,
    registeredAt: IsoTime,
    readyAt: IsoTime,
  }),
  z.object({
    kind: z.literal('pod-running'),
    /** The pod's uid: a re-sent observation is recognised by it. */
    podUid: z.string().min(1).max(64),
    node: z.string().min(1).max(253),
    pendingSince: IsoTime,
    runningAt: IsoTime,
  }),
]);
export type StageObservation = z.infer<typeof StageObservation>;

/** The stages of a burst (lib/core/stage-timings.ts says what each measures). */
export const StageName = z.enum([
  'pending-to-decision',
  'decision-to-running',
  'running-to-ready',
  'registered-to-ready',
  'pod-wait',
]);

/** One recorded stage duration. */
export const StageSampleRecord = z.object({
  stage: StageName,
  /** What was measured: an instance id, a launch id, a pod uid. Unique per stage. */
  subject: z.string().min(1).max(253),
  /** When the stage ended. */
  at: IsoTime,
  seconds: z.number().nonnegative(),
});

/**
 * The recent stage durations reconcile recorded (state table, one item per cluster): what
 * `k3s-burst status` summarises, and what a re-sent observation is recognised against.
 */
export const StageTimings = z.object({
  samples: z.array(StageSampleRecord),
  /** `<stage>/<subject>` of measurements that were rejected, so they are counted once. */
  rejected: z.array(z.string().max(300)).default([]),
});
export type StageTimings = z.infer<typeof StageTimings>;
