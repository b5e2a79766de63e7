/**
 * I12, time: the receiver's clock, not the agent's. Each defect of the report reproduced
 * through the real reconcile use-case (parser → reconcile → planner) over the fakes, plus a
 * property over random agent clock jumps.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextSnapshotSeq } from '../../../lib/agent/publisher.js';
import { ControlMetrics } from '../../../lib/control/common.js';
import { parseReconcileEvent } from '../../../lib/control/inputs.js';
import { type ReconcileResult, reconcile } from '../../../lib/control/reconcile.js';
import { type ClusterSnapshot, MAX_AGENT_CLOCK_SKEW_SECONDS } from '../../../lib/events/index.js';
import {
  type FakeWorld,
  fakeWorld,
  makeConfig,
  NOW,
  parseOk,
  snapshot,
  snapshotEvent,
  TestClock,
  tickEvent,
} from '../../support/control.js';

const CLUSTER = 'pi-lab';
const DAY_MS = 86_400_000;
let request = 0;

/** A snapshot as the agent publishes it: seq and observedAt from ITS clock. */
function agentSnapshot(agentNowMs: number, seq = agentNowMs): ClusterSnapshot {
  return snapshot({ seq, observedAt: new Date(agentNowMs).toISOString() });
}

/** Deliver through the bus: the envelope's time is EventBridge's clock (the real one), `delayS` before the Lambda runs. */
async function deliver(w: FakeWorld, snap: ClusterSnapshot, delayS = 0): Promise<ReconcileResult> {
  const busTime = new Date(w.clock.fn.now() - delayS * 1000).toISOString();
  return reconcile(parseOk(parseReconcileEvent(snapshotEvent(snap, undefined, busTime), CLUSTER)), w.deps, {
    requestId: `r${++request}`,
  });
}

async function tick(w: FakeWorld): Promise<ReconcileResult> {
  return reconcile(
    parseOk(parseReconcileEvent(tickEvent(new Date(w.clock.fn.now()).toISOString()), CLUSTER)),
    w.deps,
    {
      requestId: `r${++request}`,
    },
  );
}

function planOf(r: ReconcileResult) {
  if (r.outcome !== 'decided' && r.outcome !== 'replayed') throw new Error(`no plan: ${r.outcome}`);
  return r.plan;
}

/** One running managed instance (so abandonment has something to terminate). */
async function withInstance(w: FakeWorld) {
  await w.fleet.launchOne({
    clientToken: 'seed-0',
    decisionId: 'pi-lab-0seed',
    launchId: 'pi-lab-0seed-0',
    index: 0,
    instanceTypes: ['m7g.large'],
    capacityTypes: ['spot'],
    imageId: 'ami-0123456789abcdef0',
    userData: '#!/bin/sh',
    reason: 'seed',
  });
}

