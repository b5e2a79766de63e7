/**
 * The janitor's decision (I3 orphans, I4 stale devices, Node objects of gone instances), pure:
 * fleet + latest stored snapshot + tagged devices + config + now → {@link JanitorPlan}.
 * `lib/control/janitor.ts` reads the ports, calls {@link planJanitor} and acts within the
 * plan's caps and a time budget. See that module's comment for the rules and why.
 */
import type { ClusterSnapshot, Config, ManagedInstance } from '../events/index.js';
import { instanceIdOfNode } from './context.js';
import { instanceIdOfHostname, managedTag } from './ids.js';
import type { Device, StoredSnapshot } from './ports.js';

/** Per-run bounds. */
export interface JanitorLimits {
  maxOrphanTerminations: number;
  maxDeviceDeletions: number;
  maxNodeDeletions: number;
  /** Stop starting new actions after this long, measured from the start of the run. */
  timeBudgetMs: number;
}

export const DEFAULT_JANITOR_LIMITS: JanitorLimits = {
  maxOrphanTerminations: 10,
  maxDeviceDeletions: 25,
  maxNodeDeletions: 25,
  // The function timeout is 120 s and one Tailscale call may retry for up to 30 s.
  timeBudgetMs: 60_000,
};

/** How the janitor judged the latest snapshot. Only `fresh` allows orphan and Node work. */
export type SnapshotVerdict = 'fresh' | 'stale' | 'absent' | 'truncated';

export interface OrphanAction {
  instanceId: string;
  nodeName: string;
  reason: string;
}
export interface DeviceAction {
  nodeId: string;
  hostname: string;
  instanceId: string;
  reason: string;
}
export interface NodeAction {
  nodeName: string;
  instanceId: string;
  reason: string;
}

/** What the janitor decided, before acting. Pure output of {@link planJanitor}. */
export interface JanitorPlan {
  snapshot: SnapshotVerdict;
  snapshotAgeSeconds: number | undefined;
  orphans: OrphanAction[];
  devices: DeviceAction[];
  nodes: NodeAction[];
  /** Candidates dropped by the per-run caps (the next run takes them). */
  capped: { orphans: number; devices: number; nodes: number };
  /** Why orphan / Node work was skipped, when it was. */
  skipped: string[];
}

const LIVE = new Set(['pending', 'running']);
const GONE = new Set(['shutting-down', 'terminated']);

/** An instance that is going or gone: its Node, device and drain record are left over. */
export function instanceGone(state: ManagedInstance['state']): boolean {
  return GONE.has(state);
}

function snapshotVerdict(
  stored: StoredSnapshot | undefined,
  config: Config,
  nowMs: number,
): { verdict: SnapshotVerdict; ageSeconds: number | undefined; snapshot: ClusterSnapshot | undefined } {
  if (!stored) return { verdict: 'absent', ageSeconds: undefined, snapshot: undefined };
  const snap = stored.snapshot;
  // By the receiver's clock (I12): when the control plane stored it, not the agent's observedAt.
  const ageSeconds = (nowMs - Date.parse(stored.storedAt)) / 1000;
  if (!(ageSeconds <= config.agent.staleAfterSeconds))
    return { verdict: 'stale', ageSeconds, snapshot: snap };
  if (snap.truncated && snap.truncated.droppedNodes > 0) {
    return { verdict: 'truncated', ageSeconds, snapshot: snap };
  }
  return { verdict: 'fresh', ageSeconds, snapshot: snap };
}

/**
 * Decide the janitor's work from the fleet (including terminated instances), the latest
 * stored snapshot and the tagged devices. Pure: the same inputs give the same plan.
 * `devices` undefined means Tailscale could not be listed (device work is skipped).
 */
