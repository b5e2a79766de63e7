/**
 * What a reconcile decision becomes, pure: its trigger string (→ the decision id), the
 * in-flight records of its launches, and the bus entries that carry it out. lib/control's
 * reconcile decides with `planCluster`, then journals, records and emits what these return.
 */
import {
  DetailTypes,
  type InFlightLaunch,
  type Plan,
  type PlannedLaunch,
  SCHEMA_VERSION,
  Sources,
} from '../events/index.js';
import type { BusEntry } from './ports.js';

/** What {@link triggerOf} reads of a reconcile input (lib/control/inputs.ts `ReconcileInput`). */
export type TriggerInput =
  | { kind: 'snapshot'; snapshot: { seq: number } }
  | { kind: 'tick'; tick: { id: string } }
  | { kind: 'ec2-state'; instanceId: string; state: string; time: string }
  | { kind: 'requested'; request: { instanceId: string; requestedAt: string } };

/** The deterministic trigger string of an input (→ decision id). */
export function triggerOf(input: TriggerInput): string {
  switch (input.kind) {
    case 'snapshot':
      return `snapshot:${input.snapshot.seq}`;
    case 'tick':
      return `tick:${input.tick.id}`;
    case 'ec2-state':
      return `ec2:${input.instanceId}:${input.state}:${input.time}`;
    case 'requested':
      return `interruption:${input.request.instanceId}:${input.request.requestedAt}`;
  }
}

/** The kind of trigger, as decision records and logs name it. */
export function triggerKind(input: TriggerInput): string {
  if (input.kind === 'requested') return 'interruption';
  return input.kind === 'ec2-state' ? 'ec2-state-change' : input.kind;
}

/**
 * The in-flight record of one planned launch: from `decidedAt` until the TTL it counts as
 * capacity, so a second trigger does not launch again before the instances are listed.
 */
export function inFlightRecord(
  decisionId: string,
  launch: PlannedLaunch,
  decidedAt: Date,
  ttlSeconds: number,
): InFlightLaunch {
  return {
    decisionId,
    launchId: launch.launchId,
    decidedAt: decidedAt.toISOString(),
    expiresAt: new Date(decidedAt.getTime() + ttlSeconds * 1000).toISOString(),
    instanceType: launch.instanceTypes[0] as string,
    count: launch.count,
    capacityType: launch.capacityTypes[0] as InFlightLaunch['capacityType'],
    shapeIds: launch.shapeIds,
    instanceTypes: [...launch.instanceTypes],
    capacityTypes: [...launch.capacityTypes],
    ...(launch.warmPool ? { warmPool: true } : {}),
  };
}

/** In-flight records of a plan's launches (capacity from the moment of the decision). */
export function inFlightOf(plan: Plan, decidedAt: Date, ttlSeconds: number): InFlightLaunch[] {
  return plan.launches.map((l) => inFlightRecord(plan.decisionId, l, decidedAt, ttlSeconds));
}

/** The bus entries of a plan: launches, drains, terminations, node deletions, then the summary. */
export function entriesOf(plan: Plan, trigger: string, now: Date): BusEntry[] {
  const src = Sources.reconcile;
  const at = now.toISOString();
  const base = { schemaVersion: SCHEMA_VERSION, cluster: plan.cluster };
  const entries: BusEntry[] = [];
  for (const launch of plan.launches) {
    entries.push({
      source: src,
      detailType: DetailTypes.scaleOutRequested,
      // The decision time, also on a replay: launch refuses requests older than their
      // in-flight record, and the record's expiry derives from the same instant.
      detail: { ...base, decisionId: plan.decisionId, launch, requestedAt: plan.decidedAt },
    });
  }
  for (const d of plan.drains) {
    entries.push({
      source: src,
      detailType: DetailTypes.drainNode,
      detail: {
        ...base,
        decisionId: plan.decisionId,
        nodeName: d.nodeName,
        instanceId: d.instanceId,
        reason: d.reason,
        deadline: d.deadline,
        ...(d.disruption ? { disruption: d.disruption } : {}),
      },
    });
  }
  for (const t of plan.terminations) {
    entries.push({
      source: src,
      detailType: DetailTypes.terminateRequested,
      detail: {
        ...base,
        decisionId: plan.decisionId,
        instanceId: t.instanceId,
        ...(t.nodeName ? { nodeName: t.nodeName } : {}),
        reason: t.reason,
        requestedAt: at,
      },
    });
  }
  for (const n of plan.nodeDeletions) {
    entries.push({
      source: src,
      detailType: DetailTypes.deleteNode,
      detail: { ...base, nodeName: n.nodeName, reason: n.reason },
    });
  }
  const acts = entries.length > 0;
  // Pods the decision did not launch for (held, unhelpable, expendable, fitting elsewhere): their answers become pod Events.
  const answers = (plan.podAnswers ?? []).filter((a) => a.kind !== 'launched-for');
  if (acts || plan.unhelpable.length > 0 || answers.length > 0) {
    entries.push({
      source: src,
      detailType: DetailTypes.decisionRecorded,
      detail: {
        ...base,
        decisionId: plan.decisionId,
        decidedAt: plan.decidedAt,
        trigger,
        snapshotSeq: plan.snapshotSeq,
        launches: plan.launches.reduce((a, l) => a + l.count, 0),
        drains: plan.drains.length,
        terminations: plan.terminations.length,
        unhelpablePods: plan.unhelpable.reduce((a, u) => a + u.count, 0),
        // Bounded so the entry stays far below the 256 KB PutEvents limit.
        explanations: plan.explanations
          .filter((e) => e.kind !== 'noop')
          .slice(0, 50)
          .map((e) => ({ ...e, message: e.message.slice(0, 500) })),
        ...(answers.length > 0
          ? {
              podAnswers: answers.slice(0, 100).map((a) => ({
                ...a,
                message: a.message.slice(0, 300),
                examplePods: a.examplePods.slice(0, 1),
              })),
            }
          : {}),
      },
    });
  }
  return entries;
}
