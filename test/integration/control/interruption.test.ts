import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import type { InterruptionResult } from '../../../lib/control/interruption.js';
import { DetailTypes, Sources } from '../../../lib/events/index.js';
import { nodeDrainedEvent, rebalanceEvent, spotWarningEvent } from '../../support/control-a2.js';
import { type A2World, startA2World } from '../../support/control-a2-world.js';
import { cloudNode, piNode, snapshot } from '../../unit/core/fixtures.js';

describe('interruption handler against moto', () => {
  let w: A2World;

  beforeAll(async () => {
    w = await startA2World();
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('on a spot warning: records the drain, sends DrainNode and asks reconcile (no launch of its own); the drained node is then terminated', async () => {
    // Given a spot node running workload pods, seen by a fresh snapshot
    const inst = await w.launch();
    const now = new Date(w.clock.nowMs);
    await w.deps.state.putSnapshotIfNewer(
      snapshot({
        seq: 10,
        observedAt: new Date(w.clock.nowMs - 5000).toISOString(),
        nodes: [piNode('pi-node-1'), cloudNode(inst.instanceId, { zone: inst.zone, type: 't4g.medium' })],
      }),
      now,
    );
    const warning = spotWarningEvent(inst.instanceId, { time: now.toISOString() });

    // When EC2 sends the interruption warning
    const r = (await w.invoke('interruption', warning)) as InterruptionResult;

    // Then a DrainNode reaches the agent queue with a deadline inside the 2-minute notice
    expect(r).toMatchObject({ outcome: 'handled', drainRequested: true, reconcileRequested: true });
    const [drain] = await w.commands(1);
    expect(drain).toMatchObject({ source: Sources.interruption, detailType: DetailTypes.drainNode });
    const deadline = Date.parse(String(drain?.detail.deadline));
    expect(deadline - now.getTime()).toBeGreaterThan(0);
    expect(deadline - now.getTime()).toBeLessThan(120_000);
    // and a ReconcileRequested (reconcile decides the replacement), no ScaleOutRequested
    const emitted = await w.emitted(2);
    expect(emitted.map((e) => e.detailType).sort()).toEqual(
      [DetailTypes.drainNode, DetailTypes.reconcileRequested].sort(),
    );
    // recorded in DynamoDB: the drain (to be replaced), the interrupted offering; no in-flight launch
    expect(await w.deps.state.listInFlight('pi-lab', now)).toEqual([]);
    expect(await w.deps.state.listDrains('pi-lab')).toEqual([
      expect.objectContaining({ instanceId: inst.instanceId, replace: true }),
    ]);
    expect(await w.deps.state.offeringCache('pi-lab').listUnavailable(now)).toEqual([
      expect.objectContaining({ instanceType: 't4g.medium', capacityType: 'spot', zone: inst.zone }),
    ]);

    // When the same warning is delivered again, and a rebalance recommendation follows
    const again = (await w.invoke('interruption', warning)) as InterruptionResult;
    const rebalance = (await w.invoke('interruption', rebalanceEvent(inst.instanceId))) as InterruptionResult;
    // the same DrainNode again (the first put may have been lost), nothing for the later deadline
    expect(again).toMatchObject({ drainRequested: true });
    expect(rebalance).toMatchObject({ drainRequested: false });
    const [resent] = await w.commands(1);
    expect(resent?.detail).toEqual(drain?.detail);
    expect(await w.deps.state.listDrains('pi-lab')).toHaveLength(1);

    // When the agent reports the drain done (echoing the DrainNode's decision), terminate
    // cleans up and forgets the drain
    const t = await w.invoke(
      'terminate',
      nodeDrainedEvent({
        instanceId: inst.instanceId,
        nodeName: inst.nodeName,
        decisionId: String(drain?.detail.decisionId),
      }),
    );
    expect(t).toMatchObject({ outcome: 'terminated' });
    expect(await w.deps.state.listDrains('pi-lab')).toEqual([]);
  });

  it('ignores an instance that is not this cluster’s, counting it', async () => {
    const foreign = await w.launchForeign();
    const before = w.metrics.total(ControlMetrics.foreignInstances);
    await w.emitted(0);
    await w.commands(0);
    const r = await w.invoke('interruption', spotWarningEvent(foreign));
    expect(r).toMatchObject({ outcome: 'ignored' });
    expect(w.metrics.total(ControlMetrics.foreignInstances) - before).toBe(1);
    expect(await w.emitted(0)).toEqual([]);
    expect(await w.commands(0)).toEqual([]);
  });

  it('rejects a malformed warning without acting', async () => {
    const bad = { ...spotWarningEvent('i-0123456789abcdef0'), detail: { 'instance-id': 'i-nope' } };
    expect(await w.invoke('interruption', bad)).toMatchObject({ outcome: 'rejected' });
  });
});
