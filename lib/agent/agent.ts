/**
 * The agent, assembled: six informers (pods, nodes, PDBs, and the claims, volumes and storage classes that say where pending pods may run) feed the snapshot builder; the publisher sends
 * snapshots; the command consumer drains and deletes nodes; a Lease (optional) decides which
 * replica does the last two. Every dependency is a parameter, so tests run the whole agent
 * against the fake API server and in-memory AWS fakes.
 */

import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { ClusterSnapshotInput } from '../events/index.js';
import { systemClock } from '../system/clock.js';
import { BootstrapTokenRotator, type BootstrapTokenRotatorOptions } from './bootstrap-token.js';
import { CommandConsumer } from './command-consumer.js';
import { Informer } from './informer.js';
import { EventRecorder } from './k8s-events.js';
import type { KubeApi } from './kube-client.js';
import { LeaderElector } from './leader.js';
import { agentMetrics, MetricNames, type MetricsRegistry } from './metrics.js';
import {
  type RawNode,
  type RawPdb,
  type RawPod,
  type SlimNode,
  type SlimPdb,
  type SlimPod,
  slimNode,
  slimPdb,
  slimPod,
} from './model.js';
import { type AgentTuningInput, resolveTuning } from './options.js';
import type { CommandQueuePort, EventBusPort, JoinTokenStorePort } from './ports.js';
import { type NodeEntry, nodeEntry, PrerequisiteReporter } from './prerequisites.js';
import { Publisher } from './publisher.js';
import { buildSnapshot, type EffectiveShape, effectiveShapeOf } from './snapshot-builder.js';
import { StageObserver } from './stage-observer.js';
import {
  type RawPv,
  type RawPvc,
  type RawStorageClass,
  slimPv,
  slimPvc,
  slimStorageClass,
  type VolumeLookup,
} from './volumes.js';

export const AGENT_VERSION = '0.1.0';

/** What the agent is wired to and who it is; its timings are grouped in {@link AgentOptions.tuning}. */
export interface AgentOptions {
  cluster: string;
  eventBusName: string;
  api: KubeApi;
  bus: EventBusPort;
  /** Omit to run without a command queue (snapshots only). */
  queue?: CommandQueuePort;
  log: Logger;
  clock?: Clock;
  metrics?: MetricsRegistry;
  agentVersion?: string;
  /** Namespace of the Lease. @default k3s-burst */
  namespace?: string;
  /** This replica's name (pod name). */
  identity: string;
  /** Only the Lease holder publishes and consumes commands. @default false */
  leaderElect?: boolean;
  /** Called once when a leader loses its lease; the CLI exits so the pod restarts clean. */
  onLeadershipLost?: () => void;
  /** The K3s server URL cloud nodes use (`cluster.k3sServerUrl`): its certificate's SANs are reported. */
  k3sServerUrl?: string;
  /**
   * Keep a short-lived K3s bootstrap token published here (`k3s.joinCredential:
   * bootstrap-token`, lib/agent/bootstrap-token.ts); only the leader mints. Omit in
   * `agent-token` mode. Its lifetime and check interval are in {@link AgentOptions.tuning}.
   */
  joinToken?: { store: JoinTokenStorePort } & Pick<
    BootstrapTokenRotatorOptions,
    'renewBeforeSeconds' | 'random'
  >;
  /**
   * Timings and sizes per component (publisher, commands, lease, informers, prerequisites,
   * events, joinToken); what is not given keeps its default.
   * @default AGENT_DEFAULTS (lib/agent/options.ts, docs/agent.md "Tuning")
   */
  tuning?: AgentTuningInput;
}

