// Snapshots: the whole keyspace in one file, so recovery need not replay every WAL ever written.
//
// Written without stopping the world: the walk over entry ids runs in slices of a few
// milliseconds per event-loop turn while clients keep reading and writing. The result is fuzzy
// (an entry may be caught before or after a change made during the walk), which is correct
// because the WAL is rotated when the snapshot starts and recovery replays every record from that
// point: records are absolute, so replaying them over the fuzzy image gives the exact state.
//
// Durability order: snap-N.osnap.tmp → fdatasync → rename → fsync dir → MANIFEST.json (the same
// way) → only then delete the WALs and snapshots the new manifest no longer needs.

import { closeSync, fdatasync as fdatasyncAsync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.types.ts";
import { snapshotChunkBytes, snapshotSliceMs } from "../constants.ts";
import { noExpiry, type Store } from "../engine/store.ts";
import { log } from "../log.ts";
import { crc32c } from "../native/index.ts";
import { errorText, syncDir, writeFileAtomic } from "./files.ts";
import {
  entryHeaderBytes,
  fileIndex,
  formatVersion,
  manifestName,
  putI64,
  putU16,
  putU32,
  snapCountOffset,
  snapHeaderBytes,
  snapMagic,
  snapName,
  walName,
  type Manifest,
} from "./format.ts";
import type { Wal } from "./wal.ts";

export class Snapshotter {
  readonly #dir: string;
  readonly #store: Store;
  readonly #wal: Wal;
  readonly #sliceMs: number;
  readonly enabled: boolean;

  #index: number;
  #running = false;
  #stopped = false;
  #fd = -1;
  #tmp = "";
  #nextWal = 0;
  #cursor = 0;
  #chunk = Buffer.allocUnsafe(snapshotChunkBytes);
  #chunkLen = 0;
  #count = 0;
  #bytes = 0;
  #workMs = 0;
  #startedMs = 0;
  #longestSliceMs = 0;

  snapshotsTotal = 0;
  failuresTotal = 0;
  /** When the last snapshot completed (epoch ms), 0 before the first. */
  lastSnapshotMs = 0;
  /** Time spent in slices (the event loop's cost) and wall time from start to manifest. */
  lastWorkMs = 0;
  lastWallMs = 0;
  lastLongestSliceMs = 0;
  lastEntries = 0;
  lastBytes = 0;

  /** `index`: the highest snapshot index present, so the next one gets index + 1. */
  constructor(dir: string, store: Store, wal: Wal, config: Config, index: number) {
    this.#dir = dir;
    this.#store = store;
    this.#wal = wal;
    this.#index = index;
    this.enabled = config.snapshotEnable;
    this.#sliceMs = Math.max(0.5, Math.min(snapshotSliceMs, config.snapshotPauseMaxMs));
  }

  get running(): boolean {
    return this.#running;
  }

  /** Starts a snapshot; null when started, else why not. */
  start(reason: string): string | null {
    if (!this.enabled) return "snapshots are disabled (enable_snapshot = false)";
    if (this.#running) return "a snapshot is already in progress";
    if (this.#stopped) return "the server is shutting down";
    const nextWal = this.#wal.rotate();
    if (nextWal < 0) return `the write-ahead log cannot be rotated (${this.#wal.failure ?? "see the log"})`;
    this.#wal.sinceSnapshotBytes = 0;
    const index = this.#index + 1;
    this.#tmp = join(this.#dir, `${snapName(index)}.tmp`);
    try {
      this.#fd = openSync(this.#tmp, "w");
    } catch (e) {
      this.failuresTotal++;
      return `cannot create ${this.#tmp}: ${errorText(e)}`;
    }
    this.#running = true;
    this.#nextWal = nextWal;
    this.#cursor = 0;
    this.#count = 0;
    this.#bytes = snapHeaderBytes;
    this.#workMs = 0;
    this.#longestSliceMs = 0;
    this.#startedMs = performance.now();
    const b = this.#chunk;
    putU32(b, 0, snapMagic);
    putU16(b, 4, formatVersion);
    putI64(b, snapCountOffset, 0); // the count is patched in at the end
    this.#chunkLen = snapHeaderBytes;
    log.info(`snapshot ${snapName(index)} started (${reason}); WAL continues in ${walName(nextWal)}`);
    setImmediate(this.#slice);
    return null;
  }

  /** Shutdown: abandons a snapshot in progress (the previous one and the WALs still cover everything). */
  stop(): void {
    this.#stopped = true;
    if (this.#running) this.#abandon("the server is shutting down");
  }

  /** One slice: encodes entries until the time budget is spent, then yields to clients. */
  #slice = (): void => {
    if (!this.#running) return;
    const started = performance.now();
    const deadline = started + this.#sliceMs;
    const store = this.#store;
    const now = Date.now();
    let id = this.#cursor;
    try {
      for (let n = 0; id < store.idLimit; id++) {
        if (!store.hasEntry(id)) continue;
        const expiry = store.expiry(id);
        if (expiry !== noExpiry && expiry <= now) continue;
        this.#encode(id, expiry);
        if ((++n & 127) === 0 && performance.now() > deadline) {
          id++;
          break;
        }
      }
    } catch (e) {
      return this.#abandon(errorText(e));
    }
    this.#cursor = id;
    const spent = performance.now() - started;
    this.#workMs += spent;
    if (spent > this.#longestSliceMs) this.#longestSliceMs = spent;
    if (id < store.idLimit) return void setImmediate(this.#slice);
    this.#finish();
  };

  #encode(id: number, expiry: number): void {
    const store = this.#store;
    const keyLen = store.keyLength(id);
    const valueLen = store.valueLength(id);
    const size = entryHeaderBytes + keyLen + valueLen + 4;
    if (this.#chunkLen + size > this.#chunk.length) this.#writeChunk();
    // An entry larger than the chunk gets a buffer of its own, once.
    const b = size > this.#chunk.length ? Buffer.allocUnsafe(size) : this.#chunk;
    const at = b === this.#chunk ? this.#chunkLen : 0;
    putU32(b, at, keyLen);
    putU32(b, at + 4, valueLen);
    putI64(b, at + 8, expiry);
    putI64(b, at + 16, store.version(id));
    const src = store.buffer(id);
    const ks = store.keyOffset(id);
    src.copy(b, at + entryHeaderBytes, ks, ks + keyLen + valueLen);
    const end = at + size - 4;
    putU32(b, end, crc32c(b, at, end));
    this.#count++;
    this.#bytes += size;
    if (b === this.#chunk) this.#chunkLen += size;
    else this.#writeAll(b, size);
  }

  #writeChunk(): void {
    this.#writeAll(this.#chunk, this.#chunkLen);
    this.#chunkLen = 0;
  }

  #writeAll(b: Uint8Array, len: number): void {
    let off = 0;
    while (off < len) off += writeSync(this.#fd, b, off, len - off);
  }

  #finish(): void {
    const fd = this.#fd;
    try {
      this.#writeChunk();
      const count = Buffer.allocUnsafe(8);
      putI64(count, 0, this.#count);
      writeSync(fd, count, 0, 8, snapCountOffset);
    } catch (e) {
      return this.#abandon(errorText(e));
    }
    // The file's bytes reach the disk off the event loop; the renames after it are quick.
    fdatasyncAsync(fd, (err) => {
      if (!this.#running) return;
      if (err) return this.#abandon(`fdatasync: ${errorText(err)}`);
      try {
        closeSync(fd);
        this.#fd = -1;
        const index = this.#index + 1;
        const name = snapName(index);
        renameSync(this.#tmp, join(this.#dir, name));
        syncDir(this.#dir);
        const manifest: Manifest = { version: 1, snap: name, next_wal: walName(this.#nextWal), created_ms: Date.now() };
        writeFileAtomic(join(this.#dir, manifestName), Buffer.from(JSON.stringify(manifest)));
        this.#index = index;
        this.#cleanup(index);
      } catch (e) {
        return this.#abandon(errorText(e));
      }
      this.#running = false;
      this.snapshotsTotal++;
      this.lastSnapshotMs = Date.now();
      this.lastWorkMs = this.#workMs;
      this.lastWallMs = performance.now() - this.#startedMs;
      this.lastLongestSliceMs = this.#longestSliceMs;
      this.lastEntries = this.#count;
      this.lastBytes = this.#bytes;
      log.info(
        `snapshot ${snapName(this.#index)} done: ${this.#count} keys, ${this.#bytes} bytes, ` +
          `${this.#workMs.toFixed(1)} ms of work (longest slice ${this.#longestSliceMs.toFixed(2)} ms), ${this.lastWallMs.toFixed(0)} ms in all`,
      );
    });
  }

  /** Deletes what the manifest just written no longer needs: older snapshots, WALs before next_wal. */
  #cleanup(index: number): void {
    for (const name of readdirSync(this.#dir)) {
      const snap = fileIndex(name, "snap");
      const wal = fileIndex(name, "wal");
      const stale = (snap >= 0 && snap < index) || (wal >= 0 && wal < this.#nextWal);
      if (!stale) continue;
      try {
        unlinkSync(join(this.#dir, name));
      } catch (e) {
        log.warn(`could not delete ${name} after a snapshot: ${errorText(e)}`);
      }
    }
    syncDir(this.#dir);
  }

  #abandon(why: string): void {
    this.#running = false;
    this.failuresTotal++;
    if (this.#fd >= 0) {
      try {
        closeSync(this.#fd);
      } catch {}
      this.#fd = -1;
    }
    try {
      unlinkSync(this.#tmp);
    } catch {}
    if (!this.#stopped) log.error(`snapshot failed, the WALs still hold everything: ${why}`);
  }
}

/** The highest snapshot index in `dir` (0 when none): the next snapshot is this + 1. */
export function lastSnapIndex(dir: string): number {
  let max = 0;
  for (const name of readdirSync(dir)) max = Math.max(max, fileIndex(name, "snap"));
  return max;
}
