import * as z from 'zod';
import { IsoTime } from './common.js';

/** Longest operator note kept with a pause (it is shown by `status` and journaled). */
export const PAUSE_REASON_MAX_CHARS = 200;

/**
 * The operator's emergency stop, stored in the state table by `k3s-burst pause` and removed
 * by `k3s-burst resume`. While it is set, reconcile launches nothing (warm capacity and
 * repairs included); with `drain` it also drains every managed node (a voluntary drain: the
 * Eviction API and PDBs hold, the drain deadline applies). Schedules and limits are untouched,
 * so resuming needs no redeploy.
 */
export const PauseState = z.object({
  /** When the pause was set (the CLI's clock). */
  since: IsoTime,
  /** Whether every managed node is drained too, not only launches stopped. */
  drain: z.boolean(),
  /** Who paused: the local user and host that ran the CLI (an audit hint, not an identity proof). */
  by: z.string().max(200),
  /** The operator's note (`--reason`), printable characters only. */
  reason: z.string().max(PAUSE_REASON_MAX_CHARS),
});
export type PauseState = z.infer<typeof PauseState>;
