/**
 * Core benchmarks (issue 2): the planner on large, realistic inputs and the wire size of a big
 * snapshot. Inputs are generated from a fixed-seed PRNG, so every run measures the same thing.
 *
 * - scale-out: `planCluster` end to end (catalog, context, matching, in-flight, packing,
 *   explanations) on pending shapes with mixed requests, arch selectors, instance-type and zone
 *   affinity, host ports, tolerations and a few pods pinned to a Pi, against 40 candidate types
 *   (arm64 and amd64, spot then on-demand) and DaemonSet overhead; limits loose enough that
 *   nothing is clamped (the common case), plus an unbudgeted clamped variant for reference.
 * - scale-in: `planCluster` on 500 managed nodes (empty, underutilized with pods that fit
 *   elsewhere, busy, do-not-disrupt, blocked), no pending pods.
 * - snapshot bytes: raw Kubernetes Pods/Nodes (as in ../shared/reference/k8s-objects.md) through
 *   the agent's own slimPod/slimNode/buildSnapshot, then `encodeSnapshotDetail`, the `Detail`
 *   string the agent puts on the bus.
 */
import { slimNode, slimPod } from '../../lib/agent/model.js';
import { nodeEntry, PrerequisiteReporter } from '../../lib/agent/prerequisites.js';
import { buildSnapshot } from '../../lib/agent/snapshot-builder.js';
import { builtInInstanceSpecs, planCluster } from '../../lib/core/index.js';
import {
  ClusterSnapshot,
  type ClusterSnapshotInput,
  type Config,
  encodeSnapshotDetail,
  FleetState,
  type FleetStateInput,
  type Plan,
} from '../../lib/events/index.js';
import { CLOUD_TAINT, makeConfig } from '../unit/core/fixtures.js';
import { type Benchmark, type BenchResult, median, timeIt } from './harness.js';
import {
  fortyTypes,
  heuristicCost,
  lowerBoundCost,
  mixedWorkload,
  planCost,
  QUALITY_DAEMONSETS,
  qualityConfig,
  rooms,
} from './packing-yardstick.js';

const NOW = new Date('2026-03-16T09:30:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();
const SAMPLES = 21;
const WARMUP = 30;

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const hex = (r: () => number, n: number) =>
  Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');

const CLOUD_TOLERATION = {
  key: 'k3s-burst.io/cloud',
  operator: 'Equal' as const,
  value: 'true',
  effect: 'NoSchedule' as const,
};
const DEFAULT_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists' as const, effect: 'NoExecute' as const },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists' as const, effect: 'NoExecute' as const },
];
const DAEMONSETS = [
  {
    name: 'monitoring/node-exporter',
    cpuMilli: 50,
    memoryMiB: 64,
    tolerations: [{ operator: 'Exists' as const }],
  },
  { name: 'kube-system/svclb-traefik', cpuMilli: 10, memoryMiB: 16, tolerations: [] },
  {
    name: 'logging/fluent-bit',
    cpuMilli: 100,
    memoryMiB: 128,
    tolerations: [CLOUD_TOLERATION],
  },
];

function benchConfig(limits: Record<string, number>, scaleIn: Record<string, unknown> = {}): Config {
  return makeConfig({
    nodes: {
      candidateTypes: fortyTypes(),
      capacityTypes: ['spot', 'on-demand'],
      labels: { 'k3s-burst.io/pool': 'cloud' },
      taints: [CLOUD_TAINT],
    },
    limits,
    scaleIn,
  });
}

const LOOSE = {
  maxNodes: 100_000,
  maxVcpus: 10_000_000,
  maxMemoryMiB: 1_000_000_000,
  maxHourlyCostUsd: 100_000,
};

