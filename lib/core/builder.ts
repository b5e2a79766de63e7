import type {
  Explanation,
  PlannedDrain,
  PlannedLaunch,
  PlannedNodeDeletion,
  PlannedTermination,
  PodAnswer,
  UnhelpableShape,
} from '../events/index.js';

type Kind = Explanation['kind'];

/**
 * Accumulates a plan while the rules run. Terminations and drains are keyed by instance so a
 * later rule cannot act twice on one instance; the first reason wins (rules run in priority
 * order: abandon, drain completion, repairs, schedule, scale-in).
 */
export class PlanBuilder {
  readonly launches: PlannedLaunch[] = [];
  readonly drains = new Map<string, PlannedDrain>();
  readonly terminations = new Map<string, PlannedTermination>();
  readonly nodeDeletions = new Map<string, PlannedNodeDeletion>();
  readonly unhelpable: UnhelpableShape[] = [];
  /** Every pending pod's answer (scale-out fills it). */
  readonly podAnswers: PodAnswer[] = [];
  readonly explanations: Explanation[] = [];

  explain(kind: Kind, message: string, subject?: string): void {
    this.explanations.push(subject === undefined ? { kind, message } : { kind, subject, message });
  }

  /** Instance ids this plan removes (terminate or drain). */
  isRemoving(instanceId: string): boolean {
    return this.terminations.has(instanceId) || this.drains.has(instanceId);
  }

  terminate(t: PlannedTermination, kind: Kind): boolean {
    if (this.terminations.has(t.instanceId)) return false;
    this.drains.delete(t.instanceId);
    this.terminations.set(t.instanceId, t);
    this.explain(kind, t.reason, t.nodeName ?? t.instanceId);
    return true;
  }

  drain(d: PlannedDrain, kind: Kind): boolean {
    if (this.isRemoving(d.instanceId)) return false;
    this.drains.set(d.instanceId, d);
    this.explain(kind, d.reason, d.nodeName);
    return true;
  }

  deleteNode(d: PlannedNodeDeletion): void {
    if (this.nodeDeletions.has(d.nodeName)) return;
    this.nodeDeletions.set(d.nodeName, d);
    this.explain('repair', d.reason, d.nodeName);
  }
}
