/**
 * Lambda bundles: for each function in FUNCTION_NAMES whose `lambdas/<name>.ts` exists, bundle
 * it with esbuild exactly as lib/infra/burst-functions.ts makes CDK do (ESM, minified, platform
 * node, target ESBUILD_NODE_TARGET (node24), externals from LAMBDA_EXTERNAL_MODULES (none: the SDK is bundled),
 * mainFields module/main, the
 * createRequire banner, external source map without sources content), then:
 * - `lambda.<name>.bundle-bytes`: size of the bundled JS (the `.map` beside it is not counted).
 * - `lambda.<name>.init-ms`: median of 7 cold `import()` of the bundle, each in a fresh `node`
 *   process with the functions' environment (`NODE_OPTIONS=--enable-source-maps`, as the stack
 *   sets it: node then reads the ~3 MB source map at import, which costs ~60-100 ms), timed
 *   inside the process (node's own start-up is excluded: Lambda's INIT is the module import).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { FUNCTION_NAMES, LAMBDA_EXTERNAL_MODULES } from '../../lib/infra/burst-functions.js';
import { ESBUILD_NODE_TARGET } from '../../lib/node-runtime.js';
import { type Benchmark, type BenchResult, median } from './harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE_BUDGET_BYTES = 1_000_000;
const INIT_BUDGET_MS = 250;
const SAMPLES = 7;

/** Mirrors the `bundling` block of burst-functions.ts. */
async function bundle(name: string, outDir: string): Promise<string> {
  const outfile = join(outDir, name, 'index.mjs');
  await build({
    entryPoints: [join(ROOT, 'lambdas', `${name}.ts`)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: ESBUILD_NODE_TARGET,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    mainFields: ['module', 'main'],
    external: [...LAMBDA_EXTERNAL_MODULES],
    banner: {
      js: "import { createRequire as __k3sbCreateRequire } from 'node:module'; const require = __k3sbCreateRequire(import.meta.url);",
    },
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'error',
  });
  return outfile;
}

const LAMBDA_ENV = {
  AWS_REGION: 'eu-central-1',
  AWS_LAMBDA_FUNCTION_NAME: 'k3s-burst-bench',
  POWERTOOLS_SERVICE_NAME: 'k3s-burst',
  POWERTOOLS_METRICS_NAMESPACE: 'k3s-burst',
  // burst-functions.ts: environment NODE_OPTIONS=--enable-source-maps on every function.
  NODE_OPTIONS: '--enable-source-maps',
};

/** One cold import in a fresh process; returns ms spent in `import()`. */
function coldImportMs(file: string): number {
  const url = pathToFileURL(file).href;
  const script = `const t0 = performance.now(); const m = await import(${JSON.stringify(url)}); const dt = performance.now() - t0; if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(2); } console.log(dt.toFixed(3));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH, ...LAMBDA_ENV },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0)
    throw new Error(`cold import of ${file} failed (${r.status}): ${r.stderr.slice(0, 800)}`);
  const ms = Number.parseFloat(r.stdout.trim().split('\n').pop() ?? '');
  if (!Number.isFinite(ms))
    throw new Error(`cold import of ${file} printed no timing: ${r.stdout.slice(0, 200)}`);
  return ms;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'lambda bundles (bundle-bytes, cold init-ms)',
    async run(): Promise<BenchResult[]> {
      // Inside the repository so any external module resolves from node_modules, as it would
      // from the runtime on Lambda; its import time is then part of init-ms.
      mkdirSync(join(ROOT, 'node_modules', '.cache'), { recursive: true });
      const out = mkdtempSync(join(ROOT, 'node_modules', '.cache', 'k3sb-lambda-bench-'));
      const results: BenchResult[] = [];
      try {
        for (const name of FUNCTION_NAMES) {
          if (!existsSync(join(ROOT, 'lambdas', `${name}.ts`))) {
            process.stderr.write(`  lambdas/${name}.ts does not exist yet: skipped\n`);
            continue;
          }
          const file = await bundle(name, out);
          const bytes = statSync(file).size;
          results.push({
            name: `lambda.${name}.bundle-bytes`,
            value: bytes,
            unit: 'bytes',
            budget: BUNDLE_BUDGET_BYTES,
          });
          const times: number[] = [];
          for (let i = 0; i < SAMPLES; i++) times.push(coldImportMs(file));
          results.push({
            name: `lambda.${name}.init-ms`,
            value: median(times),
            unit: 'ms',
            budget: INIT_BUDGET_MS,
            detail: { samples: SAMPLES, minMs: Math.min(...times), maxMs: Math.max(...times) },
          });
        }
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
      return results;
    },
  },
];
