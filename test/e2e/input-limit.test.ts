// client_input_bytes_max against the real server: clients that start legal MSETs and never finish
// them cannot together buffer more than the limit. The one holding the most is disconnected; the
// others, and new clients, go on. The limit is the smallest the config accepts (one client's own
// input limit at max_value_bytes = 1 MiB, about 73 MiB), so the test sends about 80 MiB.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { connectionInputBytesMax } from "../../src/constants.ts";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";

const MiB = 1024 * 1024;
const valueBytesMax = 1 * MiB;
const limit = connectionInputBytesMax(valueBytesMax);

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ max_value_bytes: valueBytesMax, client_input_bytes_max: limit });
}, 30_000);
afterAll(async () => {
  expect(await server.stop()).toBe(0);
}, 30_000);

/** `MSET <prefix>0 1048576 …` for `pairs` values of 1 MiB, and the first `bytes` of its payload. */
function partialMset(prefix: string, pairs: number, bytes: number): Buffer {
  const tokens = Array.from({ length: pairs }, (_, i) => `${prefix}${i} ${MiB}`).join(" ");
  return Buffer.concat([Buffer.from(`MSET ${tokens}\r\n`), Buffer.alloc(bytes, 120)]);
}

/** Polls STATS until `ready` holds for it (the server reads a large send in many turns). */
async function statsUntil(c: RawClient, ready: (s: Record<string, string>) => boolean): Promise<Record<string, string>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const s = await c.stats();
    if (ready(s) || Date.now() > deadline) return s;
    await Bun.sleep(10);
  }
}

test("unfinished MSETs past client_input_bytes_max disconnect the largest; the others and new clients go on, memory stays bounded", async () => {
  const watcher = await RawClient.connect(server.port);
  const idle = await RawClient.connect(server.port);
  expect(await idle.request("PING\r\n")).toBe("PONG");
  const rssBefore = server.rssBytes();

  // The largest: 59 of 60 MiB sent, so its buffer holds at least 59 MiB (and at most the 60 needed).
  const big = await RawClient.connect(server.port);
  await big.send(partialMset("big", 60, 59 * MiB));
  let s = await statsUntil(watcher, (s) => Number(s.client_input_bytes) >= 59 * MiB);
  expect(Number(s.client_input_bytes)).toBeGreaterThanOrEqual(59 * MiB);
  expect(s.input_limit_disconnects_total).toBe("0");

  // A second, smaller one (its buffer never passes the 20 MiB it needs): 59 + 18 > ~73.
  const small = await RawClient.connect(server.port);
  await small.send(partialMset("small", 20, 18 * MiB));
  await big.waitClosed(10_000);
  await server.waitForLog(/WARN client disconnected: it held the most unparsed input \(\d+ bytes\) when all clients' unparsed input reached client_input_bytes_max/);

  s = await statsUntil(watcher, (s) => Number(s.client_input_bytes) >= 18 * MiB);
  expect(s.input_limit_disconnects_total).toBe("1");
  expect(Number(s.client_input_bytes)).toBeLessThanOrEqual(limit);
  expect(Number(s.client_input_bytes)).toBeGreaterThanOrEqual(18 * MiB);
  expect(small.isClosed).toBe(false);
  // Bounded: live input never passed the limit. Until the GC runs, RSS also holds the buffers
  // outgrown while doubling (at most as much again) and every read Bun delivered (the ~80 MiB sent).
  expect(server.rssBytes() - rssBefore).toBeLessThan(3 * limit + 32 * MiB);

  // The smaller one finishes its MSET; the idle client and a new one work throughout.
  await small.send(Buffer.concat([Buffer.alloc(2 * MiB, 120), Buffer.from("\r\n")]));
  expect(await small.reply()).toBe("OK 20");
  expect(await idle.request("PING\r\n")).toBe("PONG");
  const fresh = await RawClient.connect(server.port);
  expect(await fresh.request("SET after 2\r\nok\r\n")).toBe("OK 1");
  expect(await fresh.request("GET after\r\n")).toBe("VALUE 2 1 -1\r\nok\r\n");

  s = await statsUntil(watcher, (s) => s.client_input_bytes === "0");
  expect(s.client_input_bytes).toBe("0");
  expect(s.input_limit_disconnects_total).toBe("1");
  for (const c of [watcher, idle, small, fresh]) c.close();
}, 30_000);
