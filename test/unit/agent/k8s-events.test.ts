/**
 * Event aggregation: a repeated Event (same object, type, reason, message) updates the existing
 * Event's count instead of creating another object, at most once per repeatMs. Before, every
 * reconcile's answer to a waiting pod created a new Event object (one a minute per pod).
 */
import { describe, expect, it } from 'vitest';
import { EventRecorder, MAX_REMEMBERED_EVENTS } from '../../../lib/agent/k8s-events.js';
import { memoryLogger } from '../../../lib/agent/logger.js';
import { MemoryKube } from '../../support/fake-k8s/memory-api.js';
import { ManualClock } from '../../support/manual-clock.js';

const POD = { kind: 'Pod' as const, namespace: 'shop', name: 'web-1' };

function setup(repeatMs = 300_000) {
  const api = new MemoryKube();
  const clock = new ManualClock();
  const log = memoryLogger();
  const rec = new EventRecorder({ api, clock, log, instance: 'agent-0', repeatMs });
  return { api, clock, log, rec };
}

const posts = (api: MemoryKube) => api.calls.filter((c) => c.method === 'POST').length;
const patches = (api: MemoryKube) => api.calls.filter((c) => c.method === 'PATCH');

describe('EventRecorder aggregation', () => {
  it('an hour of the same answer every minute is one Event with its count, updated every 5 minutes', async () => {
    const { api, clock, rec } = setup();
    for (let minute = 0; minute < 60; minute++) {
      await rec.record(POD, 'Normal', 'NotTriggerScaleUp', 'held back by limits.maxNodes (2)');
      await clock.advance(60_000);
    }
    expect(posts(api)).toBe(1);
    expect(api.events).toHaveLength(1);
    // updates at minutes 5, 10, …, 55: each carries the count so far
    expect(patches(api)).toHaveLength(11);
    expect(api.events[0]).toMatchObject({ count: 56, reason: 'NotTriggerScaleUp' });
    expect(patches(api)[0]?.path).toBe(`/api/v1/namespaces/shop/events/${api.events[0]?.metadata?.name}`);
  });

  it('a different message, reason, type or object is a new Event', async () => {
    const { api, rec } = setup();
    await rec.record(POD, 'Normal', 'NotTriggerScaleUp', 'a');
    await rec.record(POD, 'Normal', 'NotTriggerScaleUp', 'b');
    await rec.record(POD, 'Normal', 'TriggeredScaleUp', 'a');
    await rec.record(POD, 'Warning', 'NotTriggerScaleUp', 'a');
    await rec.record({ ...POD, name: 'web-2' }, 'Normal', 'NotTriggerScaleUp', 'a');
    expect(posts(api)).toBe(5);
  });

  it('creates a new Event when the old one is gone (event TTL), and does not warn for it', async () => {
    const { api, clock, log, rec } = setup(0);
    await rec.record(POD, 'Normal', 'NotTriggerScaleUp', 'waiting');
    api.events.length = 0; // expired by the API server's --event-ttl
    await clock.advance(1000);
    await rec.record(POD, 'Normal', 'NotTriggerScaleUp', 'waiting');
    expect(posts(api)).toBe(2);
    expect(api.events).toHaveLength(1);
    expect(log.lines.filter((l) => l.level === 'warn')).toEqual([]);
    // and the new Event is the one updated next
    await clock.advance(1000);
    await rec.record(POD, 'Normal', 'NotTriggerScaleUp', 'waiting');
    expect(api.events[0]?.count).toBe(2);
  });

  it('forgets everything when full (bounded memory), then starts over', async () => {
    const { api, rec } = setup();
    for (let i = 0; i <= MAX_REMEMBERED_EVENTS; i++) {
      await rec.record({ ...POD, name: `p-${i}` }, 'Normal', 'NotTriggerScaleUp', 'x');
    }
    await rec.record({ ...POD, name: 'p-0' }, 'Normal', 'NotTriggerScaleUp', 'x');
    expect(posts(api)).toBe(MAX_REMEMBERED_EVENTS + 2);
  });
});
