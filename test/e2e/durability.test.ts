// Durability against real server processes: kill -9 under load, snapshots during writes, WAL
// rotation and cleanup, a full disk, the TypeScript fallback. Every acknowledged write must come
// back, with its value and version.

import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { serverEntry, spawnServer, startServer, type RunningServer } from "../support/server.ts";

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "osprey-durable-"));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function start(config: Record<string, unknown>, dataDir: string, opts: { args?: string[]; env?: Record<string, string> } = {}): Promise<RunningServer> {
  const s = await startServer({ ...config, data_dir: dataDir }, { dataDir, ...opts });
  cleanup.push(async () => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) await s.signal("SIGKILL");
  });
  return s;
}

/**
 * A writer that owns keys `${prefix}:0..keys-1` and writes them round-robin, pipelining `depth`
 * requests. The n-th write of a key carries the value `${key}=${n}`, so the version the server
 * gives it must be n, and any recovered state can be checked against what was acknowledged.
 */
class Writer {
  readonly acked = new Map<string, number>(); // key → highest acknowledged version
  readonly sent = new Map<string, number>(); // key → writes sent
  errors: string[] = [];
  constructor(
    readonly prefix: string,
    readonly keys: number,
  ) {}

  async run(port: number, until: () => boolean, depth = 8): Promise<void> {
    let c: RawClient;
    try {
      c = await RawClient.connect(port);
    } catch {
      return;
    }
    let i = 0;
    try {
      while (!until()) {
        const batch: string[] = [];
        let req = "";
        for (let d = 0; d < depth; d++, i++) {
          const key = `${this.prefix}:${i % this.keys}`;
          const n = (this.sent.get(key) ?? 0) + 1;
          this.sent.set(key, n);
          const value = `${key}=${n}`;
          req += `SET ${key} ${value.length}\r\n${value}\r\n`;
          batch.push(key);
        }
        await c.send(req);
        for (const key of batch) {
          const line = await c.line();
          const m = /^OK (\d+)$/.exec(line);
          if (m === null) {
            this.errors.push(line);
            continue;
          }
          this.acked.set(key, Number(m[1]));
        }
      }
    } catch {
      // The server was killed mid-pipeline: what was acknowledged is in `acked`.
    }
  }

  /**
   * Checks every key against the recovered server: nothing acknowledged lost, nothing invented.
   * Then continues from what was recovered: writes sent but never logged before the crash are
   * gone, so the next write of a key gets the recovered version + 1.
   */
  async verify(port: number): Promise<{ lost: string[]; checked: number }> {
    const c = await RawClient.connect(port);
    const lost: string[] = [];
    const keys = [...this.sent.keys()];
    for (let at = 0; at < keys.length; at += 200) {
      const chunk = keys.slice(at, at + 200);
      await c.send(chunk.map((k) => `GET ${k}\r\n`).join(""));
      for (const key of chunk) {
        const head = await c.line();
        const acked = this.acked.get(key) ?? 0;
        const sent = this.sent.get(key)!;
        if (head === "NOT_FOUND") {
          if (acked > 0) lost.push(`${key}: acknowledged version ${acked}, recovered nothing`);
          this.sent.set(key, 0);
          continue;
        }
        const m = /^VALUE (\d+) (\d+) (-?\d+)$/.exec(head);
        if (m === null) throw new Error(`unexpected reply ${head}`);
        const value = (await c.bytes(Number(m[1]) + 2)).toString("latin1").slice(0, -2);
        const version = Number(m[2]);
        if (version < acked) lost.push(`${key}: acknowledged version ${acked}, recovered ${version}`);
        else if (version > sent) lost.push(`${key}: recovered version ${version} was never written`);
        else if (value !== `${key}=${version}`) lost.push(`${key}: version ${version} has value ${value}`);
        this.sent.set(key, version);
        this.acked.set(key, version);
      }
    }
    return { lost, checked: keys.length };
  }
}

