// The RESP string family goes through the write-ahead log like SET: after a kill -9 (sync_policy
// always, so every acknowledged write is on disk) a restarted server holds every value, version
// and expiry that APPEND, SETRANGE, SETBIT, INCRBYFLOAT, GETEX, GETSET, SETEX, PSETEX and MSETNX
// left — including values patched in place and values that moved to a buffer of their own.

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { pipeline } from "../resp/encode.ts";

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function start(dataDir: string): Promise<RunningServer> {
  const s = await startServer({ data_dir: dataDir, sync_policy: "always" }, { dataDir });
  cleanup.push(async () => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) await s.signal("SIGKILL");
  });
  return s;
}

/** Reads `count` RESP replies (lines, bulk strings and integers only). */
async function respReplies(c: RawClient, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const line = await c.line();
    out.push(line[0] === "$" && line !== "$-1" ? (await c.bytes(Number(line.slice(1)) + 2)).toString("latin1").slice(0, -2) : line);
  }
  return out;
}

const keys = ["append", "big", "range", "bit", "float", "getex", "getset", "setex", "psetex", "nx1", "nx2", "gone"];
const big = "b".repeat(70 * 1024);

test("every write of the string family is recovered after kill -9 with its value, version and expiry", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "osprey-strings-"));
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await start(dataDir);
  const c = await RawClient.connect(first.port);
  const requests = [
    ["APPEND", "append", "abc"],
    ["APPEND", "append", "d"], // in place
    ["APPEND", "append", "e".repeat(500)], // moved within the slab
    ["SET", "big", big],
    ["APPEND", "big", "tail"], // a buffer of its own, moved
    ["SETRANGE", "big", "0", "HEAD"], // a buffer of its own, in place
    ["SETRANGE", "range", "4", "xy"],
    ["SETBIT", "bit", "17", "1"],
    ["SETBIT", "bit", "0", "1"],
    ["INCRBYFLOAT", "float", "0.1"],
    ["INCRBYFLOAT", "float", "0.2"],
    ["SET", "getex", "v"],
    ["GETEX", "getex", "PX", "3600000"],
    ["GETSET", "getset", "old"],
    ["GETSET", "getset", "new"],
    ["SETEX", "setex", "3600", "s"],
    ["PSETEX", "psetex", "3600000", "p"],
    ["MSETNX", "nx1", "1", "nx2", "2"],
    ["MSETNX", "nx2", "x", "nx3", "y"],
    ["SET", "gone", "v"],
    ["GETEX", "gone", "PXAT", "1"],
  ];
  await c.send(pipeline(...requests));
  const replies = await respReplies(c, requests.length);
  expect(replies).toEqual([":3", ":4", ":504", "+OK", `:${big.length + 4}`, `:${big.length + 4}`, ":6", ":0", ":0", "0.1", "0.3", "+OK", "v", "$-1", "old", "+OK", "+OK", ":1", ":0", "+OK", "v"]);
  // The text protocol shows each entry's version and absolute expiry: what recovery must give back.
  const text = await RawClient.connect(first.port);
  const before: string[] = [];
  for (const key of keys) before.push(await text.request(`GET ${key}\r\n`));
  expect(before.filter((r) => r.startsWith("VALUE")).length).toBe(keys.length - 1);
  expect(before.at(-1)).toBe("NOT_FOUND");
  c.close();
  text.close();
  await first.signal("SIGKILL");

  const second = await start(dataDir);
  const again = await RawClient.connect(second.port);
  const after: string[] = [];
  for (const key of keys) after.push(await again.request(`GET ${key}\r\n`));
  expect(after).toEqual(before);
  expect(after[0]).toBe(`VALUE 504 3 -1\r\nabcd${"e".repeat(500)}\r\n`);
  expect(after[1]).toBe(`VALUE ${big.length + 4} 3 -1\r\nHEAD${big.slice(4)}tail\r\n`);
  expect(after[3]).toBe("VALUE 3 2 -1\r\n\x80\x00\x40\r\n");
  expect(after[4]).toBe("VALUE 3 2 -1\r\n0.3\r\n");
  expect(after[5]).toMatch(/^VALUE 1 1 \d{13}\r\nv\r\n$/);
  again.close();
});
