/**
 * A deployed-looking cluster on moto_server + the fake Tailscale API, for `status` and
 * `doctor` tests: the stack `K3sBurst-pi-lab` (a tiny template whose outputs name the
 * resources, which are created directly), the state table, queues, secrets, AMI
 * parameters, a config file in a temp dir, and an injected OpsEnvironment.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoState, stateTableDefinition } from '../../../lib/aws/state.js';
import type { CliIo } from '../../../lib/cli/io.js';
import type { Clock } from '../../../lib/core/clock.js';
import type { OpsEnvironment } from '../../../lib/ops/environment.js';
import { systemClock } from '../../../lib/system/clock.js';
import { type FakeTailscale, startFakeTailscale } from '../../support/fake-tailscale.js';
import type { Moto } from '../../support/moto.js';

export const CLUSTER = 'pi-lab';
export const REGION = 'eu-central-1';
export const STACK = `K3sBurst-${CLUSTER}`;
export const TABLE = `k3s-burst-${CLUSTER}-state`;
export const AMI_PARAM_ARM64 = '/k3s-burst-test/ami/arm64';
export const AMI_PARAM_AMD64 = '/k3s-burst-test/ami/amd64';
export const AGENT_TOKEN =
  'K10a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3::node:5f0c9e8d7b6a5f4e3d2c1b0a';
/** The bootstrap token the agent would have published at `now` (valid 40 min). */
export function freshBootstrapToken(now: Date) {
  return {
    token: `K10${'b7'.repeat(32)}::opsb00.t0k3ns3cr3tv4lu3`,
    tokenId: 'opsb00',
    expiresAt: new Date(now.getTime() + 2400_000).toISOString(),
  };
}
export const TAILSCALE_SCOPES = ['auth_keys', 'devices:core', 'policy_file:read'];

/** The fake Tailscale API with one OAuth client for tag:k3s-burst holding `scopes`. */
export function startTailscaleClient(
  clientId: string,
  clientSecret: string,
  scopes: string[] = TAILSCALE_SCOPES,
): Promise<FakeTailscale> {
  return startFakeTailscale({ clients: [{ clientId, clientSecret, tags: ['tag:k3s-burst'], scopes }] });
}

export interface Deployed {
  configDir: string;
  configPath: string;
  tailscaleSecretArn: string;
  /** The join-token secret of the configured mode (bootstrap-token or agent-token). */
  joinTokenSecretArn: string;
  dlqUrls: string[];
  commandQueueUrl: string;
  state: DynamoState;
}

export interface SetupOptions {
  /** Skip the stack itself (resources still created). */
  noStack?: boolean;
  /**
   * Tailscale OAuth secret value; `null` leaves the secret without a value; `'none'` creates no
   * secret at all (tailscale.auth federated, or after the migration).
   */
  tailscaleSecret?: string | null | 'none';
  /** agent-token mode (config k3s.joinCredential agent-token): the agent-token secret value. */
  agentToken?: string | null;
  /** bootstrap-token mode (default): the secret's value; default a fresh token, valid 40 min. */
  bootstrapToken?: string | null;
  /** Extra config fields merged over the base. */
  config?: Record<string, unknown>;
}

export function baseConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cluster: {
      name: CLUSTER,
      region: REGION,
      k3sServerUrl: 'https://100.64.5.11:6443',
      k3sVersion: 'v1.32.6+k3s1',
    },
    nodes: {
      candidateTypes: ['t4g.medium', 'm7g.large'],
      amiSsmParameters: { arm64: AMI_PARAM_ARM64, amd64: AMI_PARAM_AMD64 },
    },
    // The fallback mode, whose OAuth client these tests probe; federated mode is tested on its own.
    tailscale: { auth: 'oauth-client' },
    ...extra,
  };
}

