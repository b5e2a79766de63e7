import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DetailTypes,
  Ec2RebalanceDetail,
  Ec2SpotInterruptionDetail,
  Ec2StateChangeDetail,
  EventEnvelope,
  parseScheduledTick,
} from '../../../lib/events/index.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'events', name), 'utf8'));

describe('EC2 events', () => {
  it('parses a spot interruption warning into instance id and action', () => {
    const env = EventEnvelope.parse(fixture('ec2-spot-interruption.json'));
    expect(env['detail-type']).toBe(DetailTypes.ec2SpotInterruption);
    expect(Ec2SpotInterruptionDetail.parse(env.detail)).toEqual({
      'instance-id': 'i-0a1b2c3d4e5f60718',
      'instance-action': 'terminate',
    });
  });

  it('parses a rebalance recommendation', () => {
    const env = EventEnvelope.parse(fixture('ec2-rebalance.json'));
    expect(Ec2RebalanceDetail.parse(env.detail)['instance-id']).toBe('i-0a1b2c3d4e5f60718');
  });

  it('accepts a state change without "version" and trims a stray space in the instance id', () => {
    const env = EventEnvelope.parse(fixture('ec2-state-change-no-version.json'));
    const detail = Ec2StateChangeDetail.parse(env.detail);
    expect(detail).toEqual({ 'instance-id': 'i-0a1b2c3d4e5f60718', state: 'shutting-down' });
  });

  it('rejects an unknown instance state and a malformed instance id', () => {
    expect(
      Ec2StateChangeDetail.safeParse({ 'instance-id': 'i-0a1b2c3d4e5f60718', state: 'rebooting' }).success,
    ).toBe(false);
    expect(Ec2StateChangeDetail.safeParse({ 'instance-id': 'not-an-id', state: 'running' }).success).toBe(
      false,
    );
  });
});

describe('parseScheduledTick', () => {
  it('accepts a Scheduler default notification whose detail is the string "{}"', () => {
    const tick = parseScheduledTick(fixture('scheduler-default-notification.json'));
    expect(tick).toMatchObject({ kind: 'tick', action: 'reconcile', at: '2026-05-02T20:00:00Z' });
    expect(tick?.id).toBe('9b8a7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d');
  });

  it('accepts a scheduled-rule envelope whose detail is an object', () => {
    expect(parseScheduledTick(fixture('scheduled-rule.json'))).toMatchObject({ action: 'reconcile' });
  });

  it('accepts the bare Input object a templated Scheduler target delivers', () => {
    const tick = parseScheduledTick(fixture('scheduler-input.json'));
    expect(tick).toMatchObject({ action: 'reconcile', policy: 'weekday-night', at: '2026-05-02T18:00:00Z' });
    expect(tick?.id).toBe('schedule:weekday-night:2026-05-02T18:00:00Z:1');
  });

  it('returns undefined for events that are not schedules', () => {
    expect(parseScheduledTick(fixture('ec2-rebalance.json'))).toBeUndefined();
    expect(parseScheduledTick({ hello: 'world' })).toBeUndefined();
    expect(parseScheduledTick({ action: 'explode' })).toBeUndefined();
    expect(parseScheduledTick(null)).toBeUndefined();
  });
});
