/**
 * The FleetPort contract as executable tests, run against Ec2Fleet on the AWS SDK (moto,
 * capacity errors injected by middleware), Ec2Fleet on Ec2QueryApi (moto behind a proxy that
 * answers with EC2's error XML) and FakeFleet (injected per offering), so the fake is proven faithful.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CapacityLimitError,
  type FleetPort,
  ForeignInstanceError,
  type LaunchOneRequest,
  NoCapacityError,
  NotPoolMemberError,
  type OfferingCache,
  WarmStartUnavailableError,
} from '../../../lib/core/ports.js';
import type { CapacityType } from '../../../lib/events/index.js';

export interface FleetHarness {
  fleet: FleetPort;
  offeringCache: OfferingCache;
  /** Zones of the configured subnets, in order. */
  zones: string[];
  imageId: string;
  /** The time the fleet's clock returns. */
  now: Date;
  /** Make every launch of matching offerings fail with an EC2 error code. */
  failLaunches(match: { instanceType?: string; capacityType?: CapacityType }, code: string): void;
  /** Launch requests that reached EC2 (or the fake's equivalent) since the harness was made. */
  launchCalls(): number;
  /** An instance of another cluster, as EC2 would hold it. */
  addForeignInstance(): Promise<string>;
  /** Size (GiB) of the root volume an instance was launched with. */
  rootVolumeOf(instanceId: string): Promise<number | undefined>;
  /** Let EC2 finish state transitions (stopping → stopped, pending → running). */
  settle(): Promise<void>;
  /** Make the next StartInstances fail with an EC2 error code. */
  failNextStart(code: string): void;
  /** StartInstances calls that reached EC2 since the harness was made. */
  startCalls(): number;
  /** The user data EC2 holds for an instance (decoded). */
  userDataOf(instanceId: string): Promise<string | undefined>;
}

let n = 0;
const request = (h: FleetHarness, over: Partial<LaunchOneRequest> = {}): LaunchOneRequest => {
  n += 1;
  const launchId = `dc${n}-0`;
  return {
    clientToken: `${launchId}-0`,
    decisionId: `dc${n}`,
    launchId,
    index: 0,
    instanceTypes: ['t4g.medium', 't4g.large'],
    capacityTypes: ['spot', 'on-demand'],
    imageId: h.imageId,
    userData: '#!/bin/sh\ntrue\n',
    reason: 'contract test',
    ...over,
  };
};

