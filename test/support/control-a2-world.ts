/**
 * A moto + fake-Tailscale world for the terminate / janitor / interruption integration tests:
 * the real handlers (`lambdas/*.ts`) on the real adapters (`createDeps` from lambdas/runtime.ts),
 * a cluster bus whose rules are built from ROUTES (agent commands → the command queue) plus an
 * observer rule that copies every event the Lambdas emit to a queue the test reads.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { interruptionSpec } from '../../lambdas/interruption.js';
import { janitorSpec } from '../../lambdas/janitor.js';
import { type ControlDeps, createDeps, makeHandler, readEnv } from '../../lambdas/runtime.js';
import { terminateSpec } from '../../lambdas/terminate.js';
import { RecordingMetrics } from '../../lib/core/metrics.js';
import { LAMBDA_SOURCES, ROUTES } from '../../lib/infra/event-patterns.js';
import { systemClock } from '../../lib/system/clock.js';
import { RecordingLogger } from './control-a2.js';
import { type FakeTailscale, startFakeTailscale } from './fake-tailscale.js';
import { type Moto, startMoto } from './moto.js';
import { provisionMotoAccount } from './moto-account.js';

const REGION = 'eu-central-1';
const ACCOUNT = '123456789012';
export const CLUSTER = 'pi-lab';

export const WORLD_CONFIG = {
  cluster: {
    name: CLUSTER,
    region: REGION,
    k3sServerUrl: 'https://100.64.5.11:6443',
    k3sVersion: 'v1.32.6+k3s1',
  },
  // The fallback mode: the Lambdas read the OAuth client from Secrets Manager (the e2e world runs
  // the default, workload identity federation).
  tailscale: { auth: 'oauth-client' },
  nodes: { candidateTypes: ['t4g.medium', 't4g.large', 'm7g.large'], capacityTypes: ['spot', 'on-demand'] },
  limits: { maxNodes: 6 },
};

export interface BusMessage {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
}

export interface A2World {
  moto: Moto;
  tailscale: FakeTailscale;
  ec2: EC2Client;
  deps: ControlDeps;
  log: RecordingLogger;
  metrics: RecordingMetrics;
  /** The control plane's clock (ms); tests move it. */
  clock: { nowMs: number };
  imageId: string;
  /** Launch one cluster-tagged instance through the real fleet adapter (moto). */
  launch(): Promise<{ instanceId: string; nodeName: string; zone: string }>;
  /** Start an instance WITHOUT our cluster tag (another workload in the account). */
  launchForeign(): Promise<string>;
  /** An instance's state name in EC2 (moto), e.g. 'running', 'terminated'. */
  stateOf(instanceId: string): Promise<string | undefined>;
  /** Invoke a handler as Lambda would. */
  invoke(fn: 'terminate' | 'janitor' | 'interruption', event: unknown): Promise<unknown>;
  /** Everything the Lambdas put on the bus since the last call (observer rule → SQS), bounded wait. */
  emitted(want?: number): Promise<BusMessage[]>;
  /** Agent commands that reached the command queue (the real AgentCommands rule). */
  commands(want?: number): Promise<BusMessage[]>;
  stop(): Promise<void>;
}

