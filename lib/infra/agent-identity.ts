import { RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { CfnAccessKey, PolicyStatement, User } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DetailTypes, Sources } from '../events/index.js';

/** Detail-types the agent may put on the bus: nothing that could trigger a launch or termination directly. */
export const AGENT_DETAIL_TYPES = [DetailTypes.clusterSnapshot, DetailTypes.nodeDrained] as const;

/** Props of {@link AgentIdentity}. */
export interface AgentIdentityProps {
  readonly clusterName: string;
  readonly bus: IEventBus;
  readonly commandQueue: IQueue;
  /** @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The K3s bootstrap-token secret (`k3s.joinCredential: bootstrap-token`): the agent may
   * PutSecretValue on it, and nothing else on any secret.
   * @default - no bootstrap tokens (agent-token mode)
   */
  readonly joinTokenSecret?: ISecret;
}

/**
 * The in-cluster agent's AWS identity: an IAM user that can only
 * - PutEvents on this cluster's bus with `source` `k3s-burst.agent` and detail-type
 *   ClusterSnapshot or NodeDrained;
 * - receive, delete and change the visibility of messages on its command queue;
 * - in bootstrap-token mode, PutSecretValue on the K3s bootstrap-token secret (it writes the
 *   short-lived join token it mints; it cannot read that or any other secret).
 *
 * Its access key goes straight into a Secrets Manager secret (the secret access key is a
 * `GetAtt` resolved by CloudFormation, never an output or parameter). IAM Roles Anywhere
 * is the keyless alternative (docs/iam.md).
 */
export class AgentIdentity extends Construct {
  readonly user: User;
  readonly credentials: Secret;

  constructor(scope: Construct, id: string, props: AgentIdentityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.user = new User(this, 'User', { path: '/k3s-burst/' });
    this.user.addToPolicy(
      new PolicyStatement({
        sid: 'PutAgentEventsOnly',
        actions: ['events:PutEvents'],
        resources: [props.bus.eventBusArn],
        conditions: {
          StringEquals: { 'events:source': Sources.agent, 'events:detail-type': [...AGENT_DETAIL_TYPES] },
        },
      }),
    );
    this.user.addToPolicy(
      new PolicyStatement({
        sid: 'ConsumeCommandQueue',
        // Exactly the calls of lib/agent (a test compares them): no GetQueueAttributes.
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
        resources: [props.commandQueue.queueArn],
      }),
    );
    if (props.joinTokenSecret) {
      this.user.addToPolicy(
        new PolicyStatement({
          sid: 'PublishK3sJoinToken',
          actions: ['secretsmanager:PutSecretValue'],
          resources: [props.joinTokenSecret.secretArn],
        }),
      );
    }
    const key = new CfnAccessKey(this, 'AccessKey', { userName: this.user.userName, status: 'Active' });
    this.credentials = new Secret(this, 'Credentials', {
      secretName: `k3s-burst/${props.clusterName}/agent-credentials`,
      description:
        'Access key of the k3s-burst agent IAM user (for the in-cluster Secret, see docs/agent.md)',
      secretObjectValue: {
        accessKeyId: SecretValue.unsafePlainText(key.ref),
        secretAccessKey: SecretValue.resourceAttribute(key.attrSecretAccessKey),
        region: SecretValue.unsafePlainText(stack.region),
        eventBusName: SecretValue.unsafePlainText(props.bus.eventBusName),
        commandQueueUrl: SecretValue.unsafePlainText(props.commandQueue.queueUrl),
        ...(props.joinTokenSecret
          ? { bootstrapTokenSecretArn: SecretValue.unsafePlainText(props.joinTokenSecret.secretArn) }
          : {}),
      },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    Validations.of(this.credentials).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'IAM access keys cannot be rotated by a Secrets Manager rotation without a custom Lambda; rotate by replacing the CfnAccessKey (docs/iam.md), or use IAM Roles Anywhere',
    });
  }
}
