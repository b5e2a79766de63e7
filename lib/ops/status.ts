/**
 * What `k3s-burst status` shows, gathered from AWS (CloudFormation, EC2, DynamoDB, Secrets
 * Manager) and the Tailscale API. Tailscale is optional: when it cannot be asked, devices
 * show as "unknown" and a note says why; the command still succeeds. So is the stored stage
 * timings item: when it cannot be parsed the stages section says why and the rest is shown.
 */
import { DynamoState, DynamoStateError } from '../aws/state.js';
import { activeSchedule } from '../core/schedule.js';
import { type StageSummary, summarizeStages } from '../core/stage-timings.js';
import { HOURS_PER_MONTH, parkedMemberHourlyUsd, warmPoolTarget } from '../core/warm-pool.js';
import {
  type Config,
  type Explanation,
  formatProblem,
  type LaunchBackoff,
  type PauseState,
  type StageTimings,
  type UnavailableOffering,
  ValidationError,
  type WarmPoolRole,
} from '../events/index.js';
import { TailscaleClient, TailscaleOAuthSecret } from '../tailscale/index.js';
import { type OpsClients, readSecret } from './context.js';
import { estimateCostAtRest } from './cost.js';
import { type Deployment, findDeployment, required, stackNameFor } from './deployment.js';
import type { OpsEnvironment } from './environment.js';
import { listClusterInstances, type OpsInstance } from './instances.js';

export type DeviceState = 'online' | 'offline' | 'missing' | 'unknown';

export interface StatusInstance {
  instanceId: string;
  state: string;
  instanceType: string;
  capacityType: string;
  zone: string;
  launchedAt: string;
  ageSeconds: number | null;
  nodeName: string;
  /** From the latest snapshot; null when the node is not in it (not registered yet, or gone). */
  nodeReady: boolean | null;
  tailscale: DeviceState;
  /** When the device is offline: when the control server last saw it. */
  tailscaleLastSeen?: string;
}

/**
 * A warm-pool member as `status` shows it: `stopped` (parked: costs only its volume),
 * `stopping`, `warming` (pending or running, not parked yet: billed like any node),
 * `started` (a decision started it for pods: an ordinary node, also under `instances`), or
 * EC2's state when it is on its way out (`shutting-down`, `terminated`).
 */
export interface StatusWarmMember {
  instanceId: string;
  role: WarmPoolRole;
  state: 'stopped' | 'stopping' | 'warming' | 'started' | 'shutting-down' | 'terminated';
  /** EC2's own state name. */
  ec2State: string;
  instanceType: string;
  zone: string;
  /**
   * EC2's LaunchTime: the last start. A member is never started while it is a member (a start
   * re-tags it `started` first), so for a member it is its launch unless someone started it by hand.
   */
  launchedAt: string;
  /** The first launch (primary network interface's attach time); null when EC2 gives none. */
  firstLaunchedAt: string | null;
  /** Since `firstLaunchedAt` when EC2 gives it, else since `launchedAt` (`ageFrom` says which). */
  ageSeconds: number | null;
  ageFrom: 'first-launch' | 'last-start';
  /**
   * Older than `warmPool.maxAgeHours` by the clock reconcile's age-out uses (`launchedAt`):
   * reconcile replaces it. Always false for a started instance (the age-out is for members).
   */
  overMaxAge: boolean;
  nodeName: string;
  tailscale: DeviceState;
}