async function statsOf(port: number): Promise<Record<string, string>> {
  const c = await RawClient.connect(port);
  return c.stats();
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

describe("crash safety", () => {
  test('sync_policy "always": every acknowledged write is back after kill -9 under load, three times over', async () => {
    const dir = tempDir();
    const writers = [0, 1, 2, 3, 4, 5].map((w) => new Writer(`w${w}`, 300));
    let acked = 0;
    for (let round = 0; round < 3; round++) {
      const server = await start({ sync_policy: "always" }, dir);
      if (round > 0) {
        for (const w of writers) expect((await w.verify(server.port)).lost).toEqual([]);
      }
      let stop = false;
      const runs = writers.map((w) => w.run(server.port, () => stop));
      await Bun.sleep(700 + 200 * round);
      process.kill(server.pid, "SIGKILL"); // mid-pipeline, replies in flight
      await server.proc.exited;
      stop = true;
      await Promise.all(runs);
      acked = writers.reduce((n, w) => n + w.acked.size, 0);
      for (const w of writers) expect(w.errors).toEqual([]);
    }
    expect(acked).toBeGreaterThan(100);
    const server = await start({ sync_policy: "always" }, dir);
    for (const w of writers) {
      const { lost, checked } = await w.verify(server.port);
      expect(lost).toEqual([]);
      expect(checked).toBeGreaterThan(0);
    }
    const versions = writers.flatMap((w) => [...w.acked.values()]);
    expect(Math.max(...versions)).toBeGreaterThan(1); // keys were overwritten, versions kept counting
  }, 60000);

  test.each([true, false])("a snapshot taken while clients write, then kill -9: the full state is back (snapshot_fork = %p)", async (fork) => {
    const dir = tempDir();
    // snapshot_fork_min_bytes 0: forked however small the keyspace (by default it is written in slices).
    let server = await start({ sync_policy: "always", enable_snapshot: true, snapshot_fork: fork, snapshot_fork_min_bytes: 0 }, dir);
    // A keyspace big enough that the snapshot takes many slices while the writers run.
    const c = await RawClient.connect(server.port);
    const pre = new Writer("pre", 20000);
    for (let i = 0; i < 20000; i += 500) {
      let req = "MSET";
      let payload = "";
      for (let k = i; k < i + 500; k++) {
        const v = `pre:${k}=1`;
        req += ` pre:${k} ${v.length}`;
        payload += v;
        pre.sent.set(`pre:${k}`, 1);
        pre.acked.set(`pre:${k}`, 1);
      }
      expect(await c.request(`${req}\r\n${payload}\r\n`)).toBe("OK 500");
    }
    const writers = [0, 1, 2].map((w) => new Writer(`live${w}`, 5000));
    let stop = false;
    const runs = writers.map((w) => w.run(server.port, () => stop));
    await Bun.sleep(100);
    expect(await c.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
    await waitFor("the snapshot", async () => (await c.stats()).snapshots_total === "1");
    await Bun.sleep(200); // more writes after the snapshot, only in the new WAL
    process.kill(server.pid, "SIGKILL");
    await server.proc.exited;
    stop = true;
    await Promise.all(runs);
    expect(existsSync(join(dir, "MANIFEST.json"))).toBe(true);

    server = await start({ sync_policy: "always" }, dir);
    const stats = await statsOf(server.port);
    expect(Number(stats.recovery_keys_loaded)).toBeGreaterThanOrEqual(20000);
    expect(Number(stats.recovery_records_replayed)).toBeGreaterThan(0);
    for (const w of [pre, ...writers]) {
      const { lost } = await w.verify(server.port);
      expect(lost).toEqual([]);
    }
  }, 60000);

  test("SIGTERM writes and syncs everything before exiting; a restart has every key", async () => {
    const dir = tempDir();
    let server = await start({ sync_policy: "os" }, dir);
    const w = new Writer("k", 1000);
    let n = 0;
    await w.run(server.port, () => ++n > 50, 16);
    expect(await server.signal("SIGTERM")).toBe(0);
    server = await start({ sync_policy: "os" }, dir);
    expect((await w.verify(server.port)).lost).toEqual([]);
    expect(w.acked.size).toBe(800);
  });
});

describe("WAL files", () => {
  test("the WAL rotates at wal_max_bytes, snapshots follow, and files no longer needed are deleted", async () => {
    const dir = tempDir();
    let server = await start({ wal_max_bytes: 64 * 1024, sync_policy: "batch" }, dir);
    const w = new Writer("rot", 3000);
    let n = 0;
    await w.run(server.port, () => ++n > 400, 32); // ~12,800 writes, ~700 KB of WAL
    const c = await RawClient.connect(server.port);
    await waitFor("snapshots", async () => {
      const s = await c.stats();
      return Number(s.snapshots_total) >= 2 && s.snapshot_in_progress === "0";
    });
    const stats = await c.stats();
    expect(stats.wal_current).not.toBe('"wal-00000001.oswal"');
    const files = readdirSync(dir).filter((f) => f.endsWith(".oswal") || f.endsWith(".osnap"));
    const manifest = JSON.parse(await Bun.file(join(dir, "MANIFEST.json")).text());
    // Only the manifest's snapshot and the WALs from its next_wal on are left.
    expect(files.filter((f) => f.endsWith(".osnap"))).toEqual([manifest.snap]);
    for (const f of files.filter((f) => f.endsWith(".oswal"))) expect(f >= manifest.next_wal).toBe(true);
    expect(await server.signal("SIGTERM")).toBe(0);
    server = await start({ wal_max_bytes: 64 * 1024 }, dir);
    expect((await w.verify(server.port)).lost).toEqual([]);
  }, 30000);

  test("a snapshot is due once the WAL since the last one reaches that snapshot's size (at least wal_max_bytes), also across a restart", async () => {
    const dir = tempDir();
    const config = { wal_max_bytes: 64 * 1024, sync_policy: "os" };
    let server = await start(config, dir);
    let c = await RawClient.connect(server.port);
    const value = "v".repeat(32 * 1024);
    // Each SET's reply comes after its record was written, so the trigger has been checked by then.
    const set = async (n: number) => {
      for (let i = 0; i < n; i++) expect(await c.request(`SET big:${i % 32} ${value.length}\r\n${value}\r\n`)).toMatch(/^OK \d+$/);
    };
    const settled = async () => {
      await waitFor("the snapshot to finish", async () => (await c.stats()).snapshot_in_progress === "0");
      return c.stats();
    };
    await set(32); // 32 keys × 32 KiB: a keyspace 16 times wal_max_bytes
    await settled();
    expect(await c.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
    const before = await settled();
    const snapBytes = Number(before.last_snapshot_bytes);
    expect(snapBytes).toBeGreaterThan(32 * value.length);
    const perSet = Math.ceil(snapBytes / 32);
    // 60% of the snapshot's size logged, ten times wal_max_bytes: not due yet.
    await set(Math.floor((0.6 * snapBytes) / perSet));
    let now = await c.stats();
    expect([now.snapshots_total, now.snapshot_in_progress]).toEqual([before.snapshots_total, "0"]);
    // Past the snapshot's size: one snapshot, and only one (the next is due a whole snapshot later).
    await set(Math.ceil((0.6 * snapBytes) / perSet));
    now = await settled();
    expect(Number(now.snapshots_total)).toBe(Number(before.snapshots_total) + 1);

    // The WAL replayed at start-up counts toward the next snapshot: ~60% since the last one before
    // the restart, and 60% more after it, make one due.
    await set(Math.floor((0.6 * snapBytes) / perSet));
    expect((await c.stats()).snapshots_total).toBe(now.snapshots_total);
    expect(await server.signal("SIGTERM")).toBe(0);
    server = await start(config, dir);
    c = await RawClient.connect(server.port);
    expect((await c.stats()).snapshots_total).toBe("0");
    await set(Math.floor((0.6 * snapBytes) / perSet));
    await settled();
    expect((await c.stats()).snapshots_total).toBe("1");
    expect(await server.signal("SIGTERM")).toBe(0);
  }, 30000);

  test("with enable_snapshot = false WALs rotate and all of them are replayed", async () => {
    const dir = tempDir();
    let server = await start({ wal_max_bytes: 16 * 1024, enable_snapshot: false }, dir);
    const w = new Writer("nosnap", 500);
    let n = 0;
    await w.run(server.port, () => ++n > 100, 16);
    const c = await RawClient.connect(server.port);
    expect(await c.request("SNAPSHOT\r\n")).toBe("ERR BUSY snapshots are disabled (enable_snapshot = false)");
    expect(await server.signal("SIGKILL")).not.toBe(0);
    const wals = readdirSync(dir).filter((f) => f.endsWith(".oswal"));
    expect(wals.length).toBeGreaterThan(5);
    // The manifest written when the directory was new still names the empty snapshot and the first WAL.
    expect(JSON.parse(readFileSync(join(dir, "MANIFEST.json"), "utf8"))).toMatchObject({ snap: "snap-00000000.osnap", next_wal: "wal-00000001.oswal" });
    server = await start({ wal_max_bytes: 16 * 1024, enable_snapshot: false }, dir);
    expect((await w.verify(server.port)).lost).toEqual([]);
  }, 30000);

  test("a torn write at the end of the WAL is trimmed at start-up with a log line, and the server starts", async () => {
    const dir = tempDir();
    let server = await start({}, dir);
    const w = new Writer("torn", 50);
    let n = 0;
    await w.run(server.port, () => ++n > 5, 10);
    expect(await server.signal("SIGTERM")).toBe(0);
    const wal = join(dir, "wal-00000001.oswal");
    const bytes = await Bun.file(wal).bytes();
    writeFileSync(wal, bytes.subarray(0, bytes.length - 7)); // the last record loses its tail
    server = await start({}, dir);
    expect(server.log()).toMatch(/trimmed \d+ bytes from the end of wal-00000001\.oswal/);
    const { lost } = await w.verify(server.port);
    expect(lost.length).toBe(1); // the torn record, and only it
    expect(existsSync(`${wal}.broken`)).toBe(true);
  });

  test("a damaged record in the middle refuses to start naming file and offset; --repair skips it and keeps every record after it", async () => {
    const dir = tempDir();
    let server = await start({}, dir);
    const c = await RawClient.connect(server.port);
    for (let i = 0; i < 20; i++) expect(await c.request(`SET k${i} 5\r\nvalue\r\n`)).toBe("OK 1");
    expect(await server.signal("SIGTERM")).toBe(0);
    const wal = join(dir, "wal-00000001.oswal");
    const bytes = await Bun.file(wal).bytes();
    const recordBytes = 35 + 2 + 5; // k0..k9
    bytes[5 * recordBytes + 33]! ^= 0x20; // in the 6th record's key
    writeFileSync(wal, bytes);
    await expect(start({}, dir)).rejects.toThrow(new RegExp(`wal-00000001\\.oswal: bad record at byte ${5 * recordBytes}`));
    server = await start({}, dir, { args: ["--repair"] });
    const c2 = await RawClient.connect(server.port);
    expect(await c2.request("GET k4\r\n")).toBe("VALUE 5 1 -1\r\nvalue\r\n");
    expect(await c2.request("GET k5\r\n")).toBe("NOT_FOUND");
    expect(await c2.request("GET k6\r\n")).toBe("VALUE 5 1 -1\r\nvalue\r\n");
    expect((await c2.stats()).keys).toBe("19");
  });
});

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN): the real "disk full" test. */
const canMount = (() => {
  const probe = mkdtempSync(join(tmpdir(), "osprey-mount-probe-"));
  try {
    if (Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe]).exitCode !== 0) return false;
    Bun.spawnSync(["umount", probe]);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

/** Starts the server under `prlimit --fsize` (util-linux): no file it writes may grow past `bytes`. */
async function startLimited(dir: string, bytes: number, env: Record<string, string> = {}): Promise<{ port: number; proc: ReturnType<typeof Bun.spawn>; log: () => string }> {
  const configPath = join(dir, "osprey.toml");
  writeFileSync(configPath, `listen_addr = "127.0.0.1:0"\ndata_dir = "${dir}/data"\nsync_policy = "always"\nlog_file = "${dir}/osprey.log"\n`);
  const proc = Bun.spawn(["prlimit", `--fsize=${bytes}`, process.execPath, "run", serverEntry, "--config", configPath], {
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  cleanup.push(async () => {
    proc.kill("SIGKILL");
    await proc.exited;
  });
  let log = "";
  const reader = proc.stderr.getReader();
  while (!/listening on \S+:(\d+)/.test(log)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${log}`);
    log += new TextDecoder().decode(value);
  }
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      log += new TextDecoder().decode(value);
    }
  })();
  return { port: Number(/listening on \S+:(\d+)/.exec(log)![1]), proc, log: () => log };
}

describe("a full disk", () => {
  test("past RLIMIT_FSIZE a write is refused with ERR INTERNAL before it is applied; nothing acknowledged is lost", async () => {
    const dir = tempDir();
    const { port, proc } = await startLimited(dir, 2_000_000);
    const c = await RawClient.connect(port);
    const value = "v".repeat(4000);
    let ok = 0;
    let refusal = "";
    for (let i = 0; i < 1000 && refusal === ""; i++) {
      const reply = await c.request(`SET k${i} ${value.length}\r\n${value}\r\n`);
      if (reply === "OK 1") ok++;
      else refusal = reply;
    }
    expect(refusal).toMatch(/^ERR INTERNAL write not applied: .*EFBIG/);
    expect(ok).toBeGreaterThan(400);
    expect(await c.request(`GET k${ok}\r\n`)).toBe("NOT_FOUND");
    expect(await c.request("GET k0\r\n")).toBe(`VALUE ${value.length} 1 -1\r\n${value}\r\n`);
    const stats = await c.stats();
    expect(stats.keys).toBe(String(ok));
    // STATS says why writes are refused the moment it begins.
    expect(stats.wal_status).toMatch(/^"refusing writes: no room for the write-ahead log: EFBIG/);
    proc.kill("SIGKILL");
    await proc.exited;
    const server = await start({ sync_policy: "always" }, join(dir, "data"));
    const c2 = await RawClient.connect(server.port);
    expect((await c2.stats()).keys).toBe(String(ok));
    expect(await c2.request(`GET k${ok - 1}\r\n`)).toBe(`VALUE ${value.length} 1 -1\r\n${value}\r\n`);
  }, 30000);

  test("without space reservation (TypeScript fallback) a failed write stops the log: new writes are refused, reads go on, nothing acknowledged is lost", async () => {
    const dir = tempDir();
    const { port, proc, log } = await startLimited(dir, 2_000_000, { OSPREY_NATIVE: "off" });
    const writer = await RawClient.connect(port);
    const value = "v".repeat(4000);
    let ok = 0;
    // The write that crosses the limit was applied before the failed write() found out: its reply
    // stays held (it is not durable), so this loop stops when a reply does not come.
    for (let i = 0; i < 1000; i++) {
      const reply = await Promise.race([writer.request(`SET k${i} ${value.length}\r\n${value}\r\n`), Bun.sleep(1500).then(() => "held")]);
      if (reply === "held") break;
      expect(reply).toBe("OK 1");
      ok++;
    }
    expect(ok).toBeGreaterThan(400);
    const other = await RawClient.connect(port);
    expect(await other.request("SET another 1\r\nx\r\n")).toMatch(/^ERR INTERNAL write not applied: the write-ahead log cannot be written .*EFBIG/);
    expect(await other.request("GET another\r\n")).toBe("NOT_FOUND");
    expect(await other.request("GET k0\r\n")).toBe(`VALUE ${value.length} 1 -1\r\n${value}\r\n`);
    expect((await other.stats()).wal_status).toMatch(/^"failing: write wal-00000001\.oswal: EFBIG/);
    expect(log()).toMatch(/write-ahead log failing, writes refused until it recovers/);
    proc.kill("SIGKILL");
    await proc.exited;
    const server = await start({}, join(dir, "data"));
    const c2 = await RawClient.connect(server.port);
    for (let i = 0; i < ok; i += 50) expect(await c2.request(`GET k${i}\r\n`)).toBe(`VALUE ${value.length} 1 -1\r\n${value}\r\n`);
  }, 30000);

  test.skipIf(!canMount)("a write the disk cannot take is refused with ERR INTERNAL naming the cause, nothing is lost, reads go on, and writes resume when space returns", async () => {
    const mount = tempDir();
    const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mount]);
    expect(mounted.exitCode).toBe(0);
    cleanup.push(() => void Bun.spawnSync(["umount", "-l", mount]));
    const dir = join(mount, "data");
    mkdirSync(dir);
    // A filler to delete later: the disk "gets space back".
    writeFileSync(join(mount, "filler"), new Uint8Array(1 << 20));
    let server = await start({ sync_policy: "always", log_file: join(tempDir(), "osprey.log") }, dir);
    const c = await RawClient.connect(server.port);
    const acked = new Map<string, string>();
    let refusal = "";
    const value = "v".repeat(4000);
    for (let i = 0; i < 2000 && refusal === ""; i++) {
      const reply = await c.request(`SET big${i} ${value.length}\r\n${value}\r\n`);
      if (reply.startsWith("OK")) acked.set(`big${i}`, value);
      else refusal = reply;
    }
    expect(refusal).toMatch(/^ERR INTERNAL write not applied: .*(ENOSPC|no space)/);
    expect(acked.size).toBeGreaterThan(100);
    // The refused key was not applied; earlier ones are readable; the server answers everything else.
    expect(await c.request(`GET big${acked.size}\r\n`)).toBe("NOT_FOUND");
    expect(await c.request("GET big0\r\n")).toBe(`VALUE ${value.length} 1 -1\r\n${value}\r\n`);
    // An MSET that does not fit is refused whole: not even its first key is applied.
    expect(await c.request(`MSET m1 ${value.length} m2 ${value.length}\r\n${value}${value}\r\n`)).toMatch(/^ERR INTERNAL write not applied/);
    expect(await c.request("GET m1\r\n")).toBe("NOT_FOUND");
    expect(await c.request("PING\r\n")).toBe("PONG");
    expect((await c.stats()).wal_status).toMatch(/^"refusing writes: no room for the write-ahead log: ENOSPC/);
    // Space comes back: writes are accepted again.
    unlinkSync(join(mount, "filler"));
    expect(await c.request("SET after 2\r\nok\r\n")).toBe("OK 1");
    // and says so as soon as a write fits again
    expect((await c.stats()).wal_status).toBe('"ok"');
    acked.set("after", "ok");
    process.kill(server.pid, "SIGKILL");
    await server.proc.exited;
    server = await start({ sync_policy: "always" }, dir);
    const c2 = await RawClient.connect(server.port);
    for (const [key, v] of acked) {
      expect(await c2.request(`GET ${key}\r\n`)).toBe(`VALUE ${v.length} 1 -1\r\n${v}\r\n`);
    }
    expect((await c2.stats()).keys).toBe(String(acked.size));
  }, 30000);
});

describe("native library fallback", () => {
  test("with the native library off the server warns once, logs in a format the native build reads back", async () => {
    const dir = tempDir();
    let server = await start({}, dir, { env: { OSPREY_NATIVE: "off" } });
    expect(server.log().match(/native library unavailable/g)?.length).toBe(1);
    expect((await statsOf(server.port)).native).toMatch(/^"typescript/);
    const w = new Writer("ts", 200);
    let n = 0;
    await w.run(server.port, () => ++n > 30, 20);
    const c = await RawClient.connect(server.port);
    expect(await c.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
    await waitFor("the snapshot", async () => (await c.stats()).snapshots_total === "1");
    expect(await server.signal("SIGTERM")).toBe(0);
    server = await start({}, dir);
    expect((await statsOf(server.port)).native).toBe('"native (hardware crc32c)"');
    expect((await w.verify(server.port)).lost).toEqual([]);
  });
});

describe("sync policies", () => {
  async function burst(port: number, clients: number, rounds: number): Promise<string[]> {
    const conns = await Promise.all(Array.from({ length: clients }, () => RawClient.connect(port)));
    const replies: string[] = [];
    for (let r = 0; r < rounds; r++) {
      replies.push(...(await Promise.all(conns.map((c, i) => c.request(`SET c${i} 2\r\nr${r % 10}\r\n`)))));
    }
    return replies;
  }

  test('"always": a write is acknowledged only after an fdatasync, and one fdatasync covers many writes', async () => {
    const server = await start({ sync_policy: "always" }, tempDir());
    const c = await RawClient.connect(server.port);
    expect((await c.stats()).wal_syncs_total).toBe("0");
    expect(await c.request("SET first 1\r\nx\r\n")).toBe("OK 1");
    expect(Number((await c.stats()).wal_syncs_total)).toBeGreaterThanOrEqual(1);
    const replies = await burst(server.port, 40, 20);
    expect(replies.every((r) => /^OK \d+$/.test(r))).toBe(true);
    const syncs = Number((await c.stats()).wal_syncs_total);
    expect(syncs).toBeLessThan(800 / 2); // 800 writes, grouped
  });

  test('"batch": fdatasync runs within batch_fsync_ms of a write without holding its reply', async () => {
    const server = await start({ sync_policy: "batch", batch_fsync_ms: 20, batch_fsync_bytes: 1 << 30 }, tempDir());
    const c = await RawClient.connect(server.port);
    expect(await c.request("SET k 1\r\nx\r\n")).toBe("OK 1");
    await waitFor("a batch fdatasync", async () => Number((await c.stats()).wal_syncs_total) >= 1, 2000);
  });

  test('"batch": batch_fsync_bytes written start an fdatasync before the timer', async () => {
    const server = await start({ sync_policy: "batch", batch_fsync_ms: 3600000, batch_fsync_bytes: 4096 }, tempDir());
    const c = await RawClient.connect(server.port);
    const value = "x".repeat(5000);
    expect(await c.request(`SET k ${value.length}\r\n${value}\r\n`)).toBe("OK 1");
    await waitFor("a size-triggered fdatasync", async () => Number((await c.stats()).wal_syncs_total) >= 1, 2000);
  });

  test('"os": no fdatasync at all, yet every write reaches the file before its reply (kill -9 loses nothing)', async () => {
    const dir = tempDir();
    let server = await start({ sync_policy: "os" }, dir);
    await burst(server.port, 10, 10);
    const c = await RawClient.connect(server.port);
    expect((await c.stats()).wal_syncs_total).toBe("0");
    process.kill(server.pid, "SIGKILL");
    await server.proc.exited;
    server = await start({ sync_policy: "os" }, dir);
    const c2 = await RawClient.connect(server.port);
    for (let i = 0; i < 10; i++) expect(await c2.request(`GET c${i}\r\n`)).toBe("VALUE 2 10 -1\r\nr9\r\n");
  });
});

describe("a data_dir that cannot be used", () => {
  test("start-up fails with exit 1 and the file system's reason, not a listening error", async () => {
    const dir = tempDir();
    const data = join(dir, "data");
    // A directory where the WAL file should be: unusable even for root.
    mkdirSync(join(data, "wal-00000001.oswal"), { recursive: true });
    await expect(start({}, data)).rejects.toThrow(/cannot recover .*data: the directory cannot be used: .*EISDIR/);
  });
});

describe("large values", () => {
  test("values larger than a snapshot chunk survive a snapshot and a restart byte for byte", async () => {
    const dir = tempDir();
    let server = await start({ max_value_bytes: 8 << 20 }, dir);
    const c = await RawClient.connect(server.port);
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131) & 0xff;
    for (const key of ["big1", "big2"]) {
      await c.send(Buffer.concat([Buffer.from(`SET ${key} ${big.length}\r\n`), big, Buffer.from("\r\n")]));
      expect(await c.line()).toBe("OK 1");
    }
    expect(await c.request("SET small 1\r\nx\r\n")).toBe("OK 1");
    expect(await c.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
    await waitFor("the snapshot", async () => (await c.stats()).snapshots_total === "1");
    expect(await server.signal("SIGKILL")).not.toBe(0);
    server = await start({ max_value_bytes: 8 << 20 }, dir);
    const c2 = await RawClient.connect(server.port);
    expect(Number((await c2.stats()).recovery_keys_loaded)).toBe(3);
    for (const key of ["big1", "big2"]) {
      await c2.send(`GET ${key}\r\n`);
      expect(await c2.line()).toBe(`VALUE ${big.length} 1 -1`);
      expect((await c2.bytes(big.length + 2)).subarray(0, big.length).equals(big)).toBe(true);
    }
  });
});

describe("large values read straight into their buffers (RESP)", () => {
  test("SETs whose values arrive in pieces are logged with the crc made while copying: kill -9, then the WAL gives them back byte for byte", async () => {
    const dir = tempDir();
    let server = await start({ max_value_bytes: 8 << 20 }, dir);
    const c = await RawClient.connect(server.port);
    const values = new Map<string, Buffer>();
    for (const [key, bytes, piece] of [["r1", 65536, 1000], ["r2", 256 * 1024 + 5, 7777], ["r3", 3 << 20, 65536], ["r2", 300 * 1024, 100000]] as const) {
      const v = Buffer.alloc(bytes);
      for (let i = 0; i < v.length; i++) v[i] = (i * 131 + bytes) & 0xff;
      values.set(key, v);
      await c.sendInPieces(Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${v.length}\r\n`), v, Buffer.from("\r\n")]), piece);
      expect(await c.line()).toBe("+OK");
    }
    expect(await server.signal("SIGKILL")).not.toBe(0);
    server = await start({ max_value_bytes: 8 << 20 }, dir);
    const c2 = await RawClient.connect(server.port);
    const stats = await c2.stats();
    expect([stats.recovery_records_replayed, stats.recovery_trimmed_bytes]).toEqual(["4", "0"]);
    for (const [key, v] of values) {
      await c2.send(`GET ${key}\r\n`);
      expect(await c2.line()).toMatch(new RegExp(`^VALUE ${v.length} \\d+ -1$`));
      expect((await c2.bytes(v.length + 2)).subarray(0, v.length).equals(v)).toBe(true);
    }
  });
});

