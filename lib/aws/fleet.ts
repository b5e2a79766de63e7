/**
 * FleetPort on EC2 RunInstances (see docs/adapters.md for why not CreateFleet `instant`).
 *
 * Idempotency has two halves (I7): a deterministic EC2 ClientToken per offering, which makes
 * an SDK retry or a redelivered request for the same offering return the same instance; and
 * a `k3s-burst:launch-key` tag looked up before launching, which catches what ClientToken
 * cannot (a different offering chosen on redelivery, moto ignoring ClientToken).
 */
import { createHash } from 'node:crypto';
// Types only: this module must not pull the EC2 SDK into a bundle (see Ec2Api).
import type {
  CreateTagsRequest,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  DescribeSubnetsRequest,
  DescribeSubnetsResult,
  Filter,
  Instance,
  ModifyInstanceAttributeRequest,
  Reservation,
  RunInstancesRequest,
  StartInstancesRequest,
  StopInstancesRequest,
  Tag,
  TerminateInstancesRequest,
  TerminateInstancesResult,
} from '@aws-sdk/client-ec2';
import type { Clock } from '../core/clock.js';
import { type Logger, silentLogger } from '../core/logger.js';
import {
  CapacityLimitError,
  type FleetPort,
  FleetPortError,
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
} from '../core/ports.js';
import {
  type CapacityType,
  type InstanceState,
  type ManagedInstance,
  Tags,
  WarmPoolRole,
} from '../events/index.js';
import { systemClock } from '../system/clock.js';
import { awsErrorCode, errorMessage } from './logger.js';
import {
  FALLBACK_ERROR_CODES,
  isUnavailable,
  type Offering,
  orderOfferings,
  QUOTA_ERROR_CODES,
  type SubnetChoice,
  unavailableEntry,
} from './offerings.js';

/** Base error of the EC2 fleet adapter (anything that is not a capacity outcome). */
export class Ec2FleetError extends FleetPortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Ec2FleetError';
  }
}

/** EC2 refuses user data over 16 KB (raw, before base64). */
export const MAX_USER_DATA_BYTES = 16 * 1024;

/**
 * What launchOne and start check before any call: a client token EC2 accepts (1-64 printable
 * ASCII) and user data within {@link MAX_USER_DATA_BYTES}.
 * @throws Ec2FleetError naming the value and the fix.
 */
function checkLaunchInput(clientToken: string, userData: string | undefined): void {
  if (!/^[\x21-\x7e]{1,64}$/.test(clientToken)) {
    throw new Ec2FleetError(
      `clientToken must be 1-64 printable ASCII characters (got ${clientToken.length} chars); use \`\${launchId}-\${index}\``,
    );
  }
  const userDataBytes = userData === undefined ? 0 : Buffer.byteLength(userData, 'utf8');
  if (userDataBytes > MAX_USER_DATA_BYTES) {
    throw new Ec2FleetError(
      `user data is ${userDataBytes} bytes, over the EC2 limit of ${MAX_USER_DATA_BYTES}; shorten the template`,
    );
  }
}
const MAX_TAG_VALUE = 256;

/**
 * The launch key of the warm start that re-tagged a member, written with that launch key before
 * StartInstances and kept after: it tells a member this start already started (finish it with
 * the `started` tag) from a fill's warming member, which carries its own launch key but none of
 * these. Adapter bookkeeping only; nothing reads it but {@link Ec2Fleet}.
 */
export const WARM_START_KEY_TAG = 'k3s-burst:warm-start-key';
const LISTED_STATES: InstanceState[] = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

/**
 * The EC2 calls k3s-burst makes, with the SDK's request/result shapes. Two implementations:
 * `sdkEc2Api(client)` (lib/aws/ec2-sdk.ts, the AWS SDK) and `Ec2QueryApi` (lib/aws/ec2-query.ts,
 * a small EC2 Query-protocol client the Lambdas use to stay within their bundle/init budgets).
 * Errors carry EC2's error code as `name` (read with `awsErrorCode`).
 */
