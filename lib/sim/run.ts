/**
 * Glue between files and the engine, shared by `k3s-burst simulate` and `k3s-burst demo`:
 * resolve the config (flag > inline > built-in), run, write `report.html` + `summary.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../core/index.js';
import { type Config, ValidationError } from '../events/index.js';
import { DEFAULT_CONFIG } from './defaults.js';
import { type SimResult, simulate } from './engine.js';
import { renderReportHtml } from './report.js';
import { parseScenario, readJsonFile, type Scenario } from './scenario.js';
import { type Summary, summarize } from './summary.js';

/** Config problems as paths of the scenario file: `$.limits` → `$.config.limits`. */
function underConfig(problems: ValidationError['problems']): ValidationError['problems'] {
  return problems.map((p) => ({ ...p, path: `$.config${p.path.slice(1)}` }));
}

/**
 * The config a scenario runs with: `--config` file contents if given, else the scenario's
 * inline `config` (errors are reported under `$.config…` of the scenario file), else the
 * built-in example config.
 */
export function resolveConfig(
  scenario: Scenario,
  scenarioName: string,
  configFile?: { raw: unknown; path: string },
): { config: Config; name: string } {
  if (configFile) return { config: loadConfig(configFile.raw, configFile.path), name: configFile.path };
  if (scenario.config !== undefined) {
    try {
      return { config: loadConfig(scenario.config, scenarioName), name: `${scenarioName} (inline config)` };
    } catch (err) {
      if (err instanceof ValidationError) {
        throw new ValidationError(err.what, underConfig(err.problems));
      }
      throw err;
    }
  }
  return { config: loadConfig(DEFAULT_CONFIG, 'built-in example config'), name: 'built-in example config' };
}

/**
 * Load a scenario file and the config it runs with. When the scenario is invalid, its inline
 * config (or the `--config` file) is checked too, so one run lists every bad field at once.
 */
export function loadScenarioAndConfig(
  scenarioPath: string,
  configFile?: { raw: unknown; path: string },
): { scenario: Scenario; config: Config; configName: string } {
  const raw = readJsonFile(scenarioPath);
  let scenario: Scenario;
  try {
    scenario = parseScenario(raw, scenarioPath);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    // With --config the config file is its own file and gets its own error once the scenario parses.
    const inline = (raw as { config?: unknown } | null)?.config;
    if (configFile || inline === undefined) throw err;
    const problems = [...err.problems];
    try {
      loadConfig(inline, scenarioPath);
    } catch (cfgErr) {
      if (!(cfgErr instanceof ValidationError)) throw cfgErr;
      problems.push(...underConfig(cfgErr.problems));
    }
    throw new ValidationError(scenarioPath, problems);
  }
  const { config, name } = resolveConfig(scenario, scenarioPath, configFile);
  return { scenario, config, configName: name };
}

export interface RunOutput {
  result: SimResult;
  summary: Summary;
  reportPath?: string;
  summaryPath?: string;
}

/** Run a scenario and, when `outDir` is set, write report.html and summary.json there. */
export async function runScenario(opts: {
  scenario: Scenario;
  config: Config;
  configName: string;
  seed: number;
  hours?: number;
  outDir?: string;
  onProgress?: (fraction: number) => void;
}): Promise<RunOutput> {
  const result = await simulate({
    scenario: opts.scenario,
    config: opts.config,
    seed: opts.seed,
    hours: opts.hours,
    onProgress: opts.onProgress,
  });
  const summary = summarize(result);
  if (!opts.outDir) return { result, summary };
  mkdirSync(opts.outDir, { recursive: true });
  const reportPath = join(opts.outDir, 'report.html');
  const summaryPath = join(opts.outDir, 'summary.json');
  writeFileSync(reportPath, renderReportHtml(result, summary, { configName: opts.configName }));
  writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  return { result, summary, reportPath, summaryPath };
}

/**
 * A text progress bar for a terminal: `[#########-----------]  45%  <label>`, redrawn in
 * place when the whole percent changes and cleared at 100 %.
 */
export function textProgress(write: (text: string) => void, width = 30) {
  let last = -1;
  return (fraction: number, label: string): void => {
    const pct = Math.floor(fraction * 100);
    if (pct === last) return;
    last = pct;
    const filled = Math.round(fraction * width);
    write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${label}`);
    if (fraction >= 1) write('\r\x1b[2K');
  };
}

/** The simulation's progress bar for stderr: `[#########-----------]  45%  10:48 simulated`. */
export function progressBar(write: (text: string) => void, startMs: number, spanMs: number, width = 30) {
  const bar = textProgress(write, width);
  return (fraction: number): void =>
    bar(fraction, `${new Date(startMs + fraction * spanMs).toISOString().slice(11, 16)} simulated`);
}
