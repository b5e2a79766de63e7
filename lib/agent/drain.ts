/**
 * Executes `DrainNode`: refuse unless managed, cordon, evict through the Eviction API until
 * empty or the deadline, report `NodeDrained`. Mirrors `kubectl drain --ignore-daemonsets`:
 * DaemonSet and mirror pods are skipped; pods with no controller, emptyDir data or our
 * do-not-disrupt annotation are not evicted (losing them is not ours to decide) and are reported
 * as blocking. PDBs are enforced by the API server: a 429 is retried with backoff until the
 * deadline; a 500 "more than one PodDisruptionBudget" never succeeds and blocks at once.
 */

import type { Clock } from '../core/clock.js';
import { errorFields, type Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { DrainNode, NodeDrained } from '../events/index.js';
import { SCHEMA_VERSION } from '../events/index.js';
import type { EventRecorder } from './k8s-events.js';
import { type KubeApi, KubeApiError } from './kube-client.js';
import { type AgentMetricName, MetricNames } from './metrics.js';
import {
  isManagedNode,
  parseAwsProviderId,
  type RawNode,
  type RawPod,
  type SlimPod,
  slimNode,
  slimPod,
} from './model.js';
import { AGENT_DEFAULTS } from './options.js';
import { claimMayBeNodeLocal } from './snapshot-builder.js';
import type { VolumeLookup } from './volumes.js';

export interface DrainDeps {
  api: KubeApi;
  clock: Clock;
  log: Logger;
  metrics: Metrics<AgentMetricName>;
  events: EventRecorder;
  cluster: string;
  /** Called between eviction rounds (the consumer extends the message visibility here). */
  onProgress?: () => Promise<void>;
  /** First retry delay after a 429; doubles up to `maxBackoffMs`. @default AGENT_DEFAULTS.commands.drainBackoffMs */
  initialBackoffMs?: number;
  /** @default 10000 */
  maxBackoffMs?: number;
  /** Grace period passed in the Eviction's deleteOptions; undefined = the pod's own. */
  gracePeriodSeconds?: number;
  /** Claim/volume caches (lib/agent/volumes.ts); absent = claims are not looked at. */
  volumes?: VolumeLookup;
}

const MULTIPLE_PDBS = 'more than one PodDisruptionBudget';

export function nodePath(name: string): string {
  return `/api/v1/nodes/${encodeURIComponent(name)}`;
}

/** GET a node; undefined on 404. */
export async function getNode(api: KubeApi, name: string): Promise<RawNode | undefined> {
  try {
    return (await api.request<RawNode>('GET', nodePath(name))).body;
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return undefined;
    throw err;
  }
}

/**
 * Why we must not touch this node, or undefined when it is ours: managed label + cluster label +
 * aws:/// providerID, and (when the command names one) the same instance id.
 */
export function refusalReason(
  node: RawNode,
  cluster: string,
  instanceId: string | undefined,
): string | undefined {
  const slim = slimNode(node);
  if (!isManagedNode(slim, cluster))
    return `node ${slim.name} is not a managed k3s-burst node of cluster ${cluster} (providerID "${slim.providerID}"); on-prem nodes are never touched`;
  const aws = parseAwsProviderId(slim.providerID);
  if (instanceId && aws?.instanceId !== instanceId)
    return `node ${slim.name} belongs to instance ${aws?.instanceId}, not ${instanceId}: the name was reused`;
  return undefined;
}

async function podsOnNode(api: KubeApi, nodeName: string): Promise<SlimPod[]> {
  const res = await api.request<{ items?: RawPod[] }>('GET', '/api/v1/pods', {
    query: { fieldSelector: `spec.nodeName=${nodeName}` },
  });
  return (res.body.items ?? []).map(slimPod);
}

function drainable(p: SlimPod): boolean {
  return !p.daemonSet && !p.mirror && p.phase !== 'Succeeded' && p.phase !== 'Failed';
}

function permanentBlocker(p: SlimPod, volumes: VolumeLookup | undefined): string | undefined {
  if (p.doNotDisrupt) return 'do-not-disrupt';
  if (!p.hasController && !p.safeToEvict) return 'no-controller';
  if (p.localStorage) return 'local-storage';
  if (!p.safeToEvict && claimMayBeNodeLocal(p, volumes)) return 'local-storage';
  return undefined;
}

function causeMessage(err: KubeApiError): string {
  const body = err.body as { message?: string; details?: { causes?: { message?: string }[] } } | undefined;
  return body?.details?.causes?.[0]?.message ?? body?.message ?? err.message;
}

export async function drainNode(cmd: DrainNode, deps: DrainDeps, signal: AbortSignal): Promise<NodeDrained> {
  const { api, clock, log, metrics, events } = deps;
  const deadline = Date.parse(cmd.deadline);
  const result = (
    outcome: NodeDrained['outcome'],
    blockingPods: NodeDrained['blockingPods'] = [],
    evictedPods = 0,
  ): NodeDrained => {
    metrics.count(MetricNames.drains, 1, { outcome });
    return {
      schemaVersion: SCHEMA_VERSION,
      cluster: cmd.cluster,
      decisionId: cmd.decisionId,
      nodeName: cmd.nodeName,
      instanceId: cmd.instanceId,
      outcome,
      blockingPods,
      evictedPods,
      finishedAt: new Date(clock.now()).toISOString(),
    };
  };

  const node = await getNode(api, cmd.nodeName);
  if (!node) {
    log.info('drain: node not found', { node: cmd.nodeName });
    return result('not-found');
  }
  const refusal = refusalReason(node, deps.cluster, cmd.instanceId);
  const nodeRef = { kind: 'Node' as const, name: cmd.nodeName, uid: node.metadata?.uid };
  if (refusal) {
    log.warn('drain refused', { node: cmd.nodeName, reason: refusal });
    await events.record(nodeRef, 'Warning', 'DrainRefused', refusal);
    return result('refused');
  }

  // I9: a voluntary drain never ends a pod's run by force. A pod that can never be evicted
  // makes it pointless, so it gives up before cordoning or evicting anything.
  const voluntary = cmd.disruption === 'voluntary';
  const all = (await podsOnNode(api, cmd.nodeName)).filter(drainable);
  const blocking = new Map<string, string>();
  const pending = new Map<string, SlimPod>();
  for (const p of all) {
    const why = permanentBlocker(p, deps.volumes);
    if (why) blocking.set(p.key, why);
    else if (!p.terminating) pending.set(p.key, p);
  }
  if (voluntary && blocking.size > 0) {
    const blockingPods = [...blocking]
      .map(([pod, reason]) => ({ pod, reason }))
      .sort((a, b) => (a.pod < b.pod ? -1 : 1));
    await events.record(
      nodeRef,
      'Normal',
      'DrainAbandoned',
      `Voluntary drain for ${cmd.reason} not started: ${blockingPods
        .slice(0, 5)
        .map((b) => `${b.pod} (${b.reason})`)
        .join(', ')} must not be evicted`,
    );
    log.info('voluntary drain abandoned before it started: pods that must not be evicted', {
      node: cmd.nodeName,
      blocking: blockingPods.length,
    });
    return result('abandoned', blockingPods);
  }

  await events.record(
    nodeRef,
    'Normal',
    'DrainStarted',
    `Draining for ${cmd.reason} (decision ${cmd.decisionId}), deadline ${cmd.deadline}${voluntary ? ' (voluntary: abandoned, not forced, if it cannot finish)' : ''}`,
  );
  const cordonedByUs = node.spec?.unschedulable !== true;
  if (cordonedByUs)
    await api.request('PATCH', nodePath(cmd.nodeName), {
      body: { spec: { unschedulable: true } },
      contentType: 'application/merge-patch+json',
    });
  const lastError = new Map<string, string>();
  const evictedKeys = new Set<string>();
  let evicted = 0;
  let backoff = deps.initialBackoffMs ?? AGENT_DEFAULTS.commands.drainBackoffMs;
  const maxBackoff = deps.maxBackoffMs ?? 10_000;

  // Bounded by the deadline: every round ends in a sleep of at least the backoff until it.
  while (pending.size > 0 && !signal.aborted) {
    let hint = 0;
    for (const pod of [...pending.values()]) {
      if (signal.aborted) break;
      const path = `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}/eviction`;
      const body: Record<string, unknown> = {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: pod.name, namespace: pod.namespace },
      };
      if (deps.gracePeriodSeconds !== undefined)
        body.deleteOptions = { gracePeriodSeconds: deps.gracePeriodSeconds };
      try {
        await api.request('POST', path, { body });
        pending.delete(pod.key);
        evictedKeys.add(pod.key);
        evicted++;
        metrics.count(MetricNames.evictions, 1, { result: 'evicted' });
        await events.record(
          { kind: 'Pod', name: pod.name, namespace: pod.namespace, uid: pod.uid },
          'Normal',
          'Evicted',
          `Evicted by k3s-burst to drain node ${cmd.nodeName} (${cmd.reason})`,
        );
      } catch (err) {
        if (!(err instanceof KubeApiError)) {
          lastError.set(pod.key, (err as Error).message);
          metrics.count(MetricNames.evictions, 1, { result: 'error' });
          continue;
        }
        if (err.status === 404) {
          pending.delete(pod.key);
          metrics.count(MetricNames.evictions, 1, { result: 'gone' });
        } else if (err.status === 429) {
          lastError.set(pod.key, causeMessage(err));
          hint = Math.max(hint, (err.retryAfterSeconds ?? 0) * 1000);
          metrics.count(MetricNames.evictions, 1, { result: 'pdb-429' });
        } else if (err.status === 500 && causeMessage(err).includes(MULTIPLE_PDBS)) {
          pending.delete(pod.key);
          blocking.set(pod.key, 'multiple-pdbs');
          metrics.count(MetricNames.evictions, 1, { result: 'multiple-pdbs' });
        } else {
          lastError.set(pod.key, causeMessage(err));
          metrics.count(MetricNames.evictions, 1, { result: 'error' });
          log.warn('eviction failed, will retry', { pod: pod.key, ...errorFields(err) });
        }
      }
    }
    if (pending.size === 0 || signal.aborted) break;
    const left = deadline - clock.now();
    if (left <= 0) break;
    await deps.onProgress?.();
    await clock.sleep(Math.min(left, Math.max(backoff, hint)), signal);
    backoff = Math.min(maxBackoff, backoff * 2);
  }

  // Wait for evicted pods to terminate (their grace period), until the deadline.
  let terminating: SlimPod[] = [];
  for (let i = 0; i < 10_000 && !signal.aborted; i++) {
    terminating = (await podsOnNode(api, cmd.nodeName)).filter(
      (p) => drainable(p) && !blocking.has(p.key) && !pending.has(p.key),
    );
    if (terminating.length === 0 || clock.now() >= deadline) break;
    await deps.onProgress?.();
    await clock.sleep(Math.min(2000, deadline - clock.now()), signal);
  }

  const blockingPods: NodeDrained['blockingPods'] = [
    ...[...blocking].map(([pod, reason]) => ({ pod, reason })),
    ...[...pending.keys()].map((pod) => ({
      pod,
      reason: `eviction not allowed before the deadline: ${lastError.get(pod) ?? 'unknown'}`,
    })),
    ...terminating.map((p) => ({ pod: p.key, reason: 'still terminating at the deadline' })),
  ].sort((a, b) => (a.pod < b.pod ? -1 : 1));
  let outcome: NodeDrained['outcome'] =
    pending.size > 0 || terminating.length > 0 ? 'timed-out' : blocking.size > 0 ? 'blocked' : 'drained';
  if (voluntary && outcome !== 'drained') {
    // I9: give the node back to the scheduler; the control plane keeps the instance.
    outcome = 'abandoned';
    if (cordonedByUs) {
      try {
        await api.request('PATCH', nodePath(cmd.nodeName), {
          body: { spec: { unschedulable: false } },
          contentType: 'application/merge-patch+json',
        });
      } catch (err) {
        log.warn('could not uncordon the node of an abandoned drain', {
          node: cmd.nodeName,
          ...errorFields(err),
        });
      }
    }
  }
  await events.record(
    nodeRef,
    outcome === 'drained' ? 'Normal' : 'Warning',
    'DrainFinished',
    `Drain ${outcome}: ${evicted} pods evicted${
      blockingPods.length
        ? `, ${blockingPods.length} left: ${blockingPods
            .slice(0, 5)
            .map((b) => `${b.pod} (${b.reason})`)
            .join(', ')}`
        : ''
    }`,
  );
  log.info('drain finished', { node: cmd.nodeName, outcome, evicted, blocking: blockingPods.length });
  return result(outcome, blockingPods, evicted);
}

