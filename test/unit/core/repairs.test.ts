import { describe, expect, it } from 'vitest';
import type { SnapshotNode } from '../../../lib/events/index.js';
import { cloudNode, fleet, instance, isoAgo, NOW, piNode, plan, said, shape, snapshot } from './fixtures.js';

const A = 'i-0f3a8c61d2e7b9054';
const B = 'i-07b2d4e6f8a1c3e59';
const C = 'i-0d9e8f7a6b5c4d3e2';
const D = 'i-0a1b2c3d4e5f60718';
const E = 'i-0c4d5e6f708192a3b';

const pis = [piNode('pi-node-1'), piNode('pi-node-2'), piNode('pi-node-3')];

/** A cloud node NotReady for `forS` seconds (its kubelet stopped posting status). */
function notReady(id: string, forS: number): SnapshotNode {
  return cloudNode(id, { ready: false, readySince: isoAgo(forS) });
}

describe('repairs: registration timeout', () => {
  it('terminates an instance that has not registered a node within registrationTimeoutSeconds', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, cloudNode(A)] }),
      fleet: fleet({
        instances: [instance(A), instance(D, { instanceType: 't4g.large', launchedAt: isoAgo(22 * 60) })],
      }),
    });
    expect(p.terminations).toEqual([
      {
        instanceId: D,
        nodeName: `burst-${D}`,
        reason: `terminate ${D} (t4g.large, running): launched 22 min ago at 09:08:00 UTC and no node burst-${D} has registered (registrationTimeoutSeconds=900); check its console output, Tailscale auth and the K3s server URL`,
        cause: 'registration-timeout',
      },
    ]);
    expect(p.explanations).toContainEqual({
      kind: 'repair',
      subject: `burst-${D}`,
      message: p.terminations[0]?.reason,
    });
  });

  it('leaves an instance that is still within the registration timeout alone', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis] }),
      fleet: fleet({ instances: [instance(D, { state: 'pending', launchedAt: isoAgo(10 * 60) })] }),
    });
    expect(p.terminations).toEqual([]);
  });

  it('finds the node by providerID when its name differs from the recorded one', () => {
    const node = { ...cloudNode(D), name: 'ip-10-77-3-14' };
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, node] }),
      fleet: fleet({ instances: [instance(D, { launchedAt: isoAgo(3600) })] }),
    });
    expect(p.terminations).toEqual([]);
  });

  it('terminates a stopped instance (k3s-burst never stops instances)', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis] }),
      fleet: fleet({ instances: [instance(C, { state: 'stopped' })] }),
    });
    expect(p.terminations.map((t) => t.instanceId)).toEqual([C]);
    expect(p.terminations[0]?.reason).toBe(
      `terminate ${C} (m7g.large): it is stopped, and k3s-burst never stops instances — a stopped node only holds an EBS volume and a slot under maxNodes`,
    );
  });

  it('deletes the Node object of an instance that is gone or terminated', () => {
    const p = plan({
      snapshot: snapshot({
        nodes: [...pis, cloudNode(A), cloudNode(B, { ready: false, readySince: isoAgo(90) })],
      }),
      fleet: fleet({ instances: [instance(B, { state: 'terminated' })] }),
    });
    expect(p.nodeDeletions).toEqual([
      { nodeName: `burst-${B}`, reason: `delete Node burst-${B}: its instance ${B} is terminated` },
      { nodeName: `burst-${A}`, reason: `delete Node burst-${A}: its instance ${A} no longer exists` },
    ]);
    expect(said(p, 'repair')).toEqual(expect.arrayContaining(p.nodeDeletions.map((d) => d.reason)));
  });
});

describe('repairs: unhealthy nodes and meltdown protection', () => {
  const fiveInstances = [A, B, C, D, E].map((id) => instance(id));

  it('replaces a managed node NotReady for longer than unhealthyAfterSeconds', () => {
    const p = plan({
      snapshot: snapshot({
        nodes: [...pis, notReady(A, 12 * 60), cloudNode(B), cloudNode(C), cloudNode(D), cloudNode(E)],
      }),
      fleet: fleet({ instances: fiveInstances }),
    });
    // 1 of 5 = 20 %, not more than maxUnhealthyFraction=0.2.
    expect(p.terminations).toEqual([
      {
        instanceId: A,
        nodeName: `burst-${A}`,
        reason: `replace node burst-${A} (m7g.large): NotReady since 09:18:00 UTC (12 min, unhealthyAfterSeconds=600); its pods become pending and scale-out replaces the capacity`,
      },
    ]);
    expect(said(p, 'repair')).toEqual([p.terminations[0]?.reason]);
  });

  it('gives a node that just went NotReady time to come back', () => {
    const p = plan({
      snapshot: snapshot({ nodes: [...pis, notReady(A, 5 * 60), cloudNode(B)] }),
      fleet: fleet({ instances: [instance(A), instance(B)] }),
    });
    expect(p.terminations).toEqual([]);
  });

  it('replaces nothing when more than maxUnhealthyFraction of managed nodes are NotReady at once', () => {
    const p = plan({
      snapshot: snapshot({
        nodes: [...pis, notReady(A, 14 * 60), notReady(B, 14 * 60), cloudNode(C), cloudNode(D), cloudNode(E)],
      }),
      fleet: fleet({ instances: fiveInstances }),
    });
    expect(p.terminations).toEqual([]);
    expect(p.drains).toEqual([]);
    expect(said(p, 'repair')).toEqual([
      `meltdown protection: 2 of 5 managed nodes (40 %) are NotReady for more than 10 min (burst-${B}, burst-${A}), more than maxUnhealthyFraction=0.2: this looks like a Tailscale or network outage, so no node is replaced and their capacity still counts (nothing is launched for their pods)`,
    ]);
  });

  it('never replaces an on-prem node, however long it is NotReady', () => {
    const p = plan({
      snapshot: snapshot({
        nodes: [piNode('pi-node-1', { ready: false, readySince: isoAgo(6 * 3600) }), piNode('pi-node-2')],
      }),
    });
    expect(p.terminations).toEqual([]);
    expect(p.nodeDeletions).toEqual([]);
    expect(said(p, 'repair')).toEqual([]);
  });
});

