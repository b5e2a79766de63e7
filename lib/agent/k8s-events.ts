/**
 * core/v1 Events, so `kubectl describe node/pod` and `kubectl get events` explain what the
 * agent did. Best effort: a failed Event is logged, never retried, never fails the caller.
 */
import type { Clock } from './clock.js';
import type { KubeApi } from './kube-client.js';
import { errorFields, type Logger } from './logger.js';

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
  | 'DrainRefused'
  | 'Evicted'
  | 'EvictionBlocked'
  | 'NodeDeleted'
  | 'DeleteRefused'
  | 'TriggeredScaleUp'
  | 'NotTriggerScaleUp'
  | 'NotHelpable';

export class EventRecorder {
  private counter = 0;

  constructor(private readonly o: { api: KubeApi; clock: Clock; log: Logger; instance: string }) {}

  async record(
    obj: InvolvedObject,
    type: 'Normal' | 'Warning',
    reason: EventReason,
    message: string,
  ): Promise<void> {
    // Node events live in `default`, like the kubelet's.
    const namespace = obj.kind === 'Node' ? 'default' : (obj.namespace ?? 'default');
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
      message: message.slice(0, 1024),
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
    } catch (err) {
      this.o.log.warn('could not record Kubernetes Event', {
        reason,
        object: `${obj.kind}/${obj.name}`,
        ...errorFields(err),
      });
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
