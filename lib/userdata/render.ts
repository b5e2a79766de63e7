/**
 * Renders the node bootstrap script (`userdata/bootstrap.sh.tpl`) for one instance.
 *
 * The launch Lambda calls {@link renderUserData} with the instance's secrets; the CLI calls
 * {@link renderUserDataPreview}, which prints placeholders instead. Every value is validated
 * against a strict pattern and then substituted as a single-quoted shell word, so no input can
 * change what the script does. The template comes from `template.generated.ts` (a string
 * constant generated from the .tpl file) so the Lambda bundle needs no file next to it; a unit
 * test fails when the constant is stale.
 */
import type { CapacityType, Taint } from '../events/common.js';
import type { Config } from '../events/config.js';
import { labelValueProblem, nodeLabelRefusal, qualifiedKeyProblem } from '../events/config-rules.js';
import { Labels } from '../events/constants.js';
import { K3S_SECURE_BOOTSTRAP_TOKEN_PATTERN } from '../events/join-token-rules.js';
import { UserDataError, UserDataTooLargeError } from './errors.js';
import { BOOTSTRAP_TEMPLATE } from './template.generated.js';

/** EC2 rejects user data over 16 KB (before base64). */
export const USER_DATA_MAX_BYTES = 16 * 1024;

/** Longest secrets {@link renderUserData} accepts; the preview reserves room for them. */
export const MAX_AGENT_TOKEN_LENGTH = 512;
export const MAX_TAILSCALE_AUTH_KEY_LENGTH = 200;

/** What the preview prints where the launch Lambda puts secrets. */
export const SECRET_PLACEHOLDERS = {
  tailscaleAuthKey: '<tailscale-auth-key: minted per instance at launch>',
  agentToken: '<k3s-agent-token: read from Secrets Manager at launch>',
  bootstrapToken: '<k3s-bootstrap-token: minted by the agent, read from Secrets Manager at launch>',
} as const;

/** How the node authenticates to K3s (`k3s.joinCredential`). */
export type JoinCredential = 'bootstrap-token' | 'agent-token';

/** Everything the launch Lambda knows about an instance before it exists. */
export interface UserDataInput {
  /** Cluster name (`cluster.name`), also the `k3s-burst.io/cluster` label. */
  cluster: string;
  /** `https://<server tailscale ip or name>:6443`, reachable over Tailscale. */
  k3sServerUrl: string;
  /** K3s release to install, e.g. `v1.32.6+k3s1`; match the server. */
  k3sVersion: string;
  /**
   * The K3s join token of {@link UserDataInput.joinCredential}: a secure bootstrap token
   * `K10<hash>::<id>.<secret>` (short-lived, deleted from disk after the join), or the K3s
   * AGENT token. A server token (`K10…::server:…`) is refused.
   */
  agentToken: string;
  /** `k3s.joinCredential`: which kind of token {@link UserDataInput.agentToken} is. */
  joinCredential: JoinCredential;
  /** One-off, ephemeral, pre-authorized, tagged Tailscale auth key (`tskey-auth-…`). */
  tailscaleAuthKey: string;
  /** Tags the device advertises; the auth key must be allowed to use them. */
  tailscaleTags: readonly string[];
  /** Node name and Tailscale hostname = prefix + instance id (see {@link nodeNameFor}). */
  nodeNamePrefix: string;
  /** Extra node labels from `nodes.labels`. */
  labels: Readonly<Record<string, string>>;
  /** Node taints from `nodes.taints`. */
  taints: readonly Taint[];
  capacityType: CapacityType;
  /**
   * A warm-pool member (lib/core/warm-pool.ts): the node joins with the warming taint (taints in
   * a k3s config drop-in, not flags), keeps its Tailscale device at shutdown (no logout; its key
   * is not ephemeral), and installs the per-boot unit that puts the fresh join token of each
   * start in place before k3s-agent. Absent = an ordinary node.
   */
  warmPool?: boolean;
}

