import { describe, expect, it } from 'vitest';
import {
  isManagedNode,
  type RawNode,
  type RawPdb,
  type RawPod,
  slimNode,
  slimPdb,
  slimPod,
} from '../../../lib/agent/model.js';
import { buildSnapshot, effectiveShapeOf } from '../../../lib/agent/snapshot-builder.js';
import {
  andTerms,
  claimNamesOf,
  MAX_COMBINED_TERMS,
  type RawPv,
  type RawPvc,
  type RawStorageClass,
  resolveClaims,
  type SlimPv,
  type SlimPvc,
  type SlimStorageClass,
  slimPv,
  slimPvc,
  slimStorageClass,
  type VolumeLookup,
} from '../../../lib/agent/volumes.js';
import { ClusterSnapshot } from '../../../lib/events/index.js';
import {
  CLUSTER,
  EC2_ID,
  EC2_NODE,
  ec2Node,
  piNode,
  pod,
  pv,
  pvc,
  storageClass,
} from '../../support/fake-k8s/fixtures.js';
import type { K8sObject } from '../../support/fake-k8s/server.js';

const ZONE = 'topology.kubernetes.io/zone';
const HOSTNAME = 'kubernetes.io/hostname';

function lookup(
  objs: { pvcs?: readonly K8sObject[]; pvs?: readonly K8sObject[]; classes?: readonly K8sObject[] },
  synced = true,
): VolumeLookup {
  const claims = new Map<string, SlimPvc>();
  for (const o of objs.pvcs ?? []) {
    const c = slimPvc(o as RawPvc);
    claims.set(c.key, c);
  }
  const vols = new Map<string, SlimPv>();
  for (const o of objs.pvs ?? []) {
    const v = slimPv(o as RawPv);
    vols.set(v.name, v);
  }
  const scs = new Map<string, SlimStorageClass>();
  for (const o of objs.classes ?? []) {
    const c = slimStorageClass(o as RawStorageClass);
    scs.set(c.name, c);
  }
  return {
    synced: () => synced,
    claim: (k) => claims.get(k),
    volume: (n) => vols.get(n),
    storageClass: (n) => scs.get(n),
  };
}

function snapshot(objs: { pods: K8sObject[]; nodes?: K8sObject[]; volumes?: VolumeLookup }) {
  return ClusterSnapshot.parse(
    buildSnapshot({
      cluster: CLUSTER,
      seq: 1,
      observedAt: '2026-03-14T09:30:00.000Z',
      agentVersion: 'test',
      pods: objs.pods.map((p) => slimPod(p as RawPod)),
      nodes: (objs.nodes ?? []).map((n) => slimNode(n as RawNode)),
      pdbs: [].map((p) => slimPdb(p as RawPdb)),
      ...(objs.volumes ? { volumes: objs.volumes } : {}),
    }),
  );
}

describe('claims of a pod', () => {
  it('lists persistentVolumeClaim names and the claims of generic ephemeral volumes, sorted and unique', () => {
    expect(
      claimNamesOf('db-0', {
        volumes: [
          { name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } },
          { name: 'scratch', ephemeral: { volumeClaimTemplate: {} } },
          { name: 'again', persistentVolumeClaim: { claimName: 'data-db-0' } },
          { name: 'tmp', emptyDir: {} },
        ],
      }),
    ).toEqual(['data-db-0', 'db-0-scratch']);
    expect(slimPod(pod('web-1', { cpu: '1' }) as RawPod).claims).toBeUndefined();
    expect(slimPod(pod('db-0', { claims: ['b', 'a'] }) as RawPod).claims).toEqual(['a', 'b']);
  });
});

