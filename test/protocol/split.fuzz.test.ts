// Resumability, tested by difference: a random stream of good and bad requests gets the same
// replies whether it arrives in one read, in random pieces, or one byte at a time.

import { expect, test } from "bun:test";
import { createContext, EngineClient } from "../commands/harness.ts";
import { rng } from "../support/rng.ts";

const valueBytesMax = 64;

/** One random request: mostly valid, sometimes malformed, oversize or binary. */
function request(r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const key = pick(["a", "b", "c", "k:1", "\u00e9t\u00e9", "x".repeat(300), "bad\u0001key"]);
  const eol = pick(["\r\n", "\r\n", "\n"]);
  const value = (n: number) => Array.from({ length: n }, () => String.fromCharCode(Math.floor(r() * 256))).join("");
  switch (Math.floor(r() * 12)) {
    case 0: {
      const v = value(Math.floor(r() * 80)); // sometimes over valueBytesMax
      return `SET ${key} ${v.length}${pick(["", " NX", " XX", " VER 1", " VER 0", " KEEPTTL", " PXAT 4102444800000", " PXAT 1000", " EX 0", " NX XX", " BOGUS"])}${eol}${v}${pick(["\r\n", "\r\n", "\n"])}`;
    }
    case 1:
      return `GET ${key}${eol}`;
    case 2:
      return `DEL ${key}${eol}`;
    case 3:
      return `${pick(["INCR", "DECR", "incr"])} ${key}${pick(["", " 5", " -9223372036854775808", " 9223372036854775807", " x"])}${eol}`;
    case 4: {
      const a = value(Math.floor(r() * 40));
      const b = value(Math.floor(r() * 40));
      return `MSET ${key} ${a.length} z ${b.length}${eol}${a}${b}\r\n`;
    }
    case 5:
      return `MGET ${key} a b zz${eol}`;
    case 6:
      return `EXISTS ${key}${eol}`;
    case 7:
      return `${pick(["PING", "ping", "", "   ", "\t"])}${eol}`;
    case 8:
      return `${pick(["NOPE", "GET", "SET k", "SET k -1", "SET k abc", "MSET k", "MSET k 1 j", "EXPIRE k x"])}${eol}`;
    case 9:
      return `EXPIRE ${key} ${pick(["0", "-5", "x"])}${eol}`; // positive ms would depend on the clock
    case 10: {
      const v = value(Math.floor(r() * 20));
      return `SET ${key} ${v.length + 1000}${eol}${v}${"y".repeat(1000)}\r\n`; // oversize, discarded
    }
    default:
      return `TTL ${key}${eol}`.replace(/^TTL/, "EXISTS"); // TTL replies depend on the clock
  }
}

/** Feeds the stream in pieces drawn by `size`; returns everything written and whether it closed. */
function run(stream: Buffer, size: () => number): { out: string; closed: boolean } {
  const client = new EngineClient(createContext({ max_value_bytes: valueBytesMax }));
  let out = "";
  for (let at = 0; at < stream.length && !client.closed; ) {
    const n = Math.max(1, Math.min(size(), stream.length - at));
    out += client.send(Buffer.from(stream.subarray(at, at + n)));
    at += n;
  }
  return { out, closed: client.closed };
}

for (let seed = 1; seed <= 40; seed++) {
  test(`random request stream #${seed} gets the same replies in one read, in random pieces and byte by byte`, () => {
    const r = rng(seed);
    const parts: string[] = [];
    for (let i = 0; i < 60; i++) parts.push(request(r));
    const stream = Buffer.from(parts.join(""), "latin1");
    const whole = run(stream, () => stream.length);
    expect(whole.out.length).toBeGreaterThan(0);
    const pieces = rng(seed * 7919);
    expect(run(stream, () => 1 + Math.floor(pieces() * 50))).toEqual(whole);
    expect(run(stream, () => 1)).toEqual(whole);
  });
}
