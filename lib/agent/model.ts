/**
 * The agent keeps a slim copy of every pod, node and PodDisruptionBudget it watches: only the
 * fields the snapshot builder and the drain logic read, with quantities already converted and
 * the pod's scheduling-shape key already hashed. A Raspberry Pi with 5,000 pods must stay far
 * under 64 MiB, and a 30 KB pod object with managedFields must not be kept around.
 *
 * Everything here is pure: raw API object in, slim record out.
 */
import { createHash } from 'node:crypto';
import {
  AWS_PROVIDER_ID_PREFIX,
  type HostPort,
  Labels,
  type NodeSelectorTerm,
  type Toleration,
} from '../events/index.js';
import { cpuToMilli, memoryToMiB, memoryToMiBFloor, quantityToInt } from './quantity.js';
import { claimNamesOf } from './volumes.js';

// ---- Raw API shapes (only what we read; everything optional, the API omits empty fields) ----

export interface RawOwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}
export interface RawObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: RawOwnerReference[];
}
export interface RawRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}
export interface RawNodeSelectorTerm {
  matchExpressions?: RawRequirement[];
  matchFields?: RawRequirement[];
}
export interface RawContainer {
  name?: string;
  /** `Always` on an init container makes it a sidecar (restartable init container, Kubernetes 1.29+). */
  restartPolicy?: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  ports?: { containerPort?: number; hostPort?: number; protocol?: string; hostIP?: string }[];
}
/** A pod (anti-)affinity term as the API sends it. */
export interface RawPodAffinityTerm {
  labelSelector?: RawLabelSelector;
  namespaces?: string[];
  namespaceSelector?: RawLabelSelector;
  topologyKey?: string;
  matchLabelKeys?: string[];
  mismatchLabelKeys?: string[];
}
export interface RawPodAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: RawPodAffinityTerm[];
  preferredDuringSchedulingIgnoredDuringExecution?: unknown[];
}
export interface RawSpreadConstraint {
  maxSkew?: number;
  topologyKey?: string;
  whenUnsatisfiable?: string;
  labelSelector?: RawLabelSelector;
  minDomains?: number;
  matchLabelKeys?: string[];
  nodeAffinityPolicy?: string;
  nodeTaintsPolicy?: string;
}
export interface RawToleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}
export interface RawPod {
  metadata?: RawObjectMeta;
  spec?: {
    nodeName?: string;
    containers?: RawContainer[];
    initContainers?: RawContainer[];
    overhead?: Record<string, string>;
    priority?: number;
    nodeSelector?: Record<string, string>;
    affinity?: {
      nodeAffinity?: {
        requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: RawNodeSelectorTerm[] };
      };
      podAffinity?: RawPodAffinity;
      podAntiAffinity?: RawPodAffinity;
    };
    topologySpreadConstraints?: RawSpreadConstraint[];
    tolerations?: RawToleration[];
    volumes?: {
      name?: string;
      emptyDir?: unknown;
      hostPath?: unknown;
      persistentVolumeClaim?: { claimName?: string };
      /** A generic ephemeral volume: its controller creates the claim `<pod>-<volume>`. */
      ephemeral?: unknown;
    }[];
  };
  status?: {
    phase?: string;
    nominatedNodeName?: string;
    conditions?: { type?: string; status?: string; reason?: string; lastTransitionTime?: string }[];
  };
}
export interface RawNode {
  metadata?: RawObjectMeta;
  spec?: {
    providerID?: string;
    unschedulable?: boolean;
    taints?: { key?: string; value?: string; effect?: string }[];
  };
  status?: {
    allocatable?: Record<string, string>;
    conditions?: { type?: string; status?: string; lastTransitionTime?: string }[];
  };
}
export interface RawLabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: RawRequirement[];
}
export interface RawPdb {
  metadata?: RawObjectMeta;
  spec?: { minAvailable?: string | number; maxUnavailable?: string | number; selector?: RawLabelSelector };
  status?: { disruptionsAllowed?: number };
}

