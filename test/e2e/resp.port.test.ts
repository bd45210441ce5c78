// resp_listen_addr: a second port that speaks only RESP2, so Redis tools that open connections
// with an inline command work; the main port keeps the Osprey protocol.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";

let server: RunningServer;
let respPort: number;

beforeAll(async () => {
  server = await startServer({ resp_listen_addr: "127.0.0.1:0", max_clients: 3 });
  respPort = Number(/RESP2-only port on \S+:(\d+)/.exec(server.log())![1]);
});

afterAll(async () => {
  await server?.stop();
});

describe("resp_listen_addr", () => {
  test("an inline first line is RESP there, and Osprey text on the main port", async () => {
    const resp = await RawClient.connect(respPort);
    expect(await resp.request("PING\r\n")).toBe("+PONG");
    expect(await resp.request("SET greeting hello\r\n")).toBe("+OK");
    await resp.send("GET greeting\r\n");
    expect([await resp.line(), await resp.line()]).toEqual(["$5", "hello"]);
    const osprey = await RawClient.connect(server.port);
    expect(await osprey.request("PING\r\n")).toBe("PONG");
    expect(await osprey.request("GET greeting\r\n")).toBe("VALUE 5 1 -1\r\nhello\r\n");
    resp.close();
    osprey.close();
  });

  test("max_clients counts both ports; a refused RESP client gets Redis's error", async () => {
    const probe = await RawClient.connect(server.port);
    // The previous test's clients are gone once only this one is counted.
    for (let i = 0; i < 100 && (await probe.stats()).clients !== "1"; i++) await Bun.sleep(10);
    probe.close();
    await Bun.sleep(50);
    const held = await Promise.all([RawClient.connect(server.port), RawClient.connect(respPort), RawClient.connect(respPort)]);
    for (const c of held) await c.request(c === held[0] ? "PING\r\n" : "*1\r\n$4\r\nPING\r\n");
    const refused = await RawClient.connect(respPort);
    expect(await refused.line()).toBe("-ERR max number of clients reached");
    await refused.waitClosed();
    for (const c of held) c.close();
  });
});