export function planJanitor(args: {
  config: Config;
  now: Date;
  instances: ManagedInstance[];
  stored: StoredSnapshot | undefined;
  devices: Device[] | undefined;
  limits?: JanitorLimits;
}): JanitorPlan {
  const { config, instances } = args;
  const limits = args.limits ?? DEFAULT_JANITOR_LIMITS;
  const nowMs = args.now.getTime();
  const prefix = config.nodes.namePrefix;
  const tag = managedTag(config);
  const { verdict, ageSeconds, snapshot } = snapshotVerdict(args.stored, config, nowMs);
  const byId = new Map(instances.map((i) => [i.instanceId, i]));
  const skipped: string[] = [];

  const orphans: OrphanAction[] = [];
  const nodes: NodeAction[] = [];
  if (verdict !== 'fresh' || !snapshot) {
    const why =
      verdict === 'absent'
        ? 'no agent snapshot has been stored'
        : verdict === 'stale'
          ? `the latest snapshot is ${Math.round(ageSeconds ?? 0)} s old (staleAfterSeconds=${config.agent.staleAfterSeconds})`
          : 'the latest snapshot left nodes out (truncated)';
    skipped.push(
      `orphan instances and Node objects not checked: ${why}; the cluster cannot be seen, so nothing is judged (fail-safe)`,
    );
  } else {
    const nodeNames = new Set(snapshot.nodes.map((n) => n.name));
    const nodeInstanceIds = new Set<string>();
    for (const n of snapshot.nodes) {
      const id = instanceIdOfNode(n);
      if (id) nodeInstanceIds.add(id);
    }
    const observedMs = Date.parse(snapshot.observedAt);
    const timeoutMs = config.repairs.registrationTimeoutSeconds * 1000;
    for (const inst of [...instances].sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1))) {
      if (!LIVE.has(inst.state)) continue;
      if (nodeNames.has(inst.nodeName) || nodeInstanceIds.has(inst.instanceId)) continue;
      const deadlineMs = Date.parse(inst.launchedAt) + timeoutMs;
      // The snapshot must have been observed after the registration deadline: an older one
      // could predate a registration that did happen.
      if (!(observedMs > deadlineMs && nowMs > deadlineMs)) continue;
      orphans.push({
        instanceId: inst.instanceId,
        nodeName: inst.nodeName,
        reason: `orphan: ${inst.instanceId} (${inst.instanceType}, ${inst.state}) launched at ${inst.launchedAt} has no Node ${inst.nodeName} in snapshot ${snapshot.seq} observed at ${snapshot.observedAt}, after its registrationTimeoutSeconds=${config.repairs.registrationTimeoutSeconds}`,
      });
    }
    for (const n of [...snapshot.nodes].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!n.managed) continue; // I2: on-prem nodes are never touched
      const id = instanceIdOfNode(n);
      if (!id) continue;
      const inst = byId.get(id);
      if (inst && GONE.has(inst.state)) {
        nodes.push({ nodeName: n.name, instanceId: id, reason: `its instance ${id} is ${inst.state}` });
      } else if (!inst && !n.ready) {
        nodes.push({
          nodeName: n.name,
          instanceId: id,
          reason: `its instance ${id} is no longer listed by EC2 and the node is NotReady`,
        });
      }
    }
  }

  const devices: DeviceAction[] = [];
  if (args.devices === undefined) {
    skipped.push('stale Tailscale devices not checked: the device list could not be read');
  } else {
    const staleMs = config.tailscale.deviceStaleAfterSeconds * 1000;
    const orphanIds = new Set(orphans.slice(0, limits.maxOrphanTerminations).map((o) => o.instanceId));
    for (const d of [...args.devices].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))) {
      if (!d.tags.includes(tag)) continue; // never anything untagged
      const id = instanceIdOfHostname(d.hostname, prefix);
      if (!id) continue; // not a managed node's hostname: not ours to judge
      const inst = byId.get(id);
      if (inst && GONE.has(inst.state)) {
        devices.push({
          nodeId: d.nodeId,
          hostname: d.hostname,
          instanceId: id,
          reason: `instance ${id} is ${inst.state}`,
        });
      } else if (orphanIds.has(id)) {
        devices.push({
          nodeId: d.nodeId,
          hostname: d.hostname,
          instanceId: id,
          reason: `instance ${id} is terminated as an orphan in this run`,
        });
      } else if (!inst && !d.connectedToControl) {
        const lastSeenMs = d.lastSeen ? Date.parse(d.lastSeen) : Number.NaN;
        const offlineFor = Number.isNaN(lastSeenMs) ? undefined : nowMs - lastSeenMs;
        if (offlineFor !== undefined && offlineFor >= staleMs) {
          devices.push({
            nodeId: d.nodeId,
            hostname: d.hostname,
            instanceId: id,
            reason: `instance ${id} is not listed by EC2 and the device has been offline since ${d.lastSeen} (deviceStaleAfterSeconds=${config.tailscale.deviceStaleAfterSeconds})`,
          });
        }
      }
    }
  }

  return {
    snapshot: verdict,
    snapshotAgeSeconds: ageSeconds,
    orphans: orphans.slice(0, limits.maxOrphanTerminations),
    devices: devices.slice(0, limits.maxDeviceDeletions),
    nodes: nodes.slice(0, limits.maxNodeDeletions),
    capped: {
      orphans: Math.max(0, orphans.length - limits.maxOrphanTerminations),
      devices: Math.max(0, devices.length - limits.maxDeviceDeletions),
      nodes: Math.max(0, nodes.length - limits.maxNodeDeletions),
    },
    skipped,
  };
}