/** The warm pool (docs/operations.md "Warm pool"): its target now, its members and their cost. */
export interface StatusWarmPool {
  /** False when `warmPool.size` and every schedule's `warmPoolSize` are 0. */
  configured: boolean;
  /** Members reconcile keeps now: the active schedule's `warmPoolSize`, else `warmPool.size`. */
  target: number;
  /** Where the target comes from: `warmPool.size` or `schedule "<name>" warmPoolSize`. */
  targetFrom: string;
  maxAgeHours: number;
  members: StatusWarmMember[];
  /** Members stopped (parked), stopping, and warming (running, not parked yet). */
  parked: number;
  stopping: number;
  warming: number;
  /** A member's root volume (`nodes.rootVolumeGiB`, gp3): all a parked member is billed for. */
  rootVolumeGiB: number;
  /** That volume per hour (`parkedMemberHourlyUsd`). */
  perParkedHourlyUsd: number;
  /** What the parked members cost: their volumes only (no compute, no public IPv4). */
  parkedHourlyUsd: number;
  parkedMonthlyUsd: number;
}

export interface StatusDecision {
  decisionId: string;
  decidedAt: string;
  trigger: string;
  launches: number;
  drains: number;
  terminations: number;
  explanations: Explanation[];
}

export interface StatusReport {
  cluster: string;
  region: string;
  stack: { name: string; status: string };
  generatedAt: string;
  /**
   * The fleet: every instance but warm-pool members (those are under `warmPool`; a started
   * member is an ordinary node and is listed here).
   */
  instances: StatusInstance[];
  warmPool: StatusWarmPool;
  snapshot: {
    seq: number;
    observedAt: string;
    storedAt: string;
    ageSeconds: number;
    stale: boolean;
    nodes: number;
    pendingPods: number;
  } | null;
  decisions: StatusDecision[];
  /** The operator's pause (`k3s-burst pause`), null when launches are allowed. */
  pause: PauseState | null;
  /**
   * What launches avoid right now (I10): offerings that recently failed and launch setups or
   * quotas under backoff, each as one sentence with its end time.
   */
  holdbacks: { unavailableOfferings: UnavailableOffering[]; backoffs: LaunchBackoff[] };
  tailscale: { available: boolean; reason?: string };
  /**
   * The monthly cost at rest of this config (docs/operations.md "Cost at rest", with the parked
   * members' volumes of the largest pool the config asks for), and what running instances add.
   */
  costAtRest: {
    monthlyUsd: number;
    perRunningNodeMonthlyUsd: number;
    /** Instances running now, warming members included (each holds a public IPv4 address). */
    runningNodes: number;
    /** Parked members counted in `monthlyUsd`. */
    warmPoolMembers: number;
    pricesRegion: string;
    pricesAsOf: string;
  };
  /**
   * Burst stage durations (issue 17 item 2): p50/p95 per stage over the newest recorded samples
   * of each stage (reconcile keeps the last 100 per stage, docs/operations.md "Stage timings").
   */
  stages: StageSummary[];
  /**
   * Why `stages` is empty although the item exists: the stored `STAGES` item cannot be parsed
   * (nothing of it is counted). Null when it was read.
   */
  stagesUnavailable: string | null;
  /** Footnotes: degraded sources, stack notes. */
  notes: string[];
}

export interface StatusOptions {
  config: Config;
  region: string;
  decisions: number;
  includeTerminated: boolean;
}

const ageOf = (iso: string, now: Date): number | null => {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.max(0, Math.round((now.getTime() - t) / 1000)) : null;
};

/** Devices by hostname (the cluster's first tag), read fresh on every call. */
export type DeviceLister = () => Promise<Map<string, { online: boolean; lastSeen?: string }>>;

/**
 * A lister of the cluster's Tailscale devices built from the stack's OAuth secret, or the reason
 * there is none. Used by `status` (once) and `verify` (every poll); the client is interactive:
 * one retry, a few seconds at most per call.
 */
