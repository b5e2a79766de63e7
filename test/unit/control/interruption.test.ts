import { describe, expect, it } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import {
  type InterruptionInput,
  parseInterruptionEvent,
  parseLaunchEvent,
} from '../../../lib/control/inputs.js';
import { drainDeadline, handleInterruption } from '../../../lib/control/interruption.js';
import { checkScaleOutRequest } from '../../../lib/core/launch-guard.js';
import { DetailTypes, type DrainNode, type ScaleOutRequested, Sources } from '../../../lib/events/index.js';
import {
  a2Config,
  fakeDeps,
  launchManaged,
  rebalanceEvent,
  spotWarningEvent,
} from '../../support/control-a2.js';
import { cloudNode, piNode, snapshot } from '../core/fixtures.js';

const NOW = '2026-03-16T09:30:00Z';

function parsed(raw: unknown): InterruptionInput {
  const p = parseInterruptionEvent(raw);
  if (!p.ok) throw new Error(p.reason);
  return p.input;
}

async function withSpotNode(opts: { workloadPods?: number; config?: ReturnType<typeof a2Config> } = {}) {
  const t = fakeDeps({ config: opts.config });
  const inst = await launchManaged(t.fleet, { instanceType: 'm7g.large', capacityType: 'spot' });
  await t.state.putSnapshotIfNewer(
    snapshot({
      observedAt: '2026-03-16T09:29:50Z',
      nodes: [piNode('pi-node-1'), cloudNode(inst.instanceId, { workloadPodCount: opts.workloadPods ?? 4 })],
    }),
    t.clock.now(),
  );
  return { t, inst };
}