/** `pods` pending pods in `shapes` shapes: a few big deployments and a long tail. */
function pendingShapes(seed: number, shapes: number, pods: number): ClusterSnapshotInput['pendingShapes'] {
  const r = prng(seed);
  const weights = Array.from({ length: shapes }, () => r() ** 3 + 0.02);
  const total = weights.reduce((a, w) => a + w, 0);
  const counts = weights.map((w) => Math.max(1, Math.floor((w / total) * pods)));
  let diff = pods - counts.reduce((a, c) => a + c, 0);
  for (let i = 0; diff !== 0; i = (i + 1) % shapes) {
    const c = counts[i] as number;
    if (diff > 0) {
      counts[i] = c + 1;
      diff--;
    } else if (c > 1) {
      counts[i] = c - 1;
      diff++;
    }
  }
  const out: NonNullable<ClusterSnapshotInput['pendingShapes']> = [];
  for (let i = 0; i < shapes; i++) {
    const kind = r();
    const app = `${pick(r, ['web', 'api', 'worker', 'render', 'report', 'etl', 'cache', 'ml-infer'])}-${hex(r, 9)}`;
    const nodeSelector: Record<string, string> =
      kind < 0.15
        ? { 'kubernetes.io/arch': 'arm64' }
        : kind < 0.25
          ? { 'kubernetes.io/arch': 'amd64' }
          : kind < 0.28
            ? { 'k3s-burst.io/pool': 'cloud' }
            : kind < 0.3
              ? { 'kubernetes.io/hostname': 'pi-node-1' }
              : {};
    const requiredAffinity =
      kind >= 0.3 && kind < 0.36
        ? [
            {
              matchExpressions: [
                {
                  key: 'node.kubernetes.io/instance-type',
                  operator: 'NotIn' as const,
                  values: ['t4g.medium', 't4g.large', 't3.medium', 't3.large'],
                },
              ],
            },
          ]
        : kind >= 0.36 && kind < 0.41
          ? [
              {
                matchExpressions: [
                  { key: 'topology.kubernetes.io/zone', operator: 'In' as const, values: ['eu-central-1a'] },
                ],
              },
            ]
          : [];
    out.push({
      id: hex(r, 16),
      cpuMilli: pick(r, [50, 100, 100, 250, 250, 500, 750, 1000, 1500, 2000, 4000]),
      memoryMiB: pick(r, [64, 128, 256, 256, 512, 512, 1024, 2048, 4096, 8192]),
      nodeSelector,
      requiredAffinity,
      tolerations: r() < 0.93 ? [CLOUD_TOLERATION, ...DEFAULT_TOLERATIONS] : DEFAULT_TOLERATIONS,
      usesLocalVolume: false,
      hostPorts: r() < 0.03 ? [9100 + (i % 3)] : [],
      count: counts[i] as number,
      oldestPendingSince: ago(Math.floor(r() * 600) + 5),
      examplePods: [`shop/${app}-${hex(r, 5)}`],
    });
  }
  return out;
}

function piNodes(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    name: `pi-node-${i + 1}`,
    providerID: `k3s://pi-node-${i + 1}`,
    managed: false,
    arch: 'arm64',
    labels: {
      'kubernetes.io/arch': 'arm64',
      'kubernetes.io/hostname': `pi-node-${i + 1}`,
      'kubernetes.io/os': 'linux',
    },
    ready: true,
    readySince: '2026-03-01T06:13:05Z',
    createdAt: '2025-11-02T17:46:10Z',
    allocatable: { cpuMilli: 4000, memoryMiB: 7867, pods: 110 },
    requested: { cpuMilli: 3700, memoryMiB: 7100, pods: 34 },
    workloadPodCount: 29,
  }));
}

function scaleOutInput(seed: number, shapes: number, pods: number, limits: Record<string, number>) {
  const config = benchConfig(limits);
  const snapshot = ClusterSnapshot.parse({
    schemaVersion: 1,
    cluster: 'pi-lab',
    seq: 18342,
    observedAt: ago(3),
    pendingShapes: pendingShapes(seed, shapes, pods),
    nodes: piNodes(4),
    daemonSets: DAEMONSETS,
  });
  const fleet = FleetState.parse({});
  return { config, snapshot, fleet };
}

/**
 * Issue 15 item 3: 10,000 pending pods in 200 shapes, about 10 % of them (whole shapes) with
 * required hostname anti-affinity or zone spread (maxSkew 1) on their own app label, against the
 * 500 managed nodes of the scale-in input, which run matching pods (so the running-pod index
 * matters) and have free room.
 */
