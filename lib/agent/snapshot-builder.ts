/**
 * Builds a `ClusterSnapshot` from the agent's slim caches. Pure: no I/O, no clock — `seq` and
 * `observedAt` are parameters — so the same input always gives the same snapshot.
 *
 * Decisions (see docs/agent.md):
 * - pending = PodScheduled=False/Unschedulable, unbound, not nominated, not terminating, not
 *   terminal, not DaemonSet-owned, not mirror (Karpenter `IsProvisionable`); decided in `slimPod`.
 * - node `requested` counts every non-terminal pod bound to the node (DaemonSet and mirror pods
 *   included: they use the node), `workloadPodCount` only the reschedulable ones.
 * - `workloadPods` and `blockers` are computed for managed nodes only: the core never disrupts an
 *   on-prem node, and leaving them out keeps the snapshot small.
 * - shapes are ordered by importance (most pods first, then longest waiting) so truncation can
 *   drop from the tail.
 */

import { createHash } from 'node:crypto';
import type {
  ClusterSnapshotInput,
  DaemonSetOverhead,
  EvictionBlocker,
  HostPort,
  PendingShape,
  PodSelector,
  PodTerm,
  SnapshotNode,
  SpreadTerm,
} from '../events/index.js';
import { SCHEMA_VERSION } from '../events/index.js';
import {
  isManagedNode,
  type PodShape,
  parseAwsProviderId,
  type SlimNode,
  type SlimPdb,
  type SlimPod,
  selectorMatches,
  shapeId,
  type TermSelector,
} from './model.js';
import { andTerms, resolveClaims, type VolumeLookup } from './volumes.js';

export interface SnapshotInput {
  cluster: string;
  seq: number;
  observedAt: string;
  agentVersion: string;
  pods: Iterable<SlimPod>;
  nodes: Iterable<SlimNode>;
  pdbs: Iterable<SlimPdb>;
  /** PVC/PV/StorageClass caches; absent = the pods' claims are not resolved (older callers). */
  volumes?: VolumeLookup;
}

/** A pending pod's shape with its claims resolved (lib/agent/volumes.ts). */
export interface EffectiveShape {
  shape: PodShape;
  shapeId: string;
  volumeIssue?: NonNullable<PendingShape['volumeIssue']>;
}

/**
 * The shape the planner sees for a pod: its own, plus the node affinity its bound volumes (and
 * WaitForFirstConsumer storage classes) impose, or the claim that keeps it pending whatever node
 * exists. The id changes with the volume constraint, so pods with equal specs but different
 * volumes are different shapes. `memo` caches per (namespace, claims, shape) within one build.
 */
export function effectiveShapeOf(
  pod: SlimPod,
  volumes: VolumeLookup | undefined,
  memo?: Map<string, EffectiveShape>,
): EffectiveShape {
  if (!pod.claims || !volumes) return { shape: pod.shape, shapeId: pod.shapeId };
  const key = `${pod.namespace}\u0000${pod.claims.join('\u0000')}\u0000${pod.shapeId}`;
  const hit = memo?.get(key);
  if (hit) return hit;
  let out: EffectiveShape;
  const c = resolveClaims(pod.namespace, pod.claims, volumes);
  if (!c.ok) {
    out = {
      shape: pod.shape,
      shapeId: issueShapeId(pod.shapeId, c.code, c.claim),
      volumeIssue: { code: c.code, claim: c.claim, message: c.text },
    };
  } else if (c.groups.length === 0) {
    out = { shape: pod.shape, shapeId: pod.shapeId };
  } else {
    let terms: PodShape['requiredAffinity'] | undefined = pod.shape.requiredAffinity;
    for (const g of c.groups) terms = terms && andTerms(terms, g);
    if (!terms) {
      const claim = `${pod.namespace}/${pod.claims[0]}`;
      out = {
        shape: pod.shape,
        shapeId: issueShapeId(pod.shapeId, 'topology-too-complex', claim),
        volumeIssue: {
          code: 'topology-too-complex',
          claim,
          message: `the pod's node affinity combined with its volumes' topology has more than 16 alternatives; k3s-burst does not plan it (simplify the affinity or the StorageClass's allowedTopologies)`,
        },
      };
    } else {
      const shape: PodShape = {
        ...pod.shape,
        requiredAffinity: terms,
        usesLocalVolume: pod.shape.usesLocalVolume || c.pinned,
      };
      out = { shape, shapeId: shapeId(shape) };
    }
  }
  memo?.set(key, out);
  return out;
}

