/**
 * moto cannot produce EC2 capacity, quota or throttling errors, so an SDK middleware fails
 * RunInstances for the inputs a test picks, with the error EC2 would return. Used by the
 * fleet adapter tests and the reconcile + launch handler tests.
 */
import { type EC2Client, EC2ServiceException, type RunInstancesCommandInput } from '@aws-sdk/client-ec2';

export interface RunInstancesErrorInjector {
  /** Every RunInstances input that reached the middleware (failed ones included). */
  readonly runs: RunInstancesCommandInput[];
  /** From now on, fail the inputs for which `fn` returns an EC2 error code. */
  failWhen(fn: (input: RunInstancesCommandInput) => string | undefined): void;
}

/**
 * Add the injector to `ec2`'s middleware stack. By default it runs before the SDK's retry
 * middleware (one recorded run per attempt of the adapter); with `insideSdkRetry` it runs
 * inside it, so a throttling error is retried by the SDK as against real EC2.
 */
export function injectRunInstancesErrors(
  ec2: EC2Client,
  opts: { insideSdkRetry?: boolean } = {},
): RunInstancesErrorInjector {
  const runs: RunInstancesCommandInput[] = [];
  let decide: (input: RunInstancesCommandInput) => string | undefined = () => undefined;
  const check = (commandName: string | undefined, args: { input: unknown }): void => {
    if (commandName !== 'RunInstancesCommand') return;
    const input = args.input as RunInstancesCommandInput;
    runs.push(input);
    const code = decide(input);
    if (!code) return;
    // As EC2 answers: capacity errors are 500s, throttling 503, quota errors 400.
    const status = code === 'RequestLimitExceeded' ? 503 : code.startsWith('Insufficient') ? 500 : 400;
    throw new EC2ServiceException({
      name: code,
      $fault: status === 400 || status === 503 ? 'client' : 'server',
      $metadata: { httpStatusCode: status },
      message: `injected ${code} for ${input.InstanceType}`,
    });
  };
  const name = 'injectRunInstancesErrors';
  if (opts.insideSdkRetry) {
    ec2.middlewareStack.add(
      (next, context) => async (args) => {
        check(context.commandName, args);
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name },
    );
  } else {
    ec2.middlewareStack.add(
      (next, context) => async (args) => {
        check(context.commandName, args);
        return next(args);
      },
      { step: 'initialize', name },
    );
  }
  return {
    runs,
    failWhen(fn) {
      decide = fn;
    },
  };
}