function affinityInput() {
  const base = scaleInInput(500);
  const r = prng(15_3);
  const shapes = pendingShapes(10, 200, 10_000) ?? [];
  const selectors: Array<{ id: string; namespaces: string[]; matchLabels: Record<string, string> }> = [];
  let constrained = 0;
  for (const [i, sh] of shapes.entries()) {
    if (constrained >= 1000 || sh.count > 400 || r() < 0.5) continue;
    const id = `sel${i.toString(16).padStart(7, '0')}`;
    selectors.push({ id, namespaces: ['shop'], matchLabels: { app: `app-${i}` } });
    sh.matchesSelectors = [id];
    if (i % 2) sh.podAntiAffinity = [{ selector: id, topology: 'hostname' }];
    else sh.topologySpread = [{ selector: id, topology: 'zone', maxSkew: 1 }];
    constrained += sh.count;
  }
  const nodes = base.snapshot.nodes.map((n) => {
    const counts: Record<string, number> = {};
    for (let k = 0; k < 2; k++) {
      const sel = selectors[Math.floor(r() * selectors.length)];
      if (sel && r() < 0.5) counts[sel.id] = 1 + Math.floor(r() * 3);
    }
    return { ...n, usedHostPorts: [], ...(Object.keys(counts).length ? { podSelectorCounts: counts } : {}) };
  });
  const snapshot = ClusterSnapshot.parse({
    ...base.snapshot,
    pendingShapes: shapes,
    nodes,
    podSelectors: selectors,
  });
  return { config: benchConfig(LOOSE), snapshot, fleet: base.fleet, constrained };
}

/**
 * 400 candidate types in a custom catalog (config.catalog): 31 families (arm64 and amd64;
 * 2, 4 and 8 GiB per vCPU; a few generations) in up to 13 sizes from 1 to 192 vCPUs, priced
 * per vCPU and GiB with a per-family factor, as EC2's catalogue is.
 */
function fourHundredTypes(): Array<{
  instanceType: string;
  vcpu: number;
  memoryMiB: number;
  arch: 'arm64' | 'amd64';
  onDemandHourlyUsd: number;
}> {
  const r = prng(400);
  const sizes: Array<[string, number]> = [
    ['medium', 1],
    ['large', 2],
    ['xlarge', 4],
    ['2xlarge', 8],
    ['3xlarge', 12],
    ['4xlarge', 16],
    ['6xlarge', 24],
    ['8xlarge', 32],
    ['12xlarge', 48],
    ['16xlarge', 64],
    ['24xlarge', 96],
    ['32xlarge', 128],
    ['48xlarge', 192],
  ];
  const out: ReturnType<typeof fourHundredTypes> = [];
  for (let f = 0; out.length < 400; f++) {
    const arch = f % 3 === 2 ? 'amd64' : 'arm64';
    const gibPerVcpu = [2, 4, 8][f % 3 === 2 ? Math.floor(f / 3) % 3 : f % 3] as number;
    const factor = 0.85 + r() * 0.3;
    for (const [size, vcpu] of sizes) {
      if (out.length >= 400) break;
      out.push({
        instanceType: `${'cmr'[[2, 4, 8].indexOf(gibPerVcpu)]}${f + 10}${arch === 'arm64' ? 'g' : 'i'}.${size}`,
        vcpu,
        memoryMiB: vcpu * gibPerVcpu * 1024,
        arch,
        onDemandHourlyUsd: Math.round((vcpu * 0.021 + vcpu * gibPerVcpu * 0.0053) * factor * 10_000) / 10_000,
      });
    }
  }
  return out;
}

/** 10,000 pending pods, each its own shape, against the 400 custom types. */
function distinctShapesInput() {
  const catalog = fourHundredTypes();
  const config = makeConfig({
    catalog,
    nodes: {
      candidateTypes: catalog.map((c) => c.instanceType),
      capacityTypes: ['spot', 'on-demand'],
      labels: { 'k3s-burst.io/pool': 'cloud' },
      taints: [CLOUD_TAINT],
    },
    limits: LOOSE,
  });
  const snapshot = ClusterSnapshot.parse({
    schemaVersion: 1,
    cluster: 'pi-lab',
    seq: 18342,
    observedAt: ago(3),
    pendingShapes: pendingShapes(10_400, 10_000, 10_000),
    nodes: piNodes(4),
    daemonSets: DAEMONSETS,
  });
  return { config, snapshot, fleet: FleetState.parse({}) };
}

/**
 * Packing quality on 200 random mixed workloads (packing-yardstick.ts): the plan's cost over
 * the heuristic's and over the LP lower bound, median and p90 of the ratios.
 */
