/**
 * Checks of single config values whose rules come from the systems that consume them:
 * Kubernetes (label keys and values, taints; the kubelet refuses to start with a bad one),
 * SSM Parameter Store (parameter names; a bad one fails every Lambda at start), the K3s
 * server URL (the node bootstrap joins it), and IANA time zones. Each returns why a value
 * is unusable (naming the rule and the fix), or undefined when it is fine. Pure, so the
 * Lambdas, the CLI, the CDK app and the agent run the same rules.
 */

import { closestName } from './config-suggest.js';
import { Labels } from './constants.js';

// ───────────────────────── Kubernetes ─────────────────────────

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Labels the node bootstrap sets itself on every cloud node: the config may not set them. */
const RESERVED_LABELS: ReadonlySet<string> = new Set([
  Labels.managed,
  Labels.cluster,
  Labels.capacityType,
  Labels.instanceType,
  Labels.zone,
  Labels.region,
  Labels.hostname,
  Labels.arch,
  Labels.os,
]);

/** Label keys in kubernetes.io / k8s.io a kubelet may set on itself (NodeRestriction). */
const KUBELET_SETTABLE_LABELS: ReadonlySet<string> = new Set([
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/instance-type',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'node.kubernetes.io/windows-build',
]);

function prefixOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

function inDomain(prefix: string, domain: string): boolean {
  return prefix === domain || prefix.endsWith(`.${domain}`);
}

/** A label or taint key as Kubernetes validates it: `[dns-subdomain-prefix/]name`. */
export function qualifiedKeyProblem(key: string): string | undefined {
  const prefix = prefixOf(key);
  const name = prefix ? key.slice(prefix.length + 1) : key;
  if (prefix !== '' && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `prefix "${prefix}" is not a DNS subdomain: lowercase letters, digits, "-" and ".", at most 253 characters (e.g. "k3s-burst.io/pool")`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `name "${name}" must be 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit (e.g. "k3s-burst.io/pool")`;
  }
  return undefined;
}

/** A label value (and taint value): empty, or ≤ 63 characters of the qualified-name alphabet. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !QUALIFIED_NAME.test(value)) {
    return 'a label value must be empty or 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  }
  return undefined;
}

/**
 * Why a cloud node's kubelet may not set this (syntactically valid) label on itself, or
 * undefined when it may: `reserved` (k3s-burst sets it), `node-restriction` (the
 * node-restriction.kubernetes.io prefix), `not-self-settable` (another kubernetes.io / k8s.io
 * label the NodeRestriction admission plugin refuses). One rule for config and userdata.
 */
export function nodeLabelRefusal(
  key: string,
): 'reserved' | 'node-restriction' | 'not-self-settable' | undefined {
  if (RESERVED_LABELS.has(key)) return 'reserved';
  const prefix = prefixOf(key);
  if (inDomain(prefix, 'node-restriction.kubernetes.io')) return 'node-restriction';
  if (
    (inDomain(prefix, 'kubernetes.io') || inDomain(prefix, 'k8s.io')) &&
    !KUBELET_SETTABLE_LABELS.has(key) &&
    !inDomain(prefix, 'kubelet.kubernetes.io') &&
    !inDomain(prefix, 'node.kubernetes.io')
  ) {
    return 'not-self-settable';
  }
  return undefined;
}

/** A label the kubelet of a cloud node may set on itself (`--node-label`). */
export function nodeLabelKeyProblem(key: string): string | undefined {
  const syntax = qualifiedKeyProblem(key);
  if (syntax) return syntax;
  switch (nodeLabelRefusal(key)) {
    case 'reserved':
      return `k3s-burst sets ${key} itself on every cloud node: remove it`;
    case 'node-restriction':
      return 'kubelets may not set node-restriction.kubernetes.io labels: label the node from the cluster instead';
    case 'not-self-settable':
      return 'the kubelet refuses to start with this kubernetes.io / k8s.io label (NodeRestriction): use your own prefix such as "k3s-burst.io/"';
    case undefined:
      return undefined;
  }
}

// ───────────────────────── SSM Parameter Store ─────────────────────────

/** Longest fully qualified parameter name SSM accepts. */
export const MAX_SSM_PARAMETER_NAME_LENGTH = 1011;
/** Deepest parameter hierarchy SSM accepts. */
export const MAX_SSM_PARAMETER_LEVELS = 15;

