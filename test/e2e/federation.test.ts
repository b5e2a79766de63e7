/**
 * End to end, tailscale.auth federated (the default) when the identity token is not what the
 * Tailscale federated identity trusts: the fake Tailscale API refuses the exchange (wrong
 * audience, then an expired token), launch reports it (a classified auth failure, logged with
 * the fix; the metric is checked in test/unit/control/launch.test.ts) and launches nothing; no
 * token reaches a log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityTokenPort } from '../../lib/aws/identity-token.js';
import { tailscaleAudience } from '../../lib/events/index.js';
import { piNode, pod } from '../support/fake-k8s/fixtures.js';
import { pendingBuildPod, startWorld, type World } from './world.js';

const PI = 'pi-node-1';

describe('end to end: a refused token exchange stops the launch and says why', () => {
  let w: World;
  /** What the Lambdas' "STS" hands out: a token for another audience, or an already expired one. */
  let mode: 'wrong-audience' | 'expired' = 'wrong-audience';
  beforeAll(async () => {
    w = await startWorld({
      piNodes: [piNode(PI)],
      pods: [pod('home-assistant-5c8d7', { cpu: '3500m', memory: '6Gi', node: PI })],
      identityTokens: (sts): IdentityTokenPort => ({
        async getWebIdentityToken(req) {
          sts.requests.push(req);
          if (mode === 'wrong-audience') return sts.mint({ aud: [tailscaleAudience('kSomeoneElseCNTRL')] });
          return sts.mint({ aud: [req.audience], exp: Math.floor(Date.now() / 1000) - 10 });
        },
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await w?.stop();
  }, 30_000);

  const launches = () =>
    w.invocations.filter((i) => i.fn === 'launch' && (i.result !== undefined || i.error));
  const refusedExchanges = () =>
    w.tailscale.calls.filter((c) => c.path === '/api/v2/oauth/token-exchange' && c.status === 401);

  it('refuses a token for another audience: launch stops with a Tailscale auth failure, nothing is launched', async () => {
    w.k8s.upsert('pods', pendingBuildPod('ci-build-wrong-aud', new Date()));
    await w.until('the launch handler to finish', () => launches().length > 0);
    const [first] = launches();
    expect(first?.error).toBeUndefined();
    expect(first?.result).toMatchObject({ outcome: 'failed', stoppedBy: 'tailscale', instances: [] });
    expect(refusedExchanges()).toHaveLength(1);
    expect(w.tailscale.keys).toEqual([]);
    expect(await w.instances()).toEqual([]);
    const line = w.controlLog.find(
      (l) => l.level === 'error' && /cannot mint a Tailscale auth key/.test(l.message),
    );
    expect(line?.attributes?.kind).toBe('auth');
    expect(String(line?.attributes?.message)).toMatch(/HTTP 401: invalid token: audience mismatch/);
    expect(String(line?.attributes?.message)).toContain(
      `federated identity ${w.config.tailscale.federatedClientId}`,
    );
    expect(String(line?.attributes?.message)).toContain('Trust credentials');
  }, 60_000);

  it('refuses an expired token the same way on the next scale-out the decider plans', async () => {
    mode = 'expired';
    const before = refusedExchanges().length;
    const done = launches().length;
    // The pod is still pending: the next snapshot brings a new decision and a new launch.
    await w.until('the next launch to finish', () => launches().length > done, 30_000);
    const latest = launches().at(-1);
    expect(latest?.error).toBeUndefined();
    expect(latest?.result).toMatchObject({ outcome: 'failed', stoppedBy: 'tailscale', instances: [] });
    expect(refusedExchanges()).toHaveLength(before + 1);
    const lines = w.controlLog.filter(
      (l) => l.level === 'error' && /cannot mint a Tailscale auth key/.test(l.message),
    );
    expect(String(lines.at(-1)?.attributes?.message)).toMatch(/HTTP 401: invalid token: expired/);
    expect(w.tailscale.keys).toEqual([]);
    expect(await w.instances()).toEqual([]);
    // No identity token (refused or not) is in anything logged or in the handlers' results
    const logged = JSON.stringify([w.controlLog, w.agentLog, w.invocations.map((i) => [i.result, i.error])]);
    expect(w.sts.issued.length).toBeGreaterThanOrEqual(2);
    for (const secret of w.secretValues()) expect(logged).not.toContain(secret);
  }, 60_000);
});
