/**
 * reconcile + launch handlers end to end on real adapters: moto_server (EC2, DynamoDB,
 * EventBridge, Secrets Manager, SSM) and the fake Tailscale API, wired by the Lambda runtime
 * (`createDeps` from a Lambda-shaped environment) and invoked through the middy handlers.
 *
 * moto cannot produce capacity errors or throttling, so an EC2 client middleware injects
 * them; moto ignores ClientToken, so idempotency here rests on the launch-key tag check.
 */

import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchSpec } from '../../../lambdas/launch.js';
import { reconcileSpec } from '../../../lambdas/reconcile.js';
import { type ControlDeps, createDeps, makeHandler, readEnv } from '../../../lambdas/runtime.js';
import { EventBridgeBus } from '../../../lib/aws/bus.js';
import { sdkEc2Api } from '../../../lib/aws/ec2-sdk.js';
import { DynamoState, stateTableDefinition } from '../../../lib/aws/state.js';
import { ControlMetrics } from '../../../lib/control/common.js';
import type { LaunchResult } from '../../../lib/control/launch.js';
import type { ReconcileResult } from '../../../lib/control/reconcile.js';
import { RecordingMetrics } from '../../../lib/core/metrics.js';
import type { BusEntry, BusPort, PutResult } from '../../../lib/core/ports.js';
import { DetailTypes, type ScaleOutRequested, Tags } from '../../../lib/events/index.js';
import { systemClock } from '../../../lib/system/clock.js';
import {
  BOOTSTRAP_TOKEN,
  CapturingLogger,
  envelopeOf,
  freshJoinToken,
  shape,
  snapshot,
  snapshotEvent,
  tickEvent,
} from '../../support/control.js';
import { injectRunInstancesErrors, type RunInstancesErrorInjector } from '../../support/ec2-errors.js';
import { type FakeTailscale, startFakeTailscale } from '../../support/fake-tailscale.js';
import { type Moto, startMoto } from '../../support/moto.js';

const CLUSTER = 'pi-lab';
const TABLE = 'k3s-burst-pi-lab';
const BUS = 'k3s-burst-pi-lab';
const AMI_PARAM = '/k3s-burst/test/ami-arm64';

/** Records every entry put on the (real, moto) bus; can fail whole calls to simulate a crash. */
class RecordingBus implements BusPort {
  readonly entries: BusEntry[] = [];
  crashOn: string | undefined;
  constructor(private readonly inner: BusPort) {}
  async put(entries: BusEntry[]): Promise<PutResult> {
    if (this.crashOn && entries.some((e) => e.detailType === this.crashOn)) {
      throw new Error(`simulated Lambda crash before putting ${this.crashOn}`);
    }
    const r = await this.inner.put(entries);
    entries.forEach((e, i) => {
      if (r.eventIds[i]) this.entries.push(e);
    });
    return r;
  }
  of<T>(detailType: string): T[] {
    return this.entries.filter((e) => e.detailType === detailType).map((e) => e.detail as T);
  }
}

