// A value longer than replySliceBytes is answered in slices (src/commands/value-slices.ts): the
// reply is the value as the request read it, whatever other clients write meanwhile; other clients
// are served between slices; a client that does not read holds a bounded amount of unsent reply,
// not the whole value; and the answer is the same bytes in both protocols, pipelined or not.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { replySliceBytes } from "../../src/constants.ts";
import { RawClient } from "../support/client.ts";
import { bytesOf } from "../support/rng.ts";
import { startServer, type RunningServer } from "../support/server.ts";

const MiB = 1024 * 1024;
const big = 40 * MiB; // ten slices

let server: RunningServer;
let c: RawClient;
let st: RawClient; // a text-protocol client, for STATS

beforeAll(async () => {
  server = await startServer({ sync_policy: "os", max_value_bytes: 64 * MiB });
  c = await RawClient.connect(server.port);
  st = await RawClient.connect(server.port);
});

afterAll(async () => {
  c?.close();
  st?.close();
  await server?.stop();
});

const valueOf = bytesOf;

function resp(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? Buffer.from(a, "latin1") : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Reads one RESP bulk string (or nil) from the raw client. */
async function bulk(client: RawClient): Promise<Buffer | null> {
  const head = await client.line();
  if (head === "$-1") return null;
  expect(head).toMatch(/^\$\d+$/);
  const body = await client.bytes(Number(head.slice(1)) + 2);
  expect(body.subarray(body.length - 2).toString()).toBe("\r\n");
  return body.subarray(0, body.length - 2);
}

/** Unsent replies of all clients (STATS `client_output_bytes`). */
async function unsent(): Promise<number> {
  return Number((await st.stats()).client_output_bytes);
}

/** A node:net socket that sends `request` and then stops reading, so the server must hold (or not make) the reply. */
async function stalledReader(request: Buffer): Promise<{ socket: Socket; readAll(bytes: number): Promise<Buffer> }> {
  const socket = connect(server.port, "127.0.0.1");
  await new Promise<void>((ok, fail) => socket.once("connect", ok).once("error", fail));
  socket.pause();
  socket.write(request);
  return {
    socket,
    readAll: (bytes) =>
      new Promise((ok, fail) => {
        const chunks: Buffer[] = [];
        let got = 0;
        socket.on("data", (d: Buffer) => {
          chunks.push(d);
          got += d.length;
          if (got >= bytes) ok(Buffer.concat(chunks));
        });
        socket.once("error", fail);
        socket.resume();
      }),
  };
}

describe("a long value answered in slices", () => {
  test("GET answers the value as it was read though another client overwrites it between slices, and that client is served meanwhile", async () => {
    const old = valueOf(big, 1);
    await c.send(resp("SET", "slices:k", old));
    expect(await c.line()).toBe("+OK");
    const reader = await stalledReader(resp("GET", "slices:k"));
    try {
      // The reader's reply has begun once unsent output shows up; its slices stop while it does not read.
      for (let i = 0; (await unsent()) === 0; i++) {
        expect(i).toBeLessThan(5000);
        await Bun.sleep(2);
      }
      const fresh = valueOf(1000, 2);
      await c.send(resp("SET", "slices:k", fresh));
      expect(await c.line()).toBe("+OK");
      // What the server holds for the stalled reader is a few slices, not the whole value.
      expect(await unsent()).toBeLessThan(4 * replySliceBytes);
      const head = `$${big}\r\n`;
      const got = await reader.readAll(head.length + big + 2);
      expect(got.subarray(0, head.length).toString()).toBe(head);
      expect(got.length).toBe(head.length + big + 2);
      expect(got.subarray(head.length, head.length + big).equals(old)).toBe(true);
      expect(got.subarray(head.length + big).toString()).toBe("\r\n");
      await c.send(resp("GET", "slices:k"));
      expect((await bulk(c))!.equals(fresh)).toBe(true);
    } finally {
      reader.socket.destroy();
    }
  });

  test("pipelined behind and ahead of other requests, in RESP: MGET, GETRANGE, GETDEL, SET … GET and EXEC answer in order", async () => {
    const v = valueOf(big + 5, 3);
    await c.send(resp("SET", "slices:a", v));
    expect(await c.line()).toBe("+OK");
    await c.send(
      Buffer.concat([
        resp("PING"),
        resp("MGET", "slices:none", "slices:a", "slices:none", "slices:a"),
        resp("GETRANGE", "slices:a", "1", "-2"),
        resp("SET", "slices:a", "small", "GET"),
        resp("SET", "slices:a", v),
        resp("MULTI"),
        resp("GET", "slices:a"),
        resp("EXEC"),
        resp("GETDEL", "slices:a"),
        resp("EXISTS", "slices:a"),
      ]),
    );
    expect(await c.line()).toBe("+PONG");
    expect(await c.line()).toBe("*4");
    expect(await bulk(c)).toBeNull();
    expect((await bulk(c))!.equals(v)).toBe(true);
    expect(await bulk(c)).toBeNull();
    expect((await bulk(c))!.equals(v)).toBe(true);
    expect((await bulk(c))!.equals(v.subarray(1, v.length - 1))).toBe(true);
    expect((await bulk(c))!.equals(v)).toBe(true); // SET … GET answers the old value
    expect(await c.line()).toBe("+OK");
    expect(await c.line()).toBe("+OK");
    expect(await c.line()).toBe("+QUEUED");
    expect(await c.line()).toBe("*1");
    expect((await bulk(c))!.equals(v)).toBe(true);
    expect((await bulk(c))!.equals(v)).toBe(true); // GETDEL: the value, then the key is gone
    expect(await c.line()).toBe(":0");
  });

  test("in the text protocol GET answers the same bytes, followed by the next reply", async () => {
    const v = valueOf(big, 4);
    await c.send(resp("SET", "slices:t", v));
    expect(await c.line()).toBe("+OK");
    const t = await RawClient.connect(server.port);
    try {
      await t.send("GET slices:t\r\nPING\r\n");
      const head = await t.line();
      expect(head).toMatch(new RegExp(`^VALUE ${big} \\d+ -1$`));
      const body = await t.bytes(big + 2);
      expect(body.subarray(0, big).equals(v)).toBe(true);
      expect(body.subarray(big).toString()).toBe("\r\n");
      expect(await t.line()).toBe("PONG");
    } finally {
      t.close();
    }
  });

  test("a client that goes away half-way through a long reply leaves the server serving the value to others", async () => {
    const v = valueOf(big, 5);
    await c.send(resp("SET", "slices:gone", v));
    expect(await c.line()).toBe("+OK");
    for (let i = 0; i < 3; i++) {
      const reader = await stalledReader(resp("GET", "slices:gone"));
      for (let j = 0; (await unsent()) === 0; j++) {
        expect(j).toBeLessThan(5000);
        await Bun.sleep(2);
      }
      reader.socket.destroy();
      // The same-size value written again takes a buffer: never the one a released reply still pinned.
      await c.send(resp("SET", "slices:gone", valueOf(big, 6 + i)));
      expect(await c.line()).toBe("+OK");
    }
    await c.send(resp("GET", "slices:gone"));
    expect((await bulk(c))!.equals(valueOf(big, 8))).toBe(true);
  });
});
