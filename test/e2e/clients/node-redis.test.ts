// node-redis (the `redis` package, latest) with its default options against a real Osprey: it
// defaults to RESP3 (HELLO 3, then CLIENT SETINFO), so this is RESP3 end to end — connect, a
// pipeline of a thousand commands, MULTI/EXEC with a WATCH conflict from a second client, binary
// values, HELLO and CLIENT SETNAME.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient, RESP_TYPES, WatchError } from "redis";
import { startServer, type RunningServer } from "../../support/server.ts";
import { binaryKey, binaryValue, pipelineCommands } from "./shared.ts";

let server: RunningServer;
/** A client with node-redis's defaults, not connected yet. */
function make(name?: string) {
  return createClient({ socket: { host: "127.0.0.1", port: server.port, reconnectStrategy: false }, name });
}
type Client = ReturnType<typeof make>;
let client: Client;

async function connect(name?: string): Promise<Client> {
  const c = make(name);
  c.on("error", () => {}); // a failed command rejects its own promise; nothing else may go unnoticed in a test
  await c.connect();
  return c;
}

beforeAll(async () => {
  server = await startServer();
  client = await connect("node-redis-test");
});

afterAll(async () => {
  await client?.quit();
  await server?.stop();
});

describe("node-redis with default options", () => {
  test("connects with HELLO 3 (naming itself there) and CLIENT SETINFO, and speaks RESP3", async () => {
    const info = await client.clientInfo();
    expect(info.resp).toBe(3);
    expect(info.name).toBe("node-redis-test");
    expect(info.libName).toBe("node-redis");
    expect(info.libVer).toMatch(/^\d+\.\d+\.\d+/);
    const hello = await client.hello();
    expect(hello).toMatchObject({ server: "redis", version: "7.0.15", proto: 3, mode: "standalone", role: "master" });
  });

  test("a missing key is null, CONFIG GET is a map and INFO a verbatim string", async () => {
    expect(await client.get("nr:missing")).toBeNull();
    expect(await client.configGet("maxmemory-policy")).toEqual({ "maxmemory-policy": "noeviction" });
    expect(String(await client.info("server"))).toStartWith("# Server\r\nredis_version:7.0.15\r\n");
  });

  test("a pipeline of a thousand commands gets every reply, in order", async () => {
    const batch = client.multi();
    for (let i = 0; i < pipelineCommands / 4; i++) batch.set(`nr:p:${i}`, `v${i}`).incr("nr:p:count").get(`nr:p:${i}`).exists([`nr:p:${i}`, "nr:p:none"]);
    const got = await batch.execAsPipeline();
    expect(got).toHaveLength(pipelineCommands);
    for (let i = 0; i < pipelineCommands / 4; i++) expect(got.slice(4 * i, 4 * i + 4) as unknown[]).toEqual(["OK", i + 1, `v${i}`, 1]);
  });

  test("MULTI/EXEC runs queued commands atomically, and a WATCH conflict from a second client aborts EXEC", async () => {
    expect((await client.multi().set("nr:tx", "1").incr("nr:tx").exec()) as unknown[]).toEqual(["OK", 2]);
    const other = await connect();
    try {
      await client.watch("nr:tx");
      await other.set("nr:tx", "changed");
      await expect(client.multi().incr("nr:tx").exec()).rejects.toBeInstanceOf(WatchError);
      expect(await client.get("nr:tx")).toBe("changed");
    } finally {
      await other.quit();
    }
  });

  test("binary keys and values come back byte for byte", async () => {
    const bytes = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    expect(await client.set(Buffer.from(binaryKey), Buffer.from(binaryValue))).toBe("OK");
    expect(new Uint8Array(await bytes.get(Buffer.from(binaryKey)) as Buffer)).toEqual(binaryValue);
  });

  test("CLIENT SETNAME renames the connection and CLIENT GETNAME reads it back", async () => {
    expect(await client.clientSetName("renamed")).toBe("OK");
    expect(await client.clientGetName()).toBe("renamed");
    const list = await client.clientList();
    expect(list.find((c) => c.name === "renamed")?.resp).toBe(3);
  });
});
