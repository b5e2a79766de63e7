import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import { DetailTypes, Sources } from '../../../lib/events/index.js';
import { nodeDrainedEvent, terminateRequestedEvent } from '../../support/control-a2.js';
import { type A2World, startA2World } from '../../support/control-a2-world.js';

describe('terminate handler against moto and the fake Tailscale API', () => {
  let w: A2World;

  beforeAll(async () => {
    w = await startA2World();
  });
  afterAll(async () => {
    await w?.stop();
  });
  beforeEach(async () => {
    w.tailscale.clearFailures();
    await w.emitted(0);
    await w.commands(0);
  });

  it('scales in: terminates, deletes the device, sends DeleteNode to the agent queue, emits InstanceTerminated', async () => {
    // Given a managed instance whose node joined the tailnet, and a drain in progress
    const inst = await w.launch();
    w.tailscale.registerDevice({ hostname: inst.nodeName, tags: ['tag:k3s-burst'] });
    const pi = w.tailscale.registerDevice({ hostname: 'pi-node-1', tags: ['tag:k3s-burst'] });
    await w.deps.state.recordDrain('pi-lab', {
      nodeName: inst.nodeName,
      instanceId: inst.instanceId,
      requestedAt: new Date().toISOString(),
      deadline: new Date(Date.now() + 600_000).toISOString(),
      reason: 'empty',
    });

    // When the agent reports the drain finished
    const r = await w.invoke(
      'terminate',
      nodeDrainedEvent({ instanceId: inst.instanceId, nodeName: inst.nodeName }),
    );

    // Then
    expect(r).toMatchObject({ outcome: 'terminated', terminatedNow: true, device: { outcome: 'deleted' } });
    expect(['shutting-down', 'terminated']).toContain(await w.stateOf(inst.instanceId));
    expect([...w.tailscale.devices.values()].map((d) => d.hostname)).toEqual([pi.hostname]);
    const cmds = await w.commands(1);
    expect(cmds).toEqual([
      expect.objectContaining({
        source: Sources.terminate,
        detailType: DetailTypes.deleteNode,
        detail: expect.objectContaining({ nodeName: inst.nodeName, instanceId: inst.instanceId }),
      }),
    ]);
    const emitted = await w.emitted(2);
    expect(emitted.map((e) => e.detailType).sort()).toEqual([
      DetailTypes.deleteNode,
      DetailTypes.instanceTerminated,
    ]);
    expect(emitted.find((e) => e.detailType === DetailTypes.instanceTerminated)?.detail).toMatchObject({
      instanceId: inst.instanceId,
      tailscaleDeviceDeleted: true,
    });
    expect(await w.deps.state.listDrains('pi-lab')).toEqual([]);
  });

  it('handles a duplicate delivery without a second termination', async () => {
    const inst = await w.launch();
    const event = terminateRequestedEvent({ instanceId: inst.instanceId });
    const before = w.metrics.total(ControlMetrics.instancesTerminated);

    const first = await w.invoke('terminate', event);
    const second = await w.invoke('terminate', event);

    expect(first).toMatchObject({ outcome: 'terminated', terminatedNow: true, redelivered: false });
    expect(second).toMatchObject({ outcome: 'terminated', terminatedNow: false, redelivered: true });
    expect(w.metrics.total(ControlMetrics.instancesTerminated) - before).toBe(1);
  });

  it('refuses an instance without the cluster tag and leaves it running', async () => {
    const foreign = await w.launchForeign();
    const before = w.metrics.total(ControlMetrics.foreignTerminateRefused);

    const r = await w.invoke('terminate', terminateRequestedEvent({ instanceId: foreign }));

    expect(r).toMatchObject({ outcome: 'refused' });
    expect(await w.stateOf(foreign)).toBe('running');
    expect(w.metrics.total(ControlMetrics.foreignTerminateRefused) - before).toBe(1);
    expect(await w.emitted(0)).toEqual([]);
  });

  it('terminates even when Tailscale is down, and leaves the device for the janitor', async () => {
    const inst = await w.launch();
    w.tailscale.registerDevice({ hostname: inst.nodeName, tags: ['tag:k3s-burst'] });
    w.tailscale.failNext(50, { kind: 'server-error', status: 503 });
    const before = w.metrics.total(ControlMetrics.deviceDeleteFailures);

    const r = await w.invoke('terminate', terminateRequestedEvent({ instanceId: inst.instanceId }));

    expect(r).toMatchObject({ outcome: 'terminated', terminatedNow: true, device: { outcome: 'failed' } });
    expect(['shutting-down', 'terminated']).toContain(await w.stateOf(inst.instanceId));
    expect([...w.tailscale.devices.values()].some((d) => d.hostname === inst.nodeName)).toBe(true);
    expect(w.metrics.total(ControlMetrics.deviceDeleteFailures) - before).toBe(1);
    const terminated = (await w.emitted(2)).find((e) => e.detailType === DetailTypes.instanceTerminated);
    expect(terminated?.detail).toMatchObject({ tailscaleDeviceDeleted: false });
    // The OAuth client secret never reaches the logs.
    const logs = w.log.text();
    expect(logs).not.toContain(w.tailscale.credentials.clientSecret);
    for (const token of w.tailscale.issuedTokens) expect(logs).not.toContain(token);
  });

  it('refuses an event for another cluster without acting', async () => {
    const inst = await w.launch();
    const before = w.metrics.total(ControlMetrics.invalidEvents);
    const r = await w.invoke(
      'terminate',
      terminateRequestedEvent({ instanceId: inst.instanceId, cluster: 'other-lab' }),
    );
    expect(r).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('other-lab') });
    expect(await w.stateOf(inst.instanceId)).toBe('running');
    expect(w.metrics.total(ControlMetrics.invalidEvents) - before).toBe(1);
    expect(
      w.log.lines.some(
        (l) => l.message.includes('rejected') && JSON.stringify(l.attributes).includes('other-lab'),
      ),
    ).toBe(true);
  });
});
