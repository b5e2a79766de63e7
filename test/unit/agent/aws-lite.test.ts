/**
 * The agent's minimal AWS client: SigV4 agrees with the AWS SDK's signer, the four operations
 * speak the JSON protocol (against a local stub), errors carry the AWS error code, and missing
 * credentials are named. The secret key never appears in what is sent or thrown.
 */
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AwsCallError,
  AwsCredentialsError,
  credentialsFromEnv,
  endpointFor,
  liteEventBus,
  liteQueue,
  signV4,
} from '../../../lib/agent/aws-lite.js';
import { type AwsStub, startAwsStub } from '../../support/fake-k8s/aws-stub.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY';
const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET };

class NodeSha256 {
  private readonly h;
  constructor(secret?: string | Uint8Array) {
    this.h = secret ? createHmac('sha256', secret) : createHash('sha256');
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

describe('signV4', () => {
  it.each([
    { session: undefined, service: 'sqs', target: 'AmazonSQS.ReceiveMessage' },
    { session: 'FQoGZXIvYXdzEXAMPLETOKEN', service: 'events', target: 'AWSEvents.PutEvents' },
  ])(
    'matches the AWS SDK signer ($service, session token: $session)',
    async ({ session, service, target }) => {
      const now = new Date('2026-03-14T09:30:00.000Z');
      const body = JSON.stringify({
        QueueUrl: 'https://sqs.eu-central-1.amazonaws.com/123456789012/q',
        Detail: 'ä ü',
      });
      const url = new URL(`https://${service}.eu-central-1.amazonaws.com/`);
      const c = session ? { ...creds, sessionToken: session } : creds;
      const mine = signV4(
        {
          method: 'POST',
          url,
          headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target },
          body,
          region: 'eu-central-1',
          service,
          now,
        },
        c,
      );
      const sdk = new SignatureV4({
        credentials: c,
        region: 'eu-central-1',
        service,
        sha256: NodeSha256 as unknown as ConstructorParameters<typeof SignatureV4>[0]['sha256'],
        applyChecksum: false,
      });
      const signed = await sdk.sign(
        {
          method: 'POST',
          protocol: 'https:',
          hostname: url.hostname,
          path: '/',
          query: {},
          headers: { host: url.host, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target },
          body,
        },
        { signingDate: now },
      );
      expect(mine.authorization).toBe(signed.headers.authorization);
      expect(mine['x-amz-date']).toBe('20260314T093000Z');
      expect(JSON.stringify(mine)).not.toContain(SECRET);
    },
  );
});

describe('credentials and endpoints', () => {
  it('names the missing variables and where the key comes from', () => {
    expect(() => credentialsFromEnv({})).toThrow(AwsCredentialsError);
    expect(() => credentialsFromEnv({})).toThrow(
      /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set.*AgentCredentialsSecretArn/,
    );
    expect(() => credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'AKID' })).toThrow(
      /^AWS_SECRET_ACCESS_KEY is not set/,
    );
    expect(
      credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' }),
    ).toEqual({
      accessKeyId: 'AKID',
      secretAccessKey: 's',
      sessionToken: 't',
    });
  });

  it('uses the regional endpoint unless overridden, service-specific first', () => {
    expect(endpointFor('sqs', 'eu-central-1').href).toBe('https://sqs.eu-central-1.amazonaws.com/');
    expect(endpointFor('events', 'cn-north-1').href).toBe('https://events.cn-north-1.amazonaws.com.cn/');
    expect(endpointFor('sqs', 'eu-central-1', { AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }).href).toBe(
      'http://127.0.0.1:1/',
    );
    expect(
      endpointFor('events', 'eu-central-1', {
        AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
        AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:2',
      }).href,
    ).toBe('http://127.0.0.1:2/');
  });
});

