/**
 * Names shared by the agent, the Lambdas, the CDK rules and the simulator. The CDK rule
 * patterns are built from these constants, so a rename here moves every producer and
 * consumer together.
 */

/** Version of every `detail` payload this code emits and accepts. */
export const SCHEMA_VERSION = 1 as const;

/** `source` of each component's events on the cluster bus. AWS reserves `aws.*`. */
export const Sources = {
  agent: 'k3s-burst.agent',
  reconcile: 'k3s-burst.reconcile',
  launch: 'k3s-burst.launch',
  terminate: 'k3s-burst.terminate',
  janitor: 'k3s-burst.janitor',
  interruption: 'k3s-burst.interruption',
  ec2: 'aws.ec2',
  scheduler: 'aws.scheduler',
  events: 'aws.events',
} as const;

/**
 * The only source that decides launches (invariants I11, I12 in docs/architecture.md): reconcile, the single writer of
 * capacity. The interruption function records the drain and asks reconcile for the replacement
 * (`ReconcileRequested`), so it decides nothing itself. Launch refuses a `ScaleOutRequested`
 * from any other source, and the ScaleOut rule admits only this one.
 */
export const DECIDING_SOURCES: readonly string[] = [Sources.reconcile];

/** `detail-type` of each event. */
export const DetailTypes = {
  clusterSnapshot: 'ClusterSnapshot',
  drainNode: 'DrainNode',
  deleteNode: 'DeleteNode',
  nodeDrained: 'NodeDrained',
  scaleOutRequested: 'ScaleOutRequested',
  terminateRequested: 'TerminateRequested',
  instanceLaunched: 'InstanceLaunched',
  instanceTerminated: 'InstanceTerminated',
  decisionRecorded: 'DecisionRecorded',
  reconcileRequested: 'ReconcileRequested',
  ec2SpotInterruption: 'EC2 Spot Instance Interruption Warning',
  ec2Rebalance: 'EC2 Instance Rebalance Recommendation',
  ec2StateChange: 'EC2 Instance State-change Notification',
  scheduledEvent: 'Scheduled Event',
} as const;

/** Commands that travel bus → rule → SQS → agent. */
export const AGENT_COMMAND_DETAIL_TYPES = [DetailTypes.drainNode, DetailTypes.deleteNode] as const;

/** Labels, annotations and taints k3s-burst puts on or reads from Kubernetes objects. */
export const Labels = {
  managed: 'k3s-burst.io/managed',
  cluster: 'k3s-burst.io/cluster',
  capacityType: 'k3s-burst.io/capacity-type',
  doNotDisrupt: 'k3s-burst.io/do-not-disrupt',
  instanceType: 'node.kubernetes.io/instance-type',
  zone: 'topology.kubernetes.io/zone',
  region: 'topology.kubernetes.io/region',
  arch: 'kubernetes.io/arch',
  os: 'kubernetes.io/os',
  hostname: 'kubernetes.io/hostname',
} as const;

/** Tags on every EC2 instance k3s-burst launches. */
export const Tags = {
  cluster: 'k3s-burst:cluster',
  decisionId: 'k3s-burst:decision-id',
  launchReason: 'k3s-burst:launch-reason',
  nodeName: 'k3s-burst:node-name',
  capacityType: 'k3s-burst:capacity-type',
  /** `<launchId>-<index>` (= the EC2 ClientToken): the pre-launch idempotency check looks it up. */
  launchKey: 'k3s-burst:launch-key',
  /**
   * Warm pool (docs/operations.md "Warm pool"): `member` on an instance launched to be parked
   * (warming, stopping or stopped); `started` once a decision started it for pods, from then on
   * it is an ordinary node. Absent on ordinary launches.
   */
  warmPool: 'k3s-burst:warm-pool',
  name: 'Name',
} as const;

/** Prefix of a providerID that k3s-burst nodes carry: `aws:///<az>/<instance-id>`. */
export const AWS_PROVIDER_ID_PREFIX = 'aws:///';

/** Most stage observations one snapshot carries (newest first); reconcile reads no more (issue 17). */
export const MAX_STAGE_OBSERVATIONS = 32;

/** PutEvents entry limit (bytes), from the EventBridge API reference. */
export const PUT_EVENTS_MAX_ENTRY_BYTES = 256 * 1024;

/**
 * How far ahead of the receiving Lambda's clock an agent snapshot may be dated (its
 * `observedAt`, and its `seq`, which is the agent's wall clock in ms). Anything further ahead is
 * rejected as future-dated (I12), so the stored `seq` never runs more than this ahead of real
 * time and an agent whose clock was ahead and is corrected is accepted again within this long.
 */
export const MAX_AGENT_CLOCK_SKEW_SECONDS = 60;

/** Kubelet default and the ceiling we plan with. */
export const DEFAULT_MAX_PODS_PER_NODE = 110;
