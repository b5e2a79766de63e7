/**
 * Outages (issue 13 item 4): NotReady managed nodes under meltdown protection keep counting as
 * capacity, so the pods evicted from an unreachable fleet launch nothing beside it; below the
 * threshold unhealthy nodes are replaced one at a time (repairs.maxReplacementsInFlight); the
 * threshold's edge (strictly more than maxUnhealthyFraction) is pinned.
 */
import { describe, expect, it } from 'vitest';
import type { SnapshotNode } from '../../../lib/events/index.js';
import {
  cloudNode,
  fleet,
  instance,
  isoAgo,
  makeConfig,
  piNode,
  plan,
  said,
  shape,
  snapshot,
} from './fixtures.js';

const IDS = [
  'i-0a00000000000000a',
  'i-0a00000000000000b',
  'i-0a00000000000000c',
  'i-0a00000000000000d',
  'i-0a00000000000000e',
  'i-0a00000000000000f',
  'i-0a000000000000010',
  'i-0a000000000000011',
  'i-0a000000000000012',
  'i-0a000000000000013',
];
const pis = [piNode('pi-node-1'), piNode('pi-node-2')];

/** A cloud node NotReady for `forS` seconds, full of pods (its kubelet stopped posting status). */
function notReady(id: string, forS: number): SnapshotNode {
  return cloudNode(id, {
    ready: false,
    readySince: isoAgo(forS),
    requested: { cpuMilli: 1900, memoryMiB: 7000, pods: 12 },
  });
}

/** A Ready cloud node with no room left. */
function full(id: string): SnapshotNode {
  return cloudNode(id, { requested: { cpuMilli: 1900, memoryMiB: 7000, pods: 12 } });
}

/** Room for ten cloud nodes under the limits (the fixture's maxNodes is 6). */
const TEN = makeConfig({
  limits: { maxNodes: 12, maxVcpus: 64, maxMemoryMiB: 262144, maxHourlyCostUsd: 10 },
});

/** Pods the node controller evicted from unreachable nodes: pending again, half a CPU each. */
const evicted = shape({ id: 'render', cpuMilli: 500, memoryMiB: 1024, count: 4 });

describe('outage: NotReady managed nodes under meltdown protection', () => {
  it('keeps counting them as capacity: the evicted pods launch nothing beside the unreachable fleet', () => {
    const ids = IDS.slice(0, 4);
    const p = plan({
      snapshot: snapshot({
        nodes: [
          ...pis,
          notReady(ids[0] as string, 7 * 60),
          notReady(ids[1] as string, 7 * 60),
          full(ids[2] as string),
          cloudNode(ids[3] as string, { requested: { cpuMilli: 1900, memoryMiB: 7000, pods: 12 } }),
        ],
        pendingShapes: [evicted],
      }),
      fleet: fleet({ instances: ids.map((id) => instance(id)) }),
    });
    expect(p.launches).toEqual([]);
    expect(p.terminations).toEqual([]);
    expect(p.podAnswers).toEqual([
      expect.objectContaining({
        shapeId: 'render',
        kind: 'fits-in-flight',
        count: 4,
        code: `outage:burst-${ids[0]}`,
        message: expect.stringMatching(
          /^counted on NotReady nodes burst-\S+, burst-\S+, which come back when the outage ends: 2 of 4 managed nodes are NotReady at once, more than repairs\.maxUnhealthyFraction=0\.2/,
        ),
      }),
    ]);
    expect(said(p, 'scale-out')).toContainEqual(
      expect.stringMatching(/^4 pending pods are counted on the capacity of NotReady nodes/),
    );
  });

  it('before a node counts as unhealthy too: pods are evicted after 5 min, unhealthyAfterSeconds is 10', () => {
    const ids = IDS.slice(0, 3);
    const p = plan({
      snapshot: snapshot({
        nodes: [...pis, ...ids.map((id) => notReady(id, 6 * 60))],
        pendingShapes: [evicted],
      }),
      fleet: fleet({ instances: ids.map((id) => instance(id)) }),
    });
    expect(p.launches).toEqual([]);
    expect(p.podAnswers?.map((a) => a.code)).toEqual([expect.stringMatching(/^outage:/)]);
  });

  it('counts only what the nodes can hold: pods beyond their room are launched for', () => {
    const ids = IDS.slice(0, 2);
    const many = shape({ id: 'render', cpuMilli: 1000, memoryMiB: 2048, count: 7 });
    const p = plan({
      snapshot: snapshot({
        nodes: [...pis, ...ids.map((id) => notReady(id, 12 * 60))],
        pendingShapes: [many],
      }),
      fleet: fleet({ instances: ids.map((id) => instance(id)) }),
    });
    const counted = p.podAnswers
      ?.filter((a) => a.code.startsWith('outage:'))
      .reduce((a, x) => a + x.count, 0);
    // An m7g.large (2 vCPU) holds one 1-CPU pod beside the DaemonSets: 2 counted, 5 launched for.
    expect(counted).toBe(2);
    expect(p.launches.reduce((a, l) => a + l.podsCovered, 0)).toBe(5);
  });

  it('one NotReady node is a node failure, not an outage, even in a one-node fleet: its pods are launched for', () => {
    const id = IDS[0] as string;
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, notReady(id, 7 * 60)], pendingShapes: [evicted] }),
      fleet: fleet({ instances: [instance(id)] }),
    });
    expect(p.podAnswers?.filter((a) => a.code.startsWith('outage:'))).toEqual([]);
    expect(p.launches.reduce((a, l) => a + l.podsCovered, 0)).toBe(4);
  });

  it('at or below the threshold a NotReady node is not capacity: its pods are launched for', () => {
    const ids = IDS.slice(0, 5);
    const p = plan({
      snapshot: snapshot({
        // 1 of 5 = 20 %, not more than maxUnhealthyFraction=0.2: no outage.
        nodes: [
          ...pis,
          notReady(ids[0] as string, 7 * 60),
          ...ids
            .slice(1)
            .map((id) => cloudNode(id, { requested: { cpuMilli: 1900, memoryMiB: 7000, pods: 12 } })),
        ],
        pendingShapes: [evicted],
      }),
      fleet: fleet({ instances: ids.map((id) => instance(id)) }),
    });
    expect(p.podAnswers?.filter((a) => a.code.startsWith('outage:'))).toEqual([]);
    expect(p.launches.length).toBeGreaterThan(0);
  });
});

