import { describe, expect, it } from 'vitest';
import type { InstanceSpec } from '../../../lib/core/index.js';
import { buildCatalog, cloudNodeLabels, newNodeCapacity, shapeFitsNode } from '../../../lib/core/index.js';
import { CLOUD_TAINT, CLOUD_TOLERATION, DEFAULT_TOLERATIONS, makeConfig, shape } from './fixtures.js';

const config = makeConfig();
const spec = buildCatalog(config).get('m7g.large') as InstanceSpec;
const labels = cloudNodeLabels(config, spec, 'eu-central-1a', 'spot');
const cloud = { labels, taints: [CLOUD_TAINT] };

describe('cloudNodeLabels', () => {
  it('carries the well-known, k3s-burst and configured labels of a new node', () => {
    expect(labels).toMatchObject({
      'kubernetes.io/arch': 'arm64',
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': 'm7g.large',
      'topology.kubernetes.io/zone': 'eu-central-1a',
      'topology.kubernetes.io/region': 'eu-central-1',
      'k3s-burst.io/managed': 'true',
      'k3s-burst.io/cluster': 'pi-lab',
      'k3s-burst.io/capacity-type': 'spot',
      'k3s-burst.io/pool': 'cloud',
    });
  });

  it('does not let a configured label override ours', () => {
    // The config validator refuses these labels; the label builder must not trust that alone.
    const sneaky = makeConfig();
    sneaky.nodes.labels = { 'k3s-burst.io/managed': 'false', 'kubernetes.io/arch': 'amd64' };
    const l = cloudNodeLabels(sneaky, spec, '', 'on-demand');
    expect(l['k3s-burst.io/managed']).toBe('true');
    expect(l['kubernetes.io/arch']).toBe('arm64');
    expect(l['topology.kubernetes.io/zone']).toBeUndefined();
  });
});

