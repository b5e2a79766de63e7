/**
 * Doctor's checks of the K3s join credential (issue #16), for both `k3s.joinCredential` modes:
 *
 * - `secret.k3s-join-token`: the secret launch reads. bootstrap-token: the agent's published
 *   `{token, tokenId, expiresAt}` exists, parses, and is valid long enough for a node to join
 *   (JOIN_TOKEN_MIN_VALIDITY_SECONDS); agent-token: a plain-text agent token, never the server
 *   token.
 * - `k3s.join-credential`: the migration state. bootstrap-token with no agent-token secret left
 *   in the stack is ok; agent-token mode warns (a long-lived token is stored and goes into every
 *   instance's user data) and says how to migrate; a config in bootstrap-token mode against a
 *   stack still deployed for agent-token warns to redeploy.
 *
 * Messages name secrets by ARN and tokens by id, never by value.
 */
import type { Config } from '../events/index.js';
import {
  JOIN_TOKEN_MIN_VALIDITY_SECONDS,
  JoinTokenSecret,
  joinTokenRemainingSeconds,
} from '../events/join-token.js';
import { type OpsClients, readSecret } from './context.js';
import type { Deployment } from './deployment.js';

/** The shape doctor's checks share (lib/ops/doctor.ts `CheckResult`). */
export interface JoinCredentialCheckResult {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  fix?: string;
}

export const JOIN_TOKEN_CHECK_ID = 'secret.k3s-join-token';
export const JOIN_CREDENTIAL_CHECK_ID = 'k3s.join-credential';

const MIGRATION_DOC = 'docs/security.md, "Migrating from the agent token"';
const AGENT_SETUP =
  'apply deploy/kube-system/ (kubectl apply -k deploy/kube-system/) and set K3S_BURST_BOOTSTRAP_TOKEN_SECRET in the k3s-burst-aws Secret to the stack output K3sBootstrapTokenSecretArn (docs/agent.md)';

/** Both join-credential checks, in order. */
export async function joinCredentialChecks(
  clients: OpsClients,
  config: Config,
  d: Deployment,
  now: Date,
): Promise<JoinCredentialCheckResult[]> {
  const mode = config.k3s.joinCredential;
  const secret =
    mode === 'bootstrap-token'
      ? await bootstrapTokenCheck(clients, d.k3sBootstrapTokenSecretArn, now)
      : await agentTokenCheck(clients, d.k3sAgentTokenSecretArn);
  return [secret, migrationCheck(mode, d)];
}

function migrationCheck(mode: Config['k3s']['joinCredential'], d: Deployment): JoinCredentialCheckResult {
  const id = JOIN_CREDENTIAL_CHECK_ID;
  if (mode === 'agent-token') {
    return {
      id,
      status: 'warn',
      message:
        "k3s.joinCredential is agent-token: a long-lived K3s agent token is stored in Secrets Manager and written into every instance's user data",
      fix: `switch to short-lived bootstrap tokens: set "k3s": {"joinCredential": "bootstrap-token"}, npx cdk deploy (deletes the stored agent token), then ${AGENT_SETUP}; see ${MIGRATION_DOC}`,
    };
  }
  if (d.k3sAgentTokenSecretArn) {
    return {
      id,
      status: 'warn',
      message: `the config uses bootstrap tokens but the deployed stack still has the agent-token secret ${d.k3sAgentTokenSecretArn}`,
      fix: `run npx cdk deploy: the stack then deletes the stored agent token and launch reads the agent's bootstrap token (${MIGRATION_DOC})`,
    };
  }
  return {
    id,
    status: 'ok',
    message:
      'bootstrap-token mode: no long-lived K3s token is stored; nodes get a token that expires within the hour',
  };
}

