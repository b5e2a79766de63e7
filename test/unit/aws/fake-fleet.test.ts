import { describe, expect, it } from 'vitest';
import { FakeFleet, FakeOfferingCache } from '../../../lib/sim/world/index.js';
import { describeFleetPortContract } from '../../support/fakes/fleet-contract.js';

const NOW = new Date('2026-03-14T09:00:00Z');

describe('FakeFleet honours the FleetPort contract', () => {
  describeFleetPortContract(() => {
    const offeringCache = new FakeOfferingCache();
    const fleet = new FakeFleet({ cluster: 'pi-lab', offeringCache, clock: { now: () => NOW.getTime() } });
    return {
      fleet,
      offeringCache,
      zones: fleet.subnets.map((s) => s.zone),
      imageId: 'ami-0123456789abcdef0',
      now: NOW,
      failLaunches: (match, code) => fleet.failOffering(match, code),
      launchCalls: () => fleet.launchAttempts.length,
      addForeignInstance: async () => fleet.addForeignInstance('someone-else'),
      rootVolumeOf: async (id) => fleet.instances.get(id)?.rootVolumeGiB,
      settle: async () => fleet.settle(),
      failNextStart: (code) => fleet.startErrors.push(code),
      startCalls: () => fleet.startCalls.length,
      userDataOf: async (id) => fleet.instances.get(id)?.userData,
    };
  });

  it('fails an offering only the requested number of times', async () => {
    const fleet = new FakeFleet({ cluster: 'pi-lab', clock: { now: () => NOW.getTime() } });
    fleet.failOffering(
      { instanceType: 't4g.medium', zone: 'eu-central-1a' },
      'InsufficientInstanceCapacity',
      1,
    );
    const req = {
      decisionId: 'd',
      launchId: 'd-0',
      index: 0,
      instanceTypes: ['t4g.medium'],
      capacityTypes: ['on-demand' as const],
      imageId: 'ami-0',
      userData: '',
      reason: 'r',
    };
    const a = await fleet.launchOne({ ...req, clientToken: 'd-0-0' });
    expect(a.zone).toBe('eu-central-1b');
    const b = await fleet
      .launchOne({ ...req, clientToken: 'd-0-1', zones: ['eu-central-1a'] })
      .catch((e) => e);
    // eu-central-1a is remembered as unavailable for on-demand t4g.medium
    expect(b).toMatchObject({ name: 'NoCapacityError' });
    fleet.settle();
    expect((await fleet.list()).map((i) => i.state)).toEqual(['running']);
  });
});