describe('resolving claims', () => {
  it('a claim bound to a local PV on a Pi pins the pod to that host', () => {
    const v = lookup({
      pvcs: [pvc('data', { volume: 'pvc-1' })],
      pvs: [pv('pvc-1', { node: 'pi-node-2', claim: 'data' })],
    });
    const c = resolveClaims('default', ['data'], v);
    expect(c).toEqual({
      ok: true,
      pinned: true,
      groups: [[{ matchExpressions: [{ key: HOSTNAME, operator: 'In', values: ['pi-node-2'] }] }]],
    });
  });

  it('a claim bound to an EBS volume restricts the zone, read as the standard zone key', () => {
    const v = lookup({
      pvcs: [pvc('data', { volume: 'pvc-2', storageClass: 'ebs-gp3' })],
      pvs: [pv('pvc-2', { ebsZone: 'eu-central-1b', claim: 'data' })],
    });
    expect(resolveClaims('default', ['data'], v)).toEqual({
      ok: true,
      pinned: false,
      groups: [[{ matchExpressions: [{ key: ZONE, operator: 'In', values: ['eu-central-1b'] }] }]],
    });
  });

  it('an unbound WaitForFirstConsumer claim is placed where its class allows, or anywhere', () => {
    const v = lookup({
      pvcs: [pvc('a', { storageClass: 'ebs-gp3' }), pvc('b', { storageClass: 'local-path' })],
      classes: [
        storageClass('ebs-gp3', {
          provisioner: 'ebs.csi.aws.com',
          zones: ['eu-central-1c', 'eu-central-1a'],
        }),
        storageClass('local-path'),
      ],
    });
    expect(resolveClaims('default', ['a'], v)).toEqual({
      ok: true,
      pinned: false,
      groups: [
        [{ matchExpressions: [{ key: ZONE, operator: 'In', values: ['eu-central-1a', 'eu-central-1c'] }] }],
      ],
    });
    expect(resolveClaims('default', ['b'], v)).toEqual({ ok: true, pinned: false, groups: [] });
  });

  it.each([
    ['a missing claim', { pvcs: [] }, 'claim-missing', /PersistentVolumeClaim default\/data does not exist/],
    ['a lost claim', { pvcs: [pvc('data', { volume: 'gone', phase: 'Lost' })] }, 'claim-lost', /lost/],
    [
      'a claim bound to a missing PV',
      { pvcs: [pvc('data', { volume: 'gone' })] },
      'volume-missing',
      /bound to PersistentVolume gone, which does not exist/,
    ],
    [
      'an unbound claim of an Immediate class',
      {
        pvcs: [pvc('data', { storageClass: 'nfs' })],
        classes: [storageClass('nfs', { binding: 'Immediate' })],
      },
      'claim-unbound',
      /Immediate binding/,
    ],
    [
      'an unbound claim without a class',
      { pvcs: [pvc('data', { storageClass: null })] },
      'claim-unbound',
      /has no StorageClass/,
    ],
    [
      'an unbound claim of a missing class',
      { pvcs: [pvc('data', { storageClass: 'fast' })] },
      'claim-unbound',
      /StorageClass fast, which does not exist/,
    ],
  ] as const)('%s keeps the pod pending whatever node exists', (_, objs, code, text) => {
    const c = resolveClaims('default', ['data'], lookup(objs));
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.code).toBe(code);
    expect(c.claim).toBe('default/data');
    expect(c.text).toMatch(text);
  });

  it('before the caches are listed, claims are unresolved (never guessed as absent)', () => {
    const c = resolveClaims('default', ['data'], lookup({ pvcs: [pvc('data')] }, false));
    expect(c).toMatchObject({ ok: false, code: 'claims-unresolved', claim: 'default/data' });
    if (!c.ok) expect(c.text).toMatch(/deploy\/rbac\.yaml/);
  });
});

describe('combining node affinity', () => {
  const t = (key: string, ...values: string[]) => ({
    matchExpressions: [{ key, operator: 'In' as const, values }],
  });

  it('ANDs two OR-lists term by term', () => {
    expect(andTerms([t('a', '1'), t('a', '2')], [t(ZONE, 'z')])).toEqual([
      {
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['1'] },
          { key: ZONE, operator: 'In', values: ['z'] },
        ],
      },
      {
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['2'] },
          { key: ZONE, operator: 'In', values: ['z'] },
        ],
      },
    ]);
    expect(andTerms([], [t('a', '1')])).toEqual([t('a', '1')]);
    expect(andTerms([t('a', '1')], [])).toEqual([t('a', '1')]);
  });

  it('refuses a product beyond the cap instead of growing the shape', () => {
    const many = Array.from({ length: MAX_COMBINED_TERMS + 1 }, (_, i) => t('a', String(i)));
    expect(andTerms(many, [t('b', '1')])).toBeUndefined();
    expect(andTerms(many.slice(0, MAX_COMBINED_TERMS), [t('b', '1')])).toHaveLength(MAX_COMBINED_TERMS);
  });
});

