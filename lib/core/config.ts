import { CronExpressionParser } from 'cron-parser';
import { Config, type FieldProblem, parseOrThrow, ValidationError } from '../events/index.js';
import { buildCatalog } from './catalog.js';

/**
 * Parse a config (as read from JSON) into a `Config` with every default applied, and check
 * what the schema alone cannot: each schedule's cron parses as a five-field expression in its
 * time zone, and every candidate type is in the catalog (built-in or `config.catalog`).
 *
 * @param raw the parsed JSON
 * @param what how to name the input in the error, e.g. the file path
 * @throws ValidationError listing every bad field with its JSON path, the value and the fix
 */
export function loadConfig(raw: unknown, what: string): Config {
  const config = parseOrThrow(Config, raw, what);
  const problems: FieldProblem[] = [];
  config.schedules.forEach((s, i) => {
    const problem = cronProblem(s.cron, s.timezone);
    if (problem) {
      problems.push({ path: `$.schedules[${i}].cron`, message: problem, received: JSON.stringify(s.cron) });
    }
  });
  const catalog = buildCatalog(config);
  config.nodes.candidateTypes.forEach((t, i) => {
    if (!catalog.get(t)) {
      problems.push({
        path: `$.nodes.candidateTypes[${i}]`,
        message:
          'unknown instance type: add it to "catalog" with vcpu, memoryMiB, arch and onDemandHourlyUsd, or use a built-in type such as "m7g.large"',
        received: JSON.stringify(t),
      });
    }
  });
  if (problems.length > 0) throw new ValidationError(what, problems);
  return config;
}

/**
 * Why a cron expression is unusable, or undefined when it is fine. Five fields only: the
 * infra turns it into an EventBridge Scheduler expression, which has no seconds field.
 */
export function cronProblem(cron: string, timezone: string): string | undefined {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `expected five fields "minute hour day-of-month month day-of-week" such as "0 7 * * 1-5", found ${fields.length}`;
  }
  try {
    const expr = CronExpressionParser.parse(cron, { tz: timezone, currentDate: 0, strict: false });
    expr.next();
  } catch (err) {
    return `not a valid cron expression: ${(err as Error).message}; expected e.g. "0 7 * * 1-5"`;
  }
  return undefined;
}
