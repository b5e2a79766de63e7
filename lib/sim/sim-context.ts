/**
 * What the simulation's parts share: the virtual clock's timing constants, the agenda's event
 * kinds, and the context every world model is handed (the current virtual time, a way to put
 * an event on the agenda, the invariant checker's trace, the run's notes and counters). The
 * engine owns the agenda and implements the context; the cluster, cloud, workload and
 * control-plane observer models only read the time and schedule events through it, so the
 * order of events — and with it a seed's run — is the engine's alone.
 */
import type { Config } from '../events/index.js';
import type { TraceEvent } from './invariants.js';
import type { LambdaName } from './lambdas.js';
import type { PodTemplate } from './model.js';
import type { SimStats } from './results.js';
import type { Scenario } from './scenario.js';
import type { WorldEnvelope } from './world/routing-bus.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
/** The janitor (and a reconcile tick) runs every 5 minutes, as the stack schedules it. */
export const JANITOR_PERIOD_MS = 5 * MINUTE;
/** One reconcile Lambda run; reconcile has reserved concurrency 1 (single writer). */
export const RECONCILE_RUN_MS = 300;
/** One launch/terminate Lambda run. */
export const LAMBDA_RUN_MS = 800;
/** How long a kubelet may be silent before the node controller marks the node NotReady. */
export const NODE_MONITOR_GRACE_MS = 40_000;
/** Kubelet re-registration after connectivity returns. */
export const NODE_RECOVER_MS = 5_000;
export const SCHEDULER_DEBOUNCE_MS = 1_000;
export const AGENT_RESTART_MS = 20_000;
export const SAMPLE_MS = MINUTE;

/** The events on the simulation's agenda. */
export type Ev =
  | { k: 'pod-arrive'; template: PodTemplate; durationMs: number }
  | { k: 'pod-finish'; pod: string }
  | { k: 'pdb-status' }
  | { k: 'service-window'; template: PodTemplate; replicas: number; up: boolean }
  | { k: 'sched' }
  | { k: 'agent-timer'; id: number }
  | { k: 'agent-conn'; reason: string; on: boolean }
  | { k: 'agent-restart' }
  | { k: 'agent-up'; gen: number }
  | { k: 'invoke'; fn: LambdaName; event: unknown; attempt: number; withTick?: boolean }
  | { k: 'to-queue'; envelope: WorldEnvelope }
  | { k: 'tick' }
  | { k: 'boundary'; policy: string }
  | { k: 'boot'; id: string }
  | { k: 'join'; id: string }
  | { k: 'shutdown-done'; id: string }
  | { k: 'stop-done'; id: string }
  | { k: 'spot-warning'; id: string }
  | { k: 'spot-reclaim'; id: string }
  | { k: 'ts-outage'; on: boolean; agentAffected: boolean }
  | { k: 'node-not-ready'; node: string; gen: number }
  | { k: 'sample' };

/** The engine as the world models see it: time, the agenda, the trace, notes and counters. */
export interface SimContext {
  /** Virtual time, ms since the epoch. */
  readonly now: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly cfg: Config;
  readonly sc: Scenario;
  readonly stats: SimStats;
  /** Put an event on the agenda `delayMs` from now (rounded, never in the past). */
  at(delayMs: number, ev: Ev): void;
  /** Put an event on the agenda at an absolute virtual time. */
  atTime(atMs: number, ev: Ev): void;
  /** Report ground truth to the invariant checker. */
  trace(e: TraceEvent): void;
  /** A notable event for the report (also traced). */
  note(text: string): void;
}

/** Trace an action on a node or instance (I2, I6, I9 judge these). */
export function traceNodeAction(
  ctx: SimContext,
  action: 'cordon' | 'uncordon' | 'drain-requested' | 'evict' | 'delete-node' | 'terminate',
  target: string,
  onPrem: boolean,
): void {
  ctx.trace({ kind: 'node-action', atMs: ctx.now, action, target, onPrem });
}

/** Always with milliseconds, so that ISO strings compare in time order. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
