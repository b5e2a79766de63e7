/**
 * The Lambda runtime shared by the five handlers: environment validation, the adapters
 * behind the ports of `lib/core/ports.ts`, Powertools Logger + Metrics, and `makeHandler`.
 *
 * How a handler uses it (A2: terminate / janitor / interruption do exactly this):
 *
 * ```ts
 * // lambdas/terminate.ts
 * import { parseTerminateEvent } from '../lib/control/inputs.js';
 * import { terminate } from '../lib/control/terminate.js';
 * import { makeHandler } from './runtime.js';
 *
 * export const handler = makeHandler('terminate', {
 *   parse: (raw, deps) => parseTerminateEvent(raw, deps.env.cluster),
 *   run: (input, deps, invocation) => terminate(input, deps, invocation),
 * });
 * ```
 *
 * - `parse` turns the raw event into a typed input or `{ ok: false, reason }`; a refusal is
 *   logged (envelope fields only, never the detail), counted as `InvalidEvents` and answered
 *   with `{ outcome: 'rejected' }` WITHOUT throwing (a throw would make Lambda retry it).
 * - `run` gets {@link ControlDeps}: ports (fleet, bus, state, secrets, devices, images), the
 *   validated config, clock, logger and metrics sink; never an SDK client. A use-case in
 *   `lib/control` should type its parameter as the subset it needs (e.g.
 *   `ControlBase & Pick<ControlPorts, 'fleet' | 'bus'>`), so unit tests pass fakes.
 * - An error thrown by `run` is logged and rethrown: Lambda's async retry (2 attempts, then
 *   the functions DLQ) redoes it, and every use-case step is idempotent.
 * - Metrics are flushed after every invocation (EMF, namespace `POWERTOOLS_METRICS_NAMESPACE`,
 *   service `POWERTOOLS_SERVICE_NAME`, dimension `cluster`).
 * - Tests: `createDeps(env, { clientConfig })` builds the real adapters against moto;
 *   `makeHandler(name, spec, { deps: () => deps })` builds a handler file's handler (its
 *   exported spec) over given deps. No module-level test hook: the default path is the only
 *   one `process.env` drives.
 *
 * Cold start: the environment and CONFIG_JSON are validated once per process, on the first
 * invocation (a bad variable fails every invocation with an error naming it). SDK clients and
 * adapters are built on first use only (e.g. interruption never builds the Secrets Manager
 * client), the Tailscale OAuth secret is read on the first Tailscale call, and AMI ids are
 * read from SSM on the first launch and cached.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { EventBridgeBus } from '../lib/aws/bus.js';
import { Ec2QueryApi } from '../lib/aws/ec2-query.js';
import { type Ec2Api, Ec2Fleet } from '../lib/aws/fleet.js';
import { type IdentityTokenPort, StsIdentityTokens } from '../lib/aws/identity-token.js';
import { awsErrorCode, errorMessage } from '../lib/aws/logger.js';
import type { SubnetChoice } from '../lib/aws/offerings.js';
import { SecretsManagerSecrets } from '../lib/aws/secrets.js';
import { DynamoState } from '../lib/aws/state.js';
import {
  type ControlBase,
  ControlError,
  type ControlMetricName,
  type ControlPorts,
  type ImageResolver,
  type Invocation,
  type RejectedResult,
  rejectEvent,
} from '../lib/control/common.js';
import type { Parsed } from '../lib/control/inputs.js';
import type { Clock } from '../lib/core/clock.js';
import { type LogFields, type Logger, redactFields } from '../lib/core/logger.js';
import type { Metrics } from '../lib/core/metrics.js';
import type { FleetPort, LaunchOneRequest, SecretsPort, StartMemberRequest } from '../lib/core/ports.js';
import type { Config } from '../lib/events/config.js';
import { ConfigError, validateConfig } from '../lib/events/config-validate.js';
import { type LambdaEnvProblem, parseLambdaEnv } from '../lib/events/lambda-env.js';
import {
  TAILSCALE_IDENTITY_TOKEN_SECONDS,
  tailscaleAudience,
  tailscaleAuthProblems,
} from '../lib/events/tailscale-federation.js';
import { systemClock } from '../lib/system/clock.js';
import { TailscaleClient, type TailscaleClientProps, TailscaleOAuthSecret } from '../lib/tailscale/client.js';

// ───────────────────────── environment ─────────────────────────

/** A missing or malformed environment variable (or CONFIG_JSON). The message names it and the fix. */
export class RuntimeConfigError extends ControlError {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(
      `environment variable ${variable} ${message}. The k3s-burst stack sets it; redeploy the stack (cdk deploy) or fix the function configuration.`,
    );
    this.name = 'RuntimeConfigError';
  }
}

