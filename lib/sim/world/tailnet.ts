/**
 * Tailscale as the simulator's world: the device registry fake plus what the simulator needs to
 * drive it — a data-plane outage switch (`down`: machines cannot reach the tailnet, so
 * `tailscale up` and `tailscale logout` wait; the API stays up), an API outage switch
 * (`apiDown`: every call answers `unavailable`, as the client reports a 5xx or a network error
 * after its retries), a device going offline when its instance dies or stops without logging out
 * (and online again when a stopped warm-pool member starts), and a callback on every device
 * removal (for invariant I4).
 */
import type { Clock } from '../../core/clock.js';
import {
  type Device,
  DeviceRegistryError,
  type MintAuthKeyRequest,
  type MintedAuthKey,
} from '../../core/ports.js';
import { FakeDeviceRegistry } from './device-registry.js';

export class Tailnet extends FakeDeviceRegistry {
  /** The tailnet's data plane is down: machines can neither join nor log out. */
  down = false;
  /** While true, every API call fails with a retryable `unavailable` error. */
  apiDown = false;

  constructor(
    private readonly trueClock: Pick<Clock, 'now'>,
    private readonly onRemoved: (nodeId: string) => void = () => undefined,
  ) {
    super(trueClock);
  }

  override async mintAuthKey(req: MintAuthKeyRequest): Promise<MintedAuthKey> {
    this.unreachable('mintAuthKey');
    return super.mintAuthKey(req);
  }

  override async listDevices(opts: { tag: string }): Promise<Device[]> {
    this.unreachable('listDevices');
    return super.listDevices(opts);
  }

  override async deleteDevice(nodeId: string): Promise<'deleted' | 'not-found'> {
    this.unreachable('deleteDevice');
    const r = await super.deleteDevice(nodeId);
    if (r === 'deleted') this.onRemoved(nodeId);
    return r;
  }

  /** `tailscale logout` at shutdown: the device leaves the tailnet at once. */
  logout(nodeId: string): void {
    if (this.devices.delete(nodeId)) this.onRemoved(nodeId);
  }

  /** The machine died without logging out: the device stays, offline since now (or since it went offline). */
  offline(nodeId: string): void {
    const d = this.devices.get(nodeId);
    if (!d?.connectedToControl) return;
    d.connectedToControl = false;
    d.lastSeen = new Date(this.trueClock.now()).toISOString();
  }

  /** A stopped warm-pool member started: tailscaled reconnects with the device it kept. */
  online(nodeId: string): void {
    const d = this.devices.get(nodeId);
    if (!d) return;
    d.connectedToControl = true;
    delete d.lastSeen;
  }

  /** Whether the device still exists (the janitor may have deleted it). */
  hasDevice(nodeId: string): boolean {
    return this.devices.has(nodeId);
  }

  private unreachable(op: string): void {
    if (this.apiDown)
      throw new DeviceRegistryError('unavailable', `Tailscale API unreachable during ${op} (outage)`);
  }
}
