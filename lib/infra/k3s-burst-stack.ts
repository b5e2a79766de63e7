import {
  Aws,
  Tags as CdkTags,
  type CfnElement,
  CfnOutput,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Token,
  Validations,
} from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  type Config,
  Sources,
  TAILSCALE_IDENTITY_TOKEN_SECONDS,
  Tags,
  tailscaleAudience,
  tailscaleFederatedSubject,
} from '../events/index.js';
import type { LambdaEnvInput } from '../events/lambda-env.js';
import { AgentIdentity } from './agent-identity.js';
import { BurstFunctions, FUNCTION_NAMES, type FunctionCodeMode } from './burst-functions.js';
import { CapacitySchedules } from './capacity-schedules.js';
import { ClusterSecrets } from './cluster-secrets.js';
import { CommandQueue } from './command-queue.js';
import { InfraError } from './errors.js';
import { EventRouting } from './event-routing.js';
import {
  describeStatement,
  launchStatements,
  terminateStatement,
  warmPoolStatement,
} from './fleet-permissions.js';
import { FUNCTION_ACCESS, STATE_TABLE_ACTIONS } from './function-access.js';
import { resolveImageOwners } from './image-owners.js';
import { BurstNetwork } from './network.js';
import { NodeLaunchTemplate } from './node-template.js';
import { METRICS_NAMESPACE, METRICS_SERVICE, Observability } from './observability.js';
import { deadLetterQueue } from './queues.js';
import { StateTable } from './state-table.js';

/**
 * Lambda allows 4 KB of environment in total; the other variables take about 1.5 KB
 * (ARNs, URLs), so the serialized config gets the rest.
 */
export const MAX_CONFIG_JSON_BYTES = 2500;

/** Props of {@link K3sBurstStack}. */
export interface K3sBurstStackProps extends StackProps {
  /** The validated config (see `loadStackConfig`). */
  readonly config: Config;
  /**
   * `none` synthesizes stub function code (unit tests only).
   * @default 'esbuild'
   */
  readonly codeMode?: FunctionCodeMode;
  /**
   * Repository root (holds `lambdas/`).
   * @default - derived from this file's location
   */
  readonly projectRoot?: string;
  /**
   * Keep the state table and the two operator-set secrets on `cdk destroy`. They then
   * keep billing (secrets $0.40/month each) until deleted by hand.
   * @default false
   */
  readonly retainData?: boolean;
  /**
   * Reserved concurrency of reconcile; `undefined` turns it off (accounts whose Lambda
   * concurrency quota is still 10 cannot reserve any).
   * @default 1
   */
  readonly reconcileReservedConcurrency?: number | undefined;
}

/** Stack name for a cluster. */
export function stackNameFor(clusterName: string): string {
  return `K3sBurst-${clusterName}`;
}

/**
 * Everything k3s-burst needs in AWS for one cluster, from one validated config
 * (docs/architecture.md). See docs/deploy.md and docs/iam.md.
 */
export class K3sBurstStack extends Stack {
  readonly config: Config;
  readonly network: BurstNetwork;
  readonly nodes: NodeLaunchTemplate;
  readonly state: StateTable;
  readonly secrets: ClusterSecrets;
  readonly commands: CommandQueue;
  readonly bus: EventBus;
  readonly functions: BurstFunctions;
  readonly routing: EventRouting;
  readonly schedules: CapacitySchedules;
  readonly agent: AgentIdentity;
  readonly observability: Observability;
  /** Async-invocation failures of every function. */
  readonly functionsDlq: Queue;
  /** Deliveries EventBridge Scheduler gave up on. */
  readonly schedulerDlq: Queue;

  constructor(scope: Construct, id: string, props: K3sBurstStackProps) {
    super(scope, id, {
      description: `k3s-burst: burst K3s cluster "${props.config.cluster.name}" onto EC2 over Tailscale`,
      ...props,
    });
    const config = props.config;
    this.config = config;
    const cluster = config.cluster.name;
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    // Cost allocation and ownership. Dashboards are excluded: cfn-lint's resource spec
    // does not (yet) accept Tags on AWS::CloudWatch::Dashboard.
    CdkTags.of(this).add(Tags.cluster, cluster, { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] });

