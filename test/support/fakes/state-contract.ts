/**
 * The StatePort contract as executable tests. Run against the DynamoDB adapter (moto) and the
 * in-memory fake, so the fake other tests rely on is proven to behave like the real thing.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { backoffKey, nextBackoff } from '../../../lib/core/backoff.js';
import type { StatePort } from '../../../lib/core/ports.js';
import {
  ClusterSnapshot,
  type DrainInProgress,
  type InFlightLaunch,
  type Plan,
  SCHEMA_VERSION,
  type StageTimings,
} from '../../../lib/events/index.js';

export const T0 = new Date('2026-03-14T09:00:00Z');
export const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let clusterN = 0;
const newCluster = () => `lab-${++clusterN}`;

export const snapshot = (cluster: string, seq: number, agentVersion = 'v1') =>
  ClusterSnapshot.parse({
    schemaVersion: SCHEMA_VERSION,
    cluster,
    seq,
    observedAt: T0.toISOString(),
    agentVersion,
  });

export const plan = (cluster: string, decisionId: string, decidedAt: Date): Plan => ({
  schemaVersion: SCHEMA_VERSION,
  cluster,
  decisionId,
  decidedAt: decidedAt.toISOString(),
  snapshotSeq: 7,
  activeSchedule: { name: null, minNodes: 0, maxNodes: 5 },
  agentStale: false,
  launches: [],
  drains: [],
  terminations: [],
  nodeDeletions: [],
  unhelpable: [],
  explanations: [{ kind: 'noop', message: 'nothing to do' }],
});

/** Register the contract's tests; `getState` is called per test (after the caller's beforeAll). */
export function describeStatePortContract(getState: () => StatePort): void {
  let state: StatePort;
  let cluster: string;

  beforeEach(() => {
    state = getState();
    cluster = newCluster();
  });

  describe('snapshot seq guard (I7)', () => {
    it('stores a newer seq and ignores an older or equal one', async () => {
      // Given seq 10 is stored
      expect(await state.putSnapshotIfNewer(snapshot(cluster, 10, 'first'), T0)).toBe('stored');

      // When seq 9 and seq 10 (with other content) arrive, then seq 11
      const older = await state.putSnapshotIfNewer(snapshot(cluster, 9, 'older'), at(1));
      const equal = await state.putSnapshotIfNewer(snapshot(cluster, 10, 'equal'), at(2));
      const newer = await state.putSnapshotIfNewer(snapshot(cluster, 11, 'newer'), at(3));

      // Then only the newer one replaced the stored snapshot
      expect([older, equal, newer]).toEqual(['stale', 'stale', 'stored']);
      const latest = await state.getLatestSnapshot(cluster);
      expect(latest?.snapshot.seq).toBe(11);
      expect(latest?.snapshot.agentVersion).toBe('newer');
      expect(latest?.storedAt).toBe(at(3).toISOString());
    });

    it('stores the receive time, and judges a future-dated stored seq by the caller clock', async () => {
      // A seq (the agent's clock, ms) 100 s after T0 is stored at T0+100 s
      const newerSeq = at(100).getTime();
      expect(await state.putSnapshotIfNewer(snapshot(cluster, newerSeq, 'newer'), at(100))).toBe('stored');

      // When an older snapshot that waited in transit (received at T0+5 s) is written at T0+110 s
      const late = await state.putSnapshotIfNewer(snapshot(cluster, at(0).getTime(), 'late'), at(110), at(5));

      // Then it does not replace the newer one: "future" is judged by now, not by its receive time
      expect(late).toBe('stale');
      expect((await state.getLatestSnapshot(cluster))?.snapshot.agentVersion).toBe('newer');

      // And a newer snapshot that waited is stored with its receive time, not the write time
      const nextSeq = at(200).getTime();
      expect(await state.putSnapshotIfNewer(snapshot(cluster, nextSeq, 'next'), at(260), at(201))).toBe(
        'stored',
      );
      expect((await state.getLatestSnapshot(cluster))?.storedAt).toBe(at(201).toISOString());
    });

    it('keeps the highest seq when writes race', async () => {
      // When seqs 1..8 are written concurrently in shuffled order
      const seqs = [5, 2, 8, 1, 7, 3, 6, 4];
      await Promise.all(seqs.map((s) => state.putSnapshotIfNewer(snapshot(cluster, s), T0)));

      // Then 8 is stored
      expect((await state.getLatestSnapshot(cluster))?.snapshot.seq).toBe(8);
    });

    it('returns undefined for a cluster without a snapshot', async () => {
      expect(await state.getLatestSnapshot(cluster)).toBeUndefined();
    });
  });

  describe('single-writer lease (I1)', () => {
    it('grants the lease to exactly one of two concurrent acquirers', async () => {
      // When two reconciles try at once, several rounds
      for (let round = 0; round < 5; round++) {
        const c = `${cluster}-r${round}`;
        const results = await Promise.all([
          state.acquireLease(c, 'reconcile-a', T0, 60),
          state.acquireLease(c, 'reconcile-b', T0, 60),
        ]);
        // Then exactly one wins
        expect(results.filter(Boolean)).toHaveLength(1);
      }
    });

    it('lets the holder extend, refuses others until expiry or release', async () => {
      // Given a holds the lease for 60 s
      expect(await state.acquireLease(cluster, 'a', T0, 60)).toBe(true);

      // Then b is refused while it is live, a may extend
      expect(await state.acquireLease(cluster, 'b', at(30), 60)).toBe(false);
      expect(await state.acquireLease(cluster, 'a', at(30), 60)).toBe(true);
      // a's extension runs to 90 s
      expect(await state.acquireLease(cluster, 'b', at(89), 60)).toBe(false);
      expect(await state.acquireLease(cluster, 'b', at(90), 60)).toBe(true);

      // And a release by a non-holder is a no-op, by the holder frees it
      await state.releaseLease(cluster, 'a');
      expect(await state.acquireLease(cluster, 'c', at(91), 60)).toBe(false);
      await state.releaseLease(cluster, 'b');
      expect(await state.acquireLease(cluster, 'c', at(91), 60)).toBe(true);
    });
  });

  describe('decision journal', () => {
    it('journals with a TTL attribute and lists the most recent first', async () => {
      // Given three decisions
      for (const [i, s] of [
        [1, 0],
        [2, 60],
        [3, 120],
      ] as const) {
        const r = await state.journalDecision(
          { plan: plan(cluster, `d${i}`, at(s)), trigger: 'snapshot' },
          3600,
        );
        expect(r).toBe('recorded');
      }

      // When the two most recent are listed
      const recent = await state.listRecentDecisions(cluster, 2);

      // Then newest first, plan intact
      expect(recent.map((r) => r.plan.decisionId)).toEqual(['d3', 'd2']);
      expect(recent[0]?.plan.explanations[0]?.message).toBe('nothing to do');
      expect(recent[0]?.trigger).toBe('snapshot');
    });

    it('reports a redelivered decision as a duplicate', async () => {
      // Given a journaled decision
      await state.journalDecision({ plan: plan(cluster, 'dup', T0), trigger: 'snapshot' }, 3600);

      // When the same decision id is journaled again (even at another time)
      const again = await state.journalDecision(
        { plan: plan(cluster, 'dup', at(5)), trigger: 'snapshot' },
        3600,
      );

      // Then it is a duplicate and listed once
      expect(again).toBe('duplicate');
      expect(await state.listRecentDecisions(cluster, 10)).toHaveLength(1);
    });
  });

  describe('in-flight launches and drains', () => {
    it('round-trips in-flight launches and hides expired ones', async () => {
      // Given two in-flight launches, one expiring sooner
      const launch = (launchId: string, expiresIn: number): InFlightLaunch => ({
        decisionId: 'd1',
        launchId,
        decidedAt: T0.toISOString(),
        expiresAt: at(expiresIn).toISOString(),
        instanceType: 't4g.medium',
        count: 2,
        capacityType: 'spot',
        shapeIds: ['s1'],
      });
      await state.recordInFlight(cluster, [launch('d1-0', 100), launch('d1-1', 900)]);

      // Then both are listed now, only the longer one after 100 s, none after clearing it
      expect((await state.listInFlight(cluster, T0)).map((l) => l.launchId).sort()).toEqual(['d1-0', 'd1-1']);
      expect((await state.listInFlight(cluster, at(100))).map((l) => l.launchId)).toEqual(['d1-1']);
      expect((await state.listInFlight(cluster, T0))[0]).toEqual(launch('d1-0', 100));
      await state.clearInFlight(cluster, ['d1-1', 'unknown']);
      expect((await state.listInFlight(cluster, at(100))).length).toBe(0);
    });

    it('round-trips drains with requested-at and deadline', async () => {
      // Given a drain
      const drain: DrainInProgress = {
        nodeName: 'burst-i-0123456789abcdef0',
        instanceId: 'i-0123456789abcdef0',
        requestedAt: T0.toISOString(),
        deadline: at(600).toISOString(),
        reason: 'empty for 10 min',
      };
      await state.recordDrain(cluster, drain);

      // Then it is listed as recorded, and gone once cleared
      expect(await state.listDrains(cluster)).toEqual([drain]);
      await state.clearDrain(cluster, drain.instanceId);
      expect(await state.listDrains(cluster)).toEqual([]);
    });
  });

  describe('stored records are copies', () => {
    /** Change a record a caller holds; a frozen one (the fake shares what it stores) refuses. */
    const tryToChange = (change: () => void) => {
      try {
        change();
      } catch {
        // refused: the store's copy is frozen
      }
    };

    it('a write or a read shares no object with the store', async () => {
      // Given a snapshot, a journaled plan, an in-flight launch and a drain, all written
      const snap = ClusterSnapshot.parse({
        schemaVersion: SCHEMA_VERSION,
        cluster,
        seq: 3,
        observedAt: T0.toISOString(),
        agentVersion: 'v1',
        nodes: [
          {
            name: 'pi-1',
            managed: false,
            labels: { zone: 'home' },
            ready: true,
            readySince: T0.toISOString(),
            createdAt: T0.toISOString(),
            allocatable: { cpuMilli: 4000, memoryMiB: 7800, pods: 110 },
            requested: { cpuMilli: 100, memoryMiB: 128, pods: 1 },
            workloadPodCount: 1,
          },
        ],
      });
      await state.putSnapshotIfNewer(snap, T0);
      const decided = plan(cluster, 'd-copy', T0);
      await state.journalDecision({ plan: decided, trigger: 'tick' }, 3600);
      const flight: InFlightLaunch = {
        decisionId: 'd1',
        launchId: 'd1-0',
        decidedAt: T0.toISOString(),
        expiresAt: at(900).toISOString(),
        instanceType: 't4g.medium',
        count: 1,
        capacityType: 'spot',
        shapeIds: ['s1'],
      };
      await state.recordInFlight(cluster, [flight]);

      // When the writer changes its objects afterwards, and a reader changes what it read
      (snap.nodes[0] as { labels: Record<string, string> }).labels.zone = 'writer';
      (decided.explanations[0] as { message: string }).message = 'writer';
      flight.shapeIds.push('writer');
      const readLabels = (await state.getLatestSnapshot(cluster))?.snapshot.nodes[0]?.labels;
      expect(readLabels).toEqual({ zone: 'home' });
      tryToChange(() => {
        (readLabels as Record<string, string>).zone = 'reader';
      });
      const readExplanation = (await state.listRecentDecisions(cluster, 1))[0]?.plan.explanations[0];
      expect(readExplanation?.message).toBe('nothing to do');
      tryToChange(() => {
        (readExplanation as { message: string }).message = 'reader';
      });
      const readShapeIds = (await state.listInFlight(cluster, T0))[0]?.shapeIds;
      expect(readShapeIds).toEqual(['s1']);
      tryToChange(() => (readShapeIds as string[]).push('reader'));

      // Then the store still holds what was written
      expect((await state.getLatestSnapshot(cluster))?.snapshot.nodes[0]?.labels).toEqual({ zone: 'home' });
      expect((await state.listRecentDecisions(cluster, 1))[0]?.plan.explanations[0]?.message).toBe(
        'nothing to do',
      );
      expect((await state.listInFlight(cluster, T0))[0]?.shapeIds).toEqual(['s1']);
    });
  });

  describe('scale-out time, event dedup, offerings', () => {
    it('keeps the latest scale-out time', async () => {
      await state.recordScaleOut(cluster, at(60));
      await state.recordScaleOut(cluster, at(30));
      expect(await state.lastScaleOutAt(cluster)).toBe(at(60).toISOString());
      await state.recordScaleOut(cluster, at(90));
      expect(await state.lastScaleOutAt(cluster)).toBe(at(90).toISOString());
    });

    it('marks an event seen once, until its TTL passes', async () => {
      const id = `${cluster}-evt`;
      const [a, b] = await Promise.all([state.markEventSeen(id, T0, 600), state.markEventSeen(id, T0, 600)]);
      expect([a, b].sort()).toEqual([false, true]);
      expect(await state.markEventSeen(id, at(599), 600)).toBe(false);
      expect(await state.markEventSeen(id, at(600), 600)).toBe(true);
    });

    it('keeps launch backoffs until forgetAt, upserts by key, clears by key', async () => {
      const policy = { initialSeconds: 300, maxSeconds: 1800, resetAfterSeconds: 3600 };
      const failure = {
        kind: 'launch-setup' as const,
        instanceType: 'm7g.large',
        capacityType: 'spot' as const,
        imageId: 'ami-0123456789abcdef0',
        reason: 'did not register',
      };
      const one = nextBackoff(undefined, { ...failure, instanceId: 'i-1' }, T0, policy);
      await state.putBackoff(cluster, one);
      const two = nextBackoff(one, { ...failure, instanceId: 'i-2' }, at(60), policy);
      await state.putBackoff(cluster, two);
      const quota = nextBackoff(
        undefined,
        { kind: 'quota', instanceType: 't4g.medium', capacityType: 'on-demand', reason: 'VcpuLimitExceeded' },
        T0,
        policy,
      );
      await state.putBackoff(cluster, quota);
      const listed = await state.listBackoffs(cluster, at(120));
      expect(listed.sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([two, quota]);
      expect(two.failures).toBe(2);
      await state.clearBackoff(cluster, backoffKey(two));
      expect(await state.listBackoffs(cluster, at(120))).toEqual([quota]);
      expect(await state.listBackoffs(cluster, at(3600))).toEqual([]);
    });

    it('remembers unavailable offerings until their time, later until wins', async () => {
      const cache = state.offeringCache(cluster);
      const o = { instanceType: 't4g.medium', zone: 'eu-central-1a', capacityType: 'spot' as const };
      await cache.markUnavailable({ ...o, until: at(180).toISOString() });
      await cache.markUnavailable({ ...o, until: at(60).toISOString() });
      expect(await cache.listUnavailable(at(100))).toEqual([{ ...o, until: at(180).toISOString() }]);
      expect(await cache.listUnavailable(at(180))).toEqual([]);
    });
  });

  describe('operator pause', () => {
    const pause = (drain: boolean, reason: string) => ({
      since: at(30).toISOString(),
      drain,
      by: 'ops@laptop',
      reason,
    });

    it('is unset until set, replaced by a later set, and cleared once', async () => {
      // Given a cluster nobody paused
      expect(await state.getPause(cluster)).toBeUndefined();

      // When it is paused, then paused again with --drain
      await state.setPause(cluster, pause(false, 'first'));
      expect(await state.getPause(cluster)).toEqual(pause(false, 'first'));
      await state.setPause(cluster, pause(true, 'second'));

      // Then the later pause is in force, and clearing returns it exactly once
      expect(await state.getPause(cluster)).toEqual(pause(true, 'second'));
      expect(await state.clearPause(cluster)).toEqual(pause(true, 'second'));
      expect(await state.getPause(cluster)).toBeUndefined();
      expect(await state.clearPause(cluster)).toBeUndefined();
    });

    it('pauses one cluster only', async () => {
      await state.setPause(cluster, pause(false, 'just this one'));
      expect(await state.getPause(`${cluster}-other`)).toBeUndefined();
    });

    it('refuses a malformed pause instead of storing it', async () => {
      const bad = { ...pause(false, 'x'), since: 'yesterday' };
      await expect(state.setPause(cluster, bad)).rejects.toThrow(/since/);
      expect(await state.getPause(cluster)).toBeUndefined();
    });
  });

  describe('stage timings', () => {
    const timings = (n: number): StageTimings => ({
      samples: Array.from({ length: n }, (_, i) => ({
        stage: 'pod-wait' as const,
        subject: `uid-${i}`,
        at: at(i).toISOString(),
        seconds: 30 + i / 10,
      })),
      rejected: ['running-to-ready/i-0aaaaaaaaaaaaaaa1'],
    });

    it('is undefined until put, then reads back what was put, per cluster', async () => {
      expect(await state.getStageTimings(cluster)).toBeUndefined();
      await state.putStageTimings(cluster, timings(3));
      expect(await state.getStageTimings(cluster)).toEqual(timings(3));
      await state.putStageTimings(cluster, timings(1));
      expect(await state.getStageTimings(cluster)).toEqual(timings(1));
      expect(await state.getStageTimings(`${cluster}-other`)).toBeUndefined();
    });

    it('holds the largest record reconcile keeps (2,000 recent samples and 100 per stage)', async () => {
      const big = timings(2_500);
      await state.putStageTimings(cluster, big);
      expect((await state.getStageTimings(cluster))?.samples).toHaveLength(2_500);
    });

    it('refuses a malformed record instead of storing it', async () => {
      const bad = { samples: [{ stage: 'pod-wait', subject: 'x', at: 'later', seconds: -1 }], rejected: [] };
      await expect(state.putStageTimings(cluster, bad as never)).rejects.toThrow(/at|seconds/);
      expect(await state.getStageTimings(cluster)).toBeUndefined();
    });
  });
}
