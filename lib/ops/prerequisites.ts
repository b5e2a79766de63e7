/**
 * `doctor`'s verdicts on the Pi-side prerequisites (docs/nodes.md) from what the agent
 * reported in its latest snapshot: node IPs and flannel on the tailnet, the K3s server
 * certificate covering the address cloud nodes dial, and the K3s versions. Pure, so the
 * verdicts are tested on agent-built snapshots without AWS.
 */
import { fmtDuration } from '../core/format.js';
import type { StoredSnapshot } from '../core/ports.js';
import type { Config, NodePrerequisites } from '../events/index.js';
import type { CheckResult } from './doctor.js';

/** Check ids, in the order doctor prints them. */
export const PREREQUISITE_CHECK_IDS = ['pi.node-ip', 'pi.flannel', 'k3s.server-cert', 'k3s.version'] as const;

/** Whether an IPv4 address is in Tailscale's 100.64.0.0/10. */
export function isTailscaleIpv4(ip: string): boolean {
  const m = /^100\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return false;
  const second = Number(m[1]);
  return second >= 64 && second <= 127 && Number(m[2]) <= 255 && Number(m[3]) <= 255;
}

const K3S_CONFIG = '/etc/rancher/k3s/config.yaml';
const RESTART = 'sudo systemctl restart k3s (on the server) or k3s-agent (on agents)';
const list = (names: string[]) =>
  names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');

/** `v1.32.6+k3s1` → [1, 32, 6, 1]; undefined when not a K3s/Kubernetes version. */
export function parseK3sVersion(v: string): number[] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+]k3s(\d+))?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0)] : undefined;
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The four prerequisite verdicts from the latest stored snapshot. A snapshot older than
 * `agent.staleAfterSeconds`, or one without a report (an older agent), gives warnings: too old
 * (or too little) to tell.
 */
export function prerequisiteChecks(
  stored: StoredSnapshot | undefined,
  config: Config,
  now: Date,
): CheckResult[] {
  const ids = PREREQUISITE_CHECK_IDS;
  const agentFix =
    'check the agent: kubectl -n k3s-burst logs deploy/k3s-burst-agent; see docs/agent.md (then run doctor again)';
  if (!stored)
    return ids.map((id) => ({ id, status: 'skip', message: 'not checked: the agent has never reported' }));
  const ageS = Math.max(0, Math.round((now.getTime() - Date.parse(stored.snapshot.observedAt)) / 1000));
  if (ageS > config.agent.staleAfterSeconds) {
    return ids.map((id) => ({
      id,
      status: 'warn',
      message: `the last snapshot is ${fmtDuration(ageS)} old, too old to tell`,
      fix: agentFix,
    }));
  }
  const p = stored.snapshot.prerequisites;
  if (!p) {
    return ids.map((id) => ({
      id,
      status: 'warn',
      message: `the agent (${stored.snapshot.agentVersion}) does not report Pi-side prerequisites`,
      fix: 'update the agent image to this version of k3s-burst (docs/agent.md), then run doctor again',
    }));
  }
  return [nodeIpCheck(p.nodes), flannelCheck(p.nodes), serverCertCheck(p, config), versionCheck(p, config)];
}

function nodeIpCheck(nodes: NodePrerequisites[]): CheckResult {
  const id = 'pi.node-ip';
  if (nodes.length === 0)
    return {
      id,
      status: 'warn',
      message: 'the agent reports no on-prem node',
      fix: 'check that the agent lists nodes (kubectl -n k3s-burst logs deploy/k3s-burst-agent)',
    };
  const bad = nodes.filter(([, ip]) => !isTailscaleIpv4(ip));
  if (bad.length === 0)
    return {
      id,
      status: 'ok',
      message: `all ${nodes.length} on-prem node(s) use their Tailscale address (100.64.0.0/10) as InternalIP`,
    };
  return {
    id,
    status: 'fail',
    message: `${bad.length} on-prem node(s) have an InternalIP outside 100.64.0.0/10: ${list(bad.map(([n, ip]) => `${n} (${ip || 'none'})`))}; cloud nodes reach them only over Tailscale`,
    fix: `on each of ${list(bad.map(([n]) => n))}: add "node-ip: <its tailscale ip -4>" and "flannel-iface: tailscale0" to ${K3S_CONFIG}, then ${RESTART} (docs/nodes.md, "Moving existing Pis onto Tailscale")`,
  };
}