export interface Ec2Api {
  runInstances(input: RunInstancesRequest): Promise<Reservation>;
  describeInstances(input: DescribeInstancesRequest): Promise<DescribeInstancesResult>;
  terminateInstances(input: TerminateInstancesRequest): Promise<TerminateInstancesResult>;
  createTags(input: CreateTagsRequest): Promise<void>;
  describeSubnets(input: DescribeSubnetsRequest): Promise<DescribeSubnetsResult>;
  /** Warm pool: start a stopped member (lib/core/warm-pool.ts). */
  startInstances(input: StartInstancesRequest): Promise<void>;
  /** Warm pool: park a member. */
  stopInstances(input: StopInstancesRequest): Promise<void>;
  /** Warm pool: a stopped member's user data (its fresh join credential) before a start. */
  modifyInstanceAttribute(input: ModifyInstanceAttributeRequest): Promise<void>;
}

/** StartInstances errors after which the member stays stopped and the index is launched instead. */
const START_UNAVAILABLE_CODES = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientAddressCapacity',
  'InsufficientCapacity',
  'Unsupported',
  'IncorrectInstanceState',
  'InvalidInstanceID.NotFound',
]);

export interface Ec2FleetProps {
  /** `sdkEc2Api(new EC2Client(…))` or `new Ec2QueryApi(…)`. */
  ec2: Ec2Api;
  cluster: string;
  /** Node name = prefix + instance id. @default 'burst-' */
  nodeNamePrefix?: string;
  /** Subnets to launch into, with their zones, in preference order. */
  subnets: SubnetChoice[];
  securityGroupIds?: string[];
  /** Instance profile ARN for the nodes. @default - none */
  instanceProfileArn?: string;
  /** @default 20 */
  rootVolumeGiB?: number;
  /** Root device of the AMI (`/dev/sda1` for Ubuntu). @default '/dev/sda1' */
  rootDeviceName?: string;
  offeringCache: OfferingCache;
  /** How long a failed offering is skipped. @default 180 */
  unavailableOfferingTtlSeconds?: number;
  clock?: Pick<Clock, 'now'>;
  logger?: Logger;
}

/**
 * The EC2 ClientToken for one offering of a launch: deterministic, ≤ 64 chars, different per
 * offering so a fallback never reuses a token with different parameters
 * (`IdempotentParameterMismatch`), equal across redeliveries of the same launch key.
 */
export function offeringClientToken(launchKey: string, o: Offering): string {
  const h = createHash('sha256')
    .update(`${launchKey}|${o.instanceType}|${o.capacityType}|${o.subnetId}`)
    .digest('hex')
    .slice(0, 8);
  return `${launchKey.slice(0, 55)}~${h}`;
}

const tag = (Key: string, Value: string): Tag => ({ Key, Value: Value.slice(0, MAX_TAG_VALUE) });

function tagValue(i: Instance, key: string): string | undefined {
  return i.Tags?.find((t) => t.Key === key)?.Value;
}

function warmPoolOf(i: Instance): { warmPool?: WarmPoolRole } {
  const parsed = WarmPoolRole.safeParse(tagValue(i, Tags.warmPool));
  if (!parsed.success) return {};
  // A member a warm start already started but did not re-tag yet (cut off before `started`;
  // only a start writes the start key, a fill never does) is that launch's node, not a member.
  const state = i.State?.Name;
  if (
    parsed.data === 'member' &&
    (tagValue(i, WARM_START_KEY_TAG) ?? '') !== '' &&
    (state === 'pending' || state === 'running')
  ) {
    return { warmPool: 'started' };
  }
  return { warmPool: parsed.data };
}

/** {@link FleetPort} on EC2 RunInstances / DescribeInstances / TerminateInstances. */
export class Ec2Fleet implements FleetPort {
  private readonly ec2: Ec2Api;
  private readonly cluster: string;
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly log: Logger;

  constructor(private readonly props: Ec2FleetProps) {
    if (props.subnets.length === 0) throw new Ec2FleetError('Ec2Fleet needs at least one subnet (got none)');
    this.ec2 = props.ec2;
    this.cluster = props.cluster;
    this.prefix = props.nodeNamePrefix ?? 'burst-';
    this.ttlSeconds = props.unavailableOfferingTtlSeconds ?? 180;
    this.clock = props.clock ?? systemClock;
    this.log = props.logger ?? silentLogger;
  }

