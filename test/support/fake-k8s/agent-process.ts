/**
 * Start the agent as a real process against a FakeK8s and an AwsStub: `node bin/run.mjs agent`
 * (the CLI through tsx), or the esbuild bundle the image runs (`bundleAgent()`). Output is
 * collected; `stop()` sends SIGTERM and waits (bounded) for the exit code.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESBUILD_NODE_TARGET } from '../../../lib/node-runtime.js';
import type { AwsStub } from './aws-stub.js';
import { CLUSTER } from './fixtures.js';
import type { FakeK8s } from './server.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** A fake secret access key that tests look for in the output (it must never appear). */
export const FAKE_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';

/** NODE_OPTIONS exactly as deploy/deployment.yaml sets them, so tests and the bench run what ships. */
export function deploymentNodeOptions(): string {
  const text = readFileSync(join(ROOT, 'deploy', 'deployment.yaml'), 'utf8');
  const m = /- name: NODE_OPTIONS\s+value: "([^"]*)"/.exec(text);
  if (!m) throw new Error('deploy/deployment.yaml sets no NODE_OPTIONS');
  return m[1] as string;
}

/** Bundle bin/agent.ts like deploy/Dockerfile does; returns the .mjs path. */
export function bundleAgent(outDir = mkdtempSync(join(tmpdir(), 'agent-bundle-'))): string {
  const out = join(outDir, 'agent.mjs');
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'esbuild'),
    [
      join(ROOT, 'bin/agent.ts'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      `--target=${ESBUILD_NODE_TARGET}`,
      '--minify',
      '--external:@kubernetes/client-node',
      "--banner:js=import{createRequire}from'node:module';const require=createRequire(import.meta.url);",
      `--outfile=${out}`,
      '--log-level=error',
    ],
    { stdio: 'pipe', timeout: 60_000 },
  );
  return out;
}

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  metricsPort: number;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then wait up to `ms` for the exit; SIGKILL after that. Resolves the exit code. */
  stop(ms?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

export function spawnAgent(
  k8s: FakeK8s,
  aws: AwsStub,
  o: {
    metricsPort: number;
    bundle?: string;
    env?: Record<string, string>;
    args?: string[];
    /** The node binary to run (default: this process's, Node 24 under npm scripts). */
    nodeBinary?: string;
  },
): AgentProcess {
  const entry = o.bundle ? [o.bundle] : [join(ROOT, 'bin', 'run.mjs'), 'agent'];
  const child = spawn(o.nodeBinary ?? process.execPath, [...entry, ...(o.args ?? [])], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      KUBECONFIG: k8s.writeKubeconfig(),
      K3S_BURST_CLUSTER: CLUSTER,
      K3S_BURST_QUEUE_URL: `${aws.url}/123456789012/k3s-burst-${CLUSTER}-commands`,
      K3S_BURST_METRICS_PORT: String(o.metricsPort),
      AWS_REGION: 'eu-central-1',
      AWS_ENDPOINT_URL: aws.url,
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: FAKE_SECRET_KEY,
      AWS_EC2_METADATA_DISABLED: 'true',
      POD_NAME: 'agent-proc-0',
      ...o.env,
    },
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    pid: child.pid ?? -1,
    metricsPort: o.metricsPort,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(ms = 10_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), ms);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Poll GET /readyz until 200 (bounded). */
export async function waitReady(port: number, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`agent not ready after ${timeoutMs} ms (last /readyz: ${last.trim()})`);
}
