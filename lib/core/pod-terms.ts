/**
 * Required inter-pod affinity, anti-affinity and topology spread (issue 15 item 3), turned into
 * constraints the packer already honours, before any room is looked at:
 *
 * - hostname anti-affinity and hostname spread → a packing key per selector, which clashes like
 *   a host port: at most one such pod per node, and none on an existing node already running a
 *   pod the selector matches. For spread this is stricter than `maxSkew` (one per node satisfies
 *   any skew, as new nodes start empty); pending pods the selector matches get the key too, so
 *   the rule holds in both directions.
 * - zone terms → each pod is given a zone, one at a time, over the zones the shape may use: the
 *   zone with the fewest pods of the shape so far among those where every zone spread constraint
 *   keeps its skew (running matching pods per zone counted, `minDomains` honoured), no pod an
 *   anti-affinity selector matches runs, and a pod an affinity selector matches runs (or, when
 *   none runs anywhere and the pod matches its own term, the first zone). The shape is split
 *   into one shape per zone with a node-affinity requirement on that zone.
 * - hostname affinity → only the free room of the existing nodes running a matching pod; a new
 *   node would not run one. With no match anywhere: the first pod of a self-matching shape is
 *   planned and the rest follow it once it runs (the scheduler places them on its node).
 *
 * Unsupported terms (other topology keys, …) and terms that need the running pods' index when
 * the agent dropped it are answered here, with the reason, and planned nothing for. Pure.
 */
import type { NodeSelectorTerm, PendingShape, PodTerm, SnapshotNode, SpreadTerm } from '../events/index.js';
import { Labels } from '../events/index.js';
import { labelMismatch, ZONE_KEYS } from './matching.js';

/** A pending pod answered by the inter-pod rules instead of being planned. */
export interface PodTermAnswer {
  shape: PendingShape;
  count: number;
  code: string;
  text: string;
}

/** What the inter-pod rules make of the pending shapes. */
export interface PodTermsPlan {
  /** The shapes to plan: unchanged, rewritten or split per zone (same ids), without the answered pods. */
  shapes: PendingShape[];
  /** Extra packing keys (host-port-like) per planned shape. */
  keys: Map<PendingShape, string[]>;
  /** Packing keys per existing node name (the node runs a pod the key's selector matches). */
  nodeKeys: Map<string, string[]>;
  /** Keys every existing node gets (the index was dropped: where matching pods run is unknown). */
  allNodeKeys: string[];
  /** Planned pieces of shapes spread over zones (all or none of them may launch). */
  zoneSpread: Set<PendingShape>;
  /** What the rules did to a planned shape, for its answers. */
  notes: Map<PendingShape, string>;
  /** Planned shapes that may only use existing room (hostname affinity), with why. */
  existingOnly: Map<PendingShape, { code: string; text: string }>;
  answers: PodTermAnswer[];
  /** Plan-level sentences (preferred terms ignored, index dropped). */
  explanations: string[];
}

/** The packing key of a selector: `POD/<id>/` clashes like a host port bound on every address. */
export function podKey(selector: string): string {
  return `POD/${selector}/`;
}

function hasTerms(s: PendingShape): boolean {
  return Boolean(s.podAffinity?.length || s.podAntiAffinity?.length || s.topologySpread?.length);
}

/** The zone of a node: its zone label (either key), or the zone parsed from a managed node's providerID. */
function zoneOfNode(n: SnapshotNode): string | undefined {
  for (const k of ZONE_KEYS) if (n.labels[k]) return n.labels[k];
  return n.zone;
}

