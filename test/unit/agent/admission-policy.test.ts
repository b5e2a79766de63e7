/**
 * deploy/admission-policy.yaml: the ValidatingAdmissionPolicy that keeps the agent's service
 * account off the Pis at the API server (issue #12 item 6). There is no API server here, so
 * the manifest is checked for its structure (admissionregistration.k8s.io/v1 fields) and its
 * CEL expressions are evaluated with a CEL interpreter (@marcbachmann/cel-js) against
 * requests the agent makes (cordon, uncordon, delete of a managed node) and requests it must
 * never get through (anything on a Pi, any other field of a managed node). The interpreter is
 * standard CEL, not Kubernetes' (no type checking against the Node schema, no Kubernetes
 * extension libraries): the expressions use only standard CEL so both agree, and the first
 * `kubectl apply` on a real cluster type-checks them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { evaluate } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { Labels } from '../../../lib/events/index.js';

const DEPLOY = join(import.meta.dirname, '..', '..', '..', 'deploy');
const AGENT_USER = 'system:serviceaccount:k3s-burst:k3s-burst-agent';

interface Policy {
  apiVersion: string;
  kind: 'ValidatingAdmissionPolicy';
  metadata: { name: string };
  spec: {
    failurePolicy: string;
    matchConstraints: {
      resourceRules: {
        apiGroups: string[];
        apiVersions: string[];
        operations: string[];
        resources: string[];
      }[];
    };
    matchConditions: { name: string; expression: string }[];
    validations: { expression: string; message: string; reason: string }[];
  };
}
interface Binding {
  apiVersion: string;
  kind: 'ValidatingAdmissionPolicyBinding';
  metadata: { name: string };
  spec: { policyName: string; validationActions: string[] };
}

const docs = loadAllYaml(readFileSync(join(DEPLOY, 'admission-policy.yaml'), 'utf8')) as (Policy | Binding)[];
const policy = docs.find((d): d is Policy => d.kind === 'ValidatingAdmissionPolicy') as Policy;
const binding = docs.find((d): d is Binding => d.kind === 'ValidatingAdmissionPolicyBinding') as Binding;

type Node = { metadata: Record<string, unknown>; spec: Record<string, unknown> };

const managed = (name = 'burst-i-0abc'): Node => ({
  metadata: {
    name,
    labels: { [Labels.managed]: 'true', 'k3s-burst.io/cluster': 'pi-lab', 'kubernetes.io/arch': 'arm64' },
    annotations: { 'flannel.alpha.coreos.com/public-ip': '100.64.0.9' },
  },
  spec: { providerID: 'aws:///eu-central-1a/i-0abc', podCIDR: '10.42.3.0/24', podCIDRs: ['10.42.3.0/24'] },
});
const pi = (): Node => ({
  metadata: { name: 'pi-node-1', labels: { 'kubernetes.io/arch': 'arm64' } },
  spec: { providerID: 'k3s://pi-node-1', podCIDR: '10.42.0.0/24' },
});

interface Request {
  operation: 'UPDATE' | 'DELETE';
  username?: string;
  oldObject: Node;
  object: Node | null;
}

const vars = (r: Request) => ({
  request: { operation: r.operation, userInfo: { username: r.username ?? AGENT_USER } },
  object: r.object,
  oldObject: r.oldObject,
});

/** What the API server would answer: not matched, allowed, or denied with the failed messages. */
function admit(r: Request): 'not-matched' | 'allowed' | string[] {
  const v = vars(r);
  if (!policy.spec.matchConditions.every((c) => evaluate(c.expression, v) === true)) return 'not-matched';
  const failed = policy.spec.validations
    .filter((x) => evaluate(x.expression, v) !== true)
    .map((x) => x.message);
  return failed.length === 0 ? 'allowed' : failed;
}

const update = (old: Node, change: (n: Node) => void, username?: string): Request => {
  const next = structuredClone(old);
  change(next);
  return { operation: 'UPDATE', oldObject: old, object: next, username };
};

