// The RESP2 request parser: whole requests, requests split anywhere, limits, and bad input.

import { describe, expect, test } from "bun:test";
import { argsCountMax } from "../../src/constants.ts";
import { RespParser } from "../../src/protocol/resp.ts";
import { nameCodeOf, Parsed } from "../../src/protocol/text.ts";
import { pipeline, resp } from "../resp/encode.ts";
import { rng } from "../support/rng.ts";

const valueBytesMax = 1024;

function parser(): RespParser {
  return new RespParser({ valueBytesMax });
}

/** The arguments of the command just parsed, as latin1 strings. */
function args(p: RespParser, buf: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < p.argc; i++) out.push(Buffer.from(buf.subarray(p.starts[i]!, p.ends[i]!)).toString("latin1"));
  return out;
}

/**
 * Feeds `input` as a connection does: in chunks, keeping unparsed bytes (moved to the start of a
 * fresh buffer) between calls. Returns each command's arguments, or the error text.
 */
function feed(input: Uint8Array, chunk: (i: number) => number): (string[] | string)[] {
  const p = parser();
  const results: (string[] | string)[] = [];
  let pending = Buffer.alloc(0);
  let at = 0;
  for (let i = 0; at < input.length; i++) {
    const n = Math.max(1, chunk(i));
    const buf = Buffer.concat([pending, input.subarray(at, at + n)]);
    at += n;
    let pos = 0;
    for (;;) {
      if (pos >= buf.length) break;
      const r = p.parse(buf, pos, buf.length);
      if (r === Parsed.NeedMore) {
        pos = p.next;
        break;
      }
      if (r === Parsed.Error) {
        results.push(Buffer.from(p.error).toString("latin1"));
        return results;
      }
      results.push(args(p, buf));
      pos = p.next;
    }
    pending = Buffer.from(buf.subarray(pos));
  }
  return results;
}

/** Parses `text` in one piece; the single result. */
function one(text: string | Uint8Array): string[] | string {
  const results = feed(typeof text === "string" ? Buffer.from(text, "latin1") : text, () => 1 << 30);
  expect(results.length).toBe(1);
  return results[0]!;
}

