/**
 * The config check of EC2's 16 KB user-data limit, made with the renderer itself on every
 * script the config makes nodes run: the ordinary script for each capacity type, and — when a
 * warm pool is asked for (`warmPool.size` or a schedule's `warmPoolSize` above 0) — the
 * warm-mode script, which is about 3.1 KB larger (the warm-start unit and its script, the taints
 * drop-in). Without it a config near the limit deploys and then every launch, or every pool
 * fill, fails at render time in the launch Lambda. `cdk synth` runs it (lib/infra/config-file.ts).
 */
import type { Config, FieldProblem } from '../events/index.js';
import { UserDataError, UserDataTooLargeError } from './errors.js';
import { previewInputFromConfig, renderUserDataPreview, USER_DATA_MAX_BYTES } from './render.js';

/** What grows the script with the config, in the order the fix names them. */
const GROWERS = ['nodes.labels', 'nodes.taints', 'tailscale.tags'] as const;
const FIX = 'use fewer or shorter nodes.labels, nodes.taints or tailscale.tags';

/** Size of the preview (longest secrets accepted), or the error the renderer refused it with. */
function render(config: Config, capacityType: Config['nodes']['capacityTypes'][number], warmPool: boolean) {
  try {
    renderUserDataPreview({ ...previewInputFromConfig(config, capacityType), warmPool });
    return undefined;
  } catch (err) {
    if (err instanceof UserDataError) return err;
    throw err;
  }
}

/** The setting that takes the most room in the script: the field a too-large problem names. */
function largestGrower(config: Config): string {
  const sizes: Record<(typeof GROWERS)[number], number> = {
    'nodes.labels': JSON.stringify(config.nodes.labels).length,
    'nodes.taints': JSON.stringify(config.nodes.taints).length,
    'tailscale.tags': JSON.stringify(config.tailscale.tags).length,
  };
  return GROWERS.reduce((a, b) => (sizes[b] > sizes[a] ? b : a));
}

/** Where the warm pool is asked for: `warmPool.size`, else the first schedule with a `warmPoolSize`. */
function warmPoolField(config: Config): { path: string; received: string } | undefined {
  if (config.warmPool.size > 0) return { path: '$.warmPool.size', received: String(config.warmPool.size) };
  const i = config.schedules.findIndex((s) => (s.warmPoolSize ?? 0) > 0);
  if (i < 0) return undefined;
  return { path: `$.schedules[${i}].warmPoolSize`, received: String(config.schedules[i]?.warmPoolSize) };
}

/**
 * Problems (config-validator format) of a config whose node user data EC2 would refuse: over
 * {@link USER_DATA_MAX_BYTES} with the longest secrets the launch accepts, or refused by the
 * renderer for another reason. Empty when every script the config can launch fits. The warm-mode
 * script is checked only when the ordinary one fits (a pool cannot fix an ordinary problem).
 */
export function userDataSizeProblems(config: Config): FieldProblem[] {
  for (const capacityType of new Set(config.nodes.capacityTypes)) {
    const err = render(config, capacityType, false);
    if (err instanceof UserDataTooLargeError) {
      return [
        {
          path: `$.${largestGrower(config)}`,
          message: `the user data of a ${capacityType} node renders to ${err.sizeBytes} bytes with the longest secrets accepted, over the EC2 limit of ${USER_DATA_MAX_BYTES} bytes by ${err.sizeBytes - USER_DATA_MAX_BYTES}, so every launch would fail: ${FIX}`,
        },
      ];
    }
    if (err) return [{ path: '$.nodes', message: `the node user data cannot be rendered: ${err.message}` }];
  }
  const pool = warmPoolField(config);
  if (!pool) return [];
  // Members are on-demand (lib/core/warm-pool.ts), so their label says so.
  const err = render(config, 'on-demand', true);
  if (err instanceof UserDataTooLargeError) {
    return [
      {
        ...pool,
        message: `warm-pool members get the warm-mode user data (with the warm-start unit and script and the taints drop-in), which renders to ${err.sizeBytes} bytes with the longest secrets accepted, over the EC2 limit of ${USER_DATA_MAX_BYTES} bytes by ${err.sizeBytes - USER_DATA_MAX_BYTES}, so every warm-pool fill would fail at launch: ${FIX} (${largestGrower(config)} takes the most room), or set warmPool.size and every schedule warmPoolSize to 0`,
      },
    ];
  }
  if (err) return [{ ...pool, message: `the warm-mode user data cannot be rendered: ${err.message}` }];
  return [];
}
