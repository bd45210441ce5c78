// The client's reply decoders read whole replies however the bytes are split across reads.

import { expect, test } from "bun:test";
import { ProtocolError, VersionMismatchError } from "../../src/client/errors.ts";
import { lineReply, mgetReply, needMore, ReplyReader, statsReply, valueReply, type Decoder } from "../../src/client/reply.ts";

const wire =
  "VALUE 6 3 -1\r\na\r\nb\0c\r\n" + // GET with CR, LF and NUL in the value
  "NOT_FOUND\r\n" +
  "VALUE k1 2 1 1700000000000\r\nhi\r\nNOT_FOUND k2\r\nVALUE k3 0 18446744073709551615 -1\r\n\r\n" + // MGET
  "uptime_ms=5\r\nwal_current=\"wal-00000001.oswal\"\r\nEND\r\n" + // STATS
  "ERR VER version mismatch\r\n";

/** Feeds `wire` in pieces of `step` bytes and runs the decoders in order, as the client does. */
function decodeAll(step: number): unknown[] {
  const decoders: Decoder<unknown>[] = [
    valueReply,
    valueReply,
    mgetReply(["k1", "k2", "k3"]),
    statsReply(),
    lineReply((l) => l),
  ];
  const r = new ReplyReader();
  const out: unknown[] = [];
  const bytes = Buffer.from(wire, "latin1");
  for (let i = 0; i < bytes.length; i += step) {
    r.append(bytes.subarray(i, i + step));
    while (out.length < decoders.length) {
      const v = decoders[out.length]!(r);
      if (v === needMore) break;
      out.push(v);
    }
  }
  return out;
}

test("replies split at every byte decode the same as replies read at once", () => {
  const whole = decodeAll(wire.length);
  expect(whole).toHaveLength(5);
  for (const step of [1, 2, 3, 7, 13]) expect(decodeAll(step)).toEqual(whole);
});

test("the decoders return entries, nulls, fields and errors", () => {
  const [get, missing, mget, stats, err] = decodeAll(1) as [any, any, any[], any, any];
  expect(get.value.toString("latin1")).toBe("a\r\nb\0c");
  expect(get.version).toBe(3n);
  expect(missing).toBeNull();
  expect(mget[0].expiresAtMs).toBe(1700000000000);
  expect(mget[1]).toBeNull();
  expect(mget[2].version).toBe(18446744073709551615n); // u64 max survives as a bigint
  expect(stats).toEqual({ uptime_ms: "5", wal_current: "wal-00000001.oswal" });
  expect(err).toBeInstanceOf(VersionMismatchError);
});

test("an MGET block for a different key than asked is a ProtocolError", () => {
  const r = new ReplyReader();
  r.append(Buffer.from("NOT_FOUND other\r\n"));
  expect(() => mgetReply(["mine"])(r)).toThrow(ProtocolError);
});
