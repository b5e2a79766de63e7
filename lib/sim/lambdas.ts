/**
 * The control plane inside the simulator: the five Lambdas as they run in AWS — the same edge
 * parsers (`parse*Event`) and the same `lib/control` use-cases — wired to the world models of
 * `lib/sim/world` instead of the AWS adapters. Nothing here decides anything; it only invokes.
 *
 * An invocation that throws is retried like an asynchronous Lambda invocation (EventBridge →
 * Lambda): the simulator redelivers the same event after a delay, at most twice.
 *
 * A crash (a timeout or an out-of-memory kill) is injected through the ports: the invocation
 * dies right after a chosen port call returned, so that call's effect happened (RunInstances
 * launched, the lease was taken, the record was written) and nothing after it did. The retry
 * must recover from exactly that state.
 */
import {
  type ControlBase,
  type ControlMetricName,
  handleInterruption,
  type ImageResolver,
  type InterruptionResult,
  type JanitorReport,
  type LaunchResult,
  launch,
  parseInterruptionEvent,
  parseJanitorEvent,
  parseLaunchEvent,
  parseReconcileEvent,
  parseTerminateEvent,
  type ReconcileResult,
  reconcile,
  runJanitor,
  type TerminateResultOutcome,
  terminate,
} from '../control/index.js';
import type { Clock } from '../core/clock.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { BusPort, DeviceRegistryPort, FleetPort, SecretsPort, StatePort } from '../core/ports.js';
import type { Config } from '../events/index.js';

/** The functions of the stack that the simulator runs. */
export type LambdaName = 'reconcile' | 'launch' | 'terminate' | 'interruption' | 'janitor';

/** Asynchronous invocations are retried twice by Lambda, after about one and two minutes. */
export const LAMBDA_RETRY_DELAYS_MS: readonly number[] = [60_000, 120_000];

/**
 * The secret id of the K3s join token (k3s.joinCredential bootstrap-token) in the simulated
 * Secrets Manager. The simulated agent's own BootstrapTokenRotator keeps a token with a real
 * expiry there (lib/sim/agent-host.ts); launch refuses one that expired or runs short.
 */
export const SIM_AGENT_TOKEN_SECRET = 'k3s-burst/sim/k3s-bootstrap-token';

/** What one invocation did, for the simulator's trace and report. */
export type InvocationOutcome =
  | { fn: 'reconcile'; result: ReconcileResult }
  | { fn: 'launch'; result: LaunchResult }
  | { fn: 'terminate'; result: TerminateResultOutcome }
  | { fn: 'interruption'; result: InterruptionResult }
  | { fn: 'janitor'; result: JanitorReport }
  | { fn: LambdaName; rejected: string }
  | { fn: LambdaName; error: Error };

/** Metrics summed per name (a Lambda run emits many datapoints; the report wants totals). */
export class SummingMetrics implements Metrics<ControlMetricName> {
  readonly totals = new Map<ControlMetricName, number>();
  count(name: ControlMetricName, value = 1): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + value);
  }
  /** Gauges (latencies, ages) are not summed: the report measures those itself. */
  gauge(): void {}
  total(name: ControlMetricName): number {
    return this.totals.get(name) ?? 0;
  }
}

export interface SimLambdasOptions {
  config: Config;
  /** The simulator's true time (the control plane's clock). */
  clock: Pick<Clock, 'now'>;
  fleet: FleetPort;
  state: StatePort;
  devices: DeviceRegistryPort;
  secrets: SecretsPort;
  bus: BusPort;
  images?: ImageResolver;
  /** Logs are not kept by default: the simulator reports from outcomes and its own trace. */
  log?: Logger;
}

/** The invocation died (a timeout or an out-of-memory kill) after the port call `after` returned. */
export class SimulatedCrashError extends Error {
  constructor(readonly after: string) {
    super(`the invocation died after ${after} returned (injected crash)`);
    this.name = 'SimulatedCrashError';
  }
}

/**
 * Where an invocation dies: after its `afterCall`-th port call (1-based), or after the first call
 * of `after` (`port.method`, e.g. `fleet.launchOne`), whichever comes first.
 */
export interface CrashPoint {
  afterCall?: number;
  after?: string;
}

/** The port names a crash point may name (`fleet.launchOne`, `state.recordInFlight`, …). */
export const CRASH_PORTS = ['fleet', 'state', 'devices', 'secrets', 'bus'] as const;