function packingQuality(): BenchResult[] {
  const config = qualityConfig();
  const typeRooms = rooms(config, QUALITY_DAEMONSETS);
  const r = prng(15);
  const vsHeuristic: number[] = [];
  const vsBound: number[] = [];
  let plans = 0;
  let heuristics = 0;
  let bounds = 0;
  for (let w = 0; w < 200; w++) {
    const shapes = mixedWorkload(r, ago(60));
    const snapshot = ClusterSnapshot.parse({
      schemaVersion: 1,
      cluster: 'pi-lab',
      seq: 1,
      observedAt: ago(3),
      pendingShapes: shapes,
      nodes: [],
      daemonSets: QUALITY_DAEMONSETS,
    });
    const plan = planCluster({
      config,
      snapshot,
      fleet: FleetState.parse({}),
      now: NOW,
      decisionId: 'pi-lab-0bench0000000',
    });
    const pods = shapes.reduce((a, s) => a + (s.count as number), 0);
    const covered = plan.launches.reduce((a, l) => a + l.podsCovered, 0);
    expectThat(covered === pods, `workload ${w}: every pod launched for (${covered} of ${pods})`);
    const p = planCost(plan);
    const h = heuristicCost(shapes, typeRooms);
    const lb = lowerBoundCost(shapes, typeRooms);
    expectThat(lb <= p + 1e-6 && lb <= h + 1e-6, `workload ${w}: the bound is below both plans`);
    vsHeuristic.push(p / h);
    vsBound.push(p / lb);
    plans += p;
    heuristics += h;
    bounds += lb;
  }
  const p90 = (v: number[]) => [...v].sort((a, b) => a - b)[Math.ceil(0.9 * v.length) - 1] as number;
  const detail = {
    workloads: 200,
    planUsdPerHour: Number(plans.toFixed(2)),
    heuristicUsdPerHour: Number(heuristics.toFixed(2)),
    lowerBoundUsdPerHour: Number(bounds.toFixed(2)),
    worstVsHeuristic: Number(Math.max(...vsHeuristic).toFixed(4)),
  };
  const round = (x: number) => Number(x.toFixed(4));
  return [
    {
      name: 'planner.packing.cost-vs-heuristic.median',
      value: round(median(vsHeuristic)),
      unit: 'ratio',
      budget: 1,
      detail,
    },
    {
      name: 'planner.packing.cost-vs-heuristic.p90',
      value: round(p90(vsHeuristic)),
      unit: 'ratio',
      budget: 1.05,
      detail,
    },
    {
      name: 'planner.packing.cost-vs-lower-bound.median',
      value: round(median(vsBound)),
      unit: 'ratio',
      detail,
    },
    { name: 'planner.packing.cost-vs-lower-bound.p90', value: round(p90(vsBound)), unit: 'ratio', detail },
  ];
}

