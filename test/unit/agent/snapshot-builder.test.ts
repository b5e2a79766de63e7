import { describe, expect, it } from 'vitest';
import {
  isManagedNode,
  type RawNode,
  type RawPdb,
  type RawPod,
  slimNode,
  slimPdb,
  slimPod,
} from '../../../lib/agent/model.js';
import { buildSnapshot } from '../../../lib/agent/snapshot-builder.js';
import { ClusterSnapshot } from '../../../lib/events/index.js';
import {
  CLUSTER,
  daemonSetPod,
  EC2_ID as EC2,
  EC2_NODE,
  ec2Node,
  mirrorPod,
  pdb,
  piNode,
  pod,
} from '../../support/fake-k8s/fixtures.js';
import type { K8sObject } from '../../support/fake-k8s/server.js';

function build(objs: { pods?: K8sObject[]; nodes?: K8sObject[]; pdbs?: K8sObject[] }) {
  const snapshot = buildSnapshot({
    cluster: CLUSTER,
    seq: 42,
    observedAt: '2026-03-14T09:30:00.000Z',
    agentVersion: 'test',
    pods: (objs.pods ?? []).map((p) => slimPod(p as RawPod)),
    nodes: (objs.nodes ?? []).map((n) => slimNode(n as RawNode)),
    pdbs: (objs.pdbs ?? []).map((p) => slimPdb(p as RawPdb)),
  });
  // Every snapshot the builder makes must satisfy the published contract.
  return ClusterSnapshot.parse(snapshot);
}

