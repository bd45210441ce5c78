// The keyspace against a plain Map model under random inserts, overwrites and deletes that keep
// crossing table resizes, so keys are looked up, moved and deleted while the table is being rehashed.

import { expect, test } from "bun:test";
import { Store } from "../../src/engine/store.ts";
import { rng } from "../support/rng.ts";

const keyOf = (n: number) => Buffer.from(`k${n}`, "latin1");

function valueOf(store: Store, id: number): string {
  const vs = store.valueOffset(id);
  return store.buffer(id).toString("latin1", vs, vs + store.valueLength(id));
}

for (const seed of [1, 2, 3]) {
  test(`random sets and deletes across incremental resizes agree with a Map model (seed ${seed})`, () => {
    const r = rng(seed);
    const store = new Store();
    const model = new Map<number, string>();
    const universe = 40000;
    for (let step = 0; step < 150000; step++) {
      const n = Math.floor(r() * universe * Math.min(1, (step + 1000) / 60000)); // the keyspace grows over time
      const key = keyOf(n);
      const id = store.find(key, 0, key.length);
      expect(id >= 0).toBe(model.has(n));
      if (id >= 0) expect(valueOf(store, id)).toBe(model.get(n)!);
      if (r() < 0.3 && id >= 0) {
        store.delete(id);
        model.delete(n);
      } else {
        const value = Buffer.from(`v${step}`.repeat(1 + Math.floor(r() * 3)), "latin1");
        store.set(key, 0, key.length, value, 0, value.length, -1, 1, id);
        model.set(n, value.toString("latin1"));
      }
      if (step % 5000 === 0) store.maintain(performance.now() + 0.05);
    }
    expect(store.size).toBe(model.size);
    for (let n = 0; n < universe; n++) {
      const key = keyOf(n);
      const id = store.find(key, 0, key.length);
      expect(id >= 0).toBe(model.has(n));
      if (id >= 0) expect(valueOf(store, id)).toBe(model.get(n)!);
    }
    let visited = 0;
    store.forEach(() => visited++);
    expect(visited).toBe(model.size);
  });
}
