/**
 * Property tests of the one config validator over generated documents: random mutations of
 * valid configs (deleted, renamed, retyped and added fields at any depth), random JSON values
 * and random text. Whatever the input, the validator either returns a config or throws a
 * ConfigError naming `$…` paths (never a TypeError or RangeError), and every accepted config
 * is a fixed point: validating its JSON again gives the same config.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Config, ConfigError, parseConfigText, validateConfig } from '../../../lib/events/index.js';

const RUNS = { numRuns: 300, seed: 20261206, endOnFailure: true } as const;
const root = join(import.meta.dirname, '..', '..', '..');
const example: unknown = JSON.parse(readFileSync(join(root, 'examples', 'k3s-burst.config.json'), 'utf8'));

type Path = Array<string | number>;

/** Every path to an object member or array element of a document. */
function pathsOf(value: unknown, at: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries: Array<[string | number, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value as Record<string, unknown>);
  return entries.flatMap(([k, v]) => [[...at, k], ...pathsOf(v, [...at, k])]);
}

type Mutation =
  | { op: 'delete'; pick: number }
  | { op: 'set'; pick: number; value: unknown }
  | { op: 'rename'; pick: number; name: string }
  | { op: 'add'; pick: number; name: string; value: unknown };

const name = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('schedule', 'maxNode', 'cpuMili', 'timeZone', 'effect', 'key', '__proto__', 'constructor'),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({ op: fc.constant('rename' as const), pick: fc.nat(), name }),
  fc.record({ op: fc.constant('add' as const), pick: fc.nat(), name, value: fc.jsonValue({ maxDepth: 2 }) }),
);

function apply(doc: unknown, m: Mutation): unknown {
  const paths = pathsOf(doc);
  if (paths.length === 0) return doc;
  const path = paths[m.pick % paths.length] as Path;
  const parent = path
    .slice(0, -1)
    .reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], doc) as Record<
    string | number,
    unknown
  >;
  const key = path[path.length - 1] as string | number;
  if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (m.op === 'set') parent[key] = m.value;
  else if (m.op === 'rename' && !Array.isArray(parent)) {
    const v = parent[key];
    delete parent[key];
    Object.defineProperty(parent, m.name, { value: v, enumerable: true, writable: true, configurable: true });
  } else if (m.op === 'add') {
    const target = parent[key];
    if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
      Object.defineProperty(target, m.name, {
        value: m.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return doc;
}

/** Validate; return the config, or check the error is a ConfigError with `$` paths and return undefined. */
function outcome(fn: () => Config): Config | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.problems.length).toBeGreaterThan(0);
    for (const p of err.problems) expect(p.path).toMatch(/^\$/);
    return undefined;
  }
}

function expectFixedPoint(config: Config): void {
  const again = validateConfig(JSON.parse(JSON.stringify(config)), 'round trip');
  expect(again).toEqual(config);
}

describe('config validator properties', () => {
  it('on random mutations of the example config: a config or a ConfigError, and accepted configs round-trip', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        const doc = mutations.reduce((d, m) => apply(d, m), structuredClone(example));
        const config = outcome(() => validateConfig(doc, 'mutated'));
        if (config) {
          accepted++;
          expectFixedPoint(config);
        } else refused++;
      }),
      RUNS,
    );
    // Both outcomes occur, so the property is not vacuous either way.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it('on random JSON values and their text: never anything but a ConfigError', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        outcome(() => validateConfig(value, 'random'));
        outcome(() => parseConfigText(JSON.stringify(value) ?? 'null', 'random.json'));
      }),
      RUNS,
    );
  });

  it('on random text: never anything but a ConfigError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.nat({ max: 100_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
          fc.nat({ max: 40_000 }).map((n) => `{"nodes":{"labels":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}}`),
          fc.nat({ max: 100_000 }).map((n) => `{"schedules":${'['.repeat(n)}${']'.repeat(n)}}`),
        ),
        (text) => {
          outcome(() => parseConfigText(text, 'random.json'));
        },
      ),
      { ...RUNS, numRuns: 100 },
    );
  });

  it('accepts the example config and every scenario config in examples/, each a fixed point', () => {
    const configs: unknown[] = [example];
    const scenarios = join(root, 'examples', 'scenarios');
    for (const file of [
      'capacity-errors.json',
      'ci-burst.json',
      'nightly-batch.json',
      'spot-heavy.json',
      'tailscale-outage.json',
    ]) {
      const scenario = JSON.parse(readFileSync(join(scenarios, file), 'utf8')) as { config?: unknown };
      if (scenario.config !== undefined) configs.push(scenario.config);
    }
    expect(configs.length).toBeGreaterThan(1);
    for (const c of configs) expectFixedPoint(validateConfig(c, 'example'));
  });
});