/**
 * `port` with every method counted: `tick` throws to crash after the call returned, and once the
 * process is dead (`dead()`) no call starts — a use-case that catches the crash as a port error
 * cannot go on.
 */
function counted<T extends object>(
  port: T,
  name: string,
  tick: (call: string) => void,
  dead: () => SimulatedCrashError | undefined,
): T {
  return new Proxy(port, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const died = dead();
        if (died) throw died;
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        const call = `${name}.${String(prop)}`;
        if (r instanceof Promise) {
          return r.then((x) => {
            tick(call);
            return x;
          });
        }
        tick(call);
        return r;
      };
    },
  });
}

/** Invokes the real handlers' parse + use-case steps against the world's ports. */
export class SimLambdas {
  readonly metrics = new SummingMetrics();
  private readonly base: ControlBase;
  private requests = 0;

  constructor(private readonly o: SimLambdasOptions) {
    this.base = { config: o.config, clock: o.clock, log: o.log ?? silentLogger, metrics: this.metrics };
  }

  /**
   * Run one invocation of `fn` with `event` (an EventBridge envelope or a Scheduler input). With
   * `crash`, the invocation dies at that point (an error outcome with a {@link SimulatedCrashError}).
   */
  async invoke(fn: LambdaName, event: unknown, crash?: CrashPoint): Promise<InvocationOutcome> {
    const requestId = `sim-${fn}-${(++this.requests).toString(36)}`;
    let { fleet, state, devices, secrets, bus } = this.o;
    let crashed: SimulatedCrashError | undefined;
    if (crash) {
      let calls = 0;
      const tick = (call: string) => {
        calls++;
        if (!crashed && (calls === crash.afterCall || call === crash.after)) {
          crashed = new SimulatedCrashError(call);
          throw crashed;
        }
      };
      const dead = () => crashed;
      fleet = counted(fleet, 'fleet', tick, dead);
      state = counted(state, 'state', tick, dead);
      devices = counted(devices, 'devices', tick, dead);
      secrets = counted(secrets, 'secrets', tick, dead);
      bus = counted(bus, 'bus', tick, dead);
    }
    const outcome = await this.run(fn, event, requestId, { fleet, state, devices, secrets, bus });
    // Whatever the use-case made of it, a dead process returns nothing.
    return crashed ? { fn, error: crashed } : outcome;
  }

  private async run(
    fn: LambdaName,
    event: unknown,
    requestId: string,
    ports: Pick<SimLambdasOptions, 'fleet' | 'state' | 'devices' | 'secrets' | 'bus'>,
  ): Promise<InvocationOutcome> {
    const cluster = this.o.config.cluster.name;
    const { fleet, state, devices, secrets, bus } = ports;
    const images: ImageResolver = this.o.images ?? {
      imageFor: async (arch) => (arch === 'arm64' ? 'ami-0a1b2c3d4e5f60718' : 'ami-0f1e2d3c4b5a69788'),
    };
    try {
      switch (fn) {
        case 'reconcile': {
          const p = parseReconcileEvent(event, cluster);
          if (!p.ok) return { fn, rejected: p.reason };
          const result = await reconcile(p.input, { ...this.base, fleet, state, bus }, { requestId });
          return { fn, result };
        }
        case 'launch': {
          const p = parseLaunchEvent(event, cluster);
          if (!p.ok) return { fn, rejected: p.reason };
          const result = await launch(
            p.input,
            { ...this.base, fleet, state, bus, devices, secrets, images },
            { joinTokenSecretId: SIM_AGENT_TOKEN_SECRET },
          );
          return { fn, result };
        }
        case 'terminate': {
          const p = parseTerminateEvent(event, cluster);
          if (!p.ok) return { fn, rejected: p.reason };
          return { fn, result: await terminate(p.input, { ...this.base, fleet, devices, bus, state }) };
        }
        case 'interruption': {
          const p = parseInterruptionEvent(event);
          if (!p.ok) return { fn, rejected: p.reason };
          return { fn, result: await handleInterruption(p.input, { ...this.base, fleet, bus, state }) };
        }
        case 'janitor': {
          const p = parseJanitorEvent(event);
          if (!p.ok) return { fn, rejected: p.reason };
          return { fn, result: await runJanitor(p.input, { ...this.base, fleet, devices, bus, state }) };
        }
      }
    } catch (err) {
      return { fn, error: err instanceof Error ? err : new Error(String(err)) };
    }
  }
}
