/**
 * The invariant checker must be able to fail: for each of I1–I8 and I11 a hand-built trace that
 * violates it is detected, and a near-identical trace that respects it is not.
 */
import { describe, expect, it } from 'vitest';
import {
  type CheckerParams,
  describeTrace,
  InvariantChecker,
  type InvariantId,
  type TraceEvent,
} from '../../../lib/sim/invariants.js';

const MIN = 60_000;
const T0 = Date.parse('2026-03-16T08:00:00Z');

const params: CheckerParams = {
  janitorPeriodMs: 5 * MIN,
  registrationTimeoutMs: 15 * MIN,
  staleAfterMs: 5 * MIN,
  batchMaxMs: 10_000,
  drainTimeoutMs: 10 * MIN,
  maxConcurrentDrains: 1,
  hopMs: 5_000,
  shutdownMs: 30_000,
  abandonAfterMs: 60 * MIN,
};

/** Feed events (each followed by a step at its time), then step at `until`. */
function check(events: TraceEvent[], until?: number): InvariantChecker {
  const c = new InvariantChecker(params);
  for (const e of events) {
    c.observe(e);
    c.step(e.atMs);
  }
  if (until !== undefined) c.step(until);
  return c;
}

function ids(c: InvariantChecker): InvariantId[] {
  return c.violations.map((v) => v.invariant);
}

const launch = (atMs: number, launchId: string, count: number): TraceEvent => ({
  kind: 'launch-decided',
  atMs,
  decisionId: `d-${launchId}`,
  launchId,
  count,
});
const created = (atMs: number, instanceId: string, launchId: string, index: number): TraceEvent => ({
  kind: 'instance-created',
  atMs,
  instanceId,
  launchId,
  index,
  decidedAtMs: atMs,
});

function decision(
  over: Partial<Extract<TraceEvent, { kind: 'decision' }>> & { atMs: number },
): Extract<TraceEvent, { kind: 'decision' }> {
  return {
    kind: 'decision',
    decisionId: 'd-1',
    snapshotSeq: 1,
    snapshotObservedAtMs: over.atMs,
    shapeIds: [],
    launchedShapeIds: [],
    unhelpableShapeIds: [],
    constrained: false,
    actions: [],
    ...over,
  };
}

