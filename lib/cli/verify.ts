/**
 * `k3s-burst verify`: the first thing to run after `cdk deploy` and installing the agent. One
 * test pod that only a cloud node can take, followed through every stage of scale-out and
 * scale-in, with a timeline (lib/ops/verify.ts). Creates nothing but that pod, and deletes it
 * on every exit path, Ctrl-C included.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeClient } from '../agent/kube-client.js';
import { KubeConfigError, resolveKubeTarget } from '../agent/kube-config.js';
import { credentialsAware, makeClients, resolveRegion } from '../ops/context.js';
import { findDeployment, stackNameFor } from '../ops/deployment.js';
import { defaultEnvironment, type OpsEnvironment, readConfigFile } from '../ops/environment.js';
import { OpsError, OpsUsageError } from '../ops/errors.js';
import { listClusterInstances } from '../ops/instances.js';
import { tailscaleDeviceLister } from '../ops/status.js';
import {
  deleteLeftovers,
  type FindDevice,
  formatVerify,
  runVerify,
  type VerifyKube,
  type VerifyReport,
} from '../ops/verify.js';
import { type CliIo, ExitCode, parseCommandArgs, stageProgressLine, withInterrupt } from './io.js';

/** A multi-arch image that does nothing, pulled once per node. */
export const DEFAULT_VERIFY_IMAGE = 'registry.k8s.io/pause:3.10';

const USAGE = `Usage: k3s-burst verify [--config FILE] [--kubeconfig FILE] [options]

Prove a deployment end to end: create one small test pod that only a cloud node can take,
follow it (Unschedulable, instance launched, running, tailnet device online, Node
registered and Ready, pod Running), delete it and follow scale-in (Node cordoned, instance
terminated, device removed, Node deleted). Prints a timeline with each stage's duration; on
failure names the stage and the likely fix. Run it right after deploying. It creates only the
test pod and always deletes it (Ctrl-C included; the pod's activeDeadlineSeconds ends it even
if verify is killed). Needs kubectl access (create/get/delete pods in the namespace, get
nodes) and AWS read access (ec2:DescribeInstances; the stack and its Tailscale secret for the
device stages).

Options:
  --config FILE            k3s-burst.config.json (default: ./k3s-burst.config.json)
  --region REGION          AWS region of the stack (default: cluster.region of the config)
  --kubeconfig FILE        kubeconfig (default: $KUBECONFIG, then ~/.kube/config)
  --namespace NS           namespace of the test pod (default: default)
  --image IMAGE            test pod image (default: ${DEFAULT_VERIFY_IMAGE})
  --timeout SECONDS        scale-out budget, pod created → Running (default: 600)
  --scale-in-timeout SECONDS
                           scale-in budget, pod deleted → Node deleted
                           (default: scaleIn.emptyAfterSeconds + scaleIn.drainTimeoutSeconds + 600)
  --no-scale-in            stop after the pod ran (the node is scaled in later as usual)
  --json FILE              also write the report as JSON to FILE
  -h, --help               show this help

Exit codes: 0 verified, 1 a stage failed (or the test pod could not be removed),
2 bad usage or invalid config.
`;

function positiveSeconds(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 86_400)
    throw new OpsUsageError(
      `--${flag} must be a whole number of seconds from 1 to 86400 (got "${v.slice(0, 20)}")`,
    );
  return n;
}

