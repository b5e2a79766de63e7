import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { EventBus, IEventBus } from 'aws-cdk-lib/aws-events';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ROUTES, type RouteSpec } from './event-patterns.js';
import { deadLetterQueue } from './queues.js';

/** Delivery retry policy of one rule target. */
export interface TargetRetry {
  readonly maxEventAge: Duration;
  readonly retryAttempts: number;
}

/**
 * Retry policy per route. EventBridge retries a failed delivery (throttling, missing
 * permission) with backoff; what is useless after a while gets a short age: a snapshot is
 * superseded within a minute, a spot warning expires in two. Terminations must not be
 * lost, so they get the longest window.
 */
export const ROUTE_RETRY: Record<string, TargetRetry> = {
  Snapshot: { maxEventAge: Duration.minutes(10), retryAttempts: 10 },
  AgentCommands: { maxEventAge: Duration.hours(1), retryAttempts: 50 },
  // Explanations only: useless once the pods are placed.
  PodNotices: { maxEventAge: Duration.minutes(10), retryAttempts: 5 },
  ScaleOut: { maxEventAge: Duration.minutes(15), retryAttempts: 20 },
  Terminate: { maxEventAge: Duration.hours(6), retryAttempts: 100 },
  NodeDrained: { maxEventAge: Duration.hours(1), retryAttempts: 50 },
  SpotInterruption: { maxEventAge: Duration.minutes(2), retryAttempts: 5 },
  InstanceStateChange: { maxEventAge: Duration.minutes(30), retryAttempts: 20 },
};

/** Props of {@link EventRouting}. */
export interface EventRoutingProps {
  readonly clusterName: string;
  /** The cluster bus (created by the stack first: the functions need its name). */
  readonly bus: EventBus;
  readonly functions: Readonly<Record<'reconcile' | 'launch' | 'terminate' | 'interruption', IFunction>>;
  readonly commandQueue: IQueue;
  /** @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Every rule of {@link ROUTES}, with a DLQ
 * shared by all rule targets and a per-route retry policy. EC2 routes live on the
 * account's default bus (the only bus AWS service events reach).
 */
export class EventRouting extends Construct {
  readonly bus: EventBus;
  readonly deadLetterQueue: Queue;
  readonly rules: Record<string, Rule> = {};

  constructor(scope: Construct, id: string, props: EventRoutingProps) {
    super(scope, id);
    this.bus = props.bus;
    this.deadLetterQueue = deadLetterQueue(this, 'TargetDlq', {
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
      queueProps: { queueName: `k3s-burst-${props.clusterName}-events-dlq` },
    });
    for (const route of ROUTES) this.addRoute(route, props);
  }

  private addRoute(route: RouteSpec, props: EventRoutingProps): void {
    const bus: IEventBus | undefined = route.bus === 'cluster' ? this.bus : undefined;
    const retry = ROUTE_RETRY[route.id] ?? { maxEventAge: Duration.hours(1), retryAttempts: 20 };
    const targetProps = { deadLetterQueue: this.deadLetterQueue, ...retry };
    const target =
      route.target === 'command-queue'
        ? new SqsQueue(props.commandQueue, targetProps)
        : new LambdaFunction(props.functions[route.target], targetProps);
    this.rules[route.id] = new Rule(this, `${route.id}Rule`, {
      ruleName: `k3s-burst-${props.clusterName}-${kebab(route.id)}`,
      description: route.description,
      eventBus: bus,
      eventPattern: { source: [...route.pattern.source], detailType: [...route.pattern['detail-type']] },
      targets: [target],
    });
  }
}

function kebab(id: string): string {
  return id.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
