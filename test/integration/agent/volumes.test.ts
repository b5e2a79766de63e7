/**
 * The agent resolves pending pods' persistent volumes from the claims, volumes and storage
 * classes it watches (lib/agent/volumes.ts), against the fake API server.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ClusterSnapshot, decodeSnapshotDetail } from '../../../lib/events/index.js';
import { startTestAgent, type TestAgent, until } from '../../support/fake-k8s/agent.js';
import { piNode, pod, pv, pvc, storageClass } from '../../support/fake-k8s/fixtures.js';
import { type FakeK8s, startFakeK8s } from '../../support/fake-k8s/server.js';

function lastSnapshot(t: TestAgent): ClusterSnapshot | undefined {
  const all = t.bus.accepted.filter((e) => e.detailType === 'ClusterSnapshot');
  const last = all[all.length - 1];
  return last ? decodeSnapshotDetail(JSON.parse(last.detail)) : undefined;
}

const RESOURCES = [
  'pods',
  'nodes',
  'poddisruptionbudgets',
  'events',
  'leases',
  'persistentvolumeclaims',
  'persistentvolumes',
  'storageclasses',
];

describe('agent: pending pods with persistent volumes', () => {
  let k8s: FakeK8s;
  let t: TestAgent | undefined;

  beforeAll(async () => {
    k8s = await startFakeK8s({ token: 'agent-token' });
  });
  afterAll(async () => {
    await k8s.close();
  });
  beforeEach(() => {
    for (const r of RESOURCES)
      for (const o of k8s.list(r)) k8s.remove(r, o.metadata?.namespace, o.metadata?.name as string);
    k8s.requests.length = 0;
    k8s.upsert('nodes', piNode('pi-node-1', { controlPlane: true }));
    k8s.upsert('storageclasses', storageClass('local-path'));
    k8s.upsert('persistentvolumeclaims', pvc('pi-data', { volume: 'pvc-pi' }));
    k8s.upsert('persistentvolumes', pv('pvc-pi', { node: 'pi-node-1', claim: 'pi-data' }));
    k8s.upsert('pods', pod('db-0', { cpu: '500m', memory: '512Mi', claims: ['pi-data'] }));
    k8s.upsert('pods', pod('web-0', { cpu: '500m', memory: '512Mi' }));
  });
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('reports a pod bound to a Pi-local volume as using a local volume, apart from its twin without one', async () => {
    t = await startTestAgent(k8s);
    await until(
      () =>
        lastSnapshot(t as TestAgent)?.pendingShapes.some(
          (x) => x.volumeIssue === undefined && x.usesLocalVolume,
        ) ?? false,
      'resolved shapes',
    );
    const s = lastSnapshot(t) as ClusterSnapshot;
    expect(s.pendingShapes).toHaveLength(2);
    const db = s.pendingShapes.find((x) => x.examplePods.includes('default/db-0'));
    const web = s.pendingShapes.find((x) => x.examplePods.includes('default/web-0'));
    expect(db?.usesLocalVolume).toBe(true);
    expect(web?.usesLocalVolume).toBe(false);
    // The agent listed and watched each of the three kinds.
    for (const resource of ['persistentvolumeclaims', 'persistentvolumes', 'storageclasses'])
      expect(k8s.requests.some((r) => r.resource === resource && r.verb === 'list')).toBe(true);
  });

  it('a claim created later changes the shape in a new snapshot', async () => {
    k8s.upsert('pods', pod('late-0', { cpu: '1', memory: '1Gi', claims: ['late'] }));
    t = await startTestAgent(k8s);
    await until(
      () =>
        lastSnapshot(t as TestAgent)?.pendingShapes.some((x) => x.volumeIssue?.code === 'claim-missing') ??
        false,
      'claim-missing',
    );
    k8s.upsert('persistentvolumeclaims', pvc('late', { storageClass: 'local-path' }));
    await until(() => {
      const late = lastSnapshot(t as TestAgent)?.pendingShapes.find((x) =>
        x.examplePods.includes('default/late-0'),
      );
      return late !== undefined && late.volumeIssue === undefined;
    }, 'claim resolved');
  });

  it('without read access to claims it keeps publishing, and pods with claims are unresolved (never launched for)', async () => {
    // Given the API refuses the claim list (an agent upgraded without the new RBAC rule)
    k8s.failNext({ verb: 'list', resource: 'persistentvolumeclaims' }, 403, 1_000);
    t = await startTestAgent(k8s);
    await until(() => (lastSnapshot(t as TestAgent)?.pendingShapes.length ?? 0) === 2, 'two shapes');
    const s = lastSnapshot(t) as ClusterSnapshot;
    const db = s.pendingShapes.find((x) => x.examplePods.includes('default/db-0'));
    expect(db?.volumeIssue).toMatchObject({ code: 'claims-unresolved', claim: 'default/pi-data' });
    expect(db?.volumeIssue?.message).toMatch(/deploy\/rbac\.yaml/);
    const web = s.pendingShapes.find((x) => x.examplePods.includes('default/web-0'));
    expect(web?.volumeIssue).toBeUndefined();
  });
});
