/**
 * Pi-side prerequisites end to end on the agent's side: the whole agent runs against the fake
 * Kubernetes API (Pis with flannel on tailscale0 or on eth0), dials a TLS server on 127.0.0.1
 * whose self-signed certificate is generated here (with or without the server address in its
 * SANs), and `doctor`'s verdicts are computed from the snapshot the agent built.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeServerCertificate } from '../../../lib/agent/prerequisites.js';
import { ClusterSnapshot } from '../../../lib/events/index.js';
import { prerequisiteChecks } from '../../../lib/ops/prerequisites.js';
import { startTestAgent, type TestAgent } from '../../support/fake-k8s/agent.js';
import { piNode } from '../../support/fake-k8s/fixtures.js';
import { type FakeK8s, startFakeK8s } from '../../support/fake-k8s/server.js';
import { makeConfig } from '../../unit/core/fixtures.js';

/** A self-signed certificate (EC P-256, 1 day) with exactly these SANs, made with openssl. */
function selfSigned(san: string): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'k3s-cert-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=k3s',
      '-addext',
      `subjectAltName=${san}`,
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'pipe', timeout: 20_000 },
  );
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
}

async function tlsServer(san: string): Promise<{ server: Server; url: string }> {
  const server = createServer(selfSigned(san), (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A Pi as K3s shows it: node-ip / flannel-iface from its args, flannel's public-ip annotation. */
function pi(name: string, ip: string, iface: string | undefined, controlPlane = false) {
  const node = piNode(name, { controlPlane }) as {
    metadata: { annotations: Record<string, string> };
    status: { addresses: { type: string; address: string }[] };
  };
  const args = [
    controlPlane ? 'server' : 'agent',
    '--node-ip',
    ip,
    ...(iface ? ['--flannel-iface', iface] : []),
  ];
  node.metadata.annotations['k3s.io/node-args'] = JSON.stringify([...args, '--token', '********']);
  node.metadata.annotations['flannel.alpha.coreos.com/public-ip'] = ip;
  node.metadata.annotations['k3s.io/internal-ip'] = ip;
  node.status.addresses = [
    { type: 'InternalIP', address: ip },
    { type: 'Hostname', address: name },
  ];
  return node as unknown as ReturnType<typeof piNode>;
}

describe('Pi-side prerequisites: agent report → doctor verdicts', () => {
  let k8s: FakeK8s;
  let withAddress: { server: Server; url: string };
  let withoutAddress: { server: Server; url: string };
  let agent: TestAgent | undefined;

  beforeAll(async () => {
    [withAddress, withoutAddress] = await Promise.all([
      tlsServer('DNS:kubernetes,DNS:localhost,IP:127.0.0.1'),
      tlsServer('DNS:kubernetes,DNS:pi-server.local,IP:192.168.1.50'),
    ]);
  });
  afterAll(async () => {
    for (const s of [withAddress, withoutAddress]) await new Promise((r) => s?.server.close(r));
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await k8s?.close();
  });

  /** Run the agent on these nodes against `serverUrl`; doctor's verdicts on what it reports. */
  async function verdicts(nodes: ReturnType<typeof piNode>[], serverUrl: string) {
    k8s = await startFakeK8s();
    for (const n of nodes) k8s.upsert('nodes', n);
    agent = await startTestAgent(k8s, { k3sServerUrl: serverUrl, leaderElect: false });
    await agent.agent.synced;
    await agent.agent.refreshPrerequisites();
    const now = new Date();
    const snapshot = ClusterSnapshot.parse(agent.agent.currentSnapshot(1));
    const config = makeConfig({
      cluster: {
        name: 'pi-lab',
        region: 'eu-central-1',
        k3sServerUrl: serverUrl,
        k3sVersion: 'v1.32.6+k3s1',
      },
    });
    const checks = prerequisiteChecks({ snapshot, storedAt: now.toISOString() }, config, now);
    return { snapshot, byId: new Map(checks.map((c) => [c.id, c])) };
  }

  it('a correctly set up Pi passes every check', async () => {
    const r = await verdicts([pi('pi-node-1', '100.64.5.11', 'tailscale0', true)], withAddress.url);
    expect([...r.byId.values()].map((c) => [c.id, c.status])).toEqual([
      ['pi.node-ip', 'ok'],
      ['pi.flannel', 'ok'],
      ['k3s.server-cert', 'ok'],
      ['k3s.version', 'ok'],
    ]);
    expect(r.snapshot.prerequisites?.serverCertSans).toContain('IP Address:127.0.0.1');
  });

  it('a Pi with flannel on eth0 fails, naming the node and the flags to add', async () => {
    const r = await verdicts(
      [pi('pi-node-1', '100.64.5.11', 'tailscale0', true), pi('pi-node-2', '192.168.1.51', undefined)],
      withAddress.url,
    );
    const flannel = r.byId.get('pi.flannel');
    expect(flannel?.status).toBe('fail');
    expect(flannel?.message).toContain(
      'pi-node-2 (interface default route, e.g. eth0, public-ip 192.168.1.51)',
    );
    expect(flannel?.message).not.toContain('pi-node-1');
    expect(flannel?.fix).toBe(
      'on each of pi-node-2: add "flannel-iface: tailscale0" and "node-ip: <its tailscale ip -4>" to /etc/rancher/k3s/config.yaml, then sudo systemctl restart k3s (on the server) or k3s-agent (on agents) (docs/nodes.md)',
    );
    expect(r.byId.get('pi.node-ip')).toMatchObject({ status: 'fail' });
    expect(r.byId.get('k3s.server-cert')?.status).toBe('ok');
  });

  it('a server certificate without the address cloud nodes dial fails with the tls-san fix', async () => {
    const r = await verdicts([pi('pi-node-1', '100.64.5.11', 'tailscale0', true)], withoutAddress.url);
    const cert = r.byId.get('k3s.server-cert');
    expect(cert?.status).toBe('fail');
    expect(cert?.message).toContain('does not cover 127.0.0.1');
    expect(cert?.message).toContain('IP Address:192.168.1.50');
    expect(cert?.fix).toBe(
      'on the K3s server add "tls-san: [127.0.0.1]" to /etc/rancher/k3s/config.yaml, then sudo systemctl restart k3s',
    );
  });
});

describe('probeServerCertificate', () => {
  it('reports an unreachable server as an error, not as SANs', async () => {
    const s = await tlsServer('IP:127.0.0.1');
    const url = s.url;
    await new Promise((r) => s.server.close(r));
    const r = await probeServerCertificate(url, 2000);
    expect(r).toEqual({ error: expect.stringMatching(/^cannot dial 127\.0\.0\.1:\d+: ECONNREFUSED$/) });
  });
});
