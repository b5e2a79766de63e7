/**
 * Find a cluster's deployment: the CloudFormation stack `K3sBurst-<cluster>` and the names of
 * what it created, from its outputs. Outputs added in later versions (`TableName`,
 * `DeadLetterQueueUrls`) may be missing on an older stack; then the stack's resources are
 * searched by type and the fallback is reported in `notes`, so the operator knows to
 * redeploy.
 */
import {
  type CloudFormationClient,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  type Stack,
  type StackResource,
} from '@aws-sdk/client-cloudformation';
import { awsErrorCode, errorMessage } from '../aws/logger.js';
import { OpsError, StackNotFoundError, StackResourceMissingError } from './errors.js';

/** The stack name for a cluster (same rule as `lib/infra` `stackNameFor`, kept here so the CLI does not load CDK). */
export function stackNameFor(clusterName: string): string {
  return `K3sBurst-${clusterName}`;
}

/** Output keys the tools read (see `lib/infra/k3s-burst-stack.ts`). */
export const StackOutputs = {
  eventBusName: 'EventBusName',
  commandQueueUrl: 'CommandQueueUrl',
  tailscaleOAuthSecretArn: 'TailscaleOAuthSecretArn',
  k3sAgentTokenSecretArn: 'K3sAgentTokenSecretArn',
  /** k3s.joinCredential bootstrap-token: the secret the agent publishes join tokens to. */
  k3sBootstrapTokenSecretArn: 'K3sBootstrapTokenSecretArn',
  tableName: 'TableName',
  /** Comma-separated queue URLs of every dead-letter queue of the stack. */
  deadLetterQueueUrls: 'DeadLetterQueueUrls',
  /** Comma-separated subnet ids the nodes launch into (`bake` starts its builder in the first). */
  nodeSubnetIds: 'NodeSubnetIds',
  nodeSecurityGroupId: 'NodeSecurityGroupId',
} as const;

/** What `status` and `doctor` need to know about a deployed stack. */
export interface Deployment {
  stackName: string;
  region: string;
  /** e.g. `CREATE_COMPLETE`, `UPDATE_ROLLBACK_FAILED`. */
  stackStatus: string;
  stackStatusReason?: string;
  eventBusName?: string;
  commandQueueUrl?: string;
  tailscaleOAuthSecretArn?: string;
  /** Present in agent-token mode (and in stacks deployed before bootstrap tokens). */
  k3sAgentTokenSecretArn?: string;
  /** Present in bootstrap-token mode. */
  k3sBootstrapTokenSecretArn?: string;
  tableName?: string;
  deadLetterQueueUrls: string[];
  /** The nodes' subnets (empty on stacks deployed before `bake`). */
  nodeSubnetIds: string[];
  nodeSecurityGroupId?: string;
  /** One sentence per value found by the resource fallback instead of an output. */
  notes: string[];
}

/** A stack status in which the stack's resources are all in place. */
export function isUsableStackStatus(status: string): boolean {
  return (
    status.endsWith('_COMPLETE') &&
    !status.startsWith('DELETE_') &&
    status !== 'ROLLBACK_COMPLETE' &&
    !status.startsWith('REVIEW_')
  );
}

function resourcesOfType(resources: StackResource[], type: string): StackResource[] {
  return resources.filter((r) => r.ResourceType === type && r.PhysicalResourceId);
}

/**
 * Read the stack's status and outputs, falling back to DescribeStackResources for any
 * output that is missing.
 *
 * @throws StackNotFoundError when the stack does not exist
 * @throws OpsError when CloudFormation cannot be read (credentials, permissions)
 */
