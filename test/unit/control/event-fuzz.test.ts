/**
 * A fast-check fuzz over the Lambda event payloads (issue #12 item 7), through the five real
 * handlers (`lambdas/*.ts`, `makeHandler`: parse at the edge, then the use-case) on the
 * in-memory fakes. Inputs are arbitrary JSON, envelopes with known and unknown sources and
 * detail types, and valid events with one field replaced. Properties:
 *
 * 1. nothing crashes: a handler returns a result or a typed refusal (`outcome: 'rejected'`),
 *    each refusal counted as `InvalidEvents`; a refused event has no side effect at all;
 * 2. RunInstances (`FleetPort.launchOne`) is reached only for the launch the decider recorded
 *    (its in-flight record: decision id, launch id, types, count);
 * 3. TerminateInstances (`FleetPort.terminate`) is reached only for an instance a k3s-burst
 *    function asked to terminate (TerminateRequested from a function source) or for the drain
 *    the decider recorded (NodeDrained of that instance and decision); reconcile and
 *    interruption never call either; the janitor does on any accepted payload exactly what it
 *    does on a plain janitor tick (a payload cannot widen it).
 *
 * Fixed seed and bounded runs: deterministic in CI; a failure prints the counterexample.
 */

import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interruptionSpec } from '../../../lambdas/interruption.js';
import { janitorSpec } from '../../../lambdas/janitor.js';
import { launchSpec } from '../../../lambdas/launch.js';
import { reconcileSpec } from '../../../lambdas/reconcile.js';
import { type ControlDeps, type HandlerSpec, makeHandler, readEnv } from '../../../lambdas/runtime.js';
import { terminateSpec } from '../../../lambdas/terminate.js';
import { ControlMetrics } from '../../../lib/control/common.js';
import { inFlightRecord } from '../../../lib/core/decision-events.js';
import { DetailTypes, type PlannedLaunch, SCHEMA_VERSION, Sources } from '../../../lib/events/index.js';
import { systemClock } from '../../../lib/system/clock.js';
import {
  cloudNode,
  envelopeOf,
  fakeWorld,
  JOIN_TOKEN_SECRET,
  NOW,
  snapshot,
  snapshotEvent,
  tickEvent,
} from '../../support/control.js';

const CLUSTER = 'pi-lab';
const RUNS = { numRuns: 150, seed: 20261206, endOnFailure: true } as const;

const ENV = {
  CLUSTER_NAME: CLUSTER,
  EVENT_BUS_NAME: 'k3s-burst-pi-lab',
  TABLE_NAME: 'k3s-burst-pi-lab',
  COMMAND_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/123456789012/k3s-burst-pi-lab-commands',
  K3S_JOIN_TOKEN_SECRET_ARN: JOIN_TOKEN_SECRET,
  LAUNCH_TEMPLATE_ID: 'lt-0123456789abcdef0',
  SUBNET_IDS: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
  SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
  INSTANCE_PROFILE_ARN: 'arn:aws:iam::123456789012:instance-profile/k3s-burst-pi-lab-node',
  AMI_PARAMETER_ARM64: '/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
  AMI_PARAMETER_AMD64: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
  CONFIG_JSON: JSON.stringify({
    cluster: {
      name: CLUSTER,
      region: 'eu-central-1',
      k3sServerUrl: 'https://100.64.5.11:6443',
      k3sVersion: 'v1.32.6+k3s1',
    },
    tailscale: { federatedClientId: 'kFed3rat3dCNTRL' },
  }),
};
const ctx = { awsRequestId: 'fuzz', functionName: 'k3s-burst-pi-lab-fuzz' } as Context;

/** The decider's launch: its in-flight record is in the state table before any event arrives. */
const DECIDED_ID = 'pi-lab-0decided000001';
const DECIDED: PlannedLaunch = {
  launchId: `${DECIDED_ID}-0`,
  instanceTypes: ['m7g.large', 'm7g.xlarge'],
  capacityTypes: ['spot', 'on-demand'],
  arch: 'arm64',
  count: 2,
  zones: [],
  shapeIds: ['web'],
  podsCovered: 6,
  estimatedHourlyUsd: 0.1,
  reason: '6 pending pods of shape web',
};
const DRAIN_DECISION = 'pi-lab-0scalein000001';

/**
 * A world with two running managed instances (both registered in a fresh snapshot), a drain
 * the decider recorded for the first, and the decider's in-flight launch.
 */
