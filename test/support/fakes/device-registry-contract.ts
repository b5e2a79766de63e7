/**
 * The DeviceRegistryPort contract as executable tests, run against TailscaleClient (fake
 * Tailscale API over HTTP) and FakeDeviceRegistry.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { DeviceRegistryPort } from '../../../lib/core/ports.js';

export interface DeviceRegistryHarness {
  registry: DeviceRegistryPort;
  /** What `tailscale up --auth-key` does on a new instance; throws when the key is refused. */
  join(hostname: string, authKey: string): { nodeId: string };
  /** A device that is not ours (e.g. a Pi joined by a user, untagged). */
  addUntagged(hostname: string): { nodeId: string };
}

export function describeDeviceRegistryContract(makeHarness: () => DeviceRegistryHarness): void {
  let h: DeviceRegistryHarness;

  beforeEach(() => {
    h = makeHarness();
  });

  describe('DeviceRegistryPort contract', () => {
    it('mints a key that joins one tagged device, which is listed by tag', async () => {
      const minted = await h.registry.mintAuthKey({
        tags: ['tag:k3s-burst'],
        expirySeconds: 900,
        description: 'k3s-burst i-0f3a8c61d2e7b9054',
      });
      expect(minted.key).toMatch(/^tskey-auth-/);
      expect(minted.id).not.toBe('');
      const { nodeId } = h.join('burst-i-0f3a8c61d2e7b9054', minted.key);
      h.addUntagged('pi-node-1');

      const devices = await h.registry.listDevices({ tag: 'tag:k3s-burst' });
      expect(devices.map((d) => [d.nodeId, d.hostname, d.tags, d.isEphemeral])).toEqual([
        [nodeId, 'burst-i-0f3a8c61d2e7b9054', ['tag:k3s-burst'], true],
      ]);
      expect(() => h.join('burst-i-0000000000000000b', minted.key)).toThrow();
    });

    it('deletes a device once and reports it not-found afterwards', async () => {
      const { key } = await h.registry.mintAuthKey({
        tags: ['tag:k3s-burst'],
        expirySeconds: 900,
        description: 'x',
      });
      const { nodeId } = h.join('burst-i-09c4d2e1f7a6b3580', key);
      expect(await h.registry.deleteDevice(nodeId)).toBe('deleted');
      expect(await h.registry.deleteDevice(nodeId)).toBe('not-found');
      expect(await h.registry.listDevices({ tag: 'tag:k3s-burst' })).toEqual([]);
    });
  });
}
