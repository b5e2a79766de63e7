/** Tailscale API v2 client: the DeviceRegistryPort adapter. */
export * from './client.js';
export * from './errors.js';
