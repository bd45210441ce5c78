// CRC32C: the native library (hardware instructions) and the TypeScript fallback agree with the
// standard check value and with each other, including continuation from a seed.

import { describe, expect, test } from "bun:test";
import { copyCrc32c, crc32c, crc32cExtend, crc32cNative, crc32cTs, loadNative, nativeStatus } from "../../src/native/index.ts";
import { crc32cExtendTs } from "../../src/native/crc32c.ts";
import { crc32cRef } from "../persistence/fixtures.ts";
import { rng } from "../support/rng.ts";

const check = new TextEncoder().encode("123456789");

describe("CRC32C", () => {
  test("the native library builds and loads on this machine", () => {
    expect(loadNative()).toBe(true);
    expect(nativeStatus()).toMatch(/^native \((hardware|table) crc32c\)$/);
  });

  test('both implementations give the check value CRC32C("123456789") = 0xE3069283', () => {
    expect(crc32cTs(check, 0, check.length)).toBe(0xe3069283);
    expect(crc32cNative(check, 0, check.length)).toBe(0xe3069283);
    expect(crc32cRef(check)).toBe(0xe3069283);
  });

  test("native, TypeScript and a bitwise reference agree on random buffers, lengths and offsets", () => {
    const random = rng(7);
    const buf = new Uint8Array(70000);
    for (let i = 0; i < buf.length; i++) buf[i] = random() * 256;
    for (let n = 0; n < 300; n++) {
      const start = Math.floor(random() * 1000);
      const len = n < 100 ? n : Math.floor(random() * 60000);
      const ts = crc32cTs(buf, start, start + len);
      expect(crc32cNative(buf, start, start + len)).toBe(ts);
      expect(crc32c(buf, start, start + len)).toBe(ts);
      if (len < 2000) expect(crc32cRef(buf.subarray(start, start + len))).toBe(ts);
    }
  });

  test("native agrees with TypeScript at and around the lengths where it switches to three interleaved streams", () => {
    // The native path runs three CRC chains over 3 × 256-byte steps and joins them; a wrong join
    // shows exactly at these lengths, also when continued from a seed.
    const random = rng(11);
    const buf = new Uint8Array(5000);
    for (let i = 0; i < buf.length; i++) buf[i] = random() * 256;
    for (const len of [767, 768, 769, 775, 776, 1535, 1536, 1537, 2304, 3 * 256 * 5 + 7, 4999]) {
      for (const seed of [0, 0xdeadbeef]) {
        expect(crc32cNative(buf, 1, 1 + len, seed)).toBe(crc32cTs(buf, 1, 1 + len, seed));
      }
    }
  });

  test("a CRC continued from a seed equals the CRC of the joined bytes", () => {
    const a = new TextEncoder().encode("hello, ");
    const b = new TextEncoder().encode("world and a longer tail to cross the eight-byte steps");
    const joined = new Uint8Array([...a, ...b]);
    const whole = crc32cTs(joined, 0, joined.length);
    expect(crc32cTs(b, 0, b.length, crc32cTs(a, 0, a.length))).toBe(whole);
    expect(crc32cNative(b, 0, b.length, crc32cNative(a, 0, a.length)!)).toBe(whole);
  });
});

describe("CRC32C while copying, and extended by a seed", () => {
  test("copyCrc32c copies exactly and its register, chained over chunks, gives crc32c(value, seed) through crc32cExtend (native and TypeScript)", () => {
    const next = rng(99);
    for (const n of [0, 1, 7, 8, 63, 64, 65, 767, 768, 769, 5000, 65536, 262147]) {
      const src = Buffer.allocUnsafe(n + 10);
      for (let i = 0; i < src.length; i++) src[i] = Math.floor(next() * 256);
      const dst = Buffer.alloc(n + 20);
      const step = 1 + Math.floor(next() * (n + 1));
      let reg = 0;
      for (let at = 0; at < n; at += step) reg = copyCrc32c(src, 5 + at, 5 + Math.min(n, at + step), dst, 3 + at, reg);
      expect(dst.subarray(3, 3 + n).equals(src.subarray(5, 5 + n))).toBe(true);
      expect(dst[2]).toBe(0);
      expect(dst[3 + n]).toBe(0);
      for (const seed of [0, 1, 0xdeadbeef, 0xffffffff, Math.floor(next() * 2 ** 32)]) {
        const want = crc32cTs(src, 5, 5 + n, seed);
        expect(crc32cExtend(seed, n, reg)).toBe(want);
        expect(crc32cExtendTs(seed, n, reg)).toBe(want);
        expect(crc32c(src, 5, 5 + n, seed)).toBe(want);
      }
    }
  });
});
