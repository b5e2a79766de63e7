import { expect } from 'vitest';
import { describeFailure } from '../../../lib/cli/simulate.js';
import { runChaos } from '../../../lib/sim/chaos.js';
import type { CheckCoverage } from '../../../lib/sim/invariants.js';

/**
 * Simulated hours per chaos seed in `npm test`: shorter than the CLI's 2.5 h so 200 seeds fit
 * in the test budget on 2 cores; long enough for registration timeouts (≤ 15 min), drains,
 * spot interruptions, outages and schedule drops to play out. The bench and
 * `simulate --chaos` run the full length.
 */
export const CHAOS_TEST_HOURS = 1;

/**
 * Run `count` seeds from `from`; fail with each failing seed's violations and timeline. Returns
 * how often the I9 and I10 checks had a case to judge, summed over the seeds.
 */
export async function expectNoViolations(from: number, count: number): Promise<CheckCoverage> {
  let ran = 0;
  let launched = 0;
  const coverage: CheckCoverage = {
    voluntaryDrainsCordoned: 0,
    voluntaryDrainsBlockedAtDeadline: 0,
    launchSetupFailures: 0,
    launchSetupRelaunches: 0,
    quotaRefusals: 0,
    quotaRetries: 0,
  };
  const failures = await runChaos({
    seeds: count,
    fromSeed: from,
    hours: CHAOS_TEST_HOURS,
    onSeed: (_done, o) => {
      ran++;
      launched += o.result.stats.instancesLaunched;
      for (const k of Object.keys(coverage) as Array<keyof CheckCoverage>) coverage[k] += o.result.checks[k];
    },
  });
  const report = failures.map((f) => describeFailure(f, CHAOS_TEST_HOURS)).join('');
  expect(report).toBe('');
  expect(ran).toBe(count);
  // The seeds exercise the cloud, not just the Pis.
  expect(launched).toBeGreaterThan(count);
  return coverage;
}
