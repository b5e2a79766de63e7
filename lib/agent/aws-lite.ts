/**
 * The agent's AWS calls (EventBridge PutEvents; SQS Receive/Delete/ChangeVisibility; Secrets
 * Manager PutSecretValue of the K3s join-token secret) over
 * the AWS JSON protocol with a hand-written Signature V4, on node:https.
 *
 * Why not the AWS SDK: loading the SQS and
 * EventBridge clients costs ~22 MiB RSS, a quarter of the agent's 80 MiB budget on a Raspberry
 * Pi (bench `agent.rss-mib.*`). The agent needs four operations with static credentials from its
 * Kubernetes Secret; this file is those operations. Credentials are read once from the
 * environment; the secret key is used only to derive signing keys and never appears in an
 * error, a log line or a request.
 */
import http from 'node:http';
import https from 'node:https';
import { type AwsCredentials, signV4 } from '../aws/sigv4.js';
import type { JoinTokenSecret } from '../events/join-token.js';
import type {
  BusEntry,
  CommandQueuePort,
  EventBusPort,
  JoinTokenStorePort,
  PutResult,
  QueueMessage,
} from './ports.js';

// The signer moved to lib/aws/sigv4.ts (shared with the Lambdas' EC2 Query client).
export { type AwsCredentials, type SignInput, signV4 } from '../aws/sigv4.js';

export class AwsCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AwsCredentialsError';
  }
}

/** A non-2xx answer from AWS: `code` is the error type (e.g. `AccessDeniedException`). */
export class AwsCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly operation: string,
  ) {
    super(`${operation} → ${status} ${code}${message ? `: ${message}` : ''}`);
    this.name = 'AwsCallError';
  }
}

/** Static credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN). */
export function credentialsFromEnv(env: Record<string, string | undefined>): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  const missing = [
    accessKeyId ? undefined : 'AWS_ACCESS_KEY_ID',
    secretAccessKey ? undefined : 'AWS_SECRET_ACCESS_KEY',
  ].filter(Boolean);
  if (missing.length > 0)
    throw new AwsCredentialsError(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: the agent reads its AWS access key from the environment (the k3s-burst-aws Secret in deploy/, copied from the stack output AgentCredentialsSecretArn; see docs/agent.md)`,
    );
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  return {
    accessKeyId: accessKeyId as string,
    secretAccessKey: secretAccessKey as string,
    ...(sessionToken ? { sessionToken } : {}),
  };
}

export interface AwsJsonClientOptions {
  region: string;
  credentials: AwsCredentials;
  env?: Record<string, string | undefined>;
  /** Attempts for retryable failures (5xx, throttling, network). @default 3 */
  maxAttempts?: number;
  /** Delay before the second attempt; doubles per attempt. @default 200 */
  retryBaseMs?: number;
  now?: () => Date;
}

/** The services the agent calls, by SigV4 service name. */
export type AgentAwsService = 'events' | 'sqs' | 'secretsmanager';

const ENDPOINT_ENV: Record<AgentAwsService, string> = {
  events: 'AWS_ENDPOINT_URL_EVENTBRIDGE',
  sqs: 'AWS_ENDPOINT_URL_SQS',
  secretsmanager: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
};

/** Endpoint for a service: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the regional one. */
export function endpointFor(
  service: AgentAwsService,
  region: string,
  env: Record<string, string | undefined> = {},
): URL {
  const specific = env[ENDPOINT_ENV[service]];
  const override = specific ?? env.AWS_ENDPOINT_URL;
  if (override) return new URL(override);
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://${service}.${region}.${suffix}/`);
}

const RETRYABLE =
  /Throttl|ServiceUnavailable|InternalFailure|InternalError|RequestLimitExceeded|TooManyRequests/;

async function callJson<T>(
  o: AwsJsonClientOptions,
  service: AgentAwsService,
  target: string,
  contentType: string,
  payload: unknown,
  signal?: AbortSignal,
  timeoutMs = 30_000,
): Promise<T> {
  const url = endpointFor(service, o.region, o.env);
  const body = JSON.stringify(payload);
  const attempts = o.maxAttempts ?? 3;
  let lastError: Error = new Error(`${target}: not attempted`);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (signal?.aborted) throw new Error(`${target}: aborted`);
    const headers = signV4(
      {
        method: 'POST',
        url,
        headers: { 'content-type': contentType, 'x-amz-target': target },
        body,
        region: o.region,
        service,
        now: (o.now ?? (() => new Date()))(),
      },
      o.credentials,
    );
    try {
      return await send<T>(url, headers, body, target, signal, timeoutMs);
    } catch (err) {
      lastError = err as Error;
      const retryable =
        !signal?.aborted && (!(err instanceof AwsCallError) || err.status >= 500 || RETRYABLE.test(err.code));
      if (!retryable || attempt === attempts) throw err;
      await new Promise((r) => setTimeout(r, (o.retryBaseMs ?? 200) * 2 ** (attempt - 1)));
    }
  }
  throw lastError;
}

