/**
 * DeviceRegistryPort on the Tailscale API v2 (reference: docs/adapters.md, and the v2 subset
 * k3s-burst uses: OAuth token, create key, list devices, delete device).
 *
 * Secrets: the OAuth client secret, the access token and minted auth keys never reach a log
 * line or an error message. Errors quote at most the server's `message` field, truncated and
 * with anything shaped like a Tailscale key (`tskey-…`) redacted.
 */
import * as z from 'zod';
import type { Clock } from '../core/clock.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { Device, DeviceRegistryPort, MintAuthKeyRequest, MintedAuthKey, Random } from '../core/ports.js';
import { systemClock } from '../system/clock.js';
import {
  TailscaleAuthError,
  type TailscaleError,
  TailscaleForbiddenError,
  TailscalePermanentError,
  TailscaleRateLimitError,
  TailscaleUnavailableError,
} from './errors.js';

export interface TailscaleCredentials {
  clientId: string;
  clientSecret: string;
}

/** The OAuth client as stored in Secrets Manager (JSON). */
export const TailscaleOAuthSecret = z.object({
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
});

/**
 * Workload identity federation (`tailscale.auth: federated`): the client exchanges a fresh
 * signed identity token (AWS STS GetWebIdentityToken, audience `api.tailscale.com/<clientId>`)
 * at `POST /api/v2/oauth/token-exchange` (form `client_id`, `jwt`) for an API token, instead of
 * presenting a stored client secret (tailscale.com/kb/1581).
 */
export interface TailscaleFederation {
  /** The federated identity's client id (admin console → Trust credentials). */
  clientId: string;
  /** A fresh identity token (JWT) for the audience `api.tailscale.com/<clientId>`. */
  identityToken: () => Promise<string>;
}

export interface TailscaleClientProps {
  /**
   * OAuth client credentials, or a function that reads them (e.g. from SecretsPort). Ignored
   * when {@link TailscaleClientProps.federation} is set.
   */
  credentials: TailscaleCredentials | (() => Promise<TailscaleCredentials>) | undefined;
  /** Use workload identity federation instead of the OAuth client. @default - OAuth client */
  federation?: TailscaleFederation;
  /** @default 'https://api.tailscale.com' */
  baseUrl?: string;
  /** Tailnet name; `-` is the credential's own tailnet. @default '-' */
  tailnet?: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Token expiry, retry budget and waits between retries. @default systemClock */
  clock?: Pick<Clock, 'now' | 'sleep'>;
  random?: Random;
  logger?: Logger;
  /** Tries per call, first included (429/5xx/network). @default 5 */
  maxAttempts?: number;
  /** Give up retrying once this much time has passed since the call started. @default 30000 */
  maxElapsedMs?: number;
  /** @default 250 */
  baseDelayMs?: number;
  /** @default 8000 */
  maxDelayMs?: number;
  /** Per-request timeout. @default 10000 */
  requestTimeoutMs?: number;
}

/** Refresh the access token this long before it expires. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;

const DeviceWire = z.object({
  id: z.coerce.string().default(''),
  nodeId: z.string().min(1),
  hostname: z.string().default(''),
  name: z.string().default(''),
  tags: z
    .array(z.string())
    .nullish()
    .transform((t) => t ?? []),
  addresses: z
    .array(z.string())
    .nullish()
    .transform((a) => a ?? []),
  connectedToControl: z.boolean().default(false),
  lastSeen: z.string().optional(),
  created: z.string().default(''),
  isEphemeral: z.boolean().default(false),
  os: z.string().default(''),
});
const DevicesResponse = z.object({ devices: z.array(z.unknown()) });
const KeyResponse = z.object({
  id: z.string().min(1),
  key: z.string().min(1),
  expires: z.string().default(''),
});
const TokenResponse = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive().optional(),
});

const KEY_PATTERN = /tskey-[A-Za-z0-9-]+/g;

/** Keep a Tailscale description to its rule: ≤ 50 chars of letters, digits, hyphens and spaces. */
export function sanitizeKeyDescription(description: string): string {
  return description
    .replace(/[^A-Za-z0-9 -]/g, '-')
    .slice(0, 50)
    .trim();
}

interface RawResponse {
  status: number;
  text: string;
  retryAfter: string | null;
}

/** A response that was not 2xx, classified before it becomes an error. */
type Outcome =
  | { ok: true; status: number; text: string }
  | { ok: false; retry: boolean; error: TailscaleError; retryAfterMs?: number };

