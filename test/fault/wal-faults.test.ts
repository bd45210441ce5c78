// Injected I/O failures under the write-ahead log and snapshots (test/fault/shim.c, LD_PRELOAD): a
// reservation (fallocate) or write() that fails with ENOSPC, EIO or EROFS, an fdatasync that
// fails. Whatever fails, no acknowledged write is lost, the server refuses writes rather than
// acknowledging what it cannot log, STATS `wal_status` and INFO's persistence section say so the
// moment it begins and say "ok" again the moment writes are accepted.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { Faults, type FaultErrno } from "./shim.ts";

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "osprey-fault-data-"));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function faults(match: string): Faults {
  const f = new Faults(match);
  cleanup.push(() => f.remove());
  return f;
}

async function start(dataDir: string, config: Record<string, unknown>, env?: Record<string, string>): Promise<RunningServer> {
  const s = await startServer({ ...config, data_dir: dataDir }, { dataDir, env });
  cleanup.push(async () => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) await s.signal("SIGKILL");
  });
  return s;
}

async function kill(s: RunningServer): Promise<void> {
  process.kill(s.pid, "SIGKILL");
  await s.proc.exited;
}

/** wal_status as STATS (text) and INFO persistence (RESP) give it, unquoted. */
async function walStatus(port: number): Promise<{ stats: string; info: string }> {
  const t = await RawClient.connect(port);
  const stats = JSON.parse((await t.stats()).wal_status!) as string;
  t.close();
  const r = await RawClient.connect(port);
  await r.send("*2\r\n$4\r\nINFO\r\n$11\r\npersistence\r\n");
  const len = Number((await r.line()).slice(1));
  const body = (await r.bytes(len + 2)).toString("latin1");
  r.close();
  const info = /^wal_status:(.*)\r$/m.exec(body)?.[1] ?? `(no wal_status in ${JSON.stringify(body)})`;
  return { stats, info };
}

const big = "b".repeat(1_200_000); // over the WAL's 1 MiB reservation chunk: its SET must reserve

describe("a reservation (fallocate) the file system refuses", () => {
  const cases: [FaultErrno, RegExp][] = [
    ["ENOSPC", /^refusing writes: no room for the write-ahead log: ENOSPC/],
    ["EIO", /^refusing writes: the write-ahead log cannot reserve room: EIO/],
    ["EROFS", /^refusing writes: the write-ahead log cannot reserve room: EROFS/],
  ];
  for (const [errno, status] of cases) {
    test(`${errno}: the write is refused before it is applied, STATS and INFO say why at once and "ok" once writes fit, nothing acknowledged is lost`, async () => {
      const dir = tempDir();
      const f = faults(".oswal");
      let server = await start(dir, { sync_policy: "always" }, f.env);
      const c = await RawClient.connect(server.port);
      expect(await c.request("SET before 1\r\nx\r\n")).toBe("OK 1");
      f.arm(errno, ["fallocate"]);
      expect(await c.request(`SET big ${big.length}\r\n${big}\r\n`)).toMatch(new RegExp(`^ERR INTERNAL write not applied: .*${errno}`));
      expect(f.lines().some((l) => l.startsWith("fallocate ") && l.endsWith(".oswal"))).toBe(true);
      const refusing = await walStatus(server.port);
      expect(refusing.stats).toMatch(status);
      expect(refusing.info).toBe(refusing.stats);
      // An MSET and an EXEC that need room are refused whole: not even their first key is applied.
      expect(await c.request(`MSET m1 1 m2 ${big.length}\r\nx${big}\r\n`)).toMatch(/^ERR INTERNAL write not applied/);
      const r = await RawClient.connect(server.port);
      await r.send(`*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$2\r\ne1\r\n$1\r\nx\r\n*3\r\n$3\r\nSET\r\n$2\r\ne2\r\n$${big.length}\r\n${big}\r\n*1\r\n$4\r\nEXEC\r\n`);
      expect([await r.line(), await r.line(), await r.line(), await r.line()]).toEqual(["+OK", "+QUEUED", "+QUEUED", expect.stringMatching(/^-ERR INTERNAL write not applied/)]);
      for (const k of ["big", "m1", "e1", "e2"]) expect(await c.request(`GET ${k}\r\n`)).toBe("NOT_FOUND");
      expect(await c.request("GET before\r\n")).toBe("VALUE 1 1 -1\r\nx\r\n");
      expect((await walStatus(server.port)).stats).toMatch(status);
      // The file system recovers: the next write is accepted and the status says so.
      await f.clear();
      expect(await c.request(`SET big ${big.length}\r\n${big}\r\n`)).toBe("OK 1");
      expect(await walStatus(server.port)).toEqual({ stats: "ok", info: "ok" });
      await kill(server);
      server = await start(dir, { sync_policy: "always" });
      const c2 = await RawClient.connect(server.port);
      expect(await c2.request("GET before\r\n")).toBe("VALUE 1 1 -1\r\nx\r\n");
      expect((await c2.request("GET big\r\n")).length).toBe(`VALUE ${big.length} 1 -1\r\n`.length + big.length + 2);
      expect((await c2.stats()).keys).toBe("2");
    }, 30_000);
  }

  test('a small write that fits the room reserved before a refusal is accepted, and wal_status says "ok" again', async () => {
    const dir = tempDir();
    const f = faults(".oswal");
    const server = await start(dir, { sync_policy: "batch" }, f.env);
    const c = await RawClient.connect(server.port);
    expect(await c.request("SET a 1\r\nx\r\n")).toBe("OK 1");
    f.arm("EIO", ["fallocate"]);
    expect(await c.request(`SET big ${big.length}\r\n${big}\r\n`)).toMatch(/^ERR INTERNAL write not applied: the write-ahead log cannot reserve room: EIO/);
    expect((await walStatus(server.port)).stats).toMatch(/^refusing writes: /);
    // Still armed: this write needs no reservation, so it is accepted, and the status follows.
    expect(await c.request("SET a 1\r\ny\r\n")).toBe("OK 2");
    expect(f.armed).toBe(true);
    expect(await walStatus(server.port)).toEqual({ stats: "ok", info: "ok" });
  }, 30_000);
});

