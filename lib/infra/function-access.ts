import type { FunctionName } from './burst-functions.js';

/**
 * The AWS API calls each function makes, as IAM actions, and the secrets it reads. The
 * stack grants exactly this (plus logging to its own log group); docs/iam.md explains each
 * line, and `test/integration/infra/bundle.test.ts` checks it against the SDK commands (and
 * the actions of the EC2 Query client, `lib/aws/ec2-query.ts`, which the Lambdas use instead of
 * the EC2 SDK) that end up in each real bundle.
 *
 * Where the calls come from (adapters in `lib/aws`):
 * - `Ec2Fleet.list/launchOne/terminate` → DescribeInstances (tag / launch-key / id filters);
 *   `launchOne` → RunInstances + CreateTags (node-name tag); `terminate` → TerminateInstances;
 *   `start` → ModifyInstanceAttribute + CreateTags + StartInstances; `stop` → StopInstances.
 * - `DynamoState` → GetItem, PutItem, UpdateItem, DeleteItem, Query; its TransactWriteItems
 *   is authorized per contained action (Put), so it needs no action of its own.
 * - `EventBridgeBus.put` → PutEvents (under the function's own source, see the stack).
 * - `SecretsManagerSecrets.getSecret` → GetSecretValue.
 * - `lambdas/runtime.ts` resolves the zones of `SUBNET_IDS` (DescribeSubnets) on the first
 *   fleet call of a process, in every function (each one lists the fleet), and the node
 *   AMI from its SSM parameter (GetParameter, launch only).
 */
export interface FunctionAccess {
  /** EC2 read calls; Describe* cannot be resource-scoped, so these are granted on `*`. */
  readonly ec2Describe: readonly string[];
  /** May launch cluster-tagged instances (RunInstances, CreateTags, PassRole of the node role, SSM AMI). */
  readonly launches: boolean;
  /** May terminate cluster-tagged instances. */
  readonly terminates: boolean;
  /**
   * Warm pool (lib/core/warm-pool.ts): `start` = StartInstances + ModifyInstanceAttribute (the
   * fresh join credential) on cluster-tagged pool members (launch); `stop` = StopInstances on
   * cluster-tagged members (reconcile parks them). Absent = neither.
   */
  readonly warmPool?: 'start' | 'stop';
  /**
   * Secrets it reads with GetSecretValue. `k3sJoinToken` is the secret of `k3s.joinCredential`
   * (the agent's bootstrap-token secret, or the agent-token secret).
   */
  readonly secrets: readonly ('tailscaleOAuth' | 'k3sJoinToken')[];
}

/** DynamoDB item actions of the state adapter: the same for every function (all share `DynamoState`). */
export const STATE_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
] as const;

/** What every fleet user reads: instances by tag, and once per process the subnets' zones. */
const FLEET_READ = ['ec2:DescribeInstances', 'ec2:DescribeSubnets'] as const;

export const FUNCTION_ACCESS: Record<FunctionName, FunctionAccess> = {
  // Lists the fleet (cluster tag) to plan; never launches or terminates itself.
  // Parks warm-pool members (StopInstances) under its lease.
  reconcile: { ec2Describe: FLEET_READ, launches: false, terminates: false, warmPool: 'stop', secrets: [] },
  // Mints the Tailscale key (OAuth client), renders userdata with the K3s join token, launches.
  launch: {
    ec2Describe: FLEET_READ,
    launches: true,
    terminates: false,
    warmPool: 'start',
    secrets: ['tailscaleOAuth', 'k3sJoinToken'],
  },
  // Terminates one instance and deletes its Tailscale device.
  terminate: {
    ec2Describe: FLEET_READ,
    launches: false,
    terminates: true,
    secrets: ['tailscaleOAuth'],
  },
  // Terminates orphan instances and deletes stale Tailscale devices.
  janitor: {
    ec2Describe: FLEET_READ,
    launches: false,
    terminates: true,
    secrets: ['tailscaleOAuth'],
  },
  // Checks the interrupted instance is this cluster's, then asks for a drain / replacement.
  interruption: {
    ec2Describe: FLEET_READ,
    launches: false,
    terminates: false,
    secrets: [],
  },
};
