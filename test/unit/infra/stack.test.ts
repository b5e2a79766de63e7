import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_TABLE } from '../../../lib/aws/state.js';
import { STAGE_IDS, STAGES } from '../../../lib/core/stage-timings.js';
import { DetailTypes, Sources, Tags } from '../../../lib/events/index.js';
import { ROUTES } from '../../../lib/infra/index.js';
import { StageMetricNames } from '../../../lib/infra/observability.js';
import { LAMBDA_NODE_RUNTIME } from '../../../lib/node-runtime.js';
import { StackOutputs } from '../../../lib/ops/deployment.js';
import {
  actionsOf,
  defaultTemplate,
  exampleConfigInput,
  logicalId,
  type Statement,
  type Synthesized,
  statementsOf,
  synthStack,
} from './support.js';

let s: Pick<Synthesized, 'template'>;
/** Every non-default choice at once: existing VPC, Session Manager, 40 GiB, retained data, no reserved concurrency, agent-token join, Tailscale OAuth client. */
let alt: Synthesized;
const fnRole = (name: string): string =>
  logicalId(s.template, 'AWS::IAM::Role', `Functions${name.charAt(0).toUpperCase()}${name.slice(1)}Role`);
const fnId = (name: string): string =>
  logicalId(s.template, 'AWS::Lambda::Function', `Functions${name.charAt(0).toUpperCase()}${name.slice(1)}`);

beforeAll(() => {
  // Given the example config (pi-lab, eu-central-1, three capacity policies)
  s = { template: defaultTemplate() };
  const input = exampleConfigInput();
  input.network = {
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    subnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-1a1b2c3d4e5f60718'],
  };
  input.nodes = { ...input.nodes, ssmSessionManager: true, rootVolumeGiB: 40 };
  input.k3s = { joinCredential: 'agent-token' };
  input.tailscale = { ...input.tailscale, auth: 'oauth-client' };
  delete input.tailscale.federatedClientId;
  alt = synthStack(input, { retainData: true, reconcileReservedConcurrency: undefined });
});

describe('event bus and rules', () => {
  it('creates the cluster bus k3s-burst-<cluster>', () => {
    s.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'k3s-burst-pi-lab' });
  });

  it('creates one rule per route, each with a DLQ and a bounded retry policy', () => {
    s.template.resourceCountIs('AWS::Events::Rule', ROUTES.length);
    const dlq = logicalId(s.template, 'AWS::SQS::Queue', 'RoutingTargetDlq');
    for (const rule of Object.values(s.template.findResources('AWS::Events::Rule'))) {
      const target = rule.Properties.Targets[0];
      expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } });
      expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThanOrEqual(60);
      expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBeLessThanOrEqual(86_400);
      expect(target.RetryPolicy.MaximumRetryAttempts).toBeLessThanOrEqual(185);
    }
  });

  it('routes snapshots to reconcile on the cluster bus', () => {
    s.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('^Bus') },
      EventPattern: { source: [Sources.agent], 'detail-type': [DetailTypes.clusterSnapshot] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('reconcile'), 'Arn'] } })],
    });
  });

  it('routes DrainNode and DeleteNode to the command queue', () => {
    s.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': [DetailTypes.drainNode, DetailTypes.deleteNode] },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(s.template, 'AWS::SQS::Queue', 'CommandsQueue'), 'Arn'] },
        }),
      ],
    });
  });

  it('routes TerminateRequested and NodeDrained to terminate', () => {
    for (const detailType of [DetailTypes.terminateRequested, DetailTypes.nodeDrained]) {
      s.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({ 'detail-type': [detailType] }),
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('terminate'), 'Arn'] } })],
      });
    }
  });

  it('routes ScaleOutRequested to launch only from reconcile, the one writer of capacity (I12, I11)', () => {
    s.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: [Sources.reconcile],
        'detail-type': [DetailTypes.scaleOutRequested],
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('launch'), 'Arn'] } })],
    });
  });

  it('denies PutEvents on the bus to everyone but the agent user and the five function roles', () => {
    const busId = logicalId(s.template, 'AWS::Events::EventBus', 'Bus');
    const policies = Object.values(s.template.findResources('AWS::Events::EventBusPolicy'));
    expect(policies).toHaveLength(1);
    expect(policies[0]?.Properties.EventBusName).toEqual({ Ref: busId });
    const deny = policies[0]?.Properties.Statement as Statement & { Principal: unknown };
    expect(deny).toMatchObject({ Effect: 'Deny', Action: 'events:PutEvents', Principal: { AWS: '*' } });
    const allowed = deny.Condition?.ArnNotEquals?.['aws:PrincipalArn'] as unknown[];
    const user = logicalId(s.template, 'AWS::IAM::User', 'AgentUser');
    expect(allowed).toContainEqual({ 'Fn::GetAtt': [user, 'Arn'] });
    for (const name of ['reconcile', 'launch', 'terminate', 'janitor', 'interruption']) {
      expect(allowed).toContainEqual({ 'Fn::GetAtt': [fnRole(name), 'Arn'] });
    }
    expect(allowed).toHaveLength(6);
  });

  it('listens for EC2 events on the default bus (no EventBusName)', () => {
    s.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: {
        source: [Sources.ec2],
        'detail-type': [DetailTypes.ec2SpotInterruption, DetailTypes.ec2Rebalance],
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('interruption'), 'Arn'] } })],
    });
    s.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: { source: [Sources.ec2], 'detail-type': [DetailTypes.ec2StateChange] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('reconcile'), 'Arn'] } })],
    });
  });
});

