import { describe, expect, it } from 'vitest';
import {
  measureStage,
  percentile,
  STAGE_BUCKETS_SECONDS,
  STAGE_IDS,
  STAGE_SKEW_TOLERANCE_SECONDS,
  STAGES,
  type StageSample,
  summarizeStages,
} from '../../../lib/core/stage-timings.js';

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
