/** Control-plane use-cases (pure orchestration over ports) and their edge parsing. */
export * from './common.js';
export * from './inputs.js';
export * from './interruption.js';
export * from './janitor.js';
export * from './launch.js';
export * from './reconcile.js';
export * from './terminate.js';
