import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../lib/cli/io.js';
import { run } from '../../../lib/cli/render-userdata.js';
import { SECRET_PLACEHOLDERS } from '../../../lib/userdata/index.js';

const root = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'k3s-burst-render-userdata-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cluster = {
  name: 'pi-lab',
  region: 'eu-central-1',
  k3sServerUrl: 'https://100.64.5.11:6443',
  k3sVersion: 'v1.32.6+k3s1',
};

function configFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return name;
}

function io(): CliIo & { out: string; err: string } {
  const result = {
    out: '',
    err: '',
    stdout: (t: string) => {
      result.out += t;
    },
    stderr: (t: string) => {
      result.err += t;
    },
    cwd: dir,
    env: {},
    isTTY: false,
  };
  return result;
}

describe('k3s-burst render-userdata', () => {
  it('prints the script with placeholder secrets on stdout and a summary on stderr', async () => {
    const file = configFile('ok.json', {
      cluster,
      nodes: { labels: { 'k3s-burst.io/pool': 'cloud' }, candidateTypes: ['m7g.large'] },
    });
    const out = io();

    const code = await run(['--config', file, '--instance-type', 'm7g.large'], out);

    expect(code).toBe(0);
    expect(out.out.startsWith('#!/bin/bash\n')).toBe(true);
    expect(out.out).toContain(`TAILSCALE_AUTH_KEY='${SECRET_PLACEHOLDERS.tailscaleAuthKey}'`);
    expect(out.out).toContain(`K3S_AGENT_TOKEN='${SECRET_PLACEHOLDERS.bootstrapToken}'`);
    expect(out.out).toContain("JOIN_CREDENTIAL='bootstrap-token'");
    expect(out.out).toContain("'k3s-burst.io/capacity-type=spot'");
    expect(out.err).toContain('# node name and Tailscale hostname: burst-<instance-id>');
    expect(out.err).toContain('node.kubernetes.io/instance-type=m7g.large');
    expect(out.err).toMatch(/# size: \d+ bytes with placeholders; fits 16384/);
    expect(out.err).not.toContain('warning');
  });

  it('renders the capacity type asked for and warns about an instance type never launched', async () => {
    const file = configFile('ok2.json', { cluster });
    const out = io();
    expect(
      await run(['--config', file, '--capacity-type', 'on-demand', '--instance-type', 'x9z.huge'], out),
    ).toBe(0);
    expect(out.out).toContain("'k3s-burst.io/capacity-type=on-demand'");
    expect(out.err).toContain('warning: x9z.huge is not in nodes.candidateTypes');
  });

  it('runs as `k3s-burst render-userdata` through bin/run.mjs', () => {
    const file = configFile('ok3.json', { cluster });
    const result = spawnSync(
      process.execPath,
      [join(root, 'bin', 'run.mjs'), 'render-userdata', '--config', file],
      {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("CLUSTER='pi-lab'");
    expect(result.stderr).toContain('# node name and Tailscale hostname: burst-<instance-id>');
  });

  it.each<[string, string[], RegExp]>([
    ['no --config', [], /--config FILE is required/],
    ['an unknown option', ['--config', 'x.json', '--bogus'], /Unknown option '--bogus'/],
    ['a bad capacity type', ['--config', 'x.json', '--capacity-type', 'reserved'], /"spot" or "on-demand"/],
    ['a bad instance type', ['--config', 'x.json', '--instance-type', 'M7G LARGE'], /EC2 instance type/],
    ['a missing file', ['--config', 'missing.json'], /cannot read config missing\.json: file not found/],
  ])('exits 2 with a usage message for %s', async (_name, args, message) => {
    const out = io();
    expect(await run(args, out)).toBe(2);
    expect(out.err).toMatch(message);
    expect(out.out).toBe('');
  });

  it('exits 2 naming the config field when the schema rejects it', async () => {
    const file = configFile('bad-schema.json', { cluster: { ...cluster, k3sVersion: 'latest' } });
    const out = io();
    expect(await run(['--config', file], out)).toBe(2);
    expect(out.err).toContain('$.cluster.k3sVersion');
    expect(out.err).toContain('expected a K3s release such as "v1.32.6+k3s1"');
  });

  it('exits 2 naming the field when the config validator refuses a label the kubelet would refuse', async () => {
    const file = configFile('bad-label.json', {
      cluster,
      nodes: { labels: { 'node-role.kubernetes.io/worker': 'true' } },
    });
    const out = io();
    expect(await run(['--config', file], out)).toBe(2);
    expect(out.err).toContain(
      '$.nodes.labels["node-role.kubernetes.io/worker"]: label key: the kubelet refuses to start with this kubernetes.io / k8s.io label',
    );
  });

  it('exits 2 on a file that is not JSON', async () => {
    const out = io();
    expect(await run(['--config', configFile('not.json', '{ nope')], out)).toBe(2);
    expect(out.err).toMatch(/not\.json is invalid:\n {2}\$: not valid JSON/);
  });

  it('prints help and exits 0', async () => {
    const out = io();
    expect(await run(['--help'], out)).toBe(0);
    expect(out.out).toContain('Usage: k3s-burst render-userdata --config FILE');
  });
});
