/**
 * The agent's clock may be off (a Pi without NTP). Its snapshots' observedAt and seq and its drain
 * deadlines follow its clock; the control plane dates a snapshot by its own receive time and
 * refuses one dated more than 60 s ahead (I12). Within that skew the run is as without it; beyond
 * it ahead, every snapshot is refused and nothing is launched for pods it cannot trust; behind,
 * snapshots are dated by their receive time and still act. Every invariant holds in all cases.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/core/index.js';
import { type SimResult, simulate } from '../../../lib/sim/engine.js';
import { parseScenario } from '../../../lib/sim/scenario.js';
import { smallScenario } from './helpers.js';

async function runSkewed(agentClockSkewSeconds: number): Promise<SimResult> {
  const input = smallScenario({ faults: { agentClockSkewSeconds } });
  return simulate({
    scenario: parseScenario(input, 'skew test'),
    config: loadConfig(input.config, 'skew test config'),
    seed: 3,
  });
}

describe('agent clock skew', () => {
  it('within the accepted 60 s (ahead or behind) the cloud serves the burst as without skew', async () => {
    const clean = await runSkewed(0);
    for (const skew of [45, -45]) {
      const r = await runSkewed(skew);
      expect(r.violations).toEqual([]);
      expect(r.stats.futureSnapshotsRejected).toBe(0);
      expect(r.stats.instancesLaunched).toBe(clean.stats.instancesLaunched);
      expect(r.stats.pendingAtEnd).toBe(0);
    }
  });

  it('beyond it ahead, every snapshot is refused: nothing is launched on its word', async () => {
    const r = await runSkewed(300);
    expect(r.violations).toEqual([]);
    expect(r.stats.snapshotsPublished).toBeGreaterThan(0);
    expect(r.stats.futureSnapshotsRejected).toBe(r.stats.snapshotsPublished);
    expect(r.stats.instancesLaunched).toBe(0);
  });

  it('beyond it behind, snapshots are dated by their receive time and the burst is still served', async () => {
    const r = await runSkewed(-300);
    expect(r.violations).toEqual([]);
    expect(r.stats.futureSnapshotsRejected).toBe(0);
    expect(r.stats.instancesLaunched).toBeGreaterThan(0);
    expect(r.stats.pendingAtEnd).toBe(0);
  });
});
