import { expect } from 'vitest';
import { describeFailure } from '../../../lib/cli/simulate.js';
import { runChaos } from '../../../lib/sim/chaos.js';

/**
 * Simulated hours per chaos seed in `npm test`: shorter than the CLI's 2.5 h so 200 seeds fit
 * in the test budget on 2 cores; long enough for registration timeouts (≤ 15 min), drains,
 * spot interruptions, outages and schedule drops to play out. The bench and
 * `simulate --chaos` run the full length.
 */
export const CHAOS_TEST_HOURS = 1;

/** Run `count` seeds from `from`; fail with each failing seed's violations and timeline. */
export async function expectNoViolations(from: number, count: number): Promise<void> {
  let ran = 0;
  let launched = 0;
  const failures = await runChaos({
    seeds: count,
    fromSeed: from,
    hours: CHAOS_TEST_HOURS,
    onSeed: (_done, o) => {
      ran++;
      launched += o.result.stats.instancesLaunched;
    },
  });
  const report = failures.map((f) => describeFailure(f, CHAOS_TEST_HOURS)).join('');
  expect(report).toBe('');
  expect(ran).toBe(count);
  // The seeds exercise the cloud, not just the Pis.
  expect(launched).toBeGreaterThan(count);
}
