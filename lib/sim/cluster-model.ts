/**
 * The K3s cluster as the simulation models it: nodes and pods (plain records from model.ts),
 * a kube-scheduler approximation (a debounced pass over pending pods, oldest first, node
 * selector/affinity/taints/resources after DaemonSets, least-allocated scoring; a pod that
 * fits nowhere is marked Unschedulable), DaemonSet overhead per node, the API server's answers
 * to the agent (node and pod reads, cordon, PDB-aware Eviction, Node deletion) and the agent's
 * informer view of it all (slimmed by the agent's own code). It decides nothing about scaling;
 * whenever something the agent watches changes it calls `changed` (the agent's publisher
 * batches it). Kubelet join and NotReady transitions come from the cloud model.
 */
import {
  type RawPod,
  type SlimNode,
  type SlimPdb,
  type SlimPod,
  slimNode,
  slimPdb,
  slimPod,
} from '../agent/model.js';
import { buildSnapshot } from '../agent/snapshot-builder.js';
import {
  type Catalog,
  cloudNodeLabels,
  type InstanceSpec,
  KERNEL_MEMORY_FRACTION,
  shapeFitsNode,
} from '../core/index.js';
import { type ClusterSnapshotInput, type DaemonSetOverhead, Labels } from '../events/index.js';
import type { ClusterApiModel } from './kube-api.js';
import { rawDaemonPod, rawNode, rawPdb, rawPod } from './kube-objects.js';
import type { PodTemplate, SimNode, SimPod } from './model.js';
import { SCHEDULER_DEBOUNCE_MS, type SimContext, traceNodeAction } from './sim-context.js';

/** The cluster model: nodes, pods, the scheduler approximation and the API server's answers. */
export class ClusterModel {
  readonly pods = new Map<string, SimPod>();
  readonly pendingPods = new Set<string>();
  readonly nodes = new Map<string, SimNode>();
  /** Templates of workloads with a PodDisruptionBudget (the agent lists their PDBs). */
  readonly pdbTemplates: PodTemplate[] = [];
  readonly onPremNames: string[];
  private podCounter = 0;
  private schedQueued = false;
  private readonly helpableCache = new Map<string, boolean>();
  private readonly daemonSets: DaemonSetOverhead[];
  /** The agent's slim copy of each pod, dropped whenever the pod changes (its informer's cache). */
  private readonly slimPods = new Map<string, SlimPod>();
  /**
   * The agent's slim copy of each Node and of the DaemonSet pods on it, kept while the Node's
   * served fields that change (Ready, its transition time, unschedulable) stay as they were.
   */
  private readonly slimNodes = new WeakMap<SimNode, { key: string; node: SlimNode; daemonPods: SlimPod[] }>();

  constructor(
    private readonly ctx: SimContext,
    private readonly catalog: Catalog,
    /** Cloud zones nodes may land in (for I5's ground truth). */
    private readonly zones: string[],
    /** Something the agent watches changed. */
    readonly changed: () => void,
  ) {
    this.daemonSets = ctx.sc.daemonSets.map((d) => ({
      name: d.name,
      cpuMilli: d.cpuMilli,
      memoryMiB: d.memoryMiB,
      nodeSelector: d.nodeSelector,
      requiredAffinity: [],
      tolerations: d.tolerations,
    }));
    this.onPremNames = ctx.sc.onPrem.map((n) => n.name);
  }

