/**
 * Where a pending pod's persistent volumes let it run (issue 15 item 4).
 *
 * kube-scheduler's VolumeBinding and VolumeZone plugins read a pod's PersistentVolumeClaims,
 * their bound PersistentVolumes' `spec.nodeAffinity` and, for a claim not bound yet, its
 * StorageClass (`volumeBindingMode`, `allowedTopologies`). None of that is in the pod spec, so the
 * agent resolves it here and folds the result into the shape it reports:
 *
 * - a claim bound to a PV with node affinity adds that affinity to the pod's own (AND): a
 *   `kubernetes.io/hostname` pin (a local PV on a Pi, K3s's local-path provisioner) makes the pod
 *   unhelpable by a new node, an EBS volume's zone term restricts the zones a node may be
 *   launched in;
 * - a claim not bound yet whose StorageClass binds `WaitForFirstConsumer` is provisioned where
 *   the pod lands: its `allowedTopologies` (if any) restrict the zones;
 * - a claim that is missing, lost, bound to a missing PV, or unbound with `Immediate` binding
 *   (or no StorageClass) keeps the pod pending whatever node exists: reported as a volume issue,
 *   never a launch.
 *
 * The EBS CSI driver's topology key `topology.ebs.csi.aws.com/zone` is read as
 * `topology.kubernetes.io/zone`: the driver labels every node it runs on with both, with the
 * same value (kubernetes-sigs/aws-ebs-csi-driver#729), and the planner predicts only the
 * standard key for a new node.
 */
import type { NodeSelectorRequirement, NodeSelectorTerm, PendingShape } from '../events/index.js';
import { Labels } from '../events/index.js';
import type { RawNodeSelectorTerm, RawObjectMeta, RawPod } from './model.js';

export interface RawPvc {
  metadata?: RawObjectMeta;
  spec?: { volumeName?: string; storageClassName?: string | null };
  status?: { phase?: string };
}
export interface RawPv {
  metadata?: RawObjectMeta;
  spec?: {
    nodeAffinity?: { required?: { nodeSelectorTerms?: RawNodeSelectorTerm[] } };
    claimRef?: { namespace?: string; name?: string };
    storageClassName?: string;
  };
  status?: { phase?: string };
}
export interface RawStorageClass {
  metadata?: RawObjectMeta;
  provisioner?: string;
  volumeBindingMode?: string;
  allowedTopologies?: { matchLabelExpressions?: { key?: string; values?: string[] }[] }[];
}

/** What the agent keeps of a PersistentVolumeClaim. */
export interface SlimPvc {
  /** `namespace/name`. */
  key: string;
  /** spec.volumeName: the PV it is bound to ('' = not bound). */
  volumeName: string;
  /** spec.storageClassName ('' = none: static binding only). */
  storageClassName: string;
  phase: string;
}
/** What the agent keeps of a PersistentVolume. */
export interface SlimPv {
  name: string;
  /** spec.nodeAffinity.required terms (OR-ed), canonical; empty = usable from any node. */
  nodeAffinity: NodeSelectorTerm[];
}
/** What the agent keeps of a StorageClass. */
export interface SlimStorageClass {
  name: string;
  provisioner: string;
  waitForFirstConsumer: boolean;
  /** allowedTopologies as node selector terms (OR-ed); empty = any topology. */
  allowedTopologies: NodeSelectorTerm[];
}

export type VolumeIssueCode = NonNullable<PendingShape['volumeIssue']>['code'];

/** Read access to the three caches, as the snapshot builder needs it. */
export interface VolumeLookup {
  /** False until the claim, volume and storage-class caches have each been listed once. */
  synced(): boolean;
  claim(key: string): SlimPvc | undefined;
  volume(name: string): SlimPv | undefined;
  storageClass(name: string): SlimStorageClass | undefined;
}

/** The EBS CSI driver's zone key; nodes it runs on carry it beside the standard one. */
export const EBS_CSI_ZONE_KEY = 'topology.ebs.csi.aws.com/zone';

/** More terms than this after combining a pod's and its volumes' terms is reported, not guessed. */
export const MAX_COMBINED_TERMS = 16;

const OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']);

function canonicalKey(key: string): string {
  return key === EBS_CSI_ZONE_KEY ? Labels.zone : key;
}

function sortTerm(exprs: NodeSelectorRequirement[]): NodeSelectorTerm {
  return {
    matchExpressions: exprs.sort((a, b) =>
      a.key + a.operator < b.key + b.operator ? -1 : a.key + a.operator > b.key + b.operator ? 1 : 0,
    ),
  };
}

