/**
 * The warm pool through the shipped control plane (reconcile + launch over the fakes): a member
 * is filled, parked, its Node deleted once stopped, then started for a pending pod with a fresh
 * join token and no new Tailscale key; a start that cannot happen launches instead.
 */
import { describe, expect, it } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import { parseLaunchEvent, parseReconcileEvent } from '../../../lib/control/inputs.js';
import { launch } from '../../../lib/control/launch.js';
import { reconcile } from '../../../lib/control/reconcile.js';
import {
  type DeleteNode,
  DetailTypes,
  type ScaleOutRequested,
  type SnapshotNode,
  Sources,
} from '../../../lib/events/index.js';
import { WARM_START_MARKER } from '../../../lib/userdata/index.js';
import {
  BOOTSTRAP_TOKEN,
  cloudNode,
  envelopeOf,
  type FakeWorld,
  fakeWorld,
  JOIN_TOKEN_SECRET,
  makeConfig,
  NOW,
  parseOk,
  shape,
  snapshot,
  snapshotEvent,
} from '../../support/control.js';

const CLUSTER = 'pi-lab';
const opts = { joinTokenSecretId: JOIN_TOKEN_SECRET };
const WARMING_TAINT = { key: 'k3s-burst.io/warming', value: 'true', effect: 'NoSchedule' as const };
let seq = 1000;
let requestId = 0;

/** One reconcile on a fresh snapshot with these extra nodes and pending shapes. */
async function reconcileWith(
  w: FakeWorld,
  nodes: SnapshotNode[] = [],
  pendingShapes = [] as ReturnType<typeof shape>[],
) {
  seq += 1;
  const s = snapshot({
    seq,
    observedAt: w.clock.now.toISOString(),
    nodes: [...snapshot().nodes, ...nodes],
    pendingShapes,
  });
  const r = await reconcile(parseOk(parseReconcileEvent(snapshotEvent(s), CLUSTER)), w.deps, {
    requestId: `req-${++requestId}`,
  });
  if (r.outcome !== 'decided') throw new Error(`reconcile ${r.outcome}`);
  return r.plan;
}

/** Carry out every ScaleOutRequested emitted since `from` with the launch use-case. */
async function launchAll(w: FakeWorld, from: number) {
  const requests = w.bus.sent.slice(from).filter((e) => e.detailType === DetailTypes.scaleOutRequested);
  const results = [];
  for (const e of requests) {
    const input = parseOk(
      parseLaunchEvent(
        envelopeOf(
          { source: Sources.reconcile, detailType: DetailTypes.scaleOutRequested, detail: e.detail },
          w.clock.now,
        ),
        CLUSTER,
      ),
    );
    results.push(await launch(input, w.deps, opts));
  }
  return results;
}

const warmConfig = () => makeConfig({ warmPool: { size: 1, instanceTypes: ['t4g.medium'] } });

/** A world with one parked member (filled, joined, stopped, Node deleted). */
async function withParkedMember() {
  const w = fakeWorld({ config: warmConfig() });
  // Fill: reconcile plans a warm launch, launch launches it tagged as a member
  let mark = w.bus.sent.length;
  const fillPlan = await reconcileWith(w);
  expect(fillPlan.launches).toEqual([
    expect.objectContaining({ warmPool: true, capacityTypes: ['on-demand'] }),
  ]);
  await launchAll(w, mark);
  const [member] = [...w.fleet.instances.values()];
  if (!member) throw new Error('no member launched');
  expect(member.warmPool).toBe('member');
  // Warm mode: a non-ephemeral key (the device survives stops) and the warm-mode bootstrap
  expect(w.devices.keys.at(-1)?.ephemeral).toBe(false);
  expect(member.userData).toContain('k3s-burst-warm-start.service');
  expect(member.userData).toContain('k3s-burst.io/warming=true:NoSchedule');
  expect(member.userData).not.toContain('enable --now "$LOGOUT_UNIT"');
  w.fleet.settle();
  // Joined with the warming taint, Ready, no pods: parked
  w.clock.advance(90);
  const node = cloudNode(member.instanceId, {
    type: 't4g.medium',
    taints: [WARMING_TAINT],
    workloadPodCount: 0,
    workloadPods: [],
    requested: { cpuMilli: 0, memoryMiB: 0, pods: 0 },
    createdAt: new Date(w.clock.now.getTime() - 30_000).toISOString(),
  });
  const parkPlan = await reconcileWith(w, [node]);
  expect(parkPlan.parks?.map((p) => p.instanceId)).toEqual([member.instanceId]);
  expect(member.state).toBe('stopping');
  expect(parkPlan.nodeDeletions).toEqual([]);
  expect(w.metrics.total(ControlMetrics.warmParks)).toBe(1);
  // Stopped: its Node (now NotReady) is deleted through the agent
  w.fleet.settle();
  w.clock.advance(30);
  mark = w.bus.sent.length;
  const deletePlan = await reconcileWith(w, [{ ...node, ready: false }]);
  expect(deletePlan.nodeDeletions.map((d) => d.nodeName)).toEqual([node.name]);
  expect(w.bus.detailsOf<DeleteNode>(DetailTypes.deleteNode).map((d) => d.nodeName)).toContain(node.name);
  expect(deletePlan.launches).toEqual([]);
  return { w, member, mark };
}

