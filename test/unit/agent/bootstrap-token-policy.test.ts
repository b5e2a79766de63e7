/**
 * deploy/kube-system/: the Role that lets the agent create and delete Secrets in kube-system,
 * and the ValidatingAdmissionPolicy that narrows it to the bootstrap tokens the agent mints
 * (issue #16). As in admission-policy.test.ts the CEL expressions run in a standard CEL
 * interpreter (@marcbachmann/cel-js); Secret `data` values are bytes, as the API server hands
 * them to CEL. The allowed requests are built by the agent's own code (`bootstrapTokenSecret`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { evaluate } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { bootstrapTokenSecret } from '../../../lib/agent/bootstrap-token.js';

const DIR = join(import.meta.dirname, '..', '..', '..', 'deploy', 'kube-system');
const AGENT_USER = 'system:serviceaccount:k3s-burst:k3s-burst-agent';

interface Policy {
  kind: 'ValidatingAdmissionPolicy';
  metadata: { name: string };
  spec: {
    failurePolicy: string;
    matchConstraints: { resourceRules: Record<string, string[]>[] };
    matchConditions: { name: string; expression: string }[];
    variables: { name: string; expression: string }[];
    validations: { expression: string; message: string; reason: string }[];
  };
}
interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  subjects?: { kind: string; name: string; namespace: string }[];
  roleRef?: { kind: string; name: string };
}

const docs = loadAllYaml(readFileSync(join(DIR, 'bootstrap-token-policy.yaml'), 'utf8')) as Doc[];
const policy = docs.find((d) => d.kind === 'ValidatingAdmissionPolicy') as unknown as Policy;
const binding = docs.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding') as Doc;
const rbac = loadAllYaml(readFileSync(join(DIR, 'bootstrap-token-rbac.yaml'), 'utf8')) as Doc[];
const kustomization = loadAllYaml(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0] as {
  namespace: string;
  resources: string[];
};

type Secret = Record<string, unknown> & { metadata: Record<string, unknown>; data?: Record<string, unknown> };

/** The Secret as CEL sees it at admission: `data` values as bytes. */
function asAdmitted(secret: Record<string, unknown>): Secret {
  const s = structuredClone(secret) as Secret;
  if (s.data)
    s.data = Object.fromEntries(
      Object.entries(s.data).map(([k, v]) => [k, new Uint8Array(Buffer.from(String(v), 'base64'))]),
    );
  return s;
}

const agentToken = () =>
  asAdmitted(bootstrapTokenSecret('abc123', '0123456789abcdef', new Date('2026-03-14T09:40:00Z')));
const bytes = (s: string) => new TextEncoder().encode(s);

function admit(r: {
  operation: 'CREATE' | 'DELETE';
  secret: Secret;
  namespace?: string;
  username?: string;
}): 'not-matched' | 'allowed' | string[] {
  const base = {
    request: {
      operation: r.operation,
      namespace: r.namespace ?? 'kube-system',
      userInfo: { username: r.username ?? AGENT_USER },
    },
    object: r.operation === 'CREATE' ? r.secret : null,
    oldObject: r.operation === 'DELETE' ? r.secret : null,
  };
  if (!policy.spec.matchConditions.every((c) => evaluate(c.expression, base) === true)) return 'not-matched';
  const variables: Record<string, unknown> = {};
  for (const v of policy.spec.variables) variables[v.name] = evaluate(v.expression, { ...base, variables });
  const ctx = { ...base, variables };
  const failed = policy.spec.validations
    .filter((x) => evaluate(x.expression, ctx) !== true)
    .map((x) => x.message);
  return failed.length === 0 ? 'allowed' : failed;
}

