import * as z from 'zod';
import { InstanceId, IsoTime } from './common.js';
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
  outcome: z.enum(['drained', 'timed-out', 'blocked', 'refused', 'not-found']),
  /** Pods left behind and why (PDB, do-not-disrupt, no controller…). */
  blockingPods: z.array(z.object({ pod: z.string(), reason: z.string() })).default([]),
  evictedPods: z.number().int().nonnegative().default(0),
  finishedAt: IsoTime,
});
export type NodeDrained = z.infer<typeof NodeDrained>;