export type UserDataSecrets = Pick<UserDataInput, 'agentToken' | 'tailscaleAuthKey'>;
export type UserDataPreviewInput = Omit<UserDataInput, keyof UserDataSecrets>;

/** The node name the script registers and the fleet records: prefix + instance id (one definition, in lib/core). */
export { nodeNameFor } from '../core/ids.js';

/** Build the renderer's input from the validated config and this launch's secrets. */
export function userDataInputFromConfig(
  config: Config,
  secrets: UserDataSecrets,
  capacityType: CapacityType,
  opts: { warmPool?: boolean } = {},
): UserDataInput {
  return {
    ...previewInputFromConfig(config, capacityType),
    ...secrets,
    ...(opts.warmPool ? { warmPool: true } : {}),
  };
}

/** The renderer's input without secrets, for {@link renderUserDataPreview}. */
export function previewInputFromConfig(config: Config, capacityType: CapacityType): UserDataPreviewInput {
  return {
    cluster: config.cluster.name,
    k3sServerUrl: config.cluster.k3sServerUrl,
    k3sVersion: config.cluster.k3sVersion,
    joinCredential: config.k3s.joinCredential,
    tailscaleTags: config.tailscale.tags,
    nodeNamePrefix: config.nodes.namePrefix,
    labels: config.nodes.labels,
    taints: config.nodes.taints,
    capacityType,
  };
}

/**
 * Render the bootstrap script with real secrets.
 * @throws UserDataError naming the bad field; UserDataTooLargeError over {@link USER_DATA_MAX_BYTES}.
 */
export function renderUserData(input: UserDataInput): string {
  const values = publicValues(input);
  checkAgentToken(input.agentToken, input.joinCredential);
  checkTailscaleAuthKey(input.tailscaleAuthKey);
  const script = fill(
    {
      ...values,
      agentToken: shellQuote(input.agentToken),
      tailscaleAuthKey: shellQuote(input.tailscaleAuthKey),
    },
    input.warmPool === true,
  );
  assertSize(script);
  return script;
}

/** First line of the user data a warm start sets: the per-boot unit recognises it by this marker. */
export const WARM_START_MARKER = '# k3s-burst warm-start credential';

/**
 * The user data of a warm-pool start (lib/core/warm-pool.ts): only the fresh K3s join token,
 * set with ModifyInstanceAttribute while the member is stopped. cloud-init does not run user
 * data again on a later boot (per-instance); the member's per-boot unit, installed when it was
 * launched in warm mode, reads this token from IMDSv2 (hop limit 1: pods cannot) before
 * k3s-agent starts, because the agent fetches its certificates from the supervisor with the
 * token on every start and #16's bootstrap tokens are short-lived. Nothing long-lived is set.
 * Same secrecy as launch user data: never logged.
 * @throws UserDataError when the token is not a valid join token.
 */
export function renderWarmStartUserData(input: {
  agentToken: string;
  joinCredential: JoinCredential;
}): string {
  checkAgentToken(input.agentToken, input.joinCredential);
  return `#!/bin/sh\n${WARM_START_MARKER}: read at boot by k3s-burst-warm-start.service, never executed with effect\nK3S_BURST_JOIN_TOKEN=${shellQuote(input.agentToken)}\n`;
}

/**
 * Render the script with {@link SECRET_PLACEHOLDERS} instead of secrets, for people to read.
 * The size check assumes the longest secrets accepted, so a config whose preview renders
 * renders for every launch.
 */
export function renderUserDataPreview(input: UserDataPreviewInput): string {
  const values = publicValues(input);
  const warmPool = input.warmPool === true;
  assertSize(
    fill(
      {
        ...values,
        agentToken: shellQuote('x'.repeat(MAX_AGENT_TOKEN_LENGTH)),
        tailscaleAuthKey: shellQuote('x'.repeat(MAX_TAILSCALE_AUTH_KEY_LENGTH)),
      },
      warmPool,
    ),
  );
  return fill(
    {
      ...values,
      agentToken: shellQuote(
        input.joinCredential === 'bootstrap-token'
          ? SECRET_PLACEHOLDERS.bootstrapToken
          : SECRET_PLACEHOLDERS.agentToken,
      ),
      tailscaleAuthKey: shellQuote(SECRET_PLACEHOLDERS.tailscaleAuthKey),
    },
    warmPool,
  );
}

