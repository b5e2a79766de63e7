import { readFileSync } from 'node:fs';
import * as z from 'zod';
import {
  CapacityType,
  jsonPath,
  LabelMap,
  NodeSelectorTerm,
  parseOrThrow,
  Taint,
  Toleration,
  ValidationError,
} from '../events/index.js';

/**
 * The scenario file of `k3s-burst simulate --scenario FILE`: the cluster you have (Pis),
 * the work it runs, how the cloud behaves and which faults to inject. Clock times are
 * `HH:MM` in UTC on the scenario's days; durations carry their unit in the field name.
 */

const ClockTime = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a UTC clock time "HH:MM" such as "10:00"');

const LogNormalSeconds = z.strictObject({
  medianSeconds: z.number().positive(),
  sigma: z.number().min(0).max(2).default(0.3),
});

const PodTemplate = {
  cpuMilli: z.number().int().min(1).max(256_000),
  memoryMiB: z.number().int().min(1).max(2_097_152),
  nodeSelector: LabelMap.default({}),
  requiredAffinity: z.array(NodeSelectorTerm).default([]),
  tolerations: z.array(Toleration).default([]),
  usesLocalVolume: z.boolean().default(false),
};

const Pdb = z.strictObject({
  minAvailable: z.number().int().min(0).describe('Pods of this workload that must stay up during drains.'),
});

/** Long-running replicas (a Deployment). */
const ServiceWorkload = z.strictObject({
  kind: z.literal('service'),
  name: z.string().regex(/^[a-z0-9-]{1,40}$/, 'use lowercase letters, digits and "-"'),
  replicas: z.number().int().min(1).max(500),
  /** Optional window: replicas exist only between these clock times (e.g. business hours). */
  between: z.tuple([ClockTime, ClockTime]).optional(),
  pdb: Pdb.optional(),
  doNotDisrupt: z.boolean().default(false),
  /**
   * Seconds from binding until a replica is Ready (image pull, readiness probe). A
   * PodDisruptionBudget counts Ready replicas, so a drain may wait for a recreated one.
   */
  readySeconds: z.number().int().min(0).max(3600).default(0),
  ...PodTemplate,
});

/** A burst of run-to-completion pods (a CI pipeline, a batch job) at a clock time. */
const BurstWorkload = z.strictObject({
  kind: z.literal('burst'),
  name: z.string().regex(/^[a-z0-9-]{1,40}$/, 'use lowercase letters, digits and "-"'),
  at: ClockTime,
  /** Repeat on every simulated day. */
  daily: z.boolean().default(false),
  pods: z.number().int().min(1).max(5000),
  /** Pods arrive uniformly over this many seconds after `at`. */
  spreadSeconds: z.number().int().min(0).max(86_400).default(60),
  duration: LogNormalSeconds,
  ...PodTemplate,
});

/** Random arrivals (a Poisson process) of run-to-completion pods inside a daily window. */
const PoissonWorkload = z.strictObject({
  kind: z.literal('poisson'),
  name: z.string().regex(/^[a-z0-9-]{1,40}$/, 'use lowercase letters, digits and "-"'),
  ratePerHour: z.number().positive().max(10_000),
  between: z.tuple([ClockTime, ClockTime]).default(['00:00', '23:59']),
  duration: LogNormalSeconds,
  ...PodTemplate,
});

export const Workload = z.discriminatedUnion('kind', [ServiceWorkload, BurstWorkload, PoissonWorkload]);
export type Workload = z.infer<typeof Workload>;

const OnPremNode = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'expected a Kubernetes node name'),
  /** Free text for the report, e.g. "Raspberry Pi 5 8 GB". */
  model: z.string().default('Raspberry Pi'),
  cpuMilli: z.number().int().min(100),
  memoryMiB: z.number().int().min(128),
  maxPods: z.number().int().min(1).default(110),
  labels: LabelMap.default({}),
  taints: z.array(Taint).default([]),
});

const DaemonSet = z.strictObject({
  name: z.string().min(1),
  cpuMilli: z.number().int().min(0),
  memoryMiB: z.number().int().min(0),
  nodeSelector: LabelMap.default({}),
  tolerations: z.array(Toleration).default([{ operator: 'Exists' }]),
});

const CapacityErrorWindow = z.strictObject({
  instanceType: z.string().default('*'),
  zone: z.string().default('*'),
  capacityType: z.union([CapacityType, z.literal('*')]).default('*'),
  from: ClockTime,
  to: ClockTime,
  /**
   * The EC2 error RunInstances answers: a capacity error (the launcher falls back and marks the
   * offering unavailable) or a quota error (the quota is backed off, I10).
   */
  code: z
    .enum([
      'InsufficientInstanceCapacity',
      'MaxSpotInstanceCountExceeded',
      'VcpuLimitExceeded',
      'InstanceLimitExceeded',
    ])
    .default('InsufficientInstanceCapacity'),
});

/** A launch setup that is broken for a while (a bad AMI or user data): its instances boot but never register. */
const BrokenLaunchSetup = z.strictObject({
  instanceType: z.string().default('*'),
  capacityType: z.union([CapacityType, z.literal('*')]).default('*'),
  /** Instances launched in this window [from, to) never register. */
  from: ClockTime,
  to: ClockTime,
});

