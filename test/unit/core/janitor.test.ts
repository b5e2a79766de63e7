/**
 * The janitor's pure decision (lib/core/janitor.ts). The use-case acting on it, through the
 * fakes, is tested in test/unit/control/janitor.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { instanceIdOfHostname } from '../../../lib/core/ids.js';
import { instanceGone, planJanitor } from '../../../lib/core/janitor.js';
import { instance, makeConfig, NOW, snapshot } from './fixtures.js';

const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

describe('planJanitor', () => {
  it('does not call an instance an orphan from a snapshot observed before its registration deadline', () => {
    const inst = instance('i-0aaaaaaaaaaaaaaa1', { launchedAt: ago(1000) });
    const plan = planJanitor({
      config: makeConfig(),
      now: NOW,
      instances: [inst],
      // observed 200 s ago: launchedAt + 900 s = 100 s ago, so the snapshot predates the deadline
      stored: { snapshot: snapshot({ observedAt: ago(200), nodes: [] }), storedAt: ago(200) },
      devices: [],
    });
    expect(plan.snapshot).toBe('fresh');
    expect(plan.orphans).toEqual([]);
  });

  it('deletes the device of an unlisted instance only once it has been offline long enough', () => {
    const config = makeConfig();
    const base = {
      tags: ['tag:k3s-burst'],
      id: '1',
      name: 'x',
      addresses: [],
      created: ago(9000),
      isEphemeral: true,
      os: 'linux',
    };
    const plan = planJanitor({
      config,
      now: NOW,
      instances: [],
      stored: undefined,
      devices: [
        {
          ...base,
          nodeId: 'nOld',
          hostname: 'burst-i-0aaaaaaaaaaaaaaa1',
          connectedToControl: false,
          lastSeen: ago(601),
        },
        {
          ...base,
          nodeId: 'nRecent',
          hostname: 'burst-i-0aaaaaaaaaaaaaaa2',
          connectedToControl: false,
          lastSeen: ago(60),
        },
        { ...base, nodeId: 'nOnline', hostname: 'burst-i-0aaaaaaaaaaaaaaa3', connectedToControl: true },
      ],
    });
    expect(plan.devices.map((d) => d.nodeId)).toEqual(['nOld']);
  });

  it('reads instance ids only from managed hostnames', () => {
    expect(instanceIdOfHostname('burst-i-0123456789abcdef0', 'burst-')).toBe('i-0123456789abcdef0');
    expect(instanceIdOfHostname('pi-node-1', 'burst-')).toBeUndefined();
    expect(instanceIdOfHostname('burst-i-0123456789abcdef0-1', 'burst-')).toBeUndefined();
  });

  it('treats shutting-down and terminated instances as gone, live ones not', () => {
    expect(['shutting-down', 'terminated'].map((s) => instanceGone(s as 'terminated'))).toEqual([true, true]);
    expect(['pending', 'running', 'stopping', 'stopped'].map((s) => instanceGone(s as 'running'))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});
