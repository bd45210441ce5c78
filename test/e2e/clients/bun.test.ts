// Bun's built-in Redis client (`RedisClient` from "bun") against a real Osprey: it opens with
// HELLO 3, so everything it does is RESP3 — connect, a pipeline of a thousand commands, MULTI/EXEC
// with a WATCH conflict from a second client, binary values, HELLO and CLIENT SETNAME.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { startServer, type RunningServer } from "../../support/server.ts";
import { binaryKey, binaryValue, pipelineCommands } from "./shared.ts";

let server: RunningServer;
let client: RedisClient;

function connect(): RedisClient {
  return new RedisClient(`redis://127.0.0.1:${server.port}`, { autoReconnect: false, maxRetries: 0, connectionTimeout: 10_000 });
}

beforeAll(async () => {
  server = await startServer();
  client = connect();
  await client.connect();
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("Bun's RedisClient", () => {
  test("connects with HELLO 3 and speaks RESP3: HELLO answers a map with proto 3", async () => {
    expect(client.connected).toBe(true);
    // Its own handshake switched the connection to RESP3.
    expect(await client.send("CLIENT", ["INFO"])).toContain(" resp=3 ");
    const hello = await client.send("HELLO", ["3"]);
    expect(hello).toMatchObject({ server: "redis", version: "7.0.15", proto: 3, mode: "standalone", role: "master", modules: [] });
    expect(typeof hello.id).toBe("number");
    expect(await client.send("CLIENT", ["ID"])).toBe(hello.id);
  });

  test("a missing key is RESP3's null, CONFIG GET is a map and INFO a verbatim string", async () => {
    expect(await client.get("bun:missing")).toBeNull();
    expect(await client.send("CONFIG", ["GET", "maxmemory-policy"])).toEqual({ "maxmemory-policy": "noeviction" });
    expect(String(await client.send("INFO", ["server"]))).toStartWith("# Server\r\nredis_version:7.0.15\r\n");
  });

  test("a pipeline of a thousand commands gets every reply, in order", async () => {
    const replies: Promise<unknown>[] = [];
    for (let i = 0; i < pipelineCommands / 4; i++) {
      replies.push(client.set(`bun:p:${i}`, `v${i}`), client.incr("bun:p:count"), client.get(`bun:p:${i}`), client.send("EXISTS", [`bun:p:${i}`, "bun:p:none"]));
    }
    const got = await Promise.all(replies);
    expect(got).toHaveLength(pipelineCommands);
    for (let i = 0; i < pipelineCommands / 4; i++) expect(got.slice(4 * i, 4 * i + 4)).toEqual(["OK", i + 1, `v${i}`, 1]);
  });

  test("MULTI/EXEC runs queued commands atomically, and a WATCH conflict from a second client aborts EXEC", async () => {
    const other = connect();
    await other.connect();
    try {
      expect(await client.send("MULTI", [])).toBe("OK");
      expect(await client.send("SET", ["bun:tx", "1"])).toBe("QUEUED");
      expect(await client.send("INCR", ["bun:tx"])).toBe("QUEUED");
      expect(await client.send("EXEC", [])).toEqual(["OK", 2]);

      expect(await client.send("WATCH", ["bun:tx"])).toBe("OK");
      expect(await other.set("bun:tx", "changed")).toBe("OK");
      await client.send("MULTI", []);
      await client.send("INCR", ["bun:tx"]);
      expect(await client.send("EXEC", [])).toBeNull();
      expect(await client.get("bun:tx")).toBe("changed");
    } finally {
      other.close();
    }
  });

  test("binary keys and values come back byte for byte", async () => {
    expect(await client.set(binaryKey, binaryValue)).toBe("OK");
    expect(await client.getBuffer(binaryKey)).toEqual(binaryValue);
  });

  test("CLIENT SETNAME names the connection, and CLIENT LIST shows it with resp=3", async () => {
    expect(await client.send("CLIENT", ["SETNAME", "bun-test"])).toBe("OK");
    expect(await client.send("CLIENT", ["GETNAME"])).toBe("bun-test");
    const list: string = await client.send("CLIENT", ["LIST"]);
    const line = list.split("\n").find((l) => l.includes("name=bun-test"));
    expect(line).toContain("resp=3");
    expect(line).toContain("cmd=client|list");
  });
});
