/** Lease-based leader election on a manual clock: one leader, takeover after expiry, 409 races, step-down. */
import { describe, expect, it } from 'vitest';
import { type KubeApi, KubeApiError } from '../../../lib/agent/kube-client.js';
import { LeaderElector } from '../../../lib/agent/leader.js';
import { memoryLogger } from '../../../lib/agent/logger.js';
import { MemoryKube } from '../../support/fake-k8s/memory-api.js';
import { ManualClock } from '../../support/manual-clock.js';

function elector(api: KubeApi, clock: ManualClock, identity: string, events: string[] = []) {
  return new LeaderElector({
    api,
    clock,
    log: memoryLogger(),
    namespace: 'k3s-burst',
    name: 'k3s-burst-agent',
    identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2000,
    onStartedLeading: () => events.push(`${identity}:start`),
    onStoppedLeading: () => events.push(`${identity}:stop`),
  });
}

const holder = (kube: MemoryKube) =>
  (kube.leases.get('k3s-burst-agent')?.spec as
    | { holderIdentity?: string; leaseTransitions?: number }
    | undefined) ?? {};

describe('LeaderElector', () => {
  it('creates the Lease, keeps it while renewing, and a second replica stays standby', async () => {
    const clock = new ManualClock();
    const kube = new MemoryKube();
    const a = elector(kube, clock, 'agent-a');
    const b = elector(kube, clock, 'agent-b');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    for (let i = 0; i < 10; i++) {
      await clock.advance(2000);
      expect(await a.tryAcquireOrRenew()).toBe(true);
      expect(await b.tryAcquireOrRenew()).toBe(false);
    }
    expect(holder(kube)).toMatchObject({ holderIdentity: 'agent-a', leaseTransitions: 0 });
    expect(kube.callsOf('POST', '/leases')).toHaveLength(1);
  });

  it('lets another replica take over an expired Lease and counts the transition', async () => {
    const clock = new ManualClock();
    const kube = new MemoryKube();
    const a = elector(kube, clock, 'agent-a');
    const b = elector(kube, clock, 'agent-b');
    await a.tryAcquireOrRenew();
    await clock.advance(15_000);
    expect(await b.tryAcquireOrRenew()).toBe(false); // exactly at expiry: not yet
    await clock.advance(1);
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(holder(kube)).toMatchObject({ holderIdentity: 'agent-b', leaseTransitions: 1 });
    expect(await a.tryAcquireOrRenew()).toBe(false);
  });

  it('two replicas racing for an expired Lease: the stale write gets 409 and only one wins', async () => {
    const clock = new ManualClock();
    const kube = new MemoryKube();
    await elector(kube, clock, 'agent-old').tryAcquireOrRenew();
    await clock.advance(60_000);
    const results = await Promise.allSettled([
      elector(kube, clock, 'agent-a').tryAcquireOrRenew(),
      elector(kube, clock, 'agent-b').tryAcquireOrRenew(),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled' && r.value === true);
    const conflicts = results.filter(
      (r) => r.status === 'rejected' && (r.reason as KubeApiError).status === 409,
    );
    expect([won.length, conflicts.length]).toEqual([1, 1]);
    expect(['agent-a', 'agent-b']).toContain(holder(kube).holderIdentity);
  });

  it('steps down when renewals fail past the renew deadline, and releases the Lease on stop', async () => {
    const clock = new ManualClock();
    const kube = new MemoryKube();
    let failing = false;
    const api: KubeApi = {
      request: (m, p, o) =>
        failing
          ? Promise.reject(new KubeApiError(500, { message: 'etcd timeout' }, m, p))
          : kube.request(m, p, o),
      watch: () => kube.watch(),
    };
    const events: string[] = [];
    const a = elector(api, clock, 'agent-a', events);
    a.start();
    await clock.advance(0);
    expect(events).toEqual(['agent-a:start']);
    failing = true;
    await clock.advance(8000);
    expect(a.isLeader).toBe(true); // within the renew deadline
    await clock.advance(4000);
    expect(a.isLeader).toBe(false);
    expect(events).toEqual(['agent-a:start', 'agent-a:stop']);
    failing = false;
    await clock.advance(2000);
    expect(events).toEqual(['agent-a:start', 'agent-a:stop', 'agent-a:start']);
    await a.stop();
    expect(holder(kube).holderIdentity).toBe('');
    expect(events.at(-1)).toBe('agent-a:stop');
  });
});
