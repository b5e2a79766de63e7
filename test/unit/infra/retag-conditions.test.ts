/**
 * IAM on re-tagging (#17 item 4 leftover): launch may write `k3s-burst:warm-pool=started` only
 * onto a warm-pool member, and never `member` (only RunInstances' tag-on-create does), so it
 * cannot make an ordinary node pass the Start/Stop conditions. moto does not evaluate IAM: the
 * CreateTags calls the real fleet adapter makes on every warm-start path are evaluated against
 * the synthesized launch statements with the small IAM model (test/support/iam-eval.ts).
 */
import type { CreateTagsRequest, Instance, Tag } from '@aws-sdk/client-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Ec2Api, Ec2Fleet } from '../../../lib/aws/fleet.js';
import { WarmStartUnavailableError } from '../../../lib/core/ports.js';
import { Tags } from '../../../lib/events/index.js';
import { FakeOfferingCache } from '../../../lib/sim/world/offering-cache.js';
import { allowingStatements, createTagsResource, type ResolveEnv } from '../../support/iam-eval.js';
import { defaultTemplate, logicalId, type Statement, statementsOf, TEST_ACCOUNT } from './support.js';

const NOW = new Date('2026-03-16T09:30:00Z');
const env: ResolveEnv = { partition: 'aws', region: 'eu-central-1', account: TEST_ACCOUNT };
let launchStatements: Statement[];

beforeAll(() => {
  const template = defaultTemplate();
  launchStatements = statementsOf(template, logicalId(template, 'AWS::IAM::Role', 'FunctionsLaunchRole'));
});

/** Sids allowing this CreateTags on an instance that carries `current` (empty = denied). */
const allowedBy = (current: Tag[], requested: Tag[], id = 'i-0aaaaaaaaaaaaaaa1'): string[] =>
  allowingStatements(
    launchStatements,
    'ec2:CreateTags',
    createTagsResource(env, id, current, requested),
    env,
  );

const t = (Key: string, Value: string): Tag => ({ Key, Value });
const CLUSTER = t(Tags.cluster, 'pi-lab');

/** One EC2 in memory: instances by id, every CreateTags with the tags the instance had before it. */
class ScriptedEc2 implements Ec2Api {
  readonly instances = new Map<string, Instance>();
  readonly tagCalls: Array<{ before: Tag[]; requested: Tag[] }> = [];
  failStartWith: string | undefined;
  failTagOnce: ((req: CreateTagsRequest) => boolean) | undefined;

  add(id: string, state: string, tags: Tag[]): void {
    this.instances.set(id, {
      InstanceId: id,
      InstanceType: 't4g.medium',
      SubnetId: 'subnet-0aaaaaaaaaaaaaaa1',
      Placement: { AvailabilityZone: 'eu-central-1a' },
      State: { Name: state as never },
      LaunchTime: NOW,
      Tags: tags,
    });
  }
  tagsOf(id: string): Record<string, string> {
    return Object.fromEntries((this.instances.get(id)?.Tags ?? []).map((x) => [x.Key, x.Value]));
  }
  async runInstances(): Promise<never> {
    throw new Error('not used');
  }
  async describeInstances(input: { Filters?: Array<{ Name?: string; Values?: string[] }> }) {
    const match = (i: Instance) =>
      (input.Filters ?? []).every((f) => {
        if (f.Name === 'instance-id') return f.Values?.includes(i.InstanceId ?? '');
        if (f.Name === 'instance-state-name') return f.Values?.includes(i.State?.Name ?? '');
        if (f.Name?.startsWith('tag:')) {
          const v = i.Tags?.find((x) => x.Key === f.Name?.slice(4))?.Value;
          return v !== undefined && f.Values?.includes(v);
        }
        return true;
      });
    return { Reservations: [{ Instances: [...this.instances.values()].filter(match) }] };
  }
  async terminateInstances() {
    return {};
  }
  async createTags(req: CreateTagsRequest): Promise<void> {
    if (this.failTagOnce?.(req)) {
      this.failTagOnce = undefined;
      throw Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' });
    }
    for (const id of req.Resources ?? []) {
      const i = this.instances.get(id);
      if (!i) continue;
      this.tagCalls.push({ before: [...(i.Tags ?? [])], requested: [...(req.Tags ?? [])] });
      const next = new Map((i.Tags ?? []).map((x) => [x.Key, x.Value]));
      for (const x of req.Tags ?? []) next.set(x.Key, x.Value);
      i.Tags = [...next].map(([Key, Value]) => ({ Key, Value }));
    }
  }
  async describeSubnets() {
    return { Subnets: [] };
  }
  async startInstances(req: { InstanceIds?: string[] }): Promise<void> {
    if (this.failStartWith) {
      throw Object.assign(new Error('no capacity'), { name: this.failStartWith });
    }
    for (const id of req.InstanceIds ?? []) {
      const i = this.instances.get(id);
      if (i) i.State = { Name: 'pending' };
    }
  }
  async stopInstances(): Promise<void> {}
  async modifyInstanceAttribute(): Promise<void> {}
}

