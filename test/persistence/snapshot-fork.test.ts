// A snapshot written by a forked child (native osprey_snapshot_fork) against the one the event
// loop writes (writeSnapshotNow): the same keyspace gives the same file, byte for byte.

import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collapseQuietMs, slabLargeBytesMin, snapshotEntryWeightBytes } from "../../src/constants.ts";
import { ptr } from "bun:ffi";
import { hugeKbAt } from "../support/resident.ts";
import { noExpiry, Store } from "../../src/engine/store.ts";
import { canForkSnapshots, canUnidleChildren, childStatus, forkSnapshot, unidleChild, unpaceChild } from "../../src/native/index.ts";
import { manifestName, putSnapHeader, serializeManifest, snapName, tmpName } from "../../src/persistence/format.ts";
import { Snapshotter, snapshotWeightBytes, writeSnapshotNow } from "../../src/persistence/snapshot.ts";
import { Wal } from "../../src/persistence/wal.ts";
import { configFromObject } from "../../src/config.ts";
import { captureLog } from "../support/log.ts";

const thpSetting = "/sys/kernel/mm/transparent_hugepage/enabled";
const thpOff = !existsSync(thpSetting) || readFileSync(thpSetting, "latin1").includes("[never]");
/** Ids from which the store asks for huge pages for its records (engine/store.ts hugeRecordIdsMin). */
const hugeRecordIdsMin = 1 << 20;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "osprey-fork-"));
  dirs.push(d);
  return d;
}

function put(store: Store, key: string, value: Buffer, expiryMs = noExpiry, version = 1): void {
  const k = Buffer.from(key, "latin1");
  store.set(k, 0, k.length, value, 0, value.length, expiryMs, version, store.find(k, 0, k.length));
}

function drop(store: Store, key: string): void {
  const k = Buffer.from(key, "latin1");
  const id = store.find(k, 0, k.length);
  if (id >= 0) store.delete(id);
}

/** Bytes with a pattern of their own, so a misplaced copy cannot go unnoticed. */
function pattern(n: number, seed: number): Buffer {
  const v = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) v[i] = (i * 131 + seed * 7) & 0xff;
  return v;
}

