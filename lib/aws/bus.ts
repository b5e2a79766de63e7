/** BusPort on EventBridge PutEvents. */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { Clock } from '../core/clock.js';
import { type Logger, silentLogger } from '../core/logger.js';
import {
  type BusEntry,
  type BusPort,
  BusPortError,
  EventTooLargeError,
  type PutFailure,
  type PutResult,
  type Random,
} from '../core/ports.js';
import { PUT_EVENTS_MAX_ENTRY_BYTES, putEventsEntryBytes } from '../events/index.js';
import { systemClock } from '../system/clock.js';
import { backoffDelayMs } from './backoff.js';
import { awsErrorCode, errorMessage } from './logger.js';

/** Base error of the EventBridge adapter. */
export class EventBridgeBusError extends BusPortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventBridgeBusError';
  }
}

/** PutEvents accepts at most 10 entries per request. */
export const PUT_EVENTS_MAX_BATCH = 10;

/** Codes that will fail the same way on every retry (bad entry, missing permission or bus). */
const PERMANENT_CODES = new Set([
  'MalformedDetail',
  'InvalidArgument',
  'ValidationException',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
  'AccessDeniedException',
  'AccessDenied',
  'ResourceNotFoundException',
  'UnrecognizedClientException',
]);

export interface EventBridgeBusProps {
  client: EventBridgeClient;
  /** Name or ARN of the cluster bus. */
  eventBusName: string;
  /** Total tries per entry, first included. @default 4 */
  maxAttempts?: number;
  /** @default 100 */
  baseDelayMs?: number;
  /** @default 2000 */
  maxDelayMs?: number;
  /** Waits between retries. @default systemClock */
  clock?: Pick<Clock, 'sleep'>;
  random?: Random;
  logger?: Logger;
}

interface Wire {
  index: number;
  entry: PutEventsRequestEntry;
}

/** {@link BusPort} on EventBridge: batches of ≤ 10, only failed entries retried, bounded. */
export class EventBridgeBus implements BusPort {
  private readonly maxAttempts: number;
  private readonly clock: Pick<Clock, 'sleep'>;
  private readonly random: Random;
  private readonly log: Logger;

  constructor(private readonly props: EventBridgeBusProps) {
    this.maxAttempts = Math.max(1, props.maxAttempts ?? 4);
    this.clock = props.clock ?? systemClock;
    this.random = props.random ?? Math.random;
    this.log = props.logger ?? silentLogger;
  }

  async put(entries: BusEntry[]): Promise<PutResult> {
    // Validate every entry before sending any: a too-large entry fails the call, not half of it.
    const wire = entries.map((e, index) => this.toWire(e, index));
    const eventIds: (string | undefined)[] = entries.map(() => undefined);
    const failed = new Map<number, PutFailure>();
    let pending = wire;
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) {
        await this.clock.sleep(
          backoffDelayMs(
            attempt - 1,
            this.props.baseDelayMs ?? 100,
            this.props.maxDelayMs ?? 2000,
            this.random,
          ),
        );
      }
      const failures = new Map<number, PutFailure>();
      for (let i = 0; i < pending.length; i += PUT_EVENTS_MAX_BATCH) {
        await this.sendBatch(pending.slice(i, i + PUT_EVENTS_MAX_BATCH), eventIds, failures);
      }
      const retry: Wire[] = [];
      for (const w of pending) {
        const f = failures.get(w.index);
        if (!f) {
          failed.delete(w.index);
          continue;
        }
        failed.set(w.index, f);
        if (!PERMANENT_CODES.has(f.errorCode)) retry.push(w);
      }
      if (failures.size > 0) {
        this.log.warn('PutEvents entries failed', {
          attempt,
          maxAttempts: this.maxAttempts,
          failed: failures.size,
          retryable: retry.length,
          codes: [...new Set([...failures.values()].map((f) => f.errorCode))],
        });
      }
      pending = retry;
    }
    return { eventIds, failed: [...failed.values()].sort((a, b) => a.index - b.index) };
  }

  private toWire(e: BusEntry, index: number): Wire {
    const detail = typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail);
    const bytes = putEventsEntryBytes({
      source: e.source,
      detailType: e.detailType,
      detail,
      resources: e.resources,
    });
    if (bytes > PUT_EVENTS_MAX_ENTRY_BYTES) {
      throw new EventTooLargeError(e.source, e.detailType, bytes, PUT_EVENTS_MAX_ENTRY_BYTES);
    }
    return {
      index,
      entry: {
        EventBusName: this.props.eventBusName,
        Source: e.source,
        DetailType: e.detailType,
        Detail: detail,
        Resources: e.resources,
        Time: e.time,
      },
    };
  }

  private async sendBatch(
    batch: Wire[],
    eventIds: (string | undefined)[],
    failures: Map<number, PutFailure>,
  ): Promise<void> {
    try {
      const out = await this.props.client.send(new PutEventsCommand({ Entries: batch.map((w) => w.entry) }));
      const results = out.Entries ?? [];
      batch.forEach((w, i) => {
        const r = results[i];
        if (r?.EventId && !r.ErrorCode) {
          eventIds[w.index] = r.EventId;
        } else {
          failures.set(w.index, {
            index: w.index,
            errorCode: r?.ErrorCode ?? 'MissingResultEntry',
            errorMessage: r?.ErrorMessage ?? 'PutEvents returned no result for this entry',
          });
        }
      });
    } catch (err) {
      const errorCode = awsErrorCode(err);
      const message = errorMessage(err);
      for (const w of batch) failures.set(w.index, { index: w.index, errorCode, errorMessage: message });
    }
  }
}