/** The shape's node constraints reduced to their zone requirements (other keys dropped). */
function zoneView(s: PendingShape): Pick<PendingShape, 'nodeSelector' | 'requiredAffinity'> {
  const nodeSelector: Record<string, string> = {};
  for (const k of ZONE_KEYS) if (s.nodeSelector[k] !== undefined) nodeSelector[k] = s.nodeSelector[k];
  const requiredAffinity: NodeSelectorTerm[] = [];
  for (const t of s.requiredAffinity) {
    const exprs = t.matchExpressions.filter((e) => ZONE_KEYS.includes(e.key));
    // A term without zone requirements allows every zone.
    if (exprs.length === 0) return { nodeSelector, requiredAffinity: [] };
    requiredAffinity.push({ matchExpressions: exprs });
  }
  return { nodeSelector, requiredAffinity };
}

function zoneAllowed(view: ReturnType<typeof zoneView>, zone: string): boolean {
  const labels: Record<string, string> = {};
  for (const k of ZONE_KEYS) labels[k] = zone;
  return labelMismatch(view, labels) === undefined;
}

/** The shape with an extra node-affinity requirement ANDed into every term. */
function requireLabel(s: PendingShape, key: string, values: string[]): PendingShape {
  const req = { key, operator: 'In' as const, values };
  const terms =
    s.requiredAffinity.length === 0
      ? [{ matchExpressions: [req] }]
      : s.requiredAffinity.map((t) => ({ matchExpressions: [...t.matchExpressions, req] }));
  return { ...s, requiredAffinity: terms };
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/**
 * Apply the inter-pod rules to the pending shapes (see the module comment). `zones` are the
 * zones new nodes can land in; `nodes` are the snapshot's nodes (for running matches).
 */
export function planPodTerms(
  shapes: readonly PendingShape[],
  nodes: readonly SnapshotNode[],
  zones: readonly string[],
  indexDropped: string | undefined,
): PodTermsPlan {
  const out: PodTermsPlan = {
    shapes: [],
    keys: new Map(),
    nodeKeys: new Map(),
    allNodeKeys: [],
    zoneSpread: new Set(),
    notes: new Map(),
    existingOnly: new Map(),
    answers: [],
    explanations: [],
  };
  if (!shapes.some((s) => hasTerms(s) || s.unsupportedPodTerm || s.ignoredPodTerms)) {
    out.shapes = [...shapes];
    return out;
  }
  const indexed = indexDropped === undefined;

  // Selectors used by hostname anti-affinity / spread: packing keys.
  const hostKeys = new Set<string>();
  for (const s of shapes) {
    for (const t of s.podAntiAffinity ?? []) if (t.topology === 'hostname') hostKeys.add(t.selector);
    for (const t of s.topologySpread ?? []) if (t.topology === 'hostname') hostKeys.add(t.selector);
  }
  if (indexed) {
    for (const n of nodes) {
      const keys = Object.keys(n.podSelectorCounts ?? {})
        .filter((sel) => hostKeys.has(sel))
        .map(podKey);
      if (keys.length > 0) out.nodeKeys.set(n.name, keys);
    }
  } else out.allNodeKeys = [...hostKeys].sort().map(podKey);

  // Running matching pods per selector and zone, and the zones of existing nodes.
  const zoneCounts = new Map<string, Map<string, number>>();
  const hostsBySelector = new Map<string, string[]>();
  for (const n of nodes) {
    const z = zoneOfNode(n);
    for (const [sel, c] of Object.entries(n.podSelectorCounts ?? {})) {
      const hosts = hostsBySelector.get(sel) ?? [];
      hosts.push(n.labels[Labels.hostname] ?? n.name);
      hostsBySelector.set(sel, hosts);
      if (z === undefined) continue;
      const byZone = zoneCounts.get(sel) ?? new Map<string, number>();
      byZone.set(z, (byZone.get(z) ?? 0) + c);
      zoneCounts.set(sel, byZone);
    }
  }
  // Pending pods assigned to a zone by this pass, per selector (they count for later shapes).
  const assigned = new Map<string, Map<string, number>>();
  const countIn = (sel: string, z: string) =>
    (zoneCounts.get(sel)?.get(z) ?? 0) + (assigned.get(sel)?.get(z) ?? 0);
  const pendingMatchers = new Map<string, number>();
  for (const s of shapes)
    for (const sel of s.matchesSelectors ?? [])
      pendingMatchers.set(sel, (pendingMatchers.get(sel) ?? 0) + s.count);

  let ignored = 0;
  let ignoringShapes = 0;
  const answer = (shape: PendingShape, count: number, code: string, text: string) => {
    if (count > 0) out.answers.push({ shape, count, code, text });
  };
  for (const s of shapes) {
    if (s.ignoredPodTerms) {
      ignored += s.ignoredPodTerms;
      ignoringShapes++;
    }
    const ignoredNote = s.ignoredPodTerms
      ? `${plural(s.ignoredPodTerms, 'preferred term')} (pod affinity, anti-affinity or ScheduleAnyway spread) ignored`
      : undefined;
    const own = new Set(s.matchesSelectors ?? []);
    // Pending pods a hostname selector matches carry its key too (the rule holds both ways).
    const matchedKeys = [...own].filter((sel) => hostKeys.has(sel));
    if (s.unsupportedPodTerm) {
      answer(
        s,
        s.count,
        'pod-term-unsupported',
        `has a ${s.unsupportedPodTerm}, which k3s-burst does not plan: nothing is launched for it (use kubernetes.io/hostname or topology.kubernetes.io/zone, or a preferred term)`,
      );
      continue;
    }
    if (!hasTerms(s)) {
      if (matchedKeys.length > 0) out.keys.set(s, matchedKeys.map(podKey));
      if (ignoredNote) out.notes.set(s, ignoredNote);
      out.shapes.push(s);
      continue;
    }
    const anti = s.podAntiAffinity ?? [];
    const aff = s.podAffinity ?? [];
    const spread = s.topologySpread ?? [];
    const zoneAnti = anti.filter((t) => t.topology === 'zone');
    const zoneAff = aff.filter((t) => t.topology === 'zone');
    const zoneSpread = spread.filter((t) => t.topology === 'zone');
    const hostAff = aff.filter((t) => t.topology === 'hostname');
    const needsIndex = zoneAnti.length + zoneAff.length + zoneSpread.length + hostAff.length > 0;
    if (needsIndex && !indexed) {
      answer(
        s,
        s.count,
        'pod-index-dropped',
        `has a required pod affinity or zone term, and the snapshot left out where matching pods run (${indexDropped}): nothing is launched for it until a snapshot carries the index`,
      );
      continue;
    }
    const notes: string[] = [];
    const keys = new Set(matchedKeys);
    for (const t of [...anti, ...spread]) if (t.topology === 'hostname') keys.add(t.selector);
    if (anti.some((t) => t.topology === 'hostname'))
      notes.push(
        'required pod anti-affinity on kubernetes.io/hostname: at most one per node, none beside a matching pod',
      );
    for (const t of spread.filter((x) => x.topology === 'hostname'))
      notes.push(
        `topology spread on kubernetes.io/hostname (maxSkew ${t.maxSkew}): at most one per node${t.maxSkew > 1 ? ', stricter than the skew allows' : ''}`,
      );

    let pieces: Array<{ shape: PendingShape; count: number }> = [{ shape: s, count: s.count }];
    // Hostname affinity: only where matching pods run.
    let existingOnly: { code: string; text: string } | undefined;
    for (const t of hostAff) {
      const hosts = hostsBySelector.get(t.selector);
      if (hosts && hosts.length > 0) {
        const names = [...new Set(hosts)].sort();
        pieces = pieces.map((p) => ({ ...p, shape: requireLabel(p.shape, Labels.hostname, names) }));
        existingOnly = {
          code: 'pod-affinity-existing-only',
          text: `required pod affinity on kubernetes.io/hostname: only nodes already running a matching pod (${names.slice(0, 4).join(', ')}${names.length > 4 ? ` and ${names.length - 4} more` : ''}) can take it, and they have no room; a new node would not run a matching pod`,
        };
        notes.push('required pod affinity on kubernetes.io/hostname: only nodes running a matching pod');
      } else if (own.has(t.selector) && s.count > 1) {
        // The first pod may go anywhere; the rest follow it once it runs.
        answer(
          s,
          s.count - 1,
          'pod-affinity-follows',
          'required pod affinity on kubernetes.io/hostname to pods like itself, none of which runs yet: one pod is planned, the others go to its node once it runs (planned in a later decision)',
        );
        pieces = [{ shape: s, count: 1 }];
        notes.push(
          'required pod affinity on kubernetes.io/hostname: the first pod is planned, the rest follow it',
        );
      } else if (!own.has(t.selector)) {
        const waiting = (pendingMatchers.get(t.selector) ?? 0) > 0;
        answer(
          s,
          s.count,
          waiting ? 'pod-affinity-waits' : 'pod-affinity-no-match',
          waiting
            ? 'required pod affinity on kubernetes.io/hostname to pods that are pending too: it is planned once they run (the scheduler places it beside them)'
            : 'required pod affinity on kubernetes.io/hostname to pods that do not exist: no node can satisfy it until one runs',
        );
        pieces = [];
      }
    }
    if (pieces.length === 0) continue;

    if (zoneAnti.length + zoneAff.length + zoneSpread.length > 0) {
      const view = zoneView(s);
      const allowed = zones.filter((z) => zoneAllowed(view, z)).sort();
      // Domains for skew: the allowed zones and the zones of existing nodes the pod may use (nodeAffinityPolicy Honor).
      const domains = new Set(allowed);
      // Spread counts only pods on nodes the pod itself may use (nodeAffinityPolicy Honor);
      // (anti-)affinity counts every node of the zone.
      const eligible = new Map<string, Map<string, number>>();
      for (const n of nodes) {
        const z = zoneOfNode(n);
        if (z === undefined || labelMismatch(s, n.labels) !== undefined) continue;
        domains.add(z);
        for (const t of zoneSpread) {
          const c = n.podSelectorCounts?.[t.selector] ?? 0;
          if (c === 0) continue;
          const byZone = eligible.get(t.selector) ?? new Map<string, number>();
          byZone.set(z, (byZone.get(z) ?? 0) + c);
          eligible.set(t.selector, byZone);
        }
      }
      const spreadCountIn = (sel: string, z: string) =>
        (eligible.get(sel)?.get(z) ?? 0) + (assigned.get(sel)?.get(z) ?? 0);
      const perZone = new Map<string, number>();
      const total = pieces.reduce((a, p) => a + p.count, 0);
      let blocked: string | undefined;
      // Fewest matching pods of its spread selectors first (fills the gaps), then fewest of this shape.
      const score = (z: string) => {
        let n = 0;
        for (const t of zoneSpread) n += spreadCountIn(t.selector, z);
        return n * total + (perZone.get(z) ?? 0);
      };
      for (let i = 0; i < total; i++) {
        let best: string | undefined;
        blocked = undefined;
        for (const z of allowed) {
          const why = zoneRefusal(z, own, zoneAnti, zoneAff, zoneSpread, domains, countIn, spreadCountIn);
          if (why !== undefined) {
            blocked ??= why;
            continue;
          }
          if (best === undefined || score(z) < score(best)) best = z;
        }
        if (best === undefined) break;
        perZone.set(best, (perZone.get(best) ?? 0) + 1);
        for (const sel of own) {
          const m = assigned.get(sel) ?? new Map<string, number>();
          m.set(best, (m.get(best) ?? 0) + 1);
          assigned.set(sel, m);
        }
      }
      const placed = [...perZone.values()].reduce((a, b) => a + b, 0);
      answer(
        s,
        total - placed,
        'pod-zone-terms',
        `its zone terms leave no zone for ${total - placed === 1 ? 'this pod' : 'these pods'} (${blocked ?? `no allowed zone among ${zones.join(', ')}`}): nothing is launched for ${total - placed === 1 ? 'it' : 'them'} now`,
      );
      const base = pieces[0]?.shape as PendingShape;
      pieces = [...perZone.entries()]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([z, k]) => ({ shape: requireLabel(base, Labels.zone, [z]), count: k }));
      const zoneNotes: string[] = [];
      if (zoneSpread.length > 0)
        zoneNotes.push(`topology spread over zones (maxSkew ${zoneSpread.map((t) => t.maxSkew).join('/')})`);
      if (zoneAnti.length > 0) zoneNotes.push('required pod anti-affinity on zones');
      if (zoneAff.length > 0) zoneNotes.push('required pod affinity on zones');
      notes.push(
        `${zoneNotes.join(', ')}: ${pieces.map((p) => `${p.count} in ${(p.shape.requiredAffinity[0]?.matchExpressions.at(-1)?.values ?? [])[0]}`).join(', ')}`,
      );
    }
    if (ignoredNote) notes.push(ignoredNote);
    for (const p of pieces) {
      const shape = p.count === p.shape.count ? p.shape : { ...p.shape, count: p.count };
      out.shapes.push(shape);
      if (keys.size > 0) out.keys.set(shape, [...keys].sort().map(podKey));
      if (notes.length > 0) out.notes.set(shape, notes.join('; '));
      if (existingOnly) out.existingOnly.set(shape, existingOnly);
      if (zoneSpread.length > 0) out.zoneSpread.add(shape);
    }
  }
  if (ignored > 0)
    out.explanations.push(
      `${plural(ignored, 'preferred term')} (pod affinity, anti-affinity or ScheduleAnyway spread) in ${plural(ignoringShapes, 'shape')} ${ignored === 1 ? 'is' : 'are'} ignored: only required terms and DoNotSchedule constraints are planned`,
    );
  if (!indexed && shapes.some(hasTerms))
    out.explanations.push(
      `the snapshot left out where matching pods run (${indexDropped}): pods with hostname anti-affinity or spread get new nodes only, one per node; pods with pod affinity or zone terms get nothing`,
    );
  return out;
}

