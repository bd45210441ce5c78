// Snapshots: the whole keyspace in one file, so recovery need not replay every WAL ever written.
//
// Written without stopping the world: the walk over entry ids runs in slices of a few
// milliseconds per event-loop turn while clients keep reading and writing. The result is fuzzy
// (an entry may be caught before or after a change made during the walk), which is correct
// because the WAL is rotated when the snapshot starts and recovery replays every record from that
// point: records are absolute, so replaying them over the fuzzy image gives the exact state.
//
// Durability order: snap-N.osnap.tmp → fdatasync → rename → fsync dir → MANIFEST.json (the same
// way) → only then delete the WALs and snapshots the new manifest no longer needs (on the thread
// pool). A forked child (the default, see #forkChild) writes an exact image instead of a fuzzy one
// and takes the steps up to the manifest itself. The file's layout is format.ts's
// (docs/FORMAT.md); the store encodes each entry's header and bytes itself.

import { closeSync, fdatasync as fdatasyncAsync, fstatSync, openSync, readdirSync, readSync, renameSync, unlink as unlinkAsync, unlinkSync, write as writeAsync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.types.ts";
import { snapshotChildPollMs, snapshotChildWriteBytes, snapshotChunkBytes, snapshotEntryWeightBytes, snapshotIdleMaxMs, snapshotRetryMs, snapshotSliceMs, snapshotSliceMsMin, snapshotUnpaceBytesMin, snapshotUnpaceShare } from "../constants.ts";
import { noExpiry, type Store } from "../engine/store.ts";
import { log } from "../log.ts";
import { errorText, syncDir, syncDirAsync, syncFile, writeFileAtomic } from "./files.ts";
import {
  crcBytes,
  fileIndex,
  getU64,
  manifestName,
  putI64,
  putSnapHeader,
  sealEntry,
  serializeManifest,
  snapCountBytes,
  snapCountOffset,
  snapHeaderBytes,
  snapName,
  tmpName,
  walName,
} from "./format.ts";
import type { Wal } from "./wal.ts";
import { Histogram, snapshotBoundsS } from "../histogram.ts";
import { canForkSnapshots, canUnidleChildren, childStatus, forkSnapshot, unidleChild, unpaceChild } from "../native/index.ts";

/** What a keyspace of `entries` entries holding `dataBytes` of keys and values weighs for snapshot_fork_min_bytes. */
export function snapshotWeightBytes(entries: number, dataBytes: number): number {
  return dataBytes + entries * snapshotEntryWeightBytes;
}

export class Snapshotter {
  readonly #dir: string;
  readonly #store: Store;
  readonly #wal: Wal;
  readonly #sliceMs: number;
  /** wal_max_bytes: the least logged since the last snapshot that makes the next one due (snapshotDueAfter). */
  readonly #dueBytesMin: number;
  readonly enabled: boolean;

  #index: number;
  #running = false;
  #stopped = false;
  #fd = -1;
  #tmp = "";
  #nextWal = 0;
  #cursor = 0;
  /**
   * Encoded entries go to the file in chunks written by Bun's thread pool, not by the event loop:
   * a write into a page cache full of dirty pages can block for milliseconds. Two chunks: one
   * being filled while the other is written.
   */
  #chunk: Buffer = Buffer.allocUnsafe(snapshotChunkBytes);
  #spare: Buffer | null = Buffer.allocUnsafe(snapshotChunkBytes);
  #chunkLen = 0;
  #filePos = 0;
  #writeError: string | null = null;
  #syncing = false;
  /** Set while the walk waits for a chunk write to return. */
  #waiting = false;
  #count = 0;
  #bytes = 0;
  #workMs = 0;
  #startedMs = 0;
  #longestSliceMs = 0;
  /** After a failed snapshot, size-triggered ones wait until then (performance.now()). */
  #retryAtMs = 0;
  /** snapshot_fork, when the native library can fork here. */
  readonly #fork: boolean;
  /** The child writing the running snapshot (0: none, or the snapshot runs in slices). */
  #child = 0;
  /** snapshot_fork_min_bytes: a lighter keyspace is written in slices even when #fork. */
  readonly #forkBytesMin: number;
  /** The running snapshot was handed to a child (which also publishes it). */
  #forked = false;
  /** Children run under SCHED_IDLE at first (this process may raise them again: canUnidleChildren). */
  readonly #idle: boolean;
  /** snapshot_busy_bytes_per_sec: a child's pace while this server is busy. */
  readonly #paceBytesPerSec: number;
  /** WAL bytes logged while the running child is paced past which its pace is lifted (Infinity: none or done). */
  #unpaceAtBytes = Infinity;
  /** When the running child, if still under SCHED_IDLE, is raised to nice 19 (performance.now(); Infinity: done). */
  #unidleAtMs = Infinity;
  /** The running snapshot is published; the files its manifest no longer needs are being deleted. */
  #cleaning = false;
  #childPoll: ReturnType<typeof setInterval> | null = null;

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
  /** Every lastWallMs, for /metrics. */
  readonly durations = new Histogram(snapshotBoundsS);

  /** `index`: the highest snapshot index present, so the next one gets index + 1. */
  constructor(dir: string, store: Store, wal: Wal, config: Config, index: number) {
    this.#dir = dir;
    this.#store = store;
    this.#wal = wal;
    this.#index = index;
    this.enabled = config.snapshotEnable;
    this.#dueBytesMin = config.walBytesMax;
    this.#sliceMs = Math.max(snapshotSliceMsMin, Math.min(snapshotSliceMs, config.snapshotPauseMaxMs));
    this.#fork = config.snapshotFork && canForkSnapshots();
    this.#forkBytesMin = config.snapshotForkBytesMin;
    this.#idle = this.#fork && canUnidleChildren();
    this.#paceBytesPerSec = config.snapshotBusyBytesPerSec;
  }

  /** The pid of the child writing the running snapshot; 0 when none (or it runs in slices). */
  get childPid(): number {
    return this.#child;
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * Starts a snapshot; null when started, else why not. The reason may reach a client (SNAPSHOT,
   * BGSAVE): it names files by their base name, the log has the full path.
   */
  start(reason: string): string | null {
    if (!this.enabled) return "snapshots are disabled (enable_snapshot = false)";
    // A child of an abandoned snapshot that was not reaped yet still counts as running.
    if (this.#running || this.#child !== 0) return "a snapshot is already in progress";
    if (this.#stopped) return "the server is shutting down";
    const index = this.#index + 1;
    const name = tmpName(snapName(index));
    // The file is created before the WAL rotates: a snapshot that cannot start (EMFILE, ENOSPC,
    // EACCES…) then leaves no extra WAL file behind, and retrying it costs nothing.
    this.#tmp = join(this.#dir, name);
    try {
      // Read and write: a forked child writes it, and the parent then reads the count it wrote.
      this.#fd = openSync(this.#tmp, "w+");
    } catch (e) {
      return this.#refused(`cannot create ${name}: ${errorText(e)}`, this.#tmp);
    }
    const nextWal = this.#wal.rotate();
    if (nextWal < 0) {
      this.#closeFile();
      try {
        unlinkSync(this.#tmp);
      } catch {}
      return this.#refused(`the write-ahead log cannot be rotated (${this.#wal.failure ?? this.#wal.rotateFailure ?? "see the log"})`, null);
    }
    this.#wal.sinceSnapshotBytes = 0;
    this.#running = true;
    this.#nextWal = nextWal;
    this.#cursor = 0;
    this.#count = 0;
    this.#bytes = snapHeaderBytes;
    this.#workMs = 0;
    this.#longestSliceMs = 0;
    this.#startedMs = performance.now();
    // The count is patched in at the end, once the walk knows it.
    this.#chunkLen = putSnapHeader(this.#chunk, 0, 0);
    this.#filePos = 0;
    this.#writeError = null;
    this.#forked = false;
    const light = this.#fork && !this.#forkPays();
    if (this.#fork && !light && this.#forkChild()) {
      log.info(`snapshot ${snapName(index)} started (${reason}) by child ${this.#child}; WAL continues in ${walName(nextWal)}`);
      return null;
    }
    const how = light ? " in slices (the keyspace weighs less than snapshot_fork_min_bytes)" : "";
    log.info(`snapshot ${snapName(index)} started (${reason})${how}; WAL continues in ${walName(nextWal)}`);
    setImmediate(this.#slice);
    return null;
  }

  /**
   * Whether the keyspace weighs snapshot_fork_min_bytes or more (snapshotWeightBytes). A lighter
   * one costs the event loop a few ms in slices. A fork costs more than its own ms: every page the
   * server writes afterwards (the buffers of the reads it gets, its heap, the slab) faults once,
   * ~17k faults a snapshot under 16 KiB SETs.
   */
  #forkPays(): boolean {
    return snapshotWeightBytes(this.#store.size, this.#store.dataBytes) >= this.#forkBytesMin;
  }

  /**
   * Forks the child that writes this snapshot from a copy-on-write image of the keyspace, frozen
   * at this instant (so the image is exact, not fuzzy), and then publishes it (renames it and
   * writes the manifest: each of those steps waits for the file system's journal, which the event
   * loop must not); the event loop pays only for the fork. False when fork() fails: the snapshot
   * then runs in slices.
   */
  #forkChild(): boolean {
    const started = performance.now();
    let dirFd = -1;
    try {
      dirFd = openSync(this.#dir, "r");
    } catch (e) {
      log.warn(`snapshot: cannot open ${this.#dir} for the child (${errorText(e)}); writing it in slices on the event loop instead`);
      return false;
    }
    const name = snapName(this.#index + 1);
    const publish = { dirFd, tmp: tmpName(name), name, manifestTmp: tmpName(manifestName), manifestName, manifest: this.#manifest(name) };
    const pid = forkSnapshot(this.#fd, this.#store.snapshotLayout(), this.#chunk.subarray(0, snapshotChildWriteBytes), this.#chunkLen, Date.now(), { publish, idle: this.#idle, paceBytesPerSec: this.#paceBytesPerSec });
    closeSync(dirFd); // the child has its own copy
    this.#workMs = performance.now() - started;
    this.#longestSliceMs = this.#workMs;
    if (pid < 0) {
      log.warn(`snapshot: fork failed (errno ${-pid}); writing it in slices on the event loop instead`);
      return false;
    }
    this.#forked = true;
    this.#child = pid;
    this.#store.shareWithChild(true);
    this.#unidleAtMs = this.#idle ? started + snapshotIdleMaxMs : Infinity;
    // While a child runs, overwrites of small entries take fresh slab blocks, so a paced snapshot under a write-heavy
    // load holds more memory the longer it takes: once the WAL has grown by an eighth of the
    // keyspace since it started, the child goes on at full speed (native/osprey.c pace_lifted).
    this.#unpaceAtBytes = this.#paceBytesPerSec > 0 ? Math.max(snapshotUnpaceBytesMin, this.#store.dataBytes * snapshotUnpaceShare) : Infinity;
    this.#childPoll = setInterval(this.#childCheck, snapshotChildPollMs);
    return true;
  }

  /** Polls the child (waitpid WNOHANG: one system call); once it exited, completes or abandons the snapshot. */
  #childCheck = (): void => {
    const status = childStatus(this.#child);
    if (status === -1) {
      this.#unpaceWhenDue();
      return this.#unidleWhenDue();
    }
    clearInterval(this.#childPoll!);
    this.#childPoll = null;
    const pid = this.#child;
    this.#child = 0;
    this.#store.shareWithChild(false);
    if (!this.#running) return this.#closeFile(); // abandoned (shutdown) meanwhile
    if (status !== 0) return this.#abandon(`the snapshot child ${pid} ${childFailure(status)}`);
    // The child renamed the file and wrote the manifest; the descriptor still reads it.
    try {
      const count = Buffer.allocUnsafe(snapCountBytes);
      readSync(this.#fd, count, 0, snapCountBytes, snapCountOffset);
      this.#count = getU64(count, 0);
      this.#bytes = fstatSync(this.#fd).size;
    } catch (e) {
      this.#count = 0;
      this.#bytes = 0;
      log.warn(`snapshot ${snapName(this.#index + 1)} is published, but its size cannot be read back: ${errorText(e)}`);
    }
    this.#closeFile();
    this.#published();
  };

  /** A paced child goes on at full speed once the WAL grew by #unpaceAtBytes since it started. */
  #unpaceWhenDue(): void {
    if (this.#wal.sinceSnapshotBytes < this.#unpaceAtBytes) return;
    this.#unpaceAtBytes = Infinity;
    unpaceChild();
  }

  /** A child still under SCHED_IDLE after snapshotIdleMaxMs is raised to nice 19, so that it ends. */
  #unidleWhenDue(): void {
    if (performance.now() < this.#unidleAtMs) return;
    this.#unidleAtMs = Infinity;
    const rc = unidleChild(this.#child);
    if (rc === 0) log.info(`snapshot child ${this.#child} still running after ${snapshotIdleMaxMs} ms at idle priority: raised to nice 19`);
    else log.warn(`snapshot child ${this.#child} could not be raised from idle priority (errno ${rc}); it goes on at idle priority`);
  }

  /**
   * A size-triggered snapshot (wal_max_bytes logged since the last one). After a failure it waits
   * snapshotRetryMs, as the WAL keeps asking on every write until one starts.
   */
  startDue(): void {
    if (performance.now() < this.#retryAtMs) return;
    this.start(`${this.#wal.sinceSnapshotBytes} bytes logged since the last one (due at ${this.#wal.snapshotDueBytes})`);
  }

  /** A snapshot that could not start: counted, logged (with `path`), retried when size-triggered. */
  #refused(why: string, path: string | null): string {
    this.failuresTotal++;
    this.#retryAtMs = performance.now() + snapshotRetryMs;
    log.error(`snapshot not started, retried in ${snapshotRetryMs} ms if due: ${why}${path === null ? "" : ` (${path})`}`);
    return why;
  }

  /**
   * Shutdown: abandons a snapshot in progress (the previous one and the WALs still cover
   * everything). One already published is left to finish deleting what it made stale; whatever
   * is left over, the next snapshot's cleanup deletes.
   */
  stop(): void {
    this.#stopped = true;
    if (this.#running && !this.#cleaning) this.#abandon("the server is shutting down");
  }

  /** A child still writing is killed with its snapshot (the poll reaps it; on exit, PDEATHSIG). */
  #killChild(): void {
    if (this.#child === 0) return;
    try {
      process.kill(this.#child, "SIGKILL");
    } catch {}
  }

  /** One slice: encodes entries until the time budget is spent, then yields to clients. */
  #slice = (): void => {
    if (!this.#running) return;
    if (this.#writeError !== null) return this.#abandon(this.#writeError);
    const started = performance.now();
    const deadline = started + this.#sliceMs;
    const store = this.#store;
    const now = Date.now();
    const limit = store.idLimit;
    let id = this.#cursor;
    for (let n = 0; id < limit; id++) {
      if (!store.hasEntry(id)) continue;
      const expiry = store.expiry(id);
      if (expiry !== noExpiry && expiry <= now) continue;
      const size = store.entryBytes(id) + crcBytes;
      // The chunk is full: hand it to the thread pool, or wait for the spare to come back.
      if (this.#chunkLen + size > this.#chunk.length && this.#chunkLen > 0 && !this.#sendChunk()) break;
      if (size > this.#chunk.length) this.#chunk = Buffer.allocUnsafe(size); // one huge value
      const at = this.#chunkLen;
      this.#chunkLen = sealEntry(this.#chunk, at, at + store.encodeEntry(id, this.#chunk, at));
      this.#count++;
      this.#bytes += size;
      if ((++n & 63) === 0 && performance.now() > deadline) {
        id++;
        break;
      }
    }
    this.#cursor = id;
    const spent = performance.now() - started;
    this.#workMs += spent;
    if (spent > this.#longestSliceMs) this.#longestSliceMs = spent;
    if (this.#waiting) return; // the chunk write's callback continues the walk
    if (id < store.idLimit) return void setImmediate(this.#slice);
    this.#finish();
  };

  /** Starts writing the full chunk; false (and the walk pauses) while the previous write is out. */
  #sendChunk(): boolean {
    if (this.#spare === null) {
      this.#waiting = true;
      return false;
    }
    const full = this.#chunk;
    const len = this.#chunkLen;
    this.#chunk = this.#spare;
    this.#spare = null;
    this.#chunkLen = 0;
    const pos = this.#filePos;
    this.#filePos += len;
    this.#writeChunkAsync(full, 0, len, pos);
    return true;
  }

  #writeChunkAsync(buf: Buffer, off: number, len: number, pos: number): void {
    writeAsync(this.#fd, buf, off, len, pos, (err, written) => {
      if (err) this.#writeError = `write ${this.#tmp}: ${errorText(err)}`;
      else if (written < len) return this.#writeChunkAsync(buf, off + written, len - written, pos + written);
      this.#spare = buf;
      if (!this.#running && this.#fd >= 0) return this.#closeFile(); // abandoned meanwhile
      if (this.#waiting) {
        this.#waiting = false;
        if (this.#running) setImmediate(this.#slice);
      }
    });
  }

  #finish(): void {
    if (this.#spare === null) {
      this.#waiting = true; // the last chunk write is still out; its callback comes back here
      return;
    }
    if (this.#writeError !== null) return this.#abandon(this.#writeError);
    const fd = this.#fd;
    try {
      let off = 0;
      while (off < this.#chunkLen) off += writeSync(fd, this.#chunk, off, this.#chunkLen - off, this.#filePos + off);
      this.#chunkLen = 0;
      const count = Buffer.allocUnsafe(snapCountBytes);
      putI64(count, 0, this.#count);
      writeSync(fd, count, 0, snapCountBytes, snapCountOffset);
    } catch (e) {
      return this.#abandon(errorText(e));
    }
    // The file's bytes reach the disk off the event loop; the renames after it are quick.
    this.#syncing = true;
    fdatasyncAsync(fd, (err) => {
      this.#syncing = false;
      if (!this.#running) return this.#closeFile(); // abandoned (shutdown) meanwhile
      if (err) return this.#abandon(`fdatasync: ${errorText(err)}`);
      this.#publish();
    });
  }

  /** The manifest naming snapshot `name` and the WAL that continues after it. */
  #manifest(name: string): Buffer {
    return serializeManifest({ version: 1, snap: name, next_wal: walName(this.#nextWal), created_ms: Date.now() });
  }

  /**
   * A snapshot written in slices: its data is on disk, so it takes its name, then the manifest
   * names it (the durability order above). A forked child does the same itself (native/osprey.c).
   */
  #publish(): void {
    try {
      closeSync(this.#fd);
      this.#fd = -1;
      const name = snapName(this.#index + 1);
      renameSync(this.#tmp, join(this.#dir, name));
      syncDir(this.#dir);
      writeFileAtomic(join(this.#dir, manifestName), this.#manifest(name));
    } catch (e) {
      return this.#abandon(errorText(e));
    }
    this.#published();
  }

  /**
   * The manifest names the new snapshot: what it no longer needs is deleted on Bun's thread pool,
   * then the snapshot counts as done. Deleting a snapshot of a gigabyte or more waits for the file
   * system to free (and, mounted with discard, to trim) its blocks, up to a second or two: on the
   * event loop that stopped every client. The snapshot stays running meanwhile, so the next one
   * does not rotate the WAL (an fsync of the directory) behind that wait.
   */
  #published(): void {
    const index = this.#index + 1;
    this.#index = index;
    this.#wal.snapshotDueBytes = snapshotDueAfter(this.#dueBytesMin, this.#bytes);
    this.#cleaning = true;
    this.#cleanup(index, () => {
      this.#cleaning = false;
      this.#done();
    });
  }

  #done(): void {
    this.#running = false;
    this.#shrinkChunks();
    this.snapshotsTotal++;
    this.lastSnapshotMs = Date.now();
    this.lastWorkMs = this.#workMs;
    this.lastWallMs = performance.now() - this.#startedMs;
    this.durations.observe(this.lastWallMs);
    this.lastLongestSliceMs = this.#longestSliceMs;
    this.lastEntries = this.#count;
    this.lastBytes = this.#bytes;
    log.info(
      `snapshot ${snapName(this.#index)} done: ${this.#count} keys, ${this.#bytes} bytes, ` +
        `${this.#workMs.toFixed(1)} ms of work (longest slice ${this.#longestSliceMs.toFixed(2)} ms), ${this.lastWallMs.toFixed(0)} ms in all`,
    );
  }

  /** A huge value made a chunk as big as itself: let that memory go between snapshots. */
  #shrinkChunks(): void {
    if (this.#chunk.length > snapshotChunkBytes) this.#chunk = Buffer.allocUnsafe(snapshotChunkBytes);
    if (this.#spare !== null && this.#spare.length > snapshotChunkBytes) this.#spare = Buffer.allocUnsafe(snapshotChunkBytes);
  }

  #closeFile(): void {
    try {
      closeSync(this.#fd);
    } catch {}
    this.#fd = -1;
  }

  /**
   * Deletes what the manifest just written no longer needs (older snapshots, WALs before
   * next_wal) one file at a time on the thread pool, then fsyncs the directory; calls `done` after.
   * A file that cannot be deleted is logged and left for the next snapshot's cleanup.
   */
  #cleanup(index: number, done: () => void): void {
    let stale: string[];
    try {
      stale = readdirSync(this.#dir).filter((name) => {
        const snap = fileIndex(name, "snap");
        const wal = fileIndex(name, "wal");
        return (snap >= 0 && snap < index) || (wal >= 0 && wal < this.#nextWal);
      });
    } catch (e) {
      log.warn(`could not list ${this.#dir} after a snapshot, nothing deleted: ${errorText(e)}`);
      return done();
    }
    const next = (i: number): void => {
      if (i === stale.length) {
        return syncDirAsync(this.#dir, (err) => {
          if (err !== null) log.warn(`could not fsync ${this.#dir} after deleting what a snapshot made stale: ${err}`);
          done();
        });
      }
      unlinkAsync(join(this.#dir, stale[i]!), (err) => {
        if (err) log.warn(`could not delete ${stale[i]} after a snapshot: ${errorText(err)}`);
        next(i + 1);
      });
    };
    next(0);
  }

  #abandon(why: string): void {
    this.#running = false;
    this.#killChild();
    // A child may have published before it failed or was killed (its manifest then names the
    // snapshot at this index): the next snapshot takes the index after, never renames over it.
    if (this.#forked) this.#index++;
    this.#shrinkChunks();
    this.failuresTotal++;
    // The WAL rotated when this one started, so the bytes that made it due no longer count: count
    // them again, so that the next write after snapshotRetryMs starts another.
    this.#retryAtMs = performance.now() + snapshotRetryMs;
    this.#wal.sinceSnapshotBytes = Math.max(this.#wal.sinceSnapshotBytes, this.#wal.snapshotDueBytes);
    // A chunk write still out keeps the fd until its callback (closing now could hand the number
    // to another file while the thread pool writes to it).
    // A child still running keeps it too, until the poll sees it gone.
    if (this.#fd >= 0 && this.#spare !== null && !this.#syncing && this.#child === 0) this.#closeFile();
    try {
      unlinkSync(this.#tmp);
    } catch {}
    if (!this.#stopped) log.error(`snapshot failed, the WALs still hold everything: ${why}`);
  }
}

/**
 * How much WAL, logged since a snapshot of `snapshotBytes` started, makes the next one due: at least
 * wal_max_bytes, and at least the snapshot's own size. Each snapshot rewrites the whole keyspace,
 * so with a fixed trigger a keyspace much larger than wal_max_bytes was rewritten many times over
 * for every byte logged (1 GiB of large values at 256 MiB: 4 bytes of snapshot per byte logged);
 * growing the trigger with the snapshot bounds that to one byte per byte logged, as Redis bounds
 * its AOF rewrites (auto-aof-rewrite-percentage 100). Recovery then replays at most about as much
 * WAL as it loads snapshot, so its time stays proportional to the keyspace's size.
 */
export function snapshotDueAfter(walBytesMax: number, snapshotBytes: number): number {
  return Math.max(walBytesMax, snapshotBytes);
}

/** What a failed child's status (native childStatus) means, for the log. */
function childFailure(status: number): string {
  if (status === -2) return "was reaped by someone else: its result is unknown";
  if (status >= 256) return `was killed by signal ${status - 256}`;
  const what: Record<number, string> = { 10: "could not write the file", 11: "could not sync the file", 12: "found the keyspace layout inconsistent", 13: "lost its parent", 14: "could not rename the file or write the manifest" };
  return `failed (exit ${status}: ${what[status] ?? "unknown"})`;
}

/** The highest snapshot index in `dir` (0 when none): the next snapshot is this + 1. */
export function lastSnapIndex(dir: string): number {
  let max = 0;
  for (const name of readdirSync(dir)) max = Math.max(max, fileIndex(name, "snap"));
  return max;
}

/**
 * Writes the whole keyspace as snapshot `index` and then a manifest naming it and `nextWal`, at
 * once and in the order of any snapshot (tmp → fdatasync → rename → fsync dir → MANIFEST.json the
 * same way). For a repair, whose result must be on disk before a client is served, and for
 * `osprey load`; the server's own snapshots run in slices instead (Snapshotter). Entries expired
 * at `nowMs` are left out. Memory: one chunk (or one entry, when larger). Returns the entries written.
 */
export function writeSnapshotNow(dir: string, store: Store, index: number, nextWal: number, nowMs: number): number {
  const name = snapName(index);
  const tmp = join(dir, tmpName(name));
  const fd = openSync(tmp, "w");
  let count = 0;
  try {
    let chunk = Buffer.allocUnsafe(snapshotChunkBytes);
    let len = putSnapHeader(chunk, 0, 0);
    let pos = 0;
    const flush = () => {
      for (let off = 0; off < len; ) off += writeSync(fd, chunk, off, len - off, pos + off);
      pos += len;
      len = 0;
    };
    for (let id = 0; id < store.idLimit; id++) {
      if (!store.hasEntry(id)) continue;
      const expiry = store.expiry(id);
      if (expiry !== noExpiry && expiry <= nowMs) continue;
      const size = store.entryBytes(id) + crcBytes;
      if (len + size > chunk.length) {
        flush();
        if (size > chunk.length) chunk = Buffer.allocUnsafe(size);
      }
      len = sealEntry(chunk, len, len + store.encodeEntry(id, chunk, len));
      count++;
    }
    flush();
    const countBytes = Buffer.allocUnsafe(snapCountBytes);
    putI64(countBytes, 0, count);
    writeSync(fd, countBytes, 0, snapCountBytes, snapCountOffset);
    syncFile(fd, tmp);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, join(dir, name));
  syncDir(dir);
  writeFileAtomic(join(dir, manifestName), serializeManifest({ version: 1, snap: name, next_wal: walName(nextWal), created_ms: Date.now() }));
  return count;
}
