import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/core/index.js';
import { ValidationError } from '../../../lib/events/index.js';
import { DEFAULT_CONFIG, DEFAULT_SCENARIO } from '../../../lib/sim/defaults.js';
import { loadScenarioAndConfig, resolveConfig } from '../../../lib/sim/run.js';
import {
  clockMinutes,
  loadScenarioFile,
  parseScenario,
  type ScenarioInput,
  STARTUP_PROFILES,
  scenarioJsonSchema,
  withStartup,
} from '../../../lib/sim/scenario.js';

const root = join(import.meta.dirname, '..', '..', '..');

const minimal: ScenarioInput = {
  name: 'tiny',
  onPrem: [{ name: 'pi-1', cpuMilli: 4000, memoryMiB: 7800 }],
};

function problemsOf(fn: () => unknown): { message: string; paths: string[] } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError)
      return { message: err.message, paths: err.problems.map((p) => p.path) };
    throw err;
  }
  throw new Error('expected a ValidationError');
}

function tmpFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sim-scenario-'));
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('scenario parsing', () => {
  it('fills defaults for a minimal scenario', () => {
    const s = parseScenario(minimal, 'tiny.json');
    expect(s.hours).toBe(24);
    expect(s.workloads).toEqual([]);
    expect(s.cloud.zones).toEqual(['a', 'b']);
    expect(s.faults.delivery.dropProbability).toBe(0);
    expect(s.onPrem[0]?.maxPods).toBe(110);
  });

  it('names the file and each bad field with its JSON path', () => {
    const { message, paths } = problemsOf(() =>
      parseScenario(
        {
          ...minimal,
          hours: -1,
          workloads: [
            {
              kind: 'burst',
              name: 'ci',
              at: '24:10',
              pods: 3,
              cpuMilli: 1000,
              memoryMiB: 512,
              duration: { medianSeconds: 60 },
            },
          ],
        },
        'my-scenario.json',
      ),
    );
    expect(message).toContain('my-scenario.json is invalid');
    expect(paths).toEqual(expect.arrayContaining(['$.hours', '$.workloads[0].at']));
    // The clock-time message says what to write instead.
    expect(message).toMatch(
      /\$\.workloads\[0\]\.at: expected a UTC clock time "HH:MM" such as "10:00" \(got "24:10"\)/,
    );
  });

  it('rejects unknown fields (typos) and unknown workload kinds, naming the field', () => {
    expect(problemsOf(() => parseScenario({ ...minimal, onprem: [] }, 'x.json')).paths).toContain('$');
    const typo = problemsOf(() =>
      parseScenario({ ...minimal, faults: { spotInterruptionPerNodeHour: 1 } }, 'x.json'),
    );
    expect(typo.message).toContain('spotInterruptionPerNodeHour');
    expect(typo.paths[0]).toMatch(/^\$\.faults/);
    const kind = problemsOf(() =>
      parseScenario({ ...minimal, workloads: [{ kind: 'cron', name: 'x' }] }, 'x.json'),
    );
    expect(kind.paths[0]).toMatch(/^\$\.workloads\[0\]/);
  });

  it('requires at least one on-prem node', () => {
    const { paths } = problemsOf(() => parseScenario({ name: 'empty', onPrem: [] }, 'x.json'));
    expect(paths).toEqual(['$.onPrem']);
  });

  it('reports a JSON syntax error as a problem at $ of the named file', () => {
    const path = tmpFile('broken.json', '{ "name": "x", ');
    const { message, paths } = problemsOf(() => loadScenarioFile(path));
    expect(message).toContain(path);
    expect(message).toMatch(/not valid JSON/);
    expect(paths).toEqual(['$']);
  });

  it('lists scenario and inline-config problems together, config paths under $.config', () => {
    const path = join(root, 'examples', 'scenarios', 'misconfigured.json');
    const { message, paths } = problemsOf(() => loadScenarioAndConfig(path));
    expect(message).toContain(path);
    expect(paths).toEqual(expect.arrayContaining(['$.workloads[0].at', '$.config.limits.maxNode']));
    expect(message).toContain('$.config.limits.maxNode: unknown field — did you mean "maxNodes"?');
  });

  it('names the config file when --config is invalid, and $.config for a bad inline config', () => {
    const scenario = parseScenario(minimal, 'tiny.json');
    const bad = { ...DEFAULT_CONFIG, limits: { ...DEFAULT_CONFIG.limits, maxNodes: -2 } };
    const fromFile = problemsOf(() =>
      resolveConfig(scenario, 'tiny.json', { raw: bad, path: '/x/cfg.json' }),
    );
    expect(fromFile.message).toContain('/x/cfg.json');
    expect(fromFile.paths).toContain('$.limits.maxNodes');
    const inline = parseScenario({ ...minimal, config: bad }, 'tiny.json');
    const fromInline = problemsOf(() => resolveConfig(inline, 'tiny.json'));
    expect(fromInline.message).toContain('tiny.json');
    expect(fromInline.paths).toContain('$.config.limits.maxNodes');
  });

  it('uses --config over the inline config over the built-in config', () => {
    const inlineCfg = { ...DEFAULT_CONFIG, schedules: [], limits: { ...DEFAULT_CONFIG.limits, maxNodes: 2 } };
    const fileCfg = { ...DEFAULT_CONFIG, schedules: [], limits: { ...DEFAULT_CONFIG.limits, maxNodes: 3 } };
    const inline = parseScenario({ ...minimal, config: inlineCfg }, 's.json');
    expect(resolveConfig(inline, 's.json', { raw: fileCfg, path: 'c.json' }).config.limits.maxNodes).toBe(3);
    expect(resolveConfig(inline, 's.json').config.limits.maxNodes).toBe(2);
    expect(resolveConfig(parseScenario(minimal, 's.json'), 's.json').config.limits.maxNodes).toBe(
      DEFAULT_CONFIG.limits?.maxNodes,
    );
  });

  it('the embedded demo config is the same as examples/k3s-burst.config.json', () => {
    const { $schema: _schema, ...example } = JSON.parse(
      readFileSync(join(root, 'examples', 'k3s-burst.config.json'), 'utf8'),
    );
    expect(loadConfig(DEFAULT_CONFIG, 'embedded')).toEqual(loadConfig(example, 'example'));
  });

  it('the embedded demo scenario is valid', () => {
    const s = parseScenario(DEFAULT_SCENARIO, 'default');
    expect(s.hours).toBe(24);
    expect(s.workloads.some((w) => w.kind === 'burst' && w.at === '10:00')).toBe(true);
  });

  it('exports a JSON Schema for editors', () => {
    const schema = scenarioJsonSchema() as { type?: string; properties?: Record<string, unknown> };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties ?? {})).toEqual(
      expect.arrayContaining(['name', 'onPrem', 'workloads', 'faults', 'cloud', 'config']),
    );
  });

  it('clockMinutes converts HH:MM', () => {
    expect(clockMinutes('00:00')).toBe(0);
    expect(clockMinutes('10:30')).toBe(630);
    expect(clockMinutes('23:59')).toBe(1439);
  });
});

