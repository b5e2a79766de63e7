import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const coreDir = join(import.meta.dirname, '..', '..', '..', 'lib', 'core');

/** What lib/core must never reach for: I/O, SDKs, the clock, randomness (the layout in docs/architecture.md). */
const FORBIDDEN: Array<[RegExp, string]> = [
  [
    /from\s+['"](node:)?(fs|fs\/promises|net|http|https|http2|child_process|dgram|dns|tls|worker_threads|cluster)['"]/,
    'a node I/O module',
  ],
  [/from\s+['"]@aws-sdk\//, 'the AWS SDK'],
  [/from\s+['"]@kubernetes\//, 'the Kubernetes client'],
  [/from\s+['"]aws-cdk-lib/, 'the CDK'],
  [/import\(/, 'a dynamic import'],
  [/\bfetch\s*\(/, 'fetch'],
  [/\bDate\.now\s*\(/, 'Date.now()'],
  [/\bnew\s+Date\s*\(\s*\)/, 'new Date() without an argument (the clock)'],
  [/\bMath\.random\s*\(/, 'Math.random()'],
  [/\bprocess\./, 'process (environment, clock, exit)'],
  [/\bperformance\.now\s*\(/, 'performance.now()'],
  [/\b(setTimeout|setInterval|setImmediate)\s*\(/, 'timers'],
];

/** Imports lib/core may use: itself, lib/events and pure libraries. */
const ALLOWED_IMPORTS = [/^\.\/[a-z0-9-]+\.js$/, /^\.\.\/events\/index\.js$/, /^cron-parser$/, /^zod$/];

function sources(): Array<{ file: string; text: string }> {
  return readdirSync(coreDir)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((file) => ({ file, text: readFileSync(join(coreDir, file), 'utf8') }));
}

/** Drop comments so TSDoc that mentions `new Date()` does not trip the scan. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

describe('lib/core purity', () => {
  it('has sources to scan', () => {
    expect(sources().map((s) => s.file)).toEqual(
      expect.arrayContaining(['plan.ts', 'index.ts', 'scale-out.ts']),
    );
  });

  it.each(sources().map((s) => [s.file, s.text] as const))(
    '%s uses no I/O, clock or randomness',
    (_file, text) => {
      const body = code(text);
      const hits = FORBIDDEN.filter(([re]) => re.test(body)).map(([, what]) => what);
      expect(hits).toEqual([]);
    },
  );

  it.each(sources().map((s) => [s.file, s.text] as const))(
    '%s imports only lib/core, lib/events and pure libraries',
    (_file, text) => {
      const specifiers = [...code(text).matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1] as string);
      const bad = specifiers.filter((s) => !ALLOWED_IMPORTS.some((re) => re.test(s)));
      expect(bad).toEqual([]);
    },
  );

  it('catches a forbidden call when one is present', () => {
    const body = code(
      "import { readFileSync } from 'node:fs';\nconst t = Date.now();\n// new Date() in a comment is fine",
    );
    const hits = FORBIDDEN.filter(([re]) => re.test(body)).map(([, what]) => what);
    expect(hits).toEqual(['a node I/O module', 'Date.now()']);
  });
});
