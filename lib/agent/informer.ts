/**
 * List + watch into a slim in-memory cache, the way client-go's reflector does it:
 * paginated list → remember its resourceVersion → watch from there (with bookmarks) → on a
 * normal close, re-watch from the last seen version → on 410 Gone (or an ERROR event carrying
 * 410), re-list → on any other failure, back off (capped, with jitter) and re-watch, or re-list
 * when the failure was the list itself. `synced` turns true after the first complete list and
 * stays true: a reconnecting watch serves the last known state.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { type KubeApi, KubeApiError, type WatchEvent } from './kube-client.js';
import { AGENT_DEFAULTS } from './options.js';

export type ChangeKind = 'sync' | 'add' | 'update' | 'delete';

export interface InformerOptions<T> {
  /** e.g. `pods`; used in logs and metrics. */
  resource: string;
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  api: KubeApi;
  clock: Clock;
  log: Logger;
  slim: (raw: Record<string, unknown>) => T;
  key: (item: T) => string;
  /** Called after every cache change (after the whole list for `sync`). */
  onChange?: (kind: ChangeKind, item: T | undefined, previous: T | undefined) => void;
  /** Items per list page; small pages keep the peak memory of a re-list low. @default AGENT_DEFAULTS.informers.pageSize */
  pageSize?: number;
  /** Server-side watch timeout; the watch is re-opened after it. @default AGENT_DEFAULTS.informers.watchTimeoutSeconds */
  watchTimeoutSeconds?: number;
  /** @default AGENT_DEFAULTS.informers.backoffMs */
  initialBackoffMs?: number;
  /** @default AGENT_DEFAULTS.informers.maxBackoffMs */
  maxBackoffMs?: number;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
  onRestart?: (reason: 'closed' | 'error' | 'gone') => void;
  onRelist?: () => void;
}

interface ListBody {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: Record<string, unknown>[];
}

export class Informer<T> {
  readonly store = new Map<string, T>();
  private resourceVersion = '';
  private _synced = false;
  private syncWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly o: InformerOptions<T>) {}

  get synced(): boolean {
    return this._synced;
  }

  /** Resolves after the first complete list (or immediately if already synced). */
  waitForSync(): Promise<void> {
    if (this._synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const base = this.o.initialBackoffMs ?? AGENT_DEFAULTS.informers.backoffMs;
    const cap = this.o.maxBackoffMs ?? AGENT_DEFAULTS.informers.maxBackoffMs;
    const random = this.o.random ?? Math.random;
    let failures = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list(signal);
          needList = false;
          failures = 0;
        }
        if (signal.aborted) break;
        await this.o.api.watch(
          this.o.path,
          {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: this.o.watchTimeoutSeconds ?? AGENT_DEFAULTS.informers.watchTimeoutSeconds,
          },
          (e) => this.apply(e),
          signal,
        );
        // Normal close (server timeout or dropped connection): resume from the last version.
        if (signal.aborted) break;
        failures = 0;
        this.o.onRestart?.('closed');
        this.o.log.debug('watch closed, resuming', {
          resource: this.o.resource,
          resourceVersion: this.resourceVersion,
        });
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          this.o.log.info('resourceVersion expired (410 Gone), re-listing', { resource: this.o.resource });
          this.o.onRestart?.('gone');
          needList = true;
          continue;
        }
        failures++;
        const delay = Math.min(cap, base * 2 ** Math.min(failures - 1, 16)) * (0.5 + random() / 2);
        this.o.onRestart?.('error');
        this.o.log.warn('list/watch failed, backing off', {
          resource: this.o.resource,
          error: (err as Error).message,
          attempt: failures,
          backoffMs: Math.round(delay),
        });
        await this.o.clock.sleep(delay, signal);
      }
    }
  }

  private async list(signal: AbortSignal): Promise<void> {
    this.o.onRelist?.();
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    for (let page = 0; page < 100_000; page++) {
      const res = await this.o.api.request<ListBody>('GET', this.o.path, {
        query: { limit: this.o.pageSize ?? AGENT_DEFAULTS.informers.pageSize, continue: cont },
        signal,
        timeoutMs: 60_000,
      });
      for (const raw of res.body.items ?? []) {
        const item = this.o.slim(raw);
        fresh.set(this.o.key(item), item);
      }
      rv = res.body.metadata?.resourceVersion ?? rv;
      cont = res.body.metadata?.continue || undefined;
      if (!cont) break;
    }
    this.store.clear();
    for (const [k, v] of fresh) this.store.set(k, v);
    this.resourceVersion = rv;
    this.o.log.debug('listed', { resource: this.o.resource, items: this.store.size, resourceVersion: rv });
    if (!this._synced) {
      this._synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
    this.o.onChange?.('sync', undefined, undefined);
  }

  private apply(e: WatchEvent): void {
    const meta = (e.object as { metadata?: { resourceVersion?: string } }).metadata;
    if (e.type === 'ERROR') {
      const code = (e.object as { code?: number }).code;
      throw new KubeApiError(code ?? 500, e.object, 'WATCH', this.o.path);
    }
    if (meta?.resourceVersion) this.resourceVersion = meta.resourceVersion;
    if (e.type === 'BOOKMARK') return;
    const item = this.o.slim(e.object);
    const key = this.o.key(item);
    const previous = this.store.get(key);
    if (e.type === 'DELETED') {
      this.store.delete(key);
      this.o.onChange?.('delete', item, previous);
    } else {
      this.store.set(key, item);
      this.o.onChange?.(previous ? 'update' : 'add', item, previous);
    }
  }
}

function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 410;
}