/** Why a pod of shape `s` may not go to zone `z` now, or undefined. */
function zoneRefusal(
  z: string,
  own: ReadonlySet<string>,
  anti: readonly PodTerm[],
  aff: readonly PodTerm[],
  spread: readonly SpreadTerm[],
  domains: ReadonlySet<string>,
  countIn: (sel: string, z: string) => number,
  spreadCountIn: (sel: string, z: string) => number,
): string | undefined {
  for (const t of anti)
    if (countIn(t.selector, z) > 0)
      return `required pod anti-affinity: a matching pod runs or is planned in ${z}`;
  for (const t of aff) {
    if (countIn(t.selector, z) > 0) continue;
    let anywhere = false;
    for (const d of domains) if (countIn(t.selector, d) > 0) anywhere = true;
    // No matching pod anywhere and the pod matches its own term: the first may go anywhere.
    if (!anywhere && own.has(t.selector)) continue;
    return `required pod affinity: no matching pod runs in ${z}`;
  }
  for (const t of spread) {
    let min = Number.POSITIVE_INFINITY;
    for (const d of domains) min = Math.min(min, spreadCountIn(t.selector, d));
    if (t.minDomains !== undefined && domains.size < t.minDomains) min = 0;
    if (!Number.isFinite(min)) min = 0;
    const skew = spreadCountIn(t.selector, z) + (own.has(t.selector) ? 1 : 0) - min;
    if (skew > t.maxSkew)
      return `topology spread: one more pod in ${z} would make the skew ${skew}, over maxSkew ${t.maxSkew}`;
  }
  return undefined;
}
