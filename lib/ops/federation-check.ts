/**
 * Doctor's checks of Tailscale workload identity federation (`tailscale.auth: federated`, the
 * default; issue #16):
 *
 * - `tailscale.federation`: the AWS account has outbound identity federation enabled (IAM
 *   `GetOutboundWebIdentityFederationInfo`: `JwtVendingEnabled`, `IssuerIdentifier`). Without it
 *   STS refuses every identity token (`OutboundWebIdentityFederationDisabledException`).
 * - `tailscale.identity-token`: STS `GetWebIdentityToken` succeeds for Tailscale's audience
 *   (regional endpoint, ES384, 60 s), and the token's issuer is the account's issuer.
 * - `tailscale.token-exchange`: Tailscale's token exchange accepts that token for
 *   `tailscale.federatedClientId`. The token is doctor's own identity, not a Lambda role's: the
 *   federated identity is meant to trust only `arn:aws:iam::<account>:role/k3s-burst-<cluster>-*`,
 *   so a refusal there is a warning that names both subjects, not a failure.
 * - `secret.tailscale-oauth` (migration): no OAuth client secret is left in Secrets Manager.
 *
 * The STS token and any API token never leave this module: not in results, not in errors.
 */
import {
  GetOutboundWebIdentityFederationInfoCommand,
  type GetOutboundWebIdentityFederationInfoCommandOutput,
} from '@aws-sdk/client-iam';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { type IdentityTokenPort, tailscaleAudience } from '../aws/identity-token.js';
import { awsErrorCode, errorMessage } from '../aws/logger.js';
import { type Config, tailscaleFederatedSubject } from '../events/index.js';
import type { OpsClients } from './context.js';

/** The shape doctor's checks share (lib/ops/doctor.ts `CheckResult`). */
export interface FederationCheckResult {
  id: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  message: string;
  fix?: string;
}

export const FEDERATION_CHECK_IDS = [
  'tailscale.federation',
  'tailscale.identity-token',
  'tailscale.token-exchange',
] as const;

/** The account's outbound identity federation setting. */
export interface OutboundFederationInfo {
  enabled: boolean;
  /** The account's issuer URL, once enabled. */
  issuer?: string;
}

/**
 * Reads the account's outbound identity federation setting. Throws with AWS's error code
 * (`FeatureDisabled` when it was never enabled, `AccessDenied` without
 * `iam:GetOutboundWebIdentityFederationInfo`).
 */
export interface OutboundFederationPort {
  info(): Promise<OutboundFederationInfo>;
}

/** {@link OutboundFederationPort} on the IAM API. */
export class IamOutboundFederation implements OutboundFederationPort {
  constructor(
    private readonly client: {
      send(
        c: GetOutboundWebIdentityFederationInfoCommand,
      ): Promise<GetOutboundWebIdentityFederationInfoCommandOutput>;
    },
  ) {}

  async info(): Promise<OutboundFederationInfo> {
    const out = await this.client.send(new GetOutboundWebIdentityFederationInfoCommand({}));
    return {
      enabled: out.JwtVendingEnabled === true,
      ...(out.IssuerIdentifier ? { issuer: out.IssuerIdentifier } : {}),
    };
  }
}

/** Tailscale's answer to a token exchange, reduced to what a diagnosis shows (no token). */
export interface ExchangeOutcome {
  status: number;
  /** The server's `message`, short, scrubbed of anything key-shaped. */
  message: string;
}

