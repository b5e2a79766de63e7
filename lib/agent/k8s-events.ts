/**
 * core/v1 Events, so `kubectl describe node/pod` and `kubectl get events` explain what the
 * agent did. Best effort: a failed Event is logged, never retried, never fails the caller.
 *
 * Repeats are aggregated like client-go's event correlator: the same event (object, type,
 * reason, message) again updates the existing Event's `count` and `lastTimestamp` instead of
 * creating another object, and at most once per `repeatMs` per event (the count catches up
 * with the next update). Every reconcile answers each waiting pod again, so without this a pod
 * held back by a limit would collect an Event object a minute.
 */
import type { Clock } from '../core/clock.js';
import { errorFields, type Logger } from '../core/logger.js';
import { type KubeApi, KubeApiError } from './kube-client.js';
import { AGENT_DEFAULTS } from './options.js';

export const COMPONENT = 'k3s-burst-agent';

export interface InvolvedObject {
  kind: 'Node' | 'Pod';
  name: string;
  namespace?: string;
  uid?: string;
}

/** Reasons the agent uses. `TriggeredScaleUp`/`NotTriggerScaleUp` mirror Cluster Autoscaler's pod events (`NotHelpable`: older control planes). */
export type EventReason =
  | 'DrainStarted'
  | 'DrainFinished'
  | 'DrainAbandoned'
  | 'DrainRefused'
  | 'Evicted'
  | 'EvictionBlocked'
  | 'NodeDeleted'
  | 'DeleteRefused'
  | 'TriggeredScaleUp'
  | 'NotTriggerScaleUp'
  | 'NotHelpable';

/** Events remembered for aggregation; the memory is cleared when full (bounded, like model.ts). */
export const MAX_REMEMBERED_EVENTS = 4096;

/** Default of `repeatMs`: a repeated event updates its Event at most every 5 minutes. */
export const EVENT_REPEAT_MS = AGENT_DEFAULTS.events.repeatMs;

interface Remembered {
  name: string;
  namespace: string;
  count: number;
  /** When the API server last got this Event (created or updated). */
  sentAtMs: number;
}

export class EventRecorder {
  private counter = 0;
  private readonly remembered = new Map<string, Remembered>();
  private readonly repeatMs: number;

  constructor(
    private readonly o: {
      api: KubeApi;
      clock: Clock;
      log: Logger;
      instance: string;
      /** Update a repeated event's Event at most this often. @default EVENT_REPEAT_MS */
      repeatMs?: number;
    },
  ) {
    this.repeatMs = o.repeatMs ?? EVENT_REPEAT_MS;
  }

  async record(
    obj: InvolvedObject,
    type: 'Normal' | 'Warning',
    reason: EventReason,
    message: string,
  ): Promise<void> {
    // Node events live in `default`, like the kubelet's.
    const namespace = obj.kind === 'Node' ? 'default' : (obj.namespace ?? 'default');
    const text = message.slice(0, 1024);
    const key = JSON.stringify([namespace, obj.kind, obj.name, obj.uid ?? '', type, reason, text]);
    const seen = this.remembered.get(key);
    if (seen && (await this.repeat(seen, reason, obj))) return;
    const now = new Date(this.o.clock.now()).toISOString();
    const micro = now.replace(/\.(\d{3})Z$/, '.$1000Z');
    const name = `${obj.name}.${this.o.clock.now().toString(16)}${(this.counter++ % 4096).toString(16).padStart(3, '0')}`;
    const involvedObject: Record<string, string> = { apiVersion: 'v1', kind: obj.kind, name: obj.name };
    if (obj.kind === 'Pod' && obj.namespace) involvedObject.namespace = obj.namespace;
    if (obj.uid) involvedObject.uid = obj.uid;
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject,
      reason,
      message: text,
      type,
      source: { component: COMPONENT },
      reportingComponent: `k3s-burst.io/agent`,
      reportingInstance: this.o.instance,
      action: reason,
      firstTimestamp: now,
      lastTimestamp: now,
      eventTime: micro,
      count: 1,
    };
    try {
      await this.o.api.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
        body,
      });
      if (this.remembered.size >= MAX_REMEMBERED_EVENTS) this.remembered.clear();
      this.remembered.set(key, { name, namespace, count: 1, sentAtMs: this.o.clock.now() });
    } catch (err) {
      this.o.log.warn('could not record Kubernetes Event', {
        reason,
        object: `${obj.kind}/${obj.name}`,
        ...errorFields(err),
      });
    }
  }

  /**
   * The same event again: count it, and update the Event when `repeatMs` has passed since the
   * last update. True when handled; false when the Event is gone (expired by the API server's
   * event TTL, or deleted) or could not be updated, so the caller creates a new one.
   */
  private async repeat(seen: Remembered, reason: EventReason, obj: InvolvedObject): Promise<boolean> {
    seen.count++;
    const nowMs = this.o.clock.now();
    if (nowMs - seen.sentAtMs < this.repeatMs) return true;
    const now = new Date(nowMs).toISOString();
    try {
      await this.o.api.request(
        'PATCH',
        `/api/v1/namespaces/${encodeURIComponent(seen.namespace)}/events/${encodeURIComponent(seen.name)}`,
        {
          body: { count: seen.count, lastTimestamp: now },
          contentType: 'application/merge-patch+json',
        },
      );
      seen.sentAtMs = nowMs;
      return true;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) {
        this.o.log.warn('could not update a repeated Kubernetes Event; creating a new one', {
          reason,
          object: `${obj.kind}/${obj.name}`,
          ...errorFields(err),
        });
      }
      return false;
    }
  }

  /**
   * Explain a scale-out decision on the pods it concerns (`namespace/name`): the command consumer
   * calls it for ScaleOutRequested (TriggeredScaleUp) and DecisionRecorded unhelpable shapes
   * (NotHelpable) when those reach the agent's queue (see docs/agent.md).
   */
  async recordPodDecision(
    pods: string[],
    reason: 'TriggeredScaleUp' | 'NotTriggerScaleUp' | 'NotHelpable',
    message: string,
    warning = reason === 'NotHelpable',
  ): Promise<void> {
    for (const key of pods.slice(0, 20)) {
      const [namespace, name] = key.split('/');
      if (!namespace || !name) continue;
      await this.record({ kind: 'Pod', namespace, name }, warning ? 'Warning' : 'Normal', reason, message);
    }
  }
}
