/**
 * The checks of `k3s-burst doctor`. Each check returns one verdict — ok, warn, fail, or skip
 * when an earlier failure leaves nothing to check — with a sentence saying what was found
 * and, for warn/fail, the exact fix. No check ever puts a secret value in its result: secrets
 * are read, judged and dropped here.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { StsIdentityTokens } from '../aws/identity-token.js';
import { awsErrorCode, errorMessage } from '../aws/logger.js';
import { ServiceQuotasReader } from '../aws/service-quotas.js';
import { DynamoState } from '../aws/state.js';
import type { CliIo } from '../cli/io.js';
import { buildCatalog } from '../core/catalog.js';
import { fmtDuration, fmtTime } from '../core/format.js';
import {
  type Arch,
  type Config,
  MAX_AGENT_CLOCK_SKEW_SECONDS,
  type PauseState,
  tailscaleAuthProblems,
} from '../events/index.js';
import { TailscaleOAuthSecret } from '../tailscale/index.js';
import { routeApprovalCovers, tagsMissingFromTagOwners } from './acl.js';
import { isCredentialsError, type OpsClients, readSecret } from './context.js';
import { type Deployment, findDeployment, isUsableStackStatus, stackNameFor } from './deployment.js';
import { ConfigLoadError, type OpsEnvironment, readConfigFile } from './environment.js';
import { StackNotFoundError } from './errors.js';
import {
  exchangeOnce,
  FEDERATION_CHECK_IDS,
  federationChecks,
  IamOutboundFederation,
  leftoverOAuthSecretCheck,
} from './federation-check.js';
import {
  JOIN_CREDENTIAL_CHECK_ID,
  JOIN_TOKEN_CHECK_ID,
  joinCredentialChecks,
} from './join-credential-check.js';
import { PREREQUISITE_CHECK_IDS, prerequisiteChecks } from './prerequisites.js';
import { quotaChecks } from './quota-check.js';
import { tailnetPolicyCheck } from './tailnet-policy-check.js';
import { TailscaleProbe, TailscaleProbeError } from './tailscale-probe.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id, e.g. `secret.tailscale-oauth`. */
  id: string;
  status: CheckStatus;
  /** What was found (never a secret value). */
  message: string;
  /** For warn/fail: what to do, as a command or an exact edit. */
  fix?: string;
}

/** Every check, in the order they run (skipped ones are still listed). */
export const CHECK_IDS = [
  'config',
  'stack',
  'secret.tailscale-oauth',
  JOIN_TOKEN_CHECK_ID,
  JOIN_CREDENTIAL_CHECK_ID,
  'tailscale.oauth',
  ...FEDERATION_CHECK_IDS,
  'tailscale.acl',
  'tailscale.policy',
  'tailscale.routes',
  'ami',
  'quota',
  'agent.heartbeat',
  ...PREREQUISITE_CHECK_IDS,
  'pause',
  'dlq',
] as const;

export interface DoctorOptions {
  configFile?: string;
  /** Region override; the caller validated it. */
  region?: string;
  /** The pod CIDR, when nodes advertise it as Tailscale subnet routes. */
  podCidr?: string;
}

export interface DoctorReport {
  cluster?: string;
  region?: string;
  checks: CheckResult[];
}

const ok = (id: string, message: string): CheckResult => ({ id, status: 'ok', message });
const warn = (id: string, message: string, fix: string): CheckResult => ({
  id,
  status: 'warn',
  message,
  fix,
});
const fail = (id: string, message: string, fix: string): CheckResult => ({
  id,
  status: 'fail',
  message,
  fix,
});
const skip = (id: string, message: string): CheckResult => ({ id, status: 'skip', message });

/** Checks not run because `because`, listed so the operator sees what remains unchecked. */
function skipRest(done: CheckResult[], because: string): CheckResult[] {
  const seen = new Set(done.map((c) => c.id.split(':')[0]));
  return CHECK_IDS.filter((id) => !seen.has(id)).map((id) => skip(id, `not checked: ${because}`));
}

const putSecretFix = (arn: string, file: string, what: string) =>
  `write ${what} to ${file} and run: aws secretsmanager put-secret-value --secret-id ${arn} --secret-string file://${file} (then delete ${file})`;

// ───────── stack ─────────

