/**
 * terminate — on `TerminateRequested` (reconcile, interruption) and `NodeDrained` (agent):
 * terminate one cluster-tagged instance, delete its Tailscale device, ask the agent to delete
 * its Node, emit `InstanceTerminated`. Invoked asynchronously by EventBridge, one event per
 * invocation (no batch): a throw makes Lambda retry the event (every step is idempotent),
 * invalid or foreign events are refused without a throw. See lib/control/terminate.ts.
 */
import { parseTerminateEvent } from '../lib/control/inputs.js';
import { terminate } from '../lib/control/terminate.js';
import { handlerSpec, makeHandler } from './runtime.js';

/** Parse and use-case of this function (tests: `makeHandler('terminate', terminateSpec, { deps })`). */
export const terminateSpec = handlerSpec({
  parse: (raw, deps) => parseTerminateEvent(raw, deps.env.cluster),
  run: (input, deps, invocation) => terminate(input, deps, invocation),
});

export const handler = makeHandler('terminate', terminateSpec);
