import * as z from 'zod';
import { IsoTime, LabelMap, NodeSelectorTerm, Resources, Taint, Toleration } from './common.js';
import { SCHEMA_VERSION } from './constants.js';
import { PiPrerequisites } from './prerequisites.js';

/**
 * A host port a pod binds (kube-scheduler's NodePorts filter): two pods clash when protocol and
 * port are equal and their host IPs are equal or either is the wildcard (`''` or `0.0.0.0`).
 */
export const HostPort = z.object({
  port: z.number().int().min(1).max(65535),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
  /** `''` = every address (the API's default 0.0.0.0). */
  hostIP: z.string().max(45).default(''),
});
export type HostPort = z.infer<typeof HostPort>;

/** Extended resources by name, e.g. `{"nvidia.com/gpu": 1}`: whole units, as the API requires. */
export const ExtendedResources = z.record(z.string().min(1).max(253), z.number().int().positive());

/**
 * A label selector of a required inter-pod (anti-)affinity term or topology spread constraint,
 * with the namespaces it looks in resolved (issue 15 item 3). Shapes and nodes refer to it by
 * `id`, so a selector used by many shapes is sent once.
 */
export const PodSelector = z.object({
  /** Stable hash of the rest, computed by the agent. */
  id: z.string().min(1).max(16),
  /** Namespaces whose pods it selects; `['*']` = every namespace. */
  namespaces: z.array(z.string().min(1).max(253)).min(1).max(32),
  matchLabels: LabelMap.default({}),
  /** `matchLabelKeys` / `mismatchLabelKeys` are already folded in as `In` / `NotIn` requirements. */
  matchExpressions: z
    .array(
      z.object({
        key: z.string().min(1),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).default([]),
      }),
    )
    .max(32)
    .default([]),
});
export type PodSelector = z.infer<typeof PodSelector>;

/** The topology keys the planner models: `kubernetes.io/hostname` and `topology.kubernetes.io/zone`. */
export const PodTopology = z.enum(['hostname', 'zone']);
export type PodTopology = z.infer<typeof PodTopology>;

/** A required pod affinity or anti-affinity term: pods selected by `selector` per `topology` domain. */
export const PodTerm = z.object({ selector: z.string().min(1).max(16), topology: PodTopology });
export type PodTerm = z.infer<typeof PodTerm>;

/** A `whenUnsatisfiable: DoNotSchedule` topology spread constraint. */
export const SpreadTerm = PodTerm.extend({
  maxSkew: z.number().int().positive(),
  /** Fewer eligible domains than this: the global minimum counts as 0 (Kubernetes semantics). */
  minDomains: z.number().int().positive().optional(),
});
export type SpreadTerm = z.infer<typeof SpreadTerm>;

/**
 * Pending pods that share every scheduling-relevant property, aggregated. The planner packs
 * shapes, not pods, which keeps a snapshot of 5,000 pods small and the planner fast.
 */
