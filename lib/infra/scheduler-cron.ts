import { CronConversionError } from './errors.js';

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

function isWildcard(field: string): boolean {
  return field === '*' || field === '?';
}

/** Parse a day-of-week atom (0-7 or SUN-SAT) to 0..6 with Sunday = 0. */
function unixDay(atom: string, expr: string): number {
  const upper = atom.toUpperCase();
  const named = DAY_NAMES.indexOf(upper as (typeof DAY_NAMES)[number]);
  if (named >= 0) return named;
  if (!/^\d$/.test(atom) || Number(atom) > 7) {
    throw new CronConversionError(
      `day-of-week "${atom}" in "${expr}" is not 0-7 or SUN-SAT: use e.g. "1-5" or "MON-FRI"`,
    );
  }
  return Number(atom) % 7;
}

/**
 * Unix day-of-week (0 or 7 = Sunday) → Scheduler day-of-week (1 = Sunday … 7 = Saturday).
 * Ranges and steps are expanded into an explicit list, so wrap-arounds such as `5-7`
 * (Fri–Sun) stay correct without relying on Scheduler range semantics.
 */
function convertDayOfWeek(field: string, expr: string): string {
  const days = new Set<number>();
  for (const item of field.split(',')) {
    const m = /^([^/-]+)(?:-([^/]+))?(?:\/(\d+))?$/.exec(item);
    if (!m) throw new CronConversionError(`day-of-week "${item}" in "${expr}" is not supported`);
    const [, from = '', to, stepText] = m;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw new CronConversionError(`step "/${stepText}" in "${expr}" must be ≥ 1`);
    let start: number;
    let end: number;
    if (from === '*') {
      start = 0;
      end = 6;
    } else {
      start = unixDay(from, expr);
      // `7` as a range end means Sunday at the end of the week, not day 0.
      end = to === undefined ? (stepText === undefined ? start : 6) : to === '7' ? 7 : unixDay(to, expr);
      if (end < start) end += 7;
    }
    for (let d = start; d <= end; d += step) days.add(d % 7);
  }
  return [...days]
    .map((d) => d + 1)
    .sort((a, b) => a - b)
    .join(',');
}

/** Scheduler accepts `0/15` but the documented form of an increment starts from a value. */
function convertStep(field: string, first: number): string {
  return field.replace(/^\*\//, `${first}/`).replace(/(^|,)\*\//g, `$1${first}/`);
}

function checkMonth(field: string, expr: string): string {
  for (const atom of field.split(/[,/-]/)) {
    if (atom === '*' || atom === '') continue;
    if (MONTH_NAMES.includes(atom.toUpperCase())) continue;
    if (!/^\d{1,2}$/.test(atom))
      throw new CronConversionError(`month "${atom}" in "${expr}" is not supported`);
  }
  return field.toUpperCase();
}

/**
 * Convert a five-field cron expression (`minute hour day-of-month month day-of-week`, as
 * in the config's capacity policies) to an EventBridge Scheduler expression
 * `cron(minutes hours day-of-month month day-of-week year)`.
 *
 * Scheduler differs from Unix cron in three ways handled here: it has a sixth `year`
 * field; one of day-of-month / day-of-week must be `?`; and day-of-week counts 1-7 from
 * Sunday instead of 0-6. Unix cron ORs a restricted day-of-month with a restricted
 * day-of-week; Scheduler cannot, so that combination is rejected with a fix.
 *
 * @throws CronConversionError when the expression cannot be converted
 */
export function toSchedulerCron(expression: string): string {
  const expr = expression.trim();
  const fields = expr.split(/\s+/);
  if (fields.length !== 5) {
    throw new CronConversionError(
      `cron "${expr}" must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`,
    );
  }
  const [minute = '', hour = '', dom = '', month = '', dow = ''] = fields;
  for (const [name, value] of [
    ['minute', minute],
    ['hour', hour],
    ['day-of-month', dom],
  ] as const) {
    if (!/^[\d*,/-]+$/.test(value) && !(name === 'day-of-month' && value === '?')) {
      throw new CronConversionError(
        `${name} "${value}" in "${expr}" is not supported: use digits, "*", ",", "-" or "/"`,
      );
    }
  }
  const domRestricted = !isWildcard(dom);
  const dowRestricted = !isWildcard(dow);
  if (domRestricted && dowRestricted) {
    throw new CronConversionError(
      `cron "${expr}" restricts both day-of-month and day-of-week, which EventBridge Scheduler cannot express: split it into two policies`,
    );
  }
  const outDom = domRestricted ? convertStep(dom, 1) : dowRestricted ? '?' : '*';
  const outDow = dowRestricted ? convertDayOfWeek(dow, expr) : '?';
  return `cron(${convertStep(minute, 0)} ${convertStep(hour, 0)} ${outDom} ${convertStep(checkMonth(month, expr), 1)} ${outDow} *)`;
}