async function world() {
  const w = fakeWorld();
  const launched = [];
  for (const [i, type] of ['m7g.large', 't4g.large'].entries()) {
    const inst = await w.fleet.launchOne({
      clientToken: `pi-lab-0seed-${i}-0`,
      decisionId: 'pi-lab-0seed',
      launchId: `pi-lab-0seed-${i}`,
      index: 0,
      instanceTypes: [type],
      capacityTypes: ['spot'],
      zones: [],
      imageId: 'ami-0123456789abcdef0',
      userData: '#!/bin/sh\n',
      reason: 'seed',
    });
    w.fleet.setState(inst.instanceId, 'running');
    launched.push(inst);
  }
  const [drained, busy] = launched as [(typeof launched)[0], (typeof launched)[0]];
  await w.state.recordDrain(CLUSTER, {
    nodeName: drained.nodeName,
    instanceId: drained.instanceId,
    requestedAt: NOW.toISOString(),
    deadline: new Date(NOW.getTime() + 600_000).toISOString(),
    reason: 'empty',
    decisionId: DRAIN_DECISION,
  });
  await w.state.recordInFlight(CLUSTER, [
    inFlightRecord(DECIDED_ID, DECIDED, NOW, w.config.launch.inFlightTtlSeconds),
  ]);
  const snap = snapshot({
    observedAt: NOW.toISOString(),
    nodes: [cloudNode(drained.instanceId), cloudNode(busy.instanceId, { type: 't4g.large' })],
  });
  await w.state.putSnapshotIfNewer(snap, NOW);
  const seeded = new Set(w.fleet.instances.keys());
  const deps: ControlDeps = {
    ...w.deps,
    env: readEnv(ENV),
    clock: { ...systemClock, ...w.clock.fn, sleep: async () => {} },
  };
  return { w, deps, drained, busy, seeded, snap };
}
type World = Awaited<ReturnType<typeof world>>;

// ───────── valid events, one per path into each handler ─────────

const ev = (source: string, detailType: string, detail: object) =>
  envelopeOf({ source, detailType, detail }, NOW);

function baseEvents(x: World): Record<string, Record<string, unknown>[]> {
  const scaleOut = (decisionId: string, launch: PlannedLaunch, source: string = Sources.reconcile) =>
    ev(source, DetailTypes.scaleOutRequested, {
      schemaVersion: SCHEMA_VERSION,
      cluster: CLUSTER,
      decisionId,
      launch,
      requestedAt: NOW.toISOString(),
    });
  const terminateRequested = (instanceId: string, source: string = Sources.reconcile) =>
    ev(source, DetailTypes.terminateRequested, {
      schemaVersion: SCHEMA_VERSION,
      cluster: CLUSTER,
      decisionId: 'pi-lab-0scalein000009',
      instanceId,
      reason: 'scale-in',
      requestedAt: NOW.toISOString(),
    });
  const nodeDrained = (instanceId: string, decisionId: string) =>
    ev(Sources.agent, DetailTypes.nodeDrained, {
      schemaVersion: SCHEMA_VERSION,
      cluster: CLUSTER,
      decisionId,
      nodeName: `burst-${instanceId}`,
      instanceId,
      outcome: 'drained',
      blockingPods: [],
      evictedPods: 1,
      finishedAt: NOW.toISOString(),
    });
  const ec2 = (detailType: string, detail: object) => ev(Sources.ec2, detailType, detail);
  return {
    launch: [
      scaleOut(DECIDED_ID, DECIDED),
      scaleOut(DECIDED_ID, { ...DECIDED, count: 5, instanceTypes: ['p4d.24xlarge'], arch: 'amd64' }),
      scaleOut('pi-lab-0forged0000001', { ...DECIDED, launchId: 'pi-lab-0forged0000001-0' }, Sources.janitor),
    ],
    terminate: [
      terminateRequested(x.busy.instanceId),
      nodeDrained(x.drained.instanceId, DRAIN_DECISION),
      nodeDrained(x.busy.instanceId, DRAIN_DECISION),
      nodeDrained(x.drained.instanceId, 'pi-lab-0other0000001'),
    ],
    reconcile: [snapshotEvent(x.snap), tickEvent(NOW.toISOString())],
    janitor: [tickEvent(NOW.toISOString(), undefined, 'janitor')],
    interruption: [
      ec2(DetailTypes.ec2SpotInterruption, {
        'instance-id': x.drained.instanceId,
        'instance-action': 'terminate',
      }),
      ec2(DetailTypes.ec2Rebalance, { 'instance-id': x.busy.instanceId }),
      ec2(DetailTypes.ec2StateChange, { 'instance-id': x.busy.instanceId, state: 'terminated' }),
    ],
  };
}

// ───────── generators ─────────

const KNOWN_SOURCES = [...Object.values(Sources), 'aws.events', 'evil.source'];
const KNOWN_TYPES = [...Object.values(DetailTypes), 'Scheduled Event', 'Nope'];

