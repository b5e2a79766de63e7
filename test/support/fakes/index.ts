/** In-memory fakes of every port in `lib/core/ports.ts`, for unit tests and the simulator. */
export * from './bus.js';
export * from './device-registry.js';
export * from './fleet.js';
export * from './offering-cache.js';
export * from './secrets.js';
export * from './state.js';
