/**
 * docs/comparison.md against the code: the start-up figures it quotes are the simulator's
 * profiles (lib/sim/scenario.ts), and every config default it quotes (`section.key` (N s) or
 * (N %)) is the default the config schema applies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/core/index.js';
import { Config } from '../../../lib/events/index.js';
import { DEFAULT_CONFIG, DEFAULT_SCENARIO, demoWarmPoolConfig } from '../../../lib/sim/defaults.js';
import { simulate } from '../../../lib/sim/engine.js';
import { parseScenario, STARTUP_PROFILES, withStartup } from '../../../lib/sim/scenario.js';

const root = join(import.meta.dirname, '..', '..', '..');
const doc = readFileSync(join(root, 'docs', 'comparison.md'), 'utf8');
const toReady = (p: { boot: { medianSeconds: number }; join: { medianSeconds: number } }) =>
  p.boot.medianSeconds + p.join.medianSeconds;

describe('docs/comparison.md', () => {
  it('quotes the launch → Ready medians of the simulator start-up profiles', () => {
    // Given the "How long a burst pod waits" table, one row per profile it lists
    const rows = doc
      .split('\n')
      .filter((l) => /^\| `[a-z]+` +\| ~\d+ s/.test(l))
      .map((l) => l.split('|').map((c) => c.trim()));
    const listed = rows.map((c) => (c[1] as string).replaceAll('`', ''));
    // Then stock and pre-baked are listed, every listed profile exists, and its figure is the profile's
    expect(listed).toEqual(expect.arrayContaining(['stock', 'prebaked', 'warm']));
    for (const cells of rows) {
      const name = (cells[1] as string).replaceAll('`', '') as keyof typeof STARTUP_PROFILES;
      const profile = STARTUP_PROFILES[name];
      expect(profile, `profile ${name}`).toBeDefined();
      expect(cells[2], name).toBe(`~${toReady(profile)} s`);
    }
    // And the comparison table's summary cell says the same
    expect(doc).toContain(
      `~${toReady(STARTUP_PROFILES.stock)} s on a stock image, ~${toReady(STARTUP_PROFILES.prebaked)} s on a pre-baked one, ~${toReady(STARTUP_PROFILES.warm)} s from a warm pool's stopped instance`,
    );
  });

  it('quotes the demo day burst wait with and without the warm pool (seed 1, as the bench)', async () => {
    const scenario = withStartup(parseScenario(DEFAULT_SCENARIO, 'demo'), 'prebaked');
    const p50 = async (config: Config) => {
      const w = [...(await simulate({ scenario, config, seed: 1 })).stats.capacityWaitsMs].sort(
        (a, b) => a - b,
      );
      return Math.round((w[Math.floor(w.length / 2)] ?? 0) / 1000);
    };
    const warm = await p50(loadConfig(demoWarmPoolConfig(), 'warm'));
    const prebaked = await p50(loadConfig(DEFAULT_CONFIG, 'example'));
    expect(doc.replaceAll('\n', ' ')).toContain(
      `burst pods wait about ${warm} s at the median (\`sim.burst-wait-p50-s.warm\`) against about ${prebaked} s without the pool`,
    );
  });

  it('quotes the config defaults the schema applies', () => {
    // Given the example config without the sections the page quotes, so they take their defaults
    const example = JSON.parse(readFileSync(join(root, 'examples', 'k3s-burst.config.json'), 'utf8'));
    for (const section of ['repairs', 'scaleIn', 'scaleOut']) delete example[section];
    const defaults = Config.parse(example) as unknown as Record<string, Record<string, unknown>>;
    const quoted = [...doc.matchAll(/`([a-zA-Z]+)\.([a-zA-Z]+)` \((\d+) (s|%)\)/g)];
    expect(quoted.length).toBeGreaterThanOrEqual(3);
    for (const [, section, key, value, unit] of quoted) {
      const actual = defaults[section as string]?.[key as string];
      const expected = unit === '%' ? Number(value) / 100 : Number(value);
      expect(actual, `${section}.${key}`).toBe(expected);
    }
  });
});
