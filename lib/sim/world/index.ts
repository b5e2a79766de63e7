/**
 * The simulator's world models of the control-plane ports (EC2, DynamoDB, EventBridge, Tailscale,
 * Secrets Manager): in-memory implementations of every port in `lib/core/ports.ts`. They ship in
 * the CLI (the simulator runs the real `lib/control` use-cases against them) and back the unit
 * tests; `test/support/fakes/*-contract.ts` runs the same contract suites on them as on the real
 * adapters, so they are proven faithful.
 */
export * from './bus.js';
export * from './device-registry.js';
export * from './fleet.js';
export * from './offering-cache.js';
export * from './quotas.js';
export * from './secrets.js';
export * from './state.js';
