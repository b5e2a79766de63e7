/**
 * The one test that bundles the Lambdas for real (unit tests use code mode `none`): the
 * stack is synthesized with esbuild exactly as `npx cdk synth` / `cdk deploy` would, and
 * each bundle is checked: ESM, minified, source map, AWS SDK bundled, loadable by Node, and
 * its AWS SDK commands (from esbuild's metafile: only code that reached the output) and the
 * actions of the EC2 Query client (lib/aws/ec2-query.ts, when bundled) are all permitted by the
 * synthesized policies, with no granted code action that no bundle calls.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, AssetStaging } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EC2_QUERY_ACTIONS } from '../../../lib/aws/ec2-query.js';
import {
  FUNCTION_NAMES,
  type FunctionName,
  K3sBurstStack,
  validateStackConfig,
} from '../../../lib/infra/index.js';
import { IMPLICIT } from '../../unit/infra/access-map.js';
import {
  actionsOf,
  exampleConfigInput,
  logicalId,
  repoRoot,
  TEST_ACCOUNT,
} from '../../unit/infra/support.js';

/** SDK client package → IAM service prefix. lib-dynamodb wraps client-dynamodb commands. */
const SERVICE_PREFIX: Record<string, string> = {
  'client-ec2': 'ec2',
  'client-dynamodb': 'dynamodb',
  'client-eventbridge': 'events',
  'client-secrets-manager': 'secretsmanager',
  'client-ssm': 'ssm',
  'client-sqs': 'sqs',
  'client-scheduler': 'scheduler',
  'client-cloudformation': 'cloudformation',
  'client-sts': 'sts',
};

/**
 * Commands esbuild keeps although no k3s-burst code sends them, each with the reason and
 * the source text whose absence proves it (checked below).
 */
const BUNDLED_NOT_CALLED: Record<string, { reason: string; neverInSource: RegExp }> = {
  'dynamodb:DescribeEndpoints': {
    reason: 'endpoint discovery of the DynamoDB client, off unless endpointDiscoveryEnabled is set',
    neverInSource: /endpointDiscoveryEnabled/,
  },
  'dynamodb:Scan': {
    reason: '@aws-sdk/lib-dynamodb has no "sideEffects": false, so its index keeps every command class',
    neverInSource: /\bScanCommand\b|\bpaginateScan\b/,
  },
};

/** TransactWriteItems is authorized per contained action (PutItem etc.): no IAM action of its own. */
const NO_IAM_ACTION = new Set(['dynamodb:TransactWriteItems']);

interface Bundle {
  dir: string;
  code: string;
  /** IAM actions of the SDK commands, and of the EC2 Query client's actions, that reached the output. */
  commands: string[];
}

let outdir: string;
let template: Template;
const bundles = {} as Record<FunctionName, Bundle>;

function sdkActions(
  metafile: {
    outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
  },
  code: string,
): string[] {
  const out = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (bytesInOutput === 0) continue;
      if (/(^|\/)lib\/aws\/ec2-query\.ts$/.test(input)) {
        // The Lambdas reach EC2 through the Query-protocol client (lib/aws/ec2-query.ts), not
        // SDK commands: each action it can send is a string literal ("Action=<name>") in the bundle.
        for (const action of EC2_QUERY_ACTIONS) {
          if (!new RegExp(`["'\`]${action}["'\`]`).test(code)) {
            throw new Error(`ec2-query.ts is bundled but its action ${action} is not in the code`);
          }
          out.add(`ec2:${action}`);
        }
        continue;
      }
      const m = /node_modules\/@aws-sdk\/([a-z0-9-]+)\/dist-es\/commands\/(\w+)Command\.js$/.exec(input);
      if (!m) continue; // nested-clients (credential chain: STS/SSO) are under submodules/, never called in Lambda
      const [pkg, command] = [m[1] as string, m[2] as string];
      if (pkg === 'lib-dynamodb') continue; // wrappers: the client-dynamodb command they send is listed too
      const prefix = SERVICE_PREFIX[pkg];
      if (!prefix) throw new Error(`unmapped SDK package ${pkg} (${command}): add it to SERVICE_PREFIX`);
      out.add(`${prefix}:${command}`);
    }
  }
  return [...out].sort();
}

