import { describe, expect, it } from 'vitest';
import { podTermsOf, type RawNode, type RawPod, slimNode, slimPod } from '../../../lib/agent/model.js';
import { fitSnapshot } from '../../../lib/agent/publisher.js';
import { buildSnapshot } from '../../../lib/agent/snapshot-builder.js';
import { ClusterSnapshot, decodeSnapshotDetail } from '../../../lib/events/index.js';
import { CLUSTER, EC2_ID, EC2_NODE, ec2Node, piNode, pod } from '../../support/fake-k8s/fixtures.js';
import type { K8sObject } from '../../support/fake-k8s/server.js';

const HOST = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

function build(pods: K8sObject[], nodes: K8sObject[] = []) {
  return ClusterSnapshot.parse(
    buildSnapshot({
      cluster: CLUSTER,
      seq: 7,
      observedAt: '2026-03-14T09:30:00.000Z',
      agentVersion: 'test',
      pods: pods.map((p) => slimPod(p as RawPod)),
      nodes: nodes.map((n) => slimNode(n as RawNode)),
      pdbs: [],
    }),
  );
}

const antiSelf = (app: string, key = HOST) => ({
  podAntiAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: [
      { labelSelector: { matchLabels: { app } }, topologyKey: key },
    ],
  },
});

function withSpread(p: K8sObject, constraints: unknown[]): K8sObject {
  return { ...p, spec: { ...(p.spec as object), topologySpreadConstraints: constraints } };
}

