/**
 * Property tests of planCluster (fast-check): generated configs, snapshots and fleets are
 * built as raw JSON and validated through the zod schemas (makeConfig → loadConfig, ClusterSnapshot,
 * FleetState), so every input is one the control plane could really receive. Fixed seed and
 * bounded runs keep CI deterministic; a failure prints the counterexample and its seed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCatalog, planCluster } from '../../../lib/core/index.js';
import {
  type CapacityType,
  ClusterSnapshot,
  type Config,
  FleetState,
  Plan,
} from '../../../lib/events/index.js';
import { CLOUD_TAINT, makeConfig } from './fixtures.js';

/** The value type an arbitrary generates. */
type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

const NOW = new Date('2026-03-16T09:30:00Z');
const NOW_MS = NOW.getTime();
const RUNS = { numRuns: 200, seed: 20261130, endOnFailure: true } as const;
const ago = (s: number) => new Date(NOW_MS - s * 1000).toISOString();

const ARM = [
  't4g.medium',
  't4g.large',
  't4g.xlarge',
  'm7g.large',
  'm7g.xlarge',
  'm7g.2xlarge',
  'c7g.xlarge',
  'c7g.2xlarge',
  'r7g.large',
  'm6g.large',
];
const AMD = ['t3.large', 'm7i.large', 'm7i.xlarge', 'c7i.xlarge'];
const ALL_TYPES = [...ARM, ...AMD];
const CLOUD_TOLERATION = {
  key: 'k3s-burst.io/cloud',
  operator: 'Equal',
  value: 'true',
  effect: 'NoSchedule',
};
const ZONES = ['eu-central-1a', 'eu-central-1b'];

/** `i-0` + 16 hex digits, distinct per (kind, index). */
const iid = (kind: number, i: number) => `i-0${kind.toString(16)}${i.toString(16).padStart(15, '0')}`;

// ---------------------------------------------------------------- config

interface ConfigKnobs {
  big: boolean;
}

function configArb(knobs: ConfigKnobs = { big: false }): fc.Arbitrary<Config> {
  return fc
    .record({
      candidateTypes: fc.subarray(ALL_TYPES, { minLength: 1 }),
      capacityTypes: fc.constantFrom<CapacityType[]>(
        ['spot', 'on-demand'],
        ['on-demand'],
        ['spot'],
        ['on-demand', 'spot'],
      ),
      tainted: fc.boolean(),
      maxNodes: fc.integer({ min: 0, max: 16 }),
      maxVcpus: fc.oneof(fc.integer({ min: 0, max: 96 }), fc.constantFrom(16, 32, 64, 96)),
      maxMemoryMiB: fc.oneof(fc.integer({ min: 0, max: 262_144 }), fc.constantFrom(32_768, 131_072, 262_144)),
      maxHourlyCostUsd: fc.oneof(
        fc.integer({ min: 0, max: 400 }).map((c) => c / 100),
        fc.constantFrom(1, 2.5, 5),
      ),
      schedule: fc.option(fc.record({ minNodes: fc.integer({ min: 0, max: 3 }), maxNodes: fc.nat(16) }), {
        nil: undefined,
      }),
      emptyAfterSeconds: fc.integer({ min: 0, max: 1800 }),
      delayAfterScaleOutSeconds: fc.integer({ min: 0, max: 1800 }),
      maxConcurrentDrains: fc.integer({ min: 1, max: 3 }),
      consolidation: fc.boolean(),
      forceScheduleScaleDown: fc.boolean(),
      threshold: fc.integer({ min: 10, max: 90 }),
      underutilizedAfterSeconds: fc.integer({ min: 0, max: 1800 }),
      registrationTimeoutSeconds: fc.integer({ min: 60, max: 1800 }),
      unhealthyAfterSeconds: fc.integer({ min: 60, max: 1800 }),
      maxUnhealthyFraction: fc.integer({ min: 0, max: 100 }).map((p) => p / 100),
      staleAfterSeconds: fc.integer({ min: 60, max: 600 }),
      abandonAfterSeconds: fc.integer({ min: 900, max: 7200 }),
    })
    .map((k) => {
      const maxNodes = knobs.big ? 400 : k.maxNodes;
      const schedules =
        k.schedule && !knobs.big
          ? [
              {
                name: 'daily',
                cron: '0 7 * * *',
                timezone: 'Europe/Berlin',
                maxNodes: Math.min(k.schedule.maxNodes, maxNodes),
                minNodes: Math.min(k.schedule.minNodes, k.schedule.maxNodes, maxNodes),
              },
            ]
          : [];
      return makeConfig({
        nodes: {
          candidateTypes: k.candidateTypes,
          capacityTypes: k.capacityTypes,
          labels: { 'k3s-burst.io/pool': 'cloud' },
          taints: k.tainted ? [CLOUD_TAINT] : [],
        },
        limits: knobs.big
          ? { maxNodes, maxVcpus: 1_000_000, maxMemoryMiB: 100_000_000, maxHourlyCostUsd: 100_000 }
          : {
              maxNodes,
              maxVcpus: k.maxVcpus,
              maxMemoryMiB: k.maxMemoryMiB,
              maxHourlyCostUsd: k.maxHourlyCostUsd,
            },
        schedules,
        scaleIn: {
          scheduleScaleDown: k.forceScheduleScaleDown ? 'force' : 'wait',
          emptyAfterSeconds: k.emptyAfterSeconds,
          delayAfterScaleOutSeconds: k.delayAfterScaleOutSeconds,
          maxConcurrentDrains: k.maxConcurrentDrains,
          consolidation: {
            enabled: k.consolidation,
            utilizationThresholdPercent: k.threshold,
            underutilizedAfterSeconds: k.underutilizedAfterSeconds,
          },
        },
        repairs: {
          registrationTimeoutSeconds: k.registrationTimeoutSeconds,
          unhealthyAfterSeconds: k.unhealthyAfterSeconds,
          maxUnhealthyFraction: k.maxUnhealthyFraction,
        },
        agent: {
          heartbeatSeconds: 30,
          staleAfterSeconds: k.staleAfterSeconds,
          abandonAfterSeconds: k.abandonAfterSeconds,
        },
      });
    });
}