function context(fn: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `k3s-burst-${CLUSTER}-${fn}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:k3s-burst-${CLUSTER}-${fn}`,
    memoryLimitInMB: '256',
    awsRequestId: `req-${fn}-${Math.random().toString(16).slice(2, 10)}`,
    logGroupName: `/aws/lambda/k3s-burst-${CLUSTER}-${fn}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function readQueue(sqs: SQSClient, queueUrl: string, want: number): Promise<BusMessage[]> {
  const out: BusMessage[] = [];
  // Bounded: at most 15 receives (~1.5 s of waiting when fewer messages than wanted arrive).
  for (let i = 0; i < 15; i++) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    for (const m of r.Messages ?? []) {
      const body = JSON.parse(m.Body ?? '{}') as {
        source: string;
        'detail-type': string;
        detail: Record<string, unknown>;
      };
      out.push({ source: body.source, detailType: body['detail-type'], detail: body.detail });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
    if (out.length >= want && !r.Messages?.length) break;
    if (!r.Messages?.length) await new Promise((res) => setTimeout(res, 100));
  }
  return out;
}

export async function startA2World(): Promise<A2World> {
  const moto = await startMoto({ region: REGION });
  const tailscale = await startFakeTailscale();
  const cc = moto.clientConfig;
  const ec2 = new EC2Client(cc);
  const sqs = new SQSClient(cc);
  const events = new EventBridgeClient(cc);

  const account = await provisionMotoAccount(cc, {
    region: REGION,
    cluster: CLUSTER,
    tailscaleCredentials: tailscale.credentials,
    agentToken: 'K10agent::token',
  });
  const { subnetIds, imageId, tableName } = account;
  const ddb = new DynamoDBClient(cc);
  const sm = new SecretsManagerClient(cc);

  const busName = `k3s-burst-${CLUSTER}`;
  await events.send(new CreateEventBusCommand({ Name: busName }));
  const commandQueueUrl = (
    await sqs.send(new CreateQueueCommand({ QueueName: `k3s-burst-${CLUSTER}-commands` }))
  ).QueueUrl as string;
  const observerUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'a2-observer' })))
    .QueueUrl as string;
  const commandsRoute = ROUTES.find((r) => r.id === 'AgentCommands');
  if (!commandsRoute) throw new Error('no AgentCommands route');
  const rules: [string, unknown, string][] = [
    ['agent-commands', commandsRoute.pattern, `k3s-burst-${CLUSTER}-commands`],
    ['observer', { source: [...LAMBDA_SOURCES] }, 'a2-observer'],
  ];
  for (const [name, pattern, queue] of rules) {
    await events.send(
      new PutRuleCommand({ Name: name, EventBusName: busName, EventPattern: JSON.stringify(pattern) }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: name,
        EventBusName: busName,
        Targets: [{ Id: 'q', Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${queue}` }],
      }),
    );
  }

  const env = readEnv({
    CLUSTER_NAME: CLUSTER,
    CONFIG_JSON: JSON.stringify(WORLD_CONFIG),
    AWS_REGION: REGION,
    EVENT_BUS_NAME: busName,
    TABLE_NAME: tableName,
    COMMAND_QUEUE_URL: commandQueueUrl,
    TAILSCALE_OAUTH_SECRET_ARN: account.tailscaleOAuthSecretArn,
    K3S_JOIN_TOKEN_SECRET_ARN: account.k3sAgentTokenSecretArn,
    SUBNET_IDS: subnetIds.join(','),
    SECURITY_GROUP_ID: account.securityGroupId,
    TAILSCALE_API_URL: tailscale.url,
  });
  const log = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const clock = { nowMs: Date.now() };
  const deps = createDeps(env, {
    clientConfig: { ...cc },
    logger: log,
    metrics,
    clock: { ...systemClock, now: () => clock.nowMs, sleep: async () => {} },
  });
  const handlers = {
    terminate: makeHandler('terminate', terminateSpec, { deps: () => deps }),
    janitor: makeHandler('janitor', janitorSpec, { deps: () => deps }),
    interruption: makeHandler('interruption', interruptionSpec, { deps: () => deps }),
  };
  let seq = 0;

  return {
    moto,
    tailscale,
    ec2,
    deps,
    log,
    metrics,
    clock,
    imageId,
    async launch() {
      seq++;
      const l = await deps.fleet.launchOne({
        clientToken: `it-${seq}-0`,
        decisionId: `pi-lab-it${seq}`,
        launchId: `it-${seq}`,
        index: 0,
        instanceTypes: ['t4g.medium'],
        capacityTypes: ['spot'],
        imageId,
        userData: '#!/bin/sh\n',
        reason: 'integration test',
      });
      return { instanceId: l.instanceId, nodeName: l.nodeName, zone: l.zone };
    },
    async stateOf(instanceId: string) {
      const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      return r.Reservations?.[0]?.Instances?.[0]?.State?.Name;
    },
    async launchForeign() {
      const r = await ec2.send(
        new RunInstancesCommand({
          ImageId: imageId,
          InstanceType: 't4g.small',
          MinCount: 1,
          MaxCount: 1,
          SubnetId: subnetIds[0],
        }),
      );
      return r.Instances?.[0]?.InstanceId as string;
    },
    invoke: (fn, event) => handlers[fn](event, context(fn)),
    emitted: (want = 1) => readQueue(sqs, observerUrl, want),
    commands: (want = 1) => readQueue(sqs, commandQueueUrl, want),
    async stop() {
      for (const c of [ec2, sqs, events, ddb, sm]) c.destroy();
      await tailscale.stop();
      await moto.stop();
    },
  };
}
