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
  cloudNode,
  envelopeOf,
  type FakeWorld,
  fakeWorld,
  freshJoinToken,
  isoAgo,
  JOIN_TOKEN_SECRET,
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
    // A healthy agent keeps renewing its bootstrap token while the test's clock runs for hours.
    w.secrets.set(JOIN_TOKEN_SECRET, freshJoinToken(w.clock.now));
    await launch(input, w.deps, { joinTokenSecretId: JOIN_TOKEN_SECRET });
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

/** Carry out the terminations a reconcile asked for, as the terminate Lambda would, and let EC2 settle. */
async function terminateRequested(w: FakeWorld, from: number) {
  for (const e of w.bus.sent.slice(from)) {
    if (e.detailType !== DetailTypes.terminateRequested) continue;
    await w.fleet.terminate([(JSON.parse(e.detail) as { instanceId: string }).instanceId]);
  }
  w.fleet.settle();
}

describe('launch backoff (I10)', () => {
  it('a launch setup whose instances never register is retried with a growing backoff (5, 10, 20 min), not every cycle', async () => {
    const w = fakeWorld({
      config: makeConfig({ nodes: { candidateTypes: ['t4g.medium'], capacityTypes: ['on-demand'] } }),
    });
    const launchTimesMin: number[] = [];
    const waitingAtMin: number[] = [];
    // Every 16 minutes (registration timeout 15 min), with the pods still pending and no node ever joining.
    for (let cycle = 0; cycle < 8; cycle++) {
      const from = w.bus.sent.length;
      const launchesBefore = w.fleet.launchAttempts.length;
      const { decisions } = await reconcileAndLaunch(w, cycle + 1, 'web', 2);
      if (w.fleet.launchAttempts.length > launchesBefore) launchTimesMin.push(cycle * 16);
      if (decisions.some((d) => d.explanations.some((e) => e.kind === 'waiting')))
        waitingAtMin.push(cycle * 16);
      await terminateRequested(w, from);
      w.clock.advance(16 * 60);
    }
    // Before: a launch in every one of the 8 cycles. Now: failures back off 5, 10, 20 min.
    expect(launchTimesMin).toEqual([0, 32, 64, 112]);
    expect(waitingAtMin).toContain(96);
    const [b] = await w.state.listBackoffs(CLUSTER, w.clock.now);
    expect(b).toMatchObject({ kind: 'launch-setup', instanceType: 't4g.medium', capacityType: 'on-demand' });
    expect(b?.imageId).toMatch(/^ami-/);
    expect(w.metrics.total('LaunchBackoffs')).toBe(3);
  });

  it('the backoff grows 5 → 30 min and is forgotten when an instance of the setup registers', async () => {
    const w = fakeWorld({
      config: makeConfig({ nodes: { candidateTypes: ['t4g.medium'], capacityTypes: ['on-demand'] } }),
    });
    const policy = w.config.launch.backoff;
    expect(policy).toEqual({ initialSeconds: 300, maxSeconds: 1800, resetAfterSeconds: 10_800 });
    const { nextBackoff } = await import('../../../lib/core/backoff.js');
    let b: ReturnType<typeof nextBackoff> | undefined;
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const now = new Date(w.clock.now.getTime() + i * 60_000);
      b = nextBackoff(
        b,
        {
          kind: 'launch-setup',
          instanceType: 't4g.medium',
          capacityType: 'on-demand',
          imageId: 'ami-1',
          reason: 'x',
          instanceId: `i-${i}`,
        },
        now,
        policy,
      );
      delays.push((Date.parse(b.until) - now.getTime()) / 60_000);
    }
    expect(delays).toEqual([5, 10, 20, 30, 30, 30]);

    // A setup backed off in the store; an instance of it launched after the failure registers.
    await w.state.putBackoff(CLUSTER, {
      ...(b as NonNullable<typeof b>),
      imageId: '',
      lastFailureAt: isoAgo(3600, w.clock.now),
      until: isoAgo(60, w.clock.now),
    });
    await reconcileAndLaunch(w, 1, 'web', 2);
    const [inst] = await w.fleet.list();
    expect(inst).toBeDefined();
    w.clock.advance(120);
    const node = cloudNode(inst?.nodeName as string, { instanceId: inst?.instanceId, ready: true });
    const snap = snapshot({ seq: 2, observedAt: isoAgo(5, w.clock.now), nodes: [node] });
    await reconcile(parseOk(parseReconcileEvent(snapshotEvent(snap), CLUSTER)), w.deps, {
      requestId: 'req-ok',
    });
    expect(await w.state.listBackoffs(CLUSTER, w.clock.now)).toEqual([]);
  });

  it('a quota error backs off its capacity type: the next reconciles do not hit the quota again until the backoff ends', async () => {
    const w = fakeWorld({
      config: makeConfig({
        nodes: { candidateTypes: ['t4g.medium', 'm7g.large'], capacityTypes: ['on-demand'] },
      }),
    });
    w.fleet.failOffering({}, 'VcpuLimitExceeded');
    const quotaCalls = () => w.fleet.launchAttempts.filter((a) => a.outcome === 'VcpuLimitExceeded').length;
    await reconcileAndLaunch(w, 1, 'web', 2);
    expect(quotaCalls()).toBe(1);

    // Before: every reconcile planned and hit the quota again. Now: the pods wait, saying why.
    for (let i = 2; i <= 4; i++) {
      w.clock.advance(60);
      const { requests, decisions } = await reconcileAndLaunch(w, i, 'web', 2);
      expect(requests).toEqual([]);
      const waiting = decisions.flatMap((d) => d.explanations).find((e) => e.kind === 'waiting');
      expect(waiting?.message).toMatch(/VcpuLimitExceeded quota, backoff #1/);
    }
    expect(quotaCalls()).toBe(1);

    // After the 5-minute backoff it is tried again (and backs off 10 minutes on a second refusal).
    w.clock.advance(180);
    await reconcileAndLaunch(w, 5, 'web', 2);
    expect(quotaCalls()).toBe(2);
    const [q] = await w.state.listBackoffs(CLUSTER, w.clock.now);
    expect(q).toMatchObject({
      kind: 'quota',
      capacityType: 'on-demand',
      quotaClass: 'standard',
      failures: 2,
    });
    expect((Date.parse(q?.until as string) - w.clock.now.getTime()) / 60_000).toBe(10);

    // A launch that succeeds resets it.
    w.fleet.clearFailures();
    w.clock.advance(11 * 60);
    await reconcileAndLaunch(w, 6, 'web', 2);
    expect(await w.state.listBackoffs(CLUSTER, w.clock.now)).toEqual([]);
  });
});

