/**
 * The simulated world's objects: pods, nodes, EC2 instances. Plain records mutated by the
 * engine; nothing here decides anything (Tailscale devices live in the `Tailnet` world model).
 */
import type { CapacityType, NodeSelectorTerm, Taint, Toleration } from '../events/index.js';

/** Scheduling-relevant fields of a pod, shared by every pod of a workload. */
export interface PodTemplate {
  workload: string;
  /** `service` pods run until deleted; `job` pods run for `durationMs` then complete. */
  kind: 'service' | 'job';
  cpuMilli: number;
  memoryMiB: number;
  nodeSelector: Record<string, string>;
  requiredAffinity: NodeSelectorTerm[];
  tolerations: Toleration[];
  usesLocalVolume: boolean;
  doNotDisrupt: boolean;
  pdb?: { name: string; minAvailable: number };
  /** From binding until the pod is Ready (counts for its PodDisruptionBudget). */
  readyDelayMs: number;
  /** The agent's shape id of the template's pods (computed by the agent's own `slimPod`). */
  shapeId: string;
}

export interface SimPod {
  id: string;
  template: PodTemplate;
  createdAtMs: number;
  /** Job pods: how long they run once bound (restarts from zero when the pod is recreated). */
  durationMs: number;
  phase: 'pending' | 'running' | 'done';
  node?: string;
  boundAtMs?: number;
  /** Set after a failed scheduling attempt (PodScheduled=False, reason Unschedulable). */
  unschedulable: boolean;
  /** When it first failed to schedule (the condition's lastTransitionTime). */
  unschedulableSinceMs?: number;
  /** Ever unschedulable: the pod waited for capacity the cluster did not have. */
  everUnschedulable: boolean;
}

export interface SimNode {
  name: string;
  onPrem: boolean;
  providerID: string;
  labels: Record<string, string>;
  taints: Taint[];
  allocatable: { cpuMilli: number; memoryMiB: number; pods: number };
  /** DaemonSet pods' requests on this node. */
  daemonCpuMilli: number;
  daemonMemoryMiB: number;
  daemonPods: number;
  usedCpuMilli: number;
  usedMemoryMiB: number;
  pods: Set<string>;
  ready: boolean;
  readySinceMs: number;
  cordoned: boolean;
  createdAtMs: number;
  instanceId?: string;
  instanceType?: string;
  zone?: string;
  capacityType?: CapacityType;
  model: string;
}

/** EC2's states as the simulator models them; a warm-pool member also stops and starts again. */
export type SimInstanceState =
  | 'pending'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'shutting-down'
  | 'terminated';

export interface SimInstance {
  instanceId: string;
  instanceType: string;
  zone: string;
  capacityType: CapacityType;
  state: SimInstanceState;
  launchedAtMs: number;
  /** When it left pending/running (billing stops at terminated; we bill until then). */
  goneAtMs?: number;
  terminatedAtMs?: number;
  nodeName: string;
  decisionId: string;
  launchId: string;
  launchKey: string;
  reason: string;
  hourlyUsd: number;
  /** The bootstrap fails: the instance runs but never joins (an orphan for the janitor). */
  failsToJoin: boolean;
  bootedAtMs?: number;
  registeredAtMs?: number;
  interruptedAtMs?: number;
  /** The tailnet device (nodeId) its `tailscale up` created. */
  deviceId?: string;
  /** `tailscale up` refused the key (spent or expired): the bootstrap failed for good. */
  joinFailed?: boolean;
  /**
   * Warm pool (lib/core/warm-pool.ts): `member` from a warm-mode launch (joins with the warming
   * taint, is parked), `started` once a decision started it for pods (an ordinary node again).
   */
  warmPool?: 'member' | 'started';
  /** Root volume, GiB: what a stopped member costs (gp3, `parkedMemberHourlyUsd`). */
  rootVolumeGiB: number;
  /** When it last entered `stopped` (a parked member), for `simulate`'s pool listing. */
  stoppedAtMs?: number;
  /** Warm starts of this member (StartInstances that reached EC2). */
  starts: number;
}
