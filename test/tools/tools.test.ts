// The offline tools as an operator runs them: `bun src/server.ts check|dump|load|repair …` as
// subprocesses, on data directories a real server wrote and then damaged byte by byte, with the
// server started again afterwards to prove what the tools left behind.

import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noExpiry, Store } from "../../src/engine/store.ts";
import { newEntryView, newRecordView, parseEntry, parseRecord, snapHeaderBytes } from "../../src/persistence/format.ts";
import { recover } from "../../src/persistence/recovery.ts";
import { dumpLine } from "../../src/tools/dump.ts";
import { concat, snapFile, snapshotFile, walFile, walRecord, writeManifest } from "../persistence/fixtures.ts";
import { RawClient } from "../support/client.ts";
import { serverEntry, startServer, type RunningServer } from "../support/server.ts";

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "osprey-tools-"));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Runs `bun src/server.ts <args>`; resolves with its exit status and output. */
async function tool(args: string[], stdin?: Uint8Array): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, serverEntry, ...args], { stdin: stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

async function start(dataDir: string, args: string[] = []): Promise<RunningServer> {
  const s = await startServer({ data_dir: dataDir, sync_policy: "always" }, { dataDir, args });
  cleanup.push(async () => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) await s.signal("SIGKILL");
  });
  return s;
}

/** Starts a server on `dataDir`, sends `requests` (each answered by one line), stops it with SIGTERM. */
async function serverWrites(dataDir: string, requests: (string | Uint8Array)[]): Promise<string[]> {
  const s = await start(dataDir);
  const c = await RawClient.connect(s.port);
  const replies: string[] = [];
  for (const r of requests) replies.push(await c.request(r));
  expect(await s.signal("SIGTERM")).toBe(0);
  return replies;
}

const set = (key: string, value: string) => `SET ${key} ${Buffer.byteLength(value)}\r\n${value}\r\n`;
const fiftyKeys = Array.from({ length: 50 }, (_, i) => set(`key:${i}`, `value of key ${i}`));

/** Byte offsets of the records of a WAL, found with format.ts's decoder. */
function recordOffsets(wal: Buffer): number[] {
  const rec = newRecordView();
  const out: number[] = [];
  for (let at = 0; at < wal.length; at += rec.bytes) {
    expect(parseRecord(wal, at, wal.length, rec)).toBeNull();
    out.push(at);
  }
  return out;
}

/** The keys a running server holds among `keys`, with their values. */
async function values(port: number, keys: string[]): Promise<Record<string, string>> {
  const c = await RawClient.connect(port);
  const out: Record<string, string> = {};
  for (const k of keys) {
    const reply = await c.request(`GET ${k}\r\n`);
    if (reply.startsWith("VALUE")) out[k] = reply.slice(reply.indexOf("\r\n") + 2, -2);
  }
  return out;
}

const walPath = (dir: string) => join(dir, "wal-00000001.oswal");

