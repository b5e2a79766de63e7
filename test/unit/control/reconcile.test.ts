import { describe, expect, it } from 'vitest';
import { ControlMetrics, EmitFailedError } from '../../../lib/control/common.js';
import { parseReconcileEvent } from '../../../lib/control/inputs.js';
import { reconcile } from '../../../lib/control/reconcile.js';
import { entriesOf, triggerOf } from '../../../lib/core/decision-events.js';
import { decisionIdFor } from '../../../lib/core/ids.js';
import {
  DecisionRecorded,
  DeleteNode,
  DetailTypes,
  DrainNode,
  type Plan,
  ScaleOutRequested,
  Sources,
  TerminateRequested,
} from '../../../lib/events/index.js';
import {
  cloudNode,
  ec2StateEvent,
  fakeWorld,
  isoAgo,
  NOW,
  parseOk,
  shape,
  snapshot,
  snapshotEvent,
  tickEvent,
} from '../../support/control.js';

const CLUSTER = 'pi-lab';
const pending = (seq: number, count = 3) =>
  snapshot({ seq, observedAt: isoAgo(5), pendingShapes: [shape({ id: 'web', count })] });
const input = (raw: unknown) => parseOk(parseReconcileEvent(raw, CLUSTER));
const scaleOuts = (w: ReturnType<typeof fakeWorld>) =>
  w.bus.detailsOf<ScaleOutRequested>(DetailTypes.scaleOutRequested);
const launchedCount = (w: ReturnType<typeof fakeWorld>) =>
  scaleOuts(w).reduce((a, s) => a + s.launch.count, 0);

