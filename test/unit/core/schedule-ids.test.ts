import { describe, expect, it } from 'vitest';
import {
  activeSchedule,
  decisionIdFor,
  nodeNameFor,
  parseProviderId,
  scheduleBoundaries,
} from '../../../lib/core/index.js';
import { makeConfig } from './fixtures.js';

const schedules = [
  { name: 'weekday-day', cron: '0 7 * * 1-5', timezone: 'Europe/Berlin', minNodes: 1, maxNodes: 6 },
  { name: 'weekday-night', cron: '0 20 * * 1-5', timezone: 'Europe/Berlin', minNodes: 0, maxNodes: 0 },
  { name: 'weekend', cron: '0 0 * * 6', timezone: 'Europe/Berlin', minNodes: 0, maxNodes: 2 },
];

describe('activeSchedule', () => {
  const config = makeConfig({ schedules });

  it('answers the same in any query order (the firing-window memo is a pure cache)', () => {
    // Every 37 minutes across two weeks, including DST-free and boundary-adjacent times.
    const start = Date.parse('2026-03-14T00:00:00Z');
    const times = Array.from({ length: 14 * 39 }, (_, i) => start + i * 37 * 60_000);
    times.push(Date.parse('2026-03-16T06:00:00Z'), Date.parse('2026-03-16T05:59:59.999Z'));
    const inOrder = times.map((t) => activeSchedule(config, new Date(t)).name);
    // Reverse and interleaved order: each query may land in a window cached by another.
    const reversed = [...times]
      .reverse()
      .map((t) => activeSchedule(config, new Date(t)).name)
      .reverse();
    const shuffled = times.map((_, i) => (i * 7919) % times.length);
    expect(reversed).toEqual(inOrder);
    for (const i of shuffled) {
      expect(activeSchedule(config, new Date(times[i] as number)).name).toBe(inOrder[i]);
    }
    expect(new Set(inOrder)).toEqual(new Set(['weekday-day', 'weekday-night', 'weekend']));
  });

  it.each([
    ['2026-03-16T05:59:59Z', 'weekend'], // Monday 06:59 Berlin (CET): the weekend policy still rules
    ['2026-03-16T06:00:00Z', 'weekday-day'], // Monday 07:00 Berlin, exactly at the boundary
    ['2026-03-16T18:59:00Z', 'weekday-day'],
    ['2026-03-16T19:00:00Z', 'weekday-night'],
    ['2026-03-20T22:59:59Z', 'weekday-night'], // Friday 23:59:59 Berlin
    ['2026-03-20T23:00:00Z', 'weekend'], // Saturday 00:00 Berlin
    ['2026-03-30T05:00:00Z', 'weekday-day'], // Monday 07:00 CEST, after the DST switch
    ['2026-03-30T04:59:00Z', 'weekend'],
  ])('at %s the %s policy is active', (iso, name) => {
    expect(activeSchedule(config, new Date(iso)).name).toBe(name);
  });

  it('returns the policy bounds, maxNodes clamped by limits.maxNodes', () => {
    expect(activeSchedule(config, new Date('2026-03-16T09:00:00Z'))).toEqual({
      name: 'weekday-day',
      minNodes: 1,
      maxNodes: 6,
    });
    const tight = makeConfig({ schedules, limits: { maxNodes: 6 } });
    expect(activeSchedule(tight, new Date('2026-03-21T09:00:00Z'))).toEqual({
      name: 'weekend',
      minNodes: 0,
      maxNodes: 2,
    });
  });

  it('with no schedules allows 0..limits.maxNodes', () => {
    expect(activeSchedule(makeConfig(), new Date('2026-03-16T09:00:00Z'))).toEqual({
      name: null,
      minNodes: 0,
      maxNodes: 6,
    });
  });

  it('breaks a tie between policies firing at the same instant in config order', () => {
    // The validator refuses two policies of one time zone firing at the same minute; in two
    // zones they can still coincide (08:00 Berlin is 07:00 UTC before the March DST switch).
    const tie = makeConfig({
      schedules: [
        { name: 'first', cron: '0 7 * * *', timezone: 'UTC', maxNodes: 3 },
        { name: 'second', cron: '0 8 * * *', timezone: 'Europe/Berlin', maxNodes: 1 },
      ],
    });
    expect(activeSchedule(tie, new Date('2026-03-16T08:00:00Z')).name).toBe('first');
  });
});

describe('scheduleBoundaries', () => {
  it('lists every firing in [from, to), sorted, including one exactly at from', () => {
    const config = makeConfig({ schedules });
    const out = scheduleBoundaries(
      config,
      new Date('2026-03-20T06:00:00Z'),
      new Date('2026-03-23T06:00:00Z'),
    );
    expect(out.map((b) => [b.at.toISOString(), b.policy])).toEqual([
      ['2026-03-20T06:00:00.000Z', 'weekday-day'],
      ['2026-03-20T19:00:00.000Z', 'weekday-night'],
      ['2026-03-20T23:00:00.000Z', 'weekend'],
    ]);
  });

  it('is empty without schedules', () => {
    expect(scheduleBoundaries(makeConfig(), new Date(0), new Date('2030-01-01T00:00:00Z'))).toEqual([]);
  });
});

describe('decisionIdFor', () => {
  it('is deterministic, short and uses only [a-z0-9-]', () => {
    const a = decisionIdFor('pi-lab', 'snapshot:18342');
    expect(decisionIdFor('pi-lab', 'snapshot:18342')).toBe(a);
    expect(a).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(a.startsWith('pi-lab-')).toBe(true);
  });

  it('differs for different triggers and clusters', () => {
    const ids = new Set<string>();
    for (let seq = 0; seq < 2000; seq++) ids.add(decisionIdFor('pi-lab', `snapshot:${seq}`));
    ids.add(decisionIdFor('garage', 'snapshot:1'));
    ids.add(decisionIdFor('pi-lab', 'tick:2026-03-14T22:00:00Z'));
    expect(ids.size).toBe(2002);
  });

  it('keeps odd cluster names within 40 chars of [a-z0-9-]', () => {
    for (const c of ['A Very Long Cluster Name That Goes On And On', '---', 'ÄÖÜ']) {
      expect(decisionIdFor(c, 'x')).toMatch(/^[a-z0-9][a-z0-9-]{0,39}$/);
    }
  });
});

describe('parseProviderId', () => {
  it('parses aws:///<az>/<instance-id>', () => {
    expect(parseProviderId('aws:///eu-central-1a/i-0f3a8c61d2e7b9054')).toEqual({
      zone: 'eu-central-1a',
      instanceId: 'i-0f3a8c61d2e7b9054',
    });
  });

  it.each([
    '',
    'k3s://pi-node-1',
    'aws://eu-central-1a/i-0f3a8c61d2e7b9054',
    'aws:///eu-central-1a/',
    'aws:///eu-central-1a/pi-node-1',
    'garbage',
  ])('returns undefined for %j', (id) => {
    expect(parseProviderId(id)).toBeUndefined();
  });

  it('nodeNameFor prefixes the instance id', () => {
    expect(nodeNameFor(makeConfig(), 'i-0f3a8c61d2e7b9054')).toBe('burst-i-0f3a8c61d2e7b9054');
  });
});