describe("check", () => {
  test("a directory a server wrote and stopped cleanly is clean: exit 0, with counts per file", async () => {
    const dir = tempDir();
    await serverWrites(dir, fiftyKeys);
    const r = await tool(["check", dir]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("MANIFEST.json: snap-00000000.osnap, then the WALs from wal-00000001.oswal on\n");
    expect(r.stdout).toContain("wal-00000001.oswal: ");
    expect(r.stdout).toContain(", 50 good records\n");
    expect(r.stdout).toContain("keys: 50 after replay");
    expect(r.stdout).toEndWith("status: clean (exit 0)\n");
  });

  test("a torn tail exits 1 and changes nothing; dump leaves the torn write out, as a start would", async () => {
    const dir = tempDir();
    await serverWrites(dir, fiftyKeys);
    const wal = readFileSync(walPath(dir));
    const last = recordOffsets(wal).at(-1)!;
    const torn = wal.subarray(0, last + 10);
    writeFileSync(walPath(dir), torn);
    const r = await tool(["check", dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`torn: wal-00000001.oswal: bad record at byte ${last} (the file ends inside a record header), 10 bytes to the end of the newest WAL\n`);
    expect(r.stdout).toContain("status: torn tail");
    expect(Buffer.compare(readFileSync(walPath(dir)), torn)).toBe(0);
    const d = await tool(["dump", dir]);
    expect(d.code).toBe(0);
    expect(d.stdout.trim().split("\n").length).toBe(49);
    expect(d.stderr).toContain("leaving out what a start trims");
  });

  test("a flipped byte in the middle of a WAL exits 2 naming the file, the offset and the key", async () => {
    const dir = tempDir();
    await serverWrites(dir, fiftyKeys);
    const wal = readFileSync(walPath(dir));
    const at = recordOffsets(wal)[25]!;
    wal[at + 40]! ^= 0x20; // inside the value of key:25
    writeFileSync(walPath(dir), wal);
    const r = await tool(["check", dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`damage: wal-00000001.oswal: bad record at byte ${at} (crc mismatch)\n`);
    expect(r.stdout).toContain(`  keys: "key:25"\n`);
    expect(r.stdout).toContain(`first problem: wal-00000001.oswal: bad record at byte ${at} (crc mismatch)\n`);
    expect(r.stdout).toContain("status: damaged");
    // dump refuses a damaged directory rather than print part of it.
    const d = await tool(["dump", dir]);
    expect(d.code).toBe(2);
    expect(d.stdout).toBe("");
    expect(d.stderr).toContain(`is damaged (wal-00000001.oswal: bad record at byte ${at} (crc mismatch))`);
  });

  test("an unreadable MANIFEST.json is damage, named with what the directory holds", async () => {
    const dir = tempDir();
    await serverWrites(dir, fiftyKeys);
    writeFileSync(join(dir, "MANIFEST.json"), "\u0000\u0000garbage");
    const r = await tool(["check", dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/damage: MANIFEST\.json is not valid JSON \(.*\) but the directory holds snap-00000000\.osnap, wal-00000001\.oswal … wal-00000001\.oswal\n/);
    expect(r.stdout).toContain("  repair: rebuilding the state from snap-00000000.osnap and 1 WAL file(s) from wal-00000001.oswal on\n");
  });
});

describe("repair", () => {
  test("one flipped byte in the middle of a WAL of 50 records keeps 49, moves the record's bytes to .broken, and a plain start then serves them", async () => {
    const dir = tempDir();
    await serverWrites(dir, fiftyKeys);
    const wal = readFileSync(walPath(dir));
    const offsets = recordOffsets(wal);
    wal[offsets[25]! + 12]! ^= 0x01; // value_len of key:25's record
    writeFileSync(walPath(dir), wal);
    const r = await tool(["repair", dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`repair: wal-00000001.oswal: bad record at byte ${offsets[25]} (`);
    expect(r.stderr).toContain(`bytes ${offsets[25]}..${offsets[26]} moved to wal-00000001.oswal.broken`);
    expect(r.stdout).toContain(": repaired 1 problem(s) (the log lines on stderr say what and where); 49 keys; a plain start needs no --repair\n");
    expect(Buffer.compare(readFileSync(`${walPath(dir)}.broken`), wal.subarray(offsets[25]!, offsets[26]!))).toBe(0);
    expect((await tool(["check", dir])).code).toBe(0);
    const s = await start(dir);
    const keys = Array.from({ length: 50 }, (_, i) => `key:${i}`);
    const got = await values(s.port, keys);
    expect(Object.keys(got).length).toBe(49);
    expect(got["key:25"]).toBeUndefined();
    expect(got["key:49"]).toBe("value of key 49");
    expect(s.log()).not.toContain("repair");
  });

  test("a server's --repair of a damaged snapshot sticks: the next plain start succeeds with the same keys", async () => {
    const dir = tempDir();
    const s = await start(dir);
    const c = await RawClient.connect(s.port);
    for (const r of fiftyKeys) expect(await c.request(r)).toMatch(/^OK /);
    expect(await c.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
    await s.waitForLog(/snapshot snap-00000001\.osnap done/);
    expect(await c.request(set("after", "the snapshot"))).toBe("OK 1");
    expect(await s.signal("SIGTERM")).toBe(0);

    // Damage entry 10 of the snapshot (entries are in no particular key order).
    const snapPath = join(dir, "snap-00000001.osnap");
    const snap = readFileSync(snapPath);
    const e = newEntryView();
    let at = snapHeaderBytes;
    for (let n = 0; n < 10; n++) {
      expect(parseEntry(snap, at, snap.length, e)).toBeNull();
      at += e.bytes;
    }
    expect(parseEntry(snap, at, snap.length, e)).toBeNull();
    const lost = snap.subarray(e.keyStart, e.keyStart + e.keyLen).toString();
    snap[e.valueStart]! ^= 0x08;
    writeFileSync(snapPath, snap);

    const refused = await tool(["check", dir]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toContain(`damage: snap-00000001.osnap: bad entry 11 of 50 at byte ${at}: crc mismatch\n`);
    expect(refused.stdout).toContain(`  keys: ${JSON.stringify(lost)}\n`);

    const repaired = await start(dir, ["--repair"]);
    expect(repaired.log()).toContain(`keys lost: ${JSON.stringify(lost)}`);
    expect(repaired.log()).toContain("so the next start needs no --repair");
    expect(await repaired.signal("SIGTERM")).toBe(0);
    expect(readdirSync(dir)).toContain("snap-00000001.osnap.broken");

    const plain = await start(dir);
    const keys = [...Array.from({ length: 50 }, (_, i) => `key:${i}`), "after"];
    const got = await values(plain.port, keys);
    expect(Object.keys(got).length).toBe(50);
    expect(got[lost]).toBeUndefined();
    expect(got.after).toBe("the snapshot");
  });

  test("a garbage MANIFEST.json: a plain start refuses naming the files, repair rebuilds it, and a plain start has every key", async () => {
    const dir = tempDir();
    await serverWrites(dir, fiftyKeys);
    writeFileSync(join(dir, "MANIFEST.json"), '{"version":1,"snap":"snap-0000');
    const s = startServer({ data_dir: dir }, { dataDir: dir });
    await expect(s).rejects.toThrow(/cannot recover .*: MANIFEST\.json is not valid JSON .* but the directory holds snap-00000000\.osnap, wal-00000001\.oswal … wal-00000001\.oswal: refusing to start/);
    const r = await tool(["repair", dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("rebuilding the state from snap-00000000.osnap and 1 WAL file(s) from wal-00000001.oswal on");
    const plain = await start(dir);
    expect(Object.keys(await values(plain.port, Array.from({ length: 50 }, (_, i) => `key:${i}`))).length).toBe(50);
  });

  test("repair of a clean directory changes nothing and says so", async () => {
    const dir = tempDir();
    await serverWrites(dir, fiftyKeys);
    const r = await tool(["repair", dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toEndWith(": nothing to repair; 50 keys\n");
    expect(readdirSync(dir).filter((n) => n.includes(".broken") || n.startsWith("snap-00000001"))).toEqual([]);
  });
});

describe("dump and load", () => {
  test("dump prints every key as JSON Lines, binary ones in base64; load puts them in a new data dir a server then serves", async () => {
    const dir = tempDir();
    const binary = "\u00ff\u00fe\u0000\r\n"; // latin1 bytes, not UTF-8
    const utf8 = (request: string) => Buffer.from(request, "utf8");
    await serverWrites(dir, [utf8(set("plain", "héllo")), utf8(set("plain", "héllo again")), `SET ttl 1 PXAT 4102444800000\r\nx\r\n`, `SET bin ${binary.length}\r\n${binary}\r\n`]);
    const d = await tool(["dump", dir]);
    expect(d.code).toBe(0);
    const lines = d.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .sort((a, b) => a.key.localeCompare(b.key));
    expect(lines).toEqual([
      { key: "bin", value: Buffer.from(binary, "latin1").toString("base64"), value_encoding: "base64", version: 1, expiry: -1 },
      { key: "plain", value: "héllo again", version: 2, expiry: -1 },
      { key: "ttl", value: "x", version: 1, expiry: 4102444800000 },
    ]);

    const dumpFile = join(tempDir(), "dump.jsonl");
    writeFileSync(dumpFile, d.stdout);
    const fresh = join(tempDir(), "new");
    const l = await tool(["load", dumpFile, fresh]);
    expect(l.stderr).toBe("");
    expect(l.code).toBe(0);
    expect(l.stdout).toBe(`${fresh}: 3 keys loaded into snap-00000001.osnap from 3 lines\n`);
    expect((await tool(["check", fresh])).code).toBe(0);
    const again = await tool(["dump", fresh]);
    expect(again.stdout.trim().split("\n").sort()).toEqual(d.stdout.trim().split("\n").sort());

    const s = await start(fresh);
    const c = await RawClient.connect(s.port);
    expect(await c.request("GET plain\r\n")).toBe(`VALUE ${Buffer.byteLength("héllo again")} 2 -1\r\n${Buffer.from("héllo again").toString("latin1")}\r\n`);
    expect(await c.request("GET bin\r\n")).toBe(`VALUE 5 1 -1\r\n${binary}\r\n`);
  });

  test("dump streams the snapshot through what the WALs changed: the same keys, values, versions and expiries as a start recovers", async () => {
    const future = 4102444800000;
    const snapshot = snapshotFile([
      { key: "kept", value: "k", version: 1 },
      { key: "overwritten", value: "old", version: 1 },
      { key: "deleted", value: "d", version: 2 },
      { key: "persisted", value: "p", version: 3, expiryMs: future },
      { key: "expired-by-wal", value: "e", version: 4 },
      { key: "expired-in-snapshot", value: "x", version: 5, expiryMs: 1000 },
      { key: "in-batch", value: "b", version: 6 },
    ]);
    const wal = concat([
      walRecord({ type: 0, key: "overwritten", value: "new", version: 2 }),
      walRecord({ type: 1, key: "deleted" }),
      walRecord({ type: 2, key: "persisted", expiryMs: noExpiry, version: 3 }),
      walRecord({ type: 2, key: "expired-by-wal", expiryMs: 1000, version: 4 }),
      walRecord({ type: 2, key: "expired-in-snapshot", expiryMs: future, version: 5 }),
      walRecord({ type: 2, key: "never-existed", expiryMs: future, version: 1 }),
      walRecord({ type: 1, key: "born-and-deleted" }),
      walRecord({ type: 0, key: "born", value: new Uint8Array([0xff, 0x00]), version: 1 }),
      walRecord({ type: 3, version: 2, value: concat([walRecord({ type: 0, key: "in-batch", value: "b2", version: 7 }), walRecord({ type: 2, key: "born", expiryMs: future, version: 1 })]) }),
    ]);
    const afterClear = concat([walRecord({ type: 4 }), walRecord({ type: 0, key: "after-clear", value: "c", version: 1 }), walRecord({ type: 1, key: "kept" }), walRecord({ type: 2, key: "persisted", expiryMs: future, version: 3 })]);
    const cases: Record<string, { log: Uint8Array; keys: string[] }> = {
      "without a clear": { log: wal, keys: ["born", "in-batch", "kept", "overwritten", "persisted"] },
      "with a clear after them": { log: concat([wal, afterClear]), keys: ["after-clear"] },
    };
    for (const [name, { log, keys }] of Object.entries(cases)) {
      const dir = tempDir();
      writeFileSync(join(dir, snapFile(1)), snapshot);
      writeManifest(dir, 1, 2);
      writeFileSync(join(dir, walFile(2)), log);
      const store = new Store();
      recover(dir, store, { check: true });
      const expected: string[] = [];
      store.forEach((id) => {
        const b = store.buffer(id);
        const ks = store.keyOffset(id);
        const vs = store.valueOffset(id);
        expected.push(dumpLine(b.subarray(ks, ks + store.keyLength(id)), b.subarray(vs, vs + store.valueLength(id)), store.version(id), store.expiry(id)));
      });
      const d = await tool(["dump", dir]);
      expect(d.code).toBe(0);
      const lines = d.stdout.trim().split("\n").sort();
      expect({ name, lines }).toEqual({ name, lines: expected.sort() });
      expect({ name, keys: lines.map((l) => JSON.parse(l).key) }).toEqual({ name, keys });
    }
  });

  test("load reads stdin with -, refuses a directory that is not new, and refuses a bad line leaving nothing behind", async () => {
    const root = tempDir();
    const input = new TextEncoder().encode('{"key":"a","value":"1","version":3,"expiry":-1}\n{"key":"b","value":"Ag==","value_encoding":"base64","version":1,"expiry":-1}\n');
    const ok = await tool(["load", "-", join(root, "from-stdin")], input);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("2 keys loaded");

    const notNew = await tool(["load", "-", join(root, "from-stdin")], input);
    expect(notNew.code).toBe(3);
    expect(notNew.stderr).toContain("is not a new data directory (it holds ");

    const bad = new TextEncoder().encode('{"key":"a","value":"1","version":1,"expiry":-1}\n{"key":"","value":"1","version":1}\n');
    const refused = await tool(["load", "-", join(root, "bad")], bad);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe("osprey load: line 2: the key is 0 bytes, outside 1..65536\n");
    expect(existsSync(join(root, "bad"))).toBe(false);
  });
});

describe("the tools and a live server", () => {
  test("every tool refuses a directory a running server holds, naming its pid", async () => {
    const dir = tempDir();
    const s = await start(dir);
    for (const args of [["check", dir], ["dump", dir], ["repair", dir]]) {
      const r = await tool(args);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`is in use by another Osprey server (pid ${s.pid}): refusing to touch it`);
    }
  });

  test("wrong arguments print the tool's usage and exit 64", async () => {
    const none = await tool(["check"]);
    expect(none.code).toBe(64);
    expect(none.stderr).toStartWith("usage: osprey check DATA_DIR");
    const one = await tool(["load", "only-one"]);
    expect(one.code).toBe(64);
    expect(one.stderr).toStartWith("usage: osprey load FILE DATA_DIR");
  });
});
