/**
 * `k3s-burst status`: the managed instances with their node and Tailscale state, the age of
 * the last snapshot and the last decisions with their explanations. Reads AWS and the
 * Tailscale API; changes nothing.
 */

import { describeBackoff } from '../core/backoff.js';
import { fmtDuration, fmtTime, plural } from '../core/format.js';
import { credentialsAware, makeClients, resolveRegion } from '../ops/context.js';
import { fmtUsd } from '../ops/cost.js';
import { defaultEnvironment, type OpsEnvironment, readConfigFile } from '../ops/environment.js';
import { OpsError } from '../ops/errors.js';
import { collectStatus, type DeviceState, type StatusInstance, type StatusReport } from '../ops/status.js';
import { type CliIo, ExitCode, parseCommandArgs } from './io.js';

const USAGE = `Usage: k3s-burst status [--config FILE] [--region REGION] [--json] [options]

Show the cluster's managed EC2 instances (state, type, capacity type, age, node name,
node Ready from the latest snapshot, Tailscale device online), the warm pool (its
target now, each member's state, age and whether it is over warmPool.maxAgeHours, the
parked members' volume cost), the age of the last snapshot, the last decisions with
their explanations, and the p50/p95 of each burst stage (pending to decision, decision
to running, running to Ready, pod wait). Read-only.

Options:
  --config FILE      k3s-burst.config.json (default: ./k3s-burst.config.json)
  --region REGION    AWS region of the stack (default: cluster.region of the config)
  --decisions N      how many recent decisions to show, 0-50 (default: 5)
  --all              include terminated instances
  --json             print the report as JSON
  -h, --help         show this help

Exit codes: 0 report printed (an unusable Tailscale API or stored stage timings item
only degrade it), 1 the deployment cannot be read (stack missing, no credentials),
2 bad usage or invalid config.
`;

function pad(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd()).join('\n');
}

function readyCell(i: StatusInstance): string {
  if (i.nodeReady === null) return '-';
  return i.nodeReady ? 'yes' : 'NO';
}

function tailscaleCell(i: { tailscale: DeviceState; tailscaleLastSeen?: string }, now: Date): string {
  switch (i.tailscale) {
    case 'online':
      return 'online';
    case 'offline':
      return i.tailscaleLastSeen ? `offline (seen ${fmtTime(i.tailscaleLastSeen, now)})` : 'offline';
    case 'missing':
      return 'no device';
    default:
      return 'unknown*';
  }
}

/** A stage duration for a terminal: tenths below 10 s, whole seconds below 2 min, minutes and seconds below 10 min. */
export function fmtStageSeconds(s: number | null): string {
  if (s === null) return '-';
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 600) {
    const whole = Math.round(s);
    return `${Math.floor(whole / 60)} min${whole % 60 ? ` ${whole % 60} s` : ''}`;
  }
  return fmtDuration(s);
}

/** The "Last bursts" section: p50/p95 per stage over the recorded bursts, or why there are none. */
function formatStages(stages: StatusReport['stages'], unavailable: string | null): string[] {
  const recorded = stages.reduce((n, s) => n + s.count, 0);
  const head =
    'Last bursts (p50 / p95 per stage over the newest 100 samples of each; docs/operations.md "Stage timings")';
  if (unavailable !== null) return [head, `  unavailable: ${unavailable}`];
  if (recorded === 0) return [head, '  (none recorded yet)'];
  return [
    head,
    pad([
      ['STAGE', 'SAMPLES', 'P50', 'P95', 'MAX'],
      ...stages.map((s) => [
        s.stage,
        String(s.count),
        fmtStageSeconds(s.p50Seconds),
        fmtStageSeconds(s.p95Seconds),
        fmtStageSeconds(s.maxSeconds),
      ]),
    ]),
  ];
}

/** Hourly dollars with four decimals: a parked volume costs fractions of a cent an hour. */
const fmtHourlyUsd = (n: number): string => `$${n.toFixed(4)}/h`;

/**
 * The "Warm pool" section: one line when the pool is off and has no members; else the target
 * now, the members (stopped ones cost their volume only) and the parked members' cost.
 */
function formatWarmPool(w: StatusReport['warmPool'], now: Date): string[] {
  if (!w.configured && w.members.length === 0) {
    return ["Warm pool: off (warmPool.size and every schedule's warmPoolSize are 0)"];
  }
  const out = [
    `Warm pool (${w.members.length}): target ${w.target} now (${w.targetFrom}); ` +
      `${w.parked} parked, ${w.warming} warming, ${w.stopping} stopping`,
  ];
  if (w.members.length > 0) {
    out.push(
      pad([
        ['INSTANCE', 'STATE', 'TYPE', 'ZONE', 'AGE', `MAX AGE ${w.maxAgeHours} h`, 'TAILSCALE'],
        ...w.members.map((m) => [
          m.instanceId,
          m.state,
          m.instanceType,
          m.zone,
          m.ageSeconds === null
            ? '-'
            : `${fmtDuration(m.ageSeconds)}${m.ageFrom === 'last-start' ? ' since start' : ''}`,
          m.role === 'started' ? '-' : m.overMaxAge ? 'OVER: replaced' : 'ok',
          tailscaleCell(m, now),
        ]),
      ]),
    );
  }
  out.push(
    `  Parked: ${w.parked} × ${fmtHourlyUsd(w.perParkedHourlyUsd)} (a ${w.rootVolumeGiB} GiB gp3 root volume each; no compute, no public IPv4) = ` +
      `${fmtHourlyUsd(w.parkedHourlyUsd)}, ${fmtUsd(w.parkedMonthlyUsd)}/month`,
  );
  return out;
}

