/**
 * `k3s-burst agent`: run the in-cluster agent until SIGTERM/SIGINT.
 * Exit codes: 0 after a clean shutdown, 1 on a runtime failure (e.g. leadership lost), 2 on bad
 * configuration.
 */
import { once } from 'node:events';
import { startAgent } from '../agent/agent.js';
import {
  AwsCredentialsError,
  credentialsFromEnv,
  liteEventBus,
  liteJoinTokenStore,
  liteQueue,
} from '../agent/aws-lite.js';
import { AGENT_USAGE, AgentConfigError, parseAgentConfig } from '../agent/config.js';
import { startHealthServer } from '../agent/http-server.js';
import { KubeClient } from '../agent/kube-client.js';
import { KubeConfigError, resolveKubeTarget } from '../agent/kube-config.js';
import { createLogger } from '../agent/logger.js';
import { errorFields } from '../core/logger.js';
import { type CliIo, ExitCode } from './io.js';

export async function run(args: string[], io: CliIo): Promise<number> {
  let config: ReturnType<typeof parseAgentConfig>;
  try {
    config = parseAgentConfig(args, io.env);
  } catch (err) {
    if (err instanceof AgentConfigError) {
      io.stderr(`${err.message}\n\n${AGENT_USAGE}`);
      return ExitCode.usage;
    }
    throw err;
  }
  if (config === 'help') {
    io.stdout(AGENT_USAGE);
    return ExitCode.ok;
  }
  const log = createLogger({
    write: (l) => io.stdout(l),
    level: config.logLevel,
    base: { component: 'agent', cluster: config.cluster },
  });

  let credentials: ReturnType<typeof credentialsFromEnv>;
  try {
    credentials = credentialsFromEnv(io.env);
  } catch (err) {
    if (err instanceof AwsCredentialsError) {
      io.stderr(`invalid agent configuration:\n  - ${err.message}\n`);
      return ExitCode.usage;
    }
    throw err;
  }
  const aws = { region: config.region, credentials, env: io.env };

  let target: Awaited<ReturnType<typeof resolveKubeTarget>>;
  try {
    target = await resolveKubeTarget(config.kubeconfig, io.env);
  } catch (err) {
    if (err instanceof KubeConfigError) {
      io.stderr(`${err.message}\n`);
      return ExitCode.usage;
    }
    throw err;
  }
  const api = new KubeClient(target);
  let exitCode: number = ExitCode.ok;
  const stopRequested = new AbortController();
  const agent = startAgent({
    cluster: config.cluster,
    eventBusName: config.eventBusName,
    api,
    bus: liteEventBus(aws),
    queue: liteQueue({ ...aws, queueUrl: config.queueUrl }),
    log,
    identity: config.identity,
    namespace: config.namespace,
    leaderElect: config.leaderElect,
    tuning: {
      publisher: {
        batchIdleMs: config.batchIdleMs,
        batchMaxMs: config.batchMaxMs,
        heartbeatMs: config.heartbeatSeconds * 1000,
      },
      joinToken: { ttlSeconds: config.bootstrapTokenTtlSeconds },
    },
    ...(config.k3sServerUrl ? { k3sServerUrl: config.k3sServerUrl } : {}),
    ...(config.bootstrapTokenSecret
      ? { joinToken: { store: liteJoinTokenStore({ ...aws, secretId: config.bootstrapTokenSecret }) } }
      : {}),
    onLeadershipLost: () => {
      exitCode = ExitCode.failure;
      stopRequested.abort();
    },
  });
  let server: Awaited<ReturnType<typeof startHealthServer>>;
  try {
    server = await startHealthServer({
      port: config.metricsPort,
      metrics: agent.metrics,
      ready: () => agent.readiness(),
    });
  } catch (err) {
    log.error('cannot listen for /healthz, /readyz, /metrics', {
      port: config.metricsPort,
      ...errorFields(err),
    });
    await agent.stop();
    api.close();
    return ExitCode.failure;
  }
  log.info('agent started', {
    eventBus: config.eventBusName,
    region: config.region,
    apiServer: target.server,
    metricsPort: server.port,
    leaderElect: config.leaderElect,
    identity: config.identity,
    joinToken: config.bootstrapTokenSecret ? 'bootstrap-token' : 'off',
  });

  const onSignal = (sig: string) => () => {
    log.info('signal received, shutting down', { signal: sig });
    stopRequested.abort();
  };
  const term = onSignal('SIGTERM');
  const int = onSignal('SIGINT');
  process.once('SIGTERM', term);
  process.once('SIGINT', int);
  await once(stopRequested.signal, 'abort');
  process.off('SIGTERM', term);
  process.off('SIGINT', int);

  await agent.stop();
  await server.close();
  api.close();
  log.info('agent stopped', { exitCode });
  return exitCode;
}
