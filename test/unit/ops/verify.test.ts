/** runVerify's stage logic on scripted ports: which stage failed, with its fix; cleanup on every path. */
import { describe, expect, it } from 'vitest';
import type { OpsInstance } from '../../../lib/ops/instances.js';
import { formatVerify, runVerify, STAGE_FIXES, type VerifyKube, verifyPod } from '../../../lib/ops/verify.js';
import { makeConfig } from '../core/fixtures.js';

type Pod = { spec?: { nodeName?: string }; status?: Record<string, unknown> };

/** A Kubernetes API with one pod slot; `onPoll` scripts what the cluster does between polls. */
function fakeKube(script: (pod: Pod, polls: number) => void) {
  let pod: Pod | undefined;
  let polls = 0;
  const calls: string[] = [];
  const kube: VerifyKube = {
    async request<T>(method: string, path: string) {
      calls.push(`${method} ${path.replace(/\?.*/, '')}`);
      if (method === 'GET' && path.endsWith('/pods')) return { status: 200, body: { items: [] } as T };
      if (method === 'POST') {
        pod = { status: { phase: 'Pending' } };
        return { status: 201, body: {} as T };
      }
      if (method === 'DELETE') {
        pod = undefined;
        return { status: 200, body: {} as T };
      }
      if (method === 'GET' && path.includes('/pods/')) {
        if (!pod) throw Object.assign(new Error('not found'), { status: 404 });
        script(pod, ++polls);
        return { status: 200, body: pod as T };
      }
      throw Object.assign(new Error('not found'), { status: 404 });
    },
  };
  return { kube, calls, podExists: () => pod !== undefined };
}

function run(kube: VerifyKube, instances: () => Promise<OpsInstance[]>) {
  let t = 0;
  return runVerify(
    {
      config: makeConfig(),
      namespace: 'default',
      runId: 'abc123',
      image: 'registry.k8s.io/pause:3.10',
      scaleOutTimeoutMs: 10_000,
      scaleInTimeoutMs: 10_000,
      pollMs: 1000,
      signal: new AbortController().signal,
    },
    {
      kube,
      instances,
      devicesSkippedBecause: 'test',
      clock: {
        now: () => t,
        sleep: async (ms) => {
          t += ms;
        },
      },
    },
  );
}

describe('verify stages', () => {
  it('no launch for the pending pod: fails at "instance launched" with the fix, and deletes the pod', async () => {
    const f = fakeKube((p) => {
      p.status = {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }],
      };
    });
    const r = await run(f.kube, async () => []);
    expect(r.ok).toBe(false);
    expect(r.failedStage).toBe('instance-launched');
    const failed = r.stages.find((s) => s.status === 'failed');
    expect(failed?.fix).toBe(STAGE_FIXES['instance-launched']);
    expect(r.stages.find((s) => s.id === 'pod-unschedulable')?.status).toBe('ok');
    expect(r.cleanedUp).toBe(true);
    expect(f.podExists()).toBe(false);
    expect(formatVerify(r)).toMatch(
      /FAILED at "instance launched \(RunInstances accepted\)": not reached within 10 s/,
    );
  });

  it('a pod placed on an existing node is reported as such, not as a launch', async () => {
    const f = fakeKube((p) => {
      p.spec = { nodeName: 'burst-i-0aaaaaaaaaaaaaaa1' };
      p.status = { phase: 'Running' };
    });
    const r = await run(f.kube, async () => []);
    expect(r.failedStage).toBe('instance-launched');
    expect(r.stages.find((s) => s.status === 'failed')?.detail).toMatch(
      /scheduled on existing node burst-i-0aaaaaaaaaaaaaaa1, so nothing was launched/,
    );
    expect(r.cleanedUp).toBe(true);
  });

  it('the test pod only fits a managed node of this cluster, tolerates the cloud taints and ends by itself', () => {
    const config = makeConfig();
    const pod = verifyPod({
      config,
      namespace: 'default',
      runId: 'abc123',
      image: 'img',
      scaleOutTimeoutMs: 600_000,
      scaleInTimeoutMs: 0,
      pollMs: 1,
      signal: new AbortController().signal,
    }) as {
      spec: {
        nodeSelector: Record<string, string>;
        tolerations: { key: string }[];
        activeDeadlineSeconds: number;
      };
    };
    expect(pod.spec.nodeSelector).toEqual({
      'k3s-burst.io/managed': 'true',
      'k3s-burst.io/cluster': config.cluster.name,
    });
    expect(pod.spec.tolerations.map((t) => t.key)).toEqual(config.nodes.taints.map((t) => t.key));
    expect(pod.spec.activeDeadlineSeconds).toBe(720);
  });
});
