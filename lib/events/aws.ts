import * as z from 'zod';
import { InstanceId, IsoTime } from './common.js';
import { DetailTypes, Sources } from './constants.js';
import { InstanceState } from './fleet.js';

/**
 * The EventBridge envelope as a Lambda target receives it. Tolerant on purpose: AWS's own
 * samples omit `version`, and EventBridge Scheduler's default notification sends `detail`
 * as the string "{}" (EventBridge User Guide: event structure; EventBridge Scheduler: templated targets).
 */
export const EventEnvelope = z.object({
  version: z.string().optional(),
  id: z.string().min(1),
  'detail-type': z.string().min(1),
  source: z.string().min(1),
  account: z.string().optional(),
  time: IsoTime,
  region: z.string().optional(),
  resources: z.array(z.string()).default([]),
  detail: z.unknown(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

export const Ec2SpotInterruptionDetail = z.object({
  'instance-id': InstanceId,
  'instance-action': z.enum(['hibernate', 'stop', 'terminate']),
});
export const Ec2RebalanceDetail = z.object({ 'instance-id': InstanceId });
export const Ec2StateChangeDetail = z.object({ 'instance-id': InstanceId, state: InstanceState });

/**
 * A scheduled invocation in any of the three shapes that reach a Lambda: a bare Scheduler
 * `Input` object, a scheduled-rule envelope (`detail: {}`), or a Scheduler default
 * notification (`detail: "{}"`).
 */
export const ScheduleInput = z.object({
  action: z.enum(['reconcile', 'janitor']).default('reconcile'),
  /** Which capacity policy's boundary fired this (informational). */
  policy: z.string().optional(),
  scheduledAt: z.string().optional(),
  attempt: z.string().optional(),
});
export type ScheduleInput = z.infer<typeof ScheduleInput>;

/** A scheduled event, whatever shape it arrived in. */
export interface ScheduledTick {
  kind: 'tick';
  action: 'reconcile' | 'janitor';
  policy?: string;
  /** When the tick was meant to fire; falls back to the envelope time. */
  at: string | undefined;
  /** Dedup key: envelope id, or schedule execution time + attempt for bare inputs. */
  id: string;
}

/** Parse any of the accepted scheduled-event shapes; undefined when the input is not one. */
export function parseScheduledTick(raw: unknown): ScheduledTick | undefined {
  const env = EventEnvelope.safeParse(raw);
  if (env.success) {
    const e = env.data;
    const isSchedule =
      e['detail-type'] === DetailTypes.scheduledEvent &&
      (e.source === Sources.scheduler || e.source === Sources.events);
    if (!isSchedule) return undefined;
    let detail: unknown = e.detail;
    if (typeof detail === 'string') {
      try {
        detail = detail.trim() === '' ? {} : JSON.parse(detail);
      } catch {
        return undefined;
      }
    }
    const input = ScheduleInput.safeParse(detail ?? {});
    if (!input.success) return undefined;
    return { kind: 'tick', action: input.data.action, policy: input.data.policy, at: e.time, id: e.id };
  }
  if (raw && typeof raw === 'object' && !('detail-type' in raw)) {
    const input = ScheduleInput.safeParse(raw);
    if (!input.success || !('action' in raw)) return undefined;
    const at = input.data.scheduledAt;
    return {
      kind: 'tick',
      action: input.data.action,
      policy: input.data.policy,
      at: at && !Number.isNaN(Date.parse(at)) ? at : undefined,
      id: `schedule:${input.data.policy ?? 'default'}:${at ?? 'unknown'}:${input.data.attempt ?? '1'}`,
    };
  }
  return undefined;
}
