import { describe, expect, it } from 'vitest';
import type { SnapshotNode } from '../../../lib/events/index.js';
import {
  cloudNode,
  fleet,
  instance,
  isoAgo,
  makeConfig,
  NOW,
  piNode,
  plan,
  said,
  shape,
  snapshot,
} from './fixtures.js';

const pods = (p: ReturnType<typeof plan>) => p.launches.reduce((a, l) => a + l.podsCovered, 0);

describe('scale-out', () => {
  it('launches spot Graviton capacity for pending pods with a sentence that has the numbers', () => {
    // Given 14 web pods pending since 09:24:51
    const s = snapshot({
      pendingShapes: [shape({ id: 'web-7f3a', count: 14, oldestPendingSince: '2026-03-16T09:24:51Z' })],
    });
    // When
    const p = plan({ snapshot: s });
    // Then
    expect(pods(p)).toBe(14);
    const l = p.launches[0];
    expect(l).toMatchObject({
      launchId: 'pi-lab-test-0',
      arch: 'arm64',
      capacityTypes: ['spot', 'on-demand'],
      shapeIds: ['web-7f3a'],
      zones: [],
    });
    expect(l?.reason).toMatch(
      /^launch \d+× [a-z0-9]+\.[a-z0-9]+ \(spot, \$0\.\d+\/h each\) for 14 pods of shape web-7f3a \(250m CPU, 512 MiB; e\.g\. shop\/web-7f3a-7c9d5f8b6-kq2zt\), pending since 09:24:51 UTC/,
    );
    expect(said(p, 'scale-out')).toContain(l?.reason);
  });

  it('chooses the type with the lowest cost per packed pod and lists fitting fallbacks by price', () => {
    const config = makeConfig({ nodes: { candidateTypes: ['m7g.large', 'm7g.xlarge', 'm7g.2xlarge'] } });
    const p = plan({
      config,
      snapshot: snapshot({ pendingShapes: [shape({ cpuMilli: 900, memoryMiB: 1024, count: 8 })] }),
    });
    // m7g.large fits 1 pod (1850m free), xlarge 4 (3850m), 2xlarge 8 (7850m): per pod 0.038 / 0.019 / 0.019;
    // xlarge and 2xlarge tie on cost, so the one with fewer nodes wins.
    expect(p.launches).toHaveLength(1);
    expect(p.launches[0]).toMatchObject({ count: 1, instanceTypes: ['m7g.2xlarge'] });
  });

  it('falls back to the other capacity type order when on-demand comes first', () => {
    const config = makeConfig({ nodes: { capacityTypes: ['on-demand'] } });
    const p = plan({ config, snapshot: snapshot({ pendingShapes: [shape({ count: 3 })] }) });
    expect(p.launches[0]?.capacityTypes).toEqual(['on-demand']);
    expect(p.launches[0]?.reason).toMatch(/\(on-demand, \$/);
  });

  it('counts DaemonSet overhead that matches the new node and ignores DaemonSets that do not', () => {
    // Given a shape that exactly fills a t4g.medium's CPU without DaemonSets: 2000 - 100 reserved = 1900m
    const config = makeConfig({ nodes: { candidateTypes: ['t4g.medium'] } });
    const s = (daemonSets: unknown[]) =>
      snapshot({
        pendingShapes: [shape({ cpuMilli: 1900, memoryMiB: 256, count: 1 })],
        daemonSets: daemonSets as never,
      });
    expect(plan({ config, snapshot: s([]) }).launches[0]?.count).toBe(1);
    // A DaemonSet that tolerates everything runs on the new node, so the pod no longer fits at all.
    const tolerant = plan({
      config,
      snapshot: s([{ name: 'exporter', cpuMilli: 50, memoryMiB: 64, tolerations: [{ operator: 'Exists' }] }]),
    });
    expect(tolerant.launches).toEqual([]);
    expect(tolerant.unhelpable[0]?.reason).toMatch(
      /more than any matching candidate type offers after system-reserved and DaemonSets/,
    );
    // One that does not tolerate the cloud taint does not count.
    const intolerant = plan({
      config,
      snapshot: s([{ name: 'pi-ds', cpuMilli: 500, memoryMiB: 64, tolerations: [] }]),
    });
    expect(intolerant.launches[0]?.count).toBe(1);
  });

  it('puts at most one pod per host port on a node', () => {
    const config = makeConfig({ nodes: { candidateTypes: ['m7g.xlarge'] } });
    const p = plan({
      config,
      snapshot: snapshot({
        pendingShapes: [shape({ cpuMilli: 100, memoryMiB: 128, hostPorts: [8443], count: 4 })],
      }),
    });
    expect(p.launches[0]?.count).toBe(4);
  });

  it('honours maxPodsPerNode', () => {
    const config = makeConfig({ nodes: { candidateTypes: ['m7g.2xlarge'], maxPodsPerNode: 10 } });
    const p = plan({
      config,
      // No Pis: tiny pods would fit on a Pi's last few millicores.
      snapshot: snapshot({ pendingShapes: [shape({ cpuMilli: 10, memoryMiB: 16, count: 25 })], nodes: [] }),
    });
    // 10 slots minus the node-exporter DaemonSet pod that tolerates everything = 9 pods per node
    expect(p.launches[0]?.count).toBe(3);
  });

  it('launches amd64 nodes for amd64 pods and arm64 nodes for the rest, in separate groups', () => {
    const config = makeConfig({ nodes: { candidateTypes: ['m7g.large', 't3.large', 'm7i.large'] } });
    const s = snapshot({
      pendingShapes: [
        shape({ id: 'x86', nodeSelector: { 'kubernetes.io/arch': 'amd64' }, count: 2 }),
        shape({ id: 'any', count: 2 }),
      ],
    });
    const p = plan({ config, snapshot: s });
    const arch = (id: string) => p.launches.find((l) => l.shapeIds.includes(id))?.arch;
    expect(arch('x86')).toBe('amd64');
    expect(
      p.launches.find((l) => l.shapeIds.includes('x86'))?.instanceTypes.every((t) => /^(t3|m7i)\./.test(t)),
    ).toBe(true);
    expect(pods(p)).toBe(4);
  });

  it('restricts zones when a shape selects one and says unhelpable when it selects another region', () => {
    const s = snapshot({
      pendingShapes: [
        shape({ id: 'zonal', nodeSelector: { 'topology.kubernetes.io/zone': 'eu-central-1b' } }),
        shape({ id: 'irish', nodeSelector: { 'topology.kubernetes.io/zone': 'eu-west-1a' } }),
      ],
    });
    const p = plan({ snapshot: s });
    expect(p.launches.find((l) => l.shapeIds.includes('zonal'))?.zones).toEqual(['eu-central-1b']);
    expect(p.unhelpable.find((u) => u.shapeId === 'irish')?.reason).toMatch(
      /topology.kubernetes.io\/zone=eu-west-1a/,
    );
  });

  it('launches only on-demand for a shape that selects the on-demand capacity type', () => {
    const s = snapshot({
      pendingShapes: [shape({ id: 'od', nodeSelector: { 'k3s-burst.io/capacity-type': 'on-demand' } })],
    });
    const p = plan({ snapshot: s });
    expect(p.launches[0]?.capacityTypes).toEqual(['on-demand']);
  });

  it('packs pending pods onto in-flight capacity first and launches nothing new for them', () => {
    const s = snapshot({ pendingShapes: [shape({ count: 4 })] });
    const f = fleet({
      inFlight: [
        {
          decisionId: 'pi-lab-prev',
          launchId: 'pi-lab-prev-0',
          decidedAt: isoAgo(20),
          expiresAt: isoAgo(-880),
          instanceType: 'm7g.large',
          count: 1,
          capacityType: 'spot',
          shapeIds: [],
        },
      ],
      lastScaleOutAt: isoAgo(20),
    });
    const p = plan({ snapshot: s, fleet: f });
    expect(p.launches).toEqual([]);
    expect(said(p, 'scale-out').join()).toMatch(
      /4 pending pods will fit on capacity already on its way \(launch pi-lab-prev-0\)/,
    );
  });

  it('does not count an expired in-flight launch, nor one EC2 already lists (the listed instance counts instead)', () => {
    const s = snapshot({ pendingShapes: [shape({ count: 4 })] });
    const entry = {
      decisionId: 'pi-lab-prev',
      launchId: 'pi-lab-prev-0',
      decidedAt: isoAgo(1000),
      expiresAt: isoAgo(100),
      instanceType: 'm7g.large',
      count: 1,
      capacityType: 'spot' as const,
      shapeIds: [],
    };
    expect(plan({ snapshot: s, fleet: fleet({ inFlight: [entry] }) }).launches).toHaveLength(1);
    // Listed, pending, no node yet: still capacity on its way, and counted once.
    const listed = fleet({
      inFlight: [{ ...entry, expiresAt: isoAgo(-800) }],
      instances: [
        instance('i-0a1b2c3d4e5f60718', {
          state: 'pending',
          launchedAt: isoAgo(30),
          decisionId: 'pi-lab-prev',
        }),
      ],
    });
    const p = plan({ snapshot: s, fleet: listed });
    expect(p.launches).toEqual([]);
    expect(said(p, 'scale-out').join()).toMatch(/instance i-0a1b2c3d4e5f60718/);
  });

  it('counts the free room of a Ready node, however long it has been Ready: the scheduler is about to bind there', () => {
    // The e2e race: the node registered and is Ready, the pod still carries its old Unschedulable verdict.
    const id = 'i-0c4f2a9b7d1e35608';
    const roomy = cloudNode(id, {
      readySince: isoAgo(5),
      createdAt: isoAgo(20),
      requested: { cpuMilli: 0, memoryMiB: 0, pods: 0 },
      workloadPodCount: 0,
      workloadPods: [],
    });
    const f = fleet({ instances: [instance(id, { launchedAt: isoAgo(60) })], lastScaleOutAt: isoAgo(60) });
    const withNode = (n: SnapshotNode, count = 4) =>
      snapshot({ pendingShapes: [shape({ id: 'web', count })], nodes: [...snapshot().nodes, n] });
    const p = plan({ snapshot: withNode(roomy), fleet: f });
    expect(p.launches).toEqual([]);
    expect(said(p, 'scale-out').join()).toMatch(
      new RegExp(`fit on the free room of existing Ready nodes \\(burst-${id}\\)`),
    );
    expect(p.podAnswers).toEqual([
      expect.objectContaining({
        shapeId: 'web',
        kind: 'fits-on-existing',
        count: 4,
        targets: [`burst-${id}`],
      }),
    ]);
    // An established node's room counts too (Cluster Autoscaler's filter-out-schedulable).
    const old = { ...roomy, readySince: isoAgo(6 * 3600), createdAt: isoAgo(6 * 3600) };
    expect(plan({ snapshot: withNode(old), fleet: f }).launches).toEqual([]);
    // Only as many pods as fit: m7g.large allocatable 2000m → 8 of 250m; the other 2 get a launch.
    const split = plan({ snapshot: withNode(old, 10), fleet: f });
    expect(split.launches.reduce((a, l) => a + l.podsCovered, 0)).toBe(2);
    expect(split.podAnswers?.map((a) => [a.kind, a.count])).toEqual([
      ['fits-on-existing', 8],
      ['launched-for', 2],
    ]);
    // Cordoned, being deleted, NotReady: not capacity.
    for (const n of [
      { ...old, cordoned: true },
      { ...old, deleting: true },
      { ...old, ready: false, createdAt: isoAgo(3600) },
    ]) {
      expect(plan({ snapshot: withNode(n), fleet: f }).launches).toHaveLength(1);
    }
    // A node this plan (or an earlier one) drains is not capacity either.
    const draining = fleet({
      instances: [instance(id)],
      drains: [
        {
          instanceId: id,
          nodeName: `burst-${id}`,
          reason: 'x',
          requestedAt: isoAgo(30),
          deadline: isoAgo(-570),
        },
      ],
    });
    expect(plan({ snapshot: withNode(old), fleet: draining }).launches).toHaveLength(1);
  });

  it('counts an on-prem node only for pods that match and tolerate it', () => {
    const roomyPi = piNode('pi-node-4', { requested: { cpuMilli: 1000, memoryMiB: 2000, pods: 10 } });
    const taintedPi = piNode('pi-node-5', {
      requested: { cpuMilli: 0, memoryMiB: 0, pods: 0 },
      taints: [{ key: 'dedicated', value: 'zigbee', effect: 'NoSchedule' }],
    });
    const s = snapshot({
      pendingShapes: [
        shape({ id: 'any', count: 2 }),
        shape({ id: 'amd', count: 1, nodeSelector: { 'kubernetes.io/arch': 'amd64' } }),
        shape({ id: 'big', count: 1, cpuMilli: 3500 }),
        // Does not tolerate the cloud taint: unhelpable for the cloud, but a Pi with room can run it.
        shape({ id: 'pi-only', count: 1, tolerations: [] }),
      ],
      nodes: [...snapshot().nodes, roomyPi, taintedPi],
    });
    const p = plan({ snapshot: s });
    const kinds = (id: string) => p.podAnswers?.filter((a) => a.shapeId === id).map((a) => a.kind);
    expect(kinds('any')).toEqual(['fits-on-existing']);
    expect(kinds('pi-only')).toEqual(['fits-on-existing']);
    expect(p.podAnswers?.find((a) => a.shapeId === 'any')?.targets).toEqual(['pi-node-4']);
    // Too big for the Pi's room: a launch. amd64 matches neither a Pi nor a candidate type.
    expect(kinds('big')).toEqual(['launched-for']);
    expect(kinds('amd')).toEqual(['unhelpable']);
    expect(p.podAnswers?.find((a) => a.shapeId === 'amd')?.code).toBe('no-matching-type');
  });

  it('stops trusting existing room for pods pending longer than existingRoomTrustSeconds', () => {
    const roomyPi = piNode('pi-node-4', { requested: { cpuMilli: 0, memoryMiB: 0, pods: 0 } });
    const s = (since: number) =>
      snapshot({
        pendingShapes: [shape({ id: 'web', count: 2, oldestPendingSince: isoAgo(since) })],
        nodes: [...snapshot().nodes, roomyPi],
      });
    expect(plan({ snapshot: s(590) }).launches).toEqual([]);
    const p = plan({ snapshot: s(700) });
    expect(p.launches).toHaveLength(1);
    expect(said(p, 'scale-out').join()).toMatch(/pending for more than existingRoomTrustSeconds=600/);
    const config = makeConfig({ scaleOut: { existingRoomTrustSeconds: 3600 } });
    expect(plan({ config, snapshot: s(700) }).launches).toEqual([]);
  });

  it('keeps an empty cloud node that pending pods are about to land on out of scale-in', () => {
    const id = 'i-0c4f2a9b7d1e35608';
    const empty = cloudNode(id, {
      requested: { cpuMilli: 0, memoryMiB: 0, pods: 0 },
      workloadPodCount: 0,
      workloadPods: [],
      workloadChangedAt: isoAgo(3600),
    });
    const f = fleet({ instances: [instance(id)], lastScaleOutAt: isoAgo(7200) });
    const idle = plan({ snapshot: snapshot({ nodes: [...snapshot().nodes, empty] }), fleet: f });
    expect(idle.drains.map((d) => d.instanceId)).toEqual([id]);
    const awaited = plan({
      snapshot: snapshot({ pendingShapes: [shape({ count: 3 })], nodes: [...snapshot().nodes, empty] }),
      fleet: f,
    });
    expect(awaited.drains).toEqual([]);
    expect(
      awaited.explanations.some(
        (e) => e.kind === 'scale-in' && /keep burst-.*3 pending pods fit/.test(e.message),
      ),
    ).toBe(true);
  });

  it("sizes each launch's root volume to its pods' ephemeral storage, within nodes.maxRootVolumeGiB", () => {
    // 4 pods × 8 GiB of scratch = 32 GiB of requests: one node whose root volume grows to 35 GiB
    // (35 × 1024 × 0.917 = 32,865 MiB allocatable ≥ 32,768; 34 GiB would offer 31,927).
    const scratch = snapshot({
      pendingShapes: [
        shape({ id: 'scratch', cpuMilli: 100, memoryMiB: 128, ephemeralStorageMiB: 8192, count: 4 }),
      ],
    });
    const sized = plan({ snapshot: scratch });
    expect(sized.launches.map((l) => [l.count, l.rootVolumeGiB])).toEqual([[1, 35]]);
    expect(sized.launches[0]?.reason).toMatch(
      /root volume 35 GiB for 32 GiB of ephemeral-storage requests per node/,
    );
    // Pods asking for little scratch keep the configured root volume (no field in the plan).
    expect(
      plan({ snapshot: snapshot({ pendingShapes: [shape({ count: 3 })] }) }).launches[0]?.rootVolumeGiB,
    ).toBeUndefined();
    // With the maximum at the base size (20 GiB → 18,780 MiB allocatable), two per node, as before.
    const fixed = makeConfig({ nodes: { rootVolumeGiB: 20, maxRootVolumeGiB: 20 } });
    const two = plan({ config: fixed, snapshot: scratch });
    expect(two.launches.map((l) => [l.count, l.rootVolumeGiB])).toEqual([[2, undefined]]);
    // 200 GiB is more than the default maximum (100 GiB) offers: unhelpable, with the fix.
    const big = snapshot({ pendingShapes: [shape({ id: 'huge', ephemeralStorageMiB: 200 * 1024 })] });
    const refused = plan({ snapshot: big });
    expect(refused.launches).toEqual([]);
    expect(refused.podAnswers?.[0]).toMatchObject({ kind: 'unhelpable', code: 'ephemeral-storage' });
    expect(refused.unhelpable[0]?.reason).toMatch(
      /200 GiB of ephemeral storage .* 100 GiB \(nodes\.maxRootVolumeGiB\).* raise nodes\.maxRootVolumeGiB/,
    );
    // A larger maximum helps: 204,800 MiB needs 219 GiB (218 offers 204,707).
    const config = makeConfig({ nodes: { maxRootVolumeGiB: 300 } });
    expect(plan({ config, snapshot: big }).launches.map((l) => l.rootVolumeGiB)).toEqual([219]);
  });

  it("counts the DaemonSets' ephemeral storage when sizing the root volume", () => {
    const s = snapshot({
      pendingShapes: [
        shape({ id: 'scratch', cpuMilli: 100, memoryMiB: 128, ephemeralStorageMiB: 30 * 1024 }),
      ],
      daemonSets: [
        {
          name: 'logging/log-shipper',
          cpuMilli: 50,
          memoryMiB: 64,
          ephemeralStorageMiB: 2048,
          tolerations: [{ operator: 'Exists' }],
        },
      ],
    });
    // 30 GiB + 2 GiB = 32,768 MiB → 35 GiB, the same as four 8 GiB pods without the DaemonSet.
    expect(plan({ snapshot: s }).launches.map((l) => l.rootVolumeGiB)).toEqual([35]);
  });

  it('launches GPU types from the catalog for nvidia.com/gpu pods, and only for them', () => {
    const config = makeConfig({
      nodes: { candidateTypes: ['m7g.large', 'm7g.xlarge', 'g5g.xlarge', 'g5g.2xlarge'] },
      catalog: [
        // Graviton2 + NVIDIA T4G (AWS: 4 vCPU, 8 GiB, 1 GPU; 8 vCPU, 16 GiB, 1 GPU).
        {
          instanceType: 'g5g.xlarge',
          vcpu: 4,
          memoryMiB: 8192,
          arch: 'arm64',
          onDemandHourlyUsd: 0.42,
          gpus: 1,
        },
        {
          instanceType: 'g5g.2xlarge',
          vcpu: 8,
          memoryMiB: 16384,
          arch: 'arm64',
          onDemandHourlyUsd: 0.556,
          gpus: 1,
        },
      ],
    });
    const s = snapshot({
      pendingShapes: [
        shape({
          id: 'infer',
          cpuMilli: 1000,
          memoryMiB: 2048,
          extendedResources: { 'nvidia.com/gpu': 1 },
          count: 2,
        }),
        shape({ id: 'web', count: 2 }),
      ],
    });
    const p = plan({ config, snapshot: s });
    const forShape = (id: string) => p.launches.find((l) => l.shapeIds.includes(id));
    expect(forShape('infer')?.instanceTypes[0]).toBe('g5g.xlarge');
    expect(forShape('infer')?.count).toBe(2); // one GPU each
    expect(forShape('infer')?.instanceTypes).not.toContain('m7g.large');
    expect(forShape('web')?.instanceTypes.some((t) => t.startsWith('g5g'))).toBe(false);
    // Without a GPU type: unhelpable, with the fix.
    const none = plan({ snapshot: s });
    expect(none.podAnswers?.find((a) => a.shapeId === 'infer')).toMatchObject({
      kind: 'unhelpable',
      code: 'no-gpu-type',
    });
    // An extended resource the catalog does not know.
    const fpga = plan({
      snapshot: snapshot({
        pendingShapes: [shape({ id: 'fpga', extendedResources: { 'xilinx.com/fpga': 1 } })],
      }),
    });
    expect(fpga.podAnswers?.[0]).toMatchObject({ kind: 'unhelpable', code: 'extended-resource' });
  });

  it('lets a UDP and a TCP pod on the same host port share a node, and keeps DaemonSet host ports off-limits', () => {
    const udp = shape({
      id: 'dns-udp',
      cpuMilli: 100,
      memoryMiB: 64,
      ports: [{ port: 53, protocol: 'UDP', hostIP: '' }],
    });
    const tcp = shape({
      id: 'dns-tcp',
      cpuMilli: 100,
      memoryMiB: 64,
      ports: [{ port: 53, protocol: 'TCP', hostIP: '' }],
    });
    const p = plan({ snapshot: snapshot({ pendingShapes: [udp, tcp] }) });
    expect(p.launches.reduce((a, l) => a + l.count, 0)).toBe(1);
    // node-exporter binds 9100/TCP on every node it runs on (all of them): a pod wanting it can never run there.
    const withPort = snapshot({
      pendingShapes: [shape({ id: 'exporter-2', ports: [{ port: 9100, protocol: 'TCP', hostIP: '' }] })],
      daemonSets: [
        {
          name: 'monitoring/node-exporter',
          cpuMilli: 50,
          memoryMiB: 64,
          tolerations: [{ operator: 'Exists' }],
          ports: [{ port: 9100, protocol: 'TCP', hostIP: '' }],
        },
      ],
    });
    const refused = plan({ snapshot: withPort });
    expect(refused.launches).toEqual([]);
    expect(refused.podAnswers?.[0]).toMatchObject({ kind: 'unhelpable', code: 'host-port-taken' });
  });

  it('places a host-port pod on an existing node only when the node reports its ports and the port is free', () => {
    const roomy = (used?: Array<{ port: number; protocol: 'TCP' | 'UDP'; hostIP: string }>) =>
      piNode('pi-node-4', {
        requested: { cpuMilli: 0, memoryMiB: 0, pods: 0 },
        ...(used ? { usedHostPorts: used } : {}),
      });
    const pending = [
      shape({ id: 'ingress', tolerations: [], ports: [{ port: 443, protocol: 'TCP', hostIP: '' }] }),
    ];
    const kind = (n: SnapshotNode) =>
      plan({ snapshot: snapshot({ pendingShapes: pending, nodes: [...snapshot().nodes, n] }) })
        .podAnswers?.[0]?.kind;
    expect(kind(roomy())).toBe('unhelpable'); // ports unknown (older agent): not placed there; no cloud toleration
    expect(kind(roomy([]))).toBe('fits-on-existing');
    expect(kind(roomy([{ port: 443, protocol: 'UDP', hostIP: '' }]))).toBe('fits-on-existing');
    expect(kind(roomy([{ port: 443, protocol: 'TCP', hostIP: '10.0.0.1' }]))).toBe('unhelpable');
  });

  it('never scales out for expendable pods (priority below the cutoff, -10 by default)', () => {
    const s = snapshot({
      pendingShapes: [
        shape({ id: 'backfill', priority: -100, count: 5 }),
        shape({ id: 'batch', priority: -10, count: 2 }),
      ],
    });
    const p = plan({ snapshot: s });
    expect(p.launches.flatMap((l) => l.shapeIds)).toEqual(['batch']);
    expect(p.podAnswers?.find((a) => a.shapeId === 'backfill')).toMatchObject({
      kind: 'expendable',
      count: 5,
      code: 'priority:-100',
    });
    expect(said(p, 'scale-out').join()).toMatch(/5 pending pods in 1 shape .* expendable/);
    const config = makeConfig({ scaleOut: { expendablePriorityCutoff: -1000 } });
    expect(
      plan({ config, snapshot: s })
        .launches.flatMap((l) => l.shapeIds)
        .sort(),
    ).toEqual(['backfill', 'batch']);
  });

  it('reports unhelpable shapes and launches nothing for them', () => {
    const s = snapshot({
      pendingShapes: [
        shape({ id: 'pinned', nodeSelector: { 'kubernetes.io/hostname': 'pi-node-1' } }),
        shape({ id: 'local', usesLocalVolume: true }),
        shape({ id: 'untolerant', tolerations: [] }),
        shape({ id: 'huge', cpuMilli: 64_000, memoryMiB: 1024 }),
        shape({ id: 'custom', nodeSelector: { 'home.example/zigbee': 'true' } }),
      ],
    });
    const p = plan({ snapshot: s });
    expect(p.launches).toEqual([]);
    expect(p.unhelpable.map((u) => u.shapeId)).toEqual(['custom', 'huge', 'local', 'pinned', 'untolerant']);
    const reason = (id: string) => p.unhelpable.find((u) => u.shapeId === id)?.reason;
    expect(reason('custom')).toMatch(
      /nodeSelector home.example\/zigbee=true does not match \(the node has no home.example\/zigbee label\)/,
    );
    expect(reason('huge')).toMatch(
      /requests 64 CPU, 1 GiB per pod, more than any matching candidate type offers .*most CPU: c7g.2xlarge with 7.85 CPU/,
    );
    expect(said(p, 'unhelpable')).toHaveLength(5);
  });

  it('helps a custom-label shape when the config puts that label on cloud nodes', () => {
    const config = makeConfig({ nodes: { labels: { 'home.example/zigbee': 'true' } } });
    const p = plan({
      config,
      snapshot: snapshot({ pendingShapes: [shape({ nodeSelector: { 'home.example/zigbee': 'true' } })] }),
    });
    expect(p.unhelpable).toEqual([]);
    expect(pods(p)).toBe(1);
  });

  it('skips a type whose offerings are all unavailable right now', () => {
    const config = makeConfig({ nodes: { candidateTypes: ['m7g.large', 'c7g.xlarge'] } });
    const f = fleet({
      unavailableOfferings: [
        { instanceType: 'm7g.large', zone: '*', capacityType: 'spot', until: isoAgo(-120) },
        { instanceType: 'm7g.large', zone: '*', capacityType: 'on-demand', until: isoAgo(-120) },
      ],
    });
    const p = plan({ config, fleet: f, snapshot: snapshot({ pendingShapes: [shape({ count: 2 })] }) });
    expect(p.launches[0]?.instanceTypes).toEqual(['c7g.xlarge']);
  });

  it('keeps the remaining capacity type of a type whose spot offering is unavailable', () => {
    const config = makeConfig({ nodes: { candidateTypes: ['m7g.large'] } });
    const f = fleet({
      unavailableOfferings: [
        { instanceType: 'm7g.large', zone: '*', capacityType: 'spot', until: isoAgo(-120) },
      ],
    });
    const p = plan({ config, fleet: f, snapshot: snapshot({ pendingShapes: [shape({ count: 2 })] }) });
    expect(p.launches[0]?.capacityTypes).toEqual(['on-demand']);
  });

  it('does not scale out from a stale snapshot', () => {
    const s = snapshot({ observedAt: isoAgo(400), pendingShapes: [shape({ count: 5 })] });
    const p = plan({ snapshot: s });
    expect(p.agentStale).toBe(true);
    expect(p.launches).toEqual([]);
    expect(said(p, 'stale').join()).toMatch(/received 6 min ago, more than staleAfterSeconds=300/);
  });
});

describe('clamps', () => {
  const many = snapshot({
    pendingShapes: [shape({ id: 'render', cpuMilli: 1000, memoryMiB: 2048, count: 60 })],
  });

  it.each([
    ['maxNodes', { maxNodes: 2 }, /limits\.maxNodes=2 allows only 2 more/],
    ['maxVcpus', { maxVcpus: 8 }, /limits\.maxVcpus=8 allows only \d+ more/],
    ['maxMemoryMiB', { maxMemoryMiB: 16384 }, /limits\.maxMemoryMiB=16384 allows only \d+ more/],
    ['maxHourlyCostUsd', { maxHourlyCostUsd: 0.2 }, /limits\.maxHourlyCostUsd=0\.2 .* allows only \d+ more/],
  ])('%s cuts the launch and says so', (_name, limits, message) => {
    const config = makeConfig({
      limits: { maxNodes: 6, maxVcpus: 32, maxMemoryMiB: 131072, maxHourlyCostUsd: 2.5, ...limits },
    });
    const p = plan({ config, snapshot: many });
    const clamp = said(p, 'clamp');
    expect(clamp.join()).toMatch(message);
    expect(clamp.join()).toMatch(/pods stay pending/);
    expect(pods(p)).toBeLessThan(60);
  });

  it('counts existing instances and in-flight launches against the limits', () => {
    const config = makeConfig({ limits: { maxNodes: 3 } });
    const f = fleet({
      instances: [instance('i-0aaaaaaaaaaaaaaa1'), instance('i-0aaaaaaaaaaaaaaa2')],
      inFlight: [
        {
          decisionId: 'd',
          launchId: 'd-0',
          decidedAt: isoAgo(10),
          expiresAt: isoAgo(-900),
          instanceType: 't4g.nano',
          count: 1,
          capacityType: 'spot',
          shapeIds: [],
        },
      ],
    });
    const s = snapshot({
      nodes: [cloudNode('i-0aaaaaaaaaaaaaaa1'), cloudNode('i-0aaaaaaaaaaaaaaa2')],
      pendingShapes: [shape({ cpuMilli: 1000, count: 20 })],
    });
    const p = plan({ config, snapshot: s, fleet: f });
    expect(p.launches).toEqual([]);
    expect(said(p, 'clamp').join()).toMatch(/limits\.maxNodes=3 allows only 0 more \(0 nodes left\)/);
  });

  it('uses the active schedule maxNodes when it is lower than limits.maxNodes', () => {
    const config = makeConfig({
      schedules: [{ name: 'weekend', cron: '0 0 * * 6', timezone: 'UTC', maxNodes: 1 }],
    });
    const p = plan({ config, snapshot: many });
    expect(p.launches.reduce((a, l) => a + l.count, 0)).toBe(1);
    expect(said(p, 'clamp').join()).toMatch(/schedule "weekend" \(maxNodes=1\) allows only 1 more/);
  });
});

describe('warm capacity', () => {
  const config = makeConfig({
    schedules: [
      { name: 'office-hours', cron: '0 7 * * 1-5', timezone: 'Europe/Berlin', minNodes: 2, maxNodes: 6 },
    ],
  });

  it('launches the cheapest candidate up to minNodes', () => {
    const p = plan({ config });
    expect(p.launches).toHaveLength(1);
    expect(p.launches[0]).toMatchObject({
      count: 2,
      instanceTypes: expect.arrayContaining(['t4g.medium']),
      podsCovered: 0,
    });
    expect(p.launches[0]?.instanceTypes[0]).toBe('t4g.medium');
    expect(said(p, 'schedule').join()).toMatch(
      /warm capacity: schedule "office-hours" keeps minNodes=2 and 0 are present/,
    );
  });

  it('counts instances and launches for pending pods toward minNodes', () => {
    const f = fleet({ instances: [instance('i-0aaaaaaaaaaaaaaa1')] });
    const s = snapshot({
      nodes: [...snapshot().nodes, cloudNode('i-0aaaaaaaaaaaaaaa1')],
      pendingShapes: [shape({ count: 1 })],
    });
    const p = plan({ config, snapshot: s, fleet: f });
    expect(p.launches.reduce((a, l) => a + l.count, 0)).toBe(1);
  });

  it('launches no warm capacity while the agent is stale or has never reported (docs/architecture.md)', () => {
    // A node that cannot reach the K3s server (on the Pis) cannot join: it would only cost money.
    expect(plan({ config, snapshot: snapshot({ observedAt: isoAgo(10) }) }).launches).toHaveLength(1);
    expect(plan({ config, snapshot: snapshot({ observedAt: isoAgo(600) }) }).launches).toEqual([]);
    expect(plan({ config, snapshot: null }).launches).toEqual([]);
  });
});

describe('launch ids', () => {
  it('are <decisionId>-<index> in order', () => {
    const config = makeConfig({ nodes: { candidateTypes: ['m7g.large', 't3.large'] } });
    const s = snapshot({
      pendingShapes: [
        shape({ nodeSelector: { 'kubernetes.io/arch': 'amd64' } }),
        shape({ nodeSelector: { 'kubernetes.io/arch': 'arm64' } }),
      ],
    });
    const p = plan({ config, snapshot: s, decisionId: 'pi-lab-xyz' });
    expect(p.launches.map((l) => l.launchId)).toEqual(['pi-lab-xyz-0', 'pi-lab-xyz-1']);
    expect(NOW.toISOString()).toBe(p.decidedAt);
  });
});

describe('fallback types stay within the limits', () => {
  // Regression (found by properties.test.ts): the launcher falls back along instanceTypes on
  // capacity errors without checking the limits, so a bigger or dearer fallback must not be
  // listed when launching the whole group as that type would break a cap.
  it('drops fallbacks that would exceed maxVcpus if the launcher used them', () => {
    const config = makeConfig({
      nodes: { candidateTypes: ['t4g.large', 'm7g.xlarge', 'm7g.2xlarge'] },
      limits: { maxNodes: 6, maxVcpus: 4, maxMemoryMiB: 131072, maxHourlyCostUsd: 2.5 },
    });
    const p = plan({
      config,
      snapshot: snapshot({ pendingShapes: [shape({ cpuMilli: 900, memoryMiB: 1024, count: 2 })] }),
    });
    // 1× t4g.large (2 vCPU) is chosen; m7g.xlarge (4 vCPU) still fits under maxVcpus=4, m7g.2xlarge (8) does not.
    expect(p.launches).toHaveLength(1);
    expect(p.launches[0]).toMatchObject({ count: 1, instanceTypes: ['t4g.large', 'm7g.xlarge'] });
  });

  it('drops fallbacks that would exceed maxHourlyCostUsd, and keeps them all when the limits are loose', () => {
    const types = ['t4g.large', 'm7g.large', 'r7g.large'];
    const tight = makeConfig({
      nodes: { candidateTypes: types, capacityTypes: ['on-demand'] },
      limits: { maxNodes: 6, maxVcpus: 32, maxMemoryMiB: 131072, maxHourlyCostUsd: 0.2 },
    });
    const s = snapshot({ pendingShapes: [shape({ cpuMilli: 900, memoryMiB: 1024, count: 2 })] });
    // 2 pods fit one t4g.large ($0.0768); as m7g.large ($0.0952) too; r7g.large ($0.1253) still ≤ $0.2 for one node.
    expect(plan({ config: tight, snapshot: s }).launches[0]?.instanceTypes).toEqual(types);
    const s4 = snapshot({ pendingShapes: [shape({ cpuMilli: 900, memoryMiB: 1024, count: 4 })] });
    // 2× t4g.large = $0.1536; 2× m7g.large = $0.1904 ≤ $0.2; 2× r7g.large = $0.2506 > $0.2.
    expect(plan({ config: tight, snapshot: s4 }).launches[0]).toMatchObject({
      count: 2,
      instanceTypes: ['t4g.large', 'm7g.large'],
    });
    const loose = makeConfig({ nodes: { candidateTypes: types, capacityTypes: ['on-demand'] } });
    expect(plan({ config: loose, snapshot: s4 }).launches[0]?.instanceTypes).toEqual(types);
  });

  it('keeps warm-capacity fallbacks within the limits too', () => {
    const config = makeConfig({
      nodes: { candidateTypes: ['t4g.medium', 't4g.large', 'm7g.2xlarge'] },
      limits: { maxNodes: 6, maxVcpus: 4, maxMemoryMiB: 131072, maxHourlyCostUsd: 2.5 },
      schedules: [
        { name: 'office-hours', cron: '0 7 * * 1-5', timezone: 'Europe/Berlin', minNodes: 2, maxNodes: 4 },
      ],
    });
    const p = plan({ config });
    expect(p.launches[0]).toMatchObject({ count: 2, instanceTypes: ['t4g.medium', 't4g.large'] });
  });
});