describe('voluntary drains end without force (I9)', () => {
  it('reconcile abandons a voluntary drain past its deadline (no TerminateRequested), holds the node, then forgets the hold', async () => {
    const w = fakeWorld();
    const inst = await w.fleet.launchOne({
      clientToken: 'pi-lab-dec-0-0',
      decisionId: 'pi-lab-dec',
      launchId: 'pi-lab-dec-0',
      index: 0,
      instanceTypes: ['m7g.large'],
      capacityTypes: ['on-demand'],
      imageId: 'ami-0123456789abcdef0',
      userData: '#!/bin/sh\n',
      reason: 'test',
    });
    w.fleet.settle();
    await w.state.recordDrain(CLUSTER, {
      nodeName: inst.nodeName,
      instanceId: inst.instanceId,
      requestedAt: isoAgo(700, w.clock.now),
      deadline: isoAgo(10, w.clock.now),
      reason: 'consolidation',
      disruption: 'voluntary',
    });
    const busy = cloudNode(inst.instanceId, {
      cordoned: true,
      workloadPodCount: 1,
      workloadPods: [{ cpuMilli: 250, memoryMiB: 512, count: 1 }],
    });
    const reconcileWith = async (seq: number) => {
      const from = w.bus.sent.length;
      const snap = snapshot({ seq, observedAt: isoAgo(5, w.clock.now), nodes: [busy] });
      await reconcile(parseOk(parseReconcileEvent(snapshotEvent(snap), CLUSTER)), w.deps, {
        requestId: `r${seq}`,
      });
      return w.bus.sent.slice(from).map((e) => e.detailType);
    };

    // Before: the deadline terminated the instance with the pod still on it.
    const sent = await reconcileWith(1);
    expect(sent).not.toContain(DetailTypes.terminateRequested);
    const [held] = await w.state.listDrains(CLUSTER);
    expect(held).toMatchObject({ disruption: 'voluntary', abandonedAt: w.clock.now.toISOString() });
    expect(Date.parse(held?.holdUntil as string) - w.clock.now.getTime()).toBe(3600_000);
    expect(w.metrics.total('DrainsAbandoned')).toBe(1);

    // Still no termination later; after the hold the record is forgotten.
    w.clock.advance(3601);
    expect(await reconcileWith(2)).not.toContain(DetailTypes.terminateRequested);
    expect(await w.state.listDrains(CLUSTER)).toEqual([]);
    expect(w.fleet.terminateCalls).toEqual([]);
  });
});
