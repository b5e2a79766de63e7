import { describe, expect, it } from 'vitest';
import { agentMetrics, MetricNames } from '../../../lib/agent/metrics.js';
import { type RawNode, type RawPod, type SlimNode, slimNode, slimPod } from '../../../lib/agent/model.js';
import { podRunningAt, StageObserver } from '../../../lib/agent/stage-observer.js';
import { MAX_STAGE_OBSERVATIONS, StageObservation } from '../../../lib/events/index.js';

const CLUSTER = 'home';
const T0 = Date.parse('2026-12-07T06:00:00Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

function rawNode(
  id: string,
  o: { createdS: number; readyS?: number; managed?: boolean; ready?: boolean },
): RawNode {
  const labels: Record<string, string> =
    o.managed === false ? {} : { 'k3s-burst.io/managed': 'true', 'k3s-burst.io/cluster': CLUSTER };
  return {
    metadata: { name: `burst-${id}`, uid: `uid-${id}`, creationTimestamp: iso(o.createdS), labels },
    spec: { providerID: o.managed === false ? `k3s://pi-${id}` : `aws:///eu-central-1a/${id}` },
    status: {
      allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
      conditions: [
        {
          type: 'Ready',
          status: o.ready === false ? 'False' : 'True',
          lastTransitionTime: iso(o.readyS ?? o.createdS),
        },
      ],
    },
  };
}

function rawPod(
  name: string,
  o: { pendingS?: number; node?: string; runningS?: number; phase?: string; deleting?: boolean },
): RawPod {
  const conditions: NonNullable<RawPod['status']>['conditions'] = [];
  if (o.node === undefined)
    conditions.push({
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      lastTransitionTime: iso(o.pendingS ?? 0),
    });
  else conditions.push({ type: 'PodScheduled', status: 'True', lastTransitionTime: iso(o.pendingS ?? 0) });
  if (o.runningS !== undefined)
    conditions.push({ type: 'ContainersReady', status: 'True', lastTransitionTime: iso(o.runningS) });
  return {
    metadata: {
      name,
      namespace: 'batch',
      uid: `uid-${name}`,
      creationTimestamp: iso(-1),
      ...(o.deleting ? { deletionTimestamp: iso(999) } : {}),
    },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: 'app' }] },
    status: {
      phase: o.phase ?? (o.runningS !== undefined ? 'Running' : 'Pending'),
      conditions,
    },
  };
}

function setup(nowS = 120) {
  const metrics = agentMetrics();
  const nodes = new Map<string, SlimNode>();
  const clock = { t: T0 + nowS * 1000, now: () => clock.t };
  const obs = new StageObserver({ cluster: CLUSTER, clock, metrics, nodeByName: (n) => nodes.get(n) });
  const addNode = (raw: RawNode) => {
    const n = slimNode(raw);
    nodes.set(n.name, n);
    obs.node(n);
    return n;
  };
  const seePod = (raw: RawPod) => obs.pod(raw, slimPod(raw));
  return { metrics, nodes, clock, obs, addNode, seePod };
}

const stageCount = (m: ReturnType<typeof agentMetrics>, stage: string) =>
  /* the histogram's _count line */
  Number(
    new RegExp(`^k3s_burst_stage_seconds_count\\{stage="${stage}"\\} (\\d+)$`, 'm').exec(m.render())?.[1] ??
      0,
  );

describe('StageObserver: nodes', () => {
  it('times a managed Node from registration to Ready once, and carries the observation', () => {
    // Given
    const { metrics, obs, addNode } = setup();
    // When: seen NotReady, then Ready 21.5 s after it registered, then updated again
    addNode(rawNode('i-0aaaaaaaaaaaaaaa1', { createdS: 60, ready: false }));
    addNode(rawNode('i-0aaaaaaaaaaaaaaa1', { createdS: 60, readyS: 81.5 }));
    addNode(rawNode('i-0aaaaaaaaaaaaaaa1', { createdS: 60, readyS: 81.5 }));
    // Then
    expect(stageCount(metrics, 'registered-to-ready')).toBe(1);
    expect(metrics.render()).toContain(
      'k3s_burst_stage_seconds_bucket{stage="registered-to-ready",le="30"} 1',
    );
    expect(metrics.render()).toContain(
      'k3s_burst_stage_seconds_bucket{stage="registered-to-ready",le="20"} 0',
    );
    expect(metrics.render()).toContain('k3s_burst_stage_seconds_sum{stage="registered-to-ready"} 21.5');
    const list = obs.observations();
    expect(list).toEqual([
      {
        kind: 'node-ready',
        node: 'burst-i-0aaaaaaaaaaaaaaa1',
        instanceId: 'i-0aaaaaaaaaaaaaaa1',
        registeredAt: iso(60),
        readyAt: iso(81.5),
      },
    ]);
    expect(StageObservation.safeParse(list[0]).success).toBe(true);
  });

  it('does not time on-prem nodes, nor nodes that turned Ready long before the agent saw them', () => {
    const { metrics, obs, addNode } = setup(3_600);
    addNode(rawNode('pi1', { createdS: 3_500, readyS: 3_550, managed: false }));
    addNode(rawNode('i-0aaaaaaaaaaaaaaa2', { createdS: 0, readyS: 30 })); // Ready 59 min ago: an agent restart
    expect(stageCount(metrics, 'registered-to-ready')).toBe(0);
    expect(obs.observations()).toEqual([]);
  });

  it('counts a Ready time far before registration as rejected, never as a duration', () => {
    const { metrics, obs, addNode } = setup();
    addNode(rawNode('i-0aaaaaaaaaaaaaaa3', { createdS: 100, readyS: 40 }));
    expect(stageCount(metrics, 'registered-to-ready')).toBe(0);
    expect(metrics.get(MetricNames.stageRejected, { stage: 'registered-to-ready', reason: 'negative' })).toBe(
      1,
    );
    expect(obs.observations()).toEqual([]);
  });
});