/** 500 managed nodes with matching instances: empty, light (consolidation candidates), busy, protected. */
function scaleInInput(nodes: number) {
  const r = prng(500);
  const config = benchConfig(
    { maxNodes: 1000, maxVcpus: 10_000, maxMemoryMiB: 50_000_000, maxHourlyCostUsd: 1000 },
    { maxConcurrentDrains: 5 },
  );
  const snapNodes: unknown[] = piNodes(4);
  const instances: FleetStateInput['instances'] = [];
  const types = ['m7g.large', 'm7g.xlarge', 'c7g.xlarge', 't4g.large', 'r7g.large'];
  for (let i = 0; i < nodes; i++) {
    const id = `i-0${hex(r, 16)}`;
    const zone = i % 2 ? 'eu-central-1b' : 'eu-central-1a';
    const type = pick(r, types);
    const spec = builtInInstanceSpecs().find((s) => s.instanceType === type);
    if (!spec) throw new Error(type);
    const allocCpu = spec.vcpu * 1000;
    const allocMem = Math.floor(spec.memoryMiB * 0.94);
    const kind = r();
    const groups =
      kind < 0.06
        ? []
        : kind < 0.3
          ? [{ cpuMilli: 100, memoryMiB: 256, count: 1 + Math.floor(r() * 3) }]
          : [
              { cpuMilli: 250, memoryMiB: 512, count: 2 + Math.floor(r() * 4) },
              { cpuMilli: 500, memoryMiB: 1024, count: 1 + Math.floor(r() * 2) },
            ];
    const podCpu = groups.reduce((a, g) => a + g.cpuMilli * g.count, 0);
    const podMem = groups.reduce((a, g) => a + g.memoryMiB * g.count, 0);
    const podCount = groups.reduce((a, g) => a + g.count, 0);
    snapNodes.push({
      name: `burst-${id}`,
      providerID: `aws:///${zone}/${id}`,
      managed: true,
      instanceId: id,
      instanceType: type,
      zone,
      arch: 'arm64',
      labels: {
        'kubernetes.io/arch': 'arm64',
        'kubernetes.io/hostname': `burst-${id}`,
        'node.kubernetes.io/instance-type': type,
        'topology.kubernetes.io/zone': zone,
        'k3s-burst.io/managed': 'true',
        'k3s-burst.io/cluster': 'pi-lab',
      },
      taints: [CLOUD_TAINT],
      ready: true,
      readySince: ago(7200 + i),
      createdAt: ago(7230 + i),
      allocatable: { cpuMilli: allocCpu, memoryMiB: allocMem, pods: 110 },
      requested: { cpuMilli: podCpu + 160, memoryMiB: podMem + 208, pods: podCount + 3 },
      workloadPodCount: podCount,
      workloadChangedAt: ago(1200 + Math.floor(r() * 3600)),
      workloadPods: groups,
      blockers: r() < 0.05 && podCount > 0 ? [{ pod: 'shop/db-0', reason: 'local-storage' }] : [],
      doNotDisrupt: r() < 0.03,
    });
    instances.push({
      instanceId: id,
      instanceType: type,
      state: 'running',
      launchedAt: ago(7300 + i),
      zone,
      capacityType: r() < 0.8 ? 'spot' : 'on-demand',
      nodeName: `burst-${id}`,
      decisionId: `pi-lab-${hex(r, 13)}`,
    });
  }
  const snapshot = ClusterSnapshot.parse({
    schemaVersion: 1,
    cluster: 'pi-lab',
    seq: 18342,
    observedAt: ago(3),
    nodes: snapNodes,
    daemonSets: DAEMONSETS,
  });
  const fleet = FleetState.parse({ instances, lastScaleOutAt: ago(3600) });
  return { config, snapshot, fleet };
}

