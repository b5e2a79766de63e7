import type { Config } from '../events/index.js';
import { AWS_PROVIDER_ID_PREFIX } from '../events/index.js';

/**
 * 64-bit FNV-1a over UTF-16 code units, as two 32-bit halves. Not cryptographic: it only has
 * to be deterministic across runtimes (Lambda, simulator, CLI) and spread well, so that a
 * redelivered trigger maps to the same decision id and thus the same EC2 ClientToken (I7).
 */
function fnv1a64(text: string): [number, number] {
  // 64-bit FNV offset basis 0xcbf29ce484222325 split into hi/lo, prime 0x100000001b3.
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < text.length; i++) {
    lo = (lo ^ text.charCodeAt(i)) >>> 0;
    // (hi·2³² + lo) · (2⁴⁰ + 0x1b3) mod 2⁶⁴ = hi·0x1b3·2³² + lo·0x1b3 + (lo << 8)·2³²
    const loMul = lo * 0x1b3;
    const newLo = loMul >>> 0;
    const carry = Math.floor(loMul / 0x1_0000_0000);
    const newHi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
    hi = newHi;
    lo = newLo;
  }
  return [hi >>> 0, lo >>> 0];
}

/**
 * The launch key of index `index` of launch group `launchId`: the EC2 ClientToken of its
 * RunInstances and the `k3s-burst:launch-key` tag of its instance (or of the warm-pool member
 * started for it), so a redelivered request finds what it already did (I7).
 */
export function launchKeyFor(launchId: string, index: number): string {
  return `${launchId}-${index}`;
}

/** The launch group and index of a launch key ({@link launchKeyFor}); undefined if it is not one. */
export function parseLaunchKey(key: string): { launchId: string; index: number } | undefined {
  const m = /^(.+)-(\d+)$/.exec(key);
  return m ? { launchId: m[1] as string, index: Number(m[2]) } : undefined;
}

/**
 * A deterministic, short decision id for a trigger such as `snapshot:18342` or
 * `tick:2026-03-14T22:00:00Z`: `<cluster (≤ 20 chars)>-<13 base-36 chars>`, at most 34
 * characters of `[a-z0-9-]`. The same (cluster, trigger) always yields the same id, which is
 * what makes a redelivered event idempotent.
 */
export function decisionIdFor(cluster: string, trigger: string): string {
  const [hi, lo] = fnv1a64(`${cluster}\u0000${trigger}`);
  const hash = (hi.toString(36).padStart(7, '0') + lo.toString(36).padStart(7, '0')).slice(0, 13);
  const prefix = cluster
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 20)
    .replace(/-+$/, '');
  return prefix ? `${prefix}-${hash}` : `d-${hash}`;
}

const AWS_PROVIDER_ID = /^aws:\/\/\/([a-z]{2}(?:-gov)?-[a-z]+-\d[a-z](?:-[a-z0-9-]+)?)\/(i-[0-9a-f]{8,17})$/;

/**
 * Parse an AWS providerID `aws:///<az>/<instance-id>` (three slashes: the account part is
 * empty). Returns undefined for anything else — `k3s://<node>` on on-prem nodes, an empty
 * string on nodes that have not initialised, or junk — so callers never guess an instance.
 */
export function parseProviderId(providerID: string): { zone: string; instanceId: string } | undefined {
  if (!providerID?.startsWith(AWS_PROVIDER_ID_PREFIX)) return undefined;
  const m = AWS_PROVIDER_ID.exec(providerID.trim());
  if (!m) return undefined;
  return { zone: m[1] as string, instanceId: m[2] as string };
}

/**
 * The Kubernetes node name (and Tailscale hostname) of a managed instance: prefix + instance
 * id. Takes the config (`nodes.namePrefix`) or the prefix itself; lib/userdata re-exports it,
 * so the name the bootstrap script registers and the name the planner looks for cannot drift.
 */
export function nodeNameFor(config: Config, instanceId: string): string;
export function nodeNameFor(nodeNamePrefix: string, instanceId: string): string;
export function nodeNameFor(configOrPrefix: Config | string, instanceId: string): string {
  const prefix = typeof configOrPrefix === 'string' ? configOrPrefix : configOrPrefix.nodes.namePrefix;
  return `${prefix}${instanceId}`;
}

/** The tag every managed node's Tailscale device carries (the first of `tailscale.tags`, which has at least one). */
export function managedTag(config: Config): string {
  return config.tailscale.tags[0] ?? 'tag:k3s-burst';
}

/** The instance id a managed hostname names (`<prefix><instance id>`), else undefined. */
export function instanceIdOfHostname(hostname: string, prefix: string): string | undefined {
  const h = hostname.toLowerCase();
  if (!h.startsWith(prefix)) return undefined;
  const rest = h.slice(prefix.length);
  return /^i-[0-9a-f]{8,17}$/.test(rest) ? rest : undefined;
}