/** {@link DeviceRegistryPort} on the Tailscale API v2 with an OAuth client. */
export class TailscaleClient implements DeviceRegistryPort {
  private readonly baseUrl: string;
  private readonly tailnet: string;
  private readonly fetchFn: typeof fetch;
  private readonly clock: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: Random;
  private readonly log: Logger;
  private readonly maxAttempts: number;
  private readonly maxElapsedMs: number;
  private token: { value: string; expiresAtMs: number } | undefined;
  private tokenRequest: Promise<string> | undefined;
  /** Exact secret strings seen so far, scrubbed from anything we emit. */
  private readonly secrets = new Set<string>();

  constructor(private readonly props: TailscaleClientProps) {
    this.baseUrl = (props.baseUrl ?? 'https://api.tailscale.com').replace(/\/+$/, '');
    this.tailnet = props.tailnet ?? '-';
    this.fetchFn = props.fetch ?? globalThis.fetch;
    const clock = props.clock ?? systemClock;
    this.clock = () => new Date(clock.now());
    this.sleep = (ms) => clock.sleep(ms);
    this.random = props.random ?? Math.random;
    this.log = props.logger ?? silentLogger;
    this.maxAttempts = Math.max(1, props.maxAttempts ?? 5);
    this.maxElapsedMs = props.maxElapsedMs ?? 30_000;
  }

  async mintAuthKey(req: MintAuthKeyRequest): Promise<MintedAuthKey> {
    if (req.tags.length === 0) {
      throw new TailscalePermanentError('an auth key minted by an OAuth client must carry tags (got none)');
    }
    const body = {
      capabilities: {
        devices: {
          create: {
            reusable: false,
            ephemeral: req.ephemeral !== false,
            preauthorized: true,
            tags: [...req.tags],
          },
        },
      },
      expirySeconds: req.expirySeconds,
      description: sanitizeKeyDescription(req.description),
    };
    const res = await this.call('POST', `/api/v2/tailnet/${encodeURIComponent(this.tailnet)}/keys`, {
      json: body,
    });
    const parsed = KeyResponse.safeParse(parseJson(res.text));
    if (!parsed.success) {
      throw new TailscalePermanentError(
        'create key: the response has no id/key (unexpected API answer)',
        res.status,
      );
    }
    this.secrets.add(parsed.data.key);
    this.log.info('tailscale auth key minted', {
      keyId: parsed.data.id,
      expires: parsed.data.expires,
      tags: req.tags,
    });
    return { id: parsed.data.id, key: parsed.data.key, expires: parsed.data.expires };
  }

  async listDevices(opts: { tag: string }): Promise<Device[]> {
    const query = new URLSearchParams({ fields: 'default', tags: opts.tag });
    const res = await this.call(
      'GET',
      `/api/v2/tailnet/${encodeURIComponent(this.tailnet)}/devices?${query}`,
      {},
    );
    const wrapper = DevicesResponse.safeParse(parseJson(res.text));
    if (!wrapper.success) {
      throw new TailscalePermanentError(
        'list devices: expected {"devices":[…]} (unexpected API answer)',
        res.status,
      );
    }
    const out: Device[] = [];
    let skipped = 0;
    for (const raw of wrapper.data.devices) {
      const d = DeviceWire.safeParse(raw);
      if (!d.success) {
        skipped += 1;
        continue;
      }
      // Filter client-side too: the server-side filter is exact-match and not verified for arrays.
      if (!d.data.tags.includes(opts.tag)) continue;
      const { lastSeen, ...rest } = d.data;
      out.push(lastSeen ? { ...rest, lastSeen } : rest);
    }
    if (skipped > 0) this.log.warn('tailscale devices without a nodeId were ignored', { skipped });
    return out;
  }

  async deleteDevice(nodeId: string): Promise<'deleted' | 'not-found'> {
    if (!/^[A-Za-z0-9]+$/.test(nodeId)) {
      throw new TailscalePermanentError(
        `invalid device id "${nodeId.slice(0, 40)}": expected a nodeId or numeric id`,
      );
    }
    const res = await this.call('DELETE', `/api/v2/device/${encodeURIComponent(nodeId)}`, {
      notFoundOk: true,
    });
    const result = res.status === 404 ? 'not-found' : 'deleted';
    this.log.info('tailscale device delete', { nodeId, result });
    return result;
  }

  /** Drop the cached access token (e.g. after rotating the OAuth client). */
  invalidateToken(): void {
    this.token = undefined;
  }

  // ───────── transport ─────────

