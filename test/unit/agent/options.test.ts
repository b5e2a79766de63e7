/**
 * The agent's tuning (lib/agent/options.ts): one set of defaults, grouped per component, that
 * docs/agent.md's "Tuning" table, its flag table and `k3s-burst agent --help` agree with, and
 * that overrides replace field by field.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_USAGE, parseAgentConfig } from '../../../lib/agent/config.js';
import { AGENT_DEFAULTS, resolveTuning } from '../../../lib/agent/options.js';

const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'agent.md'), 'utf8');

/** Rows of the markdown table under a heading, as cells without backticks. */
function tableUnder(heading: string): string[][] {
  const section = doc.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l))
    .slice(1)
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim().replace(/`/g, '')),
    );
}

describe('AGENT_DEFAULTS', () => {
  it('is what docs/agent.md lists under Tuning, row for row', () => {
    const documented = tableUnder('Tuning').map(([component, option, value]) => [component, option, value]);
    const actual = Object.entries(AGENT_DEFAULTS).flatMap(([component, options]) =>
      Object.entries(options).map(([option, value]) => [component, option, String(value)]),
    );
    expect(documented).toEqual(actual);
  });

  it('is what the flags default to, in the docs flag table, in --help and when parsed', () => {
    const flags = new Map(tableUnder('Configuration').map(([flag, , value]) => [flag, value]));
    expect(flags.get('--batch-idle-ms')).toBe(String(AGENT_DEFAULTS.publisher.batchIdleMs));
    expect(flags.get('--batch-max-ms')).toBe(String(AGENT_DEFAULTS.publisher.batchMaxMs));
    expect(flags.get('--heartbeat-seconds')).toBe(String(AGENT_DEFAULTS.publisher.heartbeatMs / 1000));
    expect(flags.get('--bootstrap-token-ttl-seconds')).toBe(String(AGENT_DEFAULTS.joinToken.ttlSeconds));
    expect(AGENT_USAGE).toMatch(
      new RegExp(`--batch-idle-ms .*\\(default ${AGENT_DEFAULTS.publisher.batchIdleMs}\\)`),
    );
    expect(AGENT_USAGE).toMatch(
      new RegExp(`--batch-max-ms .*\\(default ${AGENT_DEFAULTS.publisher.batchMaxMs}\\)`),
    );
    expect(AGENT_USAGE).toMatch(
      new RegExp(`--heartbeat-seconds .*\\(default ${AGENT_DEFAULTS.publisher.heartbeatMs / 1000}\\)`),
    );
    expect(AGENT_USAGE).toMatch(
      new RegExp(`--bootstrap-token-ttl-seconds [^]*?\\(default ${AGENT_DEFAULTS.joinToken.ttlSeconds},`),
    );
    const parsed = parseAgentConfig([], {
      K3S_BURST_CLUSTER: 'pi-lab',
      K3S_BURST_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/123456789012/k3s-burst-pi-lab-commands',
      AWS_REGION: 'eu-central-1',
    });
    expect(parsed).toMatchObject({
      batchIdleMs: AGENT_DEFAULTS.publisher.batchIdleMs,
      batchMaxMs: AGENT_DEFAULTS.publisher.batchMaxMs,
      heartbeatSeconds: AGENT_DEFAULTS.publisher.heartbeatMs / 1000,
      bootstrapTokenTtlSeconds: AGENT_DEFAULTS.joinToken.ttlSeconds,
    });
  });
});

describe('resolveTuning', () => {
  it('keeps every default when nothing is given', () => {
    expect(resolveTuning()).toEqual(AGENT_DEFAULTS);
  });

  it('replaces only the fields given, component by component', () => {
    const t = resolveTuning({ publisher: { batchIdleMs: 20 }, lease: { retryMs: 50 } });
    expect(t.publisher).toEqual({ ...AGENT_DEFAULTS.publisher, batchIdleMs: 20 });
    expect(t.lease).toEqual({ ...AGENT_DEFAULTS.lease, retryMs: 50 });
    expect(t.commands).toEqual(AGENT_DEFAULTS.commands);
  });
});
