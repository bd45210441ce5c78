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

/** A text-protocol SET of `v` under `key`, its payload ended by `trailer`. */
function textSet(key: string, v: Uint8Array, options = "", trailer = "\r\n"): Buffer {
  return Buffer.concat([Buffer.from(`SET ${key} ${v.length}${options}\r\n`), v, Buffer.from(trailer)]);
}

/** The text reply to GET of a value `v` at `version` without expiry, as latin1. */
function textValue(v: Uint8Array, version: number): string {
  return `VALUE ${v.length} ${version} -1\r\n${Buffer.from(v).toString("latin1")}\r\n`;
}

describe("the text protocol's large SET payload, read straight into its buffer", () => {
  test("split over many small reads, payloads of every size around the threshold arrive byte-exact, ended by CRLF or LF", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    const sizes = [slabLargeBytesMin - 1, slabLargeBytesMin, slabLargeBytesMin + 1, 256 * 1024, MiB + 3];
    const chunkings: (readonly number[] | undefined)[] = [undefined, [1], [7, 1, 4093], [65536], [3, 100000, 2]];
    let seed = 100;
    for (const size of sizes) {
      for (const chunks of chunkings) {
        const v = payload(size, seed++);
        const key = `k${seed}`;
        const trailer = seed % 2 === 0 ? "\r\n" : "\n";
        expect(c.send(textSet(key, v, "", trailer), chunks)).toBe("OK 1\r\n");
        expect(c.send(`GET ${key}\r\n`)).toBe(textValue(v, 1));
        expect(ctx.input.bytes).toBeLessThanOrEqual(connectionBufferBytesKeepMax);
      }
    }
  });

  test("the payload goes straight into the entry's buffer, which holds the key, the payload, then the line's other tokens", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    const v = payload(256 * 1024, 106);
    expect(c.send(textSet("key", v), [4096])).toBe("OK 1\r\n");
    const id = ctx.store.find(Buffer.from("key"), 0, 3);
    const b = ctx.store.buffer(id);
    // One copy: from each read into this buffer, laid out as the parser handed the request off.
    expect(b.length).toBe(3 + v.length + 3);
    expect(b.subarray(0, 3).toString()).toBe("key");
    expect(Buffer.compare(b.subarray(3, 3 + v.length), v)).toBe(0);
    expect(b.subarray(3 + v.length).toString()).toBe("SET");
  });

  test("options on the line, and requests pipelined ahead of and behind it, in the same reads", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    const v = payload(300 * 1024, 101);
    const w = payload(200 * 1024, 102);
    const req = Buffer.concat([Buffer.from("PING\r\n"), textSet("a", v, " EX 100000"), textSet("b", w, " NX"), textSet("b", v, " NX"), Buffer.from("EXISTS a\r\n")]);
    expect(c.send(req, [5000, 1, 65536, 17])).toBe("PONG\r\nOK 1\r\nOK 1\r\nERR EXISTS key already exists\r\nEXISTS 1\r\n");
    expect(c.send("GET b\r\n")).toBe(textValue(w, 1));
    const a = c.send("GET a\r\n");
    expect(a.startsWith(`VALUE ${v.length} 1 `)).toBe(true);
    expect(a.endsWith(`\r\n${Buffer.from(v).toString("latin1")}\r\n`)).toBe(true);
  });

  test("a payload followed by neither LF nor CRLF closes the connection, as when it arrives whole; nothing is written", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    const v = payload(100 * 1024, 103);
    expect(c.send(textSet("k", v, "", "xy"), [4096])).toBe("ERR BADREQ payload not followed by CRLF\r\n");
    expect(c.closed).toBe(true);
    expect(ctx.input.bytes).toBe(0);
    const d = new EngineClient(ctx);
    expect(d.send(textSet("k", v, "", "\rx"), [4096])).toBe("ERR BADREQ payload not followed by CRLF\r\n");
    expect(d.closed).toBe(true);
    expect(new EngineClient(ctx).send("EXISTS k\r\n")).toBe("EXISTS 0\r\n");
  });

  test("a connection closed mid-payload gives its buffer back and writes nothing", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    const v = payload(MiB, 104);
    expect(c.send(textSet("k", v).subarray(0, 300 * 1024), [4096])).toBe("");
    // The payload's whole buffer is held, and counted, while it arrives.
    expect(ctx.input.bytes).toBeGreaterThanOrEqual(MiB);
    c.connection.onClose();
    expect(ctx.input.bytes).toBe(0);
    expect(new EngineClient(ctx).send("EXISTS k\r\n")).toBe("EXISTS 0\r\n");
  });

  test("a payload longer than max_value_bytes is refused from its line, before anything is taken for it, and the connection goes on", () => {
    const ctx = createContext({ max_value_bytes: MiB });
    const c = new EngineClient(ctx);
    const v = payload(MiB + 1, 105);
    expect(c.send(textSet("k", v).subarray(0, 64 * 1024))).toBe("ERR TOOLARGE value too large\r\n");
    expect(ctx.input.bytes).toBeLessThanOrEqual(connectionBufferBytesKeepMax);
    expect(c.send(textSet("k", v).subarray(64 * 1024), [100000])).toBe("");
    expect(c.send("EXISTS k\r\n")).toBe("EXISTS 0\r\n");
    expect(c.closed).toBe(false);
  });

  test("a bad length on the line is refused without waiting for a payload", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    expect(c.send("SET k 12x\r\n")).toBe("ERR BADREQ length is not a non-negative integer\r\n");
    expect(c.send("EXISTS k\r\n")).toBe("EXISTS 0\r\n");
    expect(ctx.input.bytes).toBeLessThanOrEqual(connectionBufferBytesKeepMax);
  });
});