    this.network = new BurstNetwork(this, 'Network', {
      vpcId: config.network.vpcId,
      subnetIds: config.network.subnetIds,
      availabilityZoneCount: config.network.availabilityZoneCount,
      vpcCidr: config.network.vpcCidr,
    });
    this.nodes = new NodeLaunchTemplate(this, 'Nodes', {
      clusterName: cluster,
      securityGroup: this.network.securityGroup,
      rootVolumeGiB: config.nodes.rootVolumeGiB,
      rootDeviceName: config.nodes.rootDeviceName,
      ssmSessionManager: config.nodes.ssmSessionManager,
    });
    this.state = new StateTable(this, 'State', { tableName: `k3s-burst-${cluster}`, removalPolicy });
    this.secrets = new ClusterSecrets(this, 'Secrets', {
      clusterName: cluster,
      removalPolicy,
      joinCredential: config.k3s.joinCredential,
      tailscaleAuth: config.tailscale.auth,
    });
    this.commands = new CommandQueue(this, 'Commands', { clusterName: cluster });
    this.bus = new EventBus(this, 'Bus', { eventBusName: `k3s-burst-${cluster}` });
    this.functionsDlq = deadLetterQueue(this, 'FunctionsDlq', {
      queueProps: { queueName: `k3s-burst-${cluster}-functions-dlq` },
    });
    const functionsDlq = this.functionsDlq;
    this.schedulerDlq = deadLetterQueue(this, 'SchedulerDlq', {
      queueProps: { queueName: `k3s-burst-${cluster}-scheduler-dlq` },
    });
    const schedulerDlq = this.schedulerDlq;

