/**
 * The report a user opens renders: load report.html in headless Chromium (Debian's
 * `chromium`, installed by .ci/run) and check that the charts are drawn with the expected
 * series and the decision timeline is there.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { loadScenarioAndConfig, runScenario } from '../../../lib/sim/run.js';
import { smallScenario, tmpDir, writeScenario } from './helpers.js';

/** The bits of SVGPolylineElement used in page functions (the project's tsconfig has no DOM lib). */
interface SvgShape {
  getBBox(): { width: number; height: number };
  getBoundingClientRect(): { width: number; height: number };
  points: { numberOfItems: number; getItem(i: number): { x: number; y: number } };
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('report.html in headless Chromium', () => {
  it('draws pending pods, on-prem nodes, cloud nodes and cost, and lists the decisions', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's "chromium" package (apt-get install chromium) or set CHROMIUM_PATH`,
      );
    }
    const dir = tmpDir();
    const path = writeScenario(dir, smallScenario({ hours: 1.5 }));
    const { scenario, config, configName } = loadScenarioAndConfig(path);
    const out = await runScenario({ scenario, config, configName, seed: 1, outDir: join(dir, 'out') });
    expect(out.reportPath).toBeDefined();

    // --in-process-gpu: on this kind of machine (no GPU device) Debian's Chromium 156 exits at start with
    // "GPU process isn't usable" when the GPU runs as its own process (with or without --disable-gpu).
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--in-process-gpu'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(pathToFileURL(out.reportPath as string).href);

      const series = await page.$$eval('polyline[data-series]', (els) =>
        els.map((el) => {
          const box = (el as unknown as SvgShape).getBBox();
          return {
            id: el.getAttribute('data-series'),
            points: (el as unknown as SvgShape).points.numberOfItems,
            width: box.width,
            visible: (el as unknown as SvgShape).getBoundingClientRect().width > 0,
          };
        }),
      );
      const byId = new Map(series.map((s) => [s.id, s]));
      for (const id of ['pending-pods', 'onprem-nodes', 'cloud-nodes', 'cumulative-cost']) {
        const s = byId.get(id);
        expect(s, `series ${id}`).toBeDefined();
        expect(s?.points, `points of ${id}`).toBeGreaterThan(10);
        expect(s?.width, `drawn width of ${id}`).toBeGreaterThan(100);
        expect(s?.visible, `${id} on screen`).toBe(true);
      }
      // Three charts, each laid out with a non-zero size.
      const charts = await page.$$eval('svg.chart', (els) =>
        els.map((el) => ({
          id: el.id,
          ...(({ width, height }) => ({ width, height }))(el.getBoundingClientRect()),
        })),
      );
      expect(charts.map((c) => c.id)).toEqual(['chart-pods', 'chart-nodes', 'chart-cost']);
      for (const c of charts) expect(c.width * c.height).toBeGreaterThan(0);

      // The cloud series actually rises above zero (its path is not flat on the axis).
      const cloudYs = await page.$eval('polyline[data-series="cloud-nodes"]', (el) =>
        Array.from(
          { length: (el as unknown as SvgShape).points.numberOfItems },
          (_, i) => (el as unknown as SvgShape).points.getItem(i).y,
        ),
      );
      expect(new Set(cloudYs).size).toBeGreaterThan(1);

      // The decision timeline, with the planner's explanations.
      const rows = await page.$$eval('#decisions tr.decision', (els) =>
        els.map((el) => el.textContent ?? ''),
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.some((r) => /launch/.test(r))).toBe(true);
      expect(await page.textContent('#summary')).toMatch(/small-burst|pods/i);
      expect(await page.textContent('body')).toContain('All eight safety invariants held');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
