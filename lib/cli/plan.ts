/**
 * `k3s-burst plan`: run the decision function offline on a snapshot, a fleet and a config,
 * and print the plan. The same `planCluster` runs in the reconcile Lambda and the simulator,
 * so this answers "what would k3s-burst do now, and why?" without touching AWS.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { decisionIdFor, planCluster } from '../core/index.js';
import {
  type ClusterSnapshot,
  type Config,
  decodeSnapshotDetail,
  FleetState,
  formatProblem,
  IsoTime,
  type Plan,
  Plan as PlanSchema,
  parseConfigText,
  parseOrThrow,
  ValidationError,
} from '../events/index.js';
import { type CliIo, ExitCode, parseCommandArgs } from './io.js';

const USAGE = `Usage: k3s-burst plan --snapshot FILE --config FILE [--fleet FILE] [options]

Print what k3s-burst would decide for a cluster snapshot, the managed fleet and a config.
Offline: reads only the files given, never AWS or the cluster.

Options:
  --snapshot FILE      ClusterSnapshot detail as the agent sends it (plain JSON or the
                       gzip+base64 wire form)
  --fleet FILE         FleetState: managed instances, in-flight launches, drains
                       (default: an empty fleet)
  --config FILE        k3s-burst.config.json
  --now ISO            decision time (default: the snapshot's observedAt, so the output
                       is reproducible)
  --format json|table  json (default) prints the Plan; table is for reading
  --decision-id ID     decision id (default: derived from cluster and snapshot seq)
  -h, --help           show this help

Exit codes: 0 plan printed, 2 bad usage or invalid input file, including any config
problem (nothing on stdout).

Example:
  k3s-burst plan --snapshot examples/plan/burst/snapshot.json \\
    --fleet examples/plan/burst/fleet.json --config examples/k3s-burst.config.json --format table
`;

/** A bad input: reported on stderr with exit code 2. */
class InputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InputError';
  }
}