export async function findDeployment(
  cfn: CloudFormationClient,
  stackName: string,
  region: string,
): Promise<Deployment> {
  let stack: Stack | undefined;
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    stack = out.Stacks?.[0];
  } catch (err) {
    if (awsErrorCode(err) === 'ValidationError' && /does not exist/i.test(errorMessage(err))) {
      throw new StackNotFoundError(stackName, region, { cause: err });
    }
    throw new OpsError(
      `cannot describe stack ${stackName} in ${region} (${awsErrorCode(err)}: ${errorMessage(err)}); ` +
        'check your AWS credentials (aws sts get-caller-identity) and region',
      { cause: err },
    );
  }
  if (!stack) throw new StackNotFoundError(stackName, region);
  const outputs = new Map((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  const output = (key: string): string | undefined => {
    const v = outputs.get(key);
    return v ? v : undefined;
  };
  const d: Deployment = {
    stackName,
    region,
    stackStatus: stack.StackStatus ?? 'UNKNOWN',
    ...(stack.StackStatusReason ? { stackStatusReason: stack.StackStatusReason } : {}),
    eventBusName: output(StackOutputs.eventBusName),
    commandQueueUrl: output(StackOutputs.commandQueueUrl),
    tailscaleOAuthSecretArn: output(StackOutputs.tailscaleOAuthSecretArn),
    k3sAgentTokenSecretArn: output(StackOutputs.k3sAgentTokenSecretArn),
    k3sBootstrapTokenSecretArn: output(StackOutputs.k3sBootstrapTokenSecretArn),
    tableName: output(StackOutputs.tableName),
    deadLetterQueueUrls: (output(StackOutputs.deadLetterQueueUrls) ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u.length > 0),
    nodeSubnetIds: (output(StackOutputs.nodeSubnetIds) ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u.length > 0),
    ...(output(StackOutputs.nodeSecurityGroupId)
      ? { nodeSecurityGroupId: output(StackOutputs.nodeSecurityGroupId) }
      : {}),
    notes: [],
  };
  const missing =
    !d.eventBusName ||
    !d.commandQueueUrl ||
    !d.tailscaleOAuthSecretArn ||
    (!d.k3sAgentTokenSecretArn && !d.k3sBootstrapTokenSecretArn) ||
    !d.tableName ||
    !outputs.has(StackOutputs.deadLetterQueueUrls);
  if (missing && isUsableStackStatus(d.stackStatus)) await fillFromResources(cfn, d, outputs);
  return d;
}

async function fillFromResources(
  cfn: CloudFormationClient,
  d: Deployment,
  outputs: Map<string, string>,
): Promise<void> {
  let resources: StackResource[];
  try {
    const out = await cfn.send(new DescribeStackResourcesCommand({ StackName: d.stackName }));
    resources = out.StackResources ?? [];
  } catch (err) {
    d.notes.push(
      `stack outputs are incomplete and its resources cannot be listed (${awsErrorCode(err)}); run \`npx cdk deploy\` to update the stack`,
    );
    return;
  }
  const note = (output: string, found: string) =>
    d.notes.push(
      `stack output ${output} is missing; found ${found} among the stack's resources instead (run \`npx cdk deploy\` to add the output)`,
    );
  if (!d.tableName) {
    const table = resourcesOfType(resources, 'AWS::DynamoDB::Table')[0];
    if (table?.PhysicalResourceId) {
      d.tableName = table.PhysicalResourceId;
      note(StackOutputs.tableName, `table ${d.tableName}`);
    }
  }
  if (!d.eventBusName) {
    const bus = resourcesOfType(resources, 'AWS::Events::EventBus')[0];
    if (bus?.PhysicalResourceId) {
      d.eventBusName = bus.PhysicalResourceId;
      note(StackOutputs.eventBusName, `event bus ${d.eventBusName}`);
    }
  }
  const queues = resourcesOfType(resources, 'AWS::SQS::Queue');
  // DLQ names end in `-dlq` (lib/infra: events, functions, scheduler, commands).
  const isDlq = (q: StackResource) =>
    /-dlq$/i.test(q.PhysicalResourceId ?? '') || /dlq|deadletter/i.test(q.LogicalResourceId ?? '');
  if (!d.commandQueueUrl) {
    const q = queues.find(
      (r) => !isDlq(r) && /command/i.test(`${r.LogicalResourceId}${r.PhysicalResourceId}`),
    );
    if (q?.PhysicalResourceId) {
      d.commandQueueUrl = q.PhysicalResourceId;
      note(StackOutputs.commandQueueUrl, `queue ${d.commandQueueUrl}`);
    }
  }
  if (!outputs.has(StackOutputs.deadLetterQueueUrls)) {
    d.deadLetterQueueUrls = queues.filter(isDlq).map((q) => q.PhysicalResourceId as string);
    note(StackOutputs.deadLetterQueueUrls, `${d.deadLetterQueueUrls.length} dead-letter queue(s)`);
  }
  const secrets = resourcesOfType(resources, 'AWS::SecretsManager::Secret');
  const secretLike = (re: RegExp) =>
    secrets.find((s) => re.test(`${s.LogicalResourceId ?? ''} ${s.PhysicalResourceId ?? ''}`));
  if (!d.tailscaleOAuthSecretArn) {
    const s = secretLike(/tailscale/i);
    if (s?.PhysicalResourceId) {
      d.tailscaleOAuthSecretArn = s.PhysicalResourceId;
      note(StackOutputs.tailscaleOAuthSecretArn, `secret ${s.LogicalResourceId}`);
    }
  }
  if (!d.k3sBootstrapTokenSecretArn) {
    const s = secretLike(/bootstrap.?token/i);
    if (s?.PhysicalResourceId) {
      d.k3sBootstrapTokenSecretArn = s.PhysicalResourceId;
      note(StackOutputs.k3sBootstrapTokenSecretArn, `secret ${s.LogicalResourceId}`);
    }
  }
  if (!d.k3sAgentTokenSecretArn && !d.k3sBootstrapTokenSecretArn) {
    const s = secretLike(/k3s.?agent|agent.?token/i);
    if (s?.PhysicalResourceId) {
      d.k3sAgentTokenSecretArn = s.PhysicalResourceId;
      note(StackOutputs.k3sAgentTokenSecretArn, `secret ${s.LogicalResourceId}`);
    }
  }
}

/** The value, or a {@link StackResourceMissingError} naming it. */
export function required<T>(d: Deployment, value: T | undefined, what: string): T {
  if (value === undefined || value === '') throw new StackResourceMissingError(d.stackName, what);
  return value;
}
