/**
 * KubeClient over the fake API: a request made with the agent's long-lived stop signal must not
 * stay attached to it. Before the fix every call left an abort listener on the signal, which kept
 * the request, its response and the whole response body alive for the life of the agent (the
 * 5,000-pod list alone: about 15 MB of heap, bench agent.rss-mib.*).
 */
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, KubeClient } from '../../../lib/agent/kube-client.js';
import { kubeconfigTarget } from '../../../lib/agent/kube-config.js';
import { piNode } from '../../support/fake-k8s/fixtures.js';
import { type FakeK8s, startFakeK8s } from '../../support/fake-k8s/server.js';

describe('KubeClient.request and the caller signal', () => {
  let k8s: FakeK8s;
  let client: KubeClient;

  beforeAll(async () => {
    k8s = await startFakeK8s({ token: 'test-token' });
    k8s.bulkLoad('nodes', [piNode('pi-1'), piNode('pi-2')]);
    client = new KubeClient(await kubeconfigTarget(k8s.writeKubeconfig()));
  });
  afterAll(async () => {
    await k8s.close();
  });

  it('leaves no abort listener behind after successful and failed requests', async () => {
    const stop = new AbortController();
    for (let i = 0; i < 20; i++) {
      const r = await client.request<{ items: unknown[] }>('GET', '/api/v1/nodes', { signal: stop.signal });
      expect(r.body.items).toHaveLength(2);
    }
    await expect(
      client.request('GET', '/api/v1/nodes/no-such-node', { signal: stop.signal }),
    ).rejects.toBeInstanceOf(KubeApiError);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it('still aborts a request in flight when the signal fires', async () => {
    const stop = new AbortController();
    const pending = client.request('GET', '/api/v1/nodes', { signal: stop.signal });
    stop.abort();
    await expect(pending).rejects.toThrow(/aborted/);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });
});