describe('reconcile', () => {
  it('stores the snapshot, decides, records in-flight BEFORE emitting ScaleOutRequested, journals and releases the lease', async () => {
    // Given an empty fleet and a fresh snapshot with 3 pending pods
    const w = fakeWorld();
    const inFlightAtPut: number[] = [];
    const put = w.bus.put.bind(w.bus);
    w.bus.put = async (entries) => {
      inFlightAtPut.push((await w.state.listInFlight(CLUSTER, NOW)).length);
      return put(entries);
    };

    // When reconcile runs on it
    const r = await reconcile(input(snapshotEvent(pending(100))), w.deps, { requestId: 'req-1' });

    // Then one launch group was decided and emitted, with in-flight recorded first
    expect(r.outcome).toBe('decided');
    const so = scaleOuts(w);
    expect(so).toHaveLength(1);
    expect(so[0]).toMatchObject({ cluster: CLUSTER, decisionId: decisionIdFor(CLUSTER, 'snapshot:100') });
    expect(inFlightAtPut).toEqual([1]);
    const inFlight = await w.state.listInFlight(CLUSTER, NOW);
    expect(inFlight[0]).toMatchObject({ launchId: so[0]?.launch.launchId, count: so[0]?.launch.count });
    expect(await w.state.lastScaleOutAt(CLUSTER)).toBe(NOW.toISOString());
    // the decision is journaled with its explanation and summarised on the bus
    const journal = await w.state.listRecentDecisions(CLUSTER, 5);
    expect(journal).toHaveLength(1);
    expect(journal[0]?.trigger).toBe('snapshot');
    expect(journal[0]?.plan.explanations.some((e) => e.kind === 'scale-out')).toBe(true);
    expect(w.bus.detailsOf(DetailTypes.decisionRecorded)).toHaveLength(1);
    // the snapshot is stored and the lease is free again
    expect((await w.state.getLatestSnapshot(CLUSTER))?.snapshot.seq).toBe(100);
    expect(await w.state.acquireLease(CLUSTER, 'someone-else', NOW, 60)).toBe(true);
    expect(w.metrics.total(ControlMetrics.pendingPods)).toBe(3);
    expect(w.metrics.total(ControlMetrics.launches)).toBe(so[0]?.launch.count);
  });

  it('ignores an out-of-order (older) snapshot: counted, nothing decided or emitted', async () => {
    // Given seq 200 was reconciled
    const w = fakeWorld();
    await reconcile(input(snapshotEvent(pending(200))), w.deps, { requestId: 'a' });
    const sent = w.bus.sent.length;

    // When seq 199 arrives late
    const r = await reconcile(input(snapshotEvent(pending(199, 9))), w.deps, { requestId: 'b' });

    // Then it is ignored and counted
    expect(r).toEqual({ outcome: 'stale-snapshot', seq: 199 });
    expect(w.bus.sent.length).toBe(sent);
    expect(w.metrics.total(ControlMetrics.staleSnapshotsIgnored)).toBe(1);
    expect((await w.state.getLatestSnapshot(CLUSTER))?.snapshot.seq).toBe(200);
    expect(await w.state.listRecentDecisions(CLUSTER, 10)).toHaveLength(1);
  });

  it('a redelivered snapshot is not decided twice: same decision, same launch ids (launch reuses by key)', async () => {
    // Given a snapshot event reconciled once
    const w = fakeWorld();
    const ev = snapshotEvent(pending(300));
    await reconcile(input(ev), w.deps, { requestId: 'a' });
    const first = scaleOuts(w);

    // When EventBridge delivers the same event again later
    w.clock.advance(20);
    const r = await reconcile(input(ev), w.deps, { requestId: 'b' });

    // Then nothing new is planned: the journaled decision's commands are re-emitted verbatim
    expect(r.outcome).toBe('replayed');
    expect(w.metrics.total(ControlMetrics.duplicateEvents)).toBe(1);
    const all = scaleOuts(w);
    expect(all).toHaveLength(2);
    expect(all[1]?.launch).toEqual(first[0]?.launch);
    expect(all[1]?.decisionId).toBe(first[0]?.decisionId);
    // the replay carries the original decision time: launch judges its age by it
    expect(all[1]?.requestedAt).toBe(NOW.toISOString());
    expect(await w.state.listRecentDecisions(CLUSTER, 10)).toHaveLength(1);
    expect(await w.state.listInFlight(CLUSTER, w.clock.now)).toHaveLength(1);
  });

  it('a newer snapshot with the same pending pods launches nothing more: the in-flight launch counts', async () => {
    const w = fakeWorld();
    await reconcile(input(snapshotEvent(pending(400))), w.deps, { requestId: 'a' });
    const before = launchedCount(w);
    expect(before).toBeGreaterThan(0);

    w.clock.advance(30);
    const next = snapshot({
      seq: 401,
      observedAt: isoAgo(2, w.clock.now),
      pendingShapes: [shape({ id: 'web', count: 3 })],
    });
    const r = await reconcile(input(snapshotEvent(next)), w.deps, { requestId: 'b' });

    expect(r.outcome).toBe('decided');
    expect(launchedCount(w)).toBe(before);
  });

  it('busy lease: counted as ReconcileBusy, nothing emitted, no throw; the snapshot is still stored', async () => {
    const w = fakeWorld();
    expect(await w.state.acquireLease(CLUSTER, 'other-invocation', NOW, 120)).toBe(true);

    const r = await reconcile(input(snapshotEvent(pending(500))), w.deps, { requestId: 'mine' });

    expect(r).toEqual({ outcome: 'busy' });
    expect(w.metrics.total(ControlMetrics.reconcileBusy)).toBe(1);
    expect(w.bus.sent).toHaveLength(0);
    expect((await w.state.getLatestSnapshot(CLUSTER))?.snapshot.seq).toBe(500);
    expect(await w.state.listRecentDecisions(CLUSTER, 10)).toHaveLength(0);
  });

  it('two concurrent reconciles: exactly one decides, the other is busy (I1)', async () => {
    const w = fakeWorld();
    const [a, b] = await Promise.all([
      reconcile(input(snapshotEvent(pending(600))), w.deps, { requestId: 'inv-a' }),
      reconcile(input(snapshotEvent(pending(601))), w.deps, { requestId: 'inv-b' }),
    ]);
    const outcomes = [a.outcome, b.outcome].sort();
    expect(outcomes).toEqual(['busy', 'decided']);
    expect(scaleOuts(w)).toHaveLength(1);
    expect(await w.state.listInFlight(CLUSTER, NOW)).toHaveLength(1);
  });

  it('emit failure after the journal: throws (Lambda retries), lease released; the retry re-emits the same launch', async () => {
    // Given the bus fails every entry of the first attempt
    const w = fakeWorld();
    const ev = snapshotEvent(pending(700));
    w.bus.failNext(2, 'InternalFailure'); // ScaleOutRequested + DecisionRecorded

    // When reconcile runs
    await expect(reconcile(input(ev), w.deps, { requestId: 'r' })).rejects.toBeInstanceOf(EmitFailedError);

    // Then the decision and in-flight launch are recorded, the lease is free
    expect(await w.state.listRecentDecisions(CLUSTER, 5)).toHaveLength(1);
    const inFlight = await w.state.listInFlight(CLUSTER, NOW);
    expect(inFlight).toHaveLength(1);
    expect(await w.state.acquireLease(CLUSTER, 'probe', NOW, 1)).toBe(true);
    await w.state.releaseLease(CLUSTER, 'probe');

    // And Lambda's retry of the same event emits the journaled launch (same launch id)
    const r = await reconcile(input(ev), w.deps, { requestId: 'r' });
    expect(r.outcome).toBe('replayed');
    const so = scaleOuts(w);
    expect(so).toHaveLength(1);
    expect(so[0]?.launch.launchId).toBe(inFlight[0]?.launchId);
  });

  it('EC2 state change of an instance that is not ours: no decision, counted', async () => {
    const w = fakeWorld();
    const foreign = w.fleet.addForeignInstance('another-cluster');
    const r = await reconcile(input(ec2StateEvent(foreign, 'running', NOW.toISOString())), w.deps, {
      requestId: 'x',
    });
    expect(r).toEqual({ outcome: 'foreign-instance', instanceId: foreign });
    expect(w.metrics.total(ControlMetrics.foreignInstances)).toBe(1);
    expect(await w.state.listRecentDecisions(CLUSTER, 5)).toHaveLength(0);
  });

  it('a tick without any snapshot decides fail-safe: no launch, stale explanation journaled', async () => {
    const w = fakeWorld();
    const ev = tickEvent(NOW.toISOString());
    const r = await reconcile(input(ev), w.deps, { requestId: 't' });
    expect(r.outcome).toBe('decided');
    if (r.outcome !== 'decided') return;
    expect(r.plan.launches).toEqual([]);
    expect(r.plan.agentStale).toBe(true);
    expect(r.decisionId).toBe(decisionIdFor(CLUSTER, triggerOf(input(ev))));
    expect(scaleOuts(w)).toHaveLength(0);
  });

  it('plans on the newest stored snapshot even when triggered by a tick', async () => {
    const w = fakeWorld();
    await w.state.putSnapshotIfNewer(pending(800, 2), NOW);
    const r = await reconcile(input(tickEvent(NOW.toISOString())), w.deps, { requestId: 't' });
    expect(r.outcome === 'decided' && r.plan.snapshotSeq).toBe(800);
    expect(launchedCount(w)).toBeGreaterThan(0);
  });

  it('emits DrainNode and records the drain for an empty managed node past emptyAfter', async () => {
    // Given a managed node with no workload for an hour, launched long ago
    const w = fakeWorld();
    const config = w.config;
    const id = await launchFakeInstance(w);
    const node = cloudNode(id, {
      workloadPodCount: 0,
      workloadPods: [],
      requested: { cpuMilli: 0, memoryMiB: 0, pods: 2 },
      workloadChangedAt: isoAgo(3600),
    });
    const snap = snapshot({ seq: 900, observedAt: isoAgo(5), nodes: [node] });
    expect(config.scaleIn.emptyAfterSeconds).toBeLessThan(3600);

    // When reconcile runs
    const r = await reconcile(input(snapshotEvent(snap)), w.deps, { requestId: 'd' });

    // Then the node is drained through the agent and the drain is tracked
    expect(r.outcome).toBe('decided');
    const drains = w.bus.detailsOf<{ nodeName: string; instanceId: string }>(DetailTypes.drainNode);
    expect(drains).toEqual([expect.objectContaining({ nodeName: `burst-${id}`, instanceId: id })]);
    // with the decision the DrainNode carries: terminate acts on a report of this drain only (I12)
    expect((await w.state.listDrains(CLUSTER)).map((d) => [d.instanceId, d.decisionId])).toEqual([
      [id, r.outcome === 'decided' ? r.decisionId : ''],
    ]);
  });
});

