/**
 * Benchmark harness. Each `test/bench/*.bench.ts` exports `benchmarks: Benchmark[]`; the
 * runner executes them and writes medians to `bench-results.json`. Budgets are checked
 * here, not in unit tests: these machines are noisy.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** Budget the value must stay within (≤ for most, ≥ when `higherIsBetter`). */
  budget?: number;
  higherIsBetter?: boolean;
  /** Extra context: sample count, min/max, notes. */
  detail?: Record<string, number | string>;
}

export interface Benchmark {
  name: string;
  run: () => Promise<BenchResult[]> | BenchResult[];
}

export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Time `fn` `samples` times after `warmup` runs; return the median and spread in ms. */
export async function timeIt(
  fn: () => unknown | Promise<unknown>,
  opts: { samples?: number; warmup?: number } = {},
): Promise<{ medianMs: number; minMs: number; maxMs: number; samples: number }> {
  const samples = opts.samples ?? 15;
  const warmup = opts.warmup ?? 3;
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), samples };
}

/**
 * The first `node` on PATH outside node_modules whose major differs from this process's (e.g.
 * the system's Node.js 20 beside the Node.js 24 npm scripts run on), to measure both in one run.
 */
export function otherNodeBinary(): { path: string; version: string; major: number } | undefined {
  const majorOf = (v: string) => Number(/^v?(\d+)\./.exec(v.trim())?.[1]);
  const mine = majorOf(process.version);
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir || dir.includes('node_modules')) continue;
    const path = join(dir, 'node');
    if (!existsSync(path)) continue;
    try {
      const version = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
      const major = majorOf(version);
      if (Number.isFinite(major) && major !== mine) return { path, version, major };
    } catch {
      // not runnable: try the next one
    }
  }
  return undefined;
}
