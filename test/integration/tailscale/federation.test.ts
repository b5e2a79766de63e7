/**
 * Tailscale workload identity federation (`tailscale.auth: federated`, issue #16): the client
 * exchanges an STS identity token at `POST /api/v2/oauth/token-exchange` instead of presenting
 * a stored OAuth client secret. The fake Tailscale API verifies the JWT as Tailscale does
 * (signature by the trusted issuer's key, issuer, audience `api.tailscale.com/<client id>`,
 * subject, expiry); the fake STS signs real ES384 JWTs. The STS adapter is checked with a mocked
 * SDK client (moto does not serve GetWebIdentityToken).
 */
import { GetWebIdentityTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  IdentityTokenError,
  type IdentityTokenPort,
  StsIdentityTokens,
  tailscaleAudience,
} from '../../../lib/aws/identity-token.js';
import type { LogFields, Logger } from '../../../lib/core/logger.js';
import {
  TailscaleAuthError,
  TailscaleClient,
  TailscaleUnavailableError,
  TOKEN_REFRESH_MARGIN_MS,
} from '../../../lib/tailscale/index.js';
import { type FakeTailscale, startFakeTailscale } from '../../support/fake-tailscale.js';
import { FakeIdentityTokenIssuer } from '../../support/fakes/identity-token.js';

const CLIENT_ID = 'kFed3rat3dCNTRL';
const ROLE = 'arn:aws:iam::123456789012:role/k3s-burst-pi-lab-launch';