// ---------------------------------------------------------------- snapshot + fleet

const shapeArb = fc.record({
  cpuMilli: fc.oneof(fc.constantFrom(0, 100, 250, 500, 1000, 1500), fc.integer({ min: 0, max: 9000 })),
  memoryMiB: fc.oneof(fc.constantFrom(0, 128, 512, 1024, 4096), fc.integer({ min: 0, max: 40_000 })),
  count: fc.integer({ min: 1, max: 60 }),
  selector: fc.constantFrom('none', 'none', 'arm64', 'amd64', 'pi', 'notT4g', 'zone'),
  tolerates: fc.constantFrom(true, true, true, true, false),
  hostPort: fc.boolean(),
  localVolume: fc.boolean(),
  pendingForS: fc.integer({ min: 1, max: 3600 }),
});
type ShapeKnobs = ValueOf<typeof shapeArb>;

function rawShape(s: ShapeKnobs, i: number, opts: { plain?: boolean } = {}) {
  const selector = opts.plain && s.selector === 'pi' ? 'none' : s.selector;
  return {
    id: `shape-${i.toString(16).padStart(4, '0')}`,
    cpuMilli: s.cpuMilli,
    memoryMiB: s.memoryMiB,
    nodeSelector:
      selector === 'arm64' || selector === 'amd64'
        ? { 'kubernetes.io/arch': selector }
        : selector === 'pi'
          ? { 'kubernetes.io/hostname': 'pi-node-1' }
          : {},
    requiredAffinity:
      selector === 'notT4g'
        ? [
            {
              matchExpressions: [
                {
                  key: 'node.kubernetes.io/instance-type',
                  operator: 'NotIn',
                  values: ['t4g.medium', 't4g.large'],
                },
              ],
            },
          ]
        : selector === 'zone'
          ? [
              {
                matchExpressions: [
                  { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['eu-central-1b'] },
                ],
              },
            ]
          : [],
    tolerations: s.tolerates || opts.plain ? [CLOUD_TOLERATION] : [],
    usesLocalVolume: opts.plain ? false : s.localVolume && s.pendingForS % 5 === 0,
    hostPorts: s.hostPort && s.pendingForS % 3 === 0 ? [8443] : [],
    count: s.count,
    oldestPendingSince: ago(s.pendingForS),
    examplePods: [`shop/pod-${i}`],
  };
}

