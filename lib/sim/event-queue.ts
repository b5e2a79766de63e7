/**
 * The simulator's agenda: a binary min-heap of timed events ordered by (time, insertion
 * order). Ties resolve in insertion order, so a run is deterministic for a given seed.
 */
export interface Timed<T> {
  atMs: number;
  order: number;
  value: T;
}

export class EventQueue<T> {
  private heap: Timed<T>[] = [];
  private counter = 0;

  get size(): number {
    return this.heap.length;
  }

  push(atMs: number, value: T): void {
    if (!Number.isFinite(atMs)) return;
    const item: Timed<T> = { atMs: Math.round(atMs), order: this.counter++, value };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(item, h[parent] as Timed<T>)) break;
      h[i] = h[parent] as Timed<T>;
      i = parent;
    }
    h[i] = item;
  }

  peekTime(): number | undefined {
    return this.heap[0]?.atMs;
  }

  pop(): Timed<T> | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return undefined;
    const last = h.pop() as Timed<T>;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let best = last;
        if (l < h.length && less(h[l] as Timed<T>, best)) {
          m = l;
          best = h[l] as Timed<T>;
        }
        if (r < h.length && less(h[r] as Timed<T>, best)) m = r;
        if (m === i) break;
        h[i] = h[m] as Timed<T>;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}

function less<T>(a: Timed<T>, b: Timed<T>): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
}
