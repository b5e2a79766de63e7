import http from 'node:http';
import {
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Ec2QueryApi } from '../../../lib/aws/ec2-query.js';
import { sdkEc2Api } from '../../../lib/aws/ec2-sdk.js';
import { Ec2Fleet } from '../../../lib/aws/fleet.js';
import type { SubnetChoice } from '../../../lib/aws/offerings.js';
import {
  CapacityLimitError,
  ForeignInstanceError,
  type LaunchOneRequest,
  NoCapacityError,
} from '../../../lib/core/ports.js';
import { Tags } from '../../../lib/events/index.js';
import { FakeOfferingCache } from '../../../lib/sim/world/index.js';
import { injectRunInstancesErrors, type RunInstancesErrorInjector } from '../../support/ec2-errors.js';
import { describeFleetPortContract } from '../../support/fakes/fleet-contract.js';
import { type Moto, startMoto } from '../../support/moto.js';

/** StartInstances as the SDK sends it, with EC2's capacity errors injected in front of moto. */
function injectStartErrors(ec2: EC2Client): { calls: number; failures: string[] } {
  const state = { calls: 0, failures: [] as string[] };
  ec2.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'StartInstancesCommand') {
        state.calls += 1;
        const code = state.failures.shift();
        if (code) {
          throw new EC2ServiceException({
            name: code,
            $fault: 'server',
            $metadata: { httpStatusCode: 500 },
            message: `injected ${code}`,
          });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectStartErrors' },
  );
  return state;
}

/** The user data EC2 holds for an instance, decoded (DescribeInstanceAttribute). */
async function userDataOf(client: EC2Client, instanceId: string): Promise<string | undefined> {
  const out = await client.send(
    new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: 'userData' }),
  );
  const v = out.UserData?.Value;
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

const CLUSTER = 'pi-lab';
const NOW = new Date('2026-03-14T09:00:00Z');

/** moto's first two default subnets, in zone order. */
function twoSubnets(out: { Subnets?: { SubnetId?: string; AvailabilityZone?: string }[] }): SubnetChoice[] {
  return (out.Subnets ?? [])
    .map((x) => ({ subnetId: x.SubnetId ?? '', zone: x.AvailabilityZone ?? '' }))
    .sort((a, b) => a.zone.localeCompare(b.zone))
    .slice(0, 2);
}

/** An Amazon-owned image id from moto. */
async function amazonImage(client: EC2Client): Promise<string> {
  const images = await client.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
  return images.Images?.[0]?.ImageId ?? '';
}

/** An instance tagged for another cluster, launched behind the fleet's back (SDK, on moto). */
/** Size of the volume EC2 attached at the root device of an instance (moto creates it from the mapping). */
async function rootVolumeOf(client: EC2Client, instanceId: string): Promise<number | undefined> {
  const out = await client.send(
    new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }),
  );
  return out.Volumes?.find((v) => v.Attachments?.some((a) => a.Device === '/dev/sda1'))?.Size;
}

async function runForeignInstance(client: EC2Client, imageId: string): Promise<string> {
  const out = await client.send(
    new RunInstancesCommand({
      ImageId: imageId,
      InstanceType: 't4g.small',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: Tags.cluster, Value: 'someone-else' }] }],
    }),
  );
  return out.Instances?.[0]?.InstanceId ?? '';
}

