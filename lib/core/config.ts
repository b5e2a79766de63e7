import { CronExpressionParser } from 'cron-parser';
import { type Config, validateConfig } from '../events/index.js';

/**
 * Parse a config (as read from JSON) into a `Config` with every default applied. This is
 * the one validator of lib/events (`validateConfig`): strict fields, cron fields in range,
 * candidate types in the catalog, the size/depth guard. Kept under this name for the
 * callers in lib/cli, lib/ops and lib/sim.
 *
 * @param raw the parsed JSON
 * @param what how to name the input in the error, e.g. the file path
 * @throws ConfigError (a ValidationError) listing every bad field with its JSON path, the value and the fix
 */
export function loadConfig(raw: unknown, what: string): Config {
  return validateConfig(raw, what);
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
