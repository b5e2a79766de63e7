/**
 * The CDK app as the CLI runs it (the `app` command of `cdk.json`, context through
 * CDK_CONTEXT_JSON), with no AWS credentials in the environment: a bad config fails synth
 * with one line per field (path, value, fix), no stack trace and no cloud assembly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../unit/infra/support.js';

const dir = mkdtempSync(join(tmpdir(), 'k3s-burst-app-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The environment without credentials or region: synth must need neither. */
function offlineEnv(context: Record<string, unknown>, outdir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  }
  return { ...env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir };
}

function runApp(context: Record<string, unknown>): { status: number | null; stderr: string; outdir: string } {
  const outdir = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  // Exactly the command cdk.json gives the CLI.
  const app = (JSON.parse(readFileSync(join(repoRoot, 'cdk.json'), 'utf8')) as { app: string }).app;
  const r = spawnSync('bash', ['-c', app], {
    cwd: repoRoot,
    env: offlineEnv(context, outdir),
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stderr: r.stderr, outdir };
}

describe('cdk synth with an invalid config', () => {
  it('fails with the path, the value and the fix of every bad field, and writes nothing', () => {
    // Given a config with five mistakes
    const config = JSON.parse(readFileSync(join(repoRoot, 'examples', 'k3s-burst.config.json'), 'utf8'));
    config.cluster.region = 'Frankfurt';
    config.schedules[0].timezone = 'Berlin';
    config.network = { vpcId: 'vpc-0a1b2c3d4e5f60718' };
    config.nodes.candidateTypes = ['t4g.mediun'];
    config.schedules[1].cron = '61 25 * * *';
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify(config));
    // When the app runs as `cdk synth -c k3s-burst:config=<path>` would run it
    const r = runApp({ 'k3s-burst:config': path });
    // Then it exits 2, as every k3s-burst command does for an invalid config
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`k3s-burst: ${path} is invalid`);
    expect(r.stderr).toContain(
      '$.nodes.candidateTypes[0]: unknown instance type — did you mean "t4g.medium"?',
    );
    expect(r.stderr).toContain('$.schedules[1].cron: minute 61 is out of range 0-59');
    expect(r.stderr).toContain(
      '$.cluster.region: expected an AWS region such as "eu-central-1" (got "Frankfurt")',
    );
    expect(r.stderr).toContain('$.schedules[0].timezone: expected an IANA time zone');
    expect(r.stderr).toContain('(got "Berlin")');
    expect(r.stderr).toContain('$.network.subnetIds');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(r.outdir, 'manifest.json'))).toBe(false);
  }, 130_000);

  it('fails naming a config file that does not exist, with the fix', () => {
    const r = runApp({ 'k3s-burst:config': join(dir, 'missing.json') });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('missing.json (from context "k3s-burst:config") does not exist');
    expect(r.stderr).toContain('create it from examples/k3s-burst.config.json');
  }, 130_000);
});
