import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { ConfigInput } from '../../../lib/events/index.js';
import { K3sBurstStack, type K3sBurstStackProps, validateStackConfig } from '../../../lib/infra/index.js';

export const repoRoot = join(import.meta.dirname, '..', '..', '..');

/** The example config as a user would write it. */
export function exampleConfigInput(): ConfigInput {
  return JSON.parse(readFileSync(join(repoRoot, 'examples', 'k3s-burst.config.json'), 'utf8')) as ConfigInput;
}

export const TEST_ACCOUNT = '210987654321';

export interface Synthesized {
  app: App;
  stack: K3sBurstStack;
  template: Template;
}

/** Synthesize a stack with stub Lambda code (no esbuild) from a config input. */
export function synthStack(
  input: ConfigInput = exampleConfigInput(),
  extra: Partial<K3sBurstStackProps> = {},
): Synthesized {
  const app = new App();
  const config = validateStackConfig(input, 'test config');
  const stack = new K3sBurstStack(app, `K3sBurst-${config.cluster.name}`, {
    config,
    env: { account: TEST_ACCOUNT, region: config.cluster.region },
    codeMode: 'none',
    projectRoot: repoRoot,
    ...extra,
  });
  return { app, stack, template: Template.fromStack(stack) };
}
