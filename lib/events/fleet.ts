import * as z from 'zod';
import { CapacityType, Disruption, InstanceId, IsoTime } from './common.js';

export const InstanceState = z.enum([
  'pending',
  'running',
  'stopping',
  'stopped',
  'shutting-down',
  'terminated',
]);
export type InstanceState = z.infer<typeof InstanceState>;

/**
 * An instance's place in the warm pool (tag `k3s-burst:warm-pool`): `member` = launched to be
 * parked (warming, stopping or stopped: not a node of the fleet, see lib/core/warm-pool.ts);
 * `started` = a former member a decision started for pods (an ordinary node from then on).
 */
export const WarmPoolRole = z.enum(['member', 'started']);
export type WarmPoolRole = z.infer<typeof WarmPoolRole>;

/** An EC2 instance carrying this cluster's tag, as the fleet adapter lists it. */
export const ManagedInstance = z.object({
  instanceId: InstanceId,
  instanceType: z.string(),
  state: InstanceState,
  launchedAt: IsoTime,
  zone: z.string().default(''),
  capacityType: CapacityType,
  /** Node name the instance registers with (prefix + instance id). */
  nodeName: z.string(),
  decisionId: z.string().default(''),
  launchReason: z.string().default(''),
  /** The AMI it booted (a launch setup is type + image + capacity type); absent when unknown. */
  imageId: z.string().optional(),
  /** Warm-pool role (tag `k3s-burst:warm-pool`); absent on ordinary instances. */
  warmPool: WarmPoolRole.optional(),
});
export type ManagedInstance = z.infer<typeof ManagedInstance>;

/**
 * A launch that has been decided but that EC2 may not list yet. It counts as capacity from
 * the moment it is decided (in-flight capacity, docs/architecture.md), until an instance carrying its
 * decision id is listed or `expiresAt` passes.
 */
export const InFlightLaunch = z.object({
  decisionId: z.string().min(1),
  launchId: z.string().min(1),
  decidedAt: IsoTime,
  expiresAt: IsoTime,
  instanceType: z.string(),
  count: z.number().int().positive(),
  capacityType: CapacityType,
  /** Pending shape ids this launch was sized for. */
  shapeIds: z.array(z.string()).default([]),
  /**
   * Every instance / capacity type the decider allowed (the launch guard refuses a request
   * listing others). Absent in records written before this field existed.
   */
  instanceTypes: z.array(z.string()).optional(),
  capacityTypes: z.array(CapacityType).optional(),
  /**
   * A warm-pool fill (lib/core/warm-pool.ts): counts toward the limits like any launch, but is no
   * capacity for pending pods (its instance is parked, not joined). Absent = an ordinary launch.
   */
  warmPool: z.boolean().optional(),
});
export type InFlightLaunch = z.infer<typeof InFlightLaunch>;

/** A drain the control plane has asked the agent for and not yet seen finish. */
export const DrainInProgress = z.object({
  nodeName: z.string(),
  instanceId: InstanceId,
  requestedAt: IsoTime,
  deadline: IsoTime,
  reason: z.string(),
  /**
   * The decision that asked for the drain: terminate acts on the agent's `NodeDrained` only
   * when it names this decision (I12). Absent in records written before this field existed.
   */
  decisionId: z.string().optional(),
  /** Absent = involuntary (records written before I9). */
  disruption: Disruption.optional(),
  /**
   * Set when a voluntary drain was abandoned (not empty by its deadline): the record then only
   * keeps the node out of voluntary scale-in until `holdUntil`, and is no drain in progress.
   */
  abandonedAt: IsoTime.optional(),
  holdUntil: IsoTime.optional(),
  /**
   * An interruption's drain (spot warning): reconcile plans room for the node's workload pods
   * before they are evicted (the replacement, decided under the reconcile lease, I11).
   */
  replace: z.boolean().optional(),
});
export type DrainInProgress = z.infer<typeof DrainInProgress>;

/**
 * An (instance type, zone, capacity type) that recently failed with a capacity error, or an
 * account-wide entry: `instanceType: '*'` covers every type (e.g. `MaxSpotInstanceCountExceeded`
 * makes all spot unavailable, whatever the type or zone), `zone: '*'` every zone.
 */
export const UnavailableOffering = z.object({
  /** An instance type, or `*` for every type (account-wide). */
  instanceType: z.string(),
  /** An availability zone, or `*` for every zone. */
  zone: z.string().default('*'),
  capacityType: CapacityType,
  until: IsoTime,
  /** Why: the EC2 error code (`InsufficientInstanceCapacity`, …) or `spot-interruption`. */
  reason: z.string().max(128).optional(),
});
export type UnavailableOffering = z.infer<typeof UnavailableOffering>;

/**
 * A launch backoff (I10): a launch setup (type, image, capacity type) whose instances did not
 * register, or an EC2 quota (capacity type, quota class) that refused launches. Launches it
 * covers wait until `until`; the failure count grows the next delay and is forgotten at
 * `forgetAt` or on a success (lib/core/backoff.ts).
 */
export const LaunchBackoff = z.object({
  kind: z.enum(['launch-setup', 'quota']),
  /** launch-setup: the instance type; quota: `*` (every type of `quotaClass`). */
  instanceType: z.string(),
  capacityType: CapacityType,
  /** launch-setup: the AMI the failed instances booted; quota: empty. */
  imageId: z.string().default(''),
  /** quota: the EC2 vCPU quota class (`standard`, `g`, `p`, …); launch-setup: empty. */
  quotaClass: z.string().default(''),
  failures: z.number().int().positive(),
  lastFailureAt: IsoTime,
  until: IsoTime,
  forgetAt: IsoTime,
  reason: z.string().max(256),
  /** Instances already counted (the most recent few), so one is never counted twice. */
  instanceIds: z.array(z.string()).max(10).default([]),
});
export type LaunchBackoff = z.infer<typeof LaunchBackoff>;

/** The `--fleet` file of `k3s-burst plan`, and what reconcile reads from EC2 + DynamoDB. */
export const FleetState = z.object({
  instances: z.array(ManagedInstance).default([]),
  inFlight: z.array(InFlightLaunch).default([]),
  drains: z.array(DrainInProgress).default([]),
  unavailableOfferings: z.array(UnavailableOffering).default([]),
  /**
   * Instances of the cluster EC2 still lists as terminated (about an hour after they end). They
   * are never capacity: they only tell the planner that an in-flight launch did happen, so a
   * launch whose instance already ended is not counted as capacity on its way. Absent = none.
   */
  goneInstances: z.array(ManagedInstance).optional(),
  /** Launch setups and quotas backed off (I10); absent = none. */
  backoffs: z.array(LaunchBackoff).optional(),
  /** Time of the most recent launch decision (for delayAfterScaleOut). */
  lastScaleOutAt: IsoTime.optional(),
});
export type FleetStateInput = z.input<typeof FleetState>;
export type FleetState = z.output<typeof FleetState>;
