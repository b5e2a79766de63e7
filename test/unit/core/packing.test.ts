import { describe, expect, it } from 'vitest';
import { binsLowerBound, fitCount, freeOf, packFresh, portKey } from '../../../lib/core/packing.js';

const room = { cpuMilli: 1850, memoryMiB: 7000, pods: 10 };
const item = (
  cpuMilli: number,
  memoryMiB: number,
  count: number,
  hostPorts: Array<number | string> = [],
  extra: { ephemeralMiB?: number; gpus?: number } = {},
) => ({
  cpuMilli,
  memoryMiB,
  ephemeralMiB: extra.ephemeralMiB ?? 0,
  gpus: extra.gpus ?? 0,
  hostPorts: hostPorts.map((p) => (typeof p === 'number' ? portKey({ port: p }) : p)),
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

  it('lets UDP and TCP on the same port, and two distinct host IPs, share a node; the wildcard clashes with both', () => {
    const tcp = portKey({ port: 53, protocol: 'TCP' });
    const udp = portKey({ port: 53, protocol: 'UDP' });
    expect(packFresh([item(100, 100, 1, [tcp]), item(100, 100, 1, [udp])], room, 100).bins).toBe(1);
    const ipA = portKey({ port: 8080, hostIP: '10.0.0.1' });
    const ipB = portKey({ port: 8080, hostIP: '10.0.0.2' });
    const any = portKey({ port: 8080 });
    expect(packFresh([item(100, 100, 1, [ipA]), item(100, 100, 1, [ipB])], room, 100).bins).toBe(1);
    expect(packFresh([item(100, 100, 1, [ipA]), item(100, 100, 1, [any])], room, 100).bins).toBe(2);
    expect(packFresh([item(100, 100, 1, [any]), item(100, 100, 1, [ipB])], room, 100).bins).toBe(2);
  });

  it('counts the host ports a DaemonSet binds on every fresh node', () => {
    const withDs = { ...room, ports: [portKey({ port: 9100 })] };
    expect(fitCount(freeOf(withDs), item(100, 100, 1, [9100]))).toBe(0);
    expect(fitCount(freeOf(withDs), item(100, 100, 1, [portKey({ port: 9100, protocol: 'UDP' })]))).toBe(1);
  });

  it('packs ephemeral storage and GPUs as dimensions', () => {
    const disk = { ...room, ephemeralMiB: 18_000 };
    expect(packFresh([item(100, 100, 4, [], { ephemeralMiB: 8_000 })], disk, 100).bins).toBe(2);
    expect(binsLowerBound([item(100, 100, 4, [], { ephemeralMiB: 8_000 })], disk)).toBe(2);
    const gpu = { ...room, gpus: 1 };
    expect(packFresh([item(100, 100, 3, [], { gpus: 1 })], gpu, 100).bins).toBe(3);
    // No GPU on the type: nothing fits, and the lower bound says so.
    expect(packFresh([item(100, 100, 1, [], { gpus: 1 })], room, 100).coveredTotal).toBe(0);
    expect(binsLowerBound([item(100, 100, 1, [], { gpus: 1 })], room)).toBe(Number.POSITIVE_INFINITY);
  });

  it('stops at maxBins and reports what it covered', () => {
    const r = packFresh([item(1000, 1000, 10)], room, 4);
    expect(r.bins).toBe(4);
    expect(r.coveredTotal).toBe(4);
  });

  // Speed is the bench's (planner.scaleOut.100k-pods), not a timed unit test on a noisy machine.
  it('packs 100,000 pods in 1,000 shapes: every pod covered, never below the lower bound', () => {
    const items = Array.from({ length: 1000 }, (_, i) => item(50 + (i % 40) * 25, 64 + (i % 13) * 128, 100));
    items.sort((a, b) => b.cpuMilli - a.cpuMilli || b.memoryMiB - a.memoryMiB);
    const big = { cpuMilli: 15_650, memoryMiB: 60_000, pods: 110 };
    const r = packFresh(items, big, Number.MAX_SAFE_INTEGER);
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
