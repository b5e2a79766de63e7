/**
 * Fault injection: from one seed, a random cluster, workload, config and set of faults,
 * simulated with the invariant checker on. Seeds are independent, so a failure reproduces
 * with `k3s-burst simulate --chaos --seeds 1 --from-seed S`.
 */
import { loadConfig } from '../core/index.js';
import { type Config, type ConfigInput, Labels } from '../events/index.js';
import { runSeedsOnWorkers } from './chaos-pool.js';
import { CLOUD_TOLERATION, DEFAULT_CANDIDATE_TYPES, DEFAULT_CONFIG } from './defaults.js';
import { type SimResult, simulate } from './engine.js';
import type { Violation } from './invariants.js';
import { Rng } from './rng.js';
import { parseScenario, type Scenario, type ScenarioInput, type Workload } from './scenario.js';

/** Simulated length of one chaos run: long enough for registration timeouts, drains and abandonment. */
export const CHAOS_HOURS = 2.5;

export interface ChaosCase {
  seed: number;
  scenario: Scenario;
  config: Config;
}

export interface ChaosOutcome {
  seed: number;
  violations: Violation[];
  result: SimResult;
}

function hhmm(minutes: number): string {
  const m = ((Math.round(minutes) % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** Build the random case of a seed. Pure: the same seed always gives the same case. */
export function chaosCase(seed: number, hours = CHAOS_HOURS): ChaosCase {
  const r = new Rng(seed ^ 0x5eed);
  // Runs start at 08:00 UTC on the Monday; times below are minutes after that.
  const startMin = 8 * 60;
  const span = hours * 60;
  const at = (fromFrac: number, toFrac: number) =>
    hhmm(startMin + span * (fromFrac + r.next() * (toFrac - fromFrac)));

  const pis = r.int(1, 4);
  const onPrem: ScenarioInput['onPrem'] = [];
  for (let i = 0; i < pis; i++) {
    onPrem.push({ name: `pi-${i + 1}`, cpuMilli: r.pick([2000, 4000]), memoryMiB: r.pick([3800, 7800]) });
  }
  const tolerate = () => (r.chance(0.8) ? [CLOUD_TOLERATION] : []);
  const size = () => ({
    cpuMilli: r.pick([100, 250, 500, 1000, 1500, 2000, 3000, 7000, 40_000]),
    memoryMiB: r.pick([128, 256, 512, 1024, 2048, 4096, 12_000, 300_000]),
  });
  const workloads: Workload[] = [];
  const nServices = r.int(0, 3);
  for (let i = 0; i < nServices; i++) {
    const replicas = r.int(1, 6);
    workloads.push({
      kind: 'service',
      name: `svc-${i}`,
      replicas,
      ...size(),
      nodeSelector: {},
      requiredAffinity: [],
      tolerations: tolerate(),
      usesLocalVolume: r.chance(0.15),
      doNotDisrupt: r.chance(0.1),
      readySeconds: 0,
      pdb: r.chance(0.5) ? { minAvailable: r.int(0, replicas) } : undefined,
      between: r.chance(0.3) ? [at(0, 0.3), at(0.4, 0.9)] : undefined,
    });
  }
  const nBursts = r.int(1, 4);
  for (let i = 0; i < nBursts; i++) {
    workloads.push({
      kind: 'burst',
      name: `burst-${i}`,
      at: at(0, 0.7),
      daily: false,
      pods: r.int(1, 40),
      spreadSeconds: r.int(0, 300),
      duration: { medianSeconds: r.pick([60, 300, 900, 2400]), sigma: 0.4 },
      ...size(),
      nodeSelector: r.chance(0.2) ? { 'kubernetes.io/arch': r.pick(['arm64', 'amd64']) } : {},
      requiredAffinity: [],
      tolerations: tolerate(),
      usesLocalVolume: r.chance(0.05),
    });
  }
  if (r.chance(0.6)) {
    workloads.push({
      kind: 'poisson',
      name: 'jobs',
      ratePerHour: r.pick([2, 10, 30]),
      between: ['00:00', '23:59'],
      duration: { medianSeconds: r.pick([120, 600]), sigma: 0.5 },
      cpuMilli: r.pick([250, 1000, 2000]),
      memoryMiB: r.pick([512, 2048]),
      nodeSelector: {},
      requiredAffinity: [],
      tolerations: tolerate(),
      usesLocalVolume: false,
    });
  }

  // Config: the example's shape with random limits, timings and a schedule that changes mid-run.
  const maxNodes = r.int(1, 8);
  const staleAfterSeconds = r.pick([60, 120, 300]);
  const schedules: NonNullable<ConfigInput['schedules']> = [];
  if (r.chance(0.7)) {
    const dropAt = startMin + span * (0.3 + r.next() * 0.5);
    schedules.push(
      { name: 'day', cron: `0 0 * * *`, timezone: 'UTC', minNodes: r.chance(0.2) ? 1 : 0, maxNodes },
      {
        name: 'evening',
        cron: `${Math.floor(dropAt % 60)} ${Math.floor(dropAt / 60) % 24} * * *`,
        timezone: 'UTC',
        minNodes: 0,
        maxNodes: r.int(0, maxNodes),
      },
    );
  }
  const configInput: ConfigInput = {
    ...DEFAULT_CONFIG,
    nodes: {
      ...DEFAULT_CONFIG.nodes,
      capacityTypes: r.pick([['spot', 'on-demand'], ['on-demand'], ['spot']] as const).slice(),
      candidateTypes: r
        .pick([DEFAULT_CANDIDATE_TYPES, ['m7g.large', 'c7g.xlarge'], ['t4g.large', 't3.large']])
        .slice(),
    },
    limits: {
      maxNodes,
      maxVcpus: r.pick([8, 32, 64]),
      maxMemoryMiB: 131_072,
      maxHourlyCostUsd: r.pick([0.5, 2.5, 10]),
    },
    scaleIn: {
      // Drawn from its own stream below (force or the default wait).
      scheduleScaleDown: 'force',
      emptyAfterSeconds: r.pick([60, 300, 600]),
      delayAfterScaleOutSeconds: r.pick([0, 120, 600]),
      maxConcurrentDrains: r.int(1, 3),
      drainTimeoutSeconds: r.pick([60, 180, 600]),
      consolidation: {
        enabled: r.chance(0.7),
        utilizationThresholdPercent: 50,
        underutilizedAfterSeconds: r.pick([120, 900]),
      },
    },
    repairs: {
      registrationTimeoutSeconds: r.pick([120, 300, 900]),
      unhealthyAfterSeconds: r.pick([60, 300, 600]),
      maxUnhealthyFraction: r.pick([0.2, 0.5]),
    },
    agent: {
      // Below the stale mark, as the config validator requires (same random draw as before).
      heartbeatSeconds: Math.min(r.pick([30, 60, 120]), staleAfterSeconds / 2),
      staleAfterSeconds,
      abandonAfterSeconds: staleAfterSeconds + r.pick([300, 900, 1800]),
    },
    schedules,
    launch: { unavailableOfferingTtlSeconds: r.pick([60, 180]), inFlightTtlSeconds: r.pick([120, 900]) },
  };

  const faults: ScenarioInput['faults'] = {
    capacityErrors: [],
    brokenLaunchSetups: [],
    spotInterruptionsPerNodeHour: r.chance(0.5) ? r.pick([0.2, 1, 3]) : 0,
    tailscaleOutages: [],
    agentOutages: [],
    agentRestarts: [],
    delivery: {
      latencyMs: r.int(50, 2000),
      extraDelayMaxMs: r.pick([0, 5000, 60_000, 240_000]),
      delayProbability: r.pick([0, 0.05, 0.3]),
      duplicateProbability: r.pick([0, 0.05, 0.3]),
      dropProbability: r.pick([0, 0.01, 0.1]),
      // Own stream: adding this fault left every other draw of a seed (and the regression seeds) as it was.
      concurrentReconcileProbability: new Rng(seed ^ 0x11ea5e).pick([0, 0.05, 0.3]),
    },
  };
  const nCap = r.int(0, 3);
  for (let i = 0; i < nCap; i++) {
    faults.capacityErrors?.push({
      instanceType: r.chance(0.5) ? '*' : r.pick(['t4g.medium', 'm7g.large', 'c7g.xlarge', 't4g.large']),
      zone: r.pick(['*', 'a', 'b']),
      capacityType: r.pick(['*', 'spot', 'on-demand'] as const),
      from: at(0, 0.6),
      to: at(0.6, 1),
    });
  }
  // Quota refusals and a broken launch setup (I10), from their own stream so that every other
  // draw of a seed (and the regression seeds) stays as it was.
  const f = new Rng(seed ^ 0x1910);
  const atF = (fromFrac: number, toFrac: number) =>
    hhmm(startMin + span * (fromFrac + f.next() * (toFrac - fromFrac)));
  // Replicas that take a while to turn Ready: a PDB then blocks a drain's next eviction until
  // the evicted replica is Ready elsewhere, which may be after the drain's deadline (I9).
  for (const w of workloads) if (w.kind === 'service') w.readySeconds = f.pick([0, 30, 120, 600]);
  // A schedule that lowers the max drains voluntarily under the default `wait` (PDBs hold, I9)
  // and by force at the deadline under `force`; the I1 check knows which.
  if (configInput.scaleIn) configInput.scaleIn.scheduleScaleDown = f.pick(['wait', 'force'] as const);
  // Lambdas that die between two steps of a use-case, and an agent whose clock is off: within
  // the 60 s the control plane accepts, or beyond it (ahead: its snapshots are refused).
  const delivery = faults.delivery;
  if (delivery) delivery.crashProbability = f.pick([0, 0, 0.02, 0.1]);
  faults.agentClockSkewSeconds = f.pick([0, 0, 0, 20, -45, 90, -120]);
  if (f.chance(0.4)) {
    // A replicated service that runs only in the cloud, under a PDB that allows one replica down:
    // a consolidation drain of a node with two of its replicas must wait for the first one's
    // replacement to be Ready before it may evict the second.
    const replicas = f.int(2, 6);
    workloads.push({
      kind: 'service',
      name: 'cloud-web',
      replicas,
      cpuMilli: f.pick([100, 250, 500]),
      memoryMiB: f.pick([128, 256, 512]),
      nodeSelector: { [Labels.region]: DEFAULT_CONFIG.cluster.region },
      requiredAffinity: [],
      tolerations: [CLOUD_TOLERATION],
      usesLocalVolume: false,
      doNotDisrupt: false,
      pdb: { minAvailable: replicas - 1 },
      readySeconds: f.pick([120, 300, 600]),
      ...(f.chance(0.3) ? { between: [atF(0, 0.2), atF(0.5, 0.9)] as [string, string] } : {}),
    });
  }
  if (f.chance(0.3)) {
    faults.capacityErrors?.push({
      instanceType: '*',
      zone: '*',
      capacityType: f.pick(['spot', 'on-demand'] as const),
      from: atF(0, 0.4),
      to: atF(0.5, 1),
      code: f.pick(['VcpuLimitExceeded', 'InstanceLimitExceeded'] as const),
    });
  }
  if (f.chance(0.35)) {
    faults.brokenLaunchSetups?.push({
      instanceType: f.pick(configInput.nodes?.candidateTypes ?? DEFAULT_CANDIDATE_TYPES),
      capacityType: f.pick(['*', 'spot', 'on-demand'] as const),
      from: atF(0, 0.3),
      to: atF(0.6, 1),
    });
  }
  if (r.chance(0.35)) {
    faults.tailscaleOutages?.push({
      at: at(0.1, 0.7),
      durationMinutes: r.int(2, 60),
      agentAffected: r.chance(0.4),
    });
  }
  if (r.chance(0.3)) faults.agentOutages?.push({ at: at(0, 0.8), durationMinutes: r.int(1, 90) });
  if (r.chance(0.3)) faults.agentRestarts?.push(at(0, 1));

  // A warm pool (lib/core/warm-pool.ts) when on-demand is allowed, from its own stream: stopped
  // members started for pods, parked, aged out and trimmed by a schedule, beside every fault.
  const w = new Rng(seed ^ 0x3a4d);
  const warmStart = {
    boot: { medianSeconds: w.pick([8, 13, 25]), sigma: 0.4 },
    join: { medianSeconds: w.pick([3, 6, 15]), sigma: 0.3 },
  };
  if (configInput.nodes?.capacityTypes?.includes('on-demand') && w.chance(0.4)) {
    const candidates = configInput.nodes.candidateTypes ?? DEFAULT_CANDIDATE_TYPES;
    configInput.warmPool = {
      size: w.int(1, 3),
      ...(w.chance(0.5) ? { instanceTypes: [w.pick(candidates)] } : {}),
      maxAgeHours: w.pick([1, 168]),
    };
    for (const s of schedules) if (w.chance(0.5)) s.warmPoolSize = w.int(0, 3);
  }

  const scenarioInput: ScenarioInput = {
    name: `chaos-${seed}`,
    start: '2026-03-16T08:00:00Z',
    hours,
    onPrem,
    daemonSets: r.chance(0.7) ? [{ name: 'node-exporter', cpuMilli: 50, memoryMiB: 64 }] : [],
    workloads,
    cloud: {
      boot: { medianSeconds: r.pick([30, 45, 90]), sigma: 0.3 },
      join: { medianSeconds: r.pick([10, 20, 60]), sigma: 0.4 },
      shutdownSeconds: 30,
      failedBootProbability: r.pick([0, 0, 0.1, 0.3]),
      zones: ['a', 'b'],
      warmStart,
    },
    faults,
  };
  return {
    seed,
    scenario: parseScenario(scenarioInput, `chaos seed ${seed}`),
    config: loadConfig(configInput, `chaos seed ${seed} config`),
  };
}

/** Run one chaos seed. */
export async function runChaosSeed(seed: number, hours = CHAOS_HOURS): Promise<ChaosOutcome> {
  const c = chaosCase(seed, hours);
  const result = await simulate({ scenario: c.scenario, config: c.config, seed, recordDecisions: false });
  return { seed, violations: result.violations, result };
}

/**
 * Run seeds `from … from+count-1`; stops early after `stopAfter` failing seeds. With `workers`
 * > 1 the seeds run on that many worker threads (lib/sim/chaos-pool.ts); `onSeed`, the early
 * stop and the failures returned are the same as with one, only sooner.
 */
export async function runChaos(opts: {
  seeds: number;
  fromSeed?: number;
  hours?: number;
  stopAfter?: number;
  /** Worker threads (default 1: the seeds run in this thread, one after another). */
  workers?: number;
  onSeed?: (done: number, outcome: ChaosOutcome) => void;
}): Promise<ChaosOutcome[]> {
  const from = opts.fromSeed ?? 1;
  const failures: ChaosOutcome[] = [];
  let done = 0;
  /** Take one outcome (in seed order); false once the run should stop. */
  const take = (outcome: ChaosOutcome): boolean => {
    if (outcome.violations.length > 0) failures.push(outcome);
    opts.onSeed?.(++done, outcome);
    return opts.stopAfter === undefined || failures.length < opts.stopAfter;
  };
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(
      `workers must be an integer ≥ 1 (got ${workers}): the number of threads to run seeds on`,
    );
  }
  if (workers > 1 && opts.seeds > 1) {
    await runSeedsOnWorkers({
      from,
      count: opts.seeds,
      hours: opts.hours ?? CHAOS_HOURS,
      workers,
      onOutcome: take,
    });
    return failures;
  }
  for (let i = 0; i < opts.seeds; i++) {
    if (!take(await runChaosSeed(from + i, opts.hours))) break;
  }
  return failures;
}
