/**
 * The Lambda environment as one zod schema: the CDK stack writes every function's
 * environment from {@link LambdaEnvInput} (so a variable the runtime needs cannot be left out
 * at compile time) and checks its literal values with {@link lambdaEnvProblems}; the runtime
 * (`lambdas/runtime.ts`) reads `process.env` with {@link parseLambdaEnv}. A variable added
 * here is therefore written by the stack and read by the runtime, or neither compiles.
 *
 * Values are never echoed in a problem (a secret pasted into the wrong variable must not
 * reach a log): a problem says what was expected and how many characters were received.
 */
import * as z from 'zod';
import { ssmParameterNameProblem } from './config-rules.js';

/** Who sets a variable: the stack (every deployed function), Lambda itself, or tests only. */
export type LambdaEnvSource = 'stack' | 'lambda' | 'tests';

const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$/;
const SUBNET_LIST = /^subnet-[0-9a-f]{8,17}(,subnet-[0-9a-f]{8,17})*$/;

/** What was expected: a phrase, or a function of the value saying what is wrong with it. */
type Expected = string | ((value: string) => string);

function malformed(expected: Expected): (issue: { input?: unknown }) => string {
  return (issue) => {
    const value = typeof issue.input === 'string' ? issue.input.trim() : '';
    const what = typeof expected === 'string' ? `expected ${expected}` : expected(value);
    return `is malformed (${what}; got ${value.length} chars)`;
  };
}

/** The SSM naming rule's own explanation (it names the rule and an example, never the value). */
const ssmName: Expected = (v) => ssmParameterNameProblem(v) ?? 'expected an SSM parameter name';

const notSet = (issue: { input?: unknown }) => (issue.input === undefined ? 'is not set' : 'is not a string');

/** A variable that must be set and, when `test` is given, pass it. */
function required(expected?: Expected, test?: (value: string) => boolean) {
  const base = z.string({ error: notSet }).trim().min(1, { error: 'is not set', abort: true });
  return test && expected ? base.refine(test, { error: malformed(expected) }) : base;
}

/** A variable that may be absent or empty (both read as `''`) and otherwise must pass `test`. */
function optional(expected: Expected, test: (value: string) => boolean) {
  return z
    .string({ error: notSet })
    .trim()
    .refine((v) => v === '' || test(v), { error: malformed(expected) })
    .optional()
    .transform((v) => v ?? '');
}

/** What each variable holds and who sets it (the TSDoc of the contract, also for docs). */
export const LAMBDA_ENV_SOURCES = {
  CLUSTER_NAME: 'stack',
  CONFIG_JSON: 'stack',
  EVENT_BUS_NAME: 'stack',
  TABLE_NAME: 'stack',
  COMMAND_QUEUE_URL: 'stack',
  TAILSCALE_OAUTH_SECRET_ARN: 'stack',
  K3S_JOIN_TOKEN_SECRET_ARN: 'stack',
  LAUNCH_TEMPLATE_ID: 'stack',
  SUBNET_IDS: 'stack',
  SECURITY_GROUP_ID: 'stack',
  INSTANCE_PROFILE_ARN: 'stack',
  AMI_PARAMETER_ARM64: 'stack',
  AMI_PARAMETER_AMD64: 'stack',
  POWERTOOLS_SERVICE_NAME: 'stack',
  POWERTOOLS_METRICS_NAMESPACE: 'stack',
  NODE_OPTIONS: 'stack',
  AWS_REGION: 'lambda',
  TAILSCALE_API_URL: 'tests',
} as const satisfies Record<string, LambdaEnvSource>;

/** Name of a Lambda environment variable. */
export type LambdaEnvName = keyof typeof LAMBDA_ENV_SOURCES;

/**
 * The Lambda environment. Input side: the strings the stack writes; output side: what the
 * runtime reads (trimmed, optional ones defaulted to `''`, SUBNET_IDS split). CONFIG_JSON is
 * checked here as a string only: `validateConfig` (the one config validator) parses it.
 */
