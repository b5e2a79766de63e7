import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderBakeScript } from '../../../lib/userdata/bake.js';
import { renderUserData, renderUserDataPreview } from '../../../lib/userdata/index.js';
import { baseInput, largestInput, NASTY_AGENT_TOKEN } from './fixtures.js';

/** CI installs shellcheck (.ci/run); a missing one fails here instead of silently skipping. */
function shellcheck(script: string): { status: number | null; output: string } {
  const result = spawnSync('shellcheck', ['--shell=bash', '--format=gcc', '-'], {
    input: script,
    encoding: 'utf8',
  });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(
      'shellcheck is not installed: run `apt-get install -y shellcheck` (CI installs it in .ci/run); ' +
        'the userdata checks cannot be skipped',
    );
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const { agentToken: _a, tailscaleAuthKey: _t, ...publicInput } = baseInput();

describe('shellcheck', () => {
  it.each([
    ['the example config', renderUserData(baseInput())],
    ['no labels and no taints', renderUserData(baseInput({ labels: {}, taints: [] }))],
    ['the largest supported config', renderUserData(largestInput())],
    ['a token full of shell metacharacters', renderUserData(baseInput({ agentToken: NASTY_AGENT_TOKEN }))],
    ['the CLI preview', renderUserDataPreview(publicInput)],
    [
      'the bake script (k3s-burst bake)',
      renderBakeScript({
        k3sVersion: 'v1.32.6+k3s1',
        airgapImages: true,
        prePullImages: ['ghcr.io/acme/worker:1.4'],
      }),
    ],
    [
      'the bake script with nothing to pre-pull',
      renderBakeScript({ k3sVersion: 'v1.32.6+k3s1', airgapImages: false, prePullImages: [] }),
    ],
  ])('finds nothing in the script rendered for %s', (_name, script) => {
    const { status, output } = shellcheck(script);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('finds nothing in the sandbox stub either', () => {
    const stub = readFileSync(
      join(import.meta.dirname, '..', '..', 'integration', 'userdata', 'stub.sh'),
      'utf8',
    );
    expect(shellcheck(stub)).toEqual({ status: 0, output: '' });
  });

  it('would report a problem (the check can fail)', () => {
    const { status, output } = shellcheck('#!/bin/bash\necho $1\n');
    expect(status).not.toBe(0);
    expect(output).toContain('SC2086');
  });
});
