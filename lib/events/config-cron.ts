/**
 * The five-field cron expressions of `schedules[].cron`, checked field by field so a mistake
 * names the field and its range (`hour 25 is out of range 0-23`), and expanded to sets so two
 * policies firing at the same minute can be found. The accepted language is the part of
 * Unix cron that both consumers understand: the planner (cron-parser) and EventBridge
 * Scheduler (after `toSchedulerCron`): numbers, month and day names, `*`, `?` (days only),
 * lists, ranges and steps. Scheduler cannot OR a day-of-month with a day-of-week, so
 * restricting both is refused here rather than at deploy time.
 */

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Value the names start at (months: JAN = 1; days: SUN = 0). */
  namesFrom?: number;
  allowsQuestionMark?: boolean;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31, allowsQuestionMark: true },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
    namesFrom: 1,
  },
  {
    name: 'day-of-week',
    min: 0,
    max: 7,
    names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
    namesFrom: 0,
    allowsQuestionMark: true,
  },
];

/** Longest cron expression accepted: five fields of lists fit easily. */
export const MAX_CRON_LENGTH = 200;

/** The times a cron expression matches, as sets per field (day-of-week 7 folded to 0). */
export interface CronSets {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  /** Undefined when day-of-month is `*` or `?` (every day, or decided by day-of-week). */
  daysOfMonth?: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** Undefined when day-of-week is `*` or `?`. */
  daysOfWeek?: ReadonlySet<number>;
}

export type CronCheck = { ok: true; sets: CronSets } | { ok: false; problem: string };

class CronFieldError extends Error {}

function atomValue(atom: string, spec: FieldSpec): number {
  const upper = atom.toUpperCase();
  const named = spec.names?.indexOf(upper) ?? -1;
  if (named >= 0) return named + (spec.namesFrom ?? 0);
  if (!/^\d{1,2}$/.test(atom)) {
    const names = spec.names ? ` or ${spec.names[0]}-${spec.names[spec.names.length - 1]}` : '';
    throw new CronFieldError(`${spec.name} "${atom}" is not a number ${spec.min}-${spec.max}${names}`);
  }
  const n = Number(atom);
  if (n < spec.min || n > spec.max) {
    throw new CronFieldError(`${spec.name} ${n} is out of range ${spec.min}-${spec.max}`);
  }
  return n;
}

function expandField(field: string, spec: FieldSpec): Set<number> | undefined {
  if (field === '*' || (field === '?' && spec.allowsQuestionMark)) return undefined;
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const m = /^([^/-]+)(?:-([^/]+))?(?:\/(\d{1,2}))?$/.exec(item);
    if (!m) {
      throw new CronFieldError(
        `${spec.name} "${item}" is not supported: use numbers${spec.names ? ' or names' : ''}, "*", "-", "/" and ","${spec.allowsQuestionMark ? ' (or "?" alone)' : ''}`,
      );
    }
    const [, from = '', to, stepText] = m;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw new CronFieldError(`${spec.name} step "/${stepText}" must be at least 1`);
    let start: number;
    let end: number;
    if (from === '*') {
      if (to !== undefined) throw new CronFieldError(`${spec.name} "${item}" is not supported`);
      start = spec.min;
      end = spec.max;
    } else {
      start = atomValue(from, spec);
      end = to === undefined ? (stepText === undefined ? start : spec.max) : atomValue(to, spec);
      if (end < start) {
        throw new CronFieldError(
          `${spec.name} range "${item}" runs backwards: write it as two ranges, e.g. "${from}-${spec.max},${spec.min}-${to}"`,
        );
      }
    }
    for (let v = start; v <= end; v += step) {
      const value = spec.name === 'day-of-week' ? v % 7 : v;
      // cron-parser (the planner) refuses a list that names a value twice.
      if (out.has(value)) {
        throw new CronFieldError(
          `${spec.name} "${field}" names ${value} more than once: list each value once`,
        );
      }
      out.add(value);
    }
  }
  return out;
}

/** Days in each month, February counted as 29 so a leap-day policy is allowed. */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function all(min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (let v = min; v <= max; v++) out.add(v);
  return out;
}

/**
 * Check a five-field cron expression (`minute hour day-of-month month day-of-week`). The
 * problem names the field, the value and the range or the fix; on success the expanded sets.
 */
export function checkCron(expression: string): CronCheck {
  if (expression.length > MAX_CRON_LENGTH) {
    return { ok: false, problem: `is longer than ${MAX_CRON_LENGTH} characters` };
  }
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    return {
      ok: false,
      problem: `expected five fields "minute hour day-of-month month day-of-week" such as "0 7 * * 1-5", found ${fields.length}`,
    };
  }
  const expanded: Array<Set<number> | undefined> = [];
  try {
    FIELDS.forEach((spec, i) => {
      expanded.push(expandField(fields[i] as string, spec));
    });
  } catch (err) {
    if (err instanceof CronFieldError) return { ok: false, problem: `${err.message}, e.g. "0 7 * * 1-5"` };
    throw err;
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = expanded;
  if (daysOfMonth && daysOfWeek) {
    return {
      ok: false,
      problem:
        'restricts both day-of-month and day-of-week, which EventBridge Scheduler cannot express: split it into two policies',
    };
  }
  const monthSet = months ?? all(1, 12);
  if (
    daysOfMonth &&
    ![...monthSet].some((m) => [...daysOfMonth].some((d) => d <= (DAYS_IN_MONTH[m - 1] ?? 0)))
  ) {
    return { ok: false, problem: 'never fires: no selected month has the selected day-of-month' };
  }
  return {
    ok: true,
    sets: {
      minutes: minutes ?? all(0, 59),
      hours: hours ?? all(0, 23),
      ...(daysOfMonth ? { daysOfMonth } : {}),
      months: monthSet,
      ...(daysOfWeek ? { daysOfWeek } : {}),
    },
  };
}

function meets(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  for (const v of a) if (b.has(v)) return true;
  return false;
}

/**
 * Whether two expressions in the same time zone fire at the same minute on some day. A
 * day-of-month and a day-of-week restriction always meet on some date over the years.
 */
export function cronsOverlap(a: CronSets, b: CronSets): boolean {
  if (!meets(a.minutes, b.minutes) || !meets(a.hours, b.hours) || !meets(a.months, b.months)) return false;
  if (a.daysOfMonth && b.daysOfMonth && !meets(a.daysOfMonth, b.daysOfMonth)) return false;
  if (a.daysOfWeek && b.daysOfWeek && !meets(a.daysOfWeek, b.daysOfWeek)) return false;
  return true;
}