/** The validated Lambda environment (lib/events/lambda-env.ts: the variables and who sets them). */
export interface RuntimeEnv {
  cluster: string;
  region: string;
  eventBusName: string;
  tableName: string;
  commandQueueUrl: string;
  /** Empty with `tailscale.auth: federated` (no OAuth client is stored then). */
  tailscaleOAuthSecretArn: string;
  k3sJoinTokenSecretArn: string;
  /** Unused by the RunInstances fleet (it passes every launch parameter itself); kept for ops tools. */
  launchTemplateId: string;
  subnetIds: string[];
  securityGroupId: string;
  instanceProfileArn: string;
  amiParameters: { arm64: string; amd64: string };
  /** Tailscale API base URL: `TAILSCALE_API_URL` (tests only) or the public API. */
  tailscaleApiUrl: string;
  config: Config;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Read and validate the environment with the one schema the stack writes it by
 * (`LambdaEnv`, lib/events/lambda-env.ts). Every problem names the variable; CONFIG_JSON
 * problems list the bad config fields (as `k3s-burst plan` would).
 * @throws RuntimeConfigError
 */
export function readEnv(env: Env = process.env): RuntimeEnv {
  const parsed = parseLambdaEnv(env);
  if (!parsed.ok) {
    const first = parsed.problems[0] as LambdaEnvProblem;
    throw new RuntimeConfigError(first.variable, first.message);
  }
  const v = parsed.value;
  let json: unknown;
  try {
    json = JSON.parse(v.CONFIG_JSON);
  } catch (err) {
    throw new RuntimeConfigError('CONFIG_JSON', `is not JSON (${errorMessage(err).slice(0, 120)})`);
  }
  let config: Config;
  try {
    // The one config validator `cdk synth` ran (strict fields, cron fields, catalog, guard),
    // so a config synth accepted is accepted here, and a hand-edited one is refused alike.
    config = validateConfig(json, 'CONFIG_JSON');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new RuntimeConfigError('CONFIG_JSON', `does not hold a valid config: ${errorMessage(err)}`);
  }
  // Deploy-only rule (synth refuses it too): federated mode needs its client id. Never a silent
  // fallback to the OAuth client.
  const authProblem = tailscaleAuthProblems(config)[0];
  if (authProblem) {
    throw new RuntimeConfigError('CONFIG_JSON', `${authProblem.path}: ${authProblem.message}`);
  }
  if (config.tailscale.auth === 'oauth-client' && !v.TAILSCALE_OAUTH_SECRET_ARN) {
    throw new RuntimeConfigError(
      'TAILSCALE_OAUTH_SECRET_ARN',
      'is required with tailscale.auth "oauth-client" (the stack sets it in that mode)',
    );
  }
  if (config.cluster.name !== v.CLUSTER_NAME) {
    throw new RuntimeConfigError(
      'CLUSTER_NAME',
      `is "${v.CLUSTER_NAME}" but CONFIG_JSON is for cluster "${config.cluster.name}"`,
    );
  }
  return {
    cluster: v.CLUSTER_NAME,
    region: v.AWS_REGION || config.cluster.region,
    eventBusName: v.EVENT_BUS_NAME,
    tableName: v.TABLE_NAME,
    commandQueueUrl: v.COMMAND_QUEUE_URL,
    tailscaleOAuthSecretArn: v.TAILSCALE_OAUTH_SECRET_ARN,
    k3sJoinTokenSecretArn: v.K3S_JOIN_TOKEN_SECRET_ARN,
    launchTemplateId: v.LAUNCH_TEMPLATE_ID,
    subnetIds: v.SUBNET_IDS,
    securityGroupId: v.SECURITY_GROUP_ID,
    instanceProfileArn: v.INSTANCE_PROFILE_ARN,
    amiParameters: {
      arm64: v.AMI_PARAMETER_ARM64 || config.nodes.amiSsmParameters.arm64,
      amd64: v.AMI_PARAMETER_AMD64 || config.nodes.amiSsmParameters.amd64,
    },
    tailscaleApiUrl: v.TAILSCALE_API_URL || 'https://api.tailscale.com',
    config,
  };
}

// ───────────────────────── deps ─────────────────────────

/** The ports ({@link ControlPorts}) are built lazily: only what a handler touches is constructed. */
export type { ControlPorts };

/** Everything a handler's `run` gets. */
export interface ControlDeps extends ControlBase, ControlPorts {
  env: RuntimeEnv;
  /** The whole clock: the adapters also wait on it between retries. */
  clock: Clock;
}

/** What a caller may override when building deps (tests: moto endpoints, fake Tailscale fetch). */
export interface CreateDepsOptions {
  /** Spread into every SDK client constructor (e.g. `moto.clientConfig`). */
  clientConfig?: object;
  logger?: Logger;
  metrics?: Metrics<ControlMetricName>;
  /** @default systemClock */
  clock?: Clock;
  fetch?: typeof fetch;
  /** Replace individual ports (e.g. an in-memory fake; `identityTokens` stands in for STS). */
  ports?: Partial<ControlPorts> & { identityTokens?: IdentityTokenPort };
  /**
   * Use these clients instead of building them (tests inject errors with SDK middleware:
   * pass `sdkEc2Api(ec2Client)` from lib/aws/ec2-sdk.ts). By default EC2 is reached with
   * the small Query-protocol client (`Ec2QueryApi`), not the SDK (bundle size, cold start).
   */
  clients?: { ec2?: Ec2Api; eventBridge?: EventBridgeClient };
}

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value as T;
  };
}

