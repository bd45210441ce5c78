// Slab compaction in the store: sparse pages emptied by moving their entries (same id, new page and
// offset), from the background tick in slices; writes and snapshots going on meanwhile see every
// key and value as they are, and the memory held follows the data.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromObject } from "../../src/config.ts";
import { slabPageBytes } from "../../src/constants.ts";
import { noExpiry, Store } from "../../src/engine/store.ts";
import { openPersistence } from "../../src/persistence/index.ts";

const b = (s: string) => Buffer.from(s, "latin1");

/** A value of `bytes` bytes that differs for every key and every `round`, so a block moved wrong or torn shows. */
function valueFor(key: string, round: number, bytes: number): Buffer {
  const v = Buffer.alloc(bytes);
  let x = (round * 0x9e3779b1) ^ Bun.hash.crc32(key);
  for (let i = 0; i < bytes; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    v[i] = x >>> 24;
  }
  return v;
}

function put(store: Store, key: string, value: Buffer): void {
  const k = b(key);
  store.set(k, 0, k.length, value, 0, value.length, noExpiry, 1, store.find(k, 0, k.length));
}

function del(store: Store, key: string): void {
  const k = b(key);
  store.delete(store.find(k, 0, k.length));
}

function valueOf(store: Store, key: string): Buffer | null {
  const k = b(key);
  const id = store.lookup(k, 0, k.length, 0);
  if (id < 0) return null;
  const vs = store.valueOffset(id);
  return store.buffer(id).subarray(vs, vs + store.valueLength(id));
}

/** Every key of `model` reads back byte for byte, and the store holds nothing else. */
function expectHolds(store: Store, model: Map<string, Buffer>): void {
  expect(store.size).toBe(model.size);
  let wrong = 0;
  for (const [k, v] of model) if (!valueOf(store, k)?.equals(v)) wrong++;
  expect(wrong).toBe(0);
}

/** Runs background slices of a few hundred ids each until the compaction in progress ends; returns how many. */
function compactFully(store: Store): number {
  let slices = 0;
  do {
    store.maintain(performance.now());
    slices++;
  } while (store.compacting);
  return slices;
}

const valueBytes = 1000; // with the key: class 1024, 4096 entries a page
const count = 40_000; // ten pages

function filled(): { store: Store; model: Map<string, Buffer> } {
  const store = new Store();
  const model = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const key = `key:${i}`;
    const v = valueFor(key, 0, valueBytes);
    put(store, key, v);
    model.set(key, v);
  }
  return { store, model };
}

describe("slab compaction", () => {
  test("after every other key is deleted, the background tick moves entries off the sparse pages and half the pages go back", () => {
    const { store, model } = filled();
    const before = store.slabBytesReserved;
    expect(before).toBe(10 * slabPageBytes);
    for (let i = 0; i < count; i += 2) {
      del(store, `key:${i}`);
      model.delete(`key:${i}`);
    }
    // Deletes alone leave every page half full: nothing comes back yet.
    expect(store.slabBytesReserved).toBe(before);
    store.maintain(performance.now());
    expect(store.compacting).toBe(true);
    expect(compactFully(store)).toBeGreaterThan(1);
    expect(store.slabBytesReserved).toBeLessThanOrEqual(6 * slabPageBytes);
    expectHolds(store, model);
  });

  test("writes, overwrites, patches and deletes between compaction slices leave every key as the writes say", () => {
    const { store, model } = filled();
    for (let i = 0; i < count; i += 2) {
      del(store, `key:${i}`);
      model.delete(`key:${i}`);
    }
    store.maintain(performance.now());
    expect(store.compacting).toBe(true);
    let round = 1;
    let seed = 42;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    while (store.compacting) {
      for (let n = 0; n < 50; n++) {
        const key = `key:${Math.floor(random() * count)}`;
        const op = random();
        if (op < 0.4) {
          const v = valueFor(key, round++, op < 0.2 ? valueBytes : 1 + Math.floor(random() * 3000));
          put(store, key, v);
          model.set(key, v);
        } else if (op < 0.6 && model.has(key)) {
          del(store, key);
          model.delete(key);
        } else if (op < 0.8 && model.has(key)) {
          // APPEND-like patch past the end: the value may grow out of its block.
          const k = b(key);
          const id = store.find(k, 0, k.length);
          const tail = valueFor(key, round++, 1 + Math.floor(random() * 100));
          const old = model.get(key)!;
          store.patch(id, old.length, tail, 0, tail.length, 2);
          model.set(key, Buffer.concat([old, tail]));
        }
      }
      store.maintain(performance.now());
    }
    expectHolds(store, model);
  });

  test("FLUSHALL during a compaction ends it and the store starts over empty", () => {
    const { store, model } = filled();
    for (let i = 0; i < count; i += 2) del(store, `key:${i}`);
    store.maintain(performance.now());
    expect(store.compacting).toBe(true);
    store.clear();
    expect(store.compacting).toBe(false);
    expect(store.slabBytesReserved).toBe(0);
    model.clear();
    put(store, "a", b("1"));
    model.set("a", b("1"));
    store.maintain(performance.now());
    expectHolds(store, model);
  });
});

describe("a snapshot during compaction", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  test("a snapshot whose walk runs while compaction moves entries restores exactly the keys and values it started with", async () => {
    const dir = mkdtempSync(join(tmpdir(), "osprey-compaction-"));
    dirs.push(dir);
    const config = configFromObject({ data_dir: dir, sync_policy: "os", snapshot_pause_max_ms: 0, wal_max_bytes: 2 ** 30 }, { warn: () => {} });
    const store = new Store();
    const p = openPersistence(config, store);
    const model = new Map<string, Buffer>();
    for (let i = 0; i < count; i++) {
      const key = `key:${i}`;
      const v = valueFor(key, 0, valueBytes);
      put(store, key, v);
      if (i % 2 === 1) model.set(key, v);
    }
    for (let i = 0; i < count; i += 2) del(store, `key:${i}`);
    store.maintain(performance.now());
    expect(store.compacting).toBe(true);
    expect(p.snapshots.start("test")).toBeNull();
    // Snapshot slices (setImmediate) and compaction slices take turns until the snapshot is done.
    let overlapping = 0;
    while (p.snapshots.running) {
      await new Promise<void>((r) => setImmediate(r));
      if (!store.compacting) continue;
      store.maintain(performance.now());
      overlapping++;
    }
    expect(overlapping).toBeGreaterThan(2);
    expect(p.snapshots.failuresTotal).toBe(0);
    compactFully(store);
    p.close();
    // Nothing was logged after the snapshot started: what comes back is the snapshot's alone.
    const restored = new Store();
    const q = openPersistence(config, restored);
    q.close();
    expectHolds(restored, model);
  }, 60_000);
});
