import type { Clock } from '../../core/clock.js';
import {
  type Device,
  DeviceRegistryError,
  type DeviceRegistryErrorKind,
  type DeviceRegistryPort,
  type MintAuthKeyRequest,
  type MintedAuthKey,
} from '../../core/ports.js';
import { systemClock } from '../../system/clock.js';

export interface FakeMintedKey extends MintedAuthKey {
  tags: string[];
  description: string;
  used: boolean;
  /** The device joined with it is ephemeral (the default). */
  ephemeral: boolean;
}

type Op = 'mintAuthKey' | 'listDevices' | 'deleteDevice';

/**
 * In-memory {@link DeviceRegistryPort}. Keys are single-use: {@link FakeDeviceRegistry.join}
 * registers a device with a minted key (what `tailscale up` does) and refuses a used or
 * expired key. Failures are injected per operation with `failNext`.
 */
export class FakeDeviceRegistry implements DeviceRegistryPort {
  readonly keys: FakeMintedKey[] = [];
  readonly devices = new Map<string, Device>();
  readonly deleted: string[] = [];
  private readonly failures: { op: Op | '*'; kind: DeviceRegistryErrorKind; remaining: number }[] = [];
  private n = 0;

  constructor(private readonly clock: Pick<Clock, 'now'> = systemClock) {}

  /** The next `times` calls of `op` (or any op with `'*'`) fail with an error of `kind`. */
  failNext(op: Op | '*', kind: DeviceRegistryErrorKind, times = 1): void {
    this.failures.push({ op, kind, remaining: times });
  }

  /** Register a device for `hostname` using a minted key, like `tailscale up --auth-key`. */
  join(hostname: string, authKey: string, opts: { connected?: boolean } = {}): Device {
    const k = this.keys.find((x) => x.key === authKey);
    if (!k) throw new Error('FakeDeviceRegistry: unknown auth key');
    if (k.used) throw new Error('FakeDeviceRegistry: auth key already used (single-use)');
    if (Date.parse(k.expires) <= this.clock.now()) throw new Error('FakeDeviceRegistry: auth key expired');
    k.used = true;
    return this.addDevice({
      hostname,
      tags: [...k.tags],
      isEphemeral: k.ephemeral,
      connectedToControl: opts.connected,
    });
  }

  /** Add a device directly (e.g. a Pi, or a stale cloud node). */
  addDevice(d: Partial<Device> & { hostname: string }): Device {
    this.n += 1;
    const device: Device = {
      id: String(7415926535000000 + this.n),
      nodeId: `nFake${this.n}CNTRL`,
      name: `${d.hostname}.tail0000.ts.net`,
      tags: [],
      addresses: [`100.64.0.${this.n % 250}`],
      connectedToControl: true,
      created: new Date(this.clock.now()).toISOString(),
      isEphemeral: false,
      os: 'linux',
      ...d,
    };
    if (device.connectedToControl) delete device.lastSeen;
    else device.lastSeen ??= new Date(this.clock.now()).toISOString();
    this.devices.set(device.nodeId, device);
    return device;
  }

  async mintAuthKey(req: MintAuthKeyRequest): Promise<MintedAuthKey> {
    this.maybeFail('mintAuthKey');
    this.n += 1;
    const minted: FakeMintedKey = {
      id: `kFake${this.n}CNTRL`,
      key: `tskey-auth-kFake${this.n}CNTRL-${'x'.repeat(24)}`,
      expires: new Date(this.clock.now() + req.expirySeconds * 1000).toISOString(),
      tags: [...req.tags],
      description: req.description,
      used: false,
      ephemeral: req.ephemeral !== false,
    };
    this.keys.push(minted);
    return { id: minted.id, key: minted.key, expires: minted.expires };
  }

  async listDevices(opts: { tag: string }): Promise<Device[]> {
    this.maybeFail('listDevices');
    return [...this.devices.values()].filter((d) => d.tags.includes(opts.tag)).map((d) => structuredClone(d));
  }

  async deleteDevice(nodeId: string): Promise<'deleted' | 'not-found'> {
    this.maybeFail('deleteDevice');
    if (!this.devices.delete(nodeId)) return 'not-found';
    this.deleted.push(nodeId);
    return 'deleted';
  }

  private maybeFail(op: Op): void {
    const f = this.failures.find((x) => x.remaining > 0 && (x.op === op || x.op === '*'));
    if (!f) return;
    f.remaining -= 1;
    throw new DeviceRegistryError(f.kind, `FakeDeviceRegistry: injected ${f.kind} failure on ${op}`);
  }
}
