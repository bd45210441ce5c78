// The client's scan() and scanPage(), the CLI's scan, and the text protocol's SCAN, QUIT and HELP
// against a real server: every key present for the whole scan comes out while other clients
// keep writing (the index doubles meanwhile), MATCH filters, and bad arguments are refused.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BadRequestError, connect, type OspreyClient } from "../../src/client/index.ts";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { cli } from "../cli/run.ts";

let server: RunningServer;
let client: OspreyClient;
let writer: OspreyClient;

beforeAll(async () => {
  server = await startServer();
  [client, writer] = await Promise.all([connect({ port: server.port }), connect({ port: server.port })]);
});

afterAll(async () => {
  await Promise.all([client?.close(), writer?.close()]);
  await server?.stop();
});

describe("the client's scan()", () => {
  test("yields every key present for the whole scan while another client adds thousands", async () => {
    const before = Array.from({ length: 3000 }, (_, i) => `scan:old:${i}`);
    for (let i = 0; i < before.length; i += 500) await writer.mset(before.slice(i, i + 500).map((k) => [k, "v"] as const));
    const seen = new Set<string>();
    let added = 0;
    for await (const key of client.scan({ match: "scan:*", count: 50 })) {
      seen.add(key.toString("latin1"));
      if (added < 20000) {
        await writer.mset(Array.from({ length: 200 }, (_, i) => [`scan:new:${added + i}`, "v"] as const));
        added += 200;
      }
    }
    expect(added).toBeGreaterThanOrEqual(2000);
    for (const k of before) expect(seen.has(k), k).toBe(true);
    for (const k of seen) expect(k.startsWith("scan:")).toBe(true);
  });

  test("scanPage answers one step: the next cursor and its keys", async () => {
    await writer.set("page:a", "1");
    const page = await client.scanPage(0, { match: "page:*", count: 1_000_000 });
    expect(page.cursor).toBe("0");
    expect(page.keys.map((k) => k.toString())).toEqual(["page:a"]);
  });

  test("a pattern that is not one token, or a bad cursor or count, is refused before it is sent", async () => {
    expect(() => client.scanPage(0, { match: "a b" })).toThrow(BadRequestError);
    expect(() => client.scanPage("-1")).toThrow(BadRequestError);
    expect(() => client.scanPage(0, { count: 1.5 })).toThrow(BadRequestError);
    await expect(client.scanPage(0, { count: 0 })).rejects.toThrow("COUNT needs a positive integer");
  });
});

describe("the text protocol", () => {
  test("SCAN answers CURSOR <next> <count> and a KEY block per key, binary keys included", async () => {
    const resp = await RawClient.connect(server.port);
    await resp.send("*3\r\n$3\r\nSET\r\n$10\r\nbin\r\nkey \x00\r\n$1\r\nv\r\n");
    expect(await resp.line()).toBe("+OK");
    resp.close();
    const c = await RawClient.connect(server.port);
    await c.send("SCAN 0 MATCH bin* COUNT 1000000\r\n");
    expect(await c.line()).toBe("CURSOR 0 1");
    expect(await c.line()).toBe("KEY 10");
    expect((await c.bytes(12)).toString("latin1")).toBe("bin\r\nkey \x00\r\n");
    c.close();
  });

  test("QUIT answers OK and closes the connection", async () => {
    const c = await RawClient.connect(server.port);
    await c.send("QUIT\r\n");
    expect(await c.line()).toBe("OK");
    await c.waitClosed();
  });
});

describe("osprey-cli scan", () => {
  test("prints every matching key once, one per line, and as JSON with --json", async () => {
    await writer.mset([["cli:a", "1"], ["cli:b", "2"], ["clix", "3"]]);
    const port = String(server.port);
    const r = await cli(["scan", "cli:*", "--count", "2", "--port", port]);
    expect([r.code, r.stdout.split("\n").filter(Boolean).sort()]).toEqual([0, ["cli:a", "cli:b"]]);
    const j = await cli(["scan", "cli?", "--json", "--port", port]);
    expect(JSON.parse(j.stdout)).toEqual({ keys: ["clix"] });
    const bad = await cli(["scan", "a", "b", "--port", port]);
    expect(bad.code).not.toBe(0);
  });
});
