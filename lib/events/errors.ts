import type { z } from 'zod';

/** Base error of the events module. */
export class EventsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventsError';
  }
}

/** One bad field of a file or event, with the value received and what was expected. */
export interface FieldProblem {
  /** JSON path such as `$.limits.maxNodes` or `$.schedules[0].cron`. */
  path: string;
  message: string;
  /** The value found at that path, rendered short; absent when the field is missing. */
  received?: string;
}

/** Thrown when a file or payload does not match its schema. The message lists every bad field. */
export class ValidationError extends EventsError {
  constructor(
    readonly what: string,
    readonly problems: FieldProblem[],
  ) {
    super(`${what} is invalid:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    this.name = 'ValidationError';
  }
}

export function formatProblem(p: FieldProblem): string {
  return `${p.path}: ${p.message}${p.received === undefined ? '' : ` (got ${p.received})`}`;
}

/** Render a zod path as a JSON path: `$.schedules[0].cron`. */
export function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '$';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$]*$/.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

const SECRETISH = /(secret|token|password|key)$/i;

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): { found: boolean; value?: unknown } {
  let cur: unknown = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return { found: false };
    const rec = cur as Record<PropertyKey, unknown>;
    if (!(seg in rec)) return { found: false };
    cur = rec[seg];
  }
  return { found: true, value: cur };
}

function render(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Turn a zod error into field problems, reading the received values from the input. Values of secret-looking fields are masked. */
export function problemsFrom(error: z.ZodError, input: unknown): FieldProblem[] {
  return error.issues.map((issue) => {
    const at = valueAt(input, issue.path);
    const last = issue.path[issue.path.length - 1];
    const secret = typeof last === 'string' && SECRETISH.test(last);
    if (issue.code === 'unrecognized_keys') {
      // Never echo the object: an unknown key is often a misplaced secret.
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return {
        path: jsonPath(issue.path),
        message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}: check the spelling against the schema`,
      };
    }
    const problem: FieldProblem = { path: jsonPath(issue.path), message: issue.message };
    // Custom refinements already state the values they compared.
    if (at.found && issue.code !== 'custom') problem.received = secret ? '<redacted>' : render(at.value);
    else if (issue.code === 'invalid_type')
      problem.message = `${issue.message.replace(/, received undefined$/, '')} (field is missing)`;
    return problem;
  });
}

/** Parse with a schema; throw a ValidationError naming `what` and every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(what, problemsFrom(result.error, input));
}