const MEMBER = 'i-0aaaaaaaaaaaaaaa1';
const memberTags = (): Tag[] => [
  CLUSTER,
  t(Tags.warmPool, 'member'),
  t(Tags.launchKey, 'pi-lab-fill-0-0'),
  t(Tags.decisionId, 'pi-lab-fill'),
  t(Tags.launchReason, 'fill the warm pool'),
  t(Tags.capacityType, 'on-demand'),
];

function fleetOn(ec2: ScriptedEc2): Ec2Fleet {
  return new Ec2Fleet({
    ec2,
    cluster: 'pi-lab',
    subnets: [{ subnetId: 'subnet-0aaaaaaaaaaaaaaa1', zone: 'eu-central-1a' }],
    offeringCache: new FakeOfferingCache(),
    clock: { now: () => NOW.getTime() },
  });
}

const startReq = {
  instanceId: MEMBER,
  clientToken: 'pi-lab-d7-0-0',
  decisionId: 'pi-lab-d7',
  reason: 'warm start for 2 pods',
  userData: '#!/bin/sh\n',
};

/** Every CreateTags the adapter made, with the Sids that allow it (empty = IAM would refuse). */
const verdicts = (ec2: ScriptedEc2) =>
  ec2.tagCalls.map((c) => ({
    requested: Object.fromEntries(c.requested.map((x) => [x.Key, x.Value])),
    allowedBy: allowedBy(c.before, c.requested),
  }));

describe('the launch role on CreateTags of existing instances', () => {
  it('never lets launch tag an instance warm-pool member: not an ordinary node, not a started one', () => {
    const member = [t(Tags.warmPool, 'member')];
    expect(allowedBy([CLUSTER], member)).toEqual([]);
    expect(allowedBy([CLUSTER, t(Tags.warmPool, 'started')], member)).toEqual([]);
    expect(allowedBy([CLUSTER, t(Tags.warmPool, 'member')], member)).toEqual([]);
    // With other tags in the same request, as the old restore of a failed start wrote them
    expect(allowedBy([CLUSTER, t(Tags.warmPool, 'started')], [...member, t(Tags.launchKey, 'k')])).toEqual(
      [],
    );
  });

  it('lets launch write warm-pool=started only onto a member of this cluster, and alone', () => {
    const started = [t(Tags.warmPool, 'started')];
    expect(allowedBy(memberTags(), started)).toEqual(['MarkWarmPoolMembersStarted']);
    expect(allowedBy([CLUSTER], started), 'an ordinary node').toEqual([]);
    expect(
      allowedBy([t(Tags.cluster, 'other'), t(Tags.warmPool, 'member')], started),
      'another cluster',
    ).toEqual([]);
    expect(allowedBy(memberTags(), [...started, t(Tags.launchKey, 'k')]), 'with another key').toEqual([]);
    expect(allowedBy(memberTags(), [...started, CLUSTER]), 'with the cluster key').toEqual([]);
  });

  it('still lets launch re-tag cluster instances with any other key, never the cluster key', () => {
    expect(allowedBy([CLUSTER], [t(Tags.nodeName, 'burst-i-0aaaaaaaaaaaaaaa1')])).toEqual([
      'RetagClusterInstances',
    ]);
    expect(allowedBy([CLUSTER], [t(Tags.cluster, 'other')])).toEqual([]);
    expect(allowedBy([t(Tags.cluster, 'other')], [t(Tags.nodeName, 'x')])).toEqual([]);
  });
});

describe('the launch role on StartInstances and ModifyInstanceAttribute', () => {
  it('acts only on members of this cluster: never on a started (ordinary) node', () => {
    for (const action of ['ec2:StartInstances', 'ec2:ModifyInstanceAttribute']) {
      const on = (tags: Tag[]) =>
        allowingStatements(launchStatements, action, createTagsResource(env, MEMBER, tags, []), env);
      expect(on(memberTags()), action).toEqual(['StartClusterWarmPoolMembers']);
      expect(on([CLUSTER, t(Tags.warmPool, 'started')]), action).toEqual([]);
      expect(on([CLUSTER]), action).toEqual([]);
      expect(on([t(Tags.cluster, 'other'), t(Tags.warmPool, 'member')]), action).toEqual([]);
    }
  });

  it('a stopped started instance under the same key is not started again: launch launches instead', async () => {
    const ec2 = new ScriptedEc2();
    ec2.add(MEMBER, 'stopped', [
      CLUSTER,
      t(Tags.warmPool, 'started'),
      t(Tags.launchKey, startReq.clientToken),
    ]);
    await expect(fleetOn(ec2).start(startReq)).rejects.toBeInstanceOf(WarmStartUnavailableError);
    expect(ec2.tagCalls).toEqual([]);
    expect(ec2.instances.get(MEMBER)?.State?.Name).toBe('stopped');
  });
});

