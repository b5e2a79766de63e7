import * as z from 'zod';

/** ISO-8601 timestamp with an offset (`Z` or `+01:00`), e.g. `2026-03-14T09:26:53Z`. */
/** An AWS region name such as `eu-central-1` or `us-gov-west-1`. */
export const AWS_REGION_PATTERN = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

export const IsoTime = z.iso.datetime({ offset: true });

/** A Kubernetes label key or value map. */
export const LabelMap = z.record(z.string(), z.string());

export const InstanceId = z
  .string()
  .trim()
  .regex(/^i-[0-9a-f]{8,17}$/, 'expected an EC2 instance id like i-0123456789abcdef0');

export const Arch = z.enum(['arm64', 'amd64']);
export type Arch = z.infer<typeof Arch>;

export const CapacityType = z.enum(['spot', 'on-demand']);

/**
 * Why a node is disrupted (I9): `voluntary` (empty, consolidation, schedule scale-down under
 * the wait policy) never ends a pod's run by force; `involuntary` (spot interruption,
 * abandonment, unhealthy repair, registration timeout, forced schedule) has bounded deadlines.
 */
export const Disruption = z.enum(['voluntary', 'involuntary']);
export type Disruption = z.infer<typeof Disruption>;
export type CapacityType = z.infer<typeof CapacityType>;

export const TaintEffect = z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);

export const Taint = z.object({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: TaintEffect,
});
export type Taint = z.infer<typeof Taint>;

export const Toleration = z.object({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).default('Equal'),
  value: z.string().optional(),
  effect: TaintEffect.optional(),
});
export type Toleration = z.infer<typeof Toleration>;

/** One `matchExpressions` entry of a required node-affinity term. */
export const NodeSelectorRequirement = z.object({
  key: z.string().min(1),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']),
  values: z.array(z.string()).default([]),
});
export type NodeSelectorRequirement = z.infer<typeof NodeSelectorRequirement>;

/** A term is satisfied when all its expressions are; a pod's terms are OR-ed. */
export const NodeSelectorTerm = z.object({
  matchExpressions: z.array(NodeSelectorRequirement).default([]),
});
export type NodeSelectorTerm = z.infer<typeof NodeSelectorTerm>;

/** Requests in the units the planner works in. */
export const Resources = z.object({
  cpuMilli: z.number().int().nonnegative(),
  memoryMiB: z.number().int().nonnegative(),
});
export type Resources = z.infer<typeof Resources>;
