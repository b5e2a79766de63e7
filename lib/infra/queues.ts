import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Queue, QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** Options of {@link deadLetterQueue}. */
export interface DeadLetterQueueProps {
  /** @default RemovalPolicy.DESTROY (set by the stack) */
  readonly removalPolicy?: RemovalPolicy;
  /** Overrides for the underlying queue. */
  readonly queueProps?: QueueProps;
}

/**
 * An SQS queue that holds failed deliveries: SSE with SQS-managed keys (EventBridge,
 * Scheduler and Lambda can write to it without a KMS key policy), TLS enforced, and the
 * maximum 14-day retention so an operator has time to look.
 */
export function deadLetterQueue(scope: Construct, id: string, props: DeadLetterQueueProps = {}): Queue {
  return new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: props.removalPolicy,
    ...props.queueProps,
  });
}