describe("RespParser", () => {
  test("a whole request gives its arguments as offsets into the input, with the command's name code", () => {
    const p = parser();
    const buf = resp("SET", "key", "va\r\nlue");
    expect(p.parse(buf, 0, buf.length)).toBe(Parsed.Command);
    expect(args(p, buf)).toEqual(["SET", "key", "va\r\nlue"]);
    expect(p.code).toBe(nameCodeOf("set"));
    expect(p.next).toBe(buf.length);
  });

  test("empty bulk strings and binary bytes are arguments like any other", () => {
    expect(one(resp("ECHO", "", "\0\xff "))).toEqual(["ECHO", "", "\0\xff "]);
  });

  test("pipelined requests come out one per call, in order", () => {
    const input = pipeline(["PING"], ["GET", "a"], ["MSET", "a", "1", "b", "2"]);
    expect(feed(input, () => 1 << 30)).toEqual([["PING"], ["GET", "a"], ["MSET", "a", "1", "b", "2"]]);
  });

  test("a request split at every possible point parses the same", () => {
    const input = pipeline(["SET", "k", "hello world"], ["MGET", "a", "bb", "ccc"]);
    const whole = feed(input, () => 1 << 30);
    for (let cut = 1; cut < input.length; cut++) {
      let first = true;
      expect(feed(input, () => (first ? ((first = false), cut) : 1 << 30))).toEqual(whole);
    }
    expect(feed(input, () => 1)).toEqual(whole);
  });

  test("random chunkings of a random pipeline parse the same as the whole", () => {
    const random = rng(7);
    const requests: string[][] = [];
    for (let i = 0; i < 50; i++) {
      const n = 1 + Math.floor(random() * 6);
      const req: string[] = [];
      for (let j = 0; j < n; j++) req.push(String.fromCharCode(...Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256))));
      requests.push(req);
    }
    const input = pipeline(...requests);
    for (let round = 0; round < 20; round++) expect(feed(input, () => 1 + Math.floor(random() * 64))).toEqual(requests);
  });

  test("`*0` and `*-1` are no request at all and get no reply", () => {
    expect(feed(Buffer.from("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", "latin1"), () => 1)).toEqual([["PING"]]);
  });

  test("input fed one byte at a time costs linear time: a 2 MiB request of many arguments parses quickly", () => {
    const big = Array.from({ length: 20000 }, (_, i) => `key:${i}:${"x".repeat(90)}`);
    const input = resp("MSET", ...big);
    const p = new RespParser({ valueBytesMax });
    // The connection keeps unparsed bytes; here they stay in one buffer that grows by a byte per call.
    const started = performance.now();
    let r = Parsed.NeedMore;
    for (let end = 1; end <= input.length; end++) {
      r = p.parse(input, 0, end);
      if (r !== Parsed.NeedMore) break;
      expect(p.next).toBe(0);
    }
    expect(r).toBe(Parsed.Command);
    expect(p.argc).toBe(20001);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test("while the last argument's bytes arrive, needBytes is the whole request's size", () => {
    const p = parser();
    const input = resp("SET", "k", "v".repeat(500));
    expect(p.parse(input, 0, 30)).toBe(Parsed.NeedMore);
    expect(p.needBytes).toBe(input.length);
  });

  test("a bulk length over max_value_bytes is refused before any byte of it is needed, and closes", () => {
    const p = parser();
    const head = Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${valueBytesMax + 1}\r\n`, "latin1");
    expect(p.parse(head, 0, head.length)).toBe(Parsed.Error);
    expect(Buffer.from(p.error).toString()).toBe("-ERR Protocol error: invalid bulk length\r\n");
    expect(p.close).toBe(true);
    expect(one(resp("SET", "k", "v".repeat(valueBytesMax)))).toEqual(["SET", "k", "v".repeat(valueBytesMax)]);
  });

  test("an argument count over the limit is refused without allocating for it", () => {
    expect(one(`*${argsCountMax + 1}\r\n`)).toBe("-ERR Protocol error: invalid multibulk length\r\n");
    const p = parser();
    const buf = Buffer.from(`*${argsCountMax}\r\n$4\r\nPING\r\n`, "latin1");
    expect(p.parse(buf, 0, buf.length)).toBe(Parsed.NeedMore);
    expect(p.starts.length).toBeLessThan(64);
  });

  test("header lines that are not decimal numbers are protocol errors", () => {
    expect(one("*x\r\n")).toBe("-ERR Protocol error: invalid multibulk length\r\n");
    expect(one("*\r\n")).toBe("-ERR Protocol error: invalid multibulk length\r\n");
    expect(one("*1\r\n$-1\r\n")).toBe("-ERR Protocol error: invalid bulk length\r\n");
    expect(one("*1\r\n$1x\r\n")).toBe("-ERR Protocol error: invalid bulk length\r\n");
    expect(one("*1\n")).toBe("-ERR Protocol error: invalid multibulk length\r\n");
  });

  test("a header line longer than a sign and 15 digits is refused as soon as it is seen", () => {
    expect(one(`*${"1".repeat(16)}`)).toBe("-ERR Protocol error: invalid multibulk length\r\n");
    expect(one(`*1\r\n$${"0".repeat(16)}`)).toBe("-ERR Protocol error: invalid bulk length\r\n");
  });

  test("an argument that is not a bulk string is a protocol error naming the byte", () => {
    expect(one("*1\r\n:1\r\n")).toBe("-ERR Protocol error: expected '$', got ':'\r\n");
  });

  test("a request not starting with `*` is an inline command: one line split on spaces and tabs, as Redis reads it", () => {
    const input = Buffer.from("*1\r\n$4\r\nPING\r\nPING\r\n  SET  k \tv1\r\n\r\n   \r\nGET k\n", "latin1");
    const expected = [["PING"], ["PING"], ["SET", "k", "v1"], ["GET", "k"]];
    expect(feed(input, () => 1 << 30)).toEqual(expected);
    // Byte by byte: the line is scanned once, however it is split.
    expect(feed(input, () => 1)).toEqual(expected);
  });

  test("an inline line over 64 KiB without a newline is a protocol error before it is buffered further", () => {
    const out = feed(Buffer.from("GET " + "k".repeat(70 * 1024), "latin1"), () => 4096);
    expect(out).toEqual(["-ERR Protocol error: too big inline request\r\n"]);
  });

  test("a bulk string not followed by CRLF is a protocol error", () => {
    expect(one("*1\r\n$4\r\nPINGxx")).toBe("-ERR Protocol error: bulk string not followed by CRLF\r\n");
  });
});