describe('warm pool through reconcile and launch', () => {
  it('fills, parks, deletes the Node once stopped, then starts the member for a pending pod', async () => {
    const { w, member } = await withParkedMember();
    const keysBefore = w.devices.keys.length;
    // A pod arrives
    w.clock.advance(60);
    const mark = w.bus.sent.length;
    const p = await reconcileWith(w, [], [shape({ id: 'web', count: 1, cpuMilli: 500, memoryMiB: 512 })]);
    const burst = p.launches.find((l) => !l.warmPool);
    expect(burst?.warmStarts).toEqual([member.instanceId]);
    const sent = w.bus.detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested).slice(-p.launches.length);
    expect(sent.some((s) => s.launch.warmStarts?.[0] === member.instanceId)).toBe(true);
    const results = await launchAll(w, mark);
    const started = results.find((r) => r.launchId === burst?.launchId);
    expect(started?.instances.map((i) => i.instanceId)).toEqual([member.instanceId]);
    // Started, re-tagged for this decision, with only the fresh join token as user data
    expect(member).toMatchObject({ state: 'pending', warmPool: 'started', decisionId: p.decisionId });
    expect(member.userData.startsWith(`#!/bin/sh\n${WARM_START_MARKER}`)).toBe(true);
    expect(member.userData).toContain(BOOTSTRAP_TOKEN);
    expect(w.fleet.startCalls).toEqual([member.instanceId]);
    expect(w.metrics.total(ControlMetrics.warmStarts)).toBe(1);
    // No Tailscale key for a start (the member's device survives the stop); the refill gets one
    const refill = results.filter((r) => r.launchId !== burst?.launchId);
    expect(w.devices.keys.length - keysBefore).toBe(refill.reduce((a, r) => a + r.instances.length, 0));
    expect(w.log.text()).not.toContain(BOOTSTRAP_TOKEN);
  });

  it('launches the index instead when the member cannot start (capacity), and keeps it in the pool', async () => {
    const { w, member } = await withParkedMember();
    w.fleet.startErrors.push('InsufficientInstanceCapacity');
    w.clock.advance(60);
    const mark = w.bus.sent.length;
    const p = await reconcileWith(w, [], [shape({ id: 'web', count: 1, cpuMilli: 500, memoryMiB: 512 })]);
    const burst = p.launches.find((l) => !l.warmPool);
    const results = await launchAll(w, mark);
    const r = results.find((x) => x.launchId === burst?.launchId);
    expect(r?.outcome).toBe('launched');
    expect(r?.instances[0]?.instanceId).not.toBe(member.instanceId);
    expect(member).toMatchObject({ state: 'stopped', warmPool: 'member' });
    expect(w.metrics.total(ControlMetrics.warmStartFallbacks)).toBe(1);
  });

  it('never starts an instance that is not a stopped member, whatever the request names (I12)', async () => {
    const { w } = await withParkedMember();
    w.clock.advance(60);
    const p = await reconcileWith(w, [], [shape({ id: 'web', count: 1, cpuMilli: 500, memoryMiB: 512 })]);
    const burst = p.launches.find((l) => !l.warmPool);
    const forged = w.bus
      .detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested)
      .find((d) => d.launch.launchId === burst?.launchId);
    if (!forged || !burst) throw new Error('no burst request');
    // An ordinary running instance of the cluster, named as a "warm start" in the request
    const ordinary = w.fleet.addForeignInstance(CLUSTER);
    const detail = { ...forged, launch: { ...burst, warmStarts: [ordinary] } };
    const input = parseOk(
      parseLaunchEvent(
        envelopeOf(
          { source: Sources.reconcile, detailType: DetailTypes.scaleOutRequested, detail },
          w.clock.now,
        ),
        CLUSTER,
      ),
    );
    const r = await launch(input, w.deps, opts);
    expect(r.instances.map((i) => i.instanceId)).not.toContain(ordinary);
    expect(w.fleet.startCalls).toEqual([]);
    expect(w.metrics.total(ControlMetrics.warmStartFallbacks)).toBe(1);
    expect(NOW.getTime()).toBeLessThan(w.clock.now.getTime());
  });
});