describe('pending pods', () => {
  it('counts only unbound, unnominated PodScheduled=False/Unschedulable pods', () => {
    // Given pods in every state the reference lists
    const pods = [
      pod('web-1', { cpu: '500m', memory: '1Gi' }),
      pod('web-2', { cpu: '500m', memory: '1Gi' }),
      pod('bound-1', { cpu: '500m', memory: '1Gi', node: 'pi-node-1' }),
      pod('nominated-1', { cpu: '500m', memory: '1Gi', nominated: 'pi-node-1' }),
      pod('deleting-1', { cpu: '500m', memory: '1Gi', deleting: true }),
      pod('failed-1', { cpu: '500m', memory: '1Gi', phase: 'Failed' }),
      pod('not-tried-1', { cpu: '500m', memory: '1Gi', pending: false }),
      {
        ...daemonSetPod('pi-node-1'),
        spec: { ...(daemonSetPod('pi-node-1').spec as object), nodeName: undefined },
        status: pod('x').status,
      },
      { ...mirrorPod('pi-node-1'), spec: { containers: [] }, status: pod('x').status },
    ];
    // When
    const s = build({ pods, nodes: [piNode('pi-node-1')] });
    // Then one shape with the two web pods
    expect(s.pendingShapes).toHaveLength(1);
    expect(s.pendingShapes[0]).toMatchObject({
      cpuMilli: 500,
      memoryMiB: 1024,
      count: 2,
      examplePods: ['default/web-1', 'default/web-2'],
    });
  });

  it('uses max(init containers, sum of containers) plus overhead as the effective request', () => {
    const s = build({
      pods: [
        pod('report-builder-kq2zt', { cpu: '1500m', memory: '3Gi', initCpu: '250m', initMemory: '256Mi' }),
        pod('migrate-a1', {
          cpu: '100m',
          memory: '64Mi',
          initCpu: '2',
          initMemory: '128Mi',
          overhead: { cpu: '250m', memory: '120Mi' },
        }),
      ],
    });
    const byName = Object.fromEntries(s.pendingShapes.map((x) => [x.examplePods[0], x]));
    expect(byName['default/report-builder-kq2zt']).toMatchObject({ cpuMilli: 1500, memoryMiB: 3072 });
    expect(byName['default/migrate-a1']).toMatchObject({ cpuMilli: 2250, memoryMiB: 248 });
  });

  it('counts sidecars (restartable init containers) in the running requests, as the scheduler does', () => {
    const withSidecar = (name: string, init: Array<{ cpu: string; memory: string; sidecar?: boolean }>) => {
      const p = pod(name, { cpu: '500m', memory: '512Mi' }) as { spec: Record<string, unknown> };
      p.spec.initContainers = init.map((c, i) => ({
        name: `init-${i}`,
        image: 'ghcr.io/example/init:1.0.0',
        ...(c.sidecar ? { restartPolicy: 'Always' } : {}),
        resources: { requests: { cpu: c.cpu, memory: c.memory } },
      }));
      return p as unknown as K8sObject;
    };
    const s = build({
      pods: [
        // A log shipper sidecar runs next to the app: 500m + 200m, 512 + 128 MiB.
        withSidecar('app-sidecar', [{ cpu: '200m', memory: '128Mi', sidecar: true }]),
        // A plain init container after the sidecar runs next to it: max(700m, 1000m + 200m) = 1200m.
        withSidecar('app-migrate', [
          { cpu: '200m', memory: '128Mi', sidecar: true },
          { cpu: '1', memory: '64Mi' },
        ]),
        // A plain init container BEFORE the sidecar does not overlap it: max(700m, 1000m) = 1000m.
        withSidecar('app-early', [
          { cpu: '1', memory: '64Mi' },
          { cpu: '200m', memory: '128Mi', sidecar: true },
        ]),
      ],
    });
    const byName = Object.fromEntries(s.pendingShapes.map((x) => [x.examplePods[0], x]));
    expect(byName['default/app-sidecar']).toMatchObject({ cpuMilli: 700, memoryMiB: 640 });
    expect(byName['default/app-migrate']).toMatchObject({ cpuMilli: 1200, memoryMiB: 640 });
    expect(byName['default/app-early']).toMatchObject({ cpuMilli: 1000, memoryMiB: 640 });
  });

  it('carries ephemeral storage, GPUs and host ports with protocol and host IP', () => {
    const p = pod('trainer-1', { cpu: '2', memory: '8Gi' }) as {
      spec: { containers: Array<Record<string, unknown>> };
    };
    const c = p.spec.containers[0] as Record<string, unknown>;
    c.resources = {
      requests: { cpu: '2', memory: '8Gi', 'ephemeral-storage': '25Gi' },
      limits: { 'nvidia.com/gpu': '1' },
    };
    c.ports = [
      { containerPort: 53, hostPort: 53, protocol: 'UDP' },
      { containerPort: 53, hostPort: 53 },
      { containerPort: 8080, hostPort: 8080, hostIP: '0.0.0.0' },
      { containerPort: 9000, hostPort: 9000, hostIP: '10.0.0.7' },
    ];
    const s = build({ pods: [p as unknown as K8sObject] });
    expect(s.pendingShapes[0]).toMatchObject({
      ephemeralStorageMiB: 25_600,
      extendedResources: { 'nvidia.com/gpu': 1 },
      ports: [
        { port: 53, protocol: 'TCP', hostIP: '' },
        { port: 53, protocol: 'UDP', hostIP: '' },
        { port: 8080, protocol: 'TCP', hostIP: '' },
        { port: 9000, protocol: 'TCP', hostIP: '10.0.0.7' },
      ],
    });
    // A plain pod leaves the new fields out (the snapshot stays small).
    const plain = build({ pods: [pod('web-1', { cpu: '250m' })] }).pendingShapes[0];
    expect(plain && 'ephemeralStorageMiB' in plain).toBe(false);
  });

  it('gives BestEffort pods a zero-request shape', () => {
    const s = build({ pods: [pod('besteffort-1'), pod('besteffort-2')] });
    expect(s.pendingShapes).toEqual([expect.objectContaining({ cpuMilli: 0, memoryMiB: 0, count: 2 })]);
  });

  it('drops the admission-injected NoExecute tolerations but keeps real ones', () => {
    const s = build({
      pods: [
        pod('plain-1', { cpu: '1' }),
        pod('cloud-1', {
          cpu: '1',
          tolerations: [{ key: 'k3s-burst/cloud', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
        }),
      ],
    });
    const tolerations = s.pendingShapes.map((x) => x.tolerations).sort((a, b) => a.length - b.length);
    expect(tolerations).toEqual([
      [],
      [{ key: 'k3s-burst/cloud', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
    ]);
  });

  it('separates shapes by selector, affinity, host ports and keeps the id stable', () => {
    const arm = pod('arm-1', { cpu: '1', nodeSelector: { 'kubernetes.io/arch': 'arm64' } });
    const amd = pod('amd-1', { cpu: '1', nodeSelector: { 'kubernetes.io/arch': 'amd64' } });
    const port = pod('port-1', { cpu: '1', hostPort: 8443 });
    const zone = pod('zone-1', {
      cpu: '1',
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  {
                    key: 'topology.kubernetes.io/zone',
                    operator: 'In',
                    values: ['eu-central-1b', 'eu-central-1a'],
                  },
                ],
              },
            ],
          },
        },
      },
    });
    const first = build({ pods: [arm, amd, port, zone] });
    const again = build({ pods: [zone, port, amd, arm] });
    expect(first.pendingShapes).toHaveLength(4);
    expect(first.pendingShapes.map((x) => x.id).sort()).toEqual(again.pendingShapes.map((x) => x.id).sort());
    const z = first.pendingShapes.find((x) => x.examplePods[0] === 'default/zone-1');
    expect(z?.requiredAffinity).toEqual([
      {
        matchExpressions: [
          { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['eu-central-1a', 'eu-central-1b'] },
        ],
      },
    ]);
    const ported = first.pendingShapes.find((x) => x.examplePods[0] === 'default/port-1');
    expect(ported?.ports).toEqual([{ port: 8443, protocol: 'TCP', hostIP: '' }]);
    expect(ported?.hostPorts).toEqual([]);
  });

  it('marks pods pinned to one hostname as needing a local volume', () => {
    const s = build({
      pods: [pod('db-0', { cpu: '1', nodeSelector: { 'kubernetes.io/hostname': 'pi-node-2' } })],
    });
    expect(s.pendingShapes[0]?.usesLocalVolume).toBe(true);
  });

  it('orders shapes by pod count, then by how long they have waited', () => {
    const s = build({
      pods: [
        pod('small-1', { cpu: '100m', pendingSince: '2026-03-14T09:00:00Z' }),
        pod('big-1', { cpu: '2', pendingSince: '2026-03-14T09:20:00Z' }),
        pod('big-2', { cpu: '2', pendingSince: '2026-03-14T09:10:00Z' }),
      ],
    });
    expect(s.pendingShapes.map((x) => [x.cpuMilli, x.count, x.oldestPendingSince])).toEqual([
      [2000, 2, '2026-03-14T09:10:00Z'],
      [100, 1, '2026-03-14T09:00:00Z'],
    ]);
  });
});

