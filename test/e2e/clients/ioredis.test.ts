// ioredis (6, which defaults to RESP3) against a real Osprey: its RESP3 handshake, RESP3 replies
// mapped to objects, RESP2 when asked for, and a thousand-command pipeline inside MULTI with a
// WATCH conflict. Its RESP2-era behaviours (pipelines, binary values, EXEC after kill -9) are in
// test/e2e/resp.ioredis.test.ts.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis, { type RedisOptions } from "ioredis";
import { startServer, type RunningServer } from "../../support/server.ts";
import { binaryKey, binaryValue, pipelineCommands } from "./shared.ts";

let server: RunningServer;
const opened: Redis[] = [];

function connect(options: RedisOptions = {}): Redis {
  const r = new Redis({ host: "127.0.0.1", port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
  opened.push(r);
  return r;
}

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  for (const r of opened) r.disconnect();
  await server?.stop();
});

describe("ioredis", () => {
  test("by default it handshakes with HELLO 3 and the connection speaks RESP3", async () => {
    const redis = connect({ connectionName: "io3" });
    expect(String(await redis.client("INFO"))).toContain(" name=io3 ");
    expect(String(await redis.client("INFO"))).toContain(" resp=3 ");
  });

  test("with replyMapping resp3, maps arrive as objects: HELLO and CONFIG GET", async () => {
    const redis = connect({ replyMapping: "resp3" });
    expect(await redis.call("HELLO", "3")).toMatchObject({ server: "redis", version: "7.0.15", proto: 3, mode: "standalone", role: "master" });
    expect(await redis.call("CONFIG", "GET", "maxmemory-policy")).toEqual({ "maxmemory-policy": "noeviction" });
    expect(await redis.get("io:missing")).toBeNull();
  });

  test("with protocol 2 the connection stays RESP2 and maps are flat arrays", async () => {
    const redis = connect({ protocol: 2 });
    expect(String(await redis.client("INFO"))).toContain(" resp=2 ");
    expect(await redis.call("CONFIG", "GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
  });

  test("a thousand commands in one MULTI answer in order, and a WATCH conflict from a second client aborts the next", async () => {
    const redis = connect();
    const other = connect();
    const tx = redis.multi();
    for (let i = 0; i < pipelineCommands / 2; i++) tx.set(`io:m:${i}`, `v${i}`).incr("io:m:count");
    const results = await tx.exec();
    expect(results).toHaveLength(pipelineCommands);
    expect(results!.at(-1)).toEqual([null, pipelineCommands / 2]);
    await redis.watch("io:m:count");
    await other.set("io:m:count", "0");
    expect(await redis.multi().incr("io:m:count").exec()).toBeNull();
    expect(await redis.get("io:m:count")).toBe("0");
  });

  test("binary keys and values over RESP3 come back byte for byte", async () => {
    const redis = connect();
    expect(await redis.set(Buffer.from(binaryKey), Buffer.from(binaryValue))).toBe("OK");
    expect(new Uint8Array((await redis.getBuffer(Buffer.from(binaryKey)))!)).toEqual(binaryValue);
  });
});
