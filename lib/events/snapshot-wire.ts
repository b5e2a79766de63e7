import { gunzipSync, gzipSync } from 'node:zlib';
import * as z from 'zod';
import { IsoTime } from './common.js';
import { PUT_EVENTS_MAX_ENTRY_BYTES, SCHEMA_VERSION } from './constants.js';
import { parseOrThrow, ValidationError } from './errors.js';
import { ClusterSnapshot, type ClusterSnapshotInput } from './snapshot.js';

/**
 * How a `ClusterSnapshot` travels in an event's `detail`.
 *
 * A realistic snapshot of 500 nodes and 5,000 pods is ~750 KB of JSON: far over the 256 KB
 * PutEvents entry limit and our 64 KB budget; gzipped and base64-encoded it is ~51 KB
 * (`snapshot.bytes.5000-pods.500-nodes` in the bench). So above `PLAIN_LIMIT_BYTES` the agent sends
 * the snapshot gzipped and base64-encoded in `body`, next to the few fields EventBridge
 * rules and logs may want in clear (cluster, seq, observedAt). Small snapshots stay plain
 * JSON so they are readable in the console. Decoders accept both.
 */
export const SnapshotWire = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cluster: z.string().min(1),
  seq: z.number().int().nonnegative(),
  observedAt: IsoTime,
  encoding: z.literal('gzip+base64'),
  body: z.string().min(1),
});
export type SnapshotWire = z.infer<typeof SnapshotWire>;

/** Plain JSON up to this size; gzip above it. */
export const PLAIN_LIMIT_BYTES = 16 * 1024;
/** Refuse to inflate more than this (a corrupt or hostile body must not exhaust Lambda memory). */
export const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

export interface EncodedSnapshot {
  /** The `Detail` string for PutEvents. */
  detail: string;
  /** UTF-8 size of `detail`. */
  bytes: number;
  encoding: 'json' | 'gzip+base64';
}

/** Encode a snapshot as a PutEvents `Detail` string, compressing when it is large. */
export function encodeSnapshotDetail(
  snapshot: ClusterSnapshotInput,
  opts: { forceEncoding?: 'json' | 'gzip+base64' } = {},
): EncodedSnapshot {
  const plain = JSON.stringify(snapshot);
  const plainBytes = Buffer.byteLength(plain, 'utf8');
  const encoding = opts.forceEncoding ?? (plainBytes > PLAIN_LIMIT_BYTES ? 'gzip+base64' : 'json');
  if (encoding === 'json') return { detail: plain, bytes: plainBytes, encoding };
  const wire: SnapshotWire = {
    schemaVersion: SCHEMA_VERSION,
    cluster: snapshot.cluster,
    seq: snapshot.seq,
    observedAt: snapshot.observedAt,
    encoding: 'gzip+base64',
    body: gzipSync(plain, { level: 9 }).toString('base64'),
  };
  const detail = JSON.stringify(wire);
  return { detail, bytes: Buffer.byteLength(detail, 'utf8'), encoding };
}

/** Size EventBridge counts for an entry: Time (14 B) + Source + DetailType + Detail + Resources. */
export function putEventsEntryBytes(entry: {
  source: string;
  detailType: string;
  detail: string;
  resources?: string[];
}): number {
  let n =
    14 +
    Buffer.byteLength(entry.source) +
    Buffer.byteLength(entry.detailType) +
    Buffer.byteLength(entry.detail);
  for (const r of entry.resources ?? []) n += Buffer.byteLength(r);
  return n;
}

export function fitsPutEvents(bytes: number): boolean {
  return bytes <= PUT_EVENTS_MAX_ENTRY_BYTES;
}

/**
 * Decode a received `detail` (plain or wire form) into a validated snapshot.
 * Throws ValidationError naming the bad field; never returns a partially valid snapshot.
 */
export function decodeSnapshotDetail(detail: unknown): ClusterSnapshot {
  if (detail && typeof detail === 'object' && (detail as { encoding?: unknown }).encoding !== undefined) {
    const wire = parseOrThrow(SnapshotWire, detail, 'ClusterSnapshot detail');
    let inner: unknown;
    try {
      const text = gunzipSync(Buffer.from(wire.body, 'base64'), {
        maxOutputLength: MAX_INFLATED_BYTES,
      }).toString('utf8');
      inner = JSON.parse(text);
    } catch (err) {
      throw new ValidationError('ClusterSnapshot detail', [
        { path: '$.body', message: `cannot be inflated as gzip+base64 JSON (${(err as Error).message})` },
      ]);
    }
    const snapshot = parseOrThrow(ClusterSnapshot, inner, 'ClusterSnapshot detail body');
    if (snapshot.seq !== wire.seq || snapshot.cluster !== wire.cluster) {
      throw new ValidationError('ClusterSnapshot detail', [
        { path: '$.seq', message: 'the clear seq/cluster do not match the compressed body' },
      ]);
    }
    return snapshot;
  }
  return parseOrThrow(ClusterSnapshot, detail, 'ClusterSnapshot detail');
}