/** `POST /api/v2/oauth/token-exchange` once, no retries: the API token is dropped unread. */
export async function exchangeOnce(
  baseUrl: string,
  clientId: string,
  jwt: string,
  fetchFn: typeof fetch,
): Promise<ExchangeOutcome> {
  try {
    const res = await fetchFn(`${baseUrl.replace(/\/+$/, '')}/api/v2/oauth/token-exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: clientId, jwt }).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let message = '';
    if (!res.ok) {
      try {
        const body = JSON.parse(text) as { message?: unknown };
        if (typeof body.message === 'string') message = body.message;
      } catch {
        // not JSON: no message
      }
    }
    return {
      status: res.status,
      message: message
        .split(jwt)
        .join('<redacted>')
        .replace(/tskey-[A-Za-z0-9-]+/g, 'tskey-<redacted>')
        .slice(0, 200),
    };
  } catch (err) {
    return { status: 0, message: err instanceof Error ? err.name : 'no answer' };
  }
}

/** The claims doctor shows: issuer and subject (not secret; the signature is not checked here). */
function claimsOf(jwt: string): { iss?: string; sub?: string } {
  try {
    const body = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    return {
      ...(typeof body.iss === 'string' ? { iss: body.iss } : {}),
      ...(typeof body.sub === 'string' ? { sub: body.sub } : {}),
    };
  } catch {
    return {};
  }
}

const ENABLE_FIX =
  'enable it once for the account (an admin): aws iam enable-outbound-web-identity-federation, then put the printed IssuerIdentifier in the Tailscale federated identity as its issuer (docs/deploy.md, step 2)';

export interface FederationCheckDeps {
  federation: OutboundFederationPort;
  tokens: IdentityTokenPort;
  exchange(clientId: string, jwt: string): Promise<ExchangeOutcome>;
}

/** The three federation checks, in order; each later one is skipped when an earlier one failed. */
export async function federationChecks(
  deps: FederationCheckDeps,
  config: Config,
): Promise<FederationCheckResult[]> {
  const clientId = config.tailscale.federatedClientId as string;
  const audience = tailscaleAudience(clientId);
  const out: FederationCheckResult[] = [];

  let issuer: string | undefined;
  try {
    const info = await deps.federation.info();
    if (!info.enabled) {
      out.push({
        id: 'tailscale.federation',
        status: 'fail',
        message:
          'outbound identity federation is disabled for this AWS account: STS refuses every identity token, so no launch can mint a Tailscale key',
        fix: ENABLE_FIX,
      });
    } else {
      issuer = info.issuer;
      out.push({
        id: 'tailscale.federation',
        status: 'ok',
        message: `outbound identity federation is enabled; the account's issuer is ${info.issuer ?? '(not reported)'}: the Tailscale federated identity ${clientId} must trust it`,
      });
    }
  } catch (err) {
    const code = awsErrorCode(err);
    if (/FeatureDisabled/.test(code)) {
      out.push({
        id: 'tailscale.federation',
        status: 'fail',
        message: `outbound identity federation was never enabled for this AWS account (${code})`,
        fix: ENABLE_FIX,
      });
    } else {
      out.push({
        id: 'tailscale.federation',
        status: 'warn',
        message: `cannot read the account's outbound identity federation setting (${code}: ${errorMessage(err).slice(0, 160)})`,
        fix: 'allow iam:GetOutboundWebIdentityFederationInfo to the identity running doctor, or check it in the IAM console (Account settings)',
      });
    }
  }
  if (out[0]?.status === 'fail') {
    out.push(
      {
        id: 'tailscale.identity-token',
        status: 'skip',
        message: 'not checked: outbound identity federation is off',
      },
      {
        id: 'tailscale.token-exchange',
        status: 'skip',
        message: 'not checked: outbound identity federation is off',
      },
    );
    return out;
  }

  let jwt: string;
  try {
    jwt = (
      await deps.tokens.getWebIdentityToken({ audience, durationSeconds: 60, signingAlgorithm: 'ES384' })
    ).token;
  } catch (err) {
    const code = (err as { code?: string }).code ?? awsErrorCode(err);
    const denied = /AccessDenied/.test(code);
    out.push({
      id: 'tailscale.identity-token',
      status: denied ? 'warn' : 'fail',
      message: denied
        ? `doctor's own identity may not call sts:GetWebIdentityToken for ${audience} (${code}); the Lambda roles may (the stack grants it), so this only limits what doctor can check`
        : `STS refused an identity token for ${audience}: ${errorMessage(err).slice(0, 300)}`,
      fix: denied
        ? `allow sts:GetWebIdentityToken with sts:IdentityTokenAudience ${audience} to the identity running doctor (docs/iam.md), or ignore this`
        : 'fix what the STS error names (a regional endpoint for cluster.region is used: the global one does not serve GetWebIdentityToken)',
    });
    out.push({
      id: 'tailscale.token-exchange',
      status: 'skip',
      message: 'not checked: doctor has no identity token to exchange',
    });
    return out;
  }
  const claims = claimsOf(jwt);
  // The account is the one in doctor's own ARN (the token's subject).
  const account = /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(claims.sub ?? '')?.[1] ?? '<account-id>';
  const subject = tailscaleFederatedSubject(account, config.cluster.name);
  if (issuer && claims.iss && claims.iss !== issuer) {
    out.push({
      id: 'tailscale.identity-token',
      status: 'fail',
      message: `STS issued a token with issuer ${claims.iss}, but the account's issuer is ${issuer}`,
      fix: 'run doctor with credentials of the account the stack is deployed in',
    });
  } else {
    out.push({
      id: 'tailscale.identity-token',
      status: 'ok',
      message: `STS issues identity tokens for ${audience} (issuer ${claims.iss ?? '?'}, here for doctor's identity ${claims.sub ?? '?'})`,
    });
  }

  const r = await deps.exchange(clientId, jwt);
  if (r.status >= 200 && r.status < 300) {
    out.push({
      id: 'tailscale.token-exchange',
      status: 'ok',
      message: `Tailscale's token exchange accepted an identity token of this account for federated identity ${clientId}`,
    });
  } else if (r.status === 0 || r.status >= 500) {
    out.push({
      id: 'tailscale.token-exchange',
      status: 'warn',
      message: `Tailscale's token exchange did not answer (${r.status === 0 ? r.message : `HTTP ${r.status}`})`,
      fix: 'check the connection to api.tailscale.com and run doctor again',
    });
  } else {
    out.push({
      id: 'tailscale.token-exchange',
      status: 'warn',
      message: `Tailscale refused doctor's token for federated identity ${clientId} (HTTP ${r.status}${r.message ? `: ${r.message}` : ''}). Expected when the identity trusts only the Lambda roles (subject ${subject}) and doctor runs as ${claims.sub ?? 'another identity'}; a wrong client id, issuer or audience is refused the same way`,
      fix: `in the Tailscale admin console (Settings → Trust credentials) check that federated identity ${clientId} exists, its issuer is ${issuer ?? claims.iss ?? "the account's issuer"} and its subject ${subject}; after a deploy, a refused Lambda token raises the TailscaleAuthFailures alarm and the launch log names it`,
    });
  }
  return out;
}

