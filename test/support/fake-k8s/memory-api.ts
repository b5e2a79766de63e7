/**
 * An in-process `KubeApi` for unit tests driven by a ManualClock: no sockets, so time moves only
 * when the test says. Serves the calls the drain executor, the Event recorder and the leader
 * elector make (nodes get/patch/delete, pods list by node, pods/eviction, events, leases), with
 * the same status codes as the HTTP fake. Evictions answer from `evictionAnswer`.
 */
import {
  type KubeApi,
  KubeApiError,
  type KubeResponse,
  type RequestOptions,
} from '../../../lib/agent/kube-client.js';
import type { K8sObject } from './server.js';

export interface MemoryCall {
  method: string;
  path: string;
  body?: unknown;
}

type Status = { code: number; message?: string; retryAfterSeconds?: number };

export class MemoryKube implements KubeApi {
  readonly nodes = new Map<string, K8sObject>();
  readonly pods = new Map<string, K8sObject>();
  readonly events: K8sObject[] = [];
  readonly leases = new Map<string, K8sObject>();
  readonly calls: MemoryCall[] = [];
  private rv = 1;
  /** Answer for an eviction; undefined = 201 and the pod is deleted. */
  evictionAnswer: (podKey: string) => Status | undefined = () => undefined;
  /** When set, every request waits for this promise first (to hold work in flight). */
  gate: Promise<void> | undefined;

  addNode(n: K8sObject): void {
    this.nodes.set(n.metadata?.name as string, structuredClone(n));
  }

  addPod(p: K8sObject): void {
    this.pods.set(`${p.metadata?.namespace}/${p.metadata?.name}`, structuredClone(p));
  }

  callsOf(method: string, pathPart = ''): MemoryCall[] {
    return this.calls.filter((c) => c.method === method && c.path.includes(pathPart));
  }

  async request<T = unknown>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<KubeResponse<T>> {
    this.calls.push({ method, path, body: opts.body });
    if (this.gate) await this.gate;
    const ok = (body: unknown, status = 200) => ({ status, body: body as T, headers: {} });
    const fail = (s: Status): never => {
      throw new KubeApiError(
        s.code,
        { kind: 'Status', code: s.code, message: s.message ?? `status ${s.code}` },
        method,
        path,
        s.retryAfterSeconds,
      );
    };
    let m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path);
    if (m) {
      const name = decodeURIComponent(m[1] as string);
      const node = this.nodes.get(name);
      if (!node) return fail({ code: 404, message: `nodes "${name}" not found` });
      if (method === 'GET') return ok(structuredClone(node));
      if (method === 'PATCH') {
        const patch = opts.body as { spec?: Record<string, unknown> };
        node.spec = { ...(node.spec as object), ...patch.spec };
        return ok(node);
      }
      if (method === 'DELETE') {
        const uid = (opts.body as { preconditions?: { uid?: string } } | undefined)?.preconditions?.uid;
        if (uid && uid !== node.metadata?.uid) return fail({ code: 409, message: 'Precondition failed' });
        this.nodes.delete(name);
        return ok({ kind: 'Status', status: 'Success' });
      }
    }
    if (path === '/api/v1/pods' && method === 'GET') {
      const sel = String(opts.query?.fieldSelector ?? '');
      const node = /^spec\.nodeName=(.*)$/.exec(sel)?.[1];
      const items = [...this.pods.values()].filter(
        (p) => node === undefined || (p.spec as { nodeName?: string }).nodeName === node,
      );
      return ok({
        kind: 'PodList',
        metadata: { resourceVersion: String(this.rv++) },
        items: structuredClone(items),
      });
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/.exec(path);
    if (m && method === 'POST') {
      const key = `${decodeURIComponent(m[1] as string)}/${decodeURIComponent(m[2] as string)}`;
      if (!this.pods.has(key)) return fail({ code: 404, message: `pods "${m[2]}" not found` });
      const answer = this.evictionAnswer(key);
      if (answer) return fail(answer);
      this.pods.delete(key);
      return ok({ kind: 'Status', status: 'Success', code: 201 }, 201);
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(path);
    if (m && method === 'POST') {
      this.events.push(structuredClone(opts.body as K8sObject));
      return ok(opts.body, 201);
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/events\/([^/]+)$/.exec(path);
    if (m && method === 'PATCH') {
      const [ns, name] = [decodeURIComponent(m[1] as string), decodeURIComponent(m[2] as string)];
      const ev = this.events.find((e) => e.metadata?.namespace === ns && e.metadata?.name === name);
      if (!ev) return fail({ code: 404, message: `events "${name}" not found` });
      Object.assign(ev, structuredClone(opts.body as K8sObject));
      return ok(structuredClone(ev));
    }
    m = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const name = m[2] ?? ((opts.body as K8sObject).metadata?.name as string);
      const cur = this.leases.get(name);
      if (method === 'GET') return cur ? ok(structuredClone(cur)) : fail({ code: 404 });
      const body = structuredClone(opts.body as K8sObject);
      if (method === 'POST') {
        if (cur) return fail({ code: 409, message: 'AlreadyExists' });
      } else if (method === 'PUT') {
        if (!cur) return fail({ code: 404 });
        if (body.metadata?.resourceVersion !== cur.metadata?.resourceVersion)
          return fail({ code: 409, message: 'the object has been modified' });
      } else return fail({ code: 405 });
      body.metadata = { ...body.metadata, resourceVersion: String(this.rv++) };
      this.leases.set(name, body);
      return ok(body, method === 'POST' ? 201 : 200);
    }
    return fail({ code: 404, message: `memory kube does not serve ${method} ${path}` });
  }

  async watch(): Promise<void> {
    throw new Error('MemoryKube does not serve watches; use the HTTP FakeK8s');
  }
}
