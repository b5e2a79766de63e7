/**
 * Raw Tailscale API v2 calls `doctor` makes to prove the OAuth client works: get a token
 * (and read its `scope` if the server echoes it), list devices by tag, mint a probe key with
 * the configured tags and revoke it at once (`DELETE /api/v2/tailnet/{tailnet}/keys/{keyId}`).
 * The control plane uses `lib/tailscale` (DeviceRegistryPort); this probe exists because a
 * diagnosis needs the HTTP status of each step, the token's scopes and key revocation, none
 * of which belong on the port.
 *
 * Secrets: the client secret, the access token and the probe key never leave this module —
 * not in return values, not in errors (server messages are scrubbed of anything `tskey-…`).
 */
import type { TailscaleCredentials } from '../tailscale/index.js';

/** A Tailscale call that did not return 2xx (status 0: no answer at all). */
export class TailscaleProbeError extends Error {
  constructor(
    readonly step: string,
    readonly status: number,
    readonly serverMessage: string,
  ) {
    super(
      `${step}: ${status === 0 ? 'no answer' : `HTTP ${status}`}${serverMessage ? ` (${serverMessage})` : ''}`,
    );
    this.name = 'TailscaleProbeError';
  }
}

export interface TailscaleProbeProps {
  baseUrl: string;
  tailnet: string;
  credentials: TailscaleCredentials;
  fetch?: typeof fetch;
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number;
}

const KEY_PATTERN = /tskey-[A-Za-z0-9-]+/g;

/** One-shot Tailscale calls with no retries: a diagnosis reports the first answer. */
export class TailscaleProbe {
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private accessToken: string | undefined;
  private readonly secrets: string[];

  constructor(private readonly props: TailscaleProbeProps) {
    this.baseUrl = props.baseUrl.replace(/\/+$/, '');
    this.fetchFn = props.fetch ?? globalThis.fetch;
    this.secrets = [props.credentials.clientSecret];
  }

  /** Get an access token; returns the scopes the server echoed, or undefined when it did not. */
  async authenticate(): Promise<{ scopes: string[] | undefined }> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.props.credentials.clientId,
      client_secret: this.props.credentials.clientSecret,
    }).toString();
    const res = await this.request('get an OAuth token', 'POST', '/api/v2/oauth/token', {
      'content-type': 'application/x-www-form-urlencoded',
      body,
    });
    const json = res.json as { access_token?: unknown; scope?: unknown } | undefined;
    if (typeof json?.access_token !== 'string' || json.access_token === '') {
      throw new TailscaleProbeError('get an OAuth token', res.status, 'the response has no access_token');
    }
    this.accessToken = json.access_token;
    this.secrets.push(json.access_token);
    const scopes =
      typeof json.scope === 'string' ? json.scope.split(/[\s,]+/).filter((s) => s.length > 0) : undefined;
    return { scopes };
  }

  /** Number of devices carrying `tag`. */
  async countDevices(tag: string): Promise<number> {
    const q = new URLSearchParams({ fields: 'default', tags: tag });
    const res = await this.request('list devices', 'GET', `${this.tailnetPath()}/devices?${q}`);
    const devices = (res.json as { devices?: unknown } | undefined)?.devices;
    if (!Array.isArray(devices))
      throw new TailscaleProbeError('list devices', res.status, 'no "devices" array');
    return devices.filter(
      (d) => Array.isArray((d as { tags?: unknown }).tags) && (d as { tags: string[] }).tags.includes(tag),
    ).length;
  }

  /** Mint a single-use, ephemeral, tagged key; returns only its id (the key itself is dropped). */
  async createProbeKey(tags: string[], expirySeconds: number): Promise<{ id: string }> {
    const res = await this.request('create an auth key', 'POST', `${this.tailnetPath()}/keys`, {
      'content-type': 'application/json',
      body: JSON.stringify({
        capabilities: {
          devices: { create: { reusable: false, ephemeral: true, preauthorized: false, tags } },
        },
        expirySeconds,
        description: 'k3s-burst doctor probe',
      }),
    });
    const json = res.json as { id?: unknown; key?: unknown } | undefined;
    if (typeof json?.key === 'string') this.secrets.push(json.key);
    if (typeof json?.id !== 'string' || json.id === '') {
      throw new TailscaleProbeError('create an auth key', res.status, 'the response has no key id');
    }
    return { id: json.id };
  }

  /**
   * The tailnet policy file as JSON (`GET /api/v2/tailnet/{tailnet}/acl` with
   * `Accept: application/json`; needs the `policy_file:read` scope).
   */
  async getPolicy(): Promise<Record<string, unknown>> {
    const res = await this.request('read the tailnet policy file', 'GET', `${this.tailnetPath()}/acl`);
    if (!res.json || typeof res.json !== 'object' || Array.isArray(res.json)) {
      throw new TailscaleProbeError(
        'read the tailnet policy file',
        res.status,
        'the answer is not a JSON object',
      );
    }
    return res.json as Record<string, unknown>;
  }

  /** Revoke a key by id. */
  async deleteKey(id: string): Promise<void> {
    await this.request(
      'revoke the probe key',
      'DELETE',
      `${this.tailnetPath()}/keys/${encodeURIComponent(id)}`,
    );
  }

  private tailnetPath(): string {
    return `/api/v2/tailnet/${encodeURIComponent(this.props.tailnet)}`;
  }

  private async request(
    step: string,
    method: string,
    path: string,
    init: { 'content-type'?: string; body?: string } = {},
  ): Promise<{ status: number; json: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init['content-type']) headers['content-type'] = init['content-type'];
    if (this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;
    let status = 0;
    let text = '';
    try {
      const res = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: init.body,
        signal: AbortSignal.timeout(this.props.timeoutMs ?? 10_000),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw new TailscaleProbeError(step, 0, this.scrub(err instanceof Error ? err.message : String(err)));
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (status < 200 || status >= 300) {
      const message = (json as { message?: unknown } | undefined)?.message;
      throw new TailscaleProbeError(
        step,
        status,
        typeof message === 'string' ? this.scrub(message).slice(0, 200) : '',
      );
    }
    return { status, json };
  }

  private scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s) out = out.split(s).join('<redacted>');
    return out.replace(KEY_PATTERN, 'tskey-<redacted>');
  }
}
