/**
 * Edge parsing: every raw Lambda event is turned into a typed input with zod, or refused
 * with a reason. Foreign (other cluster), unknown (wrong source / detail-type) and invalid
 * (bad detail) events are all refusals; nothing downstream ever sees them.
 */

import type { z } from 'zod';
import { launchKeyFor } from '../core/ids.js';
import {
  type ClusterSnapshot,
  DECIDING_SOURCES,
  DetailTypes,
  decodeSnapshotDetail,
  Ec2RebalanceDetail,
  Ec2SpotInterruptionDetail,
  Ec2StateChangeDetail,
  EventEnvelope,
  type InstanceState,
  NodeDrained,
  parseScheduledTick,
  ReconcileRequested,
  ScaleOutRequested,
  type ScheduledTick,
  Sources,
  TerminateRequested,
  ValidationError,
} from '../events/index.js';

export type Parsed<T> = { ok: true; input: T } | { ok: false; reason: string };

function zodReason(what: string, error: z.ZodError): string {
  const issues = error.issues
    .slice(0, 3)
    .map((i) => `${['$', ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ');
  return `${what} is invalid: ${issues}`;
}

function envelopeOf(raw: unknown): Parsed<EventEnvelope> {
  const env = EventEnvelope.safeParse(raw);
  if (!env.success) return { ok: false, reason: zodReason('event envelope', env.error) };
  return { ok: true, input: env.data };
}

function foreign(cluster: string, expected: string): string {
  return `event for cluster "${cluster.slice(0, 64)}", this function serves "${expected}"`;
}

// ───────────────────────── reconcile ─────────────────────────

export type ReconcileInput =
  | {
      kind: 'snapshot';
      eventId: string;
      snapshot: ClusterSnapshot;
      /** The envelope's `time`: when EventBridge received the snapshot (the agent does not set it). */
      busTime: string;
    }
  | { kind: 'tick'; eventId: string; tick: ScheduledTick }
  | { kind: 'ec2-state'; eventId: string; instanceId: string; state: InstanceState; time: string }
  /** An interruption was recorded; the replacement is decided here, under the lease (I11). */
  | { kind: 'requested'; eventId: string; request: ReconcileRequested };

/** ClusterSnapshot envelopes (plain or gzip wire form), reconcile ticks (3 shapes), EC2 state changes. */
export function parseReconcileEvent(raw: unknown, cluster: string): Parsed<ReconcileInput> {
  const tick = parseScheduledTick(raw);
  if (tick) {
    if (tick.action !== 'reconcile') {
      return { ok: false, reason: `a "${tick.action}" tick is not for the reconcile function` };
    }
    return { ok: true, input: { kind: 'tick', eventId: tick.id, tick } };
  }
  const env = envelopeOf(raw);
  if (!env.ok) return env;
  const e = env.input;
  if (e.source === Sources.agent && e['detail-type'] === DetailTypes.clusterSnapshot) {
    let snapshot: ClusterSnapshot;
    try {
      snapshot = decodeSnapshotDetail(e.detail);
    } catch (err) {
      if (err instanceof ValidationError) {
        return { ok: false, reason: err.message.split('\n').slice(0, 4).join(' ').slice(0, 500) };
      }
      throw err;
    }
    if (snapshot.cluster !== cluster) return { ok: false, reason: foreign(snapshot.cluster, cluster) };
    return { ok: true, input: { kind: 'snapshot', eventId: e.id, snapshot, busTime: e.time } };
  }
  if (e.source === Sources.ec2 && e['detail-type'] === DetailTypes.ec2StateChange) {
    const d = Ec2StateChangeDetail.safeParse(e.detail);
    if (!d.success) return { ok: false, reason: zodReason('EC2 state-change detail', d.error) };
    return {
      ok: true,
      input: {
        kind: 'ec2-state',
        eventId: e.id,
        instanceId: d.data['instance-id'],
        state: d.data.state,
        time: e.time,
      },
    };
  }
  if (e.source === Sources.interruption && e['detail-type'] === DetailTypes.reconcileRequested) {
    const d = ReconcileRequested.safeParse(e.detail);
    if (!d.success) return { ok: false, reason: zodReason('ReconcileRequested detail', d.error) };
    if (d.data.cluster !== cluster) return { ok: false, reason: foreign(d.data.cluster, cluster) };
    return { ok: true, input: { kind: 'requested', eventId: e.id, request: d.data } };
  }
  return { ok: false, reason: `reconcile does not handle ${e.source} / ${e['detail-type']}` };
}

// ───────────────────────── launch ─────────────────────────

export interface LaunchInput {
  eventId: string;
  request: ScaleOutRequested;
}

/** Longest launchId for which `${launchId}-${index}` stays a valid ClientToken (≤ 64) for 3-digit indexes. */
export const MAX_LAUNCH_ID_LENGTH = 60;

export function parseLaunchEvent(raw: unknown, cluster: string): Parsed<LaunchInput> {
  const env = envelopeOf(raw);
  if (!env.ok) return env;
  const e = env.input;
  if (e['detail-type'] === DetailTypes.scaleOutRequested && !DECIDING_SOURCES.includes(e.source)) {
    return {
      ok: false,
      reason: `ScaleOutRequested from "${e.source.slice(0, 64)}" refused: only ${DECIDING_SOURCES.join(' and ')} decide launches`,
    };
  }
  if (e['detail-type'] !== DetailTypes.scaleOutRequested) {
    return { ok: false, reason: `launch does not handle ${e.source} / ${e['detail-type']}` };
  }
  const d = ScaleOutRequested.safeParse(e.detail);
  if (!d.success) return { ok: false, reason: zodReason('ScaleOutRequested detail', d.error) };
  if (d.data.cluster !== cluster) return { ok: false, reason: foreign(d.data.cluster, cluster) };
  const l = d.data.launch;
  if (l.launchId.length > MAX_LAUNCH_ID_LENGTH || launchKeyFor(l.launchId, l.count - 1).length > 64) {
    return { ok: false, reason: `launchId "${l.launchId.slice(0, 80)}" is too long for an EC2 ClientToken` };
  }
  if (!/^[\x21-\x7e]+$/.test(l.launchId)) {
    return { ok: false, reason: 'launchId must be printable ASCII without spaces' };
  }
  if (l.count > 100) return { ok: false, reason: `count ${l.count} is over the 100 a launch may ask for` };
  return { ok: true, input: { eventId: e.id, request: d.data } };
}

// ───────────────────────── terminate ─────────────────────────

export type TerminateInput =
  | { kind: 'terminate-requested'; eventId: string; request: TerminateRequested }
  | { kind: 'node-drained'; eventId: string; drained: NodeDrained };

export function parseTerminateEvent(raw: unknown, cluster: string): Parsed<TerminateInput> {
  const env = envelopeOf(raw);
  if (!env.ok) return env;
  const e = env.input;
  // I12: only the decider asks for terminations (the other functions never emit this type), so a
  // request from any other source — even one of ours — is refused, as the stack's rule does.
  if (e['detail-type'] === DetailTypes.terminateRequested) {
    if (!DECIDING_SOURCES.includes(e.source)) {
      return {
        ok: false,
        reason: `TerminateRequested from "${e.source}" is refused: only ${DECIDING_SOURCES.join(', ')} decides terminations`,
      };
    }
    const d = TerminateRequested.safeParse(e.detail);
    if (!d.success) return { ok: false, reason: zodReason('TerminateRequested detail', d.error) };
    if (d.data.cluster !== cluster) return { ok: false, reason: foreign(d.data.cluster, cluster) };
    return { ok: true, input: { kind: 'terminate-requested', eventId: e.id, request: d.data } };
  }
  if (e.source === Sources.agent && e['detail-type'] === DetailTypes.nodeDrained) {
    const d = NodeDrained.safeParse(e.detail);
    if (!d.success) return { ok: false, reason: zodReason('NodeDrained detail', d.error) };
    if (d.data.cluster !== cluster) return { ok: false, reason: foreign(d.data.cluster, cluster) };
    return { ok: true, input: { kind: 'node-drained', eventId: e.id, drained: d.data } };
  }
  return { ok: false, reason: `terminate does not handle ${e.source} / ${e['detail-type']}` };
}

// ───────────────────────── janitor ─────────────────────────

export interface JanitorInput {
  tick: ScheduledTick;
}

export function parseJanitorEvent(raw: unknown): Parsed<JanitorInput> {
  const tick = parseScheduledTick(raw);
  if (!tick) return { ok: false, reason: 'janitor only runs on scheduled ticks (action "janitor")' };
  if (tick.action !== 'janitor') {
    return { ok: false, reason: `a "${tick.action}" tick is not for the janitor function` };
  }
  return { ok: true, input: { tick } };
}

// ───────────────────────── interruption ─────────────────────────

export type InterruptionInput =
  | {
      kind: 'spot-interruption';
      eventId: string;
      instanceId: string;
      action: 'hibernate' | 'stop' | 'terminate';
      time: string;
    }
  | { kind: 'rebalance'; eventId: string; instanceId: string; time: string };

export function parseInterruptionEvent(raw: unknown): Parsed<InterruptionInput> {
  const env = envelopeOf(raw);
  if (!env.ok) return env;
  const e = env.input;
  if (e.source !== Sources.ec2) {
    return { ok: false, reason: `interruption does not handle ${e.source} / ${e['detail-type']}` };
  }
  if (e['detail-type'] === DetailTypes.ec2SpotInterruption) {
    const d = Ec2SpotInterruptionDetail.safeParse(e.detail);
    if (!d.success) return { ok: false, reason: zodReason('spot interruption detail', d.error) };
    return {
      ok: true,
      input: {
        kind: 'spot-interruption',
        eventId: e.id,
        instanceId: d.data['instance-id'],
        action: d.data['instance-action'],
        time: e.time,
      },
    };
  }
  if (e['detail-type'] === DetailTypes.ec2Rebalance) {
    const d = Ec2RebalanceDetail.safeParse(e.detail);
    if (!d.success) return { ok: false, reason: zodReason('rebalance detail', d.error) };
    return {
      ok: true,
      input: { kind: 'rebalance', eventId: e.id, instanceId: d.data['instance-id'], time: e.time },
    };
  }
  return { ok: false, reason: `interruption does not handle ${e.source} / ${e['detail-type']}` };
}