describe('Lambda functions', () => {
  it('runs five arm64 functions on the Node.js major of the tests (lib/node-runtime.ts) with bounded memory and timeout', () => {
    const fns = s.template.findResources('AWS::Lambda::Function');
    expect(Object.keys(fns)).toHaveLength(5);
    for (const fn of Object.values(fns)) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Runtime).toBe(LAMBDA_NODE_RUNTIME);
      expect(fn.Properties.MemorySize).toBeLessThanOrEqual(1024);
      expect(fn.Properties.Timeout).toBeLessThanOrEqual(120);
      expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
      expect(fn.Properties.DeadLetterConfig.TargetArn).toBeDefined();
    }
  });

  it('reserves a concurrency of 1 on reconcile only', () => {
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'k3s-burst-pi-lab-reconcile',
      ReservedConcurrentExecutions: 1,
    });
    const reserved = Object.values(s.template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.ReservedConcurrentExecutions !== undefined,
    );
    expect(reserved).toHaveLength(1);
  });

  it('can turn reserved concurrency off for accounts with the default quota of 10', () => {
    alt.template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'k3s-burst-pi-lab-reconcile',
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  it('gives every function the environment contract, with the config but no secret values', () => {
    const fn = s.template.findResources('AWS::Lambda::Function')[fnId('launch')];
    const env = fn?.Properties.Environment.Variables as Record<string, unknown>;
    expect(Object.keys(env).sort()).toEqual(
      [
        'AMI_PARAMETER_AMD64',
        'AMI_PARAMETER_ARM64',
        'CLUSTER_NAME',
        'COMMAND_QUEUE_URL',
        'CONFIG_JSON',
        'EVENT_BUS_NAME',
        'INSTANCE_PROFILE_ARN',
        'K3S_JOIN_TOKEN_SECRET_ARN',
        'LAUNCH_TEMPLATE_ID',
        'NODE_OPTIONS',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'SECURITY_GROUP_ID',
        'SUBNET_IDS',
        'TABLE_NAME',
        'TAILSCALE_OAUTH_SECRET_ARN',
      ].sort(),
    );
    expect(env.CLUSTER_NAME).toBe('pi-lab');
    expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe('k3s-burst');
    expect(JSON.parse(env.CONFIG_JSON as string).cluster.name).toBe('pi-lab');
  });

  it('keeps function logs in a log group with retention', () => {
    s.template.resourcePropertiesCountIs(
      'AWS::Logs::LogGroup',
      { LogGroupName: Match.stringLikeRegexp('^/aws/lambda/k3s-burst-pi-lab-'), RetentionInDays: 30 },
      5,
    );
  });

  it('retries async invocations twice within a bounded event age', () => {
    s.template.resourcePropertiesCountIs(
      'AWS::Lambda::EventInvokeConfig',
      { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: Match.anyValue() },
      5,
    );
  });
});

describe('command queue', () => {
  it('encrypts, redrives to a DLQ and refuses plain-text transport', () => {
    const dlq = logicalId(s.template, 'AWS::SQS::Queue', 'CommandsDlq');
    s.template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'k3s-burst-pi-lab-commands',
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
    });
    s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalId(s.template, 'AWS::SQS::Queue', 'CommandsQueue') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('encrypts every queue (all DLQs included)', () => {
    for (const q of Object.values(s.template.findResources('AWS::SQS::Queue'))) {
      expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    }
  });
});

describe('state table', () => {
  it('is on-demand with point-in-time recovery, TTL on the attribute the adapter writes, keys pk/sk', () => {
    // The state adapter writes expiry into STATE_TABLE.ttlAttribute: a different TTL
    // attribute here would silently keep every lease, drain and journal entry forever.
    expect(STATE_TABLE.ttlAttribute).toBe('expiresAt');
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: STATE_TABLE.ttlAttribute, Enabled: true },
      KeySchema: [
        { AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: STATE_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'pk', AttributeType: 'S' }]),
    });
  });

  it('by default nothing of the stack is retained on delete (docs/deploy.md, teardown)', () => {
    const retained = Object.entries(s.template.toJSON().Resources as Record<string, Record<string, unknown>>)
      .filter(([, r]) => r.DeletionPolicy === 'Retain' || r.UpdateReplacePolicy === 'Retain')
      .map(([id, r]) => `${id} (${r.Type})`);
    expect(retained).toEqual([]);
  });

  it('is deleted with the stack unless retainData is set', () => {
    s.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    const { template } = alt;
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
    template.resourcePropertiesCountIs('AWS::SecretsManager::Secret', { Name: Match.anyValue() }, 3);
    expect(
      Object.values(template.findResources('AWS::SecretsManager::Secret')).filter(
        (r) => r.DeletionPolicy === 'Retain',
      ),
    ).toHaveLength(2);
  });
});

