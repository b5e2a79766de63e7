/**
 * The terminate use-case's decision, pure: after which drain outcomes an instance is ended at
 * once. `lib/control/terminate.ts` applies it to each NodeDrained; any other outcome (a blocked
 * or refused drain) leaves the drain record in place and reconcile terminates at the drain's
 * deadline, never earlier than the user allowed; `abandoned` keeps the instance.
 */
import type { NodeDrained } from '../events/index.js';

/** NodeDrained outcomes after which the instance is terminated at once. */
export const TERMINATE_AFTER: ReadonlySet<NodeDrained['outcome']> = new Set([
  'drained',
  'timed-out',
  'not-found',
]);