describe('start-up profiles', () => {
  it('fill boot and join from cloud.startup unless the scenario gives them', () => {
    expect(parseScenario(minimal, 't').cloud).toMatchObject({ startup: 'stock', ...STARTUP_PROFILES.stock });
    const pre = parseScenario({ ...minimal, cloud: { startup: 'prebaked' } }, 't').cloud;
    expect(pre).toMatchObject(STARTUP_PROFILES.prebaked);
    const own = parseScenario(
      { ...minimal, cloud: { startup: 'prebaked', join: { medianSeconds: 90, sigma: 0.1 } } },
      't',
    );
    expect(own.cloud.boot).toEqual(STARTUP_PROFILES.prebaked.boot);
    expect(own.cloud.join).toEqual({ medianSeconds: 90, sigma: 0.1 });
    expect(withStartup(own, 'stock').cloud).toMatchObject({ startup: 'stock', ...STARTUP_PROFILES.stock });
    expect(problemsOf(() => parseScenario({ ...minimal, cloud: { startup: 'warm' } }, 't')).paths).toEqual([
      '$.cloud.startup',
    ]);
  });

  it('are the figures examples/scenarios/README.md gives', () => {
    const readme = readFileSync(join(root, 'examples', 'scenarios', 'README.md'), 'utf8');
    for (const [name, p] of Object.entries(STARTUP_PROFILES)) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${name}\``)) ?? '';
      const cells = row.split('|').map((c) => c.trim());
      expect(cells[3], name).toBe(`${p.boot.medianSeconds} s, ${p.boot.sigma}`);
      expect(cells[4], name).toBe(`${p.join.medianSeconds} s, ${p.join.sigma}`);
      expect(cells[5], name).toBe(`~${p.boot.medianSeconds + p.join.medianSeconds} s`);
    }
  });
});