/**
 * An SSM parameter name the Lambdas and the launch template can read: letters, digits and
 * `_ . -`, `/` between hierarchy levels (then a leading `/`), no empty level, at most 15
 * levels and 1011 characters. Names starting with `aws` or `ssm` are reserved for AWS,
 * except the public `/aws/service/…` parameters (where Ubuntu and Amazon Linux publish AMIs).
 */
export function ssmParameterNameProblem(name: string): string | undefined {
  const fix = 'e.g. "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id"';
  if (name.length === 0 || name.length > MAX_SSM_PARAMETER_NAME_LENGTH) {
    return `an SSM parameter name has 1-${MAX_SSM_PARAMETER_NAME_LENGTH} characters, ${fix}`;
  }
  if (!/^[A-Za-z0-9_.\-/]+$/.test(name)) {
    return `an SSM parameter name may hold only letters, digits, "_", ".", "-" and "/" (no spaces), ${fix}`;
  }
  if (name.includes('/')) {
    if (!name.startsWith('/')) return `a hierarchical SSM parameter name starts with "/", ${fix}`;
    const levels = name.slice(1).split('/');
    if (levels.some((l) => l === ''))
      return `an SSM parameter name has no empty level ("//" or a trailing "/"), ${fix}`;
    if (levels.length > MAX_SSM_PARAMETER_LEVELS) {
      return `an SSM parameter hierarchy has at most ${MAX_SSM_PARAMETER_LEVELS} levels (got ${levels.length})`;
    }
  }
  const first = name.replace(/^\//, '').toLowerCase();
  if ((first.startsWith('aws') || first.startsWith('ssm')) && !name.startsWith('/aws/service/')) {
    return `SSM parameter names starting with "aws" or "ssm" are reserved for AWS (only the public /aws/service/… ones are readable), ${fix}`;
  }
  return undefined;
}

// ───────────────────────── K3s server URL ─────────────────────────

const SERVER_URL = /^https:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})\/?$/;

/**
 * The K3s server URL as nodes join it: `https://`, a host (Tailscale IP, `[IPv6]` or
 * MagicDNS name), an explicit port (K3s listens on 6443), nothing else: no user, path,
 * query or fragment.
 */
export function serverUrlProblem(url: string): string | undefined {
  const example = 'e.g. "https://100.64.5.11:6443"';
  if (!url.startsWith('https://')) {
    return `the K3s server URL must be https:// (the server's Tailscale address), ${example}`;
  }
  const m = SERVER_URL.exec(url);
  if (!m) {
    const port = /:(\d+)([/?#]|$)/.test(url.slice('https://'.length));
    return port
      ? `the K3s server URL is https://host:port only, with no user, path, query or fragment, ${example}`
      : `the K3s server URL needs the host and an explicit port (K3s listens on 6443), ${example}`;
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65_535) return `port ${port} is not 1-65535, ${example}`;
  try {
    new URL(url);
  } catch {
    return `not a valid URL, ${example}`;
  }
  return undefined;
}

// ───────────────────────── time zones ─────────────────────────

let zoneNames: readonly string[] | undefined;

function knownZones(): readonly string[] {
  zoneNames ??= [...Intl.supportedValuesOf('timeZone'), 'UTC'];
  return zoneNames;
}

/**
 * An IANA time zone in its canonical spelling (`Europe/Berlin`, `UTC`), so the planner,
 * EventBridge Scheduler and people read the same zone. Refused with the name to use: a zone
 * the runtime knows but spelt in other case (`europe/berlin`), and the aliases of UTC
 * (`Etc/UTC`, `GMT`, `Zulu`). Other links are accepted when capitalised as IANA writes them,
 * because ICU's preferred id is sometimes the older name (it resolves the IANA-canonical
 * `Asia/Kolkata` to `Asia/Calcutta`), so the runtime cannot say which spelling is canonical.
 */
export function timeZoneProblem(tz: string): string | undefined {
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    const near = closestName(tz, knownZones());
    return `expected an IANA time zone such as "Europe/Berlin" or "UTC"${near ? ` — did you mean "${near}"?` : ''}`;
  }
  if (resolved === tz || knownZones().includes(tz)) return undefined;
  const properlyCased = tz.split('/').every((segment) => /^[A-Z]/.test(segment));
  if (resolved !== 'UTC' && resolved.toLowerCase() !== tz.toLowerCase() && properlyCased) return undefined;
  return `write the time zone in its canonical form — did you mean "${resolved}"?`;
}
