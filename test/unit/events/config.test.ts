import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maxRootVolumeGiB } from '../../../lib/core/capacity.js';
import { Config, parseOrThrow, ValidationError } from '../../../lib/events/index.js';

const root = join(import.meta.dirname, '..', '..', '..');
const minimal = {
  cluster: {
    name: 'pi-lab',
    region: 'eu-central-1',
    k3sServerUrl: 'https://100.64.5.11:6443',
    k3sVersion: 'v1.32.6+k3s1',
  },
};

function errorOf(input: unknown): ValidationError {
  try {
    parseOrThrow(Config, input, 'k3s-burst.config.json');
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('Config', () => {
  it('accepts the example config in examples/', () => {
    const raw = JSON.parse(readFileSync(join(root, 'examples', 'k3s-burst.config.json'), 'utf8'));
    const config = parseOrThrow(Config, raw, 'examples/k3s-burst.config.json');
    expect(config.cluster.name).toBe('pi-lab');
    expect(config.schedules.map((s) => s.name)).toEqual(['weekday-day', 'weekday-night', 'weekend']);
  });

  it('fills every section with safe defaults from the cluster section alone', () => {
    const config = parseOrThrow(Config, minimal, 'minimal');
    expect(config.scaleIn.emptyAfterSeconds).toBe(600);
    expect(config.repairs.registrationTimeoutSeconds).toBe(900);
    expect(config.repairs.maxUnhealthyFraction).toBe(0.2);
    expect(config.agent.abandonAfterSeconds).toBe(3600);
    expect(config.nodes.maxPodsPerNode).toBe(110);
    expect(config.nodes.candidateTypes.every((t) => /g\./.test(t))).toBe(true); // Graviton by default
    expect(config.tailscale.tags).toEqual(['tag:k3s-burst']);
  });

  it('names the JSON path, the value received and what was expected for each bad field', () => {
    const err = errorOf({
      ...minimal,
      limits: { maxNodes: -1 },
      schedules: [{ name: 'n', cron: '0 7 * * 1-5', timezone: 'Mars/Base', minNodes: 3, maxNodes: 1 }],
    });
    const at = (path: string) => err.problems.filter((p) => p.path === path);
    expect(at('$.limits.maxNodes')[0]?.received).toBe('-1');
    expect(at('$.schedules[0].timezone')[0]?.message).toMatch(/IANA time zone/);
    expect(at('$.schedules[0].maxNodes').map((p) => p.message)).toContain(
      'maxNodes must be ≥ minNodes (got 1 < 3)',
    );
    expect(err.message).toMatch(/^k3s-burst.config.json is invalid:/);
  });

  it('reports a missing required field as missing', () => {
    const err = errorOf({ cluster: { name: 'pi-lab', region: 'eu-central-1', k3sVersion: 'v1.32.6+k3s1' } });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]?.path).toBe('$.cluster.k3sServerUrl');
    expect(err.problems[0]?.message).toMatch(/field is missing/);
  });

  it('rejects a plain-http K3s server URL', () => {
    const err = errorOf({ cluster: { ...minimal.cluster, k3sServerUrl: 'http://100.64.5.11:6443' } });
    expect(err.problems[0]?.path).toBe('$.cluster.k3sServerUrl');
  });

  it('rejects an abandon delay not longer than the stale delay', () => {
    const err = errorOf({ ...minimal, agent: { staleAfterSeconds: 600, abandonAfterSeconds: 600 } });
    expect(err.problems.map((p) => p.path)).toContain('$.agent.abandonAfterSeconds');
  });

  it('bounds the root volume: maxRootVolumeGiB below rootVolumeGiB is refused; the default maximum is the larger of 100 and rootVolumeGiB', () => {
    const err = errorOf({ ...minimal, nodes: { rootVolumeGiB: 60, maxRootVolumeGiB: 40 } });
    expect(err.problems.map((p) => [p.path, p.message])).toContainEqual([
      '$.nodes.maxRootVolumeGiB',
      'maxRootVolumeGiB must be ≥ rootVolumeGiB (got 40 < 60): raise maxRootVolumeGiB or lower rootVolumeGiB',
    ]);
    expect(errorOf({ ...minimal, nodes: { rootDeviceName: 'sda1' } }).problems[0]?.path).toBe(
      '$.nodes.rootDeviceName',
    );
    const maxOf = (nodes: object) => maxRootVolumeGiB(parseOrThrow(Config, { ...minimal, nodes }, 'x'));
    expect(maxOf({})).toBe(100);
    expect(maxOf({ rootVolumeGiB: 200 })).toBe(200);
    expect(maxOf({ maxRootVolumeGiB: 64 })).toBe(64);
    expect(parseOrThrow(Config, minimal, 'x').nodes.rootDeviceName).toBe('/dev/sda1');
  });

  it('never prints the value of a secret-looking field', () => {
    const err = errorOf({
      ...minimal,
      cluster: { ...minimal.cluster, token: 5 },
      tailscale: { oauthClientSecret: 12 },
    });
    expect(err.problems.map((p) => p.path)).toEqual(['$.cluster', '$.tailscale']);
    expect(err.message).toContain('unknown field "oauthClientSecret"');
    expect(err.message).not.toContain('12');
  });
});