/** Size in bytes as EC2 counts it (UTF-8, before base64). */
export function userDataSizeBytes(script: string): number {
  return new TextEncoder().encode(script).length;
}

/** Quote a string as one single-quoted shell word: `it's` → `'it'\''s'`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------

type Placeholder =
  | 'cluster'
  | 'k3sServerUrl'
  | 'k3sVersion'
  | 'joinCredential'
  | 'nodeNamePrefix'
  | 'tailscaleTags'
  | 'labelInstanceType'
  | 'labelZone'
  | 'labelRegion'
  | 'nodeLabels'
  | 'nodeTaints'
  | 'tailscaleAuthKey'
  | 'agentToken';

/** Where each input comes from in the config file, for error messages. */
const CONFIG_PATH: Record<string, string> = {
  cluster: 'cluster.name',
  k3sServerUrl: 'cluster.k3sServerUrl',
  k3sVersion: 'cluster.k3sVersion',
  joinCredential: 'k3s.joinCredential',
  tailscaleTags: 'tailscale.tags',
  nodeNamePrefix: 'nodes.namePrefix',
  labels: 'nodes.labels',
  taints: 'nodes.taints',
  capacityType: 'nodes.capacityTypes',
};

const CLUSTER_RE = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
const SERVER_URL_RE =
  /^https:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?\/?$/;
/** A K3s release tag such as `v1.32.6+k3s1` (`cluster.k3sVersion`). */
export const K3S_VERSION_RE = /^v\d+\.\d+\.\d+\+k3s\d+$/;
const NAME_PREFIX_RE = /^[a-z][a-z0-9-]{0,20}$/;
const TAILSCALE_TAG_RE = /^tag:[a-zA-Z0-9-]+$/;
const TAINT_EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);
const AGENT_TOKEN_RE = /^[!-~]+$/;
const TAILSCALE_AUTH_KEY_RE = /^tskey-auth-[A-Za-z0-9_-]+$/;

