// The RESP encoder's shapes in both versions, including RESP3's that no command answers yet
// (doubles, booleans, big numbers, push frames): each has Redis 7.0's RESP2 form, and the version
// is the connection's, switched by setVersion.

import { describe, expect, test } from "bun:test";
import { Stats } from "../../src/commands/context.ts";
import { doubleText, RespReply } from "../../src/protocol/resp-reply.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { rng } from "../support/rng.ts";

function encoder(version: 2 | 3) {
  const out = new Writer(16);
  const reply = new RespReply(out, new Stats());
  reply.setVersion(version);
  const take = (write: (r: RespReply) => void) => {
    out.reset();
    write(reply);
    return out.buf.subarray(0, out.len).toString("latin1");
  };
  return { reply, take };
}

describe("each shape in RESP2 and in RESP3", () => {
  const cases: [string, (r: RespReply) => void, string, string][] = [
    ["a missing value", (r) => r.nil(), "$-1\r\n", "_\r\n"],
    ["a missing array", (r) => r.nilArray(), "*-1\r\n", "_\r\n"],
    ["a missing array through arrayHeader(-1)", (r) => r.arrayHeader(-1), "*-1\r\n", "_\r\n"],
    ["a map of one pair", (r) => (r.mapHeader(1), r.bulkText("k"), r.integer(1)), "*2\r\n$1\r\nk\r\n:1\r\n", "%1\r\n$1\r\nk\r\n:1\r\n"],
    ["a set of two", (r) => (r.setHeader(2), r.status("a"), r.status("b")), "*2\r\n+a\r\n+b\r\n", "~2\r\n+a\r\n+b\r\n"],
    ["a push frame", (r) => (r.pushHeader(2), r.bulkText("message"), r.bulkText("x")), "*2\r\n$7\r\nmessage\r\n$1\r\nx\r\n", ">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n"],
    ["a double", (r) => r.double(1.5), "$3\r\n1.5\r\n", ",1.5\r\n"],
    ["an infinite double", (r) => r.double(-Infinity), "$4\r\n-inf\r\n", ",-inf\r\n"],
    ["a double with its own text", (r) => r.double(0.1, "0.1"), "$3\r\n0.1\r\n", ",0.1\r\n"],
    ["true", (r) => r.boolean(true), ":1\r\n", "#t\r\n"],
    ["false", (r) => r.boolean(false), ":0\r\n", "#f\r\n"],
    ["a big number", (r) => r.bigNumber("3492890328409238509324850943850943825024385"), "$43\r\n3492890328409238509324850943850943825024385\r\n", "(3492890328409238509324850943850943825024385\r\n"],
    ["verbatim text", (r) => r.verbatimText("a:1\r\n"), "$5\r\na:1\r\n\r\n", "=9\r\ntxt:a:1\r\n\r\n"],
    ["an array, the same in both", (r) => (r.arrayHeader(1), r.integer(-7)), "*1\r\n:-7\r\n", "*1\r\n:-7\r\n"],
  ];
  for (const [name, write, two, three] of cases) {
    test(`${name}: ${JSON.stringify(two)} in RESP2, ${JSON.stringify(three)} in RESP3`, () => {
      expect(encoder(2).take(write)).toBe(two);
      expect(encoder(3).take(write)).toBe(three);
    });
  }

  test("setVersion switches every later reply, and back", () => {
    const { reply, take } = encoder(2);
    expect(take((r) => r.nil())).toBe("$-1\r\n");
    reply.setVersion(3);
    expect([reply.version, take((r) => r.nil())]).toEqual([3, "_\r\n"]);
    reply.setVersion(2);
    expect([reply.version, take((r) => r.nil())]).toEqual([2, "$-1\r\n"]);
  });
});

describe("doubles as Redis 7.0 writes them", () => {
  test("special values: inf, -inf, nan, zero and negative zero", () => {
    expect([Infinity, -Infinity, NaN, 0, -0].map(doubleText)).toEqual(["inf", "-inf", "nan", "0", "-0"]);
  });

  test("every other double is C's %.17g, checked against printf in Python for 2,000 seeded values", async () => {
    const next = rng(17);
    const values: number[] = [1, -1, 0.1, 1e17, 1e16, 123456789012345680, 1e-4, 1e-5, 2 ** 53, 2 ** 63, 5e-324, Number.MAX_VALUE];
    while (values.length < 2000) {
      const magnitude = 10 ** Math.floor(next() * 60 - 30);
      values.push((next() - 0.5) * magnitude, Math.round((next() - 0.5) * 1e6));
    }
    const script = "import json,sys\nfor x in json.load(sys.stdin): print('%.17g' % x)";
    const proc = Bun.spawn(["/usr/bin/python3", "-c", script], { stdin: new TextEncoder().encode(JSON.stringify(values)), stdout: "pipe" });
    const printf = (await new Response(proc.stdout).text()).trimEnd().split("\n");
    expect(await proc.exited).toBe(0);
    expect(values.map(doubleText)).toEqual(printf);
  });
});
