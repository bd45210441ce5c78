// Descriptor exhaustion against real server processes under `prlimit --nofile` (util-linux): the
// start-up warning and the lowered max_clients, clients refused before the server's own files run
// short, no busy loop while sockets are held, and WAL rotation and snapshots that keep working.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fdReserveCount } from "../../src/constants.ts";
import { RawClient } from "../support/client.ts";
import { serverEntry, writeConfig } from "../support/server.ts";

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

// Linux reports CPU time in clock ticks of 1/100 s (USER_HZ) in /proc/<pid>/stat.
const ticksPerSecond = 100;
// Idle with every client held open, the server may use this share of a core over a second: the
// descriptor check and timers cost well under 1%, a spinning accept loop 100%.
const idleCpuShareMax = 0.2;

interface Limited {
  port: number;
  pid: number;
  log(): string;
}

/** Starts the server under `prlimit --nofile=<nofile>:<nofile>`; its stderr is read here, never printed. */
async function startUnder(nofile: number, settings: Record<string, unknown> = {}): Promise<Limited> {
  const dir = mkdtempSync(join(tmpdir(), "osprey-fds-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = writeConfig(dir, { listen_addr: "127.0.0.1:0", data_dir: join(dir, "data"), ...settings });
  const proc = Bun.spawn(["prlimit", `--nofile=${nofile}:${nofile}`, process.execPath, "run", serverEntry, "--config", configPath], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  cleanup.push(async () => {
    proc.kill("SIGKILL");
    await proc.exited;
  });
  let text = "";
  const reader = proc.stderr.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + 15000;
  while (!/listening on \S+:(\d+)/.test(text)) {
    if (Date.now() > deadline) throw new Error(`server did not start:\n${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited:\n${text}`);
    text += decoder.decode(value, { stream: true });
  }
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  })();
  // prlimit sets the limit and then execs the command: its PID is the server's.
  return { port: Number(/listening on \S+:(\d+)/.exec(text)![1]), pid: proc.pid, log: () => text };
}

/** User + system CPU time of a process so far, in clock ticks. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU share the server used over `ms` of idle. */
async function idleCpuShare(pid: number, ms: number): Promise<number> {
  const before = cpuTicks(pid);
  await Bun.sleep(ms);
  return (cpuTicks(pid) - before) / ticksPerSecond / (ms / 1000);
}

/** The start-up warning's numbers: descriptors open at the count, and the max_clients it lowered to. */
function parseWarning(log: string, nofile: number): { open: number; lowered: number } {
  const re = new RegExp(
    `WARN descriptor limit too low: max_clients = 10000 needs (\\d+) file descriptors \\(10000 clients \\+ (\\d+) open now \\+ ${fdReserveCount} reserved[^)]*\\), ` +
      `but RLIMIT_NOFILE is ${nofile}; max_clients lowered to (\\d+)\\.`,
  );
  const m = re.exec(log);
  if (m === null) throw new Error(`no descriptor warning in:\n${log}`);
  const open = Number(m[2]);
  expect(Number(m[1])).toBe(10000 + open + fdReserveCount);
  return { open, lowered: Number(m[3]) };
}

/** Connects and sends PING: the client when the server took it, null when it answered ERR BUSY. */
async function tryClient(port: number): Promise<RawClient | null> {
  const c = await RawClient.connect(port);
  const reply = await c.request("PING\r\n");
  if (reply === "PONG") return c;
  expect(reply).toBe("ERR BUSY max clients reached");
  await c.waitClosed(5000);
  return null;
}

/** Milliseconds a PING takes to come back. */
async function pingMs(c: RawClient): Promise<number> {
  const started = performance.now();
  expect(await c.request("PING\r\n")).toBe("PONG");
  return performance.now() - started;
}

describe("a descriptor limit below max_clients", () => {
  test("start-up warns with the numbers and lowers max_clients; clients past it are refused while the server stays idle, writes rotate the WAL and a snapshot completes", async () => {
    const nofile = 128;
    const server = await startUnder(nofile, { wal_max_bytes: 16384, sync_policy: "always" });
    const { open, lowered } = parseWarning(server.log(), nofile);
    expect(lowered).toBe(nofile - open - fdReserveCount);

    // INFO (RESP) reports the effective limit; this first client stays one of the held ones.
    const resp = await RawClient.connect(server.port);
    await resp.send("*2\r\n$4\r\nINFO\r\n$7\r\nclients\r\n");
    const header = await resp.line();
    const body = (await resp.bytes(Number(header.slice(1)) + 2)).toString("latin1");
    expect(body).toContain(`maxclients:${lowered}\r\n`);
    const held: RawClient[] = [resp];
    cleanup.push(() => held.forEach((c) => c.close()));
    for (;;) {
      const c = await tryClient(server.port);
      if (c === null) break;
      held.push(c);
      expect(held.length).toBeLessThanOrEqual(lowered);
    }
    expect(held.length).toBe(lowered);
    // Refusals go on, each answered and closed: none of them eats into the server's reserve.
    for (let i = 0; i < 20; i++) expect(await tryClient(server.port)).toBeNull();

    const c = held[1]!;
    const stats = await c.stats();
    expect(stats.max_clients).toBe(String(lowered));
    expect(stats.clients).toBe(String(lowered));
    expect(Number(stats.rejected_clients_total)).toBe(21);

    expect(await idleCpuShare(server.pid, 1000)).toBeLessThan(idleCpuShareMax);
    for (const h of [held[2]!, held[held.length - 1]!]) expect(await pingMs(h)).toBeLessThan(500);

    // 200 writes of 1 KB with wal_max_bytes = 16 KiB: a dozen rotations and size-triggered snapshots.
    const value = "v".repeat(1000);
    for (let i = 0; i < 200; i++) expect(await c.request(`SET k${i} ${value.length}\r\n${value}\r\n`)).toMatch(/^OK/);
    const snap = await c.request("SNAPSHOT\r\n");
    expect(["OK snapshot started", "ERR BUSY a snapshot is already in progress"]).toContain(snap);
    const deadline = Date.now() + 10000;
    let after = await c.stats();
    while (after.snapshot_in_progress !== "0" || after.snapshots_total === "0") {
      if (Date.now() > deadline) throw new Error(`no snapshot completed: ${JSON.stringify(after)}`);
      await Bun.sleep(20);
      after = await c.stats();
    }
    expect(after.wal_status).toBe('"ok"');
    expect(after.wal_rotate_failures_total).toBe("0");
    expect(after.snapshot_failures_total).toBe("0");
    expect(Number(/wal-(\d+)/.exec(after.wal_current!)![1])).toBeGreaterThan(5);
    expect(await c.request("GET k199\r\n")).toBe(`VALUE ${value.length} 1 -1\r\n${value}\r\n`);
    expect(server.log()).not.toMatch(/ERROR/);
  }, 30000);

  test("when descriptors run out anyway, accepting pauses instead of spinning, connected clients are served, and accepting resumes once one is free", async () => {
    // Calibrate: how many descriptors the server holds before listening, under the same spawn.
    const probe = await startUnder(64);
    const { open } = parseWarning(probe.log(), 64);
    // One descriptor beyond those (the listening socket is bound before the count, so it is among
    // them): max_clients is lowered to 1, the first client takes it, and the next accept() fails
    // with EMFILE.
    const nofile = open + 1;
    const server = await startUnder(nofile);
    expect(parseWarning(server.log(), nofile).lowered).toBe(1);

    const first = await RawClient.connect(server.port);
    cleanup.push(() => first.close());
    expect(await first.request("PING\r\n")).toBe("PONG");
    const extra: { end(): void }[] = [];
    cleanup.push(() => extra.forEach((s) => s.end()));
    for (let i = 0; i < 20; i++) {
      try {
        extra.push(await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {}, error() {} } }));
      } catch {
        break; // the listener is closed: a pause has begun
      }
    }
    const deadline = Date.now() + 5000;
    while (!/WARN out of file descriptors/.test(server.log())) {
      if (Date.now() > deadline) throw new Error(`accepting never paused:\n${server.log()}`);
      await Bun.sleep(20);
    }
    expect(server.log()).toMatch(/WARN out of file descriptors \(EMFILE\/ENFILE\): not accepting clients for 1000 ms; 1 connected, max_clients 1/);
    expect(await idleCpuShare(server.pid, 1000)).toBeLessThan(idleCpuShareMax);
    expect(await pingMs(first)).toBeLessThan(500);

    // Every descriptor back: within a pause or two the address accepts again.
    for (const s of extra.splice(0)) s.end();
    first.close();
    await first.waitClosed(5000);
    const until = Date.now() + 10000;
    for (;;) {
      try {
        const again = await RawClient.connect(server.port);
        const reply = await again.request("PING\r\n");
        again.close();
        if (reply === "PONG") break;
      } catch {}
      if (Date.now() > until) throw new Error(`never accepted again:\n${server.log()}`);
      await Bun.sleep(100);
    }
    expect(server.log()).not.toMatch(/ERROR/);
  }, 30000);
});