describe('repairs: stale agent fail-safe', () => {
  it('with a snapshot older than staleAfterSeconds, repairs, scales in and launches nothing', () => {
    const s = snapshot({
      observedAt: isoAgo(10 * 60),
      nodes: [...pis, notReady(A, 40 * 60), cloudNode(B, { workloadPodCount: 0, workloadPods: [] })],
      pendingShapes: [shape({ id: 'web-7f3a', count: 8 })],
    });
    const p = plan({
      snapshot: s,
      fleet: fleet({ instances: [instance(A), instance(B), instance(D, { launchedAt: isoAgo(40 * 60) })] }),
    });
    expect(p.agentStale).toBe(true);
    expect(p.launches).toEqual([]);
    expect(p.drains).toEqual([]);
    expect(p.terminations).toEqual([]);
    expect(p.nodeDeletions).toEqual([]);
    expect(said(p, 'stale')).toEqual([
      "the agent's last snapshot (seq 18342, observed 09:20:00 UTC) was received 10 min ago, more than staleAfterSeconds=300: fail-safe, no scale-in, repairs or launches (warm capacity included: a node that cannot reach the K3s server cannot join); only the schedule ceiling and drain deadlines apply",
    ]);
  });

  it('still enforces drain deadlines with a stale agent', () => {
    const p = plan({
      snapshot: snapshot({ observedAt: isoAgo(10 * 60), nodes: [...pis, cloudNode(A, { cordoned: true })] }),
      fleet: fleet({
        instances: [instance(A)],
        drains: [
          {
            nodeName: `burst-${A}`,
            instanceId: A,
            requestedAt: isoAgo(700),
            deadline: isoAgo(100),
            reason: 'empty',
          },
        ],
      }),
    });
    expect(p.terminations.map((t) => t.instanceId)).toEqual([A]);
    expect(p.terminations[0]?.reason).toBe(
      `terminate ${A} (node burst-${A}): its drain ("empty") passed its deadline 09:28:20 UTC 100 s ago`,
    );
  });

  it('terminates a drained node at once on a fresh snapshot', () => {
    const p = plan({
      snapshot: snapshot({
        nodes: [...pis, cloudNode(A, { cordoned: true, workloadPodCount: 0, workloadPods: [] })],
      }),
      fleet: fleet({
        instances: [instance(A)],
        drains: [
          {
            nodeName: `burst-${A}`,
            instanceId: A,
            requestedAt: isoAgo(90),
            deadline: isoAgo(-510),
            reason: 'empty',
          },
        ],
      }),
    });
    expect(p.terminations[0]?.reason).toBe(
      `terminate ${A}: node burst-${A} is drained (cordoned, no workload pods left; drain reason: empty)`,
    );
  });

  it('after abandonAfterSeconds of silence terminates every managed instance and launches nothing', () => {
    const p = plan({
      snapshot: snapshot({
        observedAt: isoAgo(2 * 3600),
        nodes: [...pis, cloudNode(A)],
        pendingShapes: [shape({ count: 3 })],
      }),
      fleet: fleet({ instances: [instance(A), instance(B, { state: 'pending', launchedAt: isoAgo(60) })] }),
    });
    expect(p.launches).toEqual([]);
    expect(p.terminations.map((t) => t.instanceId).sort()).toEqual([A, B].sort());
    expect(said(p, 'stale')).toContain(
      'the agent has been silent for 2 h (last snapshot 07:30:00 UTC, abandonAfterSeconds=3600): the cluster is treated as gone, nothing is launched and 2 managed instances are terminated',
    );
  });

  it('with no snapshot ever, only terminates instances older than abandonAfterSeconds', () => {
    const p = plan({
      snapshot: null,
      fleet: fleet({
        instances: [
          instance(A, { launchedAt: isoAgo(90 * 60) }),
          instance(B, { launchedAt: isoAgo(5 * 60) }),
        ],
      }),
    });
    expect(p.agentStale).toBe(true);
    expect(p.snapshotSeq).toBeNull();
    expect(p.terminations.map((t) => t.instanceId)).toEqual([A]);
    expect(p.terminations[0]?.reason).toBe(
      `terminate ${A} (m7g.large): no agent snapshot has been received and it was launched 90 min ago (abandonAfterSeconds=3600), so nothing can be using it`,
    );
    expect(said(p, 'stale')).toContain(
      'no agent snapshot has been received: fail-safe, no scale-in, repairs or scale-out; only the schedule ceiling and drain deadlines apply (warm capacity waits for the agent)',
    );
  });

  it('decides the same at the staleAfterSeconds boundary as the code documents (≤ is fresh)', () => {
    const atBoundary = plan({ snapshot: snapshot({ observedAt: isoAgo(300) }), now: NOW });
    const past = plan({ snapshot: snapshot({ observedAt: isoAgo(301) }), now: NOW });
    expect(atBoundary.agentStale).toBe(false);
    expect(past.agentStale).toBe(true);
  });
});
