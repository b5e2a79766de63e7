import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  parseCidr,
  routeApprovalCovers,
  tagsMissingFromTagOwners,
} from '../../../lib/ops/acl.js';

describe('CIDR helpers', () => {
  it('parses IPv4 CIDRs and normalises the network address', () => {
    expect(parseCidr('10.42.0.0/16')).toEqual({ base: 0x0a2a0000, bits: 16 });
    expect(parseCidr('10.42.7.9/16')).toEqual({ base: 0x0a2a0000, bits: 16 });
    expect(parseCidr('0.0.0.0/0')).toEqual({ base: 0, bits: 0 });
    for (const bad of ['10.42.0.0', '10.42.0.0/33', '256.1.1.1/8', 'fd7a::/48', '', 'ten/8']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it('containment: equal, wider, narrower, disjoint', () => {
    expect(cidrContains('10.42.0.0/16', '10.42.0.0/16')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '10.42.0.0/16')).toBe(true);
    expect(cidrContains('0.0.0.0/0', '10.42.0.0/16')).toBe(true);
    expect(cidrContains('10.42.0.0/24', '10.42.0.0/16')).toBe(false);
    expect(cidrContains('10.43.0.0/16', '10.42.0.0/16')).toBe(false);
    expect(cidrContains('192.168.0.0/16', '10.42.0.0/16')).toBe(false);
    expect(cidrContains('garbage', '10.42.0.0/16')).toBe(false);
  });
});

describe('policy checks', () => {
  it('tagsMissingFromTagOwners lists only the undefined tags', () => {
    const policy = { tagOwners: { 'tag:k3s-burst': ['autogroup:admin'], 'tag:other': [] } };
    expect(tagsMissingFromTagOwners(policy, ['tag:k3s-burst'])).toEqual([]);
    expect(tagsMissingFromTagOwners(policy, ['tag:k3s-burst', 'tag:gpu'])).toEqual(['tag:gpu']);
    expect(tagsMissingFromTagOwners({}, ['tag:k3s-burst'])).toEqual(['tag:k3s-burst']);
    expect(tagsMissingFromTagOwners({ tagOwners: ['tag:k3s-burst'] }, ['tag:k3s-burst'])).toEqual([
      'tag:k3s-burst',
    ]);
  });

  it('routeApprovalCovers needs a covering route approved for one of the node tags', () => {
    const tags = ['tag:k3s-burst'];
    const withRoutes = (routes: unknown) => ({ autoApprovers: { routes } });
    expect(routeApprovalCovers(withRoutes({ '10.42.0.0/16': ['tag:k3s-burst'] }), '10.42.0.0/16', tags)).toBe(
      true,
    );
    expect(
      routeApprovalCovers(withRoutes({ '10.0.0.0/8': ['group:ops', 'tag:k3s-burst'] }), '10.42.0.0/16', tags),
    ).toBe(true);
    // Approved for someone else, or a narrower route only.
    expect(routeApprovalCovers(withRoutes({ '10.42.0.0/16': ['group:ops'] }), '10.42.0.0/16', tags)).toBe(
      false,
    );
    expect(routeApprovalCovers(withRoutes({ '10.42.1.0/24': ['tag:k3s-burst'] }), '10.42.0.0/16', tags)).toBe(
      false,
    );
    expect(routeApprovalCovers(withRoutes('10.42.0.0/16'), '10.42.0.0/16', tags)).toBe(false);
    expect(routeApprovalCovers({}, '10.42.0.0/16', tags)).toBe(false);
  });
});
