// Recovery from data directories built byte by byte from the format description: the original's
// files, torn tails at every byte offset, damage in the middle, missing files, --repair.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noExpiry, Store } from "../../src/engine/store.ts";
import { fileReadChunkBytes } from "../../src/constants.ts";
import { encodeEntry, entryBytes, putSnapHeader, snapHeaderBytes } from "../../src/persistence/format.ts";
import { recover, RecoveryError } from "../../src/persistence/recovery.ts";
import { captureLog, concat, snapFile, snapshotFile, walFile, walRecord, writeManifest } from "./fixtures.ts";

const SET = 0;
const DEL = 1;
const EXPIRE = 2;
const BATCH = 3;
const CLEAR = 4;
const CLEAR_BATCH = 5;
const future = 4102444800000; // 2100-01-01
const past = 1000;

const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), "osprey-recovery-"));
  dirs.push(d);
  return d;
}
// Recovery reports what it trims and repairs in the log: each test asserts on the lines it
// provokes, and any other warning or error fails it.
let logged: ReturnType<typeof captureLog>;
beforeEach(() => {
  logged = captureLog();
});
afterEach(() => {
  logged.restore();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  expect(logged.unexpected()).toEqual([]);
});

type Dump = Record<string, { value: string; version: number; expiry: number }>;

function dump(store: Store): Dump {
  const out: Dump = {};
  store.forEach((id) => {
    const b = store.buffer(id);
    const ks = store.keyOffset(id);
    const key = b.subarray(ks, ks + store.keyLength(id)).toString("latin1");
    const vs = store.valueOffset(id);
    out[key] = { value: b.subarray(vs, vs + store.valueLength(id)).toString("latin1"), version: store.version(id), expiry: store.expiry(id) };
  });
  return out;
}

function recoverDir(dir: string, repair = false, check = false) {
  const store = new Store();
  const result = recover(dir, store, { repair, check });
  return { store, result, state: dump(store) };
}

