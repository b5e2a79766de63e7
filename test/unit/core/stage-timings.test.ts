import { describe, expect, it } from 'vitest';
import {
  measureStage,
  nextStageTimings,
  percentile,
  STAGE_BUCKETS_SECONDS,
  STAGE_IDS,
  STAGE_SAMPLES_PER_STAGE,
  STAGE_SKEW_TOLERANCE_SECONDS,
  STAGES,
  type StageSample,
  stageOutcome,
  summarizeStages,
} from '../../../lib/core/stage-timings.js';
import { StageName } from '../../../lib/events/index.js';

describe('measureStage', () => {
  it('returns the seconds between two ISO times, to the millisecond', () => {
    expect(measureStage('running-to-ready', '2026-12-07T06:00:00Z', '2026-12-07T06:01:25.250Z')).toEqual({
      ok: true,
      stage: 'running-to-ready',
      seconds: 85.25,
    });
  });

  it('accepts epoch milliseconds as well as ISO times', () => {
    const from = Date.parse('2026-12-07T06:00:00Z');
    expect(measureStage('pod-wait', from, '2026-12-07T06:00:42Z')).toMatchObject({ ok: true, seconds: 42 });
  });

  it('counts a duration slightly below zero (clock skew between sources) as 0 s', () => {
    const m = measureStage('decision-to-running', '2026-12-07T06:00:03Z', '2026-12-07T06:00:00Z');
    expect(m).toEqual({ ok: true, stage: 'decision-to-running', seconds: 0 });
  });

  it('rejects a duration further below zero than the skew tolerance, naming it', () => {
    const m = measureStage(
      'decision-to-running',
      '2026-12-07T06:00:00Z',
      new Date(Date.parse('2026-12-07T06:00:00Z') - (STAGE_SKEW_TOLERANCE_SECONDS + 1) * 1000).toISOString(),
    );
    expect(m.ok).toBe(false);
    if (!m.ok) {
      expect(m.reason).toBe('negative');
      expect(m.detail).toContain('6 s before it starts');
    }
  });

  it('rejects a duration over the stage bound as a stale or unrelated timestamp', () => {
    const m = measureStage('registered-to-ready', '2026-12-06T06:00:00Z', '2026-12-07T06:00:00Z');
    expect(m).toMatchObject({ ok: false, reason: 'too-long' });
    if (!m.ok) expect(m.detail).toContain(`${STAGES['registered-to-ready'].maxSeconds} s bound`);
  });

  it('rejects unparsable times with the values received', () => {
    const m = measureStage('pod-wait', 'yesterday', '2026-12-07T06:00:00Z');
    expect(m).toMatchObject({ ok: false, reason: 'invalid-time' });
    if (!m.ok) expect(m.detail).toContain('"yesterday"');
  });
});

describe('stage table', () => {
  it('names one CloudWatch metric per stage, all distinct and in Seconds', () => {
    const metrics = STAGE_IDS.map((s) => STAGES[s].metric);
    expect(new Set(metrics).size).toBe(STAGE_IDS.length);
    for (const m of metrics) expect(m).toMatch(/^Stage[A-Za-z]+Seconds$/);
  });

  it('has histogram buckets from 1 s to 15 min, ascending', () => {
    expect(STAGE_BUCKETS_SECONDS[0]).toBe(1);
    expect(STAGE_BUCKETS_SECONDS.at(-1)).toBe(900);
    expect([...STAGE_BUCKETS_SECONDS].sort((a, b) => a - b)).toEqual([...STAGE_BUCKETS_SECONDS]);
  });
});

