/**
 * Reconcile's stage timings (issue 17 item 2) through the shipped use-cases: a snapshot with a
 * pending shape is decided, launch runs the request, EC2's state change and the agent's
 * observations follow — each stage is emitted once as an EMF datapoint in Seconds, recorded in
 * the state table, and bad observations are counted, never recorded.
 */
import { describe, expect, it, vi } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import { parseLaunchEvent, parseReconcileEvent } from '../../../lib/control/inputs.js';
import { launch } from '../../../lib/control/launch.js';
import { reconcile } from '../../../lib/control/reconcile.js';
import { parseObservations } from '../../../lib/control/stage-timings.js';
import { StatePortError } from '../../../lib/core/ports.js';
import { STAGES } from '../../../lib/core/stage-timings.js';
import {
  type ClusterSnapshot,
  DetailTypes,
  MAX_STAGE_OBSERVATIONS,
  type ScaleOutRequested,
  Sources,
  ValidationError,
} from '../../../lib/events/index.js';
import {
  cloudNode,
  ec2StateEvent,
  envelopeOf,
  type FakeWorld,
  fakeWorld,
  isoAgo,
  JOIN_TOKEN_SECRET,
  parseOk,
  shape,
  snapshot,
  snapshotEvent,
} from '../../support/control.js';

const CLUSTER = 'pi-lab';
const input = (raw: unknown) => parseOk(parseReconcileEvent(raw, CLUSTER));
const points = (w: FakeWorld, metric: string) =>
  w.metrics.points.filter((p) => p.name === metric).map((p) => [p.value, p.unit]);

/** Decide a burst for one pending shape (pending 40 s), then run its launch 3 s later. */
async function burst(w: FakeWorld) {
  const snap = snapshot({
    seq: 100,
    observedAt: isoAgo(1),
    pendingShapes: [shape({ id: 'web', count: 2, oldestPendingSince: isoAgo(40) })],
  });
  const r = await reconcile(input(snapshotEvent(snap)), w.deps, { requestId: 'req-1' });
  expect(r.outcome).toBe('decided');
  const [request] = w.bus.detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested);
  w.clock.advance(3);
  const launched = await launch(
    parseOk(
      parseLaunchEvent(
        envelopeOf(
          { source: Sources.reconcile, detailType: DetailTypes.scaleOutRequested, detail: request as object },
          w.clock.now,
        ),
        CLUSTER,
      ),
    ),
    w.deps,
    { joinTokenSecretId: JOIN_TOKEN_SECRET },
  );
  const ids = launched.instances.map((i) => i.instanceId);
  expect(ids.length).toBeGreaterThan(0);
  return { ids, launchedAt: w.clock.now.getTime() };
}

/** A later snapshot carrying `observations`, its managed nodes Ready. */
function observed(w: FakeWorld, seq: number, ids: string[], observations: unknown[]): ClusterSnapshot {
  return snapshot({
    seq,
    observedAt: new Date(w.clock.now.getTime() - 1000).toISOString(),
    nodes: ids.map((id) => cloudNode(id)),
    stageObservations: observations,
  });
}

const nodeReady = (id: string, launchedAtMs: number, registeredS: number, readyS: number) => ({
  kind: 'node-ready',
  node: `burst-${id}`,
  instanceId: id,
  registeredAt: new Date(launchedAtMs + registeredS * 1000).toISOString(),
  readyAt: new Date(launchedAtMs + readyS * 1000).toISOString(),
});

