/**
 * The Pi-side prerequisites the agent reports with every snapshot (docs/nodes.md "Prerequisites
 * on the Pi side"): each on-prem node's InternalIP, flannel public-ip annotation and flannel
 * interface, its kubelet version; the K3s server's version; and the SANs of the certificate the
 * server presents at the URL cloud nodes dial. `k3s-burst doctor` turns them into verdicts.
 * Read-only: Nodes come from the informer's list, the certificate from one TLS handshake.
 */
import { connect, type PeerCertificate } from 'node:tls';
import {
  MAX_PREREQUISITE_NODES,
  type NodePrerequisites,
  type PiPrerequisitesInput,
} from '../events/index.js';
import type { RawNode } from './model.js';
import { AGENT_DEFAULTS } from './options.js';

const FLANNEL_PUBLIC_IP = 'flannel.alpha.coreos.com/public-ip';
const K3S_NODE_ARGS = 'k3s.io/node-args';
const MANAGED_LABEL = 'k3s-burst.io/managed';
const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

/** The value after `flag` in K3s's `k3s.io/node-args` annotation (a JSON array), or ''. */
export function k3sArg(annotation: string | undefined, flag: string): string {
  if (!annotation) return '';
  let args: unknown;
  try {
    args = JSON.parse(annotation);
  } catch {
    return '';
  }
  if (!Array.isArray(args)) return '';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === flag && typeof args[i + 1] === 'string') return args[i + 1] as string;
    if (typeof a === 'string' && a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
  }
  return '';
}

/** What one node shows; undefined for managed (cloud) nodes, which k3s-burst configures itself. */
export function nodePrerequisites(node: RawNode): NodePrerequisites | undefined {
  const meta = node.metadata ?? {};
  if (meta.labels?.[MANAGED_LABEL] === 'true') return undefined;
  const status = node.status as
    | (RawNode['status'] & {
        addresses?: { type?: string; address?: string }[];
        nodeInfo?: { kubeletVersion?: string };
      })
    | undefined;
  const internalIp = status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
  const args = meta.annotations?.[K3S_NODE_ARGS];
  const clip = (s: string, n: number) => s.slice(0, n);
  return [
    clip(meta.name ?? '', 253),
    clip(internalIp, 64),
    clip(meta.annotations?.[FLANNEL_PUBLIC_IP] ?? '', 64),
    clip(k3sArg(args, '--flannel-iface'), 32),
    clip(status?.nodeInfo?.kubeletVersion ?? '', 64),
  ];
}

/** Whether the node is a K3s server (control plane). */
export function isControlPlane(node: RawNode): boolean {
  return node.metadata?.labels?.[CONTROL_PLANE_LABEL] === 'true';
}

/** What the agent keeps per Node between snapshots (small: not the raw object). */
export interface NodeEntry {
  prerequisites: NodePrerequisites | undefined;
  controlPlane: boolean;
}

export function nodeEntry(node: RawNode): NodeEntry {
  return { prerequisites: nodePrerequisites(node), controlPlane: isControlPlane(node) };
}

/** The result of dialling the server URL. */
export type CertificateProbe = { sans: string[] } | { error: string };

/**
 * Dial `url` (https://host:port) and return the SANs of the certificate it presents. The
 * certificate is only read, never trusted: nothing is sent after the handshake.
 */
export function probeServerCertificate(url: string, timeoutMs = 5000): Promise<CertificateProbe> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve({ error: `not a URL: ${url.slice(0, 100)}` });
  }
  if (target.protocol !== 'https:')
    return Promise.resolve({ error: `not an https URL: ${url.slice(0, 100)}` });
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || 443);
  const isIp = /^[\d.]+$|:/.test(host);
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: CertificateProbe) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const socket = connect({
      host,
      port,
      // Only the presented certificate is read; trust is what the SAN check is about.
      rejectUnauthorized: false,
      ...(isIp ? {} : { servername: host }),
    });
    const timer = setTimeout(
      () => finish({ error: `no TLS handshake with ${host}:${port} within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      const cert: PeerCertificate = socket.getPeerCertificate();
      const sans = (cert.subjectaltname ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
        .slice(0, 32);
      finish({ sans });
    });
    socket.once('error', (err: NodeJS.ErrnoException) =>
      finish({ error: `cannot dial ${host}:${port}: ${err.code ?? err.message}`.slice(0, 300) }),
    );
  });
}

/**
 * Keeps the last certificate probe and assembles the snapshot's `prerequisites` from the
 * current Nodes. The probe runs at most every `refreshMs` (a handshake per heartbeat would
 * be needless load on the server).
 */
export class PrerequisiteReporter {
  private probe: { at: string; result: CertificateProbe } | undefined;
  private running: Promise<void> | undefined;
  private lastStartMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly o: {
      serverUrl?: string;
      now: () => number;
      refreshMs?: number;
      timeoutMs?: number;
      probe?: typeof probeServerCertificate;
    },
  ) {}

  /** Start a probe when the last one is older than `refreshMs`; resolves when it is done. */
  refresh(): Promise<void> {
    const url = this.o.serverUrl;
    if (!url) return Promise.resolve();
    const now = this.o.now();
    if (this.running) return this.running;
    if (now - this.lastStartMs < (this.o.refreshMs ?? AGENT_DEFAULTS.prerequisites.serverCertRefreshMs))
      return Promise.resolve();
    this.lastStartMs = now;
    this.running = (this.o.probe ?? probeServerCertificate)(url, this.o.timeoutMs)
      .then((result) => {
        this.probe = { at: new Date(this.o.now()).toISOString(), result };
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** The `prerequisites` of a snapshot built now from these Nodes' {@link nodeEntry} values. */
  report(nodes: Iterable<NodeEntry>, observedAt: string): PiPrerequisitesInput {
    void this.refresh();
    const onPrem: NodePrerequisites[] = [];
    const serverVersions: string[] = [];
    let omitted = 0;
    for (const { prerequisites: p, controlPlane } of nodes) {
      if (!p) continue;
      if (controlPlane && p[4]) serverVersions.push(p[4]);
      if (onPrem.length < MAX_PREREQUISITE_NODES) onPrem.push(p);
      else omitted += 1;
    }
    onPrem.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    serverVersions.sort();
    const probe = this.probe;
    return {
      checkedAt: probe?.at ?? observedAt,
      ...(serverVersions[0] ? { serverVersion: serverVersions[0] } : {}),
      ...(this.o.serverUrl ? { serverUrl: this.o.serverUrl.slice(0, 256) } : {}),
      ...(probe && 'sans' in probe.result ? { serverCertSans: probe.result.sans } : {}),
      ...(probe && 'error' in probe.result ? { serverCertError: probe.result.error } : {}),
      nodes: onPrem,
      nodesOmitted: omitted,
    };
  }
}