  async list(opts: { includeTerminated?: boolean } = {}): Promise<ManagedInstance[]> {
    const states = opts.includeTerminated ? [...LISTED_STATES, 'terminated'] : LISTED_STATES;
    const found = await this.describe([
      { Name: `tag:${Tags.cluster}`, Values: [this.cluster] },
      { Name: 'instance-state-name', Values: states },
    ]);
    return found.map((i) => this.toManaged(i));
  }

  async launchOne(req: LaunchOneRequest): Promise<LaunchedInstance> {
    checkLaunchInput(req.clientToken, req.userData);

    const existing = await this.findByLaunchKey(req.clientToken);
    if (existing) {
      this.log.info('launch key already has an instance; not launching again', {
        launchKey: req.clientToken,
        instanceId: existing.InstanceId,
      });
      return { ...this.toLaunched(existing), reused: true, attempts: [] };
    }

    const now = new Date(this.clock.now());
    const unavailable = await this.props.offeringCache.listUnavailable(now);
    const attempts: OfferingAttempt[] = [];
    const offerings = orderOfferings(
      req.instanceTypes,
      req.capacityTypes,
      this.props.subnets,
      req.zones,
      req.index,
    );
    for (const o of offerings) {
      if (isUnavailable(o, unavailable, now)) {
        attempts.push({ ...o, outcome: 'cached-unavailable' });
        continue;
      }
      let instance: Instance | undefined;
      try {
        const out = await this.ec2.runInstances(this.runInput(req, o));
        instance = out.Instances?.[0];
      } catch (err) {
        const code = awsErrorCode(err);
        if (QUOTA_ERROR_CODES.has(code)) {
          throw new CapacityLimitError(code, o.instanceType, o.capacityType, errorMessage(err), {
            cause: err,
          });
        }
        if (FALLBACK_ERROR_CODES.has(code)) {
          this.log.warn('offering unavailable, trying the next', { ...o, code });
          attempts.push({ ...o, outcome: code });
          const entry = unavailableEntry(o, now, this.ttlSeconds, code);
          await this.props.offeringCache.markUnavailable(entry);
          // An account-wide entry (all spot) also skips the rest of this call's spot offerings.
          unavailable.push(entry);
          continue;
        }
        throw new Ec2FleetError(
          `RunInstances ${o.instanceType}/${o.capacityType} in ${o.subnetId} failed with ${code}: ${errorMessage(err)}`,
          { cause: err },
        );
      }
      if (!instance?.InstanceId) {
        throw new Ec2FleetError(`RunInstances ${o.instanceType} returned no instance for ${req.clientToken}`);
      }
      await this.tagNodeName(instance.InstanceId);
      const launched = this.toLaunched(instance, o);
      this.log.info('launched instance', {
        instanceId: launched.instanceId,
        instanceType: o.instanceType,
        capacityType: o.capacityType,
        zone: o.zone,
        launchKey: req.clientToken,
      });
      return { ...launched, reused: false, attempts };
    }
    throw new NoCapacityError(req.clientToken, attempts);
  }

  /**
   * The instances of `ids` EC2 knows, by id. Throws {@link ForeignInstanceError} (acting on none)
   * when any of them lacks this cluster's tag. A filter, not InstanceIds, so unknown ids do not
   * fail the whole call.
   */
  private async describeOwn(ids: string[]): Promise<Map<string, Instance>> {
    const found = await this.describe([{ Name: 'instance-id', Values: ids }]);
    const byId = new Map(found.map((i) => [i.InstanceId as string, i]));
    const foreign = ids.filter((id) => {
      const i = byId.get(id);
      return i !== undefined && tagValue(i, Tags.cluster) !== this.cluster;
    });
    if (foreign.length > 0) throw new ForeignInstanceError(this.cluster, foreign);
    return byId;
  }

