// SCAN's cursor over the real store: a scan that never stops sees every key once, and one
// interleaved with inserts that double the table (again and again, steps landing mid-rehash)
// and with deletes still answers every key that was present from its first step to its last.
// Also KEYS's slices (the same cursor: each key present throughout answered once), SCAN's filters
// and RANDOMKEY.

import { describe, expect, test } from "bun:test";
import { keysSliceBucketsMax, keysSliceCheckBuckets } from "../../src/constants.ts";
import { keysSlice, ScanOptions, ScanResult, scanStep } from "../../src/engine/scan.ts";
import { noExpiry, Store } from "../../src/engine/store.ts";
import { rng } from "../support/rng.ts";

const enc = new TextEncoder();
const NOW = 1_000_000;

function put(store: Store, key: string, expiryMs = noExpiry): void {
  const b = enc.encode(key);
  store.set(b, 0, b.length, b, 0, b.length, expiryMs, 1, store.find(b, 0, b.length));
}

function remove(store: Store, key: string): void {
  const b = enc.encode(key);
  const id = store.find(b, 0, b.length);
  if (id >= 0) store.delete(id);
}

function keyOf(store: Store, id: number): string {
  const at = store.keyOffset(id);
  return Buffer.from(store.buffer(id).subarray(at, at + store.keyLength(id))).toString("latin1");
}

const keyBytes = (len: number) => len + 8;

/** One step with `count`; the keys it answered. */
function step(store: Store, cursor: number, o: ScanOptions, r: ScanResult): string[] {
  scanStep(store, cursor, o, NOW, 1 << 30, keyBytes, r);
  return r.ids.map((id) => keyOf(store, id));
}

describe("SCAN's cursor", () => {
  test("a scan of a keyspace nobody changes answers every key exactly once, across both tables of a doubling", () => {
    const store = new Store();
    for (let i = 0; i < 5000; i++) put(store, `key:${i}`);
    expect(store.resizing).toBe(true); // the scan walks both tables of a doubling
    const o = new ScanOptions();
    o.count = 7;
    const r = new ScanResult();
    const seen: string[] = [];
    let cursor = 0;
    let steps = 0;
    do {
      seen.push(...step(store, cursor, o, r));
      cursor = r.cursor;
      steps++;
    } while (cursor !== 0);
    expect(seen.length).toBe(5000);
    expect(new Set(seen).size).toBe(5000);
    expect(steps).toBeGreaterThan(100);
  });

  for (const seed of [1, 2, 3, 4]) {
    test(`every key present for the whole scan is answered while the table doubles and keys are deleted (seed ${seed})`, () => {
      const next = rng(seed);
      const store = new Store();
      const stable = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        put(store, `stable:${i}`);
        stable.add(`stable:${i}`);
      }
      const doomed: string[] = [];
      for (let i = 0; i < 2000; i++) {
        put(store, `doomed:${i}`);
        doomed.push(`doomed:${i}`);
      }
      const o = new ScanOptions();
      const r = new ScanResult();
      const seen = new Set<string>();
      let cursor = 0;
      let added = 0;
      let stepsMidRehash = 0;
      let slotsGrew = 0;
      do {
        o.count = 1 + Math.floor(next() * 20);
        if (store.resizing) stepsMidRehash++;
        for (const k of step(store, cursor, o, r)) seen.add(k);
        cursor = r.cursor;
        // Between steps: grow the keyspace (the table doubles from 8192 slots up, several times),
        // delete some of the keys that were there at the start, and some of the new ones.
        const before = store.size;
        // Inserts stop at 30,000 keys: a table that grew faster than the scan walks would never let it end.
        const burst = added < 30000 ? Math.floor(next() * 400) : 0;
        for (let i = 0; i < burst; i++) put(store, `new:${added++}`);
        if (store.size > before) slotsGrew++;
        for (let i = 0; i < 5 && doomed.length > 0; i++) remove(store, doomed.splice(Math.floor(next() * doomed.length), 1)[0]!);
        if (next() < 0.3) remove(store, `new:${Math.floor(next() * added)}`);
      } while (cursor !== 0);
      for (const k of stable) expect(seen.has(k), k).toBe(true);
      // The scan really ran across resizes, with steps taken while the old table was being moved.
      expect(added).toBeGreaterThan(20000);
      expect(stepsMidRehash).toBeGreaterThan(0);
      expect(slotsGrew).toBeGreaterThan(0);
    });
  }

  test("a cursor from before a doubling continues after it, and one from a smaller table still covers every key", () => {
    const store = new Store();
    for (let i = 0; i < 600; i++) put(store, `a:${i}`); // 1024 slots: just under the load factor
    const o = new ScanOptions();
    o.count = 50;
    const r = new ScanResult();
    const seen = new Set<string>(step(store, 0, o, r));
    let cursor = r.cursor;
    expect(cursor).not.toBe(0);
    for (let i = 0; i < 3000; i++) put(store, `b:${i}`); // doubles to 8192 slots
    while (cursor !== 0) {
      for (const k of step(store, cursor, o, r)) seen.add(k);
      cursor = r.cursor;
    }
    for (let i = 0; i < 600; i++) expect(seen.has(`a:${i}`)).toBe(true);
  });
});