describe('nodes', () => {
  it('treats a Pi as on-prem and our EC2 node as managed, with parsed instance and zone', () => {
    const s = build({ nodes: [piNode('pi-node-1', { controlPlane: true }), ec2Node(EC2)] });
    const [ec2, pi] = s.nodes;
    expect(pi).toMatchObject({
      name: 'pi-node-1',
      managed: false,
      providerID: 'k3s://pi-node-1',
      ready: true,
      arch: 'arm64',
    });
    expect(pi?.instanceId).toBeUndefined();
    expect(ec2).toMatchObject({
      name: EC2_NODE,
      managed: true,
      instanceId: EC2,
      zone: 'eu-central-1a',
      instanceType: 't4g.medium',
      allocatable: { cpuMilli: 2000, memoryMiB: 3853, pods: 110 },
      taints: [{ key: 'k3s-burst/cloud', value: 'true', effect: 'NoSchedule' }],
      readySince: '2026-03-14T08:04:02Z',
    });
  });

  it('never calls a node managed without both labels and an aws:/// providerID of this cluster', () => {
    const unlabelled = ec2Node('i-0aaaaaaaaaaaaaaa1', { managed: false });
    const otherCluster = ec2Node('i-0aaaaaaaaaaaaaaa2', { cluster: 'other-lab' });
    const labelledPi = piNode('pi-node-9');
    (labelledPi.metadata?.labels as Record<string, string>)['k3s-burst.io/managed'] = 'true';
    (labelledPi.metadata?.labels as Record<string, string>)['k3s-burst.io/cluster'] = CLUSTER;
    const s = build({ nodes: [unlabelled, otherCluster, labelledPi] });
    expect(s.nodes.map((n) => n.managed)).toEqual([false, false, false]);
    expect(isManagedNode(slimNode(ec2Node(EC2) as RawNode), CLUSTER)).toBe(true);
  });

  it('reports NotReady nodes and cordoning', () => {
    const s = build({ nodes: [ec2Node(EC2, { ready: false, unschedulable: true })] });
    expect(s.nodes[0]).toMatchObject({ ready: false, cordoned: true });
    expect(s.nodes[0]?.deleting).toBeUndefined();
  });

  it('reports a node with a deletionTimestamp as deleting (and leaves the field out otherwise)', () => {
    const going = ec2Node(EC2);
    (going.metadata as { deletionTimestamp?: string }).deletionTimestamp = '2026-03-16T09:29:50Z';
    const s = build({ nodes: [going, piNode('pi-node-1')] });
    expect(s.nodes.map((n) => [n.name, n.deleting])).toEqual([
      [EC2_NODE, true],
      ['pi-node-1', undefined],
    ]);
  });

  it('sums requests of all bound pods but counts and groups only reschedulable ones', () => {
    const pods = [
      daemonSetPod(EC2_NODE),
      mirrorPod(EC2_NODE),
      pod('web-a', { node: EC2_NODE, cpu: '250m', memory: '256Mi' }),
      pod('web-b', { node: EC2_NODE, cpu: '250m', memory: '256Mi' }),
      pod('job-done', { node: EC2_NODE, cpu: '1', memory: '1Gi', phase: 'Succeeded' }),
      pod('api-a', { node: EC2_NODE, cpu: '1', memory: '512Mi', initCpu: '1500m' }),
    ];
    const s = build({ nodes: [ec2Node(EC2)], pods });
    expect(s.nodes[0]).toMatchObject({
      requested: { cpuMilli: 50 + 10 + 250 + 250 + 1500, memoryMiB: 64 + 16 + 256 + 256 + 512, pods: 5 },
      workloadPodCount: 3,
      workloadPods: [
        { cpuMilli: 250, memoryMiB: 256, count: 2 },
        { cpuMilli: 1500, memoryMiB: 512, count: 1 },
      ],
    });
  });

  it('lists eviction blockers on managed nodes: no controller, local storage, annotation, PDBs', () => {
    const pods = [
      pod('bare-1', { node: EC2_NODE, owner: null }),
      pod('cache-1', { node: EC2_NODE, emptyDir: true }),
      pod('precious-1', { node: EC2_NODE, annotations: { 'k3s-burst.io/do-not-disrupt': 'true' } }),
      pod('web-1', { node: EC2_NODE, labels: { app: 'web' } }),
      pod('shop-1', { node: EC2_NODE, labels: { app: 'shop', tier: 'front' } }),
      pod('free-1', { node: EC2_NODE, labels: { app: 'free' } }),
      pod('onprem-bare-1', { node: 'pi-node-1', owner: null }),
    ];
    const pdbs = [
      pdb('web-pdb', 'web', 0),
      pdb('shop-pdb', 'shop', 1),
      { ...pdb('front-pdb', 'shop', 1), spec: { selector: { matchLabels: { tier: 'front' } } } },
      pdb('free-pdb', 'free', 1),
    ];
    const s = build({ nodes: [ec2Node(EC2), piNode('pi-node-1')], pods, pdbs });
    expect(s.nodes.find((n) => n.managed)?.blockers).toEqual([
      { pod: 'default/bare-1', reason: 'no-controller' },
      { pod: 'default/cache-1', reason: 'local-storage' },
      { pod: 'default/precious-1', reason: 'do-not-disrupt' },
      { pod: 'default/shop-1', reason: 'multiple-pdbs' },
      { pod: 'default/web-1', reason: 'pdb-blocks' },
    ]);
    expect(s.nodes.find((n) => !n.managed)?.blockers).toEqual([]);
  });
});

