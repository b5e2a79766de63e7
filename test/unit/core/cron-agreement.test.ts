/**
 * The config validator's cron check (lib/events/config-cron.ts) must never admit an
 * expression that a consumer then refuses: the planner's cron-parser (schedule evaluation)
 * and the CDK app's conversion to an EventBridge Scheduler expression. Generated from the
 * field grammar, including out-of-range numbers, names, steps, ranges and lists.
 */
import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCron } from '../../../lib/events/index.js';
import { toSchedulerCron } from '../../../lib/infra/scheduler-cron.js';

const RUNS = { numRuns: 1000, seed: 20261206, endOnFailure: true } as const;

function field(max: number, names: readonly string[] = []): fc.Arbitrary<string> {
  const atom = fc.oneof(
    fc.integer({ min: 0, max: max + 2 }).map(String),
    ...(names.length ? [fc.constantFrom(...names)] : []),
  );
  const item = fc.oneof(
    { weight: 4, arbitrary: atom },
    { weight: 2, arbitrary: fc.tuple(atom, atom).map(([a, b]) => `${a}-${b}`) },
    { weight: 1, arbitrary: fc.tuple(atom, fc.integer({ min: 0, max: 12 })).map(([a, s]) => `${a}/${s}`) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 12 }).map((s) => `*/${s}`) },
  );
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('*', '?') },
    { weight: 5, arbitrary: fc.array(item, { minLength: 1, maxLength: 2 }).map((items) => items.join(',')) },
  );
}

const cron = fc
  .tuple(field(59), field(23), field(31), field(12, ['JAN', 'feb', 'Dec']), field(7, ['MON', 'fri', 'SUN']))
  .map((f) => f.join(' '));

describe('cron check agrees with its consumers', () => {
  it('every expression the validator accepts parses in cron-parser and converts for Scheduler', () => {
    let accepted = 0;
    fc.assert(
      fc.property(cron, fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'), (expr, tz) => {
        if (!checkCron(expr).ok) return;
        accepted++;
        const parsed = CronExpressionParser.parse(expr, { tz, currentDate: 0, strict: false });
        expect(parsed.next().getTime()).toBeGreaterThan(0);
        expect(toSchedulerCron(expr)).toMatch(/^cron\(/);
      }),
      RUNS,
    );
    expect(accepted).toBeGreaterThan(50);
  });
});