describe('operations against a local stub', () => {
  let aws: AwsStub;
  const opts = () => ({ region: 'eu-central-1', credentials: creds, env: { AWS_ENDPOINT_URL: aws.url } });
  beforeAll(async () => {
    aws = await startAwsStub();
  });
  afterAll(async () => {
    await aws.close();
  });

  it('PutEvents sends the entries and maps the per-entry results', async () => {
    const bus = liteEventBus(opts());
    const res = await bus.putEvents([
      {
        source: 'k3s-burst.agent',
        detailType: 'ClusterSnapshot',
        detail: '{"seq":1}',
        eventBusName: 'k3s-burst-pi-lab',
      },
    ]);
    expect(res).toEqual([{ ok: true, eventId: expect.any(String) }]);
    const call = aws.calls.at(-1);
    expect(call?.target).toBe('AWSEvents.PutEvents');
    expect(call?.body).toEqual({
      Entries: [
        {
          Source: 'k3s-burst.agent',
          DetailType: 'ClusterSnapshot',
          Detail: '{"seq":1}',
          EventBusName: 'k3s-burst-pi-lab',
        },
      ],
    });
    expect(call?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-central-1\/events\/aws4_request/,
    );
    expect(JSON.stringify(aws.calls)).not.toContain(SECRET);
  });

  it('ReceiveMessage long-polls, then Delete and ChangeVisibility name the receipt', async () => {
    const q = liteQueue({ ...opts(), queueUrl: `${aws.url}/123456789012/cmds` });
    setTimeout(() => aws.send('{"hello":1}'), 50);
    const started = Date.now();
    const got = await q.receive({
      maxMessages: 4,
      waitSeconds: 10,
      visibilitySeconds: 60,
      signal: new AbortController().signal,
    });
    // returned with the message, well before the 10 s wait (a margin for a loaded machine)
    expect(Date.now() - started).toBeLessThan(5000);
    expect(got).toEqual([
      {
        messageId: expect.any(String),
        receiptHandle: expect.any(String),
        body: '{"hello":1}',
        receiveCount: 1,
      },
    ]);
    expect(aws.calls.find((c) => c.target === 'AmazonSQS.ReceiveMessage')?.body).toMatchObject({
      QueueUrl: `${aws.url}/123456789012/cmds`,
      MaxNumberOfMessages: 4,
      WaitTimeSeconds: 10,
      VisibilityTimeout: 60,
    });
    await q.changeVisibility(got[0]?.receiptHandle as string, 0);
    await q.delete(got[0]?.receiptHandle as string);
    expect(aws.calls.slice(-2).map((c) => [c.target, c.body.ReceiptHandle])).toEqual([
      ['AmazonSQS.ChangeMessageVisibility', got[0]?.receiptHandle],
      ['AmazonSQS.DeleteMessage', got[0]?.receiptHandle],
    ]);
  });

  it('a receive is cut short by its abort signal', async () => {
    const q = liteQueue({ ...opts(), queueUrl: `${aws.url}/123456789012/cmds` });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    const started = Date.now();
    await expect(
      q.receive({ maxMessages: 1, waitSeconds: 20, visibilitySeconds: 60, signal: ctl.signal }),
    ).rejects.toThrow(/aborted/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('errors', () => {
  let server: http.Server;
  let url = '';
  let answers: { status: number; body: unknown }[] = [];
  let hits = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        hits++;
        const a = answers.shift() ?? { status: 200, body: {} };
        res.writeHead(a.status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(a.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });
  const bus = () =>
    liteEventBus({
      region: 'eu-central-1',
      credentials: creds,
      env: { AWS_ENDPOINT_URL: url },
      maxAttempts: 3,
      retryBaseMs: 1,
    });
  const entry = { source: 's', detailType: 'd', detail: '{}', eventBusName: 'b' };

  it('throws the AWS error code without retrying a client error, and never the secret', async () => {
    hits = 0;
    answers = [
      {
        status: 400,
        body: { __type: 'com.amazonaws.events#AccessDeniedException', message: 'not authorized' },
      },
    ];
    const err = await bus()
      .putEvents([entry])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err).toMatchObject({ status: 400, code: 'AccessDeniedException' });
    expect((err as Error).message).toBe('AWSEvents.PutEvents → 400 AccessDeniedException: not authorized');
    expect(String((err as Error).stack)).not.toContain(SECRET);
    expect(hits).toBe(1);
  });

  it('retries throttling and 5xx, and maps partial failures per entry', async () => {
    hits = 0;
    answers = [
      { status: 400, body: { __type: 'ThrottlingException', message: 'slow down' } },
      { status: 503, body: { __type: 'ServiceUnavailable' } },
      {
        status: 200,
        body: { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] },
      },
    ];
    expect(await bus().putEvents([entry])).toEqual([
      { ok: false, errorCode: 'InternalFailure', errorMessage: 'try again' },
    ]);
    expect(hits).toBe(3);
  });
});
