/**
 * The config reference in docs/operations.md ("Validation: strictness, errors, limits")
 * against the code: the limits and the exit code it states are the validator's constants,
 * and its example error lines are what the validator prints for that mistake.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../lib/cli/io.js';
import {
  CONFIG_ERROR_EXIT_CODE,
  ConfigError,
  formatProblem,
  MAX_CONFIG_BYTES,
  MAX_CONFIG_DEPTH,
  MAX_CONFIG_VALUES,
  validateConfig,
} from '../../../lib/events/index.js';

const root = join(import.meta.dirname, '..', '..', '..');
const doc = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');
const section = doc.slice(
  doc.indexOf('### Validation: strictness, errors, limits'),
  doc.indexOf('### Changing the config safely'),
);

describe('docs/operations.md config validation reference', () => {
  it('states the validator limits and the exit code the commands use', () => {
    expect(section).toContain(`at most ${MAX_CONFIG_BYTES} bytes`);
    expect(section).toContain(`at most ${MAX_CONFIG_DEPTH} levels deep`);
    expect(section).toContain(`at most ${MAX_CONFIG_VALUES} values`);
    expect(section).toContain(`exit with code **${CONFIG_ERROR_EXIT_CODE}**`);
    expect(CONFIG_ERROR_EXIT_CODE).toBe(ExitCode.usage);
  });

  it('shows the problem lines the validator prints for its example mistakes', () => {
    // Given the example config with the two mistakes of the doc's example
    const config = JSON.parse(readFileSync(join(root, 'examples', 'k3s-burst.config.json'), 'utf8'));
    config.schedule = config.schedules;
    delete config.schedules;
    config.nodes.candidateTypes = ['t4g.mediun'];
    // When it is validated
    let printed: string[] = [];
    try {
      validateConfig(config, 'k3s-burst.config.json');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      printed = err.problems.map(formatProblem);
    }
    // Then the doc shows exactly those lines
    const shown = section
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('$.'));
    expect(shown).toHaveLength(2);
    expect(printed.sort()).toEqual([...shown].sort());
  });
});
