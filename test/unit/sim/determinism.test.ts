/**
 * The simulator is a function of (scenario, config, seed): the same inputs give a
 * byte-identical summary; another seed changes what is random (arrivals, boot times, faults).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/core/index.js';
import { chaosCase } from '../../../lib/sim/chaos.js';
import { CLOUD_TOLERATION, DEFAULT_CONFIG } from '../../../lib/sim/defaults.js';
import { simulate } from '../../../lib/sim/engine.js';
import { parseScenario } from '../../../lib/sim/scenario.js';
import { summarize } from '../../../lib/sim/summary.js';

// No schedules: the planner's cron evaluation dominates run time and is not what is tested here.
const config = loadConfig({ ...DEFAULT_CONFIG, schedules: [] }, 'test config');

const scenario = parseScenario(
  {
    name: 'random-faults',
    start: '2026-03-16T08:00:00Z',
    hours: 2,
    onPrem: [{ name: 'pi-1', cpuMilli: 4000, memoryMiB: 7800 }],
    workloads: [
      {
        kind: 'poisson',
        name: 'jobs',
        ratePerHour: 30,
        cpuMilli: 1000,
        memoryMiB: 2048,
        duration: { medianSeconds: 600, sigma: 0.5 },
        tolerations: [CLOUD_TOLERATION],
      },
      {
        kind: 'burst',
        name: 'ci',
        at: '08:20',
        pods: 12,
        cpuMilli: 1000,
        memoryMiB: 2048,
        duration: { medianSeconds: 900, sigma: 0.3 },
        tolerations: [CLOUD_TOLERATION],
      },
    ],
    cloud: { failedBootProbability: 0.2 },
    faults: {
      spotInterruptionsPerNodeHour: 1,
      delivery: {
        latencyMs: 400,
        extraDelayMaxMs: 30_000,
        delayProbability: 0.2,
        duplicateProbability: 0.2,
        dropProbability: 0.05,
      },
    },
  },
  'random-faults',
);

async function run(seed: number): Promise<string> {
  return JSON.stringify(summarize(await simulate({ scenario, config, seed })));
}

describe('determinism', () => {
  it('the same seed gives an identical summary and identical samples', async () => {
    const a = await simulate({ scenario, config, seed: 42 });
    const b = await simulate({ scenario, config, seed: 42 });
    expect(JSON.stringify(summarize(a))).toBe(JSON.stringify(summarize(b)));
    expect(b.samples).toEqual(a.samples);
    expect(b.decisions).toEqual(a.decisions);
    // The run did something worth comparing.
    expect(summarize(a).pods.created).toBeGreaterThan(20);
    expect(summarize(a).cloud.instancesLaunched).toBeGreaterThan(0);
  });

  it('different seeds give different runs where faults and arrivals are random', async () => {
    const summaries = new Set([await run(1), await run(2), await run(3)]);
    expect(summaries.size).toBe(3);
  });

  it('the summary holds no wall-clock values (seed and scenario echo back)', async () => {
    const s = JSON.parse(await run(7));
    expect(s.seed).toBe(7);
    expect(s.scenario).toBe('random-faults');
    expect(s.start).toBe('2026-03-16T08:00:00.000Z');
    expect(s.end).toBe('2026-03-16T10:00:00.000Z');
  });

  it('chaos cases are a pure function of the seed', () => {
    expect(chaosCase(17, 1)).toEqual(chaosCase(17, 1));
    expect(JSON.stringify(chaosCase(17, 1))).not.toBe(JSON.stringify(chaosCase(18, 1)));
  });
});
