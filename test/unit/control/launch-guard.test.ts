/**
 * I12 at the launch boundary: launch acts only on requests the decider recorded, within the
 * config and the limits it runs with. Each case goes through the real edge parser and the
 * real launch use-case over the in-memory fakes, and asserts that nothing reached the fleet
 * (no RunInstances) or the tailnet (no key minted).
 */
import { describe, expect, it } from 'vitest';
import { ControlMetrics } from '../../../lib/control/common.js';
import { parseLaunchEvent } from '../../../lib/control/inputs.js';
import { type LaunchResult, launch } from '../../../lib/control/launch.js';
import { inFlightRecord } from '../../../lib/core/decision-events.js';
import { checkScaleOutRequest } from '../../../lib/core/launch-guard.js';
import {
  DetailTypes,
  type PlannedLaunch,
  SCHEMA_VERSION,
  type ScaleOutRequested,
  Sources,
} from '../../../lib/events/index.js';
import {
  envelopeOf,
  type FakeWorld,
  fakeWorld,
  instance,
  JOIN_TOKEN_SECRET,
  makeConfig,
  NOW,
  parseOk,
} from '../../support/control.js';

const CLUSTER = 'pi-lab';
const opts = { joinTokenSecretId: JOIN_TOKEN_SECRET };
const DECISION = 'pi-lab-0abc0decision';

function planned(over: Partial<PlannedLaunch> = {}): PlannedLaunch {
  return {
    launchId: `${DECISION}-0`,
    instanceTypes: ['m7g.large'],
    capacityTypes: ['spot', 'on-demand'],
    arch: 'arm64',
    count: 2,
    zones: [],
    shapeIds: ['web'],
    podsCovered: 4,
    estimatedHourlyUsd: 0.1,
    reason: '4 pending pods of shape web',
    ...over,
  };
}

function detailOf(l: PlannedLaunch, decisionId = DECISION): ScaleOutRequested {
  return {
    schemaVersion: SCHEMA_VERSION,
    cluster: CLUSTER,
    decisionId,
    launch: l,
    requestedAt: NOW.toISOString(),
  };
}

function eventOf(detail: ScaleOutRequested, source: string = Sources.reconcile) {
  return envelopeOf({ source, detailType: DetailTypes.scaleOutRequested, detail }, NOW);
}

/** What the decider writes before it emits: the in-flight record of the launch. */
async function recordDecided(w: FakeWorld, l: PlannedLaunch, decisionId = DECISION) {
  await w.state.recordInFlight(CLUSTER, [
    inFlightRecord(decisionId, l, NOW, w.config.launch.inFlightTtlSeconds),
  ]);
}

/** An on-demand m7g.large of this cluster that EC2 lists already (another decision's). */
function liveInstance(w: FakeWorld, instanceId: string) {
  w.fleet.instances.set(instanceId, {
    ...instance(instanceId, { instanceType: 'm7g.large', capacityType: 'on-demand' }),
    cluster: CLUSTER,
    launchKey: `other-${instanceId}`,
    subnetId: 'subnet-0aaaaaaaaaaaaaaa1',
    imageId: 'ami-0123456789abcdef0',
    userData: '',
  });
}

function expectNothingDone(w: FakeWorld, r: LaunchResult) {
  expect(r).toMatchObject({ outcome: 'failed', stoppedBy: 'refused', instances: [] });
  expect(w.fleet.launchAttempts).toHaveLength(0);
  expect(w.devices.keys).toHaveLength(0);
  expect(w.bus.sent).toHaveLength(0);
  expect(w.metrics.total(ControlMetrics.launchRequestsRefused)).toBe(1);
  const line = w.log.lines.find((l) => l.level === 'error' && /launch guard/.test(l.message));
  expect(line?.attributes?.reason).toBe(r.refusal);
}

