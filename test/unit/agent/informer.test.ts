/** Informer reconnect logic on a manual clock with a scripted API: capped backoff, 410 re-list, resume. */
import { describe, expect, it } from 'vitest';
import { Informer } from '../../../lib/agent/informer.js';
import { type KubeApi, KubeApiError, type WatchEvent } from '../../../lib/agent/kube-client.js';
import { memoryLogger } from '../../../lib/agent/logger.js';
import { ManualClock } from '../../support/manual-clock.js';

type WatchStep = (onEvent: (e: WatchEvent) => void) => Promise<void>;

function scripted(clock: ManualClock) {
  const log: string[] = [];
  let listFailures = 0;
  let listRv = 100;
  const items = new Map<string, { metadata: { name: string; resourceVersion: string } }>();
  const watches: WatchStep[] = [];
  const api: KubeApi = {
    async request<T>(method: string, path: string) {
      log.push(`${clock.now()} list rv=${listRv}`);
      if (listFailures > 0) {
        listFailures--;
        throw new KubeApiError(500, { message: 'etcdserver: request timed out' }, method, path);
      }
      return {
        status: 200,
        headers: {},
        body: { metadata: { resourceVersion: String(listRv) }, items: [...items.values()] } as T,
      };
    },
    async watch(_path, query, onEvent, signal) {
      log.push(`${clock.now()} watch from ${query.resourceVersion}`);
      const step = watches.shift();
      if (!step) return new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      return step(onEvent);
    },
  };
  return {
    api,
    log,
    items,
    watches,
    failLists: (n: number) => {
      listFailures = n;
    },
    setListRv: (rv: number) => {
      listRv = rv;
    },
  };
}

function informer(api: KubeApi, clock: ManualClock, restarts: string[]) {
  return new Informer<{ name: string }>({
    resource: 'nodes',
    path: '/api/v1/nodes',
    api,
    clock,
    log: memoryLogger(),
    slim: (r) => ({ name: (r as { metadata: { name: string } }).metadata.name }),
    key: (n) => n.name,
    initialBackoffMs: 500,
    maxBackoffMs: 30_000,
    random: () => 1,
    onRestart: (r) => restarts.push(r),
  });
}

const node = (name: string, rv: number) => ({ metadata: { name, resourceVersion: String(rv) } });

describe('Informer reconnects', () => {
  it('backs off exponentially (capped) while the list fails and is not synced until it succeeds', async () => {
    const clock = new ManualClock(0);
    const s = scripted(clock);
    s.failLists(8);
    const restarts: string[] = [];
    const inf = informer(s.api, clock, restarts);
    let synced = false;
    void inf.waitForSync().then(() => {
      synced = true;
    });
    inf.start();
    await clock.advance(100_000);
    const listTimes = s.log.filter((l) => l.includes('list')).map((l) => Number(l.split(' ')[0]));
    // 500, 1000, 2000, … 16000, then capped at 30000
    expect(listTimes).toEqual([0, 500, 1500, 3500, 7500, 15_500, 31_500, 61_500, 91_500]);
    expect(synced).toBe(true);
    expect(restarts).toEqual(Array(8).fill('error'));
    await inf.stop();
  });

  it('re-lists at once on a 410 Gone from the watch, and resumes from the new version', async () => {
    const clock = new ManualClock(0);
    const s = scripted(clock);
    s.items.set('pi-node-1', node('pi-node-1', 90));
    s.watches.push(async (onEvent) => {
      onEvent({ type: 'ADDED', object: node('pi-node-2', 101) });
      s.setListRv(200);
      s.items.set('pi-node-3', node('pi-node-3', 150));
      onEvent({
        type: 'ERROR',
        object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' },
      });
    });
    const restarts: string[] = [];
    const inf = informer(s.api, clock, restarts);
    inf.start();
    await clock.advance(0);
    expect(s.log).toEqual(['0 list rv=100', '0 watch from 100', '0 list rv=200', '0 watch from 200']);
    expect(restarts).toEqual(['gone']);
    // the re-list replaced the cache: pi-node-2 (seen only on the old watch) is gone
    expect([...inf.store.keys()].sort()).toEqual(['pi-node-1', 'pi-node-3']);
    await inf.stop();
  });

  it('resumes a closed watch from the last seen version without re-listing; backs off after a transport error', async () => {
    const clock = new ManualClock(0);
    const s = scripted(clock);
    s.watches.push(async (onEvent) => {
      onEvent({ type: 'ADDED', object: node('pi-node-1', 105) });
      onEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '120' } } });
    });
    s.watches.push(async () => {
      throw new Error('socket hang up');
    });
    const restarts: string[] = [];
    const inf = informer(s.api, clock, restarts);
    inf.start();
    await clock.advance(0);
    expect(s.log).toEqual(['0 list rv=100', '0 watch from 100', '0 watch from 120']);
    await clock.advance(499);
    expect(s.log).toHaveLength(3);
    await clock.advance(1);
    expect(s.log).toEqual(['0 list rv=100', '0 watch from 100', '0 watch from 120', '500 watch from 120']);
    expect(restarts).toEqual(['closed', 'error']);
    expect(inf.store.has('pi-node-1')).toBe(true);
    await inf.stop();
  });
});