function fail(field: string, problem: string): never {
  const root = field.split(/[[.]/)[0] ?? field;
  const configPath = CONFIG_PATH[root];
  throw new UserDataError(`${field}${configPath ? ` (config ${configPath})` : ''}: ${problem}`, field);
}

function check(field: string, value: unknown, re: RegExp, expected: string): string {
  if (typeof value !== 'string' || !re.test(value)) {
    fail(field, `expected ${expected} (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** A qualified name as Kubernetes validates label and taint keys: `[prefix/]name`. */
function checkQualifiedKey(field: string, key: string): void {
  if (qualifiedKeyProblem(key)) {
    fail(
      field,
      `${JSON.stringify(key)} is not a valid key: use [dns-prefix/]name, name ≤ 63 of letters, digits, "-", "_", "." starting and ending alphanumeric`,
    );
  }
}

function checkLabelValue(field: string, value: unknown): string {
  if (typeof value !== 'string' || labelValueProblem(value)) {
    fail(
      field,
      `${JSON.stringify(value)} is not a valid value: ≤ 63 letters, digits, "-", "_", "." starting and ending alphanumeric, or empty`,
    );
  }
  return value;
}

function checkLabels(labels: Readonly<Record<string, string>>): string[] {
  if (labels === null || typeof labels !== 'object') fail('labels', 'expected an object of key → value');
  const out: string[] = [];
  for (const key of Object.keys(labels).sort()) {
    const field = `labels[${JSON.stringify(key)}]`;
    checkQualifiedKey(field, key);
    const refusal = nodeLabelRefusal(key);
    if (refusal === 'reserved') {
      fail(field, `k3s-burst sets ${key} itself on every cloud node; remove it from the config`);
    }
    if (refusal === 'node-restriction') {
      fail(
        field,
        `kubelets may not set node-restriction.kubernetes.io labels; label the node from the cluster`,
      );
    }
    if (refusal === 'not-self-settable') {
      fail(
        field,
        `the kubelet refuses to start with ${key}: only kubelet.kubernetes.io/*, node.kubernetes.io/* and well-known labels of kubernetes.io / k8s.io may be self-set; use your own prefix (e.g. k3s-burst.io/) or label the node from the cluster`,
      );
    }
    out.push(`${key}=${checkLabelValue(field, labels[key])}`);
  }
  return out;
}

function checkTaints(taints: readonly Taint[]): string[] {
  if (!Array.isArray(taints)) fail('taints', 'expected a list of {key, value?, effect}');
  const seen = new Set<string>();
  return taints.map((t, i) => {
    const field = `taints[${i}]`;
    if (t === null || typeof t !== 'object') fail(field, 'expected {key, value?, effect}');
    if (typeof t.key !== 'string') fail(`${field}.key`, 'expected a string');
    checkQualifiedKey(`${field}.key`, t.key);
    const value = t.value === undefined ? '' : checkLabelValue(`${field}.value`, t.value);
    if (!TAINT_EFFECTS.has(t.effect)) {
      fail(
        `${field}.effect`,
        `expected NoSchedule, PreferNoSchedule or NoExecute (got ${JSON.stringify(t.effect)})`,
      );
    }
    const id = `${t.key}:${t.effect}`;
    if (seen.has(id))
      fail(field, `duplicate taint ${id}: the kubelet rejects two taints with one key and effect`);
    seen.add(id);
    return value === '' ? `${t.key}:${t.effect}` : `${t.key}=${value}:${t.effect}`;
  });
}

function checkAgentToken(token: unknown, joinCredential: JoinCredential): void {
  if (joinCredential === 'bootstrap-token') {
    if (typeof token !== 'string' || !K3S_SECURE_BOOTSTRAP_TOKEN_PATTERN.test(token)) {
      fail(
        'agentToken',
        'expected a K3s secure bootstrap token K10<sha256>::<id>.<secret> as the agent publishes it (value not shown); with a long-lived agent token set k3s.joinCredential to "agent-token"',
      );
    }
    return;
  }
  if (typeof token !== 'string' || token.length < 8 || token.length > MAX_AGENT_TOKEN_LENGTH) {
    fail('agentToken', `expected 8-${MAX_AGENT_TOKEN_LENGTH} characters (value not shown)`);
  }
  if (!AGENT_TOKEN_RE.test(token)) {
    fail('agentToken', 'expected printable ASCII without spaces or newlines (value not shown)');
  }
  if (token.includes('::server:')) {
    fail(
      'agentToken',
      'this is the K3s SERVER token (cluster admin): use the agent token instead ' +
        '(server flag --agent-token, or /var/lib/rancher/k3s/server/agent-token on the server)',
    );
  }
}

function checkTailscaleAuthKey(key: unknown): void {
  if (typeof key === 'string' && key.startsWith('tskey-client-')) {
    fail(
      'tailscaleAuthKey',
      'this is a Tailscale OAuth client secret: mint a one-off auth key with it and pass that (value not shown)',
    );
  }
  if (
    typeof key !== 'string' ||
    key.length > MAX_TAILSCALE_AUTH_KEY_LENGTH ||
    !TAILSCALE_AUTH_KEY_RE.test(key)
  ) {
    fail('tailscaleAuthKey', 'expected a Tailscale auth key "tskey-auth-…" (value not shown)');
  }
}

function arrayBody(words: readonly string[]): string {
  return words.length === 0 ? '' : `\n${words.map((w) => `  ${shellQuote(w)}`).join('\n')}\n`;
}

/** Validate everything but the secrets and turn it into quoted shell words. */
function publicValues(
  input: UserDataPreviewInput,
): Record<Exclude<Placeholder, keyof UserDataSecrets>, string> {
  const cluster = check('cluster', input.cluster, CLUSTER_RE, '2-32 lowercase letters, digits or "-"');
  check(
    'k3sServerUrl',
    input.k3sServerUrl,
    SERVER_URL_RE,
    'https://<host or IP>[:port] with no path, e.g. "https://100.64.5.11:6443"',
  );
  check('k3sVersion', input.k3sVersion, K3S_VERSION_RE, 'a K3s release such as "v1.32.6+k3s1"');
  if (input.joinCredential !== 'bootstrap-token' && input.joinCredential !== 'agent-token') {
    fail(
      'joinCredential',
      `expected "bootstrap-token" or "agent-token" (got ${JSON.stringify(input.joinCredential)})`,
    );
  }
  check('nodeNamePrefix', input.nodeNamePrefix, NAME_PREFIX_RE, 'lowercase letters, digits and "-", ≤ 21');
  if (input.capacityType !== 'spot' && input.capacityType !== 'on-demand') {
    fail('capacityType', `expected "spot" or "on-demand" (got ${JSON.stringify(input.capacityType)})`);
  }
  if (!Array.isArray(input.tailscaleTags) || input.tailscaleTags.length === 0) {
    fail('tailscaleTags', 'expected at least one tag such as "tag:k3s-burst"');
  }
  input.tailscaleTags.forEach((t, i) => {
    check(`tailscaleTags[${i}]`, t, TAILSCALE_TAG_RE, 'a Tailscale tag such as "tag:k3s-burst"');
  });

  const nodeLabels = [
    `${Labels.managed}=true`,
    `${Labels.cluster}=${cluster}`,
    `${Labels.capacityType}=${input.capacityType}`,
    ...checkLabels(input.labels),
  ];
  return {
    cluster: shellQuote(cluster),
    k3sServerUrl: shellQuote(input.k3sServerUrl),
    k3sVersion: shellQuote(input.k3sVersion),
    joinCredential: shellQuote(input.joinCredential),
    nodeNamePrefix: shellQuote(input.nodeNamePrefix),
    tailscaleTags: shellQuote(input.tailscaleTags.join(',')),
    labelInstanceType: shellQuote(Labels.instanceType),
    labelZone: shellQuote(Labels.zone),
    labelRegion: shellQuote(Labels.region),
    nodeLabels: arrayBody(nodeLabels),
    nodeTaints: arrayBody(checkTaints(input.taints)),
  };
}

/**
 * The template's mode blocks: lines between `# >>> warm-pool` and `# <<< warm-pool` are kept only
 * in a warm-pool member's user data (warming taint in a k3s config drop-in, no logout unit, the
 * warm-start unit and script); `# >>> ordinary` … `# <<< ordinary` only in every other node's.
 * The markers themselves never reach a node, so an ordinary node's script is what it was.
 */
const MODE_BLOCK = /^# >>> (warm-pool|ordinary)\n([\s\S]*?)^# <<< \1\n/gm;

function fill(values: Record<Placeholder, string>, warmPool: boolean): string {
  const template = BOOTSTRAP_TEMPLATE.replace(MODE_BLOCK, (_m, mode: string, body: string) =>
    (mode === 'warm-pool') === warmPool ? body : '',
  );
  return template.replace(/\{\{(\w+)\}\}/g, (_match, name: string) => {
    const value = (values as Record<string, string>)[name];
    if (value === undefined) throw new UserDataError(`template placeholder {{${name}}} has no value`);
    return value;
  });
}

function assertSize(script: string): void {
  const size = userDataSizeBytes(script);
  if (size > USER_DATA_MAX_BYTES) throw new UserDataTooLargeError(size, USER_DATA_MAX_BYTES);
}
