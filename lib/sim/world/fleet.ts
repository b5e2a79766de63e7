import { isUnavailable, orderOfferings, type SubnetChoice, unavailableEntry } from '../../aws/offerings.js';
import type { Clock } from '../../core/clock.js';
import {
  CapacityLimitError,
  type FleetPort,
  ForeignInstanceError,
  type LaunchedInstance,
  type LaunchOneRequest,
  NoCapacityError,
  NotPoolMemberError,
  type OfferingAttempt,
  type OfferingCache,
  type StartMemberRequest,
  type StopResult,
  type TerminateResult,
  WarmStartUnavailableError,
} from '../../core/ports.js';
import type { CapacityType, InstanceState, ManagedInstance } from '../../events/index.js';
import { systemClock } from '../../system/clock.js';
import { FakeOfferingCache } from './offering-cache.js';

/** An instance as the fake EC2 holds it (foreign instances have another or no cluster). */
export interface FakeInstance extends ManagedInstance {
  cluster: string | undefined;
  launchKey: string | undefined;
  subnetId: string;
  imageId: string;
  userData: string;
  /** Root volume size, GiB (the request's, else the fleet's default); absent for instances added directly. */
  rootVolumeGiB?: number;
}

/** Selects offerings for an injected error; absent fields match anything. */
export interface OfferingMatcher {
  instanceType?: string;
  capacityType?: CapacityType;
  zone?: string;
}

interface InjectedError {
  match: OfferingMatcher;
  code: string;
  /** Remaining times to fail; Infinity = always. */
  remaining: number;
}

export interface FakeFleetOptions {
  cluster: string;
  nodeNamePrefix?: string;
  subnets?: SubnetChoice[];
  clock?: Pick<Clock, 'now'>;
  offeringCache?: OfferingCache;
  unavailableOfferingTtlSeconds?: number;
  /** Root volume of a launch that asks for no size, as `Ec2FleetProps.rootVolumeGiB`. @default 20 */
  rootVolumeGiB?: number;
  /**
   * The world's answer for one RunInstances attempt (the simulator's capacity windows): an EC2
   * error code, or undefined to launch. Consulted before the errors injected with `failOffering`.
   */
  offeringError?: (o: {
    instanceType: string;
    capacityType: CapacityType;
    zone: string;
  }) => string | undefined;
  /** Called after an instance was created (not for a reused one): the simulator boots it. */
  onLaunched?: (instance: FakeInstance, req: LaunchOneRequest) => void;
  /** Called with the ids `terminate` moved to shutting-down: the simulator shuts them down. */
  onTerminating?: (instanceIds: string[]) => void;
  /** Called with the member `start` moved to pending: the simulator boots it (warm profile). */
  onStarting?: (instance: FakeInstance, req: StartMemberRequest) => void;
  /** Called with the ids `stop` moved to stopping: the simulator stops them. */
  onStopping?: (instanceIds: string[]) => void;
}

/**
 * In-memory {@link FleetPort} with the adapter's behaviour: launch-key idempotency, the same
 * offering order and fallback codes, quota errors, the offering cache, tag-checked terminate.
 * Capacity errors are injected per offering with {@link FakeFleet.failOffering}.
 */
export class FakeFleet implements FleetPort {
  readonly cluster: string;
  readonly nodeNamePrefix: string;
  readonly subnets: SubnetChoice[];
  readonly offeringCache: OfferingCache;
  readonly instances = new Map<string, FakeInstance>();
  /** Every RunInstances-equivalent attempt, in order (including failed ones). */
  readonly launchAttempts: (OfferingAttempt & { clientToken: string })[] = [];
  readonly terminateCalls: string[][] = [];
  /** Every StartInstances-equivalent call (instance id), including refused ones. */
  readonly startCalls: string[] = [];
  /** EC2 error codes the next starts fail with, consumed in order (capacity errors of a start). */
  readonly startErrors: string[] = [];
  private readonly defaultRootVolumeGiB: number;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly ttlSeconds: number;
  private readonly errors: InjectedError[] = [];
  private readonly hooks: Pick<
    FakeFleetOptions,
    'offeringError' | 'onLaunched' | 'onTerminating' | 'onStarting' | 'onStopping'
  >;
  private nextId = 0x100000000;

  constructor(opts: FakeFleetOptions) {
    this.cluster = opts.cluster;
    this.nodeNamePrefix = opts.nodeNamePrefix ?? 'burst-';
    this.subnets = opts.subnets ?? [
      { subnetId: 'subnet-0aaaaaaaaaaaaaaa1', zone: 'eu-central-1a' },
      { subnetId: 'subnet-0bbbbbbbbbbbbbbb2', zone: 'eu-central-1b' },
    ];
    this.clock = opts.clock ?? systemClock;
    this.offeringCache = opts.offeringCache ?? new FakeOfferingCache();
    this.ttlSeconds = opts.unavailableOfferingTtlSeconds ?? 180;
    this.defaultRootVolumeGiB = opts.rootVolumeGiB ?? 20;
    this.hooks = opts;
  }

