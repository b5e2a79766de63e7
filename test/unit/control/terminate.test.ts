import { describe, expect, it } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import { parseTerminateEvent, type TerminateInput } from '../../../lib/control/inputs.js';
import { terminate } from '../../../lib/control/terminate.js';
import { type DeleteNode, DetailTypes, type InstanceTerminated, Sources } from '../../../lib/events/index.js';
import {
  fakeDeps,
  launchManaged,
  nodeDrainedEvent,
  terminateRequestedEvent,
} from '../../support/control-a2.js';

/** The drain record reconcile writes before it sends DrainNode (decision as in nodeDrainedEvent). */
function requestedDrain(inst: { instanceId: string; nodeName: string }) {
  return {
    nodeName: inst.nodeName,
    instanceId: inst.instanceId,
    requestedAt: '2026-03-16T09:20:00Z',
    deadline: '2026-03-16T09:40:00Z',
    reason: 'empty',
    decisionId: 'pi-lab-0scalein00001',
  };
}

function parsed(raw: unknown): TerminateInput {
  const p = parseTerminateEvent(raw, 'pi-lab');
  if (!p.ok) throw new Error(`test event did not parse: ${p.reason}`);
  return p.input;
}

describe('terminate', () => {
  it('terminates a tagged instance, deletes its device, asks for the Node deletion and emits InstanceTerminated', async () => {
    // Given a running managed instance with a joined Tailscale device and a recorded drain
    const t = fakeDeps();
    const inst = await launchManaged(t.fleet);
    t.devices.addDevice({ hostname: inst.nodeName, tags: ['tag:k3s-burst'] });
    const other = t.devices.addDevice({ hostname: 'burst-i-0ffffffffffffffff', tags: ['tag:k3s-burst'] });
    await t.state.recordDrain('pi-lab', {
      nodeName: inst.nodeName,
      instanceId: inst.instanceId,
      requestedAt: '2026-03-16T09:20:00Z',
      deadline: '2026-03-16T09:40:00Z',
      reason: 'empty',
    });

    // When terminate handles a TerminateRequested
    const r = await terminate(parsed(terminateRequestedEvent({ instanceId: inst.instanceId })), t.deps);

    // Then
    expect(r).toMatchObject({ outcome: 'terminated', terminatedNow: true, nodeName: inst.nodeName });
    expect(t.fleet.instances.get(inst.instanceId)?.state).toBe('shutting-down');
    expect([...t.devices.devices.values()].map((d) => d.hostname)).toEqual([other.hostname]);
    const del = t.bus.detailsOf<DeleteNode>(DetailTypes.deleteNode);
    expect(del).toEqual([expect.objectContaining({ nodeName: inst.nodeName, instanceId: inst.instanceId })]);
    const term = t.bus.detailsOf<InstanceTerminated>(DetailTypes.instanceTerminated);
    expect(term).toEqual([
      expect.objectContaining({
        instanceId: inst.instanceId,
        tailscaleDeviceDeleted: true,
        nodeDeletionRequested: true,
      }),
    ]);
    expect(t.bus.sent.every((e) => e.source === Sources.terminate)).toBe(true);
    expect(await t.state.listDrains('pi-lab')).toEqual([]);
    expect(t.metrics.total(ControlMetrics.instancesTerminated)).toBe(1);
    expect(t.metrics.total(ControlMetrics.devicesDeleted)).toBe(1);
  });

  it('takes the node name from the fleet when the request carries none', async () => {
    const t = fakeDeps();
    const inst = await launchManaged(t.fleet);
    const r = await terminate(
      parsed(terminateRequestedEvent({ instanceId: inst.instanceId, nodeName: undefined })),
      t.deps,
    );
    expect(r).toMatchObject({ outcome: 'terminated', nodeName: `burst-${inst.instanceId}` });
    expect(r.outcome === 'terminated' && r.device.outcome).toBe('absent');
  });

  it('deletes only the managed hostname device, even when the event names another node', async () => {
    const t = fakeDeps();
    const inst = await launchManaged(t.fleet);
    const pi = t.devices.addDevice({ hostname: 'pi-node-1', tags: ['tag:k3s-burst'] });
    t.devices.addDevice({ hostname: inst.nodeName, tags: ['tag:k3s-burst'] });

    const r = await terminate(
      parsed(terminateRequestedEvent({ instanceId: inst.instanceId, nodeName: 'pi-node-1' })),
      t.deps,
    );

    expect(r.outcome === 'terminated' && r.device).toEqual({ outcome: 'deleted', deleted: 1 });
    expect([...t.devices.devices.values()].map((d) => d.hostname)).toEqual([pi.hostname]);
    // the agent gets the instance id with the DeleteNode and refuses a node that is not its
    expect(t.bus.detailsOf<DeleteNode>(DetailTypes.deleteNode)[0]).toMatchObject({
      nodeName: 'pi-node-1',
      instanceId: inst.instanceId,
    });
  });

  it('does no harm when the same event is delivered twice', async () => {
    const t = fakeDeps();
    const inst = await launchManaged(t.fleet);
    t.devices.addDevice({ hostname: inst.nodeName, tags: ['tag:k3s-burst'] });
    const event = terminateRequestedEvent({ instanceId: inst.instanceId });

    const first = await terminate(parsed(event), t.deps);
    const second = await terminate(parsed(event), t.deps);

    expect(first).toMatchObject({ outcome: 'terminated', terminatedNow: true, redelivered: false });
    expect(second).toMatchObject({ outcome: 'terminated', terminatedNow: false, redelivered: true });
    expect(second.outcome === 'terminated' && second.device.outcome).toBe('absent');
    expect(t.metrics.total(ControlMetrics.instancesTerminated)).toBe(1);
    expect(t.metrics.total(ControlMetrics.devicesDeleted)).toBe(1);
    expect(t.metrics.total(ControlMetrics.duplicateEvents)).toBe(1);
    expect(t.fleet.instances.get(inst.instanceId)?.state).toBe('shutting-down');
  });

  it('refuses an instance without this cluster tag and does nothing else', async () => {
    const t = fakeDeps();
    const foreign = t.fleet.addForeignInstance('someone-else');
    t.devices.addDevice({ hostname: `burst-${foreign}`, tags: ['tag:k3s-burst'] });

    const r = await terminate(parsed(terminateRequestedEvent({ instanceId: foreign })), t.deps);

    expect(r.outcome).toBe('refused');
    expect(t.fleet.instances.get(foreign)?.state).toBe('running');
    expect(t.devices.devices.size).toBe(1);
    expect(t.bus.sent).toEqual([]);
    expect(t.metrics.total(ControlMetrics.foreignTerminateRefused)).toBe(1);
    expect(t.log.lines.some((l) => l.level === 'error' && /refused/.test(l.message))).toBe(true);
  });

  it('still terminates when Tailscale is down and leaves the device for the janitor', async () => {
    const t = fakeDeps();
    const inst = await launchManaged(t.fleet);
    t.devices.addDevice({ hostname: inst.nodeName, tags: ['tag:k3s-burst'] });
    t.devices.failNext('*', 'unavailable', 5);

    const r = await terminate(parsed(terminateRequestedEvent({ instanceId: inst.instanceId })), t.deps);

    expect(r).toMatchObject({ outcome: 'terminated', terminatedNow: true });
    expect(r.outcome === 'terminated' && r.device).toMatchObject({ outcome: 'failed', kind: 'unavailable' });
    expect(t.fleet.instances.get(inst.instanceId)?.state).toBe('shutting-down');
    expect(t.devices.devices.size).toBe(1);
    expect(t.bus.detailsOf<InstanceTerminated>(DetailTypes.instanceTerminated)[0]).toMatchObject({
      tailscaleDeviceDeleted: false,
      nodeDeletionRequested: true,
    });
    expect(t.metrics.total(ControlMetrics.deviceDeleteFailures)).toBe(1);
  });

  it('terminates after a drained, timed-out or not-found NodeDrained of a requested drain', async () => {
    for (const outcome of ['drained', 'timed-out', 'not-found'] as const) {
      const t = fakeDeps();
      const inst = await launchManaged(t.fleet);
      await t.state.recordDrain('pi-lab', requestedDrain(inst));
      const r = await terminate(parsed(nodeDrainedEvent({ instanceId: inst.instanceId, outcome })), t.deps);
      expect(r.outcome, outcome).toBe('terminated');
      expect(t.fleet.instances.get(inst.instanceId)?.state, outcome).toBe('shutting-down');
      expect(await t.state.listDrains('pi-lab'), outcome).toEqual([]);
    }
  });

  it('ignores a NodeDrained nobody asked for: no drain record, or a drain of another decision (I12)', async () => {
    // The reported defect: the agent's key alone terminated any cloud node at once.
    const t = fakeDeps();
    const a = await launchManaged(t.fleet);
    const b = await launchManaged(t.fleet);
    t.devices.addDevice({ hostname: a.nodeName, tags: ['tag:k3s-burst'] });
    await t.state.recordDrain('pi-lab', { ...requestedDrain(b), decisionId: 'pi-lab-0scalein00002' });

    const unrequested = await terminate(parsed(nodeDrainedEvent({ instanceId: a.instanceId })), t.deps);
    const otherDecision = await terminate(parsed(nodeDrainedEvent({ instanceId: b.instanceId })), t.deps);

    expect(unrequested).toMatchObject({ outcome: 'ignored', reason: expect.stringContaining('no drain') });
    expect(otherDecision).toMatchObject({
      outcome: 'ignored',
      reason: expect.stringContaining('"pi-lab-0scalein00002"'),
    });
    expect(t.fleet.terminateCalls).toEqual([]);
    expect(t.fleet.instances.get(a.instanceId)?.state).toBe('running');
    expect(t.devices.devices.size).toBe(1);
    expect(t.bus.sent).toEqual([]);
    expect(await t.state.listDrains('pi-lab')).toHaveLength(1);
    expect(t.metrics.total(ControlMetrics.unrequestedDrainReports)).toBe(2);
  });

  it('takes the node name of a drain report from the drain record, not from the report', async () => {
    const t = fakeDeps();
    const inst = await launchManaged(t.fleet);
    await t.state.recordDrain('pi-lab', requestedDrain(inst));
    const r = await terminate(
      parsed(nodeDrainedEvent({ instanceId: inst.instanceId, nodeName: 'pi-node-1' })),
      t.deps,
    );
    expect(r).toMatchObject({ outcome: 'terminated', nodeName: inst.nodeName });
    expect(t.bus.detailsOf<DeleteNode>(DetailTypes.deleteNode)[0]?.nodeName).toBe(inst.nodeName);
  });

  it('defers termination after a blocked or refused drain (the deadline decides)', async () => {
    for (const outcome of ['blocked', 'refused'] as const) {
      const t = fakeDeps();
      const inst = await launchManaged(t.fleet);
      await t.state.recordDrain('pi-lab', {
        nodeName: inst.nodeName,
        instanceId: inst.instanceId,
        requestedAt: '2026-03-16T09:20:00Z',
        deadline: '2026-03-16T09:40:00Z',
        reason: 'empty',
      });
      const r = await terminate(parsed(nodeDrainedEvent({ instanceId: inst.instanceId, outcome })), t.deps);
      expect(r.outcome, outcome).toBe('deferred');
      expect(t.fleet.terminateCalls, outcome).toEqual([]);
      expect(t.bus.sent, outcome).toEqual([]);
      expect(await t.state.listDrains('pi-lab'), outcome).toHaveLength(1);
      expect(t.metrics.total(ControlMetrics.terminationsDeferred)).toBe(1);
    }
  });

  it('keeps the instance after an abandoned voluntary drain, and says so (not "terminated at the deadline")', async () => {
    const t = fakeDeps();
    const inst = await launchManaged(t.fleet);
    await t.state.recordDrain('pi-lab', { ...requestedDrain(inst), disruption: 'voluntary' });
    const r = await terminate(
      parsed(nodeDrainedEvent({ instanceId: inst.instanceId, outcome: 'abandoned' })),
      t.deps,
    );
    expect(r).toMatchObject({
      outcome: 'kept',
      reason: expect.stringMatching(
        /^voluntary drain of burst-i-\w+ was abandoned \(a pod could not be evicted without force, I9\): the agent uncordoned the node and the instance is kept, not terminated/,
      ),
    });
    expect(t.log.text()).toContain('voluntary drain abandoned; the instance is kept');
    expect(t.log.text()).not.toContain('terminated at the drain deadline');
    expect(t.fleet.terminateCalls).toEqual([]);
    expect(t.bus.sent).toEqual([]);
    expect(await t.state.listDrains('pi-lab')).toHaveLength(1);
    expect(t.metrics.total(ControlMetrics.terminationsDeferred)).toBe(0);
  });

  it('fails the invocation when the bus refuses, and a retry completes the work', async () => {
    const t = fakeDeps();
    const inst = await launchManaged(t.fleet);
    const event = terminateRequestedEvent({ instanceId: inst.instanceId });
    t.bus.failNext(2);

    await expect(terminate(parsed(event), t.deps)).rejects.toThrow(/could not be put on the bus/);
    expect(t.fleet.instances.get(inst.instanceId)?.state).toBe('shutting-down');

    const retry = await terminate(parsed(event), t.deps);
    expect(retry).toMatchObject({ outcome: 'terminated', redelivered: false });
    expect(t.bus.detailsOf(DetailTypes.deleteNode)).toHaveLength(1);
    expect(t.bus.detailsOf(DetailTypes.instanceTerminated)).toHaveLength(1);
  });

  it('parsing refuses events of another cluster, unknown types and bad details', () => {
    const inst = 'i-0123456789abcdef0';
    const foreign = parseTerminateEvent(
      terminateRequestedEvent({ instanceId: inst, cluster: 'other' }),
      'pi-lab',
    );
    expect(foreign).toMatchObject({ ok: false, reason: expect.stringContaining('"other"') });
    const wrongSource = parseTerminateEvent(
      terminateRequestedEvent({ instanceId: inst }, { source: 'evil.source' }),
      'pi-lab',
    );
    expect(wrongSource.ok).toBe(false);
    // Our own functions other than the decider never ask for terminations: refused, naming the source (I12)
    for (const source of [Sources.janitor, Sources.interruption, Sources.launch, Sources.terminate]) {
      const notDecider = parseTerminateEvent(
        terminateRequestedEvent({ instanceId: inst }, { source }),
        'pi-lab',
      );
      expect(notDecider, source).toMatchObject({ ok: false, reason: expect.stringContaining(`"${source}"`) });
    }
    expect(parseTerminateEvent(terminateRequestedEvent({ instanceId: inst }), 'pi-lab').ok).toBe(true);
    const bad = parseTerminateEvent(terminateRequestedEvent({ instanceId: 'not-an-id' }), 'pi-lab');
    expect(bad).toMatchObject({ ok: false, reason: expect.stringContaining('instanceId') });
  });
});
