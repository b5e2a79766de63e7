/**
 * `simulate --chaos` must fail loudly when the control plane misbehaves. The real planner (the
 * module lib/control's reconcile imports) is wrapped so that every plan made on a snapshot also
 * drains the first on-prem node — the worst thing k3s-burst could do (I2). The plan then travels
 * the real path (journal, DrainNode on the bus, the rules, the agent). The run must exit 1 and
 * print the seed, the violation, a timeline and the command that reproduces it.
 */
import { describe, expect, it, vi } from 'vitest';
import type * as Plan from '../../../lib/core/plan.js';
import { fakeIo, tmpDir } from './helpers.js';

vi.mock('../../../lib/core/plan.js', async (importOriginal) => {
  const core = await importOriginal<typeof Plan>();
  return {
    ...core,
    planCluster: (input: Parameters<typeof Plan.planCluster>[0]) => {
      const plan = core.planCluster(input);
      const pi = input.snapshot?.nodes.find((n) => !n.name.startsWith('burst-'));
      if (!pi) return plan;
      return {
        ...plan,
        drains: [
          ...plan.drains,
          {
            nodeName: pi.name,
            instanceId: 'i-0123456789abcdef0',
            reason: 'injected fault: drain an on-prem node',
            deadline: new Date(input.now.getTime() + 600_000).toISOString(),
          },
        ],
      };
    },
  };
});

const { run } = await import('../../../lib/cli/simulate.js');

describe('k3s-burst simulate --chaos with an injected planner fault', () => {
  it('exits 1 and prints the seed, the violated invariant, a timeline and how to reproduce', async () => {
    const io = fakeIo(tmpDir());
    // One thread: vi.mock replaces lib/control in this thread only, not in worker threads.
    const code = await run(
      ['--chaos', '--seeds', '2', '--from-seed', '11', '--hours', '0.5', '--workers', '1'],
      io,
    );
    expect(code).toBe(1);
    expect(io.out).toContain('2 seed(s) violated invariants');
    expect(io.out).toMatch(/\nseed 11: \d+ violation\(s\)/);
    expect(io.out).toMatch(/\nseed 12: \d+ violation\(s\)/);
    expect(io.out).toMatch(
      /I2 \(no on-prem node is ever cordoned, drained, deleted or terminated\): drain-requested of on-prem node pi-1/,
    );
    expect(io.out).toMatch(/timeline:\n {4}2026-03-16 \d\d:\d\d:\d\d /);
    expect(io.out).toContain('drain-requested pi-1 (ON-PREM)');
    expect(io.out).toContain('reproduce: k3s-burst simulate --chaos --seeds 1 --from-seed 11 --hours 0.5');
    // The timeline is short enough to read.
    const timeline = io.out.split('timeline:\n')[1]?.split('\n  reproduce')[0] ?? '';
    expect(timeline.split('\n').length).toBeLessThanOrEqual(25);
  });

  it('a single scenario run exits 1 and lists the violation in the summary', async () => {
    const { writeScenario, smallScenario } = await import('./helpers.js');
    const dir = tmpDir();
    writeScenario(dir, smallScenario({ hours: 0.25 }));
    const io = fakeIo(dir);
    expect(await run(['--scenario', 'scenario.json', '--out', 'o'], io)).toBe(1);
    expect(io.out).toMatch(/Invariants +\d+ VIOLATION\(S\):/);
    expect(io.out).toContain('I2 (no on-prem node');
  });
});