  /** Make launches of matching offerings fail with `code` (`times` times, default always). */
  failOffering(match: OfferingMatcher, code: string, times = Number.POSITIVE_INFINITY): void {
    this.errors.push({ match, code, remaining: times });
  }

  clearFailures(): void {
    this.errors.length = 0;
  }

  /** Put an instance into a state (e.g. simulate a spot interruption: `terminated`). */
  setState(instanceId: string, state: InstanceState): void {
    const inst = this.instances.get(instanceId);
    if (!inst) throw new Error(`FakeFleet: no instance ${instanceId}`);
    inst.state = state;
  }

  /** Add an instance that does not belong to this cluster (for refusal tests). */
  addForeignInstance(cluster?: string): string {
    const instanceId = this.newId();
    this.instances.set(instanceId, {
      instanceId,
      instanceType: 't4g.small',
      state: 'running',
      launchedAt: new Date(this.clock.now()).toISOString(),
      zone: this.subnets[0]?.zone ?? 'eu-central-1a',
      capacityType: 'on-demand',
      nodeName: instanceId,
      decisionId: '',
      launchReason: '',
      cluster,
      launchKey: undefined,
      subnetId: this.subnets[0]?.subnetId ?? 'subnet-0',
      imageId: 'ami-00000000',
      userData: '',
    });
    return instanceId;
  }

  async list(opts: { includeTerminated?: boolean } = {}): Promise<ManagedInstance[]> {
    return [...this.instances.values()]
      .filter((i) => i.cluster === this.cluster && (opts.includeTerminated || i.state !== 'terminated'))
      .map(toManaged);
  }

  async findLaunched(launchKey: string): Promise<LaunchedInstance | undefined> {
    const mine = [...this.instances.values()].filter(
      (i) => i.cluster === this.cluster && i.launchKey === launchKey,
    );
    // A live instance first; a terminated one still means "this launch happened" (I7).
    const existing = mine.find((i) => i.state !== 'terminated') ?? mine[0];
    return existing ? { ...toLaunched(existing), reused: true, attempts: [] } : undefined;
  }

  async launchOne(req: LaunchOneRequest): Promise<LaunchedInstance> {
    const existing = await this.findLaunched(req.clientToken);
    if (existing) return existing;

    const now = new Date(this.clock.now());
    const unavailable = await this.offeringCache.listUnavailable(now);
    const attempts: OfferingAttempt[] = [];
    for (const o of orderOfferings(
      req.instanceTypes,
      req.capacityTypes,
      this.subnets,
      req.zones,
      req.index,
    )) {
      if (isUnavailable(o, unavailable, now)) {
        attempts.push({ ...o, outcome: 'cached-unavailable' });
        continue;
      }
      const code = this.takeError(o);
      this.launchAttempts.push({ ...o, outcome: code ?? 'launched', clientToken: req.clientToken });
      if (code === 'VcpuLimitExceeded' || code === 'InstanceLimitExceeded') {
        throw new CapacityLimitError(code, o.instanceType, o.capacityType, 'injected by FakeFleet');
      }
      if (code) {
        attempts.push({ ...o, outcome: code });
        const entry = unavailableEntry(o, now, this.ttlSeconds, code);
        await this.offeringCache.markUnavailable(entry);
        unavailable.push(entry);
        continue;
      }
      const instanceId = this.newId();
      const inst: FakeInstance = {
        instanceId,
        instanceType: o.instanceType,
        state: 'pending',
        launchedAt: now.toISOString(),
        zone: o.zone,
        capacityType: o.capacityType,
        nodeName: `${this.nodeNamePrefix}${instanceId}`,
        decisionId: req.decisionId,
        launchReason: req.reason.slice(0, 256),
        cluster: this.cluster,
        launchKey: req.clientToken,
        subnetId: o.subnetId,
        imageId: req.imageId,
        userData: req.userData,
        rootVolumeGiB: req.rootVolumeGiB ?? this.defaultRootVolumeGiB,
        ...(req.warmPool ? { warmPool: 'member' as const } : {}),
      };
      this.instances.set(instanceId, inst);
      this.hooks.onLaunched?.(inst, req);
      return { ...toLaunched(inst), reused: false, attempts };
    }
    throw new NoCapacityError(req.clientToken, attempts);
  }

  async terminate(instanceIds: string[]): Promise<TerminateResult> {
    this.terminateCalls.push([...instanceIds]);
    const foreign = instanceIds.filter((id) => {
      const i = this.instances.get(id);
      return i !== undefined && i.cluster !== this.cluster;
    });
    if (foreign.length > 0) throw new ForeignInstanceError(this.cluster, foreign);
    const result: TerminateResult = { terminating: [], alreadyGone: [] };
    for (const id of new Set(instanceIds)) {
      const i = this.instances.get(id);
      if (!i || i.state === 'terminated' || i.state === 'shutting-down') result.alreadyGone.push(id);
      else {
        i.state = 'shutting-down';
        result.terminating.push(id);
      }
    }
    if (result.terminating.length > 0) this.hooks.onTerminating?.(result.terminating);
    return result;
  }

