/** Fault injection, seeds 101–200 (two files so vitest can run them in parallel): zero violations of I1–I11. */
import { describe, it } from 'vitest';
import { CHAOS_TEST_HOURS, expectNoViolations } from './chaos-run.js';

describe(`chaos seeds 101–200 (${CHAOS_TEST_HOURS} h each)`, () => {
  it('hold every invariant at every step', async () => {
    await expectNoViolations(101, 100);
  }, 300_000);
});