  async terminate(instanceIds: string[]): Promise<TerminateResult> {
    const ids = [...new Set(instanceIds.map((i) => i.trim()))].filter((i) => i.length > 0);
    if (ids.length === 0) return { terminating: [], alreadyGone: [] };
    const byId = await this.describeOwn(ids);

    const result: TerminateResult = { terminating: [], alreadyGone: [] };
    const live: string[] = [];
    for (const id of ids) {
      const state = byId.get(id)?.State?.Name;
      if (state === undefined || state === 'terminated' || state === 'shutting-down')
        result.alreadyGone.push(id);
      else live.push(id);
    }
    if (live.length > 0) {
      try {
        await this.ec2.terminateInstances({ InstanceIds: live });
        result.terminating.push(...live);
      } catch (err) {
        const code = awsErrorCode(err);
        if (code !== 'InvalidInstanceID.NotFound') {
          throw new Ec2FleetError(
            `TerminateInstances ${live.join(', ')} failed with ${code}: ${errorMessage(err)}`,
            {
              cause: err,
            },
          );
        }
        // Raced with another terminator: terminate the survivors one by one.
        for (const id of live) {
          try {
            await this.ec2.terminateInstances({ InstanceIds: [id] });
            result.terminating.push(id);
          } catch (inner) {
            if (awsErrorCode(inner) !== 'InvalidInstanceID.NotFound') {
              throw new Ec2FleetError(`TerminateInstances ${id} failed: ${errorMessage(inner)}`, {
                cause: inner,
              });
            }
            result.alreadyGone.push(id);
          }
        }
      }
    }
    this.log.info('terminate', { ...result });
    return result;
  }

