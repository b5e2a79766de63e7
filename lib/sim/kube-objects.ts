/**
 * The simulated cluster as the Kubernetes API would serve it: pods, nodes and
 * PodDisruptionBudgets as raw API objects, so the agent's own code reads them — `slimPod`,
 * `slimNode`, `slimPdb` (lib/agent/model.ts) turn them into the agent's caches, and
 * `buildSnapshot` (lib/agent/snapshot-builder.ts) turns the caches into the snapshot, with the
 * agent's SHA-256 shape ids, pending rules and eviction blockers. Nothing here decides anything.
 */
import type { RawNode, RawPdb, RawPod } from '../agent/model.js';
import { type DaemonSetOverhead, Labels, type NodeSelectorTerm } from '../events/index.js';
import type { PodTemplate, SimNode, SimPod } from './model.js';

const NAMESPACE = 'default';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The pod's spec as its controller's template writes it. */
function podSpec(t: Omit<PodTemplate, 'shapeId'>, onPremNames: string[]): NonNullable<RawPod['spec']> {
  // A local PersistentVolume pins the pod to the Pis that hold it: a required hostname term.
  const affinity: NodeSelectorTerm[] = t.usesLocalVolume
    ? [
        ...t.requiredAffinity,
        { matchExpressions: [{ key: Labels.hostname, operator: 'In', values: [...onPremNames] }] },
      ]
    : t.requiredAffinity;
  const spec: NonNullable<RawPod['spec']> = {
    containers: [
      { name: 'main', resources: { requests: { cpu: `${t.cpuMilli}m`, memory: `${t.memoryMiB}Mi` } } },
    ],
    nodeSelector: t.nodeSelector,
    tolerations: t.tolerations.map((x) => ({ ...x })),
  };
  if (affinity.length > 0) {
    spec.affinity = {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: affinity } },
    };
  }
  return spec;
}

/** A workload pod as the API server holds it. */
export function rawPod(
  pod: Pick<SimPod, 'id' | 'template' | 'createdAtMs' | 'node' | 'phase' | 'unschedulable'> & {
    unschedulableSinceMs?: number;
  },
  onPremNames: string[],
): RawPod {
  const t = pod.template;
  const raw: RawPod = {
    metadata: {
      name: pod.id,
      namespace: NAMESPACE,
      uid: `uid-${pod.id}`,
      creationTimestamp: iso(pod.createdAtMs),
      labels: { app: t.workload },
      annotations: t.doNotDisrupt ? { [Labels.doNotDisrupt]: 'true' } : {},
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: t.kind === 'job' ? 'Job' : 'ReplicaSet',
          name: t.workload,
          uid: `uid-${t.workload}`,
          controller: true,
        },
      ],
    },
    spec: { ...podSpec(t, onPremNames), ...(pod.node ? { nodeName: pod.node } : {}) },
    status: { phase: pod.phase === 'running' ? 'Running' : 'Pending' },
  };
  if (pod.unschedulable && !pod.node) {
    (raw.status as NonNullable<RawPod['status']>).conditions = [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        lastTransitionTime: iso(pod.unschedulableSinceMs ?? pod.createdAtMs),
      },
    ];
  }
  return raw;
}

/** The pod a DaemonSet runs on a node. */
export function rawDaemonPod(ds: DaemonSetOverhead, node: SimNode): RawPod {
  return {
    metadata: {
      name: `${ds.name}-${node.name}`,
      namespace: 'kube-system',
      uid: `uid-${ds.name}-${node.name}`,
      creationTimestamp: iso(node.createdAtMs),
      labels: { app: ds.name },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          name: ds.name,
          uid: `uid-ds-${ds.name}`,
          controller: true,
        },
      ],
    },
    spec: {
      nodeName: node.name,
      containers: [
        { name: 'main', resources: { requests: { cpu: `${ds.cpuMilli}m`, memory: `${ds.memoryMiB}Mi` } } },
      ],
      nodeSelector: ds.nodeSelector,
      tolerations: ds.tolerations.map((x) => ({ ...x })),
    },
    status: { phase: 'Running' },
  };
}

/** A Node as the kubelet registers it and the node controller keeps its Ready condition. */
export function rawNode(n: SimNode): RawNode {
  return {
    metadata: {
      name: n.name,
      uid: `uid-${n.name}-${n.createdAtMs}`,
      creationTimestamp: iso(n.createdAtMs),
      labels: n.labels,
    },
    spec: {
      providerID: n.providerID,
      unschedulable: n.cordoned,
      taints: n.taints.map((t) => ({ ...t })),
    },
    status: {
      allocatable: {
        cpu: `${n.allocatable.cpuMilli}m`,
        memory: `${n.allocatable.memoryMiB}Mi`,
        pods: String(n.allocatable.pods),
      },
      conditions: [
        { type: 'Ready', status: n.ready ? 'True' : 'False', lastTransitionTime: iso(n.readySinceMs) },
      ],
    },
  };
}

/** A workload's PodDisruptionBudget with the status the disruption controller computes. */
export function rawPdb(t: PodTemplate, healthy: number): RawPdb | undefined {
  if (!t.pdb) return undefined;
  return {
    metadata: { name: t.pdb.name, namespace: NAMESPACE, uid: `uid-${t.pdb.name}` },
    spec: { minAvailable: t.pdb.minAvailable, selector: { matchLabels: { app: t.workload } } },
    status: { disruptionsAllowed: Math.max(0, healthy - t.pdb.minAvailable) },
  };
}
