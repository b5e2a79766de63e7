import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Test files that read the default synthesized template (`defaultTemplate()` in
 * test/unit/infra/support.ts). They form the `cdk` project, whose global setup synthesizes
 * that template once per run; the global setup runs only when a file of the project is
 * selected, so other runs do not pay for a synth.
 */
const CDK_TEMPLATE_TESTS = ['test/unit/infra/**/*.test.ts', 'test/integration/docs/claims.test.ts'];

export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...CDK_TEMPLATE_TESTS],
        },
      },
      {
        extends: true,
        test: {
          name: 'cdk',
          include: CDK_TEMPLATE_TESTS,
          // A test that synthesizes its own stack bundles the five Lambdas with esbuild first:
          // 20–35 s on a loaded 2-core machine, over the 30 s default.
          testTimeout: 120_000,
          globalSetup: ['test/support/cdk-template-setup.ts'],
        },
      },
    ],
  },
});
