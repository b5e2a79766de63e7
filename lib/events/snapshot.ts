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
  /** Pi-side prerequisites (node IPs, flannel, server certificate and version), for `doctor`. */
  prerequisites: PiPrerequisites.optional(),
});
export type ClusterSnapshotInput = z.input<typeof ClusterSnapshot>;
export type ClusterSnapshot = z.output<typeof ClusterSnapshot>;