describe('the CreateTags calls of a warm start, as the fleet adapter makes them, against those statements', () => {
  it('a start: launch tags on the member, StartInstances, then started — each call allowed', async () => {
    const ec2 = new ScriptedEc2();
    ec2.add(MEMBER, 'stopped', memberTags());
    const started = await fleetOn(ec2).start(startReq);
    expect(started).toMatchObject({ instanceId: MEMBER, reused: false });
    const calls = verdicts(ec2);
    expect(calls.map((c) => c.allowedBy)).toEqual([
      ['RetagClusterInstances'],
      ['MarkWarmPoolMembersStarted'],
    ]);
    expect(calls[0]?.requested[Tags.warmPool]).toBeUndefined();
    expect(ec2.tagsOf(MEMBER)).toMatchObject({
      [Tags.warmPool]: 'started',
      [Tags.launchKey]: 'pi-lab-d7-0-0',
    });
  });

  it('a start EC2 refuses for capacity: the member keeps its tag, only the launch tags go back — allowed', async () => {
    const ec2 = new ScriptedEc2();
    ec2.add(MEMBER, 'stopped', memberTags());
    ec2.failStartWith = 'InsufficientInstanceCapacity';
    await expect(fleetOn(ec2).start(startReq)).rejects.toBeInstanceOf(WarmStartUnavailableError);
    const calls = verdicts(ec2);
    expect(calls.every((c) => c.allowedBy.length > 0)).toBe(true);
    expect(calls.some((c) => c.requested[Tags.warmPool] !== undefined)).toBe(false);
    expect(ec2.tagsOf(MEMBER)).toMatchObject({
      [Tags.warmPool]: 'member',
      [Tags.launchKey]: 'pi-lab-fill-0-0',
      [Tags.decisionId]: 'pi-lab-fill',
    });
    expect(await fleetOn(ec2).findLaunched(startReq.clientToken)).toBeUndefined();
  });

  it('a start cut off between StartInstances and the started tag is finished by the redelivery (I7), allowed', async () => {
    const ec2 = new ScriptedEc2();
    ec2.add(MEMBER, 'stopped', memberTags());
    ec2.failTagOnce = (req) => req.Tags?.some((x) => x.Key === Tags.warmPool) === true;
    await expect(fleetOn(ec2).start(startReq)).rejects.toThrow(/started but could not be tagged/);
    expect(ec2.tagsOf(MEMBER)[Tags.warmPool]).toBe('member');
    expect(ec2.instances.get(MEMBER)?.State?.Name).toBe('pending');
    // Meanwhile reconcile sees this launch's node, not a warming member it would park or trim
    expect((await fleetOn(ec2).list()).find((i) => i.instanceId === MEMBER)?.warmPool).toBe('started');
    // The redelivered launch looks its key up first: it finds this instance and finishes the start
    const found = await fleetOn(ec2).findLaunched(startReq.clientToken);
    expect(found).toMatchObject({ instanceId: MEMBER, reused: true });
    expect(ec2.tagsOf(MEMBER)[Tags.warmPool]).toBe('started');
    expect(verdicts(ec2).every((c) => c.allowedBy.length > 0)).toBe(true);
  });

  it('a direct redelivered start finishes it too, without a second StartInstances', async () => {
    const ec2 = new ScriptedEc2();
    ec2.add(MEMBER, 'stopped', memberTags());
    ec2.failTagOnce = (req) => req.Tags?.some((x) => x.Key === Tags.warmPool) === true;
    await fleetOn(ec2)
      .start(startReq)
      .catch(() => undefined);
    ec2.failStartWith = 'InsufficientInstanceCapacity'; // a second StartInstances would fail loudly
    expect(await fleetOn(ec2).start(startReq)).toMatchObject({ instanceId: MEMBER, reused: true });
    expect(ec2.tagsOf(MEMBER)[Tags.warmPool]).toBe('started');
  });

  it('a fill redelivered (a warming member under its own launch key) is found as it is, not marked started', async () => {
    const ec2 = new ScriptedEc2();
    ec2.add(MEMBER, 'running', memberTags());
    expect(await fleetOn(ec2).findLaunched('pi-lab-fill-0-0')).toMatchObject({
      instanceId: MEMBER,
      reused: true,
    });
    expect(ec2.tagsOf(MEMBER)[Tags.warmPool]).toBe('member');
    expect(ec2.tagCalls).toEqual([]);
    expect((await fleetOn(ec2).list()).find((i) => i.instanceId === MEMBER)?.warmPool).toBe('member');
  });
});
