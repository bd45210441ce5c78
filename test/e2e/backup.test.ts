// Online backup against real server processes: `osprey backup DEST ADDR` while writers run and
// snapshots rotate the WAL, then a server started on the copy is compared key by key with what
// was acknowledged before the backup and sent after it; and the BACKUP command's refusals.

import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { serverEntry, startServer, type RunningServer } from "../support/server.ts";

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "osprey-backup-"));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function start(config: Record<string, unknown>, dataDir: string): Promise<RunningServer> {
  const s = await startServer({ ...config, data_dir: dataDir }, { dataDir });
  cleanup.push(async () => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) await s.signal("SIGKILL");
  });
  return s;
}

async function tool(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, serverEntry, ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Writes `w<id>:0`, `w<id>:1`, … one at a time (each after the previous reply), value `v<id>-<n>-…`. */
class Writer {
  sent = 0;
  acked = 0;
  stopped = false;
  done: Promise<void>;
  constructor(readonly id: number, c: RawClient) {
    this.done = this.#run(c);
  }
  static value(id: number, n: number): string {
    return `v${id}-${n}-${"x".repeat(n % 50)}`;
  }
  async #run(c: RawClient): Promise<void> {
    while (!this.stopped) {
      const v = Writer.value(this.id, this.sent);
      this.sent++;
      await c.send(`SET w${this.id}:${this.sent - 1} ${v.length}\r\n${v}\r\n`);
      const line = await c.line();
      if (line !== "OK 1") throw new Error(`writer ${this.id}: ${line}`);
      this.acked++;
    }
    c.close();
  }
}

async function get(c: RawClient, key: string): Promise<string | null> {
  await c.send(`GET ${key}\r\n`);
  const head = await c.line();
  if (head === "NOT_FOUND") return null;
  const m = /^VALUE (\d+) /.exec(head);
  if (!m) throw new Error(`GET ${key}: ${head}`);
  const value = (await c.bytes(Number(m[1]) + 2)).subarray(0, -2).toString("latin1");
  return value;
}

test("a backup taken under write load restores every write acknowledged before it and none sent after it", async () => {
  const dir = tempDir();
  const dest = join(tempDir(), "copy");
  // A small wal_max_bytes rotates the WAL and starts snapshots (which delete old files) during the copy.
  const server = await start({ wal_max_bytes: 64 * 1024 }, dir);
  const writers: Writer[] = [];
  for (let id = 0; id < 4; id++) writers.push(new Writer(id, await RawClient.connect(server.port)));
  while (writers.some((w) => w.acked < 300)) await Bun.sleep(20);

  const ackedBefore = writers.map((w) => w.acked);
  const admin = await RawClient.connect(server.port);
  await admin.send("SNAPSHOT\r\n");
  const backup = tool(["backup", dest, `127.0.0.1:${server.port}`]);
  const result = await backup;
  const sentAfter = writers.map((w) => w.sent);
  expect(result.stderr).toBe("");
  expect(result.stdout).toContain(`written to ${dest}:`);
  expect(result.code).toBe(0);
  // Writes go on after the backup; none of them may appear in it.
  while (writers.some((w, i) => w.acked < sentAfter[i]! + 100)) await Bun.sleep(20);
  for (const w of writers) w.stopped = true;
  await Promise.all(writers.map((w) => w.done));
  expect(await admin.line()).toMatch(/^(OK snapshot started|ERR BUSY a snapshot is already in progress)$/);
  admin.close();
  expect(await server.signal("SIGTERM")).toBe(0);

  // The copy is a data_dir: a manifest, the snapshot it names, the WALs after it, and BACKUP.json.
  const names = readdirSync(dest).sort();
  expect(names).toContain("MANIFEST.json");
  expect(names).toContain("BACKUP.json");
  const manifest = JSON.parse(readFileSync(join(dest, "MANIFEST.json"), "utf8"));
  expect(names).toContain(manifest.snap);
  expect(names).toContain(manifest.next_wal);
  const record = JSON.parse(readFileSync(join(dest, "BACKUP.json"), "utf8"));
  expect(record.files.map((f: { name: string }) => f.name).sort()).toEqual(names.filter((n) => n !== "MANIFEST.json" && n !== "BACKUP.json"));
  const check = await tool(["check", dest]);
  expect(check.stdout).toContain("status: clean");
  expect(check.code).toBe(0);

  const restored = await start({}, dest);
  const c = await RawClient.connect(restored.port);
  for (const w of writers) {
    // A writer waits for each reply, so the copy holds a prefix of its writes: all those
    // acknowledged before the backup, maybe some after, none sent after it finished.
    let present = 0;
    while (present < w.sent && (await get(c, `w${w.id}:${present}`)) === Writer.value(w.id, present)) present++;
    expect(present).toBeGreaterThanOrEqual(ackedBefore[w.id]!);
    expect(present).toBeLessThanOrEqual(sentAfter[w.id]!);
    for (let n = present; n < w.sent; n++) expect(await get(c, `w${w.id}:${n}`)).toBeNull();
  }
  c.close();
  expect(await restored.signal("SIGTERM")).toBe(0);
}, 120_000);

