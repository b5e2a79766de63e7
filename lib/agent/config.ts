/**
 * Agent configuration from flags and environment (flags win), validated up front. Every error
 * names the flag and the variable, the value received and how to fix it; the CLI exits 2.
 */
import { parseArgs } from 'node:util';
import { AWS_REGION_PATTERN, serverUrlProblem } from '../events/index.js';
import { MAX_BOOTSTRAP_TOKEN_TTL_SECONDS, MIN_BOOTSTRAP_TOKEN_TTL_SECONDS } from './bootstrap-token.js';
import { AGENT_DEFAULTS } from './options.js';

export class AgentConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid agent configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AgentConfigError';
  }
}

export interface AgentConfig {
  cluster: string;
  eventBusName: string;
  queueUrl: string;
  region: string;
  metricsPort: number;
  kubeconfig?: string;
  leaderElect: boolean;
  namespace: string;
  identity: string;
  batchIdleMs: number;
  batchMaxMs: number;
  heartbeatSeconds: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** `cluster.k3sServerUrl`: its certificate's SANs are reported for `doctor`. */
  k3sServerUrl?: string;
  /**
   * ARN of the K3s bootstrap-token secret (stack output K3sBootstrapTokenSecretArn): when set,
   * the leader mints short-lived join tokens and publishes them there (docs/security.md).
   */
  bootstrapTokenSecret?: string;
  /** Lifetime of each bootstrap token. @default AGENT_DEFAULTS.joinToken.ttlSeconds */
  bootstrapTokenTtlSeconds: number;
}

export const AGENT_USAGE = `Usage: k3s-burst agent [options]

Runs the in-cluster agent: watches pods, nodes and PodDisruptionBudgets, publishes
ClusterSnapshot events to EventBridge and executes DrainNode/DeleteNode commands from SQS.

Options (each also read from the environment variable shown):
  --cluster <name>          K3S_BURST_CLUSTER        cluster name (required)
  --event-bus <name|arn>    K3S_BURST_EVENT_BUS      EventBridge bus (default k3s-burst-<cluster>)
  --queue-url <url>         K3S_BURST_QUEUE_URL      SQS command queue URL (required)
  --region <region>         AWS_REGION               AWS region (required)
  --metrics-port <port>     K3S_BURST_METRICS_PORT   /healthz /readyz /metrics port (default 8080)
  --kubeconfig <file>       KUBECONFIG               kubeconfig (default: in-cluster service account)
  --leader-elect            K3S_BURST_LEADER_ELECT   use a Lease so only one replica acts (true/false)
  --namespace <ns>          POD_NAMESPACE            namespace of the Lease (default k3s-burst)
  --identity <name>         POD_NAME                 this replica's identity (default hostname)
  --batch-idle-ms <ms>      K3S_BURST_BATCH_IDLE_MS  quiet time before publishing a change (default 1000)
  --batch-max-ms <ms>       K3S_BURST_BATCH_MAX_MS   longest delay of a change (default 10000)
  --heartbeat-seconds <s>   K3S_BURST_HEARTBEAT_SECONDS  snapshot interval without changes (default 60)
  --log-level <level>       K3S_BURST_LOG_LEVEL      debug|info|warn|error (default info)
  --k3s-server-url <url>    K3S_BURST_SERVER_URL     cluster.k3sServerUrl of the config: its
                                                     certificate's SANs are reported for doctor
  --bootstrap-token-secret <arn>  K3S_BURST_BOOTSTRAP_TOKEN_SECRET  the K3sBootstrapTokenSecretArn
                                                     output: mint short-lived K3s join tokens and
                                                     publish them there (k3s.joinCredential
                                                     bootstrap-token)
  --bootstrap-token-ttl-seconds <s>  K3S_BURST_BOOTSTRAP_TOKEN_TTL_SECONDS  lifetime of each join
                                                     token (default 2400, 1800-3300)
  -h, --help
`;

const CLUSTER = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
const BUS =
  /^([A-Za-z0-9._\-/]{1,256}|arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]+)$/;

