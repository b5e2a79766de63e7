/** CDK constructs and the stack of k3s-burst: one stack per cluster, from one config file. */
export * from './agent-identity.js';
export * from './burst-functions.js';
export * from './capacity-schedules.js';
export * from './cluster-secrets.js';
export * from './command-queue.js';
export * from './config-file.js';
export * from './errors.js';
export * from './event-patterns.js';
export * from './event-routing.js';
export * from './fleet-permissions.js';
export * from './k3s-burst-stack.js';
export * from './network.js';
export * from './node-template.js';
export * from './observability.js';
export * from './queues.js';
export * from './scheduler-cron.js';
export * from './state-table.js';
