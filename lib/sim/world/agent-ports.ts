/**
 * In-memory fakes of the agent's AWS ports, with the behaviour that matters: PutEvents partial
 * failures and the 256 KB entry limit; SQS visibility timeouts, receive counts, redelivery and
 * redrive to a dead-letter queue after `maxReceiveCount`.
 */

import type { BusEntry, CommandQueuePort, EventBusPort, PutResult, QueueMessage } from '../../agent/ports.js';
import type { Clock } from '../../core/clock.js';
import { PUT_EVENTS_MAX_ENTRY_BYTES, putEventsEntryBytes } from '../../events/index.js';
import { systemClock } from '../../system/clock.js';

export class FakeEventBus implements EventBusPort {
  readonly accepted: BusEntry[] = [];
  calls = 0;
  /** Fail this many upcoming entries with `InternalFailure` (partial failure). */
  failNextEntries = 0;
  /** Throw on this many upcoming calls (whole-call failure). */
  failNextCalls = 0;

  async putEvents(entries: BusEntry[]): Promise<PutResult[]> {
    this.calls++;
    if (this.failNextCalls > 0) {
      this.failNextCalls--;
      throw new Error('fake EventBridge: ServiceUnavailable');
    }
    return entries.map((e, i): PutResult => {
      const bytes = putEventsEntryBytes({ source: e.source, detailType: e.detailType, detail: e.detail });
      if (bytes > PUT_EVENTS_MAX_ENTRY_BYTES)
        return {
          ok: false,
          errorCode: 'ValidationException',
          errorMessage: `entry ${bytes} bytes exceeds 256 KB`,
        };
      if (this.failNextEntries > 0) {
        this.failNextEntries--;
        return { ok: false, errorCode: 'InternalFailure', errorMessage: 'fake partial failure' };
      }
      this.accepted.push(e);
      return { ok: true, eventId: `evt-${this.calls}-${i}` };
    });
  }

  /** Accepted entries of one detail-type, with `detail` parsed. */
  ofType<T = Record<string, unknown>>(detailType: string): T[] {
    return this.accepted.filter((e) => e.detailType === detailType).map((e) => JSON.parse(e.detail) as T);
  }
}

interface StoredMessage {
  messageId: string;
  body: string;
  receiveCount: number;
  visibleAt: number;
  receipt?: string;
}

export class FakeQueue implements CommandQueuePort {
  private messages: StoredMessage[] = [];
  readonly deadLetters: StoredMessage[] = [];
  readonly deleted: string[] = [];
  readonly visibilityChanges: { messageId: string; seconds: number }[] = [];
  private waiters: (() => void)[] = [];
  private seq = 0;

  constructor(private readonly opts: { clock?: Clock; maxReceiveCount?: number } = {}) {}

  private get clock(): Clock {
    return this.opts.clock ?? systemClock;
  }

  /** Enqueue a message body (e.g. an EventBridge envelope as JSON). Returns its id. */
  send(body: string, messageId = `msg-${++this.seq}`): string {
    this.messages.push({ messageId, body, receiveCount: 0, visibleAt: 0 });
    for (const w of this.waiters.splice(0)) w();
    return messageId;
  }

  /** Make every in-flight message visible again now (as if its visibility timeout ran out). */
  expireVisibility(): void {
    for (const m of this.messages) m.visibleAt = 0;
    for (const w of this.waiters.splice(0)) w();
  }

  get size(): number {
    return this.messages.length;
  }

  async receive(o: {
    maxMessages: number;
    waitSeconds: number;
    visibilitySeconds: number;
    signal: AbortSignal;
  }): Promise<QueueMessage[]> {
    const deadline = this.clock.now() + o.waitSeconds * 1000;
    for (;;) {
      const now = this.clock.now();
      const out: QueueMessage[] = [];
      for (const m of [...this.messages]) {
        if (out.length >= o.maxMessages) break;
        if (m.visibleAt > now) continue;
        if (this.opts.maxReceiveCount !== undefined && m.receiveCount >= this.opts.maxReceiveCount) {
          this.messages = this.messages.filter((x) => x !== m);
          this.deadLetters.push(m);
          continue;
        }
        m.receiveCount++;
        m.visibleAt = now + o.visibilitySeconds * 1000;
        m.receipt = `${m.messageId}#${m.receiveCount}`;
        out.push({
          messageId: m.messageId,
          receiptHandle: m.receipt,
          body: m.body,
          receiveCount: m.receiveCount,
        });
      }
      if (out.length > 0 || o.signal.aborted || this.clock.now() >= deadline) return out;
      const nextVisible = Math.min(
        deadline,
        ...this.messages.map((m) => (m.visibleAt > now ? m.visibleAt : deadline)),
      );
      await new Promise<void>((resolve) => {
        // The listener is removed on every wake: a long-lived consumer signal must not collect
        // one per poll. The wait is a plain timer, cancelled on an earlier wake (no
        // AbortController per poll: this runs every 20 s of simulated time).
        let cancel: (() => void) | undefined;
        const wake = () => {
          o.signal.removeEventListener('abort', wake);
          cancel?.();
          resolve();
        };
        this.waiters.push(wake);
        o.signal.addEventListener('abort', wake, { once: true });
        cancel = this.clock.setTimer(wake, Math.max(1, nextVisible - now));
      });
    }
  }

  async delete(receiptHandle: string): Promise<void> {
    // Like SQS: only the latest receipt handle of a message deletes it.
    const m = this.messages.find((x) => x.receipt === receiptHandle);
    if (!m) return;
    this.messages = this.messages.filter((x) => x !== m);
    this.deleted.push(m.messageId);
  }

  async changeVisibility(receiptHandle: string, visibilitySeconds: number): Promise<void> {
    const m = this.messages.find((x) => x.receipt === receiptHandle);
    if (!m) throw new Error(`fake SQS: receipt handle ${receiptHandle} is not current`);
    m.visibleAt = this.clock.now() + visibilitySeconds * 1000;
    this.visibilityChanges.push({ messageId: m.messageId, seconds: visibilitySeconds });
  }
}