export async function tailscaleDeviceLister(
  env: OpsEnvironment,
  clients: OpsClients,
  deployment: Deployment,
  config: Config,
): Promise<{ ok: true; list: DeviceLister } | { ok: false; reason: string }> {
  if (config.tailscale.auth === 'federated') {
    return {
      ok: false,
      reason:
        'tailscale.auth is federated: only the Lambda roles can get a Tailscale API token, so device state is not shown here',
    };
  }
  if (!deployment.tailscaleOAuthSecretArn) {
    return { ok: false, reason: 'the stack has no Tailscale OAuth secret output' };
  }
  const secret = await readSecret(clients.secrets, deployment.tailscaleOAuthSecretArn);
  if (secret.kind !== 'value') {
    return { ok: false, reason: `the Tailscale OAuth secret ${secret.why} (run \`k3s-burst doctor\`)` };
  }
  let creds: { clientId: string; clientSecret: string };
  try {
    const parsed = TailscaleOAuthSecret.safeParse(JSON.parse(secret.value));
    if (!parsed.success) throw new Error('shape');
    creds = parsed.data;
  } catch {
    return {
      ok: false,
      reason: 'the Tailscale OAuth secret is not JSON {"clientId","clientSecret"} (run `k3s-burst doctor`)',
    };
  }
  const client = new TailscaleClient({
    credentials: creds,
    baseUrl: env.tailscaleBaseUrl,
    tailnet: config.tailscale.tailnet,
    fetch: env.fetch,
    clock: env.clock,
    maxAttempts: 2,
    maxElapsedMs: 5000,
    baseDelayMs: 200,
    requestTimeoutMs: 5000,
  });
  const list: DeviceLister = async () => {
    const byHost = new Map<string, { online: boolean; lastSeen?: string }>();
    for (const tag of config.tailscale.tags.slice(0, 1)) {
      for (const d of await client.listDevices({ tag })) {
        byHost.set(d.hostname, {
          online: d.connectedToControl,
          ...(d.lastSeen ? { lastSeen: d.lastSeen } : {}),
        });
      }
    }
    return byHost;
  };
  return { ok: true, list };
}

/** Tailscale devices by hostname, or the reason they cannot be listed. */
async function tailscaleDevices(
  env: OpsEnvironment,
  clients: OpsClients,
  deployment: Deployment,
  config: Config,
): Promise<
  { ok: true; byHost: Map<string, { online: boolean; lastSeen?: string }> } | { ok: false; reason: string }
> {
  const lister = await tailscaleDeviceLister(env, clients, deployment, config);
  if (!lister.ok) return lister;
  try {
    return { ok: true, byHost: await lister.list() };
  } catch (err) {
    // Client errors carry at most the server's scrubbed message, never credentials.
    return { ok: false, reason: `the Tailscale API could not be used: ${(err as Error).message}` };
  }
}

/**
 * Gather the status report.
 *
 * @throws StackNotFoundError, NoCredentialsError (via the caller's mapping), OpsError
 */