describe("files written by the original Osprey", () => {
  test("manifest → snapshot → WALs from next_wal recover the exact state; older WALs and expired entries are ignored", () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, snapFile(1)),
      snapshotFile([
        { key: "kept", value: "from-snapshot", version: 4 },
        { key: "gone-later", value: "x", version: 1 },
        { key: "expired", value: "old", version: 2, expiryMs: past },
        { key: "ttl", value: "t", version: 9, expiryMs: future },
      ]),
    );
    writeManifest(dir, 1, 2);
    // wal-1 predates the snapshot: replaying it would resurrect "stale".
    writeFileSync(join(dir, walFile(1)), walRecord({ type: SET, key: "stale", value: "no", version: 1 }));
    writeFileSync(
      join(dir, walFile(2)),
      concat([
        walRecord({ type: SET, key: "new", value: "v1", version: 1 }),
        walRecord({ type: SET, key: "new", value: "v2", version: 2 }),
        walRecord({ type: DEL, key: "gone-later" }),
        walRecord({ type: EXPIRE, key: "kept", expiryMs: future, version: 4 }),
        walRecord({ type: 9, key: "future-type", value: "ignored" }),
        walRecord({ type: SET, key: "born-expired", value: "z", expiryMs: past, version: 1 }),
      ]),
    );
    writeFileSync(join(dir, walFile(3)), walRecord({ type: EXPIRE, key: "ttl", expiryMs: noExpiry, version: 9 }));
    const { state, result } = recoverDir(dir);
    expect(state).toEqual({
      kept: { value: "from-snapshot", version: 4, expiry: future },
      ttl: { value: "t", version: 9, expiry: noExpiry },
      new: { value: "v2", version: 2, expiry: noExpiry },
    });
    expect(result.snapIndex).toBe(1);
    expect(result.walIndex).toBe(3);
    expect(result.entriesLoaded).toBe(3);
    expect(result.recordsReplayed).toBe(7);
    expect(result.trimmedBytes).toBe(0);
    expect(logged.take(/^WARN /)).toEqual(["WARN recovery: skipping WAL records of unknown type 9 (written by a newer Osprey?)"]);
  });

  test("without a manifest every WAL is replayed from the lowest index", () => {
    const dir = freshDir();
    writeFileSync(join(dir, walFile(1)), walRecord({ type: SET, key: "a", value: "1", version: 1 }));
    writeFileSync(join(dir, walFile(2)), walRecord({ type: SET, key: "a", value: "22", version: 2 }));
    const { state, result } = recoverDir(dir);
    expect(state).toEqual({ a: { value: "22", version: 2, expiry: noExpiry } });
    expect(result.walIndex).toBe(2);
    expect(result.walBytes).toBe(statSync(join(dir, walFile(2))).size);
  });

  test("without a manifest, WALs that no longer start at wal-00000001 are refused, and --repair replays them", () => {
    const dir = freshDir();
    writeFileSync(join(dir, walFile(3)), walRecord({ type: SET, key: "a", value: "1", version: 4 }));
    writeFileSync(join(dir, walFile(4)), walRecord({ type: SET, key: "a", value: "22", version: 5 }));
    expect(() => recoverDir(dir)).toThrow(`MANIFEST.json is missing but the directory holds ${walFile(3)} … ${walFile(4)}: refusing to start`);
    const { state, result } = recoverDir(dir, true);
    expect(state).toEqual({ a: { value: "22", version: 5, expiry: noExpiry } });
    // The repaired state is a snapshot with a manifest naming it and a new WAL after the old ones.
    expect(result.nextWalIndex).toBe(5);
    expect(result.snapIndex).toBe(1);
    expect(JSON.parse(readFileSync(join(dir, "MANIFEST.json"), "utf8"))).toMatchObject({ snap: snapFile(1), next_wal: walFile(5) });
    expect(logged.take(/^ERROR repair:/)).toEqual([
      `ERROR repair: MANIFEST.json is missing but the directory holds ${walFile(3)} … ${walFile(4)}; rebuilding the state from no snapshot and 2 WAL file(s) from ${walFile(3)} on`,
    ]);
    expect(recoverDir(dir).state).toEqual(state);
  });

  test("an unreadable MANIFEST.json refuses to start naming what the directory holds; --repair rebuilds from the newest snapshot that checks whole and every WAL, and sticks", () => {
    const dir = freshDir();
    writeFileSync(join(dir, snapFile(1)), snapshotFile([{ key: "a", value: "from-snap-1", version: 1 }]));
    const newer = snapshotFile([{ key: "a", value: "from-snap-2", version: 2 }]);
    newer[newer.length - 1]! ^= 0x01;
    writeFileSync(join(dir, snapFile(2)), newer);
    writeFileSync(join(dir, walFile(2)), walRecord({ type: SET, key: "c", value: "3", version: 1 }));
    writeFileSync(join(dir, walFile(3)), walRecord({ type: SET, key: "d", value: "4", version: 1 }));
    writeFileSync(join(dir, "MANIFEST.json"), '{"version":1,"sn');
    expect(() => recoverDir(dir)).toThrow(
      new RegExp(`^MANIFEST\\.json is not valid JSON \\(.*\\) but the directory holds ${snapFile(1)}, ${snapFile(2)}, ${walFile(2)} … ${walFile(3)}: refusing to start \\(--repair rebuilds`),
    );
    const { state } = recoverDir(dir, true);
    expect(Object.keys(state).sort()).toEqual(["a", "c", "d"]);
    expect(state.a!.value).toBe("from-snap-1");
    expect(logged.take(/^ERROR repair:/)).toEqual([
      expect.stringMatching(
        new RegExp(`^ERROR repair: MANIFEST\\.json is not valid JSON .*; rebuilding the state from ${snapFile(1)} \\(${snapFile(2)} did not check whole\\) and 2 WAL file\\(s\\) from ${walFile(2)} on$`),
      ),
      `ERROR repair: set ${snapFile(2)} aside as ${snapFile(2)}.broken`,
    ]);
    expect(logged.take(/^INFO repair:/)).toEqual([expect.stringContaining(`written to ${snapFile(3)} and MANIFEST.json; the WAL continues in ${walFile(4)}`)]);
    expect(recoverDir(dir).state).toEqual(state);
  });

  test("a MANIFEST.json naming no files is refused even in a directory holding nothing else; --repair writes a good one", () => {
    const dir = freshDir();
    writeFileSync(join(dir, "MANIFEST.json"), '{"version":1}');
    expect(() => recoverDir(dir)).toThrow('MANIFEST.json does not name a snapshot and a next WAL: {"version":1}: refusing to start');
    expect(recoverDir(dir, true).state).toEqual({});
    logged.take(/repair:/);
    expect(JSON.parse(readFileSync(join(dir, "MANIFEST.json"), "utf8"))).toMatchObject({ snap: snapFile(1), next_wal: walFile(1) });
    expect(recoverDir(dir).result.problems).toEqual([]);
  });

  test("a snapshot larger than the read chunk recovers: entries that straddle a chunk boundary are read whole", () => {
    const dir = freshDir();
    const value = new Uint8Array(100).fill(97);
    const n = Math.ceil((fileReadChunkBytes * 1.5) / entryBytes(12, 100));
    const snap = Buffer.alloc(snapHeaderBytes + n * entryBytes(12, 100));
    let at = putSnapHeader(snap, 0, n);
    for (let i = 0; i < n; i++) {
      const key = Buffer.from(`key:${String(i).padStart(8, "0")}`);
      at = encodeEntry(snap, at, key, 0, key.length, value, 0, value.length, noExpiry, i + 1);
    }
    writeFileSync(join(dir, snapFile(1)), snap);
    writeManifest(dir, 1, 2);
    const store = new Store();
    expect(recover(dir, store).entriesLoaded).toBe(n);
    expect(store.size).toBe(n);
    const last = Buffer.from(`key:${String(n - 1).padStart(8, "0")}`);
    expect(store.version(store.find(last, 0, last.length))).toBe(n);
  });

  test("binary keys and values (bytes ≥ 0x80, NUL, CR, LF) survive byte for byte", () => {
    const dir = freshDir();
    const value = new Uint8Array(256).map((_, i) => i);
    writeFileSync(join(dir, walFile(1)), walRecord({ type: SET, key: new Uint8Array([0xc3, 0xa9, 0x41]), value, version: 7 }));
    const { store } = recoverDir(dir);
    const id = store.find(new Uint8Array([0xc3, 0xa9, 0x41]), 0, 3);
    expect(id).toBeGreaterThanOrEqual(0);
    const vs = store.valueOffset(id);
    expect(Array.from(store.buffer(id).subarray(vs, vs + store.valueLength(id)))).toEqual(Array.from(value));
    expect(store.version(id)).toBe(7);
  });
});

