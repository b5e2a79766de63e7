/**
 * `k3s-burst doctor`: check a deployment and say exactly what is wrong and how to fix it.
 * One line per check: ok / warn / fail (and skip for checks an earlier failure makes
 * meaningless), with the fix on the same line. Read-only, except for one probe Tailscale
 * auth key that is minted to prove the OAuth client works and revoked at once.
 */
import { parseCidr } from '../ops/acl.js';
import { makeClients, resolveRegion } from '../ops/context.js';
import { type CheckResult, type DoctorReport, runDoctorChecks } from '../ops/doctor.js';
import { defaultEnvironment, type OpsEnvironment } from '../ops/environment.js';
import { OpsError } from '../ops/errors.js';
import { type CliIo, ExitCode, parseCommandArgs } from './io.js';

const USAGE = `Usage: k3s-burst doctor [--config FILE] [--region REGION] [--pod-cidr CIDR] [--json]

Check a k3s-burst deployment: config valid, stack deployed and usable, secrets set and of
the right shape (values are never printed), Tailscale OAuth client scopes and tags, tag
owners in the tailnet policy, route auto-approval of the pod CIDR (with --pod-cidr), AMI
resolvable per architecture, EC2 vCPU quotas (Service Quotas) enough for the limits, agent
heartbeat fresh, the Pi side as the agent reports it
(node IPs and flannel on tailscale0, server certificate covers cluster.k3sServerUrl, K3s
version), not paused (k3s-burst pause),
dead-letter queues empty.

Options:
  --config FILE      k3s-burst.config.json (default: ./k3s-burst.config.json)
  --region REGION    AWS region of the stack (default: cluster.region of the config)
  --pod-cidr CIDR    the cluster's pod CIDR, when nodes advertise it as Tailscale subnet
                     routes: checks autoApprovers.routes covers it
  --json             print the checks as JSON
  -h, --help         show this help

Exit codes: 0 no check failed (warnings allowed), 1 at least one check failed,
2 bad usage.
`;

/** The checks for a terminal: one line each, fix on the same line. */
export function formatDoctor(r: DoctorReport): string {
  const width = Math.max(...r.checks.map((c) => c.id.length));
  const lines = r.checks.map(
    (c: CheckResult) =>
      `${c.status.padEnd(4)}  ${c.id.padEnd(width)}  ${c.message}${c.fix ? ` — fix: ${c.fix}` : ''}`,
  );
  const count = (s: CheckResult['status']) => r.checks.filter((c) => c.status === s).length;
  const head = r.cluster
    ? `k3s-burst doctor: cluster ${r.cluster}, region ${r.region}\n`
    : 'k3s-burst doctor\n';
  return `${head}${lines.join('\n')}\n\n${count('fail')} failed, ${count('warn')} warning(s), ${count('ok')} ok, ${count('skip')} skipped\n`;
}

/** `k3s-burst doctor` with an explicit environment (tests pass moto and the fake Tailscale API). */
export async function runDoctor(args: string[], io: CliIo, env: OpsEnvironment): Promise<number> {
  const parsed = parseCommandArgs(io, 'doctor', USAGE, args, {
    config: { type: 'string' },
    region: { type: 'string' },
    'pod-cidr': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const podCidr = values['pod-cidr'];
  if (podCidr !== undefined && !parseCidr(podCidr)) {
    io.stderr(
      `k3s-burst doctor: --pod-cidr must be an IPv4 CIDR such as 10.42.0.0/16 (got "${podCidr.slice(0, 40)}")\n`,
    );
    return ExitCode.usage;
  }
  try {
    const region = values.region === undefined ? undefined : resolveRegion(values.region, '');
    const report = await runDoctorChecks(io, env, (r) => makeClients(env.aws(r)), {
      configFile: values.config,
      region,
      podCidr,
    });
    io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctor(report));
    return report.checks.some((c) => c.status === 'fail') ? ExitCode.failure : ExitCode.ok;
  } catch (err) {
    if (err instanceof OpsError) {
      io.stderr(`k3s-burst doctor: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

/** `k3s-burst doctor …`; returns the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  return runDoctor(args, io, defaultEnvironment(io));
}
