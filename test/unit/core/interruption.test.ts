/**
 * The interruption use-case's pure decisions (lib/core/interruption.ts): the drain deadline
 * and whether a new drain supersedes the recorded one. The use-case around them, through the
 * fakes, is tested in test/unit/control/interruption.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  drainDeadline,
  interruptionDrainDecision,
  MIN_DRAIN_MS,
  SPOT_DRAIN_MARGIN_MS,
  SPOT_NOTICE_MS,
} from '../../../lib/core/interruption.js';
import type { DrainInProgress } from '../../../lib/events/index.js';
import { NOW } from './fixtures.js';

const at = (ms: number) => new Date(NOW.getTime() + ms);

describe('drainDeadline', () => {
  it('ends a spot drain inside the two-minute notice, with the margin left for terminate', () => {
    const d = drainDeadline({ kind: 'spot-interruption', time: NOW.toISOString() }, at(5_000), 600);
    expect(d.getTime()).toBe(NOW.getTime() + SPOT_NOTICE_MS - SPOT_DRAIN_MARGIN_MS);
  });

  it('gives a rebalance recommendation the voluntary drain timeout from now', () => {
    const d = drainDeadline({ kind: 'rebalance', time: NOW.toISOString() }, at(5_000), 600);
    expect(d.getTime()).toBe(NOW.getTime() + 5_000 + 600_000);
  });

  it('never sets a deadline in the past, even for a late warning', () => {
    const now = at(300_000);
    const d = drainDeadline({ kind: 'spot-interruption', time: NOW.toISOString() }, now, 600);
    expect(d.getTime()).toBe(now.getTime() + MIN_DRAIN_MS);
  });
});

describe('interruptionDrainDecision', () => {
  const deadline = at(100_000);
  const recorded = (p: Partial<DrainInProgress>): DrainInProgress => ({
    nodeName: 'burst-i-0123456789abcdef0',
    instanceId: 'i-0123456789abcdef0',
    requestedAt: NOW.toISOString(),
    deadline: deadline.toISOString(),
    reason: 'r',
    decisionId: 'pi-lab-replace',
    disruption: 'involuntary',
    ...p,
  });

  it('requests a drain when none is recorded', () => {
    expect(interruptionDrainDecision(undefined, 'pi-lab-replace', deadline)).toEqual({
      drainRequested: true,
      sameAsRecorded: false,
    });
  });

  it('supersedes a voluntary drain, an abandoned one and a later deadline (I9)', () => {
    const other = 'pi-lab-scale-in';
    for (const existing of [
      recorded({ decisionId: other, disruption: 'voluntary', deadline: at(50_000).toISOString() }),
      recorded({ decisionId: other, abandonedAt: NOW.toISOString(), deadline: at(50_000).toISOString() }),
      recorded({ decisionId: other, deadline: at(200_000).toISOString() }),
    ]) {
      expect(interruptionDrainDecision(existing, 'pi-lab-replace', deadline)).toEqual({
        drainRequested: true,
        sameAsRecorded: false,
      });
    }
  });

  it('keeps an involuntary drain with an earlier deadline', () => {
    const existing = recorded({ decisionId: 'pi-lab-other', deadline: at(50_000).toISOString() });
    expect(interruptionDrainDecision(existing, 'pi-lab-replace', deadline).drainRequested).toBe(false);
  });

  it('sends a redelivered drain again without recording it again', () => {
    expect(interruptionDrainDecision(recorded({}), 'pi-lab-replace', deadline)).toEqual({
      drainRequested: true,
      sameAsRecorded: true,
    });
  });
});
