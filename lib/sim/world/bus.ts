import { type BusEntry, type BusPort, EventTooLargeError, type PutResult } from '../../core/ports.js';
import { PUT_EVENTS_MAX_ENTRY_BYTES, putEventsEntryBytes } from '../../events/index.js';

/** An entry as the fake bus accepted it (detail always a string, as on the wire). */
export interface SentEvent {
  eventId: string;
  source: string;
  detailType: string;
  detail: string;
  resources: string[];
  time?: Date;
}

/**
 * In-memory {@link BusPort}: enforces the 256 KB entry limit like the adapter, records every
 * accepted entry, and can fail entries on demand (`failNext`) — failed entries are returned
 * in `failed`, exactly as the adapter does after its retries.
 */
export class FakeBus implements BusPort {
  readonly sent: SentEvent[] = [];
  private failures: { code: string; remaining: number }[] = [];
  private seq = 0;

  /** The next `n` entries offered to the bus fail with `code`. */
  failNext(n: number, code = 'InternalFailure'): void {
    this.failures.push({ code, remaining: n });
  }

  /** Accepted entries of one detail type, detail parsed. */
  detailsOf<T = unknown>(detailType: string): T[] {
    return this.sent.filter((e) => e.detailType === detailType).map((e) => JSON.parse(e.detail) as T);
  }

  async put(entries: BusEntry[]): Promise<PutResult> {
    const wire = entries.map((e) => ({
      source: e.source,
      detailType: e.detailType,
      detail: typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail),
      resources: e.resources ?? [],
      time: e.time,
    }));
    for (const w of wire) {
      const bytes = putEventsEntryBytes(w);
      if (bytes > PUT_EVENTS_MAX_ENTRY_BYTES) {
        throw new EventTooLargeError(w.source, w.detailType, bytes, PUT_EVENTS_MAX_ENTRY_BYTES);
      }
    }
    const result: PutResult = { eventIds: [], failed: [] };
    wire.forEach((w, index) => {
      const failure = this.failures.find((f) => f.remaining > 0);
      if (failure) {
        failure.remaining -= 1;
        result.eventIds.push(undefined);
        result.failed.push({ index, errorCode: failure.code, errorMessage: 'injected by FakeBus' });
        return;
      }
      this.seq += 1;
      const eventId = `fake-event-${this.seq}`;
      this.sent.push({ eventId, ...w });
      result.eventIds.push(eventId);
    });
    return result;
  }
}