/** Raw K8s objects for a 500-node cluster with 5,000 workload pods, through the agent's snapshot builder. */
function bigSnapshotDetail(): {
  bytes: number;
  plainBytes: number;
  encoding: string;
  pending: number;
  shapes: number;
  selectors: number;
} {
  const r = prng(5000);
  const rawNodes: unknown[] = [];
  const nodeNames: string[] = [];
  for (let i = 0; i < 500; i++) {
    const pi = i < 20;
    const id = `i-0${hex(r, 16)}`;
    const zone = i % 2 ? 'eu-central-1b' : 'eu-central-1a';
    const type = pi
      ? 'k3s'
      : pick(r, ['m7g.large', 'm7g.xlarge', 'c7g.xlarge', 't4g.large', 'r7g.large', 'c7g.2xlarge']);
    const name = pi ? `pi-node-${i + 1}` : `burst-${id}`;
    nodeNames.push(name);
    const labels: Record<string, string> = pi
      ? {
          'beta.kubernetes.io/arch': 'arm64',
          'beta.kubernetes.io/instance-type': 'k3s',
          'beta.kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'arm64',
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'node.kubernetes.io/instance-type': 'k3s',
          ...(i < 3
            ? { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/master': 'true' }
            : {}),
        }
      : {
          'beta.kubernetes.io/arch': 'arm64',
          'beta.kubernetes.io/instance-type': type,
          'beta.kubernetes.io/os': 'linux',
          'failure-domain.beta.kubernetes.io/region': 'eu-central-1',
          'failure-domain.beta.kubernetes.io/zone': zone,
          'k3s-burst.io/capacity-type': 'spot',
          'k3s-burst.io/cluster': 'pi-lab',
          'k3s-burst.io/managed': 'true',
          'k3s-burst.io/pool': 'cloud',
          'kubernetes.io/arch': 'arm64',
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'node.kubernetes.io/instance-type': type,
          'topology.kubernetes.io/region': 'eu-central-1',
          'topology.kubernetes.io/zone': zone,
        };
    rawNodes.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        uid: `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-8${hex(r, 3)}-${hex(r, 12)}`,
        creationTimestamp: pi ? '2025-11-02T17:46:10Z' : ago(3600 + Math.floor(r() * 20_000)),
        labels,
      },
      spec: {
        providerID: pi ? `k3s://${name}` : `aws:///${zone}/${id}`,
        ...(pi ? {} : { taints: [CLOUD_TAINT] }),
      },
      status: {
        allocatable: pi
          ? { cpu: '4', memory: '8055944Ki', pods: '110', 'ephemeral-storage': '59763732478' }
          : { cpu: '2', memory: '7869508Ki', pods: '110', 'ephemeral-storage': '19316009748' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            lastTransitionTime: ago(3000 + Math.floor(r() * 9000)),
            reason: 'KubeletReady',
          },
        ],
      },
    });
  }
  const rawPods: unknown[] = [];
  const apps = Array.from({ length: 260 }, () => ({
    name: `${pick(r, ['web', 'api', 'worker', 'render', 'report', 'etl', 'cache', 'ml-infer'])}-${hex(r, 6)}`,
    ns: pick(r, ['shop', 'batch', 'media', 'home', 'monitoring']),
    hash: hex(r, 9),
    cpu: pick(r, ['50m', '100m', '250m', '500m', '1', '1500m']),
    mem: pick(r, ['64Mi', '128Mi', '256Mi', '512Mi', '1Gi', '2Gi']),
    arm: r() < 0.2,
    // Issue 15 item 3: 10 % of the apps spread over zones or keep one pod per node.
    terms: r() < 0.1 ? pick(r, ['anti', 'spread'] as const) : undefined,
  }));
  let pending = 0;
  for (let i = 0; i < 5000; i++) {
    const app = pick(r, apps);
    const isPending = i % 4 === 0; // 1,250 pending, 3,750 running
    const name = `${app.name}-${app.hash}-${hex(r, 5)}`;
    if (isPending) pending++;
    rawPods.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: app.ns,
        uid: `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-8${hex(r, 3)}-${hex(r, 12)}`,
        labels: { app: app.name, 'pod-template-hash': app.hash },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: `${app.name}-${app.hash}`,
            uid: hex(r, 32),
            controller: true,
          },
        ],
        creationTimestamp: ago(60 + Math.floor(r() * 600)),
      },
      spec: {
        ...(isPending ? {} : { nodeName: pick(r, nodeNames) }),
        ...(app.arm ? { nodeSelector: { 'kubernetes.io/arch': 'arm64' } } : {}),
        ...(app.terms === 'anti'
          ? {
              affinity: {
                podAntiAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: [
                    {
                      labelSelector: { matchLabels: { app: app.name } },
                      topologyKey: 'kubernetes.io/hostname',
                    },
                  ],
                },
              },
            }
          : {}),
        ...(app.terms === 'spread'
          ? {
              topologySpreadConstraints: [
                {
                  maxSkew: 1,
                  topologyKey: 'topology.kubernetes.io/zone',
                  whenUnsatisfiable: 'DoNotSchedule',
                  labelSelector: { matchLabels: { app: app.name } },
                  matchLabelKeys: ['pod-template-hash'],
                },
              ],
            }
          : {}),
        containers: [{ name: 'main', resources: { requests: { cpu: app.cpu, memory: app.mem } } }],
        tolerations: [
          { key: 'k3s-burst.io/cloud', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
          {
            key: 'node.kubernetes.io/not-ready',
            operator: 'Exists',
            effect: 'NoExecute',
            tolerationSeconds: 300,
          },
          {
            key: 'node.kubernetes.io/unreachable',
            operator: 'Exists',
            effect: 'NoExecute',
            tolerationSeconds: 300,
          },
        ],
      },
      status: isPending
        ? {
            phase: 'Pending',
            conditions: [
              {
                type: 'PodScheduled',
                status: 'False',
                reason: 'Unschedulable',
                lastTransitionTime: ago(30 + Math.floor(r() * 300)),
                message: '0/500 nodes are available: 500 Insufficient cpu.',
              },
            ],
          }
        : { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }] },
    });
  }
  // One node-exporter DaemonSet pod per node (DaemonSet pods are not among the 5,000 workload pods).
  nodeNames.forEach((n, i) => {
    rawPods.push({
      metadata: {
        name: `node-exporter-${hex(r, 5)}`,
        namespace: 'monitoring',
        uid: `ds-${i}`,
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'DaemonSet',
            name: 'node-exporter',
            uid: 'ds-node-exporter',
            controller: true,
          },
        ],
      },
      spec: {
        nodeName: n,
        containers: [{ name: 'exporter', resources: { requests: { cpu: '50m', memory: '64Mi' } } }],
        tolerations: [{ operator: 'Exists' }],
      },
      status: { phase: 'Running' },
    });
  });
  // The Pis as K3s shows them, for the Pi-side prerequisites the agent adds to each snapshot.
  for (const n of rawNodes.slice(0, 20) as {
    metadata: { name: string; annotations?: Record<string, string> };
    status: Record<string, unknown>;
  }[]) {
    const ip = `100.64.5.${rawNodes.indexOf(n) + 11}`;
    n.metadata.annotations = {
      'flannel.alpha.coreos.com/public-ip': ip,
      'k3s.io/node-args': JSON.stringify(['agent', '--node-ip', ip, '--flannel-iface', 'tailscale0']),
    };
    n.status.addresses = [{ type: 'InternalIP', address: ip }];
    n.status.nodeInfo = { kubeletVersion: 'v1.32.6+k3s1' };
  }
  const prerequisites = new PrerequisiteReporter({ now: () => NOW.getTime() }).report(
    rawNodes.map((n) => nodeEntry(n as Parameters<typeof nodeEntry>[0])),
    NOW.toISOString(),
  );
  const snapshot = {
    ...buildSnapshot({
      cluster: 'pi-lab',
      seq: 1_773_653_400_000,
      observedAt: NOW.toISOString(),
      agentVersion: '0.1.0',
      pods: rawPods.map((p) => slimPod(p as Parameters<typeof slimPod>[0])),
      nodes: rawNodes.map((n) => slimNode(n as Parameters<typeof slimNode>[0])),
      pdbs: [],
    }),
    prerequisites: {
      ...prerequisites,
      serverUrl: 'https://100.64.5.11:6443',
      serverCertSans: ['DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:localhost', 'IP Address:100.64.5.11'],
    },
  };
  ClusterSnapshot.parse(snapshot); // what the agent sends must be a valid snapshot
  const plain = Buffer.byteLength(JSON.stringify(snapshot), 'utf8');
  const enc = encodeSnapshotDetail(snapshot);
  return {
    bytes: enc.bytes,
    plainBytes: plain,
    encoding: enc.encoding,
    pending,
    shapes: snapshot.pendingShapes?.length ?? 0,
    selectors: snapshot.podSelectors?.length ?? 0,
  };
}

