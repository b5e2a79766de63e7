import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../lib/cli/io.js';
import { run } from '../../../lib/cli/plan.js';
import { encodeSnapshotDetail, Plan } from '../../../lib/events/index.js';

const root = join(import.meta.dirname, '..', '..', '..');
const examples = join(root, 'examples', 'plan');
const exampleConfig = join(root, 'examples', 'k3s-burst.config.json');

function fakeIo(cwd = root): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    cwd,
    env: {},
    isTTY: false,
    stdout(t: string) {
      io.out += t;
    },
    stderr(t: string) {
      io.err += t;
    },
  };
  return io;
}

function configFor(name: string): string {
  try {
    readFileSync(join(examples, name, 'config.json'));
    return join(examples, name, 'config.json');
  } catch {
    return exampleConfig;
  }
}

async function planExample(name: string): Promise<Plan> {
  const io = fakeIo();
  const code = await run(
    [
      '--snapshot',
      join(examples, name, 'snapshot.json'),
      '--fleet',
      join(examples, name, 'fleet.json'),
      '--config',
      configFor(name),
    ],
    io,
  );
  expect(io.err).toBe('');
  expect(code).toBe(0);
  return Plan.parse(JSON.parse(io.out));
}

function tmpFile(name: string, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'k3s-burst-plan-'));
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('k3s-burst plan on the examples', () => {
  it('burst: launches capacity for every pending pod', async () => {
    const plan = await planExample('burst');
    const pending = 14 + 3;
    expect(plan.launches.length).toBeGreaterThan(0);
    expect(plan.launches.reduce((a, l) => a + l.podsCovered, 0)).toBe(pending);
    expect(plan.unhelpable).toEqual([]);
    expect(plan.launches.every((l) => l.arch === 'arm64' && l.capacityTypes[0] === 'spot')).toBe(true);
    // "with fallback types": the launcher has other Graviton types to try on a capacity error.
    expect(plan.launches.every((l) => l.instanceTypes.length > 1)).toBe(true);
  });

  it('arch-selector: launches amd64 nodes for the amd64-pinned shape and arm64 nodes for the arm64 one', async () => {
    const plan = await planExample('arch-selector');
    const byShape = (id: string) => plan.launches.find((l) => l.shapeIds.includes(id));
    expect(byShape('legacy-api-6f8d7c9b5')?.arch).toBe('amd64');
    expect(byShape('ml-infer-84b6d5f7c')?.arch).toBe('arm64');
    // The affinity excludes t4g types, so they are not even fallbacks.
    expect(byShape('ml-infer-84b6d5f7c')?.instanceTypes.some((t) => t.startsWith('t4g.'))).toBe(false);
  });

  it('unhelpable: reports each pod cloud nodes can never run, with its reason, and launches nothing', async () => {
    const plan = await planExample('unhelpable');
    expect(plan.launches).toEqual([]);
    const reason = (id: string) => plan.unhelpable.find((u) => u.shapeId === id)?.reason ?? '';
    expect(reason('zigbee-bridge-5d8c7b9f4')).toMatch(/pinned to node pi-node-1/);
    expect(reason('postgres-0')).toMatch(/node-local volume/);
    expect(reason('photo-indexer-7d9f8c6b5')).toMatch(
      /does not tolerate taint k3s-burst.io\/cloud=true:NoSchedule/,
    );
    expect(reason('genome-align-9c8b7d6f5')).toMatch(
      /requests 24 CPU, 96 GiB per pod, more than any matching candidate/,
    );
  });

  it("volumes: an EBS-bound pod gets a node in its volume's zone; Pi-local and unbindable claims are answered, not launched for", async () => {
    const plan = await planExample('volumes');
    const launchOf = (id: string) => plan.launches.find((l) => l.shapeIds.includes(id));
    expect(launchOf('postgres-ebs-0')?.zones).toEqual(['eu-central-1b']);
    expect(launchOf('render-scratch')?.zones).toEqual([]);
    const answer = (id: string) => plan.podAnswers?.find((a) => a.shapeId === id);
    expect(answer('minio-0')).toMatchObject({ kind: 'unhelpable', code: 'local-volume' });
    expect(answer('uploader-nfs')).toMatchObject({ kind: 'unhelpable', code: 'volume:claim-unbound' });
    expect(answer('ci-cache')).toMatchObject({ kind: 'unhelpable', code: 'volume:claim-missing' });
    expect(answer('ci-cache')?.message).toMatch(/ci\/cache-runner-0 does not exist/);
  });

  it('existing-capacity: pods that fit on the free room of Ready nodes launch nothing; cordoned and deleting nodes do not count', async () => {
    const plan = await planExample('existing-capacity');
    const answers = plan.podAnswers ?? [];
    const of = (id: string) =>
      answers.filter((a) => a.shapeId === id).map((a) => [a.kind, a.count, a.targets[0]]);
    // 5 web pods fill the half-empty cloud node; the cordoned and the deleting node, both empty, are not used.
    expect(of('web-5b7f9c6d48')).toEqual([
      ['fits-on-existing', 5, 'burst-i-0f3a8c61d2e7b9054'],
      ['launched-for', 4, 'pi-lab-1i222k11xwiig-0'],
    ]);
    // No cloud toleration: pi-node-3's freed room runs both thumbnailers.
    expect(of('thumbnailer-6d5c8b7f9')).toEqual([['fits-on-existing', 2, 'pi-node-3']]);
    expect(of('report-builder-7c9d5f8b6')).toEqual([['launched-for', 2, 'pi-lab-1i222k11xwiig-0']]);
    expect(plan.launches.reduce((a, l) => a + l.podsCovered, 0)).toBe(6);
    expect(plan.unhelpable).toEqual([]);
  });

  it('inter-pod: hostname anti-affinity gets one node per pod, zone spread keeps maxSkew, affinity lands beside the running pod', async () => {
    const plan = await planExample('inter-pod');
    const answers = plan.podAnswers ?? [];
    const of = (id: string) =>
      answers.filter((a) => a.shapeId === id).map((a) => [a.kind, a.count, a.targets[0]]);
    const A = 'burst-i-0f3a8c61d2e7b9054'; // eu-central-1a: runs a web pod, the redis pod and 2 api pods
    const B = 'burst-i-07b2d4e6f8a1c3e59'; // eu-central-1b: runs none of them
    // web: never beside the running web pod on A; one on B, three new nodes with one each (one decision)
    expect(of('web-7f9c6d5b48')).toEqual([
      ['fits-on-existing', 1, B],
      ['launched-for', 3, 'pi-lab-1i2225t1xwihs-1'],
    ]);
    const web = plan.launches.find((l) => l.shapeIds.includes('web-7f9c6d5b48'));
    expect(web).toMatchObject({ count: 3, podsCovered: 3 });
    // api spread over zones with maxSkew 1, 2 running in 1a: 1 more in 1a, 3 in 1b (on B and a new 1b node) → 3/3
    expect(of('api-5c8d7b6f94')).toEqual([
      ['fits-on-existing', 1, A],
      ['fits-on-existing', 1, B],
      ['launched-for', 2, 'pi-lab-1i2225t1xwihs-0'],
    ]);
    expect(plan.launches.find((l) => l.shapeIds.includes('api-5c8d7b6f94'))?.zones).toEqual([
      'eu-central-1b',
    ]);
    // cache-client: required hostname affinity to redis, which runs on A
    expect(of('cache-client-6b7c8d9e5f')).toEqual([['fits-on-existing', 2, A]]);
    expect(answers.find((a) => a.shapeId === 'web-7f9c6d5b48')?.message).toMatch(/at most one per node/);
    expect(plan.explanations.map((e) => e.message).join('\n')).toMatch(/1 preferred term .* is ignored/);
  });

  it('mixed-workload: shapes with different type constraints share nodes, half the nodes and cheaper than one group per constraint set', async () => {
    const plan = await planExample('mixed-workload');
    const nodes = plan.launches.reduce((a, l) => a + l.count, 0);
    const usd = plan.launches.reduce((a, l) => a + l.estimatedHourlyUsd, 0);
    expect(plan.launches.reduce((a, l) => a + l.podsCovered, 0)).toBe(5 + 3 + 7 + 2);
    // One group per set of allowed types (the planner before #15 item 6) launched 8 nodes for
    // $0.3203/h: 1× c7g.2xlarge (api), 1× r7g.large (cache), 3× t4g.large (search), 3× t4g.medium (worker).
    expect(nodes).toBe(4);
    expect(usd).toBeLessThan(0.3203);
    // A launch carries shapes with different constraints: the cache pods (instance-type In
    // r7g/m7g) beside api pods (NotIn t4g) and search pods (arm64 only).
    const shared = plan.launches.find((l) => l.shapeIds.includes('cache-8k9l0m1n2'));
    expect(shared?.shapeIds).toEqual(['api-6d9f7c5b8', 'cache-8k9l0m1n2', 'search-7b8c9d6f5']);
    expect(shared?.instanceTypes[0]).toBe('m7g.xlarge');
  });

  it('resources: ephemeral storage, GPUs and host ports with protocol, each answered', async () => {
    const plan = await planExample('resources');
    const answer = (id: string) => (plan.podAnswers ?? []).find((a) => a.shapeId === id);
    const launch = (id: string) => plan.launches.find((l) => l.shapeIds.includes(id));
    // GPU pods get a GPU type, one per node; nothing else gets a GPU type, not even as a fallback.
    expect(launch('photo-classify-5c7d9')?.instanceTypes[0]).toBe('g5g.xlarge');
    expect(launch('photo-classify-5c7d9')?.count).toBe(2);
    expect(launch('video-transcode-6b9f7')?.instanceTypes.some((t) => t.startsWith('g5g'))).toBe(false);
    // 8 GiB of scratch each, three per t4g.large (CPU bounds it): the root volume grows from 20 to
    // 27 GiB for 24 GiB of requests; the DNS pods on 53/UDP and 53/TCP share a node.
    expect(launch('video-transcode-6b9f7')?.count).toBe(2);
    expect(launch('video-transcode-6b9f7')?.rootVolumeGiB).toBe(27);
    expect(launch('photo-classify-5c7d9')?.rootVolumeGiB).toBeUndefined();
    expect(launch('coredns-edge-7f8c6')).toBe(launch('coredns-edge-tcp-4d2b8'));
    // 40 GiB of scratch: more than the 40 GiB nodes.maxRootVolumeGiB offers after the file system.
    expect(answer('db-restore-3a9e4')).toMatchObject({ kind: 'unhelpable', code: 'ephemeral-storage' });
    expect(answer('db-restore-3a9e4')?.message).toMatch(/raise nodes\.maxRootVolumeGiB/);
    expect(answer('metrics-sidecar-8e1f3')).toMatchObject({ kind: 'unhelpable', code: 'host-port-taken' });
  });

  it('pod-answers: every pending pod is answered: launched-for, held-by-limit (which limit, how many nodes), expendable', async () => {
    const plan = await planExample('pod-answers');
    const answers = (plan.podAnswers ?? []).map((a) => [
      a.shapeId,
      a.kind,
      a.count,
      a.code,
      a.limit?.nodesNeeded,
    ]);
    expect(answers).toEqual([
      ['backfill-indexer-2f7d9', 'expendable', 12, 'priority:-100', undefined],
      ['render-worker-6b5c4d8f9', 'launched-for', 21, `launch:${plan.launches[0]?.launchId}`, undefined],
      ['render-worker-6b5c4d8f9', 'held-by-limit', 39, 'limit:maxVcpus', 6],
    ]);
    expect(plan.launches.flatMap((l) => l.shapeIds)).toEqual(['render-worker-6b5c4d8f9']);
  });

  it('limits-clamp: stays within maxVcpus and says which limit cut how many pods', async () => {
    const plan = await planExample('limits-clamp');
    const vcpus = plan.launches.reduce(
      (a, l) => a + l.count * (l.instanceTypes[0] === 'c7g.2xlarge' ? 8 : 4),
      0,
    );
    expect(vcpus + 4).toBeLessThanOrEqual(32); // 4 vCPU already run on the m7g.xlarge
    const clamp = plan.explanations.find((e) => e.kind === 'clamp');
    expect(clamp?.message).toMatch(/limits\.maxVcpus=32 allows only 3 more .*: 39 pods stay pending/);
    expect(plan.launches.reduce((a, l) => a + l.count, 0)).toBe(3);
  });

  it('schedule-window: drains every cloud node when the night policy allows none', async () => {
    const plan = await planExample('schedule-window');
    expect(plan.activeSchedule).toEqual({ name: 'weekday-night', minNodes: 0, maxNodes: 0 });
    expect(plan.drains.map((d) => d.nodeName)).toEqual([
      'burst-i-07b2d4e6f8a1c3e59',
      'burst-i-0f3a8c61d2e7b9054',
    ]);
  });

  it('scale-in: drains the node that has been empty long enough and keeps the do-not-disrupt one', async () => {
    const plan = await planExample('scale-in');
    expect(plan.drains.map((d) => d.nodeName)).toEqual(['burst-i-0f3a8c61d2e7b9054']);
    expect(
      plan.explanations.some(
        (e) => e.subject === 'burst-i-0d9e8f7a6b5c4d3e2' && /do-not-disrupt/.test(e.message),
      ),
    ).toBe(true);
  });

  it('registration-timeout: terminates the instance that never registered a node', async () => {
    const plan = await planExample('registration-timeout');
    expect(plan.terminations.map((t) => t.instanceId)).toEqual(['i-0a1b2c3d4e5f60718']);
    expect(plan.terminations[0]?.reason).toMatch(/registrationTimeoutSeconds=900/);
  });

  it('meltdown: replaces nothing when most cloud nodes are NotReady at once', async () => {
    const plan = await planExample('meltdown');
    expect(plan.terminations).toEqual([]);
    expect(plan.drains).toEqual([]);
    expect(plan.explanations.some((e) => /meltdown protection: 3 of 4 managed nodes/.test(e.message))).toBe(
      true,
    );
  });
});