/** The IdentityTokenPort contract: the requested audience and lifetime, errors with AWS's code. */
function identityTokenContract(name: string, make: () => { port: IdentityTokenPort; disable(): void }) {
  describe(`IdentityTokenPort contract: ${name}`, () => {
    it('returns a JWT for the requested audience, valid for the requested duration', async () => {
      const { port } = make();
      const before = Date.now();
      const t = await port.getWebIdentityToken({
        audience: tailscaleAudience(CLIENT_ID),
        durationSeconds: 300,
        signingAlgorithm: 'ES384',
      });
      const claims = JSON.parse(Buffer.from(t.token.split('.')[1] as string, 'base64url').toString('utf8'));
      expect(claims.aud).toEqual([`api.tailscale.com/${CLIENT_ID}`]);
      expect(t.expiresAt.getTime() - before).toBeGreaterThan(290_000);
      expect(t.expiresAt.getTime() - before).toBeLessThanOrEqual(301_000);
    });

    it('throws IdentityTokenError with the code and the fix when outbound federation is off', async () => {
      const s = make();
      s.disable();
      const err = await s.port
        .getWebIdentityToken({ audience: 'a', durationSeconds: 300, signingAlgorithm: 'ES384' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IdentityTokenError);
      expect((err as IdentityTokenError).code).toBe('OutboundWebIdentityFederationDisabledException');
      expect((err as Error).message).toContain('aws iam enable-outbound-web-identity-federation');
    });
  });
}

identityTokenContract('fake STS issuer', () => {
  const f = new FakeIdentityTokenIssuer({ subject: ROLE });
  return { port: f, disable: () => (f.federationDisabled = true) };
});

identityTokenContract('StsIdentityTokens (SDK adapter, mocked STS client)', () => {
  const signer = new FakeIdentityTokenIssuer({ subject: ROLE });
  const sts = mockClient(STSClient);
  sts
    .on(GetWebIdentityTokenCommand)
    .callsFake(async (input: { Audience: string[]; DurationSeconds: number }) => {
      const t = signer.mint({ aud: input.Audience }, input.DurationSeconds);
      return { WebIdentityToken: t.token, Expiration: t.expiresAt };
    });
  return {
    port: new StsIdentityTokens(new STSClient({ region: 'eu-central-1' })),
    disable: () =>
      sts.on(GetWebIdentityTokenCommand).rejects(
        Object.assign(new Error('outbound identity federation is disabled'), {
          name: 'OutboundWebIdentityFederationDisabledException',
        }),
      ),
  };
});

/** A logger that writes each line (message and fields) to `lines`. */
function logTo(lines: string[]): Logger {
  const put = (m: string, a?: LogFields) => {
    lines.push(`${m} ${JSON.stringify(a ?? {})}`);
  };
  return { debug: put, info: put, warn: put, error: put, child: () => logTo(lines) };
}

describe('StsIdentityTokens request', () => {
  it('asks for one audience, the duration and the algorithm (regional client)', async () => {
    const sts = mockClient(STSClient);
    sts.on(GetWebIdentityTokenCommand).resolves({ WebIdentityToken: 'a.b.c', Expiration: new Date() });
    await new StsIdentityTokens(new STSClient({ region: 'eu-central-1' })).getWebIdentityToken({
      audience: tailscaleAudience(CLIENT_ID),
      durationSeconds: 300,
      signingAlgorithm: 'ES384',
    });
    expect(sts.commandCalls(GetWebIdentityTokenCommand)[0]?.args[0].input).toEqual({
      Audience: [`api.tailscale.com/${CLIENT_ID}`],
      DurationSeconds: 300,
      SigningAlgorithm: 'ES384',
    });
    sts.restore();
  });
});

describe('TailscaleClient with workload identity federation against the fake Tailscale API', () => {
  let ts: FakeTailscale;
  let sts: FakeIdentityTokenIssuer;
  let logs: string[];

  beforeEach(async () => {
    sts = new FakeIdentityTokenIssuer({ subject: ROLE });
    ts = await startFakeTailscale({
      federated: [
        {
          clientId: CLIENT_ID,
          issuer: sts.issuer,
          publicKey: sts.publicKey,
          subject: 'arn:aws:iam::123456789012:role/k3s-burst-pi-lab-*',
          tags: ['tag:k3s-burst'],
        },
      ],
    });
    logs = [];
  });
  afterEach(async () => {
    await ts.stop();
  });

  const client = (identityToken: () => Promise<string>) =>
    new TailscaleClient({
      baseUrl: ts.url,
      credentials: undefined,
      federation: { clientId: CLIENT_ID, identityToken },
      logger: logTo(logs),
      maxAttempts: 1,
    });
  const stsToken = async () =>
    (
      await sts.getWebIdentityToken({
        audience: tailscaleAudience(CLIENT_ID),
        durationSeconds: 300,
        signingAlgorithm: 'ES384',
      })
    ).token;

  it('exchanges an STS token for an API token and mints a tagged key with it; no client secret is sent', async () => {
    const key = await client(stsToken).mintAuthKey({
      tags: ['tag:k3s-burst'],
      expirySeconds: 900,
      description: 'k3s-burst federated',
    });
    expect(key.key).toMatch(/^tskey-auth-/);
    const exchange = ts.calls.find((c) => c.path === '/api/v2/oauth/token-exchange');
    expect(exchange?.status).toBe(200);
    expect(ts.calls.some((c) => c.path === '/api/v2/oauth/token')).toBe(false);
    expect(sts.requests).toEqual([
      { audience: `api.tailscale.com/${CLIENT_ID}`, durationSeconds: 300, signingAlgorithm: 'ES384' },
    ]);
  });

  const refusals: [string, () => Promise<string>, RegExp][] = [
    [
      'a token for another audience',
      async () => sts.mint({ aud: ['api.tailscale.com/kOtherCNTRL'] }).token,
      /audience mismatch/,
    ],
    [
      'an expired token',
      async () =>
        sts.mint({ aud: [tailscaleAudience(CLIENT_ID)], exp: Math.floor(Date.now() / 1000) - 5 }).token,
      /expired/,
    ],
    [
      'a token from another issuer',
      async () =>
        new FakeIdentityTokenIssuer({ subject: ROLE }).mint({ aud: [tailscaleAudience(CLIENT_ID)] }).token,
      /bad signature/,
    ],
    [
      'a token of another role',
      async () =>
        sts.mint({ aud: [tailscaleAudience(CLIENT_ID)], sub: 'arn:aws:iam::123456789012:role/someone-else' })
          .token,
      /subject/,
    ],
  ];
  it.each(refusals)(
    'is refused with %s: auth error naming the federated identity, the JWT never shown',
    async (_what, token, reason) => {
      let jwt = '';
      const err = await client(async () => {
        jwt = await token();
        return jwt;
      })
        .mintAuthKey({ tags: ['tag:k3s-burst'], expirySeconds: 900, description: 'x' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TailscaleAuthError);
      expect((err as Error).message).toMatch(reason);
      expect((err as Error).message).toContain(`federated identity ${CLIENT_ID}`);
      expect((err as Error).message).not.toContain(jwt);
      expect(logs.join('\n')).not.toContain(jwt);
      expect(ts.keys).toHaveLength(0);
    },
  );
});

describe('TailscaleClient federation: one STS token per API token, STS errors classified', () => {
  let ts: FakeTailscale;
  let sts: FakeIdentityTokenIssuer;
  let nowMs: number;
  let logs: string[];

  beforeEach(async () => {
    nowMs = Date.parse('2026-12-07T03:00:00Z');
    sts = new FakeIdentityTokenIssuer({ subject: ROLE, now: () => new Date(nowMs) });
    ts = await startFakeTailscale({
      now: () => new Date(nowMs),
      tokenTtlSeconds: 3600,
      federated: [
        {
          clientId: CLIENT_ID,
          issuer: sts.issuer,
          publicKey: sts.publicKey,
          subject: ROLE,
          tags: ['tag:k3s-burst'],
        },
      ],
    });
    logs = [];
  });
  afterEach(async () => {
    await ts.stop();
  });

  const client = () =>
    new TailscaleClient({
      baseUrl: ts.url,
      credentials: undefined,
      federation: {
        clientId: CLIENT_ID,
        identityToken: async () =>
          (
            await sts.getWebIdentityToken({
              audience: tailscaleAudience(CLIENT_ID),
              durationSeconds: 300,
              signingAlgorithm: 'ES384',
            })
          ).token,
      },
      clock: { now: () => nowMs, sleep: async () => {} },
      logger: logTo(logs),
      maxAttempts: 2,
    });
  const mint = (c: TailscaleClient) =>
    c.mintAuthKey({ tags: ['tag:k3s-burst'], expirySeconds: 900, description: 'k3s-burst cache' });

  it('reuses the exchanged API token for its lifetime minus the margin (a warm Lambda), then exchanges a fresh STS token', async () => {
    const c = client();
    await mint(c);
    await c.listDevices({ tag: 'tag:k3s-burst' });
    nowMs += 3600_000 - TOKEN_REFRESH_MARGIN_MS - 1_000; // still inside the token's life minus the margin
    await mint(c);
    expect(sts.requests).toHaveLength(1);
    expect(ts.calls.filter((x) => x.path === '/api/v2/oauth/token-exchange')).toHaveLength(1);
    nowMs += 2_000; // inside the margin: refresh
    await c.listDevices({ tag: 'tag:k3s-burst' });
    expect(sts.requests).toHaveLength(2);
    expect(ts.calls.filter((x) => x.path === '/api/v2/oauth/token-exchange')).toHaveLength(2);
  });

  it('federation disabled in the account: an auth error (not retried) with the enable command, no exchange, nothing minted', async () => {
    sts.federationDisabled = true;
    const err = await mint(client()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TailscaleAuthError);
    expect((err as TailscaleAuthError).kind).toBe('auth');
    expect((err as TailscaleAuthError).retryable).toBe(false);
    expect((err as Error).message).toContain('OutboundWebIdentityFederationDisabledException');
    expect((err as Error).message).toContain('aws iam enable-outbound-web-identity-federation');
    expect((err as Error).message).toContain(`federated identity ${CLIENT_ID}`);
    expect((err as Error).message).not.toContain('Secrets Manager');
    expect(sts.requests).toHaveLength(1);
    expect(ts.calls).toHaveLength(0);
    expect(ts.keys).toHaveLength(0);
  });

  it('STS throttling: an unavailable error the caller retries (the event is redelivered), nothing minted', async () => {
    const c = new TailscaleClient({
      baseUrl: ts.url,
      credentials: undefined,
      federation: {
        clientId: CLIENT_ID,
        identityToken: async () => {
          throw new IdentityTokenError('Throttling', 'Rate exceeded');
        },
      },
      maxAttempts: 1,
    });
    const err = await mint(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TailscaleUnavailableError);
    expect((err as TailscaleUnavailableError).retryable).toBe(true);
    expect((err as Error).message).toContain('Throttling');
    expect(ts.keys).toHaveLength(0);
  });

  it('a refused exchange names the federated identity and what to check, not the OAuth client', async () => {
    const c = new TailscaleClient({
      baseUrl: ts.url,
      credentials: undefined,
      federation: { clientId: 'kUnknownCNTRL', identityToken: async () => sts.mint({ aud: ['x'] }).token },
      maxAttempts: 1,
    });
    const err = await mint(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TailscaleAuthError);
    expect((err as Error).message).toMatch(/refused with HTTP 401: unknown federated identity/);
    expect((err as Error).message).toContain('Trust credentials');
    expect((err as Error).message).toContain('aws iam get-outbound-web-identity-federation-info');
    expect((err as Error).message).not.toContain('OAuth client id and secret');
  });
});
