/**
 * The one metrics interface of k3s-burst, for the Lambdas (adapter: Powertools Metrics, EMF,
 * lambdas/runtime.ts), the agent (adapter: its Prometheus registry, lib/agent/metrics.ts) and the
 * simulator (which sums counts, lib/sim/lambdas.ts). A component only counts and records
 * values; how they are exported is the adapter's business.
 * No imports: Lambdas, agent and simulator may all depend on it.
 */

/** Unit of a recorded value (EMF units; Prometheus names carry theirs as a suffix). */
export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds' | 'Bytes' | 'None';
/** Labels (Prometheus) or dimensions (EMF) of one series. */
export type MetricLabels = Record<string, string>;

/** Where a component puts its metrics; `N` narrows the names it may use. */
export interface Metrics<N extends string = string> {
  /** Add `value` (default 1) to a counter. */
  count(name: N, value?: number, labels?: MetricLabels): void;
  /** Record the current value of something: a gauge (Prometheus), a datapoint with its unit (EMF). */
  gauge(name: N, value: number, unit?: MetricUnit, labels?: MetricLabels): void;
}

/** One datapoint a {@link RecordingMetrics} kept. */
export interface MetricPoint<N extends string = string> {
  name: N;
  unit: MetricUnit;
  value: number;
  labels?: MetricLabels;
}

/** Metrics that remember every datapoint, for tests and for `k3s-burst` tooling. */
export class RecordingMetrics<N extends string = string> implements Metrics<N> {
  readonly points: MetricPoint<N>[] = [];
  count(name: N, value = 1, labels?: MetricLabels): void {
    this.points.push({ name, unit: 'Count', value, ...(labels ? { labels } : {}) });
  }
  gauge(name: N, value: number, unit: MetricUnit = 'None', labels?: MetricLabels): void {
    this.points.push({ name, unit, value, ...(labels ? { labels } : {}) });
  }
  /** Sum of a metric's datapoints (0 when never emitted). */
  total(name: N): number {
    return this.points.filter((p) => p.name === name).reduce((a, p) => a + p.value, 0);
  }
  has(name: N): boolean {
    return this.points.some((p) => p.name === name);
  }
}

/** Metrics that go nowhere: the default when a component is given none. */
export const discardMetrics: Metrics = { count() {}, gauge() {} };
