/**
 * The chaos runner must catch a broken rule in lib/control, not only in the planner. Here the
 * reconcile use-case is run with its single-writer lease removed — injected through its state
 * port (`acquireLease` always grants, `releaseLease` does nothing), lib/control itself untouched.
 * Chaos seeds that deliver a snapshot together with a scheduled tick then have two reconciles
 * deciding at once, and the run must report I11 and exit 1.
 */
import { describe, expect, it, vi } from 'vitest';
import type * as Control from '../../../lib/control/index.js';
import { fakeIo, tmpDir } from './helpers.js';

vi.mock('../../../lib/control/index.js', async (importOriginal) => {
  const control = await importOriginal<typeof Control>();
  const reconcile: typeof control.reconcile = (input, deps, invocation) =>
    control.reconcile(
      input,
      {
        ...deps,
        state: Object.assign(Object.create(deps.state) as typeof deps.state, {
          acquireLease: async () => true,
          releaseLease: async () => undefined,
        }),
      },
      invocation,
    );
  return { ...control, reconcile };
});

const { run } = await import('../../../lib/cli/simulate.js');

describe('k3s-burst simulate --chaos with the reconcile lease removed', () => {
  it('exits 1 and reports I11 (two reconciles decided at once) with the seed to reproduce it', async () => {
    const io = fakeIo(tmpDir());
    // Seeds 1–4 hold every invariant with the real lease (chaos-1.test.ts runs them at 1 h);
    // without it seeds 1 and 4 have a snapshot and a tick deciding at once.
    // One thread: vi.mock replaces lib/control in this thread only, not in worker threads.
    const code = await run(
      ['--chaos', '--seeds', '4', '--from-seed', '1', '--hours', '1', '--workers', '1'],
      io,
    );
    expect(code).toBe(1);
    expect(io.out).toContain('2 seed(s) violated invariants');
    expect(io.out).toMatch(
      /I11 \(exactly one writer of capacity[^)]*\): 2 of 2 concurrent reconciles decided: the single-writer lease did not hold/,
    );
    expect(io.out).toContain('2 reconciles ran at once, 2 decided');
    expect(io.out).toContain('reproduce: k3s-burst simulate --chaos --seeds 1 --from-seed 4 --hours 1');
  });
});