test("BACKUP refuses a relative path, a directory that is not empty and one inside data_dir; a copy goes into a new directory", async () => {
  const dir = tempDir();
  const other = tempDir();
  writeFileSync(join(other, "keep.txt"), "mine");
  const server = await start({}, dir);
  const c = await RawClient.connect(server.port);
  const ask = async (line: string) => {
    await c.send(line);
    return c.line();
  };
  expect(await ask("BACKUP relative/copy\r\n")).toBe('ERR BADREQ the destination must be an absolute path, got "relative/copy"');
  expect(await ask(`BACKUP ${other}\r\n`)).toBe(`ERR BADREQ ${other} is not empty: a backup goes into a new or empty directory`);
  expect(await ask(`BACKUP ${join(dir, "inside")}\r\n`)).toBe("ERR BADREQ the destination must be outside data_dir");
  expect(await ask("BACKUP\r\n")).toBe("ERR BADREQ wrong number of arguments");
  expect(readFileSync(join(other, "keep.txt"), "utf8")).toBe("mine");
  expect(existsSync(join(dir, "inside"))).toBe(false);

  await c.send("SET k 5\r\nhello\r\n");
  expect(await c.line()).toBe("OK 1");
  const dest = join(other, "new", "copy");
  const r = await tool(["backup", dest, `127.0.0.1:${server.port}`]);
  expect(r.code).toBe(0);
  c.close();
  expect(await server.signal("SIGTERM")).toBe(0);
  const restored = await start({}, dest);
  const d = await RawClient.connect(restored.port);
  expect(await get(d, "k")).toBe("hello");
  d.close();
  expect(await restored.signal("SIGTERM")).toBe(0);
}, 60_000);

test("osprey backup reports a server it cannot reach and a refused destination with exit status 3", async () => {
  const dir = tempDir();
  const server = await start({}, dir);
  const refused = await tool(["backup", dir, `127.0.0.1:${server.port}`]);
  expect(refused.stderr).toBe("osprey backup: the server refused: ERR BADREQ the destination must be outside data_dir\n");
  expect(refused.code).toBe(3);
  expect(await server.signal("SIGTERM")).toBe(0);
  const unreachable = await tool(["backup", join(tempDir(), "copy"), `127.0.0.1:${server.port}`]);
  expect(unreachable.stderr).toStartWith(`osprey backup: cannot connect to the server at 127.0.0.1:${server.port}:`);
  expect(unreachable.code).toBe(3);
  const usage = await tool(["backup"]);
  expect(usage.stderr).toStartWith("usage: osprey backup DEST [ADDR]");
  expect(usage.code).toBe(64);
}, 60_000);