describe('DaemonSet overhead', () => {
  it('lists each DaemonSet once, without the per-node matchFields pin', () => {
    const pods = [
      daemonSetPod('pi-node-1'),
      daemonSetPod('pi-node-2'),
      daemonSetPod(EC2_NODE),
      daemonSetPod('pi-node-1', 'svclb-traefik', '10m', '20Mi'),
    ];
    const s = build({ pods, nodes: [piNode('pi-node-1'), piNode('pi-node-2'), ec2Node(EC2)] });
    expect(s.daemonSets).toEqual([
      expect.objectContaining({
        name: 'monitoring/node-exporter',
        cpuMilli: 50,
        memoryMiB: 64,
        requiredAffinity: [],
        tolerations: expect.arrayContaining([{ operator: 'Exists' }]),
      }),
      expect.objectContaining({ name: 'monitoring/svclb-traefik', cpuMilli: 10, memoryMiB: 20 }),
    ]);
    // Its host port is taken on every node it runs on, and the nodes say which ports are in use.
    expect(s.daemonSets[0]?.ports).toEqual([{ port: 9100, protocol: 'TCP', hostIP: '' }]);
    expect(s.nodes.find((n) => n.name === 'pi-node-2')?.usedHostPorts).toEqual([
      { port: 9100, protocol: 'TCP', hostIP: '' },
    ]);
    expect(s.nodes.find((n) => n.name === 'pi-node-1')?.ephemeralStorage).toEqual({
      allocatableMiB: 56_778,
      requestedMiB: 0,
    });
  });
});