/** Put one running instance into the fake fleet, launched 3 h ago. */
async function launchFakeInstance(w: ReturnType<typeof fakeWorld>): Promise<string> {
  const real = w.clock.now;
  w.clock.now = new Date(real.getTime() - 3 * 3600 * 1000);
  const i = await w.fleet.launchOne({
    clientToken: 'old-0-0',
    decisionId: 'old',
    launchId: 'old-0',
    index: 0,
    instanceTypes: ['m7g.large'],
    capacityTypes: ['spot'],
    imageId: 'ami-0123456789abcdef0',
    userData: '#!/bin/sh',
    reason: 'earlier burst',
  });
  w.clock.now = real;
  w.fleet.setState(i.instanceId, 'running');
  return i.instanceId;
}

describe('entriesOf', () => {
  it('every command it builds parses with its lib/events schema (the contract the consumers parse with)', () => {
    const plan: Plan = {
      schemaVersion: 1,
      cluster: CLUSTER,
      decisionId: 'pi-lab-0abc0decision',
      decidedAt: NOW.toISOString(),
      snapshotSeq: 12,
      activeSchedule: { name: null, minNodes: 0, maxNodes: 5 },
      agentStale: false,
      launches: [
        {
          launchId: 'pi-lab-0abc0decision-0',
          instanceTypes: ['m7g.large'],
          capacityTypes: ['spot'],
          arch: 'arm64',
          count: 2,
          zones: [],
          shapeIds: ['web'],
          podsCovered: 4,
          estimatedHourlyUsd: 0.05,
          reason: '4 pending pods',
        },
      ],
      drains: [
        {
          nodeName: 'burst-i-0aaaaaaaaaaaaaaa1',
          instanceId: 'i-0aaaaaaaaaaaaaaa1',
          reason: 'empty',
          deadline: isoAgo(-600),
        },
      ],
      terminations: [{ instanceId: 'i-0bbbbbbbbbbbbbbb2', reason: 'drain deadline passed' }],
      nodeDeletions: [{ nodeName: 'burst-i-0ccccccccccccccc3', reason: 'instance terminated' }],
      unhelpable: [{ shapeId: 'big', count: 1, reason: 'too big', examplePods: [] }],
      explanations: [{ kind: 'scale-out', message: 'x'.repeat(2000) }],
    };
    const entries = entriesOf(plan, 'snapshot:12', NOW);
    expect(entries.map((e) => e.detailType)).toEqual([
      DetailTypes.scaleOutRequested,
      DetailTypes.drainNode,
      DetailTypes.terminateRequested,
      DetailTypes.deleteNode,
      DetailTypes.decisionRecorded,
    ]);
    expect(entries.every((e) => e.source === Sources.reconcile)).toBe(true);
    const schemas = [ScaleOutRequested, DrainNode, TerminateRequested, DeleteNode, DecisionRecorded];
    entries.forEach((e, i) => {
      const parsed = schemas[i]?.safeParse(e.detail);
      expect(parsed?.success, `${e.detailType}: ${JSON.stringify(parsed?.error?.issues)}`).toBe(true);
    });
    const summary = DecisionRecorded.parse(entries[4]?.detail);
    expect(summary).toMatchObject({ launches: 2, drains: 1, terminations: 1, unhelpablePods: 1 });
    expect(summary.explanations[0]?.message.length).toBe(500);
  });

  it('a plan that does nothing emits nothing (no summary spam on every heartbeat)', () => {
    const plan = {
      schemaVersion: 1,
      cluster: CLUSTER,
      decisionId: 'd',
      decidedAt: NOW.toISOString(),
      snapshotSeq: 1,
      activeSchedule: { name: null, minNodes: 0, maxNodes: 5 },
      agentStale: false,
      launches: [],
      drains: [],
      terminations: [],
      nodeDeletions: [],
      unhelpable: [],
      explanations: [{ kind: 'noop', message: 'nothing to do' }],
    } as Plan;
    expect(entriesOf(plan, 'tick:x', NOW)).toEqual([]);
  });

  it('a plan that holds pods back sends their answers (not the launched ones) so the agent can record pod Events', () => {
    const answer = (kind: 'launched-for' | 'held-by-limit', count: number) => ({
      shapeId: 'render-6b5c4',
      kind,
      count,
      code: kind === 'held-by-limit' ? 'limit:maxNodes' : 'launch:d-0',
      message: 'x'.repeat(400),
      targets: [],
      examplePods: ['render/render-6b5c4-a', 'render/render-6b5c4-b'],
      ...(kind === 'held-by-limit' ? { limit: { name: 'maxNodes', nodesNeeded: 2 } } : {}),
    });
    const plan = {
      schemaVersion: 1,
      cluster: CLUSTER,
      decisionId: 'd',
      decidedAt: NOW.toISOString(),
      snapshotSeq: 1,
      activeSchedule: { name: null, minNodes: 0, maxNodes: 0 },
      agentStale: false,
      launches: [],
      drains: [],
      terminations: [],
      nodeDeletions: [],
      unhelpable: [],
      explanations: [{ kind: 'clamp', message: 'limits.maxNodes' }],
      podAnswers: [answer('launched-for', 3), answer('held-by-limit', 5)],
    } as Plan;
    const entries = entriesOf(plan, 'tick:x', NOW);
    expect(entries.map((e) => e.detailType)).toEqual([DetailTypes.decisionRecorded]);
    const summary = DecisionRecorded.parse(entries[0]?.detail);
    expect(summary.podAnswers?.map((a) => [a.kind, a.count, a.limit?.nodesNeeded, a.message.length])).toEqual(
      [['held-by-limit', 5, 2, 300]],
    );
  });
});
