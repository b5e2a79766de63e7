/**
 * A stand-in for AWS STS `GetWebIdentityToken` (outbound identity federation): signs real
 * ES384 JWTs with its own key pair, with the claims AWS documents (`iss` the account's issuer
 * URL, `sub` the caller's role ARN, `aud` the requested audiences, `iat`, `exp`). The fake
 * Tailscale API verifies them with the public key, as Tailscale does with the issuer's JWKS.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import type {
  IdentityToken,
  IdentityTokenPort,
  IdentityTokenRequest,
} from '../../../lib/aws/identity-token.js';
import { IdentityTokenError } from '../../../lib/aws/identity-token.js';

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export interface FakeIdentityTokenIssuerOptions {
  /** @default 'https://abc123.tokens.sts.global.api.aws' */
  issuer?: string;
  /** @default 'arn:aws:iam::123456789012:role/k3s-burst-pi-lab-launch' */
  subject?: string;
  now?: () => Date;
  /** Refuse every call as an account without outbound federation does. */
  federationDisabled?: boolean;
}

export class FakeIdentityTokenIssuer implements IdentityTokenPort {
  readonly issuer: string;
  readonly publicKey: KeyObject;
  private readonly privateKey: KeyObject;
  readonly requests: IdentityTokenRequest[] = [];
  /** Every token this issuer signed (credentials: tests check none leaks into logs). */
  readonly issued: string[] = [];
  federationDisabled: boolean;

  constructor(private readonly o: FakeIdentityTokenIssuerOptions = {}) {
    this.issuer = o.issuer ?? 'https://abc123.tokens.sts.global.api.aws';
    const pair = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    this.privateKey = pair.privateKey;
    this.publicKey = createPublicKey(pair.publicKey.export({ format: 'pem', type: 'spki' }));
    this.federationDisabled = o.federationDisabled ?? false;
  }

  async getWebIdentityToken(req: IdentityTokenRequest): Promise<IdentityToken> {
    this.requests.push(req);
    if (this.federationDisabled) {
      throw new IdentityTokenError(
        'OutboundWebIdentityFederationDisabledException',
        'outbound identity federation is not enabled for this account',
      );
    }
    if (req.durationSeconds < 60 || req.durationSeconds > 3600) {
      throw new IdentityTokenError(
        'ValidationError',
        `DurationSeconds ${req.durationSeconds} not in [60, 3600]`,
      );
    }
    return this.mint({ aud: [req.audience] }, req.durationSeconds);
  }

  /** A token with any claims (tests: wrong audience, expired, other issuer). */
  mint(claims: Record<string, unknown>, durationSeconds = 300): IdentityToken {
    const nowS = Math.floor((this.o.now?.() ?? new Date()).getTime() / 1000);
    const payload = {
      iss: this.issuer,
      sub: this.o.subject ?? 'arn:aws:iam::123456789012:role/k3s-burst-pi-lab-launch',
      iat: nowS,
      exp: nowS + durationSeconds,
      ...claims,
    };
    const head = b64url(JSON.stringify({ alg: 'ES384', typ: 'JWT', kid: 'fake-1' }));
    const body = b64url(JSON.stringify(payload));
    const sig = sign('sha384', Buffer.from(`${head}.${body}`), {
      key: this.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    const token = `${head}.${body}.${b64url(sig)}`;
    this.issued.push(token);
    return { token, expiresAt: new Date(Number(payload.exp) * 1000) };
  }
}

/** Verify an ES384 JWT against a public key; returns its claims, or why it is refused. */
export function verifyJwt(
  jwt: string,
  publicKey: KeyObject,
): { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string } {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'not a JWT' };
  const [head, body, sig] = parts as [string, string, string];
  let header: { alg?: string };
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed JWT' };
  }
  if (header.alg !== 'ES384') return { ok: false, reason: `unsupported alg ${String(header.alg)}` };
  const valid = verify(
    'sha384',
    Buffer.from(`${head}.${body}`),
    { key: publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(sig, 'base64url'),
  );
  return valid ? { ok: true, claims } : { ok: false, reason: 'bad signature' };
}
