import { describe, expect, it } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import { parseReconcileEvent } from '../../../lib/control/inputs.js';
import { applyPause } from '../../../lib/control/pause.js';
import { reconcile } from '../../../lib/control/reconcile.js';
import {
  DetailTypes,
  type DrainNode,
  type PauseState,
  type Plan,
  type ScaleOutRequested,
} from '../../../lib/events/index.js';
import {
  fakeWorld,
  instance,
  isoAgo,
  makeConfig,
  NOW,
  parseOk,
  shape,
  snapshot,
  snapshotEvent,
} from '../../support/control.js';

const CLUSTER = 'pi-lab';
const config = makeConfig();
const pause = (drain: boolean): PauseState => ({
  since: isoAgo(120),
  drain,
  by: 'ana@laptop',
  reason: 'bill spike',
});

const planWith = (p: Partial<Plan>): Plan => ({
  schemaVersion: 1,
  cluster: CLUSTER,
  decisionId: 'pi-lab-d1',
  decidedAt: NOW.toISOString(),
  snapshotSeq: 7,
  activeSchedule: { name: null, minNodes: 0, maxNodes: 5 },
  agentStale: false,
  launches: [],
  drains: [],
  terminations: [],
  nodeDeletions: [],
  unhelpable: [],
  explanations: [],
  ...p,
});

const launch = (count: number) => ({
  launchId: 'pi-lab-d1-0',
  instanceTypes: ['m7g.large'],
  capacityTypes: ['spot' as const],
  arch: 'arm64' as const,
  count,
  zones: [],
  shapeIds: ['web'],
  podsCovered: 3,
  estimatedHourlyUsd: 0.05,
  reason: 'pending pods',
});

describe('applyPause', () => {
  it('without a pause returns the plan untouched', () => {
    const plan = planWith({ launches: [launch(2)] });
    const r = applyPause({ plan, pause: undefined, instances: [], draining: new Set(), config, now: NOW });
    expect(r.plan).toBe(plan);
    expect(r.launchesHeld).toBe(0);
  });

  it('holds back every launch and says who paused, when and how to resume', () => {
    // Given a plan that launches 2 instances (and explains it) and a pause without --drain
    const plan = planWith({
      launches: [launch(2)],
      explanations: [
        { kind: 'scale-out', message: 'launch 2 × m7g.large for 3 pending pods' },
        { kind: 'schedule', message: 'schedule day is active' },
      ],
    });

    // When the pause is applied
    const r = applyPause({
      plan,
      pause: pause(false),
      instances: [instance('i-0aaaaaaaaaaaaaaa1')],
      draining: new Set(),
      config,
      now: NOW,
    });

    // Then nothing is launched, running nodes are left alone, and the explanation replaces the scale-out one
    expect(r.launchesHeld).toBe(2);
    expect(r.plan.launches).toEqual([]);
    expect(r.plan.drains).toEqual([]);
    expect(r.plan.explanations.map((e) => e.kind)).toEqual(['clamp', 'schedule']);
    // (NOW is 09:30:00 UTC in the fixtures; the pause was set 120 s before.)
    expect(r.plan.explanations[0]?.message).toBe(
      'paused since 09:28:00 UTC by ana@laptop (bill spike): held back 2 launches (run k3s-burst resume to allow launches again)',
    );
  });

  it('with --drain drains every live managed instance once, keeping what the planner already decided', () => {
    // Given: A running, B already draining, C pending, D stopped, E being terminated, F drained by the planner
    const ids = ['A', 'B', 'C', 'D', 'E', 'F'].map((x) => `i-0${x.toLowerCase().repeat(16)}`.slice(0, 19));
    const [a, b, c, d, e, f] = ids as [string, string, string, string, string, string];
    const plannedDrain = { nodeName: `burst-${f}`, instanceId: f, reason: 'empty', deadline: isoAgo(-60) };
    const plan = planWith({
      drains: [plannedDrain],
      terminations: [{ instanceId: e, reason: 'registration timeout' }],
    });

    // When a --drain pause is applied
    const r = applyPause({
      plan,
      pause: pause(true),
      instances: [
        instance(a),
        instance(b),
        instance(c, { state: 'pending' }),
        instance(d, { state: 'stopped' }),
        instance(e),
        instance(f),
      ],
      draining: new Set([b]),
      config,
      now: NOW,
    });

    // Then A and C are drained with the configured deadline; B, D, E, F are not drained twice
    expect(r.plan.drains.map((x) => x.instanceId)).toEqual([f, a, c]);
    const deadline = new Date(NOW.getTime() + config.scaleIn.drainTimeoutSeconds * 1000).toISOString();
    expect(r.plan.drains[1]).toMatchObject({ nodeName: `burst-${a}`, deadline });
    expect(r.plan.drains[1]?.reason).toContain('with --drain');
    expect(r.plan.terminations).toEqual(plan.terminations);
  });
});