export async function deploy(moto: Moto, ts: FakeTailscale, opts: SetupOptions = {}): Promise<Deployed> {
  const cfg = moto.clientConfig;
  const sqs = new SQSClient(cfg);
  const sm = new SecretsManagerClient(cfg);
  const ddb = new DynamoDBClient(cfg);
  const ssm = new SSMClient(cfg);
  const cfn = new CloudFormationClient(cfg);
  try {
    await ddb.send(new CreateTableCommand(stateTableDefinition(TABLE)));
    const q = async (name: string) =>
      (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl ?? '';
    const commandQueueUrl = await q(`k3s-burst-${CLUSTER}-commands`);
    const dlqUrls = [
      await q(`k3s-burst-${CLUSTER}-functions-dlq`),
      await q(`k3s-burst-${CLUSTER}-scheduler-dlq`),
    ];
    const tsValue =
      opts.tailscaleSecret === undefined
        ? JSON.stringify({ clientId: ts.credentials.clientId, clientSecret: ts.credentials.clientSecret })
        : opts.tailscaleSecret;
    const tsSecret =
      tsValue === 'none'
        ? { ARN: undefined }
        : await sm.send(
            new CreateSecretCommand({
              Name: `k3s-burst/${CLUSTER}/tailscale-oauth`,
              ...(tsValue === null ? {} : { SecretString: tsValue }),
            }),
          );
    const agentTokenMode =
      (opts.config?.k3s as { joinCredential?: string } | undefined)?.joinCredential === 'agent-token';
    const token = agentTokenMode
      ? opts.agentToken === undefined
        ? AGENT_TOKEN
        : opts.agentToken
      : opts.bootstrapToken === undefined
        ? JSON.stringify(freshBootstrapToken(new Date()))
        : opts.bootstrapToken;
    const tokenSecret = await sm.send(
      new CreateSecretCommand({
        Name: `k3s-burst/${CLUSTER}/${agentTokenMode ? 'k3s-agent-token' : 'k3s-bootstrap-token'}`,
        ...(token === null ? {} : { SecretString: token }),
      }),
    );
    await ssm.send(
      new PutParameterCommand({ Name: AMI_PARAM_ARM64, Value: 'ami-0a1b2c3d4e5f60718', Type: 'String' }),
    );
    const d: Deployed = {
      configDir: mkdtempSync(join(tmpdir(), 'k3s-burst-ops-')),
      configPath: '',
      tailscaleSecretArn: tsSecret.ARN ?? '',
      joinTokenSecretArn: tokenSecret.ARN ?? '',
      dlqUrls,
      commandQueueUrl,
      state: new DynamoState({ client: ddb, tableName: TABLE }),
    };
    d.configPath = join(d.configDir, 'k3s-burst.config.json');
    writeFileSync(d.configPath, JSON.stringify(baseConfig(opts.config), null, 2));
    if (!opts.noStack) {
      const template = {
        AWSTemplateFormatVersion: '2010-09-09',
        Resources: { Placeholder: { Type: 'AWS::SNS::Topic' } },
        Outputs: {
          EventBusName: { Value: `k3s-burst-${CLUSTER}` },
          CommandQueueUrl: { Value: commandQueueUrl },
          ...(d.tailscaleSecretArn ? { TailscaleOAuthSecretArn: { Value: d.tailscaleSecretArn } } : {}),
          [agentTokenMode ? 'K3sAgentTokenSecretArn' : 'K3sBootstrapTokenSecretArn']: {
            Value: d.joinTokenSecretArn,
          },
          TableName: { Value: TABLE },
          DeadLetterQueueUrls: { Value: dlqUrls.join(',') },
        },
      };
      await cfn.send(new CreateStackCommand({ StackName: STACK, TemplateBody: JSON.stringify(template) }));
    }
    return d;
  } finally {
    for (const c of [sqs, sm, ssm, cfn]) c.destroy();
  }
}

export function opsEnv(
  moto: Moto,
  ts: FakeTailscale,
  clock: Pick<Clock, 'now'> = systemClock,
): OpsEnvironment {
  return {
    aws: (region) => ({ ...moto.clientConfig, region }),
    tailscaleBaseUrl: ts.url,
    fetch: globalThis.fetch,
    clock: { ...systemClock, now: () => clock.now() },
  };
}

export interface CapturedIo extends CliIo {
  out: string;
  err: string;
}

/** An io that records output; every captured text is also appended to `all` (for leak checks). */
export function captureIo(cwd: string, all: string[]): CapturedIo {
  const io: CapturedIo = {
    out: '',
    err: '',
    cwd,
    env: {},
    isTTY: false,
    stdout(t) {
      io.out += t;
      all.push(t);
    },
    stderr(t) {
      io.err += t;
      all.push(t);
    },
  };
  return io;
}
