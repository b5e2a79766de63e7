/**
 * deploy/: the kustomize base and the Dockerfile say what the issue asks — checked on the text,
 * since there is no kubectl or Docker engine here.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { AGENT_USAGE, parseAgentConfig } from '../../../lib/agent/config.js';
import { NODE_MAJOR } from '../../../lib/node-runtime.js';

const DEPLOY = join(import.meta.dirname, '..', '..', '..', 'deploy');
const read = (f: string) => readFileSync(join(DEPLOY, f), 'utf8');

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string; port: string | number } };
  readinessProbe: { httpGet: { path: string; port: string | number } };
  ports: { name: string; containerPort: number }[];
}
interface Deployment {
  kind: 'Deployment';
  spec: {
    template: {
      spec: {
        securityContext: Record<string, unknown>;
        containers: Container[];
        tolerations?: unknown[];
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: { matchExpressions: { key: string; operator: string }[] }[];
            };
          };
        };
      };
    };
  };
}

const kustomization = loadAllYaml(read('kustomization.yaml'))[0] as {
  resources: string[];
  namespace: string;
  configMapGenerator: { name: string; literals: string[] }[];
  images: { name: string }[];
};
const docs = kustomization.resources.flatMap((f) => loadAllYaml(read(f)) as { kind: string }[]);
const deployment = docs.find((d) => d.kind === 'Deployment') as unknown as Deployment;
const pod = deployment.spec.template.spec;
const agent = pod.containers[0] as Container;

const cpuMilli = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);
const mib = (q: string) =>
  q.endsWith('Mi') ? Number(q.slice(0, -2)) : q.endsWith('Gi') ? Number(q.slice(0, -2)) * 1024 : Number.NaN;

describe('deploy/ kustomize base', () => {
  it('lists every manifest in deploy/ and puts everything in the k3s-burst namespace', () => {
    const yamls = readdirSync(DEPLOY).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(yamls.sort());
    expect(kustomization.namespace).toBe('k3s-burst');
    expect(docs.map((d) => d.kind).sort()).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'Deployment',
        'Namespace',
        'Role',
        'RoleBinding',
        'ServiceAccount',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
      ].sort(),
    );
  });

  it('commits no Secret and no credential values, only a reference to the k3s-burst-aws Secret', () => {
    expect(docs.some((d) => d.kind === 'Secret')).toBe(false);
    expect(kustomization).not.toHaveProperty('secretGenerator');
    for (const f of readdirSync(DEPLOY, { recursive: true, encoding: 'utf8' }).filter((x) =>
      statSync(join(DEPLOY, x)).isFile(),
    ))
      expect(read(f)).not.toMatch(/AKIA[0-9A-Z]{16}|aws_secret_access_key\s*=/i);
    expect(agent.envFrom).toContainEqual({ secretRef: { name: 'k3s-burst-aws' } });
    expect(agent.env?.map((e) => e.name)).not.toContain('AWS_SECRET_ACCESS_KEY');
  });

  it('runs non-root with a read-only root filesystem and no privilege escalation', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.securityContext.runAsUser).not.toBe(0);
    expect(agent.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('is sized for a Pi: requests ≤ 50m CPU / 64 Mi, with limits', () => {
    expect(cpuMilli(agent.resources.requests.cpu as string)).toBeLessThanOrEqual(50);
    expect(mib(agent.resources.requests.memory as string)).toBeLessThanOrEqual(64);
    expect(cpuMilli(agent.resources.limits.cpu as string)).toBeGreaterThan(0);
    // the limit leaves room above the 80 MiB RSS budget (bench agent.rss-mib.*)
    expect(mib(agent.resources.limits.memory as string)).toBeGreaterThanOrEqual(128);
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the metrics port', () => {
    expect(agent.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(agent.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(agent.ports).toContainEqual(expect.objectContaining({ name: 'metrics', containerPort: 8080 }));
    expect(agent.env).toContainEqual({ name: 'K3S_BURST_METRICS_PORT', value: '8080' });
  });

  it('is never scheduled on a managed (cloud) node', () => {
    const terms = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    expect(terms.length).toBeGreaterThan(0);
    // every term (they are ORed) must exclude managed nodes
    for (const t of terms)
      expect(t.matchExpressions).toContainEqual({ key: 'k3s-burst.io/managed', operator: 'DoesNotExist' });
    expect(pod.tolerations ?? []).toEqual([]);
  });

  it('configures only variables the agent reads, and that configuration validates', () => {
    const known = new Set([...AGENT_USAGE.matchAll(/\s([A-Z][A-Z0-9_]+)\s/g)].map((m) => m[1]));
    const literals = Object.fromEntries(
      (kustomization.configMapGenerator[0]?.literals ?? []).map((l) => l.split('=') as [string, string]),
    );
    const names = [...Object.keys(literals), ...(agent.env ?? []).map((e) => e.name)];
    for (const n of names) if (n !== 'NODE_OPTIONS') expect(known, n).toContain(n);
    // With the values the user's Secret adds, the configuration parses
    const env = {
      ...literals,
      ...Object.fromEntries((agent.env ?? []).filter((e) => e.value).map((e) => [e.name, e.value])),
      POD_NAME: 'k3s-burst-agent-7d9f-x2',
      POD_NAMESPACE: 'k3s-burst',
      AWS_REGION: 'eu-central-1',
      K3S_BURST_EVENT_BUS: 'k3s-burst-my-cluster',
      K3S_BURST_QUEUE_URL:
        'https://sqs.eu-central-1.amazonaws.com/123456789012/k3s-burst-my-cluster-commands',
    };
    expect(parseAgentConfig([], env)).toMatchObject({
      leaderElect: true,
      metricsPort: 8080,
      identity: 'k3s-burst-agent-7d9f-x2',
    });
    expect(agent.args).toEqual(['agent']);
    expect(kustomization.images.map((i) => i.name)).toContain(agent.image);
  });
});

function kubectlKustomize(): string | undefined {
  try {
    return execFileSync('kubectl', ['kustomize', DEPLOY], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: 'pipe',
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

describe('`kubectl kustomize deploy/` (what `kubectl apply -k` applies)', () => {
  const rendered = kubectlKustomize();
  it.skipIf(rendered === undefined)(
    'keeps the RBAC rules as written and wires the generated ConfigMap and image',
    () => {
      const out = loadAllYaml(rendered as string) as {
        kind: string;
        metadata: { name: string; namespace?: string };
        rules?: unknown[];
      }[];
      // kustomize rewrites names it thinks are references (a Role's resourceNames matching a
      // generated ConfigMap would get its hash suffix): the rules must come out unchanged
      for (const kind of ['ClusterRole', 'Role']) {
        const source = docs.find((d) => d.kind === kind) as unknown as { rules: unknown[] };
        expect(out.find((d) => d.kind === kind)?.rules).toEqual(source.rules);
      }
      const cm = out.find((d) => d.kind === 'ConfigMap');
      expect(cm?.metadata.name).toMatch(/^k3s-burst-agent-config-[a-z0-9]{10}$/);
      const dep = out.find((d) => d.kind === 'Deployment') as unknown as Deployment;
      const c = dep.spec.template.spec.containers[0] as Container;
      expect(c.envFrom).toContainEqual({ configMapRef: { name: cm?.metadata.name } });
      expect(c.image).toBe('ghcr.io/k3s-burst/agent:0.1.0');
      for (const d of out.filter((x) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(x.kind)))
        expect(d.metadata.namespace, `${d.kind}/${d.metadata.name}`).toBe('k3s-burst');
    },
  );
});

describe('deploy/Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = text.split(/^FROM /m).slice(1);
  const final = stages[stages.length - 1] as string;

  it('builds on a small Node.js base of the shipped major (lib/node-runtime.ts), multi-arch friendly', () => {
    expect(final.startsWith(`node:${NODE_MAJOR}-alpine\n`)).toBe(true);
    expect(stages[0]).toMatch(/^--platform=\$BUILDPLATFORM /);
  });

  it('ships only the bundle (no node_modules, no dev dependencies) and runs as non-root', () => {
    expect(final).not.toMatch(/npm (ci|install)|node_modules/);
    expect(final).toMatch(/COPY --from=build \/out\/agent\.mjs/);
    const user = /^USER (\S+)/m.exec(final)?.[1] ?? 'root';
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
  });

  it('runs `k3s-burst agent`', () => {
    expect(final).toMatch(/ENTRYPOINT \["node", "--enable-source-maps", "\/app\/agent\.mjs"\]/);
    expect(final).toMatch(/CMD \["agent"\]/);
    expect(text).toMatch(/esbuild bin\/agent\.ts --bundle/);
    expect(text).toMatch(/^COPY bin\/agent\.ts \.\/bin\/agent\.ts$/m);
  });
});
