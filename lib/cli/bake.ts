/**
 * `k3s-burst bake`: build a node image per architecture and publish it to an SSM parameter
 * (lib/ops/bake.ts says how, and why a command instead of EC2 Image Builder).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Arch } from '../events/index.js';
import { BAKE_TAG, type BakeEc2, type BakeReport, formatBake, runBake } from '../ops/bake.js';
import { sdkBakeEc2, sdkBakeSsm } from '../ops/bake-aws.js';
import { credentialsAware, makeClients, resolveRegion } from '../ops/context.js';
import { findDeployment, stackNameFor } from '../ops/deployment.js';
import { archesInUse } from '../ops/doctor.js';
import { defaultEnvironment, type OpsEnvironment, readConfigFile } from '../ops/environment.js';
import { OpsError, OpsUsageError } from '../ops/errors.js';
import { renderBakeScript } from '../userdata/bake.js';
import { UserDataError } from '../userdata/errors.js';
import { type CliIo, ExitCode, parseCommandArgs, stageProgressLine, withInterrupt } from './io.js';

/** Stock Ubuntu 24.04 images (Canonical's public parameters), the default starting point. */
export const STOCK_IMAGE_PARAMETERS: Record<Arch, string> = {
  arm64: '/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
  amd64: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
};

/** Small, cheap builders: the bake downloads and unpacks, it does not compile. */
export const DEFAULT_BUILDER_TYPES: Record<Arch, string> = { arm64: 't4g.small', amd64: 't3.small' };

/** Where the image id is published unless `--parameter` says otherwise. */
export function defaultImageParameter(cluster: string, arch: Arch): string {
  return `/k3s-burst/${cluster}/ami/${arch}`;
}

const USAGE = `Usage: k3s-burst bake [--config FILE] [options]

Build a node image (AMI) with Tailscale, the K3s installer and the pinned k3s binary
(cluster.k3sVersion) and, by default, the K3s air-gap images; publish its id to an SSM
parameter. Point nodes.amiSsmParameters.<arch> at that parameter and nodes boot without those
downloads. A builder instance (tagged ${BAKE_TAG}, never counted by the autoscaler) boots the
stock image, installs, clears every per-instance identity and powers off; bake images it and
always terminates it (Ctrl-C included). Needs AWS credentials allowed to run and terminate
instances, create and deregister images, and read and write the parameter (docs/iam.md).

Options:
  --config FILE              k3s-burst.config.json (default: ./k3s-burst.config.json)
  --region REGION            AWS region (default: cluster.region of the config)
  --arch ARCH                arm64 or amd64 (default: every architecture of nodes.candidateTypes)
  --parameter NAME           SSM parameter to publish to (default: /k3s-burst/<cluster>/ami/<arch>)
  --base-image-parameter NAME
                             SSM parameter of the image to start from (default:
                             nodes.amiSsmParameters.<arch>, or stock Ubuntu 24.04 when that is
                             the parameter bake publishes to)
  --instance-type TYPE       builder type (default: t4g.small for arm64, t3.small for amd64)
  --subnet ID                builder subnet, with a route to the internet (default: the
                             stack's first node subnet)
  --security-group ID        builder security group (default: the stack's node security group)
  --pre-pull IMAGE           also bake this image (repeatable; up to 20); K3s imports it at
                             the node's first start
  --no-airgap-images         leave out the K3s air-gap images
  --build-timeout SECONDS    builder start → powered off (default: 1200)
  --image-timeout SECONDS    image requested → available (default: 1800)
  --dry-run                  print the builder script and what would be done; launch nothing
  --json FILE                also write the report(s) as JSON to FILE
  -h, --help                 show this help

Exit codes: 0 baked and published, 1 a stage failed or cleanup was incomplete, 2 bad usage or
invalid config.
`;

function seconds(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 60 || n > 14_400) {
    throw new OpsUsageError(
      `--${flag} must be a whole number of seconds from 60 to 14400 (got "${v.slice(0, 20)}")`,
    );
  }
  return n;
}

const PARAMETER_RE = /^\/[a-zA-Z0-9_.\-/]{1,1010}$/;
const SUBNET_RE = /^subnet-[0-9a-f]{8,17}$/;
const SG_RE = /^sg-[0-9a-f]{8,17}$/;
const TYPE_RE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

function checked(flag: string, v: string | undefined, re: RegExp, what: string): string | undefined {
  if (v !== undefined && !re.test(v))
    throw new OpsUsageError(`--${flag} must be ${what} (got "${v.slice(0, 60)}")`);
  return v;
}

