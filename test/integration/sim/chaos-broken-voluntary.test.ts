/**
 * The chaos runner must catch a voluntary drain ended by force (I9). Here reconcile runs with a
 * state port whose drain records lose their disruption class — `listDrains` returns every drain
 * as involuntary — injected the way chaos-broken-lease.test.ts removes the lease, lib/control
 * itself untouched. The planner then terminates a node whose voluntary drain a PodDisruptionBudget
 * held past its deadline, with the held pod still on it, and the run must report I9 and exit 1.
 */
import { describe, expect, it, vi } from 'vitest';
import type * as Control from '../../../lib/control/index.js';
import type { StatePort } from '../../../lib/core/ports.js';
import { fakeIo, tmpDir } from './helpers.js';

vi.mock('../../../lib/control/index.js', async (importOriginal) => {
  const control = await importOriginal<typeof Control>();
  const classless = (state: StatePort): StatePort =>
    Object.assign(Object.create(state) as StatePort, {
      listDrains: async (cluster: string) =>
        (await state.listDrains(cluster)).map(({ disruption: _dropped, ...d }) => d),
    });
  const reconcile: typeof control.reconcile = (input, deps, invocation) =>
    control.reconcile(input, { ...deps, state: classless(deps.state) }, invocation);
  return { ...control, reconcile };
});

const { run } = await import('../../../lib/cli/simulate.js');

describe('k3s-burst simulate --chaos with voluntary drains forced at their deadline', () => {
  it('exits 1 and reports I9 (a voluntary disruption ended pods by force)', async () => {
    const io = fakeIo(tmpDir());
    // Seed 29: a voluntary drain whose pods cannot all be evicted by its deadline; it holds every
    // invariant with the real rule (chaos-1.test.ts runs it at 1 h).
    // One thread: vi.mock replaces lib/control in this thread only, not in worker threads.
    const code = await run(
      ['--chaos', '--seeds', '1', '--from-seed', '29', '--hours', '1', '--workers', '1'],
      io,
    );
    expect(code).toBe(1);
    expect(io.out).toContain('1 seed(s) violated invariants');
    expect(io.out).toMatch(
      /I9 \(a voluntary disruption never ends a pod's run by force\): the instance of burst-\S+ stopped with \d+ workload pod\(s\) still running after a voluntary drain \(decision [\w-]+\): a voluntary disruption ended pods by force/,
    );
    // The timeline shows the agent giving the node back at the deadline (uncordon), then the
    // planner, told the drain was involuntary, terminating it with its pods.
    expect(io.out).toMatch(/uncordon burst-\S+\n.*terminate i-\w+ \(drain-timeout\)/);
    expect(io.out).toContain('reproduce: k3s-burst simulate --chaos --seeds 1 --from-seed 29 --hours 1');
  }, 300_000);
});
