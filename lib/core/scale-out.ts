import type {
  Arch,
  CapacityType,
  DaemonSetOverhead,
  ManagedInstance,
  PendingShape,
  PlannedLaunch,
  PodAnswer,
  SnapshotNode,
  UnhelpableShape,
} from '../events/index.js';
import { Labels } from '../events/index.js';
import {
  backoffsAsOfferings,
  type CandidateAvailability,
  filterCandidateOfferings,
  unavailableReason,
} from './availability.js';
import type { PlanBuilder } from './builder.js';
import {
  maxRootVolumeGiB,
  type NewNodeCapacity,
  type NodeRoom,
  newNodeCapacity,
  rootVolumeGiBFor,
  worstCasePrice,
} from './capacity.js';
import type { InstanceSpec } from './catalog.js';
import { instanceIdOfNode, nodeOfInstance, type PlanContext } from './context.js';
import { fmtCpu, fmtMem, fmtTime, fmtUsd, plural } from './format.js';
import { chargeNewNodes, type Headroom, maxNewNodes } from './headroom.js';
import {
  cloudNodeLabels,
  constrainsAnyKey,
  fmtTaint,
  labelMismatch,
  untoleratedTaint,
  ZONE_KEYS,
} from './matching.js';
import { type MixedItem, type MixedNode, type MixedType, packMixed } from './mixed-packing.js';
import {
  addPorts,
  binsLowerBound,
  type Free,
  fitCount,
  freeOf,
  type PackItem,
  packFresh,
  portClashes,
  portKey,
} from './packing.js';
import { planPodTerms } from './pod-terms.js';
import { type Outage, outageOf } from './repairs.js';
import {
  existingBins,
  fitsAnyRoom,
  GPU_RESOURCE,
  otherExtended,
  type Placement,
  placeOnRoom,
  type RoomBin,
  type RoomShape,
} from './room.js';
import { startableMembers } from './warm-pool.js';

export type { Headroom } from './headroom.js';

/** Names of the limits, for clamp explanations. */
export interface HeadroomLimits {
  nodesLabel: string;
  nodesLimit: number;
}

/** A candidate type with its prices, capacity types allowed now, and fresh-node room. */
interface TypeInfo {
  spec: InstanceSpec;
  /** Position in the (name-sorted) candidate list of this plan: a bit in ShapeInfo.typesKey. */
  idx: number;
  /** Config capacity types minus offerings that are unavailable in every zone right now. */
  caps: CapacityType[];
  /** Price of the preferred capacity type (what ranks types). */
  price: number;
  /** Dearest allowed capacity type (what the cost cap charges). */
  worstPrice: number;
  room: NewNodeCapacity;
  /** `freeOf(room)`, built once: packing checks it for every shape. */
  free: Free;
  available: boolean;
  /** cloudNodeLabels per `zone|capacityType`, built on first use (matching asks many times per plan). */
  labels: Map<string, Record<string, string>>;
}

/**
 * cloudNodeLabels is called for every candidate type, zone and capacity type on every plan, and
 * building a 13-key object of dotted label keys is slow in V8. The result depends only on
 * config.nodes.labels, the cluster name and region, and the type's name and arch, so it is
 * memoised per `config.nodes.labels` object (a config parsed once serves many plans in Lambda
 * and the simulator). The memoised objects are shared: nothing in lib/core mutates them.
 */
const labelMemo = new WeakMap<object, Map<string, Record<string, string>>>();

function memoCloudLabels(
  ctx: PlanContext,
  spec: InstanceSpec,
  zone: string,
  cap: CapacityType,
): Record<string, string> {
  const config = ctx.config;
  let byKey = labelMemo.get(config.nodes.labels);
  if (!byKey) {
    byKey = new Map();
    labelMemo.set(config.nodes.labels, byKey);
  }
  const key = `${config.cluster.name}|${config.cluster.region}|${spec.instanceType}|${spec.arch}|${zone}|${cap}`;
  let labels = byKey.get(key);
  if (!labels) {
    labels = cloudNodeLabels(config, spec, zone, cap);
    byKey.set(key, labels);
  }
  return labels;
}

function labelsOf(ctx: PlanContext, t: TypeInfo, zone: string, cap: CapacityType): Record<string, string> {
  const key = `${zone}|${cap}`;
  let labels = t.labels.get(key);
  if (!labels) {
    labels = memoCloudLabels(ctx, t.spec, zone, cap);
    t.labels.set(key, labels);
  }
  return labels;
}

interface ShapeInfo extends RoomShape {
  shape: PendingShape;
  item: PackItem;
  /** Sort key for first-fit-decreasing. */
  size: number;
  /** Types whose labels match the shape (any allowed zone / capacity type). */
  types: TypeInfo[];
  zones: string[];
  caps: CapacityType[];
  remaining: number;
  /** Which types fit, zones and capacity types: shapes with equal keys are packed together. */
  typesKey: string;
  /** Why no cloud node can run it (machine-readable code + sentence), or undefined. */
  unhelpable?: { code: string; text: string };
  /** Which of `types` hold one pod and which it launches on (shared by shapes with equal requests and constraints). */
  fit?: FitEntry;
  /** What the inter-pod rules (lib/core/pod-terms.ts) did to it, for its answers. */
  note?: string;
  /** Position of its shape id in id order (zone pieces of one shape share it): sorts by id without comparing strings. */
  rank: number;
  /** When its oldest pod became pending, ms since the epoch (parsed once per distinct timestamp). */
  pendingSinceMs: number;
  /** Whether a cloud node can run it (set once existing room has been taken). */
  helpable: boolean;
  /** Launches for its shape id, shared by the zone pieces of one shape: one answer per id. */
  launched: LaunchedFor;
}

/** The launches planned for one shape id, gathered for its `launched-for` answer. */
interface LaunchedFor {
  pods: number;
  launches: string[];
  /** Set while a launch's parts are gathered: the launch index that saw this id last (duplicates). */
  seenBy: number;
  answered: boolean;
}

/** The types a shape fits and launches on, and its group key: one per (matched types, requests). */
interface FitEntry {
  /** Matched types a fresh node of which holds one pod. */
  fitting: TypeInfo[];
  /** `fitting` without GPU types unless the pod asks for GPUs or nothing else fits (as Karpenter keeps them). */
  launch: TypeInfo[];
  /** Which types it launches on (a bit set), zones and capacity types: equal keys pack alike. */
  typesKey: string;
}

/** FitEntries of one set of matched types (see {@link fitEntryOf}). */
interface FitCache {
  /** The entry of pods that fit the smallest matched type in every dimension, with that minimum. */
  small?: FitEntry & { min?: Free };
  /** By requests (`cpu|mem|eph|gpus|ports`). */
  byItem: Map<string, FitEntry>;
  /**
   * Plain pods (CPU and memory only): by how many of the matched types' distinct free CPU and
   * memory values lie below the request. Requests in one class fit exactly the same types.
   */
  byClass: Map<number, FitEntry>;
  /** The matched types' distinct free CPU and memory, ascending (built on first use). */
  cpus?: Float64Array;
  mems?: Float64Array;
  /** By the set of types that hold one pod (bit words) and whether it asks for GPUs: requests that fit the same types share lists. */
  byFit: Map<string, FitEntry>;
}

/**
 * The FitEntry of a shape, cached by its matched types (an object matchTypes shares between
 * shapes with the same constraints) and its requests: with 10,000 distinct shapes most share
 * a few hundred request combinations, and checking every type per shape dominated planning.
 */
function fitEntryOf(
  cache: Map<object, FitCache>,
  m: { types: TypeInfo[]; zones: string[]; caps: CapacityType[] },
  item: PackItem,
  typeCount: number,
): FitEntry {
  let c = cache.get(m);
  if (!c) {
    c = { byItem: new Map(), byFit: new Map(), byClass: new Map() };
    cache.set(m, c);
  }
  // A pod that fits the smallest of the matched types in every dimension fits them all: one
  // shared entry (most shapes), without building a key or a list.
  let small = c.small;
  if (!small) {
    const min: Free = {
      cpu: Number.POSITIVE_INFINITY,
      mem: Number.POSITIVE_INFINITY,
      eph: Number.POSITIVE_INFINITY,
      gpu: 0,
      pods: Number.POSITIVE_INFINITY,
      ports: null,
    };
    let plain = true;
    for (const t of m.types) {
      min.cpu = Math.min(min.cpu, t.free.cpu);
      min.mem = Math.min(min.mem, t.free.mem);
      min.eph = Math.min(min.eph, t.free.eph);
      min.pods = Math.min(min.pods, t.free.pods);
      if (t.spec.gpus || t.free.ports) plain = false;
    }
    small = plain
      ? {
          ...buildFitEntry(
            m,
            { ...item, cpuMilli: 0, memoryMiB: 0, ephemeralMiB: 0, gpus: 0, hostPorts: [] },
            typeCount,
            c.byFit,
          ),
          min,
        }
      : { fitting: [], launch: [], typesKey: '' };
    c.small = small;
  }
  const min = small.min;
  if (
    min &&
    item.hostPorts.length === 0 &&
    item.gpus === 0 &&
    item.cpuMilli <= min.cpu &&
    item.memoryMiB <= min.mem &&
    item.ephemeralMiB <= min.eph &&
    min.pods >= 1
  ) {
    return small;
  }
  if (
    item.hostPorts.length === 0 &&
    item.gpus === 0 &&
    item.ephemeralMiB === 0 &&
    item.cpuMilli > 0 &&
    item.memoryMiB > 0
  ) {
    // No string key per shape: a type holds one such pod iff it has a pod slot and at least the
    // requested CPU and memory, so the counts of smaller values name the set of types.
    c.cpus ??= distinctAscending(m.types.map((t) => t.free.cpu));
    c.mems ??= distinctAscending(m.types.map((t) => t.free.mem));
    const k = countBelow(c.cpus, item.cpuMilli) * (c.mems.length + 1) + countBelow(c.mems, item.memoryMiB);
    let e = c.byClass.get(k);
    if (!e) {
      e = buildFitEntry(m, item, typeCount, c.byFit);
      c.byClass.set(k, e);
    }
    return e;
  }
  const key = `${item.cpuMilli}|${item.memoryMiB}|${item.ephemeralMiB}|${item.gpus}|${item.hostPorts.join(',')}`;
  let e = c.byItem.get(key);
  if (!e) {
    e = buildFitEntry(m, item, typeCount, c.byFit);
    c.byItem.set(key, e);
  }
  return e;
}