describe('inter-pod terms in the agent (issue 15 item 3)', () => {
  it('compiles required hostname/zone terms, counts preferred and ScheduleAnyway as ignored', () => {
    const t = podTermsOf(
      {
        affinity: {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: ZONE, namespaces: ['data'] },
            ],
            preferredDuringSchedulingIgnoredDuringExecution: [{}],
          },
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] },
                topologyKey: HOST,
                matchLabelKeys: ['pod-template-hash'],
              },
            ],
          },
        },
        topologySpreadConstraints: [
          {
            maxSkew: 2,
            topologyKey: ZONE,
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { app: 'web' } },
            minDomains: 3,
          },
          {
            maxSkew: 1,
            topologyKey: HOST,
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: { matchLabels: { app: 'web' } },
          },
        ],
      },
      'shop',
      { app: 'web', 'pod-template-hash': '5b7f' },
    );
    expect(t?.ignored).toBe(2);
    expect(t?.unsupported).toBeUndefined();
    expect(t?.terms).toContainEqual({
      kind: 'affinity',
      topology: 'zone',
      selector: { namespaces: ['data'], matchLabels: { app: 'db' }, matchExpressions: [] },
    });
    expect(t?.terms).toContainEqual({
      kind: 'anti-affinity',
      topology: 'hostname',
      selector: {
        namespaces: ['shop'],
        matchLabels: {},
        matchExpressions: [
          { key: 'app', operator: 'In', values: ['web'] },
          { key: 'pod-template-hash', operator: 'In', values: ['5b7f'] },
        ],
      },
    });
    expect(t?.terms).toContainEqual({
      kind: 'spread',
      topology: 'zone',
      maxSkew: 2,
      minDomains: 3,
      selector: { namespaces: ['shop'], matchLabels: { app: 'web' }, matchExpressions: [] },
    });
  });

  it('reports other topology keys, namespace selectors and non-default node policies as unsupported', () => {
    const rack = podTermsOf(antiSelfSpec('web', 'example.com/rack'), 'shop', { app: 'web' });
    expect(rack?.unsupported).toMatch(/topologyKey "example.com\/rack"/);
    const nsSel = podTermsOf(
      {
        affinity: {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                labelSelector: { matchLabels: { app: 'db' } },
                topologyKey: HOST,
                namespaceSelector: { matchLabels: { team: 'a' } },
              },
            ],
          },
        },
      },
      'shop',
      {},
    );
    expect(nsSel?.unsupported).toMatch(/namespaceSelector/);
    const all = podTermsOf(
      {
        affinity: {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: HOST, namespaceSelector: {} },
            ],
          },
        },
      },
      'shop',
      {},
    );
    expect(all?.terms[0]?.selector.namespaces).toEqual(['*']);
    const policy = podTermsOf(
      {
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: ZONE,
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { app: 'w' } },
            nodeTaintsPolicy: 'Honor',
          },
        ],
      },
      'shop',
      {},
    );
    expect(policy?.unsupported).toMatch(/nodeTaintsPolicy/);
    expect(podTermsOf({ containers: [] }, 'shop', {})).toBeUndefined();
  });

  it('sends selectors once, the terms and matched selectors per shape, and running matches per node', () => {
    // Given 3 pending web pods with hostname anti-affinity to their own app, a pending api pod
    // with the same spec but other labels, and a running web pod on the EC2 node
    const web = (name: string, node?: string) =>
      pod(name, { cpu: '250m', memory: '256Mi', affinity: antiSelf('web'), ...(node ? { node } : {}) });
    const s = build(
      [
        web('web-a1'),
        web('web-a2'),
        web('web-a3'),
        pod('other-b1', { cpu: '250m', memory: '256Mi', affinity: antiSelf('web') }),
        web('web-r1', EC2_NODE),
      ],
      [piNode('pi-node-1'), ec2Node(EC2_ID)],
    );
    // Then one selector, two shapes (their labels match differently), counts on the EC2 node
    expect(s.podSelectors).toHaveLength(1);
    const sel = s.podSelectors?.[0];
    expect(sel).toMatchObject({ namespaces: ['default'], matchLabels: { app: 'web' } });
    const id = sel?.id as string;
    const webShape = s.pendingShapes.find((x) => x.count === 3);
    const other = s.pendingShapes.find((x) => x.count === 1);
    expect(webShape).toMatchObject({
      podAntiAffinity: [{ selector: id, topology: 'hostname' }],
      matchesSelectors: [id],
    });
    expect(other?.podAntiAffinity).toEqual([{ selector: id, topology: 'hostname' }]);
    expect(other?.matchesSelectors).toBeUndefined();
    expect(other?.id).not.toBe(webShape?.id);
    expect(s.nodes.find((n) => n.name === EC2_NODE)?.podSelectorCounts).toEqual({ [id]: 1 });
    expect(s.nodes.find((n) => n.name === 'pi-node-1')?.podSelectorCounts).toBeUndefined();
  });

  it('keeps shape ids of pods without terms unchanged and separates pods whose terms differ', () => {
    const plain = build([pod('a-1', { cpu: '100m', memory: '64Mi' })]);
    const before = build([pod('a-1', { cpu: '100m', memory: '64Mi' })]);
    expect(plain.pendingShapes[0]?.id).toBe(before.pendingShapes[0]?.id);
    expect(plain.podSelectors).toBeUndefined();
    const mixed = build([
      pod('a-1', { cpu: '100m', memory: '64Mi' }),
      pod('a-2', { cpu: '100m', memory: '64Mi', affinity: antiSelf('a') }),
      withSpread(pod('a-3', { cpu: '100m', memory: '64Mi' }), [
        {
          maxSkew: 1,
          topologyKey: ZONE,
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { app: 'a' } },
        },
      ]),
    ]);
    expect(new Set(mixed.pendingShapes.map((x) => x.id)).size).toBe(3);
    expect(mixed.pendingShapes.find((x) => x.topologySpread)?.topologySpread).toEqual([
      { selector: expect.any(String), topology: 'zone', maxSkew: 1 },
    ]);
    // Both terms select app=a in the same namespace: one selector, which every pod matches
    expect(mixed.podSelectors).toHaveLength(1);
    expect(mixed.pendingShapes.every((x) => x.matchesSelectors?.length === 1)).toBe(true);
  });

  it('drops the selector index before any pending shape to fit the entry limit, and says so', () => {
    // Given many running pods matching a selector on many nodes
    const nodes = Array.from({ length: 400 }, (_, i) => piNode(`pi-node-${i}`));
    const running = Array.from({ length: 4000 }, (_, i) =>
      pod(`web-r${i}`, {
        cpu: '10m',
        memory: '16Mi',
        node: `pi-node-${i % 400}`,
        labels: { shard: `s${i % 50}` },
      }),
    );
    const pending = Array.from({ length: 50 }, (_, i) =>
      withSpread(pod(`web-p${i}`, { cpu: '10m', memory: '16Mi', labels: { shard: `s${i}` } }), [
        {
          maxSkew: 1,
          topologyKey: HOST,
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { shard: `s${i}` } },
        },
      ]),
    );
    const s = buildSnapshot({
      cluster: CLUSTER,
      seq: 1,
      observedAt: '2026-03-14T09:30:00.000Z',
      agentVersion: 'test',
      pods: [...running, ...pending].map((p) => slimPod(p as RawPod)),
      nodes: nodes.map((n) => slimNode(n as RawNode)),
      pdbs: [],
    });
    expect(s.podSelectors).toHaveLength(50);
    const full = fitSnapshot(s, 10 ** 9);
    const withIndex = full.bytes;
    // When the limit is between the sizes with and without the index
    const fitted = fitSnapshot(s, withIndex - 200);
    // Then the index is gone, every shape is still there, and the snapshot says why
    const decoded = decodeSnapshotDetail(JSON.parse(fitted.detail));
    expect(decoded.nodes.some((n) => n.podSelectorCounts)).toBe(false);
    expect(decoded.pendingShapes).toHaveLength(50);
    expect(decoded.truncated).toBeUndefined();
    expect(decoded.podIndexDropped).toMatch(/selector index was left out/);
  });
});

function antiSelfSpec(app: string, key: string): RawPod['spec'] {
  return { affinity: antiSelf(app, key) };
}
