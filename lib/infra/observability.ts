import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type HorizontalAnnotation,
  type IAlarm,
  Metric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** CloudWatch namespace of the metrics the Lambdas publish (EMF via Powertools). */
export const METRICS_NAMESPACE = 'k3s-burst';
/**
 * `service` dimension value: Powertools always adds `service` (= POWERTOOLS_SERVICE_NAME)
 * to every metric, so all functions share one value and alarms can match it.
 */
export const METRICS_SERVICE = 'k3s-burst';

/** Metric names the Lambdas emit, with dimensions `{service: "k3s-burst", cluster: <name>}`. */
export const MetricNames = {
  /** reconcile, per snapshot: pending pods in the snapshot (Count). */
  pendingPods: 'PendingPods',
  /** reconcile, per decision: managed cloud nodes/instances counted (Count). */
  managedNodes: 'ManagedNodes',
  /** launch: instances EC2 accepted (Count). */
  instancesLaunched: 'InstancesLaunched',
  /** terminate/janitor: instances terminated (Count). */
  instancesTerminated: 'InstancesTerminated',
  /** launch: launch requests that ended without any instance (Count). */
  launchFailures: 'LaunchFailures',
  /** launch: ScaleOutRequested refused by the launch guard (forged, foreign, over the limits) (Count). */
  launchRequestsRefused: 'LaunchRequestsRefused',
  /** launch: InsufficientInstanceCapacity / spot / quota errors, each (Count). */
  capacityLimitErrors: 'CapacityLimitErrors',
  /** reconcile/launch: a launch setup (instances never registered) or a quota was backed off (Count). */
  launchBackoffs: 'LaunchBackoffs',
  /** launch/terminate/janitor: the Tailscale credential (federated token or OAuth client) was refused (Count). */
  tailscaleAuthFailures: 'TailscaleAuthFailures',
  /** reconcile: from snapshot observedAt (or tick) to the recorded plan (Milliseconds). */
  decisionLatency: 'DecisionLatencyMs',
  /** reconcile, every run including ticks: now − observedAt of the newest snapshot (Seconds). */
  snapshotAge: 'SnapshotAgeSeconds',
  /** reconcile: pods no cloud node could ever host (Count). */
  unhelpablePods: 'UnhelpablePods',
} as const;

/**
 * The burst stage metrics reconcile emits (Seconds, one datapoint per burst and stage; issue 17
 * item 2, lib/core/stage-timings.ts STAGES), in burst order, with the dashboard's label.
 */
export const StageMetricNames = [
  ['StagePendingToDecisionSeconds', 'pending → decision'],
  ['StageDecisionToRunningSeconds', 'decision → running'],
  ['StageRunningToReadySeconds', 'running → Node Ready'],
  ['StageRegisteredToReadySeconds', 'registered → Ready'],
  ['StagePodWaitSeconds', 'pod wait'],
] as const;

/** Props of {@link Observability}. */
export interface ObservabilityProps {
  readonly clusterName: string;
  readonly functions: ReadonlyArray<[string, IFunction]>;
  /** Every DLQ, by a short name: an alarm fires as soon as one holds a message. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /** The agent is stale after this long without a snapshot (config `agent.staleAfterSeconds`). */
  readonly staleAfterSeconds: number;
}

/**
 * Dashboard `k3s-burst-<cluster>` and alarms, all notifying one SNS topic (subscribe to it
 * after deploy, docs/deploy.md): each DLQ non-empty, each function erroring, the agent
 * silent longer than `staleAfterSeconds` (missing data counts as silent), launch failures,
 * capacity errors and a refused Tailscale credential.
 */