/**
 * FleetPort that resolves the zones of `SUBNET_IDS` (DescribeSubnets) on first use, then
 * delegates to {@link Ec2Fleet}. Order of SUBNET_IDS is kept (it is the zone preference).
 */
class LazyEc2Fleet implements FleetPort {
  private inner: Promise<Ec2Fleet> | undefined;
  constructor(
    private readonly ec2: () => Ec2Api,
    private readonly make: (ec2: Ec2Api, subnets: SubnetChoice[]) => Ec2Fleet,
    private readonly subnetIds: string[],
  ) {}
  private fleet(): Promise<Ec2Fleet> {
    this.inner ??= this.resolve().catch((err) => {
      this.inner = undefined; // do not cache a failure
      throw err;
    });
    return this.inner;
  }
  private async resolve(): Promise<Ec2Fleet> {
    const ec2 = this.ec2();
    let zones: Map<string, string>;
    try {
      const out = await ec2.describeSubnets({ SubnetIds: this.subnetIds });
      zones = new Map((out.Subnets ?? []).map((s) => [s.SubnetId ?? '', s.AvailabilityZone ?? '']));
    } catch (err) {
      throw new RuntimeConfigError(
        'SUBNET_IDS',
        `could not be resolved to zones (DescribeSubnets: ${awsErrorCode(err)})`,
      );
    }
    const missing = this.subnetIds.filter((id) => !zones.get(id));
    if (missing.length > 0)
      throw new RuntimeConfigError('SUBNET_IDS', `names unknown subnets ${missing.join(', ')}`);
    return this.make(
      ec2,
      this.subnetIds.map((subnetId) => ({ subnetId, zone: zones.get(subnetId) as string })),
    );
  }
  async list(opts?: { includeTerminated?: boolean }) {
    return (await this.fleet()).list(opts);
  }
  async findLaunched(launchKey: string) {
    return (await this.fleet()).findLaunched(launchKey);
  }
  async launchOne(req: LaunchOneRequest) {
    return (await this.fleet()).launchOne(req);
  }
  async terminate(instanceIds: string[]) {
    return (await this.fleet()).terminate(instanceIds);
  }
  async start(req: StartMemberRequest) {
    return (await this.fleet()).start(req);
  }
  async stop(instanceIds: string[]) {
    return (await this.fleet()).stop(instanceIds);
  }
}