describe('InvariantChecker', () => {
  it('I1: more managed instances alive than the active max is detected', () => {
    const events: TraceEvent[] = [
      { kind: 'schedule', atMs: T0, name: 'day', maxNodes: 1 },
      launch(T0 + 1000, 'L1', 2),
      created(T0 + 2000, 'i-1', 'L1', 0),
      created(T0 + 2000, 'i-2', 'L1', 1),
    ];
    const c = check(events);
    expect(ids(c)).toEqual(['I1']);
    expect(c.violations[0]?.message).toMatch(/2 managed instances alive, active max 1/);
    // Control: with max 2 the same trace is fine.
    const ok = check([{ kind: 'schedule', atMs: T0, name: 'day', maxNodes: 2 }, ...events.slice(1)]);
    expect(ids(ok)).toEqual([]);
  });

  it('I1: after the max drops, instances still alive past the drain grace period are detected', () => {
    const events: TraceEvent[] = [
      { kind: 'schedule', atMs: T0, name: 'day', maxNodes: 2 },
      launch(T0, 'L1', 2),
      created(T0 + 1000, 'i-1', 'L1', 0),
      created(T0 + 1000, 'i-2', 'L1', 1),
      { kind: 'instance-registered', atMs: T0 + 2 * MIN, instanceId: 'i-1' },
      { kind: 'instance-registered', atMs: T0 + 2 * MIN, instanceId: 'i-2' },
      { kind: 'schedule', atMs: T0 + 60 * MIN, name: 'night', maxNodes: 0 },
    ];
    // Within the grace period (2 drain rounds) nothing is reported…
    expect(ids(check(events, T0 + 61 * MIN))).toEqual([]);
    // …but three hours later both are still there.
    expect(ids(check(events, T0 + 240 * MIN))).toEqual(['I1']);
  });

  it('I2: any destructive action against an on-prem node is detected', () => {
    for (const action of ['cordon', 'drain-requested', 'evict', 'delete-node', 'terminate'] as const) {
      const c = check([{ kind: 'node-action', atMs: T0, action, target: 'pi-1', onPrem: true }]);
      expect(ids(c)).toEqual(['I2']);
      expect(c.violations[0]?.message).toContain('pi-1');
    }
    expect(
      ids(check([{ kind: 'node-action', atMs: T0, action: 'terminate', target: 'i-1', onPrem: false }])),
    ).toEqual([]);
  });

  it('I3: an instance that never registers and outlives registrationTimeout + janitor period is detected', () => {
    const events = [launch(T0, 'L1', 1), created(T0, 'i-1', 'L1', 0)];
    const deadline =
      T0 + params.registrationTimeoutMs + params.janitorPeriodMs + 2 * params.hopMs + params.shutdownMs;
    expect(ids(check(events, deadline - 1000))).toEqual([]);
    const c = check(events, deadline + 1000);
    expect(ids(c)).toEqual(['I3']);
    expect(c.violations[0]?.message).toMatch(/i-1 never registered/);
    // Control: terminated in time.
    const ok = check(
      [...events, { kind: 'instance-gone', atMs: deadline - 5000, instanceId: 'i-1' }],
      deadline + 1000,
    );
    expect(ids(ok)).toEqual([]);
  });

  it('I4: a Tailscale device outliving its terminated instance by more than the janitor period is detected', () => {
    const events: TraceEvent[] = [
      launch(T0, 'L1', 1),
      created(T0, 'i-1', 'L1', 0),
      { kind: 'instance-registered', atMs: T0 + MIN, instanceId: 'i-1' },
      { kind: 'device-created', atMs: T0 + MIN, deviceId: 'dev-1', instanceId: 'i-1' },
      { kind: 'instance-gone', atMs: T0 + 30 * MIN, instanceId: 'i-1' },
    ];
    const c = check(events, T0 + 30 * MIN + params.janitorPeriodMs + 2 * params.hopMs + 1000);
    expect(ids(c)).toEqual(['I4']);
    expect(c.violations[0]?.message).toContain('dev-1');
    const ok = check(
      [...events, { kind: 'device-deleted', atMs: T0 + 33 * MIN, deviceId: 'dev-1' }],
      T0 + 60 * MIN,
    );
    expect(ids(ok)).toEqual([]);
  });

  it('I5: a helpable pending pod missing from every snapshot past the batch window is detected', () => {
    const events: TraceEvent[] = [
      { kind: 'pod-unschedulable', atMs: T0, pod: 'ci-1', shapeId: 's-a', helpable: true },
    ];
    const c = check(events, T0 + params.batchMaxMs + params.hopMs + 1000);
    expect(ids(c)).toEqual(['I5']);
    expect(c.violations[0]?.message).toMatch(/ci-1.*not in any snapshot/);
    // Not helpable (no cloud node fits): nothing to report.
    const unhelpable = check(
      [{ kind: 'pod-unschedulable', atMs: T0, pod: 'big', shapeId: 's-b', helpable: false }],
      T0 + 10 * MIN,
    );
    expect(ids(unhelpable)).toEqual([]);
    // Agent cut off: the batch window starts when it can publish again.
    const offline = check(
      [{ kind: 'agent-publishing', atMs: T0 - 1000, ok: false }, ...events],
      T0 + 10 * MIN,
    );
    expect(ids(offline)).toEqual([]);
  });

  it('I5: a decision that sees a helpable shape and launches nothing (unconstrained) is detected', () => {
    const events: TraceEvent[] = [
      { kind: 'pod-unschedulable', atMs: T0, pod: 'ci-1', shapeId: 's-a', helpable: true },
      { kind: 'snapshot-published', atMs: T0 + 2000, seq: 7, shapeIds: ['s-a'] },
      decision({ atMs: T0 + 4000, snapshotSeq: 7, shapeIds: ['s-a'] }),
    ];
    const c = check(events);
    expect(ids(c)).toEqual(['I5']);
    expect(c.violations[0]?.message).toMatch(/launched nothing/);
    // Called unhelpable although a cloud node fits: also I5.
    const wrong = check([
      ...events.slice(0, 2),
      decision({ atMs: T0 + 4000, snapshotSeq: 7, shapeIds: ['s-a'], unhelpableShapeIds: ['s-a'] }),
    ]);
    expect(ids(wrong)).toEqual(['I5']);
    // Controls: a launch for it, or a constrained plan, is fine.
    expect(
      ids(
        check([
          ...events.slice(0, 2),
          decision({ atMs: T0 + 4000, snapshotSeq: 7, shapeIds: ['s-a'], launchedShapeIds: ['s-a'] }),
        ]),
      ),
    ).toEqual([]);
    expect(
      ids(
        check([
          ...events.slice(0, 2),
          decision({ atMs: T0 + 4000, snapshotSeq: 7, shapeIds: ['s-a'], constrained: true }),
        ]),
      ),
    ).toEqual([]);
  });

  it('I6: an eviction the PodDisruptionBudget does not allow is detected', () => {
    const c = check([
      { kind: 'eviction', atMs: T0, pod: 'web-1', pdb: { name: 'web', healthyBefore: 2, minAvailable: 2 } },
    ]);
    expect(ids(c)).toEqual(['I6']);
    expect(c.violations[0]?.message).toContain('PDB web');
    expect(
      ids(
        check([
          {
            kind: 'eviction',
            atMs: T0,
            pod: 'web-1',
            pdb: { name: 'web', healthyBefore: 3, minAvailable: 2 },
          },
        ]),
      ),
    ).toEqual([]);
  });

  it('I7: a redelivered launch request that creates a second instance for the same slot is detected', () => {
    const c = check([
      launch(T0, 'L1', 1),
      created(T0 + 1000, 'i-1', 'L1', 0),
      created(T0 + 2000, 'i-2', 'L1', 0),
    ]);
    expect(ids(c)).toContain('I7');
    expect(c.violations.find((v) => v.invariant === 'I7')?.message).toMatch(/launched twice/);
    // An instance for a launch nobody decided.
    expect(ids(check([created(T0, 'i-9', 'L-unknown', 0)]))).toEqual(['I7']);
  });

  it('I7: acting on an older snapshot after a newer one is detected', () => {
    const drain = { target: 'burst-1', action: 'drain' as const, cause: 'scale-in' as const };
    const c = check([
      decision({ atMs: T0, decisionId: 'd-5', snapshotSeq: 5, actions: [drain] }),
      decision({ atMs: T0 + 1000, decisionId: 'd-4', snapshotSeq: 4, actions: [drain] }),
    ]);
    expect(ids(c)).toEqual(['I7']);
    expect(c.violations[0]?.message).toMatch(/seq 4 after acting on seq 5/);
    // A decision that does nothing on an old snapshot is harmless.
    expect(
      ids(
        check([
          decision({ atMs: T0, snapshotSeq: 5, actions: [drain] }),
          decision({ atMs: T0 + 1000, snapshotSeq: 4 }),
        ]),
      ),
    ).toEqual([]);
  });

  it('I8: scale-in or repair on a stale snapshot is detected', () => {
    for (const cause of ['scale-in', 'repair'] as const) {
      const c = check([
        decision({
          atMs: T0 + 10 * MIN,
          snapshotObservedAtMs: T0,
          actions: [{ target: 'burst-1', action: 'drain', cause }],
        }),
      ]);
      expect(ids(c)).toEqual(['I8']);
      expect(c.violations[0]?.message).toMatch(new RegExp(`\\(${cause}\\) on a snapshot 10m old`));
    }
    // No snapshot at all is stale too.
    expect(
      ids(
        check([
          decision({
            atMs: T0,
            snapshotSeq: null,
            snapshotObservedAtMs: null,
            actions: [{ target: 'i-1', action: 'terminate', cause: 'repair' }],
          }),
        ]),
      ),
    ).toEqual(['I8']);
    // Schedule-driven scale-in (not scale-in/repair) on a stale snapshot is allowed; fresh scale-in too.
    expect(
      ids(
        check([
          decision({
            atMs: T0 + 10 * MIN,
            snapshotObservedAtMs: T0,
            actions: [{ target: 'burst-1', action: 'drain', cause: 'schedule' }],
          }),
          decision({
            atMs: T0 + 11 * MIN,
            snapshotSeq: 2,
            snapshotObservedAtMs: T0 + 10 * MIN,
            actions: [{ target: 'burst-2', action: 'drain', cause: 'scale-in' }],
          }),
        ]),
      ),
    ).toEqual([]);
  });

  it('I11: two concurrent reconciles that both decided are detected; one deciding is not', () => {
    const overlap = (decided: number): TraceEvent => ({
      kind: 'reconciles-overlapped',
      atMs: T0,
      count: 2,
      decided,
    });
    expect(ids(check([overlap(2)]))).toEqual(['I11']);
    expect(ids(check([overlap(1), overlap(0)]))).toEqual([]);
  });

  it('a violation carries the recent timeline, and a repeated violation is reported once', () => {
    const c = check([
      { kind: 'note', atMs: T0, text: 'something happened' },
      { kind: 'node-action', atMs: T0 + 1000, action: 'cordon', target: 'pi-1', onPrem: true },
      { kind: 'node-action', atMs: T0 + 2000, action: 'cordon', target: 'pi-1', onPrem: true },
    ]);
    expect(c.violations).toHaveLength(1);
    expect(c.violations[0]?.timeline.join('\n')).toContain('something happened');
    expect(c.violations[0]?.timeline.at(-1)).toMatch(/cordon pi-1 \(ON-PREM\)/);
  });

  it('describes every trace event kind on one line', () => {
    const events: TraceEvent[] = [
      { kind: 'schedule', atMs: T0, name: null, maxNodes: 3 },
      launch(T0, 'L1', 1),
      created(T0, 'i-1', 'L1', 0),
      { kind: 'instance-registered', atMs: T0, instanceId: 'i-1' },
      { kind: 'instance-interrupted', atMs: T0, instanceId: 'i-1' },
      { kind: 'instance-gone', atMs: T0, instanceId: 'i-1' },
      { kind: 'device-created', atMs: T0, deviceId: 'd', instanceId: 'i-1' },
      { kind: 'device-deleted', atMs: T0, deviceId: 'd' },
      { kind: 'freshness', atMs: T0, fresh: false },
      { kind: 'eviction', atMs: T0, pod: 'p' },
      { kind: 'pod-unschedulable', atMs: T0, pod: 'p', shapeId: 's', helpable: true },
      { kind: 'pod-resolved', atMs: T0, pod: 'p' },
      { kind: 'agent-publishing', atMs: T0, ok: false },
      { kind: 'snapshot-published', atMs: T0, seq: 1, shapeIds: [] },
      decision({ atMs: T0 }),
      { kind: 'reconciles-overlapped', atMs: T0, count: 2, decided: 1 },
    ];
    for (const e of events) {
      const line = describeTrace(e);
      expect(line.startsWith('2026-03-16 08:00:00 ')).toBe(true);
      expect(line).not.toContain('\n');
    }
  });
});
