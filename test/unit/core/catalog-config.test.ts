import { describe, expect, it } from 'vitest';
import {
  buildCatalog,
  builtInInstanceSpecs,
  cronProblem,
  loadConfig,
  UnknownInstanceTypeError,
} from '../../../lib/core/index.js';
import { ValidationError } from '../../../lib/events/index.js';
import { makeConfig } from './fixtures.js';

const cluster = {
  name: 'pi-lab',
  region: 'eu-central-1',
  k3sServerUrl: 'https://100.64.5.11:6443',
  k3sVersion: 'v1.32.6+k3s1',
};

function rejection(raw: unknown): ValidationError {
  try {
    loadConfig(raw, 'k3s-burst.config.json');
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('buildCatalog', () => {
  it('covers the Graviton and x86 families the issue names, each with sane specs', () => {
    const families = new Set(builtInInstanceSpecs().map((s) => s.instanceType.split('.')[0]));
    for (const f of ['t4g', 'm7g', 'c7g', 'r7g', 'm6g', 'c6g', 't3', 'm7i', 'c7i'])
      expect(families).toContain(f);
    for (const s of builtInInstanceSpecs()) {
      expect(s.vcpu).toBeGreaterThan(0);
      expect(s.spotHourlyUsd).toBeLessThan(s.onDemandHourlyUsd);
      expect(s.arch).toBe(/^(t3|m7i|c7i)\./.test(s.instanceType) ? 'amd64' : 'arm64');
    }
  });

  it('prices a type per capacity type, spot at the default 60 % discount', () => {
    const catalog = buildCatalog(makeConfig());
    expect(catalog.get('m7g.large')).toMatchObject({ vcpu: 2, memoryMiB: 8192, arch: 'arm64', maxPods: 110 });
    expect(catalog.hourlyUsd('m7g.large', 'on-demand')).toBe(0.0952);
    expect(catalog.hourlyUsd('m7g.large', 'spot')).toBeCloseTo(0.0952 * 0.4, 4);
  });

  it('lets config.catalog add a type and override a built-in one', () => {
    const catalog = buildCatalog(
      makeConfig({
        catalog: [
          {
            instanceType: 'm8g.large',
            vcpu: 2,
            memoryMiB: 8192,
            arch: 'arm64',
            onDemandHourlyUsd: 0.1,
            spotDiscountFraction: 0.5,
          },
          {
            instanceType: 'm7g.large',
            vcpu: 2,
            memoryMiB: 8192,
            arch: 'arm64',
            onDemandHourlyUsd: 0.2,
            maxPods: 58,
          },
        ],
      }),
    );
    expect(catalog.hourlyUsd('m8g.large', 'spot')).toBe(0.05);
    expect(catalog.get('m7g.large')?.onDemandHourlyUsd).toBe(0.2);
    expect(catalog.get('m7g.large')?.maxPods).toBe(58);
    expect(catalog.list().map((s) => s.instanceType)).toContain('m8g.large');
  });

  it('lists types sorted by name and throws a helpful error for an unknown one', () => {
    const catalog = buildCatalog(makeConfig());
    const names = catalog.list().map((s) => s.instanceType);
    expect(names).toEqual([...names].sort());
    expect(() => catalog.hourlyUsd('x9.huge', 'spot')).toThrow(UnknownInstanceTypeError);
    expect(() => catalog.hourlyUsd('x9.huge', 'spot')).toThrow(/add it to config.catalog/);
  });
});

describe('loadConfig', () => {
  it('accepts a valid config and applies defaults', () => {
    const config = loadConfig({ cluster }, 'minimal.json');
    expect(config.scaleIn.emptyAfterSeconds).toBe(600);
    expect(config.nodes.candidateTypes.length).toBeGreaterThan(0);
  });

  it('names the JSON path, the value and the fix for a cron expression that does not parse', () => {
    const err = rejection({ cluster, schedules: [{ name: 'night', cron: '0 25 * * 1-5', maxNodes: 0 }] });
    expect(err.problems).toEqual([
      expect.objectContaining({
        path: '$.schedules[0].cron',
        received: '"0 25 * * 1-5"',
        message: expect.stringMatching(/^hour 25 is out of range 0-23, e\.g\. "0 7 \* \* 1-5"/),
      }),
    ]);
    expect(err.message).toMatch(/^k3s-burst.config.json is invalid/);
  });

  it('rejects a six-field cron (EventBridge Scheduler has no seconds field)', () => {
    const err = rejection({ cluster, schedules: [{ name: 'x', cron: '0 0 7 * * 1-5', maxNodes: 1 }] });
    expect(err.problems[0]?.message).toMatch(/expected five fields .* found 6/);
  });

  it('rejects a candidate type the catalog does not know and says how to add it', () => {
    const err = rejection({ cluster, nodes: { candidateTypes: ['m7g.large', 'x9.huge'] } });
    expect(err.problems).toEqual([
      expect.objectContaining({
        path: '$.nodes.candidateTypes[1]',
        received: '"x9.huge"',
        message: expect.stringMatching(/add it to "catalog"/),
      }),
    ]);
  });

  it('still reports schema problems with their paths before cron checks', () => {
    const err = rejection({ cluster, limits: { maxNodes: -1 } });
    expect(err.problems[0]?.path).toBe('$.limits.maxNodes');
  });

  it('cronProblem accepts day and month names and ranges in a time zone', () => {
    expect(cronProblem('30 6 * * mon-fri', 'Europe/Berlin')).toBeUndefined();
    expect(cronProblem('0 0 1 jan *', 'UTC')).toBeUndefined();
    expect(cronProblem('every monday', 'UTC')).toMatch(/five fields/);
    expect(cronProblem('not a cron at all', 'UTC')).toMatch(
      /not a valid cron expression: Invalid characters/,
    );
  });
});
