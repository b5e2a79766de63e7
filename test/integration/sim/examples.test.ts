/**
 * Every scenario in examples/scenarios runs through `k3s-burst simulate` with zero invariant
 * violations and shows what its README line says; misconfigured.json fails with exit code 2
 * naming its bad fields.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../lib/cli/simulate.js';
import type { Summary } from '../../../lib/sim/summary.js';
import { fakeIo, root, scenariosDir, tmpDir } from './helpers.js';

const files = readdirSync(scenariosDir)
  .filter((f) => f.endsWith('.json'))
  .sort();

interface ExampleRun {
  code: number;
  out: string;
  err: string;
  summary?: Summary;
}

const cache = new Map<string, Promise<ExampleRun>>();

/** Each scenario is simulated once per test file; the checks below share the result. */
function simulateExample(file: string): Promise<ExampleRun> {
  let r = cache.get(file);
  if (!r) {
    r = runExample(file);
    cache.set(file, r);
  }
  return r;
}

async function runExample(file: string): Promise<ExampleRun> {
  const out = tmpDir();
  const io = fakeIo(root);
  const code = await run(['--scenario', join('examples', 'scenarios', file), '--out', out], io);
  const summaryPath = join(out, 'summary.json');
  const summary = existsSync(summaryPath)
    ? (JSON.parse(readFileSync(summaryPath, 'utf8')) as Summary)
    : undefined;
  if (summary) expect(existsSync(join(out, 'report.html'))).toBe(true);
  return { code, out: io.out, err: io.err, summary };
}

describe('examples/scenarios', () => {
  it('holds the six documented scenarios, each listed in its README with a command', () => {
    expect(files).toEqual([
      'capacity-errors.json',
      'ci-burst.json',
      'misconfigured.json',
      'nightly-batch.json',
      'spot-heavy.json',
      'tailscale-outage.json',
    ]);
    const readme = readFileSync(join(scenariosDir, 'README.md'), 'utf8');
    for (const f of files) {
      expect(readme).toContain(`\`${f}\``);
      expect(readme).toContain(`simulate --scenario examples/scenarios/${f}`);
    }
  });

  it.each(files.filter((f) => f !== 'misconfigured.json'))(
    '%s runs with zero invariant violations',
    async (file) => {
      const r = await simulateExample(file);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.summary?.invariants.violations).toEqual([]);
      expect(r.summary?.truncated).toBe(false);
      expect(r.out).toMatch(/I1–I11 held at every step/);
      expect(r.summary?.pods.created).toBeGreaterThan(0);
    },
    120_000,
  );

  it('ci-burst bursts onto spot nodes within limits.maxNodes and scales back to zero', async () => {
    const { summary: s } = await simulateExample('ci-burst.json');
    expect(s?.cloud.peakNodes).toBeGreaterThan(0);
    expect(s?.cloud.peakNodes).toBeLessThanOrEqual(6);
    expect(s?.cloud.nodeHours.spot).toBeGreaterThan(0);
    expect(s?.cloud.nodeHours.onDemand).toBe(0);
    expect(s?.actions.instancesTerminated).toBe(s?.cloud.instancesLaunched);
    expect(s?.pods.pendingAtEnd).toBe(0);
  }, 120_000);

  it('nightly-batch runs on on-demand nodes and is scaled to zero by the day schedule', async () => {
    const { summary: s } = await simulateExample('nightly-batch.json');
    expect(s?.cloud.nodeHours.onDemand).toBeGreaterThan(0);
    expect(s?.cloud.nodeHours.spot).toBe(0);
    expect(s?.cloud.peakNodes).toBeLessThanOrEqual(4);
    expect(s?.actions.drainsRequested).toBeGreaterThan(0);
    expect(s?.actions.instancesTerminated).toBe(s?.cloud.instancesLaunched);
  }, 120_000);

  it('spot-heavy sees interruptions and replaces the nodes', async () => {
    const { summary: s } = await simulateExample('spot-heavy.json');
    expect(s?.faults.spotInterruptions).toBeGreaterThan(5);
    expect(s?.cloud.instancesLaunched).toBeGreaterThan(s?.cloud.peakNodes ?? 0);
    expect(s?.cloud.nodeHours.onDemand).toBe(0);
  }, 120_000);

  it('capacity-errors falls back to other offerings', async () => {
    const { summary: s } = await simulateExample('capacity-errors.json');
    expect(s?.actions.capacityFallbacks).toBeGreaterThan(0);
    expect(Object.keys(s?.cloud.launchesByOffering ?? {})).not.toContain('t4g.medium/spot');
  }, 120_000);

  it('tailscale-outage replaces no node (meltdown protection)', async () => {
    const { summary: s } = await simulateExample('tailscale-outage.json');
    expect(s?.faults.tailscaleOutages).toBe(1);
    expect(s?.cloud.peakNodes).toBeGreaterThan(1);
    expect(s?.actions.terminationsRequested).toBe(0);
    expect(s?.actions.drainsRequested).toBe(0);
  }, 120_000);

  it('misconfigured.json fails with exit code 2, naming the file, each field and the fix', async () => {
    const r = await simulateExample('misconfigured.json');
    expect(r.code).toBe(2);
    expect(r.summary).toBeUndefined();
    expect(r.out).toBe('');
    expect(r.err).toContain(join(scenariosDir, 'misconfigured.json'));
    expect(r.err).toContain(
      '$.workloads[0].at: expected a UTC clock time "HH:MM" such as "10:00" (got "25:00")',
    );
    expect(r.err).toContain('$.config.limits.maxNode: unknown field — did you mean "maxNodes"?');
    expect(r.err).toContain(
      '$.config.nodes.candidateTypes[0]: unknown instance type — did you mean "m7g.large"?',
    );
  });
});