    const { $schema: _schema, ...configForLambdas } = config;
    const configJson = JSON.stringify(configForLambdas);
    if (Buffer.byteLength(configJson) > MAX_CONFIG_JSON_BYTES) {
      throw new InfraError(
        `the config is ${Buffer.byteLength(configJson)} bytes as JSON; Lambda environments hold 4 KB, so at most ${MAX_CONFIG_JSON_BYTES} bytes fit: shorten "catalog" (only list types you override) or "candidateTypes"`,
      );
    }
    // Typed by the one Lambda environment schema (lib/events/lambda-env.ts): a variable the
    // runtime reads cannot be left out; BurstFunctions adds NODE_OPTIONS and checks the values.
    const environment: Omit<LambdaEnvInput, 'NODE_OPTIONS'> = {
      CLUSTER_NAME: cluster,
      EVENT_BUS_NAME: this.bus.eventBusName,
      TABLE_NAME: this.state.table.tableName,
      COMMAND_QUEUE_URL: this.commands.queue.queueUrl,
      // Empty with tailscale.auth federated: no OAuth client is stored.
      TAILSCALE_OAUTH_SECRET_ARN: this.secrets.tailscaleOAuth?.secretArn ?? '',
      K3S_JOIN_TOKEN_SECRET_ARN: this.secrets.k3sJoinToken.secretArn,
      LAUNCH_TEMPLATE_ID: this.nodes.launchTemplate.launchTemplateId ?? '',
      SUBNET_IDS: this.network.subnets.map((s) => s.subnetId).join(','),
      SECURITY_GROUP_ID: this.network.securityGroup.securityGroupId,
      INSTANCE_PROFILE_ARN: this.nodes.instanceProfile.instanceProfileArn,
      AMI_PARAMETER_ARM64: config.nodes.amiSsmParameters.arm64,
      AMI_PARAMETER_AMD64: config.nodes.amiSsmParameters.amd64,
      CONFIG_JSON: configJson,
      POWERTOOLS_SERVICE_NAME: METRICS_SERVICE,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    this.functions = new BurstFunctions(this, 'Functions', {
      clusterName: cluster,
      environment,
      asyncDeadLetterQueue: functionsDlq,
      projectRoot: props.projectRoot,
      codeMode: props.codeMode,
      ...('reconcileReservedConcurrency' in props
        ? { reconcileReservedConcurrency: props.reconcileReservedConcurrency }
        : {}),
    });
    this.grantFunctionPermissions();

    const fns = this.functions.functions;
    this.routing = new EventRouting(this, 'Routing', {
      clusterName: cluster,
      bus: this.bus,
      functions: fns,
      commandQueue: this.commands.queue,
    });
    this.schedules = new CapacitySchedules(this, 'Schedules', {
      clusterName: cluster,
      policies: config.schedules,
      reconcile: fns.reconcile,
      janitor: fns.janitor,
      deadLetterQueue: schedulerDlq,
    });
    this.agent = new AgentIdentity(this, 'Agent', {
      clusterName: cluster,
      bus: this.bus,
      commandQueue: this.commands.queue,
      ...(this.secrets.k3sBootstrapToken ? { joinTokenSecret: this.secrets.k3sBootstrapToken } : {}),
    });
    this.restrictBusWriters();
    this.observability = new Observability(this, 'Observability', {
      clusterName: cluster,
      functions: this.functions.all(),
      deadLetterQueues: {
        events: this.routing.deadLetterQueue,
        functions: functionsDlq,
        scheduler: schedulerDlq,
        commands: this.commands.deadLetterQueue,
      },
      staleAfterSeconds: config.agent.staleAfterSeconds,
    });

    // Names and ARNs only: no secret value is ever an output.
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'CommandQueueUrl', { value: this.commands.queue.queueUrl });
    if (this.secrets.tailscaleOAuth)
      new CfnOutput(this, 'TailscaleOAuthSecretArn', { value: this.secrets.tailscaleOAuth.secretArn });
    else
      new CfnOutput(this, 'TailscaleFederatedSubject', {
        description:
          'tailscale.auth federated: the subject the Tailscale federated identity trusts (docs/deploy.md)',
        value: tailscaleFederatedSubject(Aws.ACCOUNT_ID, cluster, Aws.PARTITION),
      });
    if (this.secrets.k3sAgentToken)
      new CfnOutput(this, 'K3sAgentTokenSecretArn', { value: this.secrets.k3sAgentToken.secretArn });
    if (this.secrets.k3sBootstrapToken)
      new CfnOutput(this, 'K3sBootstrapTokenSecretArn', { value: this.secrets.k3sBootstrapToken.secretArn });
    new CfnOutput(this, 'AgentCredentialsSecretArn', { value: this.agent.credentials.secretArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: `k3s-burst-${cluster}` });
    new CfnOutput(this, 'TableName', { value: this.state.table.tableName });
    // Where `k3s-burst bake` starts its builder: the nodes' subnets and security group.
    new CfnOutput(this, 'NodeSubnetIds', {
      value: Fn.join(
        ',',
        this.network.subnets.map((s) => s.subnetId),
      ),
    });
    new CfnOutput(this, 'NodeSecurityGroupId', { value: this.network.securityGroup.securityGroupId });
    // One comma-separated output (not one per queue) so tools need not know the queue set.
    new CfnOutput(this, 'DeadLetterQueueUrls', {
      description:
        'Every dead-letter queue of the stack, comma-separated: events, functions, scheduler, commands',
      value: Fn.join(
        ',',
        this.deadLetterQueues().map((q) => q.queueUrl),
      ),
    });

