/**
 * The agent's short-lived K3s join tokens (lib/agent/bootstrap-token.ts), run against the fake
 * Kubernetes API server over HTTP and an in-memory token store, with a manual clock. Whether
 * the API server would accept a token is judged by the fake's model of the bootstrap-token
 * authenticator (`bootstrapTokenAuthenticates`), not by the code under test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BootstrapTokenError,
  BootstrapTokenRotator,
  K3S_BOOTSTRAP_GROUP,
  k3sCaHash,
  randomTokenChars,
} from '../../../lib/agent/bootstrap-token.js';
import { KubeClient } from '../../../lib/agent/kube-client.js';
import { kubeconfigTarget } from '../../../lib/agent/kube-config.js';
import { memoryLogger } from '../../../lib/agent/logger.js';
import { agentMetrics, MetricNames } from '../../../lib/agent/metrics.js';
import { JoinTokenSecret, K3S_SECURE_BOOTSTRAP_TOKEN_PATTERN } from '../../../lib/events/join-token.js';
import { type FakeK8s, startFakeK8s } from '../../support/fake-k8s/server.js';
import { FakeJoinTokenStore } from '../../support/fakes/join-token-store.js';
import { joinTokenStoreContract } from '../../support/fakes/join-token-store-contract.js';
import { ManualClock } from '../../support/manual-clock.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'k3s');
/** A self-signed CA as K3s writes server-ca.crt (generated with openssl for this fixture). */
const SERVER_CA = readFileSync(join(FIXTURES, 'server-ca.crt'), 'utf8');
/** An intermediate followed by its root, as a custom-CA K3s serves at /cacerts. */
const CA_BUNDLE = readFileSync(join(FIXTURES, 'ca-bundle.crt'), 'utf8');
// Computed outside this code: `sha256sum server-ca.crt` and
// `openssl x509 -in root.crt -outform der | sha256sum` when the fixtures were generated.
const SERVER_CA_FILE_SHA256 = '68d8a6f3c1e559d1d7ce3b150ddeb1b500b59dea6f88a1b30c8bc66e612230e0';
const BUNDLE_ROOT_DER_SHA256 = '77b54d3578757676cdeb8d43736c0480e692a01e20e8824143cb06c36de22bea';

joinTokenStoreContract('in-memory fake', async () => {
  const store = new FakeJoinTokenStore();
  return { store, read: () => store.read() };
});

describe('K3s secure token CA hash (k3s pkg/clientaccess hashCA)', () => {
  it('hashes a single certificate over its bytes exactly as served', () => {
    expect(k3sCaHash(SERVER_CA)).toBe(SERVER_CA_FILE_SHA256);
    // whitespace is significant, as in K3s
    expect(k3sCaHash(`${SERVER_CA}\n`)).not.toBe(SERVER_CA_FILE_SHA256);
  });

  it('hashes a bundle over the DER of the root that signs its first certificate', () => {
    expect(k3sCaHash(CA_BUNDLE)).toBe(BUNDLE_ROOT_DER_SHA256);
  });

  it('refuses text without a PEM certificate, naming the ConfigMap', () => {
    expect(() => k3sCaHash('not a certificate')).toThrow(
      /kube-root-ca\.crt ca\.crt holds no PEM certificate/,
    );
  });
});

describe('randomTokenChars', () => {
  it('draws only [a-z0-9] of the requested length', () => {
    for (let i = 0; i < 50; i++) expect(randomTokenChars(16)).toMatch(/^[a-z0-9]{16}$/);
  });
});

