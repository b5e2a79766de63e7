/**
 * Claims in README.md and docs/*.md that code can check, checked against the code:
 * - every `k3s-burst <command> --<flag>` exists in that command's `--help`, and shell lines
 *   run the CLI as `npx k3s-burst` (it is not on PATH after `npm ci`);
 * - the stack name, log groups, alarm names and agent metric names the docs quote are the
 *   ones the code and the synthesized stack use;
 * - the NotHelpable reasons quoted in docs/troubleshooting.md are what the planner writes;
 * - the test Deployment of docs/deploy.md cannot run on any Pi and makes the planner launch;
 * - the agent bundle size docs/agent.md quotes is the size of the bundle the image runs.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../bin/cli.js';
import { MetricNames } from '../../../lib/agent/metrics.js';
import { type RawNode, type RawPod, slimNode, slimPod } from '../../../lib/agent/model.js';
import { buildSnapshot } from '../../../lib/agent/snapshot-builder.js';
import { resolveClaims, type SlimStorageClass, type VolumeLookup } from '../../../lib/agent/volumes.js';
import type { CliIo, CommandRun } from '../../../lib/cli/io.js';
import { loadConfig } from '../../../lib/core/index.js';
import { planCluster } from '../../../lib/core/plan.js';
import { ClusterSnapshot, type Config } from '../../../lib/events/index.js';
import { stackNameFor as infraStackNameFor } from '../../../lib/infra/index.js';
import { stackNameFor } from '../../../lib/ops/deployment.js';
import { bundleAgent } from '../../support/fake-k8s/agent-process.js';
import { makeConfig, shape, snapshot } from '../../unit/core/fixtures.js';
import { defaultTemplate, repoRoot } from '../../unit/infra/support.js';

const DOC_FILES = [
  'README.md',
  ...[
    'adapters',
    'agent',
    'architecture',
    'comparison',
    'deploy',
    'iam',
    'nodes',
    'operations',
    'security',
    'troubleshooting',
  ].map((d) => `docs/${d}.md`),
];
const docs = new Map(DOC_FILES.map((f) => [f, readFileSync(join(repoRoot, f), 'utf8')]));
const doc = (f: string) => docs.get(f) ?? '';

/** Code in a markdown text: fenced blocks line by line (backslash continuations joined), and inline spans. */
function codeOf(text: string): { code: string; fenced: boolean }[] {
  const out: { code: string; fenced: boolean }[] = [];
  const parts = text.split(/(```[\s\S]*?```)/);
  for (const part of parts) {
    if (part.startsWith('```mermaid')) continue; // diagrams name components, they are not commands
    if (part.startsWith('```')) {
      const body = part.replace(/^```[^\n]*\n/, '').replace(/```$/, '');
      for (const line of body.replace(/\\\n\s*/g, ' ').split('\n')) out.push({ code: line, fenced: true });
    } else {
      for (const m of part.matchAll(/`([^`\n]+)`/g)) out.push({ code: m[1] as string, fenced: false });
    }
  }
  return out;
}

const COMMANDS = [
  'plan',
  'simulate',
  'demo',
  'render-userdata',
  'agent',
  'status',
  'doctor',
  'verify',
  'bake',
  'pause',
  'resume',
] as const;
/** `k3s-burst <command> <args…>` up to a shell separator or a comment; not output lines (`k3s-burst doctor: …`). */
const INVOCATION = new RegExp(
  `(npx )?(?<![\\w/.-])k3s-burst (${COMMANDS.join('|')})(?!:)\\b([^|;&#\`]*)`,
  'g',
);

interface Invocation {
  file: string;
  command: string;
  npx: boolean;
  args: string;
  fenced: boolean;
  text: string;
}
const invocations: Invocation[] = [];
for (const [file, text] of docs) {
  for (const { code, fenced } of codeOf(text)) {
    for (const m of code.matchAll(INVOCATION)) {
      invocations.push({
        file,
        npx: m[1] !== undefined,
        command: m[2] as string,
        args: (m[3] as string).trim(),
        fenced,
        text: m[0],
      });
    }
  }
}

/** Each command's module, imported directly (the dispatcher's computed import is for Node, not Vite). */
const MODULES: Record<(typeof COMMANDS)[number], () => Promise<{ run: CommandRun }>> = {
  plan: () => import('../../../lib/cli/plan.js'),
  simulate: () => import('../../../lib/cli/simulate.js'),
  demo: () => import('../../../lib/cli/demo.js'),
  'render-userdata': () => import('../../../lib/cli/render-userdata.js'),
  agent: () => import('../../../lib/cli/agent.js'),
  status: () => import('../../../lib/cli/status.js'),
  doctor: () => import('../../../lib/cli/doctor.js'),
  verify: () => import('../../../lib/cli/verify.js'),
  bake: () => import('../../../lib/cli/bake.js'),
  pause: () => import('../../../lib/cli/pause.js'),
  resume: () => import('../../../lib/cli/resume.js'),
};

function captured(): { io: CliIo; text: () => string } {
  let out = '';
  const io: CliIo = {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      out += t;
    },
    cwd: repoRoot,
    env: {},
    isTTY: false,
  };
  return { io, text: () => out };
}

async function helpOf(command: (typeof COMMANDS)[number]): Promise<string> {
  const { io, text } = captured();
  const code = await (await MODULES[command]()).run(['--help'], io);
  if (code !== 0) throw new Error(`k3s-burst ${command} --help exited ${code}: ${text()}`);
  return text();
}

describe('CLI commands the docs show', () => {
  it('the dispatcher lists every command the docs use', async () => {
    const { io, text } = captured();
    await main(['--help'], io);
    for (const command of COMMANDS) expect(text()).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('finds the invocations (the scan itself works)', () => {
    expect(invocations.length).toBeGreaterThan(30);
    expect(new Set(invocations.map((i) => i.command))).toContain('pause');
  });

  it('every --flag written after k3s-burst <command> is in that command’s --help', async () => {
    const missing: string[] = [];
    const helps = new Map<string, string>();
    for (const command of COMMANDS) helps.set(command, await helpOf(command));
    for (const inv of invocations) {
      for (const flag of inv.args.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? []) {
        const help = helps.get(inv.command as (typeof COMMANDS)[number]) ?? '';
        if (!new RegExp(`(^|[\\s,\\[])${flag}(?![\\w-])`, 'm').test(help)) {
          missing.push(
            `${inv.file}: "${inv.text.trim()}" — ${flag} is not an option of k3s-burst ${inv.command}`,
          );
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('commands to run are written npx k3s-burst (the CLI is not on PATH after npm ci)', () => {
    // A shell line, or an inline span with arguments, is a command to type; a bare
    // `k3s-burst status` in prose is the command's name.
    const bare = invocations
      .filter((i) => !i.npx && (i.fenced || i.args.length > 0))
      .map((i) => `${i.file}: ${i.text.trim()}`);
    expect(bare).toEqual([]);
  });
});

describe('names the docs quote', () => {
  let alarmNames: string[];
  let logGroups: string[];
  beforeAll(() => {
    const template = defaultTemplate();
    const props = (type: string, key: string) =>
      Object.values(template.findResources(type)).map(
        (r) => (r as { Properties: Record<string, unknown> }).Properties[key],
      );
    alarmNames = props('AWS::CloudWatch::Alarm', 'AlarmName').filter(
      (n) => typeof n === 'string',
    ) as string[];
    logGroups = props('AWS::Logs::LogGroup', 'LogGroupName').filter((n) => typeof n === 'string') as string[];
    expect(alarmNames.length).toBeGreaterThan(3);
    expect(logGroups.some((g) => g.startsWith('/aws/lambda/'))).toBe(true);
  });

  /** A documented name with placeholders as a regex: `<cluster>`/`$CLUSTER` is pi-lab (the example config), other `<…>` any word. */
  const pattern = (documented: string) =>
    new RegExp(
      `^${documented
        .replace(/<cluster>|\$CLUSTER|\$\{CLUSTER\}/g, '§CLUSTER§')
        .replace(/<[a-z-]+>|…|\*/g, '§ANY§')
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replace(/§CLUSTER§/g, 'pi-lab')
        .replace(/§ANY§/g, '[A-Za-z0-9-]+')}$`,
    );

  it('the stack is K3sBurst-<cluster> everywhere (ops and infra agree)', () => {
    expect(stackNameFor('pi-lab')).toBe(infraStackNameFor('pi-lab'));
    const found: string[] = [];
    for (const [file, text] of docs) {
      for (const m of text.matchAll(
        /(?:stack name|stack|--stack-name|STACK=)\s*`?"?([A-Za-z0-9$<>{}_-]*(?:[Kk]3s-?[Bb]urst)[A-Za-z0-9$<>{}_-]*)/g,
      )) {
        const name = m[1] as string;
        if (name === 'k3s-burst' || /\.md$/.test(name)) continue;
        found.push(name);
        expect(pattern(name).test(stackNameFor('pi-lab')), `${file}: stack name ${name}`).toBe(true);
      }
    }
    expect(found.length).toBeGreaterThan(3);
  });

  it('log groups are the ones the stack creates', () => {
    const quoted = [...docs].flatMap(([file, text]) =>
      [...text.matchAll(/\/aws\/lambda\/([A-Za-z0-9$<>{}_*…-]+)/g)].map((m) => ({ file, name: m[0] })),
    );
    expect(quoted.length).toBeGreaterThan(1);
    for (const { file, name } of quoted) {
      if (name === '/aws/lambda/…') continue;
      // A prefix (`--log-group-name-prefix /aws/lambda/k3s-burst-$CLUSTER`) or a pattern must match a real group.
      const re = pattern(name);
      const prefix =
        !/[*…]|<[a-z]+>$/.test(name) &&
        logGroups.some((g) => g.startsWith(name.replace('$CLUSTER', 'pi-lab')));
      expect(
        prefix || logGroups.some((g) => re.test(g)),
        `${file}: ${name} is not a log group of the stack`,
      ).toBe(true);
    }
  });

  it('alarm names are the ones the stack creates', () => {
    const quoted = [...docs].flatMap(([file, text]) =>
      [...text.matchAll(/`(k3s-burst-<cluster>-[a-z<>-]+)`/g)].map((m) => ({ file, name: m[1] as string })),
    );
    const alarms = quoted.filter((q) => /errors|silent|failures|dlq/.test(q.name));
    expect(alarms.length).toBeGreaterThan(4);
    for (const { file, name } of alarms) {
      expect(
        alarmNames.some((a) => pattern(name).test(a)),
        `${file}: alarm ${name} (the stack has ${alarmNames.join(', ')})`,
      ).toBe(true);
    }
  });

  it('agent metric names are the ones the agent exports', () => {
    const known = new Set(Object.values(MetricNames));
    const quoted = [...docs.values()].flatMap((t) =>
      [...t.matchAll(/k3s_burst_agent_[a-z_]+/g)].map((m) => m[0]),
    );
    expect(quoted.length).toBeGreaterThan(10);
    expect(quoted.filter((q) => !known.has(q as never))).toEqual([]);
    // The stage histogram has no agent_ prefix (it times bursts, not the agent).
    const stages = [...docs.values()].flatMap((t) =>
      [...t.matchAll(/k3s_burst_stage_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')),
    );
    expect(stages.length).toBeGreaterThan(0);
    expect(stages.filter((q) => !known.has(q as never))).toEqual([]);
  });
});

/** Shapes carrying the volume issues the agent's own resolver writes (lib/agent/volumes.ts). */
function volumeIssueShapes() {
  const lookup = (synced: boolean, classes: SlimStorageClass[]): VolumeLookup => ({
    synced: () => synced,
    claim: (key) =>
      key === 'media/uploads'
        ? { key, volumeName: '', storageClassName: 'nfs', phase: 'Pending' }
        : undefined,
    volume: () => undefined,
    storageClass: (name) => classes.find((c) => c.name === name),
  });
  const nfs: SlimStorageClass = {
    name: 'nfs',
    provisioner: 'nfs.csi.k8s.io',
    waitForFirstConsumer: false,
    allowedTopologies: [],
  };
  const cases: [string, VolumeLookup, string][] = [
    ['missing', lookup(true, []), 'cache-0'],
    ['immediate', lookup(true, [nfs]), 'uploads'],
    ['unresolved', lookup(false, []), 'uploads'],
  ];
  return cases.map(([id, v, claim]) => {
    const c = resolveClaims('media', [claim], v);
    if (c.ok) throw new Error(`expected a volume issue for ${id}`);
    return shape({ id: `volume-${id}`, volumeIssue: { code: c.code, claim: c.claim, message: c.text } });
  });
}

describe('NotHelpable reasons in docs/troubleshooting.md', () => {
  it('are what the planner writes (… stands for the variable part)', () => {
    // Given pending shapes that hit each reason, with the example config's candidate types
    const config = makeConfig();
    const pi = 'pi-node-1';
    const plan = planCluster({
      config,
      snapshot: snapshot({
        pendingShapes: [
          shape({ id: 'pinned', nodeSelector: { 'kubernetes.io/hostname': pi } }),
          shape({ id: 'local', usesLocalVolume: true }),
          shape({ id: 'big', cpuMilli: 64_000, memoryMiB: 1024 }),
          shape({ id: 'taint', tolerations: [] }),
          shape({ id: 'arch', nodeSelector: { 'kubernetes.io/arch': 'amd64' } }),
          ...volumeIssueShapes(),
        ],
      }),
      fleet: { instances: [], inFlight: [], drains: [], unavailableOfferings: [] },
      now: new Date('2026-03-16T09:30:00Z'),
      decisionId: 'pi-lab-docs',
    });
    const reasons = plan.unhelpable.map((u) => u.reason);
    expect(reasons).toHaveLength(8);

    // Then every italic reason the section quotes matches one of them
    const section =
      doc('docs/troubleshooting.md').split('## A pod stays Pending')[1]?.split('\n2. ')[0] ?? '';
    const quoted = [...section.matchAll(/- _([^_]+)_:/g)].map((m) => (m[1] as string).replace(/\s+/g, ' '));
    expect(quoted).toHaveLength(8);
    for (const q of quoted) {
      const re = new RegExp(
        `^${q
          .split('…')
          .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
      expect(
        reasons.some((r) => re.test(r)),
        `"${q}" is not a reason the planner writes:\n${reasons.join('\n')}`,
      ).toBe(true);
    }
  });
});

describe('the test Deployment of docs/deploy.md', () => {
  it('cannot run on any Raspberry Pi, and the planner launches for it with the example config', () => {
    // Given the Deployment exactly as documented
    const yamlBlock = /```yaml\n# burst-test\.yaml\n([\s\S]*?)```/.exec(doc('docs/deploy.md'))?.[1];
    expect(yamlBlock).toBeDefined();
    const deployment = loadAllYaml(yamlBlock ?? '')[0] as {
      spec: {
        replicas: number;
        template: { metadata: { labels: Record<string, string> }; spec: RawPod['spec'] };
      };
    };
    const requests = deployment.spec.template.spec?.containers?.[0]?.resources?.requests ?? {};
    // The largest Raspberry Pi (4, 5) has 4 cores: a pod requesting more never fits one, even idle.
    const PI_MAX_CORES = 4;
    expect(Number(requests.cpu)).toBeGreaterThan(PI_MAX_CORES);

    // When its pods are pending (as the scheduler leaves them) next to three idle Pis, and the
    // agent's snapshot builder and the planner see them
    const pods: RawPod[] = Array.from({ length: deployment.spec.replicas }, (_, i) => ({
      metadata: {
        name: `burst-test-${i}`,
        namespace: 'default',
        uid: `uid-${i}`,
        labels: deployment.spec.template.metadata.labels,
        ownerReferences: [{ kind: 'ReplicaSet', name: 'burst-test-rs', uid: 'rs', controller: true }],
        creationTimestamp: '2026-03-16T09:29:00Z',
      },
      spec: deployment.spec.template.spec,
      status: {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }],
      },
    }));
    const nodes: RawNode[] = [1, 2, 3].map((i) => ({
      metadata: { name: `pi-node-${i}`, uid: `n${i}`, labels: { 'kubernetes.io/arch': 'arm64' } },
      spec: { providerID: `k3s://pi-node-${i}` },
      status: {
        allocatable: { cpu: String(PI_MAX_CORES), memory: '7800Mi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    }));
    const config: Config = loadConfig(
      JSON.parse(readFileSync(join(repoRoot, 'examples', 'k3s-burst.config.json'), 'utf8')),
      'example',
    );
    const built = buildSnapshot({
      cluster: config.cluster.name,
      seq: 1,
      observedAt: '2026-03-16T09:30:00Z',
      agentVersion: 'docs-test',
      pods: pods.map(slimPod),
      nodes: nodes.map(slimNode),
      pdbs: [],
    });
    const plan = planCluster({
      config,
      snapshot: ClusterSnapshot.parse(built),
      fleet: { instances: [], inFlight: [], drains: [], unavailableOfferings: [] },
      // A weekday morning: the example config's day schedule allows bursting.
      now: new Date('2026-03-16T09:30:00Z'),
      decisionId: 'pi-lab-docs',
    });

    // Then it launches capacity for every replica, and nothing is unhelpable
    expect(plan.unhelpable).toEqual([]);
    expect(plan.launches.reduce((n, l) => n + l.podsCovered, 0)).toBe(deployment.spec.replicas);
  });
});

describe('the agent bundle size in docs/agent.md', () => {
  it('is within 25 % of the bundle the image runs', () => {
    const claimed = /about (\d+) KB of minified JavaScript/.exec(doc('docs/agent.md'))?.[1];
    expect(claimed).toBeDefined();
    const bytes = statSync(bundleAgent()).size;
    const kb = bytes / 1024;
    expect(Math.abs(kb - Number(claimed)) / kb, `bundle is ${Math.round(kb)} KB`).toBeLessThan(0.25);
  });
});

describe('how long a new node takes to join', () => {
  it('is the same span wherever the docs give one', () => {
    const spans: string[] = [];
    for (const [file, text] of docs) {
      const flat = text.replace(/\s+/g, ' ');
      for (const m of flat.matchAll(/(\w+) to (\w+) minutes(?= \(boot| to boot)/g)) {
        spans.push(`${file}: ${m[1]} to ${m[2]} minutes`);
      }
    }
    // deploy.md (the test burst) and troubleshooting.md (a launch without a node yet) both say it.
    expect(spans.length).toBeGreaterThanOrEqual(2);
    expect(new Set(spans.map((s) => s.split(': ')[1])), spans.join('; ')).toEqual(
      new Set(['two to four minutes']),
    );
  });
});