interface PlanSummary {
  launches: number;
  nodes: number;
  podsCovered: number;
  unhelpablePods: number;
  /** Pending pods that fit on the free room of existing nodes (nothing launched for them). */
  onExistingPods: number;
  drains: number;
  explanations: number;
}

function summary(plan: Plan): PlanSummary {
  return {
    launches: plan.launches.length,
    nodes: plan.launches.reduce((a, l) => a + l.count, 0),
    podsCovered: plan.launches.reduce((a, l) => a + l.podsCovered, 0),
    unhelpablePods: plan.unhelpable.reduce((a, u) => a + u.count, 0),
    onExistingPods: (plan.podAnswers ?? [])
      .filter((a) => a.kind === 'fits-on-existing')
      .reduce((a, x) => a + x.count, 0),
    drains: plan.drains.length,
    explanations: plan.explanations.length,
  };
}

async function timePlan(
  name: string,
  budgetMs: number | undefined,
  input: { config: Config; snapshot: ClusterSnapshot; fleet: FleetState },
  check: (plan: Plan) => void,
): Promise<BenchResult> {
  const run = () => planCluster({ ...input, now: NOW, decisionId: 'pi-lab-0bench0000000' });
  const plan = run();
  check(plan);
  const t = await timeIt(run, { samples: SAMPLES, warmup: WARMUP });
  return {
    name,
    value: t.medianMs,
    unit: 'ms',
    ...(budgetMs === undefined ? {} : { budget: budgetMs }),
    detail: {
      samples: t.samples,
      minMs: Number(t.minMs.toFixed(3)),
      maxMs: Number(t.maxMs.toFixed(3)),
      ...summary(plan),
    },
  };
}