describe('Ec2Fleet against moto', () => {
  let moto: Moto;
  let ec2: EC2Client;
  let subnets: SubnetChoice[];
  let imageId: string;
  let injector: RunInstancesErrorInjector;
  let starts: { calls: number; failures: string[] };
  let cache: FakeOfferingCache;
  let fleet: Ec2Fleet;
  let seq = 0;

  const request = (over: Partial<LaunchOneRequest> = {}): LaunchOneRequest => {
    seq += 1;
    const launchId = `d${seq}-0`;
    return {
      clientToken: `${launchId}-0`,
      decisionId: `d${seq}`,
      launchId,
      index: 0,
      instanceTypes: ['t4g.medium', 't4g.large'],
      capacityTypes: ['spot', 'on-demand'],
      imageId,
      userData: '#!/bin/sh\necho tskey-auth-SECRET\n',
      reason: '3 pending pods of shape abc',
      ...over,
    };
  };

  beforeAll(async () => {
    moto = await startMoto();
    ec2 = new EC2Client(moto.clientConfig);
    injector = injectRunInstancesErrors(ec2);
    starts = injectStartErrors(ec2);
    subnets = twoSubnets(await ec2.send(new DescribeSubnetsCommand({})));
    imageId = await amazonImage(ec2);
  });

  afterAll(async () => {
    ec2?.destroy();
    await moto?.stop();
  });

  beforeEach(() => {
    injector.failWhen(() => undefined);
    injector.runs.length = 0;
    cache = new FakeOfferingCache();
    fleet = new Ec2Fleet({
      ec2: sdkEc2Api(ec2),
      cluster: CLUSTER,
      nodeNamePrefix: 'burst-',
      subnets,
      offeringCache: cache,
      unavailableOfferingTtlSeconds: 180,
      clock: { now: () => NOW.getTime() },
    });
  });

  describeFleetPortContract(() => {
    injector.failWhen(() => undefined);
    const runsAtStart = injector.runs.length;
    const startsAtStart = starts.calls;
    starts.failures.length = 0;
    const offeringCache = new FakeOfferingCache();
    const rules: { instanceType?: string; capacityType?: string; code: string }[] = [];
    injector.failWhen((i) => {
      const capacityType = i.InstanceMarketOptions?.MarketType === 'spot' ? 'spot' : 'on-demand';
      return rules.find(
        (r) =>
          (r.instanceType === undefined || r.instanceType === i.InstanceType) &&
          (r.capacityType === undefined || r.capacityType === capacityType),
      )?.code;
    });
    return {
      fleet: new Ec2Fleet({
        ec2: sdkEc2Api(ec2),
        cluster: CLUSTER,
        subnets,
        offeringCache,
        clock: { now: () => NOW.getTime() },
      }),
      offeringCache,
      zones: subnets.map((s) => s.zone),
      imageId,
      now: NOW,
      failLaunches: (match, code) => {
        rules.push({ ...match, code });
      },
      launchCalls: () => injector.runs.length - runsAtStart,
      addForeignInstance: () => runForeignInstance(ec2, imageId),
      rootVolumeOf: (id) => rootVolumeOf(ec2, id),
      // moto moves instances to their final state at once.
      settle: async () => {},
      failNextStart: (code) => starts.failures.push(code),
      startCalls: () => starts.calls - startsAtStart,
      userDataOf: (id) => userDataOf(ec2, id),
    };
  });

  it('launches one spot instance of the preferred type, tagged on instance and volume', async () => {
    // Given a launch request
    const req = request();

    // When it is launched
    const launched = await fleet.launchOne(req);

    // Then one instance exists with every tag, the node name derived from its id
    expect(launched).toMatchObject({
      instanceType: 't4g.medium',
      capacityType: 'spot',
      zone: subnets[0]?.zone,
      reused: false,
      nodeName: `burst-${launched.instanceId}`,
    });
    const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [launched.instanceId] }));
    const inst = d.Reservations?.[0]?.Instances?.[0];
    const tags = Object.fromEntries((inst?.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({
      [Tags.cluster]: CLUSTER,
      [Tags.decisionId]: req.decisionId,
      [Tags.launchReason]: req.reason,
      [Tags.launchKey]: req.clientToken,
      [Tags.nodeName]: `burst-${launched.instanceId}`,
      [Tags.capacityType]: 'spot',
    });
    expect(inst?.InstanceLifecycle).toBe('spot');
    expect(injector.runs[0]?.ClientToken).toMatch(new RegExp(`^${req.clientToken}~[0-9a-f]{8}$`));
    expect(injector.runs[0]?.MetadataOptions).toMatchObject({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 1,
    });
    const volumes = await ec2.send(
      new DescribeVolumesCommand({
        Filters: [{ Name: 'attachment.instance-id', Values: [launched.instanceId] }],
      }),
    );
    const volTags = Object.fromEntries((volumes.Volumes?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(volTags).toMatchObject({ [Tags.cluster]: CLUSTER, [Tags.decisionId]: req.decisionId });
    const ud = await ec2.send(
      new DescribeInstanceAttributeCommand({ InstanceId: launched.instanceId, Attribute: 'userData' }),
    );
    expect(Buffer.from(ud.UserData?.Value ?? '', 'base64').toString('utf8')).toBe(req.userData);
  });

  it('returns the existing instance when the same launch key is launched again', async () => {
    // Given a launched request
    const req = request();
    const first = await fleet.launchOne(req);
    injector.runs.length = 0;

    // When the same decision is redelivered
    const again = await fleet.launchOne({ ...req });

    // Then no RunInstances is sent and the same instance is returned
    expect(again.instanceId).toBe(first.instanceId);
    expect(again.reused).toBe(true);
    expect(injector.runs).toHaveLength(0);
    const mine = (await fleet.list()).filter((i) => i.decisionId === req.decisionId);
    expect(mine).toHaveLength(1);
  });

  it('derives the same ClientToken for the same offering, and different ones per offering', async () => {
    // Given the preferred type fails once
    injector.failWhen((i) => (i.InstanceType === 't4g.medium' ? 'InsufficientInstanceCapacity' : undefined));
    const req = request();

    // When launched
    await fleet.launchOne(req);

    // Then each offering got its own deterministic token, all ≤ 64 chars
    const tokens = injector.runs.map((r) => r.ClientToken ?? '');
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const t of tokens) expect(t.length).toBeLessThanOrEqual(64);
  });

  it('falls back to the next type on InsufficientInstanceCapacity and remembers the offering', async () => {
    // Given t4g.medium spot has no capacity in any zone
    injector.failWhen((i) =>
      i.InstanceType === 't4g.medium' && i.InstanceMarketOptions?.MarketType === 'spot'
        ? 'InsufficientInstanceCapacity'
        : undefined,
    );

    // When launched
    const launched = await fleet.launchOne(request());

    // Then both zones of t4g.medium were tried, then t4g.large spot launched
    expect(launched).toMatchObject({ instanceType: 't4g.large', capacityType: 'spot', reused: false });
    expect(launched.attempts.map((a) => [a.instanceType, a.zone, a.outcome])).toEqual(
      subnets.map((s) => ['t4g.medium', s.zone, 'InsufficientInstanceCapacity']),
    );
    const cached = await cache.listUnavailable(NOW);
    expect(cached).toHaveLength(subnets.length);
    expect(cached[0]).toMatchObject({
      instanceType: 't4g.medium',
      capacityType: 'spot',
      until: new Date(NOW.getTime() + 180_000).toISOString(),
    });

    // And the next launch skips the remembered offerings without calling EC2 for them
    injector.runs.length = 0;
    injector.failWhen(() => undefined);
    const next = await fleet.launchOne(request());
    expect(next.instanceType).toBe('t4g.large');
    expect(injector.runs.map((r) => r.InstanceType)).toEqual(['t4g.large']);
    expect(next.attempts.every((a) => a.outcome === 'cached-unavailable')).toBe(true);
  });

  it('falls back from spot to on-demand when every spot offering fails', async () => {
    // Given spot is unavailable everywhere (price or capacity)
    injector.failWhen((i) =>
      i.InstanceMarketOptions?.MarketType === 'spot' ? 'SpotMaxPriceTooLow' : undefined,
    );

    // When launched
    const launched = await fleet.launchOne(request());

    // Then the preferred type launches on-demand
    expect(launched).toMatchObject({ instanceType: 't4g.medium', capacityType: 'on-demand' });
    expect(launched.attempts).toHaveLength(2 * subnets.length);
  });

  it('MaxSpotInstanceCountExceeded is account-wide: one spot call, every spot offering remembered as unavailable, then on-demand', async () => {
    // Given the account's spot instance count is exhausted (any spot type, any zone)
    injector.failWhen((i) =>
      i.InstanceMarketOptions?.MarketType === 'spot' ? 'MaxSpotInstanceCountExceeded' : undefined,
    );

    // When launched with two types in two zones
    const launched = await fleet.launchOne(request());

    // Then only ONE spot RunInstances was made before on-demand (not one per type and zone)
    expect(launched).toMatchObject({ instanceType: 't4g.medium', capacityType: 'on-demand' });
    expect(injector.runs.filter((r) => r.InstanceMarketOptions?.MarketType === 'spot')).toHaveLength(1);
    // and the cache holds one account-wide spot entry the planner reads
    expect(await cache.listUnavailable(NOW)).toEqual([
      expect.objectContaining({
        instanceType: '*',
        zone: '*',
        capacityType: 'spot',
        reason: 'MaxSpotInstanceCountExceeded',
      }),
    ]);
    // and the next launch makes no spot call at all
    const before = injector.runs.length;
    await fleet.launchOne(request());
    expect(injector.runs.slice(before).map((r) => r.InstanceMarketOptions?.MarketType)).toEqual([undefined]);
  });

  it('throws CapacityLimitError on VcpuLimitExceeded and tries nothing else', async () => {
    // Given the account's vCPU quota is exhausted
    injector.failWhen(() => 'VcpuLimitExceeded');

    // When launched
    const error = await fleet.launchOne(request()).catch((e: unknown) => e);

    // Then a clear, alarmable error, after a single attempt
    expect(error).toBeInstanceOf(CapacityLimitError);
    expect((error as CapacityLimitError).alarmable).toBe(true);
    expect((error as Error).message).toMatch(/VcpuLimitExceeded.*quota/);
    expect(injector.runs).toHaveLength(1);
  });

  it('throws NoCapacityError listing every offering when all fail', async () => {
    // Given no capacity anywhere
    injector.failWhen(() => 'InsufficientInstanceCapacity');

    // When launched
    const error = await fleet.launchOne(request()).catch((e: unknown) => e);

    // Then every (capacity type × type × zone) was tried
    expect(error).toBeInstanceOf(NoCapacityError);
    expect((error as NoCapacityError).attempts).toHaveLength(2 * 2 * subnets.length);
    expect((error as NoCapacityError).retryable).toBe(true);
  });

  it('restricts launches to the requested zones', async () => {
    // Given only the second zone is allowed
    const zone = subnets[1]?.zone ?? '';

    // When launched
    const launched = await fleet.launchOne(request({ zones: [zone] }));

    // Then it lands there
    expect(launched.zone).toBe(zone);
  });

  it('never lets user data or its secrets into an error message', async () => {
    // Given EC2 rejects the image
    injector.failWhen(() => 'InvalidAMIID.NotFound');

    // When launched
    const error = (await fleet.launchOne(request()).catch((e: unknown) => e)) as Error;

    // Then the error names the code but not the user data
    expect(error.message).toContain('InvalidAMIID.NotFound');
    expect(error.message).not.toContain('tskey');
  });

  it('terminates its own instances by id and treats gone or unknown ids as success', async () => {
    // Given a launched instance
    const { instanceId } = await fleet.launchOne(request());

    // When terminated, twice, along with an unknown id
    const first = await fleet.terminate([instanceId, 'i-0123456789abcdef0']);
    const second = await fleet.terminate([instanceId]);

    // Then it is terminating, then already gone; the unknown id is gone
    expect(first).toEqual({ terminating: [instanceId], alreadyGone: ['i-0123456789abcdef0'] });
    expect(second).toEqual({ terminating: [], alreadyGone: [instanceId] });
    expect((await fleet.list()).map((i) => i.instanceId)).not.toContain(instanceId);
    expect((await fleet.list({ includeTerminated: true })).map((i) => i.instanceId)).toContain(instanceId);
  });

  it('refuses to terminate an instance without this cluster tag and terminates nothing', async () => {
    // Given an instance of another cluster and one of ours
    const foreign = await ec2.send(
      new RunInstancesCommand({
        ImageId: imageId,
        InstanceType: 't4g.small',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: Tags.cluster, Value: 'other' }] }],
      }),
    );
    const foreignId = foreign.Instances?.[0]?.InstanceId ?? '';
    const mine = await fleet.launchOne(request());

    // When both are asked to terminate
    const error = await fleet.terminate([mine.instanceId, foreignId]).catch((e: unknown) => e);

    // Then it refuses, naming the foreign id, and both still run
    expect(error).toBeInstanceOf(ForeignInstanceError);
    expect((error as Error).message).toContain(foreignId);
    const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [foreignId, mine.instanceId] }));
    const states = (d.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.State?.Name);
    expect(states).toEqual(['running', 'running']);
    // And list() never shows the foreign instance
    expect((await fleet.list()).map((i) => i.instanceId)).not.toContain(foreignId);
  });
});