describe("a read that holds one whole large SET lends its bytes to the entry", () => {
  /** The entry buffer of `key` in ctx's store. */
  function entryBuffer(ctx: ReturnType<typeof createContext>, key: string): Buffer {
    const k = Buffer.from(key);
    const id = ctx.store.find(k, 0, k.length);
    expect(id).toBeGreaterThanOrEqual(0);
    return ctx.store.buffer(id);
  }

  test("RESP and text: the entry is a view of the read itself, key then value, and answers byte-exact", () => {
    const ctx = createContext();
    const v = payload(256 * 1024, 200);
    for (const [key, req, reply] of [
      ["resp-key", command("SET", "resp-key", v), "+OK\r\n"],
      ["text-key", textSet("text-key", v), "OK 1\r\n"],
    ] as const) {
      const c = new EngineClient(ctx);
      const read = Buffer.from(req);
      c.connection.onData(read);
      expect(c.transport.take()).toBe(reply);
      const b = entryBuffer(ctx, key);
      expect(b.buffer).toBe(read.buffer);
      expect(b.length).toBe(key.length + v.length);
      expect(Buffer.from(b.subarray(0, key.length)).toString()).toBe(key);
      expect(Buffer.compare(b.subarray(key.length), v)).toBe(0);
    }
    const c = new EngineClient(ctx);
    expect(c.send(command("GET", "resp-key"))).toBe(bulkReply(v));
    expect(c.send(command("GET", "text-key"))).toBe(bulkReply(v));
  });

  test("not when the read (or the allocation it is part of) holds more than the request, options follow the value, or the command keeps no such entry", () => {
    const ctx = createContext();
    const v = payload(128 * 1024, 201);
    const w = payload(8 * 1024, 202);
    const cases: [string, Buffer][] = [
      ["a", Buffer.concat([command("SET", "a", v), command("SET", "other", w)])],
      ["b", command("SET", "b", v, "EX", "100")],
      ["c", textSet("c", v, " EX 100000")],
    ];
    for (const [key, req] of cases) {
      const c = new EngineClient(ctx);
      const read = Buffer.from(req);
      c.connection.onData(read);
      expect(entryBuffer(ctx, key).buffer).not.toBe(read.buffer);
    }
    // A read that is a view of a larger allocation: the entry would keep all of it alive.
    const big = Buffer.alloc(200 * 1024);
    const req = command("SET", "e", v);
    req.copy(big);
    new EngineClient(ctx).connection.onData(big.subarray(0, req.length));
    expect(entryBuffer(ctx, "e").buffer).not.toBe(big.buffer);
    // APPEND of a large value to a missing key, and PUBLISH: the bytes are the same either way.
    const c = new EngineClient(ctx);
    expect(c.send(command("APPEND", "d", v))).toBe(`:${v.length}\r\n`);
    expect(c.send(command("GET", "d"))).toBe(bulkReply(v));
    expect(c.send(command("GET", "a"))).toBe(bulkReply(v));
    expect(c.send(command("GET", "other"))).toBe(bulkReply(w));
  });
});

describe("a request cut by a read boundary, with more requests behind it in the next read", () => {
  test("only its rest is buffered: the next read's other requests are parsed where they lie, in order, byte-exact", () => {
    const ctx = createContext();
    const c = new EngineClient(ctx);
    const values = Array.from({ length: 40 }, (_, i) => payload(16 * 1024 + i, 300 + i));
    const req = Buffer.concat(values.flatMap((v, i) => [command("SET", `k${i}`, v), ...(i % 7 === 3 ? [command("GET", `k${i}`)] : [])]));
    const expected = values.map((v, i) => "+OK\r\n" + (i % 7 === 3 ? bulkReply(v) : "")).join("");
    // Reads of 200,001 bytes, as a socket delivers a deep pipeline: each ends inside a request.
    let replies = "";
    let inputMax = 0;
    for (let at = 0; at < req.length; at += 200_001) {
      c.connection.onData(Buffer.from(req.subarray(at, at + 200_001)));
      replies += c.transport.take();
      inputMax = Math.max(inputMax, ctx.input.bytes);
    }
    expect(replies).toBe(expected);
    // Never more than the cut request (16 KiB and change, in a buffer of at most twice that).
    expect(inputMax).toBeLessThanOrEqual(64 * 1024);
    for (let i = 0; i < values.length; i += 9) expect(c.send(command("GET", `k${i}`))).toBe(bulkReply(values[i]!));
  });
});
