/**
 * StatePort on one DynamoDB table (single-table design, docs/adapters.md §State):
 *
 * | pk                 | sk                                | what                                   |
 * |--------------------|-----------------------------------|----------------------------------------|
 * | `CLUSTER#<c>`      | `SNAPSHOT`                        | latest snapshot, gzip body, `seq`      |
 * | `CLUSTER#<c>`      | `DECISION#<decidedAt>#<id>`       | journaled plan (gzip), TTL             |
 * | `CLUSTER#<c>`      | `DECISIONID#<id>`                 | dedup marker of a journaled decision   |
 * | `CLUSTER#<c>`      | `INFLIGHT#<launchId>`             | in-flight launch, TTL = its expiresAt  |
 * | `CLUSTER#<c>`      | `DRAIN#<instanceId>`              | drain in progress                      |
 * | `CLUSTER#<c>`      | `SCALEOUT`                        | time of the last launch decision       |
 * | `CLUSTER#<c>`      | `LEASE#reconcile`                 | single-writer lease (holder, expiry)   |
 * | `CLUSTER#<c>`      | `OFFERING#<type>#<zone>#<cap>`    | unavailable offering, TTL              |
 * | `CLUSTER#<c>`      | `PAUSE`                           | operator's pause (no TTL: until resume) |
 * | `CLUSTER#<c>`      | `BACKOFF#<backoffKey>`            | launch-setup / quota backoff, TTL      |
 * | `CLUSTER#<c>`      | `STAGES`                          | recent burst stage durations (gzip)    |
 * | `EVENT#<eventId>`  | `SEEN`                            | event dedup marker, TTL                |
 *
 * TTL attribute: `expiresAt` (epoch seconds). DynamoDB deletes expired items lazily (up to
 * days later), so every read also filters by time; TTL is garbage collection, not logic.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { backoffKey } from '../core/backoff.js';
import {
  type DecisionRecord,
  type OfferingCache,
  type StatePort,
  StatePortError,
  type StoredSnapshot,
} from '../core/ports.js';
import {
  ClusterSnapshot,
  DrainInProgress,
  InFlightLaunch,
  LaunchBackoff,
  MAX_AGENT_CLOCK_SKEW_SECONDS,
  PauseState,
  Plan,
  parseOrThrow,
  StageTimings,
  UnavailableOffering,
} from '../events/index.js';
import { awsErrorCode, errorMessage } from './logger.js';

/** Base error of the DynamoDB state adapter. */
export class DynamoStateError extends StatePortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DynamoStateError';
  }
}

/** Key and TTL attribute names; the CDK table and the tests use these. */
export const STATE_TABLE = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt' } as const;

/** CreateTable input for the state table (on-demand billing). The CDK construct mirrors it. */
export function stateTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: STATE_TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: STATE_TABLE.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: STATE_TABLE.sortKey, KeyType: 'RANGE' },
    ],
  };
}

/** Drains are kept this long past their deadline before TTL removes them. */
const DRAIN_GC_SECONDS = 7 * 24 * 3600;
const LEASE_GC_SECONDS = 24 * 3600;
/** Bounded query paging: 20 pages of ≤ 1 MB each. */
const MAX_QUERY_PAGES = 20;

const clusterPk = (cluster: string) => `CLUSTER#${cluster}`;
const epochSeconds = (ms: number) => Math.floor(ms / 1000);

function isConditionFailure(err: unknown): boolean {
  const code = awsErrorCode(err);
  if (code === 'ConditionalCheckFailedException') return true;
  if (code === 'TransactionCanceledException') {
    const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    return reasons.some((r) => r.Code === 'ConditionalCheckFailed');
  }
  return false;
}

const gzipJson = (v: unknown): Uint8Array => gzipSync(JSON.stringify(v));
const gunzipJson = (b: Uint8Array): unknown => JSON.parse(gunzipSync(b).toString('utf8'));

export interface DynamoStateProps {
  client: DynamoDBClient | DynamoDBDocumentClient;
  tableName: string;
}

