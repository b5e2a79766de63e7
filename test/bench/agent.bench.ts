/**
 * Agent budgets (issue 6):
 * - agent.snapshot.build-ms.5000-pods.500-nodes ≤ 50 ms: buildSnapshot over slim caches;
 * - agent.rss-mib.5000-pods.500-nodes ≤ 80 MiB: a real agent process (the esbuild bundle the
 *   image runs, deploy/Dockerfile, with the Deployment's NODE_OPTIONS) watching the fake API
 *   server that holds that many objects, in steady state 12 s after it synced and published
 *   (the RSS 3 s after ready and the peak during sync are in `detail`);
 * - agent.cpu-ms-per-min.idle (reported): the same process with no changes, heartbeat every 10 s
 *   (six times the production rate, so this over-estimates), user+system CPU per minute.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type RawNode, type RawPdb, type RawPod, slimNode, slimPdb, slimPod } from '../../lib/agent/model.js';
import { buildSnapshot } from '../../lib/agent/snapshot-builder.js';
import {
  bundleAgent,
  deploymentNodeOptions,
  spawnAgent,
  waitReady,
} from '../support/fake-k8s/agent-process.js';
import { startAwsStub } from '../support/fake-k8s/aws-stub.js';
import { CLUSTER, daemonSetPod, ec2Node, pdb, piNode, pod } from '../support/fake-k8s/fixtures.js';
import { type K8sObject, startFakeK8s } from '../support/fake-k8s/server.js';
import { freePort } from '../support/moto.js';
import { type Benchmark, type BenchResult, median, otherNodeBinary, timeIt } from './harness.js';

const NODES = 500;
const PODS = 5000;

/** 500 nodes (450 Pis, 50 managed EC2) and 5,000 pods: 500 DaemonSet, 3,500 bound, 1,000 pending in 100 shapes. */
export function bigCluster(): { nodes: K8sObject[]; pods: K8sObject[]; pdbs: K8sObject[] } {
  const nodes: K8sObject[] = [];
  for (let i = 0; i < NODES - 50; i++) nodes.push(piNode(`pi-node-${i}`));
  for (let i = 0; i < 50; i++) nodes.push(ec2Node(`i-0${i.toString(16).padStart(16, '0')}`));
  const names = nodes.map((n) => n.metadata?.name as string);
  const pods: K8sObject[] = [];
  for (const n of names) {
    const ds = daemonSetPod(n);
    (ds.metadata as { name: string }).name = `node-exporter-${n}`;
    pods.push(ds);
  }
  for (let i = 0; i < 3500; i++)
    pods.push(
      pod(`web-${i}-x${i}`, {
        namespace: `team-${i % 20}`,
        node: names[i % names.length],
        cpu: `${100 + (i % 7) * 50}m`,
        memory: `${128 * (1 + (i % 4))}Mi`,
        labels: { app: `web-${i % 40}` },
      }),
    );
  for (let i = 0; i < 1000; i++)
    pods.push(
      pod(`batch-${i}-p${i}`, {
        namespace: `team-${i % 20}`,
        cpu: `${250 + (i % 100) * 10}m`,
        memory: '512Mi',
        pendingSince: new Date(Date.parse('2026-03-14T09:00:00Z') + i * 1000).toISOString(),
      }),
    );
  const pdbs: K8sObject[] = [];
  for (let i = 0; i < 40; i++) pdbs.push(pdb(`web-${i}-pdb`, `web-${i}`, i % 3, `team-${i % 20}`));
  return { nodes, pods, pdbs };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

/** High-water mark of the RSS (VmHWM): the peak during list + first snapshot. */
function peakMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return (ticks * 1000) / 100; // USER_HZ = 100 on Linux
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const benchmarks: Benchmark[] = [
  {
    name: 'agent.snapshot.build-ms.5000-pods.500-nodes',
    run: async (): Promise<BenchResult[]> => {
      const c = bigCluster();
      const pods = c.pods.map((p) => slimPod(p as RawPod));
      const nodes = c.nodes.map((n) => slimNode(n as RawNode));
      const pdbs = c.pdbs.map((p) => slimPdb(p as RawPdb));
      let shapes = 0;
      const t = await timeIt(
        () => {
          const s = buildSnapshot({
            cluster: CLUSTER,
            seq: 1,
            observedAt: '2026-03-14T09:30:00.000Z',
            agentVersion: 'bench',
            pods,
            nodes,
            pdbs,
          });
          shapes = s.pendingShapes?.length ?? 0;
        },
        { samples: 25, warmup: 5 },
      );
      return [
        {
          name: 'agent.snapshot.build-ms.5000-pods.500-nodes',
          value: t.medianMs,
          unit: 'ms',
          budget: 50,
          detail: { samples: t.samples, minMs: t.minMs, maxMs: t.maxMs, pendingShapes: shapes },
        },
      ];
    },
  },
  {
    name: 'agent.process (rss-mib, cpu-ms-per-min.idle)',
    run: async (): Promise<BenchResult[]> => {
      // The budget is for the runtime we ship (Node 24, this process); another Node major on
      // the machine (the system's Node 20 here) is measured in the same run for comparison.
      const shipped = await measureAgentProcess(process.execPath);
      const results: BenchResult[] = [
        { ...shipped.rss, name: 'agent.rss-mib.5000-pods.500-nodes', budget: 80 },
        { ...shipped.cpu, name: 'agent.cpu-ms-per-min.idle' },
      ];
      const other = otherNodeBinary();
      if (other) {
        const cmp = await measureAgentProcess(other.path);
        results.push(
          { ...cmp.rss, name: `agent.rss-mib.5000-pods.500-nodes.node${other.major}` },
          { ...cmp.cpu, name: `agent.cpu-ms-per-min.idle.node${other.major}` },
        );
      }
      return results;
    },
  },
];

type Measured = Omit<BenchResult, 'name'>;

/**
 * Run the agent bundle (deploy/Dockerfile) with the Deployment's NODE_OPTIONS under `nodeBinary`
 * against a fake API holding the big cluster; RSS in steady state and idle CPU per minute.
 */
async function measureAgentProcess(nodeBinary: string): Promise<{ rss: Measured; cpu: Measured }> {
  const k8s = await startFakeK8s({ token: 'bench-token' });
  const aws = await startAwsStub();
  const c = bigCluster();
  k8s.bulkLoad('nodes', c.nodes);
  k8s.bulkLoad('pods', c.pods);
  k8s.bulkLoad('poddisruptionbudgets', c.pdbs);
  const bundle = bundleAgent();
  const proc = spawnAgent(k8s, aws, {
    metricsPort: await freePort(),
    bundle,
    nodeBinary,
    env: { K3S_BURST_HEARTBEAT_SECONDS: '10', NODE_OPTIONS: deploymentNodeOptions() },
  });
  try {
    await waitReady(proc.metricsPort, 60_000);
    await sleep(3000);
    const early = rssMiB(proc.pid);
    // Steady state: V8's memory reducer returns the sync's garbage ~10 s after start-up.
    await sleep(9000);
    const rss: number[] = [];
    for (let i = 0; i < 10; i++) {
      rss.push(rssMiB(proc.pid));
      await sleep(300);
    }
    const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
    const windowMs = 30_000;
    const cpu0 = cpuMs(proc.pid);
    const published0 = aws.putEvents.length;
    await sleep(windowMs);
    const cpu1 = cpuMs(proc.pid);
    const heartbeats = aws.putEvents.length - published0;
    const bytes = aws.putEvents.at(-1)?.Detail.length ?? 0;
    const node = execFileSync(nodeBinary, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
    return {
      rss: {
        value: median(rss),
        unit: 'MiB',
        detail: {
          node,
          samples: rss.length,
          measuredAfterReadyMs: 12_000,
          rssAt3sAfterReadyMiB: Math.round(early * 10) / 10,
          peakRssMiB: Math.round(peakMiB(proc.pid) * 10) / 10,
          // private memory vs pages of the node binary and libraries (shared, reclaimable)
          rssAnonMiB: Math.round((kib('RssAnon') / 1024) * 10) / 10,
          rssFileMiB: Math.round((kib('RssFile') / 1024) * 10) / 10,
          min: Math.min(...rss),
          max: Math.max(...rss),
          entry: 'esbuild bundle of bin/agent.ts (deploy/Dockerfile)',
          nodeOptions: deploymentNodeOptions(),
          pods: PODS,
          nodes: NODES,
        },
      },
      cpu: {
        value: ((cpu1 - cpu0) * 60_000) / windowMs,
        unit: 'ms/min',
        detail: {
          node,
          windowMs,
          heartbeatSeconds: 10,
          snapshotsInWindow: heartbeats,
          lastSnapshotDetailBytes: bytes,
          pods: PODS,
          nodes: NODES,
        },
      },
    };
  } finally {
    await proc.stop(10_000);
    await aws.close();
    await k8s.close();
  }
}