const TailscaleOutage = z.strictObject({
  at: ClockTime,
  durationMinutes: z.number().int().min(1).max(1440),
  /** Also cut the agent off from AWS (a home-internet outage rather than a Tailscale one). */
  agentAffected: z.boolean().default(false),
});

const AgentOutage = z.strictObject({
  at: ClockTime,
  durationMinutes: z.number().int().min(1).max(1440),
});

const Delivery = z.strictObject({
  /** Normal EventBridge/SQS latency. */
  latencyMs: z.number().int().min(0).max(60_000).default(400),
  /** Extra random delay up to this much, applied to a fraction `delayProbability` of events. */
  extraDelayMaxMs: z.number().int().min(0).max(600_000).default(0),
  delayProbability: z.number().min(0).max(1).default(0),
  duplicateProbability: z.number().min(0).max(1).default(0),
  dropProbability: z.number().min(0).max(0.5).default(0),
  /**
   * Two reconciles at once: this fraction of the snapshots delivered to reconcile arrive at the
   * same moment as a scheduled tick, and both invocations run concurrently (the lease decides).
   */
  concurrentReconcileProbability: z.number().min(0).max(1).default(0),
  /**
   * This fraction of Lambda invocations die (a timeout, an out-of-memory kill) right after one of
   * their port calls, chosen at random; Lambda retries the event (at most twice).
   */
  crashProbability: z.number().min(0).max(1).default(0),
});

/** A Lambda that dies right after a given port call returned (`fleet.launchOne`, `state.acquireLease`, …). */
const LambdaCrash = z.strictObject({
  fn: z.enum(['reconcile', 'launch', 'terminate', 'interruption', 'janitor']),
  after: z
    .string()
    .regex(
      /^(fleet|state|devices|secrets|bus)\.[A-Za-z]+$/,
      'name a port call as port.method, e.g. fleet.launchOne or state.recordInFlight',
    ),
  /** How many invocations die there (the first ones that reach it). */
  times: z.number().int().min(1).max(100).default(1),
});

/** A start-up profile: how long a new instance takes to boot and to join. */
export interface StartupProfile {
  boot: { medianSeconds: number; sigma: number };
  join: { medianSeconds: number; sigma: number };
}

/**
 * Start-up distributions (log-normal) of a burst node, per image kind (issue 17). Estimates
 * assembled from published figures, not measurements: examples/scenarios/README.md gives each source, and
 * `k3s-burst verify` measures your own (put them in the scenario's `cloud.boot`/`cloud.join`).
 * - `stock`: stock Ubuntu; the bootstrap installs Tailscale and downloads K3s at every boot.
 *   EKS nodes reach the end of cloud-init about 38 s after launch and Ready at 80–100 s
 *   (aws/karpenter-provider-aws#3102); ours adds the Tailscale package install and the K3s
 *   download: boot (→ tailscale up) median 60 s, join (→ Ready) median 25 s, 85 s in all.
 * - `prebaked`: an image from `k3s-burst bake` (nothing to install or download): Karpenter's
 *   maintainers see nodes Ready in about 30–40 s on images with everything in them
 *   (aws/karpenter-provider-aws#6165): boot median 24 s, join median 12 s, 36 s in all.
 * - `warm`: a stopped warm-pool member started (StartInstances; `cloud.warmStart`, not an
 *   image). Stratos claims about 20 s from standby for a stopped Kubernetes node, the closest
 *   anchor; the EC2 part alone ranges from about 5 s (Depot, a tuned image on a hydrated volume,
 *   depot.dev 2024) to 21 s measured from StartInstances to SSH on Amazon Linux 2023
 *   (brevdev/ec2-coldboot-research, 2026). Boot (→ tailscaled back online) median 13 s with a
 *   wide spread (σ 0.4), join (the warm-start unit, then k3s-agent registers the Node again →
 *   Ready) median 6 s: 19 s in all.
 */
export const STARTUP_PROFILES: Readonly<Record<ImageProfile | 'warm', StartupProfile>> = {
  stock: { boot: { medianSeconds: 60, sigma: 0.3 }, join: { medianSeconds: 25, sigma: 0.3 } },
  prebaked: { boot: { medianSeconds: 24, sigma: 0.2 }, join: { medianSeconds: 12, sigma: 0.25 } },
  warm: { boot: { medianSeconds: 13, sigma: 0.4 }, join: { medianSeconds: 6, sigma: 0.3 } },
};

/** The image a launched node boots from: what `cloud.startup` and `--startup` choose. */
export type ImageProfile = 'stock' | 'prebaked';

