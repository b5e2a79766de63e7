import { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { Tags } from '../events/index.js';
import { SELF_IMAGE_OWNER } from './image-owners.js';

/** Inputs of the EC2 statements; ARNs may be tokens. */
export interface FleetPermissionsProps {
  readonly clusterName: string;
  readonly subnetIds: readonly string[];
  /** The VPC of `subnetIds` (the network interface must be in it). */
  readonly vpcId: string;
  readonly securityGroupId: string;
  /** `nodes.candidateTypes`: the only instance types RunInstances may start. */
  readonly instanceTypes: readonly string[];
  /**
   * Allowed `ec2:Owner` values of the AMI (lib/infra/image-owners.ts), account ids or
   * `amazon`; `self` is replaced by this stack's account.
   */
  readonly imageOwners: readonly string[];
  readonly nodeRoleArn: string;
  /** SSM parameter names of the node AMIs (public `/aws/service/...` or the account's own). */
  readonly amiParameterNames: readonly string[];
}

function ec2Arn(scope: Construct, resource: string, account = true): string {
  const stack = Stack.of(scope);
  return `arn:${stack.partition}:ec2:${stack.region}:${account ? stack.account : ''}:${resource}`;
}

/** ARN of an SSM parameter; AWS public parameters have no account in their ARN. */
export function ssmParameterArn(scope: Construct, name: string): string {
  const stack = Stack.of(scope);
  const path = name.startsWith('/') ? name.slice(1) : name;
  const account = path.startsWith('aws/service/') ? '' : stack.account;
  return `arn:${stack.partition}:ssm:${stack.region}:${account}:parameter/${path}`;
}

/**
 * Statements that let the launch function start instances **only with this cluster's tag,
 * only as configured** — defence in depth behind the launch guard (lib/core/launch-guard.ts):
 * even a launch function tricked into calling RunInstances with other parameters is refused.
 *
 * The fleet adapter (`lib/aws/fleet.ts`) launches with RunInstances only, with every
 * parameter in the request (no launch template, no CreateFleet: see lib/aws/fleet.ts), so
 * neither CreateFleet nor the launch template is granted.
 *
 * RunInstances is authorized once per resource it touches, and each condition key exists
 * only on some resource types (Service Authorization Reference, EC2 resource types), so
 * each condition sits on the resource that carries it — a key on the wrong resource would
 * never match and silently deny every launch:
 * - `instance`: `aws:RequestTag/k3s-burst:cluster`, `ec2:InstanceType` ∈ `nodes.candidateTypes`,
 *   `ec2:MetadataHttpTokens = required` and `ec2:MetadataHttpPutResponseHopLimit ≤ 1` (IMDSv2);
 * - `volume`: the cluster tag and `ec2:Encrypted = true`;
 * - `network-interface`: `ec2:Subnet` ∈ this stack's subnets and `ec2:Vpc` = their VPC (ARNs);
 * - `image`: `ec2:Owner` ∈ the allowed image owners;
 * - `subnet` / `security-group`: pinned by ARN to this stack's; `spot-instances-request` has
 *   no useful key (it is created implicitly by a spot launch).
 * Tagging is allowed only as part of that launch (`ec2:CreateAction`) or later on already
 * cluster-tagged resources, without ever changing the cluster tag itself. The warm-pool tag is
 * the one later tag IAM acts on (the Start/Stop statements of {@link warmPoolStatement}), so a
 * later CreateTags may write it only as `started`, alone, onto an instance that is already a
 * member (a warm start, `Ec2Fleet.start`); `member` is written only by RunInstances' tag-on-create
 * — launch can never make an ordinary node, or a started one, pass the Start/Stop conditions.
 */
export function launchStatements(scope: Construct, props: FleetPermissionsProps): PolicyStatement[] {
  const clusterTag = `aws:RequestTag/${Tags.cluster}`;
  const created = ['instance/*', 'volume/*'].map((r) => ec2Arn(scope, r));
  const account = Stack.of(scope).account;
  const owners = [...new Set(props.imageOwners.map((o) => (o === SELF_IMAGE_OWNER ? account : o)))];
  return [
    new PolicyStatement({
      sid: 'LaunchClusterTaggedCandidateInstances',
      actions: ['ec2:RunInstances'],
      resources: [ec2Arn(scope, 'instance/*')],
      conditions: {
        StringEquals: {
          [clusterTag]: props.clusterName,
          'ec2:InstanceType': [...props.instanceTypes],
          'ec2:MetadataHttpTokens': 'required',
        },
        NumericLessThanEquals: { 'ec2:MetadataHttpPutResponseHopLimit': 1 },
      },
    }),
    new PolicyStatement({
      sid: 'LaunchEncryptedClusterTaggedVolumes',
      actions: ['ec2:RunInstances'],
      resources: [ec2Arn(scope, 'volume/*')],
      conditions: {
        StringEquals: { [clusterTag]: props.clusterName },
        Bool: { 'ec2:Encrypted': 'true' },
      },
    }),
    new PolicyStatement({
      sid: 'LaunchInterfacesInStackSubnets',
      actions: ['ec2:RunInstances'],
      resources: [ec2Arn(scope, 'network-interface/*')],
      conditions: {
        ArnEquals: {
          'ec2:Subnet': props.subnetIds.map((id) => ec2Arn(scope, `subnet/${id}`)),
          'ec2:Vpc': ec2Arn(scope, `vpc/${props.vpcId}`),
        },
      },
    }),
    new PolicyStatement({
      sid: 'LaunchImagesOfAllowedOwners',
      actions: ['ec2:RunInstances'],
      resources: [ec2Arn(scope, 'image/*', false)],
      conditions: { StringEquals: { 'ec2:Owner': owners } },
    }),
    new PolicyStatement({
      sid: 'LaunchUsingStackResources',
      actions: ['ec2:RunInstances'],
      resources: [
        ...props.subnetIds.map((id) => ec2Arn(scope, `subnet/${id}`)),
        ec2Arn(scope, `security-group/${props.securityGroupId}`),
        ec2Arn(scope, 'spot-instances-request/*'),
      ],
    }),
    new PolicyStatement({
      sid: 'TagOnlyAtLaunch',
      actions: ['ec2:CreateTags'],
      resources: [
        ...created,
        ec2Arn(scope, 'network-interface/*'),
        ec2Arn(scope, 'spot-instances-request/*'),
      ],
      conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
    }),
    new PolicyStatement({
      sid: 'RetagClusterInstances',
      actions: ['ec2:CreateTags'],
      resources: [ec2Arn(scope, 'instance/*'), ec2Arn(scope, 'volume/*')],
      conditions: {
        StringEquals: { [`aws:ResourceTag/${Tags.cluster}`]: props.clusterName },
        'ForAllValues:StringNotEquals': { 'aws:TagKeys': [Tags.cluster, Tags.warmPool] },
      },
    }),
    new PolicyStatement({
      sid: 'MarkWarmPoolMembersStarted',
      actions: ['ec2:CreateTags'],
      resources: [ec2Arn(scope, 'instance/*')],
      conditions: {
        StringEquals: {
          [`aws:ResourceTag/${Tags.cluster}`]: props.clusterName,
          [`aws:ResourceTag/${Tags.warmPool}`]: 'member',
          [`aws:RequestTag/${Tags.warmPool}`]: 'started',
        },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [Tags.warmPool] },
      },
    }),
    new PolicyStatement({
      sid: 'PassOnlyNodeRole',
      actions: ['iam:PassRole'],
      resources: [props.nodeRoleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    }),
    new PolicyStatement({
      // The first spot launch of an account creates AWSServiceRoleForEC2Spot.
      sid: 'SpotServiceLinkedRole',
      actions: ['iam:CreateServiceLinkedRole'],
      resources: ['*'],
      conditions: { StringEquals: { 'iam:AWSServiceName': 'spot.amazonaws.com' } },
    }),
    new PolicyStatement({
      sid: 'ReadAmiParameters',
      actions: ['ssm:GetParameter'],
      resources: props.amiParameterNames.map((n) => ssmParameterArn(scope, n)),
    }),
  ];
}

/** Terminate only instances that carry this cluster's tag. */
export function terminateStatement(scope: Construct, clusterName: string): PolicyStatement {
  return new PolicyStatement({
    sid: 'TerminateOnlyClusterTagged',
    effect: Effect.ALLOW,
    actions: ['ec2:TerminateInstances'],
    resources: [ec2Arn(scope, 'instance/*')],
    conditions: { StringEquals: { [`aws:ResourceTag/${Tags.cluster}`]: clusterName } },
  });
}

/**
 * Read-only EC2 calls. EC2 Describe* actions do not support resource-level permissions,
 * so `Resource: *` is the only valid form (acknowledged in cdk-nag with that reason).
 */
export function describeStatement(actions: readonly string[]): PolicyStatement {
  return new PolicyStatement({ sid: 'Ec2ReadOnly', actions: [...actions], resources: ['*'] });
}

/**
 * Warm pool (lib/core/warm-pool.ts): start (with ModifyInstanceAttribute for the member's fresh
 * join credential, allowed only while stopped) or stop only instances that carry this cluster's
 * tag AND `k3s-burst:warm-pool=member` — an ordinary node, a started member included, can never
 * be started, stopped or modified. `Ec2Fleet.start` re-tags a member `started` only after
 * StartInstances succeeded, so a start never needs these on a `started` instance.
 */
export function warmPoolStatement(
  scope: Construct,
  clusterName: string,
  kind: 'start' | 'stop',
): PolicyStatement {
  return new PolicyStatement({
    sid: kind === 'start' ? 'StartClusterWarmPoolMembers' : 'StopClusterWarmPoolMembers',
    effect: Effect.ALLOW,
    actions: kind === 'start' ? ['ec2:StartInstances', 'ec2:ModifyInstanceAttribute'] : ['ec2:StopInstances'],
    resources: [ec2Arn(scope, 'instance/*')],
    conditions: {
      StringEquals: {
        [`aws:ResourceTag/${Tags.cluster}`]: clusterName,
        [`aws:ResourceTag/${Tags.warmPool}`]: ['member'],
      },
    },
  });
}
