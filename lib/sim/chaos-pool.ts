/**
 * Chaos seeds on worker threads: seeds are independent, so `simulate --chaos` runs them on
 * several cores at once (the throughput a user gets) and hands the outcomes back in seed order.
 * Whatever the number of threads, each seed gives the same outcome and the caller sees the same
 * sequence: parallelism changes only the wall time.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ChaosOutcome } from './chaos.js';

/** What the parent asks a worker: run one seed. */
export interface PoolRequest {
  seed: number;
  hours: number;
}

/** A worker's answer for one seed: its outcome, or the error the run threw. */
export type PoolReply =
  | { seed: number; outcome: ChaosOutcome }
  | { seed: number; error: { message: string; stack?: string } };

/** Default thread count of `simulate --chaos`: the cores this process may use. */
export function defaultChaosWorkers(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Seeds handed out beyond the oldest one not yet reported, per worker: bounds the outcomes held
 * back while a slow seed finishes (memory), while keeping every thread busy.
 */
const AHEAD_PER_WORKER = 4;

/**
 * The worker's module and how to load it. The simulator runs as TypeScript through tsx (the CLI
 * registers it; vitest transforms on its own), so a worker started from a `.ts` module loads
 * tsx's ESM hooks first; `tsx` is resolved from this file, not from the user's directory.
 */
function workerEntry(): { url: URL; execArgv?: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(ts ? './chaos-worker.ts' : './chaos-worker.js', import.meta.url);
  if (!ts) return { url };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { url, execArgv: ['--import', tsx] };
}

/**
 * Run seeds `from … from+count-1` on `workers` threads. `onOutcome` is called once per seed in
 * seed order (as a sequential run would call it); returning `false` stops the run (seeds still
 * running are discarded). A seed whose run throws rejects with the seed and the worker's error.
 */
export async function runSeedsOnWorkers(opts: {
  from: number;
  count: number;
  hours: number;
  workers: number;
  onOutcome: (outcome: ChaosOutcome) => boolean;
}): Promise<void> {
  const { from, count, hours, onOutcome } = opts;
  if (!Number.isInteger(opts.workers) || opts.workers < 1) {
    throw new RangeError(`workers must be an integer ≥ 1 (got ${opts.workers})`);
  }
  const end = from + count;
  const threads = Math.min(opts.workers, count);
  if (threads === 0) return;
  const entry = workerEntry();
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = from;
      let expected = from;
      let done = false;
      const held = new Map<number, PoolReply>();
      const idle: Worker[] = [];
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        if (err) reject(err);
        else resolve();
      };
      const dispatch = () => {
        while (!done && idle.length > 0 && next < end && next < expected + threads * AHEAD_PER_WORKER) {
          const w = idle.pop() as Worker;
          w.postMessage({ seed: next++, hours } satisfies PoolRequest);
        }
      };
      const onReply = (w: Worker, reply: PoolReply) => {
        if (done) return;
        held.set(reply.seed, reply);
        idle.push(w);
        for (let r = held.get(expected); r !== undefined && !done; r = held.get(expected)) {
          held.delete(expected);
          expected++;
          if ('error' in r) {
            const err = new Error(`chaos seed ${r.seed} failed in a worker thread: ${r.error.message}`);
            if (r.error.stack) err.stack = `${err.message}\n${r.error.stack}`;
            return finish(err);
          }
          if (!onOutcome(r.outcome)) return finish();
        }
        if (expected >= end) return finish();
        dispatch();
      };
      for (let i = 0; i < threads; i++) {
        const w = new Worker(entry.url, entry.execArgv ? { execArgv: entry.execArgv } : {});
        workers.push(w);
        w.on('message', (reply: PoolReply) => onReply(w, reply));
        w.on('error', (err) =>
          finish(new Error(`chaos worker thread failed: ${err.message}`, { cause: err })),
        );
        w.on('exit', (code) => finish(new Error(`chaos worker thread exited early (code ${code})`)));
        idle.push(w);
      }
      dispatch();
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
