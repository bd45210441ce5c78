// The WAL as a unit: records reach the file in the documented format, waiters (connections
// holding replies) are released in order, exactly once, even when a release re-enters the log,
// and a caller breaking the log's rules (batches, record limits) fails loudly, logging nothing.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvariantError } from "../../src/assert.ts";
import { configFromObject } from "../../src/config.ts";
import { keyBytesMaxLimit, walBufferBytesMax, walRefsPerTurnMax, walReserveBytes, walReserveBytesMax } from "../../src/constants.ts";
import { noExpiry, Store } from "../../src/engine/store.ts";
import { loadNative } from "../../src/native/index.ts";
import { Wal } from "../../src/persistence/wal.ts";
import { concat, walRecord } from "./fixtures.ts";

const dirs: string[] = [];
const wals: Wal[] = [];
afterEach(() => {
  for (const w of wals.splice(0)) w.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openWal(settings: Record<string, unknown> = {}): { wal: Wal; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "osprey-wal-"));
  dirs.push(dir);
  const wal = new Wal(dir, configFromObject({ data_dir: dir, ...settings }, { warn: () => {} }), 1, 0);
  wals.push(wal);
  return { wal, dir };
}

const enc = new TextEncoder();
function set(wal: Wal, key: string, value: string, version = 1): void {
  const k = enc.encode(key);
  const v = enc.encode(value);
  wal.set(k, 0, k.length, v, 0, v.length, noExpiry, version);
}

const turn = () => new Promise<void>((r) => setImmediate(() => setImmediate(r)));

describe("Wal", () => {
  test("a turn's records land in the file byte for byte as the format describes, in one write", async () => {
    const { wal, dir } = openWal({ sync_policy: "os" });
    set(wal, "a", "1");
    set(wal, "b", "22", 3);
    const k = enc.encode("a");
    wal.del(k, 0, 1);
    wal.expire(k, 0, 1, 1700000060000, 3);
    await turn();
    expect(wal.writesTotal).toBe(1);
    const expected = concat([
      walRecord({ type: 0, key: "a", value: "1", version: 1 }),
      walRecord({ type: 0, key: "b", value: "22", version: 3 }),
      walRecord({ type: 1, key: "a" }),
      walRecord({ type: 2, key: "a", expiryMs: 1700000060000, version: 3 }),
    ]);
    expect(Array.from(readFileSync(join(dir, "wal-00000001.oswal")))).toEqual(Array.from(expected));
  });

  test("waiters are released once, in order, even when one re-enters the log by rotating it", async () => {
    const { wal } = openWal({ sync_policy: "os" });
    const seen: string[] = [];
    set(wal, "a", "1");
    wal.waitFor(wal.appendedLsn, { onDurable: () => (seen.push("A"), wal.rotate()) });
    set(wal, "b", "1");
    wal.waitFor(wal.appendedLsn, { onDurable: () => seen.push("B") });
    await turn();
    expect(seen).toEqual(["A", "B"]);
    set(wal, "c", "1");
    wal.waitFor(wal.appendedLsn, { onDurable: () => seen.push("C") });
    await turn();
    expect(seen).toEqual(["A", "B", "C"]);
    expect(wal.currentName).toBe("wal-00000002.oswal");
  });

  test('"always" releases a waiter only after an fdatasync covering it', async () => {
    const { wal } = openWal({ sync_policy: "always" });
    let released = false;
    set(wal, "a", "1");
    wal.waitFor(wal.appendedLsn, { onDurable: () => (released = true) });
    await turn();
    for (let i = 0; i < 200 && !released; i++) await Bun.sleep(5);
    expect(released).toBe(true);
    expect(wal.syncsTotal).toBeGreaterThanOrEqual(1);
  });

  test("an MSET batch of two SETs lands as one batch record holding both, byte for byte", async () => {
    const { wal, dir } = openWal({ sync_policy: "os" });
    wal.batchBegin(2, "a1b22".length);
    set(wal, "a", "1");
    set(wal, "b", "22", 2);
    wal.batchEnd();
    wal.clear();
    await turn();
    const items = [walRecord({ type: 0, key: "a", value: "1", version: 1 }), walRecord({ type: 0, key: "b", value: "22", version: 2 })];
    const expected = concat([walRecord({ type: 3, value: concat(items), version: 2 }), walRecord({ type: 4 })]);
    expect(Array.from(readFileSync(join(dir, "wal-00000001.oswal")))).toEqual(Array.from(expected));
  });

  test("a group (EXEC) is sealed as one batch of the records logged in it, an MSET batch inside included; an empty group leaves no bytes", async () => {
    const { wal, dir } = openWal({ sync_policy: "os" });
    wal.groupBegin(10, 100);
    wal.groupEnd();
    wal.groupBegin(4, 20);
    set(wal, "a", "1");
    wal.batchBegin(2, "b2c3".length);
    set(wal, "b", "2");
    set(wal, "c", "3");
    wal.batchEnd();
    const k = enc.encode("a");
    wal.del(k, 0, 1);
    wal.groupEnd();
    await turn();
    const items = [
      walRecord({ type: 0, key: "a", value: "1", version: 1 }),
      walRecord({ type: 0, key: "b", value: "2", version: 1 }),
      walRecord({ type: 0, key: "c", value: "3", version: 1 }),
      walRecord({ type: 1, key: "a" }),
    ];
    expect(Array.from(readFileSync(join(dir, "wal-00000001.oswal")))).toEqual(Array.from(walRecord({ type: 3, value: concat(items), version: 4 })));
  });
});

