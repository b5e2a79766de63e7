/**
 * Short-lived K3s join credentials, minted by the agent (issue #16).
 *
 * Why: the K3s agent token is a shared secret that never expires; in user data anyone who can
 * read an instance's attributes could join rogue nodes with it. A Kubernetes bootstrap token
 * expires on its own (the API server refuses it after `expiration`), and K3s accepts one for
 * agents (docs.k3s.io/cli/token, "Bootstrap"; k3s-io/k3s#6663). The agent already talks to the
 * cluster API, so it keeps one current:
 *
 * 1. Read the cluster CA from the `kube-root-ca.crt` ConfigMap in the agent's own namespace
 *    (published into every namespace, so no read access to kube-system is needed). K3s runs the
 *    controller-manager with `--root-ca-file` = the server CA it serves at `/cacerts`, and the
 *    root-CA publisher copies that file's bytes into the ConfigMap, so hashing the ConfigMap's
 *    `ca.crt` gives the hash the joining agent computes ({@link k3sCaHash}).
 * 2. Create `bootstrap-token-<id>` (type `bootstrap.kubernetes.io/token`) in kube-system with
 *    `expiration` = now + TTL, usage `authentication` only (K3s validates the server by the CA
 *    hash, not by a signed cluster-info, so `signing` is not needed) and the group `k3s token
 *    create` uses, `system:bootstrappers:k3s:default-node-token`.
 * 3. Publish `{token, tokenId, expiresAt}` to the Secrets Manager secret only the agent may
 *    write (`JoinTokenStorePort`). If publishing fails, the new Secret is deleted again: a
 *    token nobody can use should not stay valid.
 * 4. Renew when less than `renewBeforeSeconds` is left; delete each token it minted once it
 *    expired (K3s's token cleaner would too; this does not rely on it being enabled).
 *
 * Tokens minted by an earlier agent process are not listed (that would need `list secrets`
 * in kube-system, i.e. every secret there); they expire by themselves and the token cleaner
 * removes them. Token values are never logged: log lines carry the token id and expiry only.
 */
import { createHash, randomInt, X509Certificate } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { errorFields, type Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { JoinTokenSecret } from '../events/join-token.js';
import { BOOTSTRAP_TOKEN_ID_PATTERN, JOIN_TOKEN_MIN_VALIDITY_SECONDS } from '../events/join-token-rules.js';
import { type KubeApi, KubeApiError } from './kube-client.js';
import { type AgentMetricName, MetricNames } from './metrics.js';
import { AGENT_DEFAULTS } from './options.js';
import type { JoinTokenStorePort } from './ports.js';

/** The group `k3s token create` gives its tokens (docs.k3s.io/cli/token, `--groups` default). */
export const K3S_BOOTSTRAP_GROUP = 'system:bootstrappers:k3s:default-node-token';
/** The Secret type the API server's bootstrap-token authenticator reads. */
export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_NAMESPACE = 'kube-system';
/** Published by kube-controller-manager into every namespace; K3s fills it with its server CA. */
export const CLUSTER_CA_CONFIGMAP = 'kube-root-ca.crt';
/** Marks the Secrets this agent minted (the admission policy requires it). */
export const MINTED_BY_LABEL = 'k3s-burst.io/minted-by';
export const MINTED_BY_VALUE = 'k3s-burst-agent';

/** Longest TTL accepted: the bound is "well under an hour". */
export const MAX_BOOTSTRAP_TOKEN_TTL_SECONDS = 3300;
/** Shortest TTL accepted: renewal at half the TTL must still leave launch its join window. */
export const MIN_BOOTSTRAP_TOKEN_TTL_SECONDS = 1800;

/** Base error of this module. */
export class BootstrapTokenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BootstrapTokenError';
  }
}

/** `bootstrap-token-<id>`, the only name the API server's authenticator looks up. */
export function bootstrapTokenSecretName(tokenId: string): string {
  return `bootstrap-token-${tokenId}`;
}

