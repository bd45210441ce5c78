// The bench's request templates and reply parser, checked against fixed bytes and every chunk split.

import { describe, expect, test } from "bun:test";
import {
  OpGet,
  OpIncr,
  OpSet,
  ReplyErr,
  ReplyInt,
  ReplyNotFound,
  ReplyOk,
  ReplyOther,
  ReplyParser,
  ReplyValue,
  requestTemplate,
  writeKeyDigits,
  type Protocol,
} from "../lib/wire.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

/** Feeds `stream` to a fresh parser cut at the given offsets; returns the reply kinds seen. */
function kindsOf(protocol: Protocol, stream: Uint8Array, cuts: number[]): number[] {
  const kinds: number[] = [];
  const parser = new ReplyParser(protocol);
  const sink = { reply: (kind: number) => void kinds.push(kind) };
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    parser.feed(stream.slice(from, cut), sink);
    from = cut;
  }
  return kinds;
}

describe("request templates", () => {
  test("an Osprey SET carries the key digits and the announced payload", () => {
    const t = requestTemplate("osprey", OpSet, 5);
    const buf = t.bytes.slice();
    writeKeyDigits(buf, t.keyDigitsOffset, 12345);
    expect(text(buf)).toBe("SET key:000000012345 5\r\nxxxxx\r\n");
  });

  test("Osprey GET and INCR are single lines; INCR uses counter: keys", () => {
    expect(text(requestTemplate("osprey", OpGet, 100).bytes)).toBe("GET key:000000000000\r\n");
    expect(text(requestTemplate("osprey", OpIncr, 100).bytes)).toBe("INCR counter:000000000000\r\n");
  });

  test("RESP requests are arrays of bulk strings", () => {
    const t = requestTemplate("resp", OpSet, 3);
    const buf = t.bytes.slice();
    writeKeyDigits(buf, t.keyDigitsOffset, 2147483646);
    expect(text(buf)).toBe("*3\r\n$3\r\nSET\r\n$16\r\nkey:002147483646\r\n$3\r\nxxx\r\n");
    expect(text(requestTemplate("resp", OpGet, 3).bytes)).toBe("*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000000\r\n");
    expect(text(requestTemplate("resp", OpIncr, 3).bytes)).toBe("*2\r\n$4\r\nINCR\r\n$20\r\ncounter:000000000000\r\n");
  });
});

describe("reply parser", () => {
  const osprey = bytes(
    "OK 1\r\nVALUE 6 3 -1\r\na\r\nb\n\0\r\nNOT_FOUND\r\n-42\r\n7\r\nERR TYPE value is not an integer\r\nVALUE 0 1 1700000000000\r\n\r\nOK 2\n",
  );
  const ospreyKinds = [ReplyOk, ReplyValue, ReplyNotFound, ReplyInt, ReplyInt, ReplyErr, ReplyValue, ReplyOk];
  const resp = bytes("+OK\r\n$6\r\na\r\nb\n\0\r\n$-1\r\n:-42\r\n-ERR wrong\r\n$0\r\n\r\n+OK\r\n");
  const respKinds = [ReplyOk, ReplyValue, ReplyNotFound, ReplyInt, ReplyErr, ReplyValue, ReplyOk];

  for (const [protocol, stream, kinds] of [
    ["osprey", osprey, ospreyKinds],
    ["resp", resp, respKinds],
  ] as const) {
    test(`${protocol}: one chunk yields every reply once, binary bodies skipped`, () => {
      expect(kindsOf(protocol, stream, [])).toEqual([...kinds]);
    });

    test(`${protocol}: a cut at any offset changes nothing`, () => {
      for (let cut = 0; cut <= stream.length; cut++) expect(kindsOf(protocol, stream, [cut])).toEqual([...kinds]);
    });

    test(`${protocol}: one byte at a time changes nothing`, () => {
      const cuts = Array.from({ length: stream.length }, (_, i) => i);
      expect(kindsOf(protocol, stream, cuts)).toEqual([...kinds]);
    });
  }

  test("a line the protocol does not know is reported, not skipped", () => {
    expect(kindsOf("osprey", bytes("+OK\r\n"), [])).toEqual([ReplyOther]);
    expect(kindsOf("resp", bytes("OK 1\r\n"), [])).toEqual([ReplyOther]);
  });

  test("an endless line is a broken stream", () => {
    const parser = new ReplyParser("osprey");
    const sink = { reply() {} };
    expect(() => {
      for (let i = 0; i < 100; i++) parser.feed(new Uint8Array(1024).fill(0x41), sink);
    }).toThrow(/longer than/);
  });
});