function distinctAscending(values: readonly number[]): Float64Array {
  const sorted = Float64Array.from(values).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++)
    if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i] as number;
  return sorted.slice(0, n);
}

/** How many of the ascending `values` are below `x` (binary search). */
function countBelow(values: Float64Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((values[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Set bit `i` of a bit set kept in 32-bit words. */
function setBit(words: number[], i: number): void {
  words[i >> 5] = ((words[i >> 5] as number) | (1 << (i & 31))) >>> 0;
}

function buildFitEntry(
  m: { types: TypeInfo[]; zones: string[]; caps: CapacityType[] },
  item: PackItem,
  typeCount: number,
  byFit: Map<string, FitEntry>,
): FitEntry {
  // Which matched types hold one pod, as a bit set: lists are built once per distinct set, not
  // per distinct request (400 types × hundreds of request combinations).
  const fitWords = new Array<number>(Math.ceil(typeCount / 32)).fill(0);
  let plainFits = false;
  for (const t of m.types) {
    if (fitCount(t.free, item) === 0) continue;
    setBit(fitWords, t.idx);
    if (!t.spec.gpus) plainFits = true;
  }
  // Without GPUs requested, GPU types are left out unless nothing else fits (as Karpenter keeps them).
  const dropGpus = item.gpus === 0 && plainFits;
  const fitKey = `${fitWords.join('.')}${dropGpus ? '' : '|gpu'}`;
  const hit = byFit.get(fitKey);
  if (hit) return hit;
  const fitting = m.types.filter((t) => ((fitWords[t.idx >> 5] as number) >>> (t.idx & 31)) & 1);
  const launch = dropGpus ? fitting.filter((t) => !t.spec.gpus) : fitting;
  // Group key: which types it launches on, as a bit set (cheaper than joining 40 type names per shape).
  const words = new Array<number>(fitWords.length).fill(0);
  for (const t of launch) setBit(words, t.idx);
  const e = { fitting, launch, typesKey: `${words.join('.')}|${m.zones.join(',')}|${m.caps.join(',')}` };
  byFit.set(fitKey, e);
  return e;
}

const LARGE = Number.MAX_SAFE_INTEGER;
/** Types packed exactly per group (the best by lower-bound cost); the rest only when clamped. */
const EXACT_CANDIDATES = 6;
/** Fallback instance types listed per launch (after the chosen one). */
const MAX_FALLBACKS = 7;

/** Host ports of a shape as packing keys: `ports` (protocol, host IP) when sent, else the legacy TCP `hostPorts`. */
const NO_PORTS: readonly string[] = Object.freeze([]);

function shapePortKeys(s: PendingShape): readonly string[] {
  // Most shapes bind none: one shared empty list, not one per shape.
  if (s.ports ? s.ports.length === 0 : s.hostPorts.length === 0) return NO_PORTS;
  return s.ports ? s.ports.map(portKey) : s.hostPorts.map((port) => portKey({ port }));
}

function shapeRequests(s: PendingShape): string {
  const ports = s.ports ?? s.hostPorts.map((port) => ({ port, protocol: 'TCP', hostIP: '' }));
  const eph = s.ephemeralStorageMiB ? `, ${fmtMem(s.ephemeralStorageMiB)} ephemeral storage` : '';
  const ext = Object.entries(s.extendedResources ?? {})
    .map(([k, v]) => `, ${v} ${k}`)
    .join('');
  const hp = ports.length
    ? `, hostPort ${ports.map((p) => `${p.port}${p.protocol === 'TCP' ? '' : `/${p.protocol}`}${p.hostIP ? `@${p.hostIP}` : ''}`).join(', ')}`
    : '';
  return `${fmtCpu(s.cpuMilli)}, ${fmtMem(s.memoryMiB)}${eph}${ext}${hp}`;
}

/** `web-7f3a (250m CPU, 512 MiB; e.g. shop/web-5b7f9c6d48-p8x2n)` */
function shapeDescription(s: PendingShape): string {
  return `${s.id} (${shapeRequests(s)}${s.examplePods[0] ? `; e.g. ${s.examplePods[0]}` : ''})`;
}

/** `web-7f3a (e.g. shop/web-5b7f9c6d48-p8x2n)` */
function shapeName(s: PendingShape): string {
  return s.examplePods[0] ? `${s.id} (e.g. ${s.examplePods[0]})` : s.id;
}

/**
 * An ISO timestamp in ms since the epoch (compared as times: offsets may differ), parsed once
 * per distinct string: Date.parse is slow and 10,000 shapes repeat a few hundred timestamps.
 */
function parsedMs(memo: Map<string, number>, at: string): number {
  let ms = memo.get(at);
  if (ms === undefined) {
    ms = Date.parse(at);
    memo.set(at, ms);
  }
  return ms;
}

/** The zones new nodes can land in: the first availabilityZoneCount of the region, or any when subnets are given. */
export function candidateZones(ctx: PlanContext): string[] {
  const n = ctx.config.network.subnetIds ? 6 : ctx.config.network.availabilityZoneCount;
  return 'abcdef'
    .slice(0, n)
    .split('')
    .map((l) => `${ctx.config.cluster.region}${l}`);
}

/** The candidate offerings after the offering cache (lib/core/availability.ts), over the candidate zones. */
export function candidateAvailability(ctx: PlanContext): CandidateAvailability {
  return filterCandidateOfferings({
    instanceTypes: ctx.config.nodes.candidateTypes,
    capacityTypes: ctx.config.nodes.capacityTypes,
    zones: candidateZones(ctx),
    unavailable: [
      ...ctx.unavailableOfferings,
      ...backoffsAsOfferings(ctx.backoffs, ctx.config.nodes.candidateTypes, ctx.nowMs),
    ],
    nowMs: ctx.nowMs,
  });
}

function buildTypes(ctx: PlanContext, daemonSets: readonly DaemonSetOverhead[]): TypeInfo[] {
  const { config, catalog } = ctx;
  const availability = candidateAvailability(ctx);
  const out: TypeInfo[] = [];
  const seen = new Set<string>();
  for (const t of config.nodes.candidateTypes) {
    if (seen.has(t)) continue;
    seen.add(t);
    const spec = catalog.get(t);
    if (!spec) continue;
    const caps = availability.capacityTypes.get(t) ?? [];
    const prices = { spot: spec.spotHourlyUsd, 'on-demand': spec.onDemandHourlyUsd };
    const firstCap = (caps[0] ?? config.nodes.capacityTypes[0]) as CapacityType;
    const labels = memoCloudLabels(ctx, spec, '', firstCap);
    const room = newNodeCapacity(config, spec, labels, daemonSets);
    out.push({
      idx: 0,
      labels: new Map([[`|${firstCap}`, labels]]),
      spec,
      caps,
      price: prices[firstCap],
      worstPrice: worstCasePrice(prices, caps.length ? caps : config.nodes.capacityTypes),
      room,
      free: freeOf(room),
      available: caps.length > 0,
    });
  }
  out.sort((a, b) => (a.spec.instanceType < b.spec.instanceType ? -1 : 1));
  out.forEach((t, i) => {
    t.idx = i;
  });
  return out;
}

function consume(head: Headroom, t: TypeInfo, n: number): void {
  chargeNewNodes(head, t.spec, t.worstPrice, n);
}

/**
 * The launcher falls back along a launch's instance types on capacity errors without looking at
 * the limits, so a fallback is listed only if launching every one of the `count` nodes as that
 * type still fits the headroom left after the chosen type was charged; the headroom is then
 * charged for the worst listed fallback too. `candidates` must be in preference order; at most
 * `max` are kept. Without this a plan at the vCPU, memory or cost cap could list a bigger or
 * dearer fallback and break the cap (found by test/unit/core/properties.test.ts).
 */
function affordableFallbacks(
  head: Headroom,
  chosen: TypeInfo,
  count: number,
  candidates: readonly TypeInfo[],
  caps: readonly CapacityType[],
  max: number,
): TypeInfo[] {
  const kept: TypeInfo[] = [];
  let vcpu = 0;
  let mem = 0;
  let cost = 0;
  for (const o of candidates) {
    if (kept.length >= max) break;
    const price = worstCasePrice({ spot: o.spec.spotHourlyUsd, 'on-demand': o.spec.onDemandHourlyUsd }, caps);
    const dv = count * Math.max(0, o.spec.vcpu - chosen.spec.vcpu);
    const dm = count * Math.max(0, o.spec.memoryMiB - chosen.spec.memoryMiB);
    const dc = count * Math.max(0, price - chosen.worstPrice);
    if (dv > head.vcpu || dm > head.memoryMiB || dc > head.costUsd + 1e-9) continue;
    kept.push(o);
    vcpu = Math.max(vcpu, dv);
    mem = Math.max(mem, dm);
    cost = Math.max(cost, dc);
  }
  head.vcpu -= vcpu;
  head.memoryMiB -= mem;
  head.costUsd = Math.max(0, head.costUsd - cost);
  return kept;
}

function describeLimit(
  limit: 'nodes' | 'vcpu' | 'memory' | 'cost',
  ctx: PlanContext,
  names: HeadroomLimits,
): string {
  const l = ctx.config.limits;
  switch (limit) {
    case 'nodes':
      return names.nodesLabel;
    case 'vcpu':
      return `limits.maxVcpus=${l.maxVcpus}`;
    case 'memory':
      return `limits.maxMemoryMiB=${l.maxMemoryMiB}`;
    case 'cost':
      return `limits.maxHourlyCostUsd=${l.maxHourlyCostUsd} (counting launches at their dearest capacity type)`;
  }
}

function headroomLeft(limit: 'nodes' | 'vcpu' | 'memory' | 'cost', head: Headroom): string {
  switch (limit) {
    case 'nodes':
      return `${plural(head.nodes, 'node')} left`;
    case 'vcpu':
      return `${head.vcpu} vCPU left`;
    case 'memory':
      return `${fmtMem(head.memoryMiB)} left`;
    case 'cost':
      return `${fmtUsd(head.costUsd)} left`;
  }
}

/** Why no candidate type can ever run this shape (a machine-readable code and a sentence), or undefined if some type can. */
function unhelpableReason(
  ctx: PlanContext,
  s: ShapeInfo,
  allTypes: TypeInfo[],
  zones: string[],
): { code: string; text: string } | undefined {
  const shape = s.shape;
  if (shape.volumeIssue) {
    return { code: `volume:${shape.volumeIssue.code}`, text: shape.volumeIssue.message };
  }
  if (shape.usesLocalVolume) {
    return {
      code: 'local-volume',
      text: 'uses a node-local volume (e.g. a local PersistentVolume on an on-prem node); a new cloud node cannot mount it',
    };
  }
  const taint = untoleratedTaint(shape.tolerations, ctx.config.nodes.taints);
  if (taint) {
    return {
      code: 'cloud-taint',
      text: `does not tolerate taint ${fmtTaint(taint)} that every cloud node carries (nodes.taints); add a toleration if it may run in the cloud`,
    };
  }
  if (allTypes.length === 0)
    return { code: 'no-candidate-types', text: 'no candidate instance type is in the catalog' };
  const other = otherExtended(shape);
  if (other.length > 0) {
    return {
      code: 'extended-resource',
      text: `requests extended resource ${other.map(([k, v]) => `${k}=${v}`).join(', ')}, which no candidate type offers (the catalog knows ${GPU_RESOURCE} only)`,
    };
  }
  if (s.types.length === 0) {
    const hostname = shape.nodeSelector[Labels.hostname];
    if (hostname !== undefined) {
      return {
        code: 'pinned-to-node',
        text: `is pinned to node ${hostname} by nodeSelector ${Labels.hostname}=${hostname}; a new cloud node can never be that node`,
      };
    }
    const first = allTypes[0] as TypeInfo;
    const reason =
      labelMismatch(
        shape,
        cloudNodeLabels(ctx.config, first.spec, zones[0] ?? '', first.caps[0] ?? 'on-demand'),
      ) ?? 'its node selectors match none of the cloud zones or capacity types';
    const arches = [...new Set(allTypes.map((t) => t.spec.arch))].sort().join('/');
    const where = constrainsAnyKey(shape, ZONE_KEYS) ? ` in ${zones.join(', ')}` : '';
    return {
      code: 'no-matching-type',
      text: `matches no candidate type (${allTypes.length} ${arches} types${where}): ${reason}`,
    };
  }
  const fits = s.fit?.fitting ?? s.types.filter((t) => fitCount(t.free, s.item) > 0);
  if (fits.length === 0) {
    if (s.item.gpus > 0 && !s.types.some((t) => (t.room.gpus ?? 0) >= s.item.gpus)) {
      return {
        code: 'no-gpu-type',
        text: `requests ${s.item.gpus} ${GPU_RESOURCE} per pod, more than any matching candidate type has; add a GPU type with "gpus" to config.catalog and nodes.candidateTypes`,
      };
    }
    const maxEph = Math.max(...s.types.map((t) => t.room.ephemeralMiB ?? Number.POSITIVE_INFINITY));
    if (s.item.ephemeralMiB > maxEph) {
      return {
        code: 'ephemeral-storage',
        text: `requests ${fmtMem(s.item.ephemeralMiB)} of ephemeral storage per pod; the largest root volume a launch may get, ${maxRootVolumeGiB(ctx.config)} GiB (nodes.maxRootVolumeGiB), offers ${fmtMem(maxEph)} after the file system, the kubelet's reserve and DaemonSets; raise nodes.maxRootVolumeGiB`,
      };
    }
    const clash = s.item.hostPorts.find((p) => s.types.every((t) => portClashes(t.free.ports, p)));
    if (clash) {
      return {
        code: 'host-port-taken',
        text: `binds host port ${clash.replace(/\/$/, '')}, which a DaemonSet already binds on every new node`,
      };
    }
    const maxCpu = s.types.reduce((a, t) => (t.room.cpuMilli > a.room.cpuMilli ? t : a));
    const maxMem = s.types.reduce((a, t) => (t.room.memoryMiB > a.room.memoryMiB ? t : a));
    return {
      code: 'too-large',
      text: `requests ${shapeRequests(shape)} per pod, more than any matching candidate type offers after system-reserved and DaemonSets (most CPU: ${maxCpu.spec.instanceType} with ${fmtCpu(maxCpu.room.cpuMilli)}; most memory: ${maxMem.spec.instanceType} with ${fmtMem(maxMem.room.memoryMiB)}); add a larger type to nodes.candidateTypes`,
    };
  }
  return undefined;
}

function constraintsKey(s: PendingShape): string {
  // Most shapes constrain nothing or little: skip JSON for the common empty case.
  if (s.requiredAffinity.length === 0) {
    const keys = Object.keys(s.nodeSelector);
    if (keys.length === 0) return '';
    if (keys.length > 1) keys.sort();
    let key = '';
    for (const k of keys) key += `${k}=${s.nodeSelector[k]}\n`;
    return key;
  }
  const sel = Object.keys(s.nodeSelector)
    .sort()
    .map((k) => [k, s.nodeSelector[k]]);
  return JSON.stringify([sel, s.requiredAffinity]);
}

/** Label-match a shape against every type (per zone / capacity type when it constrains them). Cached by constraints (`key`: {@link constraintsKey}). */
function matchTypes(
  ctx: PlanContext,
  shape: PendingShape,
  key: string,
  types: TypeInfo[],
  zones: string[],
  cache: Map<string, { types: TypeInfo[]; zones: string[]; caps: CapacityType[] }>,
): { types: TypeInfo[]; zones: string[]; caps: CapacityType[] } {
  const hit = cache.get(key);
  if (hit) return hit;
  const zoneRelevant = constrainsAnyKey(shape, ZONE_KEYS);
  const capRelevant = constrainsAnyKey(shape, [Labels.capacityType]);
  const zonesToTry = zoneRelevant ? zones : [''];
  const matched: TypeInfo[] = [];
  const zoneSet = new Set<string>();
  const capSet = new Set<CapacityType>();
  for (const t of types) {
    const capsToTry: CapacityType[] = capRelevant
      ? ctx.config.nodes.capacityTypes
      : [(t.caps[0] ?? ctx.config.nodes.capacityTypes[0]) as CapacityType];
    let any = false;
    for (const z of zonesToTry) {
      for (const c of capsToTry) {
        if (labelMismatch(shape, labelsOf(ctx, t, z, c)) !== undefined) continue;
        any = true;
        if (zoneRelevant) zoneSet.add(z);
        if (capRelevant) capSet.add(c);
      }
    }
    if (any) matched.push(t);
  }
  const result = {
    types: matched,
    zones: zoneRelevant ? [...zoneSet].sort() : [],
    caps: capRelevant
      ? ctx.config.nodes.capacityTypes.filter((c) => capSet.has(c))
      : [...ctx.config.nodes.capacityTypes],
  };
  cache.set(key, result);
  return result;
}

/**
 * Capacity on its way: decided launches EC2 does not list yet, and instances whose node has not
 * become Ready (a Ready node's free room is existing capacity, see existingBins). Each counts
 * as a fresh node of its type. Cloud taints are checked by the caller (taints: null).
 */
/** A bin with the room of a new cloud node of `type` (in-flight capacity, an unreachable node's). */
function cloudBin(
  ctx: PlanContext,
  b: PlanBuilder,
  daemonSets: readonly DaemonSetOverhead[],
  bins: RoomBin[],
): (label: string, target: string, type: string, zone: string, cap: CapacityType) => void {
  return (label, target, type, zone, cap) => {
    const spec = ctx.catalog.get(type);
    if (!spec) {
      b.explain(
        'scale-out',
        `in-flight ${label} has instance type ${type}, which the catalog does not know: its capacity is not counted for pending pods`,
      );
      return;
    }
    const labels = cloudNodeLabels(ctx.config, spec, zone, cap);
    const room = newNodeCapacity(ctx.config, spec, labels, daemonSets);
    bins.push({ label, target, labels, taints: null, spec, ...freeOf(room), portsKnown: true, extended: {} });
  };
}

/** Whether a NotReady node is still joining (counted as in-flight capacity, not as a repair case). */
function stillJoining(ctx: PlanContext, node: SnapshotNode): boolean {
  return (ctx.nowMs - Date.parse(node.createdAt)) / 1000 <= ctx.config.repairs.unhealthyAfterSeconds;
}

function inFlightBins(ctx: PlanContext, b: PlanBuilder, daemonSets: readonly DaemonSetOverhead[]): RoomBin[] {
  const bins: RoomBin[] = [];
  const add = cloudBin(ctx, b, daemonSets, bins);
  for (const u of ctx.unmatchedInFlight) {
    for (let i = 0; i < u.count; i++)
      add(`launch ${u.entry.launchId}`, u.entry.launchId, u.entry.instanceType, '', u.entry.capacityType);
  }
  for (const inst of ctx.liveInstances) {
    if (inst.state !== 'pending' && inst.state !== 'running') continue;
    if (b.isRemoving(inst.instanceId) || ctx.drains.some((d) => d.instanceId === inst.instanceId)) continue;
    const node = nodeOfInstance(ctx, inst);
    // A Ready node is existing capacity (or excluded from it: cordoned, being deleted).
    if (node?.ready) continue;
    // A node that registered but has been NotReady for long is a repair case (in an outage: outageBins).
    if (node && !stillJoining(ctx, node)) continue;
    add(`instance ${inst.instanceId}`, inst.instanceId, inst.instanceType, inst.zone, inst.capacityType);
  }
  return bins;
}

/**
 * The NotReady managed nodes of an outage as room: each counts as the room of a new node of its
 * type (its pods have been evicted or will run there again when it returns). Nodes still joining
 * are in-flight capacity already; nodes being drained or terminated are not counted.
 */
function outageBins(
  ctx: PlanContext,
  b: PlanBuilder,
  daemonSets: readonly DaemonSetOverhead[],
  outage: Outage,
): RoomBin[] {
  const bins: RoomBin[] = [];
  const add = cloudBin(ctx, b, daemonSets, bins);
  for (const node of outage.notReady) {
    const id = instanceIdOfNode(node);
    const inst = id ? ctx.instancesById.get(id) : undefined;
    if (!inst || stillJoining(ctx, node)) continue;
    if (b.isRemoving(inst.instanceId) || ctx.drains.some((d) => d.instanceId === inst.instanceId)) continue;
    add(`NotReady node ${node.name}`, node.name, inst.instanceType, inst.zone, inst.capacityType);
  }
  return bins;
}

/** Helpable pods onto the room of an outage's NotReady nodes: answered, never launched for. */
function placeOnOutage(
  ctx: PlanContext,
  b: PlanBuilder,
  helpable: ShapeInfo[],
  bins: RoomBin[],
  outage: Outage,
  outcome: ScaleOutOutcome,
): void {
  if (bins.length === 0) return;
  const placement = placeOnRoom(helpable, bins);
  const why = `${outage.notReady.length} of ${outage.total} managed nodes are NotReady at once, more than repairs.maxUnhealthyFraction=${ctx.config.repairs.maxUnhealthyFraction}: an outage of Tailscale or the home internet is assumed, and a node launched beside the unreachable ones could not join through it`;
  let covered = 0;
  const used = new Set<string>();
  helpable.forEach((s, i) => {
    const p = placement[i] as Placement;
    if (p.size === 0) return;
    let n = 0;
    for (const [t, k] of p) {
      n += k;
      used.add(t);
      outcome.awaitedNodes.set(t, (outcome.awaitedNodes.get(t) ?? 0) + k);
    }
    covered += n;
    const targets = topTargets(p);
    b.podAnswers.push(
      answer(
        s,
        'fits-in-flight',
        n,
        `outage:${targets[0]}`,
        `counted on NotReady node${targets.length > 1 ? 's' : ''} ${fmtTargets(targets)}, which come${targets.length > 1 ? '' : 's'} back when the outage ends: ${why}; nothing is launched`,
        { targets },
      ),
    );
  });
  outcome.coveredByInFlight += covered;
  if (covered > 0) {
    b.explain(
      'scale-out',
      `${plural(covered, 'pending pod')} are counted on the capacity of NotReady nodes (${fmtTargets([...used].sort())}) rather than launched for: ${why}`,
      'outage',
    );
  }
}

/** The shape ids of a launch's parts, sorted, each once (by rank: no string comparisons). */
function idsInOrder(parts: readonly Part[], idOfRank: readonly string[]): string[] {
  const ranks = new Int32Array(parts.length);
  for (let i = 0; i < parts.length; i++) ranks[i] = (parts[i] as Part).info.rank;
  ranks.sort();
  const out: string[] = [];
  let last = -1;
  for (const r of ranks) {
    if (r === last) continue;
    last = r;
    out.push(idOfRank[r] as string);
  }
  return out;
}

/** Most pods first, then by shape id (by rank; equal ids compare as 1, as the string comparison did). */
function byPodsThenId(a: Part, b: Part): number {
  return b.pods - a.pods || (a.info.rank === b.info.rank ? 1 : a.info.rank - b.info.rank);
}

/**
 * The first `k` parts in {@link byPodsThenId} order, without sorting all of them (a launch can
 * carry thousands of shapes; its reason names three). With two parts of one id (zone pieces)
 * the order is not total, so the parts are sorted as before.
 */
function firstParts(parts: readonly Part[], k: number, duplicateIds: boolean): Part[] {
  if (duplicateIds) return [...parts].sort(byPodsThenId).slice(0, k);
  const top: Part[] = [];
  for (const p of parts) {
    let j = top.length;
    while (j > 0 && byPodsThenId(p, top[j - 1] as Part) < 0) j--;
    if (j >= k) continue;
    top.splice(j, 0, p);
    if (top.length > k) top.pop();
  }
  return top;
}

function launchReason(
  t: TypeInfo,
  caps: CapacityType[],
  count: number,
  parts: readonly Part[],
  ctx: PlanContext,
  runnerUp: { type: string; perPod: number } | undefined,
  duplicateIds: boolean,
): string {
  let pods = 0;
  // The oldest pending pod (the first of equal ones), by the parsed times.
  let oldest = parts[0]?.info;
  for (const p of parts) {
    pods += p.pods;
    if (p.info.pendingSinceMs < (oldest as ShapeInfo).pendingSinceMs) oldest = p.info;
  }
  const head = firstParts(parts, 3, duplicateIds)
    .map((p) => `${p.pods}× ${shapeDescription(p.info.shape)}`)
    .join(', ');
  const more = parts.length > 3 ? ` and ${parts.length - 3} more shapes` : '';
  const what =
    parts.length === 1
      ? `${plural(pods, 'pod')} of shape ${shapeDescription(parts[0]?.info.shape as PendingShape)}`
      : `${plural(pods, 'pod')} in ${parts.length} shapes: ${head}${more}`;
  const perPod = (count * t.price) / Math.max(1, pods);
  const cmp = runnerUp
    ? `; ${fmtUsd(perPod)} per pod vs ${fmtUsd(runnerUp.perPod)} with ${runnerUp.type}`
    : `; ${fmtUsd(perPod)} per pod`;
  return `launch ${count}× ${t.spec.instanceType} (${caps[0]}, ${fmtUsd(t.price)} each) for ${what}, pending since ${fmtTime(oldest?.shape.oldestPendingSince ?? '', ctx.now)}${cmp}`;
}

interface GroupChoice {
  type: TypeInfo;
  bins: number;
  covered: number[];
  coveredTotal: number;
  maxUsed: NodeRoom;
  limit?: { n: number; limit: 'nodes' | 'vcpu' | 'memory' | 'cost'; needed: number };
  runnerUp?: { type: string; perPod: number };
}

/** Choose a type for a group of shapes that all fit every type in `types`: cheapest total, or most pods when clamped. */
function chooseType(items: PackItem[], types: TypeInfo[], head: Headroom): GroupChoice | undefined {
  if (types.length === 0) return undefined;
  const ranked = types
    .map((t) => ({ t, lb: binsLowerBound(items, t.room) }))
    .sort(
      (a, b) =>
        a.lb * a.t.price - b.lb * b.t.price ||
        a.t.price - b.t.price ||
        (a.t.spec.instanceType < b.t.spec.instanceType ? -1 : 1),
    );
  const exact = ranked.slice(0, EXACT_CANDIDATES).map(({ t }) => ({
    t,
    r: packFresh(items, t.room, LARGE),
    cap: maxNewNodes(head, t.spec, t.worstPrice),
  }));
  // Cheapest total first; on a tie fewer nodes (fewer slots under maxNodes, less DaemonSet overhead).
  exact.sort(
    (a, b) =>
      a.r.bins * a.t.price - b.r.bins * b.t.price ||
      a.r.bins - b.r.bins ||
      a.t.price - b.t.price ||
      (a.t.spec.instanceType < b.t.spec.instanceType ? -1 : 1),
  );
  const pods = items.reduce((a, i) => a + i.count, 0);
  const fitting = exact.filter((e) => e.r.bins <= e.cap.n);
  if (fitting.length > 0) {
    const best = fitting[0] as (typeof fitting)[number];
    const second = fitting[1];
    return {
      type: best.t,
      bins: best.r.bins,
      covered: best.r.covered,
      coveredTotal: best.r.coveredTotal,
      maxUsed: best.r.maxUsed,
      ...(second
        ? { runnerUp: { type: second.t.spec.instanceType, perPod: (second.r.bins * second.t.price) / pods } }
        : {}),
    };
  }
  // Clamped: no type covers everything within the limits. Cover as many pods as possible,
  // trying every type (the best one under a node cap is usually the largest, which the
  // cost ranking put last).
  let best: GroupChoice | undefined;
  for (const t of types) {
    const cap = maxNewNodes(head, t.spec, t.worstPrice);
    if (cap.n === 0) {
      if (!best) {
        const needed = packFresh(items, t.room, LARGE).bins;
        best = {
          type: t,
          bins: 0,
          covered: items.map(() => 0),
          coveredTotal: 0,
          maxUsed: { cpuMilli: 0, memoryMiB: 0, pods: 0 },
          limit: { ...cap, needed },
        };
      }
      continue;
    }
    const r = packFresh(items, t.room, cap.n);
    const better =
      !best ||
      r.coveredTotal > best.coveredTotal ||
      (r.coveredTotal === best.coveredTotal && r.bins * t.price < best.bins * best.type.price);
    if (better) {
      const needed = packFresh(items, t.room, LARGE).bins;
      best = {
        type: t,
        bins: r.bins,
        covered: r.covered,
        coveredTotal: r.coveredTotal,
        maxUsed: r.maxUsed,
        limit: { ...cap, needed },
      };
    }
  }
  return best;
}

/** Scale-out result, for the caller's bookkeeping. */
export interface ScaleOutOutcome {
  helpablePods: number;
  coveredByExisting: number;
  coveredByInFlight: number;
  coveredByLaunches: number;
  /** Existing nodes pending pods are expected to land on, with how many: scale-in must keep them. */
  awaitedNodes: Map<string, number>;
}

/** `pi-node-2, burst-i-… and 3 more` */
function fmtTargets(targets: readonly string[]): string {
  return `${targets.slice(0, 4).join(', ')}${targets.length > 4 ? ` and ${targets.length - 4} more` : ''}`;
}

/** Targets of a placement, most pods first (ties by name), at most 8 (the answer's limit). */
function topTargets(p: Placement): string[] {
  return [...p.entries()]
    .sort((a, c) => c[1] - a[1] || (a[0] < c[0] ? -1 : 1))
    .slice(0, 8)
    .map(([t]) => t);
}

function answer(
  s: ShapeInfo,
  kind: PodAnswer['kind'],
  count: number,
  code: string,
  message: string,
  extra: Partial<Pick<PodAnswer, 'limit' | 'targets'>> = {},
): PodAnswer {
  const text = s.note ? `${message} (${s.note})` : message;
  const targets = extra.targets ?? [];
  // Two literals, not a spread of an optional field: 10,000 answers per plan.
  return extra.limit
    ? {
        shapeId: s.shape.id,
        kind,
        count,
        code,
        message: text,
        targets,
        limit: extra.limit,
        examplePods: s.shape.examplePods,
      }
    : { shapeId: s.shape.id, kind, count, code, message: text, targets, examplePods: s.shape.examplePods };
}

/**
 * Scale-out (docs/architecture.md): pending shapes first onto the free room of existing Ready nodes (the
 * scheduler places them there on its next retry), then onto in-flight capacity, then onto new
 * nodes. New nodes: every shape that may share a node (same zones and capacity types, some type
 * allowed for all) is packed together by lib/core/mixed-packing.ts, each node launched as the
 * cheapest type that holds it; when that plan does not fit the limits, shapes are grouped by
 * the types, zones and capacity types they allow and each group gets the type that covers the
 * most pods within them. Every pending pod gets an answer in `b.podAnswers`.
 */
export function planScaleOut(
  ctx: PlanContext,
  b: PlanBuilder,
  head: Headroom,
  names: HeadroomLimits,
): ScaleOutOutcome {
  const replacements = replacementShapes(ctx, b);
  const outcome = planWithWarmPool(ctx, b, head, names, replacements);
  if (replacements.length > 0) {
    // The interrupted nodes' pods are not pending (yet): no answer, no unhelpable entry for them
    // (the explanations still say what was planned for them).
    const synthetic = (id: string) => id.startsWith(REPLACEMENT_SHAPE_PREFIX);
    const keep = <T>(list: T[], drop: (x: T) => boolean) => {
      const kept = list.filter((x) => !drop(x));
      list.splice(0, list.length, ...kept);
    };
    keep(b.podAnswers, (a) => synthetic(a.shapeId));
    keep(b.unhelpable, (u) => synthetic(u.shapeId));
  }
  return outcome;
}

/**
 * Scale-out with stopped warm-pool members as the first room for new pods. Starting members
 * takes limits (a node, its vCPU, memory and price each) that bigger new nodes might use better:
 * when the plan with starts leaves helpable pods without capacity, the plan without them is
 * made too, and the one that covers more pods wins (ties: the starts, they are faster).
 */
function planWithWarmPool(
  ctx: PlanContext,
  b: PlanBuilder,
  head: Headroom,
  names: HeadroomLimits,
  replacements: readonly PendingShape[],
): ScaleOutOutcome {
  const members = startableMembers(ctx, b);
  if (members.length === 0) return planShapes(ctx, b, head, names, replacements, []);
  const mark = {
    launches: b.launches.length,
    podAnswers: b.podAnswers.length,
    explanations: b.explanations.length,
    unhelpable: b.unhelpable.length,
    head: { ...head },
  };
  const covered = (o: ScaleOutOutcome) => o.coveredByExisting + o.coveredByInFlight + o.coveredByLaunches;
  const withPool = planShapes(ctx, b, head, names, replacements, members);
  const started = b.launches.slice(mark.launches).some((l) => l.warmStarts !== undefined);
  if (!started || covered(withPool) >= withPool.helpablePods) return withPool;
  const kept = {
    launches: b.launches.splice(mark.launches),
    podAnswers: b.podAnswers.splice(mark.podAnswers),
    explanations: b.explanations.splice(mark.explanations),
    unhelpable: b.unhelpable.splice(mark.unhelpable),
    head: { ...head },
  };
  Object.assign(head, mark.head);
  const without = planShapes(ctx, b, head, names, replacements, []);
  if (covered(without) > covered(withPool)) {
    b.explain(
      'warm-pool',
      `stopped warm-pool members are not started for these pods: starting them would leave ${plural(withPool.helpablePods - covered(withPool), 'pod')} without capacity under the limits, launching covers ${plural(covered(without) - covered(withPool), 'more pod')}`,
      'warm-pool',
    );
    return without;
  }
  b.launches.splice(mark.launches);
  b.podAnswers.splice(mark.podAnswers);
  b.explanations.splice(mark.explanations);
  b.unhelpable.splice(mark.unhelpable);
  b.launches.push(...kept.launches);
  b.podAnswers.push(...kept.podAnswers);
  b.explanations.push(...kept.explanations);
  b.unhelpable.push(...kept.unhelpable);
  Object.assign(head, kept.head);
  return withPool;
}

/** Shape-id prefix of the workload of an interrupted node, planned before its eviction. */
export const REPLACEMENT_SHAPE_PREFIX = 'replace:';

/**
 * One writer of capacity (I11): a node drained for a spot interruption (`replace` on its drain
 * record, written by the interruption function, which launches nothing) has its workload pods
 * planned here as if pending, so reconcile launches their room under its lease before they are
 * evicted. Once evicted they are pending for real and the launch counts as in-flight room for
 * them (the node's workload shrinks as they go). Fresh snapshots only; the pods are assumed to
 * tolerate the cloud taints and need the node's architecture, as they ran there.
 */
function replacementShapes(ctx: PlanContext, b: PlanBuilder): PendingShape[] {
  if (ctx.agentStale) return [];
  const out: PendingShape[] = [];
  const tolerations = ctx.config.nodes.taints.map((t) => ({
    key: t.key,
    operator: 'Equal' as const,
    ...(t.value !== undefined ? { value: t.value } : {}),
    effect: t.effect,
  }));
  for (const d of ctx.drains) {
    if (!d.replace) continue;
    const node = ctx.nodesByName.get(d.nodeName);
    if (!node?.managed || node.workloadPods.length === 0) continue;
    node.workloadPods.forEach((g, i) => {
      out.push({
        id: `${REPLACEMENT_SHAPE_PREFIX}${d.nodeName}:${i}`,
        cpuMilli: g.cpuMilli,
        memoryMiB: g.memoryMiB,
        nodeSelector: node.arch ? { [Labels.arch]: node.arch } : {},
        requiredAffinity: [],
        tolerations,
        usesLocalVolume: false,
        hostPorts: [],
        count: g.count,
        oldestPendingSince: d.requestedAt,
        examplePods: [],
      });
    });
    const pods = node.workloadPods.reduce((a, g) => a + g.count, 0);
    b.explain(
      'scale-out',
      `${d.nodeName} is being drained for an interruption ("${d.reason}"): room for its ${plural(pods, 'workload pod')} is planned before they are evicted (reconcile decides the replacement, under its lease)`,
      'interruption',
    );
  }
  return out;
}

function planShapes(
  ctx: PlanContext,
  b: PlanBuilder,
  head: Headroom,
  names: HeadroomLimits,
  replacements: readonly PendingShape[],
  /** Stopped warm-pool members to pack onto first ({@link startableMembers}); empty = none. */
  members: readonly ManagedInstance[],
): ScaleOutOutcome {
  const snapshot = ctx.snapshot;
  const outcome: ScaleOutOutcome = {
    helpablePods: 0,
    coveredByExisting: 0,
    coveredByInFlight: 0,
    coveredByLaunches: 0,
    awaitedNodes: new Map(),
  };
  if (!snapshot) return outcome;
  const daemonSets = [...snapshot.daemonSets].sort((a, b2) => (a.name < b2.name ? -1 : 1));
  const types = buildTypes(ctx, daemonSets);
  const zones = candidateZones(ctx);
  const cache = new Map<string, { types: TypeInfo[]; zones: string[]; caps: CapacityType[] }>();
  const terms = planPodTerms(
    [...snapshot.pendingShapes].sort((a, b2) => (a.id < b2.id ? -1 : a.id > b2.id ? 1 : 0)),
    snapshot.nodes,
    zones,
    snapshot.podIndexDropped,
  );
  for (const e of terms.explanations) b.explain('scale-out', e, 'pod-terms');
  const shapes = [...terms.shapes, ...replacements].sort((a, b2) =>
    a.id < b2.id ? -1 : a.id > b2.id ? 1 : 0,
  );

  const infos: ShapeInfo[] = [];
  const fitCache = new Map<object, FitCache>();
  const cutoff = ctx.config.scaleOut.expendablePriorityCutoff;
  const expendable: PendingShape[] = [];
  const parsed = new Map<string, number>(); // many shapes share a timestamp; Date.parse is slow
  let launched: LaunchedFor | undefined;
  let lastId: string | undefined;
  const idOfRank: string[] = []; // shape ids in id order, each once
  for (const shape of shapes) {
    if ((shape.priority ?? 0) < cutoff) {
      expendable.push(shape);
      b.podAnswers.push({
        shapeId: shape.id,
        kind: 'expendable',
        count: shape.count,
        code: `priority:${shape.priority}`,
        message: `priority ${shape.priority} is below scaleOut.expendablePriorityCutoff=${cutoff}: expendable pods never trigger scale-out`,
        targets: [],
        examplePods: shape.examplePods,
      });
      continue;
    }
    const ck = constraintsKey(shape);
    const m =
      shape.usesLocalVolume || shape.volumeIssue
        ? { types: [], zones: [], caps: [] }
        : matchTypes(ctx, shape, ck, types, zones, cache);
    const item: PackItem = {
      cpuMilli: shape.cpuMilli,
      memoryMiB: shape.memoryMiB,
      ephemeralMiB: shape.ephemeralStorageMiB ?? 0,
      gpus: shape.extendedResources?.[GPU_RESOURCE] ?? 0,
      hostPorts: terms.keys.has(shape)
        ? [...shapePortKeys(shape), ...(terms.keys.get(shape) as string[])]
        : shapePortKeys(shape),
      count: shape.count,
    };
    const info: ShapeInfo = {
      shape,
      item,
      size: shape.cpuMilli / 1000 + shape.memoryMiB / 4096,
      types: m.types,
      zones: m.zones,
      caps: m.caps,
      remaining: shape.count,
      typesKey: '',
      constraintsKey: ck,
      other: otherExtended(shape),
      fit: fitEntryOf(fitCache, m, item, types.length),
      rank: lastId === shape.id ? idOfRank.length - 1 : idOfRank.push(shape.id) - 1,
      pendingSinceMs: parsedMs(parsed, shape.oldestPendingSince),
      helpable: false,
      launched:
        launched && lastId === shape.id ? launched : { pods: 0, launches: [], seenBy: -1, answered: false },
    };
    launched = info.launched;
    lastId = shape.id;
    const note = terms.notes.get(shape);
    if (note) info.note = note;
    const reason = terms.existingOnly.get(shape) ?? unhelpableReason(ctx, info, types, zones);
    if (reason) info.unhelpable = reason;
    infos.push(info);
  }
  if (expendable.length > 0) {
    const pods = expendable.reduce((a, s) => a + s.count, 0);
    b.explain(
      'scale-out',
      `${plural(pods, 'pending pod')} in ${plural(expendable.length, 'shape')} (${expendable
        .slice(0, 3)
        .map(shapeName)
        .join(
          ', ',
        )}) ${pods === 1 ? 'has' : 'have'} a priority below scaleOut.expendablePriorityCutoff=${cutoff}: expendable, they never trigger scale-out`,
      'expendable',
    );
  }
  // Id order (as `shapes`) kept for the answers; first-fit-decreasing order: largest first, id for determinism.
  const inIdOrder = infos.slice();
  // Ties by id through the ranks (equal ids compare as 1, as a string comparison did).
  infos.sort((a, c) => c.size - a.size || (a.rank === c.rank ? 1 : a.rank - c.rank));

  // 1. The free room of existing Ready nodes, for every shape (a pod no cloud node can run may
  // still fit on a Pi). Pods pending for longer than existingRoomTrustSeconds are not trusted to
  // it: the scheduler has retried them since and still found no node, so our model is missing
  // something (a constraint we do not see) and capacity is launched instead.
  const trustS = ctx.config.scaleOut.existingRoomTrustSeconds;
  const pendingForS = (s: ShapeInfo) => (ctx.nowMs - s.pendingSinceMs) / 1000;
  const existing = existingBins(ctx, (id) => b.isRemoving(id));
  // Nodes running pods a hostname anti-affinity / spread selector matches: its key is taken there.
  for (const bin of existing) {
    const keys = terms.allNodeKeys.length > 0 ? terms.allNodeKeys : terms.nodeKeys.get(bin.target);
    if (keys && keys.length > 0) bin.ports = addPorts(bin.ports, keys);
  }
  // A pod whose claim keeps it pending (volumeIssue) fits nowhere until the claim is fixed.
  const onExisting = placeOnRoom(infos, existing, (s) => pendingForS(s) <= trustS && !s.shape.volumeIssue);
  const distrusted = infos.filter(
    (s, i) =>
      (onExisting[i] as Placement).size === 0 &&
      s.remaining > 0 &&
      pendingForS(s) > trustS &&
      !s.shape.volumeIssue &&
      fitsAnyRoom(s, existing),
  );
  if (distrusted.length > 0) {
    const pods = distrusted.reduce((a, s) => a + s.remaining, 0);
    b.explain(
      'scale-out',
      `${plural(pods, 'pod')} in ${plural(distrusted.length, 'shape')} (${distrusted
        .slice(0, 3)
        .map((s) => shapeName(s.shape))
        .join(
          ', ',
        )}) would fit on the free room of an existing node, but ${distrusted.length === 1 ? 'has' : 'have'} been pending for more than existingRoomTrustSeconds=${trustS}: the scheduler keeps refusing that room for a reason the snapshot does not show, so they are planned as if it were not there`,
      'existing',
    );
  }
  const usedExisting = new Set<string>();
  infos.forEach((s, i) => {
    const p = onExisting[i] as Placement;
    if (p.size === 0) return;
    let n = 0;
    for (const [t, k] of p) {
      n += k;
      usedExisting.add(t);
      outcome.awaitedNodes.set(t, (outcome.awaitedNodes.get(t) ?? 0) + k);
    }
    outcome.coveredByExisting += n;
    const targets = topTargets(p);
    b.podAnswers.push(
      answer(
        s,
        'fits-on-existing',
        n,
        `node:${targets[0]}`,
        `fits on the free room of existing node${targets.length > 1 ? 's' : ''} ${fmtTargets(targets)}; the scheduler places ${n === 1 ? 'it' : 'them'} on its next retry, nothing is launched`,
        { targets },
      ),
    );
  });
  if (outcome.coveredByExisting > 0) {
    b.explain(
      'scale-out',
      `${plural(outcome.coveredByExisting, 'pending pod')} fit on the free room of existing Ready nodes (${fmtTargets([...usedExisting].sort())}): the scheduler places them on its next retry, nothing is launched for them`,
      'existing',
    );
  }

  // Pods the inter-pod rules answered (unsupported term, no zone left, waiting for the pods they follow).
  const unhelpable: UnhelpableShape[] = [];
  for (const a of terms.answers) {
    unhelpable.push({
      shapeId: a.shape.id,
      count: a.count,
      reason: a.text,
      examplePods: a.shape.examplePods,
    });
    b.podAnswers.push({
      shapeId: a.shape.id,
      kind: 'unhelpable',
      count: a.count,
      code: a.code,
      message: a.text,
      targets: [],
      examplePods: a.shape.examplePods,
    });
    b.explain(
      'unhelpable',
      `${plural(a.count, 'pod')} of shape ${shapeName(a.shape)}: ${a.text}`,
      a.shape.id,
    );
  }
  // Whatever is left of a shape no cloud node can run is unhelpable.
  let helpableShapes = 0;
  for (const info of inIdOrder) {
    if (info.remaining === 0) continue;
    const shape = info.shape;
    if (info.unhelpable) {
      const reason = info.unhelpable.text;
      unhelpable.push({ shapeId: shape.id, count: info.remaining, reason, examplePods: shape.examplePods });
      b.podAnswers.push(answer(info, 'unhelpable', info.remaining, info.unhelpable.code, reason));
      b.explain(
        'unhelpable',
        `${plural(info.remaining, 'pod')} of shape ${shapeName(shape)} cannot be helped by a cloud node: ${reason}`,
        shape.id,
      );
      continue;
    }
    const fit = info.fit as FitEntry;
    info.types = fit.launch;
    info.typesKey = fit.typesKey;
    info.helpable = true;
    helpableShapes++;
    outcome.helpablePods += info.remaining;
  }
  // One entry per shape (zone pieces and answered pods of one shape share its id).
  const byId = new Map<string, UnhelpableShape>();
  for (const u of unhelpable) {
    const prev = byId.get(u.shapeId);
    if (prev) prev.count += u.count;
    else byId.set(u.shapeId, { ...u });
  }
  b.unhelpable.push(...byId.values());
  if (helpableShapes === 0) return outcome;
  // Largest first, as `infos` already is (no second sort of up to 10,000 shapes).
  const helpable = infos.filter((s) => s.helpable);

  // 2. Meltdown protection (an outage, lib/core/repairs.ts): NotReady managed nodes keep
  // counting as capacity, so nothing is launched beside an unreachable fleet.
  const outage = outageOf(ctx);
  if (outage) placeOnOutage(ctx, b, helpable, outageBins(ctx, b, daemonSets, outage), outage, outcome);

  // 3. In-flight capacity (every helpable shape tolerates the cloud taints).
  const bins = inFlightBins(ctx, b, daemonSets);
  if (bins.length > 0) {
    const onInFlight = placeOnRoom(helpable, bins);
    const used = new Set<string>();
    const labelOf = new Map(bins.map((x) => [x.target, x.label]));
    helpable.forEach((s, i) => {
      const p = onInFlight[i] as Placement;
      if (p.size === 0) return;
      let n = 0;
      for (const [t, k] of p) {
        n += k;
        used.add(labelOf.get(t) ?? t);
      }
      outcome.coveredByInFlight += n;
      const targets = topTargets(p);
      b.podAnswers.push(
        answer(
          s,
          'fits-in-flight',
          n,
          `in-flight:${targets[0]}`,
          `fits on capacity already on its way (${fmtTargets(targets)}); nothing new is launched`,
          { targets },
        ),
      );
    });
    if (outcome.coveredByInFlight > 0) {
      b.explain(
        'scale-out',
        `${plural(outcome.coveredByInFlight, 'pending pod')} will fit on capacity already on its way (${fmtTargets([...used].sort())}): nothing new is launched for them`,
        'in-flight',
      );
    }
  }

  // 3b. Stopped warm-pool members (lib/core/warm-pool.ts): room that a start brings in seconds.
  placeOnWarmPool(ctx, b, head, helpable, daemonSets, outcome, members);

  // 4. New nodes: every shape that may share a node packed together (lib/core/mixed-packing.ts);
  // when that plan does not fit the limits, per group of shapes with the same allowed types,
  // zones and capacity types, each group's type chosen to cover the most pods within them.
  const drafts =
    planMixedLaunches(ctx, b, head, helpable, types, outcome) ??
    planGroupLaunches(ctx, b, head, names, holdSpread(b, helpable, terms.zoneSpread), outcome);

  const sortedDrafts = [...drafts.entries()].sort((a, c) => (a[0] < c[0] ? -1 : 1));
  for (const [, d] of sortedDrafts) {
    const index = b.launches.length;
    const launchId = `${ctx.decisionId}-${index}`;
    // Per shape id (zone pieces share one): pods and launches for its answer, in launch order.
    let duplicateIds = false;
    let podsCovered = 0;
    for (const part of d.parts) {
      const a = part.info.launched;
      if (a.seenBy === index) duplicateIds = true;
      else {
        a.seenBy = index;
        a.launches.push(launchId);
      }
      a.pods += part.pods;
      podsCovered += part.pods;
    }
    const rootGiB = rootVolumeGiBFor(ctx.config, d.ephemeralMiB, d.type.room.daemonSetEphemeralMiB);
    const sized = rootGiB > ctx.config.nodes.rootVolumeGiB;
    const reason = `${launchReason(d.type, d.caps, d.count, d.parts, ctx, d.runnerUp, duplicateIds)}${
      sized
        ? `; root volume ${rootGiB} GiB for ${fmtMem(d.ephemeralMiB)} of ephemeral-storage requests per node`
        : ''
    }`;
    const launch: PlannedLaunch = {
      launchId,
      instanceTypes: [d.type.spec.instanceType, ...d.fallbacks],
      capacityTypes: d.caps,
      arch: d.type.spec.arch as Arch,
      count: d.count,
      zones: d.zones,
      shapeIds: idsInOrder(d.parts, idOfRank),
      podsCovered,
      estimatedHourlyUsd: Math.round(d.count * d.type.price * 10_000) / 10_000,
      ...(sized ? { rootVolumeGiB: rootGiB } : {}),
      reason,
    };
    b.launches.push(launch);
    b.explain('scale-out', reason, launch.launchId);
  }
  const launchById = new Map(b.launches.map((l) => [l.launchId, l]));
  // Most shapes are launched for by one launch: its answer text is built once.
  const single = new Map<string, { what: string; message: string }>();
  for (const s of helpable) {
    const a = s.launched;
    // Zone pieces of one shape share its id: one answer for all of them.
    if (a.launches.length === 0 || a.answered) continue;
    a.answered = true;
    // By id, not a scan of every launch per shape (10,000 distinct shapes × hundreds of launches).
    const first = a.launches[0] as string;
    let text = a.launches.length === 1 ? single.get(first) : undefined;
    if (!text) {
      const launches = a.launches.map((id) => launchById.get(id) as PlannedLaunch);
      const what = launches.map((l) => `${l.count}× ${l.instanceTypes[0]}`).join(' + ');
      text = { what, message: `triggered scale-up: ${what} (${a.launches.join(', ')})` };
      if (a.launches.length === 1) single.set(first, text);
    }
    b.podAnswers.push(
      answer(s, 'launched-for', a.pods, `launch:${first}`, text.message, {
        targets: a.launches.slice(0, 8),
      }),
    );
  }
  return outcome;
}

/**
 * Helpable pods onto stopped warm-pool members, before any new node: each member is the room of
 * a fresh node of its type in its zone (on-demand; the warming taint goes at the start), offered
 * only while the limits' headroom can take it running, cheapest then oldest first. Every member
 * that takes pods becomes a start: one launch group per type and zone, all of it `warmStarts`
 * (its fallback, if EC2 cannot start it, is a launch of that type in that zone). Pods placed
 * here are launched for, as on a new node.
 */
function placeOnWarmPool(
  ctx: PlanContext,
  b: PlanBuilder,
  head: Headroom,
  helpable: readonly ShapeInfo[],
  daemonSets: readonly DaemonSetOverhead[],
  outcome: ScaleOutOutcome,
  members: readonly ManagedInstance[],
): void {
  if (members.length === 0 || !helpable.some((s) => s.remaining > 0)) return;
  const bins: RoomBin[] = [];
  const add = cloudBin(ctx, b, daemonSets, bins);
  const offered = new Map<string, { m: ManagedInstance; spec: InstanceSpec }>();
  const left = { ...head };
  for (const m of members) {
    const spec = ctx.catalog.get(m.instanceType);
    if (!spec || !ctx.config.nodes.candidateTypes.includes(m.instanceType)) continue;
    if (maxNewNodes(left, spec, spec.onDemandHourlyUsd).n < 1) continue;
    chargeNewNodes(left, spec, spec.onDemandHourlyUsd, 1);
    add(`warm-pool member ${m.instanceId}`, m.instanceId, m.instanceType, m.zone, 'on-demand');
    offered.set(m.instanceId, { m, spec });
  }
  if (bins.length === 0) return;
  const placement = placeOnRoom(helpable, bins);
  // Per member: the shapes (pieces) it took and how many pods.
  const used = new Map<string, Part[]>();
  helpable.forEach((s, i) => {
    const p = placement[i] as Placement;
    for (const [target, k] of p) {
      const parts = used.get(target) ?? [];
      parts.push({ info: s, pods: k });
      used.set(target, parts);
    }
  });
  if (used.size === 0) return;
  const groups = new Map<string, { spec: InstanceSpec; zone: string; ids: string[]; parts: Part[] }>();
  for (const { m, spec } of offered.values()) {
    const parts = used.get(m.instanceId);
    if (!parts) continue;
    chargeNewNodes(head, spec, spec.onDemandHourlyUsd, 1);
    const key = `${spec.instanceType}|${m.zone}`;
    const g = groups.get(key) ?? { spec, zone: m.zone, ids: [], parts: [] };
    g.ids.push(m.instanceId);
    g.parts.push(...parts);
    groups.set(key, g);
  }
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key) as { spec: InstanceSpec; zone: string; ids: string[]; parts: Part[] };
    const index = b.launches.length;
    const launchId = `${ctx.decisionId}-${index}`;
    let pods = 0;
    const ids = new Set<string>();
    for (const part of g.parts) {
      const a = part.info.launched;
      if (a.seenBy !== index) {
        a.seenBy = index;
        a.launches.push(launchId);
      }
      a.pods += part.pods;
      pods += part.pods;
      ids.add(part.info.shape.id);
    }
    outcome.coveredByLaunches += pods;
    const n = g.ids.length;
    const reason = `start ${plural(n, 'stopped warm-pool member')} of ${g.spec.instanceType} in ${g.zone} (${g.ids.join(', ')}) for ${plural(pods, 'pod')} instead of launching: a start re-registers a node that joined once, in seconds (on-demand, ${fmtUsd(g.spec.onDemandHourlyUsd)} each)`;
    b.launches.push({
      launchId,
      instanceTypes: [g.spec.instanceType],
      capacityTypes: ['on-demand'],
      arch: g.spec.arch as Arch,
      count: n,
      zones: [g.zone],
      shapeIds: [...ids].sort(),
      podsCovered: pods,
      estimatedHourlyUsd: Math.round(n * g.spec.onDemandHourlyUsd * 10_000) / 10_000,
      reason,
      warmStarts: g.ids,
    });
    b.explain('warm-pool', reason, launchId);
  }
}

/**
 * When the limits bind, the per-group planner covers some groups and not others: for a shape
 * spread over zones that could launch one zone's pods without the others', which breaks the
 * maxSkew it was split for. Such pods are held back instead (all or nothing), with the reason.
 */
function holdSpread(
  b: PlanBuilder,
  helpable: readonly ShapeInfo[],
  spread: ReadonlySet<PendingShape>,
): ShapeInfo[] {
  const held = new Map<string, ShapeInfo[]>();
  for (const s of helpable) {
    if (s.remaining === 0 || !spread.has(s.shape)) continue;
    const list = held.get(s.shape.id) ?? [];
    list.push(s);
    held.set(s.shape.id, list);
  }
  for (const [, pieces] of held) {
    const pods = pieces.reduce((a, s) => a + s.remaining, 0);
    b.podAnswers.push(
      answer(
        pieces[0] as ShapeInfo,
        'held-by-limit',
        pods,
        'limit:topology-spread',
        'held back: the limits do not allow nodes in every zone of its topology spread, and launching for some zones only would break its maxSkew',
      ),
    );
    for (const s of pieces) s.remaining = 0;
  }
  return helpable.filter((s) => !spread.has(s.shape));
}

/** Pods of one shape (piece) on a launch. */
interface Part {
  info: ShapeInfo;
  pods: number;
}

/** A launch being assembled: nodes of one type, zones and capacity types. */
interface Draft {
  type: TypeInfo;
  caps: CapacityType[];
  zones: string[];
  count: number;
  parts: Part[];
  fallbacks: string[];
  runnerUp?: { type: string; perPod: number };
  /** The most ephemeral storage the pods of one of its nodes request, MiB: sizes the root volume. */
  ephemeralMiB: number;
}

/**
 * New nodes with every shape that may share a node packed together (lib/core/mixed-packing.ts):
 * shapes with the same zones and capacity types share nodes whenever some type is allowed for
 * all of a node's pods and holds them; each node is launched as the cheapest such type, its
 * other types (same architecture) are the fallbacks. Returns undefined, having changed nothing,
 * when the plan does not fit the headroom: the per-group planner then covers as many pods as
 * the limits allow and explains the clamp.
 */
function planMixedLaunches(
  ctx: PlanContext,
  b: PlanBuilder,
  head: Headroom,
  helpable: readonly ShapeInfo[],
  types: readonly TypeInfo[],
  outcome: ScaleOutOutcome,
): Map<string, Draft> | undefined {
  const waiting: ShapeInfo[] = [];
  const groups = new Map<string, { members: ShapeInfo[]; items: MixedItem[] }>();
  // Per typesKey (which fixes the types, zones and capacity types): the allowed type indices
  // and the group, looked up once per shape instead of built per shape.
  const byTypesKey = new Map<string, { allowed: number[]; group: string }>();
  for (const s of helpable) {
    if (s.remaining === 0) continue;
    let k = byTypesKey.get(s.typesKey);
    if (!k) {
      k = {
        allowed: s.types
          .filter((t) => t.available && t.caps.some((c) => s.caps.includes(c)))
          .map((t) => t.idx),
        group: `${s.zones.join(',')}|${s.caps.join(',')}`,
      };
      byTypesKey.set(s.typesKey, k);
    }
    if (k.allowed.length === 0) {
      waiting.push(s);
      continue;
    }
    const item: MixedItem = {
      cpuMilli: s.item.cpuMilli,
      memoryMiB: s.item.memoryMiB,
      ephemeralMiB: s.item.ephemeralMiB,
      gpus: s.item.gpus,
      hostPorts: s.item.hostPorts,
      count: s.remaining,
      allowed: k.allowed,
    };
    const g = groups.get(k.group);
    if (g) {
      g.members.push(s);
      g.items.push(item);
    } else groups.set(k.group, { members: [s], items: [item] });
  }
  const mixedTypes: MixedType[] = types.map((t) => ({
    free: t.free,
    price: t.price,
    name: t.spec.instanceType,
  }));
  interface Packed {
    members: ShapeInfo[];
    nodes: MixedNode[];
  }
  const packed: Packed[] = [];
  const need = { nodes: 0, vcpu: 0, memoryMiB: 0, costUsd: 0 };
  for (const key of [...groups.keys()].sort()) {
    const { members, items } = groups.get(key) as { members: ShapeInfo[]; items: MixedItem[] };
    const r = packMixed(items, mixedTypes);
    if (r.covered.some((c, i) => c < (items[i] as MixedItem).count)) return undefined;
    for (const n of r.nodes) {
      const t = types[n.types[0] as number] as TypeInfo;
      need.nodes += n.count;
      need.vcpu += n.count * t.spec.vcpu;
      need.memoryMiB += n.count * t.spec.memoryMiB;
      need.costUsd += n.count * t.worstPrice;
    }
    packed.push({ members, nodes: r.nodes });
  }
  if (
    need.nodes > head.nodes ||
    need.vcpu > head.vcpu ||
    need.memoryMiB > head.memoryMiB ||
    need.costUsd > head.costUsd + 1e-9
  ) {
    return undefined;
  }

  if (waiting.length > 0) {
    const availability = candidateAvailability(ctx);
    for (const s of waiting) {
      const msg = unavailableReason(
        availability,
        s.types.map((t) => t.spec.instanceType),
        s.caps,
        ctx.now,
      );
      b.explain(
        'waiting',
        `${plural(s.remaining, 'pod')} of shape ${shapeName(s.shape)} wait: ${msg}`,
        s.shape.id,
      );
      b.podAnswers.push(answer(s, 'waiting-for-offering', s.remaining, 'offering-unavailable', msg));
    }
  }

  // Nodes of one type, zones and capacity types become one launch; its fallbacks are the types
  // (same architecture) that hold every one of its nodes, cheapest first.
  interface Gathered {
    type: TypeInfo;
    caps: CapacityType[];
    zones: string[];
    count: number;
    pods: Map<ShapeInfo, number>;
    others: number[] | undefined;
    ephemeralMiB: number;
  }
  const gathered = new Map<string, Gathered>();
  for (const { members, nodes } of packed) {
    const first = members[0] as ShapeInfo;
    for (const n of nodes) {
      const t = types[n.types[0] as number] as TypeInfo;
      const caps = first.caps.filter((c) => t.caps.includes(c));
      const key = `${t.spec.arch}|${t.spec.instanceType}|${first.zones.join(',')}|${caps.join(',')}`;
      let g = gathered.get(key);
      if (!g) {
        g = {
          type: t,
          caps,
          zones: first.zones,
          count: 0,
          pods: new Map(),
          others: undefined,
          ephemeralMiB: 0,
        };
        gathered.set(key, g);
      }
      g.count += n.count;
      let eph = 0;
      for (const [i, k] of n.contents) {
        const s = members[i] as ShapeInfo;
        g.pods.set(s, (g.pods.get(s) ?? 0) + k * n.count);
        eph += k * s.item.ephemeralMiB;
      }
      g.ephemeralMiB = Math.max(g.ephemeralMiB, eph);
      const others = n.types.slice(1).filter((i) => (types[i] as TypeInfo).spec.arch === t.spec.arch);
      g.others = g.others ? g.others.filter((i) => others.includes(i)) : others;
    }
  }
  const drafts = new Map<string, Draft>();
  for (const key of [...gathered.keys()].sort()) {
    const g = gathered.get(key) as Gathered;
    consume(head, g.type, g.count);
    const candidates = (g.others ?? []).map((i) => types[i] as TypeInfo);
    const fallbacks = affordableFallbacks(head, g.type, g.count, candidates, g.caps, MAX_FALLBACKS);
    const parts: Part[] = [];
    let pods = 0;
    g.pods.forEach((k, info) => {
      parts.push({ info, pods: k });
      pods += k;
      info.remaining -= k;
    });
    outcome.coveredByLaunches += pods;
    const runner = fallbacks[0];
    drafts.set(key, {
      type: g.type,
      caps: g.caps,
      zones: g.zones,
      count: g.count,
      parts,
      fallbacks: fallbacks.map((o) => o.spec.instanceType),
      ephemeralMiB: g.ephemeralMiB,
      ...(runner
        ? { runnerUp: { type: runner.spec.instanceType, perPod: (g.count * runner.price) / pods } }
        : {}),
    });
  }
  return drafts;
}

/**
 * New nodes per group of shapes with the same allowed types, zones and capacity types (oldest
 * group first): each group gets the type with the lowest cost for packing all its pods, or, when
 * the limits bite, the type that covers the most pods within them.
 */
function planGroupLaunches(
  ctx: PlanContext,
  b: PlanBuilder,
  head: Headroom,
  names: HeadroomLimits,
  helpable: readonly ShapeInfo[],
  outcome: ScaleOutOutcome,
): Map<string, Draft> {
  const groups = new Map<string, ShapeInfo[]>();
  for (const s of helpable) {
    if (s.remaining === 0) continue;
    const key = s.typesKey;
    const list = groups.get(key) ?? [];
    list.push(s);
    groups.set(key, list);
  }
  // Oldest pending group first; ties by the group's type names, zones and capacity types.
  const order = new Map<string, { oldest: number; name: string }>();
  for (const [key, members] of groups) {
    let oldest = Number.POSITIVE_INFINITY;
    for (const s of members) oldest = Math.min(oldest, Date.parse(s.shape.oldestPendingSince));
    const f = members[0] as ShapeInfo;
    const name = `${f.types.map((t) => t.spec.instanceType).join(',')}|${f.zones.join(',')}|${f.caps.join(',')}`;
    order.set(key, { oldest, name });
  }
  const orderedGroups = [...groups.entries()].sort((a, c) => {
    const oa = order.get(a[0]) as { oldest: number; name: string };
    const oc = order.get(c[0]) as { oldest: number; name: string };
    return oa.oldest - oc.oldest || (oa.name < oc.name ? -1 : oa.name > oc.name ? 1 : 0);
  });

  const drafts = new Map<string, Draft>();
  for (const [, members] of orderedGroups) {
    const first = members[0] as ShapeInfo;
    const available = first.types.filter((t) => t.available && t.caps.some((c) => first.caps.includes(c)));
    const pending = members.reduce((a, s) => a + s.remaining, 0);
    if (available.length === 0) {
      const msg = unavailableReason(
        candidateAvailability(ctx),
        first.types.map((t) => t.spec.instanceType),
        first.caps,
        ctx.now,
      );
      for (const s of members) {
        if (s.remaining <= 0) continue;
        b.explain(
          'waiting',
          `${plural(s.remaining, 'pod')} of shape ${shapeName(s.shape)} wait: ${msg}`,
          s.shape.id,
        );
        b.podAnswers.push(answer(s, 'waiting-for-offering', s.remaining, 'offering-unavailable', msg));
      }
      continue;
    }
    const items = members.map((s) => ({ ...s.item, count: s.remaining }));
    const choice = chooseType(items, available, head);
    if (!choice) continue;
    if (choice.limit) {
      const uncovered = pending - choice.coveredTotal;
      b.explain(
        'clamp',
        `${plural(choice.limit.needed, 'node')} of ${choice.type.spec.instanceType} would be needed for ${plural(pending, 'pending pod')}, but ${describeLimit(choice.limit.limit, ctx, names)} allows only ${choice.bins} more (${headroomLeft(choice.limit.limit, head)}): ${plural(uncovered, 'pod')} stay pending`,
        choice.limit.limit,
      );
    }
    if (choice.limit) {
      const limitName = limitCode(choice.limit.limit, ctx, names);
      const more = Math.max(0, choice.limit.needed - choice.bins);
      members.forEach((s, i) => {
        const left = s.remaining - (choice.covered[i] ?? 0);
        if (left <= 0) return;
        b.podAnswers.push(
          answer(
            s,
            'held-by-limit',
            left,
            `limit:${limitName}`,
            `held back by ${describeLimit(choice.limit?.limit ?? 'nodes', ctx, names)}: ${plural(more, 'more node')} of ${choice.type.spec.instanceType} would be needed for the pods of this group that stay pending`,
            { limit: { name: limitName, nodesNeeded: more } },
          ),
        );
      });
    }
    if (choice.bins === 0) continue;
    const t = choice.type;
    consume(head, t, choice.bins);
    const caps = first.caps.filter((c) => t.caps.includes(c));
    const fitting = available
      .filter(
        (o) =>
          o !== t &&
          o.spec.arch === t.spec.arch &&
          o.room.cpuMilli >= choice.maxUsed.cpuMilli &&
          o.room.memoryMiB >= choice.maxUsed.memoryMiB &&
          o.room.pods >= choice.maxUsed.pods &&
          (o.room.ephemeralMiB ?? Number.POSITIVE_INFINITY) >= (choice.maxUsed.ephemeralMiB ?? 0) &&
          (o.room.gpus ?? 0) >= (choice.maxUsed.gpus ?? 0),
      )
      .sort((a, c) => a.price - c.price || (a.spec.instanceType < c.spec.instanceType ? -1 : 1));
    const fallbacks = affordableFallbacks(head, t, choice.bins, fitting, caps, MAX_FALLBACKS).map(
      (o) => o.spec.instanceType,
    );
    const key = `${t.spec.arch}|${t.spec.instanceType}|${first.zones.join(',')}|${caps.join(',')}`;
    const parts = members
      .map((info, i) => ({ info, pods: choice.covered[i] ?? 0 }))
      .filter((p) => p.pods > 0);
    members.forEach((s, i) => {
      s.remaining -= choice.covered[i] ?? 0;
    });
    outcome.coveredByLaunches += choice.coveredTotal;
    const existing = drafts.get(key);
    if (existing) {
      existing.count += choice.bins;
      existing.parts.push(...parts);
      existing.fallbacks = existing.fallbacks.filter((f) => fallbacks.includes(f));
      existing.ephemeralMiB = Math.max(existing.ephemeralMiB, choice.maxUsed.ephemeralMiB ?? 0);
    } else {
      drafts.set(key, {
        type: t,
        caps,
        zones: first.zones,
        count: choice.bins,
        parts,
        fallbacks,
        ephemeralMiB: choice.maxUsed.ephemeralMiB ?? 0,
        ...(choice.runnerUp ? { runnerUp: choice.runnerUp } : {}),
      });
    }
  }

  return drafts;
}

/** Short machine-readable name of the binding limit: `maxNodes`, `schedule:<name>`, `maxVcpus`, … */
function limitCode(
  limit: 'nodes' | 'vcpu' | 'memory' | 'cost',
  ctx: PlanContext,
  names: HeadroomLimits,
): string {
  switch (limit) {
    case 'nodes':
      return names.nodesLabel.startsWith('schedule') ? `schedule:${ctx.schedule.name ?? ''}` : 'maxNodes';
    case 'vcpu':
      return 'maxVcpus';
    case 'memory':
      return 'maxMemoryMiB';
    case 'cost':
      return 'maxHourlyCostUsd';
  }
}

/**
 * Warm capacity: while the active schedule asks for minNodes, launch the cheapest candidate
 * type (at the preferred capacity type's price) up to that many nodes, within the limits.
 */
export function planWarmCapacity(
  ctx: PlanContext,
  b: PlanBuilder,
  head: Headroom,
  present: number,
  names: HeadroomLimits,
): void {
  const min = ctx.schedule.minNodes;
  if (present >= min) return;
  const daemonSets = ctx.snapshot?.daemonSets ?? [];
  const types = buildTypes(ctx, daemonSets).filter((t) => t.available);
  if (types.length === 0) return;
  const cheapest = [...types].sort(
    (a, c) => a.price - c.price || (a.spec.instanceType < c.spec.instanceType ? -1 : 1),
  )[0] as TypeInfo;
  const want = min - present;
  const cap = maxNewNodes(head, cheapest.spec, cheapest.worstPrice);
  const n = Math.min(want, cap.n);
  const scheduleName = ctx.schedule.name ?? '(none)';
  if (n < want) {
    b.explain(
      'clamp',
      `schedule "${scheduleName}" asks for ${min} warm nodes (${present} present) but ${describeLimit(cap.limit, ctx, names)} allows only ${n} more`,
      cap.limit,
    );
  }
  if (n <= 0) return;
  consume(head, cheapest, n);
  const fallbacks = affordableFallbacks(
    head,
    cheapest,
    n,
    types
      .filter((t) => t !== cheapest && t.spec.arch === cheapest.spec.arch)
      .sort((a, c) => a.price - c.price || (a.spec.instanceType < c.spec.instanceType ? -1 : 1)),
    cheapest.caps,
    3,
  );
  const reason = `launch ${n}× ${cheapest.spec.instanceType} (${cheapest.caps[0]}, ${fmtUsd(cheapest.price)} each) as warm capacity: schedule "${scheduleName}" keeps minNodes=${min} and ${present} ${present === 1 ? 'is' : 'are'} present or on the way`;
  const launch: PlannedLaunch = {
    launchId: `${ctx.decisionId}-${b.launches.length}`,
    instanceTypes: [cheapest.spec.instanceType, ...fallbacks.map((t) => t.spec.instanceType)],
    capacityTypes: cheapest.caps,
    arch: cheapest.spec.arch,
    count: n,
    zones: [],
    shapeIds: [],
    podsCovered: 0,
    estimatedHourlyUsd: Math.round(n * cheapest.price * 10_000) / 10_000,
    reason,
  };
  b.launches.push(launch);
  b.explain('schedule', reason, launch.launchId);
}
