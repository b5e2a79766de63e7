import { describe, expect, it } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import { parseJanitorEvent } from '../../../lib/control/inputs.js';
import { runJanitor } from '../../../lib/control/janitor.js';
import { backoffBlocks, backoffKey, registrationFailureBackoffs } from '../../../lib/core/backoff.js';
import { DEFAULT_JANITOR_LIMITS } from '../../../lib/core/janitor.js';
import {
  type DeleteNode,
  DetailTypes,
  type InstanceTerminated,
  type LaunchBackoff,
} from '../../../lib/events/index.js';
import { fakeDeps, janitorTick, launchManaged } from '../../support/control-a2.js';
import { cloudNode, piNode, snapshot } from '../core/fixtures.js';

const NOW = new Date('2026-03-16T09:30:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

function tick() {
  const p = parseJanitorEvent(janitorTick());
  if (!p.ok) throw new Error(p.reason);
  return p.input;
}

/** A world: one orphan (launched 1 h ago, no Node), one registered instance, one fresh launch. */
async function world(opts: { snapshotAgeSeconds?: number; withSnapshot?: boolean } = {}) {
  const t = fakeDeps({ now: ago(3600) });
  const orphan = await launchManaged(t.fleet);
  t.clock.set(ago(1800));
  const registered = await launchManaged(t.fleet);
  t.clock.set(ago(60));
  const fresh = await launchManaged(t.fleet, { state: 'pending' });
  t.clock.set(NOW.toISOString());
  if (opts.withSnapshot !== false) {
    await t.state.putSnapshotIfNewer(
      snapshot({
        observedAt: ago(opts.snapshotAgeSeconds ?? 20),
        nodes: [piNode('pi-node-1'), cloudNode(registered.instanceId)],
      }),
      // received when observed: the janitor ages a snapshot by its receive time (I12)
      new Date(ago(opts.snapshotAgeSeconds ?? 20)),
    );
  }
  return { t, orphan, registered, fresh };
}

describe('janitor', () => {
  it('terminates an orphan but not a registered or freshly launched instance', async () => {
    const { t, orphan, registered, fresh } = await world();

    const r = await runJanitor(tick(), t.deps);

    expect(r.snapshot).toBe('fresh');
    expect(r.orphansTerminated).toEqual([orphan.instanceId]);
    expect(t.fleet.instances.get(orphan.instanceId)?.state).toBe('shutting-down');
    expect(t.fleet.instances.get(registered.instanceId)?.state).toBe('running');
    expect(t.fleet.instances.get(fresh.instanceId)?.state).toBe('pending');
    expect(t.bus.detailsOf<InstanceTerminated>(DetailTypes.instanceTerminated)).toEqual([
      expect.objectContaining({ instanceId: orphan.instanceId }),
    ]);
    expect(t.metrics.total(ControlMetrics.orphansTerminated)).toBe(1);
  });

  it('counts a terminated orphan against its launch setup (I10), as reconcile counts a registration timeout', async () => {
    const { t, orphan } = await world();

    const r = await runJanitor(tick(), t.deps);

    const backoffs = await t.state.listBackoffs('pi-lab', NOW);
    expect(backoffs).toEqual([
      expect.objectContaining({
        kind: 'launch-setup',
        instanceType: 'm7g.large',
        capacityType: 'spot',
        imageId: 'ami-0123456789abcdef0',
        failures: 1,
        instanceIds: [orphan.instanceId],
        until: new Date(NOW.getTime() + t.config.launch.backoff.initialSeconds * 1000).toISOString(),
      }),
    ]);
    expect(r.backoffsRecorded).toEqual([backoffKey(backoffs[0] as LaunchBackoff)]);
    expect(t.metrics.total(ControlMetrics.launchBackoffs)).toBe(1);
    // The planner now holds the setup back, as after reconcile's own registration-timeout terminations.
    expect(backoffBlocks(backoffs[0] as LaunchBackoff, 'm7g.large', 'spot', NOW.getTime())).toBe(true);
  });

  it('counts an instance once, whether the janitor or reconcile counted it first', async () => {
    const { t, orphan } = await world();
    await runJanitor(tick(), t.deps);
    // A retried run (as after a Lambda crash) that finds it running still terminates it again.
    t.fleet.setState(orphan.instanceId, 'running');
    const again = await runJanitor(tick(), t.deps);
    expect(again.orphansTerminated).toEqual([orphan.instanceId]);
    expect(again.backoffsRecorded).toEqual([]);
    const [b] = await t.state.listBackoffs('pi-lab', NOW);
    expect(b?.failures).toBe(1);
    // Reconcile's count of the same instance changes nothing either.
    const inst = t.fleet.instances.get(orphan.instanceId);
    if (!inst || !b) throw new Error('setup');
    expect(
      registrationFailureBackoffs({
        failed: [inst],
        backoffs: [b],
        now: NOW,
        policy: t.config.launch.backoff,
        registrationTimeoutSeconds: t.config.repairs.registrationTimeoutSeconds,
      }),
    ).toEqual([]);
  });

  it('still terminates and reports when the backoff cannot be written', async () => {
    const { t, orphan } = await world();
    const deps = {
      ...t.deps,
      state: Object.assign(Object.create(t.state) as typeof t.state, {
        putBackoff: async () => {
          throw new Error('ProvisionedThroughputExceededException');
        },
      }),
    };
    const r = await runJanitor(tick(), deps);
    expect(r.orphansTerminated).toEqual([orphan.instanceId]);
    expect(r.backoffsRecorded).toEqual([]);
    expect(r.failures).toEqual([
      {
        action: 'record-backoff',
        target: orphan.instanceId,
        message: 'ProvisionedThroughputExceededException',
      },
    ]);
    expect(t.metrics.total(ControlMetrics.janitorFailures)).toBe(1);
  });

  it('does nothing to instances or Nodes when the snapshot is stale or absent (fail-safe)', async () => {
    for (const variant of [{ snapshotAgeSeconds: 301 }, { withSnapshot: false }]) {
      const { t, orphan } = await world(variant);
      const r = await runJanitor(tick(), t.deps);
      expect(r.snapshot).toBe(variant.withSnapshot === false ? 'absent' : 'stale');
      expect(r.orphansTerminated).toEqual([]);
      expect(t.fleet.terminateCalls).toEqual([]);
      expect(t.fleet.instances.get(orphan.instanceId)?.state).toBe('running');
      expect(t.bus.sent).toEqual([]);
      expect(r.skipped.join(' ')).toMatch(/fail-safe/);
      expect(t.metrics.total(ControlMetrics.janitorFailSafeSkips)).toBe(1);
    }
  });

  it('does not judge orphans from a truncated snapshot', async () => {
    const { t } = await world();
    const stored = await t.state.getLatestSnapshot('pi-lab');
    if (!stored) throw new Error('no snapshot');
    await t.state.putSnapshotIfNewer(
      {
        ...stored.snapshot,
        seq: stored.snapshot.seq + 1,
        truncated: { droppedShapes: 0, droppedPods: 0, droppedNodes: 3, reason: 'too big' },
      },
      NOW,
    );
    const r = await runJanitor(tick(), t.deps);
    expect(r.snapshot).toBe('truncated');
    expect(t.fleet.terminateCalls).toEqual([]);
  });

  it('deletes the device of a terminated instance and the device of an orphan, keeps live and foreign-looking ones', async () => {
    const { t, orphan, registered } = await world();
    const gone = await launchManaged(t.fleet);
    t.fleet.setState(gone.instanceId, 'terminated');
    const dGone = t.devices.addDevice({
      hostname: gone.nodeName,
      tags: ['tag:k3s-burst'],
      connectedToControl: false,
    });
    const dOrphan = t.devices.addDevice({ hostname: orphan.nodeName, tags: ['tag:k3s-burst'] });
    t.devices.addDevice({ hostname: registered.nodeName, tags: ['tag:k3s-burst'] });
    t.devices.addDevice({
      hostname: 'pi-node-1',
      tags: ['tag:k3s-burst'],
      connectedToControl: false,
      lastSeen: ago(86400),
    });
    t.devices.addDevice({
      hostname: 'burst-i-0dddddddddddddddd',
      tags: [],
      connectedToControl: false,
      lastSeen: ago(86400),
    });

    const r = await runJanitor(tick(), t.deps);

    expect(new Set(r.devicesDeleted)).toEqual(new Set([dGone.nodeId, dOrphan.nodeId]));
    expect([...t.devices.devices.values()].map((d) => d.hostname).sort()).toEqual(
      ['burst-i-0dddddddddddddddd', 'pi-node-1', registered.nodeName].sort(),
    );
    expect(t.metrics.total(ControlMetrics.devicesDeleted)).toBe(2);
  });

  it('requests deletion of managed Nodes whose instance is terminated, never of on-prem Nodes', async () => {
    const t = fakeDeps();
    const gone = await launchManaged(t.fleet);
    t.fleet.setState(gone.instanceId, 'terminated');
    await t.state.putSnapshotIfNewer(
      snapshot({
        observedAt: ago(10),
        nodes: [
          piNode('pi-node-1', { ready: false }),
          // an on-prem node that happens to run on EC2: managed=false, so never touched (I2)
          piNode('pi-ec2', { providerID: 'aws:///eu-central-1a/i-0eeeeeeeeeeeeeee1', ready: false }),
          cloudNode(gone.instanceId, { ready: false }),
          cloudNode('i-0ccccccccccccccc1', { ready: false }), // instance unknown to EC2, NotReady
          cloudNode('i-0ccccccccccccccc2', { ready: true }), // unknown, but Ready: left alone
        ],
      }),
      NOW,
    );

    const r = await runJanitor(tick(), t.deps);

    expect(r.nodeDeletionsRequested.sort()).toEqual(
      [`burst-${gone.instanceId}`, 'burst-i-0ccccccccccccccc1'].sort(),
    );
    const cmds = t.bus.detailsOf<DeleteNode>(DetailTypes.deleteNode);
    expect(cmds.map((c) => c.nodeName)).not.toContain('pi-ec2');
    expect(cmds.every((c) => c.instanceId && c.nodeName === `burst-${c.instanceId}`)).toBe(true);
  });

  it('forgets drain records of instances that are gone, keeps those of live ones', async () => {
    const t = fakeDeps();
    const live = await launchManaged(t.fleet);
    const gone = await launchManaged(t.fleet);
    t.fleet.setState(gone.instanceId, 'terminated');
    const drain = (instanceId: string) => ({
      nodeName: `burst-${instanceId}`,
      instanceId,
      requestedAt: ago(300),
      deadline: ago(-300),
      reason: 'empty',
    });
    for (const id of [live.instanceId, gone.instanceId, 'i-0abcdefabcdefabc1']) {
      await t.state.recordDrain('pi-lab', drain(id));
    }

    const r = await runJanitor(tick(), t.deps);

    expect(r.drainsCleared.sort()).toEqual([gone.instanceId, 'i-0abcdefabcdefabc1'].sort());
    expect((await t.state.listDrains('pi-lab')).map((d) => d.instanceId)).toEqual([live.instanceId]);
  });

  it('caps the work of one run and reports what it left', async () => {
    const t = fakeDeps({ now: ago(3600) });
    for (let i = 0; i < 4; i++) await launchManaged(t.fleet);
    t.clock.set(NOW.toISOString());
    await t.state.putSnapshotIfNewer(snapshot({ observedAt: ago(5), nodes: [] }), NOW);

    const r = await runJanitor(tick(), t.deps, undefined, {
      ...DEFAULT_JANITOR_LIMITS,
      maxOrphanTerminations: 3,
    });

    expect(r.orphansTerminated).toHaveLength(3);
    expect(r.capped.orphans).toBe(1);
    expect(t.metrics.total(ControlMetrics.janitorWorkCapped)).toBe(1);
  });

  it('stops starting actions when its time budget is spent', async () => {
    const t = fakeDeps({ now: ago(3600) });
    for (let i = 0; i < 3; i++) await launchManaged(t.fleet);
    t.clock.set(NOW.toISOString());
    await t.state.putSnapshotIfNewer(snapshot({ observedAt: ago(5), nodes: [] }), NOW);
    const realTerminate = t.fleet.terminate.bind(t.fleet);
    t.fleet.terminate = async (ids) => {
      t.clock.advance(35); // every EC2 call takes 35 s of the 60 s budget
      return realTerminate(ids);
    };

    const r = await runJanitor(tick(), t.deps);

    expect(r.orphansTerminated).toHaveLength(2);
    expect(r.outOfTime).toBe(1);
  });

  it('keeps going when Tailscale cannot be listed, and reports it', async () => {
    const { t, orphan } = await world();
    t.devices.failNext('listDevices', 'unavailable');
    const r = await runJanitor(tick(), t.deps);
    expect(r.orphansTerminated).toEqual([orphan.instanceId]);
    expect(r.failures).toEqual([expect.objectContaining({ action: 'list-devices' })]);
    expect(r.skipped.join(' ')).toMatch(/device list could not be read/);
    expect(t.metrics.total(ControlMetrics.tailscaleAuthFailures)).toBe(0);
  });

  it('counts a refused Tailscale credential (e.g. the federated token exchange) as TailscaleAuthFailures', async () => {
    const { t, orphan } = await world();
    t.devices.failNext('listDevices', 'auth');
    const r = await runJanitor(tick(), t.deps);
    expect(r.orphansTerminated).toEqual([orphan.instanceId]);
    expect(r.failures).toEqual([expect.objectContaining({ action: 'list-devices' })]);
    expect(t.metrics.total(ControlMetrics.tailscaleAuthFailures)).toBe(1);
  });

  it('keeps a device when the orphan it belongs to could not be terminated', async () => {
    const { t, orphan } = await world();
    t.devices.addDevice({ hostname: orphan.nodeName, tags: ['tag:k3s-burst'] });
    t.fleet.terminate = async () => {
      throw new Error('EC2 throttled');
    };
    const r = await runJanitor(tick(), t.deps);
    expect(r.orphansTerminated).toEqual([]);
    expect(r.devicesDeleted).toEqual([]);
    expect(t.devices.devices.size).toBe(1);
    expect(r.failures).toEqual([
      expect.objectContaining({ action: 'terminate-orphan', target: orphan.instanceId }),
    ]);
  });

  it('parsing accepts only janitor ticks', () => {
    expect(parseJanitorEvent(janitorTick()).ok).toBe(true);
    expect(parseJanitorEvent({ action: 'reconcile' })).toMatchObject({ ok: false });
    expect(parseJanitorEvent({ 'detail-type': 'ClusterSnapshot' })).toMatchObject({ ok: false });
  });
});
