/**
 * `k3s-burst render-userdata --config FILE [--instance-type T] [--capacity-type spot|on-demand]`
 *
 * Prints the node bootstrap script exactly as the launch Lambda renders it, with placeholders
 * where the per-instance secrets go, so users can read what runs on their nodes. The script goes
 * to stdout (pipe it to `shellcheck -` or a file); a summary of what the node will register as
 * goes to stderr.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CapacityType, type Config, Labels, parseConfigText, ValidationError } from '../events/index.js';
import {
  MAX_AGENT_TOKEN_LENGTH,
  MAX_TAILSCALE_AUTH_KEY_LENGTH,
  nodeNameFor,
  previewInputFromConfig,
  renderUserDataPreview,
  USER_DATA_MAX_BYTES,
  UserDataError,
  userDataSizeBytes,
} from '../userdata/index.js';
import { type CliIo, ExitCode, parseCommandArgs } from './io.js';

const USAGE = `Usage: k3s-burst render-userdata --config FILE [--instance-type T] [--capacity-type spot|on-demand]

Print the node bootstrap script for a config, with placeholders instead of the per-instance
Tailscale auth key and the K3s agent token. The script goes to stdout, a summary to stderr.

Options:
  --config FILE          k3s-burst config (JSON), e.g. k3s-burst.config.json
  --instance-type T      show the labels a node of this type gets (read from IMDS at boot)
  --capacity-type C      spot or on-demand (default: the first of nodes.capacityTypes)
  -h, --help             show this help
`;

const INSTANCE_TYPE_RE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

function usageError(io: CliIo, message: string): number {
  io.stderr(`k3s-burst render-userdata: ${message}\n\n${USAGE}`);
  return ExitCode.usage;
}

export async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(io, 'render-userdata', USAGE, args, {
    config: { type: 'string' },
    'instance-type': { type: 'string' },
    'capacity-type': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  if (!values.config) return usageError(io, '--config FILE is required');

  const instanceType = values['instance-type'];
  if (instanceType !== undefined && !INSTANCE_TYPE_RE.test(instanceType)) {
    return usageError(
      io,
      `--instance-type expects an EC2 instance type like "m7g.large" (got "${instanceType}")`,
    );
  }
  const capacityArg = values['capacity-type'];
  if (capacityArg !== undefined && !CapacityType.safeParse(capacityArg).success) {
    return usageError(io, `--capacity-type expects "spot" or "on-demand" (got "${capacityArg}")`);
  }

  const path = resolve(io.cwd, values.config);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    io.stderr(`k3s-burst render-userdata: cannot read config ${values.config}: ${reason}\n`);
    return ExitCode.usage;
  }

  let config: Config;
  let script: string;
  try {
    // The one config validator (guard, JSON, strict schema), as plan and cdk synth run it.
    config = parseConfigText(text, values.config);
    const capacityType = (capacityArg as CapacityType | undefined) ?? config.nodes.capacityTypes[0] ?? 'spot';
    script = renderUserDataPreview(previewInputFromConfig(config, capacityType));
    io.stdout(script);
    io.stderr(summary(config, capacityType, instanceType, script));
  } catch (err) {
    if (err instanceof ValidationError) {
      io.stderr(`k3s-burst render-userdata: ${err.message}\n`);
      return ExitCode.usage;
    }
    if (err instanceof UserDataError) {
      io.stderr(`k3s-burst render-userdata: ${values.config}: ${err.message}\n`);
      return ExitCode.usage;
    }
    throw err;
  }
  return ExitCode.ok;
}

function summary(
  config: Config,
  capacityType: CapacityType,
  instanceType: string | undefined,
  script: string,
) {
  const node = nodeNameFor(config.nodes.namePrefix, '<instance-id>');
  const lines = [
    '',
    `# node name and Tailscale hostname: ${node}`,
    '# providerID: aws:///<availability-zone>/<instance-id>',
    `# joins ${config.cluster.k3sServerUrl} with K3s ${config.cluster.k3sVersion}, flannel on tailscale0`,
    `# labels: ${Labels.instanceType}=${instanceType ?? '<from IMDS>'}, ${Labels.zone}=<az>, ${Labels.region}=<region>,`,
    `#         ${Labels.managed}=true, ${Labels.cluster}=${config.cluster.name}, ${Labels.capacityType}=${capacityType}` +
      Object.entries(config.nodes.labels)
        .map(([k, v]) => `, ${k}=${v}`)
        .join(''),
    `# taints: ${config.nodes.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ') || 'none'}`,
    `# size: ${userDataSizeBytes(script)} bytes with placeholders; fits ${USER_DATA_MAX_BYTES} with secrets up to ` +
      `${MAX_TAILSCALE_AUTH_KEY_LENGTH} + ${MAX_AGENT_TOKEN_LENGTH} characters`,
  ];
  if (instanceType !== undefined && !config.nodes.candidateTypes.includes(instanceType)) {
    lines.push(`# warning: ${instanceType} is not in nodes.candidateTypes, so k3s-burst never launches it`);
  }
  return `${lines.join('\n')}\n`;
}
