import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../../../lib/cli/io.js';
import { CLOUD_TOLERATION, DEFAULT_CONFIG } from '../../../lib/sim/defaults.js';
import type { ScenarioInput } from '../../../lib/sim/scenario.js';

export const root = join(import.meta.dirname, '..', '..', '..');
export const scenariosDir = join(root, 'examples', 'scenarios');

export type TestIo = CliIo & { out: string; err: string };

/** A CLI io capturing stdout/stderr. */
export function fakeIo(cwd: string, isTTY = false): TestIo {
  const io: TestIo = {
    out: '',
    err: '',
    cwd,
    env: {},
    isTTY,
    stdout: (t) => {
      io.out += t;
    },
    stderr: (t) => {
      io.err += t;
    },
  };
  return io;
}

export function tmpDir(prefix = 'k3s-burst-sim-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A small, fast scenario (1 h, one Pi, a burst that needs the cloud) with an inline config:
 * the demo config with fewer candidate types, tighter limits and scale-in, and no schedules
 * (the planner's cron evaluation is what makes long runs slow).
 */
export function smallScenario(over: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    name: 'small-burst',
    start: '2026-03-16T08:00:00Z',
    hours: 1,
    config: {
      ...DEFAULT_CONFIG,
      nodes: { ...DEFAULT_CONFIG.nodes, candidateTypes: ['t4g.large', 'm7g.large', 'c7g.xlarge'] },
      limits: { ...DEFAULT_CONFIG.limits, maxNodes: 4 },
      scaleIn: {
        emptyAfterSeconds: 120,
        delayAfterScaleOutSeconds: 120,
        maxConcurrentDrains: 2,
        drainTimeoutSeconds: 300,
      },
      schedules: [],
    },
    onPrem: [{ name: 'pi-1', cpuMilli: 4000, memoryMiB: 7800 }],
    workloads: [
      {
        kind: 'burst',
        name: 'ci',
        at: '08:10',
        pods: 10,
        spreadSeconds: 10,
        cpuMilli: 1000,
        memoryMiB: 2048,
        duration: { medianSeconds: 600, sigma: 0.3 },
        tolerations: [CLOUD_TOLERATION],
      },
    ],
    ...over,
  } as ScenarioInput;
}

export function writeScenario(dir: string, scenario: unknown, name = 'scenario.json'): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(scenario, null, 2));
  return path;
}