export const PendingShape = z.object({
  /** Stable hash of the scheduling-relevant fields, computed by the agent. */
  id: z.string().min(1).max(64),
  /** Effective requests of one pod: max(init containers, sum of containers) + overhead. */
  cpuMilli: z.number().int().nonnegative(),
  memoryMiB: z.number().int().nonnegative(),
  nodeSelector: LabelMap.default({}),
  /** Required node affinity terms (OR-ed); empty means no constraint. */
  requiredAffinity: z.array(NodeSelectorTerm).default([]),
  tolerations: z.array(Toleration).default([]),
  /** The pod needs a node-local volume (e.g. a local PV bound to a Pi): cloud nodes cannot help. */
  usesLocalVolume: z.boolean().default(false),
  /** Host ports the pod binds (TCP on every address); superseded by `ports` when that is present. */
  hostPorts: z.array(z.number().int().min(1).max(65535)).default([]),
  /** Host ports with protocol and host IP (issue 15). When present, `hostPorts` is ignored. */
  ports: z.array(HostPort).max(64).optional(),
  /** Effective ephemeral-storage request of one pod (same rule as cpu/memory), MiB; absent = 0. */
  ephemeralStorageMiB: z.number().int().nonnegative().optional(),
  /** Pod priority (spec.priority); absent = 0. Below `scaleOut.expendablePriorityCutoff` a pod never triggers scale-out. */
  priority: z.number().int().optional(),
  /** Effective extended-resource requests of one pod, e.g. `{"nvidia.com/gpu": 1}`; absent = none. */
  extendedResources: ExtendedResources.optional(),
  /**
   * A PersistentVolumeClaim keeps these pods pending whatever node exists (missing, lost, bound to
   * a missing volume, or unbound with Immediate binding), or the agent could not resolve the
   * claims: the planner answers `unhelpable` and launches nothing for them.
   */
  volumeIssue: z
    .object({
      code: z.enum([
        'claim-missing',
        'claim-lost',
        'claim-unbound',
        'volume-missing',
        'topology-too-complex',
        'claims-unresolved',
      ]),
      /** `namespace/name` of the claim. */
      claim: z.string().min(1).max(317),
      message: z.string().max(400),
    })
    .optional(),
  /** Required pod affinity terms (all must hold); absent = none. */
  podAffinity: z.array(PodTerm).max(16).optional(),
  /** Required pod anti-affinity terms (all must hold); absent = none. */
  podAntiAffinity: z.array(PodTerm).max(16).optional(),
  /** DoNotSchedule topology spread constraints; absent = none. */
  topologySpread: z.array(SpreadTerm).max(16).optional(),
  /** Ids of the snapshot's `podSelectors` these pods' own namespace and labels match; absent = none. */
  matchesSelectors: z.array(z.string().min(1).max(16)).max(256).optional(),
  /** Preferred (anti-)affinity terms and ScheduleAnyway constraints, which the planner ignores. */
  ignoredPodTerms: z.number().int().positive().optional(),
  /**
   * A required inter-pod term the planner does not model (another topology key, a
   * namespaceSelector, a non-default node policy): the shape is answered `unhelpable` with this text.
   */
  unsupportedPodTerm: z.string().max(300).optional(),
  count: z.number().int().positive(),
  oldestPendingSince: IsoTime,
  /** Up to three `namespace/name` samples, for explanations and Kubernetes Events. */
  examplePods: z.array(z.string()).max(3).default([]),
});
export type PendingShape = z.infer<typeof PendingShape>;

/** Why a pod on a node cannot be evicted by a drain. */
export const EvictionBlocker = z.object({
  pod: z.string(),
  reason: z.enum(['no-controller', 'local-storage', 'do-not-disrupt', 'pdb-blocks', 'multiple-pdbs']),
});
export type EvictionBlocker = z.infer<typeof EvictionBlocker>;

/** Requests of the reschedulable (non-DaemonSet, non-mirror) pods on a node, aggregated. */
export const PodGroup = z.object({
  cpuMilli: z.number().int().nonnegative(),
  memoryMiB: z.number().int().nonnegative(),
  count: z.number().int().positive(),
});
export type PodGroup = z.infer<typeof PodGroup>;

