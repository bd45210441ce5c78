// The memory limit in the engine: the frequency sketch and the eviction pool, the accounting of
// used memory, and what each policy evicts (with each eviction logged as a delete).

import { describe, expect, test } from "bun:test";
import { EvictionPool, FrequencySketch, lfuDecayed, lfuIncrement, lfuInitial, poolSize } from "../../src/engine/eviction.ts";
import { noExpiry, nullLog, Store, type MutationLog } from "../../src/engine/store.ts";
import type { EvictionPolicy } from "../../src/engine/eviction.ts";
import { rng as seeded } from "../support/rng.ts";

const enc = (s: string) => Buffer.from(s, "latin1");
const value = Buffer.alloc(100, 0x76);
const entryBytes = 8 + value.length + 64;

/** A cache-aside access as a server does it: look the key up, and on a miss write it after making room. */
function access(store: Store, key: string, expiryMs = noExpiry): boolean {
  const k = enc(key);
  if (store.lookup(k, 0, k.length, 0) >= 0) return true;
  if (store.maxMemory !== 0 && !store.makeRoom(k.length + value.length + 64, Infinity)) return false;
  store.set(k, 0, k.length, value, 0, value.length, expiryMs, 1, store.lookup(k, 0, k.length, 0));
  store.evictIfOver(Infinity);
  return false;
}

function has(store: Store, key: string): boolean {
  const k = enc(key);
  return store.find(k, 0, k.length) >= 0;
}

function limited(policy: EvictionPolicy, maxBytes: number, log: MutationLog = nullLog): Store {
  const store = new Store({ log });
  store.setMemoryLimit(maxBytes, policy);
  return store;
}

describe("FrequencySketch", () => {
  test("never estimates below a key's true count (up to its cap of 15)", () => {
    const sketch = new FrequencySketch(1000);
    const rng = seeded(7);
    const counts = new Map<number, number>();
    for (let i = 0; i < 3000; i++) {
      const h = (rng() * 2 ** 31) | 0;
      const times = 1 + Math.floor(rng() * 5);
      for (let t = 0; t < times; t++) sketch.add(h);
      counts.set(h, (counts.get(h) ?? 0) + times);
    }
    for (const [h, n] of counts) expect(sketch.estimate(h)).toBeGreaterThanOrEqual(Math.min(15, n));
  });

  test("counters saturate at 15 and all halve after ten increments per expected key", () => {
    const sketch = new FrequencySketch(0);
    for (let i = 0; i < 40; i++) sketch.add(12345);
    expect(sketch.estimate(12345)).toBe(15);
    // Others' increments trigger the halving: the hot key's count fades.
    for (let i = 0; i < 1024 * 10; i++) sketch.add(i * 7919 + 1);
    expect(sketch.estimate(12345)).toBeLessThan(15);
  });
});

describe("EvictionPool", () => {
  test("keeps the best-scored candidates, best first, at most its size", () => {
    const pool = new EvictionPool();
    for (let id = 0; id < 100; id++) pool.offer(id, (id * 37) % 101, 0);
    expect(pool.size).toBe(poolSize);
    const scores = Array.from(pool.scores.subarray(0, pool.size));
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const all = Array.from({ length: 100 }, (_, id) => (id * 37) % 101).sort((a, b) => b - a);
    expect(scores).toEqual(all.slice(0, poolSize));
    pool.take(0);
    expect(pool.scores[0]).toBe(all[1]!);
  });
});

describe("LFU counter", () => {
  test("starts at 5, grows ever more slowly and decays with idleness", () => {
    expect(lfuIncrement(lfuInitial, 0)).toBe(lfuInitial + 1);
    expect(lfuIncrement(100, 0.5)).toBe(100); // p = 1/951
    expect(lfuIncrement(255, 0)).toBe(255);
    expect(lfuDecayed(10, 3 * 2 ** 20)).toBe(7);
    expect(lfuDecayed(2, 5 * 2 ** 20)).toBe(0);
  });
});

describe("used memory", () => {
  test("grows with the data and gives the data's bytes back on delete", () => {
    const store = new Store();
    const empty = store.usedMemory;
    for (let i = 0; i < 100; i++) access(store, `k${i}`);
    const full = store.usedMemory;
    expect(full - empty).toBeGreaterThanOrEqual(100 * (value.length + 4));
    for (let i = 0; i < 100; i++) {
      const k = enc(`k${i}`);
      store.delete(store.find(k, 0, k.length));
    }
    expect(store.usedMemory).toBe(empty + 100 * 8); // the free-id list keeps its 100 slots
  });
});

