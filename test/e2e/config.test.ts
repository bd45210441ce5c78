// End to end: what the real server process does with its osprey.toml — unknown keys, bad values,
// the log file under data_dir, and the slow log.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { spawnServer, startServer, type RunningServer } from "../support/server.ts";

/** Runs the server on `tomlText` until it exits (it should refuse to start); returns code and stderr. */
async function runBadConfig(tomlText: string): Promise<{ code: number; stderr: string; configPath: string }> {
  const dir = mkdtempSync(join(tmpdir(), "osprey-badconf-"));
  try {
    const configPath = join(dir, "osprey.toml");
    writeFileSync(configPath, `listen_addr = "127.0.0.1:0"\ndata_dir = ${JSON.stringify(join(dir, "data"))}\n${tomlText}\n`);
    const { code, stderr } = await spawnServer(["--config", configPath]).exited();
    return { code, stderr, configPath };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The server's log file, read after the server has exited (it is flushed on a clean exit). */
function logFileOf(dataDir: string): string {
  return readFileSync(join(dataDir, "logs", "osprey.log"), "utf8");
}

const toClean: string[] = [];
afterEach(() => {
  for (const dir of toClean.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * Stops the server gracefully but keeps its data dir until afterEach, so the log can be read.
 * A round trip first: the server installs its signal handlers only after it says it is listening
 * (see lifecycle.test.ts), and these tests are about the log, not that race.
 */
async function stopKeepingData(server: RunningServer): Promise<number> {
  toClean.push(server.dataDir);
  const c = await RawClient.connect(server.port);
  expect(await c.request("PING\r\n")).toBe("PONG");
  c.close();
  return server.signal("SIGTERM");
}

describe("config file", () => {
  test("unknown keys are ignored with a warning naming each of them and the server starts", async () => {
    const server = await startServer({ bogus_key: 1, max_clientz: 5 });
    try {
      const c = await RawClient.connect(server.port);
      expect(await c.request("PING\r\n")).toBe("PONG");
      c.close();
      expect(server.log()).toMatch(/unknown config keys ignored: .*bogus_key/);
      expect(server.log()).toMatch(/unknown config keys ignored: .*max_clientz/);
      expect(server.log()).toContain(server.configPath);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  test("a wrongly typed value makes the server exit non-zero with a message naming the key", async () => {
    const { code, stderr, configPath } = await runBadConfig(`max_clients = "abc"`);
    expect(code).not.toBe(0);
    expect(stderr).toContain("max_clients");
    expect(stderr).toContain(configPath);
    expect(stderr).not.toContain("listening on");
  });

  test("an out-of-range value makes the server exit non-zero with a message naming the key", async () => {
    const { code, stderr } = await runBadConfig(`sweep_interval_ms = 0`);
    expect(code).not.toBe(0);
    expect(stderr).toContain("sweep_interval_ms");
    expect(stderr).not.toContain("listening on");
  });

  test("a file that is not valid TOML makes the server exit non-zero with the line of the error", async () => {
    const { code, stderr } = await runBadConfig(`max_clients = = 3`);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/line 3/);
  });

  test("a config path that does not exist makes the server exit non-zero saying so", async () => {
    const { code, stderr } = await spawnServer(["--config", join(tmpdir(), "osprey-no-such-dir", "osprey.toml")]).exited();
    expect(code).not.toBe(0);
    expect(stderr).toContain("no such file");
  });

  test("the server logs its startup and shutdown to <data_dir>/logs/osprey.log", async () => {
    const server = await startServer();
    expect(await stopKeepingData(server)).toBe(0);
    const text = logFileOf(server.dataDir);
    expect(text).toContain(`Osprey listening on 127.0.0.1:${server.port} (pid ${server.pid}`);
    expect(text).toContain("SIGTERM received");
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO /m);
  });

  test("log_file puts the log where it says instead", async () => {
    const dir = mkdtempSync(join(tmpdir(), "osprey-logfile-"));
    toClean.push(dir);
    const server = await startServer({ log_file: join(dir, "custom.log") });
    expect(await stopKeepingData(server)).toBe(0);
    expect(readFileSync(join(dir, "custom.log"), "utf8")).toContain(`listening on 127.0.0.1:${server.port}`);
  });
});

describe("slow log", () => {
  test("with slowlog_threshold_ms = 0 every command logs a slow command line naming it, never the value bytes", async () => {
    const server = await startServer({ slowlog_threshold_ms: 0 });
    const secret = "S3CRET-VALUE-b7f2";
    const c = await RawClient.connect(server.port);
    expect(await c.request(`SET sk ${secret.length}\r\n${secret}\r\n`)).toBe("OK 1");
    expect(await c.request("GET sk\r\n")).toBe(`VALUE ${secret.length} 1 -1\r\n${secret}\r\n`);
    await c.send(`MSET m1 ${secret.length} m2 ${secret.length}\r\n${secret}${secret}\r\n`);
    expect(await c.line()).toBe("OK 2");
    await c.send("MGET sk m1 m2\r\n");
    for (let i = 0; i < 3; i++) await c.reply();
    await server.waitForLog(/slow command MGET keys=3 took \d+(\.\d+)?ms/);
    c.close();
    expect(await stopKeepingData(server)).toBe(0);

    for (const text of [server.log(), logFileOf(server.dataDir)]) {
      expect(text).toMatch(/WARN slow command SET keys=1 took \d+\.\dms/);
      expect(text).toMatch(/slow command GET keys=1 took/);
      expect(text).toMatch(/slow command MSET keys=2 took/);
      expect(text).toMatch(/slow command MGET keys=3 took/);
      expect(text).not.toContain(secret);
      expect(text).not.toContain("S3CRET");
    }
  });

  test("with the default threshold ordinary commands are not logged as slow", async () => {
    const server = await startServer();
    const c = await RawClient.connect(server.port);
    expect(await c.request("SET k 1\r\nx\r\n")).toBe("OK 1");
    expect(await c.request("PING\r\n")).toBe("PONG");
    c.close();
    expect(await server.stop()).toBe(0);
    expect(server.log()).not.toContain("slow command");
  });
});
