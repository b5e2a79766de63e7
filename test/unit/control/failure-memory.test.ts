/**
 * Failure memory through the real use-cases (reconcile → launch → reconcile) on the in-memory
 * ports: what launch learns about offerings reaches the next plan (I10).
 */
import { describe, expect, it } from 'vitest';
import { parseLaunchEvent, parseReconcileEvent } from '../../../lib/control/inputs.js';
import { launch } from '../../../lib/control/launch.js';
import { reconcile } from '../../../lib/control/reconcile.js';
import {
  type DecisionRecorded,
  DetailTypes,
  type ScaleOutRequested,
  Sources,
} from '../../../lib/events/index.js';
import {
  AGENT_TOKEN_SECRET,
  envelopeOf,
  type FakeWorld,
  fakeWorld,
  isoAgo,
  makeConfig,
  parseOk,
  shape,
  snapshot,
  snapshotEvent,
} from '../../support/control.js';

const CLUSTER = 'pi-lab';

/** Reconcile on a fresh snapshot with `count` pods of shape `id`, then run every launch it requested. */
async function reconcileAndLaunch(w: FakeWorld, seq: number, id: string, count: number) {
  const before = w.bus.sent.length;
  const snap = snapshot({ seq, observedAt: isoAgo(5, w.clock.now), pendingShapes: [shape({ id, count })] });
  const r = await reconcile(parseOk(parseReconcileEvent(snapshotEvent(snap), CLUSTER)), w.deps, {
    requestId: `req-${seq}`,
  });
  const sent = w.bus.sent.slice(before);
  const requests = sent
    .filter((e) => e.detailType === DetailTypes.scaleOutRequested)
    .map((e) => JSON.parse(e.detail) as ScaleOutRequested);
  for (const detail of requests) {
    const input = parseOk(
      parseLaunchEvent(
        envelopeOf(
          { source: Sources.reconcile, detailType: DetailTypes.scaleOutRequested, detail },
          w.clock.now,
        ),
        CLUSTER,
      ),
    );
    await launch(input, w.deps, { agentTokenSecretId: AGENT_TOKEN_SECRET });
  }
  const decisions = sent
    .filter((e) => e.detailType === DetailTypes.decisionRecorded)
    .map((e) => JSON.parse(e.detail) as DecisionRecorded);
  return { r, requests, decisions };
}

const config = makeConfig({ nodes: { candidateTypes: ['t4g.medium', 'm7g.large'] } });

describe('the offering cache, from launch to the next plan', () => {
  it('an offering launch found unavailable in every zone is not planned first again', async () => {
    const w = fakeWorld({ config });
    // Given t4g.medium spot has no capacity in either zone
    w.fleet.failOffering(
      { instanceType: 't4g.medium', capacityType: 'spot' },
      'InsufficientInstanceCapacity',
    );

    // When the first pods are planned and launched (launch falls back and records both zones)
    const first = await reconcileAndLaunch(w, 1, 'web', 2);
    expect(first.requests[0]?.launch.instanceTypes[0]).toBe('t4g.medium');
    expect(first.requests[0]?.launch.capacityTypes[0]).toBe('spot');
    const spotT4gCalls = () =>
      w.fleet.launchAttempts.filter((a) => a.instanceType === 't4g.medium' && a.capacityType === 'spot')
        .length;
    expect(spotT4gCalls()).toBe(2);

    // Then a minute later, other pods are not planned on t4g.medium spot, and the plan says why
    w.clock.advance(60);
    const second = await reconcileAndLaunch(w, 2, 'batch', 4);
    for (const req of second.requests) {
      const l = req.launch;
      expect(l.instanceTypes[0] === 't4g.medium' && l.capacityTypes.includes('spot')).toBe(false);
    }
    expect(spotT4gCalls()).toBe(2);
    const plan = second.r.outcome === 'decided' ? second.r.plan : undefined;
    expect(plan?.explanations.map((e) => e.message).join('\n')).toMatch(
      /t4g\.medium spot \(InsufficientInstanceCapacity\) is unavailable in every zone until/,
    );
  });

  it('MaxSpotInstanceCountExceeded: one spot call for the whole group, and the next plan asks for on-demand only', async () => {
    const w = fakeWorld({ config });
    w.fleet.failOffering({ capacityType: 'spot' }, 'MaxSpotInstanceCountExceeded');

    await reconcileAndLaunch(w, 1, 'web', 24);
    const spotCalls = w.fleet.launchAttempts.filter((a) => a.capacityType === 'spot');
    expect(spotCalls).toHaveLength(1);
    expect(w.fleet.launchAttempts.filter((a) => a.outcome === 'launched').length).toBeGreaterThan(0);

    w.clock.advance(60);
    const second = await reconcileAndLaunch(w, 2, 'batch', 30);
    expect(second.requests.length).toBeGreaterThan(0);
    for (const req of second.requests) expect(req.launch.capacityTypes).toEqual(['on-demand']);
  });

  it('pods whose every offering is unavailable get a waiting answer on the bus (DecisionRecorded) saying until when', async () => {
    const w = fakeWorld({ config: makeConfig({ nodes: { candidateTypes: ['t4g.medium'] } }) });
    w.fleet.failOffering({}, 'InsufficientInstanceCapacity');
    await reconcileAndLaunch(w, 1, 'web', 2);

    w.clock.advance(60);
    // in-flight was cleared by launch (nothing launched), so the pods are planned again
    const second = await reconcileAndLaunch(w, 2, 'web', 2);
    expect(second.requests).toEqual([]);
    const waiting = second.decisions.flatMap((d) => d.explanations).filter((e) => e.kind === 'waiting');
    expect(waiting).toEqual([
      expect.objectContaining({
        subject: 'web',
        message: expect.stringMatching(/tried again after \d\d:\d\d:\d\d UTC/),
      }),
    ]);
    const answers = second.decisions.flatMap((d) => d.podAnswers ?? []);
    expect(answers).toEqual([
      expect.objectContaining({
        shapeId: 'web',
        kind: 'waiting-for-offering',
        message: expect.stringMatching(/tried again after \d\d:\d\d:\d\d UTC/),
      }),
    ]);
  });
});
