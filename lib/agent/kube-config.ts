/**
 * Where the API server is and how to authenticate, resolved once at start-up:
 * 1. `KUBECONFIG` (or `--kubeconfig`) set: a JSON kubeconfig is read natively (token, tokenFile,
 *    client certificate, CA); a YAML one, or one using exec/OIDC auth, is delegated to
 *    `@kubernetes/client-node`'s `KubeConfig`, imported lazily (it is heavy; see kube-client.ts).
 * 2. in a pod (`KUBERNETES_SERVICE_HOST`): the service-account token and CA. The token file is
 *    re-read every minute because bound tokens rotate.
 */
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import { join } from 'node:path';

export class KubeConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeConfigError';
  }
}

export interface KubeTarget {
  server: string;
  /** Add TLS material and the Authorization header to outgoing request options. */
  apply(opts: https.RequestOptions): Promise<void>;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function tokenReader(file: string, now: () => number): () => string {
  let cached = '';
  let readAt = -Infinity;
  return () => {
    if (now() - readAt > 60_000) {
      cached = readFileSync(file, 'utf8').trim();
      readAt = now();
    }
    return cached;
  };
}

function staticTarget(
  server: string,
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; insecure?: boolean },
  token?: () => string,
): KubeTarget {
  return {
    server,
    async apply(opts) {
      if (tls.ca) opts.ca = tls.ca;
      if (tls.cert) opts.cert = tls.cert;
      if (tls.key) opts.key = tls.key;
      if (tls.insecure) opts.rejectUnauthorized = false;
      const t = token?.();
      if (t) opts.headers = { ...(opts.headers as Record<string, string>), authorization: `Bearer ${t}` };
    },
  };
}

/** In-cluster config from the pod's service account. */
export function inClusterTarget(env: Record<string, string | undefined>, saDir = SA_DIR): KubeTarget {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host)
    throw new KubeConfigError(
      'KUBERNETES_SERVICE_HOST is not set: not running in a pod; set KUBECONFIG to a kubeconfig file',
    );
  let ca: Buffer;
  try {
    ca = readFileSync(join(saDir, 'ca.crt'));
  } catch (err) {
    throw new KubeConfigError(
      `cannot read ${join(saDir, 'ca.crt')}: is automountServiceAccountToken disabled?`,
      { cause: err },
    );
  }
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return staticTarget(server, { ca }, tokenReader(join(saDir, 'token'), Date.now));
}

interface JsonKubeconfig {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: {
    name: string;
    cluster: {
      server: string;
      'certificate-authority-data'?: string;
      'certificate-authority'?: string;
      'insecure-skip-tls-verify'?: boolean;
    };
  }[];
  users?: { name: string; user: Record<string, unknown> }[];
}

function fromJson(cfg: JsonKubeconfig, file: string): KubeTarget | undefined {
  const ctxName = cfg['current-context'];
  const ctx = cfg.contexts?.find((c) => c.name === ctxName) ?? cfg.contexts?.[0];
  if (!ctx) throw new KubeConfigError(`${file}: no context (set current-context)`);
  const cluster = cfg.clusters?.find((c) => c.name === ctx.context.cluster)?.cluster;
  if (!cluster?.server)
    throw new KubeConfigError(`${file}: context "${ctx.name}" names no cluster with a server`);
  const user = cfg.users?.find((u) => u.name === ctx.context.user)?.user ?? {};
  if (user.exec || user['auth-provider']) return undefined; // needs client-node
  const b64 = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'base64') : undefined);
  const file_ = (v: unknown) => (typeof v === 'string' ? readFileSync(v) : undefined);
  const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; insecure?: boolean } = {};
  const ca = b64(cluster['certificate-authority-data']) ?? file_(cluster['certificate-authority']);
  if (ca) tls.ca = ca;
  const cert = b64(user['client-certificate-data']) ?? file_(user['client-certificate']);
  if (cert) tls.cert = cert;
  const key = b64(user['client-key-data']) ?? file_(user['client-key']);
  if (key) tls.key = key;
  if (cluster['insecure-skip-tls-verify']) tls.insecure = true;
  let token: (() => string) | undefined;
  if (typeof user.token === 'string') {
    const t = user.token;
    token = () => t;
  } else if (typeof user.tokenFile === 'string') token = tokenReader(user.tokenFile, Date.now);
  return staticTarget(cluster.server, tls, token);
}

/** Load a kubeconfig file: JSON natively, anything else through client-node. */
export async function kubeconfigTarget(file: string): Promise<KubeTarget> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeConfigError(`cannot read kubeconfig ${file}: check KUBECONFIG / --kubeconfig`, {
      cause: err,
    });
  }
  let json: JsonKubeconfig | undefined;
  try {
    json = JSON.parse(text) as JsonKubeconfig;
  } catch {
    json = undefined;
  }
  if (json) {
    const t = fromJson(json, file);
    if (t) return t;
  }
  let KubeConfig: typeof import('@kubernetes/client-node').KubeConfig;
  try {
    ({ KubeConfig } = await import('@kubernetes/client-node'));
  } catch (err) {
    // The agent image bundles without client-node (deploy/Dockerfile) to stay small.
    throw new KubeConfigError(
      `kubeconfig ${file} is YAML or uses exec/auth-provider credentials, which need @kubernetes/client-node (not in the agent image): in a pod, unset KUBECONFIG to use the service account; elsewhere run \`npx k3s-burst agent\` from the repository or convert the kubeconfig to JSON with a token or client certificate`,
      { cause: err },
    );
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${file} is invalid: ${(err as Error).message}`, { cause: err });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`kubeconfig ${file} has no current cluster`);
  return { server: cluster.server, apply: (opts) => kc.applyToHTTPSOptions(opts) };
}

/** Resolve the API server target from flags/env: explicit kubeconfig first, then in-cluster. */
export async function resolveKubeTarget(
  kubeconfig: string | undefined,
  env: Record<string, string | undefined>,
): Promise<KubeTarget> {
  if (kubeconfig) return kubeconfigTarget(kubeconfig);
  if (env.KUBERNETES_SERVICE_HOST) return inClusterTarget(env);
  throw new KubeConfigError(
    'no Kubernetes API: set KUBECONFIG (or --kubeconfig) to a kubeconfig file, or run the agent in a pod with a service account',
  );
}