/** The report for a terminal. */
export function formatStatus(r: StatusReport): string {
  const now = new Date(r.generatedAt);
  const out: string[] = [];
  out.push(`Cluster ${r.cluster} in ${r.region} — stack ${r.stack.name} (${r.stack.status})`);
  if (r.pause) {
    const p = r.pause;
    out.push(
      `PAUSED since ${fmtTime(p.since, now)} by ${p.by}${p.reason ? ` (${p.reason})` : ''}: no launches` +
        `${p.drain ? ', every cloud node is being drained' : ''}. Undo with: npx k3s-burst resume`,
    );
  }
  out.push('', `Instances (${r.instances.length})`);
  if (r.instances.length > 0) {
    out.push(
      pad([
        ['INSTANCE', 'STATE', 'TYPE', 'CAPACITY', 'AGE', 'NODE', 'READY', 'TAILSCALE'],
        ...r.instances.map((i) => [
          i.instanceId,
          i.state,
          i.instanceType,
          i.capacityType,
          i.ageSeconds === null ? '-' : fmtDuration(i.ageSeconds),
          i.nodeName,
          readyCell(i),
          tailscaleCell(i, now),
        ]),
      ]),
    );
  } else {
    out.push('  (none)');
  }
  out.push('', ...formatWarmPool(r.warmPool, now), '');
  if (r.snapshot) {
    const s = r.snapshot;
    out.push(
      `Last snapshot: seq ${s.seq}, ${fmtDuration(s.ageSeconds)} ago (observed ${fmtTime(s.observedAt, now)})` +
        `, ${s.nodes} nodes, ${s.pendingPods} pending pods${s.stale ? '  STALE: the agent is not reporting' : ''}`,
    );
  } else {
    out.push('Last snapshot: none');
  }
  const held = r.holdbacks.unavailableOfferings.length + r.holdbacks.backoffs.length;
  out.push('', `Held back (${held})`);
  for (const b of r.holdbacks.backoffs) {
    out.push(`  backoff until ${fmtTime(b.until, now)}: ${describeBackoff(b)}`);
  }
  for (const u of r.holdbacks.unavailableOfferings) {
    const what =
      u.instanceType === '*'
        ? `all ${u.capacityType} (account-wide)`
        : `${u.instanceType} ${u.capacityType} in ${u.zone === '*' ? 'every zone' : u.zone}`;
    out.push(`  unavailable until ${fmtTime(u.until, now)}: ${what}${u.reason ? ` (${u.reason})` : ''}`);
  }
  if (held === 0) out.push('  (none: every candidate offering may be launched)');
  out.push('', `Recent decisions (${r.decisions.length})`);
  for (const d of r.decisions) {
    out.push(
      `  ${fmtTime(d.decidedAt, now)}  ${d.decisionId}  (${d.trigger}; launch ${d.launches}, drain ${d.drains}, terminate ${d.terminations})`,
    );
    for (const e of d.explanations) out.push(`    - [${e.kind}] ${e.message}`);
  }
  if (r.decisions.length === 0) out.push('  (none)');
  out.push('', ...formatStages(r.stages, r.stagesUnavailable));
  const c = r.costAtRest;
  // A warming member runs (and holds a public IPv4) but is listed under Warm pool, not Instances.
  const warmingNote =
    r.warmPool.warming > 0 ? ` including ${plural(r.warmPool.warming, 'warming warm-pool member')}` : '';
  const pool =
    c.warmPoolMembers > 0
      ? `, the volumes of ${plural(c.warmPoolMembers, 'parked warm-pool member')} included`
      : '';
  out.push(
    '',
    `Cost at rest: about ${fmtUsd(c.monthlyUsd)}/month for this config${pool} (${c.pricesRegion} list prices of ${c.pricesAsOf}; docs/operations.md "Cost at rest"). ` +
      `Each running node adds ${fmtUsd(c.perRunningNodeMonthlyUsd)}/month of public IPv4 plus its instance price` +
      `${c.runningNodes > 0 ? ` (${c.runningNodes} running${warmingNote}: +${fmtUsd(c.runningNodes * c.perRunningNodeMonthlyUsd)}/month)` : ''}.`,
  );
  if (r.notes.length > 0) {
    out.push('');
    for (const n of r.notes) out.push(`* ${n}`);
  }
  return `${out.join('\n')}\n`;
}

/** `k3s-burst status` with an explicit environment (tests pass moto and the fake Tailscale API). */
export async function runStatus(args: string[], io: CliIo, env: OpsEnvironment): Promise<number> {
  const parsed = parseCommandArgs(io, 'status', USAGE, args, {
    config: { type: 'string' },
    region: { type: 'string' },
    decisions: { type: 'string', default: '5' },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const n = Number(values.decisions);
  if (!/^\d+$/.test(values.decisions ?? '') || n > 50) {
    io.stderr(
      `k3s-burst status: --decisions must be a whole number from 0 to 50 (got "${values.decisions}")\n`,
    );
    return ExitCode.usage;
  }
  let region = '';
  try {
    const { config } = readConfigFile(io, values.config);
    region = resolveRegion(values.region, config.cluster.region);
    const clients = makeClients(env.aws(region));
    try {
      const report = await collectStatus(env, clients, {
        config,
        region,
        decisions: n,
        includeTerminated: values.all === true,
      });
      io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
      return ExitCode.ok;
    } finally {
      clients.destroy();
    }
  } catch (raw) {
    const err = region ? credentialsAware(raw, region) : raw;
    if (err instanceof OpsError) {
      io.stderr(`k3s-burst status: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr(`k3s-burst status: ${(err as Error).message}\n`);
    return ExitCode.failure;
  }
}

/** `k3s-burst status …`; returns the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  return runStatus(args, io, defaultEnvironment(io));
}