function expectThat(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench input check failed: ${what}`);
}

export const benchmarks: Benchmark[] = [
  {
    name: 'planner.scaleOut.10k-pods.200-shapes.40-types',
    run: async () => [
      await timePlan(
        'planner.scaleOut.10k-pods.200-shapes.40-types',
        20,
        scaleOutInput(10, 200, 10_000, LOOSE),
        (p) => {
          const s = summary(p);
          expectThat(
            s.podsCovered + s.unhelpablePods + s.onExistingPods === 10_000,
            `every pod covered or unhelpable (${JSON.stringify(s)})`,
          );
          expectThat(s.launches > 3, 'several launch groups');
        },
      ),
    ],
  },
  {
    name: 'planner.scaleOut.10k-pods.affinity',
    run: async () => {
      const input = affinityInput();
      return [
        await timePlan('planner.scaleOut.10k-pods.affinity', 50, input, (p) => {
          const s = summary(p);
          expectThat(
            input.constrained >= 900 && input.constrained <= 1100,
            `about 10 % of the pods constrained (${input.constrained})`,
          );
          expectThat(
            s.podsCovered + s.unhelpablePods + s.onExistingPods === 10_000,
            `every pod covered, on existing room or unhelpable (${JSON.stringify(s)})`,
          );
        }),
      ];
    },
  },
  {
    name: 'planner.scaleOut.100k-pods.1000-shapes.40-types',
    run: async () => [
      await timePlan(
        'planner.scaleOut.100k-pods.1000-shapes.40-types',
        200,
        scaleOutInput(100, 1000, 100_000, LOOSE),
        (p) => {
          const s = summary(p);
          expectThat(
            s.podsCovered + s.unhelpablePods + s.onExistingPods === 100_000,
            `every pod covered or unhelpable (${JSON.stringify(s)})`,
          );
        },
      ),
    ],
  },
  {
    name: 'planner.scaleOut.10k-pods.200-shapes.40-types.clamped',
    run: async () => [
      await timePlan(
        'planner.scaleOut.10k-pods.200-shapes.40-types.clamped',
        undefined,
        scaleOutInput(10, 200, 10_000, {
          maxNodes: 40,
          maxVcpus: 256,
          maxMemoryMiB: 1_048_576,
          maxHourlyCostUsd: 20,
        }),
        (p) =>
          expectThat(
            p.explanations.some((e) => e.kind === 'clamp'),
            'the limits clamp',
          ),
      ),
    ],
  },
  {
    name: 'planner.scaleOut.10k-distinct-shapes.400-types',
    run: async () => [
      await timePlan('planner.scaleOut.10k-distinct-shapes.400-types', 90, distinctShapesInput(), (p) => {
        const s = summary(p);
        expectThat(
          s.podsCovered + s.unhelpablePods + s.onExistingPods === 10_000,
          `every pod covered or unhelpable (${JSON.stringify(s)})`,
        );
      }),
    ],
  },
  {
    name: 'planner.packing.cost-vs',
    run: () => packingQuality(),
  },
  {
    name: 'planner.scaleIn.500-nodes',
    run: async () => [
      await timePlan('planner.scaleIn.500-nodes', 20, scaleInInput(500), (p) => {
        expectThat(p.drains.length === 5, `5 drains (maxConcurrentDrains), got ${p.drains.length}`);
      }),
    ],
  },
  {
    name: 'snapshot.bytes.5000-pods.500-nodes',
    run: () => {
      const d = bigSnapshotDetail();
      return [
        {
          name: 'snapshot.bytes.5000-pods.500-nodes',
          value: d.bytes,
          unit: 'bytes',
          budget: 65_536,
          detail: {
            plainJsonBytes: d.plainBytes,
            encoding: d.encoding,
            pendingPods: d.pending,
            pendingShapes: d.shapes,
            podSelectors: d.selectors,
          },
        },
      ];
    },
  },
];

export default benchmarks;

/** The generated inputs, for profiling outside the harness. */
export const benchInputs = {
  scaleOut: (seed: number, shapes: number, pods: number) => scaleOutInput(seed, shapes, pods, LOOSE),
  scaleIn: scaleInInput,
  distinct: distinctShapesInput,
  affinity: affinityInput,
};
