/** Errors of the operator tools (`k3s-burst status`, `k3s-burst doctor`). */

/** Base error of `lib/ops`. Messages say what is wrong and how to fix it; they never hold secret values. */
export class OpsError extends Error {
  /** Exit code the CLI returns for this error (1: the deployment has a problem, 2: bad usage/input). */
  readonly exitCode: 1 | 2 = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OpsError';
  }
}

/** Bad command line or config file: exit code 2. */
export class OpsUsageError extends OpsError {
  override readonly exitCode = 2 as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OpsUsageError';
  }
}

/** The CloudFormation stack of the cluster does not exist in the region. */
export class StackNotFoundError extends OpsError {
  constructor(
    readonly stackName: string,
    readonly region: string,
    options?: { cause?: unknown },
  ) {
    super(`stack ${stackName} not found in ${region}: run \`npx cdk deploy\` first`, options);
    this.name = 'StackNotFoundError';
  }
}

/** The stack exists but a resource the tools need could be found neither in its outputs nor its resources. */
export class StackResourceMissingError extends OpsError {
  constructor(
    readonly stackName: string,
    readonly what: string,
  ) {
    super(
      `stack ${stackName} has no ${what} (neither an output nor a resource of that type): ` +
        'the stack is older than this CLI or was changed by hand; run `npx cdk deploy` to update it',
    );
    this.name = 'StackResourceMissingError';
  }
}
