import { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { Tags } from '../events/index.js';

/** Inputs of the EC2 statements; ARNs may be tokens. */
export interface FleetPermissionsProps {
  readonly clusterName: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
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
 * Statements that let the launch function start instances **only with this cluster's tag**.
 *
 * The fleet adapter (`lib/aws/fleet.ts`) launches with RunInstances only, with every
 * parameter in the request (no launch template, no CreateFleet: see lib/aws/fleet.ts), so
 * neither CreateFleet nor the launch template is granted.
 *
 * RunInstances is authorized per resource: the instance and volume it creates must carry
 * `k3s-burst:cluster=<cluster>` in the request (`aws:RequestTag`); the subnets and the
 * security group it uses are pinned to this stack's; network interfaces, AMIs and spot
 * requests cannot be tagged reliably or are owned by others, so they are unconditioned.
 * Tagging is allowed only as part of that launch (`ec2:CreateAction`) or later on already
 * cluster-tagged resources, without ever changing the cluster tag itself.
 */
export function launchStatements(scope: Construct, props: FleetPermissionsProps): PolicyStatement[] {
  const clusterTag = `aws:RequestTag/${Tags.cluster}`;
  const created = ['instance/*', 'volume/*'].map((r) => ec2Arn(scope, r));
  return [
    new PolicyStatement({
      sid: 'LaunchOnlyClusterTagged',
      actions: ['ec2:RunInstances'],
      resources: created,
      conditions: { StringEquals: { [clusterTag]: props.clusterName } },
    }),
    new PolicyStatement({
      sid: 'LaunchUsingStackResources',
      actions: ['ec2:RunInstances'],
      resources: [
        ...props.subnetIds.map((id) => ec2Arn(scope, `subnet/${id}`)),
        ec2Arn(scope, `security-group/${props.securityGroupId}`),
        ec2Arn(scope, 'network-interface/*'),
        ec2Arn(scope, 'spot-instances-request/*'),
        ec2Arn(scope, 'image/*', false),
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
        'ForAllValues:StringNotEquals': { 'aws:TagKeys': [Tags.cluster] },
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
