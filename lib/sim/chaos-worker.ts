/**
 * One chaos worker thread (started by lib/sim/chaos-pool.ts): runs the seeds its parent sends,
 * one at a time, and posts each outcome back. A seed's run depends only on the seed and the
 * simulated hours, so which thread runs it does not change its result.
 */
import { parentPort } from 'node:worker_threads';
import { runChaosSeed } from './chaos.js';
import type { PoolReply, PoolRequest } from './chaos-pool.js';

const port = parentPort;
if (!port) throw new Error('lib/sim/chaos-worker.ts runs only as a worker thread (started by runChaos)');

port.on('message', (req: PoolRequest) => {
  runChaosSeed(req.seed, req.hours).then(
    (outcome) => port.postMessage({ seed: req.seed, outcome } satisfies PoolReply),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({ seed: req.seed, error: { message: e.message, stack: e.stack } } satisfies PoolReply);
    },
  );
});