describe("a write() the OS refuses", () => {
  for (const errno of ["EIO", "ENOSPC"] as const) {
    test(`${errno}: the write's reply is held, new writes are refused, STATS and INFO say "failing" at once, and after the fault clears the held write is acknowledged and survives kill -9`, async () => {
      const dir = tempDir();
      const f = faults(".oswal");
      let server = await start(dir, { sync_policy: "always" }, f.env);
      const writer = await RawClient.connect(server.port);
      expect(await writer.request("SET before 1\r\nx\r\n")).toBe("OK 1");
      await f.armWrite(errno);
      // The write is applied in memory, its write() fails: no reply until it is on disk.
      await writer.send("SET held 1\r\ny\r\n");
      const held = writer.line();
      expect(await Promise.race([held, Bun.sleep(600).then(() => "no reply")])).toBe("no reply");
      const status = await walStatus(server.port);
      expect(status.stats).toMatch(new RegExp(`^failing: write wal-00000001\\.oswal: ${errno}`));
      expect(status.info).toBe(status.stats);
      const other = await RawClient.connect(server.port);
      expect(await other.request("SET refused 1\r\nz\r\n")).toMatch(new RegExp(`^ERR INTERNAL write not applied: the write-ahead log cannot be written \\(write wal-00000001\\.oswal: ${errno}`));
      expect(await other.request("GET refused\r\n")).toBe("NOT_FOUND");
      expect(await other.request("GET before\r\n")).toBe("VALUE 1 1 -1\r\nx\r\n"); // reads go on
      expect(server.log()).toMatch(/write-ahead log failing, writes refused until it recovers/);
      // The fault clears: the retry writes the held record, syncs it, and releases the reply.
      await f.clear();
      expect(await held).toBe("OK 1");
      expect(await walStatus(server.port)).toEqual({ stats: "ok", info: "ok" });
      expect(await other.request("SET after 1\r\nw\r\n")).toBe("OK 1");
      await kill(server);
      server = await start(dir, { sync_policy: "always" });
      const c = await RawClient.connect(server.port);
      expect(await c.request("GET held\r\n")).toBe("VALUE 1 1 -1\r\ny\r\n");
      expect(await c.request("GET after\r\n")).toBe("VALUE 1 1 -1\r\nw\r\n");
      expect(await c.request("GET refused\r\n")).toBe("NOT_FOUND");
      expect((await c.stats()).keys).toBe("3");
    }, 30_000);
  }
});