describe('tailscale.auth federated (the default: workload identity federation)', () => {
  const altRole = (name: string) =>
    logicalId(alt.template, 'AWS::IAM::Role', `Functions${name.charAt(0).toUpperCase()}${name.slice(1)}Role`);

  it('stores no Tailscale OAuth secret, gives no function its ARN and outputs none', () => {
    const names = Object.values(s.template.findResources('AWS::SecretsManager::Secret')).map(
      (r) => (r.Properties as { Name: string }).Name,
    );
    expect(names.some((n) => n.includes('tailscale'))).toBe(false);
    for (const fn of Object.values(s.template.findResources('AWS::Lambda::Function'))) {
      const vars = (fn.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment
        .Variables;
      expect(vars.TAILSCALE_OAUTH_SECRET_ARN).toBe('');
    }
    expect(Object.keys((s.template.toJSON() as { Outputs: object }).Outputs)).not.toContain(
      'TailscaleOAuthSecretArn',
    );
  });

  it("lets exactly launch, terminate and janitor (the Tailscale callers) get an STS identity token, for Tailscale's audience only, at most 300 s", () => {
    for (const name of ['launch', 'terminate', 'janitor']) {
      const st = statementsOf(s.template, fnRole(name)).filter((x) =>
        JSON.stringify(x.Action).includes('sts:'),
      );
      expect(st).toEqual([
        {
          Sid: 'TailscaleIdentityToken',
          Effect: 'Allow',
          Action: 'sts:GetWebIdentityToken',
          Resource: '*',
          Condition: {
            'ForAllValues:StringEquals': {
              'sts:IdentityTokenAudience': ['api.tailscale.com/kReplaceWithYourIdCNTRL'],
            },
            NumericLessThanEquals: { 'sts:DurationSeconds': 300 },
          },
        },
      ]);
      // and no Tailscale secret is readable (launch reads only the K3s join token)
      const reads = JSON.stringify(
        statementsOf(s.template, fnRole(name)).filter((x) =>
          JSON.stringify(x.Action).includes('GetSecretValue'),
        ),
      );
      expect(reads).not.toContain('TailscaleOAuth');
    }
    for (const name of ['reconcile', 'interruption'])
      expect(JSON.stringify(statementsOf(s.template, fnRole(name)))).not.toContain('sts:');
  });

  it('names each function role like its function and outputs the subject the federated identity trusts, which matches exactly those roles', () => {
    const subject = (s.template.toJSON() as { Outputs: Record<string, { Value: unknown }> }).Outputs
      .TailscaleFederatedSubject?.Value;
    expect(subject).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/k3s-burst-pi-lab-*'],
      ],
    });
    for (const name of ['reconcile', 'launch', 'terminate', 'janitor', 'interruption']) {
      const role = s.template.findResources('AWS::IAM::Role')[fnRole(name)];
      expect((role?.Properties as { RoleName?: string } | undefined)?.RoleName).toBe(
        `k3s-burst-pi-lab-${name}`,
      );
    }
    expect(Object.keys((alt.template.toJSON() as { Outputs: object }).Outputs)).not.toContain(
      'TailscaleFederatedSubject',
    );
  });

  it('oauth-client (fallback): stores the OAuth secret, lets the three callers read it, and grants no STS identity token', () => {
    const secret = logicalId(alt.template, 'AWS::SecretsManager::Secret', 'SecretsTailscaleOAuth');
    for (const name of ['launch', 'terminate', 'janitor']) {
      const st = JSON.stringify(statementsOf(alt.template, altRole(name)));
      expect(st).toContain(secret);
      expect(st).not.toContain('sts:');
    }
    for (const name of ['reconcile', 'interruption'])
      expect(JSON.stringify(statementsOf(alt.template, altRole(name)))).not.toContain(secret);
  });

  it('refuses to synthesize federated mode without tailscale.federatedClientId, naming the field and the fix', () => {
    const input = exampleConfigInput();
    input.tailscale = { ...input.tailscale };
    delete input.tailscale.federatedClientId;
    expect(() => synthStack(input)).toThrow(
      /\$\.tailscale\.federatedClientId: is required with tailscale\.auth "federated" \(the default\).*Trust credentials.*or set tailscale\.auth to "oauth-client"/s,
    );
  });
});

