/**
 * Least privilege, checked against the code: for each function, the port calls its handler
 * can reach (lambdas/<name>.ts → lib/control/**, static import graph) are mapped to the IAM
 * actions the adapters behind those ports make, and compared with the synthesized policy of
 * that function's role, both ways: nothing missing, nothing extra.
 *
 * The port → action map below is checked against the SDK commands of the real bundles in
 * test/integration/infra/bundle.test.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES } from '../../../lib/infra/index.js';
import { IMPLICIT, neededActions, portCalls } from './access-map.js';
import { actionsOf, logicalId, repoRoot, type Synthesized, synthStack } from './support.js';

let s: Synthesized;
beforeAll(() => {
  s = synthStack();
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
