import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { inject } from 'vitest';
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

let shared: Template | undefined;

/**
 * The default stack's template (example config, stub code), synthesized once per test run by
 * test/support/cdk-template-setup.ts: a file that only reads the default template uses this
 * instead of {@link synthStack}. Only files of the `cdk` project (vitest.config.ts) get it.
 */
export function defaultTemplate(): Template {
  if (!shared) {
    const json = inject('defaultStackTemplate');
    if (!json) {
      throw new Error(
        'no shared template: add this test file to CDK_TEMPLATE_TESTS in vitest.config.ts (its global setup synthesizes it)',
      );
    }
    shared = Template.fromJSON(json);
  }
  return shared;
}

/** A CloudFormation IAM statement, as synthesized. */
export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** Logical id of the first resource of a type whose id starts with a prefix. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1)
    throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ')}`);
  return ids[0] as string;
}

/** Every statement of every inline policy attached to a role (by logical id) or user. */
export function statementsOf(template: Template, principalLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const out: Statement[] = [];
  for (const policy of Object.values(policies)) {
    const props = policy.Properties as {
      Roles?: Array<{ Ref: string }>;
      Users?: Array<{ Ref: string }>;
      PolicyDocument: { Statement: Statement[] };
    };
    const attached = [...(props.Roles ?? []), ...(props.Users ?? [])].some(
      (r) => r.Ref === principalLogicalId,
    );
    if (attached) out.push(...props.PolicyDocument.Statement);
  }
  return out;
}

/** All actions a principal's inline policies allow. */
export function actionsOf(template: Template, principalLogicalId: string): string[] {
  return statementsOf(template, principalLogicalId).flatMap((s) =>
    Array.isArray(s.Action) ? s.Action : [s.Action],
  );
}