describe('secrets', () => {
  const names = (t: Pick<Synthesized, 'template'>) =>
    Object.values(t.template.findResources('AWS::SecretsManager::Secret'))
      .map((r) => (r.Properties as { Name: string }).Name)
      .sort();

  it('bootstrap-token and federated (defaults): creates the K3s bootstrap-token secret empty, and no agent-token or Tailscale secret', () => {
    for (const name of ['k3s-burst/pi-lab/k3s-bootstrap-token']) {
      s.template.hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: name,
        SecretString: Match.absent(),
        GenerateSecretString: Match.absent(),
      });
    }
    expect(names(s)).toEqual(['k3s-burst/pi-lab/agent-credentials', 'k3s-burst/pi-lab/k3s-bootstrap-token']);
  });

  it('agent-token and oauth-client: creates the agent-token secret empty instead of the bootstrap-token one, and the Tailscale OAuth secret empty', () => {
    alt.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'k3s-burst/pi-lab/tailscale-oauth',
      SecretString: Match.absent(),
      GenerateSecretString: Match.absent(),
    });
    alt.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'k3s-burst/pi-lab/k3s-agent-token',
      SecretString: Match.absent(),
      GenerateSecretString: Match.absent(),
    });
    expect(names(alt)).toEqual([
      'k3s-burst/pi-lab/agent-credentials',
      'k3s-burst/pi-lab/k3s-agent-token',
      'k3s-burst/pi-lab/tailscale-oauth',
    ]);
  });

  it('never puts a secret in a parameter or an output', () => {
    const json = s.template.toJSON() as {
      Parameters?: Record<string, unknown>;
      Outputs?: Record<string, unknown>;
    };
    const params = Object.keys(json.Parameters ?? {}).filter((p) => p !== 'BootstrapVersion');
    expect(params).toEqual([]);
    const outputs = JSON.stringify(json.Outputs);
    expect(outputs).not.toContain('SecretAccessKey');
    expect(outputs).not.toContain('AgentAccessKey');
  });

  it('stores the agent secret access key straight from the access key resource', () => {
    const key = logicalId(s.template, 'AWS::IAM::AccessKey', 'AgentAccessKey');
    s.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'k3s-burst/pi-lab/agent-credentials',
      SecretString: {
        'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [key, 'SecretAccessKey'] }])],
      },
    });
  });
});

describe('network', () => {
  it('builds a VPC with one public subnet per configured AZ and no NAT gateway', () => {
    s.template.resourceCountIs('AWS::EC2::VPC', 1);
    s.template.resourceCountIs('AWS::EC2::NatGateway', 0);
    s.template.resourcePropertiesCountIs('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true }, 2);
  });

  it('spans three AZs when asked, without an AZ lookup', () => {
    const input = exampleConfigInput();
    input.network = { availabilityZoneCount: 3 };
    const { template } = synthStack(input);
    template.resourceCountIs('AWS::EC2::Subnet', 3);
    template.hasResourceProperties('AWS::EC2::Subnet', {
      AvailabilityZone: { 'Fn::Select': [2, { 'Fn::GetAZs': '' }] },
    });
  });

  it('gives nodes a security group with no inbound rule', () => {
    s.template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    s.template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('no inbound'),
      SecurityGroupIngress: Match.absent(),
    });
  });

  it('uses an existing VPC and subnets by id, without lookups', () => {
    const { template } = alt;
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 0);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: 'vpc-0a1b2c3d4e5f60718' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ SUBNET_IDS: 'subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718' }),
      },
    });
  });
});

describe('node launch template', () => {
  it('requires IMDSv2 with hop limit 1 and an encrypted gp3 root volume of the configured size', () => {
    s.template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
        BlockDeviceMappings: [
          {
            DeviceName: '/dev/sda1',
            Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 20, DeleteOnTermination: true },
          },
        ],
        InstanceInitiatedShutdownBehavior: 'terminate',
        IamInstanceProfile: { Arn: Match.anyValue() },
        TagSpecifications: Match.arrayWith([
          { ResourceType: 'instance', Tags: [{ Key: Tags.cluster, Value: 'pi-lab' }] },
        ]),
      }),
    });
  });

  it('gives the node role no permissions unless Session Manager is enabled', () => {
    const nodeRole = logicalId(s.template, 'AWS::IAM::Role', 'NodesNodeRole');
    expect(
      s.template.findResources('AWS::IAM::Role')[nodeRole]?.Properties.ManagedPolicyArns,
    ).toBeUndefined();
    expect(statementsOf(s.template, nodeRole)).toEqual([]);

    const { template } = alt;
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })],
      }),
      ManagedPolicyArns: [
        {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore'],
          ],
        },
      ],
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ VolumeSize: 40 }) })],
      }),
    });
  });
});

