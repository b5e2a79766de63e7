/**
 * Long-polls the command queue and executes DrainNode / DeleteNode.
 *
 * Delivery contract (SQS standard queue, at-least-once):
 * - a message is deleted only after its work is done and, for a drain, after NodeDrained was
 *   accepted by EventBridge; on any failure it stays and comes back after its visibility timeout;
 * - invalid messages (not JSON, not an EventBridge envelope, unknown detail-type, a detail that
 *   fails its schema, another cluster's command) are logged with the reason and counted, and left
 *   on the queue: SQS's redrive policy moves them to the dead-letter queue after maxReceiveCount,
 *   where an operator can read them. They never trigger an action;
 * - long drains keep their message invisible with ChangeMessageVisibility;
 * - redelivery is idempotent: the drain itself is (cordon is a no-op the second time, evicting a
 *   gone pod is a 404), and events already handled by this process are recognised by their
 *   EventBridge id and just deleted;
 * - on shutdown an in-flight command is abandoned: its message is made visible again at once
 *   (visibility 0) so the next agent picks it up, and it is not deleted.
 */
import type { ZodType } from 'zod';
import type { Clock } from '../core/clock.js';
import { errorFields, type Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import {
  AGENT_COMMAND_DETAIL_TYPES,
  DecisionRecorded,
  DeleteNode,
  DetailTypes,
  DrainNode,
  EventEnvelope,
  type NodeDrained,
  ScaleOutRequested,
  Sources,
} from '../events/index.js';
import { deleteNode, drainNode } from './drain.js';
import type { EventRecorder } from './k8s-events.js';
import type { KubeApi } from './kube-client.js';
import { type AgentMetricName, MetricNames } from './metrics.js';
import { AGENT_DEFAULTS } from './options.js';
import type { CommandQueuePort, EventBusPort, QueueMessage } from './ports.js';
import { sendWithRetry } from './publisher.js';
import type { VolumeLookup } from './volumes.js';

export interface CommandConsumerOptions {
  queue: CommandQueuePort;
  bus: EventBusPort;
  api: KubeApi;
  cluster: string;
  eventBusName: string;
  clock: Clock;
  log: Logger;
  metrics: Metrics<AgentMetricName>;
  events: EventRecorder;
  /** @default AGENT_DEFAULTS.commands.waitSeconds */
  waitSeconds?: number;
  /** Visibility per receive and per extension. @default AGENT_DEFAULTS.commands.visibilitySeconds */
  visibilitySeconds?: number;
  /** Commands executed at once. @default 4 */
  maxConcurrent?: number;
  /** Passed to the drain executor (tests shorten it). */
  drainBackoffMs?: number;
  /** Backoff after a failed receive. @default 5000 */
  errorBackoffMs?: number;
  /**
   * Pending pods (`namespace/name`) of a scheduling shape, from the pod cache. With it, decision
   * notices on the queue (ScaleOutRequested, DecisionRecorded) become pod Events.
   */
  pendingPodsOfShape?: (shapeId: string) => string[];
  /** Claim/volume caches: a voluntary drain does not evict a pod whose data is on its node. */
  volumes?: VolumeLookup;
}

type Parsed =
  | { ok: true; id: string; kind: 'drain'; command: DrainNode }
  | { ok: true; id: string; kind: 'delete'; command: DeleteNode }
  | { ok: true; id: string; kind: 'notice'; notice: PodNotice[] }
  | { ok: false; reason: string };

/** A pod Event to record for every pending pod of `shapeId`. */
export interface PodNotice {
  shapeId: string;
  reason: 'TriggeredScaleUp' | 'NotTriggerScaleUp' | 'NotHelpable';
  message: string;
  /** Warning for pods that stay pending for a reason someone may fix (limit, unhelpable, no offering). */
  warning?: boolean;
}

/** Detail-types that only explain a decision on pods (no action); optional on the queue. */
export const NOTICE_DETAIL_TYPES = [DetailTypes.scaleOutRequested, DetailTypes.decisionRecorded] as const;

/** Validate an event detail against its schema and the agent's cluster; a string is the reason to reject it. */
function parseDetail<T extends { cluster: string }>(
  schema: ZodType<T>,
  type: string,
  detail: unknown,
  cluster: string,
): T | string {
  const d = schema.safeParse(detail);
  if (!d.success) {
    const issue = d.error.issues[0];
    return `invalid ${type}: ${issue?.path.join('.') || '$'} ${issue?.message ?? ''}`.trim();
  }
  if (d.data.cluster !== cluster)
    return `${type} is for cluster "${d.data.cluster}", this agent serves "${cluster}"`;
  return d.data;
}

function parseNotice(type: string, detail: unknown, cluster: string): { notice: PodNotice[] } | string {
  if (type === DetailTypes.scaleOutRequested) {
    const d = parseDetail(ScaleOutRequested, type, detail, cluster);
    if (typeof d === 'string') return d;
    const l = d.launch;
    const message = `pod triggered scale-up: ${l.count} × ${l.instanceTypes[0]}${l.instanceTypes.length > 1 ? ` (or ${l.instanceTypes.slice(1, 3).join(', ')})` : ''} (decision ${d.decisionId}): ${l.reason}`;
    return { notice: l.shapeIds.map((shapeId) => ({ shapeId, reason: 'TriggeredScaleUp', message })) };
  }
  const d = parseDetail(DecisionRecorded, type, detail, cluster);
  if (typeof d === 'string') return d;
  if (d.podAnswers) {
    // Every pod the decision did not launch for gets Cluster Autoscaler's NotTriggerScaleUp, with the answer.
    return {
      notice: d.podAnswers
        .filter((a) => a.kind !== 'launched-for')
        .map((a) => ({
          shapeId: a.shapeId,
          reason: 'NotTriggerScaleUp',
          message: `pod didn't trigger scale-up (${a.kind}, ${a.code}): ${a.message}`,
          warning: a.kind === 'held-by-limit' || a.kind === 'unhelpable' || a.kind === 'waiting-for-offering',
        })),
    };
  }
  return {
    notice: d.explanations
      .filter((e) => e.kind === 'unhelpable' && e.subject)
      .map((e) => ({
        shapeId: e.subject as string,
        reason: 'NotHelpable',
        message: `pod didn't trigger scale-up: ${e.message}`,
      })),
  };
}

/** Parse an SQS body (an EventBridge envelope) into a command for this cluster. */
export function parseCommand(body: string, cluster: string): Parsed {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const env = EventEnvelope.safeParse(raw);
  if (!env.success)
    return { ok: false, reason: `not an EventBridge event: ${env.error.issues[0]?.message ?? 'invalid'}` };
  const type = env.data['detail-type'];
  if ((NOTICE_DETAIL_TYPES as readonly string[]).includes(type)) {
    const n = parseNotice(type, env.data.detail, cluster);
    return typeof n === 'string'
      ? { ok: false, reason: n }
      : { ok: true, id: env.data.id, kind: 'notice', notice: n.notice };
  }
  if (!(AGENT_COMMAND_DETAIL_TYPES as readonly string[]).includes(type))
    return { ok: false, reason: `unknown detail-type "${type}"` };
  const detail =
    type === DetailTypes.drainNode
      ? parseDetail(DrainNode, type, env.data.detail, cluster)
      : parseDetail(DeleteNode, type, env.data.detail, cluster);
  if (typeof detail === 'string') return { ok: false, reason: detail };
  return type === DetailTypes.drainNode
    ? { ok: true, id: env.data.id, kind: 'drain', command: detail as DrainNode }
    : { ok: true, id: env.data.id, kind: 'delete', command: detail as DeleteNode };
}

export class CommandConsumer {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** EventBridge ids of commands finished by this process (bounded, oldest evicted). */
  private readonly done = new Map<string, number>();

  constructor(private readonly o: CommandConsumerOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stop receiving, abandon in-flight commands (messages made visible again), wait for them. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private async run(): Promise<void> {
    const { queue, log, clock } = this.o;
    const signal = this.abort.signal;
    const max = this.o.maxConcurrent ?? 4;
    while (!signal.aborted) {
      if (this.inFlight.size >= max) {
        await Promise.race(this.inFlight.values());
        continue;
      }
      let messages: QueueMessage[];
      try {
        messages = await queue.receive({
          maxMessages: max - this.inFlight.size,
          waitSeconds: this.o.waitSeconds ?? AGENT_DEFAULTS.commands.waitSeconds,
          visibilitySeconds: this.o.visibilitySeconds ?? AGENT_DEFAULTS.commands.visibilitySeconds,
          signal,
        });
      } catch (err) {
        if (signal.aborted) break;
        log.warn('receiving commands failed', errorFields(err));
        await clock.sleep(this.o.errorBackoffMs ?? 5000, signal);
        continue;
      }
      for (const m of messages) {
        if (signal.aborted) {
          await this.release(m);
          continue;
        }
        const p = this.handle(m)
          .catch((err) =>
            log.error('command failed; it will be redelivered', {
              messageId: m.messageId,
              ...errorFields(err),
            }),
          )
          .finally(() => this.inFlight.delete(m.messageId));
        this.inFlight.set(m.messageId, p);
      }
    }
  }

  private async release(m: QueueMessage): Promise<void> {
    try {
      await this.o.queue.changeVisibility(m.receiptHandle, 0);
    } catch {
      // it comes back after its visibility timeout anyway
    }
  }

  private remember(id: string): void {
    this.done.set(id, this.o.clock.now());
    if (this.done.size > 1000) this.done.delete(this.done.keys().next().value as string);
  }

  /** Pod Events for decision notices: at most 50 shapes, 20 pods each (Events are best effort). */
  private async recordNotices(notices: PodNotice[]): Promise<void> {
    const lookup = this.o.pendingPodsOfShape;
    if (!lookup) return;
    for (const n of notices.slice(0, 50)) {
      const pods = lookup(n.shapeId);
      await this.o.events.recordPodDecision(pods, n.reason, n.message, n.warning);
    }
  }

  /** Handle one message. Exposed for tests. */
  async handle(m: QueueMessage): Promise<void> {
    const { log, metrics, queue } = this.o;
    const parsed = parseCommand(m.body, this.o.cluster);
    if (!parsed.ok) {
      metrics.count(MetricNames.invalidCommands);
      log.warn('invalid command left for the dead-letter queue', {
        messageId: m.messageId,
        receiveCount: m.receiveCount,
        reason: parsed.reason,
      });
      return;
    }
    if (parsed.kind === 'notice') {
      if (!this.done.has(parsed.id)) await this.recordNotices(parsed.notice);
      await queue.delete(m.receiptHandle);
      this.remember(parsed.id);
      return;
    }
    const clog = log.child({
      messageId: m.messageId,
      eventId: parsed.id,
      command: parsed.kind,
      node: parsed.command.nodeName,
    });
    if (this.done.has(parsed.id)) {
      clog.info('command already handled, deleting the redelivered message');
      await queue.delete(m.receiptHandle);
      return;
    }
    if (parsed.kind === 'delete') {
      const outcome = await deleteNode(parsed.command, { ...this.o, log: clog });
      clog.info('DeleteNode handled', { outcome });
      await queue.delete(m.receiptHandle);
      this.remember(parsed.id);
      return;
    }

    const visibility = this.o.visibilitySeconds ?? AGENT_DEFAULTS.commands.visibilitySeconds;
    let lastExtend = this.o.clock.now();
    const extend = async () => {
      // Extend at half the visibility timeout, so the message never reappears mid-drain.
      if (this.o.clock.now() - lastExtend < (visibility * 1000) / 2) return;
      lastExtend = this.o.clock.now();
      try {
        await queue.changeVisibility(m.receiptHandle, visibility);
      } catch (err) {
        clog.warn('could not extend message visibility', errorFields(err));
      }
    };
    clog.info('DrainNode received', { reason: parsed.command.reason, deadline: parsed.command.deadline });
    const result: NodeDrained = await drainNode(
      parsed.command,
      {
        ...this.o,
        log: clog,
        onProgress: extend,
        ...(this.o.drainBackoffMs ? { initialBackoffMs: this.o.drainBackoffMs } : {}),
      },
      this.abort.signal,
    );
    if (this.abort.signal.aborted) {
      clog.info('shutting down: drain abandoned, message released for redelivery');
      await this.release(m);
      return;
    }
    const sent = await sendWithRetry(
      {
        source: Sources.agent,
        detailType: DetailTypes.nodeDrained,
        detail: JSON.stringify(result),
        eventBusName: this.o.eventBusName,
      },
      {
        bus: this.o.bus,
        clock: this.o.clock,
        attempts: 5,
        baseMs: 500,
        onFailure: (why) => {
          metrics.count(MetricNames.publishFailures, 1, { reason: 'node-drained' });
          clog.warn('publishing NodeDrained failed', why);
        },
      },
    );
    if (!sent) {
      clog.error('NodeDrained not published; the command will be redelivered and re-run');
      return;
    }
    await queue.delete(m.receiptHandle);
    this.remember(parsed.id);
  }
}