const cloudArb = fc.record({
  type: fc.constantFrom(...ALL_TYPES),
  state: fc.constantFrom(
    'running',
    'running',
    'running',
    'running',
    'pending',
    'stopping',
    'stopped',
    'shutting-down',
    'terminated',
  ),
  capacityType: fc.constantFrom<CapacityType>('spot', 'on-demand'),
  launchedAgoS: fc.integer({ min: 0, max: 20_000 }),
  registered: fc.constantFrom(true, true, true, false),
  orphanNode: fc.constantFrom(false, false, false, false, true),
  ready: fc.constantFrom(true, true, true, false),
  readyForS: fc.integer({ min: 0, max: 7200 }),
  cordoned: fc.constantFrom(false, false, false, true),
  pods: fc.array(
    fc.record({
      cpuMilli: fc.integer({ min: 0, max: 1500 }),
      memoryMiB: fc.integer({ min: 0, max: 3000 }),
      count: fc.integer({ min: 1, max: 4 }),
    }),
    { maxLength: 3 },
  ),
  changedAgoS: fc.option(fc.integer({ min: 0, max: 7200 }), { nil: undefined }),
  doNotDisrupt: fc.constantFrom(false, false, false, true),
  blocked: fc.constantFrom(false, false, false, true),
  draining: fc.constantFrom(false, false, false, false, true),
  drainDeadlineInS: fc.integer({ min: -600, max: 600 }),
});
type CloudKnobs = ValueOf<typeof cloudArb>;

const onPremArb = fc.record({
  ec2: fc.boolean(),
  /** The fleet (wrongly) lists the on-prem EC2 instance too: the planner must still not touch it. */
  alsoInFleet: fc.boolean(),
  ready: fc.boolean(),
  empty: fc.boolean(),
  readyForS: fc.integer({ min: 0, max: 100_000 }),
});

const inFlightArb = fc.record({
  type: fc.constantFrom(...ALL_TYPES),
  count: fc.integer({ min: 1, max: 3 }),
  capacityType: fc.constantFrom<CapacityType>('spot', 'on-demand'),
  decidedAgoS: fc.integer({ min: 0, max: 1800 }),
});

const worldArb = fc.record({
  snapshotAgeS: fc.oneof(
    { weight: 14, arbitrary: fc.integer({ min: 0, max: 59 }) }, // fresh whatever staleAfterSeconds (≥ 60)
    { weight: 2, arbitrary: fc.integer({ min: 60, max: 1200 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1201, max: 9000 }) },
  ),
  noSnapshot: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
  pis: fc.integer({ min: 1, max: 3 }),
  onPrem: fc.array(onPremArb, { maxLength: 2 }),
  cloud: fc.array(cloudArb, { maxLength: 6 }),
  shapes: fc.array(shapeArb, { minLength: 1, maxLength: 6 }),
  inFlight: fc.array(inFlightArb, { maxLength: 3 }),
  unavailable: fc.subarray(ALL_TYPES, { maxLength: 3 }),
  lastScaleOutAgoS: fc.option(fc.integer({ min: 0, max: 7200 }), { nil: undefined }),
  seq: fc.integer({ min: 1, max: 1_000_000 }),
});
type World = ValueOf<typeof worldArb>;

interface Built {
  snapshot: ClusterSnapshot | undefined;
  fleet: FleetState;
  onPremNames: Set<string>;
  onPremIds: Set<string>;
  managedNodeNames: Set<string>;
}

