/**
 * The operator's pause applied to a plan (`k3s-burst pause` / `resume`, docs/operations.md
 * "Emergency stop"). Pure: reconcile plans as usual, then this removes what a pause forbids,
 * so the planner stays unaware of it and the journaled plan says what was held back and why.
 */
import { fmtTime, plural } from '../core/format.js';
import type { Config, ManagedInstance, PauseState, Plan } from '../events/index.js';

/** What {@link applyPause} needs besides the plan. */
export interface PauseInput {
  plan: Plan;
  pause: PauseState | undefined;
  /** Managed instances EC2 lists (not terminated). */
  instances: readonly ManagedInstance[];
  /** Instance ids with a drain in progress already. */
  draining: ReadonlySet<string>;
  config: Config;
  now: Date;
}

export interface PausedPlan {
  plan: Plan;
  /** Instances the plan wanted to launch and the pause held back. */
  launchesHeld: number;
}

/**
 * Without a pause: the plan unchanged. With one: no launches at all (warm capacity, repairs
 * and pending pods alike), an explanation naming the pause; with `drain`, every managed
 * instance that is not draining or being terminated yet is drained too — a voluntary drain
 * through the agent (Eviction API, PDBs), with the usual `scaleIn.drainTimeoutSeconds`
 * deadline. Scale-in, terminations and node deletions the planner decided go ahead: they
 * only remove capacity.
 */
export function applyPause(input: PauseInput): PausedPlan {
  const { plan, pause, now } = input;
  if (!pause) return { plan, launchesHeld: 0 };
  const launchesHeld = plan.launches.reduce((n, l) => n + l.count, 0);
  const since = `paused since ${fmtTime(pause.since, now)} by ${pause.by}${pause.reason ? ` (${pause.reason})` : ''}`;
  const explanations: Plan['explanations'] = [
    {
      kind: 'clamp',
      subject: 'pause',
      message:
        launchesHeld > 0
          ? `${since}: held back ${plural(launchesHeld, 'launch', 'launches')} (run k3s-burst resume to allow launches again)`
          : `${since}: no launches while paused (run k3s-burst resume to allow launches again)`,
    },
  ];
  const drains = [...plan.drains];
  if (pause.drain) {
    const busy = new Set([
      ...input.draining,
      ...plan.drains.map((d) => d.instanceId),
      ...plan.terminations.map((t) => t.instanceId),
    ]);
    const deadline = new Date(now.getTime() + input.config.scaleIn.drainTimeoutSeconds * 1000).toISOString();
    for (const inst of input.instances) {
      if (busy.has(inst.instanceId) || (inst.state !== 'pending' && inst.state !== 'running')) continue;
      drains.push({
        nodeName: inst.nodeName,
        instanceId: inst.instanceId,
        deadline,
        reason: `drain ${inst.nodeName} (${inst.instanceType}) by ${fmtTime(deadline, now)}, then terminate: ${since} with --drain`,
      });
      explanations.push({
        kind: 'scale-in',
        subject: inst.nodeName,
        message: `drain ${inst.nodeName}: ${since} with --drain`,
      });
    }
  }
  return {
    plan: {
      ...plan,
      launches: [],
      drains,
      // Scale-out explanations describe launches that will not happen: replaced by the pause's.
      explanations: [...explanations, ...plan.explanations.filter((e) => e.kind !== 'scale-out')],
    },
    launchesHeld,
  };
}
