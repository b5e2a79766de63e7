/**
 * The invariant checker must be able to fail: for each of I1–I11 a hand-built trace that
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
  backoff: { initialMs: 5 * MIN, maxMs: 30 * MIN, resetAfterMs: 180 * MIN },
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
const created = (
  atMs: number,
  instanceId: string,
  launchId: string,
  index: number,
): Extract<TraceEvent, { kind: 'instance-created' }> => ({
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

  it('I1: a stopped warm-pool member counts toward no max; started again, it counts', () => {
    const stopped = (atMs: number, instanceId: string): TraceEvent => ({
      kind: 'instance-stopped',
      atMs,
      instanceId,
    });
    const base: TraceEvent[] = [
      { kind: 'schedule', atMs: T0, name: 'day', maxNodes: 1 },
      launch(T0, 'F1', 1),
      created(T0, 'i-m', 'F1', 0),
      { kind: 'instance-registered', atMs: T0 + MIN, instanceId: 'i-m' },
      stopped(T0 + 2 * MIN, 'i-m'),
      launch(T0 + 3 * MIN, 'L1', 1),
      created(T0 + 3 * MIN, 'i-1', 'L1', 0),
    ];
    // The parked member and one running instance under max 1: fine.
    expect(ids(check(base))).toEqual([]);
    // Without the stop, the same trace has two alive under max 1.
    expect(ids(check(base.filter((e) => e.kind !== 'instance-stopped')))).toEqual(['I1']);
    // Started for a second launch while i-1 runs: two alive again.
    const started: TraceEvent = {
      kind: 'instance-started',
      atMs: T0 + 4 * MIN,
      instanceId: 'i-m',
      launchId: 'L2',
      index: 0,
      decidedAtMs: T0 + 4 * MIN,
    };
    const c = check([...base, launch(T0 + 4 * MIN, 'L2', 1), started]);
    expect(ids(c)).toEqual(['I1']);
  });

  it('I3, I7: a started member must register again; a slot started twice or a running member started is detected', () => {
    const start = (atMs: number, instanceId: string, launchId: string, index: number): TraceEvent => ({
      kind: 'instance-started',
      atMs,
      instanceId,
      launchId,
      index,
      decidedAtMs: atMs,
    });
    const parked: TraceEvent[] = [
      launch(T0, 'F1', 1),
      created(T0, 'i-m', 'F1', 0),
      { kind: 'instance-registered', atMs: T0 + MIN, instanceId: 'i-m' },
      { kind: 'instance-stopped', atMs: T0 + 2 * MIN, instanceId: 'i-m' },
    ];
    // Parked for hours: no registration is owed.
    expect(ids(check(parked, T0 + 5 * 60 * MIN))).toEqual([]);
    // Started and never registered again: I3 after registrationTimeout + janitor period.
    const t = T0 + 3 * MIN;
    const startedTrace = [...parked, launch(t, 'L1', 1), start(t, 'i-m', 'L1', 0)];
    const deadline =
      t + params.registrationTimeoutMs + params.janitorPeriodMs + 2 * params.hopMs + params.shutdownMs;
    expect(ids(check(startedTrace, deadline - 1000))).toEqual([]);
    expect(ids(check(startedTrace, deadline + 1000))).toEqual(['I3']);
    expect(
      ids(
        check(
          [...startedTrace, { kind: 'instance-registered', atMs: t + MIN, instanceId: 'i-m' }],
          deadline + 1000,
        ),
      ),
    ).toEqual([]);
    // The slot of a launch filled twice (a start after a launch for the same index): I7.
    const twice = check([
      ...parked,
      launch(t, 'L1', 1),
      created(t, 'i-2', 'L1', 0),
      start(t, 'i-m', 'L1', 0),
    ]);
    expect(ids(twice)).toEqual(['I7']);
    // A member started while it runs (never stopped): I7.
    const running = check([
      launch(T0, 'F1', 1),
      created(T0, 'i-m', 'F1', 0),
      launch(t, 'L1', 1),
      start(t, 'i-m', 'L1', 0),
    ]);
    expect(ids(running)).toEqual(['I7']);
    expect(running.violations[0]?.message).toContain('not a stopped warm-pool member');
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

  describe("I9: a voluntary disruption never ends a pod's run by force", () => {
    const DEADLINE = T0 + 10 * MIN;
    /** A node of instance i-1, asked to drain (voluntary or not) at T0, cordoned by the agent with 2 pods. */
    const drained = (disruption: 'voluntary' | 'involuntary'): TraceEvent[] => [
      launch(T0 - 20 * MIN, 'L1', 1),
      { ...created(T0 - 20 * MIN, 'i-1', 'L1', 0), nodeName: 'burst-1' },
      { kind: 'instance-registered', atMs: T0 - 19 * MIN, instanceId: 'i-1' },
      decision({
        atMs: T0,
        actions: [
          { target: 'burst-1', action: 'drain', cause: 'scale-in', disruption, deadlineMs: DEADLINE },
        ],
      }),
      {
        kind: 'node-action',
        atMs: T0 + 1000,
        action: 'cordon',
        target: 'burst-1',
        onPrem: false,
        workloadPods: 2,
      },
    ];
    const stopped = (atMs: number, pods: number): TraceEvent[] => [
      { kind: 'workload-killed', atMs, node: 'burst-1', pods, how: 'instance-stopped' },
      { kind: 'instance-gone', atMs, instanceId: 'i-1' },
    ];

    it('an instance stopped with workload pods on it after a voluntary drain is detected', () => {
      const c = check([...drained('voluntary'), ...stopped(DEADLINE + 1000, 2)]);
      expect(ids(c)).toEqual(['I9']);
      expect(c.violations[0]?.message).toMatch(
        /instance of burst-1 stopped with 2 workload pod\(s\) still running after a voluntary drain/,
      );
      expect(c.coverage.voluntaryDrainsCordoned).toBe(1);
    });

    it('an involuntary drain, a spot warning or a repair in between makes the same stop legitimate', () => {
      expect(ids(check([...drained('involuntary'), ...stopped(DEADLINE + 1000, 2)]))).toEqual([]);
      const spot: TraceEvent = { kind: 'instance-interrupted', atMs: T0 + 2 * MIN, instanceId: 'i-1' };
      expect(ids(check([...drained('voluntary'), spot, ...stopped(T0 + 4 * MIN, 2)]))).toEqual([]);
      const repair = decision({
        atMs: T0 + 3 * MIN,
        decisionId: 'd-2',
        actions: [{ target: 'i-1', action: 'terminate', cause: 'repair' }],
      });
      expect(ids(check([...drained('voluntary'), repair, ...stopped(T0 + 4 * MIN, 1)]))).toEqual([]);
    });

    it('a drained node (no workload pods left) may stop; a deleted Node with pods may not', () => {
      const emptied: TraceEvent = {
        kind: 'node-workload',
        atMs: T0 + 2 * MIN,
        node: 'burst-1',
        workloadPods: 0,
      };
      expect(ids(check([...drained('voluntary'), emptied, ...stopped(T0 + 3 * MIN, 0)]))).toEqual([]);
      const deleted: TraceEvent = {
        kind: 'workload-killed',
        atMs: T0 + 3 * MIN,
        node: 'burst-1',
        pods: 1,
        how: 'node-deleted',
      };
      expect(ids(check([...drained('voluntary'), deleted]))).toEqual(['I9']);
    });

    it('a node left cordoned with workload pods well past the deadline of its voluntary drain is detected', () => {
      const late = DEADLINE + params.janitorPeriodMs + 2 * params.hopMs;
      expect(ids(check(drained('voluntary'), late - 1000))).toEqual([]);
      const c = check(drained('voluntary'), late + 1000);
      expect(ids(c)).toEqual(['I9']);
      expect(c.violations[0]?.message).toMatch(
        /burst-1 is still cordoned with 2 workload pod\(s\).*must uncordon/,
      );
      expect(c.coverage.voluntaryDrainsBlockedAtDeadline).toBe(1);
      // Control: the agent uncordoned it at the deadline.
      const uncordon: TraceEvent = {
        kind: 'node-action',
        atMs: DEADLINE,
        action: 'uncordon',
        target: 'burst-1',
        onPrem: false,
      };
      expect(ids(check([...drained('voluntary'), uncordon], late + 1000))).toEqual([]);
      // An involuntary drain keeps its node cordoned until it ends: not I9's business.
      expect(ids(check(drained('involuntary'), late + 1000))).toEqual([]);
    });
  });

  describe('I10: a failing launch setup or quota is retried only with bounded, growing backoff', () => {
    const setup = { instanceType: 'm7g.large', capacityType: 'spot', imageId: 'ami-1' };
    const createdAt = (atMs: number, id: string, index: number): TraceEvent => ({
      ...created(atMs, id, 'L1', index),
      setup,
    });
    /** Instance `id` launched at `atMs`, never registers, terminated at registrationTimeout. */
    const fails = (atMs: number, id: string, index: number): TraceEvent[] => [
      createdAt(atMs, id, index),
      {
        kind: 'node-action',
        atMs: atMs + params.registrationTimeoutMs,
        action: 'terminate',
        target: id,
        onPrem: false,
      },
      { kind: 'instance-gone', atMs: atMs + params.registrationTimeoutMs + 1000, instanceId: id },
    ];
    const start: TraceEvent[] = [{ kind: 'freshness', atMs: T0, fresh: true }, launch(T0, 'L1', 10)];
    const fail1 = T0 + params.registrationTimeoutMs;

    it('a setup launched again before its backoff ends is detected; after it, it is not', () => {
      const early = check([...start, ...fails(T0, 'i-1', 0), createdAt(fail1 + 4 * MIN, 'i-2', 1)]);
      expect(ids(early)).toEqual(['I10']);
      expect(early.violations[0]?.message).toMatch(
        /launch setup m7g.large ami-1 spot launched again \(i-2\) 4m after its failure #1 in a row; .* only after 5m/,
      );
      expect(ids(check([...start, ...fails(T0, 'i-1', 0), createdAt(fail1 + 5 * MIN, 'i-2', 1)]))).toEqual(
        [],
      );
    });

    it('the required spacing doubles per failure in a row, up to maxSeconds', () => {
      // Failure 2 at fail2 requires 10 min.
      const fail2At = fail1 + 5 * MIN;
      const two = [...start, ...fails(T0, 'i-1', 0), ...fails(fail2At, 'i-2', 1)];
      const fail2 = fail2At + params.registrationTimeoutMs;
      expect(ids(check([...two, createdAt(fail2 + 9 * MIN, 'i-3', 2)]))).toEqual(['I10']);
      expect(ids(check([...two, createdAt(fail2 + 10 * MIN, 'i-3', 2)]))).toEqual([]);
      // Six failures in a row: 5·2^5 = 160 min is capped at 30 min.
      const six: TraceEvent[] = [...start];
      let at = T0;
      for (let k = 0; k < 6; k++) {
        six.push(...fails(at, `i-${k}`, k));
        at += params.registrationTimeoutMs + 30 * MIN;
      }
      const last = at - 30 * MIN;
      expect(ids(check([...six, createdAt(last + 30 * MIN, 'i-9', 9)]))).toEqual([]);
      expect(ids(check([...six, createdAt(last + 29 * MIN, 'i-9', 9)]))).toEqual(['I10']);
    });

    it('a newer instance of the setup that registers resets the count; a stale view counts nothing', () => {
      const healed = [
        ...start,
        ...fails(T0, 'i-1', 0),
        createdAt(fail1 + 5 * MIN, 'i-2', 1),
        { kind: 'instance-registered', atMs: fail1 + 6 * MIN, instanceId: 'i-2' } as TraceEvent,
        createdAt(fail1 + 6 * MIN, 'i-3', 2),
      ];
      expect(ids(check(healed))).toEqual([]);
      const blind: TraceEvent[] = [
        { kind: 'freshness', atMs: T0, fresh: false },
        launch(T0, 'L1', 10),
        ...fails(T0, 'i-1', 0),
        createdAt(fail1 + 1000, 'i-2', 1),
      ];
      const c = check(blind);
      expect(ids(c)).toEqual([]);
      expect(c.coverage.launchSetupFailures).toBe(0);
    });

    it('a RunInstances of a quota under backoff is detected; a successful launch resets the quota', () => {
      const attempt = (atMs: number, outcome: string, instanceType = 'm7g.large'): TraceEvent => ({
        kind: 'run-instances',
        atMs,
        instanceType,
        capacityType: 'on-demand',
        zone: 'eu-central-1a',
        outcome,
      });
      const refused = [attempt(T0, 'VcpuLimitExceeded')];
      // Another type of the same quota class (standard) two minutes later: too early.
      const c = check([...refused, attempt(T0 + 2 * MIN, 'VcpuLimitExceeded', 'c7g.xlarge')]);
      expect(ids(c)).toEqual(['I10']);
      expect(c.violations[0]?.message).toMatch(
        /on-demand quota \(standard types\) refused launch #1 in a row/,
      );
      expect(ids(check([...refused, attempt(T0 + 5 * MIN, 'VcpuLimitExceeded')]))).toEqual([]);
      // The second refusal in a row requires 10 min, a success resets it.
      const twice = [...refused, attempt(T0 + 5 * MIN, 'VcpuLimitExceeded')];
      expect(ids(check([...twice, attempt(T0 + 14 * MIN, 'launched')]))).toEqual(['I10']);
      expect(
        ids(check([...twice, attempt(T0 + 15 * MIN, 'launched'), attempt(T0 + 15 * MIN + 1, 'launched')])),
      ).toEqual([]);
      // Another quota class or capacity type is not held back.
      expect(ids(check([...refused, attempt(T0 + MIN, 'launched', 'g5g.xlarge')]))).toEqual([]);
    });
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
      { kind: 'instance-stopped', atMs: T0, instanceId: 'i-1' },
      { kind: 'instance-started', atMs: T0, instanceId: 'i-1', launchId: 'L2', index: 0, decidedAtMs: T0 },
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
      {
        kind: 'run-instances',
        atMs: T0,
        instanceType: 'm7g.large',
        capacityType: 'spot',
        zone: 'z',
        outcome: 'launched',
      },
      { kind: 'node-workload', atMs: T0, node: 'n', workloadPods: 1 },
      { kind: 'workload-killed', atMs: T0, node: 'n', pods: 1, how: 'instance-stopped' },
      { kind: 'node-action', atMs: T0, action: 'uncordon', target: 'n', onPrem: false },
    ];
    for (const e of events) {
      const line = describeTrace(e);
      expect(line.startsWith('2026-03-16 08:00:00 ')).toBe(true);
      expect(line).not.toContain('\n');
    }
  });
});
