/**
 * The cluster's EC2 instances as `status` shows them: every instance carrying the cluster
 * tag, in any state (terminated ones only on request), read with DescribeInstances. EC2 is the
 * truth for the warm pool too: the `k3s-burst:warm-pool` tag says which are members.
 */
import { type EC2Client, type Instance, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { awsErrorCode, errorMessage } from '../aws/logger.js';
import { type CapacityType, Tags, WarmPoolRole } from '../events/index.js';
import { OpsError } from './errors.js';

export interface OpsInstance {
  instanceId: string;
  state: string;
  instanceType: string;
  capacityType: CapacityType;
  zone: string;
  /** EC2's LaunchTime: the time the instance was last started (a stop and start moves it). */
  launchedAt: string;
  /** When it was first launched (see {@link firstLaunchOf}); absent when EC2 does not say. */
  firstLaunchedAt?: string;
  nodeName: string;
  decisionId: string;
  /** Tag `k3s-burst:warm-pool` (member or started); absent on ordinary instances or an unknown value. */
  warmPool?: WarmPoolRole;
}

const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];
/** Bounded: at most 10 pages of 1000 instances. */
const MAX_PAGES = 10;

function tagValue(i: Instance, key: string): string | undefined {
  return i.Tags?.find((t) => t.Key === key)?.Value;
}

/**
 * When an instance was first launched: the attach time of its primary network interface
 * (device index 0), which EC2 documents as the first launch time (`LaunchTime` is the last
 * start; the primary interface stays attached until termination). Undefined when EC2 gives
 * no such attachment.
 */
export function firstLaunchOf(i: Instance): string | undefined {
  const primary = i.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0);
  const at = primary?.Attachment?.AttachTime;
  return at && Number.isFinite(at.getTime()) ? at.toISOString() : undefined;
}

/** Instances tagged with the cluster, oldest first. */
export async function listClusterInstances(
  ec2: EC2Client,
  cluster: string,
  nodeNamePrefix: string,
  opts: { includeTerminated?: boolean } = {},
): Promise<OpsInstance[]> {
  const states = opts.includeTerminated ? [...LIVE_STATES, 'terminated'] : LIVE_STATES;
  const found: Instance[] = [];
  try {
    let pages = 0;
    for await (const page of paginateDescribeInstances(
      { client: ec2, pageSize: 1000 },
      {
        Filters: [
          { Name: `tag:${Tags.cluster}`, Values: [cluster] },
          { Name: 'instance-state-name', Values: states },
        ],
        MaxResults: 1000,
      },
    )) {
      for (const r of page.Reservations ?? []) found.push(...(r.Instances ?? []));
      pages += 1;
      if (pages >= MAX_PAGES) break;
    }
  } catch (err) {
    throw new OpsError(`cannot list EC2 instances (${awsErrorCode(err)}: ${errorMessage(err)})`, {
      cause: err,
    });
  }
  return found
    .map((i): OpsInstance => {
      const id = i.InstanceId ?? '';
      const role = WarmPoolRole.safeParse(tagValue(i, Tags.warmPool));
      const first = firstLaunchOf(i);
      const spot = i.InstanceLifecycle === 'spot' || tagValue(i, Tags.capacityType) === 'spot';
      return {
        instanceId: id,
        state: i.State?.Name ?? 'unknown',
        instanceType: i.InstanceType ?? '',
        capacityType: spot ? 'spot' : 'on-demand',
        zone: i.Placement?.AvailabilityZone ?? '',
        launchedAt: i.LaunchTime ? i.LaunchTime.toISOString() : '',
        ...(first ? { firstLaunchedAt: first } : {}),
        nodeName: tagValue(i, Tags.nodeName) ?? `${nodeNamePrefix}${id}`,
        decisionId: tagValue(i, Tags.decisionId) ?? '',
        ...(role.success ? { warmPool: role.data } : {}),
      };
    })
    .sort((a, b) => (a.launchedAt < b.launchedAt ? -1 : a.launchedAt > b.launchedAt ? 1 : 0));
}
