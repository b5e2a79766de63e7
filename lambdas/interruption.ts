/**
 * interruption — on EC2 Spot Instance Interruption Warnings and Rebalance Recommendations
 * (default bus, every instance of the account): for this cluster's instances, drain now and
 * request a replacement; other instances are ignored and counted. See lib/control/interruption.ts.
 */
import { parseInterruptionEvent } from '../lib/control/inputs.js';
import { handleInterruption } from '../lib/control/interruption.js';
import { handlerSpec, makeHandler } from './runtime.js';

/** Parse and use-case of this function (tests: `makeHandler('interruption', interruptionSpec, { deps })`). */
export const interruptionSpec = handlerSpec({
  parse: (raw) => parseInterruptionEvent(raw),
  run: (input, deps, invocation) => handleInterruption(input, deps, invocation),
});

export const handler = makeHandler('interruption', interruptionSpec);
