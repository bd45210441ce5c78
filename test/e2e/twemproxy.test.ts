// Scale-out through an existing proxy: three Osprey nodes behind Debian's nutcracker (twemproxy)
// with `redis: true` and ketama, the configuration docs/OPERATIONS.md ("Sharding") shows. SET,
// GET, MGET and DEL through the proxy land on all three nodes and read back, there and directly.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";

function bulk(s: string): string {
  return `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
}

function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map(bulk).join("")}`;
}

/** One whole RESP2 reply as text: a line, a bulk's bytes, or an array's elements (each as read). */
async function readReply(c: RawClient): Promise<string | null | (string | null)[]> {
  const line = await c.line();
  const n = Number(line.slice(1));
  if (line[0] === "$") return n < 0 ? null : (await c.bytes(n + 2)).toString("latin1").slice(0, -2);
  if (line[0] === "*") {
    const items: (string | null)[] = [];
    for (let i = 0; i < n; i++) items.push((await readReply(c)) as string | null);
    return items;
  }
  return line;
}

/** Sends the commands pipelined and reads one reply each. */
async function run(c: RawClient, commands: string[][]): Promise<(string | null | (string | null)[])[]> {
  await c.send(commands.map((args) => resp(...args)).join(""));
  const out = [];
  for (const _ of commands) out.push(await readReply(c));
  return out;
}

/** A loopback port free right now (the proxy binds it a moment later). */
function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

const nodes: RunningServer[] = [];
let proxy: ReturnType<typeof Bun.spawn> | null = null;
let proxyPort = 0;
let dir = "";

beforeAll(async () => {
  for (let i = 0; i < 3; i++) nodes.push(await startServer());
  dir = mkdtempSync(join(tmpdir(), "osprey-twemproxy-"));
  proxyPort = freePort();
  const config = [
    "osprey:",
    `  listen: 127.0.0.1:${proxyPort}`,
    "  hash: murmur",
    "  distribution: ketama",
    "  redis: true",
    "  auto_eject_hosts: false",
    "  timeout: 5000",
    "  servers:",
    ...nodes.map((n, i) => `    - 127.0.0.1:${n.port}:1 node${i + 1}`),
  ].join("\n");
  writeFileSync(join(dir, "nutcracker.yml"), `${config}\n`);
  proxy = Bun.spawn(["nutcracker", "-c", join(dir, "nutcracker.yml"), "-a", "127.0.0.1", "-s", String(freePort()), "-o", join(dir, "nutcracker.log")], {
    stdout: "ignore",
    stderr: "ignore",
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      (await RawClient.connect(proxyPort)).close();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`nutcracker did not listen on ${proxyPort}: ${readFileSync(join(dir, "nutcracker.log"), "latin1")}`, { cause: err });
      await Bun.sleep(50);
    }
  }
}, 30_000);

afterAll(async () => {
  if (proxy !== null) {
    proxy.kill("SIGTERM");
    await proxy.exited;
  }
  for (const n of nodes) await n.stop();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

const keys = Array.from({ length: 300 }, (_, i) => `user:${i}`);
const valueOf = (k: string) => `value of ${k}`;

describe("three Osprey nodes behind twemproxy (nutcracker, redis: true, ketama)", () => {
  test("SETs through the proxy land on every node, and GET and MGET through it read each back", async () => {
    const c = await RawClient.connect(proxyPort);
    const set = await run(c, keys.map((k) => ["SET", k, valueOf(k)]));
    expect(set.every((r) => r === "+OK")).toBe(true);
    expect(await run(c, keys.slice(0, 50).map((k) => ["GET", k]))).toEqual(keys.slice(0, 50).map(valueOf));
    const [mget] = await run(c, [["MGET", ...keys, "user:none"]]);
    expect(mget).toEqual([...keys.map(valueOf), null]);
    c.close();

    // Each node holds its share, read directly: together exactly the keys, each with its value.
    let total = 0;
    for (const n of nodes) {
      const direct = await RawClient.connect(n.port);
      const [size] = await run(direct, [["DBSIZE"]]);
      const count = Number((size as string).slice(1));
      expect(count).toBeGreaterThan(30);
      total += count;
      const [values] = await run(direct, [["MGET", ...keys]]);
      for (const [i, v] of (values as (string | null)[]).entries()) if (v !== null) expect(v).toBe(valueOf(keys[i]!));
      direct.close();
    }
    expect(total).toBe(keys.length);
  });

  test("DEL through the proxy removes keys from whichever node holds them", async () => {
    const c = await RawClient.connect(proxyPort);
    const [deleted] = await run(c, [["DEL", ...keys.slice(0, 100)]]);
    expect(deleted).toBe(":100");
    expect(await run(c, [["GET", keys[0]!], ["GET", keys[150]!]])).toEqual([null, valueOf(keys[150]!)]);
    c.close();
    let total = 0;
    for (const n of nodes) {
      const direct = await RawClient.connect(n.port);
      const [size] = await run(direct, [["DBSIZE"]]);
      total += Number((size as string).slice(1));
      direct.close();
    }
    expect(total).toBe(keys.length - 100);
  });
});
