/**
 * THE config validator. Every entry point reads `k3s-burst.config.json` through it: `plan`,
 * `simulate`, `demo`, `status`, `doctor`, `pause`/`resume`, the CDK app (`cdk synth`), the
 * Lambdas (`CONFIG_JSON`). So a config is accepted or refused alike everywhere, with the
 * same message, before anything is deployed.
 *
 * Order and why:
 * 1. Size and depth guard (config-guard.ts) on the text or the parsed value, before anything
 *    recurses: a 100,000-level document is a config error, not a stack overflow.
 * 2. The strict schema (config.ts): unknown fields, types, ranges, the consumers' rules.
 * 3. The format: one line per problem, `$.path: message (got value)`; an unknown field names
 *    its full path and the closest known sibling ("did you mean `schedules`?"). Values of
 *    secret-looking fields are never printed.
 */
import * as z from 'zod';
import { Config } from './config.js';
import { configTextProblem, configValueProblem } from './config-guard.js';
import { closestName } from './config-suggest.js';
import { type FieldProblem, jsonPath, problemsFrom, ValidationError } from './errors.js';

/**
 * A config document that cannot be used. Extends ValidationError, so every caller that
 * reports invalid input files reports it the same way; CLI commands and `cdk synth` exit 2.
 */
export class ConfigError extends ValidationError {
  constructor(what: string, problems: FieldProblem[]) {
    super(what, problems);
    this.name = 'ConfigError';
  }
}

/** The exit code of every k3s-burst command (and the CDK app) for an unusable config. */
export const CONFIG_ERROR_EXIT_CODE = 2;

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
};

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Look through defaults, optionals and pipes to the schema that parses the value. */
function unwrap(schema: z.ZodType): z.ZodType {
  let cur = schema;
  for (let i = 0; i < 16; i++) {
    const def = defOf(cur);
    if (
      (def.type === 'default' ||
        def.type === 'optional' ||
        def.type === 'nullable' ||
        def.type === 'prefault') &&
      def.innerType
    )
      cur = def.innerType;
    else if (def.type === 'pipe' && def.in) cur = def.in;
    else break;
  }
  return cur;
}

/** The field names the schema knows for the object at `path`, or [] when it is not an object. */
export function knownFieldsAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let cur = unwrap(schema);
  for (const seg of path) {
    const def = defOf(cur);
    if (def.type === 'object' && def.shape && typeof seg === 'string' && def.shape[seg])
      cur = unwrap(def.shape[seg]);
    else if (def.type === 'array' && def.element && typeof seg === 'number') cur = unwrap(def.element);
    else if (def.type === 'record' && def.valueType) cur = unwrap(def.valueType);
    else return [];
  }
  const def = defOf(cur);
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function unknownFieldProblems(issue: z.core.$ZodIssueUnrecognizedKeys, schema: z.ZodType): FieldProblem[] {
  const known = knownFieldsAt(schema, issue.path).filter((k) => k !== '$schema');
  return issue.keys.map((key) => {
    const near = closestName(key, known);
    return {
      path: jsonPath([...issue.path, key]),
      // The key is named; its value is not (an unknown field is often a misplaced secret).
      message: near
        ? `unknown field — did you mean "${near}"?`
        : `unknown field: remove it (known fields here: ${known.map((k) => `"${k}"`).join(', ')})`,
    };
  });
}

const SECRETISH = /(secret|token|password|key)$/i;

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): { found: boolean; value?: unknown } {
  let cur: unknown = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return { found: false };
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return { found: true, value: cur };
}

/**
 * Custom rules name the rule, not always the value: add the value (short, scalars only),
 * unless the message already shows it or the field looks like a secret.
 */
function withReceived(problem: FieldProblem, issue: z.core.$ZodIssue, input: unknown): FieldProblem {
  if (problem.received !== undefined || issue.code !== 'custom') return problem;
  const last = issue.path[issue.path.length - 1];
  if (typeof last === 'string' && SECRETISH.test(last)) return problem;
  const at = valueAt(input, issue.path);
  if (!at.found || at.value === undefined || (typeof at.value === 'object' && at.value !== null))
    return problem;
  const text = JSON.stringify(at.value);
  const rendered = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  if (problem.message.includes(rendered)) return problem;
  return { ...problem, received: rendered };
}

/** Every problem of a failed parse, unknown fields first-class. */
function problemsOf(error: z.ZodError, input: unknown, schema: z.ZodType): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      out.push(...unknownFieldProblems(issue, schema));
      continue;
    }
    const [problem] = problemsFrom(new z.ZodError([issue]), input);
    if (problem) out.push(withReceived(problem, issue, input));
  }
  return out;
}

/**
 * Validate a parsed config document and apply every default.
 *
 * @param raw the parsed JSON (a file, a scenario's inline config, `CONFIG_JSON`)
 * @param what how to name the document in the error, e.g. the file path
 * @throws ConfigError listing every problem: JSON path, message with the fix, value received
 */
export function validateConfig(raw: unknown, what: string): Config {
  const guard = configValueProblem(raw);
  if (guard) throw new ConfigError(what, [guard]);
  const result = Config.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(what, problemsOf(result.error, raw, Config));
}

/**
 * Validate the text of a config file: size and depth first, then JSON syntax, then
 * {@link validateConfig}.
 *
 * @throws ConfigError for every kind of problem, naming `what`
 */
export function parseConfigText(text: string, what: string): Config {
  return validateConfig(parseConfigJson(text, what), what);
}

/**
 * The JSON of a config file, after the size and depth guard; not yet validated (for callers
 * that validate later, e.g. `simulate`, which reports config problems with the scenario's).
 *
 * @throws ConfigError when the text is too large, too deep or not JSON
 */
export function parseConfigJson(text: string, what: string): unknown {
  const guard = configTextProblem(text);
  if (guard) throw new ConfigError(what, [guard]);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(what, [{ path: '$', message: `not valid JSON (${(err as Error).message})` }]);
  }
}
