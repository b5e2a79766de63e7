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
    // Seed 42: a schedule's lower max drains (scheduleScaleDown=wait, so voluntarily) a node with a
    // cloud-web replica whose PDB allows no second eviction; it holds every invariant with the real
    // rule (chaos-1.test.ts runs it at 1 h).
    const code = await run(['--chaos', '--seeds', '1', '--from-seed', '42', '--hours', '1'], io);
    expect(code).toBe(1);
    expect(io.out).toContain('1 seed(s) violated invariants');
    expect(io.out).toMatch(
      /I9 \(a voluntary disruption never ends a pod's run by force\): the instance of burst-\S+ stopped with \d+ workload pod\(s\) still running after a voluntary drain \(decision [\w-]+\): a voluntary disruption ended pods by force/,
    );
    // The timeline shows the schedule's drain passing its deadline and the forced termination (the
    // drain's own decision may fall outside the timeline's window, so its terminate line names it).
    expect(io.out).toMatch(/its drain \("drain burst-\S+ .*then terminate: the fleet exceeds schedule/);
    expect(io.out).toMatch(/terminate i-\w+ \(drain-timeout\)/);
    expect(io.out).toContain('reproduce: k3s-burst simulate --chaos --seeds 1 --from-seed 42 --hours 1');
  }, 300_000);
});
