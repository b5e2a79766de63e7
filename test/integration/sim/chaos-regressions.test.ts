/**
 * Chaos seeds that once violated an invariant, at the length they failed at. Each line says
 * what was wrong; they must stay green.
 */
import { describe, expect, it } from 'vitest';
import { describeFailure } from '../../../lib/cli/simulate.js';
import { CHAOS_HOURS, runChaosSeed } from '../../../lib/sim/chaos.js';

const cases: Array<{ seed: number; hours: number; was: string }> = [
  {
    seed: 1003,
    hours: 1,
    was: 'I1: checker grace after a schedule drop did not allow for the reconcile that notices a drain ended when its result was dropped',
  },
  {
    seed: 1221,
    hours: CHAOS_HOURS,
    was: 'I1: launch handler dropped the in-flight record, so the planner counted a sibling launch of the same decision as materialized',
  },
  { seed: 1749, hours: CHAOS_HOURS, was: 'I1: same as 1221' },
  { seed: 1932, hours: CHAOS_HOURS, was: 'I1: same as 1221' },
  {
    seed: 312,
    hours: CHAOS_HOURS,
    was: "I5 (checker): just after an outage, pods the plan counted on the NotReady nodes' capacity (meltdown protection, by design) were judged as launched for nothing",
  },
];

describe('chaos regression seeds', () => {
  it.each(cases)(
    'seed $seed ($hours h) holds every invariant',
    async ({ seed, hours }) => {
      const outcome = await runChaosSeed(seed, hours);
      expect(outcome.violations.length === 0 ? '' : describeFailure(outcome, hours)).toBe('');
      expect(outcome.result.stats.instancesLaunched).toBeGreaterThan(0);
    },
    120_000,
  );
});