describe('repairs: unhealthy nodes are replaced one at a time', () => {
  const tenInstances = IDS.map((id) => instance(id));
  const healthy = full;

  it('at exactly maxUnhealthyFraction (2 of 10 = 0.2) replaces the longest NotReady node only', () => {
    const [a, c, ...rest] = IDS as [string, string, ...string[]];
    const p = plan({
      config: TEN,
      snapshot: snapshot({
        nodes: [...pis, notReady(a, 12 * 60), notReady(c, 20 * 60), ...rest.map(healthy)],
      }),
      fleet: fleet({ instances: tenInstances }),
    });
    expect(p.terminations.map((t) => t.instanceId)).toEqual([c]);
    expect(said(p, 'repair')).toContainEqual(
      `1 more unhealthy node (burst-${a}) waits for 1 replacement under way: repairs.maxReplacementsInFlight=1, nodes are replaced one batch at a time`,
    );
  });

  it('just above the fraction (3 of 10) replaces none (meltdown protection)', () => {
    const [a, c, d, ...rest] = IDS as [string, string, string, ...string[]];
    const p = plan({
      config: TEN,
      snapshot: snapshot({
        nodes: [
          ...pis,
          notReady(a, 12 * 60),
          notReady(c, 12 * 60),
          notReady(d, 12 * 60),
          ...rest.map(healthy),
        ],
      }),
      fleet: fleet({ instances: tenInstances }),
    });
    expect(p.terminations).toEqual([]);
    expect(said(p, 'repair')).toEqual([
      expect.stringMatching(/^meltdown protection: 3 of 10 managed nodes \(30 %\)/),
    ]);
  });

  it('waits while a replacement is under way: an instance shutting down whose node is still there', () => {
    const [a, c, ...rest] = IDS as [string, string, ...string[]];
    const p = plan({
      config: TEN,
      snapshot: snapshot({
        nodes: [...pis, notReady(a, 12 * 60), notReady(c, 25 * 60), ...rest.map(healthy)],
      }),
      fleet: fleet({
        instances: [instance(c, { state: 'shutting-down' }), ...[a, ...rest].map((id) => instance(id))],
      }),
    });
    expect(p.terminations).toEqual([]);
    expect(said(p, 'repair')).toContainEqual(
      `1 more unhealthy node (burst-${a}) waits for 1 replacement under way (burst-${c} (shutting down)): repairs.maxReplacementsInFlight=1, nodes are replaced one batch at a time`,
    );
  });

  it('waits while the capacity launched for the last one is not Ready', () => {
    const [a, ...rest] = IDS as [string, ...string[]];
    const booting = 'i-0b000000000000001';
    const p = plan({
      config: TEN,
      snapshot: snapshot({ nodes: [...pis, notReady(a, 12 * 60), ...rest.map(healthy)] }),
      fleet: fleet({
        instances: [...tenInstances, instance(booting, { state: 'pending', launchedAt: isoAgo(90) })],
      }),
    });
    expect(p.terminations).toEqual([]);
    expect(said(p, 'repair')).toContainEqual(expect.stringContaining(`(instance ${booting})`));
  });

  it('replaces up to repairs.maxReplacementsInFlight at once when configured', () => {
    const [a, c, ...rest] = IDS as [string, string, ...string[]];
    const p = plan({
      config: makeConfig({
        limits: { maxNodes: 12, maxVcpus: 64, maxMemoryMiB: 262144, maxHourlyCostUsd: 10 },
        repairs: { maxReplacementsInFlight: 2 },
      }),
      snapshot: snapshot({
        nodes: [...pis, notReady(a, 12 * 60), notReady(c, 20 * 60), ...rest.map(healthy)],
      }),
      fleet: fleet({ instances: tenInstances }),
    });
    expect(p.terminations.map((t) => t.instanceId).sort()).toEqual([a, c].sort());
  });
});
