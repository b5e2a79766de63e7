/**
 * A Lambda that dies between two steps of its use-case (a timeout, an out-of-memory kill): the
 * crash is injected through the world's ports right after a chosen call returned, so that call's
 * effect happened and nothing after it did, and the event is retried as Lambda retries an
 * asynchronous invocation. The next invocation must recover from exactly that state, with every
 * invariant holding.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/core/index.js';
import { type SimResult, simulate } from '../../../lib/sim/engine.js';
import { parseScenario, type ScenarioInput } from '../../../lib/sim/scenario.js';
import { smallScenario } from './helpers.js';

async function runWith(faults: ScenarioInput['faults']): Promise<SimResult> {
  const input = smallScenario({ faults });
  const scenario = parseScenario(input, 'crash test');
  const config = loadConfig(input.config, 'crash test config');
  return simulate({ scenario, config, seed: 7 });
}

describe('Lambda crashes between two steps of a use-case', () => {
  it('launch dies after RunInstances, before recording it: the retry reuses the instance by launch key', async () => {
    // Prepare
    const clean = await runWith({});
    // Act
    const r = await runWith({ lambdaCrashes: [{ fn: 'launch', after: 'fleet.launchOne', times: 1 }] });
    // Assess
    expect(r.stats.lambdaCrashes).toBe(1);
    expect(r.notes.some((n) => /launch failed \(SimulatedCrashError: .*fleet\.launchOne/.test(n.text))).toBe(
      true,
    );
    expect(clean.stats.launchReuses).toBe(0);
    expect(r.stats.launchReuses).toBeGreaterThanOrEqual(1);
    expect(r.stats.instancesLaunched).toBe(clean.stats.instancesLaunched);
    expect(r.violations).toEqual([]);
    expect(r.stats.pendingAtEnd).toBe(0);
  });

  it('reconcile dies holding the lease: later reconciles find it taken until it expires, then decide', async () => {
    const clean = await runWith({});
    const r = await runWith({ lambdaCrashes: [{ fn: 'reconcile', after: 'state.acquireLease', times: 1 }] });
    expect(r.stats.lambdaCrashes).toBe(1);
    expect(r.stats.duplicateDecisions).toBeGreaterThan(clean.stats.duplicateDecisions);
    expect(r.stats.instancesLaunched).toBeGreaterThan(0);
    expect(r.violations).toEqual([]);
    expect(r.stats.pendingAtEnd).toBe(0);
  });

  it('a crash point is used up only by invocations that reach the call', async () => {
    const r = await runWith({ lambdaCrashes: [{ fn: 'terminate', after: 'fleet.terminate', times: 2 }] });
    expect(r.stats.lambdaCrashes).toBe(2);
    expect(r.stats.instancesTerminated).toBeGreaterThan(0);
    expect(r.violations).toEqual([]);
  });

  it('random crashes after any port call of any Lambda leave every invariant holding', async () => {
    const r = await runWith({
      delivery: {
        latencyMs: 400,
        extraDelayMaxMs: 0,
        delayProbability: 0,
        duplicateProbability: 0,
        dropProbability: 0,
        concurrentReconcileProbability: 0,
        crashProbability: 0.3,
      },
    });
    expect(r.stats.lambdaCrashes).toBeGreaterThan(5);
    expect(r.violations).toEqual([]);
  });
});
