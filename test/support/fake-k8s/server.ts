/**
 * A fake Kubernetes API server over HTTP on 127.0.0.1, implementing what the agent uses, with
 * the real wire formats: list (limit/continue, fieldSelector spec.nodeName) and watch
 * (resourceVersion, bookmarks, timeoutSeconds, 410 Gone for a compacted version), get, merge /
 * strategic-merge patch, delete (with a uid precondition), pods/eviction (PDB-aware: 429 with
 * the real Status body, 500 for more than one PDB, 404 for a missing pod), events create, and
 * coordination.k8s.io Leases with optimistic concurrency (409 on a stale resourceVersion).
 *
 * Every request is recorded as an RBAC (verb, group, resource) triple so a test can compare
 * what the agent did against the ClusterRole in deploy/.
 *
 * Reusable: `startFakeK8s()` → `FakeK8s` (see its methods); `writeKubeconfig()` gives a JSON
 * kubeconfig file for the real agent process (`KUBECONFIG=...`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type K8sObject = Record<string, unknown> & {
  metadata?: Record<string, unknown> & {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
  };
};

/** A request as RBAC sees it. `resource` includes the subresource (`pods/eviction`). */
export interface RecordedRequest {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
  method: string;
  path: string;
  status: number;
}

interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  namespaced: boolean;
}

