import { describe, expect, it } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import { parseLaunchEvent } from '../../../lib/control/inputs.js';
import { LaunchRetryError, launch } from '../../../lib/control/launch.js';
import { inFlightRecord } from '../../../lib/core/decision-events.js';
import { SecretNotSetError } from '../../../lib/core/ports.js';
import {
  DetailTypes,
  InstanceLaunched,
  JOIN_TOKEN_MIN_VALIDITY_SECONDS,
  type PlannedLaunch,
  SCHEMA_VERSION,
  Sources,
} from '../../../lib/events/index.js';
import {
  AGENT_TOKEN,
  AGENT_TOKEN_SECRET,
  BOOTSTRAP_TOKEN,
  envelopeOf,
  type FakeWorld,
  fakeWorld,
  IMAGE_ID,
  JOIN_TOKEN_SECRET,
  JOIN_TOKEN_VALUE,
  makeConfig,
  NOW,
  parseOk,
} from '../../support/control.js';

const CLUSTER = 'pi-lab';
const opts = { joinTokenSecretId: JOIN_TOKEN_SECRET };

function request(over: Partial<PlannedLaunch> = {}, decisionId = 'pi-lab-0abc0decision') {
  const launch: PlannedLaunch = {
    launchId: `${decisionId}-0`,
    instanceTypes: ['m7g.large', 'm7g.xlarge'],
    capacityTypes: ['spot', 'on-demand'],
    arch: 'arm64',
    count: 2,
    zones: [],
    shapeIds: ['web'],
    podsCovered: 6,
    estimatedHourlyUsd: 0.1,
    reason: '6 pending pods of shape web',
    ...over,
  };
  const detail = {
    schemaVersion: SCHEMA_VERSION,
    cluster: CLUSTER,
    decisionId,
    launch,
    requestedAt: NOW.toISOString(),
  };
  return parseOk(
    parseLaunchEvent(
      envelopeOf({ source: Sources.reconcile, detailType: DetailTypes.scaleOutRequested, detail }, NOW),
      CLUSTER,
    ),
  );
}

/** Record the in-flight entry reconcile would have written for this request (its own helper). */
async function recordInFlight(w: FakeWorld, req: ReturnType<typeof request>) {
  await w.state.recordInFlight(CLUSTER, [
    inFlightRecord(req.request.decisionId, req.request.launch, NOW, w.config.launch.inFlightTtlSeconds),
  ]);
}

/** A request as the decider sends it: its in-flight record is written first. */
async function decided(w: FakeWorld, req: ReturnType<typeof request>) {
  await recordInFlight(w, req);
  return req;
}

const ourInstances = (w: FakeWorld) => [...w.fleet.instances.values()].filter((i) => i.cluster === CLUSTER);