// ---- Slim records ----

/** The scheduling-relevant part of a pod spec; pods with equal shapes are interchangeable for the planner. */
export interface PodShape {
  /** spec.priority (0 when absent): below the expendable cutoff a pod never triggers scale-out. */
  priority: number;
  cpuMilli: number;
  memoryMiB: number;
  ephemeralStorageMiB: number;
  /** Extended resources (e.g. `nvidia.com/gpu`), sorted by name. */
  extendedResources: Record<string, number>;
  /** Host ports with protocol and host IP, sorted. */
  ports: HostPort[];
  nodeSelector: Record<string, string>;
  requiredAffinity: NodeSelectorTerm[];
  tolerations: Toleration[];
  usesLocalVolume: boolean;
  hostPorts: number[];
  /** Required inter-pod terms (issue 15 item 3), compiled by {@link podTermsOf}; absent = none. */
  podTerms?: PodTerms;
}

/** A label selector of an inter-pod term with its namespaces resolved (`['*']` = all). */
export interface TermSelector {
  namespaces: string[];
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] }[];
}

/** One required inter-pod term of a pod. */
export interface PodInterTerm {
  kind: 'affinity' | 'anti-affinity' | 'spread';
  selector: TermSelector;
  topology: 'hostname' | 'zone';
  maxSkew?: number;
  minDomains?: number;
}

/** A pod's required inter-pod terms, what was ignored, and what the planner cannot model. */
export interface PodTerms {
  terms: PodInterTerm[];
  /** Preferred terms and ScheduleAnyway constraints (the planner ignores them). */
  ignored: number;
  /** The first required term the planner does not model, said in words. */
  unsupported?: string;
}

export interface SlimPod {
  /** `namespace/name`, the store key. */
  key: string;
  namespace: string;
  name: string;
  uid: string;
  nodeName: string;
  phase: string;
  terminating: boolean;
  /** Owned by a DaemonSet (controller reference). */
  daemonSet?: { uid: string; name: string };
  /** Mirror/static pod: `kubernetes.io/config.mirror` annotation or a Node controller owner. */
  mirror: boolean;
  hasController: boolean;
  /** emptyDir or hostPath volume (data on the node), unless the pod says it is safe to evict. */
  localStorage: boolean;
  /**
   * Must not be disrupted voluntarily: `k3s-burst.io/do-not-disrupt: "true"`,
   * `karpenter.sh/do-not-disrupt: "true"` or `cluster-autoscaler.kubernetes.io/safe-to-evict: "false"`.
   */
  doNotDisrupt: boolean;
  /** `cluster-autoscaler.kubernetes.io/safe-to-evict: "true"`: local storage and a missing controller do not block. */
  safeToEvict?: boolean;
  labels: Record<string, string>;
  /** PersistentVolumeClaims the pod uses (names in its namespace, sorted); absent = none. lib/agent/volumes.ts resolves them. */
  claims?: string[];
  /** `PodScheduled=False/Unschedulable`, unbound and not nominated: a candidate for scale-out. */
  pendingSince?: string;
  shape: PodShape;
  /** Stable hash of `shape`. */
  shapeId: string;
}

export interface SlimNode {
  name: string;
  uid: string;
  providerID: string;
  labels: Record<string, string>;
  doNotDisrupt: boolean;
  taints: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[];
  unschedulable: boolean;
  /** metadata.deletionTimestamp is set: the Node object is being deleted. */
  deleting: boolean;
  ready: boolean;
  readySince: string;
  createdAt: string;
  allocatable: { cpuMilli: number; memoryMiB: number; pods: number };
  /** Allocatable ephemeral-storage, MiB (rounded down). */
  ephemeralStorageMiB: number;
  /** Allocatable extended resources (`nvidia.com/gpu`, …) with a positive count. */
  extended: Record<string, number>;
}

