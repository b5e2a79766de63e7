import * as z from 'zod';
import { Arch, CapacityType, InstanceId, IsoTime } from './common.js';
import { SCHEMA_VERSION } from './constants.js';

/** One group of identical instances to launch. */
export const PlannedLaunch = z.object({
  /** `<decisionId>-<index>`: the base of the EC2 ClientToken, so a redelivered decision launches nothing new. */
  launchId: z.string(),
  /** Allowed instance types, most preferred first; the launcher falls back along this list. */
  instanceTypes: z.array(z.string()).min(1),
  capacityTypes: z.array(CapacityType).min(1),
  arch: Arch,
  count: z.number().int().positive(),
  /** Zones the pods allow (empty: any configured zone). */
  zones: z.array(z.string()).default([]),
  shapeIds: z.array(z.string()),
  podsCovered: z.number().int().nonnegative(),
  estimatedHourlyUsd: z.number().nonnegative(),
  reason: z.string(),
});
export type PlannedLaunch = z.infer<typeof PlannedLaunch>;

export const PlannedDrain = z.object({
  nodeName: z.string(),
  instanceId: InstanceId,
  reason: z.string(),
  deadline: IsoTime,
});
export type PlannedDrain = z.infer<typeof PlannedDrain>;

export const PlannedTermination = z.object({
  instanceId: InstanceId,
  nodeName: z.string().optional(),
  reason: z.string(),
});
export type PlannedTermination = z.infer<typeof PlannedTermination>;

export const PlannedNodeDeletion = z.object({
  nodeName: z.string(),
  reason: z.string(),
});
export type PlannedNodeDeletion = z.infer<typeof PlannedNodeDeletion>;

export const UnhelpableShape = z.object({
  shapeId: z.string(),
  count: z.number().int().positive(),
  reason: z.string(),
  examplePods: z.array(z.string()).default([]),
});
export type UnhelpableShape = z.infer<typeof UnhelpableShape>;

export const ExplanationKind = z.enum([
  'scale-out',
  'scale-in',
  'repair',
  'schedule',
  'clamp',
  'stale',
  'noop',
  'unhelpable',
]);

/** A human-readable sentence for one decision (or one non-decision) in the plan. */
export const Explanation = z.object({
  kind: ExplanationKind,
  subject: z.string().optional(),
  message: z.string(),
});
export type Explanation = z.infer<typeof Explanation>;

/** What one reconcile decided. Pure output of `lib/core`; adapters carry it out. */
export const Plan = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string(),
  decisionId: z.string(),
  decidedAt: IsoTime,
  snapshotSeq: z.number().int().nonnegative().nullable(),
  activeSchedule: z.object({
    name: z.string().nullable(),
    minNodes: z.number().int().nonnegative(),
    maxNodes: z.number().int().nonnegative(),
  }),
  agentStale: z.boolean(),
  launches: z.array(PlannedLaunch),
  drains: z.array(PlannedDrain),
  terminations: z.array(PlannedTermination),
  nodeDeletions: z.array(PlannedNodeDeletion),
  unhelpable: z.array(UnhelpableShape),
  explanations: z.array(Explanation),
});
export type Plan = z.infer<typeof Plan>;
