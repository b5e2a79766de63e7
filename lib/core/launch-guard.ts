/**
 * The launch guard (invariant I12, docs/architecture.md): the launch Lambda acts on a `ScaleOutRequested` only when
 * the request is one the decider could have written under the config it runs with. The bus
 * is a trust boundary — anyone allowed to PutEvents could put a request on it — so launch
 * re-checks every request before minting a key or calling EC2, instead of trusting it:
 *
 * 1. the decider's in-flight record exists for this decision and launch id (reconcile and
 *    interruption write it to DynamoDB BEFORE they emit the request; nobody with only
 *    PutEvents can write it), and the request asks for no more, and for no other first
 *    type / capacity type, than the record holds;
 * 2. every instance type is a configured candidate (`nodes.candidateTypes`) known to the
 *    catalog, of the request's architecture; every capacity type is allowed
 *    (`nodes.capacityTypes`); a root volume, when asked for, is within `nodes.rootVolumeGiB`…
 *    `nodes.maxRootVolumeGiB` (a forged request cannot buy a 16 TiB volume);
 * 3. launching every requested node as the dearest / biggest listed type keeps the live fleet
 *    plus all other in-flight capacity within `limits` (nodes, vCPUs, memory, hourly cost)
 *    and the active schedule's `maxNodes` (the planner lists a fallback type only when that
 *    holds, so a request the decider wrote always passes).
 *
 * Pure: the caller reads the in-flight records and the fleet, and passes the time.
 */
import type { Config, InFlightLaunch, ManagedInstance, ScaleOutRequested } from '../events/index.js';
import { maxRootVolumeGiB } from './capacity.js';
import { buildCatalog } from './catalog.js';
import { buildContext } from './context.js';
import { fleetUsage } from './plan.js';
import { activeSchedule } from './schedule.js';

/** Which check refused a request (also the `check` log attribute). */
export type LaunchGuardCheck =
  | 'in-flight-record'
  | 'instance-type'
  | 'capacity-type'
  | 'architecture'
  | 'count'
  | 'root-volume'
  | 'limits';

export type LaunchGuardVerdict = { ok: true } | { ok: false; check: LaunchGuardCheck; reason: string };

export interface LaunchGuardInput {
  config: Config;
  request: ScaleOutRequested;
  /** In-flight records that have not expired at `now` (StatePort.listInFlight). */
  inFlight: readonly InFlightLaunch[];
  /** The cluster's instances as EC2 lists them (any state; only live ones count). */
  instances: readonly ManagedInstance[];
  now: Date;
}

/** Tolerance of the floating-point limit comparisons (cost in USD). */
const EPSILON = 1e-9;

function refuse(check: LaunchGuardCheck, reason: string): LaunchGuardVerdict {
  return { ok: false, check, reason };
}

const list = (xs: readonly string[], max = 5): string =>
  xs
    .slice(0, max)
    .map((x) => `"${x.slice(0, 40)}"`)
    .join(', ') + (xs.length > max ? ', …' : '');

/**
 * Check one `ScaleOutRequested` against the config, the decider's in-flight record and the
 * live fleet. Returns the first failed check with a reason naming the field and the value.
 */
