/**
 * `k3s-burst simulate`: run the offline simulator on a scenario (what-if report), or
 * `--chaos` fault-injection runs that check the safety invariants I1–I11.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfigJson, ValidationError } from '../events/index.js';
import { CHAOS_HOURS, type ChaosOutcome, runChaos } from '../sim/chaos.js';
import { defaultChaosWorkers } from '../sim/chaos-pool.js';
import { fmtClock, INVARIANT_TITLES } from '../sim/invariants.js';
import { loadScenarioAndConfig, progressBar, runScenario, textProgress } from '../sim/run.js';
import { withStartup } from '../sim/scenario.js';
import { formatSummary } from '../sim/summary.js';
import { type CliIo, ExitCode } from './io.js';

const USAGE = `Usage:
  k3s-burst simulate --scenario FILE [--config FILE] [--seed N] [--out DIR] [--hours H] [--startup P]
  k3s-burst simulate --chaos [--seeds N] [--from-seed S] [--hours H] [--workers K]

Runs the offline simulator: a K3s cluster, EC2, Tailscale and the k3s-burst control plane,
with decisions made by the real planner. No AWS, no cluster.

Options:
  --scenario FILE   scenario file (see examples/scenarios/README.md)
  --config FILE     k3s-burst config to simulate (default: the scenario's inline config,
                    else the built-in example config)
  --seed N          random seed (default 1); the same seed gives the same run
  --out DIR         write report.html and summary.json there (default ./sim-out)
  --hours H         override the scenario's length in simulated hours
  --startup P       start-up profile of new nodes: stock (installs at boot) or prebaked
                    (a k3s-burst bake image); replaces the scenario's cloud.boot/join
  --json            print summary.json to stdout instead of the text summary
  --chaos           run seeded random scenarios with random faults, checking I1–I11
  --seeds N         chaos: number of seeds (default 100)
  --from-seed S     chaos: first seed (default 1)
  --workers K       chaos: worker threads running seeds side by side (default: the cores
                    available, here ${defaultChaosWorkers()}); each seed's result is the same for any K
  -h, --help        show this help

Exit codes: 0 ok, 1 invariant violations, 2 bad usage or invalid files.
`;

interface Args {
  scenario?: string;
  config?: string;
  seed: number;
  out?: string;
  hours?: number;
  startup?: 'stock' | 'prebaked';
  json: boolean;
  chaos: boolean;
  seeds: number;
  fromSeed: number;
  workers?: number;
  help: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const args: Args = { seed: 1, json: false, chaos: false, seeds: 100, fromSeed: 1, help: false };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  const int = (text: string, flag: string, min: number): number => {
    if (!/^\d+$/.test(text) || Number(text) < min) {
      throw new UsageError(`${flag} must be an integer ≥ ${min} (got "${text}")`);
    }
    return Number(text);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined];
    const take = () => {
      if (inline !== undefined) return inline;
      const v = value(i, flag);
      i++;
      return v;
    };
    switch (flag) {
      case '--scenario':
        args.scenario = take();
        break;
      case '--config':
        args.config = take();
        break;
      case '--seed':
        args.seed = int(take(), '--seed', 0);
        break;
      case '--out':
        args.out = take();
        break;
      case '--hours': {
        const v = take();
        const h = Number(v);
        if (!Number.isFinite(h) || h <= 0 || h > 24 * 14) {
          throw new UsageError(`--hours must be a number of hours in (0, 336] (got "${v}")`);
        }
        args.hours = h;
        break;
      }
      case '--startup': {
        const v = take();
        if (v !== 'stock' && v !== 'prebaked') {
          throw new UsageError(`--startup must be stock or prebaked (got "${v.slice(0, 20)}")`);
        }
        args.startup = v;
        break;
      }
      case '--json':
        args.json = true;
        break;
      case '--chaos':
        args.chaos = true;
        break;
      case '--seeds':
        args.seeds = int(take(), '--seeds', 1);
        break;
      case '--from-seed':
        args.fromSeed = int(take(), '--from-seed', 0);
        break;
      case '--workers':
        args.workers = int(take(), '--workers', 1);
        break;
      case '-h':
      case '--help':
        args.help = true;
        break;
      default:
        throw new UsageError(`unknown option "${a}"`);
    }
  }
  return args;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`k3s-burst simulate: ${err.message}\n\n${USAGE}`);
      return ExitCode.usage;
    }
    throw err;
  }
  if (args.help) {
    io.stdout(USAGE);
    return ExitCode.ok;
  }
  if (args.chaos) return await chaos(args, io);
  if (!args.scenario) {
    io.stderr(`k3s-burst simulate: --scenario FILE is required (or --chaos)\n\n${USAGE}`);
    return ExitCode.usage;
  }
  const scenarioPath = resolve(io.cwd, args.scenario);
  try {
    const configPath = args.config ? resolve(io.cwd, args.config) : undefined;
    const configFile = configPath
      ? { raw: parseConfigJson(readFileSync(configPath, 'utf8'), configPath), path: configPath }
      : undefined;
    const loaded = loadScenarioAndConfig(scenarioPath, configFile);
    const { config, configName: name } = loaded;
    const scenario = args.startup ? withStartup(loaded.scenario, args.startup) : loaded.scenario;
    const outDir = resolve(io.cwd, args.out ?? 'sim-out');
    const hours = args.hours ?? scenario.hours;
    const start = Date.parse(scenario.start);
    const onProgress = io.isTTY ? progressBar(io.stderr, start, hours * 3_600_000) : undefined;
    const t0 = performance.now();
    const out = await runScenario({
      scenario,
      config,
      configName: name,
      seed: args.seed,
      hours,
      outDir,
      onProgress,
    });
    const wallMs = performance.now() - t0;
    if (args.json) {
      io.stdout(`${JSON.stringify(out.summary, null, 2)}\n`);
    } else {
      io.stdout(formatSummary(out.summary));
      io.stdout(`\nSimulated ${hours} h in ${(wallMs / 1000).toFixed(2)} s.\n`);
      io.stdout(`Report:  ${out.reportPath}\nSummary: ${out.summaryPath}\n`);
    }
    return out.summary.invariants.violations.length > 0 ? ExitCode.failure : ExitCode.ok;
  } catch (err) {
    return reportError(err, io);
  }
}

/** Invalid files exit 2 with every bad field; a missing file says which. */
export function reportError(err: unknown, io: CliIo): number {
  if (err instanceof ValidationError) {
    io.stderr(`k3s-burst simulate: ${err.message}\n`);
    return ExitCode.usage;
  }
  const code = (err as { code?: string } | null)?.code;
  if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
    io.stderr(`k3s-burst simulate: cannot read ${(err as { path?: string }).path ?? 'file'} (${code})\n`);
    return ExitCode.usage;
  }
  throw err;
}

