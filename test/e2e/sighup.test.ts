// SIGHUP reopens the log file (log rotation) instead of killing the server, which is its default
// action: after `mv osprey.log osprey.log.1` and SIGHUP, new lines go to a new osprey.log. It also
// reloads what can change while running; SIGUSR1 starts a snapshot.

import { expect, test } from "bun:test";
import { existsSync, readFileSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { startServer, writeConfig } from "../support/server.ts";

/** Polls until `path` exists and contains `text`, for up to 5 s. */
async function waitForText(path: string, text: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    if (existsSync(path)) {
      const content = readFileSync(path, "latin1");
      if (content.includes(text)) return content;
    }
    await Bun.sleep(10);
  }
  throw new Error(`${path} never contained ${JSON.stringify(text)}`);
}

test("after the log file is moved away, SIGHUP makes the server write to a new one at the same path and keep serving", async () => {
  const server = await startServer();
  try {
    const logPath = join(server.dataDir, "logs", "osprey.log");
    await waitForText(logPath, "Osprey listening on");
    renameSync(logPath, `${logPath}.1`);
    process.kill(server.pid, "SIGHUP");
    const fresh = await waitForText(logPath, "SIGHUP received: log file reopened");
    expect(fresh).not.toContain("Osprey listening on");
    expect(readFileSync(`${logPath}.1`, "latin1")).toContain("Osprey listening on");

    const c = await RawClient.connect(server.port);
    await c.send("PING\r\n");
    expect(await c.line()).toBe("PONG");
    c.close();
    expect(server.proc.exitCode).toBeNull();
  } finally {
    expect(await server.stop()).toBe(0);
  }
});

test("logrotate's copytruncate needs no signal: after the log is copied and truncated, new lines land at its start", async () => {
  const server = await startServer();
  try {
    const logPath = join(server.dataDir, "logs", "osprey.log");
    await waitForText(logPath, "Osprey listening on");
    writeFileSync(`${logPath}.1`, readFileSync(logPath));
    truncateSync(logPath, 0);
    // Any line will do: SIGUSR1 logs one (a snapshot started).
    process.kill(server.pid, "SIGUSR1");
    const fresh = await waitForText(logPath, "started (SIGUSR1)");
    expect(fresh).not.toContain("Osprey listening on");
    expect(fresh.charCodeAt(0)).not.toBe(0); // appended at the new end, not at the old offset behind a hole
  } finally {
    expect(await server.stop()).toBe(0);
  }
});

test("SIGHUP reloads log_level and slowlog_threshold_ms from the config file, logs the change, and names changed keys that need a restart", async () => {
  const server = await startServer({ slowlog_threshold_ms: 10000, log_level: "INFO" });
  try {
    const c = await RawClient.connect(server.port);
    expect(await c.request("SET before 1\r\nx\r\n")).toBe("OK 1");
    writeConfig(server.dataDir, { listen_addr: "127.0.0.1:0", data_dir: server.dataDir, slowlog_threshold_ms: 0, log_level: "debug", max_clients: 5 });
    process.kill(server.pid, "SIGHUP");
    await server.waitForLog("SIGHUP: configuration reloaded: log_level INFO → DEBUG, slowlog_threshold_ms 10000 → 0");
    await server.waitForLog("SIGHUP: changed in the configuration but only read at start-up, restart to apply: max_clients");

    expect(await c.request("SET after 1\r\nx\r\n")).toBe("OK 1");
    await server.waitForLog(/slow command SET keys=1 took/);
    // Only the SET after the reload was slow enough: the threshold before it was 10 s.
    expect(server.log().match(/slow command SET/g)?.length).toBe(1);
    expect(server.log().indexOf("slow command SET")).toBeGreaterThan(server.log().indexOf("configuration reloaded"));
    // max_clients was not applied: more than 5 clients still connect.
    const more = await Promise.all(Array.from({ length: 6 }, () => RawClient.connect(server.port)));
    for (const m of more) expect(await m.request("PING\r\n")).toBe("PONG");
    for (const m of more) m.close();
    c.close();
  } finally {
    expect(await server.stop()).toBe(0);
  }
});

test("SIGHUP with a config file that no longer validates keeps the running settings and says why", async () => {
  const server = await startServer({ slowlog_threshold_ms: 10000 });
  try {
    writeFileSync(server.configPath, 'listen_addr = "127.0.0.1:0"\nslowlog_threshold_ms = "soon"\n');
    process.kill(server.pid, "SIGHUP");
    await server.waitForLog(`SIGHUP: configuration not reloaded, nothing changed: ${server.configPath}: slowlog_threshold_ms: expected an integer from -1 to`);
    const c = await RawClient.connect(server.port);
    expect(await c.request("SET k 1\r\nx\r\n")).toBe("OK 1");
    c.close();
    expect(server.log()).not.toContain("slow command");
  } finally {
    expect(await server.stop()).toBe(0);
  }
});

test("SIGUSR1 starts a snapshot, logged, and STATS counts it once done", async () => {
  const server = await startServer();
  try {
    const c = await RawClient.connect(server.port);
    for (let i = 0; i < 20; i++) expect(await c.request(`SET k${i} 1\r\nx\r\n`)).toBe("OK 1");
    process.kill(server.pid, "SIGUSR1");
    await server.waitForLog("snapshot snap-00000001.osnap started (SIGUSR1)");
    for (let i = 0; i < 500 && (await c.stats()).snapshots_total !== "1"; i++) await Bun.sleep(10);
    const stats = await c.stats();
    expect(stats.snapshots_total).toBe("1");
    expect(stats.last_snapshot_keys).toBe("20");
    c.close();
  } finally {
    expect(await server.stop()).toBe(0);
  }
});