describe('percentile and summarizeStages', () => {
  it('uses the nearest rank', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(10);
    expect(percentile(xs, 95)).toBe(19);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });

  it('summarises each stage over its most recent samples only', () => {
    const samples: StageSample[] = [];
    // 5 old slow samples, then 10 recent fast ones
    for (let i = 0; i < 5; i++)
      samples.push({
        stage: 'running-to-ready',
        subject: `old-${i}`,
        at: `2026-12-01T00:00:0${i}Z`,
        seconds: 500,
      });
    for (let i = 0; i < 10; i++)
      samples.push({
        stage: 'running-to-ready',
        subject: `new-${i}`,
        at: `2026-12-07T00:00:0${i}Z`,
        seconds: 30 + i,
      });
    const s = summarizeStages(samples, 10);
    expect(s.map((x) => x.stage)).toEqual([...STAGE_IDS]);
    expect(s.find((x) => x.stage === 'running-to-ready')).toEqual({
      stage: 'running-to-ready',
      count: 10,
      p50Seconds: 34,
      p95Seconds: 39,
      maxSeconds: 39,
    });
    expect(s.find((x) => x.stage === 'pod-wait')).toEqual({
      stage: 'pod-wait',
      count: 0,
      p50Seconds: null,
      p95Seconds: null,
      maxSeconds: null,
    });
  });
});

describe('stageOutcome and nextStageTimings', () => {
  const NOW_MS = Date.parse('2026-12-07T06:00:00Z');
  const ago = (s: number) => new Date(NOW_MS - s * 1000).toISOString();

  it('takes the oldest pending shape of a launch for pending-to-decision, and skips shapes it does not know', () => {
    const out = stageOutcome({
      observations: [],
      instances: [],
      inFlight: [],
      decided: {
        decidedAt: ago(0),
        launches: [
          { launchId: 'd1-0', shapeIds: ['a', 'b'] },
          { launchId: 'd1-1', shapeIds: ['gone'] },
        ],
        pendingShapes: [
          { id: 'a', oldestPendingSince: ago(12) },
          { id: 'b', oldestPendingSince: ago(30) },
        ],
      },
      recorded: undefined,
    });
    expect(out.samples).toEqual([{ stage: 'pending-to-decision', subject: 'd1-0', at: ago(0), seconds: 30 }]);
  });

  it('times decision-to-running only for instances of a known decision', () => {
    const out = stageOutcome({
      observations: [],
      instances: [
        { instanceId: 'i-0aaaaaaaaaaaaaaa1', launchedAt: ago(50), decisionId: 'd1' },
        { instanceId: 'i-0aaaaaaaaaaaaaaa2', launchedAt: ago(50), decisionId: 'old' },
      ],
      inFlight: [{ decisionId: 'd1', decidedAt: ago(52) }],
      recorded: undefined,
    });
    expect(out.samples).toEqual([
      { stage: 'decision-to-running', subject: 'i-0aaaaaaaaaaaaaaa1', at: ago(50), seconds: 2 },
    ]);
  });

  it('skips what was recorded or rejected before', () => {
    const obs = {
      kind: 'pod-running' as const,
      podUid: 'u1',
      node: 'n',
      pendingSince: ago(60),
      runningAt: ago(10),
    };
    const first = stageOutcome({ observations: [obs], instances: [], inFlight: [], recorded: undefined });
    expect(first.samples).toHaveLength(1);
    const recorded = nextStageTimings(undefined, first, NOW_MS);
    expect(stageOutcome({ observations: [obs], instances: [], inFlight: [], recorded })).toEqual({
      samples: [],
      rejected: [],
    });
  });

  it('keeps every sample of the last 30 min and the newest 100 per stage beyond, bounded', () => {
    const old: StageSample[] = Array.from({ length: 300 }, (_, i) => ({
      stage: 'pod-wait',
      subject: `old-${i}`,
      at: ago(3_600 + i),
      seconds: 20,
    }));
    const recent: StageSample[] = Array.from({ length: 300 }, (_, i) => ({
      stage: 'pod-wait',
      subject: `new-${i}`,
      at: ago(i),
      seconds: 20,
    }));
    const next = nextStageTimings({ samples: old, rejected: [] }, { samples: recent, rejected: [] }, NOW_MS);
    expect(next.samples).toHaveLength(300);
    expect(next.samples.every((s) => s.subject.startsWith('new-'))).toBe(true);
    const quiet = nextStageTimings({ samples: old, rejected: [] }, { samples: [], rejected: [] }, NOW_MS);
    expect(quiet.samples).toHaveLength(STAGE_SAMPLES_PER_STAGE);
    expect(quiet.samples[0]?.subject).toBe('old-0');
  });

  it('uses the same stage names as the stored record schema', () => {
    expect(StageName.options).toEqual([...STAGE_IDS]);
  });
});
