/**
 * An in-flight launch whose instance already ended (interrupted, or burst and scaled in before
 * the record's TTL) is not capacity on its way. Found by `k3s-burst verify`'s end-to-end test:
 * a second burst within `launch.inFlightTtlSeconds` of the first got no node until the record
 * expired, and a spot-interrupted node's replacement waited the same way.
 */
import { describe, expect, it } from 'vitest';
import { fleet, instance, isoAgo, plan, shape, snapshot } from './fixtures.js';

describe('in-flight launches and terminated instances', () => {
  const entry = {
    decisionId: 'pi-lab-prev',
    launchId: 'pi-lab-prev-0',
    decidedAt: isoAgo(300),
    expiresAt: isoAgo(-600),
    instanceType: 'm7g.large',
    count: 1,
    capacityType: 'spot' as const,
    shapeIds: [],
  };
  const ended = instance('i-0a1b2c3d4e5f60718', {
    state: 'terminated',
    launchedAt: isoAgo(290),
    decisionId: 'pi-lab-prev',
  });

  it('a launch whose instance EC2 lists as terminated is settled: a new pending pod gets a launch', () => {
    const s = snapshot({ pendingShapes: [shape({ count: 2 })] });
    const p = plan({ snapshot: s, fleet: fleet({ inFlight: [entry], goneInstances: [ended] }) });
    expect(p.launches).toHaveLength(1);
    expect(p.podAnswers?.map((a) => a.kind)).toEqual(['launched-for']);
  });

  it('without the terminated instance the same record still counts as on its way (the old answer)', () => {
    const s = snapshot({ pendingShapes: [shape({ count: 2 })] });
    const p = plan({ snapshot: s, fleet: fleet({ inFlight: [entry] }) });
    expect(p.launches).toEqual([]);
    expect(p.podAnswers?.map((a) => a.kind)).toEqual(['fits-in-flight']);
  });

  it('a terminated instance is never capacity itself, and settles only its own decision', () => {
    const s = snapshot({ pendingShapes: [shape({ count: 2 })] });
    const other = { ...entry, decisionId: 'pi-lab-other', launchId: 'pi-lab-other-0' };
    const p = plan({ snapshot: s, fleet: fleet({ inFlight: [other], goneInstances: [ended] }) });
    expect(p.launches).toEqual([]);
    expect(p.podAnswers?.[0]).toMatchObject({ kind: 'fits-in-flight', code: 'in-flight:pi-lab-other-0' });
  });
});