describe('interruption', () => {
  it('drains within the two-minute notice and requests a replacement recorded as in-flight', async () => {
    const { t, inst } = await withSpotNode();

    const r = await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);

    expect(r).toMatchObject({ outcome: 'handled', drainRequested: true, replacement: { requested: true } });
    const [drain] = t.bus.detailsOf<DrainNode>(DetailTypes.drainNode);
    expect(drain).toMatchObject({ nodeName: inst.nodeName, instanceId: inst.instanceId });
    const deadlineMs = Date.parse(drain?.deadline ?? '');
    expect(deadlineMs).toBeGreaterThan(Date.parse(NOW));
    expect(deadlineMs).toBeLessThan(Date.parse(NOW) + 120_000);
    const [req] = t.bus.detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested);
    expect(req?.launch).toMatchObject({ count: 1, arch: 'arm64', capacityTypes: ['spot', 'on-demand'] });
    expect(req?.launch.instanceTypes[0]).toBe('m7g.large');
    expect(req?.launch.instanceTypes.length).toBeGreaterThan(1);
    expect(t.bus.sent.every((e) => e.source === Sources.interruption)).toBe(true);
    // the launch function accepts the request as it is
    const env = {
      id: 'e1',
      'detail-type': DetailTypes.scaleOutRequested,
      source: Sources.interruption,
      time: NOW,
      detail: req,
    };
    expect(parseLaunchEvent(env, 'pi-lab').ok).toBe(true);
    // in-flight capacity and drain recorded; the interrupted offering is skipped for a while
    const inflight = await t.state.listInFlight('pi-lab', t.clock.now());
    expect(inflight.map((f) => f.launchId)).toEqual([req?.launch.launchId]);
    expect(await t.state.listDrains('pi-lab')).toEqual([
      expect.objectContaining({ instanceId: inst.instanceId, deadline: drain?.deadline }),
    ]);
    const unavailable = await t.state.offeringCache('pi-lab').listUnavailable(t.clock.now());
    expect(unavailable).toEqual([
      expect.objectContaining({ instanceType: 'm7g.large', capacityType: 'spot', zone: inst.zone }),
    ]);
    expect(t.metrics.total(ControlMetrics.interruptions)).toBe(1);
    expect(t.metrics.total(ControlMetrics.replacementsRequested)).toBe(1);
  });

  it('lists only fallbacks that fit the limits, so the launch guard accepts the replacement (I12)', async () => {
    // m7g.large (2 vCPU) runs; 4 vCPUs may run: the replacement may be another 2-vCPU type only.
    const config = a2Config({
      limits: { maxNodes: 6, maxVcpus: 4, maxMemoryMiB: 131072, maxHourlyCostUsd: 2.5 },
    });
    const { t, inst } = await withSpotNode({ config });

    await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);

    const [req] = t.bus.detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested);
    expect(req?.launch.instanceTypes).toEqual(['m7g.large', 't4g.medium', 't4g.large', 'r7g.large']);
    const verdict = checkScaleOutRequest({
      config,
      request: req as ScaleOutRequested,
      inFlight: await t.state.listInFlight('pi-lab', t.clock.now()),
      instances: await t.fleet.list(),
      now: t.clock.now(),
    });
    expect(verdict).toEqual({ ok: true });
  });

  it('a redelivered warning asks for the same replacement and no second drain', async () => {
    const { t, inst } = await withSpotNode();
    const event = spotWarningEvent(inst.instanceId, { time: NOW });

    await handleInterruption(parsed(event), t.deps);
    const second = await handleInterruption(parsed(event), t.deps);

    expect(second).toMatchObject({ outcome: 'handled', drainRequested: false });
    expect(t.bus.detailsOf(DetailTypes.drainNode)).toHaveLength(1);
    const launchIds = t.bus
      .detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested)
      .map((r) => r.launch.launchId);
    expect(new Set(launchIds).size).toBe(1);
    expect(await t.state.listInFlight('pi-lab', t.clock.now())).toHaveLength(1);
  });

  it('a warning after a rebalance recommendation shortens the drain deadline', async () => {
    const { t, inst } = await withSpotNode();
    const first = await handleInterruption(parsed(rebalanceEvent(inst.instanceId, { time: NOW })), t.deps);
    const second = await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);
    expect(first).toMatchObject({ outcome: 'handled', drainRequested: true, kind: 'rebalance' });
    expect(second).toMatchObject({ outcome: 'handled', drainRequested: true });
    if (first.outcome !== 'handled' || second.outcome !== 'handled') throw new Error('unexpected');
    expect(Date.parse(second.deadline)).toBeLessThan(Date.parse(first.deadline));
    expect(t.metrics.total(ControlMetrics.rebalanceRecommendations)).toBe(1);
  });

  it('skips the replacement once it was launched', async () => {
    const { t, inst } = await withSpotNode();
    await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);
    const [req] = t.bus.detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested);
    await launchManaged(t.fleet, { decisionId: req?.decisionId });

    const again = await handleInterruption(parsed(rebalanceEvent(inst.instanceId, { time: NOW })), t.deps);
    expect(again).toMatchObject({
      replacement: { requested: false, reason: expect.stringContaining('already') },
    });
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

  it('does not replace an empty node', async () => {
    const { t, inst } = await withSpotNode({ workloadPods: 0 });
    const r = await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);
    expect(r).toMatchObject({ drainRequested: true, replacement: { requested: false } });
    expect(t.bus.detailsOf(DetailTypes.scaleOutRequested)).toEqual([]);
    expect(t.metrics.total(ControlMetrics.replacementsSkipped)).toBe(1);
  });

  it('does not request a replacement that would exceed the active max (I1)', async () => {
    const config = a2Config({
      limits: { maxNodes: 2, maxVcpus: 32, maxMemoryMiB: 131072, maxHourlyCostUsd: 2.5 },
    });
    const { t, inst } = await withSpotNode({ config });
    await launchManaged(t.fleet);
    const r = await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);
    expect(r).toMatchObject({
      drainRequested: true,
      replacement: { requested: false, reason: expect.stringContaining('max of 2') },
    });
    expect(await t.state.listInFlight('pi-lab', t.clock.now())).toEqual([]);
  });

  it('re-sends the drain on a retry after the bus failed', async () => {
    const { t, inst } = await withSpotNode();
    const event = spotWarningEvent(inst.instanceId, { time: NOW });
    t.bus.failNext(2);
    await expect(handleInterruption(parsed(event), t.deps)).rejects.toThrow(/could not be put/);
    expect(await t.state.listDrains('pi-lab')).toEqual([]);
    const retry = await handleInterruption(parsed(event), t.deps);
    expect(retry).toMatchObject({ drainRequested: true });
    expect(t.bus.detailsOf(DetailTypes.drainNode)).toHaveLength(1);
  });

  it('still drains and replaces when the snapshot cannot be read', async () => {
    const { t, inst } = await withSpotNode();
    t.state.getLatestSnapshot = async () => {
      throw new Error('DynamoDB throttled');
    };
    const r = await handleInterruption(parsed(spotWarningEvent(inst.instanceId, { time: NOW })), t.deps);
    expect(r).toMatchObject({ drainRequested: true, replacement: { requested: true } });
    expect(t.log.lines.some((l) => l.level === 'warn' && /snapshot could not be read/.test(l.message))).toBe(
      true,
    );
  });

  it('never sets a deadline in the past, even for a late warning', () => {
    const now = new Date('2026-03-16T09:35:00Z');
    const late = parsed(spotWarningEvent('i-0123456789abcdef0', { time: NOW }));
    expect(drainDeadline(late, now, 600).getTime()).toBeGreaterThanOrEqual(now.getTime() + 10_000);
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