describe("snapshots by a forked child", () => {
  /** The server's children: the snapshot's writer while one runs. */
  function childrenOf(pid: number): number[] {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, "latin1").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** `keys` keys of `bytes` bytes each, by MSETs of 200, so the child has ~keys × bytes to write and sync. */
  async function fill(c: RawClient, keys: number, bytes: number): Promise<void> {
    for (let i = 0; i < keys; i += 200) {
      let req = "MSET";
      let payload = "";
      for (let k = i; k < i + 200; k++) {
        const v = `v${k}:`.padEnd(bytes, "x");
        req += ` k:${k} ${v.length}`;
        payload += v;
      }
      expect(await c.request(`${req}\r\n${payload}\r\n`)).toBe("OK 200");
    }
  }

  /** Starts a snapshot and returns its child's pid as soon as it shows. */
  async function snapshotChild(c: RawClient, serverPid: number): Promise<number> {
    expect(await c.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
    for (let i = 0; i < 5000; i++) {
      const kids = childrenOf(serverPid);
      if (kids.length > 0) return kids[0]!;
      await Bun.sleep(1);
    }
    throw new Error("no snapshot child appeared");
  }

  test.skipIf(process.platform !== "linux")("kill -9 of the child fails that snapshot alone: counted, no file left, the server serves, the next snapshot succeeds", async () => {
    const dir = tempDir();
    const server = await start({}, dir);
    const c = await RawClient.connect(server.port);
    await fill(c, 60000, 1000);
    const q = await RawClient.connect(server.port); // open at the fork
    expect(await q.request("PING\r\n")).toBe("PONG");
    const child = await snapshotChild(c, server.pid);
    // The child holds no copy of client sockets: a connection the server closes is closed at once.
    await q.send("QUIT\r\n");
    await q.waitClosed(5000);
    expect(childrenOf(server.pid)).toEqual([child]);
    process.kill(child, "SIGKILL");
    await waitFor("the failed snapshot", async () => (await c.stats()).snapshot_failures_total === "1");
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(readFileSync(join(dir, "logs", "osprey.log"), "latin1")).toContain(`snapshot child ${child} was killed by signal 9`);
    expect(await c.request("GET k:59999\r\n")).toStartWith("VALUE 1000 1");
    expect(await c.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
    await waitFor("the next snapshot", async () => (await c.stats()).snapshots_total === "1");
    expect((await c.stats()).last_snapshot_keys).toBe("60000");
    expect(childrenOf(server.pid)).toEqual([]);
  }, 60000);

  test.skipIf(process.platform !== "linux")("kill -9 of the server while its child writes: the child ends with it, and a restart has every key", async () => {
    const dir = tempDir();
    let server = await start({ sync_policy: "always" }, dir);
    const c = await RawClient.connect(server.port);
    await fill(c, 60000, 1000);
    const child = await snapshotChild(c, server.pid);
    expect(await c.request("SET after 5\r\nlater\r\n")).toBe("OK 1"); // only in the new WAL
    process.kill(server.pid, "SIGKILL");
    await server.proc.exited;
    // PR_SET_PDEATHSIG: the child does not outlive the server (it would hold the data_dir lock).
    await waitUntil(() => !existsSync(`/proc/${child}`) || readFileSync(`/proc/${child}/stat`, "latin1").split(") ")[1]!.startsWith("Z"));
    server = await start({ sync_policy: "always" }, dir);
    const c2 = await RawClient.connect(server.port);
    expect((await c2.stats()).keys).toBe("60001");
    expect(await c2.request("GET after\r\n")).toStartWith("VALUE 5 1 -1");
    // The manifest still names the snapshot before; the next one replaces the partial file.
    expect(JSON.parse(readFileSync(join(dir, "MANIFEST.json"), "latin1")).snap).toBe("snap-00000000.osnap");
    expect(await c2.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
    await waitFor("the next snapshot", async () => (await c2.stats()).snapshots_total === "1");
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  }, 60000);
});

describe("the manifest", () => {
  test("a new data_dir gets a manifest before the first client: an empty snapshot and the first WAL", async () => {
    const dir = tempDir();
    const server = await start({}, dir);
    expect(JSON.parse(readFileSync(join(dir, "MANIFEST.json"), "utf8"))).toMatchObject({ version: 1, snap: "snap-00000000.osnap", next_wal: "wal-00000001.oswal" });
    expect((await Bun.file(join(dir, "snap-00000000.osnap")).bytes()).length).toBe(14);
    expect(await server.signal("SIGTERM")).toBe(0);
  });

  test("a missing manifest beside a snapshot and later WALs refuses to start, and --repair recovers every acknowledged write", async () => {
    const dir = tempDir();
    let server = await start({ wal_max_bytes: 64 * 1024 }, dir);
    const w = new Writer("manifest", 400);
    let n = 0;
    await w.run(server.port, () => ++n > 6, 16);
    const c = await RawClient.connect(server.port);
    expect(await c.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
    // Done, not just renamed: the child renames the file before it writes the manifest, and what
    // the manifest made stale is deleted after that.
    await waitFor("the snapshot", async () => (await c.stats()).snapshots_total === "1");
    n = 0;
    await w.run(server.port, () => ++n > 3, 16); // writes after the snapshot live only in the WALs
    expect(await server.signal("SIGTERM")).toBe(0);
    unlinkSync(join(dir, "MANIFEST.json"));

    const refused = spawnServer(["--config", server.configPath]);
    const { code, stderr } = await refused.exited(15000);
    expect(code).toBe(1);
    expect(stderr).toMatch(/MANIFEST\.json is missing but the directory holds snap-\d+\.osnap, wal-\d+\.oswal … wal-\d+\.oswal: refusing to start/);

    server = await start({ wal_max_bytes: 64 * 1024 }, dir, { args: ["--repair"] });
    expect(server.log()).toMatch(/repair: MANIFEST\.json is missing but the directory holds .*; rebuilding the state from snap-\d+\.osnap and \d+ WAL file\(s\)/);
    expect((await w.verify(server.port)).lost).toEqual([]);
    expect(await server.signal("SIGTERM")).toBe(0);
    // The repair wrote a manifest: a plain start now succeeds, with everything still there.
    server = await start({ wal_max_bytes: 64 * 1024 }, dir);
    expect((await w.verify(server.port)).lost).toEqual([]);
    expect(await server.signal("SIGTERM")).toBe(0);
  }, 30000);
});

/** Polls `ready` every 10 ms for up to 10 s. */
async function waitUntil(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !ready(); i++) await Bun.sleep(10);
  expect(ready()).toBe(true);
}
