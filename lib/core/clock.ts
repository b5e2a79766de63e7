/**
 * The one clock of k3s-burst: the Lambdas' use-cases and adapters, the agent and the simulator
 * all take time through this interface, so tests and the simulator control it. Production uses
 * `systemClock` (lib/system/clock.ts, the one module that reads the wall clock); unit tests a manual clock (test/support/manual-clock.ts: time moves only
 * when told to); the simulator its virtual agenda (lib/sim/agent-host.ts `SimClock`).
 *
 * A component asks for the part it uses (`Pick<Clock, 'now'>` for a timestamp,
 * `Pick<Clock, 'now' | 'sleep'>` for a retry loop), so a test hands it no more than that.
 * Types only, like the rest of lib/core: Lambdas, agent and simulator may all depend on it.
 */

export interface Clock {
  /** Wall-clock milliseconds since the epoch. */
  now(): number;
  /** Run `fn` after `ms`; returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
  /** Resolve after `ms`, or early (without rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
