/** Node bootstrap user data: the renderer the launch Lambda and the CLI use. */
export * from './config-size.js';
export * from './errors.js';
export * from './render.js';