export function checkScaleOutRequest(input: LaunchGuardInput): LaunchGuardVerdict {
  const { config, request, now } = input;
  const group = request.launch;

  // 1. Written by the decider?
  const record = input.inFlight.find((r) => r.launchId === group.launchId);
  if (!record || record.decisionId !== request.decisionId) {
    return refuse(
      'in-flight-record',
      `no in-flight record of decision "${request.decisionId.slice(0, 80)}" for launch "${group.launchId.slice(0, 80)}": ` +
        'only requests the decider (reconcile, interruption) recorded are launched; a forged, foreign or expired request launches nothing',
    );
  }
  if (group.count > record.count) {
    return refuse(
      'count',
      `launch.count ${group.count} is more than the ${record.count} the decider recorded for launch "${group.launchId.slice(0, 80)}"`,
    );
  }
  if (group.instanceTypes[0] !== record.instanceType) {
    return refuse(
      'instance-type',
      `launch.instanceTypes[0] "${String(group.instanceTypes[0]).slice(0, 40)}" is not the "${record.instanceType}" the decider recorded`,
    );
  }
  if (group.capacityTypes[0] !== record.capacityType) {
    return refuse(
      'capacity-type',
      `launch.capacityTypes[0] "${String(group.capacityTypes[0])}" is not the "${record.capacityType}" the decider recorded`,
    );
  }
  if (record.instanceTypes && group.instanceTypes.some((t) => !record.instanceTypes?.includes(t))) {
    return refuse(
      'instance-type',
      `launch.instanceTypes ${list(group.instanceTypes)} are not all among the ${list(record.instanceTypes)} the decider recorded`,
    );
  }
  if (record.capacityTypes && group.capacityTypes.some((c) => !record.capacityTypes?.includes(c))) {
    return refuse(
      'capacity-type',
      `launch.capacityTypes ${list(group.capacityTypes)} are not all among the ${list(record.capacityTypes)} the decider recorded`,
    );
  }

  // 2. Within the configured candidates?
  const candidates = new Set(config.nodes.candidateTypes);
  const foreignTypes = group.instanceTypes.filter((t) => !candidates.has(t));
  if (foreignTypes.length > 0) {
    return refuse(
      'instance-type',
      `launch.instanceTypes ${list(foreignTypes)} not in nodes.candidateTypes (${list(config.nodes.candidateTypes, 12)})`,
    );
  }
  const allowedCaps = new Set<string>(config.nodes.capacityTypes);
  const foreignCaps = group.capacityTypes.filter((c) => !allowedCaps.has(c));
  if (foreignCaps.length > 0) {
    return refuse(
      'capacity-type',
      `launch.capacityTypes ${list(foreignCaps)} not allowed by nodes.capacityTypes (${list(config.nodes.capacityTypes)})`,
    );
  }
  if (group.rootVolumeGiB !== undefined) {
    const min = config.nodes.rootVolumeGiB;
    const max = maxRootVolumeGiB(config);
    if (group.rootVolumeGiB < min || group.rootVolumeGiB > max) {
      return refuse(
        'root-volume',
        `launch.rootVolumeGiB ${group.rootVolumeGiB} is outside nodes.rootVolumeGiB…nodes.maxRootVolumeGiB (${min}…${max} GiB)`,
      );
    }
  }
  const catalog = buildCatalog(config);
  const specs = [];
  for (const t of group.instanceTypes) {
    const spec = catalog.get(t);
    if (!spec) {
      return refuse(
        'instance-type',
        `launch.instanceTypes "${t}" is not in the instance catalog (config.catalog)`,
      );
    }
    if (spec.arch !== group.arch) {
      return refuse(
        'architecture',
        `launch.arch "${group.arch}" does not match ${t} (${spec.arch}): the image would not boot`,
      );
    }
    specs.push(spec);
  }

  // 3. Within the limits, counting the live fleet and every other in-flight launch.
  const schedule = activeSchedule(config, now);
  const ctx = buildContext({
    config,
    catalog,
    snapshot: undefined,
    fleet: {
      instances: [...input.instances],
      inFlight: [...input.inFlight],
      drains: [],
      unavailableOfferings: [],
    },
    now,
    decisionId: request.decisionId,
    schedule,
  });
  const usage = fleetUsage(ctx);
  // This launch's own record is counted by fleetUsage at its first type; count the part EC2
  // does not list yet at the worst type the request allows instead (a fallback may be used).
  const own = [...ctx.unmatchedInFlight, ...ctx.warmFillsInFlight].find(
    (u) => u.entry.launchId === group.launchId,
  );
  const pending = Math.min(own?.count ?? 0, group.count);
  const ownSpec = catalog.get(record.instanceType);
  const ownPrice = ownSpec
    ? record.capacityType === 'spot'
      ? ownSpec.spotHourlyUsd
      : ownSpec.onDemandHourlyUsd
    : 0;
  const others = {
    nodes: usage.nodes - (own?.count ?? 0),
    vcpu: usage.vcpu - (own?.count ?? 0) * (ownSpec?.vcpu ?? 0),
    memoryMiB: usage.memoryMiB - (own?.count ?? 0) * (ownSpec?.memoryMiB ?? 0),
    hourlyUsd: usage.hourlyUsd - (own?.count ?? 0) * ownPrice,
  };
  const worst = {
    vcpu: Math.max(...specs.map((s) => s.vcpu)),
    memoryMiB: Math.max(...specs.map((s) => s.memoryMiB)),
    hourlyUsd: Math.max(
      ...specs.flatMap((s) =>
        group.capacityTypes.map((c) => (c === 'spot' ? s.spotHourlyUsd : s.onDemandHourlyUsd)),
      ),
    ),
  };
  const l = config.limits;
  const maxNodes = Math.min(l.maxNodes, schedule.maxNodes);
  const maxNodesLabel =
    schedule.name !== null && schedule.maxNodes < l.maxNodes
      ? `schedule "${schedule.name}" maxNodes=${schedule.maxNodes}`
      : `limits.maxNodes=${l.maxNodes}`;
  const checks: Array<[string, number, number, string]> = [
    ['nodes', others.nodes + pending, maxNodes, maxNodesLabel],
    ['vCPUs', others.vcpu + pending * worst.vcpu, l.maxVcpus, `limits.maxVcpus=${l.maxVcpus}`],
    [
      'MiB of memory',
      others.memoryMiB + pending * worst.memoryMiB,
      l.maxMemoryMiB,
      `limits.maxMemoryMiB=${l.maxMemoryMiB}`,
    ],
    [
      'USD/hour',
      others.hourlyUsd + pending * worst.hourlyUsd,
      l.maxHourlyCostUsd,
      `limits.maxHourlyCostUsd=${l.maxHourlyCostUsd}`,
    ],
  ];
  for (const [what, projected, limit, label] of checks) {
    if (projected > limit + EPSILON) {
      return refuse(
        'limits',
        `launching ${pending} more node(s) of ${list(group.instanceTypes)} would make ${Math.round(projected * 1000) / 1000} ${what} with the live fleet and other in-flight launches, over ${label}`,
      );
    }
  }
  return { ok: true };
}