describe("policies", () => {
  const maxBytes = 100_000;

  test("noeviction refuses a write that does not fit and evicts nothing", () => {
    const store = limited("noeviction", maxBytes);
    let refused = false;
    for (let i = 0; i < 2000 && !refused; i++) refused = !access(store, `k${i}`) && !has(store, `k${i}`);
    expect(refused).toBe(true);
    expect(store.evictedTotal).toBe(0);
    expect(store.makeRoom(entryBytes, Infinity)).toBe(false);
  });

  test("allkeys-lru keeps used memory under the limit and keeps the keys read recently", () => {
    const deleted: string[] = [];
    const log: MutationLog = { ...nullLog, del: (kb, ks, ke) => void deleted.push(Buffer.from(kb.subarray(ks, ke)).toString("latin1")) };
    const store = limited("allkeys-lru", maxBytes, log);
    for (let i = 0; i < 2000; i++) {
      access(store, `k${i}`);
      access(store, "hot"); // read between every write: never the least recently used
      expect(store.usedMemory).toBeLessThanOrEqual(maxBytes);
    }
    expect(has(store, "hot")).toBe(true);
    expect(store.evictedTotal).toBeGreaterThan(1000);
    // Every eviction went to the log as a delete, and those keys are gone.
    expect(deleted.length).toBe(store.evictedTotal);
    for (const k of deleted.slice(0, 50)) if (k !== "hot") expect(has(store, k) && deleted.lastIndexOf(k) === deleted.indexOf(k)).toBe(false);
  });

  test("volatile-* evict only keys with an expiry, and refuse when none is left", () => {
    for (const policy of ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "volatile-osprey"] as const) {
      const store = limited(policy, maxBytes);
      for (let i = 0; i < 100; i++) access(store, `keep${i}`);
      for (let i = 0; i < 1000; i++) access(store, `ttl${i}`, 1e15 + i);
      expect(store.evictedTotal).toBeGreaterThan(0);
      for (let i = 0; i < 100; i++) expect(has(store, `keep${i}`)).toBe(true);
      let refused = false;
      for (let i = 0; i < 2000 && !refused; i++) refused = !access(store, `more${i}`) && !has(store, `more${i}`);
      expect(refused).toBe(true);
      for (let i = 0; i < 100; i++) expect(has(store, `keep${i}`)).toBe(true);
    }
  });

  test("allkeys-lru finds the one key of a sparse table (consecutive sampling falls back to a walk)", () => {
    const store = new Store({ capacity: 100_000 });
    access(store, "only");
    store.setMemoryLimit(1, "allkeys-lru");
    store.evictIfOver(Infinity);
    expect(store.size).toBe(0);
    expect(store.evictedTotal).toBe(1);
  });

  test("volatile-ttl evicts the soonest expiry first", () => {
    const store = limited("volatile-ttl", maxBytes);
    for (let i = 0; i < 1000; i++) access(store, `t${i}`, 1e15 - i);
    expect(store.evictedTotal).toBeGreaterThan(0);
    // The survivors are the first written, which expire last (and the one just written, evicted by the next write).
    for (let i = 0; i < store.size - 1; i++) expect(has(store, `t${i}`)).toBe(true);
    expect(has(store, `t${store.size}`)).toBe(false);
  });

  test("allkeys-osprey keeps many of the keys read often through a scan that flushes allkeys-lru", () => {
    const hotKeys = 300;
    const survivors = (policy: EvictionPolicy) => {
      const store = limited(policy, maxBytes);
      const rng = seeded(3);
      for (let i = 0; i < 20_000; i++) access(store, `hot${Math.floor(rng() * hotKeys)}`);
      for (let i = 0; i < 3000; i++) access(store, `scan${i}`);
      let n = 0;
      for (let i = 0; i < hotKeys; i++) if (has(store, `hot${i}`)) n++;
      return n;
    };
    const lru = survivors("allkeys-lru");
    const osprey = survivors("allkeys-osprey");
    expect(lru).toBeLessThan(hotKeys / 10);
    expect(osprey).toBeGreaterThan(hotKeys / 3);
  });

  test("allkeys-osprey lets a new hot set in once the old one is no longer read", () => {
    const hotKeys = 100;
    const store = limited("allkeys-osprey", maxBytes);
    const rng = seeded(5);
    for (let i = 0; i < 20_000; i++) access(store, `old${Math.floor(rng() * hotKeys)}`);
    for (let i = 0; i < hotKeys; i++) expect(has(store, `old${i}`)).toBe(true);
    let hits = 0;
    for (let i = 0; i < 20_000; i++) if (access(store, `new${Math.floor(rng() * hotKeys)}`)) hits++;
    let held = 0;
    for (let i = 0; i < hotKeys; i++) if (has(store, `new${i}`)) held++;
    expect(held).toBe(hotKeys);
    expect(hits).toBeGreaterThan(20_000 * 0.9);
  });
});
