/**
 * Checks on a Tailscale policy file (the tailnet ACL): every tag k3s-burst nodes advertise
 * must be in `tagOwners` (else `tailscale up --advertise-tags` is refused), and when pod
 * routes are advertised, `autoApprovers.routes` must approve a route covering the pod CIDR
 * for one of those tags (else the routes wait for a manual approval and cross-host pod
 * traffic is dropped).
 */

/** Parse an IPv4 CIDR into [network, prefix length], or undefined. */
export function parseCidr(cidr: string): { base: number; bits: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const ip =
    ((octets[0] ?? 0) * 2 ** 24 +
      (octets[1] ?? 0) * 2 ** 16 +
      (octets[2] ?? 0) * 2 ** 8 +
      (octets[3] ?? 0)) >>>
    0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ip & mask) >>> 0, bits };
}

/** Whether `outer` contains all of `inner` (both IPv4 CIDRs). */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  const i = parseCidr(inner);
  if (!o || !i || i.bits < o.bits) return false;
  const mask = o.bits === 0 ? 0 : (0xffffffff << (32 - o.bits)) >>> 0;
  return (i.base & mask) >>> 0 === o.base;
}

/** Tags that `tagOwners` does not define (each would make `tailscale up` fail on a node). */
export function tagsMissingFromTagOwners(policy: Record<string, unknown>, tags: string[]): string[] {
  const owners = policy.tagOwners;
  const defined =
    owners && typeof owners === 'object' && !Array.isArray(owners)
      ? new Set(Object.keys(owners as Record<string, unknown>))
      : new Set<string>();
  return tags.filter((t) => !defined.has(t));
}

/**
 * Whether `autoApprovers.routes` has a route that covers `podCidr` and lists one of `tags`
 * (or `autogroup:` / group entries do not count: nodes are tagged devices).
 */
export function routeApprovalCovers(
  policy: Record<string, unknown>,
  podCidr: string,
  tags: string[],
): boolean {
  const approvers = policy.autoApprovers as { routes?: unknown } | undefined;
  const routes = approvers && typeof approvers === 'object' ? approvers.routes : undefined;
  if (!routes || typeof routes !== 'object' || Array.isArray(routes)) return false;
  for (const [route, who] of Object.entries(routes as Record<string, unknown>)) {
    if (!Array.isArray(who) || !cidrContains(route, podCidr)) continue;
    if (who.some((w) => typeof w === 'string' && tags.includes(w))) return true;
  }
  return false;
}

/**
 * The ports nodes need across the tailnet (docs/deploy.md, "Access rules"): the K3s API
 * server (6443/tcp, from cloud nodes), flannel VXLAN (8472/udp) and the kubelet (10250/tcp)
 * between all nodes. Nothing else has to reach or leave a cloud node over Tailscale.
 */
export const NODE_PORTS: readonly { proto: 'tcp' | 'udp'; port: number }[] = [
  { proto: 'tcp', port: 6443 },
  { proto: 'udp', port: 8472 },
  { proto: 'tcp', port: 10250 },
];

/** One rule of the policy file that lets cloud nodes reach more than {@link NODE_PORTS}. */
export interface BroadNodeRule {
  /** Where it is: `grants[2]`, `acls[0]`. */
  where: string;
  /** Its sources that include the cloud nodes (`*`, a node tag, `autogroup:tagged`). */
  sources: string[];
  /** Its destinations, as written. */
  destinations: string[];
  /** What it allows beyond the node ports: `every port`, `tcp:22`, `udp:1-1024`, `icmp`… */
  extra: string[];
  /** `*` to `*` on every port: the allow-all policy. */
  allowAll: boolean;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** Sources that take in tagged cloud nodes: `*`, one of their tags, `autogroup:tagged`. */
function nodeSources(src: string[], tags: readonly string[]): string[] {
  return src.filter((s) => s === '*' || s === 'autogroup:tagged' || tags.includes(s));
}

/** Whether `ports` ("*", "22", "80,443", "1000-2000") stays within the node port numbers. */
function extraPorts(proto: string | undefined, ports: string): string[] {
  const p = proto ? `${proto}:` : '';
  if (ports === '*') return [proto ? `${proto}:*` : 'every port'];
  const out: string[] = [];
  for (const part of ports.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) {
      out.push(`${p}${part.trim()}`);
      continue;
    }
    const lo = Number(m[1]);
    const hi = Number(m[2] ?? m[1]);
    const allowed = NODE_PORTS.filter((n) => !proto || n.proto === proto).map((n) => n.port);
    if (!(lo === hi && allowed.includes(lo))) out.push(`${p}${part.trim()}`);
  }
  return out;
}