async function chaos(args: Args, io: CliIo): Promise<number> {
  const hours = args.hours ?? CHAOS_HOURS;
  const t0 = performance.now();
  const bar = textProgress(io.stderr);
  const workers = args.workers ?? defaultChaosWorkers();
  const failures = await runChaos({
    seeds: args.seeds,
    fromSeed: args.fromSeed,
    hours,
    workers,
    onSeed: (done) => {
      if (io.isTTY) bar(done / args.seeds, `seed ${args.fromSeed + done - 1}`);
    },
  });
  const wallS = (performance.now() - t0) / 1000;
  const last = args.fromSeed + args.seeds - 1;
  io.stdout(
    `Chaos: ${args.seeds} seeds (${args.fromSeed}…${last}), ${hours} simulated hours each, in ${wallS.toFixed(1)} s on ${Math.min(workers, args.seeds)} thread(s) (${(args.seeds / wallS).toFixed(1)} seeds/s).\n`,
  );
  if (failures.length === 0) {
    io.stdout('No invariant violations: I1–I11 held at every step of every run.\n');
    return ExitCode.ok;
  }
  io.stdout(`${failures.length} seed(s) violated invariants:\n`);
  for (const f of failures.slice(0, 20)) io.stdout(describeFailure(f, hours));
  return ExitCode.failure;
}

/** A failing seed: each violation with its recent timeline, and the command that reproduces it. */
export function describeFailure(f: ChaosOutcome, hours = CHAOS_HOURS): string {
  const lines = [`\nseed ${f.seed}: ${f.violations.length} violation(s)`];
  for (const v of f.violations.slice(0, 3)) {
    lines.push(`  ${fmtClock(v.atMs)} ${v.invariant} (${INVARIANT_TITLES[v.invariant]}): ${v.message}`);
    lines.push('  timeline:');
    for (const t of v.timeline) lines.push(`    ${t}`);
  }
  lines.push(
    `  reproduce: k3s-burst simulate --chaos --seeds 1 --from-seed ${f.seed}${hours === CHAOS_HOURS ? '' : ` --hours ${hours}`}`,
  );
  return `${lines.join('\n')}\n`;
}
