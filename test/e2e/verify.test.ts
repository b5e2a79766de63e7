/**
 * `k3s-burst verify` end to end, offline: the real command against the e2e world (moto, the real
 * handlers and agent, the fake Kubernetes and Tailscale APIs, a simulated kubelet). A small
 * scheduler stands in for kube-scheduler: it marks the test pod Unschedulable while no managed
 * node is Ready and binds it to the launched node once it is.
 */

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../lib/cli/io.js';
import { runVerifyCommand } from '../../lib/cli/verify.js';
import type { OpsEnvironment } from '../../lib/ops/environment.js';
import { STAGES, VERIFY_LABEL, type VerifyReport } from '../../lib/ops/verify.js';
import { systemClock } from '../../lib/system/clock.js';
import { TailscaleClient } from '../../lib/tailscale/index.js';
import { piNode, pod } from '../support/fake-k8s/fixtures.js';
import type { K8sObject } from '../support/fake-k8s/server.js';
import { leftovers, startWorld, type World } from './world.js';

const PI = 'pi-node-1';

interface Out {
  stdout: string;
  stderr: string;
}

function io(cwd: string, out: Out): CliIo {
  return {
    isTTY: false,
    stdout: (s: string) => {
      out.stdout += s;
    },
    stderr: (s: string) => {
      out.stderr += s;
    },
    cwd,
    env: {},
  };
}

