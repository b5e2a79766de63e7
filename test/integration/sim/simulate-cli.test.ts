import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../lib/cli/simulate.js';
import { fakeIo, smallScenario, tmpDir, writeScenario } from './helpers.js';

describe('k3s-burst simulate', () => {
  it('prints the summary, writes report.html and summary.json, exits 0', async () => {
    const dir = tmpDir();
    writeScenario(dir, smallScenario());
    const io = fakeIo(dir);
    const code = await run(['--scenario', 'scenario.json', '--seed', '3', '--out', 'out'], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    for (const line of [
      'Pods ',
      'Wait (all)',
      'Wait (burst)',
      'Cloud nodes',
      'Cost ',
      'Actions ',
      'Invariants ',
    ]) {
      expect(io.out).toContain(line);
    }
    expect(io.out).toMatch(/Scenario "small-burst" \(seed 3\)/);
    expect(io.out).toMatch(/p50 .* p95 .* max /);
    expect(io.out).toContain(`Report:  ${join(dir, 'out', 'report.html')}`);
    expect(io.out).toContain(`Summary: ${join(dir, 'out', 'summary.json')}`);
    const html = readFileSync(join(dir, 'out', 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('data-series="pending-pods"');

    const s = JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8'));
    expect(Object.keys(s)).toEqual([
      'scenario',
      'seed',
      'cluster',
      'start',
      'end',
      'hours',
      'pods',
      'cloud',
      'warmPool',
      'actions',
      'faults',
      'snapshots',
      'invariants',
      'eventsProcessed',
      'truncated',
    ]);
    expect(s).toMatchObject({
      scenario: 'small-burst',
      seed: 3,
      cluster: 'pi-lab',
      hours: 1,
      truncated: false,
    });
    for (const w of [s.pods.wait, s.pods.capacityWait]) {
      expect(Object.keys(w)).toEqual(['count', 'p50Seconds', 'p95Seconds', 'maxSeconds']);
      expect(w.p50Seconds).toBeLessThanOrEqual(w.p95Seconds);
      expect(w.p95Seconds).toBeLessThanOrEqual(w.maxSeconds);
    }
    expect(s.pods.created).toBe(10);
    expect(s.cloud.peakNodes).toBeGreaterThan(0);
    expect(s.cloud.costUsd.total).toBeCloseTo(
      s.cloud.costUsd.spot + s.cloud.costUsd.onDemand + s.cloud.costUsd.volumes,
      3,
    );
    expect(s.cloud.nodeHours.total).toBeGreaterThan(0);
    expect(s.invariants.checked).toEqual([
      'I1',
      'I2',
      'I3',
      'I4',
      'I5',
      'I6',
      'I7',
      'I8',
      'I9',
      'I10',
      'I11',
    ]);
    expect(s.invariants.violations).toEqual([]);
    expect(s.actions.launchDecisions).toBeGreaterThan(0);
  });

  it('--json prints summary.json to stdout; --hours overrides the length', async () => {
    const dir = tmpDir();
    writeScenario(dir, smallScenario());
    const io = fakeIo(dir);
    const code = await run(['--scenario', 'scenario.json', '--json', '--hours', '0.5', '--out', 'o'], io);
    expect(code).toBe(0);
    const s = JSON.parse(io.out);
    expect(s.hours).toBe(0.5);
    expect(s.end).toBe('2026-03-16T08:30:00.000Z');
    expect(JSON.parse(readFileSync(join(dir, 'o', 'summary.json'), 'utf8'))).toEqual(s);
  });

  it('--startup picks the start-up profile: prebaked nodes are Ready sooner, so burst pods wait less', async () => {
    const dir = tmpDir();
    writeScenario(dir, smallScenario());
    const waitWith = async (startup: string) => {
      const io = fakeIo(dir);
      expect(
        await run(['--scenario', 'scenario.json', '--json', '--startup', startup, '--out', 'o'], io),
      ).toBe(0);
      return JSON.parse(io.out).pods.capacityWait;
    };
    const stock = await waitWith('stock');
    const prebaked = await waitWith('prebaked');
    expect(stock.count).toBeGreaterThan(0);
    expect(prebaked.p50Seconds).toBeLessThan(stock.p50Seconds - 30);
    const io = fakeIo(dir);
    expect(await run(['--scenario', 'scenario.json', '--startup', 'warm'], io)).toBe(2);
    expect(io.err).toContain('--startup must be stock or prebaked (got "warm")');
  });

  it('draws a progress bar on stderr only when stdout is a terminal', async () => {
    const dir = tmpDir();
    writeScenario(dir, smallScenario({ hours: 0.5 }));
    const tty = fakeIo(dir, true);
    expect(await run(['--scenario', 'scenario.json', '--out', 'a'], tty)).toBe(0);
    expect(tty.err).toMatch(/\r\[#+-*\] +\d+%/);
    expect(tty.err).toContain('100%');
    const pipe = fakeIo(dir, false);
    expect(await run(['--scenario', 'scenario.json', '--out', 'b'], pipe)).toBe(0);
    expect(pipe.err).toBe('');
    expect(pipe.out).not.toContain('\r');
  });

  it('exits 2 naming the scenario file and field for an invalid scenario', async () => {
    const dir = tmpDir();
    const path = writeScenario(dir, smallScenario({ hours: -3, onPrem: [] }));
    const io = fakeIo(dir);
    expect(await run(['--scenario', 'scenario.json'], io)).toBe(2);
    expect(io.err).toContain(`${path} is invalid`);
    expect(io.err).toContain('$.hours');
    expect(io.err).toContain('$.onPrem');
    expect(existsSync(join(dir, 'sim-out'))).toBe(false);
  });

  it('exits 2 naming the --config file and its field', async () => {
    const dir = tmpDir();
    writeScenario(dir, smallScenario());
    const bad = { ...(smallScenario().config as object), limits: { maxNodes: 'four' } };
    const cfg = writeScenario(dir, bad, 'cfg.json');
    const io = fakeIo(dir);
    expect(await run(['--scenario', 'scenario.json', '--config', 'cfg.json'], io)).toBe(2);
    expect(io.err).toContain(`${cfg} is invalid`);
    expect(io.err).toContain('$.limits.maxNodes');
  });

  it('exits 2 for a missing file, bad JSON and bad usage', async () => {
    const dir = tmpDir();
    let io = fakeIo(dir);
    expect(await run(['--scenario', 'nope.json'], io)).toBe(2);
    expect(io.err).toMatch(/cannot read .*nope\.json \(ENOENT\)/);

    writeFileSync(join(dir, 'broken.json'), '{ "name": ');
    io = fakeIo(dir);
    expect(await run(['--scenario', 'broken.json'], io)).toBe(2);
    expect(io.err).toMatch(/broken\.json is invalid:\n {2}\$: not valid JSON/);

    for (const argv of [
      [],
      ['--scenario'],
      ['--bogus'],
      ['--seed', '-1', '--scenario', 'x'],
      ['--hours', '0', '--chaos'],
      ['--chaos', '--workers', '0'],
      ['--chaos', '--workers', 'two'],
    ]) {
      io = fakeIo(dir);
      expect(await run(argv, io)).toBe(2);
      expect(io.err).toContain('Usage:');
    }
    io = fakeIo(dir);
    expect(await run(['--help'], io)).toBe(0);
    expect(io.out).toContain('--chaos');
    expect(io.out).toMatch(/--workers K +chaos: worker threads/);
  });

  it('--chaos --seeds N runs N seeds and exits 0 when every invariant holds', async () => {
    const io = fakeIo(tmpDir());
    const code = await run(
      ['--chaos', '--seeds', '3', '--from-seed', '5', '--hours', '0.5', '--workers', '2'],
      io,
    );
    expect(io.out).toMatch(/Chaos: 3 seeds \(5…7\), 0\.5 simulated hours each, in [\d.]+ s on 2 thread\(s\)/);
    expect(io.out).toContain('No invariant violations');
    expect(code).toBe(0);
    expect(io.err).toBe('');
  });

  it('--chaos shows a progress bar only on a terminal', async () => {
    const io = fakeIo(tmpDir(), true);
    expect(await run(['--chaos', '--seeds', '2', '--hours', '0.25', '--workers', '1'], io)).toBe(0);
    expect(io.err).toMatch(/\r\[#+-*\] +\d+% +seed \d/);
  });
});
