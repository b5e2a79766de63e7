/**
 * `k3s-burst pause` (and `resume`, lib/cli/resume.ts): the emergency stop. Writes one item in
 * the state table that reconcile honours from its next run; no redeploy, schedules and limits
 * untouched. Both are journaled as decisions (shown by `status`).
 */
import { hostname } from 'node:os';
import { fmtTime } from '../core/format.js';
import { credentialsAware, makeClients, resolveRegion } from '../ops/context.js';
import { defaultEnvironment, type OpsEnvironment, readConfigFile } from '../ops/environment.js';
import { OpsError } from '../ops/errors.js';
import { checkReason, deployedState, pauseCluster, resumeCluster } from '../ops/pause.js';
import { type CliIo, ExitCode, parseCommandArgs } from './io.js';

const PAUSE_USAGE = `Usage: k3s-burst pause [--config FILE] [--region REGION] [--drain] [--reason TEXT]

Stop bursting now, without a redeploy: from the next reconcile (at most one tick, 1 min)
nothing is launched, warm capacity (minNodes) and repairs included. Running cloud nodes
stay, and scale-in removes them as usual; with --drain every cloud node is drained too
(Eviction API, PDBs hold, scaleIn.drainTimeoutSeconds deadline) and then terminated.
Schedules and limits are not changed. Undo with k3s-burst resume.

Options:
  --config FILE      k3s-burst.config.json (default: ./k3s-burst.config.json)
  --region REGION    AWS region of the stack (default: cluster.region of the config)
  --drain            also drain and terminate every cloud node
  --reason TEXT      a note kept with the pause and in the decision journal (≤ 200 chars)
  --json             print the result as JSON
  -h, --help         show this help

Exit codes: 0 paused, 1 the deployment cannot be written (stack missing, no
credentials, no permission), 2 bad usage or invalid config.
`;

const RESUME_USAGE = `Usage: k3s-burst resume [--config FILE] [--region REGION] [--reason TEXT]

Undo k3s-burst pause: from the next reconcile launches are allowed again. A drain that
pause --drain started is not undone (those nodes are terminated when it finishes).

Options:
  --config FILE      k3s-burst.config.json (default: ./k3s-burst.config.json)
  --region REGION    AWS region of the stack (default: cluster.region of the config)
  --reason TEXT      a note kept in the decision journal (≤ 200 chars)
  --json             print the result as JSON
  -h, --help         show this help

Exit codes: 0 resumed (or was not paused), 1 the deployment cannot be written,
2 bad usage or invalid config.
`;

/** Who ran the command, for the audit entry: local user @ host (a hint, not a proof). */
function operator(io: CliIo): string {
  const user = io.env.USER ?? io.env.USERNAME ?? io.env.LOGNAME ?? 'unknown';
  let host = 'unknown-host';
  try {
    host = hostname();
  } catch {
    // keep the placeholder
  }
  return `${user}@${host}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

async function withState<T>(
  io: CliIo,
  env: OpsEnvironment,
  command: string,
  values: { config?: string; region?: string },
  act: (
    state: Awaited<ReturnType<typeof deployedState>>,
    config: ReturnType<typeof readConfigFile>['config'],
  ) => Promise<T>,
): Promise<{ ok: T } | { exit: number }> {
  let region = '';
  try {
    const { config } = readConfigFile(io, values.config);
    region = resolveRegion(values.region, config.cluster.region);
    const clients = makeClients(env.aws(region));
    try {
      return { ok: await act(await deployedState(clients, config, region), config) };
    } finally {
      clients.destroy();
    }
  } catch (raw) {
    const err = region ? credentialsAware(raw, region) : raw;
    io.stderr(`k3s-burst ${command}: ${(err as Error).message}\n`);
    return { exit: err instanceof OpsError ? err.exitCode : ExitCode.failure };
  }
}

/** The `--reason` of pause/resume, or the usage exit after saying what is wrong with it. */
function reasonOrUsage(io: CliIo, command: string, raw: string | undefined): string | { exit: number } {
  try {
    return checkReason(raw);
  } catch (err) {
    io.stderr(`k3s-burst ${command}: ${(err as Error).message}\n`);
    return { exit: ExitCode.usage };
  }
}

/** `k3s-burst pause` with an explicit environment (tests pass moto). */
export async function runPause(args: string[], io: CliIo, env: OpsEnvironment): Promise<number> {
  const parsed = parseCommandArgs(io, 'pause', PAUSE_USAGE, args, {
    config: { type: 'string' },
    region: { type: 'string' },
    drain: { type: 'boolean' },
    reason: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const reason = reasonOrUsage(io, 'pause', values.reason);
  if (typeof reason !== 'string') return reason.exit;
  const now = new Date(env.clock.now());
  const r = await withState(io, env, 'pause', values, (state, config) =>
    pauseCluster(state, config, { at: now, drain: values.drain === true, by: operator(io), reason }),
  );
  if ('exit' in r) return r.exit;
  const { pause, replaced, decisionId } = r.ok;
  if (values.json) {
    io.stdout(`${JSON.stringify(r.ok, null, 2)}\n`);
  } else {
    io.stdout(
      `Paused${replaced ? ` (replacing the pause of ${fmtTime(replaced.since, now)} by ${replaced.by})` : ''}: ` +
        `no launches from the next reconcile (within a minute)${pause?.drain ? '; every cloud node will be drained, then terminated' : '; running cloud nodes stay until scale-in'}.\n` +
        `Journaled as decision ${decisionId}. Check with: npx k3s-burst status. Undo with: npx k3s-burst resume\n`,
    );
  }
  return ExitCode.ok;
}

/** `k3s-burst resume` with an explicit environment (tests pass moto). */
export async function runResume(args: string[], io: CliIo, env: OpsEnvironment): Promise<number> {
  const parsed = parseCommandArgs(io, 'resume', RESUME_USAGE, args, {
    config: { type: 'string' },
    region: { type: 'string' },
    reason: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const reason = reasonOrUsage(io, 'resume', values.reason);
  if (typeof reason !== 'string') return reason.exit;
  const now = new Date(env.clock.now());
  const r = await withState(io, env, 'resume', values, (state, config) =>
    resumeCluster(state, config, { at: now, by: operator(io), reason }),
  );
  if ('exit' in r) return r.exit;
  const { pause, decisionId } = r.ok;
  if (values.json) {
    io.stdout(`${JSON.stringify(r.ok, null, 2)}\n`);
  } else {
    io.stdout(
      pause
        ? `Resumed: launches are allowed again from the next reconcile (was paused since ${fmtTime(pause.since, now)} by ${pause.by}). Journaled as decision ${decisionId}.\n`
        : `Not paused: nothing changed (journaled as decision ${decisionId}).\n`,
    );
  }
  return ExitCode.ok;
}

/** `k3s-burst pause …`; returns the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  return runPause(args, io, defaultEnvironment(io));
}
