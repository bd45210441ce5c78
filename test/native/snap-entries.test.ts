// The native bulk decoders of snapshot entries (osprey_snap_entries) and WAL records
// (osprey_wal_records) read what format.ts's parseEntry and parseRecord read, hash keys as the
// hash table does, and stop at the first entry or record that is cut off, does not check or (in
// the WAL) is a batch or a clear, so the TypeScript walk reads that one and names what is wrong.

import { describe, expect, test } from "bun:test";
import { hashKey } from "../../src/engine/hashtable.ts";
import { snapEntries, walRecords } from "../../src/native/index.ts";
import { encodeClear, encodeDel, encodeEntry, encodeExpire, encodeSet, entryBytes, newEntryView, newRecordView, parseEntry, parseRecord } from "../../src/persistence/format.ts";
import { rng } from "../support/rng.ts";

const keyMax = 65536;
const valueMax = 512 * 1024 * 1024;

/** n random entries back to back after `lead` bytes; returns the buffer and each entry's offset. */
function entries(n: number, lead: number, seed: number): { b: Buffer; at: number[] } {
  const random = rng(seed);
  const parts: { k: Buffer; v: Buffer; x: number; ver: number }[] = [];
  for (let i = 0; i < n; i++) {
    const k = Buffer.alloc(1 + Math.floor(random() * 40));
    const v = Buffer.alloc(Math.floor(random() * 300));
    for (let j = 0; j < k.length; j++) k[j] = random() * 256;
    for (let j = 0; j < v.length; j++) v[j] = random() * 256;
    // Expiry: none, a millisecond time, or past 2^53; versions up to 2^53.
    const x = i % 3 === 0 ? -1 : i % 3 === 1 ? 1_800_000_000_000 + i : 2 ** 60 + i * 2 ** 10;
    parts.push({ k, v, x, ver: i % 5 === 0 ? 2 ** 53 - i : i + 1 });
  }
  const b = Buffer.alloc(lead + parts.reduce((s, p) => s + entryBytes(p.k.length, p.v.length), 0));
  const at: number[] = [];
  let pos = lead;
  for (const p of parts) {
    at.push(pos);
    pos = encodeEntry(b, pos, p.k, 0, p.k.length, p.v, 0, p.v.length, p.x, p.ver);
  }
  return { b, at };
}

describe("native snapshot entry decoding", () => {
  test("every entry decodes as parseEntry decodes it, with the hash table's hash of its key", () => {
    const { b, at } = entries(500, 14, 3);
    const ints = new Int32Array(4096 * 4);
    const nums = new Float64Array(4096 * 2);
    const seed = 0x1234567;
    expect(snapEntries(b, 14, b.length, keyMax, valueMax, seed, ints, nums)).toBe(500);
    const e = newEntryView();
    for (let i = 0; i < at.length; i++) {
      expect(parseEntry(b, at[i]!, b.length, e)).toBeNull();
      expect([ints[4 * i], ints[4 * i + 1], ints[4 * i + 2]]).toEqual([at[i]!, e.keyLen, e.valueLen]);
      expect(ints[4 * i + 3]).toBe(hashKey(b, e.keyStart, e.keyStart + e.keyLen, seed));
      expect([nums[2 * i], nums[2 * i + 1]]).toEqual([e.expiryMs, e.version]);
    }
  });

  test("it stops before an entry the buffer cuts off, a bad crc, a bad length, and after `max` entries", () => {
    const { b, at } = entries(20, 0, 9);
    const ints = new Int32Array(4096 * 4);
    const nums = new Float64Array(4096 * 2);
    expect(snapEntries(b, 0, at[7]! + 30, keyMax, valueMax, 1, ints, nums)).toBe(7);
    const crcBroken = Buffer.from(b);
    crcBroken[at[5]! + 24] ^= 1;
    expect(snapEntries(crcBroken, 0, b.length, keyMax, valueMax, 1, ints, nums)).toBe(5);
    const lengthBroken = Buffer.from(b);
    lengthBroken.writeUInt32LE(0, at[3]!);
    expect(snapEntries(lengthBroken, 0, b.length, keyMax, valueMax, 1, ints, nums)).toBe(3);
    expect(snapEntries(b, 0, b.length, 8, valueMax, 1, ints, nums)).toBe([...Array(20).keys()].findIndex((i) => b.readUInt32LE(at[i]!) > 8));
    expect(snapEntries(b, 0, b.length, keyMax, valueMax, 1, ints.subarray(0, 8), nums)).toBe(2);
  });

  test("WAL records: SET, DEL and EXPIRE decode as parseRecord decodes them; a clear, a bad crc or a cut-off record stops the run", () => {
    const b = Buffer.alloc(1 << 16);
    const at: number[] = [];
    let pos = 0;
    for (let i = 0; i < 60; i++) {
      at.push(pos);
      const k = Buffer.from(`key:${i}`);
      const v = Buffer.alloc(i * 7, i);
      pos = i % 3 === 0 ? encodeSet(b, pos, k, 0, k.length, v, 0, v.length, i % 2 ? -1 : 2 ** 55 + i * 4096, i + 1) : i % 3 === 1 ? encodeDel(b, pos, k, 0, k.length) : encodeExpire(b, pos, k, 0, k.length, 1_900_000_000_000 + i, 2 ** 53 - i);
    }
    const clearAt = pos;
    pos = encodeClear(b, pos);
    const ints = new Int32Array(4096 * 5);
    const nums = new Float64Array(4096 * 2);
    const seed = -77;
    expect(walRecords(b, 0, pos, keyMax, valueMax, seed, ints, nums)).toBe(60);
    const rec = newRecordView();
    for (let i = 0; i < 60; i++) {
      expect(parseRecord(b, at[i]!, pos, rec)).toBeNull();
      expect([ints[5 * i], ints[5 * i + 1], ints[5 * i + 2], ints[5 * i + 3]]).toEqual([at[i]!, rec.type, rec.keyLen, rec.valueLen]);
      expect(ints[5 * i + 4]).toBe(hashKey(b, rec.keyStart, rec.keyStart + rec.keyLen, seed));
      expect([nums[2 * i], nums[2 * i + 1]]).toEqual([rec.expiryMs, rec.version]);
    }
    expect(walRecords(b, clearAt, pos, keyMax, valueMax, seed, ints, nums)).toBe(0);
    expect(walRecords(b, 0, at[9]! + 40, keyMax, valueMax, seed, ints, nums)).toBe(9);
    const broken = Buffer.from(b);
    broken[at[4]! + 31] ^= 0x20;
    expect(walRecords(broken, 0, pos, keyMax, valueMax, seed, ints, nums)).toBe(4);
  });
});