describe('launch', () => {
  it('mints one single-use tagged key per instance, renders user data with it and launches each instance', async () => {
    const w = fakeWorld();
    const r = await launch(await decided(w, request()), w.deps, opts);

    expect(r.outcome).toBe('launched');
    expect(r.instances).toHaveLength(2);
    // one key per instance, with the configured tags and short expiry
    expect(w.devices.keys).toHaveLength(2);
    expect(w.devices.keys.every((k) => k.tags.join() === 'tag:k3s-burst')).toBe(true);
    const launched = ourInstances(w);
    expect(launched.map((i) => i.launchKey).sort()).toEqual([
      'pi-lab-0abc0decision-0-0',
      'pi-lab-0abc0decision-0-1',
    ]);
    // each instance carries ITS key and the agent token, and the decision id tag
    for (const [n, inst] of launched.entries()) {
      expect(inst.userData).toContain(w.devices.keys[n]?.key as string);
      expect(inst.userData).toContain('k3s-burst.io/capacity-type=spot');
      expect(inst.decisionId).toBe('pi-lab-0abc0decision');
      expect(inst.imageId).toBe(IMAGE_ID);
    }
    expect(w.imageCalls).toEqual(['arm64']);
    // InstanceLaunched lists both
    const ev = w.bus.detailsOf<InstanceLaunched>(DetailTypes.instanceLaunched);
    expect(ev).toHaveLength(1);
    expect(InstanceLaunched.safeParse(ev[0]).success).toBe(true);
    expect(ev[0]?.instances.map((i) => i.instanceId).sort()).toEqual(
      launched.map((i) => i.instanceId).sort(),
    );
    expect(w.bus.sent[0]?.source).toBe(Sources.launch);
    expect(w.metrics.total(ControlMetrics.instancesLaunched)).toBe(2);
    // secrets never reach the log
    const logged = w.log.text();
    expect(logged).not.toContain(BOOTSTRAP_TOKEN);
    expect(logged).not.toContain(BOOTSTRAP_TOKEN.split('::')[1]);
    for (const k of w.devices.keys) expect(logged).not.toContain(k.key);
  });

  it('a redelivered request launches nothing new: instances are found by launch key', async () => {
    const w = fakeWorld();
    const req = await decided(w, request());
    const first = await launch(req, w.deps, opts);
    const second = await launch(req, w.deps, opts);

    expect(ourInstances(w)).toHaveLength(2);
    expect(second.instances.every((i) => i.reused)).toBe(true);
    expect(second.instances.map((i) => i.instanceId).sort()).toEqual(
      first.instances.map((i) => i.instanceId).sort(),
    );
    expect(w.metrics.total(ControlMetrics.instancesReused)).toBe(2);
  });

  it('a redelivered request mints no Tailscale key: the instance is found before the key', async () => {
    const w = fakeWorld();
    const req = await decided(w, request());
    await launch(req, w.deps, opts);
    const minted = w.devices.keys.length;
    expect(minted).toBe(2);

    const second = await launch(req, w.deps, opts);
    expect(second.outcome).toBe('launched');
    expect(w.devices.keys).toHaveLength(minted);
    expect(ourInstances(w)).toHaveLength(2);
  });

  it('a partly launched group mints keys only for the instances still missing', async () => {
    const w = fakeWorld();
    const req = await decided(w, request({ count: 3 }));
    // The first delivery stops after one instance: the second key cannot be minted (retryable).
    const mint = w.devices.mintAuthKey.bind(w.devices);
    let calls = 0;
    w.devices.mintAuthKey = async (r) => {
      calls++;
      if (calls === 2) w.devices.failNext('mintAuthKey', 'unavailable');
      return mint(r);
    };
    await expect(launch(req, w.deps, opts)).rejects.toBeInstanceOf(LaunchRetryError);
    expect(ourInstances(w)).toHaveLength(1);
    const before = w.devices.keys.length;

    const retry = await launch(req, w.deps, opts);
    expect(retry.instances.map((i) => i.reused)).toEqual([true, false, false]);
    expect(w.devices.keys.length - before).toBe(2);
  });

  it('falls back to the next instance type on InsufficientInstanceCapacity and remembers the offering', async () => {
    const w = fakeWorld();
    w.fleet.failOffering({ instanceType: 'm7g.large' }, 'InsufficientInstanceCapacity');

    const r = await launch(await decided(w, request({ count: 1 })), w.deps, opts);

    expect(r.outcome).toBe('launched');
    expect(r.instances[0]).toMatchObject({ instanceType: 'm7g.xlarge', capacityType: 'spot' });
    const cached = await w.state.offeringCache(CLUSTER).listUnavailable(NOW);
    expect(cached.some((u) => u.instanceType === 'm7g.large' && u.capacityType === 'spot')).toBe(true);
  });

  it('falls back to on-demand when spot has no capacity, with on-demand user data', async () => {
    const w = fakeWorld();
    w.fleet.failOffering({ capacityType: 'spot' }, 'InsufficientInstanceCapacity');

    const r = await launch(await decided(w, request({ count: 1 })), w.deps, opts);

    expect(r.instances[0]?.capacityType).toBe('on-demand');
    expect(ourInstances(w)[0]?.userData).toContain('k3s-burst.io/capacity-type=on-demand');
  });

  it('no capacity anywhere: nothing launched, LaunchFailures counted, in-flight cleared so reconcile re-plans', async () => {
    const w = fakeWorld();
    const req = request();
    await recordInFlight(w, req);
    w.fleet.failOffering({}, 'InsufficientInstanceCapacity');

    const r = await launch(req, w.deps, opts);

    expect(r).toMatchObject({ outcome: 'failed', stoppedBy: 'no-capacity', instances: [] });
    expect(ourInstances(w)).toHaveLength(0);
    expect(w.metrics.total(ControlMetrics.launchFailures)).toBe(1);
    expect(w.bus.sent).toHaveLength(0);
    expect(await w.state.listInFlight(CLUSTER, NOW)).toEqual([]);
  });

  it('EC2 quota (VcpuLimitExceeded): alarmable metric, clear log, no throw, one attempt per capacity type (separate quotas)', async () => {
    const w = fakeWorld();
    w.fleet.failOffering({}, 'VcpuLimitExceeded');

    const r = await launch(await decided(w, request()), w.deps, opts);

    expect(r).toMatchObject({ outcome: 'failed', stoppedBy: 'capacity-limit' });
    expect(w.metrics.total(ControlMetrics.capacityLimitErrors)).toBe(1);
    expect(w.fleet.launchAttempts.map((a) => a.capacityType)).toEqual(['spot', 'on-demand']);
    expect(
      (await w.state.listBackoffs(CLUSTER, NOW)).map((b) => `${b.kind}/${b.capacityType}`).sort(),
    ).toEqual(['quota/on-demand', 'quota/spot']);
    const line = w.log.lines.find((l) => l.level === 'error');
    expect(line?.message).toMatch(/quota/);
    expect(String(line?.attributes?.message)).toMatch(/Raise the EC2 quota/);
  });

  it('a key that cannot be minted (auth) launches NO instance', async () => {
    const w = fakeWorld();
    const req = request();
    await recordInFlight(w, req);
    w.devices.failNext('mintAuthKey', 'auth');

    const r = await launch(req, w.deps, opts);

    expect(r).toMatchObject({ outcome: 'failed', stoppedBy: 'tailscale' });
    expect(w.fleet.launchAttempts).toHaveLength(0);
    expect(ourInstances(w)).toHaveLength(0);
    expect(w.metrics.total(ControlMetrics.tailscaleKeyFailures)).toBe(1);
    expect(w.metrics.total(ControlMetrics.tailscaleAuthFailures)).toBe(1);
    expect(await w.state.listInFlight(CLUSTER, NOW)).toEqual([]);
  });

  it('Tailscale unavailable (retryable): no instance, throws so Lambda retries, in-flight kept', async () => {
    const w = fakeWorld();
    const req = request();
    await recordInFlight(w, req);
    w.devices.failNext('mintAuthKey', 'unavailable');

    await expect(launch(req, w.deps, opts)).rejects.toBeInstanceOf(LaunchRetryError);
    expect(w.metrics.total(ControlMetrics.tailscaleAuthFailures)).toBe(0);
    expect(w.fleet.launchAttempts).toHaveLength(0);
    expect(await w.state.listInFlight(CLUSTER, NOW)).toHaveLength(1);
  });

  it('key fails for the 2nd of 3: the 1st is launched and announced, in-flight shrinks to 1', async () => {
    const w = fakeWorld();
    const req = request({ count: 3 });
    await recordInFlight(w, req);
    const mint = w.devices.mintAuthKey.bind(w.devices);
    let calls = 0;
    w.devices.mintAuthKey = async (r) => {
      calls += 1;
      if (calls === 2) w.devices.failNext('mintAuthKey', 'forbidden');
      return mint(r);
    };

    const r = await launch(req, w.deps, opts);

    expect(r).toMatchObject({ outcome: 'partial', stoppedBy: 'tailscale' });
    expect(ourInstances(w)).toHaveLength(1);
    expect(w.bus.detailsOf<InstanceLaunched>(DetailTypes.instanceLaunched)[0]?.instances).toHaveLength(1);
    expect((await w.state.listInFlight(CLUSTER, NOW))[0]?.count).toBe(1);
  });

  describe('join credential (k3s.joinCredential)', () => {
    const agentTokenMode = () =>
      fakeWorld({ config: makeConfig({ k3s: { joinCredential: 'agent-token' } }) });
    const agentTokenOpts = { joinTokenSecretId: AGENT_TOKEN_SECRET };

    it('bootstrap-token (default): the agent-published token goes into user data, which removes it after the join', async () => {
      const w = fakeWorld();
      expect(w.config.k3s.joinCredential).toBe('bootstrap-token');

      const r = await launch(await decided(w, request({ count: 1 })), w.deps, opts);

      expect(r.outcome).toBe('launched');
      const userData = ourInstances(w)[0]?.userData ?? '';
      expect(userData).toContain(`K3S_AGENT_TOKEN='${BOOTSTRAP_TOKEN}'`);
      expect(userData).toContain("JOIN_CREDENTIAL='bootstrap-token'");
      expect(userData).not.toContain(AGENT_TOKEN);
      expect(w.log.text()).not.toContain(BOOTSTRAP_TOKEN.split('::')[1]);
    });

    it.each([
      ['has no value', (w: FakeWorld) => w.secrets.values.delete(JOIN_TOKEN_SECRET), /has no value yet/],
      [
        "is not the agent's JSON",
        (w: FakeWorld) => w.secrets.set(JOIN_TOKEN_SECRET, AGENT_TOKEN),
        /does not hold \{token, tokenId, expiresAt\}/,
      ],
      [
        'has expired',
        (w: FakeWorld) =>
          w.secrets.set(JOIN_TOKEN_SECRET, {
            ...JOIN_TOKEN_VALUE,
            expiresAt: new Date(NOW.getTime() - 1000).toISOString(),
          }),
        /expired at/,
      ],
      [
        'expires within the join window',
        (w: FakeWorld) =>
          w.secrets.set(JOIN_TOKEN_SECRET, {
            ...JOIN_TOKEN_VALUE,
            expiresAt: new Date(NOW.getTime() + (JOIN_TOKEN_MIN_VALIDITY_SECONDS - 1) * 1000).toISOString(),
          }),
        /expires in 599 s .* the agent has not renewed it/,
      ],
    ])(
      'launches nothing when the bootstrap-token secret %s: counted, reason logged, in-flight cleared',
      async (_what, breakIt, reason) => {
        // Given a recorded request and a bootstrap-token secret launch cannot use
        const w = fakeWorld();
        breakIt(w);
        const req = await decided(w, request());

        // When launch runs
        const r = await launch(req, w.deps, opts);

        // Then nothing is minted or launched, the refusal is counted and says why
        expect(r).toMatchObject({ outcome: 'failed', stoppedBy: 'join-credential', instances: [] });
        expect(r.refusal).toMatch(reason);
        expect(w.devices.keys).toHaveLength(0);
        expect(w.fleet.launchAttempts).toHaveLength(0);
        expect(w.metrics.total(ControlMetrics.joinTokenUnavailable)).toBe(1);
        expect(await w.state.listInFlight(CLUSTER, NOW)).toEqual([]);
        expect(w.log.text()).not.toContain(AGENT_TOKEN);
      },
    );

    it('a token with exactly the join window left is still used', async () => {
      const w = fakeWorld();
      w.secrets.set(JOIN_TOKEN_SECRET, {
        ...JOIN_TOKEN_VALUE,
        expiresAt: new Date(NOW.getTime() + JOIN_TOKEN_MIN_VALIDITY_SECONDS * 1000).toISOString(),
      });
      const r = await launch(await decided(w, request({ count: 1 })), w.deps, opts);
      expect(r.outcome).toBe('launched');
    });

    it('agent-token: the long-lived agent token goes into user data and stays on disk', async () => {
      const w = agentTokenMode();
      const r = await launch(await decided(w, request({ count: 1 })), w.deps, agentTokenOpts);
      expect(r.outcome).toBe('launched');
      const userData = ourInstances(w)[0]?.userData ?? '';
      expect(userData).toContain(`K3S_AGENT_TOKEN='${AGENT_TOKEN}'`);
      expect(userData).toContain("JOIN_CREDENTIAL='agent-token'");
      expect(w.log.text()).not.toContain(AGENT_TOKEN);
    });

    it('agent-token: a missing agent-token secret fails before any key is minted', async () => {
      const w = agentTokenMode();
      w.secrets.values.delete(AGENT_TOKEN_SECRET);
      await expect(launch(await decided(w, request()), w.deps, agentTokenOpts)).rejects.toBeInstanceOf(
        SecretNotSetError,
      );
      expect(w.devices.keys).toHaveLength(0);
    });

    it('agent-token: a server token in the secret stops the launch (not retried) and is never logged', async () => {
      const w = agentTokenMode();
      const serverToken = `K10${'ab'.repeat(32)}::server:s3rv3rS3cret`;
      w.secrets.set(AGENT_TOKEN_SECRET, serverToken);

      const r = await launch(await decided(w, request({ count: 1 })), w.deps, agentTokenOpts);

      expect(r).toMatchObject({ outcome: 'failed', stoppedBy: 'invalid-user-data' });
      expect(w.fleet.launchAttempts).toHaveLength(0);
      expect(w.log.text()).not.toContain('s3rv3rS3cret');
    });
  });

  it('a request delivered after its in-flight record expired launches nothing (I1: reconcile may have re-planned)', async () => {
    const w = fakeWorld();
    const req = await decided(w, request());
    w.clock.advance(w.config.launch.inFlightTtlSeconds);

    const r = await launch(req, w.deps, opts);

    expect(r).toMatchObject({ outcome: 'failed', stoppedBy: 'expired', instances: [] });
    expect(w.devices.keys).toHaveLength(0);
    expect(w.fleet.launchAttempts).toHaveLength(0);
    expect(w.metrics.total(ControlMetrics.launchFailures)).toBe(1);
  });

  it('refuses a recorded request while the operator pause is set: no key, no RunInstances, counted, in-flight cleared', async () => {
    // Given a request the decider recorded, then an operator pause set before launch ran
    const w = fakeWorld();
    const req = await decided(w, request());
    await w.state.setPause(CLUSTER, {
      since: NOW.toISOString(),
      drain: false,
      by: 'ana@laptop',
      reason: 'bill',
    });

    // When launch handles it
    const r = await launch(req, w.deps, opts);

    // Then nothing is minted or launched, the refusal is counted and logged, and the record
    // is cleared so reconcile plans afresh after resume
    expect(r).toMatchObject({ outcome: 'failed', stoppedBy: 'paused', instances: [], emitted: [] });
    expect(w.devices.keys).toHaveLength(0);
    expect(w.fleet.launchAttempts).toHaveLength(0);
    expect(ourInstances(w)).toHaveLength(0);
    expect(w.metrics.total(ControlMetrics.launchesPaused)).toBe(2);
    expect(w.log.text()).toContain('paused');
    expect(await w.state.listInFlight(CLUSTER, NOW)).toEqual([]);
  });

  it('launches again once the pause is cleared (resume)', async () => {
    const w = fakeWorld();
    await w.state.setPause(CLUSTER, {
      since: NOW.toISOString(),
      drain: false,
      by: 'ana@laptop',
      reason: 'bill',
    });
    await w.state.clearPause(CLUSTER);
    const r = await launch(await decided(w, request({ count: 1 })), w.deps, opts);
    expect(r.outcome).toBe('launched');
    expect(w.metrics.total(ControlMetrics.launchesPaused)).toBe(0);
  });

  it('a request a little late (retried within its in-flight life) still launches', async () => {
    const w = fakeWorld();
    w.clock.advance(w.config.launch.inFlightTtlSeconds - 120);
    const r = await launch(await decided(w, request({ count: 1 })), w.deps, opts);
    expect(r.outcome).toBe('launched');
  });
});
