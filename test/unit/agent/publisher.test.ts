import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../lib/agent/logger.js';
import { agentMetrics, MetricNames } from '../../../lib/agent/metrics.js';
import { fitSnapshot, Publisher } from '../../../lib/agent/publisher.js';
import {
  type ClusterSnapshotInput,
  decodeSnapshotDetail,
  type PendingShape,
  PUT_EVENTS_MAX_ENTRY_BYTES,
  putEventsEntryBytes,
  SCHEMA_VERSION,
  type SnapshotNode,
} from '../../../lib/events/index.js';
import { FakeEventBus } from '../../../lib/sim/world/agent-ports.js';
import { ManualClock } from '../../support/manual-clock.js';

function emptySnapshot(seq: number, observedAt: string): ClusterSnapshotInput {
  return {
    schemaVersion: SCHEMA_VERSION,
    cluster: 'pi-lab',
    seq,
    observedAt,
    pendingShapes: [],
    nodes: [],
    daemonSets: [],
  };
}

function setup(
  opts: {
    start?: number;
    failEntries?: number;
    build?: (seq: number, at: string) => ClusterSnapshotInput;
    maxEntryBytes?: number;
  } = {},
) {
  const clock = new ManualClock(opts.start);
  const bus = new FakeEventBus();
  bus.failNextEntries = opts.failEntries ?? 0;
  const metrics = agentMetrics();
  const log = memoryLogger();
  const publisher = new Publisher({
    cluster: 'pi-lab',
    eventBusName: 'k3s-burst-pi-lab',
    bus,
    clock,
    log,
    metrics,
    build: opts.build ?? emptySnapshot,
    maxEntryBytes: opts.maxEntryBytes,
    batchIdleMs: 1000,
    batchMaxMs: 10_000,
    heartbeatMs: 60_000,
    retryBaseMs: 500,
  });
  return { clock, bus, metrics, log, publisher };
}

const seqs = (bus: FakeEventBus) => bus.ofType<{ seq: number }>('ClusterSnapshot').map((s) => s.seq);

describe('Publisher', () => {
  it('publishes once at start, then only after the idle window following a change', async () => {
    const { clock, bus, publisher } = setup();
    publisher.start();
    await clock.advance(0);
    expect(bus.accepted).toHaveLength(1);
    expect(bus.accepted[0]).toMatchObject({
      source: 'k3s-burst.agent',
      detailType: 'ClusterSnapshot',
      eventBusName: 'k3s-burst-pi-lab',
    });

    publisher.markDirty();
    await clock.advance(999);
    expect(bus.accepted).toHaveLength(1);
    await clock.advance(1);
    expect(bus.accepted).toHaveLength(2);
    await publisher.stop();
  });

  it('bounds the delay of a stream of changes by the max window', async () => {
    const { clock, bus, publisher } = setup();
    publisher.start();
    await clock.advance(0);
    // A change every 500 ms keeps resetting the 1 s idle timer...
    for (let i = 0; i < 20; i++) {
      publisher.markDirty();
      await clock.advance(500);
    }
    // ...but the first change is published 10 s after it happened, not later.
    expect(bus.accepted).toHaveLength(2);
    await publisher.stop();
  });

  it('sends a heartbeat every 60 s without changes', async () => {
    const { clock, bus, publisher } = setup();
    publisher.start();
    await clock.advance(0);
    await clock.advance(59_999);
    expect(bus.accepted).toHaveLength(1);
    await clock.advance(1);
    expect(bus.accepted).toHaveLength(2);
    await clock.advance(120_000);
    expect(bus.accepted).toHaveLength(4);
    await publisher.stop();
  });

  it('keeps seq strictly increasing, also across a restart', async () => {
    const first = setup();
    first.publisher.start();
    for (let i = 0; i < 5; i++) {
      first.publisher.markDirty();
      await first.clock.advance(1000);
    }
    await first.publisher.stop();
    const before = seqs(first.bus);
    expect(before).toEqual([...before].sort((a, b) => a - b));
    expect(new Set(before).size).toBe(before.length);

    // A new process a second later, with no stored state.
    const second = setup({ start: first.clock.now() + 1000 });
    second.publisher.start();
    await second.clock.advance(0);
    await second.publisher.stop();
    expect(seqs(second.bus)[0]).toBeGreaterThan(before[before.length - 1] as number);
  });

  it('retries a failed entry with backoff and counts the failures', async () => {
    const { clock, bus, metrics, publisher } = setup({ failEntries: 2 });
    publisher.start();
    await clock.advance(0);
    expect(bus.accepted).toHaveLength(0);
    await clock.advance(500);
    expect(bus.accepted).toHaveLength(0);
    await clock.advance(1000);
    expect(bus.accepted).toHaveLength(1);
    expect(bus.calls).toBe(3);
    expect(metrics.get(MetricNames.publishFailures, { reason: 'put-events' })).toBe(2);
    expect(metrics.get(MetricNames.snapshotsPublished)).toBe(1);
    expect(publisher.lastSuccessAt).toBe(clock.now());
    await publisher.stop();
  });

  it('gives up after the attempts and publishes a fresh snapshot after a backoff', async () => {
    const { clock, bus, publisher } = setup({ failEntries: 3 });
    publisher.start();
    await clock.advance(1500);
    expect(bus.calls).toBe(3);
    expect(bus.accepted).toHaveLength(0);
    await clock.advance(2000);
    expect(bus.accepted).toHaveLength(1);
    expect(seqs(bus)[0]).toBeGreaterThan(0);
    await publisher.stop();
  });
});

