/**
 * IdentityTokenPort: a signed JWT for the calling AWS identity, from STS `GetWebIdentityToken`
 * (AWS outbound identity federation). The launch, terminate and janitor Lambdas exchange it at
 * Tailscale's token-exchange endpoint for a short-lived API token, so no Tailscale OAuth client
 * secret is stored (`tailscale.auth: federated`, docs/security.md).
 *
 * Facts the adapter relies on (AWS STS API reference, GetWebIdentityToken): `Audience` 1-10
 * strings (the `aud` claim), `DurationSeconds` 60-3600 (default 300), `SigningAlgorithm` RS256
 * or ES384; not served by the global STS endpoint (use the regional one); the account must have
 * outbound identity federation enabled (IAM `EnableOutboundWebIdentityFederation`).
 */
import { GetWebIdentityTokenCommand } from '@aws-sdk/client-sts';
import { awsErrorCode } from './logger.js';

export interface IdentityTokenRequest {
  /** The `aud` claim; Tailscale expects `api.tailscale.com/<federated client id>`. */
  audience: string;
  /** 60-3600. */
  durationSeconds: number;
  signingAlgorithm: 'RS256' | 'ES384';
}

export interface IdentityToken {
  /** The JWT. A credential: never logged. */
  token: string;
  expiresAt: Date;
}

/**
 * Contract: returns a JWT whose `aud` is the requested audience and whose lifetime is the
 * requested duration; throws {@link IdentityTokenError} (with AWS's error code) when STS
 * refuses, e.g. `OutboundWebIdentityFederationDisabledException` (not retryable) or
 * `Throttling` (retryable).
 */
export interface IdentityTokenPort {
  getWebIdentityToken(req: IdentityTokenRequest): Promise<IdentityToken>;
}

/** What an operator does about an STS error code; undefined when retrying is the answer. */
function fixFor(code: string): string | undefined {
  if (code === 'OutboundWebIdentityFederationDisabledException')
    return 'enable it once per account: aws iam enable-outbound-web-identity-federation, then put the printed issuer URL in the Tailscale federated identity (docs/deploy.md, step 2)';
  if (code === 'AccessDenied' || code === 'AccessDeniedException')
    return "the function's role may call sts:GetWebIdentityToken only for the audience api.tailscale.com/<tailscale.federatedClientId> and at most 300 s: redeploy the stack after changing tailscale.federatedClientId";
  if (code === 'SessionDurationEscalationException')
    return 'the requested token lifetime outlives the role session: this is a bug, report it';
  return undefined;
}

/** STS error codes (and network failures) that clear on their own: retried by the caller. */
const TRANSIENT =
  /^(Throttling|ThrottlingException|RequestLimitExceeded|TooManyRequestsException|ServiceUnavailable|ServiceUnavailableException|InternalFailure|InternalError|InternalServerError|RequestTimeout|RequestTimeoutException|TimeoutError|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)$/;

/**
 * STS refused to issue a token; `code` is AWS's error code, `retryable` whether it is transient
 * (throttling, 5xx, network) rather than a setting an operator must fix. Never carries a token.
 */
export class IdentityTokenError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    const fix = fixFor(code);
    super(`STS GetWebIdentityToken failed (${code}): ${message}${fix ? `; ${fix}` : ''}`, options);
    this.name = 'IdentityTokenError';
    this.retryable = TRANSIENT.test(code);
  }
}

export { tailscaleAudience } from '../events/tailscale-federation.js';

/** The STS client the adapter needs: anything that can `send` a GetWebIdentityTokenCommand. */
export interface StsSender {
  send(command: GetWebIdentityTokenCommand): Promise<{ WebIdentityToken?: string; Expiration?: Date }>;
}

/**
 * {@link IdentityTokenPort} on STS. Give it a client with a **regional** endpoint (the default
 * for SDK v3 clients with a region set; the global endpoint does not serve this call).
 */
export class StsIdentityTokens implements IdentityTokenPort {
  constructor(private readonly client: StsSender) {}

  async getWebIdentityToken(req: IdentityTokenRequest): Promise<IdentityToken> {
    let out: { WebIdentityToken?: string; Expiration?: Date };
    try {
      out = await this.client.send(
        new GetWebIdentityTokenCommand({
          Audience: [req.audience],
          DurationSeconds: req.durationSeconds,
          SigningAlgorithm: req.signingAlgorithm,
        }),
      );
    } catch (err) {
      const code = awsErrorCode(err);
      throw new IdentityTokenError(code, err instanceof Error ? err.message.slice(0, 200) : String(err), {
        cause: err,
      });
    }
    if (!out.WebIdentityToken)
      throw new IdentityTokenError('EmptyResponse', 'STS returned no WebIdentityToken');
    return {
      token: out.WebIdentityToken,
      expiresAt: out.Expiration ?? new Date(Date.now() + req.durationSeconds * 1000),
    };
  }
}