/** The bake command with an explicit environment (tests pass moto and a fast clock). */
export async function runBakeCommand(
  args: string[],
  io: CliIo,
  env: OpsEnvironment,
  opts: {
    /** Wrap the SDK-backed EC2 calls (tests play the builder: run the script, stop the instance). */
    ec2?: (real: BakeEc2) => BakeEc2;
    pollMs?: number;
    signal?: AbortSignal;
  } = {},
): Promise<number> {
  const parsed = parseCommandArgs(io, 'bake', USAGE, args, {
    config: { type: 'string' },
    region: { type: 'string' },
    arch: { type: 'string' },
    parameter: { type: 'string' },
    'base-image-parameter': { type: 'string' },
    'instance-type': { type: 'string' },
    subnet: { type: 'string' },
    'security-group': { type: 'string' },
    'pre-pull': { type: 'string', multiple: true },
    'no-airgap-images': { type: 'boolean' },
    'build-timeout': { type: 'string' },
    'image-timeout': { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  let clients: ReturnType<typeof makeClients> | undefined;
  try {
    const { config } = readConfigFile(io, values.config);
    const cluster = config.cluster.name;
    const region = resolveRegion(values.region, config.cluster.region);
    if (values.arch !== undefined && values.arch !== 'arm64' && values.arch !== 'amd64') {
      throw new OpsUsageError(`--arch must be arm64 or amd64 (got "${values.arch.slice(0, 20)}")`);
    }
    const archs: Arch[] = values.arch ? [values.arch] : archesInUse(config);
    if (values.parameter !== undefined && archs.length > 1) {
      throw new OpsUsageError(
        '--parameter names one parameter: give --arch too (nodes.candidateTypes has several architectures)',
      );
    }
    checked('parameter', values.parameter, PARAMETER_RE, 'an SSM parameter name starting with "/"');
    checked(
      'base-image-parameter',
      values['base-image-parameter'],
      PARAMETER_RE,
      'an SSM parameter name starting with "/"',
    );
    checked('instance-type', values['instance-type'], TYPE_RE, 'an EC2 instance type such as t4g.small');
    checked('subnet', values.subnet, SUBNET_RE, 'a subnet id such as subnet-0abc1234');
    checked('security-group', values['security-group'], SG_RE, 'a security group id such as sg-0abc1234');
    const buildS = seconds('build-timeout', values['build-timeout'], 1200);
    const imageS = seconds('image-timeout', values['image-timeout'], 1800);
    let script: string;
    try {
      script = renderBakeScript({
        k3sVersion: config.cluster.k3sVersion,
        airgapImages: !values['no-airgap-images'],
        prePullImages: values['pre-pull'] ?? [],
      });
    } catch (err) {
      if (err instanceof UserDataError) throw new OpsUsageError(err.message);
      throw err;
    }
    const plans = archs.map((arch) => {
      const parameterName = values.parameter ?? defaultImageParameter(cluster, arch);
      const configured = config.nodes.amiSsmParameters[arch];
      return {
        arch,
        parameterName,
        baseImageParameter:
          values['base-image-parameter'] ??
          (configured === parameterName ? STOCK_IMAGE_PARAMETERS[arch] : configured),
        instanceType: values['instance-type'] ?? DEFAULT_BUILDER_TYPES[arch],
      };
    });

    if (values['dry-run']) {
      for (const p of plans) {
        io.stdout(
          `would bake ${p.arch}: start from ${p.baseImageParameter} on a ${p.instanceType}, publish to ${p.parameterName}\n`,
        );
      }
      io.stdout(`\nbuilder script (user data, ${Buffer.byteLength(script)} bytes):\n\n${script}`);
      return ExitCode.ok;
    }

    const c = makeClients(env.aws(region));
    clients = c;
    let subnetId = values.subnet;
    let securityGroupIds = values['security-group'] ? [values['security-group']] : [];
    if (!subnetId || securityGroupIds.length === 0) {
      const d = await findDeployment(c.cfn, stackNameFor(cluster), region).catch((err: unknown) => {
        throw credentialsAware(err, region);
      });
      subnetId ??= d.nodeSubnetIds[0];
      if (securityGroupIds.length === 0 && d.nodeSecurityGroupId) securityGroupIds = [d.nodeSecurityGroupId];
      if (!subnetId || securityGroupIds.length === 0) {
        throw new OpsUsageError(
          `the stack ${d.stackName} has no NodeSubnetIds/NodeSecurityGroupId outputs (deployed before bake existed): give --subnet and --security-group, or redeploy`,
        );
      }
    }
    const real = sdkBakeEc2(c.ec2);
    const ec2 = opts.ec2 ? opts.ec2(real) : real;
    const ssm = sdkBakeSsm(c.ssm);

    const reports: BakeReport[] = [];
    await withInterrupt(
      io,
      'k3s-burst bake: interrupted, terminating the builder…',
      opts.signal,
      async (signal) => {
        for (const p of plans) {
          if (signal.aborted) break;
          const report = await runBake(
            {
              cluster,
              arch: p.arch,
              k3sVersion: config.cluster.k3sVersion,
              baseImageParameter: p.baseImageParameter,
              parameterName: p.parameterName,
              instanceType: p.instanceType,
              subnetId,
              securityGroupIds,
              rootDeviceName: config.nodes.rootDeviceName,
              rootVolumeGiB: config.nodes.rootVolumeGiB,
              userData: script,
              runId: randomBytes(4).toString('hex'),
              buildTimeoutMs: buildS * 1000,
              imageTimeoutMs: imageS * 1000,
              pollMs: opts.pollMs ?? 10_000,
              signal,
            },
            {
              ec2,
              ssm,
              clock: env.clock,
              onStage: (s) => io.stderr(stageProgressLine(s, `${p.arch}  `)),
            },
          );
          reports.push(report);
          io.stdout(formatBake(report));
          if (!report.ok) break;
        }
      },
    );
    if (values.json) writeFileSync(resolve(io.cwd, values.json), `${JSON.stringify(reports, null, 2)}\n`);
    const ok = reports.length === plans.length && reports.every((r) => r.ok && r.cleanedUp);
    return ok ? ExitCode.ok : ExitCode.failure;
  } catch (err) {
    if (err instanceof OpsError) {
      io.stderr(`k3s-burst bake: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  } finally {
    clients?.destroy();
  }
}

/** `k3s-burst bake …`; returns the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  return runBakeCommand(args, io, defaultEnvironment(io));
}