describe('shapeFitsNode', () => {
  it('fits a shape that tolerates the cloud taint and selects arm64', () => {
    expect(shapeFitsNode(shape({ nodeSelector: { 'kubernetes.io/arch': 'arm64' } }), cloud)).toEqual({
      ok: true,
    });
  });

  it('rejects a nodeSelector on a Pi hostname, naming the label', () => {
    const r = shapeFitsNode(shape({ nodeSelector: { 'kubernetes.io/hostname': 'pi-node-1' } }), cloud);
    expect(r).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /nodeSelector kubernetes.io\/hostname=pi-node-1 does not match \(the node has no kubernetes.io\/hostname label\)/,
      ),
    });
  });

  it.each([
    ['In', ['arm64', 'amd64'], true],
    ['In', ['amd64'], false],
    ['NotIn', ['amd64'], true],
    ['NotIn', ['arm64'], false],
    ['Exists', [], true],
    ['DoesNotExist', [], false],
  ] as const)('required affinity kubernetes.io/arch %s %j → %s', (operator, values, ok) => {
    const s = shape({
      requiredAffinity: [
        { matchExpressions: [{ key: 'kubernetes.io/arch', operator, values: [...values] }] },
      ],
    });
    expect(shapeFitsNode(s, cloud).ok).toBe(ok);
  });

  it('compares Gt and Lt as integers and fails them on a missing or non-numeric label', () => {
    const node = {
      labels: { ...labels, 'example.com/gpu-count': '4', 'example.com/tier': 'gold' },
      taints: [],
    };
    const req = (key: string, operator: 'Gt' | 'Lt', v: string) =>
      shape({ requiredAffinity: [{ matchExpressions: [{ key, operator, values: [v] }] }] });
    expect(shapeFitsNode(req('example.com/gpu-count', 'Gt', '3'), node).ok).toBe(true);
    expect(shapeFitsNode(req('example.com/gpu-count', 'Gt', '4'), node).ok).toBe(false);
    expect(shapeFitsNode(req('example.com/gpu-count', 'Lt', '10'), node).ok).toBe(true);
    expect(shapeFitsNode(req('example.com/tier', 'Gt', '1'), node).ok).toBe(false);
    expect(shapeFitsNode(req('example.com/absent', 'Lt', '1'), node).ok).toBe(false);
  });

  it('ORs affinity terms and ANDs expressions within a term; an empty term matches nothing', () => {
    const amd = { key: 'kubernetes.io/arch', operator: 'In' as const, values: ['amd64'] };
    const arm = { key: 'kubernetes.io/arch', operator: 'In' as const, values: ['arm64'] };
    const c7g = { key: 'node.kubernetes.io/instance-type', operator: 'In' as const, values: ['c7g.xlarge'] };
    expect(
      shapeFitsNode(
        shape({ requiredAffinity: [{ matchExpressions: [amd] }, { matchExpressions: [arm] }] }),
        cloud,
      ).ok,
    ).toBe(true);
    expect(shapeFitsNode(shape({ requiredAffinity: [{ matchExpressions: [arm, c7g] }] }), cloud).ok).toBe(
      false,
    );
    expect(shapeFitsNode(shape({ requiredAffinity: [{ matchExpressions: [] }] }), cloud).ok).toBe(false);
  });

  it('does not count the default not-ready/unreachable NoExecute tolerations as tolerating the cloud taint', () => {
    const r = shapeFitsNode(shape({ tolerations: [...DEFAULT_TOLERATIONS] }), cloud);
    expect(r).toEqual({ ok: false, reason: 'does not tolerate taint k3s-burst.io/cloud=true:NoSchedule' });
  });

  it.each([
    ['an Exists toleration without key (tolerates everything)', [{ operator: 'Exists' as const }], true],
    ['Exists on the key', [{ key: 'k3s-burst.io/cloud', operator: 'Exists' as const }], true],
    ['Equal with the right value', [CLOUD_TOLERATION], true],
    ['Equal with the wrong value', [{ ...CLOUD_TOLERATION, value: 'false' }], false],
    ['the right key for another effect', [{ ...CLOUD_TOLERATION, effect: 'NoExecute' as const }], false],
    ['Equal without key', [{ operator: 'Equal' as const, value: 'true' }], false],
  ])('%s → %s', (_what, tolerations, ok) => {
    expect(shapeFitsNode(shape({ tolerations }), cloud).ok).toBe(ok);
  });

  it('ignores PreferNoSchedule taints and requires NoExecute ones to be tolerated', () => {
    const prefer = { labels, taints: [{ key: 'x', effect: 'PreferNoSchedule' as const }] };
    const noExec = { labels, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' as const }] };
    expect(shapeFitsNode(shape({ tolerations: [] }), prefer).ok).toBe(true);
    expect(shapeFitsNode(shape({ tolerations: [] }), noExec)).toEqual({
      ok: false,
      reason: 'does not tolerate taint dedicated=gpu:NoExecute',
    });
  });
});

describe('newNodeCapacity', () => {
  it('subtracts kernel memory, system-reserved and the DaemonSets that will run on the node', () => {
    const room = newNodeCapacity(config, spec, labels, [
      {
        name: 'node-exporter',
        cpuMilli: 50,
        memoryMiB: 64,
        nodeSelector: {},
        requiredAffinity: [],
        tolerations: [{ operator: 'Exists' }],
      },
      {
        name: 'pi-only',
        cpuMilli: 500,
        memoryMiB: 500,
        nodeSelector: { 'node.kubernetes.io/instance-type': 'k3s' },
        requiredAffinity: [],
        tolerations: [{ operator: 'Exists' }],
      },
      {
        name: 'no-toleration',
        cpuMilli: 500,
        memoryMiB: 500,
        nodeSelector: {},
        requiredAffinity: [],
        tolerations: [],
      },
    ]);
    expect(room.daemonSets).toEqual(['node-exporter']);
    expect(room.cpuMilli).toBe(2000 - 100 - 50);
    expect(room.memoryMiB).toBe(Math.floor(8192 * 0.94) - 256 - 64);
    expect(room.pods).toBe(110 - 1);
  });

  it('caps pods by config.nodes.maxPodsPerNode', () => {
    const small = makeConfig({ nodes: { maxPodsPerNode: 20 } });
    expect(newNodeCapacity(small, spec, labels, []).pods).toBe(20);
  });
});