describe('schedules', () => {
  it('fires reconcile at each capacity-policy boundary in the policy time zone', () => {
    s.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'policy-weekday-day',
      GroupName: 'k3s-burst-pi-lab',
      ScheduleExpression: 'cron(0 7 ? * 2,3,4,5,6 *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [fnId('reconcile'), 'Arn'] },
        Input: JSON.stringify({
          action: 'reconcile',
          policy: 'weekday-day',
          scheduledAt: '<aws.scheduler.scheduled-time>',
        }),
        DeadLetterConfig: { Arn: Match.anyValue() },
        RetryPolicy: { MaximumEventAgeInSeconds: 900, MaximumRetryAttempts: 3 },
      }),
    });
    s.template.resourcePropertiesCountIs(
      'AWS::Scheduler::Schedule',
      { Name: Match.stringLikeRegexp('^policy-') },
      3,
    );
  });

  it('runs the janitor and a reconcile tick every five minutes', () => {
    s.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [fnId('janitor'), 'Arn'] },
        Input: JSON.stringify({ action: 'janitor', scheduledAt: '<aws.scheduler.scheduled-time>' }),
      }),
    });
    s.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'reconcile-tick',
      ScheduleExpression: 'rate(5 minutes)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('reconcile'), 'Arn'] } }),
    });
  });

  it('lets the scheduler role invoke only reconcile and janitor', () => {
    const role = logicalId(s.template, 'AWS::IAM::Role', 'SchedulesSchedulerRole');
    const invoke = statementsOf(s.template, role).filter((st) => st.Action === 'lambda:InvokeFunction');
    const targets = JSON.stringify(invoke.map((st) => st.Resource));
    expect(targets).toContain(fnId('reconcile'));
    expect(targets).toContain(fnId('janitor'));
    for (const other of ['launch', 'terminate', 'interruption']) expect(targets).not.toContain(fnId(other));
    s.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': '210987654321' } },
          }),
        ],
      }),
    });
  });
});

describe('agent identity', () => {
  it('may publish the K3s join token (PutSecretValue) to the bootstrap-token secret only, and read no secret', () => {
    const user = logicalId(s.template, 'AWS::IAM::User', 'AgentUser');
    const publish = statementsOf(s.template, user).filter((st) =>
      JSON.stringify(st.Action).includes('secretsmanager'),
    );
    expect(publish).toEqual([
      expect.objectContaining({
        Sid: 'PublishK3sJoinToken',
        Action: 'secretsmanager:PutSecretValue',
        Resource: { Ref: logicalId(s.template, 'AWS::SecretsManager::Secret', 'SecretsK3sBootstrapToken') },
      }),
    ]);
    // agent-token mode: the agent touches no secret at all
    const altUser = logicalId(alt.template, 'AWS::IAM::User', 'AgentUser');
    expect(JSON.stringify(statementsOf(alt.template, altUser))).not.toContain('secretsmanager');
  });

  it('may put only agent events of two detail-types on its bus, and consume only its queue', () => {
    const user = logicalId(alt.template, 'AWS::IAM::User', 'AgentUser');
    const statements = statementsOf(alt.template, user);
    expect(statements).toHaveLength(2);
    const put = statements.find((st) => st.Action === 'events:PutEvents') as Statement;
    expect(put.Resource).toEqual({
      'Fn::GetAtt': [logicalId(alt.template, 'AWS::Events::EventBus', 'Bus'), 'Arn'],
    });
    expect(put.Condition).toEqual({
      StringEquals: {
        'events:source': Sources.agent,
        'events:detail-type': [DetailTypes.clusterSnapshot, DetailTypes.nodeDrained],
      },
    });
    const sqs = statements.find((st) => st !== put) as Statement;
    expect([...(sqs.Action as string[])].sort()).toEqual([
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:ReceiveMessage',
    ]);
    expect(sqs.Resource).toEqual({
      'Fn::GetAtt': [logicalId(alt.template, 'AWS::SQS::Queue', 'CommandsQueue'), 'Arn'],
    });
  });
});

describe('observability', () => {
  it('alarms on every DLQ holding a message', () => {
    s.template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      },
      4,
    );
  });

  it('alarms on errors of every function', () => {
    s.template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 0 },
      5,
    );
  });

  it('treats a silent agent as stale after agent.staleAfterSeconds, missing data included', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'k3s-burst',
      MetricName: 'SnapshotAgeSeconds',
      Dimensions: Match.arrayWith([{ Name: 'cluster', Value: 'pi-lab' }]),
      Threshold: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('alarms on launch failures, capacity limit errors, refused requests and launch backoffs, notifying the alarm topic', () => {
    for (const metric of [
      'LaunchFailures',
      'CapacityLimitErrors',
      'LaunchRequestsRefused',
      'LaunchBackoffs',
    ]) {
      s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'k3s-burst',
        MetricName: metric,
        AlarmActions: [{ Ref: logicalId(s.template, 'AWS::SNS::Topic', 'ObservabilityAlarmTopic') }],
      });
    }
  });

  it('draws pending pods, managed nodes, launches, failures and decision latency', () => {
    const dashboard = Object.values(s.template.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const metric of [
      'PendingPods',
      'ManagedNodes',
      'InstancesLaunched',
      'LaunchFailures',
      'DecisionLatencyMs',
    ]) {
      expect(body).toContain(metric);
    }
  });

  it('draws p50 and p95 of every burst stage metric reconcile emits', () => {
    const dashboard = Object.values(s.template.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    expect(StageMetricNames.map(([name]) => name)).toEqual(STAGE_IDS.map((id) => STAGES[id].metric));
    for (const [name] of StageMetricNames) expect(body.split(name).length - 1).toBe(2); // p50 and p95
    expect(body).toContain('Burst stages p50');
    expect(body).toMatch(/stat[\\"]+:[\\"]+p95/);
  });
});