describe('reconcile records burst stage timings', () => {
  it('emits pending-to-decision, decision-to-running, running-to-ready, registered-to-ready and pod-wait once each', async () => {
    // Given a decided and launched burst
    const w = fakeWorld();
    const { ids, launchedAt } = await burst(w);
    expect(points(w, STAGES['pending-to-decision'].metric)).toEqual([[40, 'Seconds']]);

    // When EC2 says the instance runs, reconcile times decision → LaunchTime
    w.clock.advance(20);
    await reconcile(input(ec2StateEvent(ids[0] as string, 'running', w.clock.now.toISOString())), w.deps, {
      requestId: 'req-2',
    });
    expect(points(w, STAGES['decision-to-running'].metric)).toEqual(ids.map(() => [3, 'Seconds']));

    // When the agent reports the Node Ready 85 s after launch and a pod running 110 s after it
    w.clock.advance(100);
    const id = ids[0] as string;
    const pod = {
      kind: 'pod-running',
      podUid: 'uid-web-1',
      node: `burst-${id}`,
      pendingSince: isoAgo(40),
      runningAt: new Date(launchedAt + 110_000).toISOString(),
    };
    const obs = [pod, nodeReady(id, launchedAt, 60, 85)];
    await reconcile(input(snapshotEvent(observed(w, 101, ids, obs))), w.deps, { requestId: 'req-3' });

    // Then each stage is a Seconds datapoint of its own metric
    expect(points(w, STAGES['running-to-ready'].metric)).toEqual([[85, 'Seconds']]);
    expect(points(w, STAGES['registered-to-ready'].metric)).toEqual([[25, 'Seconds']]);
    expect(points(w, STAGES['pod-wait'].metric)).toEqual([[40 + 3 + 110, 'Seconds']]);
    // … recorded for status
    const recorded = await w.state.getStageTimings(CLUSTER);
    expect(recorded?.samples.map((s) => s.stage).sort()).toEqual(
      [
        'pending-to-decision',
        ...ids.map(() => 'decision-to-running'),
        'running-to-ready',
        'registered-to-ready',
        'pod-wait',
      ].sort(),
    );

    // When the agent re-sends the same observations (it carries them for 10 min), and EC2 events repeat
    w.clock.advance(5);
    await reconcile(input(snapshotEvent(observed(w, 102, ids, obs))), w.deps, { requestId: 'req-4' });
    await reconcile(input(ec2StateEvent(id, 'running', w.clock.now.toISOString())), w.deps, {
      requestId: 'req-5',
    });
    // Then nothing is counted twice
    for (const stage of Object.values(STAGES))
      expect(points(w, stage.metric).length).toBeLessThanOrEqual(ids.length);
    expect(points(w, STAGES['pod-wait'].metric)).toHaveLength(1);
    expect(points(w, STAGES['running-to-ready'].metric)).toHaveLength(1);
    expect((await w.state.getStageTimings(CLUSTER))?.samples).toHaveLength(recorded?.samples.length ?? -1);
  });

  it('counts invalid observations and impossible durations as rejected, once, and records none of them', async () => {
    const w = fakeWorld();
    const { ids, launchedAt } = await burst(w);
    w.clock.advance(120);
    const id = ids[0] as string;
    const bad = [
      {
        kind: 'node-ready',
        node: 'x',
        instanceId: 'not-an-instance',
        registeredAt: 'soon',
        readyAt: 'later',
      },
      { kind: 'gpu-warm', node: 'x' },
      // Ready 60 s before EC2 launched it: a wrong clock, not a duration
      nodeReady(id, launchedAt, -90, -60),
    ];
    await reconcile(input(snapshotEvent(observed(w, 101, ids, bad))), w.deps, { requestId: 'req-2' });
    // 2 invalid items + running-to-ready and registered-to-ready? registered→ready is 30 s (valid);
    // running-to-ready is −60 s (rejected)
    expect(w.metrics.total(ControlMetrics.stageObservationsRejected)).toBe(3);
    expect(points(w, STAGES['running-to-ready'].metric)).toEqual([]);
    expect(points(w, STAGES['registered-to-ready'].metric)).toEqual([[30, 'Seconds']]);
    expect(w.log.lines.some((l) => l.message.startsWith('stage observations rejected'))).toBe(true);

    // Re-sent: the invalid items are counted again (nothing remembers them), the impossible duration is not
    w.clock.advance(5);
    await reconcile(input(snapshotEvent(observed(w, 102, ids, bad))), w.deps, { requestId: 'req-3' });
    expect(w.metrics.total(ControlMetrics.stageObservationsRejected)).toBe(5);
    const recorded = await w.state.getStageTimings(CLUSTER);
    expect(recorded?.samples.some((s) => s.stage === 'running-to-ready')).toBe(false);
    expect(recorded?.rejected).toEqual([`running-to-ready/${id}`]);
  });

  it('reads at most MAX_STAGE_OBSERVATIONS items and counts the rest', () => {
    const item = {
      kind: 'pod-running',
      podUid: 'u',
      node: 'n',
      pendingSince: isoAgo(10),
      runningAt: isoAgo(1),
    };
    const r = parseObservations(Array.from({ length: MAX_STAGE_OBSERVATIONS + 5 }, () => item));
    expect(r.valid).toHaveLength(MAX_STAGE_OBSERVATIONS);
    expect(r.invalid).toBe(5);
    expect(r.firstProblem).toContain(`only the first ${MAX_STAGE_OBSERVATIONS}`);
  });

  it('replaces a stored stage record that cannot be parsed, counted and logged, instead of never recording again', async () => {
    // Given a STAGES item the adapter cannot parse (it throws the schema's ValidationError)
    const w = fakeWorld();
    const real = w.state.getStageTimings.bind(w.state);
    let corrupt = true;
    w.state.getStageTimings = async (c: string) => {
      if (corrupt)
        throw new ValidationError('stored stage timings', [{ path: '$.samples', message: 'Expected array' }]);
      return real(c);
    };
    // When a burst is decided and launched
    await burst(w);
    // Then the failure is counted once and the record holds this burst's samples
    expect(w.metrics.total(ControlMetrics.stageTimingFailures)).toBe(1);
    corrupt = false;
    const recorded = await w.state.getStageTimings(CLUSTER);
    expect(recorded?.samples.map((s) => s.stage)).toContain('pending-to-decision');
  });

  it('decides as usual when the stage record cannot be read: counted and logged only', async () => {
    const w = fakeWorld();
    w.state.getStageTimings = async () => {
      throw new StatePortError('ProvisionedThroughputExceededException');
    };
    const put = vi.spyOn(w.state, 'putStageTimings');
    const snap = snapshot({
      seq: 100,
      observedAt: isoAgo(1),
      pendingShapes: [shape({ id: 'web', count: 2, oldestPendingSince: isoAgo(40) })],
    });
    const r = await reconcile(input(snapshotEvent(snap)), w.deps, { requestId: 'req-1' });
    expect(r.outcome).toBe('decided');
    expect(w.bus.detailsOf(DetailTypes.scaleOutRequested)).toHaveLength(1);
    expect(w.metrics.total(ControlMetrics.stageTimingFailures)).toBe(1);
    // A failed read never overwrites the record it could not read
    expect(put).not.toHaveBeenCalled();
  });

  it('names every stage metric in ControlMetrics (the EMF namespace the dashboard reads)', () => {
    const control = new Set<string>(Object.values(ControlMetrics));
    for (const s of Object.values(STAGES)) expect(control.has(s.metric)).toBe(true);
  });
});
