/**
 * The join token in the simulator is the agent's own: its BootstrapTokenRotator mints a bootstrap
 * token in the simulated API server, publishes it to Secrets Manager through the home link and
 * renews it before it runs short; launch reads it with the control plane's clock and refuses one
 * that expired, as in production. A home-internet outage longer than the token's lifetime leaves
 * an expired token in Secrets Manager: a launch decided before the agent renews it is refused, and
 * the pods are served once the renewed token is there.
 */
import { describe, expect, it } from 'vitest';
import { AGENT_DEFAULTS } from '../../../lib/agent/options.js';
import { loadConfig } from '../../../lib/core/index.js';
import { type SimResult, simulate } from '../../../lib/sim/engine.js';
import { parseScenario, type ScenarioInput } from '../../../lib/sim/scenario.js';
import { smallScenario } from './helpers.js';

async function run(over: Partial<ScenarioInput>): Promise<SimResult> {
  const input = smallScenario(over);
  return simulate({
    scenario: parseScenario(input, 'join-token test'),
    config: loadConfig(input.config, 'join-token test config'),
    seed: 5,
  });
}

describe('join token in the simulator', () => {
  it('is renewed by the agent before it runs short, so every launch of a clean run finds it valid', async () => {
    // Given 3 h with a burst at 08:10 and another at 10:30 (the first token has long expired by then)
    const base = smallScenario();
    const r = await run({
      hours: 3,
      workloads: [
        ...(base.workloads ?? []),
        { ...(base.workloads?.[0] as object), name: 'late-ci', at: '10:30' } as NonNullable<
          ScenarioInput['workloads']
        >[number],
      ],
    });

    // Then the agent published a token at start and renewed it every half lifetime
    const ttlS = AGENT_DEFAULTS.joinToken.ttlSeconds;
    expect(r.stats.joinTokensPublished).toBeGreaterThanOrEqual(Math.floor((3 * 3600) / (ttlS / 2)));
    // And no launch was refused: both bursts were served by the cloud
    expect(r.stats.launchesRefusedJoinToken).toBe(0);
    expect(r.stats.instancesLaunched).toBeGreaterThan(0);
    expect(
      r.notes.some((n) => n.atMs >= Date.parse('2026-03-16T10:30:00Z') && /^EC2: .* pending$/.test(n.text)),
    ).toBe(true);
    expect(r.stats.pendingAtEnd).toBe(0);
    expect(r.violations).toEqual([]);
  });

  it('a launch decided while the published token has expired is refused; served once the agent renews it', async () => {
    // Given an agent restarted at 08:00 (its rotator checks at :20 and :50 past each minute from
    // 08:00:20), cut off from AWS 08:01-09:01 (longer than the token's lifetime) while a burst
    // waits from 08:50: on reconnection the snapshot goes out at once, the renewal up to 20 s later
    const base = smallScenario();
    const r = await run({
      hours: 2,
      workloads: [
        { ...(base.workloads?.[0] as object), at: '08:50' } as NonNullable<
          ScenarioInput['workloads']
        >[number],
      ],
      faults: { agentRestarts: ['08:00'], agentOutages: [{ at: '08:01', durationMinutes: 60 }] },
    });

    // Then launch refused at least once, naming the expired token
    expect(r.stats.launchesRefusedJoinToken).toBeGreaterThan(0);
    expect(
      r.notes.some((n) => /refused, no usable join token \(bootstrap token \w+ expired at /.test(n.text)),
    ).toBe(true);
    // And the burst was served after the renewal, with every invariant held
    expect(r.stats.instancesLaunched).toBeGreaterThan(0);
    expect(r.stats.pendingAtEnd).toBe(0);
    expect(r.violations).toEqual([]);
  });
});
