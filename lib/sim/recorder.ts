/**
 * The run's bookkeeping for the report: cost accrued per instance-hour until EC2 reports the
 * instance terminated (node-hours and dollars by capacity type), one sample a minute of pending,
 * unschedulable and running pods, Ready nodes and live instances (the charts' time series), and
 * the pending pods left at the end. It reads the cluster and cloud models; it changes nothing.
 */
import type { CloudModel } from './cloud-model.js';
import type { ClusterModel } from './cluster-model.js';
import type { Sample } from './results.js';
import { HOUR, type SimContext } from './sim-context.js';

/** Samples, cost and end-of-run counters. */
export class Recorder {
  readonly samples: Sample[] = [];
  private cumulativeCost = 0;
  private lastCostMs: number;

  constructor(
    private readonly ctx: SimContext,
    private readonly cluster: ClusterModel,
    private readonly cloud: CloudModel,
  ) {
    this.lastCostMs = ctx.startMs;
  }

  accrueCost(): void {
    const dtH = (this.ctx.now - this.lastCostMs) / HOUR;
    if (dtH <= 0) return;
    for (const i of this.cloud.instances.values()) {
      if (i.state === 'terminated') continue;
      const parked = i.state === 'shutting-down' && i.stoppedAtMs !== undefined;
      if (i.state === 'stopped' || i.state === 'stopping' || parked) {
        // EC2 bills no instance hours from `stopping` on; the volume stays (a parked member).
        const usd = dtH * this.cloud.parkedHourlyUsd(i);
        this.ctx.stats.parkedMemberHours += dtH;
        this.ctx.stats.parkedVolumeUsd += usd;
        this.cumulativeCost += usd;
        continue;
      }
      this.ctx.stats.nodeHours[i.capacityType] += dtH;
      this.ctx.stats.costUsd[i.capacityType] += dtH * i.hourlyUsd;
      this.cumulativeCost += dtH * i.hourlyUsd;
    }
    this.lastCostMs = this.ctx.now;
  }

  sample(): void {
    let unschedulable = 0;
    for (const id of this.cluster.pendingPods) if (this.cluster.pods.get(id)?.unschedulable) unschedulable++;
    let onPremReady = 0;
    let cloudReady = 0;
    for (const n of this.cluster.nodes.values()) {
      if (!n.ready) continue;
      if (n.onPrem) onPremReady++;
      else cloudReady++;
    }
    let running = 0;
    for (const n of this.cluster.nodes.values()) running += n.pods.size;
    const alive = this.cloud.aliveInstances();
    if (alive > this.ctx.stats.peakCloudInstances) this.ctx.stats.peakCloudInstances = alive;
    this.samples.push({
      atMs: this.ctx.now,
      pendingPods: this.cluster.pendingPods.size,
      unschedulablePods: unschedulable,
      runningPods: running,
      onPremReady,
      cloudInstances: alive,
      cloudReady,
      cumulativeCostUsd: Math.round(this.cumulativeCost * 10_000) / 10_000,
    });
  }

  finish(): void {
    this.ctx.stats.pendingAtEnd = this.cluster.pendingPods.size;
    let oldest = 0;
    for (const id of this.cluster.pendingPods) {
      const p = this.cluster.pods.get(id);
      if (p) oldest = Math.max(oldest, this.ctx.now - p.createdAtMs);
    }
    this.ctx.stats.oldestPendingAtEndMs = oldest;
  }
}
