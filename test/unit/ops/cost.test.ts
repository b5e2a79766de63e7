import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReconcileEvent } from '../../../lib/control/inputs.js';
import { reconcile } from '../../../lib/control/reconcile.js';
import { loadConfig } from '../../../lib/core/index.js';
import { parkedMemberHourlyUsd } from '../../../lib/core/warm-pool.js';
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

  it('adds the parked warm-pool members: the largest pool the config asks for, each its gp3 root volume', () => {
    const line = (e: ReturnType<typeof estimateCostAtRest>) =>
      e.lines.find((l) => l.item === 'Warm pool volumes');
    const none = estimateCostAtRest(defaults());
    expect(line(none)).toEqual({
      item: 'Warm pool volumes',
      how: "none: warmPool.size and every schedule's warmPoolSize are 0",
      monthlyUsd: 0,
    });
    expect(none.warmPoolMembers).toBe(0);

    const two = estimateCostAtRest(defaults({ warmPool: { size: 2 } }));
    expect(two.warmPoolMembers).toBe(2);
    expect(line(two)?.monthlyUsd).toBeCloseTo(2 * parkedMemberHourlyUsd(20) * 730, 10);
    expect(fmtUsd(line(two)?.monthlyUsd ?? 0)).toBe('$3.81');
    expect(line(two)?.how).toBe(
      '2 stopped members (warmPool.size, the largest pool asked for) × 20 GiB gp3 root volume × $0.0952 per GiB-month; no compute or public IPv4 while stopped',
    );
    expect(two.monthlyUsd - none.monthlyUsd).toBeCloseTo(line(two)?.monthlyUsd ?? NaN, 10);

    // A schedule asking for more than warmPool.size sets the bound; a bigger volume costs more.
    const scheduled = estimateCostAtRest(
      defaults({
        nodes: { rootVolumeGiB: 40 },
        warmPool: { size: 1 },
        schedules: [
          { name: 'night', cron: '0 20 * * *', maxNodes: 5, warmPoolSize: 0 },
          { name: 'day', cron: '0 7 * * *', maxNodes: 5, warmPoolSize: 3 },
        ],
      }),
    );
    expect(scheduled.warmPoolMembers).toBe(3);
    expect(line(scheduled)?.how).toContain(
      '3 stopped members (schedule "day" warmPoolSize, the largest pool asked for) × 40 GiB',
    );
    expect(line(scheduled)?.monthlyUsd).toBeCloseTo(3 * parkedMemberHourlyUsd(40) * 730, 10);
  });

  it('docs/operations.md states the warm pool volumes the code computes, and the status example adds up', () => {
    const doc = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
    const two = estimateCostAtRest(defaults({ warmPool: { size: 2 } }));
    const line = two.lines.find((l) => l.item === 'Warm pool volumes');
    const rest = doc.slice(doc.indexOf('## Cost at rest'), doc.indexOf('## Replaying a decision offline'));
    expect(rest.replace(/\s+/g, ' ')).toContain(
      `With \`"warmPool": { "size": 2 }\` it is 2 stopped members × 20 GiB gp3 root volume × $0.0952 per GiB-month = ${fmtUsd(line?.monthlyUsd ?? NaN)} a month.`,
    );

    // The `status` example is for the default config with that pool: its figures are the code's.
    const start = doc.indexOf('$ npx k3s-burst status');
    const example = doc.slice(start, doc.indexOf('```', start));
    expect(doc.slice(start, start + example.length + 80)).toContain(
      '(The default config with `"warmPool": { "size": 2 }`.)',
    );
    expect(example).toContain(
      `Cost at rest: about ${fmtUsd(two.monthlyUsd)}/month for this config, the volumes of 2 parked warm-pool members included`,
    );
    const each = parkedMemberHourlyUsd(20);
    expect(example).toContain(
      `Parked: 1 × $${each.toFixed(4)}/h (a 20 GiB gp3 root volume each; no compute, no public IPv4) = $${each.toFixed(4)}/h, ${fmtUsd(each * 730)}/month`,
    );
    const rows = example.split('\n');
    const running = rows.filter((r) => /^ {2}i-\w+ +running /.test(r)).length;
    const warming = rows.filter((r) => /^ {2}i-\w+ +warming /.test(r)).length;
    expect(warming).toBe(1);
    expect(example).toContain(
      `(${running + warming} running including 1 warming warm-pool member: +${fmtUsd((running + warming) * two.perRunningNodeMonthlyUsd)}/month)`,
    );
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