  /** The scenario's Pis, Ready for a month. */
  addOnPremNodes(): void {
    for (const n of this.ctx.sc.onPrem) {
      const node: SimNode = {
        name: n.name,
        onPrem: true,
        providerID: `k3s://${n.name}`,
        labels: {
          [Labels.arch]: 'arm64',
          [Labels.os]: 'linux',
          [Labels.hostname]: n.name,
          [Labels.instanceType]: 'k3s',
          'beta.kubernetes.io/arch': 'arm64',
          'beta.kubernetes.io/os': 'linux',
          ...n.labels,
        },
        taints: n.taints,
        allocatable: { cpuMilli: n.cpuMilli, memoryMiB: n.memoryMiB, pods: n.maxPods },
        daemonCpuMilli: 0,
        daemonMemoryMiB: 0,
        daemonPods: 0,
        usedCpuMilli: 0,
        usedMemoryMiB: 0,
        pods: new Set(),
        ready: true,
        readySinceMs: this.ctx.startMs - 30 * 86_400_000,
        cordoned: false,
        createdAtMs: this.ctx.startMs - 90 * 86_400_000,
        model: n.model,
      };
      this.addNode(node);
    }
  }

  /** A kubelet registered its Node (DaemonSet pods land on it at once). */
  addNode(node: SimNode): void {
    this.applyDaemonSets(node);
    this.nodes.set(node.name, node);
  }

  /** The snapshot the agent's builder makes from its caches (the cluster's objects, slimmed by the agent's code). */
  snapshotInput(seq: number, observedAt: string, cluster: string): ClusterSnapshotInput {
    const onPrem = this.onPremNames;
    const pods: SlimPod[] = [];
    for (const pod of this.pods.values()) {
      let slim = this.slimPods.get(pod.id);
      if (!slim) {
        slim = slimPod(rawPod(pod, onPrem));
        this.slimPods.set(pod.id, slim);
      }
      pods.push(slim);
    }
    const nodes: SlimNode[] = [];
    for (const n of this.nodes.values()) {
      const key = `${n.ready}/${n.readySinceMs}/${n.cordoned}`;
      let cached = this.slimNodes.get(n);
      if (cached?.key !== key) {
        cached = {
          key,
          node: slimNode(rawNode(n)),
          daemonPods: cached?.daemonPods ?? this.daemonSetsOn(n).map((d) => slimPod(rawDaemonPod(d, n))),
        };
        this.slimNodes.set(n, cached);
      }
      nodes.push(cached.node);
      for (const d of cached.daemonPods) pods.push(d);
    }
    const pdbs: SlimPdb[] = [];
    for (const t of this.pdbTemplates) {
      const raw = rawPdb(t, this.pdbHealthy(t));
      if (raw) pdbs.push(slimPdb(raw));
    }
    return buildSnapshot({
      cluster,
      seq,
      observedAt,
      agentVersion: 'sim',
      pods,
      nodes,
      pdbs,
    });
  }

  createPod(template: PodTemplate, durationMs: number, recreated = false): void {
    const id = `${template.workload}-${(++this.podCounter).toString(36)}`;
    this.pods.set(id, {
      id,
      template,
      createdAtMs: this.ctx.now,
      durationMs,
      phase: 'pending',
      unschedulable: false,
      everUnschedulable: false,
    });
    this.pendingPods.add(id);
    this.ctx.stats.podsCreated++;
    if (recreated) this.ctx.stats.podsRecreated++;
    this.changed();
    this.queueSched();
  }

  serviceWindow(template: PodTemplate, replicas: number, up: boolean): void {
    if (up) {
      for (let i = 0; i < replicas; i++) this.createPod(template, 0);
      return;
    }
    for (const pod of [...this.pods.values()]) {
      if (pod.template === template && pod.phase !== 'done') this.removePod(pod, 'done');
    }
  }

  finishPod(id: string): void {
    const pod = this.pods.get(id);
    if (pod?.phase !== 'running') return;
    this.removePod(pod, 'done');
    this.ctx.stats.podsCompleted++;
  }