const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The verify command with an explicit environment (tests pass moto, the fake APIs and a fast clock). */
export async function runVerifyCommand(
  args: string[],
  io: CliIo,
  env: OpsEnvironment,
  opts: {
    kube?: VerifyKube;
    /** Device lookup to use instead of the stack's Tailscale secret (tests). */
    devices?: FindDevice;
    pollMs?: number;
    signal?: AbortSignal;
  } = {},
): Promise<number> {
  const parsed = parseCommandArgs(io, 'verify', USAGE, args, {
    config: { type: 'string' },
    region: { type: 'string' },
    kubeconfig: { type: 'string' },
    namespace: { type: 'string' },
    image: { type: 'string' },
    timeout: { type: 'string' },
    'scale-in-timeout': { type: 'string' },
    'no-scale-in': { type: 'boolean' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  let clients: ReturnType<typeof makeClients> | undefined;
  try {
    const namespace = values.namespace ?? 'default';
    if (!NAMESPACE_RE.test(namespace))
      throw new OpsUsageError(
        `--namespace must be a Kubernetes namespace name (got "${namespace.slice(0, 70)}")`,
      );
    const { config } = readConfigFile(io, values.config);
    const region = resolveRegion(values.region, config.cluster.region);
    const scaleOutS = positiveSeconds('timeout', values.timeout, 600);
    const scaleInS = values['no-scale-in']
      ? 0
      : positiveSeconds(
          'scale-in-timeout',
          values['scale-in-timeout'],
          config.scaleIn.emptyAfterSeconds + config.scaleIn.drainTimeoutSeconds + 600,
        );
    let kube = opts.kube;
    if (!kube) {
      const home = io.env.HOME ? join(io.env.HOME, '.kube', 'config') : undefined;
      const file =
        values.kubeconfig ??
        io.env.KUBECONFIG?.split(':').find((f) => f !== '') ??
        (home && existsSync(home) ? home : undefined);
      const target = await resolveKubeTarget(file && resolve(io.cwd, file), io.env).catch((err: unknown) => {
        if (err instanceof KubeConfigError) throw new OpsUsageError(err.message);
        throw err;
      });
      kube = new KubeClient(target);
    }
    const c = makeClients(env.aws(region));
    clients = c;
    const cluster = config.cluster.name;
    const instances = () =>
      listClusterInstances(c.ec2, cluster, config.nodes.namePrefix, { includeTerminated: true }).catch(
        (err: unknown) => {
          throw credentialsAware(err, region);
        },
      );
    let devices: FindDevice | undefined = opts.devices;
    let devicesSkippedBecause: string | undefined;
    if (!devices)
      try {
        const deployment = await findDeployment(c.cfn, stackNameFor(cluster), region);
        const lister = await tailscaleDeviceLister(env, c, deployment, config);
        if (lister.ok) devices = async (host) => (await lister.list()).get(host);
        else devicesSkippedBecause = lister.reason;
      } catch (err) {
        const e = credentialsAware(err, region);
        if (e !== err) throw e;
        devicesSkippedBecause = `the stack cannot be read (${(err as Error).message})`;
      }

    const leftovers = await deleteLeftovers(kube, namespace);
    if (leftovers.length > 0)
      io.stderr(
        `k3s-burst verify: deleted ${leftovers.length} test pod(s) an earlier run left: ${leftovers.join(', ')}\n`,
      );

    const report: VerifyReport = await withInterrupt(
      io,
      'k3s-burst verify: interrupted, deleting the test pod…',
      opts.signal,
      (signal) =>
        runVerify(
          {
            config,
            namespace,
            runId: randomBytes(4).toString('hex'),
            image: values.image ?? DEFAULT_VERIFY_IMAGE,
            scaleOutTimeoutMs: scaleOutS * 1000,
            scaleInTimeoutMs: scaleInS * 1000,
            pollMs: opts.pollMs ?? 2000,
            signal,
          },
          {
            kube,
            instances,
            ...(devices ? { devices } : {}),
            ...(devicesSkippedBecause ? { devicesSkippedBecause } : {}),
            clock: env.clock,
            onStage: (s) => io.stderr(stageProgressLine(s)),
          },
        ),
    );
    io.stdout(formatVerify(report));
    if (values.json) writeFileSync(resolve(io.cwd, values.json), `${JSON.stringify(report, null, 2)}\n`);
    return report.ok && report.cleanedUp ? ExitCode.ok : ExitCode.failure;
  } catch (err) {
    if (err instanceof OpsError) {
      io.stderr(`k3s-burst verify: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  } finally {
    clients?.destroy();
  }
}

/** `k3s-burst verify …`; returns the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  return runVerifyCommand(args, io, defaultEnvironment(io));
}
