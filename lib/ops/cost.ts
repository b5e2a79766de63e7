/**
 * The monthly cost of a deployed k3s-burst stack at rest: no cloud node running, the agent
 * reporting, the ticks firing. One pure function computes it from the config and a dated
 * price table; `k3s-burst status` prints it and docs/operations.md ("Cost at rest") shows the
 * same lines for the default config — a test checks the doc against this function.
 *
 * Why it exists: "serverless" does not mean free. Most of the bill at rest is fixed
 * (secrets, alarms, the dashboard, custom metrics); the rest scales with how often the agent
 * reports (`agent.heartbeatSeconds`) and the 5-minute ticks. A running node adds its instance
 * price and its public IPv4 address. A warm pool (`warmPool`) adds its parked members' root
 * volumes: a stopped instance is billed no compute and holds no public IPv4.
 *
 * Prices are list prices without free tiers (an account's free tier may already be used by
 * other workloads), so the figure is an upper bound for the resources counted.
 */
import { GP3_USD_PER_GIB_MONTH, HOURS_PER_MONTH, parkedMemberHourlyUsd } from '../core/warm-pool.js';
import type { Config } from '../events/index.js';

/** AWS list prices used by {@link estimateCostAtRest}, with where and when they were read. */
export interface PriceTable {
  region: string;
  /** The date the prices were recorded (ISO date). */
  asOf: string;
  secretMonthUsd: number;
  secretPer10kApiCallsUsd: number;
  alarmMonthUsd: number;
  dashboardMonthUsd: number;
  customMetricMonthUsd: number;
  logIngestionPerGbUsd: number;
  logStoragePerGbMonthUsd: number;
  lambdaPerMillionRequestsUsd: number;
  /** Lambda on arm64 (Graviton), per GB-second. */
  lambdaArmPerGbSecondUsd: number;
  eventBridgePerMillionEventsUsd: number;
  schedulerPerMillionInvocationsUsd: number;
  dynamoPerMillionWriteUnitsUsd: number;
  dynamoPerMillionReadUnitsUsd: number;
  dynamoStoragePerGbMonthUsd: number;
  sqsPerMillionRequestsUsd: number;
  publicIpv4HourUsd: number;
}

/**
 * List prices of eu-central-1 (Frankfurt), the region of the built-in instance catalog,
 * recorded 2026-12-06 from AWS's pricing pages. Other regions differ by a few tens of percent
 * on logs and DynamoDB; the fixed items (secrets, alarms, dashboard, metrics, IPv4) are the
 * same in most regions.
 */
export const PRICES_EU_CENTRAL_1: PriceTable = {
  region: 'eu-central-1',
  asOf: '2026-12-06',
  secretMonthUsd: 0.4,
  secretPer10kApiCallsUsd: 0.05,
  alarmMonthUsd: 0.1,
  dashboardMonthUsd: 3,
  customMetricMonthUsd: 0.3,
  logIngestionPerGbUsd: 0.63,
  logStoragePerGbMonthUsd: 0.0324,
  lambdaPerMillionRequestsUsd: 0.2,
  lambdaArmPerGbSecondUsd: 0.0000133334,
  eventBridgePerMillionEventsUsd: 1,
  schedulerPerMillionInvocationsUsd: 1,
  dynamoPerMillionWriteUnitsUsd: 0.7625,
  dynamoPerMillionReadUnitsUsd: 0.1525,
  dynamoStoragePerGbMonthUsd: 0.306,
  sqsPerMillionRequestsUsd: 0.4,
  publicIpv4HourUsd: 0.005,
};

/**
 * What the stack holds and does at rest. The counts are the synthesized stack's (a test
 * compares them with `cdk synth`); the per-run figures are estimates, stated in the doc.
 */
export const STACK_AT_REST = {
  /**
   * Default modes: the agent's bootstrap-token secret and the agent credentials (no Tailscale
   * OAuth secret with tailscale.auth federated; oauth-client adds one, agent-token one more).
   */
  secrets: 2,
  /** 4 DLQs + 5 function-error alarms + agent-silent, launch-failures, launch-requests-refused, capacity-limit-errors, launch-backoffs, tailscale-auth-failures. */
  alarms: 15,
  dashboards: 1,
  /** Metrics reconcile emits on every run, even with nothing to do (a test runs reconcile idle). */
  idleMetricNames: [
    'DecisionLatencyMs',
    'Drains',
    'Launches',
    'ManagedNodes',
    'PendingPods',
    'SnapshotAgeSeconds',
    'Terminations',
    'UnhelpablePods',
  ],
  reconcileTickMinutes: 5,
  janitorTickMinutes: 5,
  reconcileMemoryMiB: 512,
  janitorMemoryMiB: 256,
  /** Estimated average duration of an idle run. */
  reconcileRunSeconds: 0.3,
  janitorRunSeconds: 0.4,
  /** Estimated log volume per run (Powertools JSON lines + the EMF metrics line). */
  reconcileLogKiB: 2,
  janitorLogKiB: 1,
  /** Estimated DynamoDB units per reconcile run: snapshot, lease, journal (a transaction), release; 7 reads. */
  reconcileWriteUnits: 8,
  reconcileReadUnits: 8,
  janitorReadUnits: 2,
  /** Journal entries live 7 days (JOURNAL_TTL_SECONDS), about 1.5 KiB each. */
  journalDays: 7,
  journalEntryKiB: 1.5,
  /** With tailscale.auth oauth-client the janitor reads the OAuth secret on each run (federated: none, STS is free). */
  janitorSecretReads: 1,
  /** The agent long-polls its command queue for 20 s: 3 requests a minute. */
  agentQueueRequestsPerMinute: 3,
} as const;

