// redis-benchmark drives a real Osprey over RESP: every test it runs completes without an error,
// and the traffic lands in the keyspace.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { startServer, type RunningServer } from "../support/server.ts";
import { redisCli, run } from "../resp/redis.ts";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

/**
 * On the main port `-t ping` would also run PING_INLINE, whose first bytes (`PING\r\n`) are an
 * Osprey-protocol request: that connection speaks Osprey and answers `PONG`, not `+PONG` (see
 * README, "Using Redis clients"). Every RESP test redis-benchmark has for these commands runs;
 * PING_INLINE runs on resp_listen_addr (the next test).
 */
test("redis-benchmark -t ping_mbulk,set,get,incr,mset -n 20000 runs every test without an error", async () => {
  const { code, stdout, stderr } = await run(["redis-benchmark", "-h", "127.0.0.1", "-p", String(server.port), "-t", "ping_mbulk,set,get,incr,mset", "-n", "20000", "-q"]);
  const lines = stdout.split(/[\r\n]+/).filter((l) => l.includes("requests per second"));
  expect(stderr + stdout).not.toMatch(/error|WARNING/i);
  expect(code).toBe(0);
  expect(lines.map((l) => l.split(":")[0]!.trim())).toEqual(["PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"]);
  for (const line of lines) expect(Number(/: ([\d.]+) requests per second/.exec(line)![1])).toBeGreaterThan(0);
  const info = await redisCli(server.port, ["INFO stats", "GET key:__rand_int__", "GET counter:__rand_int__"]);
  expect(info).toContain("cmd_set:20000");
  expect(info).toContain("cmd_incr:20000");
  expect(info).toContain("cmd_mset:20000");
  // The last SET wrote redis-benchmark's 3-byte payload; the single INCR counter reached 20000.
  expect(info).toMatch(/\n"[^"\n]{3}"\n"20000"\n$/);
}, 30_000); // 100,000 requests: seconds on a loaded 2-core machine

test("on resp_listen_addr, redis-benchmark -t ping,set,get,incr,mset runs every test, PING_INLINE included", async () => {
  const resp = await startServer({ resp_listen_addr: "127.0.0.1:0" });
  try {
    const port = Number(/RESP2-only port on \S+:(\d+)/.exec(resp.log())![1]);
    expect(port).not.toBe(resp.port);
    const { code, stdout, stderr } = await run(["redis-benchmark", "-h", "127.0.0.1", "-p", String(port), "-t", "ping,set,get,incr,mset", "-n", "20000", "-q"]);
    const lines = stdout.split(/[\r\n]+/).filter((l) => l.includes("requests per second"));
    expect(stderr + stdout).not.toMatch(/error|WARNING/i);
    expect(code).toBe(0);
    expect(lines.map((l) => l.split(":")[0]!.trim())).toEqual(["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"]);
    // The same keyspace as the main port, which still speaks the Osprey protocol.
    const info = await redisCli(resp.port, ["GET counter:__rand_int__"]);
    expect(info).toBe('"20000"\n');
  } finally {
    await resp.stop();
  }
}, 30_000);
