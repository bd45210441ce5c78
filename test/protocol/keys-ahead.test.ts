// The parsers' pre-scan for read-ahead (`keysAhead`): on any input, the keys it reports are the keys
// (argument 1) that parsing the same bytes yields, request for request, for a run of whole
// requests from the start, and it stops on a request boundary. One case table for both protocols.

import { describe, expect, test } from "bun:test";
import { textPayloads } from "../../src/commands/table.ts";
import { RespParser } from "../../src/protocol/resp.ts";
import { KeysAhead, Parsed, TextParser } from "../../src/protocol/text.ts";
import { rng } from "../support/rng.ts";

const latin1 = (s: string) => Buffer.from(s, "latin1");

interface Protocol {
  name: string;
  parser(): TextParser | RespParser;
  /** One request's bytes: a command and its arguments; for the text protocol a SET's value is its payload. */
  encode(args: string[]): string;
}

const protocols: Protocol[] = [
  {
    name: "text",
    parser: () => new TextParser({ valueBytesMax: 1 << 20 }, textPayloads),
    encode: (args) => (args[0] === "SET" ? `SET ${args[1]} ${args[2]!.length}\r\n${args[2]}\r\n` : `${args.join(" ")}\r\n`),
  },
  {
    name: "RESP",
    parser: () => new RespParser({ valueBytesMax: 1 << 20 }),
    encode: (args) => `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`,
  },
];

/** The keys (argument 1) of the requests parsed from `buf`, with where each request ends, up to the first that is not a whole command. */
function parsedKeys(p: Protocol, buf: Buffer): { keys: string[]; ends: number[] } {
  const parser = p.parser();
  const keys: string[] = [];
  const ends: number[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (parser.parse(buf, pos, buf.length) !== Parsed.Command) break;
    if (parser.argc >= 2) keys.push(buf.subarray(parser.starts[1]!, parser.ends[1]!).toString("latin1"));
    pos = parser.next;
    ends.push(pos);
  }
  return { keys, ends };
}

/** Checks keysAhead against parsing on `buf`; returns what it found. */
function check(p: Protocol, buf: Buffer, max = 32): { keys: string[]; end: number } {
  const into = new KeysAhead(max);
  p.parser().keysAhead(buf, 0, buf.length, into);
  const keys: string[] = [];
  for (let i = 0; i < into.n; i++) keys.push(buf.subarray(into.starts[i]!, into.ends[i]!).toString("latin1"));
  const parsed = parsedKeys(p, buf);
  // It stops where a request ends (or where it started), having seen exactly the keys parsed before there.
  expect(into.end === 0 || parsed.ends.includes(into.end)).toBe(true);
  const before = into.end === 0 ? 0 : parsed.ends.indexOf(into.end) + 1;
  const parser = p.parser();
  const expected: string[] = [];
  for (let pos = 0, r = 0; r < before; r++) {
    parser.parse(buf, pos, buf.length);
    if (parser.argc >= 2) expected.push(buf.subarray(parser.starts[1]!, parser.ends[1]!).toString("latin1"));
    pos = parser.next;
  }
  expect(keys).toEqual(expected);
  return { keys, end: into.end };
}

for (const p of protocols) {
  describe(`keysAhead (${p.name})`, () => {
    const all = (reqs: string[][]) => latin1(reqs.map(p.encode).join(""));

    test("finds the key of every whole request and stops at the end of the input", () => {
      const buf = all([["GET", "a"], ["GET", "bb"], ["SET", "c", "hello"], ["GET", "a"]]);
      expect(check(p, buf)).toEqual({ keys: ["a", "bb", "c", "a"], end: buf.length });
    });

    test("skips a value whose bytes look like requests, by its length", () => {
      const buf = all([["SET", "k", `x\r\nGET decoy\r\n*2\r\n$3\r\nGET\r\n$5\r\ndecoy\r\n`], ["GET", "after"]]);
      expect(check(p, buf).keys).toEqual(["k", "after"]);
    });

    test("passes over requests without a key", () => {
      const buf = all([["PING"], ["GET", "a"], ["PING"], ["GET", "b"]]);
      expect(check(p, buf)).toEqual({ keys: ["a", "b"], end: buf.length });
    });

    test("stops before a request that is not whole yet, at every point it can be cut", () => {
      const whole = all([["GET", "a"], ["SET", "b", "value"], ["GET", "c"]]);
      const first = latin1(p.encode(["GET", "a"])).length;
      for (let cut = first + 1; cut < whole.length; cut++) {
        const found = check(p, whole.subarray(0, cut));
        expect(found.end).toBeLessThanOrEqual(cut);
        expect(found.keys[0]).toBe("a");
      }
    });

    test("takes at most its capacity of keys", () => {
      const buf = all(Array.from({ length: 10 }, (_, i) => ["GET", `k${i}`]));
      const found = check(p, buf, 4);
      expect(found.keys).toEqual(["k0", "k1", "k2", "k3"]);
      expect(found.end).toBe(latin1(p.encode(["GET", "k0"])).length * 4);
    });

    test("stops at bad input, which the parser then answers", () => {
      const bad = p.name === "RESP" ? "*2\r\n$3\r\nGET\r\n$x\r\nab\r\n" : `SET k 1x\r\n`;
      const buf = Buffer.concat([all([["GET", "a"]]), latin1(bad), all([["GET", "b"]])]);
      expect(check(p, buf).keys).toEqual(["a"]);
    });

    test("agrees with the parser on random pipelines cut at random places", () => {
      const random = rng(p.name.length * 7919);
      const names = ["GET", "SET", "DEL", "EXISTS", "PING", "INCR"];
      for (let round = 0; round < 300; round++) {
        const reqs: string[][] = [];
        for (let i = 0, n = 1 + Math.floor(random() * 40); i < n; i++) {
          const name = names[Math.floor(random() * names.length)]!;
          const key = `key:${Math.floor(random() * 1e6)}`;
          reqs.push(name === "PING" ? [name] : name === "SET" ? [name, key, "v".repeat(Math.floor(random() * 30))] : [name, key]);
        }
        const buf = all(reqs);
        check(p, buf.subarray(0, Math.floor(random() * (buf.length + 1))), 1 + Math.floor(random() * 40));
      }
    });
  });
}

test("keysAhead (text) stops at an MSET, whose payloads it does not frame", () => {
  const p = protocols[0]!;
  const buf = latin1("GET a\r\nMSET b 1 c 1\r\nxy\r\nGET d\r\n");
  expect(check(p, buf)).toEqual({ keys: ["a"], end: 7 });
});

test("keysAhead (RESP) stops at an inline command", () => {
  const p = protocols[1]!;
  const buf = latin1("*2\r\n$3\r\nGET\r\n$1\r\na\r\nGET b\r\n*2\r\n$3\r\nGET\r\n$1\r\nc\r\n");
  expect(check(p, buf).keys).toEqual(["a"]);
});