function bigSnapshot(shapes: number, onPremNodes: number, managedNodes: number): ClusterSnapshotInput {
  const rnd = (i: number) => ((i * 2654435761) % 2 ** 32).toString(36);
  const pendingShapes: PendingShape[] = Array.from({ length: shapes }, (_, i) => ({
    id: `${rnd(i)}${rnd(i + 7)}`.slice(0, 16).padEnd(16, '0'),
    cpuMilli: 100 + i,
    memoryMiB: 64 + i,
    nodeSelector: { [`example.com/k-${rnd(i)}`]: rnd(i * 3) },
    requiredAffinity: [],
    tolerations: [{ key: `t-${rnd(i * 5)}`, operator: 'Equal', value: rnd(i * 11), effect: 'NoSchedule' }],
    usesLocalVolume: false,
    hostPorts: [],
    count: shapes - i,
    oldestPendingSince: '2026-03-14T09:00:00Z',
    examplePods: [`ns-${rnd(i)}/pod-${rnd(i * 13)}`],
  }));
  const node = (name: string, managed: boolean): SnapshotNode => ({
    name,
    providerID: managed
      ? `aws:///eu-central-1a/i-0${rnd(name.length * 7)
          .padStart(16, '0')
          .slice(0, 16)}`
      : `k3s://${name}`,
    managed,
    labels: { 'kubernetes.io/hostname': name, [`x/${rnd(name.length)}`]: name },
    taints: [],
    ready: true,
    readySince: '2026-03-14T08:00:00Z',
    cordoned: false,
    createdAt: '2026-03-14T08:00:00Z',
    allocatable: { cpuMilli: 4000, memoryMiB: 8000, pods: 110 },
    requested: { cpuMilli: 1000, memoryMiB: 1000, pods: 10 },
    workloadPodCount: 10,
    workloadPods: [],
    blockers: [],
    doNotDisrupt: false,
  });
  return {
    schemaVersion: SCHEMA_VERSION,
    cluster: 'pi-lab',
    seq: 1,
    observedAt: '2026-03-14T09:30:00Z',
    pendingShapes,
    nodes: [
      ...Array.from({ length: onPremNodes }, (_, i) => node(`pi-${rnd(i + 1)}`, false)),
      ...Array.from({ length: managedNodes }, (_, i) => node(`burst-${rnd(i + 99)}`, true)),
    ],
    daemonSets: [],
  };
}

