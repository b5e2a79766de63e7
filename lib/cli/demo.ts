/**
 * `k3s-burst demo` (`npm run demo`): the built-in scenario — three Pis, a CI burst at 10:00
 * and a nightly scale-to-zero schedule — simulated for a day with the real planner. Prints
 * the summary and a terminal chart, the same day with nodes booted from a pre-baked image
 * side by side (start-up profiles, issue 17), writes the HTML report and says where it is.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../core/index.js';
import { DEFAULT_CONFIG, DEFAULT_SCENARIO, demoWarmPoolConfig } from '../sim/defaults.js';
import { asciiChart } from '../sim/report.js';
import { progressBar, runScenario } from '../sim/run.js';
import { type ImageProfile, parseScenario, STARTUP_PROFILES, withStartup } from '../sim/scenario.js';
import { dur, formatSummary, type Summary, usd } from '../sim/summary.js';
import { type CliIo, ExitCode } from './io.js';

const USAGE = `Usage: k3s-burst demo [--out DIR] [--seed N]

Simulates one weekday of a 3-Pi K3s cluster with k3s-burst (no AWS, no cluster needed):
a CI burst at 10:00 UTC bursts onto EC2, and the night schedule scales the cloud to zero.
Writes report.html and summary.json to DIR (default ./sim-out).
`;

/** examples/scenarios/ of this package, wherever the command runs from. */
const EXAMPLE_SCENARIOS = fileURLToPath(new URL('../../examples/scenarios/', import.meta.url));

/** `path` relative to `cwd` when it is below it, else absolute; ends with a separator. */
export function shortPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return path.endsWith(sep) ? path : path + sep;
  return rel + sep;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  let out = 'sim-out';
  let seed = 1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      io.stdout(USAGE);
      return ExitCode.ok;
    }
    const v = argv[i + 1];
    if ((a === '--out' || a === '--seed') && v !== undefined) {
      if (a === '--out') out = v;
      else if (/^\d+$/.test(v)) seed = Number(v);
      else {
        io.stderr(`k3s-burst demo: --seed must be a non-negative integer (got "${v}")\n\n${USAGE}`);
        return ExitCode.usage;
      }
      i++;
      continue;
    }
    io.stderr(`k3s-burst demo: unknown option "${a}"\n\n${USAGE}`);
    return ExitCode.usage;
  }
  const scenario = parseScenario(DEFAULT_SCENARIO, 'built-in demo scenario');
  const config = loadConfig(DEFAULT_CONFIG, 'built-in example config');
  const outDir = resolve(io.cwd, out);
  const onProgress = io.isTTY
    ? progressBar(io.stderr, Date.parse(scenario.start), scenario.hours * 3_600_000)
    : undefined;
  const t0 = performance.now();
  const result = await runScenario({
    scenario,
    config,
    configName: 'built-in example config (examples/k3s-burst.config.json)',
    seed,
    outDir,
    onProgress,
  });
  // The same day, same seed, with nodes from a `k3s-burst bake` image instead of stock Ubuntu,
  // and with that image plus a warm pool of stopped instances by day.
  const prebaked = await runScenario({
    scenario: withStartup(scenario, 'prebaked'),
    config,
    configName: 'built-in example config, prebaked image',
    seed,
  });
  const warm = await runScenario({
    scenario: withStartup(scenario, 'prebaked'),
    config: loadConfig(demoWarmPoolConfig(), 'built-in example config with a warm pool'),
    configName: 'built-in example config, prebaked image, warm pool',
    seed,
  });
  const wallS = (performance.now() - t0) / 1000;
  io.stdout(`k3s-burst demo: ${scenario.description}\n\n`);
  io.stdout(formatSummary(result.summary));
  io.stdout('\n');
  io.stdout(asciiChart('Pending pods', result.result.samples, (s) => s.pendingPods));
  io.stdout('\n');
  io.stdout(asciiChart('Cloud nodes (EC2 instances)', result.result.samples, (s) => s.cloudInstances));
  io.stdout('\n');
  io.stdout(startupComparison(scenario.cloud.startup, result.summary, prebaked.summary, warm.summary));
  io.stdout(`\nSimulated ${scenario.hours} h (three times) in ${wallS.toFixed(2)} s. Times are UTC.\n`);
  io.stdout(`Open the report: ${result.reportPath}\n`);
  io.stdout(`Summary:         ${result.summaryPath}\n`);
  const scenarios = shortPath(io.cwd, EXAMPLE_SCENARIOS);
  io.stdout(
    `More scenarios:  ${scenarios}README.md\n` +
      `Try one:         k3s-burst simulate --scenario ${scenarios}ci-burst.json [--config your-config.json]\n`,
  );
  return result.summary.invariants.violations.length > 0 ? ExitCode.failure : ExitCode.ok;
}

/** How long burst pods waited with each start-up profile and with a warm pool, side by side. */
export function startupComparison(first: ImageProfile, a: Summary, b: Summary, warm: Summary): string {
  const ready = (p: keyof typeof STARTUP_PROFILES) =>
    STARTUP_PROFILES[p].boot.medianSeconds + STARTUP_PROFILES[p].join.medianSeconds;
  const line = (name: string, readyText: string, s: Summary) => {
    const w = s.pods.capacityWait;
    return `  ${name.padEnd(32)}  ${readyText.padEnd(30)}  burst wait p50 ${dur(w.p50Seconds)}  p95 ${dur(w.p95Seconds)}`;
  };
  const pool = warm.warmPool;
  const poolConfig = demoWarmPoolConfig();
  const members = Math.max(0, ...(poolConfig.schedules ?? []).map((x) => x.warmPoolSize ?? 0));
  return [
    'Start-up profile (docs/nodes.md#pre-baking-an-ami; the sources: examples/scenarios/README.md)',
    line(`${first} image`, `node Ready ~${ready(first)}s after launch`, a),
    line('prebaked image (k3s-burst bake)', `node Ready ~${ready('prebaked')}s after launch`, b),
    line('prebaked + warm pool (by day)', `node Ready ~${ready('warm')}s after start`, warm),
    `  (warm pool: ${members} stopped ${poolConfig.warmPool?.instanceTypes?.join('/')} by day; ${pool.starts} started, ${pool.fills} launched to park; the day cost ${usd(warm.cloud.costUsd.total)} with the pool's volumes (${usd(pool.parkedVolumeUsd)}), ${usd(b.cloud.costUsd.total)} without)`,
    '',
  ].join('\n');
}