function piNode(
  name: string,
  p: { ready: boolean; empty: boolean; readyForS: number; providerID: string; instanceId?: string },
) {
  return {
    name,
    providerID: p.providerID,
    managed: false,
    ...(p.instanceId ? { instanceId: p.instanceId } : {}),
    arch: 'arm64',
    labels: { 'kubernetes.io/arch': 'arm64', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
    ready: p.ready,
    readySince: ago(p.readyForS),
    createdAt: ago(p.readyForS + 3600),
    allocatable: { cpuMilli: 4000, memoryMiB: 7867, pods: 110 },
    requested: p.empty
      ? { cpuMilli: 100, memoryMiB: 70, pods: 2 }
      : { cpuMilli: 3650, memoryMiB: 7000, pods: 31 },
    workloadPodCount: p.empty ? 0 : 27,
  };
}

function buildWorld(w: World, config: Config, opts: { plainShapes?: boolean } = {}): Built {
  const catalog = buildCatalog(config);
  const nodes: unknown[] = [];
  const instances: unknown[] = [];
  const drains: unknown[] = [];
  const onPremNames = new Set<string>();
  const onPremIds = new Set<string>();
  const managedNodeNames = new Set<string>();
  for (let i = 0; i < w.pis; i++) {
    const name = `pi-node-${i + 1}`;
    onPremNames.add(name);
    nodes.push(
      piNode(name, { ready: true, empty: i > 0, readyForS: 86_400 * (i + 1), providerID: `k3s://${name}` }),
    );
  }
  w.onPrem.forEach((o, i) => {
    const name = o.ec2 ? `ip-10-0-0-${i + 10}` : `pi-extra-${i}`;
    const id = o.ec2 ? iid(14, i) : undefined;
    onPremNames.add(name);
    if (id) onPremIds.add(id);
    nodes.push(
      piNode(name, {
        ready: o.ready,
        empty: o.empty,
        readyForS: o.readyForS,
        providerID: id ? `aws:///eu-central-1a/${id}` : `k3s://${name}`,
        ...(id ? { instanceId: id } : {}),
      }),
    );
    if (id && o.alsoInFleet) {
      instances.push({
        instanceId: id,
        instanceType: 'm7g.large',
        state: 'running',
        launchedAt: ago(90_000),
        zone: 'eu-central-1a',
        capacityType: 'on-demand',
        nodeName: `burst-${id}`,
        decisionId: 'pi-lab-old',
      });
    }
  });
  w.cloud.forEach((c: CloudKnobs, i) => {
    const id = iid(1, i);
    const name = `burst-${id}`;
    const zone = ZONES[i % 2] as string;
    const spec = catalog.get(c.type);
    if (!c.orphanNode) {
      instances.push({
        instanceId: id,
        instanceType: c.type,
        state: c.state,
        launchedAt: ago(c.launchedAgoS),
        zone,
        capacityType: c.capacityType,
        nodeName: name,
        decisionId: `pi-lab-launch-${i}`,
      });
    }
    if (!c.registered || !spec) return;
    const podCpu = c.pods.reduce((a, g) => a + g.cpuMilli * g.count, 0);
    const podMem = c.pods.reduce((a, g) => a + g.memoryMiB * g.count, 0);
    const podCount = c.pods.reduce((a, g) => a + g.count, 0);
    const allocCpu = spec.vcpu * 1000;
    const allocMem = Math.floor(spec.memoryMiB * 0.94);
    managedNodeNames.add(name);
    nodes.push({
      name,
      providerID: `aws:///${zone}/${id}`,
      managed: true,
      instanceId: id,
      instanceType: c.type,
      zone,
      arch: spec.arch,
      labels: {
        'kubernetes.io/arch': spec.arch,
        'kubernetes.io/hostname': name,
        'node.kubernetes.io/instance-type': c.type,
        'topology.kubernetes.io/zone': zone,
        'k3s-burst.io/managed': 'true',
      },
      taints: config.nodes.taints,
      ready: c.ready,
      readySince: ago(c.readyForS),
      cordoned: c.cordoned,
      createdAt: ago(Math.min(c.launchedAgoS, c.readyForS) + 30),
      allocatable: { cpuMilli: allocCpu, memoryMiB: allocMem, pods: 110 },
      requested: {
        cpuMilli: Math.min(allocCpu, podCpu + 60),
        memoryMiB: Math.min(allocMem, podMem + 80),
        pods: podCount + 2,
      },
      workloadPodCount: podCount,
      ...(c.changedAgoS === undefined ? {} : { workloadChangedAt: ago(c.changedAgoS) }),
      workloadPods: c.pods,
      blockers: c.blocked && podCount > 0 ? [{ pod: 'shop/db-0', reason: 'local-storage' }] : [],
      doNotDisrupt: c.doNotDisrupt,
    });
    if (c.draining) {
      drains.push({
        nodeName: name,
        instanceId: id,
        requestedAt: ago(300),
        deadline: ago(-c.drainDeadlineInS),
        reason: 'empty',
      });
    }
  });
  const inFlight = w.inFlight.map((f, i) => ({
    decisionId: `pi-lab-fly-${i}`,
    launchId: `pi-lab-fly-${i}-0`,
    decidedAt: ago(f.decidedAgoS),
    expiresAt: ago(f.decidedAgoS - 900),
    instanceType: f.type,
    count: f.count,
    capacityType: f.capacityType,
  }));
  const fleet = FleetState.parse({
    instances,
    inFlight,
    drains,
    unavailableOfferings: w.unavailable.map((t, i) => ({
      instanceType: t,
      zone: '*',
      capacityType: i % 2 ? 'on-demand' : 'spot',
      until: ago(-120),
    })),
    ...(w.lastScaleOutAgoS === undefined ? {} : { lastScaleOutAt: ago(w.lastScaleOutAgoS) }),
  });
  const snapshot = w.noSnapshot
    ? undefined
    : ClusterSnapshot.parse({
        schemaVersion: 1,
        cluster: 'pi-lab',
        seq: w.seq,
        observedAt: ago(w.snapshotAgeS),
        pendingShapes: w.shapes.map((s, i) => rawShape(s, i, { plain: opts.plainShapes })),
        nodes,
        daemonSets: [
          {
            name: 'monitoring/node-exporter',
            cpuMilli: 50,
            memoryMiB: 64,
            tolerations: [{ operator: 'Exists' }],
          },
          { name: 'kube-system/svclb-traefik', cpuMilli: 10, memoryMiB: 16 },
        ],
      });
  // Which nodes are on-prem is what the snapshot says; with no snapshot at all nothing is known
  // to be on-prem (the fleet only lists instances carrying this cluster's tag).
  if (!snapshot) {
    onPremNames.clear();
    onPremIds.clear();
  }
  return { snapshot, fleet, onPremNames, onPremIds, managedNodeNames };
}

function decide(config: Config, built: Built, decisionId = 'pi-lab-prop'): Plan {
  const plan = planCluster({ config, snapshot: built.snapshot, fleet: built.fleet, now: NOW, decisionId });
  Plan.parse(plan); // the output always satisfies its own schema
  return plan;
}

// ---------------------------------------------------------------- independent accounting

const LIVE = new Set(['pending', 'running', 'stopping', 'stopped']);

/** What the fleet uses before the plan: live instances + unexpired in-flight launches (never matched here). */
function usageBefore(config: Config, fleet: FleetState) {
  const catalog = buildCatalog(config);
  const u = { nodes: 0, vcpu: 0, memoryMiB: 0, usd: 0 };
  const add = (type: string, cap: CapacityType, n: number) => {
    const s = catalog.get(type);
    u.nodes += n;
    if (!s) return;
    u.vcpu += n * s.vcpu;
    u.memoryMiB += n * s.memoryMiB;
    u.usd += n * (cap === 'spot' ? s.spotHourlyUsd : s.onDemandHourlyUsd);
  };
  for (const i of fleet.instances) if (LIVE.has(i.state)) add(i.instanceType, i.capacityType, 1);
  for (const f of fleet.inFlight)
    if (Date.parse(f.expiresAt) > NOW_MS) add(f.instanceType, f.capacityType, f.count);
  return u;
}

/** The most a plan's launches can add if every instance falls back to its worst allowed type and capacity type. */
function worstCaseLaunched(config: Config, plan: Plan) {
  const catalog = buildCatalog(config);
  const w = { nodes: 0, vcpu: 0, memoryMiB: 0, usd: 0 };
  for (const l of plan.launches) {
    let vcpu = 0;
    let mem = 0;
    let usd = 0;
    for (const t of l.instanceTypes) {
      const s = catalog.get(t);
      if (!s) throw new Error(`plan launches ${t}, which the catalog does not know`);
      vcpu = Math.max(vcpu, s.vcpu);
      mem = Math.max(mem, s.memoryMiB);
      for (const c of l.capacityTypes)
        usd = Math.max(usd, c === 'spot' ? s.spotHourlyUsd : s.onDemandHourlyUsd);
    }
    w.nodes += l.count;
    w.vcpu += l.count * vcpu;
    w.memoryMiB += l.count * mem;
    w.usd += l.count * usd;
  }
  return w;
}

function reversed(b: Built): Built {
  const s = b.snapshot;
  return {
    ...b,
    snapshot: s && {
      ...s,
      nodes: [...s.nodes].reverse(),
      pendingShapes: [...s.pendingShapes].reverse(),
      daemonSets: [...s.daemonSets].reverse(),
    },
    fleet: {
      ...b.fleet,
      instances: [...b.fleet.instances].reverse(),
      inFlight: [...b.fleet.inFlight].reverse(),
      drains: [...b.fleet.drains].reverse(),
      unavailableOfferings: [...b.fleet.unavailableOfferings].reverse(),
    },
  };
}

// ---------------------------------------------------------------- properties

describe('planCluster properties', () => {
  it('never exceeds maxNodes, the active schedule max, vCPU, memory or hourly cost (even if every launch falls back to its worst allowed type)', () => {
    const seen = { launching: 0, withFallbacks: 0, clamped: 0 };
    fc.assert(
      fc.property(configArb(), worldArb, (config, w) => {
        const built = buildWorld(w, config);
        const plan = decide(config, built);
        if (plan.launches.length === 0) return;
        seen.launching++;
        if (plan.launches.some((l) => l.instanceTypes.length > 1)) seen.withFallbacks++;
        if (plan.explanations.some((e) => e.kind === 'clamp')) seen.clamped++;
        const before = usageBefore(config, built.fleet);
        const add = worstCaseLaunched(config, plan);
        const l = config.limits;
        const maxNodes = Math.min(l.maxNodes, plan.activeSchedule.maxNodes);
        expect(before.nodes + add.nodes).toBeLessThanOrEqual(maxNodes);
        expect(before.vcpu + add.vcpu).toBeLessThanOrEqual(l.maxVcpus);
        expect(before.memoryMiB + add.memoryMiB).toBeLessThanOrEqual(l.maxMemoryMiB);
        expect(before.usd + add.usd).toBeLessThanOrEqual(l.maxHourlyCostUsd + 1e-9);
      }),
      RUNS,
    );
    // Not vacuous: with this seed enough runs launch, list fallbacks and hit a clamp.
    expect(seen.launching).toBeGreaterThanOrEqual(30);
    expect(seen.withFallbacks).toBeGreaterThanOrEqual(10);
    expect(seen.clamped).toBeGreaterThanOrEqual(10);
  });

  it('never leaves more managed instances than the active max (I1): the excess is drained or terminated', () => {
    const seen = { over: 0 };
    fc.assert(
      fc.property(configArb(), worldArb, (config, w) => {
        const built = buildWorld(w, config);
        const plan = decide(config, built);
        const removed = new Set([
          ...plan.drains.map((d) => d.instanceId),
          ...plan.terminations.map((t) => t.instanceId),
        ]);
        const live = built.fleet.instances.filter((i) => LIVE.has(i.state));
        for (const d of built.fleet.drains)
          if (live.some((i) => i.instanceId === d.instanceId)) removed.add(d.instanceId);
        // An instance the snapshot shows as an on-prem node is never removed (I2 wins), so it is not counted;
        // under scaleIn.scheduleScaleDown=wait a node whose pods must not be evicted is kept, and said so (I9 wins).
        const kept = new Set(
          plan.explanations
            .filter((e) => e.kind === 'schedule' && e.message.startsWith('keep ') && e.subject)
            .map((e) => e.subject as string),
        );
        if (config.scaleIn.scheduleScaleDown === 'force') expect(kept.size).toBe(0);
        const staying = live.filter(
          (i) => !removed.has(i.instanceId) && !built.onPremIds.has(i.instanceId) && !kept.has(i.nodeName),
        ).length;
        const flying = built.fleet.inFlight
          .filter((f) => Date.parse(f.expiresAt) > NOW_MS)
          .reduce((a, f) => a + f.count, 0);
        const launched = plan.launches.reduce((a, l) => a + l.count, 0);
        const max = plan.activeSchedule.maxNodes;
        if (live.length + flying > max) seen.over++;
        // In-flight launches cannot be cancelled; everything else must fit under the ceiling.
        expect(staying).toBeLessThanOrEqual(Math.max(0, max - flying));
        if (launched > 0) expect(staying + flying + launched).toBeLessThanOrEqual(max);
      }),
      RUNS,
    );
    expect(seen.over).toBeGreaterThanOrEqual(20);
  });

  it('never drains, terminates or deletes an on-prem node, and never touches an instance outside the managed fleet', () => {
    const seen = { acted: 0, refused: 0 };
    fc.assert(
      fc.property(configArb(), worldArb, (config, w) => {
        const built = buildWorld(w, config);
        const plan = decide(config, built);
        if (plan.drains.length + plan.terminations.length + plan.nodeDeletions.length > 0) seen.acted++;
        if (plan.explanations.some((e) => e.message.startsWith('refused to '))) seen.refused++;
        const fleetIds = new Set(built.fleet.instances.map((i) => i.instanceId));
        for (const d of plan.drains) {
          expect(built.onPremNames.has(d.nodeName)).toBe(false);
          expect(built.onPremIds.has(d.instanceId)).toBe(false);
          expect(fleetIds.has(d.instanceId)).toBe(true);
        }
        for (const t of plan.terminations) {
          expect(built.onPremIds.has(t.instanceId)).toBe(false);
          if (t.nodeName !== undefined) expect(built.onPremNames.has(t.nodeName)).toBe(false);
          expect(fleetIds.has(t.instanceId)).toBe(true);
        }
        for (const d of plan.nodeDeletions) {
          expect(built.onPremNames.has(d.nodeName)).toBe(false);
          expect(built.managedNodeNames.has(d.nodeName)).toBe(true);
        }
      }),
      RUNS,
    );
    expect(seen.acted).toBeGreaterThanOrEqual(50);
    expect(seen.refused).toBeGreaterThanOrEqual(3);
  });

  it('covers every helpable pending pod when the limits allow', () => {
    const calm = worldArb.map((w) => ({
      ...w,
      snapshotAgeS: w.snapshotAgeS % 60,
      noSnapshot: false,
      // Nothing already on its way, nothing recently unavailable: all capacity must come from launches.
      cloud: w.cloud.map((c) => ({
        ...c,
        state: 'running' as const,
        registered: true,
        orphanNode: false,
        ready: true,
      })),
      inFlight: [],
      unavailable: [],
    }));
    const seen = { launching: 0, unhelpable: 0, existing: 0 };
    fc.assert(
      fc.property(configArb({ big: true }), calm, (config, w) => {
        const built = buildWorld(w, config, { plainShapes: true });
        const plan = decide(config, built);
        const answers = plan.podAnswers ?? [];
        if (plan.launches.length > 0) seen.launching++;
        if (plan.unhelpable.length > 0) seen.unhelpable++;
        if (answers.some((a) => a.kind === 'fits-on-existing')) seen.existing++;
        const pending = (built.snapshot?.pendingShapes ?? []).reduce((a, s) => a + s.count, 0);
        const covered = plan.launches.reduce((a, l) => a + l.podsCovered, 0);
        const unhelpable = plan.unhelpable.reduce((a, u) => a + u.count, 0);
        const onExisting = answers
          .filter((a) => a.kind === 'fits-on-existing')
          .reduce((a, x) => a + x.count, 0);
        expect(covered + unhelpable + onExisting).toBe(pending);
        expect(plan.explanations.filter((e) => e.kind === 'clamp')).toEqual([]);
        for (const s of built.snapshot?.pendingShapes ?? []) {
          const mine = answers.filter((a) => a.shapeId === s.id);
          expect(mine.reduce((a, x) => a + x.count, 0)).toBe(s.count);
          for (const a of mine) expect(['launched-for', 'fits-on-existing', 'unhelpable']).toContain(a.kind);
          const launched = plan.launches.some((l) => l.shapeIds.includes(s.id));
          expect(launched).toBe(mine.some((a) => a.kind === 'launched-for'));
        }
      }),
      RUNS,
    );
    expect(seen.launching).toBeGreaterThanOrEqual(150);
    expect(seen.unhelpable).toBeGreaterThanOrEqual(10);
    expect(seen.existing).toBeGreaterThanOrEqual(5);
  });

  it('answers for every pending pod exactly once, whatever the limits and the fleet', () => {
    const seen = { held: 0, inFlight: 0 };
    fc.assert(
      fc.property(configArb(), worldArb, (config, w) => {
        const built = buildWorld(w, config);
        const plan = decide(config, built);
        if (plan.agentStale || !built.snapshot) return;
        const answers = plan.podAnswers ?? [];
        if (answers.some((a) => a.kind === 'held-by-limit')) seen.held++;
        if (answers.some((a) => a.kind === 'fits-in-flight')) seen.inFlight++;
        for (const s of built.snapshot.pendingShapes) {
          const mine = answers.filter((a) => a.shapeId === s.id);
          expect(mine.reduce((a, x) => a + x.count, 0)).toBe(s.count);
        }
        const launched = answers.filter((a) => a.kind === 'launched-for').reduce((a, x) => a + x.count, 0);
        expect(launched).toBe(plan.launches.reduce((a, l) => a + l.podsCovered, 0));
        for (const a of answers.filter((x) => x.kind === 'held-by-limit')) expect(a.limit).toBeDefined();
      }),
      RUNS,
    );
    expect(seen.held).toBeGreaterThanOrEqual(10);
    expect(seen.inFlight).toBeGreaterThanOrEqual(10);
  });

  it('is deterministic: the same inputs, in any order, give the same plan', () => {
    fc.assert(
      fc.property(configArb(), worldArb, (config, w) => {
        const built = buildWorld(w, config);
        const a = decide(config, built);
        const b = decide(config, buildWorld(w, config));
        const c = decide(config, reversed(built));
        expect(b).toEqual(a);
        expect(c).toEqual(a);
      }),
      RUNS,
    );
  });

  it('never launches (warm capacity included), drains or repairs on a stale snapshot', () => {
    const stale = fc.tuple(configArb(), worldArb).map(([config, w]) => ({
      config,
      w: { ...w, snapshotAgeS: config.agent.staleAfterSeconds + 1 + (w.snapshotAgeS % 7200) },
    }));
    const seen = { warmWanted: 0, removing: 0 };
    fc.assert(
      fc.property(stale, ({ config, w }) => {
        const built = buildWorld(w, config);
        const plan = decide(config, built);
        if (plan.activeSchedule.minNodes > 0) seen.warmWanted++;
        if (plan.terminations.length + plan.drains.length > 0) seen.removing++;
        expect(plan.agentStale).toBe(true);
        // docs/architecture.md: nothing is launched while the agent is stale, warm capacity (minNodes) included.
        expect(plan.launches).toEqual([]);
        // No scale-in or repair (I8): drains only for the schedule ceiling, terminations only for
        // the ceiling, abandonment or a drain whose deadline has passed; no Node deletions.
        expect(plan.nodeDeletions).toEqual([]);
        // (The final on-prem safety pass may explain a refusal under kind "repair": that is not a repair.)
        expect(
          plan.explanations.filter((e) => e.kind === 'repair' && !e.message.startsWith('refused to ')),
        ).toEqual([]);
        const kindOf = (subject: string) => plan.explanations.find((e) => e.subject === subject)?.kind;
        for (const d of plan.drains) expect(kindOf(d.nodeName)).toBe('schedule');
        for (const t of plan.terminations) {
          const kind = kindOf(t.nodeName ?? t.instanceId);
          expect(['schedule', 'stale', 'scale-in']).toContain(kind);
          if (kind === 'scale-in') {
            const drain = built.fleet.drains.find((d) => d.instanceId === t.instanceId);
            expect(drain && Date.parse(drain.deadline) <= NOW_MS).toBe(true);
          }
        }
      }),
      RUNS,
    );
    expect(seen.warmWanted).toBeGreaterThanOrEqual(10);
    expect(seen.removing).toBeGreaterThanOrEqual(20);
  });
});
