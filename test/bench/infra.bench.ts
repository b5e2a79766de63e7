/**
 * `infra.synth-ms`: wall time of `npx cdk synth` of the example config as a user runs it —
 * the CDK CLI, the app under tsx, esbuild bundling of the five Lambdas, cdk-nag — with no AWS
 * credentials and no region in the environment (synth is offline). Median of 3 runs, each
 * into a fresh output directory so no bundle is reused. Budget: 30 s.
 *
 * `infra.synth-cpu-ms` is the CPU time (user + sys, children included) of the same runs: on
 * a shared machine the wall time mostly measures the other processes. `infra.synth-warm-ms`
 * is a repeat synth into the same directory (what `cdk deploy` after `cdk synth` does): the
 * Lambda assets are hashed from their sources, so the bundles are reused.
 *
 * If `lambdas/` is incomplete the CLI cannot bundle; the bench then times an in-process
 * synth with code mode `none` and says so in `detail.mode`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FUNCTION_NAMES, K3sBurstStack, validateStackConfig } from '../../lib/infra/index.js';
import { type Benchmark, type BenchResult, median } from './harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RUNS = 3;
const BUDGET_MS = 30_000;

function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  }
  return env;
}

/**
 * One cold `npx cdk synth` into a fresh directory, then a second one into the same
 * directory, which reuses the bundles (source-hashed assets). Wall and CPU ms from bash's `time`.
 */
function cliSynth(): { wallMs: number; cpuMs: number; warmWallMs: number; warmCpuMs: number } {
  const out = mkdtempSync(join(tmpdir(), 'k3s-burst-synth-bench-'));
  try {
    const cold = timedSynth(out);
    const warm = timedSynth(out);
    if (/Bundling asset/.test(warm.log))
      throw new Error('the repeat synth bundled again: asset hash unstable');
    return { wallMs: cold.wallMs, cpuMs: cold.cpuMs, warmWallMs: warm.wallMs, warmCpuMs: warm.cpuMs };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function timedSynth(out: string): { wallMs: number; cpuMs: number; log: string } {
  const r = spawnSync(
    'bash',
    ['-c', 'TIMEFORMAT="%R %U %S"; time npx cdk synth -o "$OUT" --quiet >"$OUT.log" 2>&1'],
    { cwd: ROOT, env: { ...offlineEnv(), OUT: out }, encoding: 'utf8', timeout: 600_000 },
  );
  const log = existsSync(`${out}.log`) ? readFileSync(`${out}.log`, 'utf8') : '';
  if (r.status !== 0 || !existsSync(join(out, 'K3sBurst-pi-lab.template.json'))) {
    throw new Error(`npx cdk synth failed (exit ${r.status}): ${log.slice(-2000)}${r.stderr.slice(-500)}`);
  }
  const [real, user, sys] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  rmSync(`${out}.log`, { force: true });
  return { wallMs: (real as number) * 1000, cpuMs: ((user as number) + (sys as number)) * 1000, log };
}

function inProcessSynth(): number {
  const t0 = performance.now();
  const out = mkdtempSync(join(tmpdir(), 'k3s-burst-synth-bench-'));
  try {
    const app = new App({ outdir: out });
    const input = JSON.parse(readFileSync(join(ROOT, 'examples', 'k3s-burst.config.json'), 'utf8'));
    const config = validateStackConfig(input, 'example config');
    new K3sBurstStack(app, 'K3sBurst-pi-lab', {
      config,
      env: { region: config.cluster.region },
      codeMode: 'none',
      projectRoot: ROOT,
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth();
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return performance.now() - t0;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'infra',
    run(): BenchResult[] {
      const missing = FUNCTION_NAMES.filter((n) => !existsSync(join(ROOT, 'lambdas', `${n}.ts`)));
      if (missing.length > 0) {
        const samples = Array.from({ length: RUNS }, () => inProcessSynth());
        return [
          {
            name: 'infra.synth-ms',
            value: median(samples),
            unit: 'ms',
            budget: BUDGET_MS,
            detail: {
              mode: `in-process, code mode none: lambdas/${missing.join(', ')} missing, CLI synth impossible`,
              samples: RUNS,
              min: Math.min(...samples),
              max: Math.max(...samples),
            },
          },
        ];
      }
      const runs = Array.from({ length: RUNS }, () => cliSynth());
      const wall = runs.map((r) => r.wallMs);
      const cpu = runs.map((r) => r.cpuMs);
      return [
        {
          name: 'infra.synth-ms',
          value: median(wall),
          unit: 'ms',
          budget: BUDGET_MS,
          detail: {
            mode: 'npx cdk synth, esbuild bundling of 5 functions, cdk-nag, no AWS credentials',
            samples: RUNS,
            min: Math.min(...wall),
            max: Math.max(...wall),
          },
        },
        {
          name: 'infra.synth-cpu-ms',
          value: median(cpu),
          unit: 'ms',
          detail: { samples: RUNS, note: 'user+sys CPU of the same runs, children included' },
        },
        {
          name: 'infra.synth-warm-ms',
          value: median(runs.map((r) => r.warmWallMs)),
          unit: 'ms',
          budget: BUDGET_MS,
          detail: {
            samples: RUNS,
            note: 'repeat synth into the same cdk.out: bundles reused (source-hashed assets)',
            cpuMedianMs: median(runs.map((r) => r.warmCpuMs)),
          },
        },
      ];
    },
  },
];