function issueShapeId(base: string, code: string, claim: string): string {
  return createHash('sha256').update(`${base}\u0000${code}\u0000${claim}`).digest('hex').slice(0, 16);
}

/**
 * The pod's data may live on its node: a claim bound to a PV pinned to a hostname (local PV,
 * local-path), or claims the caches cannot resolve yet (then the voluntary answer is "do not
 * evict": never guess that data is elsewhere). False without caches (callers that have none).
 */
export function claimMayBeNodeLocal(pod: SlimPod, volumes: VolumeLookup | undefined): boolean {
  if (!pod.claims || !volumes) return false;
  const c = resolveClaims(pod.namespace, pod.claims, volumes);
  if (c.ok) return c.pinned;
  return c.code === 'claims-unresolved';
}

/** A pod is using its node's resources: bound and not finished. */
function isActive(p: SlimPod): boolean {
  return p.nodeName !== '' && p.phase !== 'Succeeded' && p.phase !== 'Failed';
}

/** Reschedulable = what a drain would evict: not DaemonSet-owned, not mirror. */
export function isReschedulable(p: SlimPod): boolean {
  return !p.daemonSet && !p.mirror;
}

/** PDBs in the pod's namespace whose selector matches it. */
export function matchingPdbs(pod: SlimPod, pdbsByNamespace: Map<string, SlimPdb[]>): SlimPdb[] {
  const out: SlimPdb[] = [];
  for (const pdb of pdbsByNamespace.get(pod.namespace) ?? [])
    if (selectorMatches(pdb.selector, pod.labels)) out.push(pdb);
  return out;
}

export function indexPdbs(pdbs: Iterable<SlimPdb>): Map<string, SlimPdb[]> {
  const byNs = new Map<string, SlimPdb[]>();
  for (const pdb of pdbs) {
    const list = byNs.get(pdb.namespace);
    if (list) list.push(pdb);
    else byNs.set(pdb.namespace, [pdb]);
  }
  return byNs;
}

/**
 * Why a drain could not evict this pod right now, or undefined. Order = most permanent first.
 * Mirrors kubectl drain's refusals plus our own annotation and the PDB state.
 */
export function evictionBlocker(
  pod: SlimPod,
  pdbsByNamespace: Map<string, SlimPdb[]>,
  volumes?: VolumeLookup,
): EvictionBlocker['reason'] | undefined {
  if (pod.doNotDisrupt) return 'do-not-disrupt';
  if (!pod.hasController && !pod.safeToEvict) return 'no-controller';
  if (pod.localStorage) return 'local-storage';
  // Evicted, it could never run again: its volume stays on this node, which is going away.
  if (!pod.safeToEvict && claimMayBeNodeLocal(pod, volumes)) return 'local-storage';
  const pdbs = matchingPdbs(pod, pdbsByNamespace);
  if (pdbs.length > 1) return 'multiple-pdbs';
  if (pdbs.length === 1 && (pdbs[0] as SlimPdb).disruptionsAllowed <= 0) return 'pdb-blocks';
  return undefined;
}

/** At most this many distinct inter-pod selectors per snapshot (the schema's bound). */
export const MAX_POD_SELECTORS = 256;

/**
 * The selectors of the pending pods' inter-pod terms, and which of them a pod's namespace and
 * labels match (memoised per interned label set: pods of one workload share it).
 */
class SelectorIndex {
  readonly byId = new Map<string, PodSelector>();
  /** Selector id per canonical JSON, for terms. */
  private readonly idOf = new Map<string, string>();
  /** Selectors past MAX_POD_SELECTORS: shapes using them are unsupported. */
  overflow = 0;
  private readonly memo = new Map<Record<string, string>, Map<string, readonly string[]>>();
  private list: PodSelector[] = [];

