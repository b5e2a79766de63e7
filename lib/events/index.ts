/**
 * Event contracts of k3s-burst: zod schemas and the types inferred from them, for the
 * config, the agent's snapshot, commands, Lambda-to-Lambda events, the EC2 events we
 * consume and the plan. Every edge parses with these.
 */
export * from './aws.js';
export * from './commands.js';
export * from './common.js';
export * from './config.js';
export * from './config-cron.js';
export * from './config-guard.js';
export * from './config-rules.js';
export * from './config-suggest.js';
export * from './config-validate.js';
export * from './constants.js';
export * from './control.js';
export * from './errors.js';
export * from './fleet.js';
export * from './instance-catalog.js';
// join-token.ts (a zod schema) is imported directly: re-exporting it here would pull zod into
// the agent bundle, which imports this index for its config rules.
export * from './join-token-rules.js';
export * from './pause.js';
export * from './plan.js';
export * from './prerequisites.js';
export * from './snapshot.js';
export * from './snapshot-wire.js';
export * from './stage-timings.js';
export * from './tailscale-federation.js';