  /** Take a pod off its node (or out of the pending set) for good. */
  private removePod(pod: SimPod, phase: 'done'): void {
    if (pod.node) {
      const n = this.nodes.get(pod.node);
      if (n) {
        n.pods.delete(pod.id);
        n.usedCpuMilli -= pod.template.cpuMilli;
        n.usedMemoryMiB -= pod.template.memoryMiB;
        if (n.cordoned)
          this.ctx.trace({
            kind: 'node-workload',
            atMs: this.ctx.now,
            node: n.name,
            workloadPods: n.pods.size,
          });
      }
      pod.node = undefined;
    }
    if (this.pendingPods.delete(pod.id))
      this.ctx.trace({ kind: 'pod-resolved', atMs: this.ctx.now, pod: pod.id });
    pod.phase = phase;
    this.pods.delete(pod.id);
    this.slimPods.delete(pod.id);
    this.changed();
    this.queueSched();
  }

  /** A pod lost its node (eviction, node deleted, instance gone): its controller recreates it. */
  private evictPod(pod: SimPod): void {
    const template = pod.template;
    const duration = pod.durationMs;
    this.removePod(pod, 'done');
    this.createPod(template, duration, true);
  }

  queueSched(): void {
    if (this.schedQueued) return;
    this.schedQueued = true;
    this.ctx.at(SCHEDULER_DEBOUNCE_MS, { k: 'sched' });
  }

  private fits(pod: SimPod, n: SimNode): boolean {
    return (
      n.ready &&
      !n.cordoned &&
      n.allocatable.cpuMilli - n.usedCpuMilli - n.daemonCpuMilli >= pod.template.cpuMilli &&
      n.allocatable.memoryMiB - n.usedMemoryMiB - n.daemonMemoryMiB >= pod.template.memoryMiB &&
      n.allocatable.pods - n.daemonPods - n.pods.size >= 1
    );
  }

  /** The debounced scheduler pass is due. */
  runScheduler(): void {
    this.schedQueued = false;
    this.schedulePass();
  }

  private schedulePass(): void {
    if (this.pendingPods.size === 0) return;
    const nodes = [...this.nodes.values()].filter((n) => n.ready && !n.cordoned);
    const matchCache = new Map<string, SimNode[]>();
    const exhausted = new Set<string>();
    // Oldest first, like the scheduler's FIFO-ish queue.
    for (const id of [...this.pendingPods]) {
      const pod = this.pods.get(id);
      if (!pod) continue;
      const t = pod.template;
      let candidates = matchCache.get(t.shapeId);
      if (!candidates) {
        candidates = t.usesLocalVolume
          ? nodes.filter((n) => n.onPrem && shapeFitsNode(t, n).ok)
          : nodes.filter((n) => shapeFitsNode(t, n).ok);
        matchCache.set(t.shapeId, candidates);
      }
      let best: SimNode | undefined;
      if (!exhausted.has(t.shapeId)) {
        // Least-allocated scoring: the node with the most free CPU.
        let bestFree = -1;
        for (const n of candidates) {
          if (!this.fits(pod, n)) continue;
          const free = n.allocatable.cpuMilli - n.usedCpuMilli - n.daemonCpuMilli;
          if (free > bestFree) {
            bestFree = free;
            best = n;
          }
        }
      }
      if (best) {
        this.bind(pod, best);
      } else {
        exhausted.add(t.shapeId);
        if (!pod.unschedulable) {
          pod.unschedulable = true;
          pod.unschedulableSinceMs = this.ctx.now;
          pod.everUnschedulable = true;
          this.slimPods.delete(pod.id);
          this.changed();
          this.ctx.trace({
            kind: 'pod-unschedulable',
            atMs: this.ctx.now,
            pod: pod.id,
            shapeId: t.shapeId,
            helpable: this.helpable(t),
          });
        }
      }
    }
    const pending = this.pendingPods.size;
    if (pending > this.ctx.stats.peakPendingPods) this.ctx.stats.peakPendingPods = pending;
  }

