/**
 * Builders of realistic inputs for core tests: a Pi cluster (arm64, providerID k3s://…)
 * bursting onto Graviton nodes (providerID aws:///eu-central-1a/i-…), shaped as the
 * Kubernetes v1 Pod and Node objects K3s serves. Defaults are the common case; tests override fields.
 */

import { loadConfig } from '../../../lib/core/index.js';
import {
  ClusterSnapshot,
  type ClusterSnapshotInput,
  type Config,
  FleetState,
  type FleetStateInput,
  type ManagedInstance,
  type PendingShape,
  type SnapshotNode,
} from '../../../lib/events/index.js';

export const NOW = new Date('2026-03-16T09:30:00Z'); // a Monday, 10:30 in Berlin

export const CLOUD_TAINT = { key: 'k3s-burst.io/cloud', value: 'true', effect: 'NoSchedule' as const };
export const CLOUD_TOLERATION = {
  key: 'k3s-burst.io/cloud',
  operator: 'Equal' as const,
  value: 'true',
  effect: 'NoSchedule' as const,
};
/** Added to every pod by the DefaultTolerationSeconds admission plugin. */
export const DEFAULT_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists' as const, effect: 'NoExecute' as const },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists' as const, effect: 'NoExecute' as const },
];

export function isoAgo(seconds: number, now: Date = NOW): string {
  return new Date(now.getTime() - seconds * 1000).toISOString();
}

/** A valid config like examples/k3s-burst.config.json, without schedules unless given. */
export function makeConfig(overrides: Record<string, unknown> = {}): Config {
  const base: Record<string, unknown> = {
    cluster: {
      name: 'pi-lab',
      region: 'eu-central-1',
      k3sServerUrl: 'https://100.64.5.11:6443',
      k3sVersion: 'v1.32.6+k3s1',
    },
    nodes: {
      candidateTypes: [
        't4g.medium',
        't4g.large',
        't4g.xlarge',
        'm7g.large',
        'm7g.xlarge',
        'c7g.xlarge',
        'c7g.2xlarge',
        'r7g.large',
      ],
      capacityTypes: ['spot', 'on-demand'],
      labels: { 'k3s-burst.io/pool': 'cloud' },
      taints: [CLOUD_TAINT],
    },
    limits: { maxNodes: 6, maxVcpus: 32, maxMemoryMiB: 131072, maxHourlyCostUsd: 2.5 },
  };
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    const b = base[k];
    merged[k] =
      b && typeof b === 'object' && v && typeof v === 'object' && !Array.isArray(v) ? { ...b, ...v } : v;
  }
  return loadConfig(merged, 'test config');
}

let shapeSeq = 0;
export function shape(p: Partial<PendingShape> & { id?: string } = {}): PendingShape {
  shapeSeq++;
  const id = p.id ?? `web-${shapeSeq.toString(16).padStart(4, '0')}`;
  return {
    id,
    cpuMilli: 250,
    memoryMiB: 512,
    nodeSelector: {},
    requiredAffinity: [],
    tolerations: [CLOUD_TOLERATION, ...DEFAULT_TOLERATIONS],
    usesLocalVolume: false,
    hostPorts: [],
    count: 1,
    oldestPendingSince: isoAgo(40),
    examplePods: [`shop/${id}-7c9d5f8b6-kq2zt`],
    ...p,
  };
}

export function piNode(name: string, p: Partial<SnapshotNode> = {}): SnapshotNode {
  return {
    name,
    providerID: `k3s://${name}`,
    managed: false,
    arch: 'arm64',
    labels: {
      'kubernetes.io/arch': 'arm64',
      'kubernetes.io/hostname': name,
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': 'k3s',
    },
    taints: [],
    ready: true,
    readySince: '2026-03-01T06:13:05Z',
    cordoned: false,
    createdAt: '2025-11-02T17:46:10Z',
    allocatable: { cpuMilli: 4000, memoryMiB: 7867, pods: 110 },
    // Full: pods are pending because the Pis have no room left (a Pi with room is existing capacity).
    requested: { cpuMilli: 3950, memoryMiB: 7800, pods: 31 },
    workloadPodCount: 27,
    workloadPods: [],
    blockers: [],
    doNotDisrupt: false,
    ...p,
  };
}

