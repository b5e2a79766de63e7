import * as z from 'zod';
import { Disruption, InstanceId, IsoTime } from './common.js';
import { SCHEMA_VERSION } from './constants.js';

/** bus → SQS → agent: cordon the node and evict its pods through the Eviction API. */
export const DrainNode = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string(),
  decisionId: z.string(),
  nodeName: z.string().min(1),
  instanceId: InstanceId,
  reason: z.string(),
  deadline: IsoTime,
  /**
   * `voluntary` (empty, consolidation, schedule scale-down under the default wait policy): the
   * agent evicts only what it may, and if the node is not empty by the deadline (or a pod can
   * never be evicted) it gives up, uncordons the node and reports `abandoned` (I9).
   * `involuntary` or absent (spot interruption, forced schedule): today's bounded drain.
   */
  disruption: Disruption.optional(),
});
export type DrainNode = z.infer<typeof DrainNode>;

/** bus → SQS → agent: delete the Node object of a terminated managed instance. */
export const DeleteNode = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string(),
  nodeName: z.string().min(1),
  instanceId: InstanceId.optional(),
  reason: z.string(),
});
export type DeleteNode = z.infer<typeof DeleteNode>;

/** agent → bus: the outcome of a DrainNode. */
export const NodeDrained = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string(),
  decisionId: z.string().default(''),
  nodeName: z.string(),
  instanceId: InstanceId,
  /** `abandoned`: a voluntary drain gave up (node uncordoned); the instance must not be terminated. */
  outcome: z.enum(['drained', 'timed-out', 'blocked', 'refused', 'not-found', 'abandoned']),
  /** Pods left behind and why (PDB, do-not-disrupt, no controller…). */
  blockingPods: z.array(z.object({ pod: z.string(), reason: z.string() })).default([]),
  evictedPods: z.number().int().nonnegative().default(0),
  finishedAt: IsoTime,
});
export type NodeDrained = z.infer<typeof NodeDrained>;