  /** The id of a term's selector, registering it; undefined when the table is full. */
  add(sel: TermSelector): string | undefined {
    const json = JSON.stringify(sel);
    const known = this.idOf.get(json);
    if (known !== undefined) return known;
    if (this.byId.size >= MAX_POD_SELECTORS) {
      this.overflow++;
      return undefined;
    }
    const id = createHash('sha256').update(json).digest('hex').slice(0, 10);
    this.idOf.set(json, id);
    this.byId.set(id, { id, ...sel });
    this.list = [...this.byId.values()];
    return id;
  }

  /** Ids (sorted) of the selectors a pod in `namespace` with `labels` matches. */
  matches(namespace: string, labels: Record<string, string>): readonly string[] {
    if (this.byId.size === 0) return [];
    let byNs = this.memo.get(labels);
    if (!byNs) {
      byNs = new Map();
      this.memo.set(labels, byNs);
    }
    let out = byNs.get(namespace);
    if (!out) {
      const ids: string[] = [];
      for (const s of this.list)
        if ((s.namespaces[0] === '*' || s.namespaces.includes(namespace)) && selectorMatches(s, labels))
          ids.push(s.id);
      out = ids.sort();
      byNs.set(namespace, out);
    }
    return out;
  }
}

/** The wire form of a shape's inter-pod terms: selector ids, what was ignored, what is unsupported. */
function wireTerms(
  shape: PodShape,
  index: SelectorIndex,
): Pick<
  PendingShape,
  'podAffinity' | 'podAntiAffinity' | 'topologySpread' | 'ignoredPodTerms' | 'unsupportedPodTerm'
> {
  const t = shape.podTerms;
  if (!t) return {};
  const out: ReturnType<typeof wireTerms> = {};
  const affinity: PodTerm[] = [];
  const anti: PodTerm[] = [];
  const spread: SpreadTerm[] = [];
  let unsupported = t.unsupported;
  for (const term of t.terms) {
    const selector = index.add(term.selector);
    if (selector === undefined) {
      unsupported ??= `more than ${MAX_POD_SELECTORS} distinct pod selectors among the pending pods' terms`;
      continue;
    }
    if (term.kind === 'spread')
      spread.push({
        selector,
        topology: term.topology,
        maxSkew: term.maxSkew ?? 1,
        ...(term.minDomains ? { minDomains: term.minDomains } : {}),
      });
    else (term.kind === 'affinity' ? affinity : anti).push({ selector, topology: term.topology });
  }
  if (affinity.length > 0) out.podAffinity = affinity;
  if (anti.length > 0) out.podAntiAffinity = anti;
  if (spread.length > 0) out.topologySpread = spread;
  if (t.ignored > 0) out.ignoredPodTerms = t.ignored;
  if (unsupported !== undefined) out.unsupportedPodTerm = unsupported;
  return out;
}

interface NodeAcc {
  cpu: number;
  mem: number;
  eph: number;
  ext: Map<string, number>;
  ports: Map<string, HostPort>;
  pods: number;
  workload: number;
  /** Bound, unfinished pods per selector id they match. */
  matches: Map<string, number>;
  groups: Map<string, { cpuMilli: number; memoryMiB: number; count: number }>;
  blockers: EvictionBlocker[];
}