/** The verdict on the stack status (exported for tests). */
export function stackCheck(d: Deployment): CheckResult {
  const s = d.stackStatus;
  const reason = d.stackStatusReason ? ` (${d.stackStatusReason})` : '';
  if (isUsableStackStatus(s)) return ok('stack', `stack ${d.stackName} is ${s} in ${d.region}`);
  if (s === 'DELETE_COMPLETE' || s === 'DELETE_IN_PROGRESS') {
    return fail(
      'stack',
      `stack ${d.stackName} is ${s} in ${d.region}`,
      'deploy it again: npx cdk deploy (after the deletion has finished)',
    );
  }
  if (s.endsWith('_IN_PROGRESS')) {
    return warn(
      'stack',
      `stack ${d.stackName} is ${s}: a deployment is running`,
      `wait for it: aws cloudformation describe-stacks --stack-name ${d.stackName} --region ${d.region}, then run doctor again`,
    );
  }
  if (s === 'ROLLBACK_COMPLETE' || s === 'ROLLBACK_FAILED' || s === 'CREATE_FAILED') {
    return fail(
      'stack',
      `stack ${d.stackName} is ${s}${reason}: its first deployment failed and it cannot be updated`,
      `see why: aws cloudformation describe-stack-events --stack-name ${d.stackName} --region ${d.region}; then delete it (aws cloudformation delete-stack --stack-name ${d.stackName} --region ${d.region}) and run npx cdk deploy again`,
    );
  }
  if (s === 'UPDATE_ROLLBACK_FAILED') {
    return fail(
      'stack',
      `stack ${d.stackName} is ${s}${reason}`,
      `aws cloudformation continue-update-rollback --stack-name ${d.stackName} --region ${d.region}, then npx cdk deploy`,
    );
  }
  return fail(
    'stack',
    `stack ${d.stackName} is ${s}${reason}`,
    `see aws cloudformation describe-stack-events --stack-name ${d.stackName} --region ${d.region}, fix the cause, then npx cdk deploy`,
  );
}

// ───────── secrets ─────────

