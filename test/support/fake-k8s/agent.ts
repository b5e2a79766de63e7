/**
 * Run a whole agent (`startAgent`) against a FakeK8s server and in-memory AWS fakes, with
 * timings shortened for tests (batch 20/100 ms, lease 1 s / retry 50 ms, drain backoff 20 ms).
 * Used by the agent integration tests, the RBAC test and the end-to-end run.
 */
import { type AgentOptions, type RunningAgent, startAgent } from '../../../lib/agent/agent.js';
import { KubeClient } from '../../../lib/agent/kube-client.js';
import { kubeconfigTarget } from '../../../lib/agent/kube-config.js';
import { memoryLogger } from '../../../lib/agent/logger.js';
import { FakeEventBus, FakeQueue } from '../../../lib/sim/world/agent-ports.js';
import { systemClock } from '../../../lib/system/clock.js';
import { CLUSTER } from './fixtures.js';
import type { FakeK8s } from './server.js';

export interface TestAgent {
  agent: RunningAgent;
  client: KubeClient;
  bus: FakeEventBus;
  queue: FakeQueue;
  log: ReturnType<typeof memoryLogger>;
  /** Stop the agent and close its client. */
  stop(): Promise<void>;
}

export async function startTestAgent(
  k8s: FakeK8s,
  over: Partial<AgentOptions> & { bus?: FakeEventBus; queue?: FakeQueue } = {},
): Promise<TestAgent> {
  const client = new KubeClient(await kubeconfigTarget(k8s.writeKubeconfig()));
  const bus = over.bus ?? new FakeEventBus();
  const queue = over.queue ?? new FakeQueue({ maxReceiveCount: 5 });
  const log = memoryLogger();
  const agent = startAgent({
    cluster: CLUSTER,
    eventBusName: `k3s-burst-${CLUSTER}`,
    api: client,
    bus,
    queue,
    log,
    clock: systemClock,
    identity: 'agent-test-0',
    namespace: 'k3s-burst',
    ...over,
    // Shortened per component; a test's own tuning overrides these field by field.
    tuning: {
      ...over.tuning,
      publisher: {
        batchIdleMs: 20,
        batchMaxMs: 100,
        heartbeatMs: 60_000,
        retryBaseMs: 10,
        ...over.tuning?.publisher,
      },
      commands: { waitSeconds: 1, visibilitySeconds: 30, drainBackoffMs: 20, ...over.tuning?.commands },
      lease: { durationMs: 1000, retryMs: 50, ...over.tuning?.lease },
      informers: { backoffMs: 20, maxBackoffMs: 100, ...over.tuning?.informers },
    },
  });
  return {
    agent,
    client,
    bus,
    queue,
    log,
    async stop() {
      await agent.stop();
      client.close();
    },
  };
}

/** Poll `cond` every 10 ms until true; throws naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
