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

/** Instance ids as EC2 hands them out (17 hex digits). */
const A = 'i-0f3a8c61d2e7b9054';
const B = 'i-07b2d4e6f8a1c3e59';
const C = 'i-0d9e8f7a6b5c4d3e2';

/** A cloud node whose workload left `emptyForS` seconds ago (the agent reports workloadChangedAt). */
function emptyNode(id: string, emptyForS: number, p: Partial<SnapshotNode> = {}): SnapshotNode {
  return cloudNode(id, {
    requested: { cpuMilli: 160, memoryMiB: 80, pods: 2 }, // DaemonSet pods only
    workloadPodCount: 0,
    workloadPods: [],
    workloadChangedAt: isoAgo(emptyForS),
    ...p,
  });
}

/** A cloud node running two 250m/640 MiB pods: 20 % of an m7g.large's CPU, stable for `forS`. */
function lightNode(id: string, forS: number, p: Partial<SnapshotNode> = {}): SnapshotNode {
  return cloudNode(id, {
    requested: { cpuMilli: 400, memoryMiB: 1400, pods: 4 },
    workloadPodCount: 2,
    workloadPods: [{ cpuMilli: 250, memoryMiB: 640, count: 2 }],
    workloadChangedAt: isoAgo(forS),
    ...p,
  });
}

const pis = [piNode('pi-node-1'), piNode('pi-node-2'), piNode('pi-node-3')];
const DEADLINE = '2026-03-16T09:40:00.000Z'; // NOW + drainTimeoutSeconds (600)

