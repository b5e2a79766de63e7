import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Config, type FieldProblem, formatProblem, parseOrThrow, ValidationError } from '../events/index.js';
import { ConfigFileError, CronConversionError } from './errors.js';
import { toSchedulerCron } from './scheduler-cron.js';

/** CDK context key naming the config file. */
export const CONFIG_CONTEXT_KEY = 'k3s-burst:config';
/** The file looked for in the working directory when the context key is not set. */
export const DEFAULT_CONFIG_FILE = 'k3s-burst.config.json';
/** Used only when neither of the above exists, so `cdk synth` works in a fresh checkout. */
export const EXAMPLE_CONFIG_FILE = 'examples/k3s-burst.config.json';

/** Where the config came from, so the app can warn when it is the example. */
export interface ResolvedConfigPath {
  path: string;
  source: 'context' | 'working-directory' | 'example';
}

/**
 * Pick the config file: the `k3s-burst:config` context value if given (it must exist),
 * else `./k3s-burst.config.json`, else the example (the caller warns about that).
 */
export function resolveConfigPath(contextValue: unknown, cwd: string): ResolvedConfigPath {
  if (contextValue !== undefined && contextValue !== null && contextValue !== '') {
    if (typeof contextValue !== 'string') {
      throw new ConfigFileError(
        `context "${CONFIG_CONTEXT_KEY}" must be a file path (got ${JSON.stringify(contextValue)}): pass -c ${CONFIG_CONTEXT_KEY}=path/to/k3s-burst.config.json`,
      );
    }
    const path = resolve(cwd, contextValue);
    if (!existsSync(path)) {
      throw new ConfigFileError(
        `config file ${path} (from context "${CONFIG_CONTEXT_KEY}") does not exist: create it from ${EXAMPLE_CONFIG_FILE} or fix the path`,
      );
    }
    return { path, source: 'context' };
  }
  const local = resolve(cwd, DEFAULT_CONFIG_FILE);
  if (existsSync(local)) return { path: local, source: 'working-directory' };
  return { path: resolve(cwd, EXAMPLE_CONFIG_FILE), source: 'example' };
}

/**
 * Validate a config object as the stack needs it: the shared schema, plus what only
 * synthesis can check (cron expressions Scheduler can run, network ids usable without
 * lookups). Every problem names the field, the value and the fix.
 *
 * @throws ConfigFileError listing every problem
 */
export function validateStackConfig(input: unknown, what: string): Config {
  let config: Config | undefined;
  const problems: string[] = [];
  try {
    config = parseOrThrow(Config, input, what);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    problems.push(...err.problems.map((p) => formatProblem(withReceived(p, input))));
  }
  // The synth-only checks also run on an input the schema refused (best effort, on its
  // raw shape), so one run lists every problem.
  const raw = (config ?? input) as {
    schedules?: unknown;
    network?: { vpcId?: unknown; subnetIds?: unknown };
  } | null;
  const schedules = Array.isArray(raw?.schedules) ? (raw.schedules as unknown[]) : [];
  schedules.forEach((policy, i) => {
    const cron = (policy as { cron?: unknown } | null)?.cron;
    if (typeof cron !== 'string') return;
    try {
      toSchedulerCron(cron);
    } catch (err) {
      if (!(err instanceof CronConversionError)) throw err;
      const problem = formatProblem({
        path: `$.schedules[${i}].cron`,
        message: err.message,
        received: JSON.stringify(cron),
      });
      if (!problems.some((p) => p.startsWith(`$.schedules[${i}].cron:`))) problems.push(problem);
    }
  });
  const vpcId = raw?.network?.vpcId;
  const subnetIds = raw?.network?.subnetIds;
  if (vpcId && (!Array.isArray(subnetIds) || subnetIds.length === 0)) {
    problems.push(
      formatProblem({
        path: '$.network.subnetIds',
        message:
          'network.vpcId needs network.subnetIds: list the subnets (with a route to the internet) nodes may use; synth does no VPC lookups',
      }),
    );
  }
  if (problems.length > 0 || !config) {
    throw new ConfigFileError(`${what} is invalid:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  return config;
}

/**
 * Read, parse and validate the config file.
 *
 * @throws ConfigFileError when the file is unreadable, not JSON, or invalid
 */
export function loadStackConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigFileError(`config file ${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return validateStackConfig(raw, path);
}

const SECRET_FIELD = /(secret|token|password|key)$/i;

/**
 * Custom refinements of the shared schema (time zones, duplicates, cross-field rules) do
 * not always quote the value they refused; add it, read from the input by the problem's
 * JSON path, unless the message already shows it or the field looks like a secret.
 */
function withReceived(problem: FieldProblem, input: unknown): FieldProblem {
  if (problem.received !== undefined) return problem;
  const segments = [...problem.path.matchAll(/\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g)].map(
    (m) => (m[1] ?? (m[2] !== undefined ? Number(m[2]) : JSON.parse(`"${m[3]}"`))) as string | number,
  );
  const last = segments[segments.length - 1];
  if (typeof last === 'string' && SECRET_FIELD.test(last)) return problem;
  let cur: unknown = input;
  for (const seg of segments) {
    if (cur === null || typeof cur !== 'object' || !(seg in (cur as object))) return problem;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  if (cur === undefined || (typeof cur === 'object' && cur !== null && !Array.isArray(cur))) return problem;
  const text = JSON.stringify(cur);
  const rendered = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  if (problem.message.includes(rendered)) return problem;
  return { ...problem, received: rendered };
}
