/**
 * The run's summary: what `summary.json` holds and the CLI prints. It contains no wall-clock
 * values, so the same (scenario, config, seed) always gives byte-identical JSON.
 */
import { fmtClock, INVARIANT_TITLES, type InvariantId } from './invariants.js';
import { percentile, type SimResult, type WarmPoolMember } from './results.js';

export interface WaitStats {
  count: number;
  p50Seconds: number;
  p95Seconds: number;
  maxSeconds: number;
}

export interface Summary {
  scenario: string;
  seed: number;
  cluster: string;
  start: string;
  end: string;
  hours: number;
  pods: {
    created: number;
    bound: number;
    completed: number;
    recreated: number;
    pendingAtEnd: number;
    oldestPendingAtEndSeconds: number;
    /** Every bound pod, created → bound. */
    wait: WaitStats;
    /** Pods that found no room at first and waited for capacity. */
    capacityWait: WaitStats;
  };
  cloud: {
    peakNodes: number;
    instancesLaunched: number;
    nodeHours: { spot: number; onDemand: number; total: number };
    /** `volumes`: the root volumes of stopped warm-pool members (no instance hours); in `total`. */
    costUsd: { spot: number; onDemand: number; volumes: number; total: number };
    launchesByOffering: Record<string, number>;
  };
  /** The warm pool (docs/operations.md "Warm pool"): all zero without one. */
  warmPool: {
    /** Members launched to be parked, starts and stops that reached EC2. */
    fills: number;
    starts: number;
    parks: number;
    /** Starts whose member never registered again (no fresh join credential). */
    startsFailed: number;
    parkedMemberHours: number;
    parkedVolumeUsd: number;
    /** Members alive at the end of the run. */
    membersAtEnd: WarmPoolMember[];
  };
  actions: {
    decisions: number;
    decisionsWithActions: number;
    launchDecisions: number;
    drainsRequested: number;
    drainsCompleted: number;
    drainsTimedOut: number;
    evictions: number;
    terminationsRequested: number;
    instancesTerminated: number;
    nodeDeletions: number;
    janitorTerminations: number;
    janitorDeviceDeletions: number;
    capacityFallbacks: number;
    launchesWithoutCapacity: number;
    duplicateLaunchRequestsIgnored: number;
    expiredLaunchRequestsDropped: number;
    staleSnapshotsIgnored: number;
    duplicateTriggersIgnored: number;
  };
  faults: {
    spotInterruptions: number;
    tailscaleOutages: number;
    agentRestarts: number;
    eventsDropped: number;
    eventsDuplicated: number;
    eventsDelayed: number;
    snapshotsLost: number;
  };
  snapshots: { published: number; maxBytes: number };
  invariants: {
    checked: InvariantId[];
    violations: Array<{ at: string; invariant: InvariantId; message: string }>;
  };
  eventsProcessed: number;
  truncated: boolean;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

function waitStats(ms: number[]): WaitStats {
  const s = [...ms].sort((a, b) => a - b);
  return {
    count: s.length,
    p50Seconds: r3(percentile(s, 50) / 1000),
    p95Seconds: r3(percentile(s, 95) / 1000),
    maxSeconds: r3((s[s.length - 1] ?? 0) / 1000),
  };
}

export function summarize(r: SimResult): Summary {
  const st = r.stats;
  return {
    scenario: r.scenario,
    seed: r.seed,
    cluster: r.clusterName,
    start: new Date(r.startMs).toISOString(),
    end: new Date(r.endMs).toISOString(),
    hours: r3((r.endMs - r.startMs) / 3_600_000),
    pods: {
      created: st.podsCreated,
      bound: st.podsBound,
      completed: st.podsCompleted,
      recreated: st.podsRecreated,
      pendingAtEnd: st.pendingAtEnd,
      oldestPendingAtEndSeconds: r3(st.oldestPendingAtEndMs / 1000),
      wait: waitStats(st.waitsMs),
      capacityWait: waitStats(st.capacityWaitsMs),
    },
    cloud: {
      peakNodes: st.peakCloudInstances,
      instancesLaunched: st.instancesLaunched,
      nodeHours: {
        spot: r3(st.nodeHours.spot),
        onDemand: r3(st.nodeHours['on-demand']),
        total: r3(st.nodeHours.spot + st.nodeHours['on-demand']),
      },
      costUsd: {
        spot: r4(st.costUsd.spot),
        onDemand: r4(st.costUsd['on-demand']),
        volumes: r4(st.parkedVolumeUsd),
        total: r4(st.costUsd.spot + st.costUsd['on-demand'] + st.parkedVolumeUsd),
      },
      launchesByOffering: Object.fromEntries(
        Object.entries(st.launchesByType).sort(([a], [b]) => (a < b ? -1 : 1)),
      ),
    },
    warmPool: {
      fills: st.warmPoolFills,
      starts: st.warmStarts,
      parks: st.warmParks,
      startsFailed: st.warmStartsFailed,
      parkedMemberHours: r3(st.parkedMemberHours),
      parkedVolumeUsd: r4(st.parkedVolumeUsd),
      membersAtEnd: r.warmPoolAtEnd,
    },
    actions: {
      decisions: st.decisions,
      decisionsWithActions: st.decisionsWithActions,
      launchDecisions: st.launchDecisions,
      drainsRequested: st.drainsRequested,
      drainsCompleted: st.drainsCompleted,
      drainsTimedOut: st.drainsTimedOut,
      evictions: st.evictions,
      terminationsRequested: st.terminationsRequested,
      instancesTerminated: st.instancesTerminated,
      nodeDeletions: st.nodeDeletions,
      janitorTerminations: st.janitorTerminations,
      janitorDeviceDeletions: st.janitorDeviceDeletions,
      capacityFallbacks: st.capacityFallbacks,
      launchesWithoutCapacity: st.noCapacity,
      duplicateLaunchRequestsIgnored: st.launchReuses,
      expiredLaunchRequestsDropped: st.expiredLaunchRequests,
      staleSnapshotsIgnored: st.ignoredStaleSnapshots,
      duplicateTriggersIgnored: st.duplicateDecisions,
    },
    faults: {
      spotInterruptions: st.spotInterruptions,
      tailscaleOutages: st.tailscaleOutages,
      agentRestarts: st.agentRestarts,
      eventsDropped: st.eventsDropped,
      eventsDuplicated: st.eventsDuplicated,
      eventsDelayed: st.eventsDelayed,
      snapshotsLost: st.snapshotsLost,
    },
    snapshots: { published: st.snapshotsPublished, maxBytes: st.snapshotBytesMax },
    invariants: {
      checked: Object.keys(INVARIANT_TITLES) as InvariantId[],
      violations: r.violations.map((v) => ({
        at: new Date(v.atMs).toISOString(),
        invariant: v.invariant,
        message: v.message,
      })),
    },
    eventsProcessed: st.eventsProcessed,
    truncated: st.truncated,
  };
}

/** `1m 40s`, `52s`: a duration as the summary prints it. */
export function dur(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** `$1.23`: money as the summary prints it. */
export function usd(x: number): string {
  return `$${x.toFixed(2)}`;
}

/** The summary as the terminal shows it. */
export function formatSummary(s: Summary): string {
  const lines: string[] = [];
  lines.push(
    `Scenario "${s.scenario}" (seed ${s.seed}), cluster ${s.cluster}: ${s.start} → ${s.end} (${s.hours} h)`,
  );
  lines.push('');
  lines.push(
    `Pods            ${s.pods.created} created, ${s.pods.bound} scheduled, ${s.pods.completed} completed, ${s.pods.pendingAtEnd} pending at the end`,
  );
  lines.push(
    `Wait (all)      p50 ${dur(s.pods.wait.p50Seconds)}  p95 ${dur(s.pods.wait.p95Seconds)}  max ${dur(s.pods.wait.maxSeconds)}`,
  );
  lines.push(
    `Wait (burst)    p50 ${dur(s.pods.capacityWait.p50Seconds)}  p95 ${dur(s.pods.capacityWait.p95Seconds)}  max ${dur(s.pods.capacityWait.maxSeconds)}  (${s.pods.capacityWait.count} pods that waited for capacity)`,
  );
  lines.push(
    `Cloud nodes     peak ${s.cloud.peakNodes}, ${s.cloud.instancesLaunched} launched; node-hours spot ${s.cloud.nodeHours.spot.toFixed(2)}, on-demand ${s.cloud.nodeHours.onDemand.toFixed(2)}`,
  );
  lines.push(
    `Cost            ${usd(s.cloud.costUsd.total)} (spot ${usd(s.cloud.costUsd.spot)}, on-demand ${usd(s.cloud.costUsd.onDemand)}${s.cloud.costUsd.volumes > 0 ? `, parked warm-pool volumes ${usd(s.cloud.costUsd.volumes)}` : ''})`,
  );
  const w = s.warmPool;
  if (w.fills > 0 || w.membersAtEnd.length > 0) {
    lines.push(
      `Warm pool       ${w.starts} started for pods, ${w.fills} launched to park, ${w.parks} parked; ${w.parkedMemberHours.toFixed(1)} member-hours stopped (volumes ${usd(w.parkedVolumeUsd)})${w.startsFailed > 0 ? `; ${w.startsFailed} started without a join credential` : ''}`,
    );
    lines.push(
      `                ${w.membersAtEnd.length === 0 ? 'no members at the end' : 'members at the end:'}`,
    );
    for (const m of w.membersAtEnd) {
      lines.push(
        `                  ${m.instanceId} ${m.instanceType} ${m.zone} ${m.state}, ${dur(m.ageSeconds)} old, $${m.hourlyUsd.toFixed(4)}/h`,
      );
    }
  }
  const a = s.actions;
  lines.push(
    `Actions         ${a.decisions} decisions (${a.decisionsWithActions} acting): ${a.launchDecisions} launches, ${a.drainsRequested} drains (${a.drainsTimedOut} timed out), ${a.terminationsRequested} terminations, ${a.evictions} evictions`,
  );
  lines.push(
    `Safety nets     ${a.capacityFallbacks} capacity fallbacks, ${a.duplicateLaunchRequestsIgnored} duplicate launch requests ignored, ${a.staleSnapshotsIgnored} stale snapshots ignored, ${a.janitorTerminations} janitor terminations`,
  );
  const f = s.faults;
  const faults = [
    f.spotInterruptions && `${f.spotInterruptions} spot interruptions`,
    f.tailscaleOutages && `${f.tailscaleOutages} Tailscale outages`,
    f.agentRestarts && `${f.agentRestarts} agent restarts`,
    f.eventsDropped && `${f.eventsDropped} events dropped`,
    f.eventsDuplicated && `${f.eventsDuplicated} duplicated`,
    f.eventsDelayed && `${f.eventsDelayed} delayed`,
    f.snapshotsLost && `${f.snapshotsLost} snapshots lost`,
  ].filter(Boolean);
  lines.push(`Faults          ${faults.length ? faults.join(', ') : 'none injected'}`);
  if (s.invariants.violations.length === 0) {
    lines.push(`Invariants      I1–I11 held at every step (${s.eventsProcessed} events)`);
  } else {
    lines.push(`Invariants      ${s.invariants.violations.length} VIOLATION(S):`);
    for (const v of s.invariants.violations.slice(0, 10)) {
      lines.push(
        `  ${fmtClock(Date.parse(v.at))} ${v.invariant} (${INVARIANT_TITLES[v.invariant]}): ${v.message}`,
      );
    }
  }
  if (s.truncated) lines.push('WARNING: the run hit the event cap and stopped early.');
  return `${lines.join('\n')}\n`;
}