export async function collectStatus(
  env: OpsEnvironment,
  clients: OpsClients,
  opts: StatusOptions,
): Promise<StatusReport> {
  const now = new Date(env.clock.now());
  const { config } = opts;
  const cluster = config.cluster.name;
  const deployment = await findDeployment(clients.cfn, stackNameFor(cluster), opts.region);
  const tableName = required(deployment, deployment.tableName, 'DynamoDB state table');
  const state = new DynamoState({ client: clients.dynamo, tableName });

  const [instances, stored, decisions, devices, pause, unavailableOfferings, backoffs] = await Promise.all([
    listClusterInstances(clients.ec2, cluster, config.nodes.namePrefix, {
      includeTerminated: opts.includeTerminated,
    }),
    state.getLatestSnapshot(cluster),
    state.listRecentDecisions(cluster, opts.decisions),
    tailscaleDevices(env, clients, deployment, config),
    state.getPause(cluster),
    state.offeringCache(cluster).listUnavailable(now),
    state.listBackoffs(cluster, now),
  ]);

  const stageTimings = await readStageTimings(state, cluster, tableName);
  const nodes = new Map((stored?.snapshot.nodes ?? []).map((n) => [n.name, n]));
  const notes = [...deployment.notes];
  if (!devices.ok) notes.push(`Tailscale device state is unknown: ${devices.reason}.`);
  if (!stored) notes.push('No snapshot stored yet: the agent has not reported (see `k3s-burst doctor`).');

  const deviceOf = (nodeName: string): { tailscale: DeviceState; lastSeen?: string } => {
    if (!devices.ok) return { tailscale: 'unknown' };
    const d = devices.byHost.get(nodeName);
    if (!d) return { tailscale: 'missing' };
    return d.online
      ? { tailscale: 'online' }
      : { tailscale: 'offline', ...(d.lastSeen ? { lastSeen: d.lastSeen } : {}) };
  };

  // A member (warming, stopping or parked) is not a node of the fleet: it is shown in the warm
  // pool section only, so a stopped member never reads as a billed node.
  const rows: StatusInstance[] = instances
    .filter((i) => i.warmPool !== 'member')
    .map((i) => {
      const node = nodes.get(i.nodeName);
      const { tailscale, lastSeen } = deviceOf(i.nodeName);
      return {
        instanceId: i.instanceId,
        state: i.state,
        instanceType: i.instanceType,
        capacityType: i.capacityType,
        zone: i.zone,
        launchedAt: i.launchedAt,
        ageSeconds: ageOf(i.launchedAt, now),
        nodeName: i.nodeName,
        nodeReady: node ? node.ready : null,
        tailscale,
        ...(lastSeen ? { tailscaleLastSeen: lastSeen } : {}),
      };
    });
  const warmPool = warmPoolOf(config, instances, now, (n) => deviceOf(n).tailscale);

  let snapshot: StatusReport['snapshot'] = null;
  if (stored) {
    const s = stored.snapshot;
    // By the receiver's clock (I12), not the agent's observedAt.
    const age = ageOf(stored.storedAt, now) ?? 0;
    snapshot = {
      seq: s.seq,
      observedAt: s.observedAt,
      storedAt: stored.storedAt,
      ageSeconds: age,
      stale: age > config.agent.staleAfterSeconds,
      nodes: s.nodes.length,
      pendingPods: s.pendingShapes.reduce((n, p) => n + p.count, 0),
    };
  }

  return {
    cluster,
    region: opts.region,
    stack: { name: deployment.stackName, status: deployment.stackStatus },
    generatedAt: now.toISOString(),
    instances: rows,
    snapshot,
    decisions: decisions.map((d) => ({
      decisionId: d.plan.decisionId,
      decidedAt: d.plan.decidedAt,
      trigger: d.trigger,
      launches: d.plan.launches.reduce((n, l) => n + l.count, 0),
      drains: d.plan.drains.length,
      terminations: d.plan.terminations.length,
      explanations: d.plan.explanations,
    })),
    pause: pause ?? null,
    holdbacks: {
      unavailableOfferings,
      // Entries past `until` only remember the count for the next delay: not holding anything back.
      backoffs: backoffs.filter((b) => Date.parse(b.until) > now.getTime()),
    },
    tailscale: devices.ok ? { available: true } : { available: false, reason: devices.reason },
    warmPool,
    costAtRest: costAtRestOf(config, instances),
    stages: stageTimings.ok ? summarizeStages(stageTimings.timings?.samples ?? []) : [],
    stagesUnavailable: stageTimings.ok ? null : stageTimings.reason,
    notes,
  };
}

/**
 * The stored stage timings, or why they cannot be used: an item that does not gunzip, parse as
 * JSON or match the schema makes only the stages section unavailable (the reason names the item
 * and the fix). A failed DynamoDB read is thrown like every other read of the report.
 */
