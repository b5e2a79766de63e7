/**
 * A minimal Kubernetes API client: JSON requests and line-delimited watch streams over
 * node:http(s), authenticated from a `KubeTarget`.
 *
 * Why not `@kubernetes/client-node`'s API classes and informers: merely importing that package
 * costs ~80 MiB RSS (it loads every generated model), more than the agent's whole budget on a
 * Raspberry Pi, and its typed deserialisation keeps full copies of every object. The agent needs
 * five verbs on five resources; this file is those verbs. The package is still used, lazily, to
 * read YAML kubeconfigs with exec/OIDC auth on a developer machine (kube-config.ts).
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeTarget } from './kube-config.js';

/** A non-2xx answer from the API server, with its `Status` body when there is one. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly method: string,
    readonly path: string,
    readonly retryAfterSeconds?: number,
  ) {
    const msg =
      (body as { message?: string } | undefined)?.message ??
      (typeof body === 'string' ? body.slice(0, 200) : '');
    super(`${method} ${path} → ${status}${msg ? `: ${msg}` : ''}`);
    this.name = 'KubeApiError';
  }
}

export interface KubeResponse<T = unknown> {
  status: number;
  body: T;
  headers: http.IncomingHttpHeaders;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Per-request timeout (ms). @default 30000 */
  timeoutMs?: number;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

/** Anything that can talk to the API server: the real client, or a test double. */
export interface KubeApi {
  request<T = unknown>(method: string, path: string, opts?: RequestOptions): Promise<KubeResponse<T>>;
  /**
   * Stream a watch. Resolves when the server closes the stream (e.g. `timeoutSeconds`) or the
   * signal aborts; rejects with KubeApiError on a non-200 answer, or on a transport error.
   */
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

function withQuery(path: string, query: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path;
}

export class KubeClient implements KubeApi {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;

  constructor(private readonly target: KubeTarget) {
    this.base = new URL(target.server);
    const secure = this.base.protocol === 'https:';
    this.mod = secure ? https : http;
    this.agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets: 16 })
      : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  private async options(
    method: string,
    path: string,
    headers: Record<string, string>,
  ): Promise<https.RequestOptions> {
    const prefix = this.base.pathname.replace(/\/$/, '');
    const opts: https.RequestOptions = {
      method,
      protocol: this.base.protocol,
      hostname: this.base.hostname,
      port: this.base.port || (this.base.protocol === 'https:' ? 443 : 80),
      path: `${prefix}${path}`,
      agent: this.agent,
      headers: { accept: 'application/json', 'user-agent': 'k3s-burst-agent', ...headers },
    };
    await this.target.apply(opts);
    return opts;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<KubeResponse<T>> {
    const full = withQuery(path, opts.query);
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = {};
    if (payload) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const reqOpts = await this.options(method, full, headers);
    return new Promise<KubeResponse<T>>((resolve, reject) => {
      // The abort listener on the caller's (long-lived) signal must go when the request ends:
      // it holds the request, its response and the response's chunks, so each call would
      // otherwise keep a whole response body alive for the life of the agent.
      const onAbort = () => req.destroy(new Error('aborted'));
      const done = () => opts.signal?.removeEventListener('abort', onAbort);
      const fail = (err: Error) => {
        done();
        reject(err);
      };
      const req = this.mod.request(reqOpts, (res) => {
        let chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          done();
          const text = Buffer.concat(chunks).toString('utf8');
          chunks = [];
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // non-JSON error bodies stay text
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status, body: body as T, headers: res.headers });
          else reject(new KubeApiError(status, body, method, path, retryAfter(res.headers, body)));
        });
      });
      req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', fail);
      if (opts.signal) {
        if (opts.signal.aborted) req.destroy(new Error('aborted'));
        else opts.signal.addEventListener('abort', onAbort, { once: true });
      }
      req.end(payload);
    });
  }

  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const full = withQuery(path, { ...query, watch: 'true' });
    const reqOpts = await this.options('GET', full, {});
    const idleMs = (Number(query.timeoutSeconds ?? 300) + 60) * 1000;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const req = this.mod.request(reqOpts, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // keep text
            }
            finish(new KubeApiError(status, body, 'GET', path, retryAfter(res.headers, body)));
          });
          res.on('error', (e) => finish(e));
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl = buffered.indexOf('\n');
          while (nl >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line) {
              let event: WatchEvent | undefined;
              try {
                event = JSON.parse(line) as WatchEvent;
              } catch {
                finish(new Error(`watch ${path}: unparseable line`));
                req.destroy();
                return;
              }
              try {
                onEvent(event);
              } catch (err) {
                finish(err as Error);
                req.destroy();
                return;
              }
            }
            nl = buffered.indexOf('\n');
          }
        });
        res.on('end', () => finish());
        res.on('aborted', () =>
          finish(signal.aborted ? undefined : new Error(`watch ${path}: connection aborted`)),
        );
        res.on('error', (e) => finish(signal.aborted ? undefined : e));
        res.on('close', () => finish(signal.aborted ? undefined : undefined));
      });
      const onAbort = () => {
        req.destroy();
        finish();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      req.setTimeout(idleMs, () => req.destroy(new Error(`watch ${path}: no data for ${idleMs} ms`)));
      req.on('error', (e) => finish(signal.aborted ? undefined : e));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function retryAfter(headers: http.IncomingHttpHeaders, body: unknown): number | undefined {
  const fromBody = (body as { details?: { retryAfterSeconds?: number } } | undefined)?.details
    ?.retryAfterSeconds;
  if (typeof fromBody === 'number') return fromBody;
  const h = Number(headers['retry-after']);
  return Number.isFinite(h) && h > 0 ? h : undefined;
}