describe("batches and clears (record types added by this Osprey)", () => {
  const batch = (items: Uint8Array[]) => walRecord({ type: BATCH, value: concat(items), version: items.length });

  test("a whole MSET batch applies every item", () => {
    const dir = freshDir();
    writeFileSync(join(dir, walFile(1)), batch([walRecord({ type: SET, key: "x", value: "1", version: 1 }), walRecord({ type: SET, key: "y", value: "2", version: 1 })]));
    expect(Object.keys(recoverDir(dir).state).sort()).toEqual(["x", "y"]);
  });

  test("a batch torn at any byte applies none of its items", () => {
    const whole = batch([walRecord({ type: SET, key: "x", value: "1", version: 1 }), walRecord({ type: SET, key: "y", value: "2", version: 1 })]);
    const first = walRecord({ type: SET, key: "before", value: "b", version: 1 });
    for (let cut = 1; cut < whole.length; cut++) {
      const dir = freshDir();
      writeFileSync(join(dir, walFile(1)), concat([first, whole.subarray(0, cut)]));
      const { state, result } = recoverDir(dir);
      expect(Object.keys(state)).toEqual(["before"]);
      expect(result.trimmedBytes).toBe(cut);
      expect(logged.take(/^WARN recovery: trimmed/)).toEqual([expect.stringContaining(`trimmed ${cut} bytes from the end of ${walFile(1)} at byte ${first.length} `)]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a CLEAR_BATCH (an EXEC with FLUSHALL) applies its items in order: keys before its clear go, keys after stay", () => {
    const dir = freshDir();
    const items = [walRecord({ type: SET, key: "a", value: "1", version: 1 }), walRecord({ type: CLEAR }), walRecord({ type: SET, key: "b", value: "2", version: 1 })];
    writeFileSync(join(dir, walFile(1)), concat([walRecord({ type: SET, key: "old", value: "o", version: 1 }), walRecord({ type: CLEAR_BATCH, value: concat(items), version: 3 })]));
    expect(Object.keys(recoverDir(dir).state)).toEqual(["b"]);
  });

  test("a CLEAR inside a plain BATCH is damage: a BATCH never holds one, and none of it applies", () => {
    const dir = freshDir();
    const items = [walRecord({ type: SET, key: "a", value: "1", version: 1 }), walRecord({ type: CLEAR })];
    const bad = walRecord({ type: BATCH, value: concat(items), version: 2 });
    writeFileSync(join(dir, walFile(1)), concat([walRecord({ type: SET, key: "old", value: "o", version: 1 }), bad, walRecord({ type: SET, key: "z", value: "1", version: 1 })]));
    expect(() => recoverDir(dir)).toThrow(/bad record at byte 39 \(batch item 2 has type 4\)/);
  });

  test("a clear record removes every key written before it", () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, walFile(1)),
      concat([walRecord({ type: SET, key: "a", value: "1", version: 1 }), walRecord({ type: CLEAR }), walRecord({ type: SET, key: "b", value: "2", version: 1 })]),
    );
    expect(Object.keys(recoverDir(dir).state)).toEqual(["b"]);
  });
});

