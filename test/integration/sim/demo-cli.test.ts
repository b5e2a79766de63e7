import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, shortPath } from '../../../lib/cli/demo.js';
import { fakeIo, root, tmpDir } from './helpers.js';

describe('k3s-burst demo', () => {
  it('simulates the built-in day, prints summary and charts, writes the report and points at files that exist', async () => {
    const io = fakeIo(root);
    const out = tmpDir();
    const code = await run(['--out', out], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    expect(io.out).toMatch(/^k3s-burst demo: A 3-Pi K3s cluster/);
    expect(io.out).toMatch(/Scenario "default" \(seed 1\), cluster pi-lab/);
    expect(io.out).toMatch(/Invariants +I1–I11 held at every step/);
    // The terminal charts: a title with the max, an axis with UTC hours.
    expect(io.out).toMatch(/Pending pods \(max \d+\)/);
    expect(io.out).toMatch(/Cloud nodes \(EC2 instances\) \(max [1-6]\)/);
    expect(io.out).toContain('00:00    03:00    06:00    09:00');

    // The final lines name files that exist.
    const tail = io.out.trimEnd().split('\n').slice(-5);
    expect(tail[0]).toMatch(/^Simulated 24 h \(three times\) in \d+\.\d\d s\. Times are UTC\.$/);
    // The same day with a pre-baked image and with a warm pool, side by side: burst pods wait
    // less with each.
    const waits = [
      ...io.out.matchAll(/node Ready ~(\d+)s after (?:launch|start) +burst wait p50 ([\d.]+) (s|min)/g),
    ].map((m) => Number(m[2]) * (m[3] === 'min' ? 60 : 1));
    expect(io.out).toMatch(/ {2}stock image +node Ready ~85s after launch/);
    expect(io.out).toMatch(/ {2}prebaked image \(k3s-burst bake\) +node Ready ~36s after launch/);
    expect(io.out).toMatch(/ {2}prebaked \+ warm pool \(by day\) +node Ready ~19s after start/);
    expect(io.out).toMatch(
      /\(warm pool: 4 stopped c7g\.2xlarge by day; [1-9]\d* started, [1-9]\d* launched to park;/,
    );
    expect(waits).toHaveLength(3);
    expect(waits[1]).toBeLessThan(waits[0] as number);
    expect(waits[2]).toBeLessThan(waits[1] as number);
    const report = tail[1]?.replace('Open the report: ', '') ?? '';
    const summary = tail[2]?.replace(/^Summary: +/, '') ?? '';
    const readme = tail[3]?.replace(/^More scenarios: +/, '') ?? '';
    const tryOne = tail[4]?.match(/^Try one: +k3s-burst simulate --scenario (\S+)/)?.[1] ?? '';
    expect(report).toBe(join(out, 'report.html'));
    expect(summary).toBe(join(out, 'summary.json'));
    for (const f of [report, summary, readme, tryOne]) {
      expect(existsSync(isAbsolute(f) ? f : join(root, f)), f).toBe(true);
    }

    // The outcome the README quotes: a burst onto the cloud at 10:00, back to zero at night.
    const s = JSON.parse(readFileSync(summary, 'utf8'));
    expect(s.invariants.violations).toEqual([]);
    expect(s.cloud.peakNodes).toBeGreaterThan(0);
    expect(s.cloud.peakNodes).toBeLessThanOrEqual(6);
    expect(s.cloud.instancesLaunched).toBe(s.actions.instancesTerminated);
    expect(s.pods.capacityWait.count).toBeGreaterThan(0);
    expect(s.pods.pendingAtEnd).toBe(0);
  }, 120_000);

  it('prints paths relative to the working directory only when inside the package', () => {
    expect(shortPath('/work/pkg', '/work/pkg/examples/scenarios/')).toBe(`examples${sep}scenarios${sep}`);
    expect(shortPath('/home/me', '/work/pkg/examples/scenarios/')).toBe('/work/pkg/examples/scenarios/');
    expect(shortPath('/work/pkg/examples/scenarios', '/work/pkg/examples/scenarios/')).toBe(
      '/work/pkg/examples/scenarios/',
    );
  });

  it('exits 2 on bad options', async () => {
    for (const argv of [['--seed', 'x'], ['--frobnicate']]) {
      const io = fakeIo(root);
      expect(await run(argv, io)).toBe(2);
      expect(io.err).toContain('Usage: k3s-burst demo');
    }
  });
});