async function tailscaleSecretCheck(
  clients: OpsClients,
  arn: string | undefined,
): Promise<{ result: CheckResult; credentials?: { clientId: string; clientSecret: string } }> {
  const id = 'secret.tailscale-oauth';
  if (!arn) {
    return {
      result: fail(
        id,
        'the stack has no TailscaleOAuthSecretArn output or secret',
        'run npx cdk deploy to update the stack',
      ),
    };
  }
  const shape = '{"clientId":"<id>","clientSecret":"tskey-client-…"}';
  const fix = putSecretFix(arn, 'tailscale-oauth.json', `the JSON ${shape} of a Tailscale OAuth client`);
  const read = await readSecret(clients.secrets, arn);
  if (read.kind === 'not-set') return { result: fail(id, `Tailscale OAuth secret ${arn} ${read.why}`, fix) };
  if (read.kind === 'error') {
    return {
      result: fail(
        id,
        `Tailscale OAuth secret ${arn} ${read.why}`,
        'use an identity allowed secretsmanager:GetSecretValue on it',
      ),
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(read.value);
  } catch {
    // JSON.parse's message quotes the input: never pass it on.
    return { result: fail(id, `Tailscale OAuth secret ${arn} is not valid JSON (expected ${shape})`, fix) };
  }
  const r = TailscaleOAuthSecret.safeParse(parsed);
  if (!r.success) {
    const fields = [...new Set(r.error.issues.map((i) => `$.${i.path.map(String).join('.')}`))].join(', ');
    return {
      result: fail(
        id,
        `Tailscale OAuth secret ${arn} has the wrong shape (bad or missing: ${fields}; expected ${shape})`,
        fix,
      ),
    };
  }
  if (!r.data.clientSecret.startsWith('tskey-client-')) {
    return {
      result: warn(
        id,
        `Tailscale OAuth secret ${arn} has clientId and clientSecret, but clientSecret does not start with tskey-client- (an API access token or auth key will not work)`,
        fix,
      ),
      credentials: r.data,
    };
  }
  return {
    result: ok(id, `Tailscale OAuth secret ${arn} is set ({clientId, clientSecret})`),
    credentials: r.data,
  };
}

// ───────── Tailscale ─────────

const OAUTH_CLIENT_FIX = (tags: string[], secretArn: string) =>
  `in the Tailscale admin console (Settings → OAuth clients) create a client with scopes auth_keys (write) and devices:core (write) and tags ${tags.join(', ')}, then store it: ${putSecretFix(secretArn, 'tailscale-oauth.json', 'its JSON {"clientId","clientSecret"}')}`;

function probeFailure(
  id: string,
  err: unknown,
  baseUrl: string,
  tags: string[],
  secretArn: string,
): CheckResult {
  if (!(err instanceof TailscaleProbeError)) {
    return fail(
      id,
      `Tailscale check failed: ${errorMessage(err).slice(0, 200)}`,
      'run doctor again; report a bug if it persists',
    );
  }
  if (err.status === 0) {
    return fail(
      id,
      `the Tailscale API at ${baseUrl} did not answer (${err.message})`,
      'check the network / proxy from this machine to api.tailscale.com (or K3S_BURST_TAILSCALE_API_URL), then run doctor again',
    );
  }
  if (err.status === 401 || (err.status === 400 && err.step === 'get an OAuth token')) {
    return fail(id, `Tailscale refused the OAuth client: ${err.message}`, OAUTH_CLIENT_FIX(tags, secretArn));
  }
  if (err.status === 403) {
    const need =
      err.step === 'create an auth key'
        ? `scope auth_keys and ownership of ${tags.join(', ')}`
        : err.step === 'list devices'
          ? 'scope devices:core'
          : 'more scopes';
    return fail(
      id,
      `the OAuth client may not ${err.step}: ${err.message} (it needs ${need})`,
      OAUTH_CLIENT_FIX(tags, secretArn),
    );
  }
  if (err.status === 400 && err.step === 'create an auth key') {
    return fail(
      id,
      `Tailscale refused a key tagged ${tags.join(', ')}: ${err.message}`,
      `define the tags in the tailnet policy file ("tagOwners": {${tags.map((t) => `"${t}": ["autogroup:admin"]`).join(', ')}}) and give them to the OAuth client`,
    );
  }
  return fail(
    id,
    `Tailscale answered: ${err.message}`,
    'run doctor again; if it persists see https://status.tailscale.com',
  );
}

const REQUIRED_SCOPES = ['auth_keys', 'devices:core'];

async function tailscaleChecks(
  env: OpsEnvironment,
  config: Config,
  credentials: { clientId: string; clientSecret: string } | undefined,
  podCidr: string | undefined,
  secretArn: string,
): Promise<CheckResult[]> {
  const tags = config.tailscale.tags;
  if (!credentials) {
    return [
      skip('tailscale.oauth', 'not checked: the Tailscale OAuth secret is not usable'),
      skip('tailscale.acl', 'not checked: the Tailscale OAuth secret is not usable'),
      skip('tailscale.policy', 'not checked: the Tailscale OAuth secret is not usable'),
      skip('tailscale.routes', 'not checked: the Tailscale OAuth secret is not usable'),
    ];
  }
  const probe = new TailscaleProbe({
    baseUrl: env.tailscaleBaseUrl,
    tailnet: config.tailscale.tailnet,
    credentials,
    fetch: env.fetch,
  });
  const out: CheckResult[] = [];
  let authenticated = false;
  try {
    const { scopes } = await probe.authenticate();
    authenticated = true;
    const missing =
      scopes === undefined || scopes.includes('all')
        ? []
        : REQUIRED_SCOPES.filter((s) => !scopes.includes(s));
    if (missing.length > 0) {
      out.push(
        fail(
          'tailscale.oauth',
          `the OAuth client lacks scope ${missing.join(' and ')} (it has: ${scopes?.join(' ') || 'none'})`,
          OAUTH_CLIENT_FIX(tags, secretArn),
        ),
      );
    } else {
      const devices = await probe.countDevices(tags[0] ?? '');
      const key = await probe.createProbeKey(tags, 300);
      let revoke = 'revoked it';
      try {
        await probe.deleteKey(key.id);
      } catch (err) {
        revoke = `left it to expire in 5 min (revoke failed: ${(err as Error).message}; it is single-use and not pre-authorized)`;
      }
      out.push(
        ok(
          'tailscale.oauth',
          `OAuth client works: token${scopes ? ` (scopes ${scopes.join(' ')})` : ''}, ${devices} device(s) tagged ${tags[0]}, minted a probe key tagged ${tags.join(',')} and ${revoke}`,
        ),
      );
    }
  } catch (err) {
    out.push(probeFailure('tailscale.oauth', err, env.tailscaleBaseUrl, tags, secretArn));
  }
  if (!authenticated) {
    out.push(skip('tailscale.acl', 'not checked: no Tailscale access token'));
    out.push(skip('tailscale.policy', 'not checked: no Tailscale access token'));
    out.push(skip('tailscale.routes', 'not checked: no Tailscale access token'));
    return out;
  }
  let policy: Record<string, unknown> | undefined;
  try {
    policy = await probe.getPolicy();
  } catch (err) {
    const forbidden = err instanceof TailscaleProbeError && err.status === 403;
    out.push(
      warn(
        'tailscale.acl',
        forbidden
          ? 'cannot read the tailnet policy file: the OAuth client has no policy_file:read scope'
          : `cannot read the tailnet policy file (${(err as Error).message})`,
        `check by hand that tagOwners defines ${tags.join(', ')} (admin console → Access controls), or add the policy_file:read scope to the OAuth client`,
      ),
    );
  }
  if (policy) {
    const missing = tagsMissingFromTagOwners(policy, tags);
    out.push(
      missing.length === 0
        ? ok('tailscale.acl', `tagOwners defines ${tags.join(', ')}`)
        : fail(
            'tailscale.acl',
            `tagOwners in the tailnet policy file does not define ${missing.join(', ')}: nodes cannot join with it`,
            `add to the tailnet policy file (admin console → Access controls): "tagOwners": {${missing.map((t) => `"${t}": ["autogroup:admin"]`).join(', ')}}`,
          ),
    );
  }
  out.push(tailnetPolicyCheck(policy, tags));
  if (!podCidr) {
    out.push(
      skip('tailscale.routes', 'not applicable: nodes advertise no subnet routes (no --pod-cidr given)'),
    );
  } else if (!policy) {
    out.push(
      warn(
        'tailscale.routes',
        `cannot check autoApprovers for ${podCidr}: the policy file is not readable`,
        `check by hand that autoApprovers.routes approves ${podCidr} for ${tags[0]}`,
      ),
    );
  } else if (routeApprovalCovers(policy, podCidr, tags)) {
    out.push(ok('tailscale.routes', `autoApprovers.routes approves ${podCidr} for ${tags.join(', ')}`));
  } else {
    out.push(
      fail(
        'tailscale.routes',
        `autoApprovers.routes does not approve the pod CIDR ${podCidr} for ${tags.join(', ')}: advertised pod routes wait for manual approval`,
        `add to the tailnet policy file: "autoApprovers": {"routes": {"${podCidr}": ["${tags[0]}"]}}`,
      ),
    );
  }
  return out;
}

// ───────── AMI, heartbeat, DLQs ─────────

/** Architectures of the candidate instance types (those the catalog knows). */
export function archesInUse(config: Config): Arch[] {
  const catalog = buildCatalog(config);
  const arches = new Set<Arch>();
  for (const t of config.nodes.candidateTypes) {
    const spec = catalog.get(t);
    if (spec) arches.add(spec.arch);
  }
  return [...arches].sort();
}

async function amiChecks(clients: OpsClients, config: Config, region: string): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const arch of archesInUse(config)) {
    const id = `ami:${arch}`;
    const name = config.nodes.amiSsmParameters[arch];
    try {
      const res = await clients.ssm.send(new GetParameterCommand({ Name: name }));
      const value = res.Parameter?.Value ?? '';
      out.push(
        /^ami-[0-9a-f]{8,17}$/.test(value)
          ? ok(id, `${arch} AMI resolves: ${name} → ${value}`)
          : fail(
              id,
              `SSM parameter ${name} holds "${value.slice(0, 40)}", not an AMI id`,
              `point nodes.amiSsmParameters.${arch} at a parameter holding an ami-… id, then npx cdk deploy`,
            ),
      );
    } catch (err) {
      const code = awsErrorCode(err);
      out.push(
        code === 'ParameterNotFound'
          ? fail(
              id,
              `SSM parameter ${name} (nodes.amiSsmParameters.${arch}) does not exist in ${region}`,
              `set nodes.amiSsmParameters.${arch} to an existing parameter (check: aws ssm get-parameter --name <name> --region ${region}), then npx cdk deploy`,
            )
          : fail(
              id,
              `cannot read SSM parameter ${name} (${code})`,
              'use an identity allowed ssm:GetParameter, then run doctor again',
            ),
      );
    }
  }
  if (out.length === 0) {
    out.push(
      fail(
        'ami',
        'no candidate instance type is in the catalog, so no architecture is in use',
        'list known types in nodes.candidateTypes or add them to catalog',
      ),
    );
  }
  return out;
}

