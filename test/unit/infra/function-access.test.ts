/**
 * Least privilege, checked against the code: for each function, the port calls its handler
 * can reach (lambdas/<name>.ts → lib/control/**, static import graph) are mapped to the IAM
 * actions the adapters behind those ports make, and compared with the synthesized policy of
 * that function's role, both ways: nothing missing, nothing extra.
 *
 * The port → action map below is checked against the SDK commands of the real bundles in
 * test/integration/infra/bundle.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES } from '../../../lib/infra/index.js';
import { IMPLICIT, neededActions, portCalls } from './access-map.js';
import { actionsOf, defaultTemplate, logicalId, repoRoot, type Synthesized } from './support.js';

let s: Pick<Synthesized, 'template'>;
beforeAll(() => {
  s = { template: defaultTemplate() };
});

describe('function permissions match the port calls of each handler', () => {
  it('finds every handler entry (lambdas/<name>.ts) to analyse', () => {
    const missing = FUNCTION_NAMES.filter((n) => !existsSync(join(repoRoot, 'lambdas', `${n}.ts`)));
    expect(missing, 'handler files missing: the analysis below would be empty').toEqual([]);
  });

  it('sees the port calls that define each function (the scan is live)', () => {
    expect(portCalls('launch')).toContain('fleet.launchOne');
    expect(portCalls('launch')).toContain('devices.mintAuthKey');
    expect(portCalls('reconcile')).toContain('fleet.list');
    expect(portCalls('reconcile')).not.toContain('fleet.launchOne');
    expect(portCalls('janitor')).toContain('fleet.terminate');
  });

  it.each([...FUNCTION_NAMES])('grants %s exactly what its reachable port calls need', (name) => {
    const role = logicalId(
      s.template,
      'AWS::IAM::Role',
      `Functions${name.charAt(0).toUpperCase()}${name.slice(1)}Role`,
    );
    const granted = [...new Set(actionsOf(s.template, role))].filter((a) => !IMPLICIT.has(a)).sort();
    const needed = neededActions(portCalls(name));
    expect({ name, missing: needed.filter((a) => !granted.includes(a)) }).toEqual({ name, missing: [] });
    expect({ name, extra: granted.filter((a) => !needed.includes(a)) }).toEqual({ name, extra: [] });
  });

  it('grants the spot service-linked role only where RunInstances is granted', () => {
    for (const name of FUNCTION_NAMES) {
      const role = logicalId(
        s.template,
        'AWS::IAM::Role',
        `Functions${name.charAt(0).toUpperCase()}${name.slice(1)}Role`,
      );
      const actions = actionsOf(s.template, role);
      expect(actions.includes('iam:CreateServiceLinkedRole')).toBe(actions.includes('ec2:RunInstances'));
    }
  });
});

describe('agent permissions match the SDK commands of lib/agent', () => {
  it('grants the agent user exactly the actions of the commands lib/agent sends', () => {
    // Given every AWS SDK command lib/agent constructs
    const prefix: Record<string, string> = { 'client-eventbridge': 'events', 'client-sqs': 'sqs' };
    const sent = new Set<string>();
    for (const file of reachableAgentSources()) {
      const text = readFileSync(file, 'utf8');
      const imports = [...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/([a-z0-9-]+)'/g)];
      for (const [, names, pkg] of imports) {
        for (const m of (names as string).matchAll(/\b(\w+)Command\b/g)) {
          const service = prefix[pkg as string];
          if (!service) throw new Error(`lib/agent uses @aws-sdk/${pkg}: map it here and grant it`);
          if (new RegExp(`new\\s+${m[1]}Command\\b`).test(text)) sent.add(`${service}:${m[1]}`);
        }
      }
    }
    // and every operation its lightweight signer (aws-lite.ts, what the agent really runs) calls
    const lite = readFileSync(join(repoRoot, 'lib', 'agent', 'aws-lite.ts'), 'utf8');
    for (const m of lite.matchAll(/'AWSEvents\.(\w+)'/g)) sent.add(`events:${m[1]}`);
    for (const m of lite.matchAll(/'secretsmanager\.(\w+)'/g)) sent.add(`secretsmanager:${m[1]}`);
    for (const m of lite.matchAll(
      /'(ReceiveMessage|DeleteMessage|ChangeMessageVisibility|\w+Queue\w*|\w+Message\w*)'/g,
    )) {
      sent.add(`sqs:${m[1]}`);
    }
    // Then the agent user is allowed exactly those
    const user = logicalId(s.template, 'AWS::IAM::User', 'AgentUser');
    expect(sent.size).toBeGreaterThanOrEqual(5); // the scan is live
    expect(sent).toContain('secretsmanager:PutSecretValue');
    expect([...new Set(actionsOf(s.template, user))].sort()).toEqual([...sent].sort());
  });
});

function reachableAgentSources(): string[] {
  const dir = join(repoRoot, 'lib', 'agent');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}