/** Executes `DeleteNode`: delete the Node object only if it is ours. */
export async function deleteNode(
  cmd: { nodeName: string; instanceId?: string | undefined; reason: string },
  deps: Pick<DrainDeps, 'api' | 'log' | 'metrics' | 'events' | 'cluster'>,
): Promise<'deleted' | 'not-found' | 'refused'> {
  const { api, log, metrics, events } = deps;
  const node = await getNode(api, cmd.nodeName);
  const done = (outcome: 'deleted' | 'not-found' | 'refused') => {
    metrics.count(MetricNames.nodeDeletes, 1, { outcome });
    return outcome;
  };
  if (!node) return done('not-found');
  const refusal = refusalReason(node, deps.cluster, cmd.instanceId);
  if (refusal) {
    log.warn('delete refused', { node: cmd.nodeName, reason: refusal });
    await events.record(
      { kind: 'Node', name: cmd.nodeName, uid: node.metadata?.uid },
      'Warning',
      'DeleteRefused',
      refusal,
    );
    return done('refused');
  }
  try {
    // The uid precondition keeps us from deleting a node re-registered under the same name.
    await api.request('DELETE', nodePath(cmd.nodeName), {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: node.metadata?.uid } },
    });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return done('not-found');
    throw err;
  }
  log.info('node deleted', { node: cmd.nodeName, reason: cmd.reason });
  await events.record(
    { kind: 'Node', name: cmd.nodeName, uid: node.metadata?.uid },
    'Normal',
    'NodeDeleted',
    `Node object deleted by k3s-burst: ${cmd.reason}`,
  );
  return done('deleted');
}