/** Parse flags + env. Returns 'help' for -h/--help. Throws AgentConfigError listing every problem. */
export function parseAgentConfig(
  args: string[],
  env: Record<string, string | undefined>,
): AgentConfig | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        cluster: { type: 'string' },
        'event-bus': { type: 'string' },
        'queue-url': { type: 'string' },
        region: { type: 'string' },
        'metrics-port': { type: 'string' },
        kubeconfig: { type: 'string' },
        'leader-elect': { type: 'boolean' },
        namespace: { type: 'string' },
        identity: { type: 'string' },
        'batch-idle-ms': { type: 'string' },
        'batch-max-ms': { type: 'string' },
        'heartbeat-seconds': { type: 'string' },
        'log-level': { type: 'string' },
        'k3s-server-url': { type: 'string' },
        'bootstrap-token-secret': { type: 'string' },
        'bootstrap-token-ttl-seconds': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new AgentConfigError([`${(err as Error).message} (see k3s-burst agent --help)`]);
  }
  if (values.help) return 'help';
  const problems: string[] = [];
  const str = (flag: string, envName: string): string | undefined => {
    const v = values[flag];
    const raw = typeof v === 'string' ? v : env[envName];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };
  const int = (flag: string, envName: string, def: number, min: number, max: number): number => {
    const raw = str(flag, envName);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`--${flag} / ${envName} must be an integer in [${min}, ${max}] (got "${raw}")`);
      return def;
    }
    return n;
  };

  const cluster = str('cluster', 'K3S_BURST_CLUSTER');
  if (!cluster)
    problems.push(
      '--cluster / K3S_BURST_CLUSTER is required: set it to the cluster name of your k3s-burst config',
    );
  else if (!CLUSTER.test(cluster))
    problems.push(
      `--cluster / K3S_BURST_CLUSTER must be 2-32 lowercase letters, digits or "-", starting with a letter (got "${cluster}")`,
    );
  const eventBusName = str('event-bus', 'K3S_BURST_EVENT_BUS') ?? `k3s-burst-${cluster ?? ''}`;
  if (!BUS.test(eventBusName))
    problems.push(`--event-bus / K3S_BURST_EVENT_BUS is not a bus name or ARN (got "${eventBusName}")`);
  const queueUrl = str('queue-url', 'K3S_BURST_QUEUE_URL');
  if (!queueUrl)
    problems.push(
      '--queue-url / K3S_BURST_QUEUE_URL is required: use the CommandQueueUrl output of `cdk deploy` (or the commandQueueUrl field of the AgentCredentialsSecretArn secret)',
    );
  else if (
    !/^https?:\/\/[^/]+\/\d{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(queueUrl) &&
    !/^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(queueUrl)
  )
    problems.push(
      `--queue-url / K3S_BURST_QUEUE_URL is not an SQS queue URL like https://sqs.eu-central-1.amazonaws.com/123456789012/name (got "${queueUrl}")`,
    );
  const region = str('region', 'AWS_REGION') ?? env.AWS_DEFAULT_REGION;
  if (!region)
    problems.push('--region / AWS_REGION is required: the region of the k3s-burst stack, e.g. eu-central-1');
  else if (!AWS_REGION_PATTERN.test(region))
    problems.push(`--region / AWS_REGION is not an AWS region (got "${region}")`);
  const metricsPort = int('metrics-port', 'K3S_BURST_METRICS_PORT', 8080, 0, 65535);
  const { publisher } = AGENT_DEFAULTS;
  const batchIdleMs = int('batch-idle-ms', 'K3S_BURST_BATCH_IDLE_MS', publisher.batchIdleMs, 100, 60_000);
  const batchMaxMs = int('batch-max-ms', 'K3S_BURST_BATCH_MAX_MS', publisher.batchMaxMs, 1000, 300_000);
  if (batchMaxMs < batchIdleMs)
    problems.push(`--batch-max-ms must be ≥ --batch-idle-ms (got ${batchMaxMs} < ${batchIdleMs})`);
  const heartbeatSeconds = int(
    'heartbeat-seconds',
    'K3S_BURST_HEARTBEAT_SECONDS',
    publisher.heartbeatMs / 1000,
    10,
    600,
  );
  const leaderRaw = values['leader-elect'] === true ? 'true' : (env.K3S_BURST_LEADER_ELECT ?? 'false');
  if (!/^(true|false|1|0)$/i.test(leaderRaw.trim()))
    problems.push(`K3S_BURST_LEADER_ELECT must be true or false (got "${leaderRaw}")`);
  const logLevel = (str('log-level', 'K3S_BURST_LOG_LEVEL') ?? 'info') as AgentConfig['logLevel'];
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
    problems.push(`--log-level / K3S_BURST_LOG_LEVEL must be debug, info, warn or error (got "${logLevel}")`);
  const serverUrl = str('k3s-server-url', 'K3S_BURST_SERVER_URL');
  // The rule the config validator applies to `cluster.k3sServerUrl`: same check, same message.
  const serverUrlIssue = serverUrl === undefined ? undefined : serverUrlProblem(serverUrl);
  if (serverUrl !== undefined && serverUrlIssue)
    problems.push(
      `--k3s-server-url / K3S_BURST_SERVER_URL: ${serverUrlIssue}; use the cluster.k3sServerUrl of your config (got "${serverUrl.slice(0, 100)}")`,
    );
  const bootstrapTokenSecret = str('bootstrap-token-secret', 'K3S_BURST_BOOTSTRAP_TOKEN_SECRET');
  if (
    bootstrapTokenSecret !== undefined &&
    !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/.test(bootstrapTokenSecret)
  )
    problems.push(
      `--bootstrap-token-secret / K3S_BURST_BOOTSTRAP_TOKEN_SECRET must be the secret ARN of the stack output K3sBootstrapTokenSecretArn (got "${bootstrapTokenSecret.slice(0, 200)}")`,
    );
  const bootstrapTokenTtlSeconds = int(
    'bootstrap-token-ttl-seconds',
    'K3S_BURST_BOOTSTRAP_TOKEN_TTL_SECONDS',
    AGENT_DEFAULTS.joinToken.ttlSeconds,
    MIN_BOOTSTRAP_TOKEN_TTL_SECONDS,
    MAX_BOOTSTRAP_TOKEN_TTL_SECONDS,
  );
  if (problems.length > 0) throw new AgentConfigError(problems);
  const kubeconfig = str('kubeconfig', 'KUBECONFIG');
  return {
    cluster: cluster as string,
    eventBusName,
    queueUrl: queueUrl as string,
    region: region as string,
    metricsPort,
    ...(kubeconfig ? { kubeconfig: kubeconfig.split(':')[0] as string } : {}),
    leaderElect: /^(true|1)$/i.test(leaderRaw.trim()),
    namespace: str('namespace', 'POD_NAMESPACE') ?? 'k3s-burst',
    identity: str('identity', 'POD_NAME') ?? env.HOSTNAME ?? `k3s-burst-agent-${process.pid}`,
    batchIdleMs,
    batchMaxMs,
    heartbeatSeconds,
    logLevel,
    ...(serverUrl ? { k3sServerUrl: serverUrl } : {}),
    ...(bootstrapTokenSecret ? { bootstrapTokenSecret } : {}),
    bootstrapTokenTtlSeconds,
  };
}