/** What a grant's `ip` entry allows beyond the node ports ("*", "tcp:443", "udp:1-1024", "443", "icmp:*"). */
function extraOfIpSpec(spec: string): string[] {
  if (spec === '*') return ['every port'];
  const m = /^([a-z0-9-]+):(.+)$/i.exec(spec);
  if (!m) return /^[\d,\-*]+$/.test(spec) ? extraPorts(undefined, spec) : [spec];
  const proto = (m[1] as string).toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp') return [spec];
  return extraPorts(proto, m[2] as string);
}

/** The ports part of an ACL destination (`tag:pi:22,80`, `*:*`, `[fd7a::1]:22`, `100.64.0.0/10:*`). */
function aclDestinationPorts(dst: string): { host: string; ports: string } | undefined {
  const i = dst.lastIndexOf(':');
  if (i <= 0) return undefined;
  return { host: dst.slice(0, i), ports: dst.slice(i + 1) };
}

/**
 * Rules of a tailnet policy file (its `grants` and `acls`) under which the cloud nodes — the
 * devices tagged with `tags` — may reach anything on a port other than the node ports
 * ({@link NODE_PORTS}): the allow-all policy, `tag:k3s-burst → tag:pi:*`, any `ip: ["*"]`.
 * A compromised cloud node could then reach SSH or the agent's port on the Pis.
 *
 * Judged on the text of the rules: sources given as IP addresses, CIDRs or `hosts` aliases
 * are not resolved (so not flagged), and destinations are not narrowed (a rule is broad
 * whatever it targets).
 */
export function broadNodeRules(policy: Record<string, unknown>, tags: readonly string[]): BroadNodeRule[] {
  const out: BroadNodeRule[] = [];
  const grants = Array.isArray(policy.grants) ? policy.grants : [];
  grants.forEach((g, i) => {
    if (!g || typeof g !== 'object') return;
    const rule = g as { src?: unknown; dst?: unknown; ip?: unknown };
    const sources = nodeSources(strings(rule.src), tags);
    const ip = strings(rule.ip);
    if (sources.length === 0 || ip.length === 0) return;
    const extra = [...new Set(ip.flatMap(extraOfIpSpec))];
    if (extra.length === 0) return;
    const destinations = strings(rule.dst);
    out.push({
      where: `grants[${i}]`,
      sources,
      destinations,
      extra,
      allowAll: sources.includes('*') && destinations.includes('*') && ip.includes('*'),
    });
  });
  const acls = Array.isArray(policy.acls) ? policy.acls : [];
  acls.forEach((a, i) => {
    if (!a || typeof a !== 'object') return;
    const rule = a as { action?: unknown; src?: unknown; dst?: unknown; proto?: unknown };
    if (rule.action !== undefined && rule.action !== 'accept') return;
    const sources = nodeSources(strings(rule.src), tags);
    if (sources.length === 0) return;
    const proto = typeof rule.proto === 'string' ? rule.proto.toLowerCase() : undefined;
    const destinations = strings(rule.dst);
    const extra = new Set<string>();
    for (const d of destinations) {
      const parsed = aclDestinationPorts(d);
      if (!parsed) continue;
      if (proto && proto !== 'tcp' && proto !== 'udp') extra.add(`${proto}:${parsed.ports}`);
      else for (const x of extraPorts(proto, parsed.ports)) extra.add(x);
    }
    if (extra.size === 0) return;
    out.push({
      where: `acls[${i}]`,
      sources,
      destinations,
      extra: [...extra],
      allowAll: sources.includes('*') && destinations.includes('*:*') && !proto,
    });
  });
  return out;
}
