// The keyspace: slab and large placement, backward-shift deletion, lazy and active expiry,
// stale heap items, and the absolute records a MutationLog receives.

import { describe, expect, test } from "bun:test";
import { InvariantError } from "../../src/assert.ts";
import { slabLargeBytesMin } from "../../src/constants.ts";
import { noExpiry, Store, type MutationLog } from "../../src/engine/store.ts";
import { createContext, EngineClient, ManualClock } from "../commands/harness.ts";

const b = (s: string) => Buffer.from(s, "latin1");

/** Writes key = value the way commands do: the current entry id (or -1) is passed in. */
function put(store: Store, key: string | Buffer, value: string | Buffer, expiryMs = noExpiry, version = 1): number {
  const k = typeof key === "string" ? b(key) : key;
  const v = typeof value === "string" ? b(value) : value;
  return store.set(k, 0, k.length, v, 0, v.length, expiryMs, version, store.find(k, 0, k.length));
}

function valueOf(store: Store, id: number): string {
  const vs = store.valueOffset(id);
  return store.buffer(id).subarray(vs, vs + store.valueLength(id)).toString("latin1");
}

function keyOf(store: Store, id: number): string {
  const ks = store.keyOffset(id);
  return store.buffer(id).subarray(ks, ks + store.keyLength(id)).toString("latin1");
}

/** The live value of a key at `nowMs`, or null. */
function read(store: Store, key: string, nowMs = 0): string | null {
  const k = b(key);
  const id = store.lookup(k, 0, k.length, nowMs);
  return id < 0 ? null : valueOf(store, id);
}

function find(store: Store, key: string): number {
  const k = b(key);
  return store.find(k, 0, k.length);
}

