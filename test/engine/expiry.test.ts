// The expiry min-heap: pops in expiry order whatever the insertion order, and grows as needed.

import { describe, expect, test } from "bun:test";
import { ExpiryHeap } from "../../src/engine/expiry.ts";

/** A small deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function drain(heap: ExpiryHeap): [number, number][] {
  const out: [number, number][] = [];
  while (heap.size > 0) {
    out.push([heap.peekAt(), heap.peekId()]);
    heap.pop();
  }
  return out;
}

describe("ExpiryHeap", () => {
  test("an empty heap peeks Infinity and has size 0", () => {
    const heap = new ExpiryHeap();
    expect(heap.size).toBe(0);
    expect(heap.peekAt()).toBe(Infinity);
  });

  test("random items pop in non-decreasing expiry order, each exactly once", () => {
    const random = rng(42);
    const heap = new ExpiryHeap();
    const items: [number, number][] = [];
    for (let id = 0; id < 20_000; id++) {
      const at = 1_700_000_000_000 + Math.floor(random() * 1_000_000); // many duplicates of some times
      items.push([at, id]);
      heap.push(at, id);
    }
    expect(heap.size).toBe(items.length);
    const popped = drain(heap);
    for (let i = 1; i < popped.length; i++) expect(popped[i]![0]).toBeGreaterThanOrEqual(popped[i - 1]![0]);
    const key = (x: [number, number]) => `${x[0]}:${x[1]}`;
    expect(popped.map(key).sort()).toEqual(items.map(key).sort());
  });

  test("interleaved pushes and pops always pop the current minimum", () => {
    const random = rng(7);
    const heap = new ExpiryHeap();
    const model: number[] = [];
    for (let step = 0; step < 20_000; step++) {
      if (model.length === 0 || random() < 0.6) {
        const at = Math.floor(random() * 5000);
        heap.push(at, step);
        model.push(at);
      } else {
        const min = model.reduce((a, b) => Math.min(a, b));
        expect(heap.peekAt()).toBe(min);
        heap.pop();
        model.splice(model.indexOf(min), 1);
      }
      expect(heap.size).toBe(model.length);
    }
  });

  test("the id pops with its own expiry", () => {
    const heap = new ExpiryHeap();
    heap.push(30, 3);
    heap.push(10, 1);
    heap.push(20, 2);
    expect(drain(heap)).toEqual([
      [10, 1],
      [20, 2],
      [30, 3],
    ]);
  });

  test("clear empties the heap and it can be refilled", () => {
    const heap = new ExpiryHeap();
    for (let i = 0; i < 5000; i++) heap.push(5000 - i, i);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.peekAt()).toBe(Infinity);
    heap.push(9, 9);
    heap.push(8, 8);
    expect(drain(heap)).toEqual([
      [8, 8],
      [9, 9],
    ]);
  });
});
