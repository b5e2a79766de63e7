/**
 * reconcile: ClusterSnapshot (agent), reconcile ticks (Scheduler) and EC2 state changes →
 * one decision under the single-writer lease → ScaleOutRequested / DrainNode /
 * TerminateRequested / DeleteNode / DecisionRecorded on the bus. See lib/control/reconcile.ts.
 */
import { parseReconcileEvent } from '../lib/control/inputs.js';
import { reconcile } from '../lib/control/reconcile.js';
import { handlerSpec, makeHandler } from './runtime.js';

/** Parse and use-case of this function (tests: `makeHandler('reconcile', reconcileSpec, { deps })`). */
export const reconcileSpec = handlerSpec({
  parse: (raw, deps) => parseReconcileEvent(raw, deps.env.cluster),
  run: (input, deps, invocation) => reconcile(input, deps, invocation),
});

export const handler = makeHandler('reconcile', reconcileSpec);