export interface RunningAgent {
  readonly pods: Informer<SlimPod>;
  readonly nodes: Informer<SlimNode>;
  readonly pdbs: Informer<SlimPdb>;
  readonly publisher: Publisher;
  readonly consumer: CommandConsumer | undefined;
  /** The bootstrap-token rotator (with {@link AgentOptions.joinToken}). */
  readonly joinToken: BootstrapTokenRotator | undefined;
  readonly events: EventRecorder;
  readonly metrics: MetricsRegistry;
  /** Burst stage timings (lib/agent/stage-observer.ts). */
  readonly stages: StageObserver;
  /** Resolves after every informer's first full list. */
  readonly synced: Promise<void>;
  /** Dials the server certificate now if it is due (tests await it). */
  refreshPrerequisites(): Promise<void>;
  isLeader(): boolean;
  /** Ready = synced and (follower, or leader with at least one successful publish). */
  readiness(): { ready: boolean; reason: string };
  /** The snapshot the agent would publish now (seq/observedAt are placeholders). */
  currentSnapshot(seq?: number): ClusterSnapshotInput;
  stop(): Promise<void>;
}

/** Fields of a slim pod whose change can alter the snapshot. */
function podSignature(p: SlimPod | undefined): string {
  if (!p) return '';
  return `${p.pendingSince ?? ''}|${p.nodeName}|${p.phase}|${p.terminating}|${p.shapeId}|${p.doNotDisrupt}|${p.hasController}|${p.localStorage}|${p.safeToEvict === true}|${JSON.stringify(p.labels)}`;
}

/** The snapshot's `stageObservations`, left out when there are none (older readers never see it). */
function stageObservationsField(stages: StageObserver): Pick<ClusterSnapshotInput, 'stageObservations'> {
  const list = stages.observations();
  return list.length > 0 ? { stageObservations: list } : {};
}

