import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  type ClusterSnapshotInput,
  decodeSnapshotDetail,
  encodeSnapshotDetail,
  PLAIN_LIMIT_BYTES,
  putEventsEntryBytes,
  ValidationError,
} from '../../../lib/events/index.js';

function snapshot(nodes: number): ClusterSnapshotInput {
  return {
    schemaVersion: 1,
    cluster: 'pi-lab',
    seq: 1_773_480_429_512,
    observedAt: '2026-03-14T09:27:09.512Z',
    agentVersion: '0.1.0',
    pendingShapes: [
      {
        id: 'shape-1',
        cpuMilli: 1750,
        memoryMiB: 3072,
        count: 4,
        oldestPendingSince: '2026-03-14T09:24:51Z',
        nodeSelector: { 'kubernetes.io/arch': 'arm64' },
      },
    ],
    nodes: Array.from({ length: nodes }, (_, i) => ({
      name: `pi-node-${i}`,
      providerID: `k3s://pi-node-${i}`,
      managed: false,
      ready: true,
      readySince: '2026-03-01T06:13:05Z',
      createdAt: '2025-11-02T17:46:10Z',
      allocatable: { cpuMilli: 4000, memoryMiB: 7867, pods: 110 },
      requested: { cpuMilli: 2350, memoryMiB: 4096, pods: 14 },
      workloadPodCount: 12,
    })),
  };
}

describe('snapshot wire format', () => {
  it('sends a small snapshot as plain JSON and reads it back', () => {
    const encoded = encodeSnapshotDetail(snapshot(3));
    expect(encoded.encoding).toBe('json');
    expect(encoded.bytes).toBeLessThanOrEqual(PLAIN_LIMIT_BYTES);
    const decoded = decodeSnapshotDetail(JSON.parse(encoded.detail));
    expect(decoded.nodes).toHaveLength(3);
    expect(decoded.pendingShapes[0]?.tolerations).toEqual([]); // defaults applied
  });

  it('compresses a large snapshot to a fraction of its JSON size and round-trips it exactly', () => {
    const input = snapshot(500);
    const plainBytes = Buffer.byteLength(JSON.stringify(input));
    const encoded = encodeSnapshotDetail(input);
    expect(encoded.encoding).toBe('gzip+base64');
    expect(encoded.bytes).toBeLessThan(plainBytes / 4);
    const wire = JSON.parse(encoded.detail);
    expect(wire).toMatchObject({ cluster: 'pi-lab', seq: input.seq, observedAt: input.observedAt });
    const decoded = decodeSnapshotDetail(wire);
    expect(decoded.nodes.map((n) => n.name)).toEqual(input.nodes?.map((n) => n.name));
  });

  it('rejects a body whose clear seq differs from the compressed one', () => {
    const wire = JSON.parse(encodeSnapshotDetail(snapshot(1), { forceEncoding: 'gzip+base64' }).detail);
    wire.seq += 1;
    expect(() => decodeSnapshotDetail(wire)).toThrow(/clear seq\/cluster do not match/);
  });

  it('rejects a body that is not gzip with a clear error naming the field', () => {
    const wire = JSON.parse(encodeSnapshotDetail(snapshot(1), { forceEncoding: 'gzip+base64' }).detail);
    wire.body = Buffer.from('not gzip').toString('base64');
    expect(() => decodeSnapshotDetail(wire)).toThrow(/\$\.body: cannot be inflated/);
  });

  it('refuses to inflate a decompression bomb', () => {
    const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024, 0x20)).toString('base64');
    const wire = {
      schemaVersion: 1,
      cluster: 'pi-lab',
      seq: 1,
      observedAt: '2026-03-14T09:27:09Z',
      encoding: 'gzip+base64',
      body: bomb,
    };
    expect(() => decodeSnapshotDetail(wire)).toThrow(ValidationError);
  });

  it('names the bad field of an invalid plain snapshot', () => {
    const bad = { ...snapshot(1), seq: -5 };
    expect(() => decodeSnapshotDetail(bad)).toThrow(/\$\.seq: .*\(got -5\)/);
  });

  it('counts PutEvents entry bytes the way EventBridge does', () => {
    const bytes = putEventsEntryBytes({
      source: 'k3s-burst.agent',
      detailType: 'ClusterSnapshot',
      detail: '{"a":"é"}',
      resources: ['arn:x'],
    });
    expect(bytes).toBe(14 + 15 + 15 + 10 + 5);
  });
});
