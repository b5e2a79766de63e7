/**
 * The simulator's outputs for people: a self-contained `report.html` (inline SVG charts, no
 * external assets, no scripts needed to read it) and an ASCII chart for the terminal.
 * Charts are hand-written SVG: each series is a `<polyline data-series="…">`.
 */
import { fmtClock, INVARIANT_TITLES, type InvariantId } from './invariants.js';
import type { DecisionEntry, Sample, SimResult } from './results.js';
import type { Summary } from './summary.js';

export interface Series {
  /** Stable id, written as `data-series` (tests and users' scripts select by it). */
  id: string;
  label: string;
  color: string;
  values: number[];
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/**
 * A step-line chart. x is time (the samples' `atMs`), y each series' values. Schedule
 * boundaries are drawn as dashed vertical lines with the policy name.
 */
export function svgChart(opts: {
  id: string;
  title: string;
  times: number[];
  series: Series[];
  markers?: Array<{ atMs: number; label: string }>;
  yFormat?: (v: number) => string;
  width?: number;
  height?: number;
}): string {
  const W = opts.width ?? 960;
  const H = opts.height ?? 240;
  const L = 56;
  const R = 16;
  const T = 28;
  const B = 34;
  const t0 = opts.times[0] ?? 0;
  const t1 = opts.times[opts.times.length - 1] ?? t0 + 1;
  const span = Math.max(1, t1 - t0);
  const yMax = niceMax(Math.max(1, ...opts.series.flatMap((s) => s.values)));
  const x = (t: number) => L + ((t - t0) / span) * (W - L - R);
  const y = (v: number) => T + (1 - v / yMax) * (H - T - B);
  const fmt = opts.yFormat ?? ((v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2)));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" id="${escapeHtml(opts.id)}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(opts.title)}">`,
  );
  parts.push(`<title>${escapeHtml(opts.title)}</title>`);
  parts.push(`<text x="${L}" y="16" class="chart-title">${escapeHtml(opts.title)}</text>`);
  // Grid and y labels.
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const yy = y(v).toFixed(1);
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" class="grid"/>`);
    parts.push(
      `<text x="${L - 6}" y="${yy}" class="ylabel" text-anchor="end" dominant-baseline="middle">${escapeHtml(fmt(v))}</text>`,
    );
  }
  // x labels every 2 h (or every hour for short runs).
  const stepH = span > 12 * 3_600_000 ? 2 : 1;
  const firstHour = Math.ceil(t0 / 3_600_000) * 3_600_000;
  for (let t = firstHour; t <= t1; t += stepH * 3_600_000) {
    const xx = x(t).toFixed(1);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${H - B}" y2="${H - B + 4}" class="axis"/>`);
    parts.push(`<text x="${xx}" y="${H - B + 16}" class="xlabel" text-anchor="middle">${hhmm(t)}</text>`);
  }
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" class="axis"/>`);
  for (const m of opts.markers ?? []) {
    if (m.atMs < t0 || m.atMs > t1) continue;
    const xx = x(m.atMs).toFixed(1);
    parts.push(
      `<line x1="${xx}" x2="${xx}" y1="${T}" y2="${H - B}" class="marker" data-marker="${escapeHtml(m.label)}"/><text x="${xx}" y="${T - 2}" class="marker-label" text-anchor="middle">${escapeHtml(m.label)}</text>`,
    );
  }
  // Series as step lines.
  opts.series.forEach((s) => {
    const pts: string[] = [];
    let prev: number | undefined;
    opts.times.forEach((t, i) => {
      const v = s.values[i] ?? 0;
      const xx = x(t).toFixed(1);
      if (prev !== undefined && prev !== v) pts.push(`${xx},${y(prev).toFixed(1)}`);
      pts.push(`${xx},${y(v).toFixed(1)}`);
      prev = v;
    });
    parts.push(
      `<polyline data-series="${escapeHtml(s.id)}" fill="none" stroke="${s.color}" stroke-width="1.8" points="${pts.join(' ')}"><title>${escapeHtml(s.label)}</title></polyline>`,
    );
  });
  // Legend.
  let lx = L + 4;
  for (const s of opts.series) {
    parts.push(
      `<rect x="${lx}" y="${H - 12}" width="10" height="3" fill="${s.color}"/><text x="${lx + 14}" y="${H - 8}" class="legend">${escapeHtml(s.label)}</text>`,
    );
    lx += 24 + s.label.length * 6.5;
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** Evenly thin a sample list to at most `max` points (always keeping the last). */
function thin(samples: Sample[], max: number): Sample[] {
  if (samples.length <= max) return samples;
  const step = samples.length / max;
  const out: Sample[] = [];
  for (let i = 0; i < max; i++) out.push(samples[Math.floor(i * step)] as Sample);
  out.push(samples[samples.length - 1] as Sample);
  return out;
}

function decisionRows(decisions: DecisionEntry[], limit: number): string {
  const rows: string[] = [];
  for (const d of decisions.slice(0, limit)) {
    const acts: string[] = [];
    for (const l of d.launches) {
      acts.push(
        `launch ${l.count}× ${l.instanceTypes[0]} (${l.capacityTypes.join('→')}) for ${l.podsCovered} pods`,
      );
    }
    for (const x of d.drains) acts.push(`drain ${x.nodeName}`);
    for (const x of d.terminations) acts.push(`terminate ${x.instanceId}`);
    for (const x of d.nodeDeletions) acts.push(`delete node ${x.nodeName}`);
    for (const u of d.unhelpable) acts.push(`${u.count} pods unhelpable`);
    const why = d.explanations.map(
      (e) =>
        `<li><span class="kind kind-${escapeHtml(e.kind)}">${escapeHtml(e.kind)}</span> ${escapeHtml(e.message)}</li>`,
    );
    rows.push(
      `<tr class="decision"><td class="time">${escapeHtml(fmtClock(d.atMs).slice(11))}</td><td><code>${escapeHtml(d.trigger.split(':')[0] ?? '')}</code></td><td>${escapeHtml(d.schedule ?? '—')} (max ${d.maxNodes})${d.agentStale ? ' <b>agent stale</b>' : ''}</td><td>${escapeHtml(acts.join('; ') || 'no action')}</td><td><ul>${why.join('')}</ul></td></tr>`,
    );
  }
  return rows.join('\n');
}

/** The self-contained HTML report. */
export function renderReportHtml(
  result: SimResult,
  summary: Summary,
  opts: { configName?: string } = {},
): string {
  const samples = thin(result.samples, 1500);
  const times = samples.map((s) => s.atMs);
  const markers = result.boundaries.map((b) => ({ atMs: b.atMs, label: b.policy }));
  const line = (id: string, label: string, color: string, pick: (s: Sample) => number): Series => ({
    id,
    label,
    color,
    values: samples.map(pick),
  });
  const pods = svgChart({
    id: 'chart-pods',
    title: 'Pending pods',
    times,
    markers,
    series: [
      line('pending-pods', 'pending', '#d9480f', (s) => s.pendingPods),
      line('unschedulable-pods', 'unschedulable', '#862e9c', (s) => s.unschedulablePods),
    ],
  });
  const nodes = svgChart({
    id: 'chart-nodes',
    title: 'Nodes',
    times,
    markers,
    series: [
      line('onprem-nodes', 'on-prem (Ready)', '#2b8a3e', (s) => s.onPremReady),
      line('cloud-nodes', 'cloud instances', '#1971c2', (s) => s.cloudInstances),
      line('cloud-ready-nodes', 'cloud (Ready)', '#74c0fc', (s) => s.cloudReady),
    ],
  });
  const cost = svgChart({
    id: 'chart-cost',
    title: 'Cumulative EC2 cost (USD)',
    times,
    markers,
    yFormat: (v) => `$${v.toFixed(2)}`,
    series: [line('cumulative-cost', 'cost', '#e67700', (s) => s.cumulativeCostUsd)],
  });
  const s = summary;
  const v = s.invariants.violations;
  const violationHtml =
    v.length === 0
      ? `<p class="ok">All eight safety invariants held at every step (${s.eventsProcessed.toLocaleString('en-US')} events).</p>`
      : `<ul class="violations">${result.violations
          .map(
            (x) =>
              `<li><b>${x.invariant}</b> ${escapeHtml(INVARIANT_TITLES[x.invariant as InvariantId])} — ${escapeHtml(fmtClock(x.atMs))}: ${escapeHtml(x.message)}<pre>${escapeHtml(x.timeline.join('\n'))}</pre></li>`,
          )
          .join('')}</ul>`;
  const row = (k: string, val: string) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(val)}</td></tr>`;
  const usd = (x: number) => `$${x.toFixed(2)}`;
  const secs = (x: number) => (x < 120 ? `${x.toFixed(0)} s` : `${(x / 60).toFixed(1)} min`);
  const decisionLimit = 400;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>k3s-burst simulation: ${escapeHtml(s.scenario)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#212529;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dee2e6;padding-bottom:4px}
.sub{color:#6c757d;margin:0 0 16px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid #f1f3f5}
table.kv th{width:220px;color:#495057;font-weight:600}
.chart{max-width:100%;height:auto;display:block;margin:8px 0 18px}
.chart .grid{stroke:#f1f3f5}.chart .axis{stroke:#adb5bd}.chart text{font-size:11px;fill:#495057}
.chart .chart-title{font-size:13px;font-weight:600;fill:#212529}.chart .marker{stroke:#868e96;stroke-dasharray:4 3}
.chart .marker-label{font-size:10px;fill:#868e96}
.ok{color:#2b8a3e;font-weight:600}.violations li{color:#c92a2a;margin-bottom:8px}pre{background:#f8f9fa;padding:8px;overflow:auto;color:#212529;font-size:12px}
tr.decision td{font-size:13px}td.time{white-space:nowrap;font-variant-numeric:tabular-nums}ul{margin:0;padding-left:16px}
.kind{display:inline-block;font-size:11px;padding:0 5px;border-radius:3px;background:#e9ecef;color:#495057}
.kind-scale-out{background:#d0ebff}.kind-scale-in{background:#fff3bf}.kind-repair{background:#ffe3e3}.kind-schedule{background:#e5dbff}.kind-clamp{background:#ffe8cc}.kind-unhelpable{background:#f1f3f5}
</style>
</head>
<body>
<h1>k3s-burst simulation: ${escapeHtml(s.scenario)}</h1>
<p class="sub">Cluster <b>${escapeHtml(s.cluster)}</b>${opts.configName ? ` (config ${escapeHtml(opts.configName)})` : ''}, ${escapeHtml(s.start)} → ${escapeHtml(s.end)}, seed ${s.seed}. Times are UTC. Decisions come from the real planner (<code>lib/core</code>) fed through the real snapshot wire format.</p>
<h2>Summary</h2>
<table class="kv" id="summary">
${row('Pods', `${s.pods.created} created, ${s.pods.bound} scheduled, ${s.pods.completed} completed, ${s.pods.pendingAtEnd} pending at the end`)}
${row('Pod wait (all pods)', `p50 ${secs(s.pods.wait.p50Seconds)}, p95 ${secs(s.pods.wait.p95Seconds)}, max ${secs(s.pods.wait.maxSeconds)}`)}
${row('Pod wait (pods that needed capacity)', `p50 ${secs(s.pods.capacityWait.p50Seconds)}, p95 ${secs(s.pods.capacityWait.p95Seconds)}, max ${secs(s.pods.capacityWait.maxSeconds)} (${s.pods.capacityWait.count} pods)`)}
${row('Peak cloud nodes', String(s.cloud.peakNodes))}
${row('Cloud node-hours', `spot ${s.cloud.nodeHours.spot.toFixed(2)}, on-demand ${s.cloud.nodeHours.onDemand.toFixed(2)}`)}
${row('EC2 cost', `${usd(s.cloud.costUsd.total)} (spot ${usd(s.cloud.costUsd.spot)}, on-demand ${usd(s.cloud.costUsd.onDemand)}${s.cloud.costUsd.volumes > 0 ? `, parked warm-pool volumes ${usd(s.cloud.costUsd.volumes)}` : ''})`)}
${row(
  'Launches by offering',
  Object.entries(s.cloud.launchesByOffering)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ') || 'none',
)}
${row('Decisions', `${s.actions.decisions} (${s.actions.decisionsWithActions} with actions): ${s.actions.launchDecisions} launches, ${s.actions.drainsRequested} drains, ${s.actions.terminationsRequested} terminations`)}
${row('Faults injected', `${s.faults.spotInterruptions} spot interruptions, ${s.faults.tailscaleOutages} Tailscale outages, ${s.faults.agentRestarts} agent restarts, ${s.faults.eventsDropped} dropped / ${s.faults.eventsDuplicated} duplicated / ${s.faults.eventsDelayed} delayed events`)}
</table>
<h2>Charts</h2>
${pods}
${nodes}
${cost}
<h2>Safety invariants</h2>
${violationHtml}
<h2>Decision timeline</h2>
<p class="sub">Every decision that acted, found unhelpable pods, or ran at a schedule boundary${result.decisions.length > decisionLimit ? ` (first ${decisionLimit} of ${result.decisions.length})` : ''}, with the planner's explanations.</p>
<table id="decisions"><thead><tr><th>time</th><th>trigger</th><th>schedule</th><th>actions</th><th>why</th></tr></thead>
<tbody>
${decisionRows(result.decisions, decisionLimit)}
</tbody></table>
</body>
</html>
`;
}