export const SnapshotNode = z.object({
  name: z.string().min(1),
  providerID: z.string().default(''),
  /** True only for a node with our managed label AND an aws:/// providerID of an instance of this cluster. */
  managed: z.boolean(),
  /** Parsed from providerID for managed nodes. */
  instanceId: z.string().optional(),
  instanceType: z.string().optional(),
  zone: z.string().optional(),
  arch: z.string().optional(),
  labels: LabelMap.default({}),
  taints: z.array(Taint).default([]),
  ready: z.boolean(),
  /** When the Ready condition last changed to its current value. */
  readySince: IsoTime,
  cordoned: z.boolean().default(false),
  /** The Node has a deletionTimestamp: it is going away, so its free room is not capacity. Sent only when true. */
  deleting: z.boolean().optional(),
  createdAt: IsoTime,
  allocatable: Resources.extend({ pods: z.number().int().nonnegative() }),
  requested: Resources.extend({ pods: z.number().int().nonnegative() }),
  /** Non-DaemonSet, non-mirror pods bound to the node. */
  workloadPodCount: z.number().int().nonnegative(),
  /**
   * When the agent last saw the set of workload pods on the node change. Optional: without it
   * scale-in can only count "empty for" / "underutilized for" from readySince/createdAt.
   */
  workloadChangedAt: IsoTime.optional(),
  /** Host ports in use by the pods bound to the node (absent: unknown, host-port pods are not placed there). */
  usedHostPorts: z.array(HostPort).optional(),
  /** Ephemeral storage: allocatable and requested (MiB); absent from older agents (then not checked). */
  ephemeralStorage: z
    .object({ allocatableMiB: z.number().int().nonnegative(), requestedMiB: z.number().int().nonnegative() })
    .optional(),
  /** Extended resources: allocatable and requested per name (absent: none). */
  extended: z
    .object({
      allocatable: z.record(z.string(), z.number().int().nonnegative()),
      requested: z.record(z.string(), z.number().int().nonnegative()),
    })
    .optional(),
  /**
   * Pods bound to the node (not finished) per `podSelectors` id they match, counted; absent = none
   * match (or the index was dropped: see `podIndexDropped`).
   */
  podSelectorCounts: z.record(z.string().min(1).max(16), z.number().int().positive()).optional(),
  /** Reschedulable pods' requests (sent for managed nodes, used by consolidation). */
  workloadPods: z.array(PodGroup).default([]),
  blockers: z.array(EvictionBlocker).default([]),
  /** The node itself carries the do-not-disrupt annotation or label. */
  doNotDisrupt: z.boolean().default(false),
});
export type SnapshotNode = z.infer<typeof SnapshotNode>;

/** A DaemonSet whose pods add per-node overhead to a new node they would land on. */
export const DaemonSetOverhead = z.object({
  name: z.string(),
  cpuMilli: z.number().int().nonnegative(),
  memoryMiB: z.number().int().nonnegative(),
  nodeSelector: LabelMap.default({}),
  requiredAffinity: z.array(NodeSelectorTerm).default([]),
  tolerations: z.array(Toleration).default([]),
  /** Host ports its pods bind on every node they run on; absent = none. */
  ports: z.array(HostPort).max(64).optional(),
  ephemeralStorageMiB: z.number().int().nonnegative().optional(),
});
export type DaemonSetOverhead = z.infer<typeof DaemonSetOverhead>;

/** Set when the agent had to leave data out to stay under the PutEvents entry limit. */
export const SnapshotTruncation = z.object({
  droppedShapes: z.number().int().nonnegative(),
  droppedPods: z.number().int().nonnegative(),
  droppedNodes: z.number().int().nonnegative(),
  reason: z.string(),
});

/** `detail` of a `ClusterSnapshot` event: what the agent sees, on change and as a heartbeat. */
export const ClusterSnapshot = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string().min(1),
  /** Strictly increasing across agent restarts (seeded from wall time). Older or equal seq is ignored. */
  seq: z.number().int().nonnegative(),
  observedAt: IsoTime,
  agentVersion: z.string().default('unknown'),
  pendingShapes: z.array(PendingShape).default([]),
  nodes: z.array(SnapshotNode).default([]),
  daemonSets: z.array(DaemonSetOverhead).default([]),
  truncated: SnapshotTruncation.optional(),
  /** Selectors of the pending shapes' inter-pod terms (issue 15 item 3); absent from older agents. */
  podSelectors: z.array(PodSelector).max(256).optional(),
  /**
   * Set when the agent left out the nodes' `podSelectorCounts` (too many selectors, or to fit the
   * entry limit): shapes with inter-pod terms are then planned conservatively, and the plan says so.
   */
  podIndexDropped: z.string().max(300).optional(),
  /** Pi-side prerequisites (node IPs, flannel, server certificate and version), for `doctor`. */
  prerequisites: PiPrerequisites.optional(),
  /**
   * Burst stages the agent saw end recently, newest first: each item is a `StageObservation`
   * (lib/events/stage-timings.ts), validated one by one by reconcile so that a bad or newer
   * kind of item is counted and skipped, never a reason to refuse the snapshot. Absent from
   * older agents.
   */
  stageObservations: z.array(z.unknown()).optional(),
});
export type ClusterSnapshotInput = z.input<typeof ClusterSnapshot>;
export type ClusterSnapshot = z.output<typeof ClusterSnapshot>;