describe("a write() the OS refuses while the turn holds a large value logged by reference", () => {
  test("the held large SET is written byte for byte once the fault clears, acknowledged, and survives kill -9", async () => {
    const dir = tempDir();
    const f = faults(".oswal");
    let server = await start(dir, { sync_policy: "os" }, f.env);
    const writer = await RawClient.connect(server.port);
    expect(await writer.request("SET before 1\r\nx\r\n")).toBe("OK 1");
    await f.armWrite("EIO");
    // Its value is in the keyspace's own buffer, which the turn's writev would send: refused, the
    // bytes are kept in the log's buffer and retried.
    const value = Array.from({ length: 300_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    await writer.send(`SET held ${value.length}\r\n${value}\r\n`);
    const held = writer.line();
    expect(await Promise.race([held, Bun.sleep(600).then(() => "no reply")])).toBe("no reply");
    expect((await walStatus(server.port)).stats).toMatch(/^failing: write wal-00000001\.oswal: EIO/);
    await f.clear();
    expect(await held).toBe("OK 1");
    await kill(server);
    server = await start(dir, { sync_policy: "os" });
    const c = await RawClient.connect(server.port);
    expect(await c.request("GET held\r\n")).toBe(`VALUE ${value.length} 1 -1\r\n${value}\r\n`);
    expect(await c.request("GET before\r\n")).toBe("VALUE 1 1 -1\r\nx\r\n");
  }, 30_000);
});

describe("an fdatasync that fails", () => {
  for (const policy of ["always", "batch"] as const) {
    test(`"${policy}": the server stops (exit 70) naming the failure, sends no reply it cannot stand behind, and a restart has every acknowledged write`, async () => {
      const dir = tempDir();
      const f = faults(".oswal");
      let server = await start(dir, { sync_policy: policy, batch_fsync_ms: 20 }, f.env);
      const c = await RawClient.connect(server.port);
      const acked: string[] = [];
      for (let i = 0; i < 50; i++) {
        expect(await c.request(`SET k${i} 1\r\nv\r\n`)).toBe("OK 1");
        acked.push(`k${i}`);
      }
      f.arm("EIO", ["fdatasync"]);
      // Under "always" the reply waits for the sync, which fails; under "batch" it was sent after
      // the write(), and the failing sync follows within batch_fsync_ms.
      const replies: string[] = [];
      try {
        for (let i = 0; i < 1000; i++) {
          const reply = await c.request(`SET late${i} 1\r\nv\r\n`);
          replies.push(reply);
          if (reply === "OK 1") acked.push(`late${i}`);
        }
      } catch {
        // the server stopped
      }
      expect(await server.proc.exited).toBe(70);
      expect(server.log()).toMatch(/fdatasync wal-00000001\.oswal failed \(EIO.*\): stopping/);
      expect(replies.every((r) => r === "OK 1")).toBe(true);
      if (policy === "always") expect(replies).toEqual([]);
      await f.clear();
      server = await start(dir, { sync_policy: policy });
      const c2 = await RawClient.connect(server.port);
      await c2.send(acked.map((k) => `GET ${k}\r\n`).join(""));
      for (const k of acked) expect([k, await c2.reply()]).toEqual([k, "VALUE 1 1 -1\r\nv\r\n"]);
    }, 30_000);
  }
});

describe("an fdatasync that fails while the log rotates to its next file", () => {
  test("the server stops (exit 70) instead of closing the file as complete, and a restart has every acknowledged write", async () => {
    const dir = tempDir();
    const f = faults(".oswal");
    // Rotation after 64 KiB; no batch sync or snapshot gets there first.
    const config = { sync_policy: "batch", batch_fsync_ms: 60_000, batch_fsync_bytes: 1 << 30, wal_max_bytes: 65_536, enable_snapshot: false };
    let server = await start(dir, config, f.env);
    const c = await RawClient.connect(server.port);
    const value = "a".repeat(40_000);
    expect(await c.request(`SET a ${value.length}\r\n${value}\r\n`)).toBe("OK 1");
    // The kernel reports a writeback error once: the sync of the rotation is the one that sees it.
    f.arm("EIO", ["fdatasync"], { once: true });
    let reply = "";
    try {
      reply = await c.request(`SET b ${value.length}\r\n${value}\r\n`);
    } catch {
      // the server stopped
    }
    expect(await server.proc.exited).toBe(70);
    expect(server.log()).toMatch(/fdatasync wal-00000001\.oswal failed \(EIO.*\): stopping/);
    expect(server.log()).not.toContain("writable again");
    await f.clear();
    server = await start(dir, { ...config, enable_snapshot: true });
    const c2 = await RawClient.connect(server.port);
    await c2.send("GET a\r\nGET b\r\n");
    expect(await c2.reply()).toBe(`VALUE ${value.length} 1 -1\r\n${value}\r\n`);
    // b's reply, if it got out before the sync, is a promise recovery keeps too.
    const b = await c2.reply();
    if (reply === "OK 1") expect(b).toBe(`VALUE ${value.length} 1 -1\r\n${value}\r\n`);
  }, 30_000);
});

describe('sync_policy "os" leaves a rotated log file to the kernel', () => {
  // Rotation after 64 KiB; no snapshot deletes a rotated file.
  const config = { sync_policy: "os", wal_max_bytes: 65_536, enable_snapshot: false };
  const value = "a".repeat(40_000);

  /** Stops the server cleanly, starts it again on `dir`, and reads back a, b, c and d whole. */
  async function expectEveryKeyAfterRestart(dir: string, server: Awaited<ReturnType<typeof start>>): Promise<void> {
    expect(await server.signal("SIGTERM")).toBe(0);
    const again = await start(dir, config);
    const c = await RawClient.connect(again.port);
    for (const k of ["a", "b", "c", "d"]) expect(await c.request(`GET ${k}\r\n`)).toBe(`VALUE ${value.length} 1 -1\r\n${value}\r\n`);
  }

  test("rotations call no fdatasync (one that would fail stops nothing), and every write survives a restart", async () => {
    const dir = tempDir();
    const f = faults(".oswal");
    const server = await start(dir, config, f.env);
    const c = await RawClient.connect(server.port);
    f.arm("EIO", ["fdatasync"]); // "batch" or "always" would stop here with exit 70 at the first rotation
    for (const k of ["a", "b", "c", "d"]) expect(await c.request(`SET ${k} ${value.length}\r\n${value}\r\n`)).toBe("OK 1");
    expect(server.proc.exitCode).toBeNull();
    expect(JSON.parse((await c.stats()).wal_current!)).not.toBe("wal-00000001.oswal");
    await f.clear();
    c.close();
    await expectEveryKeyAfterRestart(dir, server);
  }, 30_000);

  test("a rotation's directory sync runs off the event loop: one that fails is logged, and the log goes on in the new file", async () => {
    const dir = tempDir();
    const f = faults(dir);
    const server = await start(dir, config, f.env);
    const c = await RawClient.connect(server.port);
    // Files are synced with fdatasync: only the directory's fsync fails. "batch" and "always"
    // sync it before going on, and a failure there keeps the log in its current file.
    f.arm("EIO", ["fsync"]);
    for (const k of ["a", "b", "c", "d"]) expect(await c.request(`SET ${k} ${value.length}\r\n${value}\r\n`)).toBe("OK 1");
    const deadline = Date.now() + 10_000;
    while (!/syncing .* after a rotation failed \(.*EIO/.test(server.log())) {
      if (Date.now() > deadline) throw new Error(`no failed directory sync logged; shim log: ${f.lines().join(" | ")}`);
      await Bun.sleep(20);
    }
    expect(JSON.parse((await c.stats()).wal_current!)).not.toBe("wal-00000001.oswal");
    await f.clear();
    c.close();
    await expectEveryKeyAfterRestart(dir, server);
  }, 30_000);

  test("a clean shutdown syncs the rotated files as well as the current one", async () => {
    const dir = tempDir();
    const f = faults(".oswal");
    const server = await start(dir, config, f.env);
    const c = await RawClient.connect(server.port);
    for (const k of ["a", "b", "c"]) expect(await c.request(`SET ${k} ${value.length}\r\n${value}\r\n`)).toBe("OK 1");
    c.close();
    // The first fdatasync the shutdown makes fails: it must be the oldest rotated file's.
    f.arm("EIO", ["fdatasync"], { once: true });
    await server.signal("SIGTERM");
    expect(server.log()).toMatch(/closing wal-0000000\d\.oswal: fdatasync wal-00000001\.oswal: EIO/);
  }, 30_000);
});

describe("a snapshot whose file cannot be synced", () => {
  test("the snapshot fails and is counted, writes and the log go on, the next snapshot succeeds, and nothing is lost", async () => {
    const dir = tempDir();
    const f = faults(".osnap");
    let server = await start(dir, { sync_policy: "always", enable_snapshot: true }, f.env);
    const c = await RawClient.connect(server.port);
    for (let i = 0; i < 100; i++) expect(await c.request(`SET k${i} 2\r\nv${i % 10}\r\n`)).toBe("OK 1");
    f.arm("EIO", ["fdatasync", "fsync"]);
    expect(await c.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
    const deadline = Date.now() + 10_000;
    while ((await c.stats()).snapshot_failures_total !== "1") {
      if (Date.now() > deadline) throw new Error(`the snapshot did not fail; shim log: ${f.lines().join(" | ")}`);
      await Bun.sleep(20);
    }
    expect(f.lines().some((l) => /^(fdatasync|fsync) .*\.osnap/.test(l))).toBe(true);
    const stats = await c.stats();
    expect(stats.snapshots_total).toBe("0");
    expect(stats.wal_status).toBe('"ok"');
    expect(await c.request("SET after 1\r\nx\r\n")).toBe("OK 1");
    await f.clear();
    expect(await c.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
    while ((await c.stats()).snapshots_total !== "1") {
      if (Date.now() > deadline) throw new Error("the second snapshot did not complete");
      await Bun.sleep(20);
    }
    await kill(server);
    server = await start(dir, { sync_policy: "always" });
    const c2 = await RawClient.connect(server.port);
    expect((await c2.stats()).keys).toBe("101");
    expect(await c2.request("GET k57\r\n")).toBe("VALUE 2 1 -1\r\nv7\r\n");
    expect(await c2.request("GET after\r\n")).toBe("VALUE 1 1 -1\r\nx\r\n");
  }, 30_000);
});
