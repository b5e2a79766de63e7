import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigFileError,
  loadStackConfig,
  resolveConfigPath,
  validateStackConfig,
} from '../../../lib/infra/index.js';
import { exampleConfigInput, repoRoot } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'k3s-burst-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigFileError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigFileError');
}

describe('stack config validation', () => {
  it('accepts the example config', () => {
    const config = validateStackConfig(exampleConfigInput(), 'example');
    expect(config.cluster.name).toBe('pi-lab');
  });

  it('names the field, the value received and the expectation for a schema error', () => {
    // Given
    const input = exampleConfigInput() as Record<string, unknown>;
    input.limits = { maxNodes: -1 };
    // When
    const message = messageOf(() => validateStackConfig(input, 'k3s-burst.config.json'));
    // Then
    expect(message).toContain('k3s-burst.config.json is invalid');
    expect(message).toContain('$.limits.maxNodes');
    expect(message).toContain('(got -1)');
  });

  it('rejects a cron Scheduler cannot run, with the path, the value and the fix', () => {
    const input = exampleConfigInput();
    input.schedules = [{ name: 'odd', cron: '0 0 1 * 1', maxNodes: 1 }];
    const message = messageOf(() => validateStackConfig(input, 'cfg'));
    expect(message).toContain('$.schedules[0].cron');
    expect(message).toContain('(got "0 0 1 * 1")');
    expect(message).toContain('split it into two policies');
  });

  it('requires subnet ids with an existing VPC, since synth does no lookups', () => {
    const input = exampleConfigInput();
    input.network = { vpcId: 'vpc-0123456789abcdef0' };
    const message = messageOf(() => validateStackConfig(input, 'cfg'));
    expect(message).toContain('$.network.subnetIds');
    expect(message).toContain('no VPC lookups');
  });

  it('quotes the value a custom refinement refused when its message does not', () => {
    // Given a time zone the schema refuses with a message that names no value
    const input = exampleConfigInput();
    const first = input.schedules?.[0];
    if (!first) throw new Error('example has schedules');
    first.timezone = 'Berlin';
    const message = messageOf(() => validateStackConfig(input, 'cfg'));
    // Then the received value is added once
    expect(message).toContain('$.schedules[0].timezone');
    expect(message.match(/\(got "Berlin"\)/g)).toHaveLength(1);
  });

  it('does not add a value the message already states', () => {
    const input = exampleConfigInput();
    input.agent = { staleAfterSeconds: 600, abandonAfterSeconds: 600 };
    const message = messageOf(() => validateStackConfig(input, 'cfg'));
    expect(message).toContain(
      '$.agent.abandonAfterSeconds: abandonAfterSeconds must be > staleAfterSeconds (got 600 ≤ 600)',
    );
    expect(message).not.toContain('(got 600)');
  });

  it('refuses a warm pool whose warm-mode user data is over 16 KB, at synth and from the file, naming the field', () => {
    // Given labels with which an ordinary node's script fits and a warm-pool member's does not
    // (the renderer decides: test/unit/userdata/config-size.test.ts)
    const input = exampleConfigInput();
    const labels: Record<string, string> = {};
    let i = 0;
    const sized = () => ({ ...input, nodes: { ...input.nodes, labels } });
    const withPool = () => ({ ...sized(), warmPool: { size: 2 } });
    const refused = () => {
      try {
        validateStackConfig(withPool(), 'cfg');
        return false;
      } catch {
        return true;
      }
    };
    while (!refused() && i < 80) {
      labels[`team-${String(i).padStart(2, '0')}.workloads.example.com/pool-${'x'.repeat(20)}`] =
        `value-${'v'.repeat(50)}`;
      i += 1;
    }
    // Then the same config deploys without a pool, and is refused with one
    expect(validateStackConfig(sized(), 'cfg').nodes.labels).toEqual(labels);
    const message = messageOf(() => validateStackConfig(withPool(), 'cfg'));
    expect(message).toContain('$.warmPool.size');
    expect(message).toContain('every warm-pool fill would fail at launch');
    const path = join(dir, 'warm-too-large.json');
    writeFileSync(path, JSON.stringify(withPool()));
    expect(messageOf(() => loadStackConfig(path))).toContain('$.warmPool.size');
  });

  it('reports a file that is not JSON with its path', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ "cluster": ');
    expect(messageOf(() => loadStackConfig(path))).toMatch(
      /broken\.json is invalid:\n {2}\$: not valid JSON/,
    );
  });

  it('reports a missing file named by the context, with the fix', () => {
    expect(messageOf(() => resolveConfigPath('nope.json', dir))).toMatch(/does not exist: create it from/);
  });
});

describe('config file resolution', () => {
  it('prefers the context path, then ./k3s-burst.config.json, then the example', () => {
    // Given an empty directory
    const empty = mkdtempSync(join(dir, 'empty-'));
    // Then the example is used (and flagged as such)
    expect(resolveConfigPath(undefined, empty)).toEqual({
      path: join(empty, 'examples', 'k3s-burst.config.json'),
      source: 'example',
    });
    // Given a local config file
    writeFileSync(join(empty, 'k3s-burst.config.json'), '{}');
    expect(resolveConfigPath(undefined, empty).source).toBe('working-directory');
    // Given a context value
    expect(resolveConfigPath('examples/k3s-burst.config.json', repoRoot)).toEqual({
      path: join(repoRoot, 'examples', 'k3s-burst.config.json'),
      source: 'context',
    });
  });
});
