/**
 * The simulated world's objects: pods, nodes, EC2 instances, Tailscale devices. Plain
 * records mutated by the engine; nothing here decides anything.
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
  /** Stable hash of the scheduling-relevant fields (the agent's shape id). */
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

export type SimInstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated';

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
}

export interface SimDevice {
  deviceId: string;
  hostname: string;
  instanceId: string;
  createdAtMs: number;
  deletedAtMs?: number;
}

/** 32-bit FNV-1a as 8 hex chars: shape ids and generated names. */
export function fnv1a32(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** JSON with sorted object keys, so equal constraints hash equally. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const rec = value as Record<string, unknown>;
    return `{${Object.keys(rec)
      .sort()
      .filter((k) => rec[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(rec[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The agent's shape id: a hash of everything the scheduler and the planner look at. */
export function shapeIdOf(
  t: Omit<PodTemplate, 'shapeId' | 'workload' | 'kind' | 'doNotDisrupt' | 'pdb'>,
): string {
  return `s-${fnv1a32(
    stableJson({
      c: t.cpuMilli,
      m: t.memoryMiB,
      n: t.nodeSelector,
      a: t.requiredAffinity,
      t: t.tolerations,
      l: t.usesLocalVolume,
    }),
  )}`;
}
