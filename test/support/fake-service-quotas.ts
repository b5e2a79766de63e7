/**
 * A scripted Service Quotas endpoint on 127.0.0.1, because moto (5.x) implements Service Quotas
 * only for the `vpc` service code and not GetAWSDefaultServiceQuota. It speaks the AWS JSON 1.1
 * protocol the SDK uses (POST /, `X-Amz-Target: ServiceQuotasV20190624.<Operation>`, errors as
 * `{"__type": …, "message": …}` with status 400) for GetServiceQuota and
 * GetAWSDefaultServiceQuota, from tables the test fills.
 *
 * ```ts
 * const sq = await startFakeServiceQuotas();
 * sq.applied.set('L-1216C47A', { name: 'Running On-Demand Standard …', value: 32 });
 * new ServiceQuotasClient({ ...sq.clientConfig });
 * await sq.stop();
 * ```
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ScriptedQuota {
  name: string;
  value: number;
}

export interface FakeServiceQuotas {
  url: string;
  /** Spread into a ServiceQuotasClient. */
  clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  };
  /** GetServiceQuota answers (ec2 only); missing → NoSuchResourceException. */
  applied: Map<string, ScriptedQuota>;
  /** GetAWSDefaultServiceQuota answers (ec2 only); missing → NoSuchResourceException. */
  defaults: Map<string, ScriptedQuota>;
  /** When set, every request is answered with this error type (e.g. AccessDeniedException). */
  failWith: string | undefined;
  /** When set, the next answers' `Quota` objects are replaced by this raw value. */
  rawQuota: unknown;
  /** Every request: operation and body. */
  calls: { operation: string; body: Record<string, unknown> }[];
  reset(): void;
  stop(): Promise<void>;
}

const TARGET_PREFIX = 'ServiceQuotasV20190624.';

export async function startFakeServiceQuotas(region = 'eu-central-1'): Promise<FakeServiceQuotas> {
  const sockets = new Set<Socket>();
  const state = {
    applied: new Map<string, ScriptedQuota>(),
    defaults: new Map<string, ScriptedQuota>(),
    failWith: undefined as string | undefined,
    rawQuota: undefined as unknown,
    calls: [] as { operation: string; body: Record<string, unknown> }[],
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, type: string, message: string) =>
    send(res, type === 'ServiceException' ? 500 : 400, { __type: type, message });

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || !target.startsWith(TARGET_PREFIX)) {
      return error(res, 'UnknownOperationException', `unexpected ${req.method} ${target}`);
    }
    const operation = target.slice(TARGET_PREFIX.length);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw || '{}') as Record<string, unknown>;
    } catch {
      return error(res, 'SerializationException', 'body is not JSON');
    }
    state.calls.push({ operation, body });
    if (state.failWith) return error(res, state.failWith, `scripted ${state.failWith}`);
    const table =
      operation === 'GetServiceQuota'
        ? state.applied
        : operation === 'GetAWSDefaultServiceQuota'
          ? state.defaults
          : undefined;
    if (!table) return error(res, 'UnknownOperationException', `operation ${operation} is not scripted`);
    const code = String(body.QuotaCode ?? '');
    const q = body.ServiceCode === 'ec2' ? table.get(code) : undefined;
    if (state.rawQuota !== undefined) return send(res, 200, { Quota: state.rawQuota });
    if (!q) {
      return error(
        res,
        'NoSuchResourceException',
        'The request failed because the specified service quota does not exist.',
      );
    }
    return send(res, 200, {
      Quota: {
        ServiceCode: 'ec2',
        ServiceName: 'Amazon Elastic Compute Cloud (Amazon EC2)',
        QuotaArn: `arn:aws:servicequotas:${region}:123456789012:ec2/${code}`,
        QuotaCode: code,
        QuotaName: q.name,
        Value: q.value,
        Unit: 'None',
        Adjustable: true,
        GlobalQuota: false,
      },
    });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 64 * 1024) chunks.push(c);
    });
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    clientConfig: {
      endpoint: url,
      region,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    },
    get applied() {
      return state.applied;
    },
    get defaults() {
      return state.defaults;
    },
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    get rawQuota() {
      return state.rawQuota;
    },
    set rawQuota(v) {
      state.rawQuota = v;
    },
    get calls() {
      return state.calls;
    },
    reset() {
      state.applied.clear();
      state.defaults.clear();
      state.failWith = undefined;
      state.rawQuota = undefined;
      state.calls.length = 0;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
