import type { OfferingCache } from '../../core/ports.js';
import type { UnavailableOffering } from '../../events/index.js';

function key(o: UnavailableOffering): string {
  return `${o.instanceType}|${o.zone}|${o.capacityType}`;
}

/** In-memory {@link OfferingCache}: one entry per (type, zone, capacity type), later `until` wins. */
export class FakeOfferingCache implements OfferingCache {
  readonly entries = new Map<string, UnavailableOffering>();

  async markUnavailable(offering: UnavailableOffering): Promise<void> {
    const prev = this.entries.get(key(offering));
    if (prev && Date.parse(prev.until) >= Date.parse(offering.until)) return;
    this.entries.set(key(offering), { ...offering });
  }

  async listUnavailable(now: Date): Promise<UnavailableOffering[]> {
    return [...this.entries.values()]
      .filter((o) => Date.parse(o.until) > now.getTime())
      .map((o) => ({ ...o }));
  }
}