function readText(io: CliIo, option: string, file: string): string {
  const path = resolve(io.cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      `cannot read ${option} file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      { cause: err },
    );
  }
  return text;
}

function readJson(io: CliIo, option: string, file: string): unknown {
  const text = readText(io, option, file);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${option} file ${file} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Re-label a validation error with the file it came from. */
function inFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(file, err.problems);
    throw err;
  }
}

function pad(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd()).join('\n');
}

/** A plan for reading in a terminal: the actions as tables, then every explanation. */
export function formatPlanTable(plan: Plan): string {
  const out: string[] = [];
  const s = plan.activeSchedule;
  out.push(
    `Plan ${plan.decisionId} for cluster ${plan.cluster} at ${plan.decidedAt} (snapshot seq ${plan.snapshotSeq ?? 'none'})`,
  );
  out.push(
    `Schedule: ${s.name ?? '(none)'}  minNodes=${s.minNodes} maxNodes=${s.maxNodes}${plan.agentStale ? '   AGENT STALE (fail-safe)' : ''}`,
  );
  const section = (title: string, header: string[], rows: string[][]) => {
    out.push('', `${title} (${rows.length})`);
    if (rows.length > 0) out.push(pad([header, ...rows]));
  };
  section(
    'Launches',
    ['LAUNCH', 'COUNT', 'TYPES', 'CAPACITY', 'ZONES', 'PODS', '$/H'],
    plan.launches.map((l) => [
      l.launchId,
      String(l.count),
      l.instanceTypes.join(','),
      l.capacityTypes.join(','),
      l.zones.length ? l.zones.join(',') : 'any',
      String(l.podsCovered),
      l.estimatedHourlyUsd.toFixed(4),
    ]),
  );
  section(
    'Drains',
    ['NODE', 'INSTANCE', 'DEADLINE'],
    plan.drains.map((d) => [d.nodeName, d.instanceId, d.deadline]),
  );
  section(
    'Terminations',
    ['INSTANCE', 'NODE'],
    plan.terminations.map((t) => [t.instanceId, t.nodeName ?? '-']),
  );
  section(
    'Node deletions',
    ['NODE'],
    plan.nodeDeletions.map((d) => [d.nodeName]),
  );
  section(
    'Unhelpable pods',
    ['SHAPE', 'PODS', 'EXAMPLE'],
    plan.unhelpable.map((u) => [u.shapeId, String(u.count), u.examplePods[0] ?? '-']),
  );
  section(
    'Pending pods',
    ['SHAPE', 'PODS', 'ANSWER', 'CODE'],
    (plan.podAnswers ?? []).map((a) => [a.shapeId, String(a.count), a.kind, a.code]),
  );
  out.push('', 'Why');
  for (const e of plan.explanations) out.push(`  - [${e.kind}] ${e.message}`);
  return `${out.join('\n')}\n`;
}

/** `k3s-burst plan …`; returns the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(io, 'plan', USAGE, args, {
    snapshot: { type: 'string' },
    fleet: { type: 'string' },
    config: { type: 'string' },
    now: { type: 'string' },
    format: { type: 'string', default: 'json' },
    'decision-id': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const missing = (['snapshot', 'config'] as const).filter((k) => !values[k]);
  if (missing.length > 0) {
    io.stderr(`k3s-burst plan: missing ${missing.map((m) => `--${m} FILE`).join(' and ')}\n\n${USAGE}`);
    return ExitCode.usage;
  }
  if (values.format !== 'json' && values.format !== 'table') {
    io.stderr(`k3s-burst plan: --format must be "json" or "table" (got "${values.format}")\n`);
    return ExitCode.usage;
  }

  let config: Config;
  let snapshot: ClusterSnapshot;
  let fleet: FleetState;
  let now: Date;
  let decisionId: string;
  try {
    const configFile = values.config as string;
    const snapshotFile = values.snapshot as string;
    // The one config validator (size/depth guard, JSON, strict schema), as cdk synth runs it.
    config = parseConfigText(readText(io, '--config', configFile), configFile);
    snapshot = inFile(snapshotFile, () => decodeSnapshotDetail(readJson(io, '--snapshot', snapshotFile)));
    fleet = values.fleet
      ? parseOrThrow(FleetState, readJson(io, '--fleet', values.fleet), values.fleet)
      : FleetState.parse({});
    if (snapshot.cluster !== config.cluster.name) {
      throw new ValidationError(snapshotFile, [
        {
          path: '$.cluster',
          message: `the snapshot is from cluster "${snapshot.cluster}" but the config is for "${config.cluster.name}": pass the matching config`,
        },
      ]);
    }
    const nowIso = values.now ?? snapshot.observedAt;
    if (!IsoTime.safeParse(nowIso).success) {
      throw new InputError(
        `--now must be an ISO-8601 time with offset such as 2026-03-14T09:30:00Z (got "${nowIso}")`,
      );
    }
    now = new Date(nowIso);
    decisionId = values['decision-id'] ?? decisionIdFor(config.cluster.name, `snapshot:${snapshot.seq}`);
    if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(decisionId)) {
      throw new InputError(
        `--decision-id must be 1-40 lowercase letters, digits or "-", starting with a letter or digit (got "${decisionId}")`,
      );
    }
  } catch (err) {
    if (err instanceof ValidationError) {
      io.stderr(
        `k3s-burst plan: ${err.what} is invalid:\n${err.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}\n`,
      );
      return ExitCode.usage;
    }
    if (err instanceof InputError) {
      io.stderr(`k3s-burst plan: ${err.message}\n`);
      return ExitCode.usage;
    }
    throw err;
  }

  const plan = planCluster({ config, snapshot, fleet, now, decisionId });
  // The plan is a contract other tools read: never print one that breaks its schema.
  const checked = PlanSchema.safeParse(plan);
  if (!checked.success) {
    io.stderr(
      `k3s-burst plan: internal error, the plan does not match its schema: ${checked.error.message}\n`,
    );
    return ExitCode.failure;
  }
  io.stdout(values.format === 'table' ? formatPlanTable(plan) : `${JSON.stringify(plan, null, 2)}\n`);
  return ExitCode.ok;
}