/**
 * The CA hash of a K3s secure token, as the joining agent computes it (k3s
 * `pkg/clientaccess/token.go` hashCA): one certificate → SHA-256 of the bytes exactly as
 * served; a bundle → SHA-256 of the DER of the root that signs the first certificate (so the
 * hash survives an intermediate's renewal). A bundle whose chain does not verify falls back
 * to the bytes, as K3s does.
 * @throws BootstrapTokenError when the text holds no PEM certificate.
 */
export function k3sCaHash(caPem: string): string {
  const blocks = caPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    throw new BootstrapTokenError(
      `${CLUSTER_CA_CONFIGMAP} ca.crt holds no PEM certificate (${caPem.length} bytes): cannot build a K3s secure token`,
    );
  }
  let bytes: Buffer = Buffer.from(caPem, 'utf8');
  if (blocks.length > 1) {
    const certs = blocks.map((b) => new X509Certificate(b));
    const root = rootOf(certs[0] as X509Certificate, certs.slice(1));
    if (root) bytes = root.raw;
  }
  return createHash('sha256').update(bytes).digest('hex');
}

/** Follow issuers from `leaf` through `others` to a self-signed certificate, verifying signatures. */
function rootOf(leaf: X509Certificate, others: X509Certificate[]): X509Certificate | undefined {
  let current = leaf;
  for (let depth = 0; depth <= others.length; depth++) {
    if (current.checkIssued(current) && current.verify(current.publicKey)) return current;
    const issuer = others.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (!issuer) return undefined;
    current = issuer;
  }
  return undefined;
}

/** `K10<ca hash>::<id>.<secret>` (docs.k3s.io/cli/token, secure format). */
export function k3sSecureToken(caPem: string, tokenId: string, tokenSecret: string): string {
  return `K10${k3sCaHash(caPem)}::${tokenId}.${tokenSecret}`;
}

/** The bootstrap-token Secret, `data` base64-encoded as the API server stores it. */
export function bootstrapTokenSecret(
  tokenId: string,
  tokenSecret: string,
  expiresAt: Date,
): Record<string, unknown> {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: bootstrapTokenSecretName(tokenId),
      namespace: BOOTSTRAP_TOKEN_NAMESPACE,
      labels: { [MINTED_BY_LABEL]: MINTED_BY_VALUE },
    },
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    data: {
      'token-id': b64(tokenId),
      'token-secret': b64(tokenSecret),
      expiration: b64(rfc3339Seconds(expiresAt)),
      'usage-bootstrap-authentication': b64('true'),
      'auth-extra-groups': b64(K3S_BOOTSTRAP_GROUP),
      description: b64('k3s-burst: join token for cloud nodes, minted and rotated by the agent'),
    },
  };
}

/** RFC 3339 UTC without fractions, as kubeadm and K3s write `expiration`. */
function rfc3339Seconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `n` characters of [a-z0-9] from a CSPRNG. */
export function randomTokenChars(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return out;
}

export interface BootstrapTokenRotatorOptions {
  api: KubeApi;
  /** The agent's namespace, where it reads {@link CLUSTER_CA_CONFIGMAP}. @default k3s-burst */
  namespace?: string;
  store: JoinTokenStorePort;
  clock: Clock;
  log: Logger;
  metrics: Metrics<AgentMetricName>;
  /** Lifetime of each token. @default AGENT_DEFAULTS.joinToken.ttlSeconds (40 min) */
  ttlSeconds?: number;
  /** Renew when less than this is left. @default ttlSeconds / 2 */
  renewBeforeSeconds?: number;
  /** How often {@link BootstrapTokenRotator.start}'s loop checks. @default AGENT_DEFAULTS.joinToken.checkEveryMs (30 s) */
  checkEveryMs?: number;
  /** [a-z0-9] characters; tests pass a seeded source. @default {@link randomTokenChars} */
  random?: (n: number) => string;
}

/** What one {@link BootstrapTokenRotator.tick} did. */
export type RotationOutcome =
  | { action: 'kept'; tokenId: string; expiresAt: string }
  | { action: 'minted'; tokenId: string; expiresAt: string; deleted: string[] };

