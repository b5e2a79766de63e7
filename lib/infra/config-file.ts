import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type Config,
  ConfigError,
  type FieldProblem,
  parseConfigText,
  tailscaleAuthProblems,
  validateConfig,
} from '../events/index.js';
import { userDataSizeProblems } from '../userdata/index.js';
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
 * Validate a config object with the one config validator (`validateConfig` of lib/events),
 * the same that `plan`, `simulate`, `doctor` and the Lambdas run, so synth refuses exactly
 * what they refuse with the same lines. Then the deploy-only checks: the Tailscale auth mode
 * has its fields, and every schedule's cron converts for EventBridge Scheduler (the validator
 * admits only expressions that convert, so a failure there is a bug between the two, reported
 * as a config problem rather than a half-built stack).
 *
 * @throws ConfigFileError with the validator's message (the CDK app exits 2 on it)
 */
export function validateStackConfig(input: unknown, what: string): Config {
  return schedulerReady(
    asConfigFileError(() => validateConfig(input, what)),
    what,
  );
}

/**
 * The deploy-only checks: every schedule's cron converts for EventBridge Scheduler, the
 * Tailscale auth mode has what it needs (federated: `tailscale.federatedClientId`; plan and
 * simulate run without it, a stack never deploys without it, see `tailscaleAuthProblems`), and
 * every node script the config makes EC2 run — the warm-mode one too when a warm pool is asked
 * for — fits EC2's 16 KB user-data limit, rendered by the launch's own renderer
 * (`userDataSizeProblems`), so a config never deploys only to fail every launch or pool fill.
 */
function schedulerReady(config: Config, what: string): Config {
  const problems: FieldProblem[] = [...tailscaleAuthProblems(config), ...userDataSizeProblems(config)];
  config.schedules.forEach((policy, i) => {
    try {
      toSchedulerCron(policy.cron);
    } catch (err) {
      if (!(err instanceof CronConversionError)) throw err;
      problems.push({
        path: `$.schedules[${i}].cron`,
        message: err.message,
        received: JSON.stringify(policy.cron),
      });
    }
  });
  if (problems.length > 0) {
    const err = new ConfigError(what, problems);
    throw new ConfigFileError(err.message, { cause: err });
  }
  return config;
}

/**
 * Read, check the size and depth of, parse and validate the config file.
 *
 * @throws ConfigFileError when the file is unreadable, too large or deep, not JSON, or invalid
 */
export function loadStackConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return schedulerReady(
    asConfigFileError(() => parseConfigText(text, path)),
    path,
  );
}

function asConfigFileError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigFileError(err.message, { cause: err });
    throw err;
  }
}