/**
 * Migration from `oauth-client`: in federated mode a stored OAuth client secret is no longer
 * read by anything; it can be deleted (and the client revoked).
 */
export async function leftoverOAuthSecretCheck(
  clients: Pick<OpsClients, 'secrets'>,
  cluster: string,
): Promise<FederationCheckResult> {
  const name = `k3s-burst/${cluster}/tailscale-oauth`;
  try {
    const s = await clients.secrets.send(new DescribeSecretCommand({ SecretId: name }));
    if (s.DeletedDate) {
      return {
        id: 'secret.tailscale-oauth',
        status: 'ok',
        message: `tailscale.auth is federated; the old OAuth secret ${name} is scheduled for deletion`,
      };
    }
    return {
      id: 'secret.tailscale-oauth',
      status: 'warn',
      message: `tailscale.auth is federated, but the OAuth client secret ${name} still exists: nothing reads it any more`,
      fix: `delete it: aws secretsmanager delete-secret --secret-id ${name}; then revoke the OAuth client in the Tailscale admin console (docs/security.md, migration)`,
    };
  } catch (err) {
    const code = awsErrorCode(err);
    if (code === 'ResourceNotFoundException') {
      return {
        id: 'secret.tailscale-oauth',
        status: 'ok',
        message: 'tailscale.auth is federated: no Tailscale OAuth client secret is stored',
      };
    }
    return {
      id: 'secret.tailscale-oauth',
      status: 'warn',
      message: `cannot tell whether an old OAuth secret ${name} is left (${code})`,
      fix: `allow secretsmanager:DescribeSecret on ${name} to the identity running doctor, or check: aws secretsmanager describe-secret --secret-id ${name}`,
    };
  }
}
