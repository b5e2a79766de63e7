/**
 * The scenario's workloads on the agenda: services whose replicas come up (and, with a daily
 * window, go away) at set clock times, bursts of job pods at a time of day spread over a few
 * seconds, and Poisson streams of job pods within a window; job durations log-normal. Each
 * workload draws from its own random stream, so changing one workload (or the run's length)
 * leaves the others' draws alone. Pod templates carry the agent's own shape id.
 */
import { slimPod } from '../agent/model.js';
import type { ClusterModel } from './cluster-model.js';
import { rawPod } from './kube-objects.js';
import type { PodTemplate } from './model.js';
import type { Rng } from './rng.js';
import { clockMinutes } from './scenario.js';
import { MINUTE, type SimContext } from './sim-context.js';

/** Midnights (UTC ms) of every simulated day. */
export function days(startMs: number, endMs: number): number[] {
  const first = Math.floor(startMs / 86_400_000) * 86_400_000;
  const out: number[] = [];
  for (let d = first; d <= endMs; d += 86_400_000) out.push(d);
  return out;
}

/** First occurrence of a clock time at or after the start. */
export function firstAt(hhmm: string, startMs: number, endMs: number): number | undefined {
  for (const day of days(startMs, endMs)) {
    const t = day + clockMinutes(hhmm) * MINUTE;
    if (t >= startMs && t <= endMs) return t;
  }
  return undefined;
}

function templateOf(
  cluster: ClusterModel,
  name: string,
  kind: 'service' | 'job',
  w: {
    cpuMilli: number;
    memoryMiB: number;
    nodeSelector: Record<string, string>;
    requiredAffinity: PodTemplate['requiredAffinity'];
    tolerations: PodTemplate['tolerations'];
    usesLocalVolume: boolean;
  },
  extra: { doNotDisrupt?: boolean; pdb?: { minAvailable: number }; readySeconds?: number } = {},
): PodTemplate {
  const base = {
    cpuMilli: w.cpuMilli,
    memoryMiB: w.memoryMiB,
    nodeSelector: w.nodeSelector,
    requiredAffinity: w.requiredAffinity,
    tolerations: w.tolerations,
    usesLocalVolume: w.usesLocalVolume,
  };
  const t: PodTemplate = {
    ...base,
    workload: name,
    kind,
    doNotDisrupt: extra.doNotDisrupt ?? false,
    pdb: extra.pdb ? { name: `${name}-pdb`, minAvailable: extra.pdb.minAvailable } : undefined,
    readyDelayMs: (extra.readySeconds ?? 0) * 1000,
    shapeId: '',
  };
  // The agent's own shape id (SHA-256 over the canonical shape, host ports included).
  const probe = {
    id: 'probe',
    template: t,
    createdAtMs: 0,
    phase: 'pending' as const,
    unschedulable: false,
  };
  t.shapeId = slimPod(rawPod(probe, cluster.onPremNames)).shapeId;
  if (t.pdb) cluster.pdbTemplates.push(t);
  return t;
}

export function scheduleWorkloads(ctx: SimContext, cluster: ClusterModel, workRng: Rng): void {
  ctx.sc.workloads.forEach((w, index) => {
    // One stream per workload: changing one workload (or the run length) leaves the others' draws alone.
    const rng = workRng.fork(index + 1);
    if (w.kind === 'service') {
      const t = templateOf(cluster, w.name, 'service', w, {
        doNotDisrupt: w.doNotDisrupt,
        pdb: w.pdb,
        readySeconds: w.readySeconds,
      });
      if (!w.between) {
        ctx.atTime(ctx.startMs, { k: 'service-window', template: t, replicas: w.replicas, up: true });
        return;
      }
      for (const day of days(ctx.startMs, ctx.endMs)) {
        const on = day + clockMinutes(w.between[0]) * MINUTE;
        const off = day + clockMinutes(w.between[1]) * MINUTE;
        if (off > ctx.startMs && on <= ctx.endMs) {
          ctx.atTime(Math.max(on, ctx.startMs), {
            k: 'service-window',
            template: t,
            replicas: w.replicas,
            up: true,
          });
          ctx.atTime(off, { k: 'service-window', template: t, replicas: w.replicas, up: false });
        }
      }
    } else if (w.kind === 'burst') {
      const t = templateOf(cluster, w.name, 'job', w);
      for (const day of days(ctx.startMs, ctx.endMs)) {
        const s = day + clockMinutes(w.at) * MINUTE;
        if (s >= ctx.startMs && s <= ctx.endMs) {
          for (let i = 0; i < w.pods; i++) {
            const offset = w.spreadSeconds > 0 ? rng.int(0, w.spreadSeconds * 1000) : 0;
            ctx.atTime(s + offset, {
              k: 'pod-arrive',
              template: t,
              durationMs: rng.logNormalMs(w.duration),
            });
          }
          if (!w.daily) break;
        }
      }
    } else {
      const t = templateOf(cluster, w.name, 'job', w);
      for (const day of days(ctx.startMs, ctx.endMs)) {
        const from = day + clockMinutes(w.between[0]) * MINUTE;
        const to = day + clockMinutes(w.between[1]) * MINUTE;
        let s = Math.max(from, ctx.startMs);
        for (let guard = 0; guard < 100_000; guard++) {
          s += rng.exponentialMs(w.ratePerHour);
          if (s > to || s > ctx.endMs) break;
          ctx.atTime(s, { k: 'pod-arrive', template: t, durationMs: rng.logNormalMs(w.duration) });
        }
      }
    }
  });
}