async function readStageTimings(
  state: DynamoState,
  cluster: string,
  tableName: string,
): Promise<{ ok: true; timings: StageTimings | undefined } | { ok: false; reason: string }> {
  try {
    return { ok: true, timings: await state.getStageTimings(cluster) };
  } catch (err) {
    if (err instanceof DynamoStateError) throw err;
    const detail =
      err instanceof ValidationError
        ? err.problems.slice(0, 3).map(formatProblem).join('; ') +
          (err.problems.length > 3 ? `; and ${err.problems.length - 3} more` : '')
        : `${(err as Error).name}: ${(err as Error).message}`;
    const pk = `CLUSTER#${cluster}`;
    return {
      ok: false,
      reason:
        `the STAGES item (pk ${pk}) of table ${tableName} cannot be parsed (${detail.slice(0, 400)}); ` +
        `reconcile replaces it at the next burst, or delete it now: aws dynamodb delete-item --table-name ${tableName} ` +
        `--key '{"pk":{"S":"${pk}"},"sk":{"S":"STAGES"}}'`,
    };
  }
}

function memberState(i: OpsInstance): StatusWarmMember['state'] {
  if (i.state === 'shutting-down' || i.state === 'terminated') return i.state;
  if (i.warmPool === 'started') return 'started';
  if (i.state === 'stopped' || i.state === 'stopping') return i.state;
  return 'warming';
}

/**
 * The warm pool from EC2's tags, its target by the rule reconcile applies at `now`
 * ({@link warmPoolTarget} with {@link activeSchedule}), and the parked members' volume cost.
 */
function warmPoolOf(
  config: Config,
  instances: OpsInstance[],
  now: Date,
  tailscaleOf: (nodeName: string) => DeviceState,
): StatusWarmPool {
  const schedule = activeSchedule(config, now);
  const target = warmPoolTarget({ config, schedule });
  const maxAgeSeconds = config.warmPool.maxAgeHours * 3600;
  const members: StatusWarmMember[] = instances
    .filter((i) => i.warmPool !== undefined)
    .map((i) => {
      const sinceStart = ageOf(i.launchedAt, now);
      return {
        instanceId: i.instanceId,
        role: i.warmPool ?? 'member',
        state: memberState(i),
        ec2State: i.state,
        instanceType: i.instanceType,
        zone: i.zone,
        launchedAt: i.launchedAt,
        firstLaunchedAt: i.firstLaunchedAt ?? null,
        ageSeconds: i.firstLaunchedAt ? ageOf(i.firstLaunchedAt, now) : sinceStart,
        ageFrom: i.firstLaunchedAt ? 'first-launch' : 'last-start',
        overMaxAge: i.warmPool === 'member' && sinceStart !== null && sinceStart > maxAgeSeconds,
        nodeName: i.nodeName,
        tailscale: tailscaleOf(i.nodeName),
      };
    });
  const count = (state: StatusWarmMember['state']) =>
    members.filter((m) => m.role === 'member' && m.state === state).length;
  const parked = count('stopped');
  const perParkedHourlyUsd = parkedMemberHourlyUsd(config.nodes.rootVolumeGiB);
  const parkedHourlyUsd = parked * perParkedHourlyUsd;
  return {
    configured: config.warmPool.size > 0 || config.schedules.some((p) => (p.warmPoolSize ?? 0) > 0),
    target,
    targetFrom:
      schedule.warmPoolSize !== undefined ? `schedule "${schedule.name}" warmPoolSize` : 'warmPool.size',
    maxAgeHours: config.warmPool.maxAgeHours,
    members,
    parked,
    stopping: count('stopping'),
    warming: count('warming'),
    rootVolumeGiB: config.nodes.rootVolumeGiB,
    perParkedHourlyUsd,
    parkedHourlyUsd,
    parkedMonthlyUsd: parkedHourlyUsd * HOURS_PER_MONTH,
  };
}

function costAtRestOf(config: Config, instances: OpsInstance[]): StatusReport['costAtRest'] {
  const e = estimateCostAtRest(config);
  return {
    monthlyUsd: e.monthlyUsd,
    perRunningNodeMonthlyUsd: e.perRunningNodeMonthlyUsd,
    runningNodes: instances.filter((i) => i.state === 'running').length,
    warmPoolMembers: e.warmPoolMembers,
    pricesRegion: e.region,
    pricesAsOf: e.pricesAsOf,
  };
}
