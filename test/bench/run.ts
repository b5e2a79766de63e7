/**
 * `npm run bench [-- filter]`: runs every `test/bench/*.bench.ts`, prints a table and writes
 * `bench-results.json` (array of { name, value, unit }; `BENCH_OUT` names another file).
 * Exits 1 when a budget is missed.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Benchmark, BenchResult } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();

const results: BenchResult[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { benchmarks: Benchmark[] };
  for (const bench of mod.benchmarks) {
    if (filter && !bench.name.includes(filter)) continue;
    process.stderr.write(`running ${bench.name} ...\n`);
    results.push(...(await bench.run()));
  }
}

function withinBudget(r: BenchResult): boolean | undefined {
  if (r.budget === undefined) return undefined;
  return r.higherIsBetter ? r.value >= r.budget : r.value <= r.budget;
}

const rows = results.map((r) => {
  const ok = withinBudget(r);
  const budget = r.budget === undefined ? '-' : `${r.higherIsBetter ? '≥' : '≤'} ${r.budget}`;
  return [
    r.name,
    r.value.toFixed(r.value < 10 ? 3 : 1),
    r.unit,
    budget,
    ok === undefined ? 'report' : ok ? 'ok' : 'MISS',
  ];
});
const header = ['name', 'median', 'unit', 'budget', 'status'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
console.log(line(header));
for (const r of rows) console.log(line(r as string[]));

const out = results.map((r) => ({
  name: r.name,
  value: Number(r.value.toFixed(3)),
  unit: r.unit,
  ...(r.budget === undefined ? {} : { budget: r.budget }),
  ...(r.higherIsBetter ? { higherIsBetter: true } : {}),
  ...(r.detail ? { detail: r.detail } : {}),
}));
const outFile = process.env.BENCH_OUT ?? join(here, '..', '..', 'bench-results.json');
writeFileSync(outFile, `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nwrote ${outFile} (${out.length} results, node ${process.version})`);
if (results.some((r) => withinBudget(r) === false)) process.exitCode = 1;