  private bind(pod: SimPod, n: SimNode): void {
    pod.phase = 'running';
    pod.node = n.name;
    pod.boundAtMs = this.ctx.now;
    pod.unschedulable = false;
    this.slimPods.delete(pod.id);
    n.pods.add(pod.id);
    n.usedCpuMilli += pod.template.cpuMilli;
    n.usedMemoryMiB += pod.template.memoryMiB;
    this.pendingPods.delete(pod.id);
    this.ctx.trace({ kind: 'pod-resolved', atMs: this.ctx.now, pod: pod.id });
    this.ctx.stats.podsBound++;
    const wait = this.ctx.now - pod.createdAtMs;
    this.ctx.stats.waitsMs.push(wait);
    if (pod.everUnschedulable) this.ctx.stats.capacityWaitsMs.push(wait);
    if (pod.template.kind === 'job') this.ctx.at(pod.durationMs, { k: 'pod-finish', pod: pod.id });
    if (pod.template.pdb && pod.template.readyDelayMs > 0)
      this.ctx.at(pod.template.readyDelayMs, { k: 'pdb-status' });
    this.changed();
  }

  /** Requests of the DaemonSet pods that land on a node with these labels and taints. */
  private daemonOverhead(node: Pick<SimNode, 'labels' | 'taints'>): {
    cpuMilli: number;
    memoryMiB: number;
    pods: number;
  } {
    const o = { cpuMilli: 0, memoryMiB: 0, pods: 0 };
    for (const d of this.daemonSets) {
      if (shapeFitsNode(d, node).ok) {
        o.cpuMilli += d.cpuMilli;
        o.memoryMiB += d.memoryMiB;
        o.pods++;
      }
    }
    return o;
  }

  applyDaemonSets(n: SimNode): void {
    const o = this.daemonOverhead(n);
    n.daemonCpuMilli += o.cpuMilli;
    n.daemonMemoryMiB += o.memoryMiB;
    n.daemonPods += o.pods;
  }

  /** Allocatable of a fresh cloud node of this type, as K3s reports it. */
  cloudAllocatable(spec: InstanceSpec): { cpuMilli: number; memoryMiB: number; pods: number } {
    return {
      cpuMilli: spec.vcpu * 1000 - this.ctx.cfg.nodes.systemReserved.cpuMilli,
      memoryMiB:
        Math.floor(spec.memoryMiB * KERNEL_MEMORY_FRACTION) - this.ctx.cfg.nodes.systemReserved.memoryMiB,
      pods: Math.min(spec.maxPods, this.ctx.cfg.nodes.maxPodsPerNode),
    };
  }

  /**
   * Ground truth for I5: some candidate cloud node (any zone, any allowed capacity type)
   * takes this pod by labels, taints and resources (after DaemonSets), within the limits.
   */
  private helpable(t: PodTemplate): boolean {
    const cached = this.helpableCache.get(t.shapeId);
    if (cached !== undefined) return cached;
    const ok = !t.usesLocalVolume && this.someCloudNodeTakes(t);
    this.helpableCache.set(t.shapeId, ok);
    return ok;
  }