/** AMI ids from SSM parameters, cached for 10 minutes per architecture. */
class SsmImages implements ImageResolver {
  private readonly cache = new Map<string, { id: string; at: number }>();
  constructor(
    private readonly ssm: () => SSMClient,
    private readonly parameters: RuntimeEnv['amiParameters'],
    private readonly clock: Pick<Clock, 'now'>,
  ) {}
  async imageFor(arch: 'arm64' | 'amd64'): Promise<string> {
    const now = this.clock.now();
    const hit = this.cache.get(arch);
    if (hit && now - hit.at < 600_000) return hit.id;
    const name = this.parameters[arch];
    let value: string | undefined;
    try {
      value = (await this.ssm().send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
    } catch (err) {
      throw new ControlError(
        `cannot read the ${arch} AMI from SSM parameter ${name} (${awsErrorCode(err)}); check nodes.amiSsmParameters.${arch} and the function's ssm:GetParameter permission`,
      );
    }
    if (!value || !/^ami-[0-9a-f]{8,17}$/.test(value)) {
      throw new ControlError(
        `SSM parameter ${name} does not hold an AMI id (nodes.amiSsmParameters.${arch})`,
      );
    }
    this.cache.set(arch, { id: value, at: now });
    return value;
  }
}

/**
 * Powertools Logger as the one {@link Logger} (lib/core/logger.ts): attributes pass through
 * {@link redactFields} like every other logger's, and a child adds its fields to each line.
 */
export function powertoolsLogger(logger: PowertoolsLogger, base: LogFields = {}): Logger {
  const emit =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (m: string, a?: LogFields): void => {
      const fields = a || Object.keys(base).length > 0 ? redactFields({ ...base, ...a }) : undefined;
      if (fields) logger[level](m, fields);
      else logger[level](m);
    };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => powertoolsLogger(logger, { ...base, ...fields }),
  };
}

/**
 * Powertools Metrics (EMF) as the one {@link Metrics} (lib/core/metrics.ts): a count is a
 * `Count` datapoint, a gauge a datapoint in its unit; labels become the dimensions of a single
 * metric.
 */
export function powertoolsMetrics(metrics: PowertoolsMetrics): Metrics<ControlMetricName> {
  // Every unit of lib/core/metrics.ts is also an EMF unit of the same spelling.
  type EmfUnit = (typeof MetricUnit)[keyof typeof MetricUnit];
  const add = (name: string, unit: EmfUnit, value: number, labels?: Record<string, string>): void => {
    if (!labels || Object.keys(labels).length === 0) {
      metrics.addMetric(name, unit, value);
      return;
    }
    const single = metrics.singleMetric();
    single.addDimensions(labels);
    single.addMetric(name, unit, value);
  };
  return {
    count: (name, value = 1, labels) => add(name, MetricUnit.Count, value, labels),
    gauge: (name, value, unit = 'None', labels) => add(name, unit, value, labels),
  };
}

/**
 * The Lambdas' EC2 client: region, endpoint and credentials from an SDK-style client config
 * when given (tests: `moto.clientConfig`), else the environment (Lambda's role credentials,
 * AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL, else the regional endpoint).
 */
function ec2QueryApi(region: string, clientConfig: object | undefined): Ec2QueryApi {
  const cc = (clientConfig ?? {}) as {
    region?: unknown;
    endpoint?: unknown;
    maxAttempts?: unknown;
    credentials?: unknown;
  };
  const creds = cc.credentials as {
    accessKeyId?: unknown;
    secretAccessKey?: unknown;
    sessionToken?: unknown;
  };
  const staticCreds =
    creds && typeof creds.accessKeyId === 'string' && typeof creds.secretAccessKey === 'string'
      ? {
          accessKeyId: creds.accessKeyId,
          secretAccessKey: creds.secretAccessKey,
          ...(typeof creds.sessionToken === 'string' ? { sessionToken: creds.sessionToken } : {}),
        }
      : undefined;
  return new Ec2QueryApi({
    region: typeof cc.region === 'string' ? cc.region : region,
    endpoint: typeof cc.endpoint === 'string' ? cc.endpoint : undefined,
    credentials: staticCreds,
    maxAttempts: typeof cc.maxAttempts === 'number' ? cc.maxAttempts : undefined,
  });
}