function flannelCheck(nodes: NodePrerequisites[]): CheckResult {
  const id = 'pi.flannel';
  if (nodes.length === 0) return { id, status: 'skip', message: 'not checked: no on-prem node reported' };
  const bad = nodes.filter(([, , publicIp, iface]) => !isTailscaleIpv4(publicIp) || iface !== 'tailscale0');
  if (bad.length === 0)
    return {
      id,
      status: 'ok',
      message: `flannel runs over tailscale0 with a 100.64.0.0/10 public-ip on all ${nodes.length} on-prem node(s)`,
    };
  const what = ([n, , publicIp, iface]: NodePrerequisites) =>
    `${n} (interface ${iface || 'default route, e.g. eth0'}, public-ip ${publicIp || 'none'})`;
  return {
    id,
    status: 'fail',
    message: `flannel is not on the tailnet on ${bad.length} on-prem node(s): ${list(bad.map(what))}; pods on cloud nodes could not reach pods there`,
    fix: `on each of ${list(bad.map(([n]) => n))}: add "flannel-iface: tailscale0" and "node-ip: <its tailscale ip -4>" to ${K3S_CONFIG}, then ${RESTART} (docs/nodes.md)`,
  };
}

function serverCertCheck(
  p: NonNullable<StoredSnapshot['snapshot']['prerequisites']>,
  config: Config,
): CheckResult {
  const id = 'k3s.server-cert';
  const url = config.cluster.k3sServerUrl;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const setUrl = `set K3S_BURST_SERVER_URL=${url} in the configMapGenerator of deploy/kustomization.yaml and kubectl apply -k deploy/`;
  if (!p.serverUrl)
    return {
      id,
      status: 'warn',
      message: 'the agent is not told the K3s server URL, so it cannot check the server certificate',
      fix: setUrl,
    };
  if (p.serverUrl.replace(/\/$/, '') !== url.replace(/\/$/, ''))
    return {
      id,
      status: 'warn',
      message: `the agent checks ${p.serverUrl}, but cluster.k3sServerUrl is ${url}`,
      fix: setUrl,
    };
  if (p.serverCertError)
    return {
      id,
      status: 'fail',
      message: `the agent cannot reach the K3s server at ${url}: ${p.serverCertError}`,
      fix: `check that the server listens on its Tailscale address (tailscale ip -4 on the server) and that cluster.k3sServerUrl uses it`,
    };
  const sans = p.serverCertSans ?? [];
  if (sansCoverHost(sans, host))
    return { id, status: 'ok', message: `the certificate at ${url} covers ${host}` };
  return {
    id,
    status: 'fail',
    message: `the K3s server certificate at ${url} does not cover ${host} (it has ${sans.join(', ') || 'no SANs'}): cloud nodes would fail with "x509: certificate is valid for …"`,
    fix: `on the K3s server add "tls-san: [${host}]" to ${K3S_CONFIG}, then sudo systemctl restart k3s`,
  };
}

function versionCheck(
  p: NonNullable<StoredSnapshot['snapshot']['prerequisites']>,
  config: Config,
): CheckResult {
  const id = 'k3s.version';
  const want = config.cluster.k3sVersion;
  if (!p.serverVersion)
    return {
      id,
      status: 'warn',
      message: 'no control-plane node reported, so the server version is unknown',
      fix: 'check that the K3s server is a node of the cluster (kubectl get nodes -l node-role.kubernetes.io/control-plane=true)',
    };
  const server = parseK3sVersion(p.serverVersion);
  const cloud = parseK3sVersion(want);
  if (!server || !cloud)
    return {
      id,
      status: 'warn',
      message: `cannot compare versions ${want} and ${p.serverVersion}`,
      fix: 'set cluster.k3sVersion to the server version, e.g. v1.32.6+k3s1',
    };
  const c = compareVersions(cloud, server);
  if (c > 0)
    return {
      id,
      status: 'fail',
      message: `cluster.k3sVersion ${want} is newer than the K3s server ${p.serverVersion}: agents must not be newer than the server`,
      fix: `set cluster.k3sVersion to ${p.serverVersion} in the config, then npx cdk deploy`,
    };
  if (c < 0)
    return {
      id,
      status: 'warn',
      message: `cloud nodes install ${want}, older than the server ${p.serverVersion}`,
      fix: `set cluster.k3sVersion to ${p.serverVersion}, then npx cdk deploy`,
    };
  return { id, status: 'ok', message: `cloud nodes install ${want}, the server's version` };
}

/** Whether an IP or DNS name is among certificate SANs (`IP Address:…`, `DNS:…`, `*.` wildcards). */
export function sansCoverHost(sans: readonly string[], host: string): boolean {
  const h = host.toLowerCase();
  return sans.some((s) => {
    const i = s.indexOf(':');
    const kind = s.slice(0, i).trim();
    const v = s
      .slice(i + 1)
      .trim()
      .toLowerCase();
    if (kind === 'IP Address') return v === h;
    if (kind !== 'DNS') return false;
    if (v === h) return true;
    return v.startsWith('*.') && h.endsWith(v.slice(1)) && !h.slice(0, h.length - v.length + 1).includes('.');
  });
}