describe('BootstrapTokenRotator against the fake API server', () => {
  let k8s: FakeK8s;
  let client: KubeClient;
  let clock: ManualClock;
  let store: FakeJoinTokenStore;
  let log: ReturnType<typeof memoryLogger>;
  let metrics: ReturnType<typeof agentMetrics>;

  /** Deterministic ids and secrets: id0001/secret…, id0002/… */
  function seeded(): (n: number) => string {
    let seq = 0;
    return (n) => {
      seq++;
      return n === 6 ? `id${String(seq).padStart(4, '0')}` : `s${String(seq).padStart(15, '0')}`;
    };
  }

  function rotator(over: Partial<ConstructorParameters<typeof BootstrapTokenRotator>[0]> = {}) {
    return new BootstrapTokenRotator({
      api: client,
      store,
      clock,
      log,
      metrics,
      ttlSeconds: 2400,
      random: seeded(),
      ...over,
    });
  }

  const now = () => new Date(clock.now());
  const published = async () => JoinTokenSecret.parse(JSON.parse((await store.read()) as string));
  const secretNames = () =>
    k8s
      .list('secrets')
      .map((s) => s.metadata?.name)
      .sort();

  beforeEach(async () => {
    k8s = await startFakeK8s({ token: 'bt-token' });
    k8s.seedClusterCa(SERVER_CA);
    client = new KubeClient(await kubeconfigTarget(k8s.writeKubeconfig()));
    clock = new ManualClock();
    store = new FakeJoinTokenStore();
    log = memoryLogger();
    metrics = agentMetrics();
  });
  afterEach(async () => {
    client.close();
    await k8s.close();
  });

  it('mints a bootstrap-token Secret the API server accepts until its expiration, and publishes the secure form', async () => {
    // When the rotator ticks for the first time
    const r = rotator();
    const out = await r.tick();

    // Then one bootstrap-token Secret exists in kube-system with K3s's group and authentication usage
    expect(out).toMatchObject({ action: 'minted', tokenId: 'id0001' });
    const secret = k8s.get('secrets', 'kube-system', 'bootstrap-token-id0001');
    expect(secret?.type).toBe('bootstrap.kubernetes.io/token');
    const data = Object.fromEntries(
      Object.entries(secret?.data as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString('utf8'),
      ]),
    );
    expect(data).toMatchObject({
      'token-id': 'id0001',
      'token-secret': 's000000000000002',
      'usage-bootstrap-authentication': 'true',
      'auth-extra-groups': K3S_BOOTSTRAP_GROUP,
      expiration: '2026-03-14T09:40:00Z',
    });
    expect(data).not.toHaveProperty('usage-bootstrap-signing');

    // And the published value is K10<hash of the CA as served>::<id>.<secret>, expiring after the TTL
    const value = await published();
    expect(value).toEqual({
      token: `K10${SERVER_CA_FILE_SHA256}::id0001.s000000000000002`,
      tokenId: 'id0001',
      expiresAt: '2026-03-14T09:40:00.000Z',
    });
    expect(value.token).toMatch(K3S_SECURE_BOOTSTRAP_TOKEN_PATTERN);

    // And the API server accepts it until, and not after, its expiration
    expect(k8s.bootstrapTokenAuthenticates(value.token, now())).toBe(true);
    expect(k8s.bootstrapTokenAuthenticates(value.token, new Date(Date.parse(value.expiresAt) - 1000))).toBe(
      true,
    );
    expect(k8s.bootstrapTokenAuthenticates(value.token, new Date(Date.parse(value.expiresAt)))).toBe(false);
    expect(metrics.get(MetricNames.joinTokensMinted)).toBe(1);
    expect(metrics.get(MetricNames.joinTokenExpiry)).toBe(Date.parse(value.expiresAt) / 1000);
  });

  it('keeps the token while more than half its TTL is left, then renews, then deletes the expired one', async () => {
    const r = rotator();
    await r.tick();
    const first = await published();

    // 19 min later (21 min left > 20 min renew margin): kept
    await clock.advance(19 * 60_000);
    expect(await r.tick()).toMatchObject({ action: 'kept', tokenId: 'id0001' });
    expect(store.versions).toHaveLength(1);

    // 21 min after minting (19 min left): renewed; the old token stays valid for nodes booting with it
    await clock.advance(2 * 60_000);
    expect(await r.tick()).toMatchObject({ action: 'minted', tokenId: 'id0003', deleted: [] });
    const second = await published();
    expect(second.expiresAt).toBe(new Date(clock.now() + 2400_000).toISOString());
    expect(secretNames()).toEqual(['bootstrap-token-id0001', 'bootstrap-token-id0003']);
    expect(k8s.bootstrapTokenAuthenticates(first.token, now())).toBe(true);

    // Just after the first one expired (40 min), the second still has 20.5 min: kept, first deleted
    await clock.advance(19 * 60_000 + 30_000);
    expect(k8s.bootstrapTokenAuthenticates(first.token, now())).toBe(false);
    expect(await r.tick()).toMatchObject({ action: 'kept', tokenId: 'id0003' });
    expect(secretNames()).toEqual(['bootstrap-token-id0003']);
    expect(r.outstanding).toEqual(['id0003']);
    expect(metrics.get(MetricNames.joinTokensDeleted)).toBe(1);
  });

  it('at any time while it runs, the published token is accepted for at least the launch join window', async () => {
    // The loop checks every 30 s; over 3 hours the published token never runs short.
    const r = rotator({ checkEveryMs: 30_000 });
    r.start();
    await clock.advance(0);
    let shortest = Number.POSITIVE_INFINITY;
    for (let minute = 0; minute < 180; minute++) {
      await clock.advance(60_000);
      const v = await published();
      expect(k8s.bootstrapTokenAuthenticates(v.token, now())).toBe(true);
      shortest = Math.min(shortest, Date.parse(v.expiresAt) - clock.now());
    }
    await r.stop();
    expect(shortest).toBeGreaterThanOrEqual(1200_000 - 30_000);
    // and expired tokens do not pile up: at most the current and the previous one exist
    expect(secretNames().length).toBeLessThanOrEqual(2);
  });

  it('deletes the new Secret again when publishing fails, and reports the failure', async () => {
    store.failNext();
    const r = rotator();
    await expect(r.tick()).rejects.toThrow(
      /publishing bootstrap token id0001 to Secrets Manager failed .*deleted again/,
    );
    expect(secretNames()).toEqual([]);
    expect(r.published).toBeUndefined();

    // the loop counts the failure and logs it without the token
    store.failNext();
    r.start();
    await clock.advance(0);
    await r.stop();
    expect(metrics.get(MetricNames.joinTokenFailures)).toBe(1);
    const text = JSON.stringify(log.lines);
    expect(text).toContain('bootstrap token not renewed');
    expect(text).not.toMatch(/s0000000000000\d\d/);
  });

  it('names the Role and the admission policy when the API server refuses the Secret', async () => {
    k8s.failNext({ verb: 'create', resource: 'secrets' }, 403);
    await expect(rotator().tick()).rejects.toThrow(
      /creating Secret kube-system\/bootstrap-token-id0001 failed: 403 .*k3s-burst-agent-bootstrap-token/,
    );
    expect(store.versions).toEqual([]);
  });

  it('retries once with a new id when the id is taken', async () => {
    k8s.upsert('secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bootstrap-token-id0001', namespace: 'kube-system' },
      type: 'bootstrap.kubernetes.io/token',
      data: {},
    });
    expect(await rotator().tick()).toMatchObject({ action: 'minted', tokenId: 'id0003' });
  });

  it('names the CA ConfigMap when it is missing', async () => {
    k8s.remove('configmaps', 'k3s-burst', 'kube-root-ca.crt');
    await expect(rotator().tick()).rejects.toThrow(/ConfigMap k3s-burst\/kube-root-ca\.crt failed: 404/);
    expect(secretNames()).toEqual([]);
  });

  it('refuses a TTL of an hour or more, and one too short to renew before the join window', () => {
    expect(() => rotator({ ttlSeconds: 3600 })).toThrow(BootstrapTokenError);
    expect(() => rotator({ ttlSeconds: 3600 })).toThrow(/\[1800, 3300\] seconds \(got 3600\)/);
    expect(() => rotator({ ttlSeconds: 1800, renewBeforeSeconds: 600 })).toThrow(/join window/);
  });

  it('logs the token id and expiry, never the token secret', async () => {
    const r = rotator({ random: randomTokenChars });
    await r.tick();
    const v = await published();
    const secretPart = v.token.split('.').at(-1) as string;
    expect(JSON.stringify(log.lines)).not.toContain(secretPart);
    expect(log.lines).toContainEqual(
      expect.objectContaining({ bootstrapId: v.tokenId, expiresAt: v.expiresAt }),
    );
  });
});
