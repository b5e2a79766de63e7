/**
 * Kubernetes resource quantities (`1500m`, `3Gi`, `8056752Ki`, `59536698217`, `1e3`, `0.5`),
 * converted exactly: values are kept as a BigInt fraction so `0.1` CPU is 100 millicores, not 101
 * after a floating-point round-up. Grammar from k8s.io/apimachinery `resource.Quantity`.
 */

/** Thrown for a string that is not a Kubernetes quantity. */
export class QuantityError extends Error {
  constructor(readonly input: string) {
    super(`"${input}" is not a Kubernetes quantity (expected e.g. "500m", "2", "3Gi", "1e3")`);
    this.name = 'QuantityError';
  }
}

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const PATTERN = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/** An exact rational value: num / den, den > 0. */
interface Fraction {
  num: bigint;
  den: bigint;
}

function parseFraction(input: string): Fraction {
  const m = PATTERN.exec(input.trim());
  if (!m) throw new QuantityError(input);
  const [, sign = '', digits = '', suffix = ''] = m;
  const [intPart = '', fracPart = ''] = digits.split('.');
  let num = BigInt(`${intPart || '0'}${fracPart}`);
  let den = 10n ** BigInt(fracPart.length);
  if (sign === '-') num = -num;
  let pow10 = 0;
  let pow2 = 0;
  if (suffix in BINARY) pow2 = BINARY[suffix] as number;
  else if (suffix in DECIMAL) pow10 = DECIMAL[suffix] as number;
  else pow10 = Number(suffix.slice(1));
  if (Math.abs(pow10) > 40) throw new QuantityError(input);
  if (pow10 >= 0) num *= 10n ** BigInt(pow10);
  else den *= 10n ** BigInt(-pow10);
  num *= 2n ** BigInt(pow2);
  return { num, den };
}

function ceilDiv(num: bigint, den: bigint): number {
  if (num <= 0n) return 0;
  return Number((num + den - 1n) / den);
}

/** CPU quantity → millicores, rounded up; negative and absent values give 0. */
export function cpuToMilli(q: string | number | undefined): number {
  if (q === undefined || q === '') return 0;
  const f = parseFraction(String(q));
  return ceilDiv(f.num * 1000n, f.den);
}

/** Memory quantity → MiB, rounded up; negative and absent values give 0. */
export function memoryToMiB(q: string | number | undefined): number {
  if (q === undefined || q === '') return 0;
  const f = parseFraction(String(q));
  return ceilDiv(f.num, f.den * 1_048_576n);
}

/** Plain count quantity (e.g. `pods: "110"`) → integer, rounded up. */
export function quantityToInt(q: string | number | undefined): number {
  if (q === undefined || q === '') return 0;
  const f = parseFraction(String(q));
  return ceilDiv(f.num, f.den);
}

/** Memory quantity → MiB, rounded down (capacity: never promise memory the node lacks). */
export function memoryToMiBFloor(q: string | number | undefined): number {
  if (q === undefined || q === '') return 0;
  const f = parseFraction(String(q));
  if (f.num <= 0n) return 0;
  return Number(f.num / (f.den * 1_048_576n));
}
