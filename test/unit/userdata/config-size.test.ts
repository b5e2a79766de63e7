import { describe, expect, it } from 'vitest';
import { type Config, type ConfigInput, validateConfig } from '../../../lib/events/index.js';
import {
  previewInputFromConfig,
  renderUserDataPreview,
  USER_DATA_MAX_BYTES,
  UserDataTooLargeError,
  userDataSizeProblems,
} from '../../../lib/userdata/index.js';

const base: ConfigInput = {
  cluster: {
    name: 'pi-lab',
    region: 'eu-central-1',
    k3sServerUrl: 'https://100.64.5.11:6443',
    k3sVersion: 'v1.32.6+k3s1',
  },
  nodes: { capacityTypes: ['spot', 'on-demand'] },
  limits: { maxNodes: 6 },
};

function config(over: Partial<ConfigInput> = {}, labels: Record<string, string> = {}): Config {
  return validateConfig({ ...base, ...over, nodes: { ...base.nodes, labels } }, 'test');
}

/** The size of a script as the renderer measures it, or Infinity when it refuses it as too large. */
function previewSize(c: Config, warmPool: boolean): number {
  try {
    return Buffer.byteLength(
      renderUserDataPreview({ ...previewInputFromConfig(c, 'on-demand'), warmPool }),
      'utf8',
    );
  } catch (err) {
    if (err instanceof UserDataTooLargeError) return Number.POSITIVE_INFINITY;
    throw err;
  }
}

/** Long valid labels, one more at a time, until `done` says the rendered scripts are where a test wants them. */
function labelsUntil(done: (labels: Record<string, string>) => boolean): Record<string, string> {
  const labels: Record<string, string> = {};
  for (let i = 0; i < 80; i++) {
    labels[`team-${String(i).padStart(2, '0')}.workloads.example.com/pool-${'x'.repeat(20)}`] =
      `value-${'v'.repeat(50)}`;
    if (done(labels)) return labels;
  }
  throw new Error('80 labels did not reach the size the test needs');
}

/** Labels with which the ordinary script fits (with the longest secrets) and the warm-mode one does not. */
const nearLimit = labelsUntil((l) => previewSize(config({}, l), true) > USER_DATA_MAX_BYTES);

describe('userDataSizeProblems: the 16 KB EC2 limit, checked on every script a config makes nodes run', () => {
  it('the fixture is what it claims: the ordinary script fits, the warm-mode script does not', () => {
    const c = config({}, nearLimit);
    expect(previewSize(c, false)).toBeLessThanOrEqual(USER_DATA_MAX_BYTES);
    expect(previewSize(c, true)).toBe(Number.POSITIVE_INFINITY);
  });

  it('accepts that config without a warm pool: only ordinary nodes are launched', () => {
    expect(userDataSizeProblems(config({}, nearLimit))).toEqual([]);
    expect(
      userDataSizeProblems(
        config(
          { schedules: [{ name: 'night', cron: '0 20 * * *', maxNodes: 2, warmPoolSize: 0 }] },
          nearLimit,
        ),
      ),
    ).toEqual([]);
  });

  it('refuses it with warmPool.size > 0, naming the field, the size, the limit and the fix', () => {
    const problems = userDataSizeProblems(config({ warmPool: { size: 2 } }, nearLimit));
    expect(problems).toHaveLength(1);
    const [p] = problems;
    expect(p?.path).toBe('$.warmPool.size');
    expect(p?.received).toBe('2');
    expect(p?.message).toMatch(/warm-mode user data .*renders to \d+ bytes/);
    expect(p?.message).toContain(`EC2 limit of ${USER_DATA_MAX_BYTES} bytes`);
    expect(p?.message).toContain('every warm-pool fill would fail at launch');
    expect(p?.message).toContain('nodes.labels, nodes.taints or tailscale.tags');
    expect(p?.message).toContain('warmPool.size and every schedule warmPoolSize to 0');
  });

  it('refuses it when only a schedule asks for a pool, naming that schedule', () => {
    const problems = userDataSizeProblems(
      config(
        {
          schedules: [
            { name: 'night', cron: '0 20 * * *', maxNodes: 2, warmPoolSize: 0 },
            { name: 'day', cron: '0 7 * * *', maxNodes: 6, warmPoolSize: 3 },
          ],
        },
        nearLimit,
      ),
    );
    expect(problems.map((p) => [p.path, p.received])).toEqual([['$.schedules[1].warmPoolSize', '3']]);
  });

  it('refuses a config whose ordinary script is too large once, on nodes, not again for the pool', () => {
    const tooLarge = labelsUntil((l) => previewSize(config({}, l), false) > USER_DATA_MAX_BYTES);
    const problems = userDataSizeProblems(config({ warmPool: { size: 1 } }, tooLarge));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('$.nodes.labels');
    expect(problems[0]?.message).toContain('every launch would fail');
  });

  it('accepts a small config with a pool (the example sizes fit)', () => {
    expect(userDataSizeProblems(config({ warmPool: { size: 2 } }, { 'k3s-burst.io/pool': 'cloud' }))).toEqual(
      [],
    );
  });
});
