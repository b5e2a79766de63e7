import { describe, expect, it } from 'vitest';
import { DeviceRegistryError } from '../../../lib/core/ports.js';
import { FakeDeviceRegistry } from '../../../lib/sim/world/index.js';
import { describeDeviceRegistryContract } from '../../support/fakes/device-registry-contract.js';

describe('FakeDeviceRegistry', () => {
  describeDeviceRegistryContract(() => {
    const registry = new FakeDeviceRegistry();
    return {
      registry,
      join: (hostname, authKey) => registry.join(hostname, authKey),
      addUntagged: (hostname) => registry.addDevice({ hostname }),
    };
  });

  it('injects failures of a kind, with retryable set like the real errors', async () => {
    const registry = new FakeDeviceRegistry();
    registry.failNext('mintAuthKey', 'unavailable');
    const error = await registry
      .mintAuthKey({ tags: ['tag:k3s-burst'], expirySeconds: 900, description: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceRegistryError);
    expect((error as DeviceRegistryError).retryable).toBe(true);
    await expect(
      registry.mintAuthKey({ tags: ['tag:k3s-burst'], expirySeconds: 900, description: 'x' }),
    ).resolves.toHaveProperty('key');
  });

  it('refuses an expired key', async () => {
    let now = new Date('2026-03-14T08:00:00Z');
    const registry = new FakeDeviceRegistry({ now: () => now.getTime() });
    const { key } = await registry.mintAuthKey({
      tags: ['tag:k3s-burst'],
      expirySeconds: 60,
      description: 'x',
    });
    now = new Date('2026-03-14T08:01:00Z');
    expect(() => registry.join('burst-i-0aaaaaaaaaaaaaaaa', key)).toThrow(/expired/);
  });
});