function send<T>(
  url: URL,
  headers: Record<string, string>,
  body: string,
  operation: string,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<T> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise<T>((resolve, reject) => {
    const req = mod.request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            parsed = { message: text.slice(0, 200) };
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(parsed as T);
          const type = String(parsed.__type ?? res.headers['x-amzn-errortype'] ?? 'UnknownError');
          const code = type.includes('#')
            ? (type.split('#').pop() as string)
            : (type.split(':')[0] as string);
          const message = String(parsed.message ?? parsed.Message ?? '');
          reject(new AwsCallError(status, code, message, operation));
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${operation}: no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(new Error(`${operation}: ${e.message}`)));
    if (signal) {
      if (signal.aborted) req.destroy(new Error(`${operation}: aborted`));
      else
        signal.addEventListener('abort', () => req.destroy(new Error(`${operation}: aborted`)), {
          once: true,
        });
    }
    req.end(body);
  });
}

// The request and answer shapes of the two JSON-protocol services the agent calls.

/** One PutEvents answer entry (same field names in the JSON protocol and the SDK). */
export interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

/** One received SQS message (same field names in the JSON protocol and the SDK). */
export interface SqsMessage {
  MessageId?: string;
  ReceiptHandle?: string;
  Body?: string;
  Attributes?: Record<string, string>;
}

function putEventsEntries(entries: BusEntry[]) {
  return entries.map((e) => ({
    Source: e.source,
    DetailType: e.detailType,
    Detail: e.detail,
    EventBusName: e.eventBusName,
  }));
}

/** One result per entry sent, in order; an entry AWS did not answer for is a failure. */
function putResults(entries: BusEntry[], answers: PutEventsResultEntry[] | undefined): PutResult[] {
  return entries.map((_, i): PutResult => {
    const r = answers?.[i];
    if (r?.EventId && !r.ErrorCode) return { ok: true, eventId: r.EventId };
    return {
      ok: false,
      errorCode: r?.ErrorCode ?? 'Unknown',
      errorMessage: r?.ErrorMessage ?? 'no result for entry',
    };
  });
}

function receiveMessageParams(maxMessages: number, waitSeconds: number, visibilitySeconds: number) {
  return {
    MaxNumberOfMessages: Math.max(1, Math.min(10, maxMessages)),
    WaitTimeSeconds: waitSeconds,
    VisibilityTimeout: visibilitySeconds,
    MessageSystemAttributeNames: ['ApproximateReceiveCount' as const],
  };
}

function queueMessages(messages: SqsMessage[] | undefined): QueueMessage[] {
  return (messages ?? []).map((m) => ({
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
  }));
}

export function liteEventBus(o: AwsJsonClientOptions): EventBusPort {
  return {
    async putEvents(entries: BusEntry[]): Promise<PutResult[]> {
      const out = await callJson<{ Entries?: PutEventsResultEntry[] }>(
        o,
        'events',
        'AWSEvents.PutEvents',
        'application/x-amz-json-1.1',
        {
          Entries: putEventsEntries(entries),
        },
      );
      return putResults(entries, out.Entries);
    },
  };
}

export function liteQueue(o: AwsJsonClientOptions & { queueUrl: string }): CommandQueuePort {
  const call = <T>(
    target: string,
    payload: Record<string, unknown>,
    signal?: AbortSignal,
    timeoutMs?: number,
  ) =>
    callJson<T>(
      o,
      'sqs',
      `AmazonSQS.${target}`,
      'application/x-amz-json-1.0',
      { QueueUrl: o.queueUrl, ...payload },
      signal,
      timeoutMs,
    );
  return {
    async receive({ maxMessages, waitSeconds, visibilitySeconds, signal }): Promise<QueueMessage[]> {
      const out = await call<{ Messages?: SqsMessage[] }>(
        'ReceiveMessage',
        receiveMessageParams(maxMessages, waitSeconds, visibilitySeconds),
        signal,
        (waitSeconds + 30) * 1000,
      );
      return queueMessages(out.Messages);
    },
    async delete(receiptHandle) {
      await call('DeleteMessage', { ReceiptHandle: receiptHandle });
    },
    async changeVisibility(receiptHandle, visibilitySeconds) {
      await call('ChangeMessageVisibility', {
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: visibilitySeconds,
      });
    },
  };
}

/**
 * {@link JoinTokenStorePort} on Secrets Manager PutSecretValue (JSON protocol). The agent's IAM
 * user may call exactly this, on exactly this secret. The error of a failed call carries AWS's
 * error code and message, never the value (AWS does not echo SecretString).
 */
export function liteJoinTokenStore(o: AwsJsonClientOptions & { secretId: string }): JoinTokenStorePort {
  return {
    async put(value: JoinTokenSecret): Promise<void> {
      await callJson(o, 'secretsmanager', 'secretsmanager.PutSecretValue', 'application/x-amz-json-1.1', {
        SecretId: o.secretId,
        SecretString: JSON.stringify(value),
      });
    },
  };
}
