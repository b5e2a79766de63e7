/**
 * I9: a voluntary disruption (empty, consolidation, schedule under the wait policy) never ends a
 * pod's run by force; involuntary ones keep their bounded deadlines.
 */
import { describe, expect, it } from 'vitest';
import type { DrainInProgress, SnapshotNode } from '../../../lib/events/index.js';
import { cloudNode, fleet, instance, isoAgo, makeConfig, piNode, plan, said, snapshot } from './fixtures.js';

const A = 'i-0f3a8c61d2e7b9054';
const B = 'i-07b2d4e6f8a1c3e59';
const pis = [piNode('pi-node-1'), piNode('pi-node-2')];

/** A cloud node still running two workload pods (a PDB kept them). */
function busyNode(id: string, p: Partial<SnapshotNode> = {}): SnapshotNode {
  return cloudNode(id, {
    requested: { cpuMilli: 400, memoryMiB: 1400, pods: 4 },
    workloadPodCount: 2,
    workloadPods: [{ cpuMilli: 250, memoryMiB: 640, count: 2 }],
    workloadChangedAt: isoAgo(3600),
    ...p,
  });
}

function drainOf(id: string, over: Partial<DrainInProgress> = {}): DrainInProgress {
  return {
    nodeName: `burst-${id}`,
    instanceId: id,
    requestedAt: isoAgo(700),
    deadline: isoAgo(100),
    reason: 'consolidation',
    ...over,
  };
}

describe('drain deadlines by disruption (I9)', () => {
  it('a voluntary drain past its deadline with workload pods left is abandoned, not terminated', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, busyNode(A, { cordoned: true })] }),
      fleet: fleet({ instances: [instance(A)], drains: [drainOf(A, { disruption: 'voluntary' })] }),
    });
    expect(p.terminations).toEqual([]);
    expect(said(p, 'scale-in').join('\n')).toMatch(
      /voluntary drain of burst-i-0f3a8c61d2e7b9054 .* passed its deadline .* with 2 workload pods still running: it is abandoned, not forced \(I9\)/,
    );
  });

  it('an involuntary drain (or one recorded before I9) past its deadline still terminates', () => {
    for (const disruption of ['involuntary', undefined] as const) {
      const p = plan({
        snapshot: snapshot({ nodes: [...pis, busyNode(A, { cordoned: true })] }),
        fleet: fleet({ instances: [instance(A)], drains: [drainOf(A, disruption ? { disruption } : {})] }),
      });
      expect(p.terminations.map((t) => t.instanceId)).toEqual([A]);
    }
  });

  it('a voluntary drain that emptied its node is terminated, deadline or not', () => {
    const p = plan({
      snapshot: snapshot({
        nodes: [...pis, busyNode(A, { cordoned: true, workloadPodCount: 0, workloadPods: [] })],
      }),
      fleet: fleet({ instances: [instance(A)], drains: [drainOf(A, { disruption: 'voluntary' })] }),
    });
    expect(p.terminations.map((t) => t.instanceId)).toEqual([A]);
  });

  it('an abandoned drain keeps its node out of scale-in until holdUntil, then it may be drained again', () => {
    const config = makeConfig({ scaleIn: { delayAfterScaleOutSeconds: 0 } });
    const empty = busyNode(A, {
      workloadPodCount: 0,
      workloadPods: [],
      requested: { cpuMilli: 100, memoryMiB: 80, pods: 2 },
    });
    const hold = drainOf(A, {
      disruption: 'voluntary',
      abandonedAt: isoAgo(600),
      holdUntil: isoAgo(-3000),
    });
    const held = plan({
      config,
      snapshot: snapshot({ nodes: [...pis, empty, busyNode(B)] }),
      fleet: fleet({ instances: [instance(A), instance(B)], drains: [hold] }),
    });
    expect(held.drains).toEqual([]);
    expect(held.terminations).toEqual([]);
    expect(said(held, 'scale-in').join('\n')).toMatch(
      /keep burst-i-0f3a8c61d2e7b9054 out of scale-in until .*abandoned/,
    );

    const later = plan({
      config,
      snapshot: snapshot({ nodes: [...pis, empty, busyNode(B)] }),
      fleet: fleet({ instances: [instance(A), instance(B)], drains: [{ ...hold, holdUntil: isoAgo(1) }] }),
    });
    expect(later.drains.map((d) => [d.instanceId, d.disruption])).toEqual([[A, 'voluntary']]);
  });
});

describe('schedule scale-down policy', () => {
  const night = (scheduleScaleDown?: 'wait' | 'force') =>
    makeConfig({
      schedules: [{ name: 'night', cron: '0 0 * * *', timezone: 'UTC', minNodes: 0, maxNodes: 0 }],
      ...(scheduleScaleDown ? { scaleIn: { scheduleScaleDown } } : {}),
    });
  const blocked = busyNode(A, { blockers: [{ pod: 'shop/db-0', reason: 'pdb-blocks' }] });

  it('default "wait": a node whose pods cannot be evicted is kept and said so; the others drain voluntarily', () => {
    const p = plan({
      config: night(),
      snapshot: snapshot({ nodes: [...pis, blocked, busyNode(B)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.drains.map((d) => [d.instanceId, d.disruption])).toEqual([[B, 'voluntary']]);
    const kept = p.explanations.find((e) => e.kind === 'schedule' && e.subject === `burst-${A}`);
    expect(kept?.message).toMatch(
      /^keep burst-.* 1 pod cannot be evicted \(shop\/db-0: pdb-blocks\); scaleIn\.scheduleScaleDown=wait retries/,
    );
    expect(said(p, 'schedule').join('\n')).toMatch(/scaleIn\.scheduleScaleDown=wait: drains are voluntary/);
  });

  it('"force": every excess node drains involuntarily (terminated at the deadline), as before', () => {
    const p = plan({
      config: night('force'),
      snapshot: snapshot({ nodes: [...pis, blocked, busyNode(B)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.drains.map((d) => [d.instanceId, d.disruption]).sort()).toEqual(
      [
        [A, 'involuntary'],
        [B, 'involuntary'],
      ].sort(),
    );
  });
});
