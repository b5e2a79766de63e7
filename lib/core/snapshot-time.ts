/**
 * Time of agent snapshots as the receiver sees it (invariant I12, docs/architecture.md). The agent's clock (a Pi,
 * often without a real-time clock) is not trusted: a snapshot's age is measured from when
 * the control plane RECEIVED it, by the Lambda's clock, and a snapshot dated more than
 * {@link MAX_AGENT_CLOCK_SKEW_SECONDS} in the future is rejected. Pure.
 */
import { type ClusterSnapshot, MAX_AGENT_CLOCK_SKEW_SECONDS } from '../events/index.js';

/** Seconds since `receivedAt`, by the receiver's clock `now` (0 for a receive time ahead of now). */
export function receivedAgeSeconds(receivedAt: string, now: Date): number {
  return Math.max(0, (now.getTime() - Date.parse(receivedAt)) / 1000);
}

/**
 * Why a snapshot is future-dated at `now` (its `observedAt` or its `seq`, the agent's clock in
 * ms, more than the allowed skew ahead), or undefined when it is not.
 */
export function futureDated(
  snapshot: ClusterSnapshot,
  now: Date,
): { skewSeconds: number; reason: string } | undefined {
  const limitMs = MAX_AGENT_CLOCK_SKEW_SECONDS * 1000;
  const skewMs = Date.parse(snapshot.observedAt) - now.getTime();
  if (skewMs > limitMs) {
    return {
      skewSeconds: Math.round(skewMs / 1000),
      reason: `snapshot seq ${snapshot.seq} is dated ${snapshot.observedAt}, ${Math.round(skewMs / 1000)} s ahead of the control plane's clock (at most ${MAX_AGENT_CLOCK_SKEW_SECONDS} s allowed): fix the Pi's clock (timedatectl status; enable NTP)`,
    };
  }
  const seqAheadMs = snapshot.seq - now.getTime();
  if (seqAheadMs > limitMs) {
    return {
      skewSeconds: Math.round(seqAheadMs / 1000),
      reason: `snapshot seq ${snapshot.seq} (the agent's clock in ms) is ${Math.round(seqAheadMs / 1000)} s ahead of the control plane's clock (at most ${MAX_AGENT_CLOCK_SKEW_SECONDS} s allowed): the agent's clock ran ahead; restart the agent after fixing the Pi's clock`,
    };
  }
  return undefined;
}
