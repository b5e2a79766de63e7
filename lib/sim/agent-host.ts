/**
 * The agent inside the simulator: its own Publisher (batching, heartbeat, seq, fitting),
 * CommandConsumer (SQS delivery contract, DrainNode → drain executor → NodeDrained,
 * DeleteNode) and BootstrapTokenRotator (mints a bootstrap token in the API server, publishes it
 * to Secrets Manager, renews it before it expires) run unchanged on the simulator's clock, against the world's command queue, the
 * routing bus and a Kubernetes API served by the cluster model. What the simulator provides is
 * only the world: the clock, the network (connected or not) and the API server.
 */
import { BootstrapTokenRotator } from '../agent/bootstrap-token.js';
import { CommandConsumer } from '../agent/command-consumer.js';
import { EventRecorder } from '../agent/k8s-events.js';
import type { KubeApi } from '../agent/kube-client.js';
import { agentMetrics } from '../agent/metrics.js';
import type {
  BusEntry as AgentBusEntry,
  PutResult as AgentPutResult,
  CommandQueuePort,
  EventBusPort,
  JoinTokenStorePort,
  QueueMessage,
} from '../agent/ports.js';
import { Publisher } from '../agent/publisher.js';
import type { Clock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import type { BusPort } from '../core/ports.js';
import type { ClusterSnapshotInput } from '../events/index.js';
import type { JoinTokenSecret } from '../events/join-token.js';

/** Agent timers on the simulator's agenda. `schedule` returns a cancel function. */
export class SimClock implements Clock {
  constructor(
    private readonly nowMs: () => number,
    private readonly schedule: (atMs: number, fn: () => void) => () => void,
  ) {}

  now(): number {
    return this.nowMs();
  }

  setTimer(fn: () => void, ms: number): () => void {
    return this.schedule(this.nowMs() + Math.max(0, Math.round(ms)), fn);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        cancel();
        resolve();
      };
      const cancel = this.setTimer(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** PutEvents from the agent's process: fails as a whole while the agent is cut off from AWS. */
export class AgentUplink implements EventBusPort {
  connected = true;
  constructor(
    private readonly bus: BusPort,
    private readonly onPut: (e: AgentBusEntry) => void = () => undefined,
  ) {}

  async putEvents(entries: AgentBusEntry[]): Promise<AgentPutResult[]> {
    if (!this.connected) throw new Error('PutEvents: network unreachable (the home link is down)');
    for (const e of entries) this.onPut(e);
    const r = await this.bus.put(
      entries.map((e) => ({ source: e.source, detailType: e.detailType, detail: e.detail })),
    );
    const failed = new Map(r.failed.map((f) => [f.index, f]));
    return entries.map((_, i): AgentPutResult => {
      const f = failed.get(i);
      return f
        ? { ok: false, errorCode: f.errorCode, errorMessage: f.errorMessage }
        : { ok: true, eventId: r.eventIds[i] ?? `e${i}` };
    });
  }
}

/** The agent's Secrets Manager client for the join token: PutSecretValue fails while cut off from AWS. */
export class JoinTokenLink implements JoinTokenStorePort {
  connected = true;
  constructor(private readonly write: (value: JoinTokenSecret) => void) {}

  async put(value: JoinTokenSecret): Promise<void> {
    if (!this.connected) throw new Error('PutSecretValue: network unreachable (the home link is down)');
    this.write(value);
  }
}

export interface SimAgentOptions {
  cluster: string;
  clock: SimClock;
  uplink: AgentUplink;
  queue: CommandQueuePort;
  api: KubeApi;
  build: (seq: number, observedAt: string) => ClusterSnapshotInput;
  batchIdleMs: number;
  batchMaxMs: number;
  heartbeatMs: number;
  onPublished: (seq: number) => void;
  /** Where the rotator publishes the join token (Secrets Manager through the home link). */
  tokenStore: JoinTokenStorePort;
  /** Token id and secret characters (seeded: a run is deterministic). */
  random: (n: number) => string;
}

/** One agent process (a restart makes a new one: batch state and in-flight drains are lost). */
export class SimAgent {
  readonly publisher: Publisher;
  readonly consumer: CommandConsumer;
  readonly rotator: BootstrapTokenRotator;

  constructor(o: SimAgentOptions) {
    const log = silentLogger;
    const metrics = agentMetrics();
    const events = new EventRecorder({ api: o.api, clock: o.clock, log, instance: 'sim-agent' });
    this.publisher = new Publisher({
      cluster: o.cluster,
      eventBusName: `k3s-burst-${o.cluster}`,
      bus: o.uplink,
      clock: o.clock,
      log,
      metrics,
      build: o.build,
      batchIdleMs: o.batchIdleMs,
      batchMaxMs: o.batchMaxMs,
      heartbeatMs: o.heartbeatMs,
      onPublished: o.onPublished,
    });
    this.consumer = new CommandConsumer({
      queue: o.queue,
      bus: o.uplink,
      api: o.api,
      cluster: o.cluster,
      eventBusName: `k3s-burst-${o.cluster}`,
      clock: o.clock,
      log,
      metrics,
      events,
    });
    this.rotator = new BootstrapTokenRotator({
      api: o.api,
      store: o.tokenStore,
      clock: o.clock,
      log,
      metrics,
      random: o.random,
    });
  }

  start(): void {
    this.publisher.start();
    this.consumer.start();
    this.rotator.start();
  }

  markDirty(): void {
    this.publisher.markDirty();
  }

  async stop(): Promise<void> {
    await Promise.all([this.publisher.stop(), this.consumer.stop(), this.rotator.stop()]);
  }
}

/** The agent's SQS client: long polls fail while the agent is cut off from AWS. */
export class QueueLink implements CommandQueuePort {
  connected = true;
  constructor(private readonly queue: CommandQueuePort) {}

  receive(o: Parameters<CommandQueuePort['receive']>[0]): Promise<QueueMessage[]> {
    if (!this.connected)
      return Promise.reject(new Error('ReceiveMessage: network unreachable (the home link is down)'));
    return this.queue.receive(o);
  }

  delete(receiptHandle: string): Promise<void> {
    if (!this.connected) return Promise.reject(new Error('DeleteMessage: network unreachable'));
    return this.queue.delete(receiptHandle);
  }

  changeVisibility(receiptHandle: string, visibilitySeconds: number): Promise<void> {
    if (!this.connected) return Promise.reject(new Error('ChangeMessageVisibility: network unreachable'));
    return this.queue.changeVisibility(receiptHandle, visibilitySeconds);
  }
}