/** A small deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("insert and overwrite", () => {
  test("a new key reads back with its value, version and expiry", () => {
    const store = new Store();
    const id = put(store, "alpha", "one", 4102444800000, 7);
    expect(store.size).toBe(1);
    expect(find(store, "alpha")).toBe(id);
    expect(keyOf(store, id)).toBe("alpha");
    expect(valueOf(store, id)).toBe("one");
    expect(store.version(id)).toBe(7);
    expect(store.expiry(id)).toBe(4102444800000);
  });

  test("versions are exact on both sides of 2^32 - 1 (the record's own word) up to 2^53, through overwrites, growth, id reuse and clear", () => {
    const store = new Store();
    const before = store.usedMemory;
    const versions = [1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, 2 ** 53 - 1];
    const ids = versions.map((v, i) => put(store, `v${i}`, "x", noExpiry, v));
    versions.forEach((v, i) => expect(store.version(ids[i]!)).toBe(v));
    // The first version held apart adds 8 bytes per id of metadata to what the limit counts.
    expect(store.usedMemory - before).toBeGreaterThanOrEqual(8 * 1024);
    // Enough new keys to grow every metadata array: the versions held apart move with them.
    for (let i = 0; i < 5000; i++) put(store, `fill:${i}`, "y", noExpiry, i + 1);
    versions.forEach((v, i) => expect(store.version(find(store, `v${i}`))).toBe(v));
    // Down across the line and back up, in place (an overwrite keeps the entry's id).
    const big = find(store, "v5");
    put(store, "v5", "z", noExpiry, 3);
    expect(store.version(big)).toBe(3);
    put(store, "v5", "z", noExpiry, 2 ** 32 + 9);
    expect(store.version(big)).toBe(2 ** 32 + 9);
    // An id freed while its version was apart, taken by a new key with a small version.
    store.delete(find(store, "v7"));
    const reused = put(store, "fresh", "w", noExpiry, 1);
    expect(reused).toBe(ids[7]!);
    expect(store.version(reused)).toBe(1);
    store.clear();
    expect(store.usedMemory).toBe(before);
    expect(store.version(put(store, "after", "a", noExpiry, 2 ** 32))).toBe(2 ** 32);
  });

  test("an expiry of 0 ms, a negative one and none stay apart, and a deleted key's id comes back without its expiry", () => {
    const store = new Store();
    const zero = put(store, "zero", "v", 0);
    const negative = put(store, "negative", "v", -5);
    const none = put(store, "none", "v");
    expect([store.expiry(zero), store.expiry(negative), store.expiry(none)]).toEqual([0, -5, noExpiry]);
    expect(store.keysWithExpiry).toBe(2);
    expect([read(store, "zero", 1), read(store, "negative", 1), read(store, "none", 1)]).toEqual([null, null, "v"]);
    const timed = put(store, "timed", "v", 5000);
    store.delete(timed);
    const reused = put(store, "later", "w");
    expect(reused).toBe(timed);
    expect(store.expiry(reused)).toBe(noExpiry);
    expect(store.keysWithExpiry).toBe(0);
    expect(store.sweep(10_000, 100, Infinity)).toBe(0);
    expect(read(store, "later", 10_000)).toBe("w");
  });

  test("keys are case-sensitive bytes and a missing key is not found", () => {
    const store = new Store();
    put(store, "Key", "upper");
    expect(read(store, "key")).toBeNull();
    expect(read(store, "Key")).toBe("upper");
    expect(find(store, "Ke")).toBe(-1);
  });

  test("overwriting with a value of the same size class keeps the entry's block", () => {
    const store = new Store();
    const id = put(store, "k", "abcdefghij"); // 11 bytes with the key: the 16-byte class
    const buf = store.buffer(id);
    const at = store.keyOffset(id);
    expect(put(store, "k", "abcdefghi", noExpiry, 2)).toBe(id); // 10 bytes: the same class
    expect(store.buffer(id)).toBe(buf);
    expect(store.keyOffset(id)).toBe(at);
    expect(valueOf(store, id)).toBe("abcdefghi");
    expect(store.version(id)).toBe(2);
    expect(store.size).toBe(1);
  });

  test("while a snapshot child shares the memory, an overwrite moves the entry to a fresh page and later ones stay there", () => {
    const store = new Store();
    const id = put(store, "k", "abcdefghij");
    const other = put(store, "o", "0123456789");
    const buf = store.buffer(id);
    store.shareWithChild(true);
    expect(put(store, "k", "ABCDEFGHIJ", noExpiry, 2)).toBe(id);
    const moved = store.buffer(id);
    expect(moved).not.toBe(buf);
    expect(valueOf(store, id)).toBe("ABCDEFGHIJ");
    expect(store.version(id)).toBe(2);
    expect(valueOf(store, other)).toBe("0123456789");
    // The shared page is left as the child sees it.
    expect(buf.subarray(0, 64).includes(Buffer.from("abcdefghij"))).toBe(true);
    const at = store.keyOffset(id);
    put(store, "k", "abcdefghiX", noExpiry, 3);
    expect(store.buffer(id)).toBe(moved);
    expect(store.keyOffset(id)).toBe(at);
    store.shareWithChild(false);
    put(store, "o", "9876543210", noExpiry, 2);
    expect(store.buffer(other)).toBe(buf); // in place again
    expect(valueOf(store, other)).toBe("9876543210");
  });

  test("while a snapshot child shares the memory, an overwrite of a value of 4 KiB or more stays in its block", () => {
    const store = new Store();
    const id = put(store, "k", Buffer.alloc(16384, "a"));
    const buf = store.buffer(id);
    const at = store.keyOffset(id);
    store.shareWithChild(true);
    put(store, "k", Buffer.alloc(16384, "b"), noExpiry, 2);
    expect(store.buffer(id)).toBe(buf);
    expect(store.keyOffset(id)).toBe(at);
    expect(valueOf(store, id)).toBe("b".repeat(16384));
    store.shareWithChild(false);
  });

  test("under a memory limit a snapshot child shares nothing: overwrites stay in place (RSS follows the limit)", () => {
    const store = new Store();
    store.setMemoryLimit(64 * 1024 * 1024, "allkeys-lru");
    const id = put(store, "k", "abcdefghij");
    const buf = store.buffer(id);
    const at = store.keyOffset(id);
    store.shareWithChild(true);
    put(store, "k", "ABCDEFGHIJ", noExpiry, 2);
    expect(store.buffer(id)).toBe(buf);
    expect(store.keyOffset(id)).toBe(at);
    store.shareWithChild(false);
    expect(valueOf(store, id)).toBe("ABCDEFGHIJ");
  });

  test("overwriting with a value of another size class moves it and leaves its neighbours intact", () => {
    const store = new Store();
    for (let i = 0; i < 50; i++) put(store, `n${i}`, `value-${i}`);
    const id = put(store, "k", "short");
    for (let i = 50; i < 100; i++) put(store, `n${i}`, `value-${i}`);
    const big = "B".repeat(500);
    expect(put(store, "k", big, noExpiry, 2)).toBe(id);
    expect(read(store, "k")).toBe(big);
    expect(keyOf(store, id)).toBe("k");
    expect(put(store, "k", "tiny", noExpiry, 3)).toBe(id);
    expect(read(store, "k")).toBe("tiny");
    for (let i = 0; i < 100; i++) expect(read(store, `n${i}`)).toBe(`value-${i}`);
  });

  test("an overwrite that moves the value to a new block copies it, even from another entry of the same slab page (RENAME onto a key)", () => {
    const store = new Store();
    const src = put(store, "src", "hello");
    const dst = put(store, "other", "1");
    expect(store.buffer(src)).toBe(store.buffer(dst)); // one slab page
    const k = Buffer.from("other");
    const vs = store.valueOffset(src);
    store.set(k, 0, k.length, store.buffer(src), vs, vs + store.valueLength(src), noExpiry, 2, dst);
    expect(read(store, "other")).toBe("hello");
    expect(keyOf(store, dst)).toBe("other");
    expect(read(store, "src")).toBe("hello");
  });

  test("an entry of at least 64 KiB lives in its own buffer, never changed in place, and moves between slab and own buffer on overwrite", () => {
    const store = new Store();
    put(store, "before", "b");
    const key = "large";
    const smallest = "L".repeat(slabLargeBytesMin - key.length); // key + value = slabLargeBytesMin
    const id = put(store, key, smallest);
    expect(store.buffer(id).length).toBe(slabLargeBytesMin);
    expect(read(store, key)).toBe(smallest);
    put(store, "after", "a");

    const sameSize = "M".repeat(smallest.length);
    const own = store.buffer(id);
    put(store, key, sameSize, noExpiry, 2);
    // A large entry's buffer never changes once written: the new value of the same size is in
    // another buffer, and the old one still holds the old bytes (a log may be writing them).
    expect(store.buffer(id)).not.toBe(own);
    expect(own.toString("latin1", key.length)).toBe(smallest);
    expect(read(store, key)).toBe(sameSize);

    const larger = Buffer.alloc(1_000_000);
    for (let i = 0; i < larger.length; i++) larger[i] = (i * 31) & 0xff;
    put(store, key, larger, noExpiry, 3);
    expect(store.buffer(id).length).toBe(key.length + larger.length);
    expect(Buffer.compare(b(read(store, key)!), larger)).toBe(0);

    const justSmall = "S".repeat(slabLargeBytesMin - key.length - 1);
    put(store, key, justSmall, noExpiry, 4);
    expect(store.buffer(id).length).toBeGreaterThan(slabLargeBytesMin); // a slab page now
    expect(read(store, key)).toBe(justSmall);
    expect(store.version(id)).toBe(4);
    expect(read(store, "before")).toBe("b");
    expect(read(store, "after")).toBe("a");
  });

  test("dataBytes follows values in and out of the slab and own buffers", () => {
    const store = new Store();
    expect(store.dataBytes).toBe(0);
    const id = put(store, "k", "v".repeat(100_000));
    expect(store.dataBytes).toBe(100_001);
    put(store, "k", "v", noExpiry, 2);
    expect(store.dataBytes).toBe(8);
    store.delete(id);
    expect(store.dataBytes).toBe(0);
  });

  test("empty values and binary values are stored exactly", () => {
    const store = new Store();
    put(store, "empty", "");
    put(store, "bin", "\0\r\n\xff\0");
    expect(read(store, "empty")).toBe("");
    expect(read(store, "bin")).toBe("\0\r\n\xff\0");
  });
});

describe("deletion", () => {
  test("deleting a random half of many keys keeps every other key findable", () => {
    const store = new Store();
    const random = rng(1234);
    const n = 20_000;
    for (let i = 0; i < n; i++) put(store, `key:${i}`, `v${i}`);
    const deleted = new Set<number>();
    for (let i = 0; i < n; i++) {
      if (random() < 0.5) {
        store.delete(find(store, `key:${i}`));
        deleted.add(i);
      }
    }
    expect(store.size).toBe(n - deleted.size);
    for (let i = 0; i < n; i++) {
      if (deleted.has(i)) expect(find(store, `key:${i}`)).toBe(-1);
      else expect(read(store, `key:${i}`)).toBe(`v${i}`);
    }
    // Deleted keys come back as new entries, reusing freed ids, and nothing else is disturbed.
    for (const i of deleted) put(store, `key:${i}`, `again${i}`);
    expect(store.size).toBe(n);
    for (let i = 0; i < n; i++) expect(read(store, `key:${i}`)).toBe(deleted.has(i) ? `again${i}` : `v${i}`);
  });

  test("deleting keys in insertion order and in reverse empties the table cleanly", () => {
    for (const reverse of [false, true]) {
      const store = new Store();
      const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
      for (const k of keys) put(store, k, k);
      const order = reverse ? [...keys].reverse() : keys;
      for (let i = 0; i < order.length; i++) {
        store.delete(find(store, order[i]!));
        if (i % 500 === 0) for (const k of order.slice(i + 1)) expect(find(store, k)).toBeGreaterThanOrEqual(0);
      }
      expect(store.size).toBe(0);
      let visited = 0;
      store.forEach(() => visited++);
      expect(visited).toBe(0);
    }
  });
});

describe("lazy expiry", () => {
  test("a key is live until its expiry time and is removed by the first lookup at or after it", () => {
    const store = new Store();
    put(store, "k", "v", 1000);
    expect(read(store, "k", 999)).toBe("v");
    expect(store.expiredTotal).toBe(0);
    expect(find(store, "k")).toBeGreaterThanOrEqual(0); // present, though expired at 1000
    expect(read(store, "k", 1000)).toBeNull();
    expect(store.expiredTotal).toBe(1);
    expect(store.size).toBe(0);
    expect(find(store, "k")).toBe(-1);
    expect(read(store, "k", 1000)).toBeNull();
    expect(store.expiredTotal).toBe(1); // counted once
  });

  test("a key without expiry never expires", () => {
    const store = new Store();
    put(store, "k", "v");
    expect(read(store, "k", Number.MAX_SAFE_INTEGER)).toBe("v");
  });

  test("expireAt changes the expiry and keeps the version", () => {
    const store = new Store();
    const id = put(store, "k", "v", noExpiry, 5);
    store.expireAt(id, 2000);
    expect(store.expiry(id)).toBe(2000);
    expect(store.version(id)).toBe(5);
    store.expireAt(id, noExpiry);
    expect(read(store, "k", 10_000)).toBe("v");
  });
});

describe("active expiry", () => {
  test("sweep removes due keys oldest first and at most keysMax of them", () => {
    const store = new Store();
    for (let i = 0; i < 100; i++) put(store, `k${i}`, "v", 1000 + i);
    put(store, "forever", "v");
    expect(store.sweep(5000, 10, Infinity)).toBe(10);
    expect(store.size).toBe(91);
    expect(store.expiredTotal).toBe(10);
    for (let i = 0; i < 10; i++) expect(find(store, `k${i}`)).toBe(-1);
    for (let i = 10; i < 100; i++) expect(find(store, `k${i}`)).toBeGreaterThanOrEqual(0);
    expect(store.sweep(5000, 1000, Infinity)).toBe(90);
    expect(store.size).toBe(1);
    expect(store.expiredTotal).toBe(100);
    expect(read(store, "forever", 5000)).toBe("v");
  });

  test("sweep leaves keys that are not due yet", () => {
    const store = new Store();
    for (let i = 0; i < 100; i++) put(store, `k${i}`, "v", 1000 + i);
    expect(store.sweep(1049, 1000, Infinity)).toBe(50);
    expect(find(store, "k49")).toBe(-1);
    expect(find(store, "k50")).toBeGreaterThanOrEqual(0);
    expect(store.sweep(1049, 1000, Infinity)).toBe(0);
  });

  test("sweep stops at its deadline, checking it every 32 keys", () => {
    const store = new Store();
    for (let i = 0; i < 200; i++) put(store, `k${i}`, "v", 1000);
    expect(store.sweep(5000, 1000, performance.now() - 1)).toBe(32);
  });

  test("a key whose expiry was moved later survives a sweep at its old time", () => {
    const store = new Store();
    put(store, "k", "v", 1000);
    put(store, "k", "w", 3000, 2);
    expect(store.sweep(2000, 1000, Infinity)).toBe(0);
    expect(read(store, "k", 2000)).toBe("w");
    expect(store.sweep(3000, 1000, Infinity)).toBe(1);
    expect(find(store, "k")).toBe(-1);
  });

  test("a key re-set without expiry survives a sweep at its old time", () => {
    const store = new Store();
    put(store, "k", "v", 1000);
    put(store, "k", "w", noExpiry, 2);
    expect(store.sweep(2000, 1000, Infinity)).toBe(0);
    expect(read(store, "k", 2000)).toBe("w");
  });

  test("a deleted key's stale heap item does not remove the entry that reuses its id", () => {
    const store = new Store();
    const id = put(store, "old", "v", 1000);
    store.delete(id);
    const reused = put(store, "new", "v");
    expect(reused).toBe(id);
    expect(store.sweep(2000, 1000, Infinity)).toBe(0);
    expect(read(store, "new", 2000)).toBe("v");
    expect(store.expiredTotal).toBe(0);
  });

  test("a lazily expired key's stale heap item is skipped by the sweep", () => {
    const store = new Store();
    put(store, "k", "v", 1000);
    expect(read(store, "k", 1500)).toBeNull();
    expect(store.expiredTotal).toBe(1);
    expect(store.sweep(2000, 1000, Infinity)).toBe(0);
    expect(store.expiredTotal).toBe(1);
  });

  test("rewriting one key's expiry many times keeps the heap bounded and the sweep exact", () => {
    const store = new Store();
    for (let i = 0; i < 10; i++) put(store, `other${i}`, "v", 50_000 + i);
    const id = put(store, "k", "v", 1000);
    for (let i = 1; i <= 20_000; i++) store.expireAt(id, 1000 + i);
    expect(store.sweep(20_999, 1000, Infinity)).toBe(0);
    expect(read(store, "k", 20_999)).toBe("v");
    expect(store.sweep(21_000, 100_000, Infinity)).toBe(1);
    expect(store.sweep(60_000, 100_000, Infinity)).toBe(10);
    expect(store.size).toBe(0);
    expect(store.expiredTotal).toBe(11);
  });
});

describe("forEach", () => {
  test("visits every entry once, expired ones included, deleted ones not", () => {
    const store = new Store();
    for (let i = 0; i < 2000; i++) put(store, `k${i}`, `v${i}`, i % 3 === 0 ? 1000 : noExpiry);
    for (let i = 0; i < 2000; i += 4) store.delete(find(store, `k${i}`));
    const seen = new Map<string, string>();
    store.forEach((id) => {
      expect(seen.has(keyOf(store, id))).toBe(false);
      seen.set(keyOf(store, id), valueOf(store, id));
    });
    expect(seen.size).toBe(1500);
    expect(seen.size).toBe(store.size);
    for (let i = 0; i < 2000; i++) expect(seen.get(`k${i}`)).toBe(i % 4 === 0 ? undefined : `v${i}`);
  });
});

type LogRecord = (string | number)[];

/** Records every MutationLog call as text, checking that each arrives before the store applies it. */
class SpyLog implements MutationLog {
  records: LogRecord[] = [];
  store: Store | null = null;
  #text = (buf: Uint8Array, s: number, e: number) => Buffer.from(buf.subarray(s, e)).toString("latin1");

