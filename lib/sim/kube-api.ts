/**
 * The Kubernetes API server of the simulated cluster, for the agent's drain executor and
 * command consumer: the five calls they make (GET/PATCH/DELETE node, list pods on a node, the
 * Eviction subresource with PodDisruptionBudget enforcement — 429 as the API server answers it)
 * plus Event creation and updates (accepted, not kept), and for the agent's bootstrap-token rotator
 * the cluster CA ConfigMap and bootstrap-token Secrets in kube-system (create, delete). Answers come
 * from the cluster model through {@link ClusterApiModel}; nothing here decides anything.
 */
import { type KubeApi, KubeApiError, type KubeResponse, type RequestOptions } from '../agent/kube-client.js';
import type { RawNode, RawPod } from '../agent/model.js';

/** What the cluster model answers. */
export interface ClusterApiModel {
  node(name: string): RawNode | undefined;
  podsOnNode(name: string): RawPod[];
  cordon(name: string): void;
  /** The agent gives a node back to the scheduler (an abandoned voluntary drain). */
  uncordon(name: string): void;
  /** Evict through the PDBs: `blocked` carries the API server's message. */
  evict(namespace: string, name: string): 'evicted' | 'not-found' | { blocked: string };
  deleteNode(name: string): 'deleted' | 'not-found';
}

const NODE = /^\/api\/v1\/nodes\/([^/]+)$/;
const EVICTION = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/;
const EVENTS = /^\/api\/v1\/namespaces\/[^/]+\/events$/;
const EVENT = /^\/api\/v1\/namespaces\/[^/]+\/events\/[^/]+$/;
const CA_CONFIGMAP = /^\/api\/v1\/namespaces\/[^/]+\/configmaps\/kube-root-ca\.crt$/;
const SECRETS = '/api/v1/namespaces/kube-system/secrets';
const SECRET = /^\/api\/v1\/namespaces\/kube-system\/secrets\/([^/]+)$/;

/** The simulated cluster's CA certificate (the rotator hashes it into the K3s secure token). */
export const SIM_CLUSTER_CA_PEM =
  '-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2Vy\n-----END CERTIFICATE-----\n';

function ok<T>(body: T, status = 200): KubeResponse<T> {
  return { status, body, headers: {} };
}

export class ClusterApi implements KubeApi {
  /** Secrets in kube-system (the agent's bootstrap tokens), by name. */
  readonly secrets = new Map<string, unknown>();

  constructor(private readonly model: ClusterApiModel) {}

  async request<T = unknown>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<KubeResponse<T>> {
    const node = NODE.exec(path);
    if (node) {
      const name = decodeURIComponent(node[1] as string);
      const raw = this.model.node(name);
      if (!raw) throw notFound(method, path, `nodes "${name}" not found`);
      if (method === 'GET') return ok(raw as T);
      if (method === 'PATCH') {
        const unschedulable = (opts.body as { spec?: { unschedulable?: boolean } })?.spec?.unschedulable;
        if (unschedulable === true) this.model.cordon(name);
        else if (unschedulable === false) this.model.uncordon(name);
        return ok(this.model.node(name) as T);
      }
      if (method === 'DELETE') {
        if (this.model.deleteNode(name) === 'not-found')
          throw notFound(method, path, `nodes "${name}" not found`);
        return ok({ kind: 'Status', status: 'Success' } as T);
      }
    }
    if (method === 'GET' && path === '/api/v1/pods') {
      const selector = String(opts.query?.fieldSelector ?? '');
      const m = /^spec\.nodeName=(.+)$/.exec(selector);
      return ok({ items: m ? this.model.podsOnNode(m[1] as string) : [] } as T);
    }
    const ev = EVICTION.exec(path);
    if (ev && method === 'POST') {
      const r = this.model.evict(decodeURIComponent(ev[1] as string), decodeURIComponent(ev[2] as string));
      if (r === 'not-found') throw notFound(method, path, `pods "${ev[2]}" not found`);
      if (r !== 'evicted') {
        throw new KubeApiError(
          429,
          { kind: 'Status', status: 'Failure', reason: 'TooManyRequests', message: r.blocked },
          method,
          path,
          10,
        );
      }
      return ok({ kind: 'Status', status: 'Success' } as T, 201);
    }
    if (method === 'GET' && CA_CONFIGMAP.test(path))
      return ok({ data: { 'ca.crt': SIM_CLUSTER_CA_PEM } } as T);
    if (method === 'POST' && path === SECRETS) {
      const name = String((opts.body as { metadata?: { name?: unknown } })?.metadata?.name ?? '');
      if (this.secrets.has(name)) {
        throw new KubeApiError(
          409,
          {
            kind: 'Status',
            status: 'Failure',
            reason: 'AlreadyExists',
            message: `secrets "${name}" already exists`,
          },
          method,
          path,
        );
      }
      this.secrets.set(name, opts.body);
      return ok(opts.body as T, 201);
    }
    const secret = SECRET.exec(path);
    if (secret && method === 'DELETE') {
      const name = decodeURIComponent(secret[1] as string);
      if (!this.secrets.delete(name)) throw notFound(method, path, `secrets "${name}" not found`);
      return ok({ kind: 'Status', status: 'Success' } as T);
    }
    if (EVENTS.test(path) && method === 'POST') return ok({} as T, 201);
    // a repeated Event's count update (EventRecorder aggregates repeats); Events are not kept
    if (EVENT.test(path) && method === 'PATCH') return ok({} as T);
    throw new KubeApiError(
      405,
      { message: `the simulated API server does not serve ${method} ${path}` },
      method,
      path,
    );
  }

  async watch(): Promise<void> {
    throw new KubeApiError(405, { message: 'the simulated API server serves no watches' }, 'GET', 'watch');
  }
}

function notFound(method: string, path: string, message: string): KubeApiError {
  return new KubeApiError(
    404,
    { kind: 'Status', status: 'Failure', reason: 'NotFound', message },
    method,
    path,
  );
}
