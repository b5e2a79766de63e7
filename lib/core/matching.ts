import type {
  CapacityType,
  Config,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  PendingShape,
  Taint,
  Toleration,
} from '../events/index.js';
import { Labels } from '../events/index.js';
import type { InstanceSpec } from './catalog.js';

/** The scheduling constraints of a pod shape or a DaemonSet template. */
export interface PodConstraints {
  nodeSelector: Record<string, string>;
  requiredAffinity: NodeSelectorTerm[];
  tolerations: Toleration[];
}

/** The parts of a node that scheduling predicates look at. */
export interface NodeLabelsAndTaints {
  labels: Record<string, string>;
  taints: Taint[];
}

export type FitResult = { ok: true } | { ok: false; reason: string };

const OK: FitResult = { ok: true };

function parseIntStrict(v: string | undefined): number | undefined {
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
  return Number.parseInt(v, 10);
}

/** Kubernetes `NodeSelectorRequirement` semantics (k8s.io/component-helpers nodeaffinity). */
export function requirementMatches(req: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = has ? labels[req.key] : undefined;
  switch (req.operator) {
    case 'In':
      return has && req.values.includes(value as string);
    case 'NotIn':
      return !has || !req.values.includes(value as string);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      const actual = parseIntStrict(value);
      const bound = parseIntStrict(req.values[0]);
      if (actual === undefined || bound === undefined || req.values.length !== 1) return false;
      return req.operator === 'Gt' ? actual > bound : actual < bound;
    }
  }
}

function describeRequirement(req: NodeSelectorRequirement): string {
  switch (req.operator) {
    case 'Exists':
    case 'DoesNotExist':
      return `${req.key} ${req.operator}`;
    default:
      return `${req.key} ${req.operator} [${req.values.join(', ')}]`;
  }
}

function describeLabel(labels: Record<string, string>, key: string): string {
  return Object.hasOwn(labels, key) ? `${key}=${labels[key]}` : `no ${key} label`;
}

/**
 * Why a node's labels do not satisfy a pod's nodeSelector and required node affinity, or
 * undefined when they do. Terms are OR-ed, expressions within a term AND-ed; an empty term
 * matches nothing (as in Kubernetes).
 */
export function labelMismatch(
  c: Omit<PodConstraints, 'tolerations'>,
  labels: Record<string, string>,
): string | undefined {
  for (const key of Object.keys(c.nodeSelector).sort()) {
    const want = c.nodeSelector[key] as string;
    if (labels[key] !== want || !Object.hasOwn(labels, key)) {
      return `nodeSelector ${key}=${want} does not match (the node has ${describeLabel(labels, key)})`;
    }
  }
  if (c.requiredAffinity.length === 0) return undefined;
  let firstFailure: string | undefined;
  for (const term of c.requiredAffinity) {
    if (term.matchExpressions.length === 0) {
      firstFailure ??= 'an empty node selector term matches no node';
      continue;
    }
    const failing = term.matchExpressions.find((req) => !requirementMatches(req, labels));
    if (!failing) return undefined;
    firstFailure ??= `required node affinity ${describeRequirement(failing)} does not match (the node has ${describeLabel(labels, failing.key)})`;
  }
  return firstFailure;
}

/**
 * Kubernetes toleration semantics: an empty key with `Exists` tolerates every taint; an empty
 * effect matches every effect; `Equal` compares values (absent = ""). The DefaultTolerationSeconds
 * tolerations (`node.kubernetes.io/not-ready`/`unreachable`, NoExecute) name their own keys, so
 * they never tolerate our cloud taint.
 */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== taint.effect) return false;
  if (t.key === undefined || t.key === '') return t.operator === 'Exists';
  if (t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/** The first NoSchedule/NoExecute taint none of the tolerations tolerate (PreferNoSchedule never blocks). */
export function untoleratedTaint(
  tolerations: readonly Toleration[],
  taints: readonly Taint[],
): Taint | undefined {
  return taints.find(
    (taint) => taint.effect !== 'PreferNoSchedule' && !tolerations.some((t) => tolerates(t, taint)),
  );
}

/** `k3s-burst.io/cloud=true:NoSchedule` */
export function fmtTaint(taint: Taint): string {
  return `${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`;
}

/**
 * Whether a pod shape could be scheduled on a node by its labels and taints: nodeSelector,
 * required node affinity (In/NotIn/Exists/DoesNotExist/Gt/Lt), and NoSchedule/NoExecute
 * taints vs tolerations. Resources are not considered here.
 */
export function shapeFitsNode(
  shape: Pick<PendingShape, 'nodeSelector' | 'requiredAffinity' | 'tolerations'>,
  node: NodeLabelsAndTaints,
): FitResult {
  const mismatch = labelMismatch(shape, node.labels);
  if (mismatch) return { ok: false, reason: mismatch };
  const taint = untoleratedTaint(shape.tolerations, node.taints);
  if (taint) return { ok: false, reason: `does not tolerate taint ${fmtTaint(taint)}` };
  return OK;
}

/** Region of an availability zone: `eu-central-1a` → `eu-central-1`. */
export function regionOfZone(zone: string): string {
  return zone.replace(/[a-z]$/, '');
}

/**
 * The labels a new cloud node will carry: well-known kubelet labels (arch, os, instance type,
 * zone, region, plus their `beta.` aliases), k3s-burst's own labels and `config.nodes.labels`.
 * Our labels win over a config label with the same key, so a config cannot disguise a node.
 * An empty `zone` (not known yet) leaves the zone label out.
 */
export function cloudNodeLabels(
  config: Config,
  spec: InstanceSpec,
  zone: string,
  capacityType: CapacityType,
): Record<string, string> {
  const labels: Record<string, string> = { ...config.nodes.labels };
  labels['beta.kubernetes.io/arch'] = spec.arch;
  labels['beta.kubernetes.io/os'] = 'linux';
  labels['beta.kubernetes.io/instance-type'] = spec.instanceType;
  labels[Labels.arch] = spec.arch;
  labels[Labels.os] = 'linux';
  labels[Labels.instanceType] = spec.instanceType;
  labels[Labels.region] = config.cluster.region;
  if (zone) {
    labels[Labels.zone] = zone;
    labels['failure-domain.beta.kubernetes.io/zone'] = zone;
  }
  labels[Labels.managed] = 'true';
  labels[Labels.cluster] = config.cluster.name;
  labels[Labels.capacityType] = capacityType;
  return labels;
}

/** Label keys whose value depends on where/how the node is launched, not on the instance type. */
export const ZONE_KEYS: readonly string[] = [Labels.zone, 'failure-domain.beta.kubernetes.io/zone'];

/** Whether a shape's selectors mention any of `keys` (then it must be evaluated per value). */
export function constrainsAnyKey(c: Omit<PodConstraints, 'tolerations'>, keys: readonly string[]): boolean {
  for (const k of keys) if (Object.hasOwn(c.nodeSelector, k)) return true;
  for (const term of c.requiredAffinity) {
    for (const req of term.matchExpressions) if (keys.includes(req.key)) return true;
  }
  return false;
}
