/**
 * The agent's {@link Metrics} adapter: a hand-written Prometheus registry (text exposition
 * format 0.0.4), counters, gauges and histograms with labels. No dependency, a few hundred
 * bytes of state — the agent exposes a dozen series.
 */
import type { MetricLabels as Labels, Metrics, MetricUnit } from '../core/metrics.js';
import { STAGE_BUCKETS_SECONDS } from '../core/stage-timings.js';

interface Series {
  labels: Labels;
  value: number;
  /** Histograms: cumulative counts per bucket of {@link Family.buckets}, and the sum. */
  bucketCounts?: number[];
  sum?: number;
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  series: Map<string, Series>;
  /** Histograms: bucket upper bounds, ascending (`+Inf` is implied). */
  buckets?: readonly number[];
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map(
      (k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`,
    )
    .join(',');
}

export class MetricsRegistry implements Metrics {
  private readonly families = new Map<string, Family>();

  private family(name: string, help: string, type: Family['type']): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { name, help, type, series: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  /** Declare a metric so it is exposed (as 0 when unlabelled) before its first change. */
  declare(name: string, help: string, type: Family['type'], initial = true): void {
    const f = this.family(name, help, type);
    if (initial && f.series.size === 0) f.series.set('', { labels: {}, value: 0 });
  }

  /** Add `by` to a counter (declared as one on first use). */
  count(name: string, by = 1, labels: Labels = {}): void {
    const f = this.families.get(name) ?? this.family(name, name, 'counter');
    const key = labelKey(labels);
    const s = f.series.get(key);
    if (s) s.value += by;
    else f.series.set(key, { labels, value: by });
  }

  /** Set a gauge (declared as one on first use); Prometheus names carry the unit, so it is not kept. */
  gauge(name: string, value: number, _unit?: MetricUnit, labels: Labels = {}): void {
    const f = this.families.get(name) ?? this.family(name, name, 'gauge');
    f.series.set(labelKey(labels), { labels, value });
  }

  /** Replace every series of a labelled gauge (e.g. pending pods by shape). */
  replace(name: string, series: { labels: Labels; value: number }[]): void {
    const f = this.families.get(name) ?? this.family(name, name, 'gauge');
    f.series.clear();
    for (const s of series) f.series.set(labelKey(s.labels), s);
  }

  /** Declare a histogram with its bucket upper bounds (ascending); series appear on first observation. */
  declareHistogram(name: string, help: string, buckets: readonly number[]): void {
    const f = this.family(name, help, 'histogram');
    f.buckets = [...buckets].sort((a, b) => a - b);
  }

  /**
   * Observe a value into a histogram declared with {@link declareHistogram}. An undeclared name
   * or a non-finite value is ignored (a programming error must not crash the agent).
   */
  observe(name: string, value: number, labels: Labels = {}): void {
    const f = this.families.get(name);
    if (!f?.buckets || !Number.isFinite(value)) return;
    const key = labelKey(labels);
    let s = f.series.get(key);
    if (!s) {
      s = { labels, value: 0, bucketCounts: f.buckets.map(() => 0), sum: 0 };
      f.series.set(key, s);
    }
    s.value += 1;
    s.sum = (s.sum ?? 0) + value;
    f.buckets.forEach((le, i) => {
      if (value <= le && s.bucketCounts) s.bucketCounts[i] = (s.bucketCounts[i] ?? 0) + 1;
    });
  }

  get(name: string, labels: Labels = {}): number | undefined {
    return this.families.get(name)?.series.get(labelKey(labels))?.value;
  }

  /** Text exposition format. */
  render(): string {
    const out: string[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      if (f.type === 'histogram') {
        for (const [key, s] of f.series) renderHistogram(out, f, key, s);
        continue;
      }
      for (const [key, s] of f.series) out.push(`${f.name}${key ? `{${key}}` : ''} ${formatValue(s.value)}`);
    }
    return `${out.join('\n')}\n`;
  }
}

/** `_bucket` lines (cumulative, `le` last among the labels as client libraries write it), `_sum`, `_count`. */
function renderHistogram(out: string[], f: Family, key: string, s: Series): void {
  const prefix = key ? `${key},` : '';
  (f.buckets ?? []).forEach((le, i) => {
    out.push(`${f.name}_bucket{${prefix}le="${formatValue(le)}"} ${s.bucketCounts?.[i] ?? 0}`);
  });
  out.push(`${f.name}_bucket{${prefix}le="+Inf"} ${s.value}`);
  const braces = key ? `{${key}}` : '';
  out.push(`${f.name}_sum${braces} ${formatValue(s.sum ?? 0)}`, `${f.name}_count${braces} ${s.value}`);
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

/** Names of every metric the agent exposes (docs/agent.md lists them). */
export const MetricNames = {
  snapshotsPublished: 'k3s_burst_agent_snapshots_published_total',
  publishFailures: 'k3s_burst_agent_publish_failures_total',
  snapshotsTruncated: 'k3s_burst_agent_snapshots_truncated_total',
  snapshotBytes: 'k3s_burst_agent_snapshot_bytes',
  lastPublish: 'k3s_burst_agent_last_successful_publish_timestamp_seconds',
  pendingPods: 'k3s_burst_agent_pending_pods',
  pendingShapes: 'k3s_burst_agent_pending_shapes',
  pendingPodsByShape: 'k3s_burst_agent_pending_pods_by_shape',
  drains: 'k3s_burst_agent_drains_total',
  evictions: 'k3s_burst_agent_evictions_total',
  nodeDeletes: 'k3s_burst_agent_node_deletes_total',
  invalidCommands: 'k3s_burst_agent_invalid_commands_total',
  watchRestarts: 'k3s_burst_agent_watch_restarts_total',
  relists: 'k3s_burst_agent_relists_total',
  cachedObjects: 'k3s_burst_agent_cached_objects',
  isLeader: 'k3s_burst_agent_is_leader',
  joinTokensMinted: 'k3s_burst_agent_join_tokens_minted_total',
  joinTokensDeleted: 'k3s_burst_agent_join_tokens_deleted_total',
  joinTokenFailures: 'k3s_burst_agent_join_token_failures_total',
  joinTokenExpiry: 'k3s_burst_agent_join_token_expiry_timestamp_seconds',
  /** Histogram by `stage`: registered-to-ready, pod-wait (lib/agent/stage-observer.ts). */
  stageSeconds: 'k3s_burst_stage_seconds',
  /** Stage durations left out (invalid, negative beyond skew, over the bound), by stage and reason. */
  stageRejected: 'k3s_burst_agent_stage_observations_rejected_total',
} as const;

/** A name the agent exposes. */
export type AgentMetricName = (typeof MetricNames)[keyof typeof MetricNames];

export function agentMetrics(): MetricsRegistry {
  const m = new MetricsRegistry();
  m.declare(MetricNames.snapshotsPublished, 'ClusterSnapshot events accepted by EventBridge.', 'counter');
  m.declare(MetricNames.publishFailures, 'PutEvents calls or entries that failed (each attempt).', 'counter');
  m.declare(MetricNames.snapshotsTruncated, 'Snapshots that had to leave data out to fit 256 KB.', 'counter');
  m.declare(MetricNames.snapshotBytes, 'Size of the last published snapshot detail, in bytes.', 'gauge');
  m.declare(MetricNames.lastPublish, 'Unix time of the last successful snapshot publish.', 'gauge');
  m.declare(MetricNames.pendingPods, 'Unschedulable pods the agent would report.', 'gauge');
  m.declare(MetricNames.pendingShapes, 'Distinct scheduling shapes among the pending pods.', 'gauge');
  m.declare(MetricNames.pendingPodsByShape, 'Pending pods per scheduling shape id.', 'gauge', false);
  m.declare(MetricNames.drains, 'DrainNode commands handled, by outcome.', 'counter', false);
  m.declare(MetricNames.evictions, 'Eviction API calls, by result.', 'counter', false);
  m.declare(MetricNames.nodeDeletes, 'DeleteNode commands handled, by outcome.', 'counter', false);
  m.declare(MetricNames.invalidCommands, 'Queue messages rejected as invalid (left for the DLQ).', 'counter');
  m.declare(
    MetricNames.watchRestarts,
    'Watch connections restarted after an error or close.',
    'counter',
    false,
  );
  m.declare(MetricNames.relists, 'Full re-lists (first sync, 410 Gone, errors).', 'counter', false);
  m.declare(MetricNames.cachedObjects, 'Objects in the informer caches.', 'gauge', false);
  m.declare(MetricNames.isLeader, '1 when this replica publishes and consumes commands.', 'gauge');
  m.declare(MetricNames.joinTokensMinted, 'K3s bootstrap tokens minted and published.', 'counter');
  m.declare(MetricNames.joinTokensDeleted, 'Expired bootstrap tokens deleted by the agent.', 'counter');
  m.declare(
    MetricNames.joinTokenFailures,
    'Bootstrap token checks that failed (mint, publish); launches stop when the token runs short.',
    'counter',
  );
  m.declare(MetricNames.joinTokenExpiry, 'Unix time the published bootstrap token expires.', 'gauge');
  m.declareHistogram(
    MetricNames.stageSeconds,
    'Burst stage durations seen by the agent, by stage (registered-to-ready, pod-wait), seconds.',
    STAGE_BUCKETS_SECONDS,
  );
  m.declare(
    MetricNames.stageRejected,
    'Stage durations not recorded (unparsable time, negative beyond clock skew, over the bound), by stage and reason.',
    'counter',
    false,
  );
  return m;
}
