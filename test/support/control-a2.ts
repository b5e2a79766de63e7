/**
 * Helpers for the terminate / janitor / interruption tests: a recording logger, event
 * envelopes as EventBridge delivers them, and a fake-backed deps bundle with a settable clock.
 */
import type { Clock } from '../../lib/core/clock.js';
import { RecordingMetrics } from '../../lib/core/metrics.js';
import {
  type Config,
  DetailTypes,
  type NodeDrained,
  SCHEMA_VERSION,
  Sources,
  type TerminateRequested,
} from '../../lib/events/index.js';
import { FakeBus, FakeDeviceRegistry, FakeFleet, FakeState } from '../../lib/sim/world/index.js';
import { makeConfig } from '../unit/core/fixtures.js';
import { CapturingLogger as RecordingLogger } from './control.js';

export type { LogLine } from './control.js';
/** The capturing logger of ./control.ts, under the name the terminate / janitor / interruption tests use. */
export { RecordingLogger };

/** A clock tests move by hand (the part of lib/core/clock.ts the use-cases read). */
export class SettableClock implements Pick<Clock, 'now'> {
  constructor(public nowMs: number) {}
  now(): number {
    return this.nowMs;
  }
  /** The current time as a Date. */
  date(): Date {
    return new Date(this.nowMs);
  }
  advance(seconds: number): void {
    this.nowMs += seconds * 1000;
  }
  set(iso: string): void {
    this.nowMs = Date.parse(iso);
  }
}

/** The test cluster's config (cluster `pi-lab`, prefix `burst-`, maxNodes 6). */
export function a2Config(overrides: Record<string, unknown> = {}): Config {
  return makeConfig(overrides);
}

let envSeq = 0;
function envelope(source: string, detailType: string, detail: unknown, time: string, id?: string) {
  envSeq++;
  return {
    version: '0',
    id: id ?? `0c6f2a1e-0000-4000-8000-${envSeq.toString(16).padStart(12, '0')}`,
    'detail-type': detailType,
    source,
    account: '123456789012',
    time,
    region: 'eu-central-1',
    resources: [],
    detail,
  };
}

export function terminateRequestedEvent(
  p: Partial<TerminateRequested> & { instanceId: string },
  opts: { id?: string; time?: string; source?: string } = {},
) {
  const time = opts.time ?? '2026-03-16T09:30:00Z';
  const detail: TerminateRequested = {
    schemaVersion: SCHEMA_VERSION,
    cluster: 'pi-lab',
    decisionId: 'pi-lab-0scalein00001',
    reason: 'scale-in: node empty for 10m',
    requestedAt: time,
    ...p,
  };
  return envelope(opts.source ?? Sources.reconcile, DetailTypes.terminateRequested, detail, time, opts.id);
}

export function nodeDrainedEvent(
  p: Partial<NodeDrained> & { instanceId: string },
  opts: { id?: string; time?: string } = {},
) {
  const time = opts.time ?? '2026-03-16T09:30:00Z';
  const detail: NodeDrained = {
    schemaVersion: SCHEMA_VERSION,
    cluster: 'pi-lab',
    decisionId: 'pi-lab-0scalein00001',
    nodeName: `burst-${p.instanceId}`,
    outcome: 'drained',
    blockingPods: [],
    evictedPods: 3,
    finishedAt: time,
    ...p,
  };
  return envelope(Sources.agent, DetailTypes.nodeDrained, detail, time, opts.id);
}

export function spotWarningEvent(instanceId: string, opts: { id?: string; time?: string } = {}) {
  return envelope(
    Sources.ec2,
    DetailTypes.ec2SpotInterruption,
    { 'instance-id': instanceId, 'instance-action': 'terminate' },
    opts.time ?? '2026-03-16T09:30:00Z',
    opts.id,
  );
}

export function rebalanceEvent(instanceId: string, opts: { id?: string; time?: string } = {}) {
  return envelope(
    Sources.ec2,
    DetailTypes.ec2Rebalance,
    { 'instance-id': instanceId },
    opts.time ?? '2026-03-16T09:30:00Z',
    opts.id,
  );
}

export function janitorTick(time = '2026-03-16T09:30:00Z', id?: string) {
  return envelope(Sources.events, DetailTypes.scheduledEvent, { action: 'janitor' }, time, id);
}

/** Fake-backed deps for the three use-cases, sharing one manual clock. */
export function fakeDeps(opts: { now?: string; config?: Config } = {}) {
  const clock = new SettableClock(Date.parse(opts.now ?? '2026-03-16T09:30:00Z'));
  const config = opts.config ?? a2Config();
  const fleet = new FakeFleet({ cluster: config.cluster.name, clock });
  const devices = new FakeDeviceRegistry(clock);
  const bus = new FakeBus();
  const state = new FakeState();
  const log = new RecordingLogger();
  const metrics = new RecordingMetrics();
  return {
    clock,
    config,
    fleet,
    devices,
    bus,
    state,
    log,
    metrics,
    deps: { config, clock, log, metrics, fleet, devices, bus, state },
  };
}

let launchSeq = 0;
/** Launch one managed instance in a FakeFleet (state `running` unless told). */
export async function launchManaged(
  fleet: FakeFleet,
  p: {
    instanceType?: string;
    capacityType?: 'spot' | 'on-demand';
    state?: 'pending' | 'running';
    decisionId?: string;
  } = {},
) {
  launchSeq++;
  const launched = await fleet.launchOne({
    clientToken: `test-launch-${launchSeq}-0`,
    decisionId: p.decisionId ?? `pi-lab-test${launchSeq}`,
    launchId: `test-launch-${launchSeq}`,
    index: 0,
    instanceTypes: [p.instanceType ?? 'm7g.large'],
    capacityTypes: [p.capacityType ?? 'spot'],
    imageId: 'ami-0123456789abcdef0',
    userData: '#!/bin/sh\n',
    reason: 'test',
  });
  if ((p.state ?? 'running') === 'running') fleet.setState(launched.instanceId, 'running');
  return launched;
}