export class Observability extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Record<string, IAlarm> = {};

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const metric = (metricName: string, statistic: string, period = Duration.minutes(5)): Metric =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: METRICS_SERVICE, cluster: props.clusterName },
        statistic,
        period,
      });

    this.topic = new Topic(this, 'AlarmTopic', {
      topicName: `k3s-burst-${props.clusterName}-alarms`,
      displayName: `k3s-burst ${props.clusterName} alarms`,
      enforceSSL: true,
    });
    const action = new SnsAction(this.topic);
    const alarm = (alarmId: string, a: Alarm): void => {
      a.addAlarmAction(action);
      a.addOkAction(action);
      this.alarms[alarmId] = a;
    };

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      alarm(
        `Dlq-${name}`,
        new Alarm(this, `DlqAlarm-${name}`, {
          alarmName: `k3s-burst-${props.clusterName}-dlq-${name}`,
          alarmDescription: `Messages in the ${name} DLQ: a delivery or invocation failed for good. Inspect, fix, then redrive or purge.`,
          metric: queue.metricApproximateNumberOfMessagesVisible({
            statistic: 'Maximum',
            period: Duration.minutes(5),
          }),
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    for (const [name, fn] of props.functions) {
      alarm(
        `Errors-${name}`,
        new Alarm(this, `ErrorsAlarm-${name}`, {
          alarmName: `k3s-burst-${props.clusterName}-${name}-errors`,
          alarmDescription: `The ${name} function failed (see its log group).`,
          metric: fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    alarm(
      'AgentSilent',
      new Alarm(this, 'AgentSilentAlarm', {
        alarmName: `k3s-burst-${props.clusterName}-agent-silent`,
        alarmDescription: `No fresh snapshot for more than ${props.staleAfterSeconds} s: scale-in and repairs are paused; after abandonAfterSeconds every cloud node is terminated. Check the agent pod and the home internet link.`,
        metric: metric(MetricNames.snapshotAge, 'Maximum'),
        threshold: props.staleAfterSeconds,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // No datapoint means reconcile saw no snapshot and ran no tick: that is silence too.
        treatMissingData: TreatMissingData.BREACHING,
      }),
    );
    alarm(
      'LaunchFailures',
      new Alarm(this, 'LaunchFailuresAlarm', {
        alarmName: `k3s-burst-${props.clusterName}-launch-failures`,
        alarmDescription: 'A scale-out produced no instance (all types, zones and capacity types failed).',
        metric: metric(MetricNames.launchFailures, 'Sum'),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    alarm(
      'LaunchRequestsRefused',
      new Alarm(this, 'LaunchRequestsRefusedAlarm', {
        alarmName: `k3s-burst-${props.clusterName}-launch-requests-refused`,
        alarmDescription:
          'The launch function refused a ScaleOutRequested that the decider did not record or that breaks the config or limits: someone or something put a request on the bus that k3s-burst did not decide. Look up the reason in the launch log group.',
        metric: metric(MetricNames.launchRequestsRefused, 'Sum'),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    alarm(
      'CapacityLimitErrors',
      new Alarm(this, 'CapacityLimitErrorsAlarm', {
        alarmName: `k3s-burst-${props.clusterName}-capacity-limit-errors`,
        alarmDescription:
          'EC2 refused capacity repeatedly (insufficient capacity, spot or vCPU quota): widen candidateTypes or request a quota increase.',
        metric: metric(MetricNames.capacityLimitErrors, 'Sum', Duration.minutes(15)),
        threshold: 3,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );

    alarm(
      'LaunchBackoffs',
      new Alarm(this, 'LaunchBackoffsAlarm', {
        alarmName: `k3s-burst-${props.clusterName}-launch-backoffs`,
        alarmDescription:
          'A launch setup (instance type, image, capacity type) whose instances never registered, or an EC2 quota, was backed off: launches of it wait 5 to 30 min. Run `k3s-burst status` (Held back) and check the instance console output, Tailscale auth and the K3s server URL, or the quota.',
        metric: metric(MetricNames.launchBackoffs, 'Sum', Duration.minutes(15)),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );

    alarm(
      'TailscaleAuthFailures',
      new Alarm(this, 'TailscaleAuthFailuresAlarm', {
        alarmName: `k3s-burst-${props.clusterName}-tailscale-auth-failures`,
        alarmDescription:
          'The Lambdas could not authenticate to the Tailscale API, so nothing launches: with tailscale.auth federated, outbound identity federation is off or the federated identity does not trust this account/role; with oauth-client, the stored client was refused. The launch log line names the fix; run `k3s-burst doctor`.',
        metric: metric(MetricNames.tailscaleAuthFailures, 'Sum'),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );

    const fnMetrics = (f: (fn: IFunction) => Metric): Metric[] => props.functions.map(([, fn]) => f(fn));
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `k3s-burst-${props.clusterName}`,
      defaultInterval: Duration.hours(6),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# k3s-burst · ${props.clusterName}\nMetrics namespace \`${METRICS_NAMESPACE}\`, dimension \`cluster=${props.clusterName}\`.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Pending pods',
        left: [metric(MetricNames.pendingPods, 'Maximum', Duration.minutes(1))],
        right: [metric(MetricNames.unhelpablePods, 'Maximum', Duration.minutes(1))],
        width: 8,
      }),
      new GraphWidget({
        title: 'Managed cloud nodes',
        left: [metric(MetricNames.managedNodes, 'Maximum', Duration.minutes(1))],
        width: 8,
      }),
      new GraphWidget({
        title: 'Launches, terminations, failures',
        left: [
          metric(MetricNames.instancesLaunched, 'Sum'),
          metric(MetricNames.instancesTerminated, 'Sum'),
          metric(MetricNames.launchFailures, 'Sum'),
          metric(MetricNames.capacityLimitErrors, 'Sum'),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Decision latency (ms)',
        left: [
          metric(MetricNames.decisionLatency, 'p50', Duration.minutes(1)),
          metric(MetricNames.decisionLatency, 'p99', Duration.minutes(1)),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Snapshot age (s)',
        left: [metric(MetricNames.snapshotAge, 'Maximum', Duration.minutes(1))],
        leftAnnotations: [
          { value: props.staleAfterSeconds, label: 'stale', color: '#d62728' } satisfies HorizontalAnnotation,
        ],
        width: 8,
      }),
      new SingleValueWidget({
        title: 'DLQ depth',
        metrics: Object.values(props.deadLetterQueues).map((q) =>
          q.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' }),
        ),
        width: 8,
      }),
    );
    // CloudWatch computes the percentiles over the EMF datapoints of each period.
    const stages = (statistic: string) =>
      StageMetricNames.map(([name, label]) => metric(name, statistic, Duration.hours(1)).with({ label }));
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Burst stages p50 (s, per hour)', left: stages('p50'), width: 12 }),
      new GraphWidget({ title: 'Burst stages p95 (s, per hour)', left: stages('p95'), width: 12 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Lambda errors',
        left: fnMetrics((fn) => fn.metricErrors({ statistic: 'Sum' })),
        width: 12,
      }),
      new GraphWidget({
        title: 'Lambda duration p99 (ms)',
        left: fnMetrics((fn) => fn.metricDuration({ statistic: 'p99' })),
        width: 12,
      }),
    );
  }
}