  private async call(
    method: string,
    path: string,
    opts: { json?: unknown; notFoundOk?: boolean },
  ): Promise<{ status: number; text: string }> {
    const op = `${method} ${path.split('?')[0]}`;
    const startMs = this.clock().getTime();
    let refreshedAfter401 = false;
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken();
      const raw = await this.send(op, method, path, {
        headers: {
          authorization: `Bearer ${token}`,
          ...(opts.json === undefined ? {} : { 'content-type': 'application/json' }),
          accept: 'application/json',
        },
        body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
      });
      if (raw.status === 401 && !refreshedAfter401) {
        // The cached token may have been revoked or expired early: refresh once, retry once.
        refreshedAfter401 = true;
        this.invalidateToken();
        this.log.info('tailscale token rejected, refreshing once', { op });
        attempt -= 1;
        continue;
      }
      if (raw.status === 404 && opts.notFoundOk) return { status: 404, text: raw.text };
      const outcome = this.classify(op, raw);
      if (outcome.ok) return { status: outcome.status, text: outcome.text };
      await this.maybeWait(op, outcome, attempt, startMs);
    }
  }

  /** Sleep before the next attempt, or throw when the error is final or the budget is spent. */
  private async maybeWait(
    op: string,
    outcome: Extract<Outcome, { ok: false }>,
    attempt: number,
    startMs: number,
  ): Promise<void> {
    if (!outcome.retry) throw outcome.error;
    const elapsed = this.clock().getTime() - startMs;
    const cap = Math.min(this.props.maxDelayMs ?? 8000, (this.props.baseDelayMs ?? 250) * 2 ** (attempt - 1));
    const delay = outcome.retryAfterMs ?? Math.floor(this.random() * cap);
    if (attempt >= this.maxAttempts || elapsed + delay > this.maxElapsedMs) {
      this.log.warn('tailscale retry budget exhausted', { op, attempts: attempt, elapsedMs: elapsed });
      throw outcome.error;
    }
    this.log.warn('tailscale call failed, retrying', {
      op,
      attempt,
      status: outcome.error.status,
      delayMs: delay,
    });
    await this.sleep(delay);
  }

  private classify(op: string, raw: RawResponse): Outcome {
    const { status } = raw;
    if (status >= 200 && status < 300) return { ok: true, status, text: raw.text };
    const msg = this.serverMessage(raw.text);
    const what = `tailscale ${op} failed with HTTP ${status}${msg ? `: ${msg}` : ''}`;
    if (status === 401) return { ok: false, retry: false, error: new TailscaleAuthError(what, 401) };
    if (status === 403) return { ok: false, retry: false, error: new TailscaleForbiddenError(what) };
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(raw.retryAfter, this.clock());
      return {
        ok: false,
        retry: true,
        retryAfterMs,
        error: new TailscaleRateLimitError(
          `${what} (rate limited${retryAfterMs === undefined ? '' : `, Retry-After ${Math.ceil(retryAfterMs / 1000)} s`})`,
          retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
        ),
      };
    }
    if (status === 501) {
      return {
        ok: false,
        retry: false,
        error: new TailscalePermanentError(`${what} (not owned by this tailnet)`, 501),
      };
    }
    if (status >= 500) return { ok: false, retry: true, error: new TailscaleUnavailableError(what, status) };
    return { ok: false, retry: false, error: new TailscalePermanentError(what, status) };
  }

  private async send(
    op: string,
    method: string,
    path: string,
    init: { headers: Record<string, string>; body?: string },
  ): Promise<RawResponse> {
    const started = this.clock().getTime();
    try {
      const res = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers: init.headers,
        body: init.body,
        signal: AbortSignal.timeout(this.props.requestTimeoutMs ?? 10_000),
      });
      const text = await res.text();
      this.log.debug('tailscale response', { op, status: res.status, ms: this.clock().getTime() - started });
      return { status: res.status, text, retryAfter: res.headers.get('retry-after') };
    } catch (err) {
      // A connection failure or timeout: treat like a 503 (retryable). The cause is a fetch
      // error about the URL; it never holds our headers.
      const reason = err instanceof Error ? `${err.name}: ${this.scrub(err.message)}` : 'unknown error';
      this.log.warn('tailscale request did not complete', { op, reason });
      return { status: 599, text: JSON.stringify({ message: `no response (${reason})` }), retryAfter: null };
    }
  }

  private async accessToken(): Promise<string> {
    const now = this.clock().getTime();
    if (this.token && now < this.token.expiresAtMs - TOKEN_REFRESH_MARGIN_MS) return this.token.value;
    this.tokenRequest ??= this.fetchToken().finally(() => {
      this.tokenRequest = undefined;
    });
    return this.tokenRequest;
  }

  private async fetchToken(): Promise<string> {
    const federation = this.props.federation;
    let path: string;
    let form: string;
    if (federation) {
      const jwt = await this.identityToken(federation);
      this.secrets.add(jwt);
      path = '/api/v2/oauth/token-exchange';
      form = new URLSearchParams({ client_id: federation.clientId, jwt }).toString();
    } else {
      const c = this.props.credentials;
      if (!c)
        throw new TailscaleAuthError('no Tailscale credentials: set an OAuth client or a federation', 0);
      const creds = typeof c === 'function' ? await c() : c;
      this.secrets.add(creds.clientSecret);
      path = '/api/v2/oauth/token';
      form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: creds.clientId,
        client_secret: creds.clientSecret,
      }).toString();
    }
    const op = `POST ${path}`;
    const startMs = this.clock().getTime();
    for (let attempt = 1; ; attempt++) {
      const raw = await this.send(op, 'POST', path, {
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form,
      });
      if (raw.status === 400 || raw.status === 401 || raw.status === 403) {
        const msg = this.serverMessage(raw.text);
        throw federation
          ? new TailscaleAuthError(
              `tailscale token exchange for federated identity ${federation.clientId} was refused with HTTP ${raw.status}${msg ? `: ${msg}` : ''}`,
              raw.status,
              { fix: federationFix(federation.clientId) },
            )
          : new TailscaleAuthError(
              `tailscale OAuth token request was refused with HTTP ${raw.status}${msg ? `: ${msg}` : ''}`,
              raw.status,
            );
      }
      const outcome = this.classify(op, raw);
      if (outcome.ok) {
        const parsed = TokenResponse.safeParse(parseJson(outcome.text));
        if (!parsed.success) {
          throw new TailscaleAuthError('tailscale OAuth token response has no access_token', outcome.status);
        }
        const expiresInMs = (parsed.data.expires_in ?? 3600) * 1000;
        this.secrets.add(parsed.data.access_token);
        this.token = { value: parsed.data.access_token, expiresAtMs: this.clock().getTime() + expiresInMs };
        this.log.debug('tailscale access token obtained', { expiresInSeconds: expiresInMs / 1000 });
        return parsed.data.access_token;
      }
      await this.maybeWait(op, outcome, attempt, startMs);
    }
  }

  /**
   * A fresh identity token for the exchange. An STS failure becomes a DeviceRegistryError the
   * use-cases already classify: transient (throttling, 5xx, network) → `unavailable`, retried;
   * anything else (federation disabled in the account, access denied) → `auth`, not retried.
   */
  private async identityToken(federation: TailscaleFederation): Promise<string> {
    try {
      return await federation.identityToken();
    } catch (err) {
      const message = this.scrub(err instanceof Error ? err.message : String(err)).slice(0, 400);
      const retryable = (err as { retryable?: unknown } | undefined)?.retryable === true;
      this.log.warn('no identity token for the Tailscale token exchange', { retryable, message });
      if (retryable) {
        throw new TailscaleUnavailableError(
          `identity token for the Tailscale token exchange: ${message}`,
          undefined,
          {
            cause: err,
          },
        );
      }
      throw new TailscaleAuthError(
        `no identity token for the Tailscale token exchange: ${message}`,
        undefined,
        {
          cause: err,
          fix: federationFix(federation.clientId),
        },
      );
    }
  }

  /** The server's `message`, short, with anything key-shaped or known-secret removed. */
  private serverMessage(text: string): string {
    const body = parseJson(text);
    const message =
      body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : '';
    return this.scrub(message).slice(0, 200);
  }

  private scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s) out = out.split(s).join('<redacted>');
    return out.replace(KEY_PATTERN, 'tskey-<redacted>');
  }
}

/** What to check when workload identity federation fails (tailscale.auth federated). */
export function federationFix(clientId: string): string {
  return (
    `Check the Tailscale federated identity ${clientId} (admin console → Settings → Trust credentials): its issuer must be ` +
    "this AWS account's outbound identity federation issuer URL (aws iam get-outbound-web-identity-federation-info), " +
    'its subject the launch/terminate/janitor Lambda role ARNs (a trailing * matches all), with the scopes auth_keys and ' +
    `devices:core and the node tags; the STS token's audience is api.tailscale.com/${clientId}. Run npx k3s-burst doctor`
  );
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unparsable. */
export function parseRetryAfter(header: string | null, now: Date): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}