/** One line of the estimate. */
export interface CostLine {
  item: string;
  /** The arithmetic, e.g. `3 secrets × $0.40`. */
  how: string;
  monthlyUsd: number;
}

export interface CostEstimate {
  region: string;
  pricesAsOf: string;
  lines: CostLine[];
  /** Sum of the lines. */
  monthlyUsd: number;
  /** What each running node adds besides its instance price: its public IPv4 address. */
  perRunningNodeMonthlyUsd: number;
  /** Parked warm-pool members counted at rest: the largest pool the config asks for (0 = no pool). */
  warmPoolMembers: number;
}

/**
 * The largest warm pool the config asks for, and where: `warmPool.size` or a schedule's
 * `warmPoolSize` (the first schedule with the largest). An upper bound of what is parked at
 * rest: while a schedule with a smaller pool is in force the pool shrinks to it.
 */
export function largestWarmPool(config: Config): { members: number; from: string } {
  let best = { members: config.warmPool.size, from: 'warmPool.size' };
  for (const s of config.schedules) {
    if (s.warmPoolSize !== undefined && s.warmPoolSize > best.members)
      best = { members: s.warmPoolSize, from: `schedule "${s.name}" warmPoolSize` };
  }
  return best;
}

const KIB_PER_GIB = 1024 * 1024;
const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const usd = (n: number, digits = 2): string => `$${n.toFixed(digits)}`;

