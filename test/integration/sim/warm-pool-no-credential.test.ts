/**
 * A warm start whose user data holds no fresh join credential (here: the launch Lambda's
 * renderer is broken on purpose) fails closed on the node: the warm-start unit refuses, the
 * kubelet never registers, and the shipped control plane terminates the member as never
 * registered (I3) — nothing is left billed, no invariant breaks. Its own file: `vi.mock`
 * replaces the renderer for every test in the file.
 */
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../lib/core/index.js';
import { DEFAULT_SCENARIO, demoWarmPoolConfig } from '../../../lib/sim/defaults.js';
import { simulate } from '../../../lib/sim/engine.js';
import { parseScenario, withStartup } from '../../../lib/sim/scenario.js';

vi.mock('../../../lib/userdata/render.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../lib/userdata/render.js')>();
  return { ...real, renderWarmStartUserData: () => '#!/bin/sh\n# no credential\n' };
});

describe('a warm start without a fresh join credential', () => {
  it('never registers, is terminated as never registered, and breaks no invariant', async () => {
    const scenario = withStartup(parseScenario(DEFAULT_SCENARIO, 'demo'), 'prebaked');
    const config = loadConfig(demoWarmPoolConfig(), 'demo warm pool');
    const r = await simulate({ scenario, config, seed: 1 });
    expect(r.stats.warmStarts).toBeGreaterThan(0);
    expect(r.stats.warmStartsFailed).toBe(r.stats.warmStarts);
    expect(r.violations).toEqual([]);
    const terminated = r.decisions.flatMap((d) => d.terminations.map((t) => t.reason));
    expect(terminated.some((t) => /has registered \(registrationTimeoutSeconds=900\)/.test(t))).toBe(true);
    expect(r.stats.pendingAtEnd).toBe(0);
  });
});