async function bootstrapTokenCheck(
  clients: OpsClients,
  arn: string | undefined,
  now: Date,
): Promise<JoinCredentialCheckResult> {
  const id = JOIN_TOKEN_CHECK_ID;
  if (!arn) {
    return {
      id,
      status: 'fail',
      message:
        'k3s.joinCredential is bootstrap-token but the stack has no K3sBootstrapTokenSecretArn output or secret',
      fix: 'run npx cdk deploy to update the stack',
    };
  }
  const read = await readSecret(clients.secrets, arn);
  if (read.kind === 'not-set') {
    return {
      id,
      status: 'fail',
      message: `bootstrap-token secret ${arn} ${read.why}: the agent has not published a join token, so nothing can launch`,
      fix: `${AGENT_SETUP}; the agent's log says "bootstrap token minted and published"`,
    };
  }
  if (read.kind === 'error') {
    return {
      id,
      status: 'fail',
      message: `bootstrap-token secret ${arn} ${read.why}`,
      fix: 'use an identity allowed secretsmanager:GetSecretValue on it',
    };
  }
  let parsed: ReturnType<typeof JoinTokenSecret.safeParse>;
  try {
    parsed = JoinTokenSecret.safeParse(JSON.parse(read.value));
  } catch {
    parsed = JoinTokenSecret.safeParse(undefined);
  }
  if (!parsed.success) {
    return {
      id,
      status: 'fail',
      message: `bootstrap-token secret ${arn} does not hold the agent's {token, tokenId, expiresAt} (fields: ${parsed.error.issues.map((i) => ['$', ...i.path.map(String)].join('.')).join(', ')})`,
      fix: `only the agent writes this secret: remove any value you put there (aws secretsmanager put-secret-value is not needed) and ${AGENT_SETUP}`,
    };
  }
  const remaining = joinTokenRemainingSeconds(parsed.data, now);
  const token = `bootstrap token ${parsed.data.tokenId}`;
  if (remaining < JOIN_TOKEN_MIN_VALIDITY_SECONDS) {
    return {
      id,
      status: 'fail',
      message: `${token} ${remaining <= 0 ? `expired at ${parsed.data.expiresAt}` : `expires in ${remaining} s`}: the agent is not renewing it, so launches are refused (JoinTokenUnavailable)`,
      fix: 'check the agent: kubectl -n k3s-burst logs deploy/k3s-burst-agent (look for "bootstrap token not renewed") and its metric k3s_burst_agent_join_token_failures_total',
    };
  }
  if (remaining > 3600) {
    return {
      id,
      status: 'fail',
      message: `${token} is valid for another ${Math.round(remaining / 60)} min, longer than the hour a bootstrap token may live`,
      fix: `only the agent should write ${arn}; check who else can (secretsmanager:PutSecretValue) and set K3S_BURST_BOOTSTRAP_TOKEN_TTL_SECONDS to at most 3300`,
    };
  }
  return {
    id,
    status: 'ok',
    message: `${token} published by the agent, valid for another ${Math.floor(remaining / 60)} min (value not shown)`,
  };
}

const putSecretFix = (arn: string, file: string, what: string) =>
  `write ${what} to ${file} and run: aws secretsmanager put-secret-value --secret-id ${arn} --secret-string file://${file} (then delete ${file})`;

/** agent-token mode: the plain-text K3s agent token, never the server token. */
async function agentTokenCheck(
  clients: OpsClients,
  arn: string | undefined,
): Promise<JoinCredentialCheckResult> {
  const id = JOIN_TOKEN_CHECK_ID;
  const fail = (message: string, fix: string): JoinCredentialCheckResult => ({
    id,
    status: 'fail',
    message,
    fix,
  });
  if (!arn)
    return fail(
      'the stack has no K3sAgentTokenSecretArn output or secret',
      'run npx cdk deploy to update the stack',
    );
  const fix = putSecretFix(
    arn,
    'agent-token',
    'the K3s AGENT token (on the server: sudo cat /var/lib/rancher/k3s/server/agent-token), as plain text',
  );
  const read = await readSecret(clients.secrets, arn);
  if (read.kind === 'not-set') return fail(`K3s agent token secret ${arn} ${read.why}`, fix);
  if (read.kind === 'error')
    return fail(
      `K3s agent token secret ${arn} ${read.why}`,
      'use an identity allowed secretsmanager:GetSecretValue on it',
    );
  const v = read.value.trim();
  if (v.includes('::server:'))
    return fail(
      `secret ${arn} holds the K3s SERVER token (cluster admin), which must never reach a node`,
      fix,
    );
  if (v.startsWith('{')) return fail(`secret ${arn} holds JSON; the K3s agent token is plain text`, fix);
  if (v.length < 8 || v.length > 512 || !/^[\x21-\x7e]+$/.test(v))
    return fail(`secret ${arn} is not a K3s token (expected 8-512 printable characters without spaces)`, fix);
  return {
    id,
    status: 'ok',
    message: `K3s agent token secret ${arn} is set (plain text, not the server token)`,
  };
}
