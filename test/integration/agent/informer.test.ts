import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Informer } from '../../../lib/agent/informer.js';
import { KubeApiError, KubeClient } from '../../../lib/agent/kube-client.js';
import { kubeconfigTarget } from '../../../lib/agent/kube-config.js';
import { memoryLogger } from '../../../lib/agent/logger.js';
import { type RawNode, type SlimNode, slimNode } from '../../../lib/agent/model.js';
import { systemClock } from '../../../lib/system/clock.js';
import { until } from '../../support/fake-k8s/agent.js';
import { EC2_ID, ec2Node, piNode } from '../../support/fake-k8s/fixtures.js';
import { type FakeK8s, startFakeK8s } from '../../support/fake-k8s/server.js';

describe.each(['event', 'status'] as const)(
  'node informer against the fake API server (410 as %s)',
  (goneMode) => {
    let k8s: FakeK8s;
    let client: KubeClient;
    let informer: Informer<SlimNode> | undefined;
    const restarts: string[] = [];
    let relists = 0;

    beforeAll(async () => {
      k8s = await startFakeK8s({ token: 'test-token', goneMode });
      client = new KubeClient(await kubeconfigTarget(k8s.writeKubeconfig()));
    });
    afterEach(async () => {
      await informer?.stop();
      informer = undefined;
    });
    afterAll(async () => {
      client.close();
      await k8s.close();
    });

    function startInformer(): Informer<SlimNode> {
      restarts.length = 0;
      relists = 0;
      informer = new Informer<SlimNode>({
        resource: 'nodes',
        path: '/api/v1/nodes',
        api: client,
        clock: systemClock,
        log: memoryLogger(),
        slim: (r) => slimNode(r as RawNode),
        key: (n) => n.name,
        pageSize: 2,
        initialBackoffMs: 20,
        maxBackoffMs: 100,
        onRestart: (r) => restarts.push(r),
        onRelist: () => relists++,
      });
      informer.start();
      return informer;
    }

    it('syncs every page of the list, then follows the watch', async () => {
      // Given 5 nodes (3 pages of 2)
      for (const n of ['pi-node-1', 'pi-node-2', 'pi-node-3', 'pi-node-4']) k8s.upsert('nodes', piNode(n));
      k8s.upsert('nodes', ec2Node(EC2_ID));
      // When
      const inf = startInformer();
      expect(inf.synced).toBe(false);
      await inf.waitForSync();
      // Then
      expect(inf.store.size).toBe(5);
      expect(k8s.requestsOf('list', 'nodes').length).toBeGreaterThanOrEqual(3);
      k8s.upsert('nodes', piNode('pi-node-5'));
      await until(() => inf.store.has('pi-node-5'), 'ADDED via watch');
      k8s.remove('nodes', undefined, 'pi-node-1');
      await until(() => !inf.store.has('pi-node-1'), 'DELETED via watch');
    });

    it('resumes the watch from the last version after the server drops it, without re-listing', async () => {
      const inf = startInformer();
      await inf.waitForSync();
      await until(() => k8s.openWatches > 0, 'watch open');
      // When the server drops every watch and a change happens while disconnected
      k8s.dropWatches();
      k8s.upsert('nodes', piNode('pi-node-6'));
      // Then the informer reconnects and receives the change from history
      await until(() => inf.store.has('pi-node-6'), 'change made while disconnected');
      expect(relists).toBe(1);
      expect(restarts.length).toBeGreaterThanOrEqual(1);
      expect(k8s.requestsOf('watch', 'nodes').length).toBeGreaterThanOrEqual(2);
    });

    it('re-lists on 410 Gone and picks up changes it could not watch', async () => {
      const inf = startInformer();
      await inf.waitForSync();
      await until(() => k8s.openWatches > 0, 'watch open');
      // When history is compacted while the watch is down
      k8s.dropWatches();
      k8s.remove('nodes', undefined, 'pi-node-2');
      k8s.upsert('nodes', piNode('pi-node-7'));
      k8s.compact();
      // Then
      await until(() => relists >= 2, 're-list after 410');
      await until(() => inf.store.has('pi-node-7') && !inf.store.has('pi-node-2'), 'state after re-list');
      expect(restarts).toContain('gone');
    });

    it('backs off and retries while the list fails, and stays unsynced until it succeeds', async () => {
      k8s.failNext({ verb: 'list', resource: 'nodes' }, 500, 3);
      const inf = startInformer();
      await new Promise((r) => setTimeout(r, 30));
      expect(inf.synced).toBe(false);
      await inf.waitForSync();
      expect(restarts.filter((r) => r === 'error')).toHaveLength(3);
    });

    it('rejects a wrong token with the API status', async () => {
      const bad = new KubeClient({ server: k8s.url, apply: async () => {} });
      await expect(bad.request('GET', '/api/v1/nodes')).rejects.toSatisfy(
        (e) => e instanceof KubeApiError && e.status === 401,
      );
      bad.close();
    });
  },
);