  async start(req: StartMemberRequest): Promise<LaunchedInstance> {
    checkLaunchInput(req.clientToken, req.userData);
    const [i] = await this.describe([{ Name: 'instance-id', Values: [req.instanceId] }]);
    if (!i) throw new WarmStartUnavailableError(req.instanceId, 'EC2 does not know it');
    if (tagValue(i, Tags.cluster) !== this.cluster)
      throw new ForeignInstanceError(this.cluster, [req.instanceId]);
    const role = tagValue(i, Tags.warmPool);
    const state = i.State?.Name;
    const live = state === 'pending' || state === 'running';
    const sameKey = tagValue(i, Tags.launchKey) === req.clientToken;
    const startedHere = sameKey && tagValue(i, WARM_START_KEY_TAG) === req.clientToken;
    // I7: a redelivered start finds its own launch key on the instance.
    if (role === 'started' && sameKey && live) {
      return { ...this.toLaunched(i), reused: true, attempts: [] };
    }
    // An earlier delivery started it and stopped before the `started` tag: finish that.
    if (role === 'member' && startedHere && live) {
      await this.markStarted(req.instanceId);
      return { ...this.toLaunched(i), reused: true, attempts: [] };
    }
    // A `started` instance is an ordinary node, even a stopped one under this key: IAM lets
    // launch start and modify only members, so that index is launched instead.
    if (role !== 'member')
      throw new WarmStartUnavailableError(
        req.instanceId,
        `it is not a warm-pool member (tag ${Tags.warmPool}=${role ?? 'absent'})`,
      );
    if (state !== 'stopped')
      throw new WarmStartUnavailableError(
        req.instanceId,
        `it is ${state ?? 'in no known state'}, not stopped`,
      );
    const previous = [Tags.launchKey, Tags.decisionId, Tags.launchReason, WARM_START_KEY_TAG].map((k) =>
      tag(k, tagValue(i, k) ?? ''),
    );
    try {
      if (req.userData !== undefined) {
        // Unlike RunInstances, ModifyInstanceAttribute takes the script base64-encoded inside the
        // blob (the AWS CLI documents it; the SDK base64s the blob once more on the wire).
        await this.ec2.modifyInstanceAttribute({
          InstanceId: req.instanceId,
          UserData: { Value: new TextEncoder().encode(Buffer.from(req.userData, 'utf8').toString('base64')) },
        });
      }
      // The launch key first (I7: a redelivery finds it), the member tag untouched: IAM lets
      // launch write `started` only onto a member and `member` never (only RunInstances does).
      await this.ec2.createTags({
        Resources: [req.instanceId],
        Tags: [
          tag(Tags.launchKey, req.clientToken),
          tag(Tags.decisionId, req.decisionId),
          tag(Tags.launchReason, req.reason),
          tag(WARM_START_KEY_TAG, req.clientToken),
        ],
      });
      await this.ec2.startInstances({ InstanceIds: [req.instanceId] });
    } catch (err) {
      const code = awsErrorCode(err);
      if (!START_UNAVAILABLE_CODES.has(code)) {
        throw new Ec2FleetError(
          `starting warm-pool member ${req.instanceId} failed with ${code}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      }
      // Still a member (its warm-pool tag never changed): only the launch tags go back, so no
      // launch key points at a stopped instance.
      try {
        await this.ec2.createTags({ Resources: [req.instanceId], Tags: previous });
      } catch (inner) {
        this.log.warn('could not restore the launch tags of a warm-pool member that did not start', {
          instanceId: req.instanceId,
          code: awsErrorCode(inner),
        });
      }
      throw new WarmStartUnavailableError(req.instanceId, `StartInstances failed with ${code}`, {
        cause: err,
      });
    }
    await this.markStarted(req.instanceId);
    this.log.info('started warm-pool member', { instanceId: req.instanceId, launchKey: req.clientToken });
    return { ...this.toLaunched(i), state: 'pending', reused: false, attempts: [] };
  }

  /**
   * `k3s-burst:warm-pool=started` on a member that is running: from now on an ordinary node.
   * The only warm-pool value launch may write (IAM `MarkWarmPoolMembersStarted`).
   * @throws Ec2FleetError (retryable: a redelivery finds the member running under its start key
   * and finishes here, see {@link Ec2Fleet.findLaunched} and start).
   */
  private async markStarted(instanceId: string): Promise<void> {
    try {
      await this.ec2.createTags({ Resources: [instanceId], Tags: [tag(Tags.warmPool, 'started')] });
    } catch (err) {
      throw new Ec2FleetError(
        `warm-pool member ${instanceId} started but could not be tagged ${Tags.warmPool}=started (${awsErrorCode(err)}: ${errorMessage(err)}); a redelivery finishes it`,
        { cause: err },
      );
    }
  }

  async stop(instanceIds: string[]): Promise<StopResult> {
    const ids = [...new Set(instanceIds.map((i) => i.trim()))].filter((i) => i.length > 0);
    const result: StopResult = { stopping: [], alreadyStopped: [], gone: [] };
    if (ids.length === 0) return result;
    const byId = await this.describeOwn(ids);
    const live: string[] = [];
    const notMembers: string[] = [];
    for (const id of ids) {
      const i = byId.get(id);
      const state = i?.State?.Name;
      if (!i || state === 'terminated' || state === 'shutting-down') result.gone.push(id);
      else if (tagValue(i, Tags.warmPool) !== 'member') notMembers.push(id);
      else if (state === 'stopping' || state === 'stopped') result.alreadyStopped.push(id);
      else live.push(id);
    }
    if (notMembers.length > 0) throw new NotPoolMemberError(notMembers);
    if (live.length > 0) {
      try {
        await this.ec2.stopInstances({ InstanceIds: live });
      } catch (err) {
        throw new Ec2FleetError(
          `StopInstances ${live.join(', ')} failed with ${awsErrorCode(err)}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      }
      result.stopping.push(...live);
    }
    this.log.info('stop', { ...result });
    return result;
  }

  private runInput(req: LaunchOneRequest, o: Offering): RunInstancesRequest {
    const tags = [
      tag(Tags.cluster, this.cluster),
      tag(Tags.decisionId, req.decisionId),
      tag(Tags.launchReason, req.reason),
      tag(Tags.launchKey, req.clientToken),
      tag(Tags.capacityType, o.capacityType),
      tag(Tags.name, `k3s-burst-${this.cluster}`),
      ...(req.warmPool ? [tag(Tags.warmPool, 'member')] : []),
    ];
    return {
      ImageId: req.imageId,
      InstanceType: o.instanceType as RunInstancesRequest['InstanceType'],
      MinCount: 1,
      MaxCount: 1,
      ClientToken: offeringClientToken(req.clientToken, o),
      SubnetId: o.subnetId,
      SecurityGroupIds: this.props.securityGroupIds,
      IamInstanceProfile: this.props.instanceProfileArn ? { Arn: this.props.instanceProfileArn } : undefined,
      UserData: Buffer.from(req.userData, 'utf8').toString('base64'),
      // IMDSv2 only, hop limit 1: pods cannot reach the instance credentials (docs/security.md).
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
      BlockDeviceMappings: [
        {
          DeviceName: this.props.rootDeviceName ?? '/dev/sda1',
          Ebs: {
            VolumeSize: req.rootVolumeGiB ?? this.props.rootVolumeGiB ?? 20,
            VolumeType: 'gp3',
            Encrypted: true,
            DeleteOnTermination: true,
          },
        },
      ],
      InstanceMarketOptions:
        o.capacityType === 'spot'
          ? {
              MarketType: 'spot',
              SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
            }
          : undefined,
      InstanceInitiatedShutdownBehavior: 'terminate',
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
    };
  }

  /** Write the node-name tag once the instance id is known. Best effort: list() derives it anyway. */
  private async tagNodeName(instanceId: string): Promise<void> {
    const nodeName = `${this.prefix}${instanceId}`;
    try {
      await this.ec2.createTags({
        Resources: [instanceId],
        Tags: [tag(Tags.nodeName, nodeName), tag(Tags.name, nodeName)],
      });
    } catch (err) {
      this.log.warn('could not tag node name; list() derives it from the instance id', {
        instanceId,
        code: awsErrorCode(err),
      });
    }
  }

  async findLaunched(launchKey: string): Promise<LaunchedInstance | undefined> {
    const existing = await this.findByLaunchKey(launchKey);
    if (!existing) return undefined;
    // A warm start cut off between StartInstances and its `started` tag left a running member
    // under this key (its start key says so; a fill's member has none): this launch's node.
    const state = existing.State?.Name;
    if (
      existing.InstanceId &&
      tagValue(existing, Tags.warmPool) === 'member' &&
      tagValue(existing, WARM_START_KEY_TAG) === launchKey &&
      (state === 'pending' || state === 'running')
    ) {
      await this.markStarted(existing.InstanceId);
    }
    return { ...this.toLaunched(existing), reused: true, attempts: [] };
  }

  private async findByLaunchKey(launchKey: string): Promise<Instance | undefined> {
    const found = await this.describe([
      { Name: `tag:${Tags.cluster}`, Values: [this.cluster] },
      { Name: `tag:${Tags.launchKey}`, Values: [launchKey] },
    ]);
    // Prefer a live instance; a terminated one still means "this launch happened" (I7).
    return found.find((i) => i.State?.Name !== 'terminated') ?? found[0];
  }

  private async describe(filters: Filter[]): Promise<Instance[]> {
    const out: Instance[] = [];
    try {
      // Bounded: at most 50 pages of up to 1000 instances.
      let token: string | undefined;
      for (let pages = 0; pages < 50; pages++) {
        const page = await this.ec2.describeInstances({
          Filters: filters,
          MaxResults: 1000,
          NextToken: token,
        });
        for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
        if (!page.NextToken || page.NextToken === token) break;
        token = page.NextToken;
      }
    } catch (err) {
      throw new Ec2FleetError(`DescribeInstances failed with ${awsErrorCode(err)}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    return out;
  }

  private capacityTypeOf(i: Instance): CapacityType {
    if (i.InstanceLifecycle === 'spot') return 'spot';
    return tagValue(i, Tags.capacityType) === 'spot' ? 'spot' : 'on-demand';
  }

  private toManaged(i: Instance): ManagedInstance {
    const instanceId = i.InstanceId ?? '';
    return {
      instanceId,
      instanceType: i.InstanceType ?? '',
      state: (i.State?.Name ?? 'pending') as InstanceState,
      launchedAt: (i.LaunchTime ?? new Date(this.clock.now())).toISOString(),
      zone: i.Placement?.AvailabilityZone ?? '',
      capacityType: this.capacityTypeOf(i),
      nodeName: `${this.prefix}${instanceId}`,
      decisionId: tagValue(i, Tags.decisionId) ?? '',
      launchReason: tagValue(i, Tags.launchReason) ?? '',
      ...(i.ImageId ? { imageId: i.ImageId } : {}),
      ...warmPoolOf(i),
    };
  }

  private toLaunched(i: Instance, o?: Offering): Omit<LaunchedInstance, 'reused' | 'attempts'> {
    const m = this.toManaged(i);
    return {
      instanceId: m.instanceId,
      instanceType: m.instanceType || (o?.instanceType ?? ''),
      capacityType: o?.capacityType ?? m.capacityType,
      zone: m.zone || (o?.zone ?? ''),
      subnetId: i.SubnetId ?? o?.subnetId ?? '',
      nodeName: m.nodeName,
      launchedAt: m.launchedAt,
      state: m.state,
    };
  }
}
