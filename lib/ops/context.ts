/**
 * Shared plumbing of `status` and `doctor`: AWS clients for a region, the config + region
 * resolution, secret reads that never return more than a verdict, and the messages for the
 * two failures every command meets first (no credentials, stack missing).
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { awsErrorCode, errorMessage } from '../aws/logger.js';
import { AWS_REGION_PATTERN } from '../events/index.js';
import type { AwsClientOptions, OpsEnvironment } from './environment.js';
import { OpsError, OpsUsageError } from './errors.js';

/** The SDK clients a command uses, all for one region. */
export interface OpsClients {
  cfn: CloudFormationClient;
  ec2: EC2Client;
  dynamo: DynamoDBClient;
  secrets: SecretsManagerClient;
  serviceQuotas: ServiceQuotasClient;
  sqs: SQSClient;
  ssm: SSMClient;
  destroy(): void;
}

export function makeClients(options: AwsClientOptions): OpsClients {
  // Bounded: every request gives up after 15 s (3 s to connect), at most 3 attempts.
  const o = {
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 3000, requestTimeout: 15_000 },
    ...options,
  };
  const clients = {
    cfn: new CloudFormationClient(o),
    ec2: new EC2Client(o),
    dynamo: new DynamoDBClient(o),
    secrets: new SecretsManagerClient(o),
    serviceQuotas: new ServiceQuotasClient(o),
    sqs: new SQSClient(o),
    ssm: new SSMClient(o),
  };
  return {
    ...clients,
    destroy() {
      for (const c of Object.values(clients)) c.destroy();
    },
  };
}

/** `--region` if given (validated), else the config's region. */
export function resolveRegion(flag: string | undefined, configRegion: string): string {
  if (flag === undefined) return configRegion;
  if (!AWS_REGION_PATTERN.test(flag)) {
    throw new OpsUsageError(
      `--region must be an AWS region such as eu-central-1 (got "${flag.slice(0, 40)}")`,
    );
  }
  return flag;
}

/** Whether an SDK error means "no usable credentials" rather than a service answer. */
export function isCredentialsError(err: unknown): boolean {
  const code = awsErrorCode(err);
  return (
    code === 'CredentialsProviderError' ||
    code === 'ExpiredToken' ||
    code === 'ExpiredTokenException' ||
    code === 'UnrecognizedClientException' ||
    code === 'InvalidClientTokenId' ||
    code === 'InvalidSignatureException' ||
    code === 'SignatureDoesNotMatch' ||
    /could not load credentials/i.test(errorMessage(err))
  );
}

/** Thrown when no AWS credentials are available or they are refused. */
export class NoCredentialsError extends OpsError {
  constructor(region: string, options?: { cause?: unknown }) {
    super(
      `no usable AWS credentials for ${region} (${awsErrorCode(options?.cause)}): ` +
        'run `aws configure` or `aws sso login`, or set AWS_PROFILE, then check with `aws sts get-caller-identity`',
      options,
    );
    this.name = 'NoCredentialsError';
  }
}

/** Re-throw credentials failures as {@link NoCredentialsError}, others as they are. */
export function credentialsAware(err: unknown, region: string): unknown {
  // The SDK error may be wrapped by an adapter error (OpsError, DynamoStateError…): look a few levels down.
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    if (isCredentialsError(e)) return new NoCredentialsError(region, { cause: e });
    e = e instanceof Error ? e.cause : undefined;
  }
  return err;
}

/** The verdict on one secret read: never the value, only whether it is there. */
export type SecretRead =
  | { kind: 'value'; value: string }
  | { kind: 'not-set'; why: string }
  | { kind: 'error'; why: string };

/** Read a secret's current value; the caller must not print `value`. */
export async function readSecret(client: SecretsManagerClient, secretId: string): Promise<SecretRead> {
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    const value =
      out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
    if (value === undefined || value.trim() === '') return { kind: 'not-set', why: 'has an empty value' };
    return { kind: 'value', value };
  } catch (err) {
    const code = awsErrorCode(err);
    if (code === 'ResourceNotFoundException') {
      return { kind: 'not-set', why: 'has no value yet (created empty by the stack)' };
    }
    if (isCredentialsError(err)) return { kind: 'error', why: `no usable AWS credentials (${code})` };
    return {
      kind: 'error',
      why: `cannot be read (${code}); your identity needs secretsmanager:GetSecretValue on it`,
    };
  }
}

/** Environment for tests: everything explicit. Re-exported for convenience. */
export type { OpsEnvironment };