describe('agent clock (I12)', () => {
  it('rejects a snapshot dated 30 days ahead, counts it, and stores nothing', async () => {
    const w = fakeWorld();
    const r = await deliver(w, agentSnapshot(NOW.getTime() + 30 * DAY_MS));
    expect(r).toMatchObject({ outcome: 'future-snapshot', skewSeconds: 30 * 86_400 });
    expect(r.outcome === 'future-snapshot' && r.reason).toMatch(
      /ahead of the control plane's clock.*timedatectl/,
    );
    expect(await w.state.getLatestSnapshot(CLUSTER)).toBeUndefined();
    expect(w.metrics.total(ControlMetrics.futureSnapshotsRejected)).toBe(1);
    expect(w.bus.sent).toEqual([]);
  });

  it('accepts a snapshot within the allowed skew, and one from a clock that is behind', async () => {
    const w = fakeWorld();
    expect(
      (await deliver(w, agentSnapshot(NOW.getTime() + (MAX_AGENT_CLOCK_SKEW_SECONDS - 5) * 1000))).outcome,
    ).toBe('decided');
    const behind = fakeWorld();
    const r = await deliver(behind, agentSnapshot(NOW.getTime() - 2 * DAY_MS, NOW.getTime()));
    // Two days behind by the Pi's clock, but received now: fresh, not abandoned.
    expect(planOf(r)).toMatchObject({ agentStale: false, terminations: [] });
  });

  it('judges staleness and abandonment by when the snapshot was received, not by its observedAt', async () => {
    const w = fakeWorld();
    await withInstance(w);
    // observedAt 50 s ahead (allowed): before, its age looked 50 s younger for ever after.
    await deliver(w, agentSnapshot(NOW.getTime() + 50_000));
    w.clock.advance(w.config.agent.staleAfterSeconds + 1);
    expect(planOf(await tick(w)).agentStale).toBe(true);
    w.clock.advance(w.config.agent.abandonAfterSeconds);
    expect(planOf(await tick(w)).terminations).toHaveLength(1);
  });

  it('a seq that ran ahead (stored before this fix) does not lock out correct snapshots', async () => {
    const w = fakeWorld();
    // As the old code stored it: a seq 30 days ahead, accepted when nothing refused it.
    const poisoned = agentSnapshot(NOW.getTime() + 30 * DAY_MS);
    expect(await w.state.putSnapshotIfNewer(poisoned, new Date(NOW.getTime() + 30 * DAY_MS))).toBe('stored');
    const r = await deliver(w, agentSnapshot(NOW.getTime()));
    expect(r.outcome).toBe('decided');
    expect((await w.state.getLatestSnapshot(CLUSTER))?.snapshot.seq).toBe(NOW.getTime());
    // and an older seq within the window is still refused (I7)
    expect((await deliver(w, agentSnapshot(NOW.getTime() - 1000))).outcome).toBe('stale-snapshot');
  });

  it('a snapshot that waited in transit is as old as its bus receive time, not fresh (I8)', async () => {
    const w = fakeWorld();
    await withInstance(w);
    // Sent 5 minutes ago (past staleAfter), delivered now: the Lambda's start is not its age
    const lateS = w.config.agent.staleAfterSeconds + 60;
    const sentMs = NOW.getTime() - lateS * 1000;
    const plan = planOf(await deliver(w, agentSnapshot(sentMs), lateS));
    expect(plan.agentStale).toBe(true);
    expect(plan.launches).toEqual([]);
    expect(plan.terminations).toEqual([]);
    expect((await w.state.getLatestSnapshot(CLUSTER))?.storedAt).toBe(new Date(sentMs).toISOString());
  });

  it('a late snapshot never replaces a newer one, however long it waited (I7)', async () => {
    const w = fakeWorld();
    // B is sent first but delivered 3 minutes late, after A (sent 100 s after B)
    const bMs = NOW.getTime() - 180_000;
    const aMs = bMs + 100_000;
    expect((await deliver(w, agentSnapshot(aMs), (NOW.getTime() - aMs) / 1000)).outcome).toBe('decided');
    expect((await deliver(w, agentSnapshot(bMs), 180)).outcome).toBe('stale-snapshot');
    expect((await w.state.getLatestSnapshot(CLUSTER))?.snapshot.seq).toBe(aMs);
  });

  it('a bus time ahead of the Lambda clock counts as now (a forged time cannot make a snapshot fresher)', async () => {
    const w = fakeWorld();
    await deliver(w, agentSnapshot(NOW.getTime()), -3600);
    expect((await w.state.getLatestSnapshot(CLUSTER))?.storedAt).toBe(NOW.toISOString());
  });

  it('the agent restarts seq from its clock when the clock went back beyond the allowed skew', () => {
    const ahead = NOW.getTime() + 30 * DAY_MS;
    expect(nextSnapshotSeq(ahead, NOW.getTime())).toBe(NOW.getTime());
    // small steps back keep seq strictly increasing (reorder protection)
    expect(nextSnapshotSeq(NOW.getTime() + 10_000, NOW.getTime())).toBe(NOW.getTime() + 10_001);
    expect(nextSnapshotSeq(NOW.getTime() - 10, NOW.getTime())).toBe(NOW.getTime());
  });

  it('launches nothing while the agent is stale, warm capacity (minNodes) included', async () => {
    const config = makeConfig({
      schedules: [{ name: 'warm', cron: '0 0 * * *', timezone: 'UTC', minNodes: 2, maxNodes: 4 }],
    });
    const w = fakeWorld({ config });
    const fresh = planOf(await deliver(w, agentSnapshot(NOW.getTime())));
    expect(fresh.launches.reduce((n, l) => n + l.count, 0)).toBe(2);
    const stale = fakeWorld({ config, clock: new TestClock(NOW) });
    await deliver(stale, agentSnapshot(NOW.getTime()));
    await stale.state.clearInFlight(
      CLUSTER,
      (await stale.state.listInFlight(CLUSTER, NOW)).map((f) => f.launchId),
    );
    stale.clock.advance(config.agent.staleAfterSeconds + 1);
    const plan = planOf(await tick(stale));
    expect(plan.agentStale).toBe(true);
    expect(plan.launches).toEqual([]);
  });

  it('property: no sequence of agent clock jumps disables the stale-agent fail-safe or abandonment', async () => {
    const step = fc.record({
      advanceSeconds: fc.integer({ min: 1, max: 1800 }),
      // the Pi's clock offset at this step: behind by up to 3 days, ahead by up to 40 days
      offsetSeconds: fc.oneof(
        fc.constant(0),
        fc.integer({ min: -3 * 86_400, max: 40 * 86_400 }),
        fc.integer({ min: -120, max: 120 }),
      ),
      publishes: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const w = fakeWorld();
        await withInstance(w);
        let lastSeq = 0;
        let lastStoredAtMs: number | undefined;
        for (const s of steps) {
          w.clock.advance(s.advanceSeconds);
          const realMs = w.clock.fn.now();
          if (s.publishes) {
            const agentMs = realMs + s.offsetSeconds * 1000;
            lastSeq = nextSnapshotSeq(lastSeq, agentMs);
            const r = await deliver(w, agentSnapshot(agentMs, lastSeq));
            if (r.outcome === 'decided') lastStoredAtMs = realMs;
          }
          const plan = planOf(await tick(w));
          const silentS =
            lastStoredAtMs === undefined ? Number.POSITIVE_INFINITY : (realMs - lastStoredAtMs) / 1000;
          // I8: stale exactly when nothing was accepted for staleAfter (by the receiver's clock)
          expect(plan.agentStale).toBe(silentS > w.config.agent.staleAfterSeconds);
          if (silentS > w.config.agent.abandonAfterSeconds && lastStoredAtMs !== undefined) {
            const live = (await w.fleet.list()).filter((i) => i.state === 'pending' || i.state === 'running');
            expect(plan.terminations.length).toBe(live.length);
          }
          // a correct clock is never locked out for longer than the allowed skew
          if (s.publishes && s.offsetSeconds === 0) {
            expect(silentS).toBeLessThanOrEqual(MAX_AGENT_CLOCK_SKEW_SECONDS);
          }
        }
      }),
      { numRuns: 60, seed: 12 },
    );
  });
});