export function cloudNode(
  instanceId: string,
  p: Partial<SnapshotNode> & { zone?: string; type?: string } = {},
): SnapshotNode {
  const zone = p.zone ?? 'eu-central-1a';
  const type = p.type ?? 'm7g.large';
  const { zone: _z, type: _t, ...rest } = p;
  return {
    name: `burst-${instanceId}`,
    providerID: `aws:///${zone}/${instanceId}`,
    managed: true,
    instanceId,
    instanceType: type,
    zone,
    arch: 'arm64',
    labels: {
      'kubernetes.io/arch': 'arm64',
      'kubernetes.io/hostname': `burst-${instanceId}`,
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': type,
      'topology.kubernetes.io/zone': zone,
      'topology.kubernetes.io/region': 'eu-central-1',
      'k3s-burst.io/managed': 'true',
      'k3s-burst.io/cluster': 'pi-lab',
      'k3s-burst.io/capacity-type': 'spot',
    },
    taints: [CLOUD_TAINT],
    ready: true,
    readySince: isoAgo(3 * 3600),
    cordoned: false,
    createdAt: isoAgo(3 * 3600 + 30),
    allocatable: { cpuMilli: 2000, memoryMiB: 7700, pods: 110 },
    requested: { cpuMilli: 1200, memoryMiB: 3000, pods: 6 },
    workloadPodCount: 4,
    workloadPods: [{ cpuMilli: 250, memoryMiB: 640, count: 4 }],
    blockers: [],
    doNotDisrupt: false,
    ...rest,
  };
}

export function instance(instanceId: string, p: Partial<ManagedInstance> = {}): ManagedInstance {
  return {
    instanceId,
    instanceType: 'm7g.large',
    state: 'running',
    launchedAt: isoAgo(3 * 3600 + 120),
    zone: 'eu-central-1a',
    capacityType: 'spot',
    nodeName: `burst-${instanceId}`,
    decisionId: 'pi-lab-0old0decision',
    launchReason: 'burst',
    ...p,
  };
}

export function snapshot(p: Partial<ClusterSnapshotInput> = {}): ClusterSnapshot {
  return ClusterSnapshot.parse({
    schemaVersion: 1,
    cluster: 'pi-lab',
    seq: 18342,
    observedAt: isoAgo(5),
    agentVersion: '0.1.0',
    pendingShapes: [],
    nodes: [piNode('pi-node-1'), piNode('pi-node-2'), piNode('pi-node-3')],
    daemonSets: [
      {
        name: 'monitoring/node-exporter',
        cpuMilli: 50,
        memoryMiB: 64,
        tolerations: [{ operator: 'Exists' }],
      },
      {
        name: 'kube-system/svclb-traefik',
        cpuMilli: 10,
        memoryMiB: 16,
        tolerations: [],
      },
    ],
    ...p,
  });
}

export function fleet(p: FleetStateInput = {}): FleetState {
  return FleetState.parse(p);
}

import { planCluster } from '../../../lib/core/index.js';
import type { Plan } from '../../../lib/events/index.js';

/** Run planCluster with the fixture defaults: a fresh snapshot of three Pis, an empty fleet, NOW. */
export function plan(p: {
  config?: Config;
  snapshot?: ClusterSnapshot | null;
  fleet?: FleetState;
  now?: Date;
  decisionId?: string;
}): Plan {
  return planCluster({
    config: p.config ?? makeConfig(),
    snapshot: p.snapshot === null ? undefined : (p.snapshot ?? snapshot()),
    fleet: p.fleet ?? fleet(),
    now: p.now ?? NOW,
    decisionId: p.decisionId ?? 'pi-lab-test',
  });
}

/** Messages of the explanations of one kind. */
export function said(p: Plan, kind: Plan['explanations'][number]['kind']): string[] {
  return p.explanations.filter((e) => e.kind === kind).map((e) => e.message);
}