export const LambdaEnv = z.object({
  /** The cluster this deployment serves; must equal CONFIG_JSON's `cluster.name`. */
  CLUSTER_NAME: required(),
  /** The validated config, serialized by the stack (without `$schema`). */
  CONFIG_JSON: required(),
  EVENT_BUS_NAME: required(),
  TABLE_NAME: required('a DynamoDB table name', (v) => /^[A-Za-z0-9_.-]{3,255}$/.test(v)),
  /** The agent's command queue (the Lambdas send drain commands to it). */
  COMMAND_QUEUE_URL: optional('an SQS queue URL', (v) => /^https?:\/\//.test(v)),
  /** Absent with tailscale.auth federated (no OAuth client is stored); launch then exchanges an STS token. */
  TAILSCALE_OAUTH_SECRET_ARN: optional('a Secrets Manager ARN', (v) => ARN.test(v)),
  K3S_JOIN_TOKEN_SECRET_ARN: required('a Secrets Manager ARN', (v) => ARN.test(v)),
  /** Unused by the RunInstances fleet (it passes every launch parameter itself); kept for ops tools. */
  LAUNCH_TEMPLATE_ID: optional('lt-…', (v) => /^lt-[0-9a-f]{8,17}$/.test(v)),
  /** Subnets in zone-preference order, comma-separated. */
  SUBNET_IDS: required('subnet-… ids separated by commas', (v) => SUBNET_LIST.test(v)).transform((v) =>
    v.split(',').map((s) => s.trim()),
  ),
  SECURITY_GROUP_ID: required('sg-…', (v) => /^sg-[0-9a-f]{8,17}$/.test(v)),
  INSTANCE_PROFILE_ARN: optional('an instance profile ARN', (v) => ARN.test(v)),
  /** Overrides of `nodes.amiSsmParameters` (the stack writes the config's values). */
  AMI_PARAMETER_ARM64: optional(ssmName, (v) => ssmParameterNameProblem(v) === undefined),
  AMI_PARAMETER_AMD64: optional(ssmName, (v) => ssmParameterNameProblem(v) === undefined),
  /** Read by Powertools Logger (service) and Metrics (namespace). */
  POWERTOOLS_SERVICE_NAME: optional('a service name', (v) => /^[A-Za-z0-9_.-]{1,64}$/.test(v)),
  POWERTOOLS_METRICS_NAMESPACE: optional('a CloudWatch namespace', (v) =>
    /^[A-Za-z0-9_.\-/#:]{1,255}$/.test(v),
  ),
  /** Node.js flags (source maps for stack traces). */
  NODE_OPTIONS: optional('Node.js flags', (v) => /^--[a-z]/.test(v)),
  /** Set by Lambda; the config's `cluster.region` otherwise. */
  AWS_REGION: optional('an AWS region', (v) => /^[a-z]{2}(-[a-z]+)+-\d$/.test(v)),
  /** Tailscale API base URL; tests point it at a local fake. Default: the public API. */
  TAILSCALE_API_URL: optional('https:// or http://127.0.0.1 (tests)', (v) =>
    /^(https:\/\/|http:\/\/127\.0\.0\.1[:/])/.test(v),
  ),
});

/** A variable the stack writes into every function's environment. */
export type LambdaStackVariable = {
  [K in LambdaEnvName]: (typeof LAMBDA_ENV_SOURCES)[K] extends 'stack' ? K : never;
}[LambdaEnvName];

/** The environment the stack writes: every `stack` variable, required (values may be CDK tokens). */
export type LambdaEnvInput = Record<LambdaStackVariable, string>;

/** The environment as the runtime reads it. */
export type LambdaEnvValues = z.output<typeof LambdaEnv>;

/** One variable that does not hold what the runtime needs. */
export interface LambdaEnvProblem {
  variable: LambdaEnvName;
  /** e.g. `is not set`, `is malformed (expected sg-…; got 7 chars)`. Never holds the value. */
  message: string;
}

function problemsOf(error: z.ZodError): LambdaEnvProblem[] {
  return error.issues.map((i) => ({
    variable: String(i.path[0]) as LambdaEnvName,
    message: i.message,
  }));
}

/**
 * Parse an environment (e.g. `process.env`); variables the contract does not name are
 * ignored (Lambda sets many). The first problem is reported by the caller, naming it.
 */
export function parseLambdaEnv(
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; value: LambdaEnvValues } | { ok: false; problems: LambdaEnvProblem[] } {
  const picked: Record<string, string | undefined> = {};
  for (const name of Object.keys(LAMBDA_ENV_SOURCES)) picked[name] = env[name];
  const r = LambdaEnv.safeParse(picked);
  return r.success ? { ok: true, value: r.data } : { ok: false, problems: problemsOf(r.error) };
}

/**
 * Problems of an environment the stack is about to write. Values the stack cannot know at
 * synth time (CDK tokens, resolved by CloudFormation) are skipped: `isUnresolved` says which.
 * The synthesized environment with those resolved is checked by a test.
 */
export function lambdaEnvProblems(
  env: LambdaEnvInput,
  isUnresolved: (value: string) => boolean,
): LambdaEnvProblem[] {
  const out: LambdaEnvProblem[] = [];
  const shape = LambdaEnv.shape as Record<string, z.ZodType>;
  for (const [name, value] of Object.entries(env) as Array<[string, string | undefined]>) {
    const schema = shape[name];
    if (!schema) {
      out.push({
        variable: name as LambdaEnvName,
        message: 'is not part of the Lambda environment contract',
      });
      continue;
    }
    if (value !== undefined && isUnresolved(value)) continue;
    const r = schema.safeParse(value);
    if (!r.success) out.push(...problemsOf(r.error).map((p) => ({ ...p, variable: name as LambdaEnvName })));
  }
  return out;
}