/** Resources the fake serves, by plural name. */
export const RESOURCES: Record<string, ResourceDef> = {
  pods: { group: '', version: 'v1', kind: 'Pod', namespaced: true },
  nodes: { group: '', version: 'v1', kind: 'Node', namespaced: false },
  events: { group: '', version: 'v1', kind: 'Event', namespaced: true },
  poddisruptionbudgets: { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', namespaced: true },
  persistentvolumeclaims: { group: '', version: 'v1', kind: 'PersistentVolumeClaim', namespaced: true },
  persistentvolumes: { group: '', version: 'v1', kind: 'PersistentVolume', namespaced: false },
  storageclasses: { group: 'storage.k8s.io', version: 'v1', kind: 'StorageClass', namespaced: false },
  // Bootstrap-token Secrets and the cluster CA ConfigMap (issue #16).
  secrets: { group: '', version: 'v1', kind: 'Secret', namespaced: true },
  configmaps: { group: '', version: 'v1', kind: 'ConfigMap', namespaced: true },
};

/**
 * `stringData` is write-only: the API server merges it into `data` (base64) on write, so
 * readers and admission see only `data`.
 */
function normalizeSecret(obj: K8sObject): K8sObject {
  const stringData = obj.stringData as Record<string, string> | undefined;
  if (!stringData) return obj;
  const data = { ...((obj.data as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v, 'utf8').toString('base64');
  const { stringData: _dropped, ...rest } = obj;
  return { ...rest, data };
}

interface HistoryEntry {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: K8sObject;
}

interface Watcher {
  resource: string;
  namespace?: string;
  res: http.ServerResponse;
  timer?: NodeJS.Timeout;
  /** Sent objects must pass this filter (fieldSelector). */
  filter: (o: K8sObject) => boolean;
}

export interface FakeK8sOptions {
  /** Require `Authorization: Bearer <token>`; 401 otherwise. */
  token?: string;
  /**
   * How a watch from a compacted resourceVersion fails: `event` = 200 + an ERROR event with a
   * 410 Status (what a watch-cache-backed apiserver does), `status` = HTTP 410.
   * @default 'event'
   */
  goneMode?: 'event' | 'status';
  /** Evictions delete the pod at once (true) or only set deletionTimestamp. @default true */
  evictionDeletes?: boolean;
  /** Send a BOOKMARK every this many ms on open watches (0 = never). @default 0 */
  bookmarkMs?: number;
}

function status(
  code: number,
  reason: string,
  message: string,
  extra: Record<string, unknown> = {},
): K8sObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
    ...extra,
  };
}

function labelsMatch(
  selector:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key: string; operator: string; values?: string[] }[];
      }
    | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const v = labels[e.key];
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(v as string))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(v as string)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class FakeK8s {
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, Map<string, K8sObject>>();
  private readonly history = new Map<string, HistoryEntry[]>();
  private readonly watchers = new Set<Watcher>();
  private rv = 1000;
  private compactedBelow = 0;
  private server!: http.Server;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private uidSeq = 0;
  private failures: { verb?: string; resource?: string; status: number; times: number }[] = [];
  port = 0;

  constructor(readonly opts: FakeK8sOptions = {}) {
    for (const r of Object.keys(RESOURCES)) {
      this.objects.set(r, new Map());
      this.history.set(r, []);
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.handle(req, res, Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          this.send(res, 500, status(500, 'InternalError', (err as Error).message));
        }
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    if (this.opts.bookmarkMs)
      this.bookmarkTimer = setInterval(() => this.sendBookmarks(), this.opts.bookmarkMs).unref();
    return this;
  }

  async close(): Promise<void> {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    this.dropWatches();
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Write a JSON kubeconfig pointing at this server (token auth when configured). */
  writeKubeconfig(dir = mkdtempSync(join(tmpdir(), 'fake-k8s-'))): string {
    const file = join(dir, 'kubeconfig.json');
    const cfg = {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'fake',
      clusters: [{ name: 'fake', cluster: { server: this.url } }],
      users: [{ name: 'fake', user: this.opts.token ? { token: this.opts.token } : {} }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
    };
    writeFileSync(file, JSON.stringify(cfg));
    return file;
  }

  // ---------- state control (tests) ----------

  get resourceVersion(): number {
    return this.rv;
  }

  /** Create or replace an object; assigns resourceVersion (and uid if missing); notifies watches. */
  upsert(resource: string, obj: K8sObject): K8sObject {
    const def = this.def(resource);
    const copy = structuredClone(obj) as K8sObject;
    copy.apiVersion ??= def.group ? `${def.group}/${def.version}` : def.version;
    copy.kind ??= def.kind;
    copy.metadata ??= {};
    copy.metadata.uid ??= `uid-${++this.uidSeq}`;
    copy.metadata.creationTimestamp ??= '2026-03-14T08:00:00Z';
    const key = this.key(copy.metadata.namespace, copy.metadata.name ?? '');
    const store = this.objects.get(resource) as Map<string, K8sObject>;
    const existed = store.has(key);
    copy.metadata.resourceVersion = String(++this.rv);
    store.set(key, copy);
    this.emit(resource, existed ? 'MODIFIED' : 'ADDED', copy);
    return copy;
  }

  /** Load many objects at once without per-object watch events (bench setup). */
  bulkLoad(resource: string, objs: K8sObject[]): void {
    for (const o of objs) this.upsert(resource, o);
    (this.history.get(resource) as HistoryEntry[]).length = 0;
    this.compactedBelow = Math.max(this.compactedBelow, 0);
  }

  remove(resource: string, namespace: string | undefined, name: string): boolean {
    const store = this.objects.get(resource) as Map<string, K8sObject>;
    const key = this.key(namespace, name);
    const obj = store.get(key);
    if (!obj) return false;
    store.delete(key);
    const copy = structuredClone(obj);
    (copy.metadata as Record<string, unknown>).resourceVersion = String(++this.rv);
    this.emit(resource, 'DELETED', copy);
    return true;
  }

  get(resource: string, namespace: string | undefined, name: string): K8sObject | undefined {
    return this.objects.get(resource)?.get(this.key(namespace, name));
  }

  list(resource: string): K8sObject[] {
    return [...(this.objects.get(resource)?.values() ?? [])];
  }

  /** Close every open watch connection (as an apiserver restart would). */
  dropWatches(): void {
    for (const w of this.watchers) {
      if (w.timer) clearTimeout(w.timer);
      w.res.destroy();
    }
    this.watchers.clear();
  }

  /** Forget history: watches from any version before now get 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv;
    for (const h of this.history.values()) h.length = 0;
  }

  /** Make the next `times` requests matching verb/resource fail with `status`. */
  failNext(
    match: { verb?: RecordedRequest['verb']; resource?: string },
    statusCode: number,
    times = 1,
  ): void {
    this.failures.push({ ...match, status: statusCode, times });
  }

  /** Requests recorded so far, optionally filtered. */
  /** Publish the cluster CA as kube-controller-manager does: ConfigMap kube-root-ca.crt in each namespace. */
  seedClusterCa(
    caPem: string,
    namespaces: readonly string[] = ['kube-system', 'k3s-burst', 'default'],
  ): void {
    for (const namespace of namespaces)
      this.upsert('configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kube-root-ca.crt', namespace },
        data: { 'ca.crt': caPem },
      });
  }

  /**
   * Would the API server's bootstrap-token authenticator accept this token at `now`? Accepts a
   * bare `<id>.<secret>` or the K3s secure form `K10<hash>::<id>.<secret>`. Mirrors
   * kubernetes plugin/pkg/auth/authenticator/token/bootstrap: the Secret
   * `kube-system/bootstrap-token-<id>` of type bootstrap.kubernetes.io/token with the same
   * secret, `usage-bootstrap-authentication: true`, and an `expiration` that has not passed.
   */
  bootstrapTokenAuthenticates(token: string, now: Date): boolean {
    const m = /^(?:K10[0-9a-f]{64}::)?([a-z0-9]{6})\.([a-z0-9]{16})$/.exec(token);
    if (!m) return false;
    const secret = this.get('secrets', 'kube-system', `bootstrap-token-${m[1]}`);
    if (secret?.type !== 'bootstrap.kubernetes.io/token') return false;
    const data = (secret.data ?? {}) as Record<string, string>;
    const field = (k: string) =>
      data[k] === undefined ? undefined : Buffer.from(data[k], 'base64').toString('utf8');
    if (field('token-id') !== m[1] || field('token-secret') !== m[2]) return false;
    if (field('usage-bootstrap-authentication') !== 'true') return false;
    const expiration = field('expiration');
    return expiration === undefined || Date.parse(expiration) > now.getTime();
  }

  requestsOf(verb?: RecordedRequest['verb'], resource?: string): RecordedRequest[] {
    return this.requests.filter((r) => (!verb || r.verb === verb) && (!resource || r.resource === resource));
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  // ---------- internals ----------

  private def(resource: string): ResourceDef {
    const d = RESOURCES[resource];
    if (!d) throw new Error(`fake k8s does not serve ${resource}`);
    return d;
  }

  private key(namespace: string | undefined, name: string): string {
    return namespace ? `${namespace}/${name}` : name;
  }

  private emit(resource: string, type: HistoryEntry['type'], object: K8sObject): void {
    const rv = Number(object.metadata?.resourceVersion);
    const h = this.history.get(resource) as HistoryEntry[];
    h.push({ rv, type, object });
    if (h.length > 10_000) h.splice(0, h.length - 10_000);
    for (const w of this.watchers) {
      if (w.resource !== resource) continue;
      if (w.namespace && object.metadata?.namespace !== w.namespace) continue;
      if (!w.filter(object)) continue;
      w.res.write(`${JSON.stringify({ type, object })}\n`);
    }
  }

  private sendBookmarks(): void {
    for (const w of this.watchers) {
      const def = this.def(w.resource);
      w.res.write(
        `${JSON.stringify({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: def.group ? `${def.group}/${def.version}` : def.version, metadata: { resourceVersion: String(this.rv) } } })}\n`,
      );
    }
  }

  private send(
    res: http.ServerResponse,
    code: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(code, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, bodyText: string): void {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let group = '';
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') rest = parts.slice(2);
    else if (parts[0] === 'apis' && parts.length >= 3) {
      group = parts[1] as string;
      rest = parts.slice(3);
    } else
      return this.send(
        res,
        404,
        status(404, 'NotFound', `the server could not find the requested resource ${url.pathname}`),
      );
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [resource = '', name, sub] = rest;
    const def = RESOURCES[resource];
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const verb: RecordedRequest['verb'] =
      method === 'GET'
        ? name
          ? 'get'
          : watch
            ? 'watch'
            : 'list'
        : method === 'POST'
          ? 'create'
          : method === 'PUT'
            ? 'update'
            : method === 'PATCH'
              ? 'patch'
              : name
                ? 'delete'
                : 'deletecollection';
    const rbacResource = sub ? `${resource}/${sub}` : resource;
    const record = (code: number) => {
      const r: RecordedRequest = {
        verb,
        group,
        resource: rbacResource,
        method,
        path: url.pathname,
        status: code,
      };
      if (namespace) r.namespace = namespace;
      if (name) r.name = name;
      this.requests.push(r);
    };

    if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      record(401);
      return this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    if (!def || def.group !== group) {
      record(404);
      return this.send(res, 404, status(404, 'NotFound', `the server could not find the requested resource`));
    }
    const failure = this.failures.find(
      (f) => (!f.verb || f.verb === verb) && (!f.resource || f.resource === rbacResource) && f.times > 0,
    );
    if (failure) {
      failure.times--;
      record(failure.status);
      return this.send(res, failure.status, status(failure.status, 'InternalError', 'injected failure'));
    }
    const body = bodyText ? (JSON.parse(bodyText) as K8sObject) : undefined;

    if (verb === 'watch') return this.watch(res, resource, namespace, url, record);
    if (verb === 'list') {
      record(200);
      return this.send(res, 200, this.listBody(resource, namespace, url));
    }
    if (sub === 'eviction' && resource === 'pods' && verb === 'create')
      return this.evict(res, namespace, name as string, record);
    if (sub) {
      record(404);
      return this.send(res, 404, status(404, 'NotFound', `subresource ${sub} not served`));
    }
    const store = this.objects.get(resource) as Map<string, K8sObject>;
    const key = this.key(namespace, name ?? (body?.metadata?.name as string));
    const current = store.get(key);
    const notFound = () => {
      record(404);
      this.send(
        res,
        404,
        status(404, 'NotFound', `${resource} "${name}" not found`, { details: { name, kind: resource } }),
      );
    };
    switch (verb) {
      case 'get':
        if (!current) return notFound();
        record(200);
        return this.send(res, 200, current);
      case 'create': {
        if (!body?.metadata?.name) {
          record(422);
          return this.send(res, 422, status(422, 'Invalid', 'metadata.name: Required value'));
        }
        if (store.has(this.key(namespace, body.metadata.name))) {
          record(409);
          return this.send(
            res,
            409,
            status(409, 'AlreadyExists', `${resource} "${body.metadata.name}" already exists`),
          );
        }
        if (namespace) body.metadata.namespace = namespace;
        record(201);
        return this.send(
          res,
          201,
          this.upsert(resource, resource === 'secrets' ? normalizeSecret(body) : body),
        );
      }
      case 'update': {
        if (!current) return notFound();
        const want = body?.metadata?.resourceVersion;
        if (want && want !== current.metadata?.resourceVersion) {
          record(409);
          return this.send(
            res,
            409,
            status(
              409,
              'Conflict',
              `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
            ),
          );
        }
        record(200);
        return this.send(
          res,
          200,
          this.upsert(resource, {
            ...(body as K8sObject),
            metadata: { ...body?.metadata, uid: current.metadata?.uid },
          }),
        );
      }
      case 'patch': {
        if (!current) return notFound();
        const ct = req.headers['content-type'] ?? '';
        if (!/merge-patch\+json|strategic-merge-patch\+json/.test(ct)) {
          record(415);
          return this.send(
            res,
            415,
            status(
              415,
              'UnsupportedMediaType',
              `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got ${ct})`,
            ),
          );
        }
        record(200);
        return this.send(res, 200, this.upsert(resource, mergePatch(current, body) as K8sObject));
      }
      case 'delete': {
        if (!current) return notFound();
        const uid = (body as { preconditions?: { uid?: string } } | undefined)?.preconditions?.uid;
        if (uid && uid !== current.metadata?.uid) {
          record(409);
          return this.send(
            res,
            409,
            status(
              409,
              'Conflict',
              `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata?.uid}`,
            ),
          );
        }
        this.remove(resource, namespace, name as string);
        record(200);
        return this.send(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, kind: resource, uid: current.metadata?.uid },
        });
      }
      default:
        record(405);
        return this.send(res, 405, status(405, 'MethodNotAllowed', `${verb} not supported`));
    }
  }

  private filterFor(url: URL): (o: K8sObject) => boolean {
    const fs = url.searchParams.get('fieldSelector');
    if (!fs) return () => true;
    const m = /^spec\.nodeName=(.*)$/.exec(fs);
    if (!m) throw new Error(`fake k8s: unsupported fieldSelector ${fs}`);
    const node = m[1];
    return (o) => ((o.spec as { nodeName?: string } | undefined)?.nodeName ?? '') === node;
  }

  private listBody(resource: string, namespace: string | undefined, url: URL): K8sObject {
    const def = this.def(resource);
    const filter = this.filterFor(url);
    const all = [...(this.objects.get(resource) as Map<string, K8sObject>).values()].filter(
      (o) => (!namespace || o.metadata?.namespace === namespace) && filter(o),
    );
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const cont = url.searchParams.get('continue');
    let start = 0;
    let listRv = this.rv;
    if (cont) {
      const parsed = JSON.parse(Buffer.from(cont, 'base64').toString('utf8')) as {
        start: number;
        rv: number;
      };
      start = parsed.start;
      listRv = parsed.rv;
    }
    const end = limit > 0 ? Math.min(all.length, start + limit) : all.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(listRv) };
    if (end < all.length)
      metadata.continue = Buffer.from(JSON.stringify({ start: end, rv: listRv })).toString('base64');
    return {
      kind: `${def.kind}List`,
      apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
      metadata,
      items: all.slice(start, end),
    };
  }

  private watch(
    res: http.ServerResponse,
    resource: string,
    namespace: string | undefined,
    url: URL,
    record: (c: number) => void,
  ): void {
    const from = Number(url.searchParams.get('resourceVersion') || this.rv);
    if (from < this.compactedBelow) {
      const gone = status(410, 'Expired', `too old resource version: ${from} (${this.compactedBelow})`);
      record(410);
      if (this.opts.goneMode === 'status') return this.send(res, 410, gone);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
      return;
    }
    record(200);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const filter = this.filterFor(url);
    for (const e of this.history.get(resource) as HistoryEntry[]) {
      if (e.rv <= from) continue;
      if (namespace && e.object.metadata?.namespace !== namespace) continue;
      if (!filter(e.object)) continue;
      res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    }
    const w: Watcher = { resource, res, filter };
    if (namespace) w.namespace = namespace;
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    if (timeout > 0)
      w.timer = setTimeout(() => {
        this.watchers.delete(w);
        res.end();
      }, timeout * 1000);
    res.on('close', () => {
      if (w.timer) clearTimeout(w.timer);
      this.watchers.delete(w);
    });
    this.watchers.add(w);
  }

  private evict(
    res: http.ServerResponse,
    namespace: string | undefined,
    name: string,
    record: (c: number) => void,
  ): void {
    const pod = this.get('pods', namespace, name);
    if (!pod) {
      record(404);
      return this.send(
        res,
        404,
        status(404, 'NotFound', `pods "${name}" not found`, { details: { name, kind: 'pods' } }),
      );
    }
    const labels = ((pod.metadata as { labels?: Record<string, string> }).labels ?? {}) as Record<
      string,
      string
    >;
    const pdbs = this.list('poddisruptionbudgets').filter(
      (p) =>
        p.metadata?.namespace === namespace && labelsMatch((p.spec as { selector?: never }).selector, labels),
    );
    if (pdbs.length > 1) {
      record(500);
      return this.send(
        res,
        500,
        status(
          500,
          'InternalError',
          'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
        ),
      );
    }
    const pdb = pdbs[0];
    if (pdb) {
      const st = (pdb.status ?? {}) as {
        disruptionsAllowed?: number;
        currentHealthy?: number;
        desiredHealthy?: number;
      };
      if ((st.disruptionsAllowed ?? 0) <= 0) {
        record(429);
        return this.send(
          res,
          429,
          status(
            429,
            'TooManyRequests',
            "Cannot evict pod as it would violate the pod's disruption budget.",
            {
              details: {
                causes: [
                  {
                    reason: 'DisruptionBudget',
                    message: `The disruption budget ${pdb.metadata?.name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`,
                  },
                ],
              },
            },
          ),
        );
      }
      this.upsert('poddisruptionbudgets', {
        ...pdb,
        status: { ...st, disruptionsAllowed: (st.disruptionsAllowed ?? 0) - 1 },
      });
    }
    if (this.opts.evictionDeletes === false)
      this.upsert('pods', {
        ...pod,
        metadata: { ...pod.metadata, deletionTimestamp: '2026-03-14T09:30:00Z' },
      });
    else this.remove('pods', namespace, name);
    record(201);
    return this.send(res, 201, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      code: 201,
    });
  }
}

/** Start a fake API server on 127.0.0.1 with a random free port. Always `close()` it (afterAll). */
export async function startFakeK8s(opts: FakeK8sOptions = {}): Promise<FakeK8s> {
  return new FakeK8s(opts).start();
}
