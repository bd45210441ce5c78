// Large values over TCP, end to end: whatever the chunking of the request, however many clients
// send large SETs at once (their input buffers come from one pool), whether the value is
// overwritten, appended to or written by reference into the WAL, GET returns the very bytes sent,
// and after kill -9 and a restart (WAL replay) so does every key.

import { afterEach, describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { bytesOf } from "../support/rng.ts";
import { startServer, type RunningServer } from "../support/server.ts";

const servers: RunningServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    if (s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
  }
});

async function start(dataDir?: string): Promise<RunningServer> {
  const s = await startServer({ sync_policy: "os" }, dataDir === undefined ? {} : { dataDir });
  servers.push(s);
  return s;
}

const valueOf = bytesOf;

const respSet = (key: string, value: Buffer) => Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n`, "latin1"), value, Buffer.from("\r\n")]);
const respGet = (key: string) => Buffer.from(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`, "latin1");
const respAppend = (key: string, value: Buffer) => Buffer.concat([Buffer.from(`*3\r\n$6\r\nAPPEND\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n`, "latin1"), value, Buffer.from("\r\n")]);

/** GET over RESP: the bulk string's bytes, or null. */
async function get(c: RawClient, key: string): Promise<Buffer | null> {
  await c.send(respGet(key));
  const head = await c.line();
  if (head === "$-1") return null;
  expect(head).toMatch(/^\$\d+$/);
  const body = await c.bytes(Number(head.slice(1)) + 2);
  return body.subarray(0, body.length - 2);
}

const sizes = [16 * 1024, 64 * 1024 - 10, 64 * 1024, 256 * 1024, 1024 * 1024 + 3];

describe("large values over TCP", () => {
  test("SET then GET returns the exact bytes at every size, sent whole, in small pieces or pipelined", async () => {
    const s = await start();
    const c = await RawClient.connect(s.port);
    for (const [i, size] of sizes.entries()) {
      const v = valueOf(size, i + 1);
      await c.send(respSet(`whole:${i}`, v));
      expect(await c.line()).toBe("+OK");
      await c.sendInPieces(respSet(`pieces:${i}`, v), 7919);
      expect(await c.line()).toBe("+OK");
      expect((await get(c, `whole:${i}`))!.equals(v)).toBe(true);
      expect((await get(c, `pieces:${i}`))!.equals(v)).toBe(true);
    }
    // Eight large SETs and a GET of each in one write: every request behind the first is parsed
    // from the same buffer.
    const values = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => valueOf(300_000 + i, 100 + i));
    await c.send(Buffer.concat([...values.map((v, i) => respSet(`piped:${i}`, v)), ...values.map((_, i) => respGet(`piped:${i}`))]));
    for (let i = 0; i < values.length; i++) expect(await c.line()).toBe("+OK");
    for (const v of values) {
      expect(await c.line()).toBe(`$${v.length}`);
      expect((await c.bytes(v.length + 2)).subarray(0, v.length).equals(v)).toBe(true);
    }
    c.close();
  }, 60_000);

  test("overwrites of the same and of other sizes, and APPEND, leave exactly the last bytes written", async () => {
    const s = await start();
    const c = await RawClient.connect(s.port);
    const a = valueOf(200_000, 1);
    const b = valueOf(200_000, 2);
    const small = valueOf(100, 3);
    const tail = valueOf(70_000, 4);
    for (const v of [a, b, small, a]) {
      await c.send(respSet("k", v));
      expect(await c.line()).toBe("+OK");
    }
    expect((await get(c, "k"))!.equals(a)).toBe(true);
    await c.send(respAppend("k", tail));
    expect(await c.line()).toBe(`:${a.length + tail.length}`);
    expect((await get(c, "k"))!.equals(Buffer.concat([a, tail]))).toBe(true);
    // An overwrite and a read of the old value in one write: the read sees the new value.
    await c.send(Buffer.concat([respSet("k", b), respGet("k")]));
    expect(await c.line()).toBe("+OK");
    expect(await c.line()).toBe(`$${b.length}`);
    expect((await c.bytes(b.length + 2)).subarray(0, b.length).equals(b)).toBe(true);
    c.close();
  }, 60_000);

  test("many clients sending large SETs at once each store their own bytes, and all survive kill -9 and a restart", async () => {
    let s = await start();
    const dataDir = s.dataDir;
    const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.connect(s.port)));
    const expected = new Map<string, Buffer>();
    // Three rounds per client, each value different, sent in pieces so requests interleave in the
    // server and input buffers pass from one connection to the next through the pool.
    await Promise.all(
      clients.map(async (c, ci) => {
        for (let round = 0; round < 3; round++) {
          const key = `c${ci}:${round % 2}`;
          const v = valueOf(180_000 + ci * 1000 + round, ci * 10 + round + 1);
          expected.set(key, v);
          await c.sendInPieces(respSet(key, v), 65_536);
          expect(await c.line()).toBe("+OK");
        }
      }),
    );
    for (const [key, v] of expected) expect((await get(clients[0]!, key))!.equals(v)).toBe(true);
    for (const c of clients) c.close();
    process.kill(s.pid, "SIGKILL");
    await s.proc.exited;
    servers.length = 0;
    s = await start(dataDir);
    const c = await RawClient.connect(s.port);
    for (const [key, v] of expected) expect((await get(c, key))!.equals(v)).toBe(true);
    c.close();
  }, 60_000);

  test("the text protocol's SET and GET carry a large value byte for byte", async () => {
    const s = await start();
    const c = await RawClient.connect(s.port);
    const v = valueOf(500_000, 9);
    await c.sendInPieces(Buffer.concat([Buffer.from(`SET big ${v.length}\r\n`, "latin1"), v, Buffer.from("\r\n")]), 100_000);
    expect(await c.line()).toBe("OK 1");
    await c.send("GET big\r\n");
    expect(await c.line()).toBe(`VALUE ${v.length} 1 -1`);
    expect((await c.bytes(v.length + 2)).subarray(0, v.length).equals(v)).toBe(true);
    c.close();
  }, 60_000);
});