/** {@link StatePort} on DynamoDB, every guard a single conditional write. */
export class DynamoState implements StatePort {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(props: DynamoStateProps) {
    this.doc =
      props.client instanceof DynamoDBDocumentClient
        ? props.client
        : DynamoDBDocumentClient.from(props.client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = props.tableName;
  }

  async putSnapshotIfNewer(
    snapshot: ClusterSnapshot,
    now: Date,
    receivedAt: Date = now,
  ): Promise<'stored' | 'stale'> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: clusterPk(snapshot.cluster),
            sk: 'SNAPSHOT',
            seq: snapshot.seq,
            observedAt: snapshot.observedAt,
            storedAt: receivedAt.toISOString(),
            body: gzipJson(snapshot),
          },
          // I7: an older or equal seq never replaces what is stored — unless the stored seq is
          // more than the allowed clock skew ahead of now (written by an agent whose clock ran
          // ahead, before future-dated snapshots were refused): it would lock out every
          // correct snapshot, so it is replaced (I12).
          ConditionExpression: 'attribute_not_exists(pk) OR seq < :seq OR seq > :future',
          ExpressionAttributeValues: {
            ':seq': snapshot.seq,
            ':future': now.getTime() + MAX_AGENT_CLOCK_SKEW_SECONDS * 1000,
          },
        }),
      );
      return 'stored';
    } catch (err) {
      if (isConditionFailure(err)) return 'stale';
      throw this.fail('store the snapshot', err);
    }
  }

  async getLatestSnapshot(cluster: string): Promise<StoredSnapshot | undefined> {
    const item = await this.get(clusterPk(cluster), 'SNAPSHOT');
    if (!item) return undefined;
    const snapshot = parseOrThrow(ClusterSnapshot, gunzipJson(item.body as Uint8Array), 'stored snapshot');
    return { snapshot, storedAt: String(item.storedAt) };
  }

  async journalDecision(record: DecisionRecord, ttlSeconds: number): Promise<'recorded' | 'duplicate'> {
    const { plan } = record;
    const pk = clusterPk(plan.cluster);
    const expiresAt = epochSeconds(Date.parse(plan.decidedAt) + ttlSeconds * 1000);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: { pk, sk: `DECISIONID#${plan.decisionId}`, expiresAt },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: {
                  pk,
                  sk: `DECISION#${plan.decidedAt}#${plan.decisionId}`,
                  decisionId: plan.decisionId,
                  decidedAt: plan.decidedAt,
                  trigger: record.trigger,
                  plan: gzipJson(plan),
                  expiresAt,
                },
              },
            },
          ],
        }),
      );
      return 'recorded';
    } catch (err) {
      if (isConditionFailure(err)) return 'duplicate';
      throw this.fail('journal the decision', err);
    }
  }

  async listRecentDecisions(cluster: string, limit: number): Promise<DecisionRecord[]> {
    if (limit <= 0) return [];
    const items = await this.query(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': clusterPk(cluster), ':p': 'DECISION#' },
        ScanIndexForward: false,
        Limit: limit,
      },
      limit,
    );
    return items.map((i) => ({
      trigger: String(i.trigger),
      plan: parseOrThrow(Plan, gunzipJson(i.plan as Uint8Array), 'journaled plan'),
    }));
  }

  async recordInFlight(cluster: string, launches: InFlightLaunch[]): Promise<void> {
    await Promise.all(
      launches.map((l) =>
        this.put(
          {
            pk: clusterPk(cluster),
            sk: `INFLIGHT#${l.launchId}`,
            data: JSON.stringify(l),
            expiresAtMs: Date.parse(l.expiresAt),
            expiresAt: epochSeconds(Date.parse(l.expiresAt)),
          },
          'record an in-flight launch',
        ),
      ),
    );
  }

  async listInFlight(cluster: string, now: Date): Promise<InFlightLaunch[]> {
    const items = await this.queryPrefix(cluster, 'INFLIGHT#');
    return items
      .filter((i) => Number(i.expiresAtMs) > now.getTime())
      .map((i) => parseOrThrow(InFlightLaunch, JSON.parse(String(i.data)), 'stored in-flight launch'));
  }

  async clearInFlight(cluster: string, launchIds: string[]): Promise<void> {
    await Promise.all(launchIds.map((id) => this.delete(clusterPk(cluster), `INFLIGHT#${id}`)));
  }

  async recordDrain(cluster: string, drain: DrainInProgress): Promise<void> {
    await this.put(
      {
        pk: clusterPk(cluster),
        sk: `DRAIN#${drain.instanceId}`,
        data: JSON.stringify(drain),
        expiresAt: epochSeconds(Date.parse(drain.deadline)) + DRAIN_GC_SECONDS,
      },
      'record a drain',
    );
  }

  async listDrains(cluster: string): Promise<DrainInProgress[]> {
    const items = await this.queryPrefix(cluster, 'DRAIN#');
    return items.map((i) => parseOrThrow(DrainInProgress, JSON.parse(String(i.data)), 'stored drain'));
  }

  async clearDrain(cluster: string, instanceId: string): Promise<void> {
    await this.delete(clusterPk(cluster), `DRAIN#${instanceId}`);
  }

  async recordScaleOut(cluster: string, at: Date): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: clusterPk(cluster), sk: 'SCALEOUT' },
          UpdateExpression: 'SET atMs = :ms, #at = :at',
          ConditionExpression: 'attribute_not_exists(pk) OR atMs < :ms',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':ms': at.getTime(), ':at': at.toISOString() },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) return; // a later scale-out is already recorded
      throw this.fail('record the scale-out time', err);
    }
  }

  async lastScaleOutAt(cluster: string): Promise<string | undefined> {
    const item = await this.get(clusterPk(cluster), 'SCALEOUT');
    return item ? String(item.at) : undefined;
  }

  async acquireLease(cluster: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean> {
    const until = now.getTime() + ttlSeconds * 1000;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: clusterPk(cluster),
            sk: 'LEASE#reconcile',
            holder,
            leaseUntilMs: until,
            acquiredAt: now.toISOString(),
            expiresAt: epochSeconds(until) + LEASE_GC_SECONDS,
          },
          // I1: free, expired, or already ours — one atomic check-and-set.
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntilMs <= :now OR holder = :holder',
          ExpressionAttributeValues: { ':now': now.getTime(), ':holder': holder },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw this.fail('acquire the reconcile lease', err);
    }
  }

  async releaseLease(cluster: string, holder: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: clusterPk(cluster), sk: 'LEASE#reconcile' },
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) return; // expired and taken over, or never held
      throw this.fail('release the reconcile lease', err);
    }
  }

  async markEventSeen(eventId: string, now: Date, ttlSeconds: number): Promise<boolean> {
    const nowSeconds = epochSeconds(now.getTime());
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `EVENT#${eventId}`,
            sk: 'SEEN',
            seenAt: now.toISOString(),
            expiresAt: nowSeconds + ttlSeconds,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': nowSeconds },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw this.fail('mark the event seen', err);
    }
  }

  offeringCache(cluster: string): OfferingCache {
    return {
      markUnavailable: async (o) => {
        const untilMs = Date.parse(o.until);
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.table,
              Item: {
                pk: clusterPk(cluster),
                sk: `OFFERING#${o.instanceType}#${o.zone}#${o.capacityType}`,
                data: JSON.stringify(o),
                untilMs,
                expiresAt: epochSeconds(untilMs) + 3600,
              },
              ConditionExpression: 'attribute_not_exists(pk) OR untilMs < :until',
              ExpressionAttributeValues: { ':until': untilMs },
            }),
          );
        } catch (err) {
          if (isConditionFailure(err)) return; // a later `until` is already stored
          throw this.fail('remember an unavailable offering', err);
        }
      },
      listUnavailable: async (now) => {
        const items = await this.queryPrefix(cluster, 'OFFERING#');
        return items
          .filter((i) => Number(i.untilMs) > now.getTime())
          .map((i) => parseOrThrow(UnavailableOffering, JSON.parse(String(i.data)), 'stored offering'));
      },
    };
  }

  async getStageTimings(cluster: string): Promise<StageTimings | undefined> {
    const item = await this.get(clusterPk(cluster), 'STAGES');
    if (!item) return undefined;
    return parseOrThrow(StageTimings, gunzipJson(item.body as Uint8Array), 'stored stage timings');
  }

  async putStageTimings(cluster: string, timings: StageTimings): Promise<void> {
    const checked = parseOrThrow(StageTimings, timings, 'stage timings');
    await this.put({ pk: clusterPk(cluster), sk: 'STAGES', body: gzipJson(checked) }, 'record stage timings');
  }

  async getPause(cluster: string): Promise<PauseState | undefined> {
    const item = await this.get(clusterPk(cluster), 'PAUSE');
    return item ? parseOrThrow(PauseState, JSON.parse(String(item.data)), 'stored pause') : undefined;
  }

  async setPause(cluster: string, pause: PauseState): Promise<void> {
    const checked = parseOrThrow(PauseState, pause, 'pause');
    await this.put({ pk: clusterPk(cluster), sk: 'PAUSE', data: JSON.stringify(checked) }, 'set the pause');
  }

  async clearPause(cluster: string): Promise<PauseState | undefined> {
    try {
      const out = await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: clusterPk(cluster), sk: 'PAUSE' },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const data = out.Attributes?.data;
      return data === undefined
        ? undefined
        : parseOrThrow(PauseState, JSON.parse(String(data)), 'stored pause');
    } catch (err) {
      throw this.fail('clear the pause', err);
    }
  }

  async listBackoffs(cluster: string, now: Date): Promise<LaunchBackoff[]> {
    const items = await this.queryPrefix(cluster, 'BACKOFF#');
    return items
      .map((i) => parseOrThrow(LaunchBackoff, JSON.parse(String(i.data)), 'stored backoff'))
      .filter((b) => Date.parse(b.forgetAt) > now.getTime());
  }

  async putBackoff(cluster: string, backoff: LaunchBackoff): Promise<void> {
    await this.put(
      {
        pk: clusterPk(cluster),
        sk: `BACKOFF#${backoffKey(backoff)}`,
        data: JSON.stringify(backoff),
        expiresAt: epochSeconds(Date.parse(backoff.forgetAt)) + 3600,
      },
      'record a launch backoff',
    );
  }

  async clearBackoff(cluster: string, key: string): Promise<void> {
    await this.delete(clusterPk(cluster), `BACKOFF#${key}`);
  }

  private async get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    try {
      const out = await this.doc.send(
        new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }),
      );
      return out.Item;
    } catch (err) {
      throw this.fail(`read ${sk}`, err);
    }
  }

  private async put(item: Record<string, unknown>, what: string): Promise<void> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.table, Item: item }));
    } catch (err) {
      throw this.fail(what, err);
    }
  }

  private async delete(pk: string, sk: string): Promise<void> {
    try {
      await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk, sk } }));
    } catch (err) {
      throw this.fail(`delete ${sk}`, err);
    }
  }

  private queryPrefix(cluster: string, prefix: string): Promise<Record<string, unknown>[]> {
    return this.query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':pk': clusterPk(cluster), ':p': prefix },
      ConsistentRead: true,
    });
  }

  private async query(
    input: Omit<QueryCommandInput, 'TableName'>,
    maxItems = Number.POSITIVE_INFINITY,
  ): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    try {
      let pages = 0;
      for await (const page of paginateQuery({ client: this.doc }, { TableName: this.table, ...input })) {
        out.push(...(page.Items ?? []));
        pages += 1;
        if (out.length >= maxItems || pages >= MAX_QUERY_PAGES) break;
      }
    } catch (err) {
      throw this.fail('query', err);
    }
    return out.slice(0, maxItems);
  }

  private fail(what: string, err: unknown): DynamoStateError {
    return new DynamoStateError(
      `cannot ${what} in DynamoDB table ${this.table}: ${awsErrorCode(err)}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}
