import type { FunctionName } from './burst-functions.js';

/**
 * The AWS API calls each function makes, as IAM actions, and the secrets it reads. The
 * stack grants exactly this (plus logging to its own log group); docs/iam.md explains each
 * line, and `test/integration/infra/bundle.test.ts` checks it against the SDK commands that
 * end up in each real bundle.
 *
 * Where the calls come from (adapters in `lib/aws`):
 * - `Ec2Fleet.list/launchOne/terminate` → DescribeInstances (tag / launch-key / id filters);
 *   `launchOne` → RunInstances + CreateTags (node-name tag); `terminate` → TerminateInstances.
 * - `DynamoState` → GetItem, PutItem, UpdateItem, DeleteItem, Query; its TransactWriteItems
 *   is authorized per contained action (Put), so it needs no action of its own.
 * - `EventBridgeBus.put` → PutEvents (under the function's own source, see the stack).
 * - `SecretsManagerSecrets.getSecret` → GetSecretValue.
 * - the launch handler resolves the zones of `SUBNET_IDS` once per cold start
 *   (DescribeSubnets) and the node AMI from its SSM parameter (GetParameter).
 */
export interface FunctionAccess {
  /** EC2 read calls; Describe* cannot be resource-scoped, so these are granted on `*`. */
  readonly ec2Describe: readonly string[];
  /** May launch cluster-tagged instances (RunInstances, CreateTags, PassRole of the node role, SSM AMI). */
  readonly launches: boolean;
  /** May terminate cluster-tagged instances. */
  readonly terminates: boolean;
  /** Secrets it reads with GetSecretValue. */
  readonly secrets: readonly ('tailscaleOAuth' | 'k3sAgentToken')[];
}

/** DynamoDB item actions of the state adapter: the same for every function (all share `DynamoState`). */
export const STATE_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
] as const;

export const FUNCTION_ACCESS: Record<FunctionName, FunctionAccess> = {
  // Lists the fleet (cluster tag) to plan; never launches or terminates itself.
  reconcile: { ec2Describe: ['ec2:DescribeInstances'], launches: false, terminates: false, secrets: [] },
  // Mints the Tailscale key (OAuth client), renders userdata with the K3s agent token, launches.
  launch: {
    ec2Describe: ['ec2:DescribeInstances', 'ec2:DescribeSubnets'],
    launches: true,
    terminates: false,
    secrets: ['tailscaleOAuth', 'k3sAgentToken'],
  },
  // Terminates one instance and deletes its Tailscale device.
  terminate: {
    ec2Describe: ['ec2:DescribeInstances'],
    launches: false,
    terminates: true,
    secrets: ['tailscaleOAuth'],
  },
  // Terminates orphan instances and deletes stale Tailscale devices.
  janitor: {
    ec2Describe: ['ec2:DescribeInstances'],
    launches: false,
    terminates: true,
    secrets: ['tailscaleOAuth'],
  },
  // Checks the interrupted instance is this cluster's, then asks for a drain / replacement.
  interruption: {
    ec2Describe: ['ec2:DescribeInstances'],
    launches: false,
    terminates: false,
    secrets: [],
  },
};
