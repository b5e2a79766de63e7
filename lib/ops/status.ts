/**
 * What `k3s-burst status` shows, gathered from AWS (CloudFormation, EC2, DynamoDB, Secrets
 * Manager) and the Tailscale API. Tailscale is optional: when it cannot be asked, devices
 * show as "unknown" and a note says why; the command still succeeds.
 */
import { DynamoState } from '../aws/state.js';
import { type StageSummary, summarizeStages } from '../core/stage-timings.js';
import type { Config, Explanation, LaunchBackoff, PauseState, UnavailableOffering } from '../events/index.js';
import { TailscaleClient, TailscaleOAuthSecret } from '../tailscale/index.js';
import { type OpsClients, readSecret } from './context.js';
import { estimateCostAtRest } from './cost.js';
import { type Deployment, findDeployment, required, stackNameFor } from './deployment.js';
import type { OpsEnvironment } from './environment.js';
import { listClusterInstances } from './instances.js';

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
  instances: StatusInstance[];
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
  /** The monthly cost at rest of this config (docs/operations.md "Cost at rest"), and what running nodes add. */
  costAtRest: {
    monthlyUsd: number;
    perRunningNodeMonthlyUsd: number;
    runningNodes: number;
    pricesRegion: string;
    pricesAsOf: string;
  };
  /**
   * Burst stage durations (issue 17 item 2): p50/p95 per stage over the newest recorded samples
   * of each stage (reconcile keeps the last 100 per stage, docs/operations.md "Stage timings").
   */
  stages: StageSummary[];
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

  const stageTimings = await state.getStageTimings(cluster);
  const nodes = new Map((stored?.snapshot.nodes ?? []).map((n) => [n.name, n]));
  const notes = [...deployment.notes];
  if (!devices.ok) notes.push(`Tailscale device state is unknown: ${devices.reason}.`);
  if (!stored) notes.push('No snapshot stored yet: the agent has not reported (see `k3s-burst doctor`).');

  const rows: StatusInstance[] = instances.map((i) => {
    const node = nodes.get(i.nodeName);
    let tailscale: DeviceState = 'unknown';
    let lastSeen: string | undefined;
    if (devices.ok) {
      const d = devices.byHost.get(i.nodeName);
      tailscale = d ? (d.online ? 'online' : 'offline') : 'missing';
      lastSeen = d && !d.online ? d.lastSeen : undefined;
    }
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
    costAtRest: costAtRestOf(config, rows),
    stages: summarizeStages(stageTimings?.samples ?? []),
    notes,
  };
}

function costAtRestOf(config: Config, rows: StatusInstance[]): StatusReport['costAtRest'] {
  const e = estimateCostAtRest(config);
  return {
    monthlyUsd: e.monthlyUsd,
    perRunningNodeMonthlyUsd: e.perRunningNodeMonthlyUsd,
    runningNodes: rows.filter((r) => r.state === 'running').length,
    pricesRegion: e.region,
    pricesAsOf: e.pricesAsOf,
  };
}
