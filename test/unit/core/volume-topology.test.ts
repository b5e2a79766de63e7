/**
 * Pods with persistent volumes, from the agent's objects to the plan: the agent folds each
 * claim's topology into the shape (lib/agent/volumes.ts), the planner launches only where the
 * volume can be used and answers the rest (issue 15 item 4).
 */
import { describe, expect, it } from 'vitest';
import { type RawPod, slimPod } from '../../../lib/agent/model.js';
import { buildSnapshot } from '../../../lib/agent/snapshot-builder.js';
import {
  type RawPv,
  type RawPvc,
  type RawStorageClass,
  slimPv,
  slimPvc,
  slimStorageClass,
  type VolumeLookup,
} from '../../../lib/agent/volumes.js';
import { ClusterSnapshot, type PendingShape } from '../../../lib/events/index.js';
import { pod, pv, pvc, storageClass } from '../../support/fake-k8s/fixtures.js';
import type { K8sObject } from '../../support/fake-k8s/server.js';
import { CLOUD_TOLERATION, cloudNode, NOW, plan, shape, snapshot } from './fixtures.js';

const tolerations = [{ ...CLOUD_TOLERATION }];

function pendingShapesOf(pods: K8sObject[], objs: K8sObject[]): PendingShape[] {
  const by = (kind: string) => objs.filter((o) => o.kind === kind);
  const claims = new Map(
    by('PersistentVolumeClaim')
      .map((o) => slimPvc(o as RawPvc))
      .map((c) => [c.key, c]),
  );
  const vols = new Map(
    by('PersistentVolume')
      .map((o) => slimPv(o as RawPv))
      .map((v) => [v.name, v]),
  );
  const classes = new Map(
    by('StorageClass')
      .map((o) => slimStorageClass(o as RawStorageClass))
      .map((c) => [c.name, c]),
  );
  const volumes: VolumeLookup = {
    synced: () => true,
    claim: (k) => claims.get(k),
    volume: (n) => vols.get(n),
    storageClass: (n) => classes.get(n),
  };
  const built = buildSnapshot({
    cluster: 'pi-lab',
    seq: 1,
    observedAt: NOW.toISOString(),
    agentVersion: 'test',
    pods: pods.map((p) => slimPod(p as RawPod)),
    nodes: [],
    pdbs: [],
    volumes,
  });
  return ClusterSnapshot.parse(built).pendingShapes;
}

const pending = (name: string, claims: string[]) =>
  pod(name, { cpu: '1', memory: '2Gi', tolerations, claims, pendingSince: '2026-03-16T09:29:00Z' });

describe('volume topology in the plan', () => {
  it('an EBS volume in eu-central-1b gets a node in eu-central-1b only', () => {
    const shapes = pendingShapesOf(
      [pending('db-0', ['data-db-0'])],
      [
        pvc('data-db-0', { volume: 'pvc-ebs', storageClass: 'ebs-gp3' }),
        pv('pvc-ebs', { ebsZone: 'eu-central-1b' }),
      ],
    );
    const p = plan({ snapshot: snapshot({ pendingShapes: shapes }) });
    expect(p.launches).toHaveLength(1);
    expect(p.launches[0]?.zones).toEqual(['eu-central-1b']);
    expect(p.podAnswers?.[0]).toMatchObject({ kind: 'launched-for', count: 1 });
  });

  it('a WaitForFirstConsumer class with allowedTopologies limits the zones; local-path allows any', () => {
    const shapes = pendingShapesOf(
      [pending('a-0', ['a']), pending('b-0', ['b']), pending('c-0', ['c'])],
      [
        pvc('a', { storageClass: 'ebs-zonal' }),
        pvc('b', { storageClass: 'local-path' }),
        pvc('c', { storageClass: 'ebs-far' }),
        storageClass('ebs-zonal', { provisioner: 'ebs.csi.aws.com', zones: ['eu-central-1b'] }),
        storageClass('ebs-far', { provisioner: 'ebs.csi.aws.com', zones: ['eu-central-1c'] }),
        storageClass('local-path'),
      ],
    );
    const p = plan({ snapshot: snapshot({ pendingShapes: shapes }) });
    const zonesOf = (podName: string) => {
      const id = shapes.find((s) => s.examplePods.includes(`default/${podName}`))?.id;
      return p.launches.find((l) => l.shapeIds.includes(id as string))?.zones;
    };
    expect(zonesOf('a-0')).toEqual(['eu-central-1b']);
    expect(zonesOf('b-0')).toEqual([]);
    // The stack's subnets span eu-central-1a and 1b only (network.availabilityZoneCount=2).
    expect(zonesOf('c-0')).toBeUndefined();
    const far = p.podAnswers?.find((a) => a.examplePods.includes('default/c-0'));
    expect(far).toMatchObject({ kind: 'unhelpable' });
    expect(far?.message).toMatch(/topology\.kubernetes\.io\/zone/);
  });

  it('a local PV on a Pi is unhelpable, and so is a claim that cannot bind: nothing launched, each answered', () => {
    const shapes = pendingShapesOf(
      [pending('pi-db-0', ['pi-data']), pending('orphan-0', ['missing']), pending('nfs-0', ['nfs-data'])],
      [
        pvc('pi-data', { volume: 'pvc-pi' }),
        pv('pvc-pi', { node: 'pi-node-1' }),
        pvc('nfs-data', { storageClass: 'nfs' }),
        storageClass('nfs', { binding: 'Immediate', provisioner: 'nfs.csi.k8s.io' }),
      ],
    );
    const p = plan({ snapshot: snapshot({ pendingShapes: shapes }) });
    expect(p.launches).toEqual([]);
    const codes = (p.podAnswers ?? []).map((a) => [a.kind, a.code]).sort();
    expect(codes).toEqual([
      ['unhelpable', 'local-volume'],
      ['unhelpable', 'volume:claim-missing'],
      ['unhelpable', 'volume:claim-unbound'],
    ]);
    const msg = (code: string) => p.podAnswers?.find((a) => a.code === code)?.message;
    expect(msg('volume:claim-missing')).toMatch(/PersistentVolumeClaim default\/missing does not exist/);
    expect(msg('volume:claim-unbound')).toMatch(/StorageClass nfs with Immediate binding/);
  });

  it('a pod whose claim keeps it pending is not answered "fits on existing" even when a node has room', () => {
    const issue = shape({
      id: 'orphan',
      tolerations,
      volumeIssue: {
        code: 'claim-missing',
        claim: 'default/missing',
        message: 'PersistentVolumeClaim default/missing does not exist',
      },
    });
    const roomy = cloudNode('i-0aaaaaaaaaaaaaaa1', {
      requested: { cpuMilli: 0, memoryMiB: 0, pods: 0 },
      readySince: '2026-03-16T09:00:00Z',
    });
    const p = plan({ snapshot: snapshot({ pendingShapes: [issue], nodes: [roomy] }) });
    expect(p.launches).toEqual([]);
    expect(p.podAnswers).toEqual([
      expect.objectContaining({ kind: 'unhelpable', code: 'volume:claim-missing', count: issue.count }),
    ]);
  });
});