  async start(req: StartMemberRequest): Promise<LaunchedInstance> {
    const i = this.instances.get(req.instanceId);
    if (!i) throw new WarmStartUnavailableError(req.instanceId, 'EC2 does not know it');
    if (i.cluster !== this.cluster) throw new ForeignInstanceError(this.cluster, [req.instanceId]);
    const sameKey = i.launchKey === req.clientToken;
    if (i.warmPool === 'started' && sameKey && (i.state === 'pending' || i.state === 'running')) {
      return { ...toLaunched(i), reused: true, attempts: [] };
    }
    if (!(i.warmPool === 'member' || (i.warmPool === 'started' && sameKey))) {
      throw new WarmStartUnavailableError(
        req.instanceId,
        `it is not a warm-pool member (tag k3s-burst:warm-pool=${i.warmPool ?? 'absent'})`,
      );
    }
    if (i.state !== 'stopped')
      throw new WarmStartUnavailableError(req.instanceId, `it is ${i.state}, not stopped`);
    this.startCalls.push(req.instanceId);
    const code = this.startErrors.shift();
    if (code) throw new WarmStartUnavailableError(req.instanceId, `StartInstances failed with ${code}`);
    if (req.userData !== undefined) i.userData = req.userData;
    i.launchKey = req.clientToken;
    i.decisionId = req.decisionId;
    i.launchReason = req.reason.slice(0, 256);
    i.warmPool = 'started';
    i.state = 'pending';
    // EC2's LaunchTime is the time of the last start for an EBS-backed instance.
    i.launchedAt = new Date(this.clock.now()).toISOString();
    this.hooks.onStarting?.(i, req);
    return { ...toLaunched(i), reused: false, attempts: [] };
  }

  async stop(instanceIds: string[]): Promise<StopResult> {
    const ids = [...new Set(instanceIds)];
    const foreign = ids.filter((id) => {
      const i = this.instances.get(id);
      return i !== undefined && i.cluster !== this.cluster;
    });
    if (foreign.length > 0) throw new ForeignInstanceError(this.cluster, foreign);
    const result: StopResult = { stopping: [], alreadyStopped: [], gone: [] };
    const notMembers: string[] = [];
    const live: FakeInstance[] = [];
    for (const id of ids) {
      const i = this.instances.get(id);
      if (!i || i.state === 'terminated' || i.state === 'shutting-down') result.gone.push(id);
      else if (i.warmPool !== 'member') notMembers.push(id);
      else if (i.state === 'stopping' || i.state === 'stopped') result.alreadyStopped.push(id);
      else live.push(i);
    }
    if (notMembers.length > 0) throw new NotPoolMemberError(notMembers);
    for (const i of live) {
      i.state = 'stopping';
      result.stopping.push(i.instanceId);
    }
    if (result.stopping.length > 0) this.hooks.onStopping?.(result.stopping);
    return result;
  }

  /** Move shutting-down → terminated, pending → running and stopping → stopped. */
  settle(): void {
    for (const i of this.instances.values()) {
      if (i.state === 'shutting-down') i.state = 'terminated';
      if (i.state === 'pending') i.state = 'running';
      if (i.state === 'stopping') i.state = 'stopped';
    }
  }

  private takeError(o: {
    instanceType: string;
    capacityType: CapacityType;
    zone: string;
  }): string | undefined {
    const world = this.hooks.offeringError?.(o);
    if (world) return world;
    for (const e of this.errors) {
      if (e.remaining <= 0) continue;
      const m = e.match;
      if (m.instanceType !== undefined && m.instanceType !== o.instanceType) continue;
      if (m.capacityType !== undefined && m.capacityType !== o.capacityType) continue;
      if (m.zone !== undefined && m.zone !== o.zone) continue;
      e.remaining -= 1;
      return e.code;
    }
    return undefined;
  }

  private newId(): string {
    this.nextId += 1;
    return `i-0${this.nextId.toString(16).padStart(16, '0')}`;
  }
}

function toManaged(i: FakeInstance): ManagedInstance {
  return {
    instanceId: i.instanceId,
    instanceType: i.instanceType,
    state: i.state,
    launchedAt: i.launchedAt,
    zone: i.zone,
    capacityType: i.capacityType,
    nodeName: i.nodeName,
    decisionId: i.decisionId,
    launchReason: i.launchReason,
    ...(i.imageId ? { imageId: i.imageId } : {}),
    ...(i.warmPool ? { warmPool: i.warmPool } : {}),
  };
}

function toLaunched(i: FakeInstance): Omit<LaunchedInstance, 'reused' | 'attempts'> {
  return {
    instanceId: i.instanceId,
    instanceType: i.instanceType,
    capacityType: i.capacityType,
    zone: i.zone,
    subnetId: i.subnetId,
    nodeName: i.nodeName,
    launchedAt: i.launchedAt,
    state: i.state,
  };
}
