// Reading arguments from request bytes: canonical 64-bit integers, VER numbers and key checks.

import { describe, expect, test } from "bun:test";
import { Fail } from "../../src/commands/reply.ts";
import { valid } from "../../src/commands/session.ts";
import { INVALID, isI64, parseI64, parseSmallInt, parseU64 } from "../../src/numbers.ts";
import { keyError } from "../../src/protocol/text-args.ts";

/** Parses `s` placed inside other bytes, so offsets are exercised too. */
function within<T>(s: string, parse: (b: Uint8Array, s: number, e: number) => T): T {
  const b = Buffer.from(`xx ${s} yy`, "latin1");
  return parse(b, 3, 3 + s.length);
}

const i64 = (s: string) => within(s, parseI64);
const u64 = (s: string) => within(s, parseU64);
const small = (s: string) => within(s, parseSmallInt);

describe("parseI64", () => {
  test("accepts zero and canonical decimals as numbers up to fifteen digits", () => {
    expect(i64("0")).toBe(0);
    expect(i64("1")).toBe(1);
    expect(i64("-1")).toBe(-1);
    expect(i64("999999999999999")).toBe(999999999999999);
    expect(i64("-999999999999999")).toBe(-999999999999999);
  });

  test("gives a bigint for sixteen to nineteen digits", () => {
    expect(i64("1000000000000000")).toBe(1000000000000000n);
    expect(i64("9007199254740993")).toBe(9007199254740993n);
    expect(i64("-1234567890123456789")).toBe(-1234567890123456789n);
  });

  test("accepts both ends of the signed 64-bit range exactly", () => {
    expect(i64("9223372036854775807")).toBe(9223372036854775807n);
    expect(i64("-9223372036854775807")).toBe(-9223372036854775807n);
    expect(i64("-9223372036854775808")).toBe(-9223372036854775808n);
  });

  test("refuses one past either end of the range", () => {
    expect(i64("9223372036854775808")).toBeNull();
    expect(i64("-9223372036854775809")).toBeNull();
    expect(i64("99999999999999999999")).toBeNull();
  });

  test("refuses leading zeros, minus zero and an explicit plus", () => {
    for (const s of ["00", "01", "007", "-0", "-01", "+1", "+0"]) expect(i64(s)).toBeNull();
  });

  test("refuses empty input, a lone minus and non-digits", () => {
    for (const s of ["", "-", "1a", "a1", "1.5", "1e3", " 1", "--1", "0x10"]) expect(i64(s)).toBeNull();
  });

  test("isI64 is true exactly inside the signed 64-bit range", () => {
    expect(isI64(2n ** 63n - 1n)).toBe(true);
    expect(isI64(-(2n ** 63n))).toBe(true);
    expect(isI64(2n ** 63n)).toBe(false);
    expect(isI64(-(2n ** 63n) - 1n)).toBe(false);
  });
});

describe("parseU64", () => {
  test("gives the number for values up to 2^53-1", () => {
    expect(u64("0")).toBe(0);
    expect(u64("5")).toBe(5);
    expect(u64("9007199254740991")).toBe(9007199254740991);
  });

  test("gives Infinity for a valid u64 above 2^53-1, up to 2^64-1", () => {
    expect(u64("9007199254740993")).toBe(Infinity);
    expect(u64("18446744073709551615")).toBe(Infinity);
  });

  test("is NaN above 2^64-1 or past twenty digits", () => {
    expect(u64("18446744073709551616")).toBeNaN();
    expect(u64("99999999999999999999")).toBeNaN();
    expect(u64("100000000000000000000")).toBeNaN();
  });

  test("is NaN for empty, signed or non-digit input", () => {
    for (const s of ["", "-1", "+1", "1.0", "abc", "1 "]) expect(u64(s)).toBeNaN();
  });
});

describe("parseSmallInt", () => {
  test("reads signed decimals of up to fifteen digits", () => {
    expect(small("0")).toBe(0);
    expect(small("-5")).toBe(-5);
    expect(small("4102444800000")).toBe(4102444800000);
    expect(small("999999999999999")).toBe(999999999999999);
  });

  test("is INVALID for sixteen digits, empty input, a lone minus or non-digits", () => {
    expect(Number.isNaN(INVALID)).toBe(true);
    for (const s of ["1000000000000000", "", "-", "1.5", "+1", "x"]) expect(small(s)).toBeNaN();
  });
});

describe("keyError", () => {
  const check = (key: string, max = 256) => {
    const b = Buffer.from(`>${key}<`, "latin1");
    return keyError(b, 1, 1 + key.length, max);
  };

  test("accepts printable ASCII and bytes of 0x80 and above", () => {
    expect(check("user:1000")).toBe(valid);
    expect(check("~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./")).toBe(valid);
    expect(check("\xc3\xa9\xe2\x82\xac\xff\x80")).toBe(valid);
  });

  test("accepts a key of exactly the maximum length and refuses one byte more as too large", () => {
    expect(check("k".repeat(256))).toBe(valid);
    expect(check("k".repeat(257))).toBe(Fail.KeyTooLarge);
    expect(check("abcd", 3)).toBe(Fail.KeyTooLarge);
  });

  test("refuses an empty key as too large", () => {
    expect(check("")).toBe(Fail.KeyTooLarge);
  });

  test("refuses space, every control character and DEL", () => {
    for (let c = 0; c <= 0x20; c++) expect(check(`a${String.fromCharCode(c)}b`)).toBe(Fail.BadKey);
    expect(check("a\x7fb")).toBe(Fail.BadKey);
    expect(check("\x7f")).toBe(Fail.BadKey);
  });
});