export interface SlimPdb {
  key: string;
  namespace: string;
  name: string;
  /** undefined = selects nothing (nil selector); `{}` selects every pod in the namespace. */
  selector?: { matchLabels: Record<string, string>; matchExpressions: RawRequirement[] };
  disruptionsAllowed: number;
}

const EPOCH = '1970-01-01T00:00:00Z';
const TAINT_EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);
/** Added to every pod by the DefaultTolerationSeconds admission plugin; they say nothing about cloud nodes. */
const DEFAULT_NOEXECUTE_KEYS = new Set(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);

export function objectKey(meta: RawObjectMeta | undefined): string {
  return meta?.namespace ? `${meta.namespace}/${meta.name ?? ''}` : (meta?.name ?? '');
}

function controllerOf(meta: RawObjectMeta | undefined): RawOwnerReference | undefined {
  return meta?.ownerReferences?.find((o) => o.controller === true);
}

/** Kubernetes' standard resources: everything else with a `/` in its name is an extended resource. */
const STANDARD = new Set(['cpu', 'memory', 'ephemeral-storage', 'pods', 'storage']);

/** Requests of one container as numbers: cpu m, memory and ephemeral-storage MiB, extended whole units. */
function containerRequests(c: RawContainer): Map<string, number> {
  const out = new Map<string, number>();
  const r = c.resources?.requests ?? {};
  // Extended resources must have requests == limits, so a limit alone implies the request.
  const ext = { ...(c.resources?.limits ?? {}), ...r };
  out.set('cpu', cpuToMilli(r.cpu));
  out.set('memory', memoryToMiB(r.memory));
  out.set('ephemeral-storage', memoryToMiB(r['ephemeral-storage']));
  for (const [k, v] of Object.entries(ext)) {
    if (STANDARD.has(k) || !k.includes('/') || k.startsWith('hugepages-')) continue;
    const n = quantityToInt(v);
    if (n > 0) out.set(k, n);
  }
  return out;
}

function addInto(acc: Map<string, number>, x: Map<string, number>): void {
  for (const [k, v] of x) acc.set(k, (acc.get(k) ?? 0) + v);
}

function maxInto(acc: Map<string, number>, x: Map<string, number>): void {
  for (const [k, v] of x) acc.set(k, Math.max(acc.get(k) ?? 0, v));
}

/**
 * Effective requests of a pod, per resource, as kube-scheduler computes them
 * (k8s.io/component-helpers resource.PodRequests): the app containers plus every sidecar
 * (init container with `restartPolicy: Always`), or the init phase if larger — each plain init
 * container runs next to the sidecars started before it — plus the pod overhead.
 */
export function effectiveRequests(spec: RawPod['spec']): {
  cpuMilli: number;
  memoryMiB: number;
  ephemeralStorageMiB: number;
  extended: Record<string, number>;
} {
  const running = new Map<string, number>();
  for (const c of spec?.containers ?? []) addInto(running, containerRequests(c));
  const sidecars = new Map<string, number>();
  const initPhase = new Map<string, number>();
  for (const c of spec?.initContainers ?? []) {
    const req = containerRequests(c);
    if (c.restartPolicy === 'Always') {
      addInto(running, req);
      addInto(sidecars, req);
      maxInto(initPhase, sidecars);
    } else {
      const during = new Map(req);
      addInto(during, sidecars);
      maxInto(initPhase, during);
    }
  }
  maxInto(running, initPhase);
  const o = spec?.overhead ?? {};
  const extended: Record<string, number> = {};
  for (const k of [...running.keys()].sort())
    if (!STANDARD.has(k) && (running.get(k) ?? 0) > 0) extended[k] = running.get(k) as number;
  return {
    cpuMilli: (running.get('cpu') ?? 0) + cpuToMilli(o.cpu),
    memoryMiB: (running.get('memory') ?? 0) + memoryToMiB(o.memory),
    ephemeralStorageMiB: (running.get('ephemeral-storage') ?? 0) + memoryToMiB(o['ephemeral-storage']),
    extended,
  };
}

