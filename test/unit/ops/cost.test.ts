import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReconcileEvent } from '../../../lib/control/inputs.js';
import { reconcile } from '../../../lib/control/reconcile.js';
import { loadConfig } from '../../../lib/core/index.js';
import { estimateCostAtRest, fmtUsd, PRICES_EU_CENTRAL_1, STACK_AT_REST } from '../../../lib/ops/cost.js';
import {
  fakeWorld,
  isoAgo,
  NOW,
  parseOk,
  snapshot,
  snapshotEvent,
  tickEvent,
} from '../../support/control.js';

/** The default config: only the required cluster fields. */
const defaults = (extra: Record<string, unknown> = {}) =>
  loadConfig(
    {
      cluster: {
        name: 'pi-lab',
        region: 'eu-central-1',
        k3sServerUrl: 'https://100.64.5.11:6443',
        k3sVersion: 'v1.32.6+k3s1',
      },
      ...extra,
    },
    'test config',
  );

/** The rows of docs/operations.md between the cost-at-rest markers: [item, how, amount]. */
function docRows(): { rows: string[][]; text: string } {
  const doc = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
  const heading = doc.indexOf('## Cost at rest');
  const start = doc.indexOf('<!-- cost-at-rest:start -->');
  const end = doc.indexOf('<!-- cost-at-rest:end -->');
  expect(heading).toBeGreaterThan(0);
  expect(start).toBeGreaterThan(heading);
  expect(end).toBeGreaterThan(start);
  const text = doc.slice(heading, end);
  const rows = doc
    .slice(start, end)
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l))
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim().replace(/\\\|/g, '|')),
    );
  return { rows: rows.slice(1), text };
}

describe('cost at rest', () => {
  it('docs/operations.md shows exactly the lines, the total and the price date the code computes for the default config', () => {
    const e = estimateCostAtRest(defaults());
    const { rows, text } = docRows();

    const expected = [
      ...e.lines.map((l) => [l.item, l.how, fmtUsd(l.monthlyUsd)]),
      ['**Total at rest**', '', `**${fmtUsd(e.monthlyUsd)}**`],
      ['each running node adds', `${730} h × $0.005 public IPv4`, fmtUsd(e.perRunningNodeMonthlyUsd)],
    ];
    expect(rows).toEqual(expected);
    expect(text).toContain(PRICES_EU_CENTRAL_1.asOf);
    expect(text).toContain(PRICES_EU_CENTRAL_1.region);
  });

  it('adds up its lines, and a running node adds its public IPv4 at $0.005 an hour', () => {
    const e = estimateCostAtRest(defaults());

    expect(e.monthlyUsd).toBeCloseTo(
      e.lines.reduce((a, l) => a + l.monthlyUsd, 0),
      10,
    );
    expect(e.perRunningNodeMonthlyUsd).toBeCloseTo(3.65, 10);
  });

  it('drops with a slower heartbeat: fewer snapshots mean fewer events, invocations and writes', () => {
    const fast = estimateCostAtRest(defaults());
    const slow = estimateCostAtRest(defaults({ agent: { heartbeatSeconds: 300, staleAfterSeconds: 900 } }));
    const line = (e: typeof fast, item: string) => e.lines.find((l) => l.item === item)?.monthlyUsd ?? NaN;

    expect(slow.monthlyUsd).toBeLessThan(fast.monthlyUsd);
    expect(line(slow, 'EventBridge events')).toBeCloseTo(line(fast, 'EventBridge events') / 5, 10);
    expect(line(slow, 'CloudWatch dashboard')).toBe(line(fast, 'CloudWatch dashboard'));
  });

  it('counts as custom metrics exactly those the real reconcile emits on an idle cluster', async () => {
    const w = fakeWorld({ config: defaults() });
    const input = (raw: unknown) => parseOk(parseReconcileEvent(raw, 'pi-lab'));

    await reconcile(input(snapshotEvent(snapshot({ seq: 1, observedAt: isoAgo(5) }))), w.deps, {
      requestId: 'a',
    });
    await reconcile(input(tickEvent(NOW.toISOString())), w.deps, { requestId: 'b' });

    const emitted = [...new Set(w.metrics.points.map((p) => p.name))].sort();
    expect(emitted).toEqual([...STACK_AT_REST.idleMetricNames].sort());
  });
});
