import { describe, expect, it } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import {
  type InterruptionInput,
  parseInterruptionEvent,
  parseLaunchEvent,
  parseReconcileEvent,
} from '../../../lib/control/inputs.js';
import { handleInterruption } from '../../../lib/control/interruption.js';
import { reconcile } from '../../../lib/control/reconcile.js';
import {
  DetailTypes,
  type DrainNode,
  type ReconcileRequested,
  type ScaleOutRequested,
  Sources,
} from '../../../lib/events/index.js';
import { envelopeOf, parseOk, tickEvent } from '../../support/control.js';
import {
  a2Config,
  fakeDeps,
  launchManaged,
  rebalanceEvent,
  spotWarningEvent,
} from '../../support/control-a2.js';
import { cloudNode, piNode, shape, snapshot } from '../core/fixtures.js';

const NOW = '2026-03-16T09:30:00Z';
/** What runs on the interrupted node: 3 pods of 500m CPU / 1 GiB. */
const WORKLOAD = [{ cpuMilli: 500, memoryMiB: 1024, count: 3 }];

function parsed(raw: unknown): InterruptionInput {
  const p = parseInterruptionEvent(raw);
  if (!p.ok) throw new Error(p.reason);
  return p.input;
}

async function withSpotNode(opts: { empty?: boolean; config?: ReturnType<typeof a2Config> } = {}) {
  const t = fakeDeps({ config: opts.config });
  const inst = await launchManaged(t.fleet, { instanceType: 'm7g.large', capacityType: 'spot' });
  await t.state.putSnapshotIfNewer(
    snapshot({
      seq: 100,
      observedAt: '2026-03-16T09:29:50Z',
      nodes: [
        piNode('pi-node-1'),
        cloudNode(inst.instanceId, {
          workloadPodCount: opts.empty ? 0 : 3,
          workloadPods: opts.empty ? [] : WORKLOAD,
          requested: { cpuMilli: 1700, memoryMiB: 3500, pods: 5 },
        }),
      ],
    }),
    t.clock.date(),
  );
  return { t, inst };
}

type Deps = Awaited<ReturnType<typeof withSpotNode>>['t'];

/** Deliver what interruption put on the bus as `ReconcileRequested` to reconcile, as the rule does. */
async function deliverReconcileRequests(t: Deps, from = 0) {
  const results = [];
  for (const e of t.bus.sent.slice(from)) {
    if (e.detailType !== DetailTypes.reconcileRequested) continue;
    const input = parseOk(parseReconcileEvent(envelopeOf(e, t.clock.date()), 'pi-lab'));
    results.push(await reconcile(input, t.deps, { requestId: `req-${results.length}` }));
  }
  return results;
}

const scaleOuts = (t: Deps) => t.bus.detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested);

