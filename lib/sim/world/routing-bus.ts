/**
 * EventBridge as the simulator's world: a {@link BusPort} that turns each accepted entry into
 * the envelope a Lambda target or the SQS command queue receives, and routes it with the very
 * rules the stack synthesizes (`ROUTES` in lib/infra/event-patterns.ts, matched with the same
 * `patternMatches`). An event no rule matches goes nowhere, as on AWS: a renamed source or
 * detail-type that the rules do not follow shows up in the simulator as work that never happens.
 */
import type { Clock } from '../../core/clock.js';
import { type BusEntry, type BusPort, EventTooLargeError, type PutResult } from '../../core/ports.js';
import { PUT_EVENTS_MAX_ENTRY_BYTES, putEventsEntryBytes } from '../../events/index.js';
import { patternMatches, ROUTES, type RouteSpec } from '../../infra/event-patterns.js';

/** Where a rule delivers: a Lambda function or the agent's command queue. */
export type RouteTarget = RouteSpec['target'];

/** An EventBridge event as targets receive it (detail parsed to an object). */
export interface WorldEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface RoutingBusOptions {
  /** Which bus this is: the cluster's custom bus, or the account's default bus (EC2 events). */
  bus: RouteSpec['bus'];
  region: string;
  /** Current time: the envelope's `time`. */
  clock: Pick<Clock, 'now'>;
  /** Called once per (event, matching rule): the simulator applies delivery faults and latency. */
  deliver: (target: RouteTarget, envelope: WorldEnvelope) => void;
  account?: string;
}

/** The targets of the rules on `bus` that match `envelope`, in rule order (duplicates kept: one delivery per rule). */
export function routesFor(envelope: WorldEnvelope, bus: RouteSpec['bus']): RouteTarget[] {
  return ROUTES.filter((r) => r.bus === bus && patternMatches({ ...r.pattern }, envelope)).map(
    (r) => r.target,
  );
}

export class RoutingBus implements BusPort {
  private seq = 0;
  /** Entries accepted, per detail type (for the report's counters). */
  readonly counts = new Map<string, number>();

  constructor(private readonly o: RoutingBusOptions) {}

  /** Accept entries as PutEvents does (256 KB limit checked first) and route each one. */
  async put(entries: BusEntry[]): Promise<PutResult> {
    const wire = entries.map((e) => ({
      source: e.source,
      detailType: e.detailType,
      detail: typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail),
      resources: e.resources ?? [],
    }));
    for (const w of wire) {
      const bytes = putEventsEntryBytes(w);
      if (bytes > PUT_EVENTS_MAX_ENTRY_BYTES) {
        throw new EventTooLargeError(w.source, w.detailType, bytes, PUT_EVENTS_MAX_ENTRY_BYTES);
      }
    }
    const eventIds: string[] = [];
    for (const w of wire) {
      const envelope = this.envelope(w.source, w.detailType, JSON.parse(w.detail), w.resources);
      eventIds.push(envelope.id);
      this.counts.set(w.detailType, (this.counts.get(w.detailType) ?? 0) + 1);
      for (const target of routesFor(envelope, this.o.bus)) this.o.deliver(target, envelope);
    }
    return { eventIds, failed: [] };
  }

  /** An envelope as this bus would deliver it (also used for events AWS itself puts on the default bus). */
  envelope(source: string, detailType: string, detail: unknown, resources: string[] = []): WorldEnvelope {
    this.seq++;
    const hex = this.seq.toString(16).padStart(12, '0');
    return {
      version: '0',
      id: `${this.o.bus === 'cluster' ? 'c' : 'd'}0000000-0000-4000-8000-${hex}`,
      'detail-type': detailType,
      source,
      account: this.o.account ?? '123456789012',
      time: new Date(this.o.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.o.region,
      resources,
      detail,
    };
  }

  /** Route an event that AWS (not our code) puts on this bus, e.g. an EC2 state change. */
  emit(source: string, detailType: string, detail: unknown, resources: string[] = []): void {
    const envelope = this.envelope(source, detailType, detail, resources);
    for (const target of routesFor(envelope, this.o.bus)) this.o.deliver(target, envelope);
  }
}