function sortTerms(terms: NodeSelectorTerm[]): NodeSelectorTerm[] {
  return terms.sort((a, b) => {
    const x = JSON.stringify(a);
    const y = JSON.stringify(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** A PV's required node affinity in canonical form (EBS key mapped, values sorted). */
function canonicalTerms(raw: RawNodeSelectorTerm[] | undefined): NodeSelectorTerm[] {
  const out: NodeSelectorTerm[] = [];
  for (const t of raw ?? []) {
    const exprs: NodeSelectorRequirement[] = [];
    for (const e of t.matchExpressions ?? []) {
      if (!e.key || !OPERATORS.has(e.operator ?? '')) continue;
      exprs.push({
        key: canonicalKey(e.key),
        operator: e.operator as NodeSelectorRequirement['operator'],
        values: [...(e.values ?? [])].sort(),
      });
    }
    if (exprs.length > 0) out.push(sortTerm(exprs));
  }
  return sortTerms(out);
}

export function slimPvc(raw: RawPvc): SlimPvc {
  const meta = raw.metadata ?? {};
  return {
    key: `${meta.namespace ?? ''}/${meta.name ?? ''}`,
    volumeName: raw.spec?.volumeName ?? '',
    storageClassName: raw.spec?.storageClassName ?? '',
    phase: raw.status?.phase ?? 'Pending',
  };
}

export function slimPv(raw: RawPv): SlimPv {
  return {
    name: raw.metadata?.name ?? '',
    nodeAffinity: canonicalTerms(raw.spec?.nodeAffinity?.required?.nodeSelectorTerms),
  };
}

export function slimStorageClass(raw: RawStorageClass): SlimStorageClass {
  const allowed: NodeSelectorTerm[] = [];
  for (const t of raw.allowedTopologies ?? []) {
    const exprs: NodeSelectorRequirement[] = [];
    for (const e of t.matchLabelExpressions ?? []) {
      if (!e.key) continue;
      exprs.push({ key: canonicalKey(e.key), operator: 'In', values: [...(e.values ?? [])].sort() });
    }
    if (exprs.length > 0) allowed.push(sortTerm(exprs));
  }
  return {
    name: raw.metadata?.name ?? '',
    provisioner: raw.provisioner ?? '',
    waitForFirstConsumer: raw.volumeBindingMode === 'WaitForFirstConsumer',
    allowedTopologies: sortTerms(allowed),
  };
}

/**
 * The claims a pod uses, by name: `persistentVolumeClaim.claimName`, and for a generic ephemeral
 * volume the claim its controller creates, `<pod name>-<volume name>`. Sorted, unique.
 */
export function claimNamesOf(podName: string, spec: RawPod['spec']): string[] {
  const names = new Set<string>();
  for (const v of spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) names.add(v.persistentVolumeClaim.claimName);
    else if (v.ephemeral !== undefined && v.name) names.add(`${podName}-${v.name}`);
  }
  return [...names].sort();
}

/** What a pod's claims require of the node it runs on. */
export type VolumeConstraint =
  | {
      ok: true;
      /** Groups of OR-ed terms, every group must hold (one per claim that restricts). */
      groups: NodeSelectorTerm[][];
      /** A bound PV pins the pod to named hosts (`kubernetes.io/hostname`). */
      pinned: boolean;
    }
  | { ok: false; code: VolumeIssueCode; claim: string; text: string };

function pinsHost(terms: NodeSelectorTerm[]): boolean {
  return (
    terms.length > 0 &&
    terms.every((t) => t.matchExpressions.some((e) => e.key === Labels.hostname && e.operator === 'In'))
  );
}

/**
 * Resolve a pod's claims against the caches. The first claim that keeps the pod pending whatever
 * node exists wins (claims in name order), so the answer is stable.
 */
export function resolveClaims(
  namespace: string,
  claims: readonly string[],
  v: VolumeLookup,
): VolumeConstraint {
  const groups: NodeSelectorTerm[][] = [];
  let pinned = false;
  if (!v.synced() && claims.length > 0)
    return {
      ok: false,
      code: 'claims-unresolved',
      claim: `${namespace}/${claims[0]}`,
      text:
        'the agent has not read PersistentVolumeClaims, PersistentVolumes and StorageClasses yet, so it ' +
        'cannot tell where this pod may run; if this lasts, grant the agent list and watch on them (deploy/rbac.yaml)',
    };
  for (const name of claims) {
    const key = `${namespace}/${name}`;
    const pvc = v.claim(key);
    if (!pvc)
      return {
        ok: false,
        code: 'claim-missing',
        claim: key,
        text: `PersistentVolumeClaim ${key} does not exist; create it (or fix the pod's claimName)`,
      };
    if (pvc.phase === 'Lost')
      return {
        ok: false,
        code: 'claim-lost',
        claim: key,
        text: `PersistentVolumeClaim ${key} has lost its PersistentVolume; restore the volume or recreate the claim`,
      };
    if (pvc.volumeName !== '') {
      const pv = v.volume(pvc.volumeName);
      if (!pv)
        return {
          ok: false,
          code: 'volume-missing',
          claim: key,
          text: `PersistentVolumeClaim ${key} is bound to PersistentVolume ${pvc.volumeName}, which does not exist`,
        };
      if (pv.nodeAffinity.length > 0) {
        groups.push(pv.nodeAffinity);
        if (pinsHost(pv.nodeAffinity)) pinned = true;
      }
      continue;
    }
    const sc = pvc.storageClassName ? v.storageClass(pvc.storageClassName) : undefined;
    if (!sc?.waitForFirstConsumer) {
      const why = !pvc.storageClassName
        ? 'has no StorageClass, so only an existing PersistentVolume can bind it'
        : !sc
          ? `names StorageClass ${pvc.storageClassName}, which does not exist`
          : `uses StorageClass ${sc.name} with Immediate binding, which binds it before scheduling`;
      return {
        ok: false,
        code: 'claim-unbound',
        claim: key,
        text: `PersistentVolumeClaim ${key} is not bound and ${why}; a new node cannot help until it is bound`,
      };
    }
    if (sc.allowedTopologies.length > 0) groups.push(sc.allowedTopologies);
  }
  return { ok: true, groups, pinned };
}

/**
 * `a AND b` for two OR-ed term lists: every pair of terms merged. Undefined when the result would
 * have more than `MAX_COMBINED_TERMS` terms.
 */
export function andTerms(a: NodeSelectorTerm[], b: NodeSelectorTerm[]): NodeSelectorTerm[] | undefined {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  if (a.length * b.length > MAX_COMBINED_TERMS) return undefined;
  const out: NodeSelectorTerm[] = [];
  const seen = new Set<string>();
  for (const x of a)
    for (const y of b) {
      const t = sortTerm([...x.matchExpressions, ...y.matchExpressions]);
      const k = JSON.stringify(t);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(t);
    }
  return sortTerms(out);
}
