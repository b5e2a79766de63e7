/**
 * `npm run bench:compare [-- filter]`: the same benchmarks on the Node.js we ship (this process,
 * Node.js 24 from node_modules) and on the machine's other Node.js major (the first `node` on PATH
 * outside node_modules whose major differs, e.g. Debian's Node.js 20), one after the other, then
 * one table side by side with the ratio. Budgets are judged on the shipped runtime only; results
 * go to bench-results.json (shipped) and bench-results.node<major>.json. Exits 1 when the shipped
 * runtime misses a budget.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { otherNodeBinary } from './harness.js';

interface Row {
  name: string;
  value: number;
  unit: string;
  budget?: number;
  higherIsBetter?: boolean;
}

const missed = (r: Row) =>
  r.budget !== undefined && (r.higherIsBetter ? r.value < r.budget : r.value > r.budget);

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const filter = process.argv[2];
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const major = (v: string) => Number(/^v?(\d+)\./.exec(v.trim())?.[1]);

function run(node: string, out: string): Row[] {
  const args = [tsx, join(here, 'run.ts'), ...(filter ? [filter] : [])];
  const r = spawnSync(node, args, {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, BENCH_OUT: out },
  });
  if (r.error) throw r.error;
  return JSON.parse(readFileSync(out, 'utf8')) as Row[];
}

const shippedMajor = major(process.version);
const shipped = run(process.execPath, join(root, 'bench-results.json'));
const other = otherNodeBinary();
if (!other) {
  console.log(`\nno other Node.js major on PATH: only node ${process.version} measured`);
} else {
  const otherMajor = major(other.version);
  const cmp = new Map(
    run(other.path, join(root, `bench-results.node${otherMajor}.json`)).map((r) => [r.name, r]),
  );
  const rows = shipped.map((r) => {
    const o = cmp.get(r.name);
    const ratio = o && o.value !== 0 ? (r.value / o.value).toFixed(2) : '-';
    const budget = r.budget === undefined ? '-' : `${r.higherIsBetter ? '≥' : '≤'} ${r.budget}`;
    const status = r.budget === undefined ? 'report' : missed(r) ? 'MISS' : 'ok';
    return [r.name, r.value.toFixed(1), o ? o.value.toFixed(1) : '-', ratio, r.unit, budget, status];
  });
  const header = ['name', `node${shippedMajor}`, `node${otherMajor}`, 'ratio', 'unit', 'budget', 'status'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((x) => String(x[i]).length)));
  console.log(`\nside by side: node ${process.version} (shipped) and node ${other.version} (${other.path})`);
  for (const cells of [header, ...rows])
    console.log(cells.map((c, i) => String(c).padEnd(widths[i] as number)).join('  '));
}
if (shipped.some(missed)) process.exitCode = 1;