const BLOCKS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * A terminal bar chart of one series over time: `height` rows of block characters, one
 * column per time bucket (the bucket's maximum), with a y scale and hour ticks.
 */
export function asciiChart(
  title: string,
  samples: Sample[],
  pick: (s: Sample) => number,
  width = 72,
  height = 6,
): string {
  if (samples.length === 0) return `${title}: no data\n`;
  const t0 = (samples[0] as Sample).atMs;
  const t1 = (samples[samples.length - 1] as Sample).atMs;
  const span = Math.max(1, t1 - t0);
  const cols = new Array<number>(width).fill(0);
  for (const s of samples) {
    const c = Math.min(width - 1, Math.floor(((s.atMs - t0) / span) * width));
    cols[c] = Math.max(cols[c] as number, pick(s));
  }
  const max = Math.max(1, ...cols);
  const labelW = String(max).length;
  const lines: string[] = [`${title} (max ${max})`];
  for (let row = height - 1; row >= 0; row--) {
    let line = '';
    for (const v of cols) {
      const level = (v / max) * height - row;
      line += level >= 1 ? '█' : level > 0 ? (BLOCKS[Math.max(1, Math.round(level * 8))] as string) : ' ';
    }
    const label = row === height - 1 ? String(max) : row === 0 ? '0' : '';
    lines.push(`${label.padStart(labelW)} │${line}`);
  }
  let axis = '';
  let ticks = '';
  for (let c = 0; c < width; c++) {
    const t = t0 + (c / width) * span;
    const nextT = t0 + ((c + 1) / width) * span;
    const hour = Math.ceil(t / 3_600_000) * 3_600_000;
    const isTick = hour >= t && hour < nextT && new Date(hour).getUTCHours() % 3 === 0;
    axis += isTick ? '┬' : '─';
    if (isTick && ticks.length <= c) ticks = ticks.padEnd(c) + hhmm(hour);
  }
  lines.push(`${' '.repeat(labelW)} └${axis}`);
  lines.push(`${' '.repeat(labelW)}  ${ticks}`);
  return `${lines.join('\n')}\n`;
}