export const Scenario = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().min(1).max(80),
  description: z.string().default(''),
  /** Start of the simulation (UTC). A Monday keeps weekday schedules simple to read. */
  start: z.iso.datetime({ offset: true }).default('2026-03-16T00:00:00Z'),
  hours: z
    .number()
    .positive()
    .max(24 * 14)
    .default(24),
  /** Inline config (same schema as k3s-burst.config.json); `--config` overrides it. */
  config: z.unknown().optional(),
  onPrem: z.array(OnPremNode).min(1).max(500),
  daemonSets: z.array(DaemonSet).default([]),
  workloads: z.array(Workload).default([]),
  cloud: z
    .strictObject({
      /**
       * Which start-up distributions to use when `boot`/`join` are not given
       * ({@link STARTUP_PROFILES}, sources in examples/scenarios/README.md).
       */
      startup: z.enum(['stock', 'prebaked']).default('stock'),
      /** RunInstances → the bootstrap's `tailscale up` done. Default: the startup profile's. */
      boot: LogNormalSeconds.optional(),
      /** Tailscale up → Node Ready. Default: the startup profile's. */
      join: LogNormalSeconds.optional(),
      /**
       * A stopped warm-pool member started: `boot` = StartInstances → tailscaled online again,
       * `join` = → its Node Ready again. Each part defaults to {@link STARTUP_PROFILES}.warm's.
       */
      warmStart: z
        .strictObject({ boot: LogNormalSeconds.optional(), join: LogNormalSeconds.optional() })
        .optional(),
      shutdownSeconds: z.number().int().min(1).max(600).default(30),
      /** Instances that never register (broken bootstrap), as a probability per launch. */
      failedBootProbability: z.number().min(0).max(1).default(0),
      zones: z.array(z.string()).min(1).default(['a', 'b']),
    })
    .default({ startup: 'stock', shutdownSeconds: 30, failedBootProbability: 0, zones: ['a', 'b'] })
    .transform(({ startup, boot, join, warmStart, ...rest }) => ({
      startup,
      boot: boot ?? STARTUP_PROFILES[startup].boot,
      join: join ?? STARTUP_PROFILES[startup].join,
      warmStart: {
        boot: warmStart?.boot ?? STARTUP_PROFILES.warm.boot,
        join: warmStart?.join ?? STARTUP_PROFILES.warm.join,
      },
      ...rest,
    })),
  faults: z
    .strictObject({
      capacityErrors: z.array(CapacityErrorWindow).default([]),
      brokenLaunchSetups: z.array(BrokenLaunchSetup).default([]),
      lambdaCrashes: z.array(LambdaCrash).default([]),
      /**
       * The agent's clock runs this many seconds ahead (positive) or behind (negative) of true
       * time: its snapshots' observedAt and its drain deadlines follow it. The control plane
       * refuses snapshots dated more than 60 s ahead of its own clock (I12).
       */
      agentClockSkewSeconds: z.number().int().min(-3600).max(3600).default(0),
      /** Spot interruption warnings per spot-node-hour (2-minute notice, then the instance is reclaimed). */
      spotInterruptionsPerNodeHour: z.number().min(0).max(60).default(0),
      tailscaleOutages: z.array(TailscaleOutage).default([]),
      agentOutages: z.array(AgentOutage).default([]),
      /** Agent restarts at these times (a new pod: batch state lost, seq continues from wall time). */
      agentRestarts: z.array(ClockTime).default([]),
      delivery: Delivery.default({
        latencyMs: 400,
        extraDelayMaxMs: 0,
        delayProbability: 0,
        duplicateProbability: 0,
        dropProbability: 0,
        concurrentReconcileProbability: 0,
        crashProbability: 0,
      }),
    })
    .default({
      capacityErrors: [],
      brokenLaunchSetups: [],
      lambdaCrashes: [],
      agentClockSkewSeconds: 0,
      spotInterruptionsPerNodeHour: 0,
      tailscaleOutages: [],
      agentOutages: [],
      agentRestarts: [],
      delivery: {
        latencyMs: 400,
        extraDelayMaxMs: 0,
        delayProbability: 0,
        duplicateProbability: 0,
        dropProbability: 0,
        concurrentReconcileProbability: 0,
        crashProbability: 0,
      },
    }),
});
/** The scenario with a start-up profile's boot and join distributions (`simulate --startup`, the demo). */
export function withStartup(scenario: Scenario, startup: ImageProfile): Scenario {
  const p = STARTUP_PROFILES[startup];
  return { ...scenario, cloud: { ...scenario.cloud, startup, boot: p.boot, join: p.join } };
}

export type ScenarioInput = z.input<typeof Scenario>;
export type Scenario = z.output<typeof Scenario>;

/** Parse a scenario object; errors name `what` (usually the file) and each field's JSON path. */
export function parseScenario(raw: unknown, what: string): Scenario {
  return parseOrThrow(Scenario, raw, what);
}

/** Read and parse a scenario file. JSON syntax errors are reported as a ValidationError at `$`. */
export function loadScenarioFile(path: string): Scenario {
  return parseScenario(readJsonFile(path), path);
}

/** Read a JSON file, turning a syntax error into a ValidationError naming the file. */
export function readJsonFile(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(path, [
      { path: jsonPath([]), message: `not valid JSON (${(err as Error).message})` },
    ]);
  }
}

/** JSON Schema of the scenario file, for editors (`$schema`). */
export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(Scenario, { io: 'input', unrepresentable: 'any' });
}

/** Minutes after midnight of an `HH:MM` clock time. */
export function clockMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}