describe("Wal invariants", () => {
  test("a group ended without one open, or while one of its MSET batches is open, is a broken invariant", () => {
    const { wal } = openWal({ sync_policy: "os" });
    expect(() => wal.groupEnd()).toThrow(InvariantError);
    wal.groupBegin(2, 10);
    wal.batchBegin(2, 4);
    set(wal, "a", "1");
    expect(() => wal.groupEnd()).toThrow(InvariantError);
  });

  test("a group begun inside a group, or records longer than a group reserved, are broken invariants before anything is encoded", () => {
    const { wal } = openWal({ sync_policy: "os" });
    wal.groupBegin(1, 2);
    expect(() => wal.groupBegin(1, 2)).toThrow(InvariantError);
    const other = openWal({ sync_policy: "os" }).wal;
    other.groupBegin(1, 2);
    const before = other.appendedLsn;
    expect(() => set(other, "a", "too long for the group")).toThrow(InvariantError);
    expect(() => other.batchBegin(2, 10)).toThrow(InvariantError);
    expect(other.appendedLsn).toBe(before);
  });

  test("a clear inside an MSET's batch is a broken invariant, alone or inside a group; inside a group's own records it is an item", () => {
    const { wal } = openWal({ sync_policy: "os" });
    wal.batchBegin(1, 2);
    expect(() => wal.clear()).toThrow(InvariantError);
    const other = openWal({ sync_policy: "os" }).wal;
    other.groupBegin(4, 4);
    other.batchBegin(1, 2);
    expect(() => other.clear()).toThrow(InvariantError);
    const third = openWal({ sync_policy: "os" }).wal;
    third.groupBegin(1, 0);
    third.clear();
    third.groupEnd();
    expect(third.appendedLsn).toBe(2 * 35);
  });


  test("a batch begun while another is open is a broken invariant", () => {
    const { wal } = openWal({ sync_policy: "os" });
    wal.batchBegin(1, 2);
    expect(() => wal.batchBegin(1, 2)).toThrow(InvariantError);
  });

  test("a batch ended without one open is a broken invariant", () => {
    const { wal } = openWal({ sync_policy: "os" });
    expect(() => wal.batchEnd()).toThrow(InvariantError);
  });

  test("a batch holding fewer records than it was begun with is a broken invariant, never a batch recovery would refuse", () => {
    const { wal } = openWal({ sync_policy: "os" });
    wal.batchBegin(2, 4);
    set(wal, "a", "1");
    expect(() => wal.batchEnd()).toThrow(InvariantError);
  });

  test("a batch's records longer than batchBegin announced are a broken invariant before they are encoded", () => {
    const { wal } = openWal({ sync_policy: "os" });
    wal.batchBegin(1, 2);
    const before = wal.appendedLsn;
    expect(() => set(wal, "a", "too long for the batch")).toThrow(InvariantError);
    expect(wal.appendedLsn).toBe(before);
  });

  test("a clear inside a batch is a broken invariant", () => {
    const { wal } = openWal({ sync_policy: "os" });
    wal.batchBegin(1, 2);
    expect(() => wal.clear()).toThrow(InvariantError);
  });

  test("a SET whose key is empty or longer than any configuration allows is a broken invariant and logs nothing", async () => {
    const { wal, dir } = openWal({ sync_policy: "os" });
    const key = new Uint8Array(keyBytesMaxLimit + 1).fill(0x6b);
    expect(() => wal.set(key, 0, key.length, key, 0, 1, noExpiry, 1)).toThrow(InvariantError);
    expect(() => wal.set(key, 0, 0, key, 0, 1, noExpiry, 1)).toThrow(InvariantError);
    expect(wal.appendedLsn).toBe(0);
    await turn();
    expect(readFileSync(join(dir, "wal-00000001.oswal")).length).toBe(0);
  });

  test("waiters queued for a position below an earlier one are a broken invariant", () => {
    const { wal } = openWal({ sync_policy: "os" });
    set(wal, "a", "1");
    wal.waitFor(wal.appendedLsn, { onDurable() {} });
    expect(() => wal.waitFor(1, { onDurable() {} })).toThrow(InvariantError);
  });
});