/**
 * Keeps one current bootstrap token published. Run it only on the leader: two replicas would
 * each publish their own and overwrite each other (harmless, but wasteful).
 */
export class BootstrapTokenRotator {
  private current: JoinTokenSecret | undefined;
  /** Tokens this process minted and has not deleted yet, by id → expiry (ms). */
  private readonly issued = new Map<string, number>();
  private readonly ttlSeconds: number;
  private readonly renewBeforeSeconds: number;
  private readonly random: (n: number) => string;
  private cancelTimer: (() => void) | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly o: BootstrapTokenRotatorOptions) {
    this.ttlSeconds = o.ttlSeconds ?? AGENT_DEFAULTS.joinToken.ttlSeconds;
    if (
      !Number.isInteger(this.ttlSeconds) ||
      this.ttlSeconds < MIN_BOOTSTRAP_TOKEN_TTL_SECONDS ||
      this.ttlSeconds > MAX_BOOTSTRAP_TOKEN_TTL_SECONDS
    ) {
      throw new BootstrapTokenError(
        `bootstrap token TTL must be an integer in [${MIN_BOOTSTRAP_TOKEN_TTL_SECONDS}, ${MAX_BOOTSTRAP_TOKEN_TTL_SECONDS}] seconds (got ${this.ttlSeconds})`,
      );
    }
    this.renewBeforeSeconds = o.renewBeforeSeconds ?? Math.floor(this.ttlSeconds / 2);
    if (
      this.renewBeforeSeconds <= JOIN_TOKEN_MIN_VALIDITY_SECONDS ||
      this.renewBeforeSeconds >= this.ttlSeconds
    ) {
      throw new BootstrapTokenError(
        `renewBeforeSeconds must be above the launch join window (${JOIN_TOKEN_MIN_VALIDITY_SECONDS} s) and below the TTL (got ${this.renewBeforeSeconds} with TTL ${this.ttlSeconds})`,
      );
    }
    this.random = o.random ?? randomTokenChars;
  }

  /** The token last published by this process (for tests and /metrics). */
  get published(): JoinTokenSecret | undefined {
    return this.current;
  }

  /** Ids minted by this process that still exist (not yet deleted after expiry). */
  get outstanding(): string[] {
    return [...this.issued.keys()].sort();
  }

  /** Renew if due, then delete expired tokens this process minted. */
  async tick(): Promise<RotationOutcome> {
    const now = this.o.clock.now();
    const current = this.current;
    if (current && Date.parse(current.expiresAt) - now > this.renewBeforeSeconds * 1000) {
      await this.deleteExpired(now);
      return { action: 'kept', tokenId: current.tokenId, expiresAt: current.expiresAt };
    }
    const minted = await this.mint(now);
    const deleted = await this.deleteExpired(now);
    return { action: 'minted', tokenId: minted.tokenId, expiresAt: minted.expiresAt, deleted };
  }

  /** Tick now and then every `checkEveryMs` until {@link stop}; a failed tick is logged and counted. */
  start(): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .catch((err) => {
          this.o.metrics.count(MetricNames.joinTokenFailures);
          this.o.log.error('bootstrap token not renewed; launches stop once the published one runs short', {
            ...errorFields(err),
            publishedExpiresAt: this.current?.expiresAt,
          });
        })
        .finally(() => {
          if (!this.stopped)
            this.cancelTimer = this.o.clock.setTimer(
              loop,
              this.o.checkEveryMs ?? AGENT_DEFAULTS.joinToken.checkEveryMs,
            );
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    await this.running;
  }

  private async mint(nowMs: number): Promise<JoinTokenSecret> {
    const caPem = await this.readCa();
    const expiresAt = new Date(Math.floor(nowMs / 1000) * 1000 + this.ttlSeconds * 1000);
    let tokenId = '';
    let tokenSecret = '';
    // A clash of random ids is unlikely (36^6); one retry covers it, more means something else.
    for (let attempt = 0; attempt < 2 && !tokenId; attempt++) {
      const id = this.random(6);
      if (!BOOTSTRAP_TOKEN_ID_PATTERN.test(id)) {
        throw new BootstrapTokenError(`token id source returned ${JSON.stringify(id)}: expected [a-z0-9]{6}`);
      }
      tokenSecret = this.random(16);
      try {
        await this.o.api.request('POST', `/api/v1/namespaces/${BOOTSTRAP_TOKEN_NAMESPACE}/secrets`, {
          body: bootstrapTokenSecret(id, tokenSecret, expiresAt),
        });
        tokenId = id;
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 409 && attempt === 0) continue;
        throw new BootstrapTokenError(
          `creating Secret ${BOOTSTRAP_TOKEN_NAMESPACE}/${bootstrapTokenSecretName(id)} failed: ${kubeReason(err)}; check the agent's Role k3s-burst-agent-bootstrap-token and the admission policy in deploy/`,
          { cause: err },
        );
      }
    }
    this.issued.set(tokenId, expiresAt.getTime());
    const value: JoinTokenSecret = {
      token: k3sSecureToken(caPem, tokenId, tokenSecret),
      tokenId,
      expiresAt: expiresAt.toISOString(),
    };
    try {
      await this.o.store.put(value);
    } catch (err) {
      // Nobody can use a token that was never published: revoke it at once.
      await this.deleteToken(tokenId).catch(() => undefined);
      throw new BootstrapTokenError(
        `publishing bootstrap token ${tokenId} to Secrets Manager failed (${err instanceof Error ? err.message : String(err)}); the token was deleted again`,
        { cause: err },
      );
    }
    this.current = value;
    this.o.metrics.count(MetricNames.joinTokensMinted);
    this.o.metrics.gauge(MetricNames.joinTokenExpiry, expiresAt.getTime() / 1000, 'Seconds');
    // Field names matching /token/ are redacted by the logger: the id goes out as bootstrapId.
    this.o.log.info('bootstrap token minted and published', {
      bootstrapId: tokenId,
      expiresAt: value.expiresAt,
    });
    return value;
  }

  private async readCa(): Promise<string> {
    const ns = this.o.namespace ?? 'k3s-burst';
    let body: { data?: Record<string, string> } | undefined;
    try {
      body = (
        await this.o.api.request<{ data?: Record<string, string> }>(
          'GET',
          `/api/v1/namespaces/${ns}/configmaps/${CLUSTER_CA_CONFIGMAP}`,
        )
      ).body;
    } catch (err) {
      throw new BootstrapTokenError(
        `reading ConfigMap ${ns}/${CLUSTER_CA_CONFIGMAP} failed: ${kubeReason(err)}`,
        {
          cause: err,
        },
      );
    }
    const ca = body?.data?.['ca.crt'];
    if (typeof ca !== 'string' || ca.length === 0) {
      throw new BootstrapTokenError(
        `ConfigMap ${ns}/${CLUSTER_CA_CONFIGMAP} has no ca.crt: is kube-controller-manager's root CA publisher running?`,
      );
    }
    return ca;
  }

  private async deleteExpired(nowMs: number): Promise<string[]> {
    const deleted: string[] = [];
    for (const [id, expiresMs] of [...this.issued]) {
      if (expiresMs > nowMs) continue;
      try {
        await this.deleteToken(id);
        deleted.push(id);
      } catch (err) {
        this.o.log.warn('expired bootstrap token not deleted; retried next check', {
          bootstrapId: id,
          ...errorFields(err),
        });
      }
    }
    return deleted;
  }

  private async deleteToken(id: string): Promise<void> {
    try {
      await this.o.api.request(
        'DELETE',
        `/api/v1/namespaces/${BOOTSTRAP_TOKEN_NAMESPACE}/secrets/${bootstrapTokenSecretName(id)}`,
      );
    } catch (err) {
      // Already gone (e.g. K3s's token cleaner): the goal is reached.
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
    this.issued.delete(id);
    this.o.metrics.count(MetricNames.joinTokensDeleted);
  }
}

function kubeReason(err: unknown): string {
  if (err instanceof KubeApiError)
    return `${err.status} ${(err.body as { reason?: string })?.reason ?? ''}`.trim();
  return err instanceof Error ? err.message : String(err);
}