/** Values that probe edges: other ids, other clusters, huge and odd strings, numbers, dates. */
const tricky = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    'other-lab',
    'i-0ffffffffffffffff',
    'p4d.24xlarge',
    '2126-01-01T00:00:00Z',
    '1970-01-01T00:00:00Z',
    -1,
    1e9,
    Number.MAX_SAFE_INTEGER,
    '',
    'x'.repeat(5000),
    '__proto__',
    null,
    [],
    {},
  ),
);

/** Every path to a leaf (or a whole sub-object) of a JSON value. */
function pathsOf(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) out.push(...pathsOf(x, [...prefix, i]));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...prefix, k]));
  }
  return out;
}

function withReplaced(v: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[head] = withReplaced((v as Record<string | number, unknown>)[head], rest, value);
  return copy;
}

/** An event for a handler: arbitrary, an envelope of random parts, or a valid one with a field replaced. */
function eventArb(bases: Record<string, unknown>[]): fc.Arbitrary<unknown> {
  const mutated = fc
    .constantFrom(...bases)
    .chain((base) => fc.tuple(fc.constant(base), fc.constantFrom(...pathsOf(base)), tricky, fc.boolean()))
    .map(([base, path, value, drop]) => {
      if (drop && path.length > 0) {
        const parent = path.slice(0, -1);
        const key = path[path.length - 1] as string | number;
        const holder = parent.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], base);
        if (holder && typeof holder === 'object' && !Array.isArray(holder)) {
          const { [key]: _dropped, ...restOf } = holder as Record<string | number, unknown>;
          return withReplaced(base, parent, restOf);
        }
      }
      return withReplaced(base, path, value);
    });
  const envelope = fc.record({
    version: fc.oneof(fc.constant('0'), tricky),
    id: fc.oneof(fc.uuid(), tricky),
    'detail-type': fc.oneof(fc.constantFrom(...KNOWN_TYPES), fc.string()),
    source: fc.oneof(fc.constantFrom(...KNOWN_SOURCES), fc.string()),
    account: fc.constant('123456789012'),
    time: fc.oneof(fc.constant(NOW.toISOString()), tricky),
    region: fc.constant('eu-central-1'),
    resources: fc.oneof(fc.constant([]), tricky),
    detail: fc.oneof(fc.constantFrom(...bases.map((b) => b.detail)), fc.jsonValue({ maxDepth: 4 }), tricky),
  });
  return fc.oneof(
    { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
    { weight: 2, arbitrary: envelope },
    { weight: 5, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(...bases) },
  );
}

// ───────── the properties ─────────

type Name = 'launch' | 'terminate' | 'reconcile' | 'janitor' | 'interruption';
/** The handler files' own specs, each run through makeHandler over one world's deps. */
const SPECS: Record<Name, HandlerSpec<unknown, unknown>> = {
  launch: launchSpec as HandlerSpec<unknown, unknown>,
  terminate: terminateSpec as HandlerSpec<unknown, unknown>,
  reconcile: reconcileSpec as HandlerSpec<unknown, unknown>,
  janitor: janitorSpec as HandlerSpec<unknown, unknown>,
  interruption: interruptionSpec as HandlerSpec<unknown, unknown>,
};

interface Outcome {
  result: unknown;
  rejected: boolean;
  launchedInstances: { decisionId: string; launchKey: string | undefined; instanceType: string }[];
  terminated: string[];
}

/** Run one event through a handler in a fresh world; a throw fails the property. */
async function run(name: Name, event: unknown, x: World): Promise<Outcome> {
  const before = {
    sent: x.w.bus.sent.length,
    keys: x.w.devices.keys.length,
    invalid: x.w.metrics.total(ControlMetrics.invalidEvents),
  };
  const handler = makeHandler(name, SPECS[name], { deps: () => x.deps });
  const result = await handler(structuredClone(event), ctx);
  const rejected = (result as { outcome?: string } | undefined)?.outcome === 'rejected';
  const launchedInstances = [...x.w.fleet.instances.values()]
    .filter((i) => !x.seeded.has(i.instanceId))
    .map((i) => ({ decisionId: i.decisionId, launchKey: i.launchKey, instanceType: i.instanceType }));
  const terminated = x.w.fleet.terminateCalls.flat();
  // 1. a refusal is counted once and has no side effect
  expect(x.w.metrics.total(ControlMetrics.invalidEvents) - before.invalid).toBe(rejected ? 1 : 0);
  if (rejected) {
    expect(launchedInstances).toEqual([]);
    expect(terminated).toEqual([]);
    expect(x.w.bus.sent.length).toBe(before.sent);
    expect(x.w.devices.keys.length).toBe(before.keys);
  }
  return { result, rejected, launchedInstances, terminated };
}