describe("large values logged by reference", () => {
  const fill = (n: number, c: string) => c.repeat(n);
  const file = (dir: string) => Array.from(readFileSync(join(dir, "wal-00000001.oswal")));
  /** SETs key = value through the store, which logs a large value from its own buffer. */
  function storeSet(store: Store, key: string, value: string, version: number): void {
    const k = enc.encode(key);
    const v = enc.encode(value);
    store.set(k, 0, k.length, v, 0, v.length, noExpiry, version, store.find(k, 0, k.length));
  }

  test("a turn mixing small and large SETs lands byte for byte as the format describes, in one write", async () => {
    const { wal, dir } = openWal({ sync_policy: "os" });
    const store = new Store({ log: wal });
    const big1 = fill(70_000, "p");
    const big2 = fill(300_000, "q");
    storeSet(store, "small", "1", 1);
    storeSet(store, "big1", big1, 1);
    storeSet(store, "big2", big2, 1);
    wal.del(enc.encode("small"), 0, 5);
    const before = wal.appendedLsn;
    await turn();
    expect(wal.writesTotal).toBe(1);
    const expected = concat([
      walRecord({ type: 0, key: "small", value: "1", version: 1 }),
      walRecord({ type: 0, key: "big1", value: big1, version: 1 }),
      walRecord({ type: 0, key: "big2", value: big2, version: 1 }),
      walRecord({ type: 1, key: "small" }),
    ]);
    expect(before).toBe(expected.length);
    expect(wal.appendedLsn).toBe(expected.length);
    expect(file(dir)).toEqual(Array.from(expected));
  });

  test("a large value overwritten and patched within one turn is logged as it was at each write", async () => {
    const { wal, dir } = openWal({ sync_policy: "os" });
    const store = new Store({ log: wal });
    const first = fill(100_000, "a");
    const second = fill(100_000, "b");
    storeSet(store, "k", first, 1);
    const id = store.find(enc.encode("k"), 0, 1);
    const patch = enc.encode("zz");
    store.patch(id, 10, patch, 0, 2, 2);
    storeSet(store, "k", second, 3);
    await turn();
    const patched = first.slice(0, 10) + "zz" + first.slice(12);
    const expected = concat([
      walRecord({ type: 0, key: "k", value: first, version: 1 }),
      walRecord({ type: 0, key: "k", value: patched, version: 2 }),
      walRecord({ type: 0, key: "k", value: second, version: 3 }),
    ]);
    expect(file(dir)).toEqual(Array.from(expected));
    const buf = store.buffer(id);
    expect(buf.toString("latin1", store.valueOffset(id), store.valueOffset(id) + store.valueLength(id))).toBe(second);
  });

  test("a large value in an MSET batch, or from bytes the store does not own, is copied and lands the same", async () => {
    const { wal, dir } = openWal({ sync_policy: "os" });
    const big = fill(80_000, "m");
    wal.batchBegin(1, 1 + big.length);
    set(wal, "a", big);
    wal.batchEnd();
    set(wal, "b", big, 2);
    await turn();
    const expected = concat([
      walRecord({ type: 3, value: walRecord({ type: 0, key: "a", value: big, version: 1 }), version: 1 }),
      walRecord({ type: 0, key: "b", value: big, version: 2 }),
    ]);
    expect(file(dir)).toEqual(Array.from(expected));
  });

  test("a large value deleted in its turn keeps its bytes until written, though a SET of the same size follows", async () => {
    const { wal, dir } = openWal({ sync_policy: "os" });
    const store = new Store({ log: wal });
    const first = fill(150_000, "f");
    const second = fill(150_000, "s");
    storeSet(store, "k", first, 1);
    store.delete(store.find(enc.encode("k"), 0, 1));
    storeSet(store, "j", second, 1); // same size: must not get k's buffer, which the turn still references
    await turn();
    const expected = concat([
      walRecord({ type: 0, key: "k", value: first, version: 1 }),
      walRecord({ type: 1, key: "k" }),
      walRecord({ type: 0, key: "j", value: second, version: 1 }),
    ]);
    expect(file(dir)).toEqual(Array.from(expected));
  });

  test("a turn logging more than the buffer's max writes what it holds and goes on: the file is byte for byte the records", async () => {
    const { wal, dir } = openWal({ sync_policy: "os" });
    const value = fill(16 * 1024, "v"); // copied into the buffer (below the by-reference size)
    const n = Math.ceil((2.5 * walBufferBytesMax) / value.length);
    for (let i = 0; i < n; i++) set(wal, `k${i}`, value, i + 1);
    const written = wal.writesTotal;
    expect(written).toBe(2); // two full buffers so far, the rest at the turn's end
    await turn();
    expect(wal.writesTotal).toBe(written + 1);
    const expected = concat(Array.from({ length: n }, (_, i) => walRecord({ type: 0, key: `k${i}`, value, version: i + 1 })));
    expect(wal.appendedLsn).toBe(expected.length);
    expect(Buffer.from(expected).equals(readFileSync(join(dir, "wal-00000001.oswal")))).toBe(true);
  });

  test("past the references one writev takes, the turn writes what it holds and goes on logging by reference", async () => {
    const { wal, dir } = openWal({ sync_policy: "os" });
    const store = new Store({ log: wal });
    const n = walRefsPerTurnMax * 2 + 10;
    const values = Array.from({ length: n }, (_, i) => fill(40_000, String.fromCharCode(97 + (i % 26))));
    for (let i = 0; i < n; i++) storeSet(store, `big${i}`, values[i]!, 1);
    expect(wal.writesTotal).toBe(2);
    await turn();
    expect(wal.writesTotal).toBe(3);
    const expected = concat(values.map((value, i) => walRecord({ type: 0, key: `big${i}`, value, version: 1 })));
    expect(Buffer.from(expected).equals(readFileSync(join(dir, "wal-00000001.oswal")))).toBe(true);
  });

  test("a rotation writes the referenced values of the turn into the file it completes", async () => {
    const { wal, dir } = openWal({ sync_policy: "os" });
    const store = new Store({ log: wal });
    const big = fill(200_000, "r");
    storeSet(store, "k", big, 1);
    expect(wal.rotate()).toBe(2);
    storeSet(store, "j", "1", 1);
    await turn();
    expect(file(dir)).toEqual(Array.from(walRecord({ type: 0, key: "k", value: big, version: 1 })));
    expect(Array.from(readFileSync(join(dir, "wal-00000002.oswal")))).toEqual(Array.from(walRecord({ type: 0, key: "j", value: "1", version: 1 })));
  });
});