/** kube-scheduler, as far as the test pod needs it; bounded by `stop`. */
function startScheduler(w: World): { stop: () => Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; i < 100_000 && !stopped; i++) {
      for (const p of w.k8s.list('pods')) {
        const labels = (p.metadata?.labels ?? {}) as Record<string, string>;
        if (!(VERIFY_LABEL in labels)) continue;
        const spec = p.spec as { nodeName?: string; nodeSelector?: Record<string, string> };
        if (spec.nodeName) continue;
        const sel = spec.nodeSelector ?? {};
        const node = w.k8s.list('nodes').find((n) => {
          const nl = (n.metadata?.labels ?? {}) as Record<string, string>;
          const ready = (n.status as { conditions?: { type: string; status: string }[] }).conditions?.some(
            (c) => c.type === 'Ready' && c.status === 'True',
          );
          return (
            ready &&
            !(n.spec as { unschedulable?: boolean }).unschedulable &&
            Object.entries(sel).every(([k, v]) => nl[k] === v)
          );
        });
        const now = new Date().toISOString();
        if (node) {
          w.k8s.upsert('pods', {
            ...p,
            spec: { ...spec, nodeName: node.metadata?.name },
            status: {
              phase: 'Running',
              conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now }],
            },
          } as K8sObject);
        } else if (!(p.status as { conditions?: unknown[] } | undefined)?.conditions?.length) {
          w.k8s.upsert('pods', {
            ...p,
            status: {
              phase: 'Pending',
              conditions: [
                { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastTransitionTime: now },
              ],
            },
          } as K8sObject);
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

describe('k3s-burst verify against the e2e world', () => {
  let w: World;
  let scheduler: { stop: () => Promise<void> };
  let dir: string;
  let env: OpsEnvironment;
  let kubeconfig: string;
  let devices: (host: string) => Promise<{ online: boolean } | undefined>;

  beforeAll(async () => {
    w = await startWorld({
      piNodes: [piNode(PI)],
      pods: [pod('home-assistant-5c8d7', { cpu: '3500m', memory: '6Gi', node: PI })],
    });
    scheduler = startScheduler(w);
    dir = mkdtempSync(join(tmpdir(), 'k3s-burst-verify-'));
    writeFileSync(join(dir, 'k3s-burst.config.json'), JSON.stringify(w.config));
    kubeconfig = w.k8s.writeKubeconfig();
    env = {
      aws: (region) => ({ ...w.moto.clientConfig, region }),
      tailscaleBaseUrl: w.tailscale.url,
      fetch: globalThis.fetch,
      clock: systemClock,
    };
    // The same client and call `status` uses, against the fake Tailscale API.
    const client = new TailscaleClient({
      baseUrl: w.tailscale.url,
      credentials: w.tailscale.credentials,
      tailnet: w.config.tailscale.tailnet,
    });
    devices = async (host) => {
      const d = (await client.listDevices({ tag: w.config.tailscale.tags[0] as string })).find(
        (x) => x.hostname === host,
      );
      return d ? { online: d.connectedToControl } : undefined;
    };
  }, 90_000);
  afterAll(async () => {
    await scheduler?.stop();
    await w?.stop();
  }, 30_000);

  it('follows one pod through scale-out and scale-in, prints the timeline, writes JSON, and leaves nothing', async () => {
    const out: Out = { stdout: '', stderr: '' };
    const code = await runVerifyCommand(
      ['--kubeconfig', kubeconfig, '--timeout', '60', '--scale-in-timeout', '90', '--json', 'report.json'],
      io(dir, out),
      env,
      { devices, pollMs: 100 },
    );
    expect(out.stderr).not.toMatch(/FAIL/);
    expect(code, out.stdout).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as VerifyReport;
    expect(report.ok).toBe(true);
    expect(report.cleanedUp).toBe(true);
    // Every stage was seen, in order, except a cordon that may fall between two polls.
    const byId = new Map(report.stages.map((s) => [s.id, s]));
    for (const s of STAGES) {
      const r = byId.get(s.id);
      if (s.id === 'node-cordoned') expect(['ok', 'skipped']).toContain(r?.status);
      else expect(r?.status, s.id).toBe('ok');
    }
    // Causally ordered stages are seen in order (the device and the Node may come in either order).
    const chain = [
      'pod-created',
      'pod-unschedulable',
      'instance-launched',
      'instance-running',
      'node-registered',
      'node-ready',
      'pod-running',
      'pod-deleted',
      'instance-terminated',
      'node-deleted',
    ] as const;
    const times = chain.map((id) => byId.get(id)?.atMs as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // The instance it followed is the one the stack launched for the pod.
    expect(w.firstSeen.has(report.instanceId as string)).toBe(true);
    expect(report.nodeName).toBe(`${w.config.nodes.namePrefix}${report.instanceId}`);
    expect(report.podToRunningMs).toBeGreaterThan(0);
    expect(out.stdout).toMatch(/verified: pod Running \d+\.\d s after it was created/);
    expect(out.stdout).toMatch(/instance launched \(RunInstances accepted\)/);
    // Nothing is left: no test pod, no live instance, no device, no managed Node.
    expect(
      w.k8s
        .list('pods')
        .filter((p) => VERIFY_LABEL in ((p.metadata?.labels ?? {}) as Record<string, string>)),
    ).toEqual([]);
    expect(await leftovers(w)).toEqual({ instances: [], devices: 0, managedNodes: [] });
  }, 120_000);

  it('an interrupted run deletes its pod, says where it stopped, and the node it caused is scaled in (nothing billed)', async () => {
    const out: Out = { stdout: '', stderr: '' };
    const abort = new AbortController();
    const before = new Set(w.firstSeen.keys());
    // Interrupt as soon as an instance was launched for the pod (Ctrl-C mid-run).
    const watcher = w
      .until('a new instance', () => [...w.firstSeen.keys()].find((id) => !before.has(id)), 60_000)
      .then((id) => {
        abort.abort();
        return id;
      });
    const code = await runVerifyCommand(
      ['--kubeconfig', kubeconfig, '--timeout', '60', '--json', 'interrupted.json'],
      io(dir, out),
      env,
      { devices, pollMs: 100, signal: abort.signal },
    );
    const instanceId = await watcher;
    expect(code).toBe(1);
    const report = JSON.parse(readFileSync(join(dir, 'interrupted.json'), 'utf8')) as VerifyReport;
    expect(report.ok).toBe(false);
    expect(report.cleanedUp).toBe(true);
    const failed = report.stages.find((s) => s.status === 'failed');
    expect(failed?.detail).toBe('interrupted');
    expect(failed?.fix).toMatch(/\S/);
    expect(out.stdout).toMatch(/FAILED at "/);
    expect(
      w.k8s
        .list('pods')
        .filter((p) => VERIFY_LABEL in ((p.metadata?.labels ?? {}) as Record<string, string>)),
    ).toEqual([]);
    // The instance launched for it joins, is found empty and is terminated by the stack itself.
    await w.until(
      "the interrupted run's instance to be terminated",
      async () => {
        const [i] = (await w.instances()).filter((x) => x.InstanceId === instanceId);
        return i?.State?.Name === 'terminated' || i?.State?.Name === 'shutting-down';
      },
      90_000,
    );
    await w.until('its device to be removed', () => w.tailscale.devices.size === 0, 30_000);
  }, 180_000);

  it('deletes test pods an earlier run left behind before it starts, and refuses bad flags', async () => {
    w.k8s.upsert('pods', {
      ...pod('k3s-burst-verify-deadbeef', { cpu: '50m', labels: { [VERIFY_LABEL]: 'deadbeef' } }),
    } as K8sObject);
    const out: Out = { stdout: '', stderr: '' };
    const code = await runVerifyCommand(
      ['--kubeconfig', kubeconfig, '--timeout', '60', '--no-scale-in'],
      io(dir, out),
      env,
      { devices, pollMs: 100 },
    );
    expect(out.stderr).toMatch(/deleted 1 test pod\(s\) an earlier run left: k3s-burst-verify-deadbeef/);
    expect(code, out.stdout).toBe(0);
    expect(out.stdout).toMatch(/skip {2}Node cordoned/);
    expect(w.k8s.get('pods', 'default', 'k3s-burst-verify-deadbeef')).toBeUndefined();

    for (const [args, msg] of [
      [['--timeout', '0'], /--timeout must be a whole number of seconds/],
      [['--namespace', 'Bad_NS'], /--namespace must be a Kubernetes namespace name/],
    ] as const) {
      const o: Out = { stdout: '', stderr: '' };
      expect(
        await runVerifyCommand([...args, '--kubeconfig', kubeconfig], io(dir, o), env, { devices }),
      ).toBe(2);
      expect(o.stderr).toMatch(msg);
    }
  }, 120_000);
});
