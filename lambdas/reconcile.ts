/**
 * reconcile: ClusterSnapshot (agent), reconcile ticks (Scheduler) and EC2 state changes →
 * one decision under the single-writer lease → ScaleOutRequested / DrainNode /
 * TerminateRequested / DeleteNode / DecisionRecorded on the bus. See lib/control/reconcile.ts.
 */
import { parseReconcileEvent } from '../lib/control/inputs.js';
import { reconcile } from '../lib/control/reconcile.js';
import { makeHandler } from './runtime.js';

export const handler = makeHandler('reconcile', {
  parse: (raw, deps) => parseReconcileEvent(raw, deps.env.cluster),
  run: (input, deps, invocation) => reconcile(input, deps, invocation),
});
