/**
 * Chaos seeds on worker threads (`simulate --chaos --workers K`): the number of threads changes
 * only the wall time. Each seed's outcome, the order the caller sees them in, the failures and the
 * early stop are the same for K = 1 (this thread) and K = 3 (three worker threads).
 */
import { describe, expect, it } from 'vitest';
import { type ChaosOutcome, runChaos } from '../../../lib/sim/chaos.js';

const HOURS = 0.5;

async function collect(opts: { workers: number; seeds: number; stopAfter?: number }) {
  const seen: Array<{ done: number; seed: number; outcome: string }> = [];
  const failures = await runChaos({
    seeds: opts.seeds,
    fromSeed: 5,
    hours: HOURS,
    workers: opts.workers,
    ...(opts.stopAfter !== undefined ? { stopAfter: opts.stopAfter } : {}),
    onSeed: (done, o: ChaosOutcome) => seen.push({ done, seed: o.seed, outcome: JSON.stringify(o) }),
  });
  return { seen, failures: failures.map((f) => f.seed) };
}

describe('runChaos on worker threads', () => {
  it('gives every seed the same outcome, in seed order, with 1 or 3 threads', async () => {
    const one = await collect({ workers: 1, seeds: 5 });
    const three = await collect({ workers: 3, seeds: 5 });
    expect(one.seen.map((s) => s.seed)).toEqual([5, 6, 7, 8, 9]);
    expect(one.seen.map((s) => s.done)).toEqual([1, 2, 3, 4, 5]);
    // The seeds did something (a run that simulated nothing would compare equal too).
    for (const s of one.seen) expect(JSON.parse(s.outcome).result.stats.eventsProcessed).toBeGreaterThan(100);
    expect(three.seen).toEqual(one.seen);
    expect(three.failures).toEqual(one.failures);
  }, 120_000);

  it('stops where a run on one thread stops (stopAfter reached), discarding seeds still running', async () => {
    // stopAfter 0: the budget of failing seeds is used up after the first seed, failing or not.
    const one = await collect({ workers: 1, seeds: 4, stopAfter: 0 });
    const two = await collect({ workers: 2, seeds: 4, stopAfter: 0 });
    expect(one.seen.map((s) => s.seed)).toEqual([5]);
    expect(two.seen).toEqual(one.seen);
  }, 120_000);

  it('refuses a thread count below 1 or not an integer, naming the value', async () => {
    await expect(runChaos({ seeds: 2, workers: 0 })).rejects.toThrow(
      /workers must be an integer ≥ 1 \(got 0\)/,
    );
    await expect(runChaos({ seeds: 2, workers: 1.5 })).rejects.toThrow(/got 1\.5/);
  });
});
