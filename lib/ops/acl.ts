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