describe('deploy/admission-policy.yaml', () => {
  it('is an admissionregistration.k8s.io/v1 policy on Node updates and deletes, bound with Deny', () => {
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConstraints.resourceRules).toEqual([
      { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE', 'DELETE'], resources: ['nodes'] },
    ]);
    expect(binding.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(binding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });
    for (const v of policy.spec.validations) expect(v.reason).toBe('Forbidden');
  });

  it("applies to the agent's service account only (the one deploy/rbac.yaml binds)", () => {
    const rbac = readFileSync(join(DEPLOY, 'rbac.yaml'), 'utf8');
    expect(rbac).toContain('name: k3s-burst-agent\n    namespace: k3s-burst');
    expect(admit(update(pi(), (n) => (n.spec.unschedulable = true), 'system:node:pi-node-1'))).toBe(
      'not-matched',
    );
    expect(admit(update(pi(), (n) => (n.spec.unschedulable = true), 'kubernetes-admin'))).toBe('not-matched');
  });

  it('lets the agent cordon, uncordon and delete a managed node', () => {
    const cordoned = update(managed(), (n) => (n.spec.unschedulable = true));
    expect(admit(cordoned)).toBe('allowed');
    expect(admit(update(cordoned.object as Node, (n) => (n.spec.unschedulable = false)))).toBe('allowed');
    expect(admit({ operation: 'DELETE', oldObject: managed(), object: null })).toBe('allowed');
  });

  it('refuses any change to or deletion of a node that is not labelled managed', () => {
    const notOurs = /only Nodes labelled k3s-burst.io\/managed=true/;
    for (const r of [
      update(pi(), (n) => (n.spec.unschedulable = true)),
      { operation: 'DELETE', oldObject: pi(), object: null } as Request,
    ]) {
      const verdict = admit(r);
      expect(
        Array.isArray(verdict) && verdict.some((m) => notOurs.test(m)),
        JSON.stringify(r.oldObject),
      ).toBe(true);
    }
    // relabelling a managed node to unmanaged is a label change: refused (next test)
    expect(admit(update(managed(), (n) => (n.metadata.labels = { [Labels.managed]: 'false' })))).not.toBe(
      'allowed',
    );
    const falseLabel = managed();
    (falseLabel.metadata.labels as Record<string, string>)[Labels.managed] = 'false';
    expect(admit({ operation: 'DELETE', oldObject: falseLabel, object: null })).not.toBe('allowed');
    const noLabels = managed();
    delete noLabels.metadata.labels;
    expect(admit({ operation: 'DELETE', oldObject: noLabels, object: null })).not.toBe('allowed');
  });

  it('refuses any change to a managed node other than spec.unschedulable', () => {
    const onlyCordon = /only spec.unschedulable/;
    const changes: [string, (n: Node) => void][] = [
      [
        'remove the managed label',
        (n) => delete (n.metadata.labels as Record<string, string>)[Labels.managed],
      ],
      ['add a label', (n) => ((n.metadata.labels as Record<string, string>).role = 'db')],
      ['drop every label', (n) => delete n.metadata.labels],
      ['change an annotation', (n) => ((n.metadata.annotations as Record<string, string>)['x'] = 'y')],
      ['add a taint', (n) => (n.spec.taints = [{ key: 'k', effect: 'NoSchedule' }])],
      ['change the providerID', (n) => (n.spec.providerID = 'k3s://pi-node-1')],
      ['change the pod CIDR', (n) => (n.spec.podCIDR = '10.42.9.0/24')],
      ['change the pod CIDRs', (n) => (n.spec.podCIDRs = ['10.42.9.0/24'])],
      ['add a finalizer', (n) => (n.metadata.finalizers = ['example.com/keep'])],
      ['add an owner', (n) => (n.metadata.ownerReferences = [{ kind: 'X', name: 'y' }])],
    ];
    const tainted = managed();
    tainted.spec.taints = [{ key: 'k3s-burst.io/cloud', value: 'true', effect: 'NoSchedule' }];
    expect(
      admit(
        update(tainted, (n) => {
          n.spec.unschedulable = true;
          n.spec.taints = [];
        }),
      ),
      'remove a taint',
    ).not.toBe('allowed');
    expect(admit(update(tainted, (n) => (n.spec.unschedulable = true))), 'cordon a tainted node').toBe(
      'allowed',
    );
    for (const [what, change] of changes) {
      const verdict = admit(
        update(managed(), (n) => {
          n.spec.unschedulable = true;
          change(n);
        }),
      );
      expect(Array.isArray(verdict) && verdict.some((m) => onlyCordon.test(m)), what).toBe(true);
    }
  });
});