describe("damage", () => {
  const r1 = walRecord({ type: SET, key: "one", value: "1", version: 1 });
  const r2 = walRecord({ type: SET, key: "two", value: "22", version: 1 });
  const r3 = walRecord({ type: SET, key: "three", value: "333", expiryMs: future, version: 1 });
  const all = concat([r1, r2, r3]);
  const twoRecords = r1.length + r2.length;

  test("a last record torn at every byte offset is trimmed; the cut bytes are kept in a .broken file", () => {
    for (let cut = twoRecords; cut < all.length; cut++) {
      const dir = freshDir();
      const path = join(dir, walFile(1));
      writeFileSync(path, all.subarray(0, cut));
      const { state, result } = recoverDir(dir);
      expect(Object.keys(state).sort()).toEqual(["one", "two"]);
      expect(statSync(path).size).toBe(twoRecords);
      expect(result.trimmedBytes).toBe(cut - twoRecords);
      if (cut > twoRecords) expect(Array.from(readFileSync(`${path}.broken`))).toEqual(Array.from(all.subarray(twoRecords, cut)));
      else expect(existsSync(`${path}.broken`)).toBe(false);
      const trimmed = logged.take(/^WARN recovery: trimmed/);
      if (cut > twoRecords) expect(trimmed).toEqual([expect.stringMatching(new RegExp(`trimmed ${cut - twoRecords} bytes .* at byte ${twoRecords} .*kept in ${walFile(1)}\\.broken$`))]);
      else expect(trimmed).toEqual([]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a bad crc in the last record is trimmed like a torn one", () => {
    const dir = freshDir();
    const bad = all.slice();
    bad[all.length - 6]! ^= 0x01; // inside the last value
    writeFileSync(join(dir, walFile(1)), bad);
    const { state, result } = recoverDir(dir);
    expect(Object.keys(state).sort()).toEqual(["one", "two"]);
    expect(result.trimmedBytes).toBe(r3.length);
    expect(logged.take(/^WARN /)).toEqual([expect.stringContaining(`(crc mismatch)`)]);
  });

  test("a crc-valid record with an empty key in the middle of the log refuses to start: it is not one Osprey writes", () => {
    for (const type of [SET, DEL]) {
      const dir = freshDir();
      const empty = walRecord({ type, key: "", value: type === SET ? "v" : "", version: 1 });
      writeFileSync(join(dir, walFile(1)), concat([r1, empty, r2]));
      expect(() => recoverDir(dir)).toThrow(new RegExp(`${walFile(1)}: bad record at byte ${r1.length} \\(a record with an empty key\\)`));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("zeros after the last record (a file extended but never written) are trimmed", () => {
    const dir = freshDir();
    writeFileSync(join(dir, walFile(1)), concat([all, new Uint8Array(4096)]));
    const { state, result } = recoverDir(dir);
    expect(Object.keys(state).length).toBe(3);
    expect(result.trimmedBytes).toBe(4096);
    expect(logged.take(/^WARN /)).toEqual([expect.stringContaining(`trimmed 4096 bytes from the end of ${walFile(1)} at byte ${all.length} (bad record magic)`)]);
  });

  test("a flipped byte in the middle of the log refuses to start, naming the file and byte offset, and changes nothing", () => {
    for (const at of [r1.length + 2, r1.length + 10, r1.length + 33]) {
      const dir = freshDir();
      const bad = all.slice();
      bad[at]! ^= 0x40;
      const path = join(dir, walFile(1));
      writeFileSync(path, bad);
      expect(() => recoverDir(dir)).toThrow(new RegExp(`${walFile(1)}: bad record at byte ${r1.length} `));
      expect(() => recoverDir(dir)).toThrow(RecoveryError);
      expect(Array.from(readFileSync(path))).toEqual(Array.from(bad));
      expect(readdirSync(dir).sort()).toEqual([walFile(1)]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a torn record at the end of a WAL that is not the newest refuses to start", () => {
    const dir = freshDir();
    writeFileSync(join(dir, walFile(1)), all.subarray(0, all.length - 3));
    writeFileSync(join(dir, walFile(2)), r1);
    expect(() => recoverDir(dir)).toThrow(new RegExp(`${walFile(1)}: bad record at byte ${twoRecords}`));
  });

  test("--repair skips a damaged record in the middle, keeps every good record after it and later WALs, and moves the bytes to .broken", () => {
    const dir = freshDir();
    const bad = all.slice();
    bad[r1.length + 33]! ^= 0x40; // inside "two"'s key: its crc no longer matches
    writeFileSync(join(dir, walFile(1)), bad);
    writeFileSync(join(dir, walFile(2)), walRecord({ type: SET, key: "later", value: "l", version: 1 }));
    const { state, result } = recoverDir(dir, true);
    expect(Object.keys(state).sort()).toEqual(["later", "one", "three"]);
    expect(Array.from(readFileSync(join(dir, walFile(1))))).toEqual(Array.from(concat([r1, r3])));
    expect(Array.from(readFileSync(join(dir, `${walFile(1)}.broken`)))).toEqual(Array.from(bad.subarray(r1.length, twoRecords)));
    expect(result.problems.map((p) => [p.kind, p.start, p.end])).toEqual([["damage", r1.length, twoRecords]]);
    expect(logged.take(/^(WARN|ERROR) /)).toEqual([
      `ERROR repair: ${walFile(1)}: bad record at byte ${r1.length} (crc mismatch); bytes ${r1.length}..${twoRecords} skipped; keys whose change is lost: "tw/"; every good record after it is kept`,
      `ERROR repair: ${walFile(1)}: bytes ${r1.length}..${twoRecords} moved to ${walFile(1)}.broken`,
    ]);
    // The repair stuck: a plain start finds the same keys and no damage.
    expect(logged.take(/^INFO repair: the repaired state \(3 keys\) is written to snap-00000001\.osnap/)).toHaveLength(1);
    expect(recoverDir(dir).state).toEqual(state);
  });

  test("--repair puts each damaged stretch in its own .broken file, never overwriting one from before", () => {
    const dir = freshDir();
    const bad = concat([r1, r2, r1, r2, r3]);
    bad[r1.length + 25]! ^= 0x01; // the first "two"
    bad[2 * r1.length + r2.length + 25]! ^= 0x01; // the second
    writeFileSync(join(dir, walFile(1)), bad);
    writeFileSync(join(dir, `${walFile(1)}.broken`), "from an earlier repair");
    const { state } = recoverDir(dir, true);
    expect(Object.keys(state).sort()).toEqual(["one", "three"]);
    expect(readFileSync(join(dir, `${walFile(1)}.broken`), "latin1")).toBe("from an earlier repair");
    expect(Array.from(readFileSync(join(dir, `${walFile(1)}.broken.1`)))).toEqual(Array.from(bad.subarray(r1.length, twoRecords)));
    expect(Array.from(readFileSync(join(dir, `${walFile(1)}.broken.2`)))).toEqual(Array.from(bad.subarray(twoRecords + r1.length, 2 * twoRecords)));
    expect(Array.from(readFileSync(join(dir, walFile(1))))).toEqual(Array.from(concat([r1, r1, r3])));
    logged.take(/repair/);
  });

  test("one flipped byte anywhere in the middle record of a WAL of 50 keeps the other 49 and names the key when its bytes are readable", () => {
    const records = Array.from({ length: 50 }, (_, i) => walRecord({ type: SET, key: `key:${i}`, value: `value number ${i}`, version: i + 1 }));
    const middle = records[25]!;
    const start = records.slice(0, 25).reduce((n, r) => n + r.length, 0);
    const whole = concat(records);
    for (let at = 0; at < middle.length; at++) {
      const dir = freshDir();
      const bad = whole.slice();
      bad[start + at]! ^= 0x01;
      writeFileSync(join(dir, walFile(1)), bad);
      expect(() => recoverDir(dir)).toThrow(RecoveryError);
      const { state, result } = recoverDir(dir, true);
      expect(Object.keys(state).length).toBe(49);
      expect(state["key:25"]).toBeUndefined();
      expect(readFileSync(join(dir, `${walFile(1)}.broken`)).length).toBe(middle.length);
      const damage = result.problems.filter((p) => p.kind === "damage");
      expect(damage.map((p) => [p.start, p.end])).toEqual([[start, start + middle.length]]);
      // The key is read from the damaged header: exact unless the flipped byte is in it or in a length
      // (then the stretch is still exact, found by resynchronising, but the lengths cannot be trusted).
      const keys = damage[0]!.keys!.map((k) => k.toString("latin1"));
      expect(damage[0]!.keysExact).toBe(at < 7 || at >= 15);
      if (at < 7 || at >= 15) expect(keys).toEqual(at >= 31 && at < 37 ? [expect.stringMatching(/^.{6}$/)] : ["key:25"]);
      expect(recoverDir(dir).state).toEqual(state);
      logged.take(/repair/);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000); // one recovery per byte of the record: seconds on a loaded machine

  test("--repair never applies part of a damaged batch, and names the keys of its items", () => {
    const dir = freshDir();
    const items = [walRecord({ type: SET, key: "x", value: "1", version: 1 }), walRecord({ type: SET, key: "y", value: "2", version: 1 }), walRecord({ type: SET, key: "z", value: "3", version: 1 })];
    const batch = walRecord({ type: BATCH, value: concat(items), version: 3 });
    for (const at of [2, 6, 11, 31 + items[0]!.length + 33, batch.length - 2]) {
      const bad = batch.slice();
      bad[at]! ^= 0x10;
      writeFileSync(join(dir, walFile(1)), concat([r1, bad, r2]));
      const { state, result } = recoverDir(dir, true);
      expect(Object.keys(state).sort()).toEqual(["one", "two"]);
      expect(result.problems.map((p) => [p.start, p.end])).toEqual([[r1.length, r1.length + batch.length]]);
      if (at !== 11) expect(result.problems[0]!.keys!.map((k) => k.toString())).toEqual(["x", "y", "z"]);
      logged.take(/repair/);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
    }
  });

  test("--repair never applies part of a damaged CLEAR_BATCH, not even its clear, and names the keys of its items", () => {
    const dir = freshDir();
    const items = [walRecord({ type: SET, key: "x", value: "1", version: 1 }), walRecord({ type: CLEAR }), walRecord({ type: SET, key: "z", value: "3", version: 1 })];
    const batch = walRecord({ type: CLEAR_BATCH, value: concat(items), version: 3 });
    for (const at of [2, 6, 31 + items[0]!.length + 20, batch.length - 2]) {
      const bad = batch.slice();
      bad[at]! ^= 0x10;
      writeFileSync(join(dir, walFile(1)), concat([r1, bad, r2]));
      const { state, result } = recoverDir(dir, true);
      expect(Object.keys(state).sort()).toEqual(["one", "two"]);
      expect(result.problems.map((p) => [p.start, p.end])).toEqual([[r1.length, r1.length + batch.length]]);
      expect(result.problems[0]!.keys!.map((k) => k.toString())).toEqual(["x", "z"]);
      logged.take(/repair/);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
    }
  });

  test("a damaged snapshot entry and a damaged record in the same repair: both .broken, every other key kept", () => {
    const dir = freshDir();
    const snap = snapshotFile([
      { key: "s1", value: "a" },
      { key: "s2", value: "b" },
      { key: "s3", value: "c" },
    ]);
    snap[14 + 30 + 24 + 2]! ^= 0xff; // s2's key
    writeFileSync(join(dir, snapFile(1)), snap);
    writeManifest(dir, 1, 1);
    const bad = all.slice();
    bad[r1.length + 20]! ^= 0x02; // "two"'s expiry
    writeFileSync(join(dir, walFile(1)), bad);
    const { state } = recoverDir(dir, true);
    expect(Object.keys(state).sort()).toEqual(["one", "s1", "s3", "three"]);
    expect(readdirSync(dir).sort()).toEqual(["MANIFEST.json", snapFile(1) + ".broken", snapFile(2), walFile(1), `${walFile(1)}.broken`]);
    expect(JSON.parse(readFileSync(join(dir, "MANIFEST.json"), "utf8"))).toMatchObject({ snap: snapFile(2), next_wal: walFile(2) });
    logged.take(/repair/);
    expect(recoverDir(dir).state).toEqual(state);
  });

  test("check mode meets every problem a repair would, records it with what --repair does, and changes no byte", () => {
    const dir = freshDir();
    const bad = all.slice();
    bad[r1.length + 20]! ^= 0x02; // "two"'s expiry
    writeFileSync(join(dir, walFile(1)), all.subarray(0, all.length - 3)); // torn, but not the newest
    writeFileSync(join(dir, walFile(2)), concat([bad, r1.subarray(0, 5)])); // damage, then a torn tail
    const before = readdirSync(dir).map((n) => [n, readFileSync(join(dir, n)).toString("hex")]);
    const { state, result } = recoverDir(dir, false, true);
    expect(readdirSync(dir).map((n) => [n, readFileSync(join(dir, n)).toString("hex")])).toEqual(before);
    expect(result.problems.map((p) => [p.kind, p.file, p.start, p.end, p.keys!.map((k) => k.toString())])).toEqual([
      ["damage", walFile(1), twoRecords, all.length - 3, ["three"]],
      ["damage", walFile(2), r1.length, twoRecords, ["two"]],
      ["torn", walFile(2), all.length, all.length + 5, []],
    ]);
    expect(result.problems[0]!.action).toBe(`bytes ${twoRecords}..${all.length - 3} skipped; keys whose change is lost: "three"; every good record after it is kept`);
    // A repair then does exactly that: the torn end of the older WAL is damage, the later WAL is still replayed.
    expect(Object.keys(recoverDir(dir, true).state).sort()).toEqual(Object.keys(state).sort());
    expect(Object.keys(state).sort()).toEqual(["one", "three", "two"]);
    logged.take(/repair|trimmed/);
  });

  test("a bad snapshot entry refuses to start naming the snapshot and the entry's byte offset", () => {
    const dir = freshDir();
    const snap = snapshotFile([
      { key: "a", value: "1" },
      { key: "b", value: "2" },
    ]);
    const secondEntry = 14 + 24 + 1 + 1 + 4;
    snap[secondEntry + 25]! ^= 0xff; // the second entry's value byte
    writeFileSync(join(dir, snapFile(1)), snap);
    writeManifest(dir, 1, 2);
    expect(() => recoverDir(dir)).toThrow(new RegExp(`${snapFile(1)}: bad entry 2 of 2 at byte ${secondEntry}: crc mismatch`));
    const { state } = recoverDir(dir, true);
    expect(Object.keys(state)).toEqual(["a"]);
    expect(logged.take(/^ERROR /)).toEqual([
      `ERROR repair: ${snapFile(1)}: bad entry 2 of 2 at byte ${secondEntry}: crc mismatch; bytes ${secondEntry}..${snap.length} skipped; keys lost: "b"; the entries around it are kept`,
      `ERROR repair: ${snapFile(1)}: kept 1 entries that check (1 live)`,
      `ERROR repair: set ${snapFile(1)} aside as ${snapFile(1)}.broken`,
    ]);
    logged.take(/^INFO repair:/);
  });

  test("--repair of a snapshot keeps every entry that checks, before and after the damage, lists the keys lost, and sticks", () => {
    const dir = freshDir();
    const entries = Array.from({ length: 3000 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, version: i + 1 }));
    const snap = snapshotFile(entries);
    const lengths = entries.map((e) => 24 + e.key.length + e.value.length + 4);
    const at1500 = 14 + lengths.slice(0, 1500).reduce((a, b) => a + b, 0);
    snap[at1500 + 4]! ^= 0x01; // entry 1501's value length
    writeFileSync(join(dir, snapFile(1)), snap);
    writeManifest(dir, 1, 2);
    writeFileSync(join(dir, walFile(2)), r1);
    expect(() => recoverDir(dir)).toThrow(`${snapFile(1)}: bad entry 1501 of 3000 at byte ${at1500}: `);
    const { state, result } = recoverDir(dir, true);
    expect(Object.keys(state).length).toBe(3000); // 2999 entries + "one" from the WAL
    expect(state.k1500).toBeUndefined();
    expect(state.k2999).toEqual({ value: "v2999", version: 3000, expiry: noExpiry });
    expect(result.problems.map((p) => [p.file, p.start, p.end, p.keys!.map((k) => k.toString())])).toEqual([[snapFile(1), at1500, at1500 + lengths[1500]!, ["k1500"]]]);
    expect(existsSync(join(dir, `${snapFile(1)}.broken`))).toBe(true);
    logged.take(/repair/);
    const again = recoverDir(dir);
    expect(again.state).toEqual(state);
    expect(again.result.problems).toEqual([]);
  });

  test("a snapshot with fewer entries than its header counts refuses to start", () => {
    const dir = freshDir();
    writeFileSync(join(dir, snapFile(1)), snapshotFile([{ key: "a", value: "1" }], 2));
    writeManifest(dir, 1, 1);
    expect(() => recoverDir(dir)).toThrow(/bad entry 2 of 2 .*ends inside the entry header/);
  });

  test("a snapshot named by the manifest but missing refuses to start", () => {
    const dir = freshDir();
    writeManifest(dir, 3, 4);
    writeFileSync(join(dir, walFile(4)), r1);
    expect(() => recoverDir(dir)).toThrow(/snap-00000003\.osnap is named by MANIFEST\.json but missing/);
  });

  test("a WAL missing between two others refuses to start", () => {
    const dir = freshDir();
    writeFileSync(join(dir, walFile(1)), r1);
    writeFileSync(join(dir, walFile(3)), r2);
    expect(() => recoverDir(dir)).toThrow(/wal-00000002\.oswal is missing between/);
  });

  test("--repair sets a WAL after a gap aside as .broken.1 when a .broken of that name exists, never overwriting it", () => {
    const dir = freshDir();
    writeFileSync(join(dir, walFile(1)), r1);
    writeFileSync(join(dir, walFile(3)), r2);
    writeFileSync(join(dir, `${walFile(3)}.broken`), "from an earlier repair");
    recoverDir(dir, true);
    expect(readFileSync(join(dir, `${walFile(3)}.broken`), "latin1")).toBe("from an earlier repair");
    expect(Buffer.compare(readFileSync(join(dir, `${walFile(3)}.broken.1`)), Buffer.from(r2))).toBe(0);
    expect(existsSync(join(dir, walFile(3)))).toBe(false);
    expect(logged.take(/^ERROR repair:/)).toEqual([
      `ERROR repair: ${walFile(2)} is missing between ${walFile(1)} and ${walFile(3)}; recovering up to the gap`,
      `ERROR repair: set ${walFile(3)} aside as ${walFile(3)}.broken.1`,
    ]);
  });

  test("the WAL the manifest names as next is missing while later ones exist: refuses to start", () => {
    const dir = freshDir();
    writeFileSync(join(dir, snapFile(1)), snapshotFile([]));
    writeManifest(dir, 1, 2);
    writeFileSync(join(dir, walFile(3)), r1);
    expect(() => recoverDir(dir)).toThrow(/wal-00000002\.oswal is named by MANIFEST\.json as the next WAL but is missing/);
  });

  test("record lengths beyond every limit are damage, not an allocation", () => {
    const dir = freshDir();
    const huge = r2.slice();
    new DataView(huge.buffer).setUint32(11, 0xfffffff0, true); // value_len ~4 GiB
    writeFileSync(join(dir, walFile(1)), concat([huge, r3]));
    expect(() => recoverDir(dir)).toThrow(/bad record at byte 0 \(record lengths out of range/);
  });
});
