/**
 * Leader election with a coordination.k8s.io/v1 Lease, client-go style: acquire when the lease is
 * free or expired, renew every `retryPeriodMs`, step down when a renewal has not succeeded
 * within `renewDeadlineMs`. Writes use the lease's resourceVersion, so two replicas racing for
 * an expired lease cannot both win (the loser gets 409 Conflict). Only the leader publishes
 * snapshots and consumes commands; a follower keeps its caches warm.
 */
import type { Clock } from '../core/clock.js';
import { errorFields, type Logger } from '../core/logger.js';
import { type KubeApi, KubeApiError } from './kube-client.js';
import { AGENT_DEFAULTS } from './options.js';

export interface LeaderElectorOptions {
  api: KubeApi;
  clock: Clock;
  log: Logger;
  namespace: string;
  name: string;
  identity: string;
  /** @default AGENT_DEFAULTS.lease.durationMs */
  leaseDurationMs?: number;
  /** @default 10000 */
  renewDeadlineMs?: number;
  /** @default AGENT_DEFAULTS.lease.retryMs */
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

interface Lease {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private leading = false;
  private lastRenew = 0;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly o: LeaderElectorOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.o.namespace)}/leases`;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stop; a leader releases the lease so a standby takes over without waiting for expiry. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (this.leading) {
      this.setLeading(false);
      try {
        const cur = await this.get();
        if (cur?.spec?.holderIdentity === this.o.identity) {
          await this.o.api.request('PUT', `${this.path}/${this.o.name}`, {
            body: { ...cur, spec: { ...cur.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
          });
        }
      } catch (err) {
        this.o.log.warn('could not release the lease', errorFields(err));
      }
    }
  }

  private setLeading(v: boolean): void {
    if (v === this.leading) return;
    this.leading = v;
    this.o.log.info(v ? 'became leader' : 'lost leadership', {
      identity: this.o.identity,
      lease: this.o.name,
    });
    if (v) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private async get(): Promise<Lease | undefined> {
    try {
      return (await this.o.api.request<Lease>('GET', `${this.path}/${this.o.name}`)).body;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** One acquire-or-renew attempt. Returns whether we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.o.clock.now();
    const durationS = Math.ceil((this.o.leaseDurationMs ?? AGENT_DEFAULTS.lease.durationMs) / 1000);
    const cur = await this.get();
    if (!cur) {
      await this.o.api.request('POST', this.path, {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: {
            holderIdentity: this.o.identity,
            leaseDurationSeconds: durationS,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        },
      });
      return true;
    }
    const spec = cur.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewed = Date.parse(spec.renewTime ?? '') || 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? durationS) * 1000 < now;
    if (holder && holder !== this.o.identity && !expired) return false;
    const takeover = holder !== this.o.identity;
    await this.o.api.request('PUT', `${this.path}/${this.o.name}`, {
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: cur.metadata,
        spec: {
          holderIdentity: this.o.identity,
          leaseDurationSeconds: durationS,
          acquireTime: takeover ? microTime(now) : spec.acquireTime,
          renewTime: microTime(now),
          leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover && holder ? 1 : 0),
        },
      },
    });
    return true;
  }

  private async run(): Promise<void> {
    const retry = this.o.retryPeriodMs ?? AGENT_DEFAULTS.lease.retryMs;
    const deadline = this.o.renewDeadlineMs ?? 10_000;
    while (!this.abort.signal.aborted) {
      try {
        const held = await this.tryAcquireOrRenew();
        if (held) this.lastRenew = this.o.clock.now();
        this.setLeading(held);
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 409))
          this.o.log.warn('lease acquire/renew failed', errorFields(err));
        if (this.leading && this.o.clock.now() - this.lastRenew > deadline) this.setLeading(false);
        else if (err instanceof KubeApiError && err.status === 409) this.setLeading(false);
      }
      await this.o.clock.sleep(retry, this.abort.signal);
    }
  }
}