/**
 * An HTTP proxy in front of moto on 127.0.0.1 that answers chosen RunInstances requests with
 * the EC2 error XML (and status) EC2 sends, so Ec2QueryApi parses real error answers.
 */
async function startErrorProxy(target: string) {
  const runs: URLSearchParams[] = [];
  const starts = { calls: 0, failures: [] as string[] };
  let decide: (p: URLSearchParams) => { code: string; status: number } | undefined = () => undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const params = new URLSearchParams(body.toString('utf8'));
      if (params.get('Action') === 'StartInstances') {
        starts.calls += 1;
        const code = starts.failures.shift();
        if (code) {
          res.writeHead(500, { 'content-type': 'text/xml;charset=UTF-8' });
          res.end(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>Insufficient capacity (injected).</Message></Error></Errors><RequestID>0f1e2d3c-injected</RequestID></Response>`,
          );
          return;
        }
      }
      if (params.get('Action') === 'RunInstances') {
        runs.push(params);
        const fail = decide(params);
        if (fail) {
          res.writeHead(fail.status, { 'content-type': 'text/xml;charset=UTF-8' });
          res.end(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${fail.code}</Code><Message>We currently do not have sufficient ${params.get('InstanceType')} capacity (injected).</Message></Error></Errors><RequestID>0f1e2d3c-injected</RequestID></Response>`,
          );
          return;
        }
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === 'string' && k !== 'host' && k !== 'content-length' && k !== 'connection')
          headers[k] = v;
      }
      fetch(`${target}${req.url ?? '/'}`, {
        method: req.method,
        headers,
        body,
        signal: AbortSignal.timeout(20_000),
      })
        .then(async (up) => {
          const text = Buffer.from(await up.arrayBuffer());
          res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'text/xml' });
          res.end(text);
        })
        .catch((err: unknown) => {
          res.writeHead(502);
          res.end(String(err));
        });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    runs,
    starts,
    failWhen(fn: typeof decide) {
      decide = fn;
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("Ec2Fleet on Ec2QueryApi (the Lambdas' EC2 client) against moto", () => {
  let moto: Moto;
  let sdk: EC2Client;
  let proxy: Awaited<ReturnType<typeof startErrorProxy>>;
  let api: Ec2QueryApi;
  let subnets: SubnetChoice[];
  let imageId: string;

  beforeAll(async () => {
    moto = await startMoto();
    sdk = new EC2Client(moto.clientConfig);
    proxy = await startErrorProxy(moto.endpoint);
    api = new Ec2QueryApi({
      region: moto.clientConfig.region,
      endpoint: proxy.endpoint,
      credentials: moto.clientConfig.credentials,
      maxAttempts: 2,
      retryBaseMs: 1,
    });
    subnets = twoSubnets(await api.describeSubnets({}));
    imageId = await amazonImage(sdk);
  });

  afterAll(async () => {
    api?.destroy();
    sdk?.destroy();
    await proxy?.stop();
    await moto?.stop();
  });

  it('resolves two subnets in different zones through DescribeSubnets', () => {
    expect(subnets).toHaveLength(2);
    expect(subnets.every((s) => /^subnet-/.test(s.subnetId) && s.zone.length > 0)).toBe(true);
    expect(new Set(subnets.map((s) => s.zone)).size).toBe(2);
  });

  describeFleetPortContract(() => {
    proxy.failWhen(() => undefined);
    const runsAtStart = proxy.runs.length;
    const startsAtStart = proxy.starts.calls;
    proxy.starts.failures.length = 0;
    const offeringCache = new FakeOfferingCache();
    const rules: { instanceType?: string; capacityType?: string; code: string }[] = [];
    proxy.failWhen((p) => {
      const capacityType = p.get('InstanceMarketOptions.MarketType') === 'spot' ? 'spot' : 'on-demand';
      const rule = rules.find(
        (r) =>
          (r.instanceType === undefined || r.instanceType === p.get('InstanceType')) &&
          (r.capacityType === undefined || r.capacityType === capacityType),
      );
      // EC2 answers capacity shortages with 500 and account limits with 400.
      return rule ? { code: rule.code, status: rule.code.startsWith('Insufficient') ? 500 : 400 } : undefined;
    });
    return {
      fleet: new Ec2Fleet({
        ec2: api,
        cluster: CLUSTER,
        subnets,
        offeringCache,
        clock: { now: () => NOW.getTime() },
      }),
      offeringCache,
      zones: subnets.map((s) => s.zone),
      imageId,
      now: NOW,
      failLaunches: (match, code) => {
        rules.push({ ...match, code });
      },
      launchCalls: () => proxy.runs.length - runsAtStart,
      addForeignInstance: () => runForeignInstance(sdk, imageId),
      rootVolumeOf: (id) => rootVolumeOf(sdk, id),
      settle: async () => {},
      failNextStart: (code) => proxy.starts.failures.push(code),
      startCalls: () => proxy.starts.calls - startsAtStart,
      userDataOf: (id) => userDataOf(sdk, id),
    };
  });
});
