/**
 * The warm pool in the simulator (issue 17 items 4–5): the shipped planner, reconcile and launch
 * fill, park, start and trim the pool in the simulated world; members register with the warming
 * taint of the shipped warm-mode script, cost only their volumes while stopped, and a started
 * member registers again as an ordinary node. I1–I11 hold throughout.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/core/index.js';
import { parkedMemberHourlyUsd } from '../../../lib/core/warm-pool.js';
import { WARMING_TAINT } from '../../../lib/sim/cloud-model.js';
import { DEFAULT_CONFIG, DEFAULT_SCENARIO, demoWarmPoolConfig } from '../../../lib/sim/defaults.js';
import { simulate } from '../../../lib/sim/engine.js';
import { parseScenario, withStartup } from '../../../lib/sim/scenario.js';
import { summarize } from '../../../lib/sim/summary.js';
import { previewInputFromConfig, renderUserDataPreview } from '../../../lib/userdata/render.js';

const scenario = withStartup(parseScenario(DEFAULT_SCENARIO, 'demo'), 'prebaked');

describe('the warm pool in the simulated world', () => {
  it('registers members with exactly the warming taint the rendered warm-mode script writes', () => {
    const config = loadConfig(demoWarmPoolConfig(), 'demo warm pool');
    const script = renderUserDataPreview({ ...previewInputFromConfig(config, 'on-demand'), warmPool: true });
    const ordinary = renderUserDataPreview(previewInputFromConfig(config, 'on-demand'));
    const taint = `${WARMING_TAINT.key}=${WARMING_TAINT.value}:${WARMING_TAINT.effect}`;
    expect(script).toContain(`"${taint}"`);
    expect(ordinary).not.toContain(taint);
  });

  it('fills the pool by day, starts members for the burst, parks them and trims the pool at night', async () => {
    const config = loadConfig(demoWarmPoolConfig(), 'demo warm pool');
    const r = await simulate({ scenario, config, seed: 1 });
    expect(r.violations).toEqual([]);
    const st = r.stats;
    // The day schedule asks for 4 members: launched in warm mode and parked (stopped)
    expect(st.warmPoolFills).toBeGreaterThanOrEqual(4);
    expect(st.warmParks).toBeGreaterThanOrEqual(4);
    // Burst pods got started members, and every started member registered again
    expect(st.warmStarts).toBeGreaterThan(0);
    expect(st.warmStartsFailed).toBe(0);
    const explained = r.decisions.flatMap((d) => d.explanations.map((e) => e.message));
    expect(explained.some((m) => /^start \d+ stopped warm-pool members? of c7g\.2xlarge/.test(m))).toBe(true);
    // Stopped members cost their volumes only: the hours they were parked at the gp3 price
    expect(st.parkedMemberHours).toBeGreaterThan(4 * 3);
    expect(st.parkedVolumeUsd).toBeCloseTo(st.parkedMemberHours * parkedMemberHourlyUsd(20), 6);
    const s = summarize(r);
    expect(s.cloud.costUsd.volumes).toBeCloseTo(st.parkedVolumeUsd, 3);
    expect(s.cloud.costUsd.total).toBeCloseTo(
      s.cloud.costUsd.spot + s.cloud.costUsd.onDemand + s.cloud.costUsd.volumes,
      3,
    );
    // The night schedule's warmPoolSize 0 terminated every member: none at the end
    expect(r.warmPoolAtEnd).toEqual([]);
    expect(explained.some((m) => m.includes('warmPoolSize'))).toBe(true);
  });

  it('lists the members alive at the end with their state, age and hourly cost', async () => {
    // A pool all day (warmPool.size, no schedule sizes) over 12 hours
    const raw = { ...demoWarmPoolConfig(), warmPool: { size: 2, instanceTypes: ['c7g.2xlarge'] } };
    raw.schedules = (raw.schedules ?? []).map(({ warmPoolSize: _w, ...rest }) => rest);
    const config = loadConfig(raw, 'pool all day');
    const r = await simulate({ scenario, config, seed: 2, hours: 12 });
    expect(r.violations).toEqual([]);
    expect(r.warmPoolAtEnd.length).toBe(2);
    for (const m of r.warmPoolAtEnd) {
      expect(m).toMatchObject({ instanceType: 'c7g.2xlarge', state: 'stopped' });
      expect(m.hourlyUsd).toBe(parkedMemberHourlyUsd(20));
      expect(m.ageSeconds).toBeGreaterThan(0);
      expect(m.ageSeconds).toBeLessThanOrEqual(12 * 3600);
    }
  });

  it('a pool makes burst pods wait less than the same image without one', async () => {
    const base = await simulate({ scenario, config: loadConfig(DEFAULT_CONFIG, 'example'), seed: 1 });
    const warm = await simulate({ scenario, config: loadConfig(demoWarmPoolConfig(), 'warm'), seed: 1 });
    const p50 = (ms: number[]) => [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)] ?? 0;
    expect(p50(warm.stats.capacityWaitsMs)).toBeLessThan(p50(base.stats.capacityWaitsMs));
  });
});
