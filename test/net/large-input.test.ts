// A RESP request whose last argument is a large value is handed off by the parser while the value
// arrives: the connection copies each read straight into the value's own buffer (net/connection.ts
// #direct), which a SET adopts. These tests drive real connections (the engine harness) with such
// requests cut into reads of every size, and check the bytes, the replies and ctx.input.

import { describe, expect, test } from "bun:test";
import { connectionBufferBytesKeepMax, connectionInputBytesMax, slabLargeBytesMin } from "../../src/constants.ts";
import { createContext, EngineClient } from "../commands/harness.ts";
import { captureLog } from "../support/log.ts";
import { bytesOf } from "../support/rng.ts";

const MiB = 1024 * 1024;

function bulk(b: Uint8Array | string): Buffer {
  const bytes = typeof b === "string" ? Buffer.from(b, "latin1") : Buffer.from(b);
  return Buffer.concat([Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n")]);
}

function command(...args: (Uint8Array | string)[]): Buffer {
  return Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map(bulk)]);
}

/** `n` bytes (CR and LF among them) that differ along the value, so a misplaced chunk shows. */
const payload = bytesOf;

/** The reply to GET of a value `v`, as latin1. */
function bulkReply(v: Uint8Array): string {
  return `$${v.length}\r\n${Buffer.from(v).toString("latin1")}\r\n`;
}

describe("a large value read straight into its buffer", () => {
  test("split over many small reads, values of every size around the threshold arrive byte-exact", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    const sizes = [slabLargeBytesMin - 1, slabLargeBytesMin, slabLargeBytesMin + 1, 256 * 1024, MiB + 3];
    const chunkings: (readonly number[] | undefined)[] = [undefined, [1], [7, 1, 4093], [65536], [3, 100000, 2]];
    let seed = 1;
    for (const size of sizes) {
      for (const chunks of chunkings) {
        const v = payload(size, seed++);
        const key = `k${seed}`;
        expect(c.send(command("SET", key, v), chunks)).toBe("+OK\r\n");
        expect(c.send(command("GET", key))).toBe(bulkReply(v));
        // What stays is at most the small input buffer a connection keeps between reads.
        expect(ctx.input.bytes).toBeLessThanOrEqual(connectionBufferBytesKeepMax);
      }
    }
  });

  test("requests pipelined behind and ahead of it, in the same reads, run in order", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    const v = payload(300 * 1024, 7);
    const w = payload(200 * 1024, 8);
    const req = Buffer.concat([command("PING"), command("SET", "a", v), command("SET", "b", w), command("GET", "a"), command("STRLEN", "b")]);
    expect(c.send(req, [5000, 1, 65536, 17])).toBe(`+PONG\r\n+OK\r\n+OK\r\n${bulkReply(v)}:${w.length}\r\n`);
    expect(c.send(command("GET", "b"))).toBe(bulkReply(w));
  });

  test("commands that do not adopt the buffer see the same bytes: options after the value, NX, APPEND, MSET, the same value twice", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    const v = payload(128 * 1024, 9);
    const w = payload(100 * 1024, 10);
    const chunks = [1000];
    expect(c.send(command("SET", "k", v, "EX", "100"), chunks)).toBe("+OK\r\n");
    expect(c.send(command("SET", "k", w, "NX"), chunks)).toBe("$-1\r\n");
    expect(c.send(command("SET", "k", w), chunks)).toBe("+OK\r\n");
    expect(c.send(command("SET", "k", w, "NX"), chunks)).toBe("$-1\r\n");
    expect(c.send(command("GET", "k"))).toBe(bulkReply(w));
    expect(c.send(command("APPEND", "k", v), chunks)).toBe(`:${v.length + w.length}\r\n`);
    expect(c.send(command("GET", "k"))).toBe(bulkReply(Buffer.concat([w, v])));
    expect(c.send(command("MSET", "x", "1", "y", v), chunks)).toBe("+OK\r\n");
    expect(c.send(command("MGET", "x", "y"))).toBe(`*2\r\n$1\r\n1\r\n${bulkReply(v)}`);
    // The same bytes again, into a buffer that may be a spare of the one just replaced.
    expect(c.send(command("SET", "y", v), chunks)).toBe("+OK\r\n");
    expect(c.send(command("SET", "y", v), chunks)).toBe("+OK\r\n");
    expect(c.send(command("GET", "y"))).toBe(bulkReply(v));
    expect(ctx.input.bytes).toBeLessThanOrEqual(connectionBufferBytesKeepMax);
  });

  test("a value not followed by CRLF is bad input, as when it arrives whole", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    const v = payload(100 * 1024, 11);
    const req = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${v.length}\r\n`), v, Buffer.from("xy")]);
    expect(c.send(req, [4096])).toBe("-ERR Protocol error: bulk string not followed by CRLF\r\n");
    expect(c.closed).toBe(true);
    expect(ctx.input.bytes).toBe(0);
  });

  test("a connection closed mid-value gives its buffer back: ctx.input returns to 0", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    const v = payload(MiB, 12);
    const req = command("SET", "k", v);
    expect(c.send(req.subarray(0, 300 * 1024), [4096])).toBe("");
    expect(ctx.input.bytes).toBeGreaterThanOrEqual(MiB);
    c.connection.onClose();
    expect(ctx.input.bytes).toBe(0);
    const d = new EngineClient(ctx);
    expect(d.send(command("EXISTS", "k"))).toBe(":0\r\n");
  });

  test("values being read count in client_input_bytes_max: past the sum the client holding the most is dropped, the others finish", () => {
    const valueBytesMax = 8 * MiB;
    const limit = connectionInputBytesMax(valueBytesMax);
    const ctx = createContext({ max_value_bytes: valueBytesMax, client_input_bytes_max: limit });
    const log = captureLog();
    try {
      // Each client is 1 MiB into an 8 MiB value, which holds the value's whole buffer: one
      // client more than the sum allows is the one refused (it would hold as much as any).
      const n = Math.floor(limit / valueBytesMax) + 1;
      const v = payload(valueBytesMax, 14);
      const req = command("SET", "k", v);
      const clients: EngineClient[] = [];
      for (let i = 0; i < n; i++) {
        const c = new EngineClient(ctx);
        clients.push(c);
        ctx.clients = clients.length;
        expect(c.send(req.subarray(0, MiB), [64 * 1024])).toBe("");
        expect(ctx.input.bytes).toBeLessThanOrEqual(limit);
      }
      expect(clients.filter((c) => c.closed).length).toBe(1);
      expect(clients[n - 1]!.closed).toBe(true);
      expect(ctx.input.disconnectsTotal).toBe(1);
      for (const c of clients.slice(0, n - 1)) expect(c.send(req.subarray(MiB), [MiB])).toBe("+OK\r\n");
      expect(ctx.input.bytes).toBe(0);
      expect(clients[0]!.send(command("STRLEN", "k"))).toBe(`:${valueBytesMax}\r\n`);
      expect(log.messages()).toEqual([expect.stringMatching(/^WARN client disconnected: it held the most unparsed input \(\d+ bytes\)/)]);
    } finally {
      log.stop();
    }
  });

  test("a value larger than max_value_bytes is refused before anything is taken for it", () => {
    const ctx = createContext({ max_value_bytes: MiB });
    const c = new EngineClient(ctx);
    expect(c.send(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${MiB + 1}\r\nabc`)).toBe("-ERR Protocol error: invalid bulk length\r\n");
    expect(c.closed).toBe(true);
    expect(ctx.input.bytes).toBe(0);
  });
});