    this.acknowledgeNagFindings();
  }

  /**
   * The bus's resource policy (I12): PutEvents only from the agent's identity and the
   * stack's own function roles. Any other principal of the account — even one whose IAM
   * policy allows `events:PutEvents` on `*` — is denied, so nobody else can put a
   * ScaleOutRequested (or anything) on the bus. Each allowed identity's own policy then pins
   * the sources and detail-types it may use.
   */
  private restrictBusWriters(): void {
    const writers = [
      this.agent.user.userArn,
      ...this.config.agent.extraBusWriterRoleArns,
      ...FUNCTION_NAMES.map((n) => this.functions.roles[n].roleArn),
    ];
    this.bus.addToResourcePolicy(
      new PolicyStatement({
        sid: 'PutEventsOnlyFromAgentAndStackRoles',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': writers } },
      }),
    );
  }

  /** Every dead-letter queue, in the order of the `DeadLetterQueueUrls` output. */
  deadLetterQueues(): Queue[] {
    return [
      this.routing.deadLetterQueue,
      this.functionsDlq,
      this.schedulerDlq,
      this.commands.deadLetterQueue,
    ];
  }

  private grantFunctionPermissions(): void {
    const cluster = this.config.cluster.name;
    const { roles } = this.functions;
    const secretArns: Record<'tailscaleOAuth' | 'k3sJoinToken', string | undefined> = {
      tailscaleOAuth: this.secrets.tailscaleOAuth?.secretArn,
      k3sJoinToken: this.secrets.k3sJoinToken.secretArn,
    };
    const federatedClientId =
      this.config.tailscale.auth === 'federated' ? this.config.tailscale.federatedClientId : undefined;
    for (const name of FUNCTION_NAMES) {
      const role = roles[name];
      const access = FUNCTION_ACCESS[name];
      role.addToPolicy(
        new PolicyStatement({
          sid: 'StateTableItems',
          actions: [...STATE_TABLE_ACTIONS],
          resources: [this.state.table.tableArn],
        }),
      );
      // Each function may put events only under its own source: a compromised or buggy
      // function cannot impersonate the agent or another function.
      role.addToPolicy(
        new PolicyStatement({
          sid: 'PutOwnEvents',
          actions: ['events:PutEvents'],
          resources: [this.bus.eventBusArn],
          conditions: { StringEquals: { 'events:source': Sources[name] } },
        }),
      );
      role.addToPolicy(describeStatement(access.ec2Describe));
      const readable = access.secrets.flatMap((s) => secretArns[s] ?? []);
      if (readable.length > 0) {
        role.addToPolicy(
          new PolicyStatement({
            sid: 'ReadClusterSecrets',
            actions: ['secretsmanager:GetSecretValue'],
            resources: readable,
          }),
        );
      }
      // tailscale.auth federated: instead of the OAuth secret, an STS identity token for
      // Tailscale's audience only, living at most TAILSCALE_IDENTITY_TOKEN_SECONDS.
      if (federatedClientId && access.secrets.includes('tailscaleOAuth')) {
        role.addToPolicy(
          new PolicyStatement({
            sid: 'TailscaleIdentityToken',
            actions: ['sts:GetWebIdentityToken'],
            resources: ['*'],
            conditions: {
              'ForAllValues:StringEquals': {
                'sts:IdentityTokenAudience': [tailscaleAudience(federatedClientId)],
              },
              NumericLessThanEquals: { 'sts:DurationSeconds': TAILSCALE_IDENTITY_TOKEN_SECONDS },
            },
          }),
        );
      }
      if (access.terminates) role.addToPolicy(terminateStatement(this, cluster));
      if (access.warmPool) role.addToPolicy(warmPoolStatement(this, cluster, access.warmPool));
      if (access.launches) {
        for (const statement of launchStatements(this, {
          clusterName: cluster,
          subnetIds: this.network.subnets.map((s) => s.subnetId),
          vpcId: this.network.vpc.vpcId,
          securityGroupId: this.network.securityGroup.securityGroupId,
          instanceTypes: this.config.nodes.candidateTypes,
          imageOwners: resolveImageOwners({
            imageOwners: this.config.nodes.imageOwners,
            amiSsmParameters: this.config.nodes.amiSsmParameters,
            region: this.config.cluster.region,
          }),
          nodeRoleArn: this.nodes.role.roleArn,
          amiParameterNames: [
            this.config.nodes.amiSsmParameters.arm64,
            this.config.nodes.amiSsmParameters.amd64,
          ],
        })) {
          role.addToPolicy(statement);
        }
      }
    }
  }

  /**
   * cdk-nag AwsSolutions findings that are deliberate, each with the reason. Everything
   * else must be fixed, not acknowledged (a test enforces zero unacknowledged findings).
   */
  private acknowledgeNagFindings(): void {
    const ack = (scope: Construct, id: string, reason: string): void =>
      Validations.of(scope).acknowledge({ id, reason });
    const describeReason =
      'EC2 Describe* actions do not support resource-level permissions (read-only); iam:CreateServiceLinkedRole (launch only) is conditioned on iam:AWSServiceName spot.amazonaws.com';
    for (const name of FUNCTION_NAMES)
      ack(this.functions.roles[name], 'AwsSolutions-IAM5[Resource::*]', describeReason);

    const instanceReason = `instance ids are not known before launch; every statement on instance/* is conditioned on the ${Tags.cluster} tag (aws:RequestTag for launch, with ec2:InstanceType in nodes.candidateTypes and IMDSv2 required; aws:ResourceTag for terminate/retag; aws:ResourceTag ${Tags.cluster} and ${Tags.warmPool} for the warm pool's start/stop)`;
    for (const name of ['launch', 'terminate', 'janitor', 'reconcile'] as const) {
      ack(this.functions.roles[name], this.nagArnFinding('instance/*'), instanceReason);
    }
    const launch = this.functions.roles.launch;
    ack(
      launch,
      this.nagArnFinding('volume/*'),
      `volumes are created by the launch and have no id beforehand; RunInstances requires aws:RequestTag/${Tags.cluster} and ec2:Encrypted=true, CreateTags ec2:CreateAction or aws:ResourceTag`,
    );
    ack(
      launch,
      this.nagArnFinding('network-interface/*'),
      "the primary network interface is created by RunInstances and has no id beforehand; RunInstances requires ec2:Subnet in this stack's subnets and ec2:Vpc their VPC, CreateTags only with ec2:CreateAction",
    );
    ack(
      launch,
      this.nagArnFinding('spot-instances-request/*'),
      'spot requests are created implicitly by a spot launch and have no id beforehand; CreateTags on them only with ec2:CreateAction',
    );
    ack(
      launch,
      this.nagArnFinding('image/*', false),
      'the AMI id changes with every OS release and is resolved from the SSM parameter at launch; RunInstances requires ec2:Owner in nodes.imageOwners (default derived from the parameter: Canonical, Amazon or this account)',
    );

    const scheduleRole = this.schedules.role;
    for (const fn of [this.functions.functions.reconcile, this.functions.functions.janitor]) {
      const logicalId = this.getLogicalId(fn.node.defaultChild as CfnElement);
      ack(
        scheduleRole,
        `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        'grantInvoke adds the qualified ARNs (versions/aliases) of the same function; no other function is reachable',
      );
    }
    const dlqReason =
      'this queue is itself a dead-letter queue (of EventBridge targets / Scheduler targets), configured as a target DLQ rather than a redrive policy, so cdk-nag cannot see it';
    ack(this.routing.deadLetterQueue, 'AwsSolutions-SQS3', dlqReason);
    ack(this.schedulerDlq, 'AwsSolutions-SQS3', dlqReason);
    ack(
      this.functionsDlq,
      'AwsSolutions-SQS3',
      'this queue is the asynchronous-invocation DLQ of the functions',
    );
    if (this.config.nodes.ssmSessionManager) {
      ack(
        this.nodes.role,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
        'opt-in (nodes.ssmSessionManager) for debugging without inbound ports; the AWS-maintained policy is the documented minimum for Session Manager',
      );
    }
  }

  /** The id cdk-nag gives an IAM5 finding on an EC2 ARN of this stack. */
  private nagArnFinding(resource: string, withAccount = true): string {
    const region = Token.isUnresolved(this.region) ? '<AWS::Region>' : this.region;
    const account = withAccount ? (Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account) : '';
    return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${region}:${account}:${resource}]`;
  }
}