describe('launch guard (I12)', () => {
  it('the reported attack: 5 × p4d.24xlarge on-demand from the janitor source with maxNodes 2 launches nothing', async () => {
    const w = fakeWorld({ config: makeConfig({ limits: { maxNodes: 2 } }) });
    const forged = detailOf(
      planned({ instanceTypes: ['p4d.24xlarge'], capacityTypes: ['on-demand'], arch: 'amd64', count: 5 }),
    );
    // The janitor never decides a launch: the edge refuses its ScaleOutRequested outright.
    const parsed = parseLaunchEvent(eventOf(forged, Sources.janitor), CLUSTER);
    expect(parsed).toMatchObject({ ok: false });
    expect(parsed.ok ? '' : parsed.reason).toMatch(/k3s-burst\.janitor/);

    // The same request from a deciding source still needs the decider's record.
    const r = await launch(parseOk(parseLaunchEvent(eventOf(forged), CLUSTER)), w.deps, opts);
    expectNothingDone(w, r);
    expect(r.refusal).toMatch(/no in-flight record of decision/);
  });

  it('a forged request reusing a real decision and launch id cannot change the types, capacity or count', async () => {
    const cases: Array<[string, Partial<PlannedLaunch>, RegExp]> = [
      ['count', { count: 5 }, /launch\.count 5 is more than the 2 the decider recorded/],
      [
        'first type',
        { instanceTypes: ['m7g.xlarge'] },
        /instanceTypes\[0\] "m7g\.xlarge" is not the "m7g\.large"/,
      ],
      ['fallback type', { instanceTypes: ['m7g.large', 'c7g.2xlarge'] }, /not all among the "m7g\.large"/],
      ['capacity type', { capacityTypes: ['on-demand'] }, /capacityTypes\[0\] "on-demand" is not the "spot"/],
    ];
    for (const [what, over, reason] of cases) {
      const w = fakeWorld();
      await recordDecided(w, planned());
      const r = await launch(
        parseOk(parseLaunchEvent(eventOf(detailOf(planned(over))), CLUSTER)),
        w.deps,
        opts,
      );
      expectNothingDone(w, r);
      expect(r.refusal, what).toMatch(reason);
    }
  });

  it('a recorded request outside the config it runs with launches nothing (types, capacity types, arch)', async () => {
    // The record was written under another config (or forged into the table): the config wins.
    const cases: Array<[string, Parameters<typeof makeConfig>[0], Partial<PlannedLaunch>, RegExp]> = [
      [
        'type not a candidate',
        { nodes: { candidateTypes: ['t4g.medium'] } },
        {},
        /"m7g\.large" not in nodes\.candidateTypes/,
      ],
      [
        'capacity type not allowed',
        { nodes: { capacityTypes: ['spot'] } },
        { capacityTypes: ['spot', 'on-demand'] },
        /"on-demand" not allowed by nodes\.capacityTypes/,
      ],
      [
        'wrong architecture',
        {},
        { arch: 'amd64' },
        /launch\.arch "amd64" does not match m7g\.large \(arm64\)/,
      ],
    ];
    for (const [what, cfg, over, reason] of cases) {
      const w = fakeWorld({ config: makeConfig(cfg) });
      await recordDecided(w, planned(over));
      const r = await launch(
        parseOk(parseLaunchEvent(eventOf(detailOf(planned(over))), CLUSTER)),
        w.deps,
        opts,
      );
      expectNothingDone(w, r);
      expect(r.refusal, what).toMatch(reason);
    }
  });

  it('counts the live fleet: a recorded request that would exceed maxNodes, vCPUs, memory or cost is refused', async () => {
    const cases: Array<[string, Parameters<typeof makeConfig>[0], number, RegExp]> = [
      ['nodes', { limits: { maxNodes: 3 } }, 2, /would make 4 nodes .* over limits\.maxNodes=3/],
      ['vcpu', { limits: { maxVcpus: 6 } }, 2, /would make 8 vCPUs .* over limits\.maxVcpus=6/],
      ['memory', { limits: { maxMemoryMiB: 20_000 } }, 2, /MiB of memory .* over limits\.maxMemoryMiB=20000/],
      ['cost', { limits: { maxHourlyCostUsd: 0.3 } }, 2, /USD\/hour .* over limits\.maxHourlyCostUsd=0\.3/],
    ];
    for (const [what, cfg, live, reason] of cases) {
      const w = fakeWorld({ config: makeConfig(cfg) });
      for (let i = 0; i < live; i++) liveInstance(w, `i-0live${i}0000000000`);
      await recordDecided(w, planned());
      const r = await launch(parseOk(parseLaunchEvent(eventOf(detailOf(planned())), CLUSTER)), w.deps, opts);
      expectNothingDone(w, r);
      expect(r.refusal, what).toMatch(reason);
    }
  });

  it("the active schedule's max binds too", async () => {
    const w = fakeWorld({
      config: makeConfig({
        schedules: [{ name: 'night', cron: '0 0 * * *', timezone: 'UTC', minNodes: 0, maxNodes: 1 }],
      }),
    });
    await recordDecided(w, planned());
    const r = await launch(parseOk(parseLaunchEvent(eventOf(detailOf(planned())), CLUSTER)), w.deps, opts);
    expectNothingDone(w, r);
    expect(r.refusal).toMatch(/over schedule "night" maxNodes=1/);
  });

  it('a request the decider recorded, within every limit, launches (also when redelivered after launching)', async () => {
    const w = fakeWorld({ config: makeConfig({ limits: { maxNodes: 2 } }) });
    await recordDecided(w, planned());
    const input = parseOk(parseLaunchEvent(eventOf(detailOf(planned())), CLUSTER));
    expect((await launch(input, w.deps, opts)).outcome).toBe('launched');
    // At the max now, but these are its own instances: the redelivery reuses them.
    const again = await launch(input, w.deps, opts);
    expect(again.outcome).toBe('launched');
    expect(again.instances.every((i) => i.reused)).toBe(true);
    expect(w.metrics.total(ControlMetrics.launchRequestsRefused)).toBe(0);
  });

  it('a root volume outside nodes.rootVolumeGiB…maxRootVolumeGiB is refused; one inside is launched at that size', async () => {
    for (const [size, reason] of [
      [
        500,
        /launch\.rootVolumeGiB 500 is outside nodes\.rootVolumeGiB…nodes\.maxRootVolumeGiB \(20…100 GiB\)/,
      ],
      [8, /launch\.rootVolumeGiB 8 is outside/],
    ] as const) {
      const w = fakeWorld();
      const l = planned({ rootVolumeGiB: size });
      await recordDecided(w, l);
      const r = await launch(parseOk(parseLaunchEvent(eventOf(detailOf(l)), CLUSTER)), w.deps, opts);
      expectNothingDone(w, r);
      expect(r.refusal).toMatch(reason);
    }
    const w = fakeWorld();
    const l = planned({ rootVolumeGiB: 48 });
    await recordDecided(w, l);
    const r = await launch(parseOk(parseLaunchEvent(eventOf(detailOf(l)), CLUSTER)), w.deps, opts);
    expect(r.outcome).toBe('launched');
    expect(r.instances.map((i) => w.fleet.instances.get(i.instanceId)?.rootVolumeGiB)).toEqual([48, 48]);
  });

  it('the pure check names the failed check', () => {
    const config = makeConfig();
    const l = planned();
    const rec = inFlightRecord(DECISION, l, NOW, 900);
    const base = { config, request: detailOf(l), inFlight: [rec], instances: [], now: NOW };
    expect(checkScaleOutRequest(base)).toEqual({ ok: true });
    expect(checkScaleOutRequest({ ...base, inFlight: [] })).toMatchObject({
      ok: false,
      check: 'in-flight-record',
    });
    expect(checkScaleOutRequest({ ...base, inFlight: [{ ...rec, decisionId: 'other' }] })).toMatchObject({
      ok: false,
      check: 'in-flight-record',
    });
  });
});
