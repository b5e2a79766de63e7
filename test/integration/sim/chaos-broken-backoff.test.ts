/**
 * The chaos runner must catch a launch backoff that is dropped (I10). Here reconcile and launch
 * run with a state port that forgets every backoff — `listBackoffs` finds none, `putBackoff`
 * stores nothing — injected the way chaos-broken-lease.test.ts removes the lease, lib/control
 * itself untouched. A launch setup whose instances never register (or an EC2 quota that refuses
 * launches) is then tried again at once, and the run must report I10 and exit 1.
 */
import { describe, expect, it, vi } from 'vitest';
import type * as Control from '../../../lib/control/index.js';
import type { StatePort } from '../../../lib/core/ports.js';
import { fakeIo, tmpDir } from './helpers.js';

vi.mock('../../../lib/control/index.js', async (importOriginal) => {
  const control = await importOriginal<typeof Control>();
  const forgetful = (state: StatePort): StatePort =>
    Object.assign(Object.create(state) as StatePort, {
      listBackoffs: async () => [],
      putBackoff: async () => undefined,
    });
  const reconcile: typeof control.reconcile = (input, deps, invocation) =>
    control.reconcile(input, { ...deps, state: forgetful(deps.state) }, invocation);
  const launch: typeof control.launch = (input, deps, opts) =>
    control.launch(input, { ...deps, state: forgetful(deps.state) }, opts);
  return { ...control, reconcile, launch };
});

const { run } = await import('../../../lib/cli/simulate.js');

describe('k3s-burst simulate --chaos with the launch backoff dropped', () => {
  it('exits 1 and reports I10 (a failing setup or quota retried before its backoff ends)', async () => {
    const io = fakeIo(tmpDir());
    // Seeds 13 and 16 have a launch setup that never registers for a while; with the backoff they
    // hold every invariant (chaos-1.test.ts runs them at 1 h), 14 and 15 hold it either way. (A
    // quota retried too early is detected the same way: test/unit/sim/invariants.test.ts.)
    // One thread: vi.mock replaces lib/control in this thread only, not in worker threads.
    const code = await run(
      ['--chaos', '--seeds', '4', '--from-seed', '13', '--hours', '1', '--workers', '1'],
      io,
    );
    expect(code).toBe(1);
    expect(io.out).toContain('2 seed(s) violated invariants');
    expect(io.out).toMatch(
      /seed 13: .*\n.*I10 \(a failing launch setup or quota is retried only with bounded, growing backoff\): launch setup c7g\.2xlarge ami-\w+ spot launched again \(i-\w+\) 2m after its failure #1 in a row; the backoff \(launch\.backoff\) allows it only after 5m/,
    );
    expect(io.out).toMatch(
      /I10 \([^)]*\): launch setup t4g\.medium ami-\w+ spot launched again \(i-\w+\) 40s after its failure #1 in a row; the backoff \(launch\.backoff\) allows it only after 5m/,
    );
    expect(io.out).toContain('reproduce: k3s-burst simulate --chaos --seeds 1 --from-seed 16 --hours 1');
  }, 300_000);
});
