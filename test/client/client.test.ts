// The TypeScript client against a real server: typed results per command, one error class per
// ERR code, pipelining, timeouts and reconnecting after a server restart.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import {
  BadRequestError,
  ConnectionError,
  connect,
  KeyExistsError,
  KeyNotFoundError,
  OspreyClient,
  parseAddress,
  ServerError,
  TimeoutError,
  TooLargeError,
  TypeMismatchError,
  VersionMismatchError,
} from "../../src/client/index.ts";
import { startServer, type RunningServer } from "../support/server.ts";

let server: RunningServer;
let client: OspreyClient;

beforeAll(async () => {
  server = await startServer({ max_value_bytes: 1_000_000 });
  client = await connect({ port: server.port });
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe("commands", () => {
  test("PING answers PONG", async () => {
    expect(await client.ping()).toBe("PONG");
  });

  test("SET returns the new version as a bigint and GET returns value, version and expiry", async () => {
    expect(await client.set("c:a", "hello")).toBe(1n);
    expect(await client.set("c:a", "hello again")).toBe(2n);
    const e = await client.get("c:a");
    expect(e!.value.toString()).toBe("hello again");
    expect(e!.version).toBe(2n);
    expect(e!.expiresAtMs).toBeNull();
  });

  test("GET of a missing key is null", async () => {
    expect(await client.get("c:missing")).toBeNull();
  });

  test("values are binary-safe both ways", async () => {
    const bytes = new Uint8Array([0, 13, 10, 255, 128, 32, 13, 10]);
    await client.set("c:bin", bytes);
    expect(new Uint8Array((await client.get("c:bin"))!.value)).toEqual(bytes);
  });

  test("keys may be UTF-8 text or bytes", async () => {
    await client.set("c:ключ", "v");
    expect((await client.get(Buffer.from("c:ключ")))!.value.toString()).toBe("v");
    expect((await client.mget("c:ключ"))[0]!.value.toString()).toBe("v");
  });

  test("SET with ex sets an absolute expiry and TTL counts it down", async () => {
    const before = Date.now();
    await client.set("c:ttl", "v", { ex: 60_000 });
    const e = await client.get("c:ttl");
    // The server's "now" is its batch's monotonic reading on the wall clock, within wallSlackMs (1 ms) of Date.now().
    expect(e!.expiresAtMs!).toBeGreaterThanOrEqual(before + 60_000 - 2);
    const ttl = await client.ttl("c:ttl");
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  test("SET with pxat expires at that time; keepTtl keeps it", async () => {
    const at = Date.now() + 120_000;
    await client.set("c:pxat", "v", { pxat: at });
    await client.set("c:pxat", "w", { keepTtl: true });
    expect((await client.get("c:pxat"))!.expiresAtMs).toBe(at);
  });

  test("TTL is -1 without expiry and -2 for a missing key", async () => {
    await client.set("c:forever", "v");
    expect(await client.ttl("c:forever")).toBe(-1);
    expect(await client.ttl("c:nothing")).toBe(-2);
  });

  test("DEL and EXISTS answer booleans", async () => {
    await client.set("c:del", "v");
    expect(await client.exists("c:del")).toBe(true);
    expect(await client.del("c:del")).toBe(true);
    expect(await client.del("c:del")).toBe(false);
    expect(await client.exists("c:del")).toBe(false);
  });

  test("EXPIRE answers true for a live key and false for a missing one", async () => {
    await client.set("c:exp", "v");
    expect(await client.expire("c:exp", 60_000)).toBe(true);
    expect(await client.expire("c:exp-missing", 60_000)).toBe(false);
    expect(await client.expire("c:exp", 0)).toBe(true);
    expect(await client.get("c:exp")).toBeNull();
  });

  test("INCR and DECR are exact over the signed 64-bit range", async () => {
    expect(await client.incr("c:n")).toBe(1n);
    expect(await client.incr("c:n", 41)).toBe(42n);
    expect(await client.decr("c:n", 50n)).toBe(-8n);
    await client.set("c:big", "9223372036854775806");
    expect(await client.incr("c:big")).toBe(9223372036854775807n);
    await expect(client.incr("c:big")).rejects.toBeInstanceOf(TypeMismatchError);
  });

  test("MGET returns one entry or null per key, in order", async () => {
    await client.mset({ "c:m1": "one", "c:m3": "three" });
    const r = await client.mget("c:m1", "c:m2", "c:m3");
    expect(r.map((e) => e?.value.toString() ?? null)).toEqual(["one", null, "three"]);
    expect(r[0]!.version).toBe(1n);
  });

  test("MSET takes pairs as an object or an iterable and returns the count", async () => {
    expect(await client.mset([["c:p1", "a"], ["c:p2", new Uint8Array([1, 2])]])).toBe(2);
    expect((await client.get("c:p2"))!.value).toEqual(Buffer.from([1, 2]));
  });

  test("STATS returns the counters by name, quotes removed", async () => {
    const s = await client.stats();
    expect(Number(s.keys)).toBeGreaterThan(0);
    expect(s.sync_policy).toBe("batch");
  });
});

describe("errors", () => {
  test("each ERR code rejects with its own class, carrying code and message", async () => {
    await client.set("c:e", "v");
    const nx = await client.set("c:e", "v", { nx: true }).catch((e) => e);
    expect(nx).toBeInstanceOf(KeyExistsError);
    expect(nx).toBeInstanceOf(ServerError);
    expect(nx.code).toBe("EXISTS");
    expect(nx.message).toBe("key already exists");
    await expect(client.set("c:e-missing", "v", { xx: true })).rejects.toBeInstanceOf(KeyNotFoundError);
    await expect(client.set("c:e", "v", { ver: 99 })).rejects.toBeInstanceOf(VersionMismatchError);
    await expect(client.set("c:e", "v", { nx: true, xx: true })).rejects.toBeInstanceOf(BadRequestError);
    await expect(client.set("c:e", Buffer.alloc(1_000_001))).rejects.toBeInstanceOf(TooLargeError);
    await expect(client.incr("c:e")).rejects.toBeInstanceOf(TypeMismatchError);
  });

  test("a server error leaves the connection usable", async () => {
    await expect(client.set("c:e2", "v", { ver: 5 })).rejects.toBeInstanceOf(VersionMismatchError);
    expect(await client.ping()).toBe("PONG");
  });

  test("a key with a space or control character is refused before it is sent", async () => {
    await expect(client.get("a b")).rejects.toBeInstanceOf(BadRequestError);
    await expect(client.set("a\r\nDEL x", "v")).rejects.toBeInstanceOf(BadRequestError);
    await expect(client.get("")).rejects.toBeInstanceOf(BadRequestError);
    expect(await client.ping()).toBe("PONG");
  });

  test("connecting to a port nobody listens on rejects with ConnectionError", async () => {
    const idle = createServer();
    await new Promise<void>((r) => idle.listen(0, "127.0.0.1", r));
    const port = (idle.address() as { port: number }).port;
    await new Promise<void>((r) => idle.close(() => r()));
    await expect(connect({ port, reconnect: false })).rejects.toBeInstanceOf(ConnectionError);
  });
});

describe("pipelining", () => {
  test("1,000 concurrent calls on one connection are answered in order", async () => {
    const calls: Promise<bigint>[] = [];
    for (let i = 0; i < 1000; i++) calls.push(client.incr("c:seq"));
    const results = await Promise.all(calls);
    expect(results).toEqual(Array.from({ length: 1000 }, (_, i) => BigInt(i + 1)));
  });

  test("concurrent calls of different shapes each get their own reply, large values included", async () => {
    const large = Buffer.alloc(300_000, 7); // its reply spans many TCP reads
    const [v, big, pong, missing, many, count] = await Promise.all([
      client.set("c:mix", "x"),
      client.set("c:mixbig", large),
      client.ping(),
      client.get("c:mix-missing"),
      client.mget("c:mix", "c:mix-missing", "c:mixbig"),
      client.incr("c:mixn", 3),
    ]);
    expect([v, big, pong, missing, count]).toEqual([1n, 1n, "PONG", null, 3n]);
    expect(many.map((e) => e?.value.length ?? null)).toEqual([1, null, 300_000]);
    expect(many[2]!.value.equals(large)).toBe(true);
  });

  test("200 calls made in one tick each reach the server once", async () => {
    const before = Number((await client.stats()).cmd_get);
    const gets = Array.from({ length: 200 }, (_, i) => client.get(`c:one-tick-${i}`));
    expect((await Promise.all(gets)).every((e) => e === null)).toBe(true);
    expect(Number((await client.stats()).cmd_get)).toBe(before + 200);
  });
});

describe("timeouts and reconnecting", () => {
  test("a call with no reply within timeoutMs rejects with TimeoutError", async () => {
    // A listener that accepts and never answers.
    const accepted: Socket[] = [];
    const silent: Server = createServer((socket) => void accepted.push(socket));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    const c = await connect({ port, timeoutMs: 200, reconnect: false });
    const started = performance.now();
    await expect(c.ping()).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    c.destroy();
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  test("after a server restart on the same port the next call reconnects", async () => {
    const first = await startServer();
    const port = first.port;
    const c = await connect({ port, reconnect: { attempts: 100, delayMs: 20, maxDelayMs: 100 } });
    expect(await c.set("k", "before")).toBe(1n);
    await first.stop();
    // A call made while the server is down waits for the reconnect instead of failing.
    const during = c.ping();
    const second = await startServer({ listen_addr: `127.0.0.1:${port}` });
    try {
      expect(await during).toBe("PONG");
      expect(await c.set("k", "after")).toBe(1n); // a new server with a new data_dir
      expect(c.connected).toBe(true);
    } finally {
      await c.close();
      await second.stop();
    }
  });

  test("calls in flight when the connection drops reject with ConnectionError", async () => {
    const s = await startServer();
    const c = await connect({ port: s.port, reconnect: false });
    await c.ping();
    const pending = c.get("x").then(
      () => null,
      (e: unknown) => e,
    );
    const code = await s.signal("SIGKILL");
    expect(code).not.toBe(0);
    const err = await pending;
    // The reply may have arrived before the kill; if not, the call fails as a lost connection.
    if (err !== null) expect(err).toBeInstanceOf(ConnectionError);
    await expect(c.ping()).rejects.toBeInstanceOf(ConnectionError);
    c.destroy();
    await s.stop();
  });

  test("close() waits for replies of calls already made", async () => {
    const c = await connect({ port: server.port });
    const calls = Array.from({ length: 50 }, () => c.incr("c:close"));
    await c.close();
    expect((await Promise.all(calls)).length).toBe(50);
    await expect(c.ping()).rejects.toBeInstanceOf(ConnectionError);
  });
});

describe("addresses", () => {
  test("parseAddress reads host:port, [v6]:port, a bare port or a bare host", () => {
    expect(parseAddress("127.0.0.1:7071")).toEqual({ host: "127.0.0.1", port: 7071 });
    expect(parseAddress("[::1]:7072")).toEqual({ host: "::1", port: 7072 });
    expect(parseAddress("7073")).toEqual({ host: "127.0.0.1", port: 7073 });
    expect(parseAddress("localhost")).toEqual({ host: "localhost", port: 7070 });
    expect(() => parseAddress("h:99999")).toThrow(ConnectionError);
  });
});
