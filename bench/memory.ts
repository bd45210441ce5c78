// Memory footprint: start a fresh server (Osprey, or redis-server with --redis) on a free
// loopback port, load N keys with pipelined SETs, then report its RSS and what it says itself.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { defineCommand, runMain, type ArgsDef } from "citty";
import { numberOption, rejectUnknownOptions, runTool } from "./lib/cli.ts";
import { fillKeyspace, type Target } from "./lib/driver.ts";
import { connect } from "../src/client/index.ts";
import { parseFields, requestOnce, respBulkBody, respReplyComplete } from "./lib/oneshot.ts";
import { keyDigitsCount, keyspaceMax } from "./lib/wire.ts";

const host = "127.0.0.1";
const projectDir = resolve(import.meta.dir, "..");
/** How long a freshly started server may take to accept connections. */
const startTimeoutMs = 30_000;
/** How long a server may take to exit after SIGTERM before it is killed. */
const stopTimeoutMs = 10_000;

const args = {
  keys: { type: "string", default: "1000000", description: "Keys to load (key:000000000000 …)" },
  "value-size": { type: "string", default: "100", description: "Bytes per value" },
  redis: { type: "boolean", default: false, description: "Measure redis-server (--save '' --appendonly no) instead of Osprey" },
  "redis-server": { type: "string", default: "redis-server", description: "redis-server binary for --redis" },
  settle: { type: "string", default: "1", description: "Seconds to wait after loading before reading memory" },
  keep: { type: "boolean", default: false, description: "Keep the temporary data directory (and server log)" },
  json: { type: "boolean", default: false, description: "Also print the result as one JSON line (the last line of stdout)" },
} satisfies ArgsDef;

