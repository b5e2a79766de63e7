/**
 * A {@link Clock} that only moves when told to, for unit tests: batching, heartbeats, backoff,
 * leases and drain deadlines are tested without real timers.
 */
import type { Clock } from '../../lib/core/clock.js';

interface Pending {
  at: number;
  order: number;
  fn: () => void;
}

/** A clock that only moves when told to. Timers fire in time order during `advance`. */
export class ManualClock implements Clock {
  private current: number;
  private timers: Pending[] = [];
  private order = 0;

  constructor(start = Date.parse('2026-03-14T09:00:00Z')) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const t: Pending = { at: this.current + Math.max(0, ms), order: this.order++, fn };
    this.timers.push(t);
    return () => {
      this.timers = this.timers.filter((x) => x !== t);
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const cancel = this.setTimer(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        cancel();
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Number of timers waiting. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /**
   * Move time forward by `ms`, firing due timers in order and letting promise continuations
   * run between them (so code awaiting a sleep can schedule the next one).
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      await flushMicrotasks();
      const next = this.timers
        .filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = next.at;
      next.fn();
    }
    this.current = target;
    await flushMicrotasks();
  }
}

/** Let pending promise callbacks (and I/O-free async chains) settle. */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
