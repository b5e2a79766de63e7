import { describe, expect, it } from 'vitest';
import { filterCandidateOfferings } from '../../../lib/core/availability.js';
import type { UnavailableOffering } from '../../../lib/events/index.js';
import { fleet, isoAgo, makeConfig, NOW, plan, said, shape, snapshot } from './fixtures.js';

/** What launch records: the exact (type, zone, capacity type) that failed, for 3 minutes. */
const refused = (
  instanceType: string,
  zone: string,
  capacityType: 'spot' | 'on-demand',
  reason = 'InsufficientInstanceCapacity',
): UnavailableOffering => ({ instanceType, zone, capacityType, until: isoAgo(-180), reason });

const config = makeConfig({ nodes: { candidateTypes: ['t4g.medium', 'm7g.large'] } });
const pendingWeb = snapshot({ pendingShapes: [shape({ id: 'web', count: 3 })] });

describe('the offering cache reaches the planner (I10)', () => {
  it('an offering launch refused in every zone is not planned again (per-zone entries, as launch writes them)', () => {
    const before = plan({ config, snapshot: pendingWeb });
    expect(before.launches[0]?.instanceTypes[0]).toBe('t4g.medium');
    expect(before.launches[0]?.capacityTypes[0]).toBe('spot');

    const p = plan({
      config,
      snapshot: pendingWeb,
      fleet: fleet({
        unavailableOfferings: [
          refused('t4g.medium', 'eu-central-1a', 'spot'),
          refused('t4g.medium', 'eu-central-1b', 'spot'),
        ],
      }),
    });
    const l = p.launches[0];
    expect(l).toBeDefined();
    // t4g.medium spot is gone from the plan: either another type's spot or t4g.medium on-demand.
    const plansRefused = l?.instanceTypes[0] === 't4g.medium' && l.capacityTypes.includes('spot');
    expect(plansRefused).toBe(false);
    const summary = said(p, 'scale-out').find((m) => m.startsWith('offering cache:'));
    expect(summary).toMatch(
      /t4g\.medium spot \(InsufficientInstanceCapacity\) is unavailable in every zone until 09:33:00 UTC/,
    );
    expect(summary).toMatch(/planning .* instead/);
  });

  it('an offering refused in one zone only stays planned (launch uses the other zone) and the plan says so', () => {
    const p = plan({
      config,
      snapshot: pendingWeb,
      fleet: fleet({ unavailableOfferings: [refused('t4g.medium', 'eu-central-1a', 'spot')] }),
    });
    expect(p.launches[0]?.instanceTypes[0]).toBe('t4g.medium');
    expect(p.launches[0]?.capacityTypes).toEqual(['spot', 'on-demand']);
    expect(said(p, 'scale-out').join('\n')).toMatch(
      /t4g\.medium spot \(InsufficientInstanceCapacity\) is unavailable in eu-central-1a until 09:33:00 UTC; planning the other zones for t4g\.medium spot/,
    );
  });

  it('an account-wide spot entry (MaxSpotInstanceCountExceeded) takes spot out of every launch', () => {
    const p = plan({
      config,
      snapshot: pendingWeb,
      fleet: fleet({
        unavailableOfferings: [refused('*', '*', 'spot', 'MaxSpotInstanceCountExceeded')],
      }),
    });
    expect(p.launches.length).toBeGreaterThan(0);
    for (const l of p.launches) expect(l.capacityTypes).toEqual(['on-demand']);
    expect(said(p, 'scale-out').join('\n')).toMatch(
      /all spot capacity \(MaxSpotInstanceCountExceeded, account-wide\) is unavailable until 09:33:00 UTC/,
    );
  });

  it('pods whose every offering is unavailable wait, with a per-shape reason saying until when', () => {
    const all = ['t4g.medium', 'm7g.large'].flatMap((t) =>
      (['spot', 'on-demand'] as const).map((c) => refused(t, '*', c)),
    );
    const p = plan({ config, snapshot: pendingWeb, fleet: fleet({ unavailableOfferings: all }) });
    expect(p.launches).toEqual([]);
    const waiting = p.explanations.filter((e) => e.kind === 'waiting');
    expect(waiting).toHaveLength(1);
    expect(waiting[0]?.subject).toBe('web');
    expect(waiting[0]?.message).toMatch(/^3 pods of shape web .* wait: every matching offering/);
    expect(waiting[0]?.message).toMatch(/tried again after 09:33:00 UTC/);
  });

  it('expired entries block nothing', () => {
    const p = plan({
      config,
      snapshot: pendingWeb,
      fleet: fleet({
        unavailableOfferings: [{ ...refused('t4g.medium', '*', 'spot'), until: isoAgo(1) }],
      }),
    });
    expect(p.launches[0]?.capacityTypes).toEqual(['spot', 'on-demand']);
    expect(said(p, 'scale-out').some((m) => m.startsWith('offering cache:'))).toBe(false);
  });
});

describe('filterCandidateOfferings', () => {
  it('keeps a capacity type while one zone is open, drops it when all are blocked, latest until wins per zone', () => {
    const a = filterCandidateOfferings({
      instanceTypes: ['m7g.large'],
      capacityTypes: ['spot', 'on-demand'],
      zones: ['eu-central-1a', 'eu-central-1b'],
      unavailable: [
        refused('m7g.large', 'eu-central-1a', 'spot'),
        { ...refused('m7g.large', 'eu-central-1b', 'spot'), until: isoAgo(-60) },
        refused('m7g.large', 'eu-central-1a', 'on-demand'),
      ],
      nowMs: NOW.getTime(),
    });
    expect(a.capacityTypes.get('m7g.large')).toEqual(['on-demand']);
    expect(a.blocked).toEqual([
      expect.objectContaining({ capacityType: 'on-demand', everywhere: false, zones: ['eu-central-1a'] }),
      expect.objectContaining({ capacityType: 'spot', everywhere: true, until: isoAgo(-60) }),
    ]);
  });
});
