/**
 * `k3s-burst pause` / `resume`: the emergency stop without a redeploy. The pause is one item
 * in the state table that reconcile reads under its lease (lib/control/pause.ts), so launches
 * stop from the next reconcile on; schedules and limits are untouched. Each pause and resume
 * is also journaled as a decision, so `status` and the journal show who stopped bursting,
 * when and why.
 */
import { DynamoState } from '../aws/state.js';
import { decisionIdFor } from '../core/ids.js';
import type { StatePort } from '../core/ports.js';
import { activeSchedule } from '../core/schedule.js';
import {
  type Config,
  PAUSE_REASON_MAX_CHARS,
  type PauseState,
  type Plan,
  SCHEMA_VERSION,
} from '../events/index.js';
import type { OpsClients } from './context.js';
import { findDeployment, required, stackNameFor } from './deployment.js';
import { OpsUsageError } from './errors.js';

/** Journal entries of pause/resume live as long as reconcile decisions (7 days). */
const AUDIT_TTL_SECONDS = 7 * 24 * 3600;

/** Trigger names of the audit entries in the decision journal. */
export const PauseTriggers = { pause: 'pause', resume: 'resume' } as const;

/**
 * An operator's `--reason`: printable, at most {@link PAUSE_REASON_MAX_CHARS} characters.
 *
 * @throws OpsUsageError naming the flag and the limit
 */
export function checkReason(reason: string | undefined): string {
  const r = (reason ?? '').trim();
  const control = /\p{Cc}/u.test(r);
  if (r.length > PAUSE_REASON_MAX_CHARS || control) {
    throw new OpsUsageError(
      `--reason must be at most ${PAUSE_REASON_MAX_CHARS} printable characters on one line (got ${r.length} characters${control ? ' with control characters' : ''})`,
    );
  }
  return r;
}

/** A journal entry that records a pause or resume (no commands: nothing is emitted for it). */
export function auditPlan(config: Config, trigger: string, at: Date, message: string): Plan {
  const schedule = activeSchedule(config, at);
  return {
    schemaVersion: SCHEMA_VERSION,
    cluster: config.cluster.name,
    decisionId: decisionIdFor(config.cluster.name, `${trigger}:${at.toISOString()}`),
    decidedAt: at.toISOString(),
    snapshotSeq: null,
    activeSchedule: { name: schedule.name, minNodes: schedule.minNodes, maxNodes: schedule.maxNodes },
    agentStale: false,
    launches: [],
    drains: [],
    terminations: [],
    nodeDeletions: [],
    unhelpable: [],
    explanations: [{ kind: 'clamp', subject: 'pause', message }],
  };
}

export interface PauseOutcome {
  /** The pause now in force (pause) or the one removed (resume; undefined when none was set). */
  pause: PauseState | undefined;
  /** The previous pause that `pause` replaced. */
  replaced?: PauseState;
  decisionId: string;
}

/** Set the pause and journal it. */
export async function pauseCluster(
  state: StatePort,
  config: Config,
  p: { at: Date; drain: boolean; by: string; reason: string },
): Promise<PauseOutcome> {
  const cluster = config.cluster.name;
  const replaced = await state.getPause(cluster);
  const pause: PauseState = { since: p.at.toISOString(), drain: p.drain, by: p.by, reason: p.reason };
  await state.setPause(cluster, pause);
  const what = p.drain
    ? 'no launches, and every managed node is drained (voluntary: PDBs hold) then terminated'
    : 'no launches; running nodes stay until scale-in removes them';
  const plan = auditPlan(
    config,
    PauseTriggers.pause,
    p.at,
    `paused by ${p.by}${p.reason ? ` (${p.reason})` : ''}: ${what}, from the next reconcile until k3s-burst resume`,
  );
  await state.journalDecision({ plan, trigger: PauseTriggers.pause }, AUDIT_TTL_SECONDS);
  return { pause, ...(replaced ? { replaced } : {}), decisionId: plan.decisionId };
}

/** Clear the pause and journal it (also when none was set: the attempt is worth recording). */
export async function resumeCluster(
  state: StatePort,
  config: Config,
  p: { at: Date; by: string; reason: string },
): Promise<PauseOutcome> {
  const was = await state.clearPause(config.cluster.name);
  const plan = auditPlan(
    config,
    PauseTriggers.resume,
    p.at,
    was
      ? `resumed by ${p.by}${p.reason ? ` (${p.reason})` : ''}: launches allowed again from the next reconcile (paused since ${was.since} by ${was.by})`
      : `resume by ${p.by}${p.reason ? ` (${p.reason})` : ''}: the cluster was not paused, nothing changed`,
  );
  await state.journalDecision({ plan, trigger: PauseTriggers.resume }, AUDIT_TTL_SECONDS);
  return { pause: was, decisionId: plan.decisionId };
}

/** The state table of the cluster's deployed stack. */
export async function deployedState(
  clients: OpsClients,
  config: Config,
  region: string,
): Promise<DynamoState> {
  const deployment = await findDeployment(clients.cfn, stackNameFor(config.cluster.name), region);
  const tableName = required(deployment, deployment.tableName, 'DynamoDB state table');
  return new DynamoState({ client: clients.dynamo, tableName });
}