describe('reconcile + launch against moto and the fake Tailscale API', () => {
  let moto: Moto;
  let ts: FakeTailscale;
  let ec2: EC2Client;
  let eb: EventBridgeClient;
  let ddb: DynamoDBClient;
  let injector: RunInstancesErrorInjector;
  let env: Record<string, string>;
  let amiId: string;
  let bus: RecordingBus;
  let log: CapturingLogger;
  let metrics: RecordingMetrics;
  let deps: ControlDeps;
  let seq = 1_000;
  let req = 0;
  let clusterN = 0;
  let cluster = CLUSTER;

  const ctx = (): Context => ({ awsRequestId: `req-${++req}`, functionName: 'test' }) as Context;
  // The handler files' own specs over this test's deps (rebuilt per test in beforeEach).
  const reconcileHandler = makeHandler('reconcile', reconcileSpec, { deps: () => deps });
  const launchHandler = makeHandler('launch', launchSpec, { deps: () => deps });
  const reconcileOnce = async (event: unknown) => (await reconcileHandler(event, ctx())) as ReconcileResult;
  const launchAll = async (): Promise<LaunchResult[]> => {
    const out: LaunchResult[] = [];
    for (const so of bus.of<ScaleOutRequested>(DetailTypes.scaleOutRequested)) {
      const ev = envelopeOf(
        { source: 'k3s-burst.reconcile', detailType: DetailTypes.scaleOutRequested, detail: so },
        new Date(),
      );
      out.push((await launchHandler(ev, ctx())) as LaunchResult);
    }
    return out;
  };
  const pendingSnapshot = (count: number, s = ++seq) =>
    snapshot({
      cluster,
      seq: s,
      observedAt: new Date(Date.now() - 3000).toISOString(),
      pendingShapes: [
        shape({ id: 'web', count, oldestPendingSince: new Date(Date.now() - 30_000).toISOString() }),
      ],
      nodes: [],
    });
  const ourInstances = async (): Promise<Instance[]> => {
    const out = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: `tag:${Tags.cluster}`, Values: [cluster] },
          { Name: 'instance-state-name', Values: ['pending', 'running'] },
        ],
      }),
    );
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  };
  const scaleOutCount = () =>
    bus.of<ScaleOutRequested>(DetailTypes.scaleOutRequested).reduce((a, s) => a + s.launch.count, 0);

  beforeAll(async () => {
    [moto, ts] = await Promise.all([startMoto(), startFakeTailscale()]);
    ec2 = new EC2Client({ ...moto.clientConfig, maxAttempts: 3 });
    injector = injectRunInstancesErrors(ec2, { insideSdkRetry: true });
    eb = new EventBridgeClient(moto.clientConfig);
    ddb = new DynamoDBClient(moto.clientConfig);
    const sm = new SecretsManagerClient(moto.clientConfig);
    const ssm = new SSMClient(moto.clientConfig);
    await ddb.send(new CreateTableCommand(stateTableDefinition(TABLE)));
    await eb.send(new CreateEventBusCommand({ Name: BUS }));
    // k3s.joinCredential bootstrap-token (default): the token the agent would have published.
    const agentSecret = await sm.send(
      new CreateSecretCommand({
        Name: 'k3s-bootstrap-token',
        SecretString: JSON.stringify(freshJoinToken(new Date())),
      }),
    );
    const tsSecret = await sm.send(
      new CreateSecretCommand({ Name: 'tailscale-oauth', SecretString: JSON.stringify(ts.credentials) }),
    );
    const images = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
    amiId = images.Images?.[0]?.ImageId ?? '';
    await ssm.send(new PutParameterCommand({ Name: AMI_PARAM, Value: amiId, Type: 'String' }));
    const subnets = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    const subnetIds = subnets
      .sort((a, b) => (a.AvailabilityZone ?? '').localeCompare(b.AvailabilityZone ?? ''))
      .slice(0, 2)
      .map((s) => s.SubnetId ?? '');
    const groups = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
    const sg = groups.find((g) => g.GroupName === 'default')?.GroupId ?? '';
    env = {
      CLUSTER_NAME: CLUSTER,
      EVENT_BUS_NAME: BUS,
      TABLE_NAME: TABLE,
      TAILSCALE_OAUTH_SECRET_ARN: tsSecret.ARN ?? '',
      K3S_JOIN_TOKEN_SECRET_ARN: agentSecret.ARN ?? '',
      SUBNET_IDS: subnetIds.join(','),
      SECURITY_GROUP_ID: sg,
      AMI_PARAMETER_ARM64: AMI_PARAM,
      AMI_PARAMETER_AMD64: AMI_PARAM,
      TAILSCALE_API_URL: ts.url,
      AWS_REGION: moto.clientConfig.region,
      CONFIG_JSON: '',
    };
    sm.destroy();
    ssm.destroy();
  });

  afterAll(async () => {
    ec2?.destroy();
    eb?.destroy();
    ddb?.destroy();
    await Promise.all([moto?.stop(), ts?.stop()]);
  });

  beforeEach(() => {
    // A fresh cluster name per test: state, lease and instances never leak between tests.
    cluster = `pi-lab-${++clusterN}`;
    const config = {
      cluster: {
        name: cluster,
        region: moto.clientConfig.region,
        k3sServerUrl: 'https://100.64.5.11:6443',
        k3sVersion: 'v1.32.6+k3s1',
      },
      // the fallback mode (OAuth client in Secrets Manager); test/e2e runs the default, federated
      tailscale: { auth: 'oauth-client' },
      nodes: {
        candidateTypes: ['m7g.large', 'm7g.xlarge'],
        capacityTypes: ['spot', 'on-demand'],
        taints: [{ key: 'k3s-burst.io/cloud', value: 'true', effect: 'NoSchedule' }],
      },
      limits: { maxNodes: 4, maxVcpus: 32, maxMemoryMiB: 131072, maxHourlyCostUsd: 5 },
    };
    const e = readEnv({ ...env, CLUSTER_NAME: cluster, CONFIG_JSON: JSON.stringify(config) });
    injector.failWhen(() => undefined);
    injector.runs.length = 0;
    ts.clearFailures();
    log = new CapturingLogger();
    metrics = new RecordingMetrics();
    const fastSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 5)));
    bus = new RecordingBus(
      new EventBridgeBus({ client: eb, eventBusName: BUS, clock: { sleep: fastSleep } }),
    );
    deps = createDeps(e, {
      clientConfig: moto.clientConfig,
      clients: { ec2: sdkEc2Api(ec2), eventBridge: eb },
      ports: { bus, state: new DynamoState({ client: ddb, tableName: TABLE }) },
      logger: log,
      metrics,
      clock: { ...systemClock, sleep: fastSleep },
    });
  });

  afterEach(() => {
    // No test may leak a secret into the logs.
    const text = log.text();
    expect(text).not.toContain(BOOTSTRAP_TOKEN.split('::')[1]);
    expect(text).not.toContain(ts.credentials.clientSecret);
    for (const k of ts.keys) expect(text).not.toContain(k.key);
  });

  it('happy scale-out: snapshot → ScaleOutRequested → one key per instance → tagged instances → InstanceLaunched', async () => {
    const keysBefore = ts.keys.length;
    const r = await reconcileOnce(snapshotEvent(pendingSnapshot(3)));
    expect(r.outcome).toBe('decided');
    const planned = scaleOutCount();
    expect(planned).toBeGreaterThan(0);

    const results = await launchAll();

    expect(results.every((x) => x.outcome === 'launched')).toBe(true);
    const instances = await ourInstances();
    expect(instances).toHaveLength(planned);
    const minted = ts.keys.slice(keysBefore);
    expect(minted).toHaveLength(planned);
    for (const k of minted) {
      expect(k.capabilities.devices.create).toMatchObject({
        reusable: false,
        ephemeral: true,
        preauthorized: true,
      });
      expect(k.capabilities.devices.create.tags).toEqual(['tag:k3s-burst']);
      expect(k.expirySeconds).toBeLessThanOrEqual(3600);
    }
    const tag = (i: Instance, key: string) => i.Tags?.find((t) => t.Key === key)?.Value;
    const so = bus.of<ScaleOutRequested>(DetailTypes.scaleOutRequested)[0];
    for (const i of instances) {
      expect(tag(i, Tags.decisionId)).toBe(so?.decisionId);
      expect(i.ImageId).toBe(amiId);
    }
    const launched = bus.of<{ instances: unknown[] }>(DetailTypes.instanceLaunched);
    expect(launched.reduce((a, l) => a + l.instances.length, 0)).toBe(planned);
    // each instance boots with its own minted key (never shared) and the agent's bootstrap token
    const keysUsed = new Set<string>();
    for (const i of instances) {
      const attr = await ec2.send(
        new DescribeInstanceAttributeCommand({ InstanceId: i.InstanceId, Attribute: 'userData' }),
      );
      const script = Buffer.from(attr.UserData?.Value ?? '', 'base64').toString('utf8');
      const keys = minted.filter((k) => script.includes(k.key));
      expect(keys).toHaveLength(1);
      keysUsed.add(keys[0]?.key as string);
      expect(script).toContain(BOOTSTRAP_TOKEN);
    }
    expect(keysUsed.size).toBe(planned);
  });

  it('EC2 quota (VcpuLimitExceeded): nothing launched, alarmable metric, no retry storm', async () => {
    injector.failWhen(() => 'VcpuLimitExceeded');
    await reconcileOnce(snapshotEvent(pendingSnapshot(1)));

    const [r] = await launchAll();

    expect(r).toMatchObject({ outcome: 'failed', stoppedBy: 'capacity-limit' });
    // one call per capacity type (spot and on-demand have separate quotas), each then backed off
    expect(injector.runs.map((x) => x.InstanceMarketOptions?.MarketType ?? 'on-demand')).toEqual([
      'spot',
      'on-demand',
    ]);
    const backoffs = await deps.state.listBackoffs(cluster, new Date());
    expect(backoffs.map((b) => `${b.kind}/${b.capacityType}/${b.quotaClass}`).sort()).toEqual([
      'quota/on-demand/standard',
      'quota/spot/standard',
    ]);
    expect(metrics.total(ControlMetrics.capacityLimitErrors)).toBe(1);
    expect(await ourInstances()).toHaveLength(0);
    // the in-flight launch is released so the next reconcile re-plans (and explains the clamp)
    expect(await deps.state.listInFlight(cluster, new Date())).toEqual([]);
  });

  it('duplicate and out-of-order snapshots never launch twice', async () => {
    const first = pendingSnapshot(2);
    const ev = snapshotEvent(first);
    await reconcileOnce(ev);
    await launchAll();
    const planned = (await ourInstances()).length;
    expect(planned).toBeGreaterThan(0);

    // the same event again (EventBridge at-least-once), then an older seq arriving late
    const dup = await reconcileOnce(ev);
    const old = await reconcileOnce(snapshotEvent(pendingSnapshot(2, first.seq - 1)));
    await launchAll();

    expect(dup.outcome).toBe('replayed');
    expect(old.outcome).toBe('stale-snapshot');
    expect(metrics.total(ControlMetrics.staleSnapshotsIgnored)).toBe(1);
    expect(await ourInstances()).toHaveLength(planned);
  });

  it('two concurrent reconciles at once → exactly one set of launches (I1)', async () => {
    // Given a stored snapshot with pending pods (as the agent's last heartbeat left it)
    await deps.state.putSnapshotIfNewer(pendingSnapshot(3), new Date());
    // When two reconciles start at the same moment (two Scheduler ticks / EC2 events)
    const now = new Date().toISOString();
    const [a, b] = await Promise.all([reconcileOnce(tickEvent(now)), reconcileOnce(tickEvent(now))]);
    const outcomes = [a.outcome, b.outcome].sort();
    // Both invocations store their snapshot and race for the lease within a few ms; the winner
    // holds it across many round trips, so the loser finds it held.
    expect(outcomes).toEqual(['busy', 'decided']);
    expect(metrics.total(ControlMetrics.reconcileBusy)).toBe(1);
    const groups = bus.of<ScaleOutRequested>(DetailTypes.scaleOutRequested);
    expect(new Set(groups.map((g) => g.decisionId)).size).toBe(1);
    const planned = scaleOutCount();
    await launchAll();
    expect(await ourInstances()).toHaveLength(planned);
  });

  it('ICE on the preferred type → falls back to the next type and caches the unavailable offering', async () => {
    injector.failWhen((i) => (i.InstanceType === 'm7g.large' ? 'InsufficientInstanceCapacity' : undefined));
    await reconcileOnce(snapshotEvent(pendingSnapshot(1)));
    const so = bus.of<ScaleOutRequested>(DetailTypes.scaleOutRequested)[0];
    expect(so?.launch.instanceTypes[0]).toBe('m7g.large');

    const [r] = await launchAll();

    expect(r?.outcome).toBe('launched');
    expect(r?.instances[0]?.instanceType).toBe('m7g.xlarge');
    expect((await ourInstances()).map((i) => i.InstanceType)).toEqual(['m7g.xlarge']);
    const cached = await deps.state.offeringCache(cluster).listUnavailable(new Date());
    expect(cached.some((c) => c.instanceType === 'm7g.large')).toBe(true);
  });

  it('throttling: RunInstances RequestLimitExceeded (SDK retry) and a throttled PutEvents (bus retry) still launch once', async () => {
    let throttled = 0;
    injector.failWhen(() => (throttled++ === 0 ? 'RequestLimitExceeded' : undefined));
    let ebThrottled = 0;
    eb.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutEventsCommand' && ebThrottled++ === 0) {
          const err = Object.assign(new Error('Rate exceeded'), {
            name: 'ThrottlingException',
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
          });
          throw err;
        }
        return next(args);
      },
      { step: 'initialize', name: `throttleOnce-${clusterN}` },
    );
    try {
      await reconcileOnce(snapshotEvent(pendingSnapshot(1)));
      const [r] = await launchAll();
      expect(r?.outcome).toBe('launched');
    } finally {
      eb.middlewareStack.remove(`throttleOnce-${clusterN}`);
    }
    expect(throttled).toBeGreaterThanOrEqual(2);
    expect(ebThrottled).toBeGreaterThanOrEqual(2);
    expect(await ourInstances()).toHaveLength(1);
    expect(bus.of(DetailTypes.scaleOutRequested)).toHaveLength(1);
  });

  it('Tailscale 429 on key creation, then success: launched with the retried key', async () => {
    await reconcileOnce(snapshotEvent(pendingSnapshot(1)));
    const keysBefore = ts.keys.length;
    ts.failNext(1, { kind: 'rate-limit', retryAfterSeconds: 1 }, { method: 'POST', path: '/keys' });

    const [r] = await launchAll();

    expect(r?.outcome).toBe('launched');
    const keyCalls = ts.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/keys'));
    expect(keyCalls.slice(-2).map((c) => c.status)).toEqual([429, 200]);
    expect(ts.keys.length - keysBefore).toBe(1);
    expect(await ourInstances()).toHaveLength(1);
  });

  it('Tailscale down: no key, NO instance launched; the event fails so Lambda retries', async () => {
    await reconcileOnce(snapshotEvent(pendingSnapshot(1)));
    ts.failNext(50, { kind: 'down' });
    const so = bus.of<ScaleOutRequested>(DetailTypes.scaleOutRequested)[0];
    const ev = envelopeOf(
      { source: 'k3s-burst.reconcile', detailType: DetailTypes.scaleOutRequested, detail: so as object },
      new Date(),
    );

    await expect(launchHandler(ev, ctx())).rejects.toThrow(/stopped after 0 instance/);

    expect(injector.runs).toHaveLength(0);
    expect(await ourInstances()).toHaveLength(0);
    expect(metrics.total(ControlMetrics.tailscaleKeyFailures)).toBe(1);
  });

  it('crash between launch and journal: the retry and the next reconcile do not launch a second time', async () => {
    // Given reconcile decided and launch ran RunInstances but crashed before announcing it
    await reconcileOnce(snapshotEvent(pendingSnapshot(2)));
    const planned = scaleOutCount();
    bus.crashOn = DetailTypes.instanceLaunched;
    await expect(launchAll()).rejects.toThrow(/simulated Lambda crash/);
    bus.crashOn = undefined;
    expect(await ourInstances()).toHaveLength(planned);

    // When Lambda retries the same ScaleOutRequested, and a newer snapshot still shows the pods pending
    const retried = await launchAll();
    const next = await reconcileOnce(snapshotEvent(pendingSnapshot(2)));

    // Then the retry reuses the instances (launch-key tag) and reconcile counts them (in-flight / decision tag)
    expect(retried.flatMap((r) => r.instances).every((i) => i.reused)).toBe(true);
    expect(next.outcome).toBe('decided');
    expect(next.outcome === 'decided' && next.plan.launches).toEqual([]);
    expect(await ourInstances()).toHaveLength(planned);

    // And even with the in-flight record gone (expired), the tagged instances are still counted
    await deps.state.clearInFlight(
      cluster,
      bus.of<ScaleOutRequested>(DetailTypes.scaleOutRequested).map((s) => s.launch.launchId),
    );
    const after = await reconcileOnce(snapshotEvent(pendingSnapshot(2)));
    expect(after.outcome === 'decided' && after.plan.launches).toEqual([]);
    expect(await ourInstances()).toHaveLength(planned);
  });

  it('an invalid event is rejected by the handler with a metric, never acted upon, never thrown', async () => {
    const r = await reconcileHandler({ 'detail-type': 'ClusterSnapshot', source: 'k3s-burst.agent' }, ctx());
    expect(r).toMatchObject({ outcome: 'rejected' });
    expect(metrics.total(ControlMetrics.invalidEvents)).toBe(1);
    const foreign = await launchHandler(
      envelopeOf(
        {
          source: 'k3s-burst.reconcile',
          detailType: DetailTypes.scaleOutRequested,
          detail: { ...((await reconcileSample()) as object), cluster: 'someone-else' },
        },
        new Date(),
      ),
      ctx(),
    );
    expect(foreign).toMatchObject({ outcome: 'rejected' });
    expect(injector.runs).toHaveLength(0);
  });

  /** A valid ScaleOutRequested detail (from a real decision) to mutate. */
  async function reconcileSample(): Promise<ScaleOutRequested> {
    await reconcileOnce(snapshotEvent(pendingSnapshot(1)));
    const so = bus.of<ScaleOutRequested>(DetailTypes.scaleOutRequested)[0];
    if (!so) throw new Error('no ScaleOutRequested');
    return so;
  }
});
