/**
 * janitor — on its EventBridge Scheduler tick: terminate orphan instances (fresh snapshot
 * only), delete stale Tailscale devices, request deletion of Nodes of terminated instances;
 * bounded per run, returns a report of what it did. See lib/control/janitor.ts.
 */
import { parseJanitorEvent } from '../lib/control/inputs.js';
import { runJanitor } from '../lib/control/janitor.js';
import { handlerSpec, makeHandler } from './runtime.js';

/** Parse and use-case of this function (tests: `makeHandler('janitor', janitorSpec, { deps })`). */
export const janitorSpec = handlerSpec({
  parse: (raw) => parseJanitorEvent(raw),
  run: (input, deps, invocation) => runJanitor(input, deps, invocation),
});

export const handler = makeHandler('janitor', janitorSpec);