/** Host ports of every container and init container, canonical (protocol default TCP, 0.0.0.0 = ''), sorted. */
function hostPortsOf(spec: RawPod['spec']): HostPort[] {
  const seen = new Map<string, HostPort>();
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])])
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort < 1 || p.hostPort > 65535) continue;
      const protocol = p.protocol === 'UDP' || p.protocol === 'SCTP' ? p.protocol : 'TCP';
      const hostIP = !p.hostIP || p.hostIP === '0.0.0.0' || p.hostIP === '::' ? '' : p.hostIP.slice(0, 45);
      seen.set(`${protocol}/${p.hostPort}/${hostIP}`, { port: p.hostPort, protocol, hostIP });
    }
  return [...seen.values()].sort(
    (a, b) =>
      a.port - b.port ||
      (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0) ||
      (a.hostIP < b.hostIP ? -1 : 1),
  );
}

const NODE_OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']);

/**
 * Required node-affinity terms in canonical order. `matchFields` (which the DaemonSet controller
 * uses to pin a pod to one node by name) is dropped: a new node cannot match it anyway, and a
 * term left with no expressions is dropped too.
 */
function canonicalAffinity(terms: RawNodeSelectorTerm[] | undefined): NodeSelectorTerm[] {
  const out: NodeSelectorTerm[] = [];
  for (const t of terms ?? []) {
    const exprs = (t.matchExpressions ?? [])
      .filter((e) => e.key && NODE_OPERATORS.has(e.operator ?? ''))
      .map((e) => ({
        key: e.key as string,
        operator: e.operator as NodeSelectorTerm['matchExpressions'][number]['operator'],
        values: [...(e.values ?? [])].sort(),
      }))
      .sort((a, b) => (a.key + a.operator < b.key + b.operator ? -1 : 1));
    if (exprs.length > 0) out.push({ matchExpressions: exprs });
  }
  return out.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

/**
 * Tolerations in canonical order, without the two `NoExecute` tolerations with
 * `tolerationSeconds` that admission adds to every pod: keeping them would only make every
 * shape longer, and they must never be read as "tolerates cloud nodes".
 */
function canonicalTolerations(tols: RawToleration[] | undefined): Toleration[] {
  const out: Toleration[] = [];
  for (const t of tols ?? []) {
    if (
      t.effect === 'NoExecute' &&
      t.tolerationSeconds !== undefined &&
      t.key !== undefined &&
      DEFAULT_NOEXECUTE_KEYS.has(t.key) &&
      (t.operator ?? 'Equal') === 'Exists'
    )
      continue;
    const tol: Toleration = { operator: t.operator === 'Exists' ? 'Exists' : 'Equal' };
    if (t.key) tol.key = t.key;
    if (t.value !== undefined && t.value !== '') tol.value = t.value;
    if (t.effect && TAINT_EFFECTS.has(t.effect)) tol.effect = t.effect as Toleration['effect'];
    out.push(tol);
  }
  const seen = new Set<string>();
  return out
    .map((t) => [JSON.stringify([t.key ?? '', t.operator, t.value ?? '', t.effect ?? '']), t] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .filter(([k]) => {
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .map(([, t]) => t);
}

function sortedRecord(rec: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(rec ?? {}).sort()) out[k] = (rec as Record<string, string>)[k] as string;
  return out;
}

/** The pod can only run on one named host: a local PV's node affinity or an explicit pin. */
function pinsHostname(nodeSelector: Record<string, string>, affinity: NodeSelectorTerm[]): boolean {
  if (Labels.hostname in nodeSelector) return true;
  return (
    affinity.length > 0 &&
    affinity.every((t) => t.matchExpressions.some((e) => e.key === Labels.hostname && e.operator === 'In'))
  );
}

const HOSTNAME_KEY = 'kubernetes.io/hostname';
const ZONE_TOPOLOGY_KEYS = new Set(['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone']);
const SELECTOR_OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);
/** At most this many required terms of each kind per pod (the snapshot schema's bound). */
const MAX_TERMS = 16;

function topologyOf(key: string | undefined): PodInterTerm['topology'] | undefined {
  if (key === HOSTNAME_KEY) return 'hostname';
  if (key !== undefined && ZONE_TOPOLOGY_KEYS.has(key)) return 'zone';
  return undefined;
}

/**
 * A term's label selector in canonical form, with `matchLabelKeys` (`In` the pod's own value)
 * and `mismatchLabelKeys` (`NotIn` it) folded in as kube-scheduler does; a key the pod does not
 * carry is skipped. A string says why it cannot be modelled.
 */
function termSelector(
  sel: RawLabelSelector,
  namespaces: string[],
  labels: Record<string, string>,
  matchKeys: string[] | undefined,
  mismatchKeys: string[] | undefined,
): TermSelector | string {
  const exprs: TermSelector['matchExpressions'] = [];
  for (const e of sel.matchExpressions ?? []) {
    if (!e.key || !SELECTOR_OPERATORS.has(e.operator ?? ''))
      return `label selector operator ${JSON.stringify(e.operator)} on ${JSON.stringify(e.key)} is not one of In, NotIn, Exists, DoesNotExist`;
    exprs.push({
      key: e.key,
      operator: e.operator as TermSelector['matchExpressions'][number]['operator'],
      values: [...(e.values ?? [])].sort(),
    });
  }
  for (const k of matchKeys ?? [])
    if (k in labels) exprs.push({ key: k, operator: 'In', values: [labels[k] as string] });
  for (const k of mismatchKeys ?? [])
    if (k in labels) exprs.push({ key: k, operator: 'NotIn', values: [labels[k] as string] });
  exprs.sort((a, b) => {
    const x = `${a.key}\u0000${a.operator}\u0000${a.values.join(',')}`;
    const y = `${b.key}\u0000${b.operator}\u0000${b.values.join(',')}`;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return { namespaces, matchLabels: sortedRecord(sel.matchLabels), matchExpressions: exprs };
}

/** Namespaces a pod (anti-)affinity term looks in, or why it cannot be modelled. */
function termNamespaces(t: RawPodAffinityTerm, own: string): string[] | string {
  const nsSel = t.namespaceSelector;
  if (nsSel) {
    const empty =
      Object.keys(nsSel.matchLabels ?? {}).length === 0 && (nsSel.matchExpressions ?? []).length === 0;
    if (empty) return ['*'];
    return 'a namespaceSelector with labels (the agent does not watch Namespaces)';
  }
  const list = [...new Set(t.namespaces ?? [])].filter((n) => n !== '').sort();
  return list.length > 0 ? list : [own];
}

/**
 * The pod's required inter-pod affinity, anti-affinity and DoNotSchedule topology spread
 * constraints on the hostname and zone keys, in canonical order (they are part of the shape:
 * pods with different terms never share one). Preferred terms and ScheduleAnyway constraints
 * are counted as ignored; a required term on another key, with a namespaceSelector, or with a
 * non-default node policy is reported as unsupported rather than dropped, so the planner can
 * say it does not plan such pods instead of planning them wrongly. Undefined when there is nothing.
 */
export function podTermsOf(
  spec: RawPod['spec'],
  namespace: string,
  labels: Record<string, string>,
): PodTerms | undefined {
  const terms: PodInterTerm[] = [];
  let ignored = 0;
  let unsupported: string | undefined;
  const refuse = (why: string) => {
    unsupported ??= why;
  };
  const affinity = spec?.affinity;
  for (const kind of ['affinity', 'anti-affinity'] as const) {
    const block = kind === 'affinity' ? affinity?.podAffinity : affinity?.podAntiAffinity;
    ignored += block?.preferredDuringSchedulingIgnoredDuringExecution?.length ?? 0;
    for (const t of block?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      const what = kind === 'affinity' ? 'required pod affinity' : 'required pod anti-affinity';
      const topology = topologyOf(t.topologyKey);
      if (!topology) {
        refuse(
          `${what} on topologyKey ${JSON.stringify(t.topologyKey ?? '')} (only ${HOSTNAME_KEY} and topology.kubernetes.io/zone are planned)`,
        );
        continue;
      }
      if (!t.labelSelector) {
        // A nil selector matches no pod: anti-affinity to nothing constrains nothing; affinity
        // to nothing can never be satisfied.
        if (kind === 'affinity')
          refuse(`${what} without a labelSelector matches no pod, so the scheduler can never place it`);
        continue;
      }
      const ns = termNamespaces(t, namespace);
      if (typeof ns === 'string') {
        refuse(`${what} with ${ns}`);
        continue;
      }
      const selector = termSelector(t.labelSelector, ns, labels, t.matchLabelKeys, t.mismatchLabelKeys);
      if (typeof selector === 'string') {
        refuse(`${what}: ${selector}`);
        continue;
      }
      terms.push({ kind, selector, topology });
    }
  }
  for (const c of spec?.topologySpreadConstraints ?? []) {
    if (c.whenUnsatisfiable !== 'DoNotSchedule') {
      ignored++;
      continue;
    }
    const topology = topologyOf(c.topologyKey);
    if (!topology) {
      refuse(
        `topology spread on topologyKey ${JSON.stringify(c.topologyKey ?? '')} (only ${HOSTNAME_KEY} and topology.kubernetes.io/zone are planned)`,
      );
      continue;
    }
    if ((c.nodeAffinityPolicy ?? 'Honor') !== 'Honor' || (c.nodeTaintsPolicy ?? 'Ignore') !== 'Ignore') {
      refuse('topology spread with a non-default nodeAffinityPolicy or nodeTaintsPolicy');
      continue;
    }
    if (!c.labelSelector || !Number.isInteger(c.maxSkew) || (c.maxSkew as number) < 1) continue; // matches nothing / invalid
    const selector = termSelector(c.labelSelector, [namespace], labels, c.matchLabelKeys, undefined);
    if (typeof selector === 'string') {
      refuse(`topology spread: ${selector}`);
      continue;
    }
    const term: PodInterTerm = { kind: 'spread', selector, topology, maxSkew: c.maxSkew as number };
    if (Number.isInteger(c.minDomains) && (c.minDomains as number) > 1)
      term.minDomains = c.minDomains as number;
    terms.push(term);
  }
  for (const kind of ['affinity', 'anti-affinity', 'spread'] as const)
    if (terms.filter((t) => t.kind === kind).length > MAX_TERMS)
      refuse(`more than ${MAX_TERMS} required ${kind} terms`);
  if (terms.length === 0 && ignored === 0 && unsupported === undefined) return undefined;
  const keyed = terms
    .map((t) => [JSON.stringify(t), t] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: PodTerms = {
    terms: keyed.filter(([k], i) => i === 0 || keyed[i - 1]?.[0] !== k).map(([, t]) => t),
    ignored,
  };
  if (unsupported !== undefined) out.unsupported = unsupported.slice(0, 300);
  return out;
}

/** Stable 16-hex-digit id of a shape: equal shapes give equal ids across agents and restarts. */
export function shapeId(shape: PodShape): string {
  const canonical = JSON.stringify([
    shape.cpuMilli,
    shape.memoryMiB,
    shape.nodeSelector,
    shape.requiredAffinity,
    shape.tolerations,
    shape.usesLocalVolume,
    shape.hostPorts,
    shape.ephemeralStorageMiB,
    shape.extendedResources,
    shape.ports,
    shape.priority,
    // Only when present, so shapes without inter-pod terms keep the ids older agents gave them.
    ...(shape.podTerms ? [shape.podTerms] : []),
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

function podShape(spec: RawPod['spec'], namespace: string, labels: Record<string, string>): PodShape {
  const { cpuMilli, memoryMiB, ephemeralStorageMiB, extended } = effectiveRequests(spec);
  const nodeSelector = sortedRecord(spec?.nodeSelector);
  const requiredAffinity = canonicalAffinity(
    spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
  );
  const ports = hostPortsOf(spec);
  const podTerms = podTermsOf(spec, namespace, labels);
  return {
    priority: Number.isInteger(spec?.priority) ? (spec?.priority as number) : 0,
    cpuMilli,
    memoryMiB,
    ephemeralStorageMiB,
    extendedResources: extended,
    ports,
    nodeSelector,
    requiredAffinity,
    tolerations: canonicalTolerations(spec?.tolerations),
    usesLocalVolume: pinsHostname(nodeSelector, requiredAffinity),
    // Superseded by `ports` (protocol and host IP); kept empty so the two never disagree.
    hostPorts: [],
    ...(podTerms ? { podTerms } : {}),
  };
}

/**
 * Interning: pods of one workload share their shape and usually their labels, so the cache keeps
 * one copy of each (a third less heap for 5,000 pods on a Pi). Bounded: cleared when full, which
 * only costs duplicates, never correctness (interned values are never mutated).
 */
const INTERN_MAX = 20_000;
const shapeIntern = new Map<string, PodShape>();
const labelIntern = new Map<string, Record<string, string>>();

function intern<T>(map: Map<string, T>, key: string, value: T): T {
  const found = map.get(key);
  if (found !== undefined) return found;
  if (map.size >= INTERN_MAX) map.clear();
  map.set(key, value);
  return value;
}

/** Cluster Autoscaler's per-pod eviction annotation ("true" / "false"), honoured as CA does. */
export const SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
/** Karpenter's per-pod opt-out of voluntary disruption. */
export const KARPENTER_DO_NOT_DISRUPT = 'karpenter.sh/do-not-disrupt';

/** Reduce a raw Pod to what the agent keeps. */
export function slimPod(raw: RawPod): SlimPod {
  const meta = raw.metadata ?? {};
  const ctrl = controllerOf(meta);
  const annotations = meta.annotations ?? {};
  const nodeName = raw.spec?.nodeName ?? '';
  const phase = raw.status?.phase ?? 'Pending';
  const terminating = Boolean(meta.deletionTimestamp);
  const mirror = 'kubernetes.io/config.mirror' in annotations || ctrl?.kind === 'Node';
  const daemonSet =
    ctrl?.kind === 'DaemonSet'
      ? { uid: ctrl.uid ?? `${meta.namespace}/${ctrl.name}`, name: `${meta.namespace}/${ctrl.name}` }
      : undefined;
  const scheduled = raw.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const provisionable =
    scheduled?.status === 'False' &&
    scheduled.reason === 'Unschedulable' &&
    nodeName === '' &&
    !raw.status?.nominatedNodeName &&
    !terminating &&
    phase !== 'Succeeded' &&
    phase !== 'Failed' &&
    !daemonSet &&
    !mirror;
  const fresh = podShape(raw.spec, meta.namespace ?? '', meta.labels ?? {});
  const id = shapeId(fresh);
  const shape = intern(shapeIntern, id, fresh);
  const rawLabels = meta.labels ?? {};
  const labels = intern(labelIntern, JSON.stringify(rawLabels), rawLabels);
  const pod: SlimPod = {
    key: objectKey(meta),
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    nodeName,
    phase,
    terminating,
    mirror,
    hasController: ctrl !== undefined,
    localStorage:
      annotations[SAFE_TO_EVICT] !== 'true' &&
      (raw.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined || v.hostPath !== undefined),
    doNotDisrupt:
      annotations[Labels.doNotDisrupt] === 'true' ||
      annotations[KARPENTER_DO_NOT_DISRUPT] === 'true' ||
      annotations[SAFE_TO_EVICT] === 'false',
    labels,
    shape,
    shapeId: id,
  };
  if (daemonSet) pod.daemonSet = daemonSet;
  const claims = claimNamesOf(pod.name, raw.spec);
  if (claims.length > 0) pod.claims = claims;
  if (annotations[SAFE_TO_EVICT] === 'true') pod.safeToEvict = true;
  if (provisionable) pod.pendingSince = scheduled?.lastTransitionTime ?? meta.creationTimestamp ?? EPOCH;
  return pod;
}

/** Reduce a raw Node to what the agent keeps. */
export function slimNode(raw: RawNode): SlimNode {
  const meta = raw.metadata ?? {};
  const readyCond = raw.status?.conditions?.find((c) => c.type === 'Ready');
  const alloc = raw.status?.allocatable ?? {};
  const labels = meta.labels ?? {};
  return {
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    providerID: raw.spec?.providerID ?? '',
    labels,
    doNotDisrupt:
      labels[Labels.doNotDisrupt] === 'true' || meta.annotations?.[Labels.doNotDisrupt] === 'true',
    taints: (raw.spec?.taints ?? [])
      .filter((t) => t.key && TAINT_EFFECTS.has(t.effect ?? ''))
      .map((t) => {
        const taint: SlimNode['taints'][number] = { key: t.key as string, effect: t.effect as 'NoSchedule' };
        if (t.value !== undefined && t.value !== '') taint.value = t.value;
        return taint;
      }),
    unschedulable: raw.spec?.unschedulable === true,
    deleting: Boolean(meta.deletionTimestamp),
    ready: readyCond?.status === 'True',
    readySince: readyCond?.lastTransitionTime ?? meta.creationTimestamp ?? EPOCH,
    createdAt: meta.creationTimestamp ?? EPOCH,
    allocatable: {
      cpuMilli: cpuToMilli(alloc.cpu),
      memoryMiB: memoryToMiBFloor(alloc.memory),
      pods: quantityToInt(alloc.pods),
    },
    ephemeralStorageMiB: memoryToMiBFloor(alloc['ephemeral-storage']),
    extended: extendedOf(alloc),
  };
}

function extendedOf(alloc: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(alloc).sort()) {
    if (STANDARD.has(k) || !k.includes('/') || k.startsWith('hugepages-')) continue;
    const n = quantityToInt(alloc[k]);
    if (n > 0) out[k] = n;
  }
  return out;
}

/** Reduce a raw policy/v1 PodDisruptionBudget to what the agent keeps. */
export function slimPdb(raw: RawPdb): SlimPdb {
  const meta = raw.metadata ?? {};
  const sel = raw.spec?.selector;
  const pdb: SlimPdb = {
    key: objectKey(meta),
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    disruptionsAllowed: raw.status?.disruptionsAllowed ?? 0,
  };
  if (sel)
    pdb.selector = { matchLabels: sel.matchLabels ?? {}, matchExpressions: sel.matchExpressions ?? [] };
  return pdb;
}

/** metav1.LabelSelector semantics (policy/v1: an empty selector selects every pod in the namespace). */
export function selectorMatches(selector: SlimPdb['selector'], labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels)) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions) {
    const key = e.key ?? '';
    const has = key in labels;
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[key] as string)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key] as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** `aws:///<az>/<instance-id>` → parts; undefined for k3s:// or anything else. */
export function parseAwsProviderId(providerID: string): { zone: string; instanceId: string } | undefined {
  if (!providerID.startsWith(AWS_PROVIDER_ID_PREFIX)) return undefined;
  const m = /^aws:\/\/\/([a-z0-9-]+)\/(i-[0-9a-f]{8,17})$/.exec(providerID);
  return m ? { zone: m[1] as string, instanceId: m[2] as string } : undefined;
}

/**
 * A node is ours to cordon, drain and delete only when all three hold: our managed label, our
 * cluster label, and an EC2 providerID. Anything else is on-prem and never touched (invariant I2).
 */
export function isManagedNode(node: Pick<SlimNode, 'labels' | 'providerID'>, cluster: string): boolean {
  return (
    node.labels[Labels.managed] === 'true' &&
    node.labels[Labels.cluster] === cluster &&
    parseAwsProviderId(node.providerID) !== undefined
  );
}