describe('least privilege', () => {
  const clusterTag = { [`aws:RequestTag/${Tags.cluster}`]: 'pi-lab' };

  it('lets launch create instances and volumes only with the cluster tag in the request', () => {
    // (the other RunInstances conditions: launch-conditions.test.ts)
    for (const [sid, resource] of [
      ['LaunchClusterTaggedCandidateInstances', 'instance/*'],
      ['LaunchEncryptedClusterTaggedVolumes', 'volume/*'],
    ] as const) {
      const st = statementsOf(s.template, fnRole('launch')).find((x) => x.Sid === sid);
      expect(st?.Action).toBe('ec2:RunInstances');
      expect(st?.Condition?.StringEquals).toMatchObject(clusterTag);
      expect(JSON.stringify(st?.Resource)).toContain(resource);
    }
  });

  it('grants no CreateFleet and no launch template: the fleet adapter only calls RunInstances', () => {
    expect(actionsOf(s.template, fnRole('launch'))).not.toContain('ec2:CreateFleet');
    expect(JSON.stringify(statementsOf(s.template, fnRole('launch')))).not.toContain('launch-template/');
  });

  it('pins the other launch resources to this stack: its subnets and its security group', () => {
    const st = statementsOf(s.template, fnRole('launch')).find((x) => x.Sid === 'LaunchUsingStackResources');
    const resources = JSON.stringify(st?.Resource);
    const subnets = Object.keys(s.template.findResources('AWS::EC2::Subnet'));
    expect(subnets).toHaveLength(2);
    for (const subnet of subnets) expect(resources).toContain(`subnet/",{"Ref":"${subnet}"}`);
    expect(resources).toContain(logicalId(s.template, 'AWS::EC2::SecurityGroup', 'NetworkNodeSecurityGroup'));
    expect(resources).not.toContain(':instance/');
  });

  it('lets launch tag only during the launch or resources already tagged for the cluster', () => {
    const statements = statementsOf(s.template, fnRole('launch')).filter(
      (x) => x.Action === 'ec2:CreateTags',
    );
    expect(statements.map((x) => [x.Sid, x.Condition])).toEqual([
      ['TagOnlyAtLaunch', { StringEquals: { 'ec2:CreateAction': 'RunInstances' } }],
      [
        'RetagClusterInstances',
        {
          StringEquals: { [`aws:ResourceTag/${Tags.cluster}`]: 'pi-lab' },
          // Never the cluster tag, never the warm-pool tag the Start/Stop conditions read
          'ForAllValues:StringNotEquals': { 'aws:TagKeys': [Tags.cluster, Tags.warmPool] },
        },
      ],
      [
        'MarkWarmPoolMembersStarted',
        {
          // warm-pool=started, alone, only onto a member; `member` only by RunInstances' tag-on-create
          StringEquals: {
            [`aws:ResourceTag/${Tags.cluster}`]: 'pi-lab',
            [`aws:ResourceTag/${Tags.warmPool}`]: 'member',
            [`aws:RequestTag/${Tags.warmPool}`]: 'started',
          },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [Tags.warmPool] },
        },
      ],
    ]);
    const started = statements.find((x) => x.Sid === 'MarkWarmPoolMembersStarted');
    expect(JSON.stringify(started?.Resource)).toMatch(/:instance\/\*"/);
  });

  it('passes only the node role, only to EC2', () => {
    const st = statementsOf(s.template, fnRole('launch')).find((x) => x.Action === 'iam:PassRole');
    expect(st?.Resource).toEqual({
      'Fn::GetAtt': [logicalId(s.template, 'AWS::IAM::Role', 'NodesNodeRole'), 'Arn'],
    });
    expect(st?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
  });

  it('reads only the two AMI parameters', () => {
    const st = statementsOf(s.template, fnRole('launch')).find((x) => x.Sid === 'ReadAmiParameters');
    const resources = JSON.stringify(st?.Resource);
    expect(resources).toContain(
      '::parameter/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/',
    );
    expect(resources).toContain(
      '::parameter/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/',
    );
    expect(st?.Resource).toHaveLength(2);
  });

  it('terminates only instances tagged with the cluster, and only from terminate and janitor', () => {
    for (const name of ['terminate', 'janitor']) {
      const st = statementsOf(s.template, fnRole(name)).find((x) => x.Action === 'ec2:TerminateInstances');
      expect(st?.Condition).toEqual({ StringEquals: { [`aws:ResourceTag/${Tags.cluster}`]: 'pi-lab' } });
    }
    for (const name of ['reconcile', 'launch', 'interruption']) {
      expect(actionsOf(s.template, fnRole(name))).not.toContain('ec2:TerminateInstances');
    }
  });

  it('starts and stops only cluster-tagged warm-pool members, start from launch and stop from reconcile', () => {
    const start = statementsOf(s.template, fnRole('launch')).find(
      (x) => Array.isArray(x.Action) && x.Action.includes('ec2:StartInstances'),
    );
    expect(start?.Action).toEqual(['ec2:StartInstances', 'ec2:ModifyInstanceAttribute']);
    expect(start?.Condition).toEqual({
      StringEquals: {
        [`aws:ResourceTag/${Tags.cluster}`]: 'pi-lab',
        // Only members: a started member is an ordinary node (launch re-tags after StartInstances)
        [`aws:ResourceTag/${Tags.warmPool}`]: ['member'],
      },
    });
    const stop = statementsOf(s.template, fnRole('reconcile')).find((x) => x.Action === 'ec2:StopInstances');
    expect(stop?.Condition).toEqual({
      StringEquals: {
        [`aws:ResourceTag/${Tags.cluster}`]: 'pi-lab',
        [`aws:ResourceTag/${Tags.warmPool}`]: ['member'],
      },
    });
    for (const name of ['terminate', 'janitor', 'interruption']) {
      const actions = actionsOf(s.template, fnRole(name));
      for (const a of ['ec2:StartInstances', 'ec2:StopInstances', 'ec2:ModifyInstanceAttribute'])
        expect(actions).not.toContain(a);
    }
  });

  it('keeps launch-only permissions off every other function', () => {
    for (const name of ['reconcile', 'terminate', 'janitor', 'interruption']) {
      const actions = actionsOf(s.template, fnRole(name));
      for (const a of [
        'ec2:RunInstances',
        'ec2:CreateFleet',
        'iam:PassRole',
        'ec2:CreateTags',
        'ssm:GetParameter',
      ]) {
        expect(actions, `${name} must not have ${a}`).not.toContain(a);
      }
    }
  });

  it('lets each function put events only under its own source', () => {
    for (const name of ['reconcile', 'launch', 'terminate', 'janitor', 'interruption'] as const) {
      const st = statementsOf(s.template, fnRole(name)).find((x) => x.Action === 'events:PutEvents');
      expect(st?.Condition).toEqual({ StringEquals: { 'events:source': Sources[name] } });
    }
  });

  it('lets only launch read the K3s token (and, with oauth-client, launch, terminate and janitor the Tailscale client)', () => {
    const secretIds = (t: Template, name: string): string =>
      JSON.stringify(
        statementsOf(
          t,
          logicalId(t, 'AWS::IAM::Role', `Functions${name.charAt(0).toUpperCase()}${name.slice(1)}Role`),
        )
          .filter((x) => JSON.stringify(x.Action).includes('secretsmanager:GetSecretValue'))
          .map((x) => x.Resource),
      );
    const k3s = logicalId(s.template, 'AWS::SecretsManager::Secret', 'SecretsK3sBootstrapToken');
    expect(JSON.parse(secretIds(s.template, 'launch'))).toEqual([{ Ref: k3s }]);
    for (const name of ['terminate', 'janitor', 'reconcile', 'interruption'])
      expect(secretIds(s.template, name)).toBe('[]');
    const tailscale = logicalId(alt.template, 'AWS::SecretsManager::Secret', 'SecretsTailscaleOAuth');
    for (const name of ['launch', 'terminate', 'janitor'])
      expect(secretIds(alt.template, name)).toContain(tailscale);
    for (const name of ['reconcile', 'interruption']) expect(secretIds(alt.template, name)).toBe('[]');
    // agent-token mode: launch reads the agent-token secret instead, and no bootstrap-token secret exists
    const altLaunch = JSON.stringify(
      statementsOf(alt.template, logicalId(alt.template, 'AWS::IAM::Role', 'FunctionsLaunchRole'))
        .filter((x) => JSON.stringify(x.Action).includes('secretsmanager:GetSecretValue'))
        .map((x) => x.Resource),
    );
    expect(altLaunch).toContain(
      logicalId(alt.template, 'AWS::SecretsManager::Secret', 'SecretsK3sAgentToken'),
    );
  });
});

describe('exact permissions per function', () => {
  // Written out by hand (not derived from FUNCTION_ACCESS) so a change to the grants must
  // be made twice, on purpose. The bundle test checks these against the SDK calls.
  const base = [
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    'events:PutEvents',
    'ec2:DescribeInstances',
    // lambdas/runtime.ts resolves SUBNET_IDS to zones on the first fleet call, in every function.
    'ec2:DescribeSubnets',
    // Not the code: Lambda sends failed async invocations to the DLQ with the function's role.
    'sqs:SendMessage',
  ];
  const expected: Record<string, string[]> = {
    // Parks warm-pool members.
    reconcile: [...base, 'ec2:StopInstances'],
    launch: [
      ...base,
      // Warm starts: the member's fresh user data, then StartInstances.
      'ec2:StartInstances',
      'ec2:ModifyInstanceAttribute',
      'ec2:RunInstances',
      'ec2:CreateTags',
      'iam:PassRole',
      'iam:CreateServiceLinkedRole',
      'ssm:GetParameter',
      // the K3s join token only (tailscale.auth federated reads no Tailscale secret)
      'secretsmanager:GetSecretValue',
      'sts:GetWebIdentityToken',
    ],
    terminate: [...base, 'ec2:TerminateInstances', 'sts:GetWebIdentityToken'],
    janitor: [...base, 'ec2:TerminateInstances', 'sts:GetWebIdentityToken'],
    interruption: base,
  };

  it.each(Object.keys(expected))('grants %s exactly the actions its code calls', (name) => {
    const actions = [...new Set(actionsOf(s.template, fnRole(name)))].sort();
    expect(actions).toEqual([...new Set(expected[name])].sort());
  });

  it('lets every function describe instances and subnets (zones of SUBNET_IDS) and nothing else on *', () => {
    for (const name of Object.keys(expected)) {
      const st = statementsOf(s.template, fnRole(name)).find((x) => x.Sid === 'Ec2ReadOnly');
      expect(st?.Action).toEqual(['ec2:DescribeInstances', 'ec2:DescribeSubnets']);
      expect(st?.Resource).toBe('*');
    }
  });

  it('lets each function send only to the functions DLQ (async-invocation failures)', () => {
    const dlq = logicalId(s.template, 'AWS::SQS::Queue', 'FunctionsDlq');
    for (const name of Object.keys(expected)) {
      const st = statementsOf(s.template, fnRole(name)).filter((x) =>
        JSON.stringify(x.Action).includes('sqs:'),
      );
      expect(st.map((x) => x.Resource)).toEqual([{ 'Fn::GetAtt': [dlq, 'Arn'] }]);
    }
  });

  it('scopes the state-table actions to the table, without scans, batches or streams', () => {
    const table = logicalId(s.template, 'AWS::DynamoDB::Table', 'StateTable');
    for (const name of Object.keys(expected)) {
      const st = statementsOf(s.template, fnRole(name)).find((x) => x.Sid === 'StateTableItems');
      expect(st?.Resource).toEqual({ 'Fn::GetAtt': [table, 'Arn'] });
    }
  });
});

describe('stack outputs', () => {
  const outputs = (): Record<string, { Value: unknown }> =>
    (s.template.toJSON() as { Outputs: Record<string, { Value: unknown }> }).Outputs;

  it('exports every name lib/ops reads (StackOutputs), with stable keys; the join-token secret of its mode only', () => {
    const altOutputs = Object.keys((alt.template.toJSON() as { Outputs: Record<string, unknown> }).Outputs);
    for (const key of Object.values(StackOutputs))
      expect([...Object.keys(outputs()), ...altOutputs]).toContain(key);
    expect(Object.keys(outputs())).toContain(StackOutputs.k3sBootstrapTokenSecretArn);
    expect(Object.keys(outputs())).not.toContain(StackOutputs.k3sAgentTokenSecretArn);
    expect(altOutputs).toContain(StackOutputs.k3sAgentTokenSecretArn);
    expect(altOutputs).not.toContain(StackOutputs.k3sBootstrapTokenSecretArn);
  });

  it('exports the table name', () => {
    expect(outputs().TableName?.Value).toEqual({
      Ref: logicalId(s.template, 'AWS::DynamoDB::Table', 'StateTable'),
    });
  });

  it('exports every dead-letter queue URL, comma-separated, in a fixed order', () => {
    const queue = (prefix: string) => ({ Ref: logicalId(s.template, 'AWS::SQS::Queue', prefix) });
    expect(outputs().DeadLetterQueueUrls?.Value).toEqual({
      'Fn::Join': [
        ',',
        [queue('RoutingTargetDlq'), queue('FunctionsDlq'), queue('SchedulerDlq'), queue('CommandsDlq')],
      ],
    });
  });

  it('lists every queue of the stack except the command queue itself as a DLQ', () => {
    const all = Object.keys(s.template.findResources('AWS::SQS::Queue'));
    const listed = JSON.stringify(outputs().DeadLetterQueueUrls?.Value);
    const notListed = all.filter((id) => !listed.includes(`"${id}"`));
    expect(notListed).toEqual([logicalId(s.template, 'AWS::SQS::Queue', 'CommandsQueue')]);
  });
});