const seen: Record<Name, { accepted: number; rejected: number; acted: number }> = {
  launch: { accepted: 0, rejected: 0, acted: 0 },
  terminate: { accepted: 0, rejected: 0, acted: 0 },
  reconcile: { accepted: 0, rejected: 0, acted: 0 },
  janitor: { accepted: 0, rejected: 0, acted: 0 },
  interruption: { accepted: 0, rejected: 0, acted: 0 },
};
function tally(name: Name, o: Outcome): void {
  seen[name][o.rejected ? 'rejected' : 'accepted']++;
  if (o.launchedInstances.length + o.terminated.length > 0) seen[name].acted++;
}

describe('fuzz over the Lambda event payloads', () => {
  it('launch: nothing crashes, and only the launch the decider recorded reaches RunInstances', async () => {
    const bases = baseEvents(await world()).launch as Record<string, unknown>[];
    await fc.assert(
      fc.asyncProperty(eventArb(bases), async (event) => {
        const x = await world();
        const o = await run('launch', event, x);
        tally('launch', o);
        expect(o.terminated).toEqual([]);
        expect(o.launchedInstances.length).toBeLessThanOrEqual(DECIDED.count);
        for (const i of o.launchedInstances) {
          expect(i.decisionId).toBe(DECIDED_ID);
          expect(i.launchKey?.startsWith(`${DECIDED.launchId}-`)).toBe(true);
          expect(DECIDED.instanceTypes).toContain(i.instanceType);
        }
      }),
      RUNS,
    );
    // Not vacuous: the recorded request launched in some runs, and many inputs were refused.
    expect(seen.launch.acted).toBeGreaterThan(0);
    expect(seen.launch.rejected).toBeGreaterThan(0);
  });

  it('terminate: only function-requested instances and the recorded drain reach TerminateInstances', async () => {
    const bases = baseEvents(await world()).terminate as Record<string, unknown>[];
    await fc.assert(
      fc.asyncProperty(eventArb(bases), async (event) => {
        const x = await world();
        const o = await run('terminate', event, x);
        tally('terminate', o);
        expect(o.launchedInstances).toEqual([]);
        const e = event as { source?: unknown; 'detail-type'?: unknown; detail?: Record<string, unknown> };
        const allowed = new Set<string>();
        if (
          typeof e.source === 'string' &&
          e.source.startsWith('k3s-burst.') &&
          e.source !== Sources.agent &&
          e['detail-type'] === DetailTypes.terminateRequested &&
          typeof e.detail?.instanceId === 'string'
        ) {
          allowed.add(e.detail.instanceId);
        }
        if (
          e.source === Sources.agent &&
          e['detail-type'] === DetailTypes.nodeDrained &&
          e.detail?.instanceId === x.drained.instanceId &&
          e.detail?.decisionId === DRAIN_DECISION
        ) {
          allowed.add(x.drained.instanceId);
        }
        for (const id of o.terminated) expect(allowed).toContain(id);
      }),
      RUNS,
    );
    expect(seen.terminate.acted).toBeGreaterThan(0);
    expect(seen.terminate.rejected).toBeGreaterThan(0);
  });

  it('reconcile and interruption: nothing crashes, and neither calls RunInstances or TerminateInstances', async () => {
    for (const name of ['reconcile', 'interruption'] as const) {
      const bases = baseEvents(await world())[name] as Record<string, unknown>[];
      await fc.assert(
        fc.asyncProperty(eventArb(bases), async (event) => {
          const x = await world();
          const o = await run(name, event, x);
          tally(name, o);
          expect(o.launchedInstances).toEqual([]);
          expect(o.terminated).toEqual([]);
        }),
        { ...RUNS, numRuns: 100 },
      );
      expect(seen[name].accepted, name).toBeGreaterThan(0);
      expect(seen[name].rejected, name).toBeGreaterThan(0);
    }
  });

  it('janitor: any accepted payload does exactly what a plain janitor tick does', async () => {
    const plain = await world();
    const expected = await run('janitor', tickEvent(NOW.toISOString(), undefined, 'janitor'), plain);
    expect(expected.rejected).toBe(false);
    const bases = baseEvents(plain).janitor as Record<string, unknown>[];
    await fc.assert(
      fc.asyncProperty(eventArb(bases), async (event) => {
        const x = await world();
        const o = await run('janitor', event, x);
        tally('janitor', o);
        expect(o.launchedInstances).toEqual([]);
        expect(o.terminated).toEqual(o.rejected ? [] : expected.terminated);
      }),
      { ...RUNS, numRuns: 100 },
    );
    expect(seen.janitor.accepted).toBeGreaterThan(0);
    expect(seen.janitor.rejected).toBeGreaterThan(0);
  });
});