/** Build the snapshot. Deterministic for a given input. */
export function buildSnapshot(input: SnapshotInput): ClusterSnapshotInput {
  const pdbIndex = indexPdbs(input.pdbs);
  const nodes = [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const managed = new Set<string>();
  const acc = new Map<string, NodeAcc>();
  for (const n of nodes) {
    if (isManagedNode(n, input.cluster)) managed.add(n.name);
    acc.set(n.name, {
      cpu: 0,
      mem: 0,
      eph: 0,
      ext: new Map(),
      ports: new Map(),
      pods: 0,
      workload: 0,
      matches: new Map(),
      groups: new Map(),
      blockers: [],
    });
  }

  const shapes = new Map<
    string,
    {
      eff: EffectiveShape;
      matches: readonly string[];
      count: number;
      oldest: string;
      oldestMs: number;
      examples: PendingExample[];
    }
  >();
  const daemonSets = new Map<string, DaemonSetOverhead>();

  const memo = new Map<string, EffectiveShape>();
  const pods = [...input.pods];
  // Pass 1: the selectors of the pending pods' inter-pod terms (registered in a stable order).
  const selectors = new SelectorIndex();
  const wire = new Map<string, ReturnType<typeof wireTerms>>();
  const withTerms = pods
    .filter((p) => p.pendingSince !== undefined && p.shape.podTerms !== undefined)
    .map((p) => effectiveShapeOf(p, input.volumes, memo))
    .sort((a, b) => (a.shapeId < b.shapeId ? -1 : a.shapeId > b.shapeId ? 1 : 0));
  for (const eff of withTerms)
    if (!wire.has(eff.shapeId)) wire.set(eff.shapeId, wireTerms(eff.shape, selectors));

  for (const pod of pods) {
    if (pod.pendingSince !== undefined) {
      const eff = effectiveShapeOf(pod, input.volumes, memo);
      // Pods of one spec whose labels match different selectors are different shapes.
      const matches = selectors.matches(pod.namespace, pod.labels);
      const id = matches.length > 0 ? matchedShapeId(eff.shapeId, matches) : eff.shapeId;
      const s = shapes.get(id);
      // Each pending time is parsed once here, not again in every comparison of the sorts below.
      const sinceMs = Date.parse(pod.pendingSince);
      const example = { sinceMs, name: pod.key };
      if (!s)
        shapes.set(id, {
          eff,
          matches,
          count: 1,
          oldest: pod.pendingSince,
          oldestMs: sinceMs,
          examples: [example],
        });
      else {
        s.count++;
        if (sinceMs < s.oldestMs) {
          s.oldest = pod.pendingSince;
          s.oldestMs = sinceMs;
        }
        s.examples.push(example);
        if (s.examples.length > 6) {
          s.examples.sort(byExample);
          s.examples.length = 3;
        }
      }
      continue;
    }
    if (pod.daemonSet && !pod.terminating) {
      const prev = daemonSets.get(pod.daemonSet.uid);
      // Pods of one DaemonSet differ only during a rollout; plan with the larger template.
      if (!prev || pod.shape.cpuMilli + pod.shape.memoryMiB > prev.cpuMilli + prev.memoryMiB)
        daemonSets.set(pod.daemonSet.uid, {
          name: pod.daemonSet.name,
          cpuMilli: pod.shape.cpuMilli,
          memoryMiB: pod.shape.memoryMiB,
          nodeSelector: pod.shape.nodeSelector,
          requiredAffinity: pod.shape.requiredAffinity,
          tolerations: pod.shape.tolerations,
          ...(pod.shape.ports.length ? { ports: pod.shape.ports } : {}),
          ...(pod.shape.ephemeralStorageMiB ? { ephemeralStorageMiB: pod.shape.ephemeralStorageMiB } : {}),
        });
    }
    if (!isActive(pod)) continue;
    const a = acc.get(pod.nodeName);
    if (!a) continue;
    a.cpu += pod.shape.cpuMilli;
    a.mem += pod.shape.memoryMiB;
    a.eph += pod.shape.ephemeralStorageMiB;
    for (const [k, v] of Object.entries(pod.shape.extendedResources)) a.ext.set(k, (a.ext.get(k) ?? 0) + v);
    for (const p of pod.shape.ports) a.ports.set(`${p.protocol}/${p.port}/${p.hostIP}`, p);
    a.pods++;
    for (const id of selectors.matches(pod.namespace, pod.labels))
      a.matches.set(id, (a.matches.get(id) ?? 0) + 1);
    if (!isReschedulable(pod) || pod.terminating) continue;
    a.workload++;
    if (!managed.has(pod.nodeName)) continue;
    const gk = `${pod.shape.cpuMilli}/${pod.shape.memoryMiB}`;
    const g = a.groups.get(gk);
    if (g) g.count++;
    else a.groups.set(gk, { cpuMilli: pod.shape.cpuMilli, memoryMiB: pod.shape.memoryMiB, count: 1 });
    const reason = evictionBlocker(pod, pdbIndex, input.volumes);
    if (reason) a.blockers.push({ pod: pod.key, reason });
  }

  const snapshotNodes: SnapshotNode[] = nodes.map((n) => {
    const a = acc.get(n.name) as NodeAcc;
    const isManaged = managed.has(n.name);
    const aws = parseAwsProviderId(n.providerID);
    const out: SnapshotNode = {
      name: n.name,
      providerID: n.providerID,
      managed: isManaged,
      labels: n.labels,
      taints: n.taints,
      ready: n.ready,
      readySince: n.readySince,
      cordoned: n.unschedulable,
      createdAt: n.createdAt,
      allocatable: n.allocatable,
      requested: { cpuMilli: a.cpu, memoryMiB: a.mem, pods: a.pods },
      workloadPodCount: a.workload,
      workloadPods: [...a.groups.values()].sort(
        (x, y) => x.cpuMilli - y.cpuMilli || x.memoryMiB - y.memoryMiB,
      ),
      blockers: a.blockers.sort((x, y) => (x.pod < y.pod ? -1 : 1)),
      doNotDisrupt: n.doNotDisrupt,
    };
    if (n.deleting) out.deleting = true;
    if (a.matches.size > 0) out.podSelectorCounts = Object.fromEntries([...a.matches].sort());
    out.usedHostPorts = [...a.ports.values()].sort(
      (x, y) => x.port - y.port || (x.protocol < y.protocol ? -1 : 1),
    );
    if (n.ephemeralStorageMiB > 0)
      out.ephemeralStorage = { allocatableMiB: n.ephemeralStorageMiB, requestedMiB: a.eph };
    if (Object.keys(n.extended).length > 0)
      out.extended = { allocatable: n.extended, requested: Object.fromEntries([...a.ext].sort()) };
    if (isManaged && aws) {
      out.instanceId = aws.instanceId;
      out.zone = aws.zone;
    }
    const type = n.labels['node.kubernetes.io/instance-type'];
    if (type) out.instanceType = type;
    const arch = n.labels['kubernetes.io/arch'];
    if (arch) out.arch = arch;
    return out;
  });

  const pendingShapes: PendingShape[] = [...shapes.entries()]
    .map(([id, s]) => ({
      id,
      ...compactShape(s.eff.shape),
      ...(s.eff.volumeIssue ? { volumeIssue: s.eff.volumeIssue } : {}),
      ...(wire.get(s.eff.shapeId) ?? {}),
      ...(s.matches.length > 0 ? { matchesSelectors: [...s.matches] } : {}),
      count: s.count,
      oldestPendingSince: s.oldest,
      examplePods: s.examples
        .sort(byExample)
        .slice(0, 3)
        .map((e) => e.name),
    }))
    .sort(byImportance);

  return {
    schemaVersion: SCHEMA_VERSION,
    cluster: input.cluster,
    seq: input.seq,
    observedAt: input.observedAt,
    agentVersion: input.agentVersion,
    pendingShapes,
    nodes: snapshotNodes,
    daemonSets: [...daemonSets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    ...(selectors.byId.size > 0
      ? { podSelectors: [...selectors.byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1)) }
      : {}),
  };
}

function matchedShapeId(base: string, matches: readonly string[]): string {
  return createHash('sha256')
    .update(`${base}\u0000matches\u0000${matches.join(',')}`)
    .digest('hex')
    .slice(0, 16);
}

/** The shape as sent: fields from issue 15 only when they say something, to keep the snapshot small. */
function compactShape(
  shape: PodShape,
): Omit<PendingShape, 'id' | 'count' | 'oldestPendingSince' | 'examplePods'> {
  const { ephemeralStorageMiB, extendedResources, ports, priority, podTerms: _terms, ...rest } = shape;
  return {
    ...rest,
    ...(priority ? { priority } : {}),
    ...(ports.length ? { ports } : {}),
    ...(ephemeralStorageMiB ? { ephemeralStorageMiB } : {}),
    ...(Object.keys(extendedResources).length ? { extendedResources } : {}),
  };
}

/** A pending pod that may be named as its shape's example: when it has waited since, and its key. */
interface PendingExample {
  sinceMs: number;
  name: string;
}

/** Longest waiting first, then by name. */
function byExample(a: PendingExample, b: PendingExample): number {
  return a.sinceMs - b.sinceMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Most pods first, then longest waiting, then id: the order truncation keeps. */
export function byImportance(a: PendingShape, b: PendingShape): number {
  return (
    b.count - a.count ||
    Date.parse(a.oldestPendingSince) - Date.parse(b.oldestPendingSince) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}
