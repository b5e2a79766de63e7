/** Fault injection, seeds 1–100 (two files so vitest can run them in parallel): zero violations of I1–I8. */
import { describe, it } from 'vitest';
import { CHAOS_TEST_HOURS, expectNoViolations } from './chaos-run.js';

describe(`chaos seeds 1–100 (${CHAOS_TEST_HOURS} h each)`, () => {
  it('hold every invariant at every step', async () => {
    await expectNoViolations(1, 100);
  }, 300_000);
});
