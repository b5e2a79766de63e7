import { describe, expect, it } from 'vitest';
import { binsLowerBound, packFresh } from '../../../lib/core/packing.js';

const room = { cpuMilli: 1850, memoryMiB: 7000, pods: 10 };
const item = (cpuMilli: number, memoryMiB: number, count: number, hostPorts: number[] = []) => ({
  cpuMilli,
  memoryMiB,
  hostPorts,
  count,
});

describe('packFresh', () => {
  it('fills bins first-fit with large items first and small ones in the gaps', () => {
    const r = packFresh([item(1500, 1000, 3), item(250, 256, 3)], room, 100);
    // Each 1500m pod leaves 350m: one 250m pod fits beside each.
    expect(r.bins).toBe(3);
    expect(r.covered).toEqual([3, 3]);
  });

  it('respects the pods-per-node limit even when CPU and memory are free', () => {
    expect(packFresh([item(10, 10, 25)], room, 100).bins).toBe(3);
  });

  it('never puts two pods with the same host port on one node', () => {
    const r = packFresh([item(100, 100, 4, [9100])], room, 100);
    expect(r.bins).toBe(4);
    const mixed = packFresh([item(100, 100, 2, [9100]), item(100, 100, 2, [8080])], room, 100);
    expect(mixed.bins).toBe(2);
  });

  it('stops at maxBins and reports what it covered', () => {
    const r = packFresh([item(1000, 1000, 10)], room, 4);
    expect(r.bins).toBe(4);
    expect(r.coveredTotal).toBe(4);
  });

  it('handles 100,000 pods in 1,000 shapes without per-pod work', () => {
    const items = Array.from({ length: 1000 }, (_, i) => item(50 + (i % 40) * 25, 64 + (i % 13) * 128, 100));
    items.sort((a, b) => b.cpuMilli - a.cpuMilli || b.memoryMiB - a.memoryMiB);
    const big = { cpuMilli: 15_650, memoryMiB: 60_000, pods: 110 };
    const t0 = performance.now();
    const r = packFresh(items, big, Number.MAX_SAFE_INTEGER);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.coveredTotal).toBe(100_000);
    expect(r.bins).toBeGreaterThanOrEqual(binsLowerBound(items, big));
  });

  it('lower bound counts CPU, memory, pods and host-port conflicts', () => {
    expect(binsLowerBound([item(1000, 10, 4)], room)).toBe(3);
    expect(binsLowerBound([item(10, 3000, 5)], room)).toBe(3);
    expect(binsLowerBound([item(1, 1, 21)], room)).toBe(3);
    expect(binsLowerBound([item(1, 1, 5, [80])], room)).toBe(5);
  });
});