  set(key: Uint8Array, ks: number, ke: number, value: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): void {
    const id = this.store!.find(key, ks, ke);
    // Logged before applied: the store still holds the old version (or nothing).
    expect(id < 0 || this.store!.version(id) === version - 1).toBe(true);
    this.records.push(["set", this.#text(key, ks, ke), this.#text(value, vs, ve), expiryMs, version]);
  }

  del(key: Uint8Array, ks: number, ke: number): void {
    expect(this.store!.find(key, ks, ke)).toBeGreaterThanOrEqual(0);
    this.records.push(["del", this.#text(key, ks, ke)]);
  }

  expire(key: Uint8Array, ks: number, ke: number, expiryMs: number, version: number): void {
    this.records.push(["expire", this.#text(key, ks, ke), expiryMs, version]);
  }

  clear(): void {
    this.records.push(["clear"]);
  }
  batchBegin(count: number, _dataBytes: number): void {
    this.records.push(["batchBegin", count]);
  }

  batchEnd(): void {
    this.records.push(["batchEnd"]);
  }

  groupBegin(countMax: number, _dataBytesMax: number): void {
    this.records.push(["groupBegin", countMax]);
  }

  groupEnd(): void {
    this.records.push(["groupEnd"]);
  }
}

describe("MutationLog", () => {
  function logged(clock?: ManualClock, entriesMax?: number, slabPagesMax?: number) {
    const spy = new SpyLog();
    const ctx = createContext({}, { log: spy, clock, entriesMax, slabPagesMax });
    spy.store = ctx.store;
    return { spy, client: new EngineClient(ctx) };
  }

  test("a keyspace at its entry limit refuses a new key before logging it, and still takes overwrites and deletes", () => {
    const { spy, client } = logged(undefined, 3);
    expect(client.send("SET a 1\r\n1\r\nSET b 1\r\n2\r\nSET c 1\r\n3\r\n")).toBe("OK 1\r\nOK 1\r\nOK 1\r\n");
    const before = spy.records.length;
    const big = "v".repeat(slabLargeBytesMin);
    for (const request of ["SET d 1\r\n4\r\n", `SET d ${big.length}\r\n${big}\r\n`, "INCR d\r\n", "MSET d 1 e 1\r\n45\r\n"]) {
      expect(client.send(request)).toStartWith("ERR ");
      expect(spy.records.length).toBe(before);
    }
    expect(client.send("SET a 2\r\nxy\r\nDEL b\r\nSET d 1\r\n4\r\n")).toBe("OK 2\r\nDELETED 1\r\nOK 1\r\n");
    expect(client.send("GET a\r\nGET d\r\n")).toBe("VALUE 2 2 -1\r\nxy\r\nVALUE 1 1 -1\r\n4\r\n");
  });

  test("a slab at its page cap refuses a write that needs a new block before logging it, and still takes overwrites, deletes and writes into freed blocks", () => {
    // 60,000-byte values take the 64 KiB class: 64 blocks a 4 MiB page, 128 in the 2 pages allowed.
    const { spy, client } = logged(undefined, undefined, 2);
    const value = (c: string) => c.repeat(60_000);
    for (let i = 0; i < 128; i++) expect(client.send(`SET k:${String(i).padStart(3, "0")} 60000\r\n${value("a")}\r\n`)).toBe("OK 1\r\n");
    const before = spy.records.length;
    for (const request of [`SET k:128 60000\r\n${value("b")}\r\n`, "SET small 1\r\nx\r\n", "INCR n\r\n", `MSET k:000 60000 m 1\r\n${value("c")}x\r\n`]) {
      expect(client.send(request)).toStartWith("ERR ");
      expect(spy.records.length).toBe(before);
    }
    expect(client.send("GET small\r\nGET k:128\r\n")).toBe("NOT_FOUND\r\nNOT_FOUND\r\n");
    // An overwrite that fits its block, and a new key once a block was freed.
    expect(client.send(`SET k:005 60000\r\n${value("d")}\r\nDEL k:000\r\nSET k:128 60000\r\n${value("e")}\r\n`)).toBe("OK 2\r\nDELETED 1\r\nOK 1\r\n");
    expect(client.send("GET k:005\r\n")).toBe(`VALUE 60000 2 -1\r\n${value("d")}\r\n`);
    expect(client.send("GET k:128\r\n")).toBe(`VALUE 60000 1 -1\r\n${value("e")}\r\n`);
    expect(client.send("GET k:127\r\n")).toBe(`VALUE 60000 1 -1\r\n${value("a")}\r\n`);
  });

  test("every write reaches the log in order, with absolute expiries and INCR as a SET of its result", () => {
    // A clock that stands still: the expiries logged are exactly now + the time given.
    const nowMs = 1_800_000_000_000;
    const { spy, client } = logged(new ManualClock(nowMs));
    expect(client.send("SET a 2 EX 60000\r\nhi\r\n")).toBe("OK 1\r\n");
    expect(client.send("INCR a\r\n")).toBe("ERR TYPE value is not an integer\r\n");
    expect(client.send("SET n 2 PXAT 4102444800000\r\n41\r\n")).toBe("OK 1\r\n");
    expect(client.send("INCR n\r\nDECR n 10\r\n")).toBe("42\r\n32\r\n");
    expect(client.send("EXPIRE n 1000000\r\n")).toBe("OK\r\n");
    expect(client.send("DEL a\r\nEXPIRE n 0\r\n")).toBe("DELETED 1\r\nOK\r\n");

    const [first, ...rest] = spy.records;
    expect(first!.slice(0, 3)).toEqual(["set", "a", "hi"]);
    expect(first![3]).toBe(nowMs + 60000);
    expect(first![4]).toBe(1);
    const expire = rest[3]!;
    expect(expire.slice(0, 2)).toEqual(["expire", "n"]);
    expect(expire[2]).toBe(nowMs + 1000000);
    expect(expire[3]).toBe(3);
    expect([...rest.slice(0, 3), ...rest.slice(4)]).toEqual([
      ["set", "n", "41", 4102444800000, 1],
      ["set", "n", "42", 4102444800000, 2],
      ["set", "n", "32", 4102444800000, 3],
      ["del", "a"],
      ["del", "n"],
    ]);
  });

  test("an MSET is logged as one batch of SETs between batchBegin and batchEnd", () => {
    const { spy, client } = logged();
    expect(client.send("SET b 1 EX 60000\r\nx\r\n")).toBe("OK 1\r\n");
    spy.records = [];
    expect(client.send("MSET a 1 b 2 c 0\r\n122\r\n")).toBe("OK 3\r\n");
    expect(spy.records).toEqual([
      ["batchBegin", 3],
      ["set", "a", "1", noExpiry, 1],
      ["set", "b", "22", noExpiry, 2],
      ["set", "c", "", noExpiry, 1],
      ["batchEnd"],
    ]);
  });

  test("a request that fails logs nothing", () => {
    const { spy, client } = logged();
    expect(client.send("SET k 1\r\nv\r\n")).toBe("OK 1\r\n");
    spy.records = [];
    const replies = client.send(
      "SET k 1 NX\r\nw\r\n" +
        "SET k 1 VER 9\r\nw\r\n" +
        "SET z 1 XX\r\nw\r\n" +
        "SET k 1 EX 0\r\nw\r\n" +
        "INCR k\r\n" +
        "MSET a 1 b\x01 1\r\nxy\r\n" +
        "DEL missing\r\n" +
        "EXPIRE missing 10\r\n",
    );
    expect(replies.split("\r\n").filter((l) => l !== "").every((l) => l.startsWith("ERR") || l === "DELETED 0" || l === "NOT_FOUND")).toBe(true);
    expect(spy.records).toEqual([]);
  });
});

describe("Store.clear", () => {
  test("removes every key, logs one clear, and the store works as new afterwards", () => {
    const log = new SpyLog();
    const store = new Store({ log });
    log.store = store;
    const k = (s: string) => new TextEncoder().encode(s);
    for (let i = 0; i < 5000; i++) {
      const key = k(`key:${i}`);
      const id = store.set(key, 0, key.length, key, 0, key.length, i % 2 ? 1e15 : noExpiry, 1, -1);
      expect(id).toBeGreaterThanOrEqual(0);
    }
    log.records.length = 0;
    expect(store.size).toBe(5000);
    store.clear();
    expect(log.records).toEqual([["clear"]]);
    expect(store.size).toBe(0);
    expect(store.lookup(k("key:1"), 0, 7, 0)).toBe(-1);
    const key = k("again");
    const id = store.set(key, 0, key.length, key, 0, key.length, noExpiry, 1, -1);
    expect(store.lookup(key, 0, key.length, 0)).toBe(id);
    expect(store.sweep(2e15, 100, Infinity)).toBe(0);
  });
});

describe("Store.load (recovery's one-probe SET)", () => {
  test("inserts new keys, overwrites existing ones, logs nothing, and agrees with a Map across resizes", () => {
    const log = new SpyLog();
    const store = new Store({ log });
    log.store = store;
    const model = new Map<string, string>();
    const enc = new TextEncoder();
    for (let i = 0; i < 30000; i++) {
      const key = `k${(i * 7919) % 12000}`; // repeats: every key is loaded ~2.5 times
      const value = `v${i}`;
      const rec = enc.encode(key + value); // key and value adjacent, as in a snapshot entry
      store.load(rec, 0, key.length, rec, key.length, rec.length, noExpiry, i + 1);
      model.set(key, value);
    }
    expect(log.records).toEqual([]);
    expect(store.size).toBe(model.size);
    for (const [key, value] of model) {
      const kb = enc.encode(key);
      const id = store.lookup(kb, 0, kb.length, 0);
      expect(id).toBeGreaterThanOrEqual(0);
      const vs = store.valueOffset(id);
      expect(Buffer.from(store.buffer(id).subarray(vs, vs + store.valueLength(id))).toString()).toBe(value);
    }
  });
});

describe("Store.load while the table doubles", () => {
  test("reloading keys that are still in the old table overwrites them instead of adding them twice", () => {
    const store = new Store();
    const model = new Map<string, string>();
    const enc = new TextEncoder();
    const load = (key: string, value: string) => {
      const rec = enc.encode(key + value);
      store.load(rec, 0, key.length, rec, key.length, rec.length, noExpiry, 1);
      model.set(key, value);
    };
    for (let i = 0; i < 20_000; i++) {
      load(`k${i}`, `first${i}`);
      load(`k${Math.floor(i / 2)}`, `again${i}`); // an older key, often not yet moved to the new table
      if (i % 3 === 0) {
        const key = `k${Math.floor(i / 3)}`; // deletes leave tombstones in the old table
        const id = find(store, key);
        expect(id >= 0).toBe(model.has(key));
        if (id >= 0) store.delete(id);
        model.delete(key);
      }
    }
    expect(store.size).toBe(model.size);
    for (let i = 0; i < 20_000; i++) expect(read(store, `k${i}`)).toBe(model.get(`k${i}`) ?? null);
  });
});

describe("invariants", () => {
  test("DEL, EXPIRE or a replayed SET of an entry id that holds no key fails an invariant and logs nothing", () => {
    const log = new SpyLog();
    const store = new Store({ log });
    log.store = store;
    const id = put(store, "k", "v");
    store.delete(id);
    log.records.length = 0;
    const k = b("k");
    for (const stale of [id, -1, 5000]) {
      expect(() => store.delete(stale)).toThrow(InvariantError);
      expect(() => store.expireAt(stale, 1000)).toThrow(InvariantError);
    }
    expect(() => store.apply(k, 0, 1, k, 0, 1, noExpiry, 1, id)).toThrow(InvariantError);
    expect(log.records).toEqual([]);
    expect(store.size).toBe(0);
  });
});
