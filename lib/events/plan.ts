import * as z from 'zod';
import { Arch, CapacityType, Disruption, InstanceId, IsoTime } from './common.js';
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
  /**
   * Root volume (GiB) sized to the pods' ephemeral-storage requests; absent = `nodes.rootVolumeGiB`.
   * Launch refuses a value outside `nodes.rootVolumeGiB`…`nodes.maxRootVolumeGiB`.
   */
  rootVolumeGiB: z.number().int().positive().optional(),
  reason: z.string(),
  /**
   * Stopped warm-pool members to start instead of launching (lib/core/warm-pool.ts): index `i` of
   * the group (launch key `${launchId}-${i}`) starts `warmStarts[i]`; the rest are launched. Part
   * of the group, so the in-flight record, the launch guard and the limits treat a start exactly
   * like a launch. Absent in plans from before the warm pool.
   */
  warmStarts: z.array(InstanceId).optional(),
  /** A warm-pool fill: the instances are launched in warm mode and parked, not used for pods. */
  warmPool: z.boolean().optional(),
});
export type PlannedLaunch = z.infer<typeof PlannedLaunch>;

export const PlannedDrain = z.object({
  nodeName: z.string(),
  instanceId: InstanceId,
  reason: z.string(),
  deadline: IsoTime,
  /** Absent = involuntary. */
  disruption: Disruption.optional(),
});
export type PlannedDrain = z.infer<typeof PlannedDrain>;

/** A warm-pool member to stop (park): its Node is Ready and runs no pods (lib/core/warm-pool.ts). */
export const PlannedPark = z.object({
  instanceId: InstanceId,
  nodeName: z.string(),
  reason: z.string(),
});
export type PlannedPark = z.infer<typeof PlannedPark>;

/** Why an instance is terminated, where reconcile acts on it (registration timeouts count against their launch setup, I10). */
export const TerminationCause = z.enum(['registration-timeout']);
export type TerminationCause = z.infer<typeof TerminationCause>;

export const PlannedTermination = z.object({
  instanceId: InstanceId,
  nodeName: z.string().optional(),
  reason: z.string(),
  cause: TerminationCause.optional(),
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

/**
 * What the planner decided for the pending pods of one shape (issue 15: every pending pod gets an
 * answer). One shape can get several answers when its pods split, e.g. 3 fit on an existing node
 * and 5 get a new one. `code` is machine-readable; `message` is the sentence for a pod Event.
 */
export const PodAnswerKind = z.enum([
  /** New nodes are launched by this decision for these pods. */
  'launched-for',
  /** They fit on the free room of Ready, schedulable nodes: the scheduler places them on its next retry. */
  'fits-on-existing',
  /**
   * They fit on capacity already on its way (launched earlier, not Ready yet), or — code
   * `outage:<node>` — on a NotReady node of an outage under meltdown protection (it comes back).
   */
  'fits-in-flight',
  /** A limit or the active schedule stops the launch they need. */
  'held-by-limit',
  /** No cloud node can ever run them. */
  'unhelpable',
  /** Below `scaleOut.expendablePriorityCutoff`: they never trigger scale-out. */
  'expendable',
  /** Every matching offering failed recently: they wait for capacity. */
  'waiting-for-offering',
]);
export type PodAnswerKind = z.infer<typeof PodAnswerKind>;

export const PodAnswer = z.object({
  shapeId: z.string(),
  kind: PodAnswerKind,
  /** Pods of the shape this answer is for. */
  count: z.number().int().positive(),
  /** Machine-readable detail, e.g. `limit:maxVcpus`, `local-volume`, `node:pi-node-2`. */
  code: z.string(),
  message: z.string(),
  /** held-by-limit: the limit that binds and how many more nodes these pods would need. */
  limit: z.object({ name: z.string(), nodesNeeded: z.number().int().nonnegative() }).optional(),
  /** fits-on-existing / fits-in-flight / launched-for: node names or launch ids (at most 8). */
  targets: z.array(z.string()).max(8).default([]),
  examplePods: z.array(z.string()).default([]),
});
export type PodAnswer = z.infer<typeof PodAnswer>;

export const ExplanationKind = z.enum([
  'scale-out',
  'scale-in',
  'repair',
  'schedule',
  'clamp',
  'stale',
  'noop',
  'unhelpable',
  /** Pods that could run in the cloud but wait (their offerings are unavailable or backed off); subject = shape id. */
  'waiting',
  /** The warm pool: starts instead of launches, fills, parks, age-outs. */
  'warm-pool',
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
  /** One or more answers per pending shape, sorted by shape id then kind (absent in plans from before issue 15). */
  podAnswers: z.array(PodAnswer).optional(),
  /** Warm-pool members to stop (reconcile calls FleetPort.stop under its lease); absent = none. */
  parks: z.array(PlannedPark).optional(),
});
export type Plan = z.infer<typeof Plan>;
