// CONFIG REWRITE end to end: the keys CONFIG SET changed are written back into the osprey.toml the
// server was started with — every comment and other line kept — and a restart from that file runs
// with them; a server started without a file answers Redis's error.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RawClient } from "../support/client.ts";
import { spawnServer, type ServerProcess } from "../support/server.ts";
import { resp } from "../resp/encode.ts";
import { readReply } from "../resp/frames.ts";

const shippedConfig = resolve(import.meta.dir, "../../osprey.toml");

const dirs: string[] = [];
const running: ServerProcess[] = [];

afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.proc.exitCode === null) p.proc.kill("SIGTERM");
    await p.exited();
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "osprey-rewrite-"));
  dirs.push(d);
  return d;
}

/** Starts a server with `args`; resolves with a RESP connection to it. */
async function start(args: string[]): Promise<{ server: ServerProcess; call: (...a: string[]) => Promise<string> }> {
  const server = spawnServer(args);
  running.push(server);
  const port = Number((await server.waitFor(/listening on \S+:(\d+)/))[1]);
  const c = await RawClient.connect(port);
  const call = async (...a: string[]) => {
    await c.send(resp(...a));
    return readReply(c);
  };
  return { server, call };
}

async function stop(server: ServerProcess): Promise<void> {
  server.proc.kill("SIGTERM");
  expect((await server.exited()).code).toBe(0);
}

/** CONFIG GET name's value. */
async function configGet(call: (...a: string[]) => Promise<string>, name: string): Promise<string> {
  const reply = (await call("CONFIG", "GET", name)).split("\r\n");
  return reply[4]!;
}

describe("CONFIG REWRITE", () => {
  test("writes what CONFIG SET changed into the shipped, commented osprey.toml; a restart keeps it", async () => {
    const dir = tempDir();
    const original = readFileSync(shippedConfig, "utf8")
      .replace(/^listen_addr = .*$/m, 'listen_addr = "127.0.0.1:0"')
      .replace(/^data_dir = .*$/m, `data_dir = ${JSON.stringify(dir)}`);
    const path = join(dir, "osprey.toml");
    writeFileSync(path, original);
    const first = await start(["--config", path]);
    for (const [name, value] of [
      ["maxmemory", "100mb"],
      ["maxmemory-policy", "allkeys-lru"],
      ["notify-keyspace-events", "KEA"],
      ["slowlog-log-slower-than", "20000"],
      ["maxclients", "500"],
      // Not a file key: CONFIG REWRITE leaves it out.
      ["slowlog-max-len", "7"],
    ]) {
      expect(await first.call("CONFIG", "SET", name!, value!)).toBe("+OK\r\n");
    }
    expect(await first.call("CONFIG", "REWRITE")).toBe("+OK\r\n");
    expect(await first.call("CONFIG", "REWRITE", "extra")).toBe("-ERR wrong number of arguments for 'config|rewrite' command\r\n");

    const rewritten = readFileSync(path, "utf8");
    const before = original.split("\n");
    const after = rewritten.split("\n");
    // Same lines, in the same places: only the five values differ, every comment is intact.
    expect(after.length).toBe(before.length);
    const changed = after.flatMap((line, i) => (line === before[i] ? [] : [line]));
    expect(changed.sort()).toEqual([
      'eviction_policy = "allkeys-lru"',
      "max_clients = 500",
      "max_memory_bytes = 104857600",
      'notify_keyspace_events = "KEA"',
      "slowlog_threshold_ms = 20",
    ]);
    expect(after.filter((l) => l.startsWith("#"))).toEqual(before.filter((l) => l.startsWith("#")));
    await stop(first.server);

    const second = await start(["--config", path]);
    expect(await configGet(second.call, "maxmemory")).toBe("104857600");
    expect(await configGet(second.call, "maxmemory-policy")).toBe("allkeys-lru");
    expect(await configGet(second.call, "notify-keyspace-events")).toBe("AKE");
    expect(await configGet(second.call, "slowlog-log-slower-than")).toBe("20000");
    expect(await configGet(second.call, "maxclients")).toBe("500");
    expect(await configGet(second.call, "slowlog-max-len")).toBe("128");
    await stop(second.server);
  });

  test("adds a key the file does not set after its other top-level keys, before a table", async () => {
    const dir = tempDir();
    const path = join(dir, "osprey.toml");
    const text = [
      "# a small config",
      'listen_addr = "127.0.0.1:0"  # any free port',
      `data_dir = ${JSON.stringify(dir)}`,
      "",
      "# nothing else",
      "",
    ].join("\n");
    writeFileSync(path, text);
    const { server, call } = await start(["--config", path]);
    expect(await call("CONFIG", "SET", "maxmemory", "1mb")).toBe("+OK\r\n");
    expect(await call("CONFIG", "REWRITE")).toBe("+OK\r\n");
    expect(readFileSync(path, "utf8")).toBe(
      ["# a small config", 'listen_addr = "127.0.0.1:0"  # any free port', `data_dir = ${JSON.stringify(dir)}`, "", "# nothing else", "max_memory_bytes = 1048576", ""].join("\n"),
    );
    // Nothing set since: the file is written again as it is.
    expect(await call("CONFIG", "REWRITE")).toBe("+OK\r\n");
    expect(readFileSync(path, "utf8")).toContain("max_memory_bytes = 1048576\n");
    await stop(server);
  });

  test("a server started without a config file answers Redis's error", async () => {
    const dir = tempDir();
    const { server, call } = await start(["--listen", "127.0.0.1:0", "--data-dir", dir]);
    expect(await call("CONFIG", "REWRITE")).toBe("-ERR The server is running without a config file\r\n");
    await stop(server);
  });
});
