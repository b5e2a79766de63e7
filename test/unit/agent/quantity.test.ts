import { describe, expect, it } from 'vitest';
import {
  cpuToMilli,
  memoryToMiB,
  memoryToMiBFloor,
  QuantityError,
  quantityToInt,
} from '../../../lib/agent/quantity.js';

describe('Kubernetes quantities', () => {
  it.each([
    ['1500m', 1500],
    ['4', 4000],
    ['0.1', 100],
    ['0.5', 500],
    ['3920m', 3920],
    ['100u', 1],
    ['1e3', 1_000_000],
    ['2E-3', 2],
    ['.25', 250],
  ])('converts CPU %s to %i millicores, rounding up', (q, milli) => {
    expect(cpuToMilli(q)).toBe(milli);
  });

  it.each([
    ['3Gi', 3072],
    ['256Mi', 256],
    ['8056752Ki', 7868],
    ['59536698217', 56779],
    ['1G', 954],
    ['1e9', 954],
    ['128974848', 123],
    ['129e6', 124],
    ['1k', 1],
    ['0', 0],
  ])('converts memory %s to %i MiB, rounding up', (q, mib) => {
    expect(memoryToMiB(q)).toBe(mib);
  });

  it('rounds node memory down so capacity is never overstated', () => {
    expect(memoryToMiBFloor('8056752Ki')).toBe(7867);
    expect(memoryToMiBFloor('4Gi')).toBe(4096);
  });

  it('treats absent values as zero and parses counts', () => {
    expect(cpuToMilli(undefined)).toBe(0);
    expect(memoryToMiB('')).toBe(0);
    expect(quantityToInt('110')).toBe(110);
  });

  it.each(['abc', '1.2.3', '5 Mi', 'Mi', '1Qi'])('rejects %s with a message naming the value', (q) => {
    expect(() => memoryToMiB(q)).toThrow(QuantityError);
    expect(() => memoryToMiB(q)).toThrow(`"${q}"`);
  });
});