describe('deploy/kube-system (bootstrap tokens)', () => {
  it('grants create and delete of Secrets in kube-system only, bound to the agent, applied in kube-system', () => {
    const role = rbac.find((d) => d.kind === 'Role');
    expect(role?.metadata).toEqual({ name: 'k3s-burst-agent-bootstrap-token', namespace: 'kube-system' });
    expect(role?.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete'] }]);
    const rb = rbac.find((d) => d.kind === 'RoleBinding');
    expect(rb?.metadata.namespace).toBe('kube-system');
    expect(rb?.roleRef).toMatchObject({ kind: 'Role', name: 'k3s-burst-agent-bootstrap-token' });
    expect(rb?.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'k3s-burst-agent', namespace: 'k3s-burst' },
    ]);
    expect(kustomization.namespace).toBe('kube-system');
    expect([...kustomization.resources].sort()).toEqual([
      'bootstrap-token-policy.yaml',
      'bootstrap-token-rbac.yaml',
    ]);
  });

  it('is a Deny-bound v1 policy on Secret create and delete', () => {
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConstraints.resourceRules).toEqual([
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'DELETE'], resources: ['secrets'] },
    ]);
    expect(binding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });
    for (const v of policy.spec.validations) expect(v.reason).toBe('Forbidden');
  });

  it('lets the agent create the token it mints and delete it again', () => {
    expect(admit({ operation: 'CREATE', secret: agentToken() })).toBe('allowed');
    expect(admit({ operation: 'DELETE', secret: agentToken() })).toBe('allowed');
  });

  it('does not apply to anyone else (people running k3s token create, controllers)', () => {
    const other = agentToken();
    other.type = 'Opaque';
    expect(admit({ operation: 'CREATE', secret: other, username: 'kubernetes-admin' })).toBe('not-matched');
    expect(
      admit({
        operation: 'DELETE',
        secret: other,
        username: 'system:serviceaccount:kube-system:tokencleaner',
      }),
    ).toBe('not-matched');
  });

  const refusals: [string, 'CREATE' | 'DELETE', (s: Secret) => void, RegExp, string?][] = [
    ['an Opaque Secret', 'CREATE', (s) => (s.type = 'Opaque'), /only bootstrap-token Secrets/],
    [
      'another Secret name',
      'CREATE',
      (s) => (s.metadata.name = 'k3s-serving'),
      /only bootstrap-token Secrets/,
    ],
    ['a Secret outside kube-system', 'CREATE', () => {}, /only bootstrap-token Secrets/, 'default'],
    [
      'deleting a token someone else made (no minted-by label)',
      'DELETE',
      (s) => delete s.metadata.labels,
      /labelled k3s-burst.io\/minted-by=k3s-burst-agent/,
    ],
    [
      'deleting a K3s server Secret',
      'DELETE',
      (s) => {
        s.type = 'kubernetes.io/tls';
        s.metadata.name = 'k3s-serving';
      },
      /only bootstrap-token Secrets/,
    ],
    [
      'a token in the kubeadm node group',
      'CREATE',
      (s) =>
        ((s.data as Record<string, unknown>)['auth-extra-groups'] = bytes(
          'system:bootstrappers:kubeadm:default-node-token',
        )),
      /only the group system:bootstrappers:k3s:default-node-token/,
    ],
    [
      'a token with the signing usage',
      'CREATE',
      (s) => ((s.data as Record<string, unknown>)['usage-bootstrap-signing'] = bytes('true')),
      /authentication only/,
    ],
    [
      'a token without expiration',
      'CREATE',
      (s) => delete (s.data as Record<string, unknown>).expiration,
      /must expire/,
    ],
    [
      'a token whose id does not match its name',
      'CREATE',
      (s) => ((s.data as Record<string, unknown>)['token-id'] = bytes('zzz999')),
      /must expire/,
    ],
  ];
  it.each(refusals)('refuses %s', (_what, operation, change, message, namespace) => {
    const s = agentToken();
    change(s);
    const verdict = admit({ operation, secret: s, ...(namespace ? { namespace } : {}) });
    expect(Array.isArray(verdict) && verdict.some((m) => message.test(m)), JSON.stringify(verdict)).toBe(
      true,
    );
  });
});
