// End to end: the server process's life — graceful exit on SIGTERM/SIGINT with clients connected,
// active expiry in the background, and the no-config default start on 127.0.0.1:7070.

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { spawnServer, startServer } from "../support/server.ts";

const MiB = 1024 * 1024;

/** Reads one `VALUE <len> <version> <expiry>` reply and returns its bytes. */
async function readValue(c: RawClient): Promise<Buffer> {
  const header = await c.line();
  const m = /^VALUE (\d+) \d+ -?\d+$/.exec(header);
  if (!m) throw new Error(`expected a VALUE reply, got ${JSON.stringify(header)}`);
  const body = await c.bytes(Number(m[1]));
  expect((await c.bytes(2)).toString("latin1")).toBe("\r\n");
  return body;
}

/** Whether this process can bind 127.0.0.1:port right now (and lets go of it at once). */
function portIsFree(port: number): boolean {
  try {
    const probe = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    probe.stop(true);
    return true;
  } catch {
    return false;
  }
}

describe("signals", () => {
  test("SIGTERM with clients connected exits 0 after delivering the replies to requests sent before it", async () => {
    const server = await startServer();
    try {
      const value = Buffer.alloc(MiB, "v");
      const a = await RawClient.connect(server.port);
      expect(await a.request(Buffer.concat([Buffer.from(`SET big ${MiB}\r\n`), value, Buffer.from("\r\n")]))).toBe("OK 1");
      const b = await RawClient.connect(server.port);

      // A pipelines 3 MiB of replies and reads none of them yet, so they wait in the server.
      a.pause();
      await a.send("GET big\r\nGET big\r\nGET big\r\nPING\r\n");
      // B's PING is sent after A's requests reached the server's socket, so its PONG proves the
      // server has taken A's requests in: the same or an earlier event-loop turn handled them.
      expect(await b.request("PING\r\n")).toBe("PONG");

      process.kill(server.pid, "SIGTERM");
      a.resume();
      for (let i = 0; i < 3; i++) expect((await readValue(a)).equals(value)).toBe(true);
      expect(await a.line()).toBe("PONG");
      await a.waitClosed();
      await b.waitClosed();
      expect(await server.signal("SIGTERM")).toBe(0);
      expect(server.log()).toContain("SIGTERM received: closing 2 client(s)");
    } finally {
      await server.stop();
    }
  });

  test("SIGINT with a client connected exits 0 and closes the client", async () => {
    const server = await startServer();
    try {
      const c = await RawClient.connect(server.port);
      expect(await c.request("PING\r\n")).toBe("PONG");
      expect(await server.signal("SIGINT")).toBe(0);
      await c.waitClosed();
      expect(server.log()).toContain("SIGINT received");
    } finally {
      await server.stop();
    }
  });

  test("SIGTERM on an idle server exits 0 and stops listening", async () => {
    const server = await startServer();
    const port = server.port;
    const c = await RawClient.connect(port);
    expect(await c.request("PING\r\n")).toBe("PONG");
    c.close();
    expect(await server.stop()).toBe(0);
    await expect(RawClient.connect(port)).rejects.toThrow();
  });

  // A supervisor (or a test) may stop the server as soon as it says it is ready. If the signal
  // handlers are installed only after the "listening" line, the default action kills it: exit 143.
  test("SIGTERM sent the moment the server says it is listening still exits 0", async () => {
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const server = await startServer();
      codes.push(await server.stop());
    }
    expect(codes).toEqual([0, 0, 0]);
  });
});

describe("active expiry", () => {
  test("keys set with EX 20 disappear without being accessed when sweep_interval_ms = 10", async () => {
    const server = await startServer({ sweep_interval_ms: 10 });
    try {
      const c = await RawClient.connect(server.port);
      let batch = "SET keep 1\r\nk\r\n";
      for (let i = 0; i < 100; i++) batch += `SET ex${i} 1 EX 20\r\nx\r\n`;
      await c.send(batch);
      for (let i = 0; i < 101; i++) expect(await c.line()).toMatch(/^OK 1$/);

      // Nothing touches the keys: only the sweeper can remove them. STATS reads counters only.
      const deadline = Date.now() + 10000;
      let stats = await c.stats();
      while (stats.keys !== "1" && Date.now() < deadline) {
        await Bun.sleep(10); // no event announces a sweep; poll STATS
        stats = await c.stats();
      }
      expect(stats.keys).toBe("1");
      expect(stats.expired_total).toBe("100");
      expect(stats.cmd_get).toBe("0");
      expect(await c.request("EXISTS keep\r\n")).toBe("EXISTS 1");
      c.close();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe("default start", () => {
  // `npm start` runs `bun run src/server.ts` with no config: it must listen on 127.0.0.1:7070.
  // Another Osprey (or anything) may already hold that port on a shared machine; then we cannot test it.
  const free = portIsFree(7070);
  if (!free) console.warn("skipping the default-start test: 127.0.0.1:7070 is in use by another process");

  test.skipIf(!free)("with no config the server listens on 127.0.0.1:7070 and keeps its data under ./data of its cwd", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "osprey-cwd-"));
    const server = spawnServer([], { cwd });
    try {
      await server.waitFor(/listening on 127\.0\.0\.1:7070\b/);
      const c = await RawClient.connect(7070);
      expect(await c.request("PING\r\n")).toBe("PONG");
      process.kill(server.proc.pid, "SIGTERM");
      await c.waitClosed();
      expect((await server.exited()).code).toBe(0);
      expect(server.stderr()).toContain(`data_dir ${join(cwd, "data")}`);
      expect(readFileSync(join(cwd, "data", "logs", "osprey.log"), "utf8")).toContain("listening on 127.0.0.1:7070");
    } finally {
      server.proc.kill("SIGKILL");
      await server.proc.exited;
      if (existsSync(cwd)) rmSync(cwd, { recursive: true, force: true });
    }
  });
});
