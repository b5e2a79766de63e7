import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { createDeps, type HandlerSpec, makeHandler, readEnv } from '../../lambdas/runtime.js';
import { startAgent } from '../../lib/agent/agent.js';
import { liteEventBus, liteJoinTokenStore, liteQueue } from '../../lib/agent/aws-lite.js';
import type { BootstrapTokenRotator } from '../../lib/agent/bootstrap-token.js';
import { KubeClient } from '../../lib/agent/kube-client.js';
import { kubeconfigTarget } from '../../lib/agent/kube-config.js';
import { memoryLogger } from '../../lib/agent/logger.js';
import type { IdentityTokenPort } from '../../lib/aws/identity-token.js';
import type { Config, ConfigInput } from '../../lib/events/index.js';
import { Labels, Tags, tailscaleFederatedSubject } from '../../lib/events/index.js';
import { FUNCTION_NAMES } from '../../lib/infra/burst-functions.js';
import { systemClock } from '../../lib/system/clock.js';
import { CapturingLogger, type LogLine as ControlLogLine } from '../support/control.js';
import { pod } from '../support/fake-k8s/fixtures.js';
import { type FakeK8s, type K8sObject, startFakeK8s } from '../support/fake-k8s/server.js';
import { type FakeTailscale, startFakeTailscale } from '../support/fake-tailscale.js';
import { FakeIdentityTokenIssuer } from '../support/fakes/identity-token.js';
import { type Moto, startMoto } from '../support/moto.js';
import { provisionMotoAccount } from '../support/moto-account.js';
import { exampleConfigInput, synthStack } from '../unit/infra/support.js';

export type FunctionName = (typeof FUNCTION_NAMES)[number];
type Handler = (event: unknown, context: Context) => Promise<unknown>;

const ACCOUNT = '123456789012';
const AGENT_TOKEN = 'K10e2e0agent0token0c0ffee::node:5f1d2b7c9a8e4f3d';
/** Lifetime of the agent's bootstrap tokens in this world (the shortest the agent accepts). */
export const JOIN_TOKEN_TTL_SECONDS = 1800;
const E2E_CLUSTER_CA = readFileSync(
  join(import.meta.dirname, '..', 'fixtures', 'k3s', 'server-ca.crt'),
  'utf8',
);

/** The example config, made deterministic for a test: no time-of-day schedules, prompt scale-in. */
export function e2eConfigInput(): ConfigInput {
  const c = exampleConfigInput();
  return {
    ...c,
    schedules: [],
    scaleIn: {
      ...c.scaleIn,
      emptyAfterSeconds: 0,
      delayAfterScaleOutSeconds: 0,
      consolidation: { enabled: false },
      drainTimeoutSeconds: 60,
    },
  };
}

