/**
 * Vitest global setup of the `cdk` project (vitest.config.ts): synthesizes the default stack
 * (the example config, stub function code) ONCE per test run and provides its template to
 * every test file of the project, which reads it with `defaultTemplate()` from
 * test/unit/infra/support.ts instead of synthesizing its own. Tests that need another config
 * or the construct tree (cdk-nag, aspects) still synthesize their own.
 */
import type { TestProject } from 'vitest/node';
import { synthStack } from '../unit/infra/support.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The default stack's CloudFormation template as JSON (see this file). */
    defaultStackTemplate: Record<string, unknown>;
  }
}

export function setup(project: TestProject): void {
  project.provide('defaultStackTemplate', synthStack().template.toJSON());
}