/**
 * How the Tailscale client authenticates. `federated` (the default): it exchanges a fresh STS
 * identity token for Tailscale's audience (one per API token, not per call) and never reads a
 * secret; `oauth-client`: it reads the OAuth client secret. No fallback from one to the other.
 */
function tailscaleAuth(
  env: RuntimeEnv,
  secrets: () => SecretsPort,
  identityTokens: () => IdentityTokenPort,
): Pick<TailscaleClientProps, 'credentials' | 'federation'> {
  const clientId = env.config.tailscale.federatedClientId;
  if (env.config.tailscale.auth === 'oauth-client' || !clientId) {
    return {
      credentials: () => secrets().getJsonSecret(env.tailscaleOAuthSecretArn, TailscaleOAuthSecret),
    };
  }
  const port = lazy(identityTokens);
  return {
    credentials: undefined,
    federation: {
      clientId,
      identityToken: async () =>
        (
          await port().getWebIdentityToken({
            audience: tailscaleAudience(clientId),
            durationSeconds: TAILSCALE_IDENTITY_TOKEN_SECONDS,
            signingAlgorithm: 'ES384',
          })
        ).token,
    },
  };
}

/** Build the deps from a validated environment. Nothing touches the network until a port is used. */
export function createDeps(env: RuntimeEnv, opts: CreateDepsOptions = {}): ControlDeps {
  const cc = { region: env.region, ...(opts.clientConfig ?? {}) };
  const clock = opts.clock ?? systemClock;
  const log =
    opts.logger ??
    powertoolsLogger(
      new PowertoolsLogger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'k3s-burst' }),
    );
  const metrics =
    opts.metrics ?? powertoolsMetrics(new PowertoolsMetrics({ defaultDimensions: { cluster: env.cluster } }));
  const ec2 = lazy((): Ec2Api => opts.clients?.ec2 ?? ec2QueryApi(env.region, opts.clientConfig));
  const state = lazy(
    () => opts.ports?.state ?? new DynamoState({ client: new DynamoDBClient(cc), tableName: env.tableName }),
  );
  const secrets = lazy(
    () =>
      opts.ports?.secrets ??
      new SecretsManagerSecrets({ client: new SecretsManagerClient(cc), clock, logger: log }),
  );
  const fleet = lazy(
    () =>
      opts.ports?.fleet ??
      new LazyEc2Fleet(
        ec2,
        (client, subnets) =>
          new Ec2Fleet({
            ec2: client,
            cluster: env.cluster,
            nodeNamePrefix: env.config.nodes.namePrefix,
            subnets,
            securityGroupIds: [env.securityGroupId],
            instanceProfileArn: env.instanceProfileArn || undefined,
            rootVolumeGiB: env.config.nodes.rootVolumeGiB,
            rootDeviceName: env.config.nodes.rootDeviceName,
            offeringCache: state().offeringCache(env.cluster),
            unavailableOfferingTtlSeconds: env.config.launch.unavailableOfferingTtlSeconds,
            clock,
            logger: log,
          }),
        env.subnetIds,
      ),
  );
  const bus = lazy(
    () =>
      opts.ports?.bus ??
      new EventBridgeBus({
        client: opts.clients?.eventBridge ?? new EventBridgeClient(cc),
        eventBusName: env.eventBusName,
        clock,
        logger: log,
      }),
  );
  const devices = lazy(
    () =>
      opts.ports?.devices ??
      new TailscaleClient({
        // Read lazily on the first Tailscale call; the client caches the API token (for its
        // lifetime minus a margin, across warm invocations), SecretsPort the OAuth secret.
        ...tailscaleAuth(
          env,
          secrets,
          () => opts.ports?.identityTokens ?? new StsIdentityTokens(new STSClient(cc)),
        ),
        baseUrl: env.tailscaleApiUrl,
        tailnet: env.config.tailscale.tailnet,
        fetch: opts.fetch,
        clock,
        logger: log,
      }),
  );
  const images = lazy(
    () =>
      opts.ports?.images ??
      new SsmImages(
        lazy(() => new SSMClient(cc)),
        env.amiParameters,
        clock,
      ),
  );
  return {
    env,
    config: env.config,
    clock,
    log,
    metrics,
    get fleet() {
      return fleet();
    },
    get bus() {
      return bus();
    },
    get state() {
      return state();
    },
    get secrets() {
      return secrets();
    },
    get devices() {
      return devices();
    },
    get images() {
      return images();
    },
  };
}

