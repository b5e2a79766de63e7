import { describe, expect, it } from 'vitest';
import {
  FALLBACK_ERROR_CODES,
  isUnavailable,
  orderOfferings,
  QUOTA_ERROR_CODES,
  unavailableEntry,
} from '../../../lib/aws/offerings.js';

const subnets = [
  { subnetId: 'subnet-a', zone: 'eu-central-1a' },
  { subnetId: 'subnet-b', zone: 'eu-central-1b' },
  { subnetId: 'subnet-c', zone: 'eu-central-1c' },
];
const NOW = new Date('2026-03-14T09:00:00Z');

describe('orderOfferings', () => {
  it('orders capacity type, then instance type, then zone', () => {
    const order = orderOfferings(
      ['t4g.medium', 'm7g.large'],
      ['spot', 'on-demand'],
      subnets.slice(0, 2),
      undefined,
    );
    expect(order.map((o) => `${o.capacityType}/${o.instanceType}/${o.zone}`)).toEqual([
      'spot/t4g.medium/eu-central-1a',
      'spot/t4g.medium/eu-central-1b',
      'spot/m7g.large/eu-central-1a',
      'spot/m7g.large/eu-central-1b',
      'on-demand/t4g.medium/eu-central-1a',
      'on-demand/t4g.medium/eu-central-1b',
      'on-demand/m7g.large/eu-central-1a',
      'on-demand/m7g.large/eu-central-1b',
    ]);
  });

  it('keeps only allowed zones and rotates the start zone by index', () => {
    const order = orderOfferings(
      ['t4g.medium'],
      ['on-demand'],
      subnets,
      ['eu-central-1b', 'eu-central-1c'],
      1,
    );
    expect(order.map((o) => o.subnetId)).toEqual(['subnet-c', 'subnet-b']);
  });

  it('yields nothing when no subnet is in an allowed zone', () => {
    expect(orderOfferings(['t4g.medium'], ['spot'], subnets, ['us-east-1a'])).toEqual([]);
  });

  it('drops duplicate types and capacity types', () => {
    expect(orderOfferings(['a.x', 'a.x'], ['spot', 'spot'], subnets.slice(0, 1), undefined)).toHaveLength(1);
  });
});

describe('isUnavailable', () => {
  const o = {
    instanceType: 't4g.medium',
    capacityType: 'spot' as const,
    subnetId: 'subnet-a',
    zone: 'eu-central-1a',
  };

  it('matches the exact zone or the wildcard until the entry expires', () => {
    const exact = unavailableEntry(o, NOW, 180);
    expect(isUnavailable(o, [exact], NOW)).toBe(true);
    expect(isUnavailable(o, [exact], new Date(NOW.getTime() + 180_000))).toBe(false);
    expect(isUnavailable(o, [{ ...exact, zone: '*' }], NOW)).toBe(true);
    expect(isUnavailable({ ...o, zone: 'eu-central-1b' }, [exact], NOW)).toBe(false);
    expect(isUnavailable({ ...o, capacityType: 'on-demand' }, [exact], NOW)).toBe(false);
  });
});

describe('error code classes', () => {
  it('falls back on the documented capacity codes and stops on quota codes', () => {
    for (const code of [
      'InsufficientInstanceCapacity',
      'InsufficientAddressCapacity',
      'UnfulfillableCapacity',
      'SpotMaxPriceTooLow',
      'Unsupported',
      'InsufficientCapacity',
    ]) {
      expect(FALLBACK_ERROR_CODES.has(code)).toBe(true);
    }
    expect([...QUOTA_ERROR_CODES]).toEqual(['VcpuLimitExceeded', 'InstanceLimitExceeded']);
    for (const code of QUOTA_ERROR_CODES) expect(FALLBACK_ERROR_CODES.has(code)).toBe(false);
  });
});
