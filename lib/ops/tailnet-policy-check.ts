/**
 * `k3s-burst doctor` check `tailscale.policy`: warns when the tailnet policy file lets the
 * cloud nodes reach more than the ports K3s needs (the allow-all policy a new tailnet starts
 * with, or `tag:k3s-burst → tag:pi:*`). A cloud node runs whatever pods land on it; if one is
 * compromised, the tailnet policy is what keeps it away from SSH and the agent on the Pis.
 * A warning, not a failure: the cluster works either way.
 */
import { type BroadNodeRule, broadNodeRules, NODE_PORTS } from './acl.js';
import type { CheckResult } from './doctor.js';

const ID = 'tailscale.policy';
const MAX_LISTED = 3;

const nodePorts = NODE_PORTS.map((p) => `${p.proto}:${p.port}`).join(', ');

function describe(rule: BroadNodeRule): string {
  if (rule.allowAll) return `${rule.where} allows everything to everyone (allow-all)`;
  return `${rule.where} lets ${rule.sources.join(', ')} reach ${rule.destinations.slice(0, 3).join(', ')}${rule.destinations.length > 3 ? ', …' : ''} on ${rule.extra.slice(0, 4).join(', ')}${rule.extra.length > 4 ? ', …' : ''}`;
}

/**
 * The verdict on the tailnet policy file (undefined when it could not be read: the
 * `tailscale.acl` check already says why and how to fix that).
 */
export function tailnetPolicyCheck(
  policy: Record<string, unknown> | undefined,
  tags: readonly string[],
): CheckResult {
  if (!policy)
    return { id: ID, status: 'skip', message: 'not checked: the tailnet policy file is not readable' };
  const broad = broadNodeRules(policy, tags);
  if (broad.length === 0) {
    return {
      id: ID,
      status: 'ok',
      message: `no rule lets ${tags.join(', ')} reach anything beyond ${nodePorts}`,
    };
  }
  const listed = broad.slice(0, MAX_LISTED).map(describe).join('; ');
  const more = broad.length > MAX_LISTED ? ` (and ${broad.length - MAX_LISTED} more)` : '';
  return {
    id: ID,
    status: 'warn',
    message: `the tailnet policy lets cloud nodes (${tags.join(', ')}) reach more than K3s needs: ${listed}${more}; a compromised cloud node could reach SSH and the agent on the Pis`,
    fix: `replace these rules with the port-scoped grants of docs/deploy.md ("Access rules"): ${tags[0]} → the K3s server on tcp:6443; all nodes ↔ all nodes on udp:8472 and tcp:10250; nothing else from ${tags[0]}`,
  };
}