describe('k3s-burst plan input handling', () => {
  const snapshotFile = join(examples, 'burst', 'snapshot.json');
  const fleetFile = join(examples, 'burst', 'fleet.json');

  it('prints the same plan twice for the same files (now defaults to the snapshot time)', async () => {
    const a = fakeIo();
    const b = fakeIo();
    await run(['--snapshot', snapshotFile, '--fleet', fleetFile, '--config', exampleConfig], a);
    await run(['--snapshot', snapshotFile, '--fleet', fleetFile, '--config', exampleConfig], b);
    expect(a.out).toBe(b.out);
    expect(JSON.parse(a.out).decidedAt).toBe('2026-03-16T09:30:00.000Z');
  });

  it('accepts the gzip+base64 wire form of a snapshot', async () => {
    const raw = JSON.parse(readFileSync(snapshotFile, 'utf8'));
    const wire = JSON.parse(encodeSnapshotDetail(raw, { forceEncoding: 'gzip+base64' }).detail);
    expect(wire.encoding).toBe('gzip+base64');
    const plain = fakeIo();
    const packed = fakeIo();
    await run(['--snapshot', snapshotFile, '--fleet', fleetFile, '--config', exampleConfig], plain);
    const code = await run(
      ['--snapshot', tmpFile('wire.json', wire), '--fleet', fleetFile, '--config', exampleConfig],
      packed,
    );
    expect(code).toBe(0);
    expect(packed.out).toBe(plain.out);
  });

  it('resolves relative paths against the working directory and honours --now and --decision-id', async () => {
    const io = fakeIo(join(examples, 'burst'));
    const code = await run(
      [
        '--snapshot',
        'snapshot.json',
        '--fleet',
        'fleet.json',
        '--config',
        '../../k3s-burst.config.json',
        '--now',
        '2026-03-16T09:31:00Z',
        '--decision-id',
        'manual-1',
      ],
      io,
    );
    expect(code).toBe(0);
    const plan = JSON.parse(io.out);
    expect(plan.decisionId).toBe('manual-1');
    expect(plan.decidedAt).toBe('2026-03-16T09:31:00.000Z');
    expect(plan.launches[0].launchId).toBe('manual-1-0');
  });

  it('prints a readable table with --format table', async () => {
    const io = fakeIo();
    const code = await run(
      ['--snapshot', snapshotFile, '--fleet', fleetFile, '--config', exampleConfig, '--format', 'table'],
      io,
    );
    expect(code).toBe(0);
    expect(io.out).toMatch(/^Plan pi-lab-[a-z0-9]+ for cluster pi-lab/);
    expect(io.out).toMatch(/Launches \(1\)\n {2}LAUNCH +COUNT +TYPES/);
    expect(io.out).toMatch(/\[scale-out\] launch \d+× /);
  });

  it('names the file, the JSON path and what was expected for a bad snapshot, and prints nothing on stdout', async () => {
    const raw = JSON.parse(readFileSync(snapshotFile, 'utf8'));
    raw.pendingShapes[0].count = 'fourteen';
    const bad = tmpFile('bad-snapshot.json', raw);
    const io = fakeIo();
    const code = await run(['--snapshot', bad, '--fleet', fleetFile, '--config', exampleConfig], io);
    expect(code).toBe(2);
    expect(io.out).toBe('');
    expect(io.err).toContain(`${bad} is invalid`);
    expect(io.err).toMatch(/\$\.pendingShapes\[0\]\.count: .*expected number/i);
    expect(io.err).toContain('"fourteen"');
  });

  it('rejects a config with a bad cron expression, naming its path', async () => {
    const cfg = JSON.parse(readFileSync(exampleConfig, 'utf8'));
    cfg.schedules[1].cron = '0 25 * * 1-5';
    const bad = tmpFile('k3s-burst.config.json', cfg);
    const io = fakeIo();
    const code = await run(['--snapshot', snapshotFile, '--fleet', fleetFile, '--config', bad], io);
    expect(code).toBe(2);
    expect(io.out).toBe('');
    expect(io.err).toContain('$.schedules[1].cron: hour 25 is out of range 0-23');
  });

  it('rejects a fleet file that is not JSON, naming the file', async () => {
    const bad = tmpFile('fleet.json', '{ "instances": [ ');
    const io = fakeIo();
    const code = await run(['--snapshot', snapshotFile, '--fleet', bad, '--config', exampleConfig], io);
    expect(code).toBe(2);
    expect(io.out).toBe('');
    expect(io.err).toContain(`--fleet file ${bad} is not valid JSON`);
  });

  it('rejects a fleet with a bad instance id, naming the JSON path', async () => {
    const bad = tmpFile('fleet.json', {
      instances: [
        {
          instanceId: 'pi-node-1',
          instanceType: 'm7g.large',
          state: 'running',
          launchedAt: '2026-03-16T09:00:00Z',
          capacityType: 'spot',
          nodeName: 'x',
        },
      ],
    });
    const io = fakeIo();
    const code = await run(['--snapshot', snapshotFile, '--fleet', bad, '--config', exampleConfig], io);
    expect(code).toBe(2);
    expect(io.err).toMatch(/\$\.instances\[0\]\.instanceId: expected an EC2 instance id/);
  });

  it('reports a missing file, a missing option, an unknown option and a bad --now as usage errors', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['--snapshot', 'nope.json', '--config', exampleConfig],
        /cannot read --snapshot file nope.json: no such file/,
      ],
      [['--snapshot', snapshotFile], /missing --config FILE/],
      [['--snapshot', snapshotFile, '--config', exampleConfig, '--colour'], /Unknown option '--colour'/],
      [
        ['--snapshot', snapshotFile, '--config', exampleConfig, '--now', 'yesterday'],
        /--now must be an ISO-8601 time/,
      ],
      [
        ['--snapshot', snapshotFile, '--config', exampleConfig, '--format', 'yaml'],
        /--format must be "json" or "table"/,
      ],
    ];
    for (const [args, message] of cases) {
      const io = fakeIo();
      expect(await run(args, io)).toBe(2);
      expect(io.out).toBe('');
      expect(io.err).toMatch(message);
    }
  });

  it('refuses a snapshot from another cluster than the config', async () => {
    const raw = JSON.parse(readFileSync(snapshotFile, 'utf8'));
    raw.cluster = 'garage-lab';
    const io = fakeIo();
    const code = await run(['--snapshot', tmpFile('s.json', raw), '--config', exampleConfig], io);
    expect(code).toBe(2);
    expect(io.err).toMatch(
      /\$\.cluster: the snapshot is from cluster "garage-lab" but the config is for "pi-lab"/,
    );
  });

  it('prints usage with --help', async () => {
    const io = fakeIo();
    expect(await run(['--help'], io)).toBe(0);
    expect(io.out).toMatch(/^Usage: k3s-burst plan --snapshot FILE --config FILE/);
  });

  it('works through the installed bin (node bin/run.mjs plan) as a child process', () => {
    const out = execFileSync(
      process.execPath,
      [
        join(root, 'bin', 'run.mjs'),
        'plan',
        '--snapshot',
        join(examples, 'registration-timeout', 'snapshot.json'),
        '--fleet',
        join(examples, 'registration-timeout', 'fleet.json'),
        '--config',
        exampleConfig,
      ],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const plan = Plan.parse(JSON.parse(out));
    expect(plan.terminations.map((t) => t.instanceId)).toEqual(['i-0a1b2c3d4e5f60718']);
  });
});
