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
 * refuses, e.g. `OutboundWebIdentityFederationDisabledException`.
 */
export interface IdentityTokenPort {
  getWebIdentityToken(req: IdentityTokenRequest): Promise<IdentityToken>;
}

/** STS refused to issue a token; `code` is AWS's error code. Never carries a token. */
export class IdentityTokenError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(
      `STS GetWebIdentityToken failed (${code}): ${message}${
        /Disabled/i.test(code)
          ? '; enable it once per account: aws iam enable-outbound-web-identity-federation (docs/security.md)'
          : ''
      }`,
      options,
    );
    this.name = 'IdentityTokenError';
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