describe('snapshot shapes with volumes', () => {
  const volumes = lookup({
    pvcs: [
      pvc('pi-data', { volume: 'pvc-pi' }),
      pvc('ebs-data', { volume: 'pvc-ebs', storageClass: 'ebs-gp3' }),
      pvc('unbound', { storageClass: 'nfs' }),
    ],
    pvs: [pv('pvc-pi', { node: 'pi-node-1', claim: 'pi-data' }), pv('pvc-ebs', { ebsZone: 'eu-central-1b' })],
    classes: [storageClass('nfs', { binding: 'Immediate' })],
  });
  const tol = [{ key: 'k3s-burst.io/cloud', operator: 'Exists', effect: 'NoSchedule' }];

  it('folds a bound volume into the shape: local PV → local volume, EBS → zone; same spec, different shapes', () => {
    const s = snapshot({
      pods: [
        pod('a-1', { cpu: '1', memory: '1Gi', tolerations: tol, claims: ['pi-data'] }),
        pod('b-1', { cpu: '1', memory: '1Gi', tolerations: tol, claims: ['ebs-data'] }),
        pod('c-1', { cpu: '1', memory: '1Gi', tolerations: tol, claims: ['unbound'] }),
        pod('d-1', { cpu: '1', memory: '1Gi', tolerations: tol }),
      ],
      volumes,
    });
    expect(s.pendingShapes).toHaveLength(4);
    const of = (name: string) => s.pendingShapes.find((x) => x.examplePods.includes(`default/${name}`));
    expect(of('a-1')?.usesLocalVolume).toBe(true);
    expect(of('b-1')?.usesLocalVolume).toBe(false);
    expect(of('b-1')?.requiredAffinity).toEqual([
      { matchExpressions: [{ key: ZONE, operator: 'In', values: ['eu-central-1b'] }] },
    ]);
    expect(of('c-1')?.volumeIssue).toMatchObject({ code: 'claim-unbound', claim: 'default/unbound' });
    expect(of('d-1')?.volumeIssue).toBeUndefined();
    expect(of('d-1')?.requiredAffinity).toEqual([]);
    expect(new Set(s.pendingShapes.map((x) => x.id)).size).toBe(4);
  });

  it('without a volume lookup the shapes are the pod specs alone (the old behaviour, for callers without caches)', () => {
    const s = snapshot({ pods: [pod('a-1', { cpu: '1', claims: ['pi-data'] }), pod('d-1', { cpu: '1' })] });
    expect(s.pendingShapes).toHaveLength(1);
    expect(s.pendingShapes[0]?.count).toBe(2);
  });

  it('the effective shape id is what the agent answers pods by', () => {
    const p = slimPod(pod('b-1', { cpu: '1', memory: '1Gi', claims: ['ebs-data'] }) as RawPod);
    const eff = effectiveShapeOf(p, volumes);
    expect(eff.shapeId).not.toBe(p.shapeId);
    const s = snapshot({ pods: [pod('b-1', { cpu: '1', memory: '1Gi', claims: ['ebs-data'] })], volumes });
    expect(s.pendingShapes[0]?.id).toBe(eff.shapeId);
  });

  it('a pod on a cloud node whose data lives on that node (local-path PV) blocks voluntary eviction', () => {
    const local = lookup({
      pvcs: [pvc('cache', { volume: 'pvc-cloud' })],
      pvs: [pv('pvc-cloud', { node: EC2_NODE, claim: 'cache' })],
    });
    const nodes = [ec2Node(EC2_ID)];
    expect(isManagedNode(slimNode(nodes[0] as RawNode), CLUSTER)).toBe(true);
    const s = snapshot({
      pods: [
        pod('cache-0', { cpu: '100m', node: EC2_NODE, claims: ['cache'] }),
        pod('safe-0', {
          cpu: '100m',
          node: EC2_NODE,
          claims: ['cache'],
          annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' },
        }),
      ],
      nodes,
      volumes: local,
    });
    const node = s.nodes.find((n) => n.name === EC2_NODE);
    expect(node?.blockers).toEqual([{ pod: 'default/cache-0', reason: 'local-storage' }]);
    // Without the volume caches the same pod does not block (what the agent did before).
    const before = snapshot({
      pods: [pod('cache-0', { cpu: '100m', node: EC2_NODE, claims: ['cache'] })],
      nodes,
    });
    expect(before.nodes.find((n) => n.name === EC2_NODE)?.blockers).toEqual([]);
  });

  it('a Pi node is never given blockers (only managed nodes are)', () => {
    const s = snapshot({
      pods: [pod('db-0', { cpu: '100m', node: 'pi-node-1', claims: ['pi-data'] })],
      nodes: [piNode('pi-node-1')],
      volumes,
    });
    expect(s.nodes[0]?.blockers).toEqual([]);
  });
});