async function heartbeatCheck(
  env: OpsEnvironment,
  clients: OpsClients,
  config: Config,
  tableName: string | undefined,
): Promise<CheckResult> {
  const id = 'agent.heartbeat';
  if (!tableName)
    return fail(
      id,
      'the stack has no TableName output or DynamoDB table',
      'run npx cdk deploy to update the stack',
    );
  const agentFix =
    'check the agent: kubectl -n k3s-burst get pods; kubectl -n k3s-burst logs deploy/k3s-burst-agent (AWS credentials, event bus name, clock); see docs/agent.md';
  let stored: Awaited<ReturnType<DynamoState['getLatestSnapshot']>>;
  try {
    stored = await new DynamoState({ client: clients.dynamo, tableName }).getLatestSnapshot(
      config.cluster.name,
    );
  } catch (err) {
    return fail(
      id,
      `cannot read the latest snapshot: ${errorMessage(err).slice(0, 300)}`,
      'use an identity allowed dynamodb:GetItem on the table',
    );
  }
  if (!stored) {
    return fail(
      id,
      `no snapshot stored for cluster ${config.cluster.name}: the agent has never reported`,
      `deploy the agent (kubectl apply -k deploy/, docs/agent.md); ${agentFix}`,
    );
  }
  // By the receiver's clock (I12): when the control plane stored it. The difference to the
  // agent's observedAt is the Pi's clock skew (plus delivery latency).
  const ageS = Math.max(0, Math.round((env.clock.now() - Date.parse(stored.storedAt)) / 1000));
  const skewS = Math.round((Date.parse(stored.snapshot.observedAt) - Date.parse(stored.storedAt)) / 1000);
  const limit = config.agent.staleAfterSeconds;
  const what = `last snapshot seq ${stored.snapshot.seq} was received ${fmtDuration(ageS)} ago (Pi clock skew ${skewS >= 0 ? '+' : ''}${skewS} s)`;
  const clockFix = `check the Pi's clock (timedatectl status; enable NTP): snapshots dated more than ${MAX_AGENT_CLOCK_SKEW_SECONDS} s ahead are rejected (metric FutureSnapshotsRejected)`;
  if (ageS > limit) {
    return fail(
      id,
      `${what}, over agent.staleAfterSeconds (${limit} s): the control plane treats the agent as stale (no scale-in)`,
      `${agentFix}; ${clockFix}`,
    );
  }
  if (Math.abs(skewS) > MAX_AGENT_CLOCK_SKEW_SECONDS) {
    return warn(
      id,
      `${what}: the Pi's clock is off by more than ${MAX_AGENT_CLOCK_SKEW_SECONDS} s`,
      clockFix,
    );
  }
  if (ageS > 2 * config.agent.heartbeatSeconds) {
    return warn(id, `${what}, more than twice the heartbeat (${config.agent.heartbeatSeconds} s)`, agentFix);
  }
  return ok(id, `${what} (stale after ${limit} s)`);
}

