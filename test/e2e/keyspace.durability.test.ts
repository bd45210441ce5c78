// RENAME, COPY, UNLINK, EXPIREAT and FLUSHDB are in the write-ahead log: after a kill -9 the
// restarted server shows what they acknowledged — the rename whole (the new key with its value,
// expiry and version, the old key gone), the copy, the deletes and the flush.

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { resp } from "../resp/encode.ts";

const dirs: string[] = [];
const servers: RunningServer[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) if (s.proc.exitCode === null && s.proc.signalCode === null) await s.signal("SIGKILL");
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir: string): Promise<RunningServer> {
  const s = await startServer({ data_dir: dataDir, sync_policy: "always" }, { dataDir });
  servers.push(s);
  return s;
}

async function ask(c: RawClient, ...args: string[]): Promise<string> {
  return c.request(resp(...args));
}

test("after a kill -9, the keyspace shows every acknowledged RENAME, COPY, UNLINK, EXPIREAT and FLUSHDB", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "osprey-keyspace-"));
  dirs.push(dataDir);
  let server = await start(dataDir);
  let c = await RawClient.connect(server.port);
  expect(await ask(c, "SET", "src", "hello", "PXAT", "4102444800000")).toBe("+OK");
  expect(await ask(c, "SET", "dst", "old")).toBe("+OK");
  expect(await ask(c, "RENAME", "src", "dst")).toBe("+OK");
  expect(await ask(c, "SET", "a", "1")).toBe("+OK");
  expect(await ask(c, "COPY", "a", "b")).toBe(":1");
  expect(await ask(c, "SET", "gone", "1")).toBe("+OK");
  expect(await ask(c, "UNLINK", "gone")).toBe(":1");
  expect(await ask(c, "EXPIREAT", "a", "4102444800")).toBe(":1");
  c.close();
  await server.signal("SIGKILL");

  server = await start(dataDir);
  const t = await RawClient.connect(server.port);
  // The text protocol shows version and expiry: the renamed key was a write of `dst` (version 2).
  expect(await t.request("GET dst\r\n")).toBe("VALUE 5 2 4102444800000\r\nhello\r\n");
  expect(await t.request("EXISTS src\r\n")).toBe("EXISTS 0");
  expect(await t.request("GET b\r\n")).toBe("VALUE 1 1 -1\r\n1\r\n");
  expect(await t.request("GET a\r\n")).toBe("VALUE 1 1 4102444800000\r\n1\r\n");
  expect(await t.request("EXISTS gone\r\n")).toBe("EXISTS 0");
  t.close();
  c = await RawClient.connect(server.port);
  expect(await ask(c, "FLUSHDB")).toBe("+OK");
  c.close();
  await server.signal("SIGKILL");

  server = await start(dataDir);
  c = await RawClient.connect(server.port);
  expect(await ask(c, "DBSIZE")).toBe(":0");
  c.close();
});

test("after a kill -9, an acknowledged EXEC of SET, FLUSHALL, SET shows exactly the keys written after its clear, and an expiry past 2^53 ms comes back as it was set", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "osprey-keyspace-"));
  dirs.push(dataDir);
  let server = await start(dataDir);
  let c = await RawClient.connect(server.port);
  expect(await ask(c, "SET", "old", "1")).toBe("+OK");
  await c.send(Buffer.concat([resp("SET", "far", "f"), resp("PEXPIREAT", "far", "9223372036854770000")]));
  expect([await c.line(), await c.line()]).toEqual(["+OK", ":1"]);
  await c.send(Buffer.concat([resp("MULTI"), resp("SET", "a", "1"), resp("FLUSHALL"), resp("SET", "b", "2"), resp("FLUSHDB", "ASYNC"), resp("SET", "c", "3"), resp("EXEC")]));
  for (const expected of ["+OK", "+QUEUED", "+QUEUED", "+QUEUED", "+QUEUED", "+QUEUED", "*5", "+OK", "+OK", "+OK", "+OK", "+OK"]) expect(await c.line()).toBe(expected);
  // An expiry past 2^53 ms, after the EXEC's clear, goes through the WAL as the double it is held as.
  await c.send(Buffer.concat([resp("SET", "far", "f"), resp("PEXPIREAT", "far", "9223372036854770000")]));
  expect([await c.line(), await c.line()]).toEqual(["+OK", ":1"]);
  c.close();
  await server.signal("SIGKILL");

  server = await start(dataDir);
  c = await RawClient.connect(server.port);
  expect(await ask(c, "EXISTS", "old", "a", "b", "c")).toBe(":1");
  expect(await ask(c, "GET", "c")).toBe("$1");
  expect(await c.line()).toBe("3");
  expect(await ask(c, "PEXPIRETIME", "far")).toBe(":9223372036854770000");
  c.close();
  // The text protocol shows that expiry as the same decimal.
  const t = await RawClient.connect(server.port);
  expect(await t.request("GET far\r\n")).toBe("VALUE 1 1 9223372036854770000\r\nf\r\n");
  t.close();
});
