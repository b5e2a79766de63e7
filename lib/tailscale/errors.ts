import { DeviceRegistryError, type DeviceRegistryErrorKind } from '../core/ports.js';

/** Base error of the Tailscale client. Messages never contain credentials, tokens or keys. */
export class TailscaleError extends DeviceRegistryError {
  constructor(
    kind: DeviceRegistryErrorKind,
    message: string,
    /** HTTP status of the last response, when there was one. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(kind, message, options);
    this.name = 'TailscaleError';
  }
}

/** What to check when the OAuth client (tailscale.auth oauth-client) is refused. */
export const OAUTH_CLIENT_FIX =
  'Check the OAuth client id and secret in Secrets Manager ' +
  '(Tailscale admin console → Settings → OAuth clients); the secret must be the client secret, not an API key.';

/**
 * The credential was rejected (the OAuth client, or with workload identity federation the
 * STS identity token or its exchange), or a fresh token was rejected again (401 after one
 * refresh). `fix` says what to check; it defaults to the OAuth client's.
 */
export class TailscaleAuthError extends TailscaleError {
  constructor(message: string, status?: number, options?: { cause?: unknown; fix?: string }) {
    super('auth', `${message}. ${options?.fix ?? OAUTH_CLIENT_FIX}`, status, options);
    this.name = 'TailscaleAuthError';
  }
}

/** 403: the credential lacks a scope or does not own the requested tags. Not transient. */
export class TailscaleForbiddenError extends TailscaleError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(
      'forbidden',
      `${message}. The OAuth client needs the scopes "auth_keys" and "devices:core", and the tags it mints keys ` +
        "for (e.g. tag:k3s-burst) must be owned by the client: list them in the client's tags and in tagOwners of " +
        'the tailnet policy file.',
      403,
      options,
    );
    this.name = 'TailscaleForbiddenError';
  }
}

/** 429 that did not clear within the retry budget. */
export class TailscaleRateLimitError extends TailscaleError {
  constructor(
    message: string,
    /** Seconds the server asked to wait (Retry-After), when it said. */
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super('rate-limited', message, 429, options);
    this.name = 'TailscaleRateLimitError';
  }
}

/** 5xx, timeouts or connection failures that did not clear within the retry budget. */
export class TailscaleUnavailableError extends TailscaleError {
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super('unavailable', message, status, options);
    this.name = 'TailscaleUnavailableError';
  }
}

/** 400, 404 (except delete), 501 and other answers that will not change on retry. */
export class TailscalePermanentError extends TailscaleError {
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super('permanent', message, status, options);
    this.name = 'TailscalePermanentError';
  }
}
