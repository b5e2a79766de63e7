import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, type IFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type LambdaEnvInput, lambdaEnvProblems } from '../events/lambda-env.js';
import { ESBUILD_NODE_TARGET, LAMBDA_NODE_RUNTIME } from '../node-runtime.js';
import { InfraError } from './errors.js';

/** The five functions; each is `lambdas/<name>.ts` exporting `handler`. */
export const FUNCTION_NAMES = ['reconcile', 'launch', 'terminate', 'janitor', 'interruption'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * Modules the bundles leave to the Lambda runtime: none. What the functions use of the AWS SDK
 * is bundled (pinned by package-lock.json, tree-shaken, a few CJS deps call require(): see the
 * banner); EC2 goes through the small Query-protocol client in lib/aws/ec2-query.ts instead of
 * the SDK's 850 KB EC2 client (docs/adapters.md). Measured (test/bench/lambda.bench.ts): leaving
 * the SDK clients to the runtime instead made the cold import 3-4x slower (hundreds of files to
 * load); cold start is what users wait for. The bench bundles with this same list.
 */
export const LAMBDA_EXTERNAL_MODULES: readonly string[] = [];

/**
 * The CDK Runtime for lib/node-runtime.ts's major (`nodejs24.x`): the Lambdas run on the same
 * Node.js major as the tests, the bench and the agent image.
 */
export function lambdaNodeRuntime(): Runtime {
  const runtime = Runtime.ALL.find((r) => r.name === LAMBDA_NODE_RUNTIME);
  if (!runtime) {
    throw new InfraError(
      `aws-cdk-lib knows no Lambda runtime ${LAMBDA_NODE_RUNTIME} (NODE_MAJOR in lib/node-runtime.ts): upgrade aws-cdk-lib or set NODE_MAJOR to a major Lambda supports`,
    );
  }
  return runtime;
}

/** Sizing and async-invoke behaviour of one function. */
interface FunctionSpec {
  memoryMiB: number;
  timeout: Duration;
  /** Lambda's own async retries give up on events older than this. */
  maxEventAge: Duration;
  description: string;
}

const SPECS: Record<FunctionName, FunctionSpec> = {
  // Inflates snapshots of up to 500 nodes / 5,000 pending pods and plans: CPU scales with memory.
  reconcile: {
    memoryMiB: 512,
    timeout: Duration.seconds(60),
    maxEventAge: Duration.minutes(10),
    description: 'Decides: snapshot + fleet + config + time → plan',
  },
  launch: {
    memoryMiB: 256,
    timeout: Duration.seconds(90),
    maxEventAge: Duration.minutes(15),
    description: 'Mints a Tailscale auth key per node and launches EC2 capacity',
  },
  terminate: {
    memoryMiB: 256,
    timeout: Duration.seconds(60),
    maxEventAge: Duration.hours(6),
    description: 'Terminates one cluster-tagged instance and cleans its device and Node',
  },
  janitor: {
    memoryMiB: 256,
    timeout: Duration.seconds(120),
    maxEventAge: Duration.minutes(10),
    description: 'Removes orphan instances and stale Tailscale devices',
  },
  interruption: {
    memoryMiB: 256,
    timeout: Duration.seconds(30),
    maxEventAge: Duration.minutes(2),
    description: 'Reacts to spot interruption warnings and rebalance recommendations',
  },
};

/**
 * How function code is produced.
 * - `esbuild`: bundle `lambdas/<name>.ts` with esbuild (the deployable form).
 * - `none`: an inline stub that throws; for unit tests, which must not pay for esbuild
 *   five times per stack nor depend on the handler files existing. Never deploy it.
 */
export type FunctionCodeMode = 'esbuild' | 'none';

/** Props of {@link BurstFunctions}. */
export interface BurstFunctionsProps {
  readonly clusterName: string;
  /**
   * Environment of every function, by the one schema the runtime reads it with
   * (lib/events/lambda-env.ts); `NODE_OPTIONS` is added here. Literal values are checked
   * against the schema at synth (tokens are resolved by CloudFormation, checked by a test).
   */
  readonly environment: Readonly<Omit<LambdaEnvInput, 'NODE_OPTIONS'>>;
  /** Receives async invocations that failed after Lambda's retries. */
  readonly asyncDeadLetterQueue: IQueue;
  /**
   * Repository root holding `lambdas/`, `package-lock.json` and `tsconfig.json`.
   * @default - three levels above this file
   */
  readonly projectRoot?: string;
  /** @default 'esbuild' */
  readonly codeMode?: FunctionCodeMode;
  /**
   * Reserved concurrency of reconcile. The DynamoDB lease is the primary guard against
   * two concurrent decisions; this is the second. `undefined` disables it, for accounts
   * whose concurrency quota is still 10 (Lambda keeps 10 unreserved).
   * @default 1
   */
  readonly reconcileReservedConcurrency?: number | undefined;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The k3s-burst Lambdas: ESM bundles (minified, source maps, metafile), arm64, Node.js 24
 * (lib/node-runtime.ts),
 * bounded memory and timeouts, a dedicated role per function (permissions are added by
 * the stack, per function), and an explicit log group with retention per function.
 */
export class BurstFunctions extends Construct {
  readonly functions: Record<FunctionName, NodejsFunction>;
  readonly roles: Record<FunctionName, Role>;

  constructor(scope: Construct, id: string, props: BurstFunctionsProps) {
    super(scope, id);
    const projectRoot = props.projectRoot ?? join(import.meta.dirname, '..', '..');
    const codeMode = props.codeMode ?? 'esbuild';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const functions: Partial<Record<FunctionName, NodejsFunction>> = {};
    const roles: Partial<Record<FunctionName, Role>> = {};
    const reserved = 'reconcileReservedConcurrency' in props ? props.reconcileReservedConcurrency : 1;
    const environment: LambdaEnvInput = { ...props.environment, NODE_OPTIONS: '--enable-source-maps' };
    const problems = lambdaEnvProblems(environment, (v) => Token.isUnresolved(v));
    if (problems.length > 0) {
      throw new InfraError(
        `the Lambda environment would be refused by the functions at start: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}. Fix the value the stack passes (lib/infra/k3s-burst-stack.ts) or the schema (lib/events/lambda-env.ts)`,
      );
    }

    for (const name of FUNCTION_NAMES) {
      const spec = SPECS[name];
      const functionName = `k3s-burst-${props.clusterName}-${name}`;
      const logGroup = new LogGroup(this, `${pascal(name)}Logs`, {
        logGroupName: `/aws/lambda/${functionName}`,
        retention: props.logRetention ?? RetentionDays.ONE_MONTH,
        removalPolicy,
      });
      // A hand-made role instead of AWSLambdaBasicExecutionRole: logs to its own group only.
      // Named like its function: with tailscale.auth federated the role ARN is the `sub` of the
      // STS identity token, so the Tailscale federated identity can trust
      // `arn:aws:iam::<account>:role/k3s-burst-<cluster>-*` before the stack exists.
      const role = new Role(this, `${pascal(name)}Role`, {
        roleName: functionName,
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: `k3s-burst ${props.clusterName} ${name} function`,
      });
      role.addToPolicy(
        new PolicyStatement({
          sid: 'OwnLogGroup',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      const entry = join(projectRoot, 'lambdas', `${name}.ts`);
      if (codeMode === 'esbuild' && !existsSync(entry)) {
        throw new InfraError(
          `Lambda entry ${entry} does not exist: the ${name} handler must export "handler" from lambdas/${name}.ts`,
        );
      }
      const bundling = {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        metafile: true,
        mainFields: ['module', 'main'],
        target: ESBUILD_NODE_TARGET,
        externalModules: [...LAMBDA_EXTERNAL_MODULES],
        banner:
          "import { createRequire as __k3sbCreateRequire } from 'node:module'; const require = __k3sbCreateRequire(import.meta.url);",
      };
      const fingerprint = codeMode === 'esbuild' ? sourceFingerprint(projectRoot) : undefined;
      functions[name] = new NodejsFunction(this, pascal(name), {
        functionName,
        description: spec.description,
        runtime: lambdaNodeRuntime(),
        architecture: Architecture.ARM_64,
        memorySize: spec.memoryMiB,
        timeout: spec.timeout,
        role,
        logGroup,
        environment,
        reservedConcurrentExecutions: name === 'reconcile' ? reserved : undefined,
        retryAttempts: 2,
        maxEventAge: spec.maxEventAge,
        deadLetterQueue: props.asyncDeadLetterQueue,
        ...(codeMode === 'esbuild'
          ? {
              entry,
              handler: 'handler',
              projectRoot,
              depsLockFilePath: join(projectRoot, 'package-lock.json'),
              bundling: {
                ...bundling,
                tsconfig: join(projectRoot, 'tsconfig.json'),
                // Hash of the sources (not of the output): a second synth or deploy with
                // unchanged sources reuses cdk.out/asset.<hash> instead of bundling again.
                ...(fingerprint
                  ? {
                      assetHash: createHash('sha256')
                        .update(`${fingerprint}|${name}|${JSON.stringify(bundling)}`)
                        .digest('hex'),
                    }
                  : {}),
              },
            }
          : {
              code: Code.fromInline(
                `exports.handler = async () => { throw new Error('k3s-burst ${name}: stub code (codeMode "none"), not deployable'); };`,
              ),
              handler: 'index.handler',
            }),
      });
      roles[name] = role;
    }
    this.functions = functions as Record<FunctionName, NodejsFunction>;
    this.roles = roles as Record<FunctionName, Role>;
  }

  /** All functions, for dashboards and alarms. */
  all(): Array<[FunctionName, IFunction]> {
    return FUNCTION_NAMES.map((n) => [n, this.functions[n]]);
  }
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** What a Lambda bundle is built from, relative to the project root. */
const BUNDLE_INPUTS = ['lambdas', 'lib', 'userdata', 'package-lock.json', 'tsconfig.json'] as const;
/** Bound on the files hashed; beyond it the output hash is used instead (always correct, slower). */
const MAX_FINGERPRINT_FILES = 5000;
const fingerprints = new Map<string, string | undefined>();

/**
 * SHA-256 over the path and content of every file a bundle can be built from (handlers,
 * libraries, userdata template, lock file, tsconfig), computed once per process. Any change
 * to any of them changes every function's asset hash, so a stale bundle is never reused.
 * `undefined` (hash the output instead) when the tree is unexpectedly large.
 */
export function sourceFingerprint(projectRoot: string): string | undefined {
  if (fingerprints.has(projectRoot)) return fingerprints.get(projectRoot);
  const files: string[] = [];
  const pending = BUNDLE_INPUTS.map((p) => join(projectRoot, p));
  let overflow = false;
  while (pending.length > 0) {
    const path = pending.pop() as string;
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path)) {
        if (entry !== 'node_modules' && !entry.startsWith('.')) pending.push(join(path, entry));
      }
    } else {
      files.push(path);
    }
    if (files.length + pending.length > MAX_FINGERPRINT_FILES) {
      overflow = true;
      break;
    }
  }
  let result: string | undefined;
  if (!overflow) {
    const hash = createHash('sha256').update('k3s-burst-bundle-v1');
    for (const file of files.map((f) => relative(projectRoot, f)).sort()) {
      hash.update(`\0${file}\0`).update(readFileSync(join(projectRoot, file)));
    }
    result = hash.digest('hex');
  }
  fingerprints.set(projectRoot, result);
  return result;
}