describe("disk space reserved ahead", () => {
  // The WAL reserves (fallocate, keep size) a chunk past what it writes: 1 MiB in a new file,
  // growing to 1/8 of the file up to 16 MiB, so a fast log makes few calls. A sparse file of the
  // given length stands in for a file that long (its holes hold no blocks), so the blocks after
  // one small record are the chunk.
  for (const [length, chunk] of [
    [0, walReserveBytes],
    [32 << 20, 4 << 20],
    [1 << 30, walReserveBytesMax],
  ] as const) {
    test(`after ${length >> 20} MiB of file the chunk is ${chunk >> 20} MiB`, async () => {
      expect(loadNative()).toBe(true); // reserving is the native library's fallocate
      const dir = mkdtempSync(join(tmpdir(), "osprey-wal-"));
      dirs.push(dir);
      const path = join(dir, "wal-00000001.oswal");
      writeFileSync(path, "");
      truncateSync(path, length);
      const wal = new Wal(dir, configFromObject({ data_dir: dir, sync_policy: "os", wal_max_bytes: 2 * 1024 ** 3 }, { warn: () => {} }), 1, length);
      wals.push(wal);
      set(wal, "a", "1");
      await turn();
      const allocated = statSync(path).blocks * 512;
      expect(allocated).toBeGreaterThanOrEqual(chunk);
      expect(allocated).toBeLessThan(chunk + walReserveBytes);
    });
  }
});
