/**
 * The map from port calls to IAM actions, and the static scan of which port calls each
 * handler can reach. Used by test/unit/infra/function-access.test.ts and
 * test/integration/infra/bundle.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { STATE_TABLE_ACTIONS } from '../../../lib/infra/index.js';
import { repoRoot } from './support.js';

/** IAM actions behind each port method (adapters in lib/aws, lib/tailscale; lambdas/runtime.ts). */
export const PORT_ACTIONS: Record<string, Record<string, readonly string[]>> = {
  // Every fleet call first resolves SUBNET_IDS to zones once per process (DescribeSubnets).
  fleet: {
    list: ['ec2:DescribeInstances', 'ec2:DescribeSubnets'],
    findLaunched: ['ec2:DescribeInstances', 'ec2:DescribeSubnets'], // launch-key lookup before a key is minted
    launchOne: [
      'ec2:DescribeInstances', // launch-key lookup (idempotency)
      'ec2:DescribeSubnets',
      'ec2:RunInstances',
      'ec2:CreateTags', // node-name tag
      'iam:PassRole', // IamInstanceProfile of the node role
      ...STATE_TABLE_ACTIONS, // offering cache
    ],
    terminate: ['ec2:DescribeInstances', 'ec2:DescribeSubnets', 'ec2:TerminateInstances'],
    // Warm pool: user data (fresh join credential), re-tag, StartInstances; StopInstances to park.
    start: [
      'ec2:DescribeInstances',
      'ec2:DescribeSubnets',
      'ec2:ModifyInstanceAttribute',
      'ec2:CreateTags',
      'ec2:StartInstances',
    ],
    stop: ['ec2:DescribeInstances', 'ec2:DescribeSubnets', 'ec2:StopInstances'],
  },
  bus: { put: ['events:PutEvents'] },
  state: Object.fromEntries(
    [
      'putSnapshotIfNewer',
      'getLatestSnapshot',
      'journalDecision',
      'listRecentDecisions',
      'recordInFlight',
      'listInFlight',
      'clearInFlight',
      'recordDrain',
      'listDrains',
      'clearDrain',
      'acquireLease',
      'releaseLease',
      'markEventSeen',
      'recordScaleOut',
      'lastScaleOutAt',
      'offeringCache',
      'getPause',
      'setPause',
      'clearPause',
    ].map((m) => [m, STATE_TABLE_ACTIONS]),
  ),
  secrets: { getSecret: ['secretsmanager:GetSecretValue'], getJsonSecret: ['secretsmanager:GetSecretValue'] },
  // The Tailscale client gets an STS identity token on first use (tailscale.auth federated, the
  // default template); with oauth-client it reads the OAuth secret instead (test/unit/infra/stack.test.ts).
  devices: {
    mintAuthKey: ['sts:GetWebIdentityToken'],
    listDevices: ['sts:GetWebIdentityToken'],
    deleteDevice: ['sts:GetWebIdentityToken'],
  },
  images: { imageFor: ['ssm:GetParameter'] },
};

/** Granted for a reason other than a code path: logging, the async DLQ, the spot service-linked role. */
export const IMPLICIT = new Set([
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'sqs:SendMessage',
  'iam:CreateServiceLinkedRole',
]);

const PORT_CALL = /\b(fleet|bus|state|secrets|devices|images)\??\.([A-Za-z]+)\(/g;

/** Files reachable from an entry through relative imports, excluding the shared runtime. */
export function reachableSources(entry: string): string[] {
  const seen = new Set<string>();
  const queue = [entry];
  // Bounded: the repository has far fewer files than this.
  for (let i = 0; queue.length > 0 && i < 2000; i++) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'));
      // runtime.ts wires every adapter for every function: its own calls are in PORT_ACTIONS.
      if (target.endsWith(join('lambdas', 'runtime.ts'))) continue;
      if (existsSync(target) && !seen.has(target)) queue.push(target);
    }
  }
  return [...seen];
}

/** Port calls reachable from a function's handler, as `port.method`. */
export function portCalls(name: string): Set<string> {
  const calls = new Set<string>();
  for (const file of reachableSources(join(repoRoot, 'lambdas', `${name}.ts`))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(PORT_CALL)) {
      const [port, method] = [m[1] as string, m[2] as string];
      // `devices.filter(...)` on a local array is not a port call.
      if (PORT_ACTIONS[port]?.[method]) calls.add(`${port}.${method}`);
    }
  }
  return calls;
}

export function neededActions(calls: Set<string>): string[] {
  const out = new Set<string>();
  for (const call of calls) {
    const [port, method] = call.split('.') as [string, string];
    for (const a of PORT_ACTIONS[port]?.[method] ?? []) out.add(a);
  }
  return [...out].sort();
}