describe("SCAN's filters", () => {
  test("MATCH and TYPE filter the step's keys and expired keys are dropped and removed", () => {
    const store = new Store();
    put(store, "user:1");
    put(store, "user:2", NOW - 1);
    put(store, "order:1");
    const o = new ScanOptions();
    o.count = 100;
    o.pattern = enc.encode("user:*");
    o.pe = o.pattern.length;
    const r = new ScanResult();
    expect(step(store, 0, o, r)).toEqual(["user:1"]);
    expect(r.cursor).toBe(0);
    expect(store.size).toBe(2); // user:2 was expired and is gone
    o.pattern = null;
    o.noType = true;
    expect(step(store, 0, o, r)).toEqual([]);
  });

  test("a step stops collecting once its reply would pass the room it was given, at a bucket's end", () => {
    const store = new Store();
    for (let i = 0; i < 1000; i++) put(store, `k:${i}`);
    const o = new ScanOptions();
    o.count = 1_000_000;
    const r = new ScanResult();
    scanStep(store, 0, o, NOW, 100, keyBytes, r);
    expect(r.ids.length).toBeGreaterThan(0);
    expect(r.ids.length).toBeLessThan(20);
    expect(r.cursor).not.toBe(0);
  });
});

describe("KEYS", () => {
  /** Every key one slice of KEYS p finds from `cursor`; the slice's next cursor in `next`. */
  function slice(store: Store, cursor: number, pattern: string, deadlineMs: number, next: { cursor: number }): string[] {
    const p = enc.encode(pattern);
    const found: string[] = [];
    next.cursor = keysSlice(store, cursor, p, 0, p.length, NOW, deadlineMs, (id) => {
      found.push(keyOf(store, id));
      return true;
    });
    return found;
  }

  test("a walk with no deadline finds every live matching key in one slice, and stops as soon as its sink says so", () => {
    const store = new Store();
    for (let i = 0; i < 100; i++) put(store, `k:${i}`);
    put(store, "gone", NOW - 1);
    const next = { cursor: -2 };
    expect(slice(store, 0, "k:1*", Number.POSITIVE_INFINITY, next).sort()).toEqual(["k:1", ...Array.from({ length: 10 }, (_, i) => `k:1${i}`)].sort());
    expect(next.cursor).toBe(0);
    expect(slice(store, 0, "*", Number.POSITIVE_INFINITY, next).length).toBe(100);
    let n = 0;
    const all = enc.encode("*");
    expect(keysSlice(store, 0, all, 0, 1, NOW, Number.POSITIVE_INFINITY, () => ++n < 5)).toBe(-1);
    expect(n).toBe(5);
  });

  test(`a slice stops after ${keysSliceBucketsMax} home buckets even before its deadline, and after ${keysSliceCheckBuckets} once the deadline passed`, () => {
    const store = new Store({ capacity: 200_000 });
    for (let i = 0; i < 1000; i++) put(store, `k:${i}`);
    const next = { cursor: 0 };
    let walked = 0;
    let slices = 0;
    do {
      walked += slice(store, next.cursor, "*", performance.now() + 60_000, next).length;
      slices++;
    } while (next.cursor !== 0);
    expect(walked).toBe(1000);
    // 200,000 entries under the load factor take 2^19 slots: 8 slices of 65,536 buckets.
    expect(slices).toBe(2 ** 19 / keysSliceBucketsMax);
    let late = 0;
    do {
      slice(store, next.cursor, "*", 0, next);
      late++;
    } while (next.cursor !== 0);
    expect(late).toBe(2 ** 19 / keysSliceCheckBuckets);
  });

  for (const seed of [1, 2, 3]) {
    test(`seed ${seed}: slices interleaved with doublings, deletes and re-created keys answer each key present throughout exactly once, and no key twice`, () => {
      const r = rng(seed);
      const store = new Store();
      const stable = Array.from({ length: 3000 }, (_, i) => `stable:${i}`);
      for (const k of stable) put(store, k);
      const next = { cursor: 0 };
      const seen = new Map<string, number>();
      let added = 0;
      do {
        for (const k of slice(store, next.cursor, "*", 0, next)) seen.set(k, (seen.get(k) ?? 0) + 1);
        // Between slices: grow the table (it doubles more than once), delete and re-create keys.
        for (let i = 0; i < 1000; i++) put(store, `new:${added++}`);
        for (let i = 0; i < 20; i++) {
          const k = `churn:${Math.floor(r() * 50)}`;
          if (r() < 0.5) remove(store, k);
          else put(store, k);
        }
      } while (next.cursor !== 0);
      expect(added).toBeGreaterThan(7000); // 10,000 keys: the table doubled from 8192 slots twice
      for (const k of stable) expect(seen.get(k), k).toBe(1);
      expect([...seen].filter(([, n]) => n !== 1)).toEqual([]);
    });
  }
});

describe("RANDOMKEY", () => {
  test("answers live keys only, removing expired ones it meets, and -1 on an empty keyspace", () => {
    const store = new Store();
    expect(store.randomLive(NOW, 10)).toBe(-1);
    put(store, "live");
    for (let i = 0; i < 20; i++) put(store, `dead:${i}`, NOW - 1);
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const id = store.randomLive(NOW, 1000);
      expect(id).toBeGreaterThanOrEqual(0);
      seen.add(keyOf(store, id));
    }
    expect([...seen]).toEqual(["live"]);
    store.clear();
    put(store, "d", NOW - 1);
    expect(store.randomLive(NOW, 1000)).toBe(-1);
    expect(store.size).toBe(0);
  });
});
