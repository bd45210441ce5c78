// The memory limit in the engine: the frequency sketch and the eviction pool, the accounting of
// used memory, and what each policy evicts (with each eviction logged as a delete).

import { describe, expect, test } from "bun:test";
import { DecayTuner, decayFactors, EvictionPool, FrequencySketch, lfuDecayed, lfuDecayedPer, lfuIncrement, lfuInitial, poolSize, shadowKeysMax } from "../../src/engine/eviction.ts";
import { noExpiry, nullLog, Store, type MutationLog } from "../../src/engine/store.ts";
import type { EvictionPolicy } from "../../src/engine/eviction.ts";
import { rng as seeded } from "../support/rng.ts";
import { zipf } from "../../bench/lib/zipf.ts";

const enc = (s: string) => Buffer.from(s, "latin1");
const value = Buffer.alloc(100, 0x76);
const entryBytes = 8 + value.length + 64;

/** A cache-aside access as a server does it: read the key (a GET), and on a miss write it after making room. */
function access(store: Store, key: string, expiryMs = noExpiry): boolean {
  const k = enc(key);
  if (store.read(k, 0, k.length, 0) >= 0) return true;
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
    const sketch = new FrequencySketch(5000);
    for (let i = 0; i < 40; i++) sketch.add(12345);
    expect(sketch.estimate(12345)).toBe(15);
    // Others' increments trigger the halving: the hot key's count fades.
    for (let i = 0; i < 5000 * 10; i++) sketch.add(i * 7919 + 1);
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

/** A key's 32-bit hash as the store would give it: any fixed scramble of its number will do. */
const hashOf = (n: number) => Math.imul(n ^ 0x5bd1e995, 0x9e3779b1) ^ (n >>> 7);

describe("DecayTuner", () => {
  // Drives the tuner as the store does on every read: the sketch counts the read, then the tuner sees it.
  function drive(tuner: DecayTuner, sketch: FrequencySketch, keys: number, reads: number, rank: () => number, offset: number) {
    for (let i = 0; i < reads; i++) {
      const h = hashOf(rank() + offset);
      sketch.add(h);
      tuner.access(h, keys, sketch);
    }
  }

  test("keeps the slow decay on a stable Zipf workload", () => {
    const tuner = new DecayTuner();
    const keys = 8000;
    const sketch = new FrequencySketch(keys);
    drive(tuner, sketch, keys, 400_000, zipf(80_000, 0.99, seeded(11)), 0);
    expect(tuner.rounds).toBeGreaterThan(20);
    expect(tuner.factor).toBe(Infinity);
  });

  test("adopts the fast decay once the hot set moves, and holds at most shadowKeysMax keys per shadow", () => {
    const tuner = new DecayTuner();
    const keys = 8000;
    const sketch = new FrequencySketch(keys);
    const rank = zipf(80_000, 0.99, seeded(12));
    drive(tuner, sketch, keys, 100_000, rank, 0);
    expect(tuner.factor).toBe(Infinity);
    // Every 50k reads the popularity order moves on to another 16k keys.
    for (let phase = 1; phase <= 4; phase++) drive(tuner, sketch, keys, 50_000, rank, phase * 16_000);
    expect(tuner.factor).toBe(decayFactors[0]!);
    expect(tuner.keysHeld).toBeLessThanOrEqual(decayFactors.length * shadowKeysMax);
    expect(tuner.keysHeld).toBeGreaterThan(0);
  });

  test("a decay period counts down the counter once per period of idleness", () => {
    expect(lfuDecayedPer(10, 2999, 1000)).toBe(8);
    expect(lfuDecayedPer(3, 10_000, 1000)).toBe(0);
    expect(lfuDecayedPer(10, 3 * 2 ** 20, Infinity)).toBe(lfuDecayed(10, 3 * 2 ** 20));
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

  for (const policy of ["allkeys-osprey", "volatile-osprey"] as const) {
    test(`${policy} follows a hot set that moves: it adopts the fast decay and holds the new hot keys`, () => {
      // A cache of ~2,000 keys under Zipf reads over 20,000; every 30,000 reads the hot set moves by 4,000 keys.
      // A key with a TTL costs more (its expiry and heap item): volatile-osprey gets the room for as many keys.
      const store = limited(policy, policy === "volatile-osprey" ? 480_000 : 400_000);
      const expiryMs = policy === "volatile-osprey" ? 1e15 : noExpiry;
      const rank = zipf(20_000, 0.99, seeded(21));
      const phases = 5;
      let lastHits = 0;
      for (let phase = 0; phase < phases; phase++) {
        let hits = 0;
        for (let i = 0; i < 30_000; i++) if (access(store, `k${(rank() + phase * 4000) % 20_000}`, expiryMs)) hits++;
        lastHits = hits;
      }
      expect(store.decayTuner!.factor).toBe(decayFactors[0]!);
      // The last phase's 50 hottest keys are held, and its hit ratio is what a settled cache reaches here.
      let held = 0;
      for (let r = 0; r < 50; r++) if (has(store, `k${(r + (phases - 1) * 4000) % 20_000}`)) held++;
      expect(held).toBe(50);
      expect(lastHits / 30_000).toBeGreaterThan(0.6);
    });
  }

  test("volatile-osprey never refuses a write while keys with a TTL are left, however stale its expiry heap", () => {
    // Rejected newcomers and evictions leave stale heap items (each key its own expiry, as a server's clock gives them).
    const store = limited("volatile-osprey", 400_000);
    const rank = zipf(20_000, 0.99, seeded(23));
    let refused = 0;
    for (let i = 0; i < 50_000; i++) {
      const k = enc(`k${rank()}`);
      if (store.read(k, 0, k.length, 0) >= 0) continue;
      if (!store.makeRoom(k.length + value.length + 64, Infinity)) refused++;
      else store.set(k, 0, k.length, value, 0, value.length, 1e15 + i, 1, store.lookup(k, 0, k.length, 0));
      store.evictIfOver(Infinity);
    }
    expect(store.evictedTotal).toBeGreaterThan(1000);
    expect(refused).toBe(0);
  });

  test("allkeys-osprey counts its shadow caches in used memory and stays under the limit", () => {
    const store = limited("allkeys-osprey", 400_000);
    const rank = zipf(20_000, 0.99, seeded(22));
    for (let i = 0; i < 60_000; i++) {
      access(store, `k${rank()}`);
      expect(store.usedMemory).toBeLessThanOrEqual(400_000);
    }
    expect(store.decayTuner!.bytes).toBeGreaterThan(0);
    store.setMemoryLimit(400_000, "allkeys-lru");
    expect(store.decayTuner).toBeNull();
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
