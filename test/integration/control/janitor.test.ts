import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import type { JanitorReport } from '../../../lib/control/janitor.js';
import { DetailTypes, Sources } from '../../../lib/events/index.js';
import { janitorTick } from '../../support/control-a2.js';
import { type A2World, startA2World } from '../../support/control-a2-world.js';
import { cloudNode, piNode, snapshot } from '../../unit/core/fixtures.js';

describe('janitor handler against moto and the fake Tailscale API', () => {
  let w: A2World;

  beforeAll(async () => {
    w = await startA2World();
  });
  afterAll(async () => {
    await w?.stop();
  });

  const iso = (msAgo: number) => new Date(w.clock.nowMs - msAgo).toISOString();

  it('acts on nothing in the cluster while the snapshot is stale, removes orphans and stale devices once it is fresh', async () => {
    // Given: an orphan (never registered), a registered instance, a terminated one whose
    // device and Node are left over, and a Pi device carrying the same tag
    const orphan = await w.launch();
    const registered = await w.launch();
    const gone = await w.launch();
    await w.deps.fleet.terminate([gone.instanceId]);
    const orphanDevice = w.tailscale.registerDevice({ hostname: orphan.nodeName, tags: ['tag:k3s-burst'] });
    w.tailscale.registerDevice({ hostname: registered.nodeName, tags: ['tag:k3s-burst'] });
    const goneDevice = w.tailscale.registerDevice({
      hostname: gone.nodeName,
      tags: ['tag:k3s-burst'],
      connectedToControl: false,
      lastSeen: new Date().toISOString(),
    });
    w.tailscale.registerDevice({
      hostname: 'pi-node-1',
      tags: ['tag:k3s-burst'],
      connectedToControl: false,
      lastSeen: '2026-01-01T00:00:00Z',
    });
    // two hours later (past the 15-minute registration timeout)
    w.clock.nowMs = Date.now() + 2 * 3600_000;
    const nodes = [
      piNode('pi-node-1'),
      cloudNode(registered.instanceId, { zone: registered.zone }),
      cloudNode(gone.instanceId, { zone: gone.zone, ready: false }),
    ];
    await w.deps.state.putSnapshotIfNewer(
      snapshot({ seq: 100, observedAt: iso(400_000), nodes }),
      // received when observed: the janitor ages a snapshot by its receive time (I12)
      new Date(iso(400_000)),
    );

    // When the janitor runs on a stale snapshot
    const stale = (await w.invoke(
      'janitor',
      janitorTick(new Date(w.clock.nowMs).toISOString()),
    )) as JanitorReport;

    // Then no instance is terminated and no Node deletion is requested (fail-safe)...
    expect(stale.snapshot).toBe('stale');
    expect(stale.orphansTerminated).toEqual([]);
    expect(await w.stateOf(orphan.instanceId)).toBe('running');
    expect(await w.commands(0)).toEqual([]);
    // ...but the device of the terminated instance is removed (that needs no cluster view)
    expect(stale.devicesDeleted).toEqual([goneDevice.nodeId]);
    expect(w.metrics.total(ControlMetrics.janitorFailSafeSkips)).toBe(1);

    // When the agent is back and the janitor runs again
    await w.deps.state.putSnapshotIfNewer(
      snapshot({ seq: 101, observedAt: iso(20_000), nodes }),
      new Date(iso(20_000)),
    );
    const fresh = (await w.invoke(
      'janitor',
      janitorTick(new Date(w.clock.nowMs).toISOString()),
    )) as JanitorReport;

    // Then the orphan is terminated and its device deleted; the registered instance is untouched
    expect(fresh.snapshot).toBe('fresh');
    expect(fresh.orphansTerminated).toEqual([orphan.instanceId]);
    expect(['shutting-down', 'terminated']).toContain(await w.stateOf(orphan.instanceId));
    expect(await w.stateOf(registered.instanceId)).toBe('running');
    expect(fresh.devicesDeleted).toEqual([orphanDevice.nodeId]);
    expect([...w.tailscale.devices.values()].map((d) => d.hostname).sort()).toEqual(
      ['pi-node-1', registered.nodeName].sort(),
    );
    // and the Node of the terminated instance goes to the agent as DeleteNode
    const cmds = await w.commands(1);
    expect(cmds).toEqual([
      expect.objectContaining({
        source: Sources.janitor,
        detailType: DetailTypes.deleteNode,
        detail: expect.objectContaining({ nodeName: gone.nodeName, instanceId: gone.instanceId }),
      }),
    ]);
    const emitted = await w.emitted(2);
    expect(emitted.find((e) => e.detailType === DetailTypes.instanceTerminated)?.detail).toMatchObject({
      instanceId: orphan.instanceId,
    });
  });

  it('refuses a tick meant for reconcile', async () => {
    const tick = { ...janitorTick(), detail: { action: 'reconcile' } };
    expect(await w.invoke('janitor', tick)).toMatchObject({ outcome: 'rejected' });
  });
});
