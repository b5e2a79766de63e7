/**
 * Seeded pseudo-random numbers for the simulator. The simulator never calls `Math.random`:
 * a run is a pure function of (scenario, config, seed), which is what makes a chaos
 * failure reproducible from its seed alone.
 */

/** A lognormal distribution given by its median and the sigma of the underlying normal. */
export interface LogNormal {
  medianSeconds: number;
  sigma: number;
}

/** mulberry32: 32-bit state, full period 2^32, good enough for workload and fault draws. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    // Mix the seed so that neighbouring seeds (1, 2, 3…) do not start correlated.
    this.state = (Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x85ebca6b) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A lognormal draw in milliseconds, clamped to [median/10, median*10] so one draw cannot stall a run. */
  logNormalMs(d: LogNormal): number {
    const x = d.medianSeconds * Math.exp(d.sigma * this.normal());
    const clamped = Math.min(d.medianSeconds * 10, Math.max(d.medianSeconds / 10, x));
    return Math.round(clamped * 1000);
  }

  /** Exponential inter-arrival time in ms for a rate per hour. */
  exponentialMs(ratePerHour: number): number {
    if (ratePerHour <= 0) return Number.POSITIVE_INFINITY;
    return Math.round((-Math.log(Math.max(this.next(), 1e-12)) / ratePerHour) * 3_600_000);
  }

  /** A derived, independent stream (e.g. one per subsystem) so adding draws in one place does not shift another. */
  fork(salt: number): Rng {
    return new Rng((Math.floor(this.next() * 4294967296) ^ Math.imul(salt, 0x27d4eb2d)) >>> 0);
  }
}