describe('scale-in: empty nodes', () => {
  it('drains a cloud node that has had no workload pods for longer than emptyAfterSeconds', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, emptyNode(A, 25 * 60), cloudNode(B)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.drains).toEqual([
      {
        nodeName: `burst-${A}`,
        instanceId: A,
        deadline: DEADLINE,
        reason: `drain burst-${A} (m7g.large) by 09:40:00 UTC, then terminate: no workload pods for 25 min (emptyAfterSeconds=600)`,
        disruption: 'voluntary',
      },
    ]);
    expect(p.terminations).toEqual([]);
    expect(p.explanations).toContainEqual({
      kind: 'scale-in',
      subject: `burst-${A}`,
      message: p.drains[0]?.reason,
    });
  });

  it('keeps a node that has been empty for less than emptyAfterSeconds', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, emptyNode(A, 4 * 60)] }),
      fleet: fleet({ instances: [instance(A)] }),
    });
    expect(p.drains).toEqual([]);
    expect(said(p, 'noop')[0]).toMatch(/^nothing to do: 0 pending pods, 1 managed instance \(1 Ready\)/);
  });

  it('without workloadChangedAt counts "empty for" from when the node became Ready', () => {
    const node = emptyNode(A, 0, { readySince: isoAgo(15 * 60), createdAt: isoAgo(16 * 60) });
    const { workloadChangedAt: _omit, ...withoutChange } = node;
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, withoutChange] }),
      fleet: fleet({ instances: [instance(A, { launchedAt: isoAgo(17 * 60) })] }),
    });
    expect(p.drains.map((d) => d.instanceId)).toEqual([A]);
    expect(p.drains[0]?.reason).toMatch(/no workload pods for 15 min \(emptyAfterSeconds=600\)$/);
  });

  it('drains the longest-empty node first and respects maxConcurrentDrains, saying why the other waits', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, emptyNode(A, 20 * 60), emptyNode(B, 40 * 60)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.drains.map((d) => d.instanceId)).toEqual([B]);
    expect(said(p, 'scale-in')).toContain(
      `burst-${A} would be drained (no workload pods for 20 min (emptyAfterSeconds=600)) but maxConcurrentDrains=1 drains are already running`,
    );
  });

  it('drains several empty nodes at once when maxConcurrentDrains allows', () => {
    const p = plan({
      config: makeConfig({ scaleIn: { maxConcurrentDrains: 3 } }),
      snapshot: snapshot({ nodes: [...pis, emptyNode(A, 20 * 60), emptyNode(B, 40 * 60)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.drains.map((d) => d.instanceId).sort()).toEqual([A, B].sort());
  });

  it('counts drains already in progress against maxConcurrentDrains', () => {
    const p = plan({
      snapshot: snapshot({
        nodes: [...pis, emptyNode(A, 30 * 60), lightNode(C, 3600, { cordoned: true })],
      }),
      fleet: fleet({
        instances: [instance(A), instance(C)],
        drains: [
          {
            nodeName: `burst-${C}`,
            instanceId: C,
            requestedAt: isoAgo(120),
            deadline: isoAgo(-480),
            reason: 'consolidation',
          },
        ],
      }),
    });
    expect(p.drains).toEqual([]);
    expect(p.terminations).toEqual([]);
    expect(said(p, 'scale-in')).toContain(
      `burst-${A} would be drained (no workload pods for 30 min (emptyAfterSeconds=600)) but maxConcurrentDrains=1 drains are already running`,
    );
  });

  it('keeps an empty node that carries k3s-burst.io/do-not-disrupt', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, emptyNode(A, 25 * 60, { doNotDisrupt: true })] }),
      fleet: fleet({ instances: [instance(A)] }),
    });
    expect(p.drains).toEqual([]);
    expect(p.explanations).toContainEqual({
      kind: 'scale-in',
      subject: `burst-${A}`,
      message: `keep burst-${A} although it has been empty for 25 min: it carries k3s-burst.io/do-not-disrupt`,
    });
  });

  it('never drains below the active schedule minNodes', () => {
    const config = makeConfig({
      schedules: [
        { name: 'office-hours', cron: '0 7 * * 1-5', timezone: 'Europe/Berlin', minNodes: 2, maxNodes: 4 },
      ],
    });
    const p = plan({
      config,
      snapshot: snapshot({ nodes: [...pis, emptyNode(A, 25 * 60), emptyNode(B, 30 * 60)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.activeSchedule).toEqual({ name: 'office-hours', minNodes: 2, maxNodes: 4 });
    expect(p.drains).toEqual([]);
    expect(p.launches).toEqual([]);
    expect(said(p, 'scale-in')).toContain(
      `keep burst-${B}: no workload pods for 30 min (emptyAfterSeconds=600), but schedule minNodes=2 must stay`,
    );
  });

  it('skips nodes that are cordoned, NotReady, or whose instance is not running', () => {
    const p = plan({
      snapshot: snapshot({
        nodes: [
          ...pis,
          emptyNode(A, 25 * 60, { cordoned: true }),
          emptyNode(B, 25 * 60, { ready: false, readySince: isoAgo(60) }),
          emptyNode(C, 25 * 60),
        ],
      }),
      fleet: fleet({ instances: [instance(A), instance(B), instance(C, { state: 'stopping' })] }),
    });
    expect(p.drains).toEqual([]);
  });
});

describe('scale-in: delay after scale-out', () => {
  it('does not scale in within delayAfterScaleOutSeconds of the last launch decision, and says until when', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, emptyNode(A, 25 * 60)] }),
      fleet: fleet({ instances: [instance(A)], lastScaleOutAt: isoAgo(4 * 60) }),
    });
    expect(p.drains).toEqual([]);
    expect(said(p, 'scale-in')).toEqual([
      'no scale-in until 09:36:00 UTC (6 min): the last scale-out was at 09:26:00 UTC (delayAfterScaleOutSeconds=600)',
    ]);
  });

  it('counts a freshly launched instance and an in-flight launch as a scale-out', () => {
    const recentInstance = plan({
      snapshot: snapshot({ nodes: [...pis, emptyNode(A, 25 * 60)] }),
      fleet: fleet({ instances: [instance(A), instance(B, { launchedAt: isoAgo(120), state: 'pending' })] }),
    });
    expect(recentInstance.drains).toEqual([]);
    expect(said(recentInstance, 'scale-in')[0]).toMatch(/^no scale-in until 09:38:00 UTC \(8 min\)/);

    const inFlight = plan({
      snapshot: snapshot({ nodes: [...pis, emptyNode(A, 25 * 60)] }),
      fleet: fleet({
        instances: [instance(A)],
        inFlight: [
          {
            decisionId: 'pi-lab-0new0decision',
            launchId: 'pi-lab-0new0decision-0',
            decidedAt: isoAgo(30),
            expiresAt: isoAgo(-870),
            instanceType: 't4g.medium',
            count: 1,
            capacityType: 'spot',
          },
        ],
      }),
    });
    expect(inFlight.drains).toEqual([]);
    expect(said(inFlight, 'scale-in')[0]).toMatch(/^no scale-in until 09:39:30 UTC \(9 min\)/);
  });

  it('scales in again once the delay has passed', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, emptyNode(A, 25 * 60)] }),
      fleet: fleet({ instances: [instance(A)], lastScaleOutAt: isoAgo(11 * 60) }),
    });
    expect(p.drains.map((d) => d.instanceId)).toEqual([A]);
  });

  it('does not scale in while the same decision launches capacity', () => {
    const p = plan({
      snapshot: snapshot({
        nodes: [
          ...pis,
          emptyNode(A, 25 * 60, { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
        ],
        pendingShapes: [shape({ id: 'web-7f3a', count: 6 })],
      }),
      fleet: fleet({ instances: [instance(A)] }),
    });
    expect(p.launches.length).toBeGreaterThan(0);
    expect(p.drains).toEqual([]);
    expect(said(p, 'scale-in')).toEqual(['no scale-in while this decision launches capacity']);
  });
});

