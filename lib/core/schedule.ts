import { CronExpressionParser } from 'cron-parser';
import type { Config, SchedulePolicy } from '../events/index.js';

/** The capacity bounds in force at one instant. */
export interface ActiveSchedule {
  /** Name of the policy in force, or null when the config has no schedules (or none fired yet). */
  name: string | null;
  minNodes: number;
  /** Always ≤ `limits.maxNodes`. */
  maxNodes: number;
  /** The policy's warm-pool size override; absent = `warmPool.size` applies. */
  warmPoolSize?: number;
}

/**
 * Memo of each policy's firing window: for `now` in [prev, next) the last firing is `prev`.
 * Keyed by cron + time zone; a pure cache (same answers), bounded in size.
 */
const windows = new Map<string, { prev: number | undefined; from: number; until: number }>();
const MAX_WINDOWS = 256;

/** Last firing of a policy at or before `now` (ms), or undefined if it never fired. */
function lastFiringMs(policy: SchedulePolicy, now: Date): number | undefined {
  const key = `${policy.timezone}|${policy.cron}`;
  const t = now.getTime();
  const w = windows.get(key);
  if (w && t >= w.from && t < w.until) return w.prev;
  const prev = lastFiringUncached(policy, now);
  let until = Number.POSITIVE_INFINITY;
  try {
    const expr = CronExpressionParser.parse(policy.cron, { currentDate: new Date(t), tz: policy.timezone });
    until = expr.next().getTime();
  } catch {
    until = t + 1;
  }
  if (windows.size >= MAX_WINDOWS) windows.clear();
  windows.set(key, { prev, from: prev ?? t, until });
  return prev;
}

function lastFiringUncached(policy: SchedulePolicy, now: Date): number | undefined {
  try {
    // prev() is strictly before currentDate; +1 ms makes a firing exactly at `now` count,
    // so a reconcile woken by the Scheduler at the boundary already sees the new policy.
    const expr = CronExpressionParser.parse(policy.cron, {
      currentDate: new Date(now.getTime() + 1),
      tz: policy.timezone,
    });
    return expr.prev().getTime();
  } catch {
    return undefined;
  }
}

/**
 * The policy whose last firing (cron in its IANA time zone) is the most recent at `now`.
 * A pure function of time, so Lambda, the simulator and `k3s-burst plan` agree.
 *
 * - No schedules, or none has fired yet: `{ name: null, minNodes: 0, maxNodes: limits.maxNodes }`.
 * - Two policies firing at the same instant: the one listed first in the config wins.
 * - `maxNodes` is clamped by `limits.maxNodes`, `minNodes` by that `maxNodes`.
 */
export function activeSchedule(config: Config, now: Date): ActiveSchedule {
  const cap = config.limits.maxNodes;
  let best: { policy: SchedulePolicy; at: number } | undefined;
  for (const policy of config.schedules) {
    const at = lastFiringMs(policy, now);
    if (at === undefined) continue;
    if (!best || at > best.at) best = { policy, at };
  }
  if (!best) return { name: null, minNodes: 0, maxNodes: cap };
  const maxNodes = Math.min(best.policy.maxNodes, cap);
  return {
    name: best.policy.name,
    minNodes: Math.min(best.policy.minNodes, maxNodes),
    maxNodes,
    ...(best.policy.warmPoolSize !== undefined ? { warmPoolSize: best.policy.warmPoolSize } : {}),
  };
}

/**
 * Every firing of every policy in `[from, to)`, sorted by time then policy order. The
 * simulator uses it to wake reconcile at each boundary, as EventBridge Scheduler does.
 */
export function scheduleBoundaries(
  config: Config,
  from: Date,
  to: Date,
): Array<{ at: Date; policy: string }> {
  const out: Array<{ at: number; order: number; policy: string }> = [];
  const end = to.getTime();
  config.schedules.forEach((policy, order) => {
    let expr: ReturnType<typeof CronExpressionParser.parse>;
    try {
      // next() is strictly after currentDate; −1 ms includes a firing exactly at `from`.
      expr = CronExpressionParser.parse(policy.cron, {
        currentDate: new Date(from.getTime() - 1),
        tz: policy.timezone,
      });
    } catch {
      return;
    }
    for (;;) {
      let at: number;
      try {
        at = expr.next().getTime();
      } catch {
        return;
      }
      if (at >= end) return;
      out.push({ at, order, policy: policy.name });
    }
  });
  out.sort((a, b) => a.at - b.at || a.order - b.order);
  return out.map((b) => ({ at: new Date(b.at), policy: b.policy }));
}