beforeAll(() => {
  // Given every handler file (written by the control-plane helpers)
  const missing = FUNCTION_NAMES.filter((n) => !existsSync(join(repoRoot, 'lambdas', `${n}.ts`)));
  if (missing.length > 0) {
    throw new Error(`lambdas/${missing.join('.ts, lambdas/')}.ts missing: the real bundle cannot be built`);
  }
  // When the stack is synthesized with esbuild bundling, as the CDK CLI does
  outdir = mkdtempSync(join(tmpdir(), 'k3s-burst-bundle-'));
  const app = new App({ outdir });
  const config = validateStackConfig(exampleConfigInput(), 'example config');
  const stack = new K3sBurstStack(app, 'K3sBurst-pi-lab', {
    config,
    env: { account: TEST_ACCOUNT, region: config.cluster.region },
    projectRoot: repoRoot,
  });
  template = Template.fromStack(stack);
  for (const name of FUNCTION_NAMES) {
    const staging = stack.functions.functions[name].node
      .findAll()
      .find((c): c is AssetStaging => c instanceof AssetStaging);
    if (!staging) throw new Error(`${name}: no asset staged`);
    const dir = staging.absoluteStagedPath;
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    bundles[name] = {
      dir,
      code,
      commands: sdkActions(JSON.parse(readFileSync(join(dir, 'index.meta.json'), 'utf8')), code),
    };
  }
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('real Lambda bundles (esbuild)', () => {
  it('bundles every function from lambdas/<name>.ts', () => {
    expect(Object.keys(bundles).sort()).toEqual([...FUNCTION_NAMES].sort());
  });

  it.each([...FUNCTION_NAMES])('%s: is a minified ESM bundle with a source map, SDK included', (name) => {
    const b = bundles[name];
    expect(b.code).toMatch(/export\s*\{[^}]*\bhandler\b/);
    // Minified: long lines (the few newlines left are inside template literals, e.g. userdata).
    expect(b.code.length / b.code.split('\n').length).toBeGreaterThan(1000);
    expect(b.code).not.toMatch(/from\s*["']@aws-sdk\//); // bundled, pinned by the lock file
    expect(b.code).toContain('sourceMappingURL=index.mjs.map');
    const map = JSON.parse(readFileSync(join(b.dir, 'index.mjs.map'), 'utf8')) as {
      sourcesContent?: unknown;
    };
    expect(map.sourcesContent).toBeUndefined();
    const bytes = statSync(join(b.dir, 'index.mjs')).size;
    expect(bytes).toBeGreaterThan(10_000);
    expect(bytes).toBeLessThan(5 * 1024 * 1024); // far under Lambda's 50 MB zipped limit
  });

  it.each([...FUNCTION_NAMES])(
    "%s: holds zod's English messages only, not its 60+ locales (`import * as z from 'zod'`; `import { z }` pulls the whole namespace, 264 KB)",
    (name) => {
      const meta = JSON.parse(readFileSync(join(bundles[name].dir, 'index.meta.json'), 'utf8')) as {
        outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
      };
      const locales = Object.values(meta.outputs).flatMap((o) =>
        Object.entries(o.inputs)
          .filter(([k, v]) => v.bytesInOutput > 0 && k.includes('node_modules/zod/v4/locales/'))
          .map(([k]) => k.replace(/.*\/locales\//, '')),
      );
      expect(locales).toEqual(['en.js']);
    },
  );

  it.each([...FUNCTION_NAMES])('%s: loads in Node and exports a handler function', async (name) => {
    const mod = (await import(pathToFileURL(join(bundles[name].dir, 'index.mjs')).href)) as {
      handler?: unknown;
    };
    expect(typeof mod.handler).toBe('function');
  });
});

describe('SDK commands in the bundles vs the synthesized policies', () => {
  const roleOf = (name: string) =>
    logicalId(template, 'AWS::IAM::Role', `Functions${name.charAt(0).toUpperCase()}${name.slice(1)}Role`);

  it('finds the commands the adapters send (the metafile scan is live)', () => {
    expect(bundles.launch.commands).toEqual(
      expect.arrayContaining(['ec2:RunInstances', 'ec2:DescribeInstances', 'events:PutEvents']),
    );
  });

  it.each([...FUNCTION_NAMES])('%s: reaches EC2 only through the Query client, no EC2 SDK code', (name) => {
    const meta = JSON.parse(readFileSync(join(bundles[name].dir, 'index.meta.json'), 'utf8')) as {
      outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
    };
    const inputs = Object.values(meta.outputs).flatMap((o) =>
      Object.entries(o.inputs)
        .filter(([, v]) => v.bytesInOutput > 0)
        .map(([k]) => k),
    );
    expect(inputs.filter((i) => i.includes('@aws-sdk/client-ec2/'))).toEqual([]);
    expect(inputs.some((i) => /lib\/aws\/ec2-query\.ts$/.test(i))).toBe(true);
    expect(bundles[name].commands).toEqual(
      expect.arrayContaining(['ec2:DescribeInstances', 'ec2:DescribeSubnets']),
    );
  });

  it('checks each "bundled but never called" command really is never sent by our code', () => {
    const sources = ['lib', 'lambdas'].flatMap((d) => listTs(join(repoRoot, d)));
    for (const [action, { neverInSource }] of Object.entries(BUNDLED_NOT_CALLED)) {
      const hits = sources.filter((f) => neverInSource.test(readFileSync(f, 'utf8')));
      expect({ action, hits }).toEqual({ action, hits: [] });
    }
  });

  it('grants every command a bundle can send to at least one function, and nothing no bundle sends', () => {
    const granted = new Set(FUNCTION_NAMES.flatMap((n) => actionsOf(template, roleOf(n))));
    const sent = new Set(
      FUNCTION_NAMES.flatMap((n) => bundles[n].commands).filter(
        (a) => !(a in BUNDLED_NOT_CALLED) && !NO_IAM_ACTION.has(a),
      ),
    );
    // tailscale.auth federated (the example's): the Tailscale callers get STS identity tokens
    for (const n of ['launch', 'terminate', 'janitor'] as const)
      expect(bundles[n].commands).toContain('sts:GetWebIdentityToken');
    expect([...sent].filter((a) => !granted.has(a)).sort()).toEqual([]);
    // iam:PassRole is not a command: RunInstances with IamInstanceProfile needs it.
    const notSent = [...granted].filter((a) => !IMPLICIT.has(a) && a !== 'iam:PassRole' && !sent.has(a));
    expect(notSent.sort()).toEqual([]);
  });

  it('never grants a bundled-but-uncalled command', () => {
    for (const name of FUNCTION_NAMES) {
      const actions = actionsOf(template, roleOf(name));
      for (const action of Object.keys(BUNDLED_NOT_CALLED)) expect(actions).not.toContain(action);
    }
  });
});

function listTs(dir: string): string[] {
  const out: string[] = [];
  const stack = [dir];
  // Bounded walk of the source tree.
  for (let i = 0; stack.length > 0 && i < 5000; i++) {
    const d = stack.pop() as string;
    for (const entry of readdirSafe(d)) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) stack.push(p);
      else if (p.endsWith('.ts')) out.push(p);
    }
  }
  return out;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
