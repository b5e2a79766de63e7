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

describe('planJanitor and the warm pool', () => {
  const device = (id: string) => ({
    id: '7',
    nodeId: `n-${id}`,
    hostname: `burst-${id}`,
    name: `burst-${id}.tail.ts.net`,
    tags: ['tag:k3s-burst'],
    addresses: ['100.88.17.42'],
    connectedToControl: false,
    lastSeen: ago(86_400),
    created: ago(90_000),
    isEphemeral: false,
    os: 'linux',
  });
  const member = (state: 'stopped' | 'terminated') =>
    instance('i-0aaaaaaaaaaaaaaa1', {
      state,
      warmPool: 'member',
      capacityType: 'on-demand',
      launchedAt: ago(90_000),
    });

  it('keeps the (non-ephemeral) device and the instance of a parked member, however long offline', () => {
    const plan = planJanitor({
      config: makeConfig(),
      now: NOW,
      instances: [member('stopped')],
      stored: { snapshot: snapshot({ observedAt: ago(5) }), storedAt: ago(5) },
      devices: [device('i-0aaaaaaaaaaaaaaa1')],
    });
    expect(plan.orphans).toEqual([]);
    expect(plan.devices).toEqual([]);
  });

  it('deletes the device of a member once its instance is terminated (I4)', () => {
    const plan = planJanitor({
      config: makeConfig(),
      now: NOW,
      instances: [member('terminated')],
      stored: { snapshot: snapshot({ observedAt: ago(5) }), storedAt: ago(5) },
      devices: [device('i-0aaaaaaaaaaaaaaa1')],
    });
    expect(plan.devices.map((d) => d.nodeId)).toEqual(['n-i-0aaaaaaaaaaaaaaa1']);
  });
});
