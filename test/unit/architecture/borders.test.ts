/**
 * Borders as a test: the import graph of lib/, lambdas/ and bin/ against the allowed-imports
 * matrix of test/support/borders.ts, the checker's ability to fail, and docs/architecture.md's
 * table against the same matrix.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BORDERS,
  borderViolations,
  importsOf,
  misplacedFakes,
  sourceFiles,
  type Zone,
  zoneOf,
} from '../../support/borders.js';

const REPO = join(import.meta.dirname, '..', '..', '..');
const files = sourceFiles(REPO);
const edges = files.flatMap((f) => importsOf(f.path, f.source));

describe('folder borders', () => {
  it('sees the code base (every zone has files, imports are found)', () => {
    const zones = new Set(files.map((f) => zoneOf(f.path)));
    for (const z of Object.keys(BORDERS)) expect(zones, z).toContain(z);
    expect(edges.length).toBeGreaterThan(500);
  });

  it('no import crosses a border', () => {
    expect(borderViolations(edges)).toEqual([]);
  });

  it('no Fake class lives in lib outside the simulator world models', () => {
    expect(misplacedFakes(files)).toEqual([]);
  });

  it('reports a crossing: control importing an adapter, core importing an SDK, the agent importing the CLI', () => {
    const src = [
      "import { Ec2Fleet } from '../aws/fleet.js';",
      "export { x } from '../core/plan.js';",
      "const m = await import('../sim/engine.js');",
    ].join('\n');
    expect(borderViolations(importsOf('lib/control/reconcile.ts', src))).toEqual([
      'lib/control/reconcile.ts → lib/aws/fleet.ts: lib/control may not import lib/aws (allowed: lib/core, lib/events, lib/userdata)',
      'lib/control/reconcile.ts → lib/sim/engine.ts: lib/control may not import lib/sim (allowed: lib/core, lib/events, lib/userdata)',
    ]);
    expect(
      borderViolations(importsOf('lib/core/plan.ts', "import { EC2Client } from '@aws-sdk/client-ec2';")),
    ).toEqual(['lib/core/plan.ts → package @aws-sdk/client-ec2: lib/core may import only zod, cron-parser']);
    expect(
      borderViolations(importsOf('lib/agent/main.ts', "import { run } from '../cli/agent.js';")),
    ).toHaveLength(1);
    expect(
      misplacedFakes([{ path: 'lib/agent/fake-bus.ts', source: 'export class FakeBus {}' }]),
    ).toHaveLength(1);
  });

  it('allows a single named file across a border and nothing else of its folder', () => {
    expect(
      borderViolations(
        importsOf('lib/sim/world/fleet.ts', "import { orderOfferings } from '../../aws/offerings.js';"),
      ),
    ).toEqual([]);
    expect(
      borderViolations(importsOf('lib/sim/world/fleet.ts', "import { Ec2Fleet } from '../../aws/fleet.js';")),
    ).toHaveLength(1);
  });
});

describe('docs/architecture.md', () => {
  it("the layout table's 'may import' column names exactly the matrix's folders", () => {
    const doc = readFileSync(join(REPO, 'docs', 'architecture.md'), 'utf8');
    const rows = doc
      .split('\n')
      .filter((l) => /^\| `(lib\/[\w/]+|lambdas|bin)`/.test(l))
      .map((l) => l.split('|').map((c) => c.trim()));
    const documented = new Map<string, string[]>();
    for (const r of rows) {
      const folder = /`([^`]+)`/.exec(r[1] ?? '')?.[1] as string;
      const mayImport = [...(r[3] ?? '').matchAll(/`((?:lib\/[\w/.-]+)|lambdas|bin)`/g)].map(
        (m) => m[1] as string,
      );
      documented.set(folder, mayImport.sort());
    }
    const expected = new Map(
      (Object.keys(BORDERS) as Zone[]).map((z) => [
        z,
        [...BORDERS[z].zones, ...Object.keys(BORDERS[z].files ?? {})].sort(),
      ]),
    );
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(expected));
  });
});