/** A free loopback port: bind port 0, note what the kernel chose, release it. */
function freePort(): number {
  const listener = Bun.listen({ hostname: host, port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** Reads a `VmRSS:`-style field of /proc/<pid>/status, in bytes. */
function procStatusBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

interface Server {
  readonly name: string;
  readonly proc: Subprocess;
  readonly target: Target;
  readonly dir: string;
  readonly logPath: string;
}

function startOsprey(port: number, dir: string, logPath: string): Server {
  const configPath = join(dir, "osprey.toml");
  writeFileSync(configPath, `listen_addr = "${host}:${port}"\ndata_dir = ${JSON.stringify(join(dir, "data"))}\n`);
  const log = openSync(logPath, "a");
  const proc = Bun.spawn([process.execPath, "run", "src/server.ts", "--config", configPath], {
    cwd: projectDir,
    stdin: "ignore",
    stdout: log,
    stderr: log,
  });
  closeSync(log);
  return { name: "osprey", proc, target: { host, port, protocol: "osprey" }, dir, logPath };
}

function startRedis(binary: string, port: number, dir: string, logPath: string): Server {
  const proc = Bun.spawn(
    [binary, "--port", String(port), "--bind", host, "--save", "", "--appendonly", "no", "--dir", dir, "--logfile", logPath],
    { cwd: dir, stdin: "ignore", stdout: "ignore", stderr: "inherit" },
  );
  return { name: "redis", proc, target: { host, port, protocol: "resp" }, dir, logPath };
}

function logTail(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Waits until the server answers PING, or fails if it exits or takes too long. */
async function waitReady(server: Server): Promise<void> {
  const resp = server.target.protocol === "resp";
  const deadline = performance.now() + startTimeoutMs;
  while (performance.now() < deadline) {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) {
      throw new Error(`${server.name} exited during start-up (${server.proc.exitCode ?? server.proc.signalCode}); log:\n${logTail(server.logPath)}`);
    }
    try {
      const reply = await requestOnce(host, server.target.port, resp ? "*1\r\n$4\r\nPING\r\n" : "PING\r\n", (t) => t.includes("\r\n"), 2000);
      if (/^\+?PONG\r\n/.test(reply)) return;
      throw new Error(`unexpected PING reply ${JSON.stringify(reply)}`);
    } catch (err) {
      if ((err as Error).message.startsWith("unexpected")) throw err;
      await Bun.sleep(50);
    }
  }
  throw new Error(`${server.name} did not accept connections on port ${server.target.port} within ${startTimeoutMs} ms`);
}

/** What the server says about itself: its RSS, used memory and key count where it reports them. */
async function selfReport(server: Server): Promise<{ keys: number | null; rssBytes: number | null; usedBytes: number | null }> {
  const num = (v: string | undefined) => (v === undefined ? null : Number(v));
  if (server.target.protocol === "resp") {
    const info = respBulkBody(await requestOnce(host, server.target.port, "*1\r\n$4\r\nINFO\r\n", respReplyComplete));
    const fields = parseFields(info, ":");
    const keyspace = /keys=(\d+)/.exec(fields.get("db0") ?? "");
    return { keys: keyspace ? Number(keyspace[1]) : 0, rssBytes: num(fields.get("used_memory_rss")), usedBytes: num(fields.get("used_memory")) };
  }
  const client = await connect({ host, port: server.target.port, reconnect: false });
  try {
    const fields = await client.stats();
    return { keys: num(fields.keys), rssBytes: num(fields.mem_rss_bytes), usedBytes: null };
  } finally {
    client.destroy();
  }
}

/** SIGTERM, then wait; SIGKILL if it will not go. Returns how it ended. */
async function stop(server: Server): Promise<string> {
  if (server.proc.exitCode !== null) return `had already exited (${server.proc.exitCode})`;
  server.proc.kill("SIGTERM");
  const exited = await Promise.race([server.proc.exited.then(() => true), Bun.sleep(stopTimeoutMs).then(() => false)]);
  if (exited) return `exited ${server.proc.exitCode ?? server.proc.signalCode} after SIGTERM`;
  server.proc.kill("SIGKILL");
  await server.proc.exited;
  return `did not exit within ${stopTimeoutMs} ms of SIGTERM: killed`;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function memory(a: Record<string, unknown>): Promise<number> {
  const keys = numberOption("keys", a.keys as string, { min: 1, max: keyspaceMax });
  const valueBytes = numberOption("value-size", a["value-size"] as string, { min: 0, max: 16 * 1024 * 1024 });
  const settleS = numberOption("settle", a.settle as string, { min: 0, max: 600, fraction: true });
  const dir = mkdtempSync(join(tmpdir(), "osprey-memory-"));
  const logPath = join(dir, "server.log");
  const port = freePort();
  const server = a.redis ? startRedis(a["redis-server"] as string, port, dir, logPath) : startOsprey(port, dir, logPath);
  const pid = server.proc.pid;
  process.stderr.write(`started ${server.name} (pid ${pid}) on ${host}:${port}, data in ${dir}\n`);
  let failed = false;
  try {
    await waitReady(server);
    const rssBeforeBytes = procStatusBytes(pid, "VmRSS");
    process.stderr.write(`loading ${keys} keys × ${valueBytes} bytes…\n`);
    const { elapsedMs } = await fillKeyspace(server.target, { keyspace: keys, valueBytes, progress: true });
    await Bun.sleep(settleS * 1000);
    const rssBytes = procStatusBytes(pid, "VmRSS");
    const hwmBytes = procStatusBytes(pid, "VmHWM");
    const self = await selfReport(server);
    const perKey = (rssBytes - rssBeforeBytes) / keys;
    const lines = [
      `server          ${server.name} (pid ${pid})`,
      `keys loaded     ${keys.toLocaleString("en-US")} × ${valueBytes} B in ${(elapsedMs / 1000).toFixed(2)} s (${Math.round(keys / (elapsedMs / 1000)).toLocaleString("en-US")} SET/s)`,
      `keys reported   ${self.keys ?? "(not reported)"}`,
      `VmRSS before    ${mib(rssBeforeBytes)}`,
      `VmRSS after     ${mib(rssBytes)}  (${rssBytes} bytes)`,
      `VmHWM (peak)    ${mib(hwmBytes)}`,
      `RSS per key     ${perKey.toFixed(1)} B (growth / keys; key ${4 + keyDigitsCount} B + value ${valueBytes} B of payload)`,
      server.name === "redis"
        ? `INFO            used_memory=${self.usedBytes} (${mib(self.usedBytes ?? 0)}), used_memory_rss=${self.rssBytes} (${mib(self.rssBytes ?? 0)})`
        : `STATS           mem_rss_bytes=${self.rssBytes ?? "(missing)"}${self.rssBytes !== null ? ` (${mib(self.rssBytes)})` : ""}`,
    ];
    process.stdout.write(lines.join("\n") + "\n");
    if (a.json) {
      const result = { server: server.name, keys, valueBytes, loadMs: Math.round(elapsedMs), keysReported: self.keys, rssBeforeBytes, rssBytes, hwmBytes, rssPerKeyBytes: Math.round(perKey * 10) / 10, selfRssBytes: self.rssBytes, selfUsedBytes: self.usedBytes };
      process.stdout.write(JSON.stringify(result) + "\n");
    }
    if (self.keys !== null && self.keys !== keys) {
      process.stderr.write(`!!! the server reports ${self.keys} keys, expected ${keys}\n`);
      failed = true;
    }
  } catch (err) {
    process.stderr.write(`!!! ${(err as Error).message}\n`);
    failed = true;
  } finally {
    process.stderr.write(`${server.name} ${await stop(server)}\n`);
    if (a.keep || failed) process.stderr.write(`kept ${dir} (server log: ${logPath})\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

const command = defineCommand({
  meta: { name: "memory", description: "Load N keys into a fresh Osprey (or Redis) and report its memory use" },
  args,
  async run({ args: parsed, rawArgs }) {
    await runTool(async () => {
      rejectUnknownOptions(rawArgs, Object.keys(args));
      return memory(parsed);
    });
  },
});

await runMain(command);
