// CRC32C: the native library (hardware instructions) and the TypeScript fallback agree with the
// standard check value and with each other, including continuation from a seed.

import { describe, expect, test } from "bun:test";
import { crc32c, crc32cNative, crc32cTs, loadNative, nativeStatus } from "../../src/native/index.ts";
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