// ───────────────────────── handlers ─────────────────────────

/** Per-process Logger and Metrics: cheap (no I/O), read service/namespace from POWERTOOLS_* env. */
const processLogger = lazy(
  () => new PowertoolsLogger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'k3s-burst' }),
);
const processMetrics = lazy(() => new PowertoolsMetrics());
/** The per-process deps: built on the first invocation from `process.env`. */
let processDeps: ControlDeps | undefined;

function defaultDeps(): ControlDeps {
  if (!processDeps) {
    const env = readEnv(process.env);
    const logger = processLogger();
    logger.appendPersistentKeys({ cluster: env.cluster });
    const metrics = processMetrics();
    metrics.setDefaultDimensions({ cluster: env.cluster });
    processDeps = createDeps(env, { logger: powertoolsLogger(logger), metrics: powertoolsMetrics(metrics) });
  }
  return processDeps;
}

/** What a handler file gives {@link makeHandler}. */
export interface HandlerSpec<I, R> {
  parse(raw: unknown, deps: ControlDeps): Parsed<I>;
  run(input: I, deps: ControlDeps, invocation: Invocation): Promise<R>;
}

/**
 * A handler file's spec, typed from its `parse` and `run`. Each `lambdas/<name>.ts` exports
 * its spec beside `handler`, so a test builds the same handler over its own deps
 * (`makeHandler(name, spec, { deps })`) instead of swapping process-wide state.
 */
export function handlerSpec<I, R>(spec: HandlerSpec<I, R>): HandlerSpec<I, R> {
  return spec;
}

/** How {@link makeHandler} gets its deps. */
export interface MakeHandlerOptions {
  /**
   * The deps of every invocation (tests: fakes, or adapters against moto).
   * @default - built once per process from `process.env` on the first invocation
   */
  deps?: () => ControlDeps;
}

export type BurstHandler<R> = (event: unknown, context: Context) => Promise<R | RejectedResult>;

/**
 * A middy handler: validates the environment once, parses the event (refusals are logged,
 * counted and answered without throwing), runs the use-case (errors logged and rethrown so
 * Lambda retries), and flushes metrics after every invocation, failed or not.
 */
export function makeHandler<I, R>(
  name: string,
  spec: HandlerSpec<I, R>,
  options: MakeHandlerOptions = {},
): BurstHandler<R> {
  const depsOf = options.deps ?? defaultDeps;
  const core = async (event: unknown, context: Context): Promise<R | RejectedResult> => {
    const deps = depsOf();
    const parsed = spec.parse(event, deps);
    if (!parsed.ok) return rejectEvent(deps, parsed.reason, event);
    try {
      return await spec.run(parsed.input, deps, { requestId: context?.awsRequestId || 'local' });
    } catch (err) {
      deps.log.error(`${name} failed; Lambda will retry the event`, {
        error: err instanceof Error ? err.name : 'Error',
        message: errorMessage(err).slice(0, 1000),
      });
      throw err;
    }
  };
  return middy<unknown, R | RejectedResult, Error, Context>()
    .use(injectLambdaContext(processLogger()))
    .use(logMetrics(processMetrics()))
    .handler(core) as unknown as BurstHandler<R>;
}
