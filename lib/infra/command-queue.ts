import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueue } from './queues.js';

/** Props of {@link CommandQueue}. */
export interface CommandQueueProps {
  readonly clusterName: string;
  /**
   * How long a received command stays invisible: longer than the agent needs to start a
   * drain (the drain itself reports back with `NodeDrained`).
   * @default Duration.minutes(2)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives before a command moves to the DLQ.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /** @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Commands for the agent (bus → rule → queue → agent): SSE, TLS only, a DLQ with redrive.
 * Each message body is the whole EventBridge event (envelope with `detail`). Commands are
 * useless after their deadline, so retention is one day.
 */
export class CommandQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: CommandQueueProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.deadLetterQueue = deadLetterQueue(this, 'Dlq', {
      removalPolicy,
      queueProps: { queueName: `k3s-burst-${props.clusterName}-commands-dlq` },
    });
    this.queue = new Queue(this, 'Queue', {
      queueName: `k3s-burst-${props.clusterName}-commands`,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(2),
      retentionPeriod: Duration.days(1),
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
      removalPolicy,
    });
  }
}
