import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/core/index.js';
import { ValidationError } from '../../../lib/events/index.js';
import { DEFAULT_CONFIG, DEFAULT_SCENARIO } from '../../../lib/sim/defaults.js';
import { refuseUnmodelled, simulate } from '../../../lib/sim/engine.js';
import { parseScenario } from '../../../lib/sim/scenario.js';

describe('config the simulator does not model', () => {
  it('refuses a warm pool, naming each field and the fix, instead of simulating it wrongly', async () => {
    // Given the default config with a warm pool by default and in its first schedule
    const raw = structuredClone(DEFAULT_CONFIG) as Record<string, unknown> & {
      schedules?: Array<Record<string, unknown>>;
    };
    raw.warmPool = { size: 2 };
    const schedules = raw.schedules ?? [];
    expect(schedules.length).toBeGreaterThan(0);
    (schedules[0] as Record<string, unknown>).warmPoolSize = 1;
    const config = loadConfig(raw, 'warm');
    // When it is simulated, Then the run is refused before it starts
    const scenario = parseScenario(DEFAULT_SCENARIO, 'default');
    const err = await simulate({ scenario, config, seed: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const problems = (err as ValidationError).problems;
    expect(problems.map((p) => p.path)).toEqual(['$.warmPool.size', '$.schedules[0].warmPoolSize']);
    expect(problems[0]?.message).toContain('set it to 0');
  });

  it('lets the default config through', () => {
    expect(() => refuseUnmodelled(loadConfig(DEFAULT_CONFIG, 'default'), 'default')).not.toThrow();
  });
});
