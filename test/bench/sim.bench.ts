/**
 * Simulator benchmarks (issue 3):
 *
 * - `sim.24h-default.wall-ms`: 24 simulated hours of the built-in demo scenario (what
 *   `npm run demo` runs: engine, real planner, invariant checker, summary), median of ≥ 3 runs
 *   after one warm-up. Budget 5 s.
 * - `sim.chaos.seeds-per-second`: `simulate --chaos` throughput over ≥ 2,000 seeds of the full
 *   chaos length (CHAOS_HOURS simulated hours each) on the default thread count (one worker
 *   thread per available core, as the CLI runs them). Budget ≥ 10 (issue 14).
 *   `sim.chaos.violating-seeds` must be 0.
 * - `sim.chaos.seeds-per-second.1-worker`: the same on one thread (seeds 1–500): the per-seed
 *   cost, which parallelism only multiplies by the cores.
 *
 * - `sim.burst-wait-p50-s.{stock,prebaked,warm}`: the demo day (seed 1) with each start-up profile,
 *   and with the pre-baked image plus the demo's warm pool (`demoWarmPoolConfig`)
 *   (STARTUP_PROFILES, sources in examples/scenarios/README.md): the p50 of how long pods that
 *   waited for capacity waited. Budgets (issue 17): prebaked ≤ 45 s, warm ≤ 20 s; stock is
 *   reported. The warm figure misses its budget with the documented distributions: a start
 *   alone is ~19 s (examples/scenarios/README.md), and the batch window comes before it.
 *
 * `SIM_BENCH_CHAOS_SEEDS=N` (and `SIM_BENCH_CHAOS_SEEDS_1_WORKER=N`) run N chaos seeds instead
 * (for a quick local look; the recorded number is only comparable at the default).
 */
import { loadConfig } from '../../lib/core/index.js';
import { CHAOS_HOURS, runChaos } from '../../lib/sim/chaos.js';
import { defaultChaosWorkers } from '../../lib/sim/chaos-pool.js';
import { DEFAULT_CONFIG, DEFAULT_SCENARIO, demoWarmPoolConfig } from '../../lib/sim/defaults.js';
import { runScenario } from '../../lib/sim/run.js';
import { parseScenario, withStartup } from '../../lib/sim/scenario.js';
import { type Benchmark, type BenchResult, timeIt } from './harness.js';

const CHAOS_SEEDS = Number(process.env.SIM_BENCH_CHAOS_SEEDS ?? 2000);
const CHAOS_SEEDS_1_WORKER = Number(process.env.SIM_BENCH_CHAOS_SEEDS_1_WORKER ?? 500);
const CHAOS_WORKERS = defaultChaosWorkers();

/**
 * Chaos throughput on `workers` threads (seeds 1 … `count`). On all the cores (the default of
 * `simulate --chaos`) it is the budget entry `sim.chaos.seeds-per-second` and carries
 * `sim.chaos.violating-seeds`; on one thread it is `sim.chaos.seeds-per-second.1-worker`, the
 * per-seed cost that parallelism multiplies.
 */
async function chaosThroughput(workers: number, count: number): Promise<BenchResult[]> {
  let seeds = 0;
  let events = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const failures = await runChaos({
    seeds: count,
    fromSeed: 1,
    hours: CHAOS_HOURS,
    workers,
    onSeed: (_done, o) => {
      seeds++;
      events += o.result.stats.eventsProcessed;
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const detail = {
    seeds,
    workers,
    hoursPerSeed: CHAOS_HOURS,
    wallSeconds: Math.round(seconds),
    eventsPerSeed: Math.round(events / Math.max(1, seeds)),
    // This process's CPU (all its threads) per seed: on a shared machine wall time overstates the cost.
    cpuMsPerSeed: Math.round((cpu.user + cpu.system) / 1000 / Math.max(1, seeds)),
  };
  if (workers === 1) {
    return [
      {
        name: 'sim.chaos.seeds-per-second.1-worker',
        value: seeds / seconds,
        unit: 'seeds/s',
        higherIsBetter: true,
        detail: { ...detail, violatingSeeds: failures.length },
      },
    ];
  }
  return [
    {
      name: 'sim.chaos.seeds-per-second',
      value: seeds / seconds,
      unit: 'seeds/s',
      higherIsBetter: true,
      budget: 10,
      detail,
    },
    {
      name: 'sim.chaos.violating-seeds',
      value: failures.length,
      unit: 'seeds',
      budget: 0,
      detail: {
        seeds,
        firstFailingSeeds:
          failures
            .map((f) => f.seed)
            .slice(0, 10)
            .join(' ') || 'none',
      },
    },
  ];
}

export const benchmarks: Benchmark[] = [
  {
    name: 'sim.burst-wait',
    run: async (): Promise<BenchResult[]> => {
      const scenario = parseScenario(DEFAULT_SCENARIO, 'built-in demo scenario');
      const config = loadConfig(DEFAULT_CONFIG, 'built-in example config');
      const out: BenchResult[] = [];
      const budgets = { stock: undefined, prebaked: 45, warm: 20 };
      for (const variant of ['stock', 'prebaked', 'warm'] as const) {
        // `warm`: the pre-baked image and the demo's warm pool (the third row of `npm run demo`).
        const r = await runScenario({
          scenario: withStartup(scenario, variant === 'warm' ? 'prebaked' : variant),
          config: variant === 'warm' ? loadConfig(demoWarmPoolConfig(), 'demo warm pool') : config,
          configName: 'bench',
          seed: 1,
        });
        const w = r.summary.pods.capacityWait;
        const budget = budgets[variant];
        out.push({
          name: `sim.burst-wait-p50-s.${variant}`,
          value: w.p50Seconds,
          unit: 's',
          ...(budget !== undefined ? { budget } : {}),
          detail: {
            p95Seconds: w.p95Seconds,
            pods: w.count,
            violations: r.summary.invariants.violations.length,
            ...(variant === 'warm'
              ? { warmStarts: r.summary.warmPool.starts, parkedVolumeUsd: r.summary.warmPool.parkedVolumeUsd }
              : {}),
          },
        });
      }
      return out;
    },
  },
  {
    name: 'sim.24h-default',
    run: async (): Promise<BenchResult[]> => {
      const scenario = parseScenario(DEFAULT_SCENARIO, 'built-in demo scenario');
      const config = loadConfig(DEFAULT_CONFIG, 'built-in example config');
      let violations = 0;
      const cpu0 = process.cpuUsage();
      const runs = { count: 0 };
      const t = await timeIt(
        async () => {
          runs.count++;
          const out = await runScenario({ scenario, config, configName: 'bench', seed: 1 });
          violations += out.summary.invariants.violations.length;
        },
        { samples: 3, warmup: 1 },
      );
      const cpu = process.cpuUsage(cpu0);
      return [
        {
          name: 'sim.24h-default.wall-ms',
          value: t.medianMs,
          unit: 'ms',
          budget: 5000,
          detail: {
            samples: t.samples,
            minMs: Math.round(t.minMs),
            maxMs: Math.round(t.maxMs),
            violations,
            // CPU time per run: on a shared, loaded machine wall time overstates the cost.
            cpuMsPerRun: Math.round((cpu.user + cpu.system) / 1000 / runs.count),
          },
        },
      ];
    },
  },
  {
    name: 'sim.chaos',
    run: () => chaosThroughput(CHAOS_WORKERS, CHAOS_SEEDS),
  },
  {
    name: 'sim.chaos.1-worker',
    run: () => chaosThroughput(1, CHAOS_SEEDS_1_WORKER),
  },
];

export default benchmarks;