describe('StageObserver: pods', () => {
  it('times a pod from Unschedulable to running on a managed node', () => {
    const { metrics, obs, addNode, seePod } = setup();
    const node = addNode(rawNode('i-0aaaaaaaaaaaaaaa1', { createdS: 60, readyS: 80 }));
    seePod(rawPod('job-1', { pendingS: 2 }));
    seePod(rawPod('job-1', { pendingS: 2, node: node.name })); // bound, not running yet
    expect(stageCount(metrics, 'pod-wait')).toBe(0);
    seePod(rawPod('job-1', { pendingS: 2, node: node.name, runningS: 95 }));
    expect(stageCount(metrics, 'pod-wait')).toBe(1);
    expect(metrics.render()).toContain('k3s_burst_stage_seconds_sum{stage="pod-wait"} 93');
    expect(obs.observations()[0]).toEqual({
      kind: 'pod-running',
      podUid: 'uid-job-1',
      node: node.name,
      pendingSince: iso(2),
      runningAt: iso(95),
    });
    expect(obs.trackedPods).toBe(0);
  });

  it('does not time pods placed on a Pi, deleted, or never pending', () => {
    const { metrics, obs, addNode, seePod } = setup();
    const pi = addNode(rawNode('pi1', { createdS: 0, managed: false }));
    const cloud = addNode(rawNode('i-0aaaaaaaaaaaaaaa1', { createdS: 60, readyS: 80 }));
    seePod(rawPod('on-pi', { pendingS: 1 }));
    seePod(rawPod('on-pi', { pendingS: 1, node: pi.name, runningS: 5 }));
    seePod(rawPod('gone', { pendingS: 1 }));
    obs.podDeleted(slimPod(rawPod('gone', { pendingS: 1 })));
    seePod(rawPod('gone', { pendingS: 1, node: cloud.name, runningS: 90 }));
    seePod(rawPod('always-running', { node: cloud.name, runningS: 90 }));
    expect(stageCount(metrics, 'pod-wait')).toBe(0);
    expect(obs.observations().filter((o) => o.kind === 'pod-running')).toEqual([]);
    expect(obs.trackedPods).toBe(0);
  });

  it('follows at most maxTrackedPods pending pods', () => {
    const metrics = agentMetrics();
    const obs = new StageObserver({
      cluster: CLUSTER,
      clock: { now: () => T0 },
      metrics,
      nodeByName: () => undefined,
      maxTrackedPods: 3,
    });
    for (let i = 0; i < 10; i++) {
      const raw = rawPod(`p-${i}`, { pendingS: 0 });
      obs.pod(raw, slimPod(raw));
    }
    expect(obs.trackedPods).toBe(3);
  });

  it('carries observations for a while, newest first, at most MAX_STAGE_OBSERVATIONS', () => {
    const { clock, obs, addNode, seePod } = setup();
    const node = addNode(rawNode('i-0aaaaaaaaaaaaaaa1', { createdS: 60, readyS: 80 }));
    for (let i = 0; i < 40; i++) {
      seePod(rawPod(`p-${i}`, { pendingS: 1 }));
      seePod(rawPod(`p-${i}`, { pendingS: 1, node: node.name, runningS: 90 + i }));
    }
    const list = obs.observations();
    expect(list).toHaveLength(MAX_STAGE_OBSERVATIONS);
    expect(list[0]).toMatchObject({ kind: 'pod-running', podUid: 'uid-p-39' });
    clock.t += 601_000;
    expect(obs.observations()).toEqual([]);
  });
});

describe('podRunningAt', () => {
  it('reads ContainersReady, then Ready, and only while Running', () => {
    expect(podRunningAt(rawPod('a', { node: 'n', runningS: 10 }))).toBe(iso(10));
    const ready: RawPod = {
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(12) }],
      },
    };
    expect(podRunningAt(ready)).toBe(iso(12));
    expect(podRunningAt({ ...ready, status: { ...ready.status, phase: 'Pending' } })).toBeUndefined();
    expect(podRunningAt({ status: { phase: 'Running', conditions: [] } })).toBeUndefined();
  });
});
