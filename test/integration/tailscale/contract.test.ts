import { afterAll, beforeAll, describe } from 'vitest';
import { systemClock } from '../../../lib/system/clock.js';
import { TailscaleClient } from '../../../lib/tailscale/index.js';
import { type FakeTailscale, startFakeTailscale } from '../../support/fake-tailscale.js';
import { describeDeviceRegistryContract } from '../../support/fakes/device-registry-contract.js';

describe('TailscaleClient honours the DeviceRegistryPort contract', () => {
  let ts: FakeTailscale;

  beforeAll(async () => {
    ts = await startFakeTailscale();
  });

  afterAll(async () => {
    await ts?.stop();
  });

  describeDeviceRegistryContract(() => {
    ts.devices.clear();
    return {
      registry: new TailscaleClient({
        baseUrl: ts.url,
        credentials: ts.credentials,
        clock: { ...systemClock, sleep: async () => {} },
      }),
      join: (hostname, authKey) => ts.registerDevice({ hostname, authKey }),
      addUntagged: (hostname) => ts.registerDevice({ hostname }),
    };
  });
});