/** Whether the operator's pause (`k3s-burst pause`) is set: a warning, since nothing bursts. */
export function pauseVerdict(pause: PauseState | undefined, now: Date): CheckResult {
  if (!pause) return ok('pause', 'not paused: reconcile may launch');
  const by = `${pause.by}${pause.reason ? ` (${pause.reason})` : ''}`;
  return warn(
    'pause',
    `PAUSED since ${fmtTime(pause.since, now)} by ${by}: nothing is launched${pause.drain ? ', every cloud node is being drained' : ''}`,
    'when the emergency is over: npx k3s-burst resume',
  );
}

async function pauseCheck(
  env: OpsEnvironment,
  clients: OpsClients,
  config: Config,
  tableName: string | undefined,
): Promise<CheckResult> {
  if (!tableName) return skip('pause', 'not checked: the stack has no state table');
  try {
    const pause = await new DynamoState({ client: clients.dynamo, tableName }).getPause(config.cluster.name);
    return pauseVerdict(pause, new Date(env.clock.now()));
  } catch (err) {
    return fail(
      'pause',
      `cannot read the pause flag: ${errorMessage(err).slice(0, 300)}`,
      'use an identity allowed dynamodb:GetItem on the table',
    );
  }
}

async function dlqChecks(clients: OpsClients, d: Deployment): Promise<CheckResult[]> {
  if (d.deadLetterQueueUrls.length === 0) {
    return [
      warn(
        'dlq',
        'the stack lists no dead-letter queues',
        'run npx cdk deploy to update the stack (adds the DeadLetterQueueUrls output)',
      ),
    ];
  }
  const out: CheckResult[] = [];
  let empty = 0;
  for (const url of d.deadLetterQueueUrls.slice(0, 20)) {
    const name = url.split('/').pop() ?? url;
    try {
      const res = await clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const n =
        Number(res.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      if (n > 0) {
        out.push(
          fail(
            `dlq:${name}`,
            `dead-letter queue ${name} holds ${n} message(s): events or invocations that failed every retry`,
            `read them (aws sqs receive-message --queue-url ${url} --max-number-of-messages 10 --attribute-names All --message-attribute-names All), fix the cause (often a secret, a permission or a quota), then aws sqs purge-queue --queue-url ${url}`,
          ),
        );
      } else {
        empty += 1;
      }
    } catch (err) {
      out.push(
        fail(
          `dlq:${name}`,
          `cannot read dead-letter queue ${name} (${awsErrorCode(err)})`,
          'use an identity allowed sqs:GetQueueAttributes on it',
        ),
      );
    }
  }
  if (out.length === 0) out.push(ok('dlq', `all ${empty} dead-letter queue(s) are empty`));
  return out;
}

// ───────── all together ─────────

/** Run a check group; an unexpected error becomes a `fail` line instead of ending the command. */
async function guarded(id: string, fn: () => Promise<CheckResult[]>): Promise<CheckResult[]> {
  try {
    return await fn();
  } catch (err) {
    return [
      fail(
        id,
        `the check itself failed: ${errorMessage(err).slice(0, 300)}`,
        'run doctor again; if it persists, report it with this line',
      ),
    ];
  }
}

/**
 * tailscale.auth federated: the federation checks (lib/ops/federation-check.ts). The OAuth
 * probe and the checks that need an API token of doctor's own (ACL, policy, routes) are skipped:
 * no Tailscale credential is stored for doctor to use.
 */
async function federatedTailscaleChecks(
  env: OpsEnvironment,
  config: Config,
  region: string,
): Promise<CheckResult[]> {
  const ports = env.federation?.(region) ?? {
    federation: new IamOutboundFederation(new IAMClient(env.aws(region))),
    // The regional endpoint of the region (the global one does not serve GetWebIdentityToken).
    tokens: new StsIdentityTokens(new STSClient(env.aws(region))),
  };
  const because = 'tailscale.auth is federated: doctor holds no Tailscale API credential';
  return [
    skip(
      'tailscale.oauth',
      `${because} (the Lambdas exchange STS tokens; see the tailscale.federation checks)`,
    ),
    ...(await federationChecks(
      { ...ports, exchange: (clientId, jwt) => exchangeOnce(env.tailscaleBaseUrl, clientId, jwt, env.fetch) },
      config,
    )),
    skip('tailscale.acl', `not checked: ${because}`),
    skip('tailscale.policy', `not checked: ${because}`),
    skip('tailscale.routes', `not checked: ${because}`),
  ];
}

/** Run every check; never throws for a problem of the deployment (those are `fail` results). */
export async function runDoctorChecks(
  io: CliIo,
  env: OpsEnvironment,
  makeClientsFor: (region: string) => OpsClients,
  opts: DoctorOptions,
): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  let config: Config;
  let configPath: string;
  try {
    ({ config, path: configPath } = readConfigFile(io, opts.configFile));
  } catch (err) {
    if (!(err instanceof ConfigLoadError)) throw err;
    checks.push(fail('config', `${err.path}: ${err.problems.join('; ')}`, err.fix));
    return { checks: [...checks, ...skipRest(checks, 'the config is not valid')] };
  }
  const region = opts.region ?? config.cluster.region;
  const deployProblems = tailscaleAuthProblems(config);
  if (deployProblems.length > 0) {
    checks.push(
      fail(
        'config',
        `${configPath}: ${deployProblems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
        'set tailscale.federatedClientId (cdk synth and the Lambdas refuse the config without it)',
      ),
    );
    return {
      cluster: config.cluster.name,
      region,
      checks: [...checks, ...skipRest(checks, 'the config cannot be deployed')],
    };
  }
  checks.push(ok('config', `${configPath} is valid (cluster ${config.cluster.name}, region ${region})`));
  const report: DoctorReport = { cluster: config.cluster.name, region, checks };
  const clients = makeClientsFor(region);
  try {
    let d: Deployment;
    const stackName = stackNameFor(config.cluster.name);
    try {
      d = await findDeployment(clients.cfn, stackName, region);
    } catch (err) {
      if (err instanceof StackNotFoundError) {
        checks.push(
          fail(
            'stack',
            `stack ${stackName} does not exist in ${region}`,
            `deploy it: npx cdk deploy -c k3s-burst:config=${configPath} (or check --region)`,
          ),
        );
      } else if (isCredentialsError((err as Error).cause ?? err)) {
        checks.push(
          fail(
            'stack',
            `no usable AWS credentials for ${region} (${awsErrorCode((err as Error).cause ?? err)})`,
            'run aws configure or aws sso login (or set AWS_PROFILE), then check with aws sts get-caller-identity',
          ),
        );
      } else {
        checks.push(
          fail('stack', errorMessage(err), 'check your AWS credentials and region, then run doctor again'),
        );
      }
      checks.push(...skipRest(checks, 'the stack cannot be read'));
      return report;
    }
    checks.push(stackCheck(d));
    for (const note of d.notes)
      checks.push(warn('stack:outputs', note, 'run npx cdk deploy to update the stack'));
    let credentials: { clientId: string; clientSecret: string } | undefined;
    const federated = config.tailscale.auth === 'federated';
    const ts = federated
      ? await guarded('secret.tailscale-oauth', async () => [
          await leftoverOAuthSecretCheck(clients, config.cluster.name),
        ])
      : await guarded('secret.tailscale-oauth', async () => {
          const r = await tailscaleSecretCheck(clients, d.tailscaleOAuthSecretArn);
          credentials = r.credentials;
          return [r.result];
        });
    checks.push(...ts);
    checks.push(
      ...(await guarded(JOIN_TOKEN_CHECK_ID, () =>
        joinCredentialChecks(clients, config, d, new Date(env.clock.now())),
      )),
    );
    checks.push(
      ...(await guarded('tailscale.oauth', () =>
        federated
          ? federatedTailscaleChecks(env, config, region)
          : tailscaleChecks(
              env,
              config,
              credentials,
              opts.podCidr,
              d.tailscaleOAuthSecretArn ?? '<TailscaleOAuthSecretArn>',
            ).then((r) => {
              // In CHECK_IDS order: the federation checks follow tailscale.oauth.
              const at = r.filter((c) => c.id.startsWith('tailscale.oauth')).length;
              const notFederated = FEDERATION_CHECK_IDS.map((id) =>
                skip(
                  id,
                  'not checked: tailscale.auth is oauth-client (the stored OAuth client is probed instead)',
                ),
              );
              return [...r.slice(0, at), ...notFederated, ...r.slice(at)];
            }),
      )),
    );
    checks.push(...(await guarded('ami', () => amiChecks(clients, config, region))));
    const quotas = env.quotas?.(region) ?? new ServiceQuotasReader({ client: clients.serviceQuotas });
    checks.push(...(await guarded('quota', () => quotaChecks(quotas, config, region))));
    checks.push(
      ...(await guarded('agent.heartbeat', async () => [
        await heartbeatCheck(env, clients, config, d.tableName),
      ])),
    );
    checks.push(
      ...(await guarded('pi.node-ip', async () =>
        d.tableName
          ? prerequisiteChecks(
              await new DynamoState({ client: clients.dynamo, tableName: d.tableName }).getLatestSnapshot(
                config.cluster.name,
              ),
              config,
              new Date(env.clock.now()),
            )
          : PREREQUISITE_CHECK_IDS.map((id) => skip(id, 'not checked: the stack has no state table')),
      )),
    );
    checks.push(
      ...(await guarded('pause', async () => [await pauseCheck(env, clients, config, d.tableName)])),
    );
    checks.push(...(await guarded('dlq', () => dlqChecks(clients, d))));
    return report;
  } finally {
    clients.destroy();
  }
}