export function startAgent(o: AgentOptions): RunningAgent {
  const t = resolveTuning(o.tuning);
  const clock = o.clock ?? systemClock;
  const metrics = o.metrics ?? agentMetrics();
  const log = o.log;
  const events = new EventRecorder({
    api: o.api,
    clock,
    log,
    instance: o.identity,
    repeatMs: t.events.repeatMs,
  });
  let publisher: Publisher | undefined;
  const dirty = () => publisher?.markDirty();

  const common = {
    api: o.api,
    clock,
    log,
    pageSize: t.informers.pageSize,
    watchTimeoutSeconds: t.informers.watchTimeoutSeconds,
    initialBackoffMs: t.informers.backoffMs,
    maxBackoffMs: t.informers.maxBackoffMs,
  };
  const hooks = (resource: string) => ({
    onRestart: (reason: string) => metrics.count(MetricNames.watchRestarts, 1, { resource, reason }),
    onRelist: () => metrics.count(MetricNames.relists, 1, { resource }),
  });
  // Burst stage timings from the pods' and nodes' own timestamps (declared before the informers
  // that feed it; it reads the node cache only when a followed pod is bound).
  const stages: StageObserver = new StageObserver({
    cluster: o.cluster,
    clock,
    metrics,
    nodeByName: (name) => nodes.store.get(name),
  });
  const pods = new Informer<SlimPod>({
    ...common,
    ...hooks('pods'),
    resource: 'pods',
    path: '/api/v1/pods',
    slim: (r) => {
      const slim = slimPod(r as RawPod);
      stages.pod(r as RawPod, slim);
      return slim;
    },
    key: (p) => p.key,
    onChange: (kind, item, prev) => {
      if (kind === 'delete') stages.podDeleted(item);
      if (kind === 'sync' || podSignature(item) !== podSignature(prev) || kind === 'delete') dirty();
    },
  });
  // Pi-side prerequisites per node (docs/nodes.md), kept beside the slim cache.
  const nodeEntries = new Map<string, NodeEntry>();
  const prerequisites = new PrerequisiteReporter({
    serverUrl: o.k3sServerUrl,
    now: () => clock.now(),
    refreshMs: t.prerequisites.serverCertRefreshMs,
  });
  const nodes = new Informer<SlimNode>({
    ...common,
    ...hooks('nodes'),
    resource: 'nodes',
    path: '/api/v1/nodes',
    slim: (r) => {
      const raw = r as RawNode;
      nodeEntries.set(raw.metadata?.name ?? '', nodeEntry(raw));
      const slim = slimNode(raw);
      stages.node(slim);
      return slim;
    },
    key: (n) => n.name,
    onChange: (kind, item, prev) => {
      if (kind === 'delete' && item) nodeEntries.delete(item.name);
      if (kind === 'sync')
        for (const name of nodeEntries.keys()) if (!nodes.store.has(name)) nodeEntries.delete(name);
      if (kind !== 'update' || JSON.stringify(item) !== JSON.stringify(prev)) dirty();
    },
  });
  const pdbs = new Informer<SlimPdb>({
    ...common,
    ...hooks('poddisruptionbudgets'),
    resource: 'poddisruptionbudgets',
    path: '/apis/policy/v1/poddisruptionbudgets',
    slim: (r) => slimPdb(r as RawPdb),
    key: (p) => p.key,
    onChange: (kind, item, prev) => {
      if (kind !== 'update' || JSON.stringify(item) !== JSON.stringify(prev)) dirty();
    },
  });

  // Claims, volumes and storage classes: where pending pods' persistent volumes let them run
  // (lib/agent/volumes.ts). Publishing does not wait for them: until all three are listed, pods
  // with claims are reported unresolved (no launch), so a missing RBAC grant cannot stop the
  // agent, only those pods, with the fix in their answer.
  const volumeInformer = <T>(
    resource: string,
    path: string,
    slim: (r: unknown) => T,
    key: (x: T) => string,
  ) =>
    new Informer<T>({
      ...common,
      ...hooks(resource),
      resource,
      path,
      slim: (r) => slim(r),
      key,
      // Only pending pods' shapes and managed nodes' blockers read these caches: a change
      // matters when some pod uses a claim.
      onChange: (kind, item, prev) => {
        if (kind === 'update' && JSON.stringify(item) === JSON.stringify(prev)) return;
        for (const p of pods.store.values())
          if (p.claims) {
            dirty();
            return;
          }
      },
    });
  const claims = volumeInformer(
    'persistentvolumeclaims',
    '/api/v1/persistentvolumeclaims',
    (r) => slimPvc(r as RawPvc),
    (c) => c.key,
  );
  const volumes = volumeInformer(
    'persistentvolumes',
    '/api/v1/persistentvolumes',
    (r) => slimPv(r as RawPv),
    (v) => v.name,
  );
  const storageClasses = volumeInformer(
    'storageclasses',
    '/apis/storage.k8s.io/v1/storageclasses',
    (r) => slimStorageClass(r as RawStorageClass),
    (c) => c.name,
  );
  const volumeLookup: VolumeLookup = {
    synced: () => claims.synced && volumes.synced && storageClasses.synced,
    claim: (key) => claims.store.get(key),
    volume: (name) => volumes.store.get(name),
    storageClass: (name) => storageClasses.store.get(name),
  };

  const currentSnapshot = (seq = 0, observedAt = new Date(clock.now()).toISOString()) => ({
    ...buildSnapshot({
      cluster: o.cluster,
      seq,
      observedAt,
      agentVersion: o.agentVersion ?? AGENT_VERSION,
      pods: pods.store.values(),
      nodes: nodes.store.values(),
      pdbs: pdbs.store.values(),
      volumes: volumeLookup,
    }),
    prerequisites: prerequisites.report(nodeEntries.values(), observedAt),
    ...stageObservationsField(stages),
  });

  publisher = new Publisher({
    cluster: o.cluster,
    eventBusName: o.eventBusName,
    bus: o.bus,
    clock,
    log,
    metrics,
    build: (seq, observedAt) => {
      metrics.gauge(MetricNames.cachedObjects, pods.store.size, 'Count', { resource: 'pods' });
      metrics.gauge(MetricNames.cachedObjects, nodes.store.size, 'Count', { resource: 'nodes' });
      metrics.gauge(MetricNames.cachedObjects, pdbs.store.size, 'Count', {
        resource: 'poddisruptionbudgets',
      });
      return currentSnapshot(seq, observedAt);
    },
    batchIdleMs: t.publisher.batchIdleMs,
    batchMaxMs: t.publisher.batchMaxMs,
    heartbeatMs: t.publisher.heartbeatMs,
    retryBaseMs: t.publisher.retryBaseMs,
  });
  const consumer = o.queue
    ? new CommandConsumer({
        queue: o.queue,
        bus: o.bus,
        api: o.api,
        cluster: o.cluster,
        eventBusName: o.eventBusName,
        clock,
        log,
        metrics,
        events,
        waitSeconds: t.commands.waitSeconds,
        visibilitySeconds: t.commands.visibilitySeconds,
        drainBackoffMs: t.commands.drainBackoffMs,
        volumes: volumeLookup,
        pendingPodsOfShape: (shapeId) => {
          const out: string[] = [];
          const memo = new Map<string, EffectiveShape>();
          for (const p of pods.store.values())
            if (p.pendingSince !== undefined && effectiveShapeOf(p, volumeLookup, memo).shapeId === shapeId)
              out.push(p.key);
          return out.sort();
        },
      })
    : undefined;

  const joinToken = o.joinToken
    ? new BootstrapTokenRotator({
        ...o.joinToken,
        ttlSeconds: t.joinToken.ttlSeconds,
        checkEveryMs: t.joinToken.checkEveryMs,
        api: o.api,
        namespace: o.namespace ?? 'k3s-burst',
        clock,
        log,
        metrics,
      })
    : undefined;

  const informers = [pods, nodes, pdbs];
  for (const i of [...informers, claims, volumes, storageClasses]) i.start();
  const synced = Promise.all(informers.map((i) => i.waitForSync())).then(() => {
    log.info('caches synced', { pods: pods.store.size, nodes: nodes.store.size, pdbs: pdbs.store.size });
  });

  let leading = false;
  let stopped = false;
  const lead = () => {
    leading = true;
    metrics.gauge(MetricNames.isLeader, 1);
    // The join token does not depend on the caches: a launch may need it before the first sync.
    joinToken?.start();
    // Publishing waits for the first sync: a snapshot of half-filled caches would look like
    // vanished nodes to the core.
    void synced.then(() => {
      if (!leading || stopped) return;
      publisher?.start();
      consumer?.start();
    });
  };
  let elector: LeaderElector | undefined;
  if (o.leaderElect) {
    elector = new LeaderElector({
      api: o.api,
      clock,
      log,
      namespace: o.namespace ?? 'k3s-burst',
      name: t.lease.name,
      identity: o.identity,
      leaseDurationMs: t.lease.durationMs,
      retryPeriodMs: t.lease.retryMs,
      onStartedLeading: lead,
      onStoppedLeading: () => {
        leading = false;
        metrics.gauge(MetricNames.isLeader, 0);
        // Releasing the lease during our own shutdown is not a loss of leadership.
        if (stopped) return;
        // Losing the lease mid-flight: stop acting at once; the process exits so that a fresh
        // start cannot mix two leaders' state (the Deployment restarts it).
        log.warn('leadership lost: stopping publisher and command consumer');
        void publisher?.stop();
        void consumer?.stop();
        void joinToken?.stop();
        o.onLeadershipLost?.();
      },
    });
    elector.start();
  } else lead();

  return {
    pods,
    nodes,
    pdbs,
    publisher,
    consumer,
    joinToken,
    events,
    metrics,
    stages,
    synced,
    isLeader: () => leading,
    refreshPrerequisites: () => prerequisites.refresh(),
    readiness() {
      if (!informers.every((i) => i.synced)) return { ready: false, reason: 'caches not synced yet' };
      if (!leading) return { ready: true, reason: 'synced (standby)' };
      if (publisher?.lastSuccessAt === undefined)
        return { ready: false, reason: 'no snapshot published yet' };
      return { ready: true, reason: 'synced and publishing' };
    },
    currentSnapshot: (seq) => currentSnapshot(seq),
    async stop() {
      stopped = true;
      await joinToken?.stop();
      await consumer?.stop();
      await publisher?.stop();
      await elector?.stop();
      await Promise.all([...informers, claims, volumes, storageClasses].map((i) => i.stop()));
    },
  };
}
