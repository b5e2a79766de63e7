import type { Random } from '../core/ports.js';

/**
 * "Full jitter" exponential backoff: a uniform delay in [0, min(cap, base · 2^(attempt-1))].
 * `attempt` counts from 1 (the delay before the second try).
 */
export function backoffDelayMs(attempt: number, baseMs: number, capMs: number, random: Random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
