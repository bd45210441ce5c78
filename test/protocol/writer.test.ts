// The reply encoder: decimal integers without strings, and a buffer that grows without losing bytes.

import { describe, expect, test } from "bun:test";
import { ascii, Writer } from "../../src/protocol/writer.ts";

const written = (w: Writer) => w.buf.subarray(0, w.len).toString("latin1");

function intText(n: number): string {
  const w = new Writer(8);
  w.int(n);
  return written(w);
}

describe("int", () => {
  test("writes zero as a single digit", () => {
    expect(intText(0)).toBe("0");
  });

  test("writes negative numbers with a leading minus", () => {
    expect(intText(-1)).toBe("-1");
    expect(intText(-2)).toBe("-2");
    expect(intText(-1000)).toBe("-1000");
  });

  test("writes 2^53-1 and its negation exactly", () => {
    expect(intText(2 ** 53 - 1)).toBe("9007199254740991");
    expect(intText(-(2 ** 53 - 1))).toBe("-9007199254740991");
  });

  test("writes every power of ten and its neighbours like String does", () => {
    for (let p = 1; p <= 1e15; p *= 10) {
      for (const n of [p - 1, p, p + 1, -p, -(p - 1), 4102444800000]) expect(intText(n)).toBe(String(n));
    }
  });

  test("writes random safe integers like String does", () => {
    for (let i = 0; i < 2000; i++) {
      const n = Math.floor((Math.random() - 0.5) * 2 * Number.MAX_SAFE_INTEGER);
      expect(intText(n)).toBe(String(n));
    }
  });

  test("appends after what is already written", () => {
    const w = new Writer(4);
    w.text("OK ");
    w.int(42);
    w.crlf();
    w.int(-7);
    expect(written(w)).toBe("OK 42\r\n-7");
  });
});

describe("growth", () => {
  test("bytes, range, byte, crlf and text grow the buffer and keep everything written before", () => {
    const w = new Writer(2);
    let expected = "";
    const long = ascii("L".repeat(100));
    const source = ascii("0123456789".repeat(20));
    for (let i = 0; i < 50; i++) {
      w.bytes(ascii("ab"));
      w.bytes(long); // the bulk path
      w.range(source, 3, 9);
      w.range(source, 0, 150); // the bulk path
      w.byte(0x21);
      w.crlf();
      w.text(`n=${i}`);
      w.int(i * 1_000_003);
      expected += "ab" + "L".repeat(100) + "345678" + "0123456789".repeat(15) + "!\r\n" + `n=${i}` + String(i * 1_000_003);
    }
    expect(written(w)).toBe(expected);
    expect(w.buf.length).toBeGreaterThanOrEqual(w.len);
  });

  test("ensure makes room for one write far larger than twice the capacity", () => {
    const w = new Writer(16);
    w.text("head");
    const big = Buffer.alloc(100_000, 0x78);
    w.bytes(big);
    expect(w.len).toBe(100_004);
    expect(written(w)).toBe("head" + "x".repeat(100_000));
  });

  test("reset empties the writer and keeps its capacity", () => {
    const w = new Writer(4);
    w.text("hello world");
    const cap = w.buf.length;
    w.reset();
    expect(w.len).toBe(0);
    expect(w.buf.length).toBe(cap);
    w.text("x");
    expect(written(w)).toBe("x");
  });
});
