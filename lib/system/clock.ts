/**
 * The real clock: wall time and Node timers behind the one {@link Clock} interface
 * (lib/core/clock.ts). The only module that reads the wall clock for others; lib/core stays
 * pure, and every adapter's default clock is this one.
 */
import type { Clock } from '../core/clock.js';

/**
 * Real time: `Date.now()` and Node timers. A `setTimer` timer is unreferenced (it never keeps a
 * process alive on its own); a `sleep` keeps the process alive while it waits, as a plain
 * `setTimeout` promise does.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return () => clearTimeout(t);
  },
  sleep(ms, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};