describe('fitSnapshot', () => {
  it('leaves a snapshot that fits untouched', () => {
    const s = bigSnapshot(10, 3, 2);
    const fitted = fitSnapshot(s);
    expect(fitted.snapshot.truncated).toBeUndefined();
    expect(decodeSnapshotDetail(JSON.parse(fitted.detail)).pendingShapes).toHaveLength(10);
  });

  it('drops the least important shapes first, flags it and never drops a managed node', () => {
    // Given a snapshot that does not fit a (reduced) entry limit even compressed
    const s = bigSnapshot(3000, 20, 5);
    const limit = 48 * 1024;
    expect(
      putEventsEntryBytes({
        source: 'k3s-burst.agent',
        detailType: 'ClusterSnapshot',
        detail: fitSnapshot(s, 10 ** 9).detail,
      }),
    ).toBeGreaterThan(limit);
    // When
    const fitted = fitSnapshot(s, limit);
    // Then
    const entry = putEventsEntryBytes({
      source: 'k3s-burst.agent',
      detailType: 'ClusterSnapshot',
      detail: fitted.detail,
    });
    expect(entry).toBeLessThanOrEqual(limit);
    const decoded = decodeSnapshotDetail(JSON.parse(fitted.detail));
    const kept = decoded.pendingShapes.length;
    expect(kept).toBeGreaterThan(0);
    expect(decoded.pendingShapes.map((x) => x.count)).toEqual(
      s.pendingShapes?.slice(0, kept).map((x) => x.count),
    );
    expect(decoded.nodes.filter((n) => n.managed)).toHaveLength(5);
    expect(decoded.truncated).toMatchObject({
      droppedShapes: 3000 - kept,
      droppedNodes: 0,
      droppedPods: (s.pendingShapes ?? []).slice(kept).reduce((n, x) => n + x.count, 0),
    });
    expect(decoded.truncated?.reason).toMatch(/least important pending shapes/);
  });

  it('fits the default 256 KB limit for 5,000 distinct shapes', () => {
    const fitted = fitSnapshot(bigSnapshot(5000, 450, 50));
    expect(
      putEventsEntryBytes({
        source: 'k3s-burst.agent',
        detailType: 'ClusterSnapshot',
        detail: fitted.detail,
      }),
    ).toBeLessThanOrEqual(PUT_EVENTS_MAX_ENTRY_BYTES);
  });
});

describe('Publisher degradation', () => {
  it('publishes a truncated snapshot, counts it and warns', async () => {
    const big = bigSnapshot(2000, 10, 3);
    const { clock, bus, metrics, log, publisher } = setup({
      build: (seq, at) => ({ ...big, seq, observedAt: at }),
      maxEntryBytes: 32 * 1024,
    });
    publisher.start();
    await clock.advance(0);
    const [sent] = bus.accepted;
    const decoded = decodeSnapshotDetail(JSON.parse(sent?.detail as string));
    expect(decoded.truncated?.droppedShapes).toBeGreaterThan(0);
    expect(decoded.nodes.filter((n) => n.managed)).toHaveLength(3);
    expect(metrics.get(MetricNames.snapshotsTruncated)).toBe(1);
    expect(metrics.get(MetricNames.pendingShapes)).toBe(2000); // the gauge reports what was seen
    expect(log.lines.find((l) => l.msg === 'snapshot truncated to fit PutEvents')).toMatchObject({
      level: 'warn',
      droppedShapes: decoded.truncated?.droppedShapes,
    });
    await publisher.stop();
  });

  it('sends nothing when even the managed nodes do not fit, and says so at error level', async () => {
    const big = bigSnapshot(10, 0, 400);
    const { clock, bus, metrics, log, publisher } = setup({
      build: (seq, at) => ({ ...big, seq, observedAt: at }),
      maxEntryBytes: 4 * 1024,
    });
    publisher.start();
    await clock.advance(0);
    expect(bus.calls).toBe(0);
    expect(metrics.get(MetricNames.publishFailures, { reason: 'too-large' })).toBe(1);
    expect(log.lines.find((l) => l.msg === 'snapshot not published')).toMatchObject({ level: 'error' });
    expect(publisher.lastSuccessAt).toBeUndefined();
    await publisher.stop();
  });
});