/** A CI pod that fits no Pi (1.5 CPU, 2 GiB), tolerates the cloud taint, Unschedulable since `now`. */
export function pendingBuildPod(name: string, now: Date): K8sObject {
  return pod(name, {
    cpu: '1500m',
    memory: '2Gi',
    pending: true,
    pendingSince: now.toISOString(),
    tolerations: [{ key: 'k3s-burst.io/cloud', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
  });
}

/** One invocation the dispatcher made. */
export interface Invocation {
  fn: FunctionName;
  detailType: string;
  at: number;
  result?: unknown;
  error?: string;
}

/** One line of what the control plane logged (message + attributes, no secrets expected). */
export type LogLine = ControlLogLine;

export interface World {
  moto: Moto;
  tailscale: FakeTailscale;
  /**
   * The account's STS identity-token issuer (outbound identity federation): the Tailscale
   * federated identity trusts it (tailscale.auth federated, the default).
   */
  sts: FakeIdentityTokenIssuer;
  k8s: FakeK8s;
  config: Config;
  cluster: string;
  ec2: EC2Client;
  sqs: SQSClient;
  /** Queue URL per Lambda standing in for its target, and the agent's command queue. */
  functionQueues: Record<FunctionName, string>;
  commandQueueUrl: string;
  /** Rules created on the moto bus from the template: name → pattern. */
  rules: { name: string; pattern: unknown; target: string }[];
  invocations: Invocation[];
  controlLog: LogLine[];
  agentLog: Record<string, unknown>[];
  /** Instance ids the simulated kubelet turned into Nodes, with when. */
  registered: Map<string, { nodeName: string; at: number }>;
  /** First time an instance of this cluster was seen in EC2 (epoch ms), per instance id. */
  firstSeen: Map<string, number>;
  /**
   * The secret values in play (OAuth client secret, agent token, every minted key, join tokens,
   * every STS identity token and Tailscale API token).
   */
  secretValues(): string[];
  /** The K3s join token each instance's user data carried, by instance id. */
  joinTokens: Map<string, string>;
  /** The agent's bootstrap-token rotator (bootstrap-token mode). */
  agentJoinToken(): BootstrapTokenRotator | undefined;
  /** Move the agent's clock forward (tokens expire, the rotator renews and deletes). */
  skipAgentTime(ms: number): Promise<void>;
  handlers: Record<FunctionName, Handler>;
  /** Invoke a handler directly with an EventBridge envelope (e.g. a Scheduler tick for the janitor). */
  invoke(fn: FunctionName, envelope: unknown): Promise<unknown>;
  /** Poll `check` every `everyMs` until it returns a truthy value or `timeoutMs` passes (then throw). */
  until<T>(
    what: string,
    check: () => Promise<T | undefined | false> | T | undefined | false,
    timeoutMs?: number,
  ): Promise<T>;
  /** Instances of this cluster in EC2 (any state). */
  instances(): Promise<Instance[]>;
  stop(): Promise<void>;
}

function lambdaContext(fn: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `k3s-burst-e2e-${fn}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-central-1:${ACCOUNT}:function:k3s-burst-e2e-${fn}`,
    memoryLimitInMB: '256',
    awsRequestId: `req-${fn}-${Math.random().toString(16).slice(2, 10)}`,
    logGroupName: `/aws/lambda/k3s-burst-e2e-${fn}`,
    logStreamName: 'e2e',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The function a rule target points at, from `Fn::GetAtt: [FunctionsReconcile…, Arn]`, or 'commands'. */
function targetOf(arn: unknown): FunctionName | 'commands' {
  const att = (arn as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  const id = att?.[0] ?? '';
  for (const fn of FUNCTION_NAMES) {
    if (id.toLowerCase().startsWith(`functions${fn}`)) return fn;
  }
  if (id.startsWith('Commands')) return 'commands';
  throw new Error(`e2e: unknown rule target ${JSON.stringify(arn)}`);
}

/** The value of `NAME='…'` in a rendered bootstrap script (shell single-quoted). */
export function scriptValue(script: string, name: string): string {
  const m = new RegExp(`^${name}=((?:'[^']*'|\\\\'|[^\\s'])+)`, 'm').exec(script);
  if (!m?.[1]) throw new Error(`e2e: ${name} not found in the userdata`);
  return m[1].replace(/'([^']*)'|\\'/g, (_, q: string | undefined) => (q === undefined ? "'" : q));
}

export async function startWorld(
  opts: {
    configInput?: ConfigInput;
    piNodes: K8sObject[];
    pods: K8sObject[];
    /**
     * What the Lambdas get from "STS" (tailscale.auth federated); default: the world's issuer.
     * Tests pass a port that asks for another audience or returns an expired token.
     */
    identityTokens?: (sts: FakeIdentityTokenIssuer) => IdentityTokenPort;
  } = { piNodes: [], pods: [] },
): Promise<World> {
  const configInput = opts.configInput ?? e2eConfigInput();
  const { template, stack } = synthStack(configInput);
  const config = stack.config;
  const cluster = config.cluster.name;
  const region = config.cluster.region;

  const moto = await startMoto({ region });
  // tailscale.auth federated (the default): the Lambda roles' STS tokens are exchanged at the
  // fake Tailscale API, which trusts this account's issuer for the stack's role ARNs; no OAuth
  // client secret is stored anywhere.
  const federated = config.tailscale.auth === 'federated';
  const sts = new FakeIdentityTokenIssuer({
    issuer: 'https://e2e00000-0000-4000-8000-000000000000.tokens.sts.global.api.aws',
    subject: `arn:aws:iam::${ACCOUNT}:role/k3s-burst-${cluster}-launch`,
  });
  const tailscale = await startFakeTailscale(
    federated
      ? {
          federated: [
            {
              clientId: config.tailscale.federatedClientId as string,
              issuer: sts.issuer,
              publicKey: sts.publicKey,
              subject: tailscaleFederatedSubject(ACCOUNT, cluster),
              tags: config.tailscale.tags,
            },
          ],
        }
      : {},
  );
  const k8s = await startFakeK8s({ token: 'e2e-agent-token' });
  for (const n of opts.piNodes) k8s.upsert('nodes', n);
  for (const p of opts.pods) k8s.upsert('pods', p);

  const cc = moto.clientConfig;
  const ec2 = new EC2Client(cc);
  const sqs = new SQSClient(cc);
  const events = new EventBridgeClient(cc);

  // ── EC2 network, AMI, state table and secrets, as the stack provides them ──
  const account = await provisionMotoAccount(cc, {
    region,
    cluster,
    ...(federated ? {} : { tailscaleCredentials: tailscale.credentials }),
    agentToken: AGENT_TOKEN,
  });
  const ssm = new SSMClient(cc);
  for (const arch of ['arm64', 'amd64']) {
    await ssm.send(
      new PutParameterCommand({ Name: `/k3s-burst/e2e/ami-${arch}`, Value: account.imageId, Type: 'String' }),
    );
  }

  // ── EventBridge: the bus and the rules of the synthesized template ──
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const busResource = Object.values(resources).find((r) => r.Type === 'AWS::Events::EventBus');
  const busName = busResource?.Properties.Name as string;
  if (!busName) throw new Error('e2e: the template has no event bus');
  await events.send(new CreateEventBusCommand({ Name: busName }));

  const queueUrl = async (name: string) =>
    (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl as string;
  const queueArn = (name: string) => `arn:aws:sqs:${region}:${ACCOUNT}:${name}`;
  const functionQueues = {} as Record<FunctionName, string>;
  for (const fn of FUNCTION_NAMES) functionQueues[fn] = await queueUrl(`e2e-lambda-${fn}`);
  const commandQueueUrl = await queueUrl(`k3s-burst-${cluster}-commands`);

  const rules: World['rules'] = [];
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Events::Rule') continue;
    const onOurBus = r.Properties.EventBusName !== undefined;
    const targets = (r.Properties.Targets ?? []) as { Arn: unknown }[];
    const pattern = r.Properties.EventPattern;
    await events.send(
      new PutRuleCommand({
        Name: id,
        EventPattern: JSON.stringify(pattern),
        ...(onOurBus ? { EventBusName: busName } : {}),
        State: 'ENABLED',
      }),
    );
    for (const [i, t] of targets.entries()) {
      const target = targetOf(t.Arn);
      const name = target === 'commands' ? `k3s-burst-${cluster}-commands` : `e2e-lambda-${target}`;
      await events.send(
        new PutTargetsCommand({
          Rule: id,
          ...(onOurBus ? { EventBusName: busName } : {}),
          Targets: [{ Id: `t${i}`, Arn: queueArn(name) }],
        }),
      );
      rules.push({ name: id, pattern, target });
    }
  }

  // ── the control plane: real handlers on adapters pointed at moto and the fake Tailscale ──
  const controlLog: LogLine[] = [];
  const logger = new CapturingLogger(controlLog);
  const env = readEnv({
    CLUSTER_NAME: cluster,
    CONFIG_JSON: JSON.stringify(configInput),
    AWS_REGION: region,
    EVENT_BUS_NAME: busName,
    TABLE_NAME: account.tableName,
    COMMAND_QUEUE_URL: commandQueueUrl,
    // Empty with tailscale.auth federated, as the stack writes it.
    TAILSCALE_OAUTH_SECRET_ARN: account.tailscaleOAuthSecretArn ?? '',
    // k3s.joinCredential bootstrap-token (default): the secret the agent below writes.
    K3S_JOIN_TOKEN_SECRET_ARN:
      config.k3s.joinCredential === 'agent-token'
        ? account.k3sAgentTokenSecretArn
        : account.k3sBootstrapTokenSecretArn,
    SUBNET_IDS: account.subnetIds.join(','),
    SECURITY_GROUP_ID: account.securityGroupId,
    AMI_PARAMETER_ARM64: '/k3s-burst/e2e/ami-arm64',
    AMI_PARAMETER_AMD64: '/k3s-burst/e2e/ami-amd64',
    TAILSCALE_API_URL: tailscale.url,
  });
  // As the stack sets them; metrics are not emitted here (EMF on stdout is noise in a test).
  process.env.POWERTOOLS_SERVICE_NAME = 'k3s-burst';
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'k3s-burst';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const deps = createDeps(env, {
    clientConfig: { ...cc },
    logger,
    // moto does not serve STS GetWebIdentityToken: the fake issuer stands behind the port.
    ports: { identityTokens: opts.identityTokens?.(sts) ?? sts },
  });
  const handlers = {} as Record<FunctionName, Handler>;
  for (const fn of FUNCTION_NAMES) {
    // Each handler file's own spec, over this world's deps (as the deployed handler, minus env).
    const mod = (await import(`../../lambdas/${fn}.ts`)) as Record<string, HandlerSpec<unknown, unknown>>;
    handlers[fn] = makeHandler(fn, mod[`${fn}Spec`] as HandlerSpec<unknown, unknown>, { deps: () => deps });
  }

  const invocations: Invocation[] = [];
  const invoke = async (fn: FunctionName, envelope: unknown): Promise<unknown> => {
    const rec: Invocation = {
      fn,
      detailType: String((envelope as { 'detail-type'?: string })['detail-type'] ?? '?'),
      at: Date.now(),
    };
    invocations.push(rec);
    try {
      rec.result = await handlers[fn](envelope, lambdaContext(fn));
      return rec.result;
    } catch (err) {
      rec.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw err;
    }
  };

  // ── the agent, for real, against the fake API server and moto ──
  const agentLogger = memoryLogger();
  const agentAws = { region, credentials: cc.credentials, env: { AWS_ENDPOINT_URL: moto.endpoint } };
  const api = new KubeClient(await kubeconfigTarget(k8s.writeKubeconfig()));
  // The cluster CA the agent hashes into the join token, as K3s publishes it.
  k8s.seedClusterCa(E2E_CLUSTER_CA);
  // Wall-clock time, but a test can jump it forward (World.skipAgentTime) to see tokens expire.
  let agentSkewMs = 0;
  const agentClock = { ...systemClock, now: () => Date.now() + agentSkewMs };
  const agent = startAgent({
    cluster,
    eventBusName: busName,
    api,
    // The agent's own AWS client (as in production), pointed at moto.
    bus: liteEventBus(agentAws),
    queue: liteQueue({ ...agentAws, queueUrl: commandQueueUrl }),
    log: agentLogger,
    identity: 'k3s-burst-agent-e2e',
    tuning: {
      publisher: { batchIdleMs: 150, batchMaxMs: 1000, heartbeatMs: 5000 },
      commands: { waitSeconds: 1, visibilitySeconds: 30, drainBackoffMs: 100 },
      informers: { backoffMs: 50, maxBackoffMs: 500 },
      joinToken: { ttlSeconds: JOIN_TOKEN_TTL_SECONDS, checkEveryMs: 200 },
    },
    clock: agentClock,
    ...(config.k3s.joinCredential === 'bootstrap-token'
      ? {
          // The agent's real Secrets Manager adapter, against moto.
          joinToken: {
            store: liteJoinTokenStore({ ...agentAws, secretId: account.k3sBootstrapTokenSecretArn }),
          },
        }
      : {}),
  });

  // ── background loops: the dispatcher (Lambda targets) and the simulated kubelet ──
  let stopped = false;
  const loops: Promise<void>[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const dispatchErrors: string[] = [];
  for (const fn of FUNCTION_NAMES) {
    loops.push(
      (async () => {
        while (!stopped) {
          let got = 0;
          try {
            const out = await sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: functionQueues[fn],
                MaxNumberOfMessages: 10,
                WaitTimeSeconds: 0,
              }),
            );
            for (const m of out.Messages ?? []) {
              got += 1;
              // Lambda's async invoke retries a failed invocation; the dispatcher records the
              // error and deletes the message like a DLQ would take it: the test asserts none.
              await invoke(fn, JSON.parse(m.Body ?? '{}')).catch((e) => dispatchErrors.push(`${fn}: ${e}`));
              await sqs.send(
                new DeleteMessageCommand({ QueueUrl: functionQueues[fn], ReceiptHandle: m.ReceiptHandle }),
              );
            }
          } catch (err) {
            if (!stopped) dispatchErrors.push(`dispatcher ${fn}: ${err}`);
          }
          if (got === 0) await sleep(100);
        }
      })(),
    );
  }

  const registered = new Map<string, { nodeName: string; at: number }>();
  const firstSeen = new Map<string, number>();
  const instances = async (): Promise<Instance[]> => {
    const out = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: `tag:${Tags.cluster}`, Values: [cluster] }] }),
    );
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  };
  loops.push(
    (async () => {
      while (!stopped) {
        try {
          for (const inst of await instances()) {
            const id = inst.InstanceId as string;
            if (!firstSeen.has(id)) firstSeen.set(id, Date.now());
            if (inst.State?.Name !== 'running' || registered.has(id)) continue;
            await kubeletJoin(inst);
          }
        } catch (err) {
          if (!stopped) dispatchErrors.push(`kubelet: ${err}`);
        }
        await sleep(100);
      }
    })(),
  );

  const joinTokens = new Map<string, string>();
  /** What the bootstrap script does on the node, as seen from outside: tailnet device, then Node. */
  async function kubeletJoin(inst: Instance): Promise<void> {
    const id = inst.InstanceId as string;
    const attr = await ec2.send(
      new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' }),
    );
    const script = Buffer.from(attr.UserData?.Value ?? '', 'base64').toString('utf8');
    const prefix = scriptValue(script, 'NODE_NAME_PREFIX');
    const nodeName = `${prefix}${id}`;
    // The K3s server admits the agent only with a join token its API server accepts now.
    const joinToken = scriptValue(script, 'K3S_AGENT_TOKEN');
    joinTokens.set(id, joinToken);
    if (
      config.k3s.joinCredential === 'bootstrap-token' &&
      !k8s.bootstrapTokenAuthenticates(joinToken, new Date())
    )
      throw new Error(`e2e: instance ${id} booted with a join token the API server refuses`);
    const zone = inst.Placement?.AvailabilityZone as string;
    const type = inst.InstanceType as string;
    // `tailscale up --auth-key=… --hostname=<node name> --advertise-tags=…`: the fake checks the
    // key is valid, unused and carries the tags; it is single-use, so a second join would throw.
    tailscale.registerDevice({
      hostname: nodeName,
      authKey: scriptValue(script, 'TAILSCALE_AUTH_KEY'),
      tags: config.tailscale.tags,
      connectedToControl: true,
    });
    const capacityTag = inst.Tags?.find((t) => t.Key === Tags.capacityType)?.Value ?? 'on-demand';
    const now = new Date().toISOString();
    const labels: Record<string, string> = {
      'kubernetes.io/arch': 'arm64',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/hostname': nodeName,
      'node.kubernetes.io/instance-type': type,
      'topology.kubernetes.io/zone': zone,
      'topology.kubernetes.io/region': region,
      [Labels.managed]: 'true',
      [Labels.cluster]: cluster,
      [Labels.capacityType]: capacityTag,
      ...config.nodes.labels,
    };
    k8s.upsert('nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: nodeName, uid: `uid-${nodeName}`, creationTimestamp: now, labels },
      spec: {
        providerID: `aws:///${zone}/${id}`,
        taints: config.nodes.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
      },
      status: {
        capacity: { cpu: '2', memory: '3946408Ki', pods: '110' },
        allocatable: { cpu: '2', memory: '3946408Ki', pods: '110' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
        addresses: [{ type: 'InternalIP', address: '100.88.17.42' }],
      },
    });
    registered.set(id, { nodeName, at: Date.now() });
  }

  const until: World['until'] = async (what, check, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (dispatchErrors.length > 0)
        throw new Error(`e2e: while waiting for ${what}: ${dispatchErrors.join('; ')}`);
      const v = await check();
      if (v) return v as NonNullable<Awaited<typeof v>>;
      if (Date.now() > deadline) throw new Error(`e2e: timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(50);
    }
  };

  return {
    moto,
    tailscale,
    sts,
    k8s,
    config,
    cluster,
    ec2,
    sqs,
    functionQueues,
    commandQueueUrl,
    rules,
    invocations,
    controlLog,
    agentLog: agentLogger.lines,
    registered,
    firstSeen,
    secretValues: () => [
      tailscale.credentials.clientSecret,
      AGENT_TOKEN,
      ...tailscale.keys.map((k) => k.key),
      // the secret half of every join token a node booted with
      ...[...joinTokens.values()].map((t) => t.split('::').pop() as string),
      ...sts.issued,
      ...tailscale.issuedTokens,
    ],
    joinTokens,
    agentJoinToken: () => agent.joinToken,
    async skipAgentTime(ms: number) {
      agentSkewMs += ms;
    },
    handlers,
    invoke,
    until,
    instances,
    async stop() {
      stopped = true;
      await agent.stop().catch(() => undefined);
      api.close();
      await Promise.allSettled(loops);
      await k8s.close();
      await tailscale.stop();
      await moto.stop();
    },
  };
}

/** What a burst must not leave behind: live instances, tailnet devices, managed Nodes. */
export async function leftovers(
  w: World,
): Promise<{ instances: Instance[]; devices: number; managedNodes: K8sObject[] }> {
  const instances = (await w.instances()).filter(
    (i) => !['terminated', 'shutting-down'].includes(i.State?.Name ?? ''),
  );
  const managedNodes = w.k8s
    .list('nodes')
    .filter((n) => (n.metadata?.labels as Record<string, string> | undefined)?.[Labels.managed] === 'true');
  return { instances, devices: w.tailscale.devices.size, managedNodes };
}

/** Messages visible + in flight in a queue. */
export async function queueDepth(sqs: SQSClient, url: string): Promise<number> {
  const a = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}
