import * as z from 'zod';
import { CapacityType, InstanceId, IsoTime } from './common.js';
import { SCHEMA_VERSION } from './constants.js';
import { Explanation, PlannedLaunch, PodAnswer } from './plan.js';

/** reconcile → launch: start instances for one planned launch group. */
export const ScaleOutRequested = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string(),
  decisionId: z.string(),
  launch: PlannedLaunch,
  requestedAt: IsoTime,
});
export type ScaleOutRequested = z.infer<typeof ScaleOutRequested>;

/** reconcile / interruption → terminate: terminate one instance (by id, never by count). */
export const TerminateRequested = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string(),
  decisionId: z.string(),
  instanceId: InstanceId,
  nodeName: z.string().optional(),
  reason: z.string(),
  requestedAt: IsoTime,
});
export type TerminateRequested = z.infer<typeof TerminateRequested>;

/**
 * interruption → reconcile: an interruption was recorded (the drain, the offering at risk);
 * reconcile decides the replacement under its lease, so there is one writer of capacity (I11).
 */
export const ReconcileRequested = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string(),
  /** The instance whose interruption asked for it (for the trigger id and the log). */
  instanceId: InstanceId,
  reason: z.string().max(500),
  requestedAt: IsoTime,
});
export type ReconcileRequested = z.infer<typeof ReconcileRequested>;

/** launch → bus: instances were accepted by EC2. */
export const InstanceLaunched = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string(),
  decisionId: z.string(),
  launchId: z.string(),
  instances: z.array(
    z.object({
      instanceId: InstanceId,
      instanceType: z.string(),
      zone: z.string(),
      capacityType: CapacityType,
      nodeName: z.string(),
    }),
  ),
  launchedAt: IsoTime,
});
export type InstanceLaunched = z.infer<typeof InstanceLaunched>;

/** terminate → bus: an instance is gone (or going), its device and Node cleaned up. */
export const InstanceTerminated = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string(),
  instanceId: InstanceId,
  nodeName: z.string().optional(),
  reason: z.string(),
  tailscaleDeviceDeleted: z.boolean(),
  nodeDeletionRequested: z.boolean(),
  terminatedAt: IsoTime,
});
export type InstanceTerminated = z.infer<typeof InstanceTerminated>;

/** reconcile → bus: a summary of a decision, for dashboards and `k3s-burst status`. */
export const DecisionRecorded = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string(),
  decisionId: z.string(),
  decidedAt: IsoTime,
  trigger: z.string(),
  snapshotSeq: z.number().int().nonnegative().nullable(),
  launches: z.number().int().nonnegative(),
  drains: z.number().int().nonnegative(),
  terminations: z.number().int().nonnegative(),
  unhelpablePods: z.number().int().nonnegative(),
  explanations: z.array(Explanation),
  /** Answers for pending pods that did not trigger this decision's launches (bounded; the agent records them as pod Events). */
  podAnswers: z.array(PodAnswer).max(200).optional(),
});
export type DecisionRecorded = z.infer<typeof DecisionRecorded>;
