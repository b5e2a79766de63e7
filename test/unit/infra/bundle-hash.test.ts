import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sourceFingerprint } from '../../../lib/infra/index.js';

const root = mkdtempSync(join(tmpdir(), 'k3s-burst-fingerprint-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A minimal project tree; each call gets its own directory (fingerprints are memoized per root). */
function project(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const base = {
  'lambdas/launch.ts': 'export const handler = 1;',
  'lib/aws/fleet.ts': 'export const x = 1;',
  'userdata/bootstrap.sh.tpl': '#!/bin/bash',
  'package-lock.json': '{"lockfileVersion":3}',
  'tsconfig.json': '{}',
};

describe('bundle source fingerprint (custom asset hash)', () => {
  it('is the same for the same sources', () => {
    expect(sourceFingerprint(project('a1', base))).toBe(sourceFingerprint(project('a2', base)));
  });

  it.each([
    ['a handler', 'lambdas/launch.ts'],
    ['a library file', 'lib/aws/fleet.ts'],
    ['the userdata template', 'userdata/bootstrap.sh.tpl'],
    ['the lock file (dependency versions)', 'package-lock.json'],
    ['tsconfig.json', 'tsconfig.json'],
  ])('changes when %s changes', (_what, path) => {
    const changed = { ...base, [path]: `${base[path as keyof typeof base]} ` };
    expect(sourceFingerprint(project(`c-${path.replace(/\W/g, '-')}`, changed))).not.toBe(
      sourceFingerprint(project('b', base)),
    );
  });

  it('changes when a file is added or renamed', () => {
    const added = { ...base, 'lib/aws/extra.ts': '' };
    expect(sourceFingerprint(project('d1', added))).not.toBe(sourceFingerprint(project('d0', base)));
    const { 'lib/aws/fleet.ts': content, ...rest } = base;
    const renamed = { ...rest, 'lib/aws/fleet2.ts': content };
    expect(sourceFingerprint(project('d2', renamed))).not.toBe(sourceFingerprint(project('d0', base)));
  });

  it('ignores files outside the bundle inputs (tests, docs)', () => {
    const withDocs = { ...base, 'docs/deploy.md': '# x', 'test/unit/x.test.ts': '' };
    expect(sourceFingerprint(project('e1', withDocs))).toBe(sourceFingerprint(project('e0', base)));
  });
});
