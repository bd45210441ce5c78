// The case suite's own wire spellings: requests framed as each protocol frames them, replies cut
// where they end, and expectations with time windows that reject what lies outside them.

import { describe, expect, test } from "bun:test";
import { absent, entries, entry, fail, inMs, item, remaining } from "./model.ts";
import { mismatch, respReplyEnd, respReply, respRequest, textReplyEnd, textReply, textRequest } from "./wire.ts";

const t = { startMs: 1000, nowMs: 1010 };

describe("requests", () => {
  test("text SET and MSET carry their values as payloads after the line; PEXPIRE and PTTL are spelled EXPIRE and TTL", () => {
    expect(textRequest(["SET", "k", "hello", "NX"])).toBe("SET k 5 NX\r\nhello\r\n");
    expect(textRequest(["MSET", "a", "x", "b", "yz"])).toBe("MSET a 1 b 2\r\nxyz\r\n");
    expect(textRequest(["SET", "k"])).toBe("SET k\r\n");
    expect(textRequest(["pexpire", "k", "5"])).toBe("expire k 5\r\n");
    expect(textRequest(["PTTL", "k"])).toBe("TTL k\r\n");
    expect(() => textRequest(["TTL", "k"])).toThrow();
    expect(() => textRequest(["GET", "a b"])).toThrow();
  });

  test("a RESP request is an array of bulk strings", () => {
    expect(respRequest(["SET", "k", "a\r\nb"])).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n");
    expect(respRequest(["GET", ""])).toBe("*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
  });
});

describe("where a reply ends", () => {
  test("a text VALUE reply ends after its bytes, MGET after one block per key, an error after its line", () => {
    const value = "VALUE 4 1 -1\r\na\r\nb\r\n";
    expect(textReplyEnd(value + "PONG\r\n", 0, ["GET", "k"])).toBe(value.length);
    expect(textReplyEnd(value.slice(0, -1), 0, ["GET", "k"])).toBe(-1);
    const mget = "VALUE k 1 1 -1\r\nv\r\nNOT_FOUND j\r\n";
    expect(textReplyEnd(mget, 0, ["MGET", "k", "j"])).toBe(mget.length);
    expect(textReplyEnd(mget, 0, ["MGET", "k", "j", "i"])).toBe(-1);
    expect(textReplyEnd("ERR TOOLARGE key too large\r\nPONG\r\n", 0, ["MGET", "k", "j"])).toBe(28);
    expect(textReplyEnd("keys=1\r\nEND\r\n", 0, ["STATS"])).toBe(13);
  });

  test("a RESP reply ends after its bulk bytes or all of its array's elements", () => {
    expect(respReplyEnd("$3\r\na\r\n\r\n+OK\r\n", 0)).toBe(9);
    expect(respReplyEnd("*2\r\n$1\r\nx\r\n$-1\r\n:1\r\n", 0)).toBe(16);
    expect(respReplyEnd("*2\r\n$1\r\nx\r\n", 0)).toBe(-1);
    expect(respReplyEnd(":5\r\n", 0)).toBe(4);
  });
});

describe("expected replies", () => {
  test("a relative expiry is a window from the case's start to now, and a value outside it is a mismatch", () => {
    const expected = textReply(entry("v", 2, inMs(100)), ["GET", "k"], t);
    expect(mismatch("VALUE 1 2 1100\r\nv\r\n", expected)).toBeUndefined();
    expect(mismatch("VALUE 1 2 1110\r\nv\r\n", expected)).toBeUndefined();
    expect(mismatch("VALUE 1 2 1099\r\nv\r\n", expected)).toContain("outside");
    expect(mismatch("VALUE 1 2 1111\r\nv\r\n", expected)).toContain("outside");
    expect(mismatch("VALUE 1 3 1100\r\nv\r\n", expected)).toBeDefined();
  });

  test("each MGET item's window is checked on its own", () => {
    const expected = textReply(entries(item("a", "x", 1, inMs(100)), absent("b"), item("c", "y", 1, inMs(5000))), ["MGET", "a", "b", "c"], t);
    expect(mismatch("VALUE a 1 1 1105\r\nx\r\nNOT_FOUND b\r\nVALUE c 1 1 6005\r\ny\r\n", expected)).toBeUndefined();
    expect(mismatch("VALUE a 1 1 1105\r\nx\r\nNOT_FOUND b\r\nVALUE c 1 1 1105\r\ny\r\n", expected)).toContain("outside");
    expect(mismatch("VALUE a 1 1 6005\r\nx\r\nNOT_FOUND b\r\nVALUE c 1 1 6005\r\ny\r\n", expected)).toContain("outside");
  });

  test("RESP's TTL is the seconds left rounded half up, PTTL the milliseconds", () => {
    const exact = { startMs: 0, nowMs: 0 };
    expect(respReply(remaining(inMs(100500)), ["TTL", "k"], exact)).toBe(":101\r\n");
    expect(respReply(remaining(inMs(100499)), ["TTL", "k"], exact)).toBe(":100\r\n");
    expect(respReply(remaining(inMs(100499)), ["PTTL", "k"], exact)).toBe(":100499\r\n");
    expect(textReply(remaining(-2), ["PTTL", "k"], exact)).toBe("-2\r\n");
  });

  test("a refusal is spelled in each protocol's words, and one a protocol has no words for cannot be expected there", () => {
    expect(textReply(fail("NotAnInteger"), ["INCR", "k"], t)).toBe("ERR TYPE value is not an integer\r\n");
    expect(respReply(fail("NotAnInteger"), ["INCR", "k"], t)).toBe("-ERR value is not an integer or out of range\r\n");
    expect(respReply(fail("InvalidExpireTime"), ["SET", "k", "v", "EX", "0"], t)).toBe("-ERR invalid expire time in 'set' command\r\n");
    expect(() => respReply(fail("BadKey"), ["GET", "k"], t)).toThrow();
    expect(() => textReply(fail("EmptyKey"), ["GET", "k"], t)).toThrow();
  });
});