  private someCloudNodeTakes(t: PodTemplate): boolean {
    for (const type of this.ctx.cfg.nodes.candidateTypes) {
      const spec = this.catalog.get(type);
      if (!spec) continue;
      if (spec.vcpu > this.ctx.cfg.limits.maxVcpus || spec.memoryMiB > this.ctx.cfg.limits.maxMemoryMiB)
        continue;
      const alloc = this.cloudAllocatable(spec);
      for (const ct of this.ctx.cfg.nodes.capacityTypes) {
        if (this.catalog.hourlyUsd(type, ct) > this.ctx.cfg.limits.maxHourlyCostUsd) continue;
        for (const zone of this.zones) {
          const node = {
            labels: cloudNodeLabels(this.ctx.cfg, spec, zone, ct),
            taints: this.ctx.cfg.nodes.taints,
          };
          if (!shapeFitsNode(t, node).ok) continue;
          const ds = this.daemonOverhead(node);
          if (
            t.cpuMilli + ds.cpuMilli <= alloc.cpuMilli &&
            t.memoryMiB + ds.memoryMiB <= alloc.memoryMiB &&
            ds.pods + 1 <= alloc.pods
          ) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /** DaemonSets whose pods run on this node. */
  private daemonSetsOn(n: SimNode): DaemonSetOverhead[] {
    return this.daemonSets.filter((d) => shapeFitsNode(d, n).ok);
  }

  /** The API server's answers, from the cluster model (I2 and I6 are traced here, at the source). */
  apiModel(): ClusterApiModel {
    return {
      node: (name) => {
        const n = this.nodes.get(name);
        return n ? rawNode(n) : undefined;
      },
      podsOnNode: (name) => {
        const n = this.nodes.get(name);
        if (!n) return [];
        const out: RawPod[] = [];
        for (const id of n.pods) {
          const pod = this.pods.get(id);
          if (pod) out.push(rawPod(pod, this.onPremNames));
        }
        for (const d of this.daemonSetsOn(n)) out.push(rawDaemonPod(d, n));
        return out;
      },
      cordon: (name) => {
        const n = this.nodes.get(name);
        if (!n || n.cordoned) return;
        n.cordoned = true;
        this.ctx.trace({
          kind: 'node-action',
          atMs: this.ctx.now,
          action: 'cordon',
          target: n.name,
          onPrem: n.onPrem,
          workloadPods: n.pods.size,
        });
        this.changed();
      },
      uncordon: (name) => {
        const n = this.nodes.get(name);
        if (!n?.cordoned) return;
        n.cordoned = false;
        traceNodeAction(this.ctx, 'uncordon', n.name, n.onPrem);
        this.changed();
        this.queueSched();
      },
      evict: (_namespace, name) => {
        const pod = this.pods.get(name);
        if (!pod?.node) return 'not-found';
        const t = pod.template;
        const n = this.nodes.get(pod.node);
        if (t.pdb) {
          const healthy = this.pdbHealthy(t);
          if (healthy - 1 < t.pdb.minAvailable) {
            return {
              blocked: `Cannot evict pod as it would violate the pod's disruption budget ${t.pdb.name}.`,
            };
          }
          this.ctx.trace({
            kind: 'eviction',
            atMs: this.ctx.now,
            pod: pod.id,
            pdb: { name: t.pdb.name, healthyBefore: healthy, minAvailable: t.pdb.minAvailable },
          });
        } else {
          this.ctx.trace({ kind: 'eviction', atMs: this.ctx.now, pod: pod.id });
        }
        traceNodeAction(this.ctx, 'evict', pod.node, n?.onPrem ?? false);
        this.ctx.stats.evictions++;
        this.evictPod(pod);
        return 'evicted';
      },
      deleteNode: (name) => {
        const n = this.nodes.get(name);
        if (!n) return 'not-found';
        traceNodeAction(this.ctx, 'delete-node', n.name, n.onPrem);
        this.deleteNodeObject(n);
        return 'deleted';
      },
    };
  }

  /** Pods of a PDB's workload that are running and Ready on Ready nodes. */
  private pdbHealthy(t: PodTemplate): number {
    let healthy = 0;
    for (const pod of this.pods.values()) {
      if (pod.template !== t || pod.phase !== 'running' || !pod.node) continue;
      if (this.ctx.now < (pod.boundAtMs ?? 0) + t.readyDelayMs) continue;
      if (this.nodes.get(pod.node)?.ready) healthy++;
    }
    return healthy;
  }

  private deleteNodeObject(n: SimNode): void {
    if (n.pods.size > 0)
      this.ctx.trace({
        kind: 'workload-killed',
        atMs: this.ctx.now,
        node: n.name,
        pods: n.pods.size,
        how: 'node-deleted',
      });
    this.nodes.delete(n.name);
    this.ctx.stats.nodeDeletions++;
    for (const id of [...n.pods]) {
      const pod = this.pods.get(id);
      if (pod) this.evictPod(pod);
    }
    this.changed();
  }
}
