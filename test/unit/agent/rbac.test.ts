/**
 * RBAC of deploy/: every API call the agent makes is granted, and nothing else is.
 * Three sources are compared: the manifests, the declared list next to the client
 * (lib/agent/rbac.ts), and the requests a real agent run sends to the fake API server
 * (informers, leader election, a drain with an eviction and Events, a DeleteNode, shutdown).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootstrapTokenRotator } from '../../../lib/agent/bootstrap-token.js';
import { memoryLogger } from '../../../lib/agent/logger.js';
import { agentMetrics } from '../../../lib/agent/metrics.js';
import { AGENT_API_ACCESS, type ApiAccess, LEASE_NAME } from '../../../lib/agent/rbac.js';
import { startTestAgent, until } from '../../support/fake-k8s/agent.js';
import {
  CLUSTER,
  commandEnvelope,
  EC2_ID,
  EC2_NODE,
  ec2Node,
  pdb,
  piNode,
  pod,
} from '../../support/fake-k8s/fixtures.js';
import { type FakeK8s, type RecordedRequest, startFakeK8s } from '../../support/fake-k8s/server.js';
import { FakeJoinTokenStore } from '../../support/fakes/join-token-store.js';
import { ManualClock } from '../../support/manual-clock.js';

const CA_PEM = readFileSync(
  join(import.meta.dirname, '..', '..', 'fixtures', 'k3s', 'server-ca.crt'),
  'utf8',
);

const DEPLOY = join(import.meta.dirname, '..', '..', '..', 'deploy');
const NAMESPACE = 'k3s-burst';
const SA = 'k3s-burst-agent';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
interface K8sDoc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
  spec?: Record<string, unknown>;
}

/** deploy/ and deploy/kube-system/ (bootstrap tokens, applied separately). */
function loadDeploy(): K8sDoc[] {
  return [DEPLOY, join(DEPLOY, 'kube-system')].flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .flatMap((f) => loadAllYaml(readFileSync(join(dir, f), 'utf8')) as K8sDoc[]),
  );
}

/** Roles bound to the agent's ServiceAccount, each with the namespace it applies in (undefined = all). */
function agentRoles(docs: K8sDoc[]): { role: K8sDoc; namespace: string | undefined }[] {
  const out: { role: K8sDoc; namespace: string | undefined }[] = [];
  for (const b of docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding')) {
    const boundToAgent = (b.subjects ?? []).some(
      (s) => s.kind === 'ServiceAccount' && s.name === SA && s.namespace === NAMESPACE,
    );
    if (!boundToAgent) continue;
    const role = docs.find((d) => d.kind === b.roleRef?.kind && d.metadata?.name === b.roleRef?.name);
    if (!role) throw new Error(`${b.kind} ${b.metadata?.name} references missing ${b.roleRef?.kind}`);
    out.push({ role, namespace: b.kind === 'RoleBinding' ? b.metadata?.namespace : undefined });
  }
  return out;
}

function allows(
  roles: ReturnType<typeof agentRoles>,
  req: { verb: string; group: string; resource: string; namespace?: string; name?: string },
): boolean {
  return roles.some(
    ({ role, namespace }) =>
      (namespace === undefined || namespace === req.namespace) &&
      (role.rules ?? []).some(
        (r) =>
          (r.apiGroups ?? []).includes(req.group) &&
          (r.resources ?? []).includes(req.resource) &&
          (r.verbs ?? []).includes(req.verb) &&
          (!r.resourceNames?.length || (req.name !== undefined && r.resourceNames.includes(req.name))),
      ),
  );
}

const key = (a: { verb: string; group: string; resource: string }) => `${a.verb} ${a.group}/${a.resource}`;

