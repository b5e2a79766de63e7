import { Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleGroup,
  ScheduleTargetInput,
  TimeWindow,
} from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SchedulePolicy } from '../events/index.js';
import { toSchedulerCron } from './scheduler-cron.js';

/** Props of {@link CapacitySchedules}. */
export interface CapacitySchedulesProps {
  readonly clusterName: string;
  /** The config's capacity policies; each fires reconcile at its boundary. */
  readonly policies: readonly SchedulePolicy[];
  readonly reconcile: IFunction;
  readonly janitor: IFunction;
  /** Receives invocations Scheduler could not deliver. */
  readonly deadLetterQueue: IQueue;
  /**
   * How often the janitor runs.
   * @default Duration.minutes(5)
   */
  readonly janitorInterval?: Duration;
  /**
   * How often reconcile runs without any event. Time-driven decisions (empty-node and
   * registration timeouts, stale and abandoned agent) must happen even when the agent is
   * silent, which is exactly when no snapshot arrives.
   * @default Duration.minutes(5)
   */
  readonly reconcileInterval?: Duration;
  /**
   * What happens to the schedule group on `cdk destroy`. CDK's own default for a group is
   * RETAIN, which would leave `k3s-burst-<cluster>` behind and make the next deploy of the
   * same cluster fail on its name; the stack retains nothing unless the config says so.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * EventBridge Scheduler schedules in group `k3s-burst-<cluster>`: one per capacity policy
 * (cron in the policy's time zone), a periodic reconcile tick and the janitor. Each
 * delivers a bare JSON input (no envelope) that `parseScheduledTick` understands:
 * `{"action":"reconcile","policy":"<name>","scheduledAt":"<aws.scheduler.scheduled-time>"}`.
 * One role, assumable only by Scheduler from this account, may invoke only these two
 * functions.
 */
export class CapacitySchedules extends Construct {
  readonly group: ScheduleGroup;
  readonly role: Role;
  readonly schedules: Record<string, Schedule> = {};

  constructor(scope: Construct, id: string, props: CapacitySchedulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.group = new ScheduleGroup(this, 'Group', {
      scheduleGroupName: `k3s-burst-${props.clusterName}`,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.role = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `k3s-burst ${props.clusterName}: EventBridge Scheduler may invoke reconcile and janitor only`,
    });
    const target = (fn: IFunction, input: Record<string, string>): LambdaInvoke =>
      new LambdaInvoke(fn, {
        role: this.role,
        input: ScheduleTargetInput.fromObject(input),
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 3,
        maxEventAge: Duration.minutes(15),
      });
    const scheduledAt = ContextAttribute.scheduledTime;

    for (const policy of props.policies) {
      this.schedules[`policy-${policy.name}`] = new Schedule(this, `Policy-${policy.name}`, {
        scheduleName: `policy-${policy.name}`,
        scheduleGroup: this.group,
        description: `Capacity policy "${policy.name}" (${policy.cron} ${policy.timezone}): min ${policy.minNodes}, max ${policy.maxNodes}`,
        schedule: ScheduleExpression.expression(toSchedulerCron(policy.cron), TimeZone.of(policy.timezone)),
        target: target(props.reconcile, { action: 'reconcile', policy: policy.name, scheduledAt }),
        timeWindow: TimeWindow.off(),
      });
    }
    this.schedules['reconcile-tick'] = new Schedule(this, 'ReconcileTick', {
      scheduleName: 'reconcile-tick',
      scheduleGroup: this.group,
      description: 'Periodic reconcile: time-driven decisions happen even when the agent is silent',
      schedule: ScheduleExpression.rate(props.reconcileInterval ?? Duration.minutes(5)),
      target: target(props.reconcile, { action: 'reconcile', scheduledAt }),
      timeWindow: TimeWindow.off(),
    });
    this.schedules.janitor = new Schedule(this, 'Janitor', {
      scheduleName: 'janitor',
      scheduleGroup: this.group,
      description: 'Janitor: orphan instances and stale Tailscale devices',
      schedule: ScheduleExpression.rate(props.janitorInterval ?? Duration.minutes(5)),
      target: target(props.janitor, { action: 'janitor', scheduledAt }),
      timeWindow: TimeWindow.off(),
    });
  }
}