describe('reconcile honours the pause', () => {
  const pending = (seq: number) =>
    snapshot({ seq, observedAt: isoAgo(5), pendingShapes: [shape({ id: 'web', count: 3 })] });
  const input = (seq: number) => parseOk(parseReconcileEvent(snapshotEvent(pending(seq)), CLUSTER));

  it('launches nothing while paused, journals why, and launches again after resume', async () => {
    // Given a paused cluster with 3 pending pods
    const w = fakeWorld();
    await w.state.setPause(CLUSTER, pause(false));

    // When reconcile runs
    const paused = await reconcile(input(200), w.deps, { requestId: 'r1' });

    // Then no ScaleOutRequested, no in-flight record, and the decision says why
    expect(paused.outcome).toBe('decided');
    expect(w.bus.detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested)).toEqual([]);
    expect(await w.state.listInFlight(CLUSTER, NOW)).toEqual([]);
    const [journaled] = await w.state.listRecentDecisions(CLUSTER, 1);
    expect(journaled?.plan.launches).toEqual([]);
    expect(journaled?.plan.explanations[0]?.message).toMatch(
      /^paused since .* by ana@laptop \(bill spike\): held back \d+ launch/,
    );
    const held = w.metrics.points.find((p) => p.name === ControlMetrics.launchesPaused);
    expect(held?.value).toBeGreaterThan(0);

    // When the pause is cleared and the next snapshot arrives
    await w.state.clearPause(CLUSTER);
    await reconcile(input(201), w.deps, { requestId: 'r2' });

    // Then the pending pods get capacity again
    expect(w.bus.detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested)).toHaveLength(1);
  });

  it('with --drain asks the agent to drain every managed node', async () => {
    // Given two launched cloud instances and a --drain pause
    const w = fakeWorld();
    await reconcile(input(300), w.deps, { requestId: 'r1' });
    const so = w.bus.detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested);
    expect(so.length).toBeGreaterThan(0);
    for (const s of so) {
      for (let i = 0; i < s.launch.count; i++) {
        await w.fleet.launchOne({
          clientToken: `${s.launch.launchId}-${i}`,
          decisionId: s.decisionId,
          launchId: s.launch.launchId,
          index: i,
          instanceTypes: s.launch.instanceTypes,
          capacityTypes: s.launch.capacityTypes,
          zones: s.launch.zones,
          imageId: 'ami-0123456789abcdef0',
          userData: '#!/bin/sh',
          reason: s.launch.reason,
        });
      }
    }
    const live = (await w.fleet.list()).map((i) => i.nodeName).sort();
    await w.state.setPause(CLUSTER, pause(true));

    // When reconcile runs
    await reconcile(input(301), w.deps, { requestId: 'r2' });

    // Then every managed node gets a DrainNode, and a drain record
    const drained = w.bus
      .detailsOf<DrainNode>(DetailTypes.drainNode)
      .map((d) => d.nodeName)
      .sort();
    expect(drained).toEqual(live);
    expect((await w.state.listDrains(CLUSTER)).length).toBe(live.length);
  });
});