describe('deploy/ RBAC', () => {
  let k8s: FakeK8s;
  let observed: RecordedRequest[] = [];
  const docs = loadDeploy();
  const roles = agentRoles(docs);

  beforeAll(async () => {
    // A realistic run: leader election, sync, a drain with eviction + Events, a delete, a refused
    // delete twice (the repeated Event is updated, not created again), shutdown.
    k8s = await startFakeK8s({ token: 'rbac-token' });
    k8s.upsert('nodes', piNode('pi-node-1', { controlPlane: true }));
    k8s.upsert('nodes', ec2Node(EC2_ID));
    k8s.upsert('nodes', ec2Node('i-0bbbbbbbbbbbbbbb2'));
    k8s.upsert('pods', pod('web-r1', { node: EC2_NODE, labels: { app: 'web' }, namespace: 'shop' }));
    k8s.upsert('poddisruptionbudgets', pdb('web-pdb', 'web', 1, 'shop'));
    k8s.seedClusterCa(CA_PEM);
    const store = new FakeJoinTokenStore();
    const t = await startTestAgent(k8s, {
      leaderElect: true,
      tuning: { events: { repeatMs: 0 } },
      joinToken: { store },
    });
    await until(() => t.agent.isLeader(), 'leadership');
    await until(() => store.versions.length === 1, 'bootstrap token published');
    const drain = t.queue.send(
      commandEnvelope('DrainNode', {
        schemaVersion: 1,
        cluster: CLUSTER,
        decisionId: 'dec-r',
        nodeName: EC2_NODE,
        instanceId: EC2_ID,
        reason: 'empty',
        deadline: new Date(Date.now() + 5000).toISOString(),
      }),
    );
    const del = t.queue.send(
      commandEnvelope('DeleteNode', {
        schemaVersion: 1,
        cluster: CLUSTER,
        nodeName: 'burst-i-0bbbbbbbbbbbbbbb2',
        reason: 'terminated',
      }),
    );
    await until(() => t.queue.deleted.includes(drain) && t.queue.deleted.includes(del), 'commands handled');
    for (let i = 0; i < 2; i++) {
      const refused = t.queue.send(
        commandEnvelope('DeleteNode', {
          schemaVersion: 1,
          cluster: CLUSTER,
          nodeName: 'pi-node-1',
          reason: 'terminated',
        }),
      );
      await until(() => t.queue.deleted.includes(refused), 'refused delete handled');
    }
    // The agent's rotator past a token's expiry (a manual clock: the TTL is at least 30 min):
    // renew, then delete the expired token.
    const clock = new ManualClock();
    const rotator = new BootstrapTokenRotator({
      api: t.client,
      store,
      clock,
      log: memoryLogger(),
      metrics: agentMetrics(),
      ttlSeconds: 1800,
    });
    await rotator.tick();
    await clock.advance(1801_000);
    await rotator.tick();
    expect(rotator.outstanding).toHaveLength(1);
    await t.stop();
    observed = [...k8s.requests];
    await k8s.close();
  });
  afterAll(async () => {
    await k8s?.close().catch(() => {});
  });

  it('binds a ClusterRole, a namespaced Role and the kube-system bootstrap-token Role to the agent ServiceAccount', () => {
    expect(roles.map((r) => [r.role.kind, r.role.metadata?.name, r.namespace])).toEqual([
      ['ClusterRole', 'k3s-burst-agent', undefined],
      ['Role', 'k3s-burst-agent-leader', NAMESPACE],
      ['Role', 'k3s-burst-agent-bootstrap-token', 'kube-system'],
    ]);
    const deployment = docs.find((d) => d.kind === 'Deployment') as {
      spec: { template: { spec: { serviceAccountName: string } } };
    };
    expect(deployment.spec.template.spec.serviceAccountName).toBe(SA);
    expect(docs.find((d) => d.kind === 'ServiceAccount')?.metadata).toMatchObject({
      name: SA,
      namespace: NAMESPACE,
    });
  });

  it('allows every request the agent sent to the API server', () => {
    expect(observed.length).toBeGreaterThan(10);
    const denied = observed
      .filter((r) => !allows(roles, r))
      .map((r) => `${key(r)} ${r.namespace ?? ''}/${r.name ?? ''}`);
    expect(denied).toEqual([]);
  });

  it('the declared list (lib/agent/rbac.ts) is exactly what the agent did', () => {
    const declared = new Set(AGENT_API_ACCESS.map(key));
    const seen = new Set(observed.map(key));
    expect([...seen].filter((k) => !declared.has(k)).sort()).toEqual([]);
    expect([...declared].filter((k) => !seen.has(k)).sort()).toEqual([]);
    // Lease calls stay in the agent's namespace and on its Lease
    for (const r of observed.filter((x) => x.resource === 'leases')) {
      expect(r.namespace).toBe(NAMESPACE);
      if (r.verb !== 'create') expect(r.name).toBe(LEASE_NAME);
    }
    // Secrets only in kube-system, only bootstrap tokens; the CA ConfigMap only in its own namespace
    for (const r of observed.filter((x) => x.resource === 'secrets')) {
      expect(r.namespace).toBe('kube-system');
      if (r.verb === 'delete') expect(r.name).toMatch(/^bootstrap-token-[a-z0-9]{6}$/);
    }
    for (const r of observed.filter((x) => x.resource === 'configmaps'))
      expect([r.namespace, r.name]).toEqual([NAMESPACE, 'kube-root-ca.crt']);
  });

  it('grants nothing beyond the declared list: no wildcard, no secrets, no pod delete, no extra verb', () => {
    const granted: ApiAccess['verb'][] = [];
    const grants: string[] = [];
    for (const { role, namespace } of roles)
      for (const r of role.rules ?? []) {
        expect(r.nonResourceURLs).toBeUndefined();
        for (const field of [r.apiGroups, r.resources, r.verbs, r.resourceNames ?? []])
          expect(field).not.toContain('*');
        for (const g of r.apiGroups ?? [])
          for (const res of r.resources ?? [])
            for (const v of r.verbs ?? []) {
              granted.push(v as ApiAccess['verb']);
              grants.push(`${v} ${g}/${res}`);
              const decl = AGENT_API_ACCESS.find((a) => key(a) === `${v} ${g}/${res}`);
              expect(decl, `granted but never used: ${v} ${g}/${res}`).toBeDefined();
              expect(decl?.scope).toBe(
                namespace === undefined
                  ? 'cluster'
                  : namespace === NAMESPACE
                    ? 'own-namespace'
                    : 'kube-system',
              );
              if (decl?.resourceNames) expect(r.resourceNames).toEqual(decl.resourceNames);
            }
      }
    // Secrets: create/delete in kube-system only (never read); ConfigMaps: get the CA only.
    expect(grants.filter((g) => /\/secrets$/.test(g)).sort()).toEqual(['create /secrets', 'delete /secrets']);
    expect(grants.filter((g) => /\/configmaps$/.test(g))).toEqual(['get /configmaps']);
    expect(grants.some((g) => /\/serviceaccounts$/.test(g))).toBe(false);
    for (const { role, namespace } of roles)
      for (const r of role.rules ?? [])
        if (r.resources?.includes('secrets')) expect(namespace).toBe('kube-system');
    expect(grants).not.toContain('delete /pods');
    expect(grants.filter((g) => g.startsWith('delete')).sort()).toEqual(['delete /nodes', 'delete /secrets']);
    expect(new Set(grants).size).toBe(AGENT_API_ACCESS.length);
  });

  it('the checker itself rejects what the role does not grant', () => {
    expect(allows(roles, { verb: 'delete', group: '', resource: 'pods', namespace: 'shop', name: 'x' })).toBe(
      false,
    );
    expect(
      allows(roles, {
        verb: 'get',
        group: '',
        resource: 'secrets',
        namespace: NAMESPACE,
        name: 'k3s-burst-aws',
      }),
    ).toBe(false);
    expect(
      allows(roles, {
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: 'kube-system',
        name: LEASE_NAME,
      }),
    ).toBe(false);
    expect(
      allows(roles, {
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: NAMESPACE,
        name: 'other',
      }),
    ).toBe(false);
    expect(allows(roles, { verb: 'patch', group: '', resource: 'nodes', name: 'pi-node-1' })).toBe(true);
  });
});
