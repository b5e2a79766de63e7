#!/usr/bin/env node
/**
 * CDK app: one `K3sBurst-<cluster>` stack from one config file.
 *
 * Config file, first found wins:
 *   1. `-c k3s-burst:config=path/to/file.json` (or the same key in cdk.json);
 *   2. `./k3s-burst.config.json`;
 *   3. `examples/k3s-burst.config.json`, with a warning (so a fresh checkout synthesizes).
 *
 * Other context: `k3s-burst:retainData=true` keeps the table and secrets on destroy;
 * `k3s-burst:reconcileReservedConcurrency=0` turns reserved concurrency off.
 * Synth needs no credentials and does no lookups: region comes from the config.
 */
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONFIG_ERROR_EXIT_CODE } from '../lib/events/index.js';
import {
  CONFIG_CONTEXT_KEY,
  ConfigFileError,
  InfraError,
  K3sBurstStack,
  loadStackConfig,
  resolveConfigPath,
  stackNameFor,
} from '../lib/infra/index.js';

function contextFlag(app: App, key: string): boolean {
  const value = app.node.tryGetContext(key);
  return value === true || value === 'true';
}

function main(): void {
  const app = new App();
  const where = resolveConfigPath(app.node.tryGetContext(CONFIG_CONTEXT_KEY), process.cwd());
  const config = loadStackConfig(where.path);
  const reserved = app.node.tryGetContext('k3s-burst:reconcileReservedConcurrency');
  const reservedCount = reserved === undefined ? 1 : Number(reserved);
  const stack = new K3sBurstStack(app, stackNameFor(config.cluster.name), {
    config,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: config.cluster.region },
    retainData: contextFlag(app, 'k3s-burst:retainData'),
    reconcileReservedConcurrency: reservedCount > 0 ? reservedCount : undefined,
  });
  if (where.source === 'example') {
    Annotations.of(stack).addWarningV2(
      'k3s-burst:example-config',
      `No k3s-burst.config.json in ${process.cwd()}: synthesized ${where.path}. Copy it to k3s-burst.config.json and edit it before deploying.`,
    );
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
}

try {
  main();
} catch (err) {
  // A config problem exits like every k3s-burst command does for an invalid input file (2),
  // before any asset is bundled or template written; other synthesis problems exit 1.
  if (err instanceof ConfigFileError) {
    console.error(`k3s-burst: ${err.message}`);
    process.exit(CONFIG_ERROR_EXIT_CODE);
  }
  if (err instanceof InfraError) {
    console.error(`k3s-burst: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