/** Runs the forked writer into `path` with a chunk of `chunkBytes`; returns the child's exit status. */
async function forkedSnapshot(store: Store, path: string, chunkBytes: number, nowMs: number): Promise<number> {
  const fd = openSync(path, "w+");
  try {
    const chunk = Buffer.alloc(chunkBytes);
    const start = putSnapHeader(chunk, 0, 0);
    const pid = forkSnapshot(fd, store.snapshotLayout(), chunk, start, nowMs);
    expect(pid).toBeGreaterThan(0);
    for (;;) {
      const status = childStatus(pid);
      if (status !== -1) return status;
      await Bun.sleep(2);
    }
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(!canForkSnapshots())("snapshots by a forked child", () => {
  test("write the same bytes as the event loop's writer: slab and large values, expiries, versions, holes left by deletes", async () => {
    const store = new Store();
    const nowMs = 1_800_000_000_000;
    for (let i = 0; i < 3000; i++) put(store, `k:${i}`, pattern(i % 300, i), i % 7 === 0 ? nowMs + 60_000 + i : noExpiry, 1 + (i % 5));
    for (let i = 0; i < 3000; i += 3) drop(store, `k:${i}`); // free ids the walk must skip
    for (let i = 0; i < 40; i++) put(store, `expired:${i}`, pattern(50, i), nowMs - 1000 - i); // left out by both
    for (let i = 0; i < 5; i++) put(store, `large:${i}`, pattern(slabLargeBytesMin + 1000 * i, i), noExpiry, 9);
    put(store, "huge", pattern(300_000, 3), nowMs + 5, 2 ** 40); // larger than the child's chunk below
    put(store, "newest", pattern(20, 4), nowMs + 1, 2 ** 53 - 1); // the largest exact version, held apart from the record as 2^40 is
    put(store, "edge", pattern(30, 5), noExpiry, 2 ** 32 - 2); // the largest the record's word holds: read as unsigned
    drop(store, "large:2");
    for (let i = 1; i < 3000; i += 3) put(store, `k:${i}`, pattern(400, i + 1), noExpiry, 7); // overwrites that move blocks
    // Slab classes up to the largest: the child finds a block from its index and the class of the entry's size.
    for (let i = 0; i < 60; i++) put(store, `mid:${i}`, pattern(500 + i * 1061, i));

    const loopDir = tempDir();
    const written = writeSnapshotNow(loopDir, store, 1, 1, nowMs);
    const forkPath = join(tempDir(), "forked.osnap");
    // A 64 KiB chunk: many flushes, and the 300 KB value goes straight from its buffer.
    expect(await forkedSnapshot(store, forkPath, 64 * 1024, nowMs)).toBe(0);
    const fromLoop = readFileSync(join(loopDir, snapName(1)));
    const fromFork = readFileSync(forkPath);
    expect(written).toBe(2000 + 4 + 3 + 60);
    expect(fromFork.length).toBe(fromLoop.length);
    expect(fromFork.equals(fromLoop)).toBe(true);
  });

  test("write the same bytes past the file sizes where the child starts and waits for writeback itself, many times over (40 MiB)", async () => {
    const store = new Store();
    const nowMs = 1_800_000_000_000;
    for (let i = 0; i < 45_000; i++) put(store, `k:${i}`, pattern(1000, i), noExpiry, 1 + (i % 3));
    const loopDir = tempDir();
    writeSnapshotNow(loopDir, store, 1, 1, nowMs);
    const forkPath = join(tempDir(), "forked.osnap");
    expect(await forkedSnapshot(store, forkPath, 1024 * 1024, nowMs)).toBe(0);
    const fromLoop = readFileSync(join(loopDir, snapName(1)));
    expect(fromLoop.length).toBeGreaterThan(40 * 1024 * 1024);
    expect(readFileSync(forkPath).equals(fromLoop)).toBe(true);
  });

  test("pace themselves to snapshot_busy_bytes_per_sec while the parent's event loop is busy, not while it is idle nor once the parent lifts the pace; the bytes are the same", async () => {
    const store = new Store();
    const nowMs = 1_800_000_000_000;
    for (let i = 0; i < 24_000; i++) put(store, `k:${i}`, pattern(1000, i), noExpiry, 1);
    // ~24 MiB of snapshot: the child's first look at the loop is 10 ms in, when a few MiB may be
    // written already; the rest at 8 MiB a second takes well over a second.
    const paceBytesPerSec = 8 * 1024 * 1024;
    /**
     * Runs a paced child; with `busy`, this thread spins (never yielding) until the child exits,
     * lifting its pace (unpaceChild) after `unpaceAfterMs`.
     */
    const run = async (busy: boolean, unpaceAfterMs = Infinity): Promise<{ ms: number; bytes: Buffer }> => {
      const path = join(tempDir(), "paced.osnap");
      const fd = openSync(path, "w+");
      const chunk = Buffer.alloc(256 * 1024);
      const started = performance.now();
      const pid = forkSnapshot(fd, store.snapshotLayout(), chunk, putSnapHeader(chunk, 0, 0), nowMs, { paceBytesPerSec });
      expect(pid).toBeGreaterThan(0);
      let status = -1;
      while (status === -1 && performance.now() - started < 20_000) {
        status = childStatus(pid);
        if (performance.now() - started >= unpaceAfterMs) {
          unpaceChild();
          unpaceAfterMs = Infinity;
        }
        if (!busy) await Bun.sleep(5);
      }
      closeSync(fd);
      expect(status).toBe(0);
      return { ms: performance.now() - started, bytes: readFileSync(path) };
    };
    const busy = await run(true);
    const idle = await run(false);
    const lifted = await run(true, 100);
    const loopDir = tempDir();
    writeSnapshotNow(loopDir, store, 1, 1, nowMs);
    const fromLoop = readFileSync(join(loopDir, snapName(1)));
    expect(busy.bytes.equals(fromLoop)).toBe(true);
    expect(idle.bytes.equals(fromLoop)).toBe(true);
    expect(lifted.bytes.equals(fromLoop)).toBe(true);
    expect(fromLoop.length).toBeGreaterThan(24 * 1000 * 1000);
    expect(busy.ms).toBeGreaterThan(1000);
    expect(idle.ms).toBeLessThan(busy.ms / 2);
    // Lifted 100 ms in (as the server does once the WAL grew by an eighth of the keyspace), the rest goes at full speed.
    expect(lifted.ms).toBeLessThan(busy.ms / 2);
  }, 40_000);

  test("publish what they wrote: the file takes its name and the manifest names it, as the event loop's writer leaves them", async () => {
    const store = new Store();
    for (let i = 0; i < 700; i++) put(store, `k:${i}`, pattern(120, i), noExpiry, 3);
    const expected = tempDir();
    writeSnapshotNow(expected, store, 4, 9, 0);
    const dir = tempDir();
    writeFileSync(join(dir, manifestName), "{}"); // replaced whole
    const manifest = serializeManifest({ version: 1, snap: snapName(4), next_wal: "wal-00000009.oswal", created_ms: 123 });
    const fd = openSync(join(dir, tmpName(snapName(4))), "w+");
    const dirFd = openSync(dir, "r");
    const chunk = Buffer.alloc(8192);
    const publish = { dirFd, tmp: tmpName(snapName(4)), name: snapName(4), manifestTmp: tmpName(manifestName), manifestName, manifest };
    const pid = forkSnapshot(fd, store.snapshotLayout(), chunk, putSnapHeader(chunk, 0, 0), 0, { publish });
    closeSync(dirFd);
    expect(pid).toBeGreaterThan(0);
    let status = -1;
    while ((status = childStatus(pid)) === -1) await Bun.sleep(2);
    closeSync(fd);
    expect(status).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([manifestName, snapName(4)]);
    expect(readFileSync(join(dir, snapName(4))).equals(readFileSync(join(expected, snapName(4))))).toBe(true);
    expect(readFileSync(join(dir, manifestName)).equals(manifest)).toBe(true);
  });

  test("leave the manifest as it was when the file cannot take its name (exit 14)", async () => {
    const store = new Store();
    put(store, "k", pattern(10, 1));
    const dir = tempDir();
    writeFileSync(join(dir, manifestName), "old");
    const fd = openSync(join(dir, "elsewhere.tmp"), "w+");
    const dirFd = openSync(dir, "r");
    const chunk = Buffer.alloc(4096);
    const manifest = serializeManifest({ version: 1, snap: snapName(1), next_wal: "wal-00000002.oswal", created_ms: 0 });
    const publish = { dirFd, tmp: tmpName(snapName(1)), name: snapName(1), manifestTmp: tmpName(manifestName), manifestName, manifest };
    const pid = forkSnapshot(fd, store.snapshotLayout(), chunk, putSnapHeader(chunk, 0, 0), 0, { publish });
    closeSync(dirFd);
    let status = -1;
    while ((status = childStatus(pid)) === -1) await Bun.sleep(2);
    closeSync(fd);
    expect(status).toBe(14);
    expect(readFileSync(join(dir, manifestName), "latin1")).toBe("old");
    expect(existsSync(join(dir, snapName(1)))).toBe(false);
  });

  test.skipIf(!canUnidleChildren())("run at idle priority when asked, and can be raised to nice 19 under SCHED_OTHER", async () => {
    const store = new Store();
    for (let i = 0; i < 100; i++) put(store, `k:${i}`, pattern(100, i));
    const fd = openSync(join(tempDir(), "forked.osnap"), "w+");
    const chunk = Buffer.alloc(4096);
    const pid = forkSnapshot(fd, store.snapshotLayout(), chunk, putSnapHeader(chunk, 0, 0), 0, { idle: true });
    expect(pid).toBeGreaterThan(0);
    // Read once it exited and before it is reaped: a zombie's stat keeps its last policy and nice.
    const stat = () => readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1]!.split(" ");
    while (stat()[0] !== "Z") await Bun.sleep(2);
    // Fields 3.. after the name: nice is field 19, the policy field 41 (SCHED_IDLE 5, SCHED_OTHER 0).
    expect([stat()[16], stat()[38]]).toEqual(["19", "5"]);
    expect(unidleChild(pid)).toBe(0);
    expect([stat()[16], stat()[38]]).toEqual(["19", "0"]);
    let status = -1;
    while ((status = childStatus(pid)) === -1) await Bun.sleep(2);
    closeSync(fd);
    expect(status).toBe(0);
  });

  test("see the keyspace as it was at the fork, whatever the parent writes afterwards", async () => {
    // 5,000 records (120 KB): the child copies them into memory of its own and drops its mapping of
    // the parent's (own_records), while the parent rewrites every one of them.
    const store = new Store();
    for (let i = 0; i < 5000; i++) put(store, `k:${i}`, pattern(100, i));
    const expected = tempDir();
    writeSnapshotNow(expected, store, 1, 1, 0);
    const path = join(tempDir(), "forked.osnap");
    const fd = openSync(path, "w+");
    const chunk = Buffer.alloc(4096);
    const pid = forkSnapshot(fd, store.snapshotLayout(), chunk, putSnapHeader(chunk, 0, 0), 0);
    expect(pid).toBeGreaterThan(0);
    // Changed in the parent right after the fork: the child's copy-on-write image keeps the old bytes.
    for (let i = 0; i < 5000; i++) put(store, `k:${i}`, pattern(100, i + 1), noExpiry, 2);
    chunk.fill(0xee);
    let status = -1;
    while ((status = childStatus(pid)) === -1) await Bun.sleep(2);
    closeSync(fd);
    expect(status).toBe(0);
    expect(readFileSync(path).equals(readFileSync(join(expected, snapName(1))))).toBe(true);
  });

  test("move the parent's overwrites to fresh slab pages while the child runs, and write in place again once it is reaped", async () => {
    const dir = tempDir();
    const config = configFromObject({ data_dir: dir, sync_policy: "os", snapshot_fork_min_bytes: 0 }, { warn: () => {} });
    const wal = new Wal(dir, config, 1, 0);
    const store = new Store();
    store.setLog(wal);
    const log = captureLog();
    try {
      for (let i = 0; i < 1000; i++) put(store, `k:${i}`, pattern(100, i));
      const k = Buffer.from("k:7", "latin1");
      const id = store.find(k, 0, k.length);
      const before = store.buffer(id);
      const snapshots = new Snapshotter(dir, store, wal, config, 0);
      expect(snapshots.start("test")).toBeNull();
      expect(snapshots.childPid).toBeGreaterThan(0);
      put(store, "k:7", pattern(100, 1000), noExpiry, 2);
      expect(store.buffer(id)).not.toBe(before); // the shared page is left to the child
      while (snapshots.running) await Bun.sleep(2);
      expect(snapshots.snapshotsTotal).toBe(1);
      expect(snapshots.lastEntries).toBe(1000);
      const moved = store.buffer(id);
      const k8 = Buffer.from("k:8", "latin1");
      const id8 = store.find(k8, 0, k8.length);
      const page8 = store.buffer(id8);
      put(store, "k:8", pattern(100, 1001), noExpiry, 2);
      expect(store.buffer(id8)).toBe(page8); // in place again
      expect(store.buffer(id)).toBe(moved);
      expect(Buffer.from(store.buffer(id).subarray(store.keyOffset(id) + 3, store.keyOffset(id) + 103)).equals(pattern(100, 1000))).toBe(true);
      // The file holds the keyspace as it was at the fork.
      const expected = tempDir();
      put(store, "k:7", pattern(100, 7), noExpiry, 1);
      put(store, "k:8", pattern(100, 8), noExpiry, 1);
      writeSnapshotNow(expected, store, 1, 2, 0);
      expect(readFileSync(join(dir, snapName(1))).equals(readFileSync(join(expected, snapName(1))))).toBe(true);
    } finally {
      log.stop();
      wal.close();
    }
  });
  test("a keyspace lighter than snapshot_fork_min_bytes is written in slices, with no child; one at that weight forks; both files are the keyspace", async () => {
    const store = new Store();
    for (let i = 0; i < 200; i++) put(store, `k:${i}`, pattern(1000, i));
    const weight = snapshotWeightBytes(store.size, store.dataBytes);
    expect(weight).toBe(store.dataBytes + 200 * snapshotEntryWeightBytes);
    const expected = tempDir();
    writeSnapshotNow(expected, store, 1, 2, 0);
    for (const [min, forks] of [[weight + 1, false], [weight, true]] as const) {
      const dir = tempDir();
      const config = configFromObject({ data_dir: dir, sync_policy: "os", snapshot_fork_min_bytes: min }, { warn: () => {} });
      const wal = new Wal(dir, config, 1, 0);
      store.setLog(wal);
      const log = captureLog();
      try {
        const snapshots = new Snapshotter(dir, store, wal, config, 0);
        expect(snapshots.start("test")).toBeNull();
        expect(snapshots.childPid > 0).toBe(forks);
        // The log says why a server that forks wrote this one itself.
        expect(log.lines().some((l) => l.includes("started (test) in slices (the keyspace weighs less than snapshot_fork_min_bytes)"))).toBe(!forks);
        while (snapshots.running) await Bun.sleep(2);
        expect(snapshots.snapshotsTotal).toBe(1);
        expect(readFileSync(join(dir, snapName(1))).equals(readFileSync(join(expected, snapName(1))))).toBe(true);
      } finally {
        log.stop();
        wal.close();
      }
    }
  });

  test.skipIf(thpOff)("the records' huge pages a child's copy-on-write split are put back once no child ran for collapseQuietMs", async () => {
    const store = new Store();
    const keys = hugeRecordIdsMin + 100_000; // past the doubling that asks for huge pages
    store.reserve(keys);
    const v = pattern(20, 1);
    for (let i = 0; i < keys; i++) put(store, `k:${i}`, v);
    const records = store.snapshotLayout().records;
    const huge = async (atLeastKb: number, waitMs: number): Promise<number> => {
      const deadline = Date.now() + waitMs;
      while (hugeKbAt(ptr(records)) < atLeastKb && Date.now() < deadline) await Bun.sleep(50);
      return hugeKbAt(ptr(records));
    };
    const fresh = await huge(8 * 1024, 20_000);
    expect(fresh).toBeGreaterThanOrEqual(8 * 1024);
    // A write into each 2 MiB of records while the child shares them: each huge page is split.
    const fd = openSync(join(tempDir(), "s"), "w+");
    const chunk = Buffer.alloc(1 << 20);
    store.shareWithChild(true);
    const pid = forkSnapshot(fd, store.snapshotLayout(), chunk, putSnapHeader(chunk, 0, 0), 0);
    expect(pid).toBeGreaterThan(0);
    for (let i = 0; i < keys; i += 20_000) put(store, `k:${i}`, v, noExpiry, 2);
    while (childStatus(pid) === -1) await Bun.sleep(2);
    closeSync(fd);
    store.shareWithChild(false);
    const split = hugeKbAt(ptr(records));
    expect(split).toBeLessThan(fresh / 2);
    // Not at once: the tick collapses only after a quiet collapseQuietMs.
    store.maintain(Infinity);
    await Bun.sleep(300);
    expect(hugeKbAt(ptr(records))).toBeLessThan(fresh / 2);
    await Bun.sleep(collapseQuietMs);
    // khugepaged collapses too, but ~16 MiB per 10 s by default: within 2 s of the tick it is ours.
    const beforeTick = hugeKbAt(ptr(records));
    store.maintain(Infinity);
    expect(await huge(fresh * 0.9, 2_000)).toBeGreaterThanOrEqual(fresh * 0.9);
    expect(beforeTick).toBeLessThan(fresh * 0.9);
  }, 60_000);
});
