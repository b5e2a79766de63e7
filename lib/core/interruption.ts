/**
 * The interruption use-case's decisions, pure: when the drain of an interrupted (or at-risk)
 * instance must end, and whether a new drain supersedes the one already recorded.
 * `lib/control/interruption.ts` reads the fleet and the drain records, calls these, records
 * and emits (see its module comment for the whole flow).
 */
import type { DrainInProgress } from '../events/index.js';

/** AWS reclaims a spot instance this long after the warning's event time. */
export const SPOT_NOTICE_MS = 120_000;
/** The drain must end this long before the reclaim, so terminate can clean up first. */
export const SPOT_DRAIN_MARGIN_MS = 20_000;
/** A drain deadline is never closer than this to now (the agent needs a moment to start). */
export const MIN_DRAIN_MS = 10_000;

/** What {@link drainDeadline} needs of an interruption event. */
export interface InterruptionNotice {
  kind: 'spot-interruption' | 'rebalance';
  /** The EC2 event's time (ISO 8601): the reclaim is {@link SPOT_NOTICE_MS} after it. */
  time: string;
}

/**
 * The drain deadline: inside the two-minute notice (with {@link SPOT_DRAIN_MARGIN_MS} left for
 * terminate) for a spot warning, `drainTimeoutSeconds` from now for a rebalance
 * recommendation; never closer than {@link MIN_DRAIN_MS} to now.
 */
export function drainDeadline(notice: InterruptionNotice, now: Date, drainTimeoutSeconds: number): Date {
  const floor = now.getTime() + MIN_DRAIN_MS;
  if (notice.kind === 'spot-interruption') {
    return new Date(Math.max(floor, Date.parse(notice.time) + SPOT_NOTICE_MS - SPOT_DRAIN_MARGIN_MS));
  }
  return new Date(Math.max(floor, now.getTime() + drainTimeoutSeconds * 1000));
}

/** Whether to (re)request a drain, given the one already recorded for the instance. */
export interface InterruptionDrainDecision {
  /** Record (unless {@link sameAsRecorded}) and send `DrainNode`. */
  drainRequested: boolean;
  /** A redelivery of the drain already recorded: send it again, do not record it again. */
  sameAsRecorded: boolean;
}

/**
 * An involuntary drain supersedes a voluntary one and an abandoned one's hold (I9), and an
 * existing drain whose deadline is later; an earlier recorded deadline stands. The same drain
 * recorded by an earlier delivery of this event is sent again (the send may have failed).
 */
export function interruptionDrainDecision(
  existing: DrainInProgress | undefined,
  decisionId: string,
  deadline: Date,
): InterruptionDrainDecision {
  const sameAsRecorded =
    existing?.decisionId === decisionId && Date.parse(existing.deadline) === deadline.getTime();
  const drainRequested =
    !existing ||
    existing.disruption === 'voluntary' ||
    existing.abandonedAt !== undefined ||
    Date.parse(existing.deadline) > deadline.getTime() ||
    sameAsRecorded;
  return { drainRequested, sameAsRecorded };
}