/** Register the contract's tests; `makeHarness` runs before each test (fresh cache, no failures). */
export function describeFleetPortContract(makeHarness: () => FleetHarness): void {
  let h: FleetHarness;

  beforeEach(() => {
    h = makeHarness();
  });

  describe('FleetPort contract', () => {
    it("sizes the root volume as the request asks, else to the adapter's default (20 GiB)", async () => {
      const sized = await h.fleet.launchOne(request(h, { rootVolumeGiB: 48 }));
      const plain = await h.fleet.launchOne(request(h));
      expect(await h.rootVolumeOf(sized.instanceId)).toBe(48);
      expect(await h.rootVolumeOf(plain.instanceId)).toBe(20);
    });

    it('launches the first offering and lists it with nodeName = prefix + instance id', async () => {
      const req = request(h);
      const launched = await h.fleet.launchOne(req);
      expect(launched).toMatchObject({
        instanceType: 't4g.medium',
        capacityType: 'spot',
        zone: h.zones[0],
        reused: false,
        attempts: [],
      });
      const listed = (await h.fleet.list()).find((i) => i.instanceId === launched.instanceId);
      expect(listed).toMatchObject({
        nodeName: `burst-${launched.instanceId}`,
        decisionId: req.decisionId,
        launchReason: req.reason,
        capacityType: 'spot',
        instanceType: 't4g.medium',
      });
    });

    it('spreads the instances of a group across zones by index', async () => {
      const a = await h.fleet.launchOne(request(h, { index: 0 }));
      const b = await h.fleet.launchOne(request(h, { index: 1 }));
      expect([a.zone, b.zone]).toEqual([h.zones[0], h.zones[1]]);
    });

    it('returns the same instance for the same launch key without launching again', async () => {
      const req = request(h);
      const first = await h.fleet.launchOne(req);
      const calls = h.launchCalls();
      const again = await h.fleet.launchOne({ ...req });
      expect(again).toMatchObject({ instanceId: first.instanceId, reused: true });
      expect(h.launchCalls()).toBe(calls);
    });

    it('finds the instance of a launch key (any state) without launching, and nothing for an unused key', async () => {
      const req = request(h);
      expect(await h.fleet.findLaunched(req.clientToken)).toBeUndefined();
      const first = await h.fleet.launchOne(req);
      const calls = h.launchCalls();
      expect(await h.fleet.findLaunched(req.clientToken)).toMatchObject({
        instanceId: first.instanceId,
        instanceType: first.instanceType,
        nodeName: first.nodeName,
        reused: true,
      });
      await h.fleet.terminate([first.instanceId]);
      expect(await h.fleet.findLaunched(req.clientToken)).toMatchObject({
        instanceId: first.instanceId,
        reused: true,
      });
      expect(await h.fleet.findLaunched(`${req.clientToken}x`)).toBeUndefined();
      expect(h.launchCalls()).toBe(calls);
    });

    it('falls back across types on a capacity error and remembers the failed offerings', async () => {
      h.failLaunches({ instanceType: 't4g.medium', capacityType: 'spot' }, 'InsufficientInstanceCapacity');
      const launched = await h.fleet.launchOne(request(h));
      expect(launched).toMatchObject({ instanceType: 't4g.large', capacityType: 'spot' });
      expect(launched.attempts.map((a) => a.outcome)).toEqual(
        h.zones.map(() => 'InsufficientInstanceCapacity'),
      );
      const cached = await h.offeringCache.listUnavailable(h.now);
      expect(cached.map((c) => `${c.instanceType}/${c.capacityType}/${c.zone}`).sort()).toEqual(
        h.zones.map((z) => `t4g.medium/spot/${z}`).sort(),
      );
    });

    it('falls back to on-demand when spot fails everywhere', async () => {
      h.failLaunches({ capacityType: 'spot' }, 'InsufficientInstanceCapacity');
      const launched = await h.fleet.launchOne(request(h));
      expect(launched).toMatchObject({ instanceType: 't4g.medium', capacityType: 'on-demand' });
    });

    it('treats MaxSpotInstanceCountExceeded as account-wide: one spot attempt, then on-demand', async () => {
      h.failLaunches({ capacityType: 'spot' }, 'MaxSpotInstanceCountExceeded');
      const before = h.launchCalls();
      const launched = await h.fleet.launchOne(request(h));
      expect(launched).toMatchObject({ instanceType: 't4g.medium', capacityType: 'on-demand' });
      expect(h.launchCalls() - before).toBe(2);
      const cached = await h.offeringCache.listUnavailable(h.now);
      expect(cached.map((c) => `${c.instanceType}/${c.capacityType}/${c.zone}`)).toEqual(['*/spot/*']);
    });

    it('throws CapacityLimitError on InstanceLimitExceeded after one attempt', async () => {
      h.failLaunches({}, 'InstanceLimitExceeded');
      const before = h.launchCalls();
      const error = await h.fleet.launchOne(request(h)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CapacityLimitError);
      expect((error as CapacityLimitError).code).toBe('InstanceLimitExceeded');
      expect(h.launchCalls() - before).toBe(1);
    });

    it('throws NoCapacityError when every offering fails, then skips them all from the cache', async () => {
      h.failLaunches({}, 'UnfulfillableCapacity');
      const error = await h.fleet.launchOne(request(h)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NoCapacityError);
      const before = h.launchCalls();
      const again = (await h.fleet.launchOne(request(h)).catch((e: unknown) => e)) as NoCapacityError;
      expect(again).toBeInstanceOf(NoCapacityError);
      expect(again.attempts.every((a) => a.outcome === 'cached-unavailable')).toBe(true);
      expect(h.launchCalls()).toBe(before);
    });

    /** A parked warm-pool member: launched in warm mode, then stopped. */
    async function parkedMember(): Promise<string> {
      const member = await h.fleet.launchOne(request(h, { capacityTypes: ['on-demand'], warmPool: true }));
      await h.settle();
      expect(await h.fleet.stop([member.instanceId])).toEqual({
        stopping: [member.instanceId],
        alreadyStopped: [],
        gone: [],
      });
      await h.settle();
      return member.instanceId;
    }

    it('tags a warm-pool launch as a member and parks it with stop, idempotently', async () => {
      const id = await parkedMember();
      expect((await h.fleet.list()).find((i) => i.instanceId === id)).toMatchObject({
        state: 'stopped',
        warmPool: 'member',
        capacityType: 'on-demand',
      });
      expect(await h.fleet.stop([id])).toEqual({ stopping: [], alreadyStopped: [id], gone: [] });
      const plain = await h.fleet.launchOne(request(h));
      expect((await h.fleet.list()).find((i) => i.instanceId === plain.instanceId)?.warmPool).toBeUndefined();
    });

    it('refuses to stop an instance that is not a pool member, or foreign, stopping none', async () => {
      const id = await h.fleet.launchOne(request(h, { capacityTypes: ['on-demand'], warmPool: true }));
      const plain = await h.fleet.launchOne(request(h));
      const foreign = await h.addForeignInstance();
      await h.settle();
      await expect(h.fleet.stop([id.instanceId, plain.instanceId])).rejects.toBeInstanceOf(
        NotPoolMemberError,
      );
      await expect(h.fleet.stop([id.instanceId, foreign])).rejects.toBeInstanceOf(ForeignInstanceError);
      const states = new Map((await h.fleet.list()).map((i) => [i.instanceId, i.state]));
      expect([states.get(id.instanceId), states.get(plain.instanceId)]).toEqual(['running', 'running']);
    });

    it('starts a stopped member under a new launch key with fresh user data, once (I7)', async () => {
      const id = await parkedMember();
      const start = {
        instanceId: id,
        clientToken: 'dw1-0-0',
        decisionId: 'dw1',
        reason: 'warm start for 3 pods',
        userData: '#!/bin/sh\necho fresh-credential\n',
      };
      const started = await h.fleet.start(start);
      expect(started).toMatchObject({ instanceId: id, reused: false, capacityType: 'on-demand' });
      expect(h.startCalls()).toBe(1);
      await h.settle();
      expect((await h.fleet.list()).find((i) => i.instanceId === id)).toMatchObject({
        state: 'running',
        warmPool: 'started',
        decisionId: 'dw1',
        launchReason: 'warm start for 3 pods',
      });
      expect(await h.userDataOf(id)).toBe(start.userData);
      expect(await h.fleet.findLaunched('dw1-0-0')).toMatchObject({ instanceId: id, reused: true });
      expect(await h.fleet.start(start)).toMatchObject({ instanceId: id, reused: true });
      expect(h.startCalls()).toBe(1);
      // A started member is an ordinary node from now on: stop refuses it.
      await expect(h.fleet.stop([id])).rejects.toBeInstanceOf(NotPoolMemberError);
    });

    it('leaves a member stopped and in the pool when the start fails for capacity', async () => {
      const id = await parkedMember();
      h.failNextStart('InsufficientInstanceCapacity');
      const error = await h.fleet
        .start({ instanceId: id, clientToken: 'dw2-0-0', decisionId: 'dw2', reason: 'warm start' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WarmStartUnavailableError);
      expect((await h.fleet.list()).find((i) => i.instanceId === id)).toMatchObject({
        state: 'stopped',
        warmPool: 'member',
      });
      expect(await h.fleet.findLaunched('dw2-0-0')).toBeUndefined();
    });

    it('refuses to start a running member, a non-member and a foreign instance', async () => {
      const running = await h.fleet.launchOne(request(h, { capacityTypes: ['on-demand'], warmPool: true }));
      const plain = await h.fleet.launchOne(request(h));
      const foreign = await h.addForeignInstance();
      await h.settle();
      const start = (instanceId: string) =>
        h.fleet.start({ instanceId, clientToken: 'dw3-0-0', decisionId: 'dw3', reason: 'r' }).catch((e) => e);
      expect(await start(running.instanceId)).toBeInstanceOf(WarmStartUnavailableError);
      expect(await start(plain.instanceId)).toBeInstanceOf(WarmStartUnavailableError);
      expect(await start(foreign)).toBeInstanceOf(ForeignInstanceError);
      expect(h.startCalls()).toBe(0);
    });

    it('terminates by id, idempotently, and refuses foreign instances', async () => {
      const { instanceId } = await h.fleet.launchOne(request(h));
      const foreign = await h.addForeignInstance();
      await expect(h.fleet.terminate([instanceId, foreign])).rejects.toBeInstanceOf(ForeignInstanceError);
      expect((await h.fleet.list()).find((i) => i.instanceId === instanceId)?.state).not.toBe(
        'shutting-down',
      );
      expect(await h.fleet.terminate([instanceId])).toEqual({ terminating: [instanceId], alreadyGone: [] });
      expect(await h.fleet.terminate([instanceId, 'i-0fedcba9876543210'])).toEqual({
        terminating: [],
        alreadyGone: [instanceId, 'i-0fedcba9876543210'],
      });
      expect((await h.fleet.list()).map((i) => i.instanceId)).not.toContain(foreign);
    });
  });
}