describe('scale-in: consolidation', () => {
  it('drains an underutilized node whose pods fit on the other managed nodes', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, lightNode(A, 20 * 60), cloudNode(B)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.drains).toEqual([
      {
        nodeName: `burst-${A}`,
        instanceId: A,
        deadline: DEADLINE,
        reason: `drain burst-${A} (m7g.large) by 09:40:00 UTC, then terminate: consolidation: 20 % utilized (< 50 %) for 20 min, and its 2 pods (500m CPU, 1.3 GiB) fit on the other managed nodes`,
        disruption: 'voluntary',
      },
    ]);
    expect(said(p, 'scale-in')).toContain(p.drains[0]?.reason);
  });

  it('keeps an underutilized node whose pods do not fit elsewhere', () => {
    // B has 800m CPU free; A's two pods need 2 × 500m.
    const heavy = lightNode(A, 20 * 60, {
      requested: { cpuMilli: 900, memoryMiB: 1400, pods: 4 },
      workloadPods: [{ cpuMilli: 500, memoryMiB: 640, count: 2 }],
    });
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, heavy, cloudNode(B)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.drains).toEqual([]);
    expect(said(p, 'noop')).toHaveLength(1);
  });

  it("never moves pods onto on-prem nodes: the Pis' free room does not count", () => {
    const roomyPi = piNode('pi-node-4', { requested: { cpuMilli: 200, memoryMiB: 500, pods: 3 } });
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, roomyPi, lightNode(A, 20 * 60)] }),
      fleet: fleet({ instances: [instance(A)] }),
    });
    expect(p.drains).toEqual([]);
  });

  it('waits underutilizedAfterSeconds before consolidating', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, lightNode(A, 10 * 60), cloudNode(B)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.drains).toEqual([]);
  });

  it('does nothing when consolidation is disabled', () => {
    const p = plan({
      config: makeConfig({ scaleIn: { consolidation: { enabled: false } } }),
      snapshot: snapshot({ nodes: [...pis, lightNode(A, 20 * 60), cloudNode(B)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.drains).toEqual([]);
  });

  it('cannot prove the pods fit when the agent did not send them, so keeps the node', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, lightNode(A, 20 * 60, { workloadPods: [] }), cloudNode(B)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.drains).toEqual([]);
  });

  it('keeps an underutilized node with a pod that cannot be evicted, naming the pod', () => {
    const p = plan({
      snapshot: snapshot({
        nodes: [
          ...pis,
          lightNode(A, 20 * 60, { blockers: [{ pod: 'shop/cart-0', reason: 'local-storage' }] }),
          cloudNode(B),
        ],
      }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.drains).toEqual([]);
    expect(p.explanations).toContainEqual({
      kind: 'scale-in',
      subject: `burst-${A}`,
      message: `keep burst-${A} although it is 20 % utilized: 1 pod cannot be evicted (shop/cart-0: local-storage)`,
    });
  });

  it('does not consolidate a node that receives pods from another one in the same plan', () => {
    const p = plan({
      config: makeConfig({ scaleIn: { maxConcurrentDrains: 3 } }),
      snapshot: snapshot({ nodes: [...pis, lightNode(A, 20 * 60), lightNode(B, 20 * 60)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    // Both are 20 % utilized, so name order breaks the tie: burst-i-07b2… (B) moves onto A,
    // and A, now holding B's pods, must stay although maxConcurrentDrains would allow more.
    expect(p.drains.map((d) => d.instanceId)).toEqual([B]);
  });
});

describe('scale-in: never on-prem', () => {
  it('never drains an empty Pi, however long it has been empty', () => {
    const idlePi = piNode('pi-node-4', {
      requested: { cpuMilli: 100, memoryMiB: 70, pods: 2 },
      workloadPodCount: 0,
      readySince: isoAgo(30 * 86400),
    });
    const p = plan({ snapshot: snapshot({ nodes: [...pis, idlePi] }) });
    expect(p.drains).toEqual([]);
    expect(p.terminations).toEqual([]);
    expect(p.nodeDeletions).toEqual([]);
  });

  it('never drains a node the agent marks unmanaged, even with an aws providerID and a matching instance', () => {
    // An EC2 instance someone joined by hand: it has our instance id but not our label.
    const foreign = { ...emptyNode(A, 3600), managed: false };
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, foreign] }),
      fleet: fleet({ instances: [instance(A)] }),
      now: NOW,
    });
    expect(p.drains).toEqual([]);
    expect(p.terminations.map((t) => t.instanceId)).not.toContain(A);
  });
});