/** The monthly cost at rest of a stack deployed with `config`, at `prices`. Pure. */
export function estimateCostAtRest(config: Config, prices: PriceTable = PRICES_EU_CENTRAL_1): CostEstimate {
  const s = STACK_AT_REST;
  const minutes = HOURS_PER_MONTH * 60;
  const snapshots = (minutes * 60) / config.agent.heartbeatSeconds;
  const reconcileTicks = minutes / s.reconcileTickMinutes;
  const janitorRuns = minutes / s.janitorTickMinutes;
  const reconcileRuns = snapshots + reconcileTicks;
  const invocations = reconcileRuns + janitorRuns;
  const gbSeconds =
    reconcileRuns * s.reconcileRunSeconds * (s.reconcileMemoryMiB / 1024) +
    janitorRuns * s.janitorRunSeconds * (s.janitorMemoryMiB / 1024);
  const logGiB = (reconcileRuns * s.reconcileLogKiB + janitorRuns * s.janitorLogKiB) / KIB_PER_GIB;
  const writeUnits = reconcileRuns * s.reconcileWriteUnits;
  const readUnits = reconcileRuns * s.reconcileReadUnits + janitorRuns * s.janitorReadUnits;
  const journalGiB = ((reconcileRuns * s.journalDays) / 30.4167) * (s.journalEntryKiB / KIB_PER_GIB);
  const queueRequests = minutes * s.agentQueueRequestsPerMinute;
  const oauth = config.tailscale.auth === 'oauth-client';
  const secrets = s.secrets + (oauth ? 1 : 0);
  const secretReads = oauth ? janitorRuns * s.janitorSecretReads : 0;
  const metrics = s.idleMetricNames.length;
  const pool = largestWarmPool(config);
  const rootGiB = config.nodes.rootVolumeGiB;

  const lines: CostLine[] = [
    {
      item: 'Secrets Manager secrets',
      how: `${secrets} secrets × ${usd(prices.secretMonthUsd)}`,
      monthlyUsd: secrets * prices.secretMonthUsd,
    },
    {
      item: 'Secrets Manager reads',
      how: oauth
        ? `${fmtInt(secretReads)} janitor reads × ${usd(prices.secretPer10kApiCallsUsd)} / 10,000`
        : 'none: tailscale.auth federated reads no secret (STS GetWebIdentityToken is free)',
      monthlyUsd: (secretReads / 10_000) * prices.secretPer10kApiCallsUsd,
    },
    {
      item: 'CloudWatch alarms',
      how: `${s.alarms} alarms × ${usd(prices.alarmMonthUsd)}`,
      monthlyUsd: s.alarms * prices.alarmMonthUsd,
    },
    {
      item: 'CloudWatch dashboard',
      how: `${s.dashboards} dashboard × ${usd(prices.dashboardMonthUsd)}`,
      monthlyUsd: s.dashboards * prices.dashboardMonthUsd,
    },
    {
      item: 'CloudWatch custom metrics',
      how: `${metrics} metrics reconcile emits every run × ${usd(prices.customMetricMonthUsd)}`,
      monthlyUsd: metrics * prices.customMetricMonthUsd,
    },
    {
      item: 'Lambda requests',
      how: `${fmtInt(invocations)} invocations (${fmtInt(snapshots)} snapshots + ${fmtInt(reconcileTicks)} reconcile ticks + ${fmtInt(janitorRuns)} janitor runs) × ${usd(prices.lambdaPerMillionRequestsUsd)} / million`,
      monthlyUsd: (invocations / 1e6) * prices.lambdaPerMillionRequestsUsd,
    },
    {
      item: 'Lambda compute (arm64)',
      how: `${fmtInt(gbSeconds)} GB-s (reconcile ${s.reconcileRunSeconds} s × ${s.reconcileMemoryMiB} MiB, janitor ${s.janitorRunSeconds} s × ${s.janitorMemoryMiB} MiB) × ${usd(prices.lambdaArmPerGbSecondUsd, 10)}`,
      monthlyUsd: gbSeconds * prices.lambdaArmPerGbSecondUsd,
    },
    {
      item: 'EventBridge events',
      how: `${fmtInt(snapshots)} snapshots (one per agent.heartbeatSeconds ${config.agent.heartbeatSeconds} s) × ${usd(prices.eventBridgePerMillionEventsUsd)} / million`,
      monthlyUsd: (snapshots / 1e6) * prices.eventBridgePerMillionEventsUsd,
    },
    {
      item: 'EventBridge Scheduler',
      how: `${fmtInt(reconcileTicks + janitorRuns)} tick invocations × ${usd(prices.schedulerPerMillionInvocationsUsd)} / million`,
      monthlyUsd: ((reconcileTicks + janitorRuns) / 1e6) * prices.schedulerPerMillionInvocationsUsd,
    },
    {
      item: 'CloudWatch Logs',
      how: `${logGiB.toFixed(3)} GiB (${s.reconcileLogKiB} KiB per reconcile, ${s.janitorLogKiB} KiB per janitor run) × ${usd(prices.logIngestionPerGbUsd)} ingested + ${usd(prices.logStoragePerGbMonthUsd, 4)} stored`,
      monthlyUsd: logGiB * (prices.logIngestionPerGbUsd + prices.logStoragePerGbMonthUsd),
    },
    {
      item: 'DynamoDB on-demand',
      how: `${fmtInt(writeUnits)} write units × ${usd(prices.dynamoPerMillionWriteUnitsUsd, 4)} / million + ${fmtInt(readUnits)} read units × ${usd(prices.dynamoPerMillionReadUnitsUsd, 4)} / million + ${journalGiB.toFixed(3)} GiB × ${usd(prices.dynamoStoragePerGbMonthUsd, 3)}`,
      monthlyUsd:
        (writeUnits / 1e6) * prices.dynamoPerMillionWriteUnitsUsd +
        (readUnits / 1e6) * prices.dynamoPerMillionReadUnitsUsd +
        journalGiB * prices.dynamoStoragePerGbMonthUsd,
    },
    {
      item: 'SQS',
      how: `${fmtInt(queueRequests)} agent long polls × ${usd(prices.sqsPerMillionRequestsUsd)} / million`,
      monthlyUsd: (queueRequests / 1e6) * prices.sqsPerMillionRequestsUsd,
    },
    {
      item: 'Public IPv4',
      how: `0 running nodes × ${usd(prices.publicIpv4HourUsd, 3)}/h`,
      monthlyUsd: 0,
    },
    {
      item: 'Warm pool volumes',
      how:
        pool.members === 0
          ? "none: warmPool.size and every schedule's warmPoolSize are 0"
          : `${pool.members} stopped members (${pool.from}, the largest pool asked for) × ${rootGiB} GiB gp3 root volume × $${GP3_USD_PER_GIB_MONTH} per GiB-month; no compute or public IPv4 while stopped`,
      // The same per-member figure `status` and reconcile's explanations use.
      monthlyUsd: pool.members * parkedMemberHourlyUsd(rootGiB) * HOURS_PER_MONTH,
    },
  ];
  const monthlyUsd = lines.reduce((a, l) => a + l.monthlyUsd, 0);
  return {
    region: prices.region,
    pricesAsOf: prices.asOf,
    lines,
    monthlyUsd,
    perRunningNodeMonthlyUsd: HOURS_PER_MONTH * prices.publicIpv4HourUsd,
    warmPoolMembers: pool.members,
  };
}

/** Dollars as the doc and status print them: cents, and at least `$0.01` for a non-zero amount. */
export function fmtUsd(amount: number): string {
  if (amount > 0 && amount < 0.005) return '< $0.01';
  return `$${amount.toFixed(2)}`;
}