describe('interruption: it records, reconcile decides the replacement (one writer of capacity, I11)', () => {
  it('records the drain BEFORE DrainNode is sent, asks reconcile to run, and launches nothing itself', async () => {
    const { t, inst } = await withSpotNode();
    // What the state holds at the moment each entry reaches the bus.
    const drainsAtSend: Record<string, number> = {};
    const put = t.bus.put.bind(t.bus);
    t.bus.put = async (entries) => {
      for (const e of entries) drainsAtSend[e.detailType] = (await t.state.listDrains('pi-lab')).length;
      return put(entries);
    };

    const r = await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);

    expect(r).toMatchObject({ outcome: 'handled', drainRequested: true, reconcileRequested: true });
    expect(drainsAtSend[DetailTypes.drainNode]).toBe(1);
    const [drain] = t.bus.detailsOf<DrainNode>(DetailTypes.drainNode);
    expect(drain).toMatchObject({
      nodeName: inst.nodeName,
      instanceId: inst.instanceId,
      disruption: 'involuntary',
    });
    const deadlineMs = Date.parse(drain?.deadline ?? '');
    expect(deadlineMs).toBeGreaterThan(Date.parse(NOW));
    expect(deadlineMs).toBeLessThan(Date.parse(NOW) + 120_000);
    expect(await t.state.listDrains('pi-lab')).toEqual([
      expect.objectContaining({ instanceId: inst.instanceId, deadline: drain?.deadline, replace: true }),
    ]);
    expect(t.bus.detailsOf<ReconcileRequested>(DetailTypes.reconcileRequested)).toEqual([
      expect.objectContaining({ cluster: 'pi-lab', instanceId: inst.instanceId, requestedAt: NOW }),
    ]);
    // No capacity decided here: no ScaleOutRequested, no in-flight record.
    expect(scaleOuts(t)).toEqual([]);
    expect(await t.state.listInFlight('pi-lab', t.clock.date())).toEqual([]);
    expect(t.bus.sent.every((e) => e.source === Sources.interruption)).toBe(true);
    // The interrupted offering is skipped for a while.
    const unavailable = await t.state.offeringCache('pi-lab').listUnavailable(t.clock.date());
    expect(unavailable).toEqual([
      expect.objectContaining({ instanceType: 'm7g.large', capacityType: 'spot', zone: inst.zone }),
    ]);
    expect(t.metrics.total(ControlMetrics.interruptions)).toBe(1);
    expect(t.metrics.total(ControlMetrics.reconcilesRequested)).toBe(1);
  });

  it('reconcile, under its lease, launches room for the node’s pods before they are evicted — once', async () => {
    const { t, inst } = await withSpotNode();
    await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);

    const [r] = await deliverReconcileRequests(t);
    expect(r).toMatchObject({ outcome: 'decided' });
    const [req] = scaleOuts(t);
    expect(t.bus.sent.find((e) => e.detailType === DetailTypes.scaleOutRequested)?.source).toBe(
      Sources.reconcile,
    );
    expect(req?.launch.podsCovered).toBe(3);
    // The interrupted offering (m7g.large spot in its zone) is avoided or another zone is used.
    const plan = r?.outcome === 'decided' ? r.plan : undefined;
    expect(plan?.explanations.map((e) => e.message).join('\n')).toContain(
      `${inst.nodeName} is being drained for an interruption`,
    );
    // The node's pods are not pending: no pod answers for them.
    expect(plan?.podAnswers ?? []).toEqual([]);
    expect(await t.state.listInFlight('pi-lab', t.clock.date())).toHaveLength(1);
    // The launch function accepts it (it came from the one deciding source).
    const env = envelopeOf(
      t.bus.sent.find((e) => e.detailType === DetailTypes.scaleOutRequested) as never,
      t.clock.date(),
    );
    expect(parseLaunchEvent(env, 'pi-lab').ok).toBe(true);

    // A tick a moment later, and the pods evicted and pending: nothing more is launched.
    t.clock.advance(20);
    await reconcile(parseOk(parseReconcileEvent(tickEvent(t.clock.date().toISOString()), 'pi-lab')), t.deps, {
      requestId: 'tick-1',
    });
    await t.state.putSnapshotIfNewer(
      snapshot({
        seq: 101,
        observedAt: t.clock.date().toISOString(),
        pendingShapes: [shape({ id: 'evicted', cpuMilli: 500, memoryMiB: 1024, count: 3 })],
        nodes: [
          piNode('pi-node-1'),
          cloudNode(inst.instanceId, { cordoned: true, workloadPodCount: 0, workloadPods: [] }),
        ],
      }),
      t.clock.date(),
    );
    await reconcile(parseOk(parseReconcileEvent(tickEvent(t.clock.date().toISOString()), 'pi-lab')), t.deps, {
      requestId: 'tick-2',
    });
    expect(scaleOuts(t)).toHaveLength(1);
  });

  it('launch refuses a ScaleOutRequested from the interruption source', () => {
    const detail: ScaleOutRequested = {
      schemaVersion: 1,
      cluster: 'pi-lab',
      decisionId: 'pi-lab-0replace',
      requestedAt: NOW,
      launch: {
        launchId: 'pi-lab-0replace-r',
        instanceTypes: ['m7g.large'],
        capacityTypes: ['spot'],
        arch: 'arm64',
        count: 1,
        zones: [],
        shapeIds: [],
        podsCovered: 1,
        estimatedHourlyUsd: 0.03,
        reason: 'replace',
      },
    };
    const env = envelopeOf(
      { source: Sources.interruption, detailType: DetailTypes.scaleOutRequested, detail },
      new Date(NOW),
    );
    expect(parseLaunchEvent(env, 'pi-lab')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('only k3s-burst.reconcile decide'),
    });
  });

  it('an empty node: the drain is recorded, reconcile launches nothing for it', async () => {
    const { t, inst } = await withSpotNode({ empty: true });
    await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);
    await deliverReconcileRequests(t);
    expect(scaleOuts(t)).toEqual([]);
  });

  it('the replacement stays within the active max (I1): the interrupted instance counts until it is gone', async () => {
    const config = a2Config({
      limits: { maxNodes: 1, maxVcpus: 32, maxMemoryMiB: 131072, maxHourlyCostUsd: 2.5 },
    });
    const { t, inst } = await withSpotNode({ config });
    await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);
    const [r] = await deliverReconcileRequests(t);
    expect(scaleOuts(t)).toEqual([]);
    const plan = r?.outcome === 'decided' ? r.plan : undefined;
    expect(plan?.explanations.filter((e) => e.kind === 'clamp').map((e) => e.message)).toEqual([
      expect.stringMatching(/limits\.maxNodes/),
    ]);
  });

  it('a redelivered warning records the drain once, sends the same DrainNode again, and is decided once', async () => {
    const { t, inst } = await withSpotNode();
    const event = spotWarningEvent(inst.instanceId, { time: NOW });

    await handleInterruption(parsed(event), t.deps);
    const second = await handleInterruption(parsed(event), t.deps);

    expect(second).toMatchObject({ outcome: 'handled', drainRequested: true });
    const drains = t.bus.detailsOf<DrainNode>(DetailTypes.drainNode);
    expect(drains).toHaveLength(2);
    expect(drains[1]).toEqual(drains[0]);
    expect(t.metrics.total(ControlMetrics.drains)).toBe(1);
    const results = await deliverReconcileRequests(t);
    // The same trigger id: the journaled decision is replayed (launch reuses by launch key), not re-planned.
    expect(results.map((r) => r.outcome)).toEqual(['decided', 'replayed']);
    expect(new Set(scaleOuts(t).map((r) => r.launch.launchId)).size).toBe(1);
  });

  it('a rebalance recommendation (default avoid) marks the offering at risk and drains nothing', async () => {
    const { t, inst } = await withSpotNode();
    const r = await handleInterruption(parsed(rebalanceEvent(inst.instanceId, { time: NOW })), t.deps);
    expect(r).toMatchObject({
      outcome: 'handled',
      kind: 'rebalance',
      drainRequested: false,
      reconcileRequested: false,
    });
    expect(t.bus.sent).toEqual([]);
    expect(await t.state.listDrains('pi-lab')).toEqual([]);
    expect(await t.state.offeringCache('pi-lab').listUnavailable(t.clock.date())).toEqual([
      expect.objectContaining({
        instanceType: 'm7g.large',
        zone: inst.zone,
        capacityType: 'spot',
        reason: 'RebalanceRecommendation',
      }),
    ]);
    expect(t.metrics.total(ControlMetrics.rebalanceRecommendations)).toBe(1);
    // New launches are steered away: the next plan for pending pods avoids m7g.large spot in that zone.
    await t.state.putSnapshotIfNewer(
      snapshot({
        seq: 101,
        observedAt: NOW,
        pendingShapes: [shape({ id: 'web', cpuMilli: 1500, memoryMiB: 3072, count: 2 })],
        nodes: [
          piNode('pi-node-1'),
          cloudNode(inst.instanceId, {
            workloadPodCount: 3,
            workloadPods: WORKLOAD,
            requested: { cpuMilli: 1900, memoryMiB: 7000, pods: 5 },
          }),
        ],
      }),
      t.clock.date(),
    );
    const d = await reconcile(parseOk(parseReconcileEvent(tickEvent(NOW), 'pi-lab')), t.deps, {
      requestId: 'tick',
    });
    const plan = d.outcome === 'decided' ? d.plan : undefined;
    expect(plan?.explanations.map((e) => e.message).join('\n')).toMatch(
      /m7g\.large spot \(RebalanceRecommendation\) is unavailable in eu-central-1a until/,
    );
  });

  it('launch.rebalanceRecommendation=replace drains the node, and reconcile launches its replacement first', async () => {
    const config = a2Config({ launch: { rebalanceRecommendation: 'replace' } });
    const { t, inst } = await withSpotNode({ config });
    const first = await handleInterruption(parsed(rebalanceEvent(inst.instanceId, { time: NOW })), t.deps);
    expect(first).toMatchObject({
      outcome: 'handled',
      kind: 'rebalance',
      drainRequested: true,
      reconcileRequested: true,
    });
    expect(await t.state.listDrains('pi-lab')).toEqual([expect.objectContaining({ replace: true })]);
    await deliverReconcileRequests(t);
    expect(scaleOuts(t)).toHaveLength(1);
    expect(scaleOuts(t)[0]?.launch.podsCovered).toBe(3);

    // A spot warning after it shortens the drain deadline.
    const second = await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);
    expect(second).toMatchObject({ outcome: 'handled', drainRequested: true });
    if (first.outcome !== 'handled' || second.outcome !== 'handled') throw new Error('unexpected');
    expect(Date.parse(second.deadline)).toBeLessThan(Date.parse(first.deadline));
  });

  it('ignores an instance of another cluster or account, counted, with nothing sent', async () => {
    const t = fakeDeps();
    const foreign = t.fleet.addForeignInstance('someone-else');
    const r = await handleInterruption(parsed(spotWarningEvent(foreign)), t.deps);
    expect(r.outcome).toBe('ignored');
    expect(t.bus.sent).toEqual([]);
    expect(await t.state.listDrains('pi-lab')).toEqual([]);
    expect(t.metrics.total(ControlMetrics.foreignInstances)).toBe(1);
  });

  it('re-sends the drain on a retry after the bus failed (the record was written first)', async () => {
    const { t, inst } = await withSpotNode();
    const event = spotWarningEvent(inst.instanceId, { time: NOW });
    t.bus.failNext(2);
    await expect(handleInterruption(parsed(event), t.deps)).rejects.toThrow(/could not be put/);
    expect(await t.state.listDrains('pi-lab')).toHaveLength(1);
    const retry = await handleInterruption(parsed(event), t.deps);
    expect(retry).toMatchObject({ drainRequested: true });
    expect(t.bus.detailsOf(DetailTypes.drainNode)).toHaveLength(1);
    expect(t.bus.detailsOf(DetailTypes.reconcileRequested)).toHaveLength(1);
  });

  it('parsing refuses other sources and bad instance ids', () => {
    const bad = {
      ...spotWarningEvent('i-0123456789abcdef0'),
      detail: { 'instance-id': 'nope', 'instance-action': 'terminate' },
    };
    expect(parseInterruptionEvent(bad)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('instance-id'),
    });
    expect(
      parseInterruptionEvent({ ...spotWarningEvent('i-0123456789abcdef0'), source: 'k3s-burst.agent' }).ok,
    ).toBe(false);
  });
});
