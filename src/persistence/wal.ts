// The write-ahead log: every change to the keyspace, encoded by the Store's MutationLog calls
// *before* the change is applied, in the record format of PROTOCOL.md.
//
// Durability order, per event-loop turn:
//   1. a command logs its records into #buf (room on disk was reserved first, so a full disk
//      refuses the write before it is applied) and applies them to memory;
//   2. its connection holds the reply (see Connection: "held") until this log says durable;
//   3. at the end of the turn (setImmediate) one write() appends every record of the turn;
//   4. "os"/"batch": replies go out now. "always": one fdatasync, run off the event loop, covers
//      every record written so far (group commit); replies go out when it returns.

import { closeSync, fdatasync as fdatasyncAsync, ftruncateSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.types.ts";
import { groupCommitWaitMs, walBufferBytesInitial, walBufferBytesMax, walReserveBytes, walRetryMs } from "../constants.ts";
import { noExpiry, type MutationLog } from "../engine/store.ts";
import { log } from "../log.ts";
import { reserve } from "../native/index.ts";
import { copyBytes } from "../bytes.ts";
import { errnoText, errorText, syncDir, syncFile } from "./files.ts";
import { putRecordHeader, recordHeaderBytes, recordOverheadBytes, RecordType, sealRecord, walName } from "./format.ts";

/** Thrown by a logging call when the write cannot be logged: the command fails, nothing is applied. */
export class WalError extends Error {}

/** A connection holding replies until the records they acknowledge are durable. */
export interface DurabilityWaiter {
  onDurable(lsn: number): void;
}

export class Wal implements MutationLog {
  readonly dir: string;
  readonly policy: Config["syncPolicy"];
  readonly #fileBytesMax: number;
  readonly #batchBytes: number;

  #index: number;
  #fd: number;
  /** Bytes in the current file (written, not counting #buf). */
  #fileBytes: number;
  /** Disk space is reserved in the current file up to this offset. */
  #reservedEnd: number;
  #canReserve = true;

  /** Records of this turn not yet written. */
  #buf = Buffer.allocUnsafe(walBufferBytesInitial);
  #len = 0;
  #batchAt = -1;
  #batchCount = 0;

  /** Log positions: bytes ever logged by this process, written to the file, covered by an fdatasync. */
  #writtenLsn = 0;
  #syncedLsn = 0;
  #syncing = false;
  #scheduled = false;
  /** Why writing failed; while set, every logging call throws and the turn's bytes are retried. */
  #failure: string | null = null;
  #retryTimer: ReturnType<typeof setInterval> | null = null;
  #batchTimer: ReturnType<typeof setInterval> | null = null;
  /** Rotated-out files whose fd an in-flight sync still uses. */
  #retired: number[] = [];
  #closed = false;

  #waitLsn: number[] = [];
  #waitOn: DurabilityWaiter[] = [];
  #waitHead = 0;

  /** Bytes logged since the last snapshot started; past wal_max_bytes `onSnapshotDue` runs. */
  sinceSnapshotBytes = 0;
  onSnapshotDue: (() => void) | null = null;

  writesTotal = 0;
  syncsTotal = 0;
  lastSyncMs = 0;
  bytesTotal = 0;
  errorsTotal = 0;

  /** Opens (appending to) wal-<index>, whose current size is `bytes` (0 to create it). */
  constructor(dir: string, config: Config, index: number, bytes: number) {
    this.dir = dir;
    this.policy = config.syncPolicy;
    this.#fileBytesMax = config.walBytesMax;
    this.#batchBytes = config.batchFsyncBytes;
    this.#index = index;
    this.#fd = openSync(join(dir, walName(index)), "a");
    if (bytes === 0) syncDir(dir);
    this.#fileBytes = bytes;
    this.#reservedEnd = bytes;
    if (this.policy === "batch") {
      this.#batchTimer = setInterval(() => {
        if (this.#writtenLsn > this.#syncedLsn && !this.#syncing) this.#startSync();
      }, config.batchFsyncMs);
    }
  }

  get currentName(): string {
    return walName(this.#index);
  }

  get currentIndex(): number {
    return this.#index;
  }

  /** Bytes in the current file, including records of this turn not yet written. */
  get currentBytes(): number {
    return this.#fileBytes + this.#len;
  }

  /** Position after the last record logged: a connection that saw it grow holds its replies. */
  get appendedLsn(): number {
    return this.#writtenLsn + this.#len;
  }

  /** What replies may be released up to: synced for "always", written otherwise. */
  get durableLsn(): number {
    return this.policy === "always" ? this.#syncedLsn : this.#writtenLsn;
  }

  get failure(): string | null {
    return this.#failure;
  }

  // ---- MutationLog: called by the Store before it applies a change ----

  set(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): void {
    const at = this.#room(recordOverheadBytes + (ke - ks) + (ve - vs));
    const b = this.#buf;
    putRecordHeader(b, at, RecordType.Set, ke - ks, ve - vs, expiryMs, version);
    copyBytes(kb, ks, ke, b, at + recordHeaderBytes);
    copyBytes(vb, vs, ve, b, at + recordHeaderBytes + (ke - ks));
    this.#len = sealRecord(b, at, at + recordHeaderBytes + (ke - ks) + (ve - vs));
  }

  del(kb: Uint8Array, ks: number, ke: number): void {
    const at = this.#room(recordOverheadBytes + (ke - ks));
    putRecordHeader(this.#buf, at, RecordType.Del, ke - ks, 0, noExpiry, 0);
    copyBytes(kb, ks, ke, this.#buf, at + recordHeaderBytes);
    this.#len = sealRecord(this.#buf, at, at + recordHeaderBytes + (ke - ks));
  }

  expire(kb: Uint8Array, ks: number, ke: number, expiryMs: number, version: number): void {
    const at = this.#room(recordOverheadBytes + (ke - ks));
    putRecordHeader(this.#buf, at, RecordType.Expire, ke - ks, 0, expiryMs, version);
    copyBytes(kb, ks, ke, this.#buf, at + recordHeaderBytes);
    this.#len = sealRecord(this.#buf, at, at + recordHeaderBytes + (ke - ks));
  }

  clear(): void {
    const at = this.#room(recordOverheadBytes);
    putRecordHeader(this.#buf, at, RecordType.Clear, 0, 0, noExpiry, 0);
    this.#len = sealRecord(this.#buf, at, at + recordHeaderBytes);
  }

  /** Reserves room for the whole batch up front, so it is logged (and applied) entirely or not at all. */
  batchBegin(count: number, dataBytes: number): void {
    // A batch left open means an item threw after its room was made (only "keyspace full" can):
    // drop its records rather than leave the log inside a half-written batch.
    if (this.#batchAt >= 0) this.#len = this.#batchAt;
    this.#batchAt = -1;
    const at = this.#room(recordOverheadBytes + count * recordOverheadBytes + dataBytes);
    this.#batchAt = at;
    this.#batchCount = count;
    this.#len = at + recordHeaderBytes;
  }

  batchEnd(): void {
    const at = this.#batchAt;
    const end = this.#len;
    putRecordHeader(this.#buf, at, RecordType.Batch, 0, end - at - recordHeaderBytes, noExpiry, this.#batchCount);
    this.#len = sealRecord(this.#buf, at, end);
    this.#batchAt = -1;
  }

  // ---- Durability ----

  /** Calls `w.onDurable` once everything up to `lsn` is as durable as the sync policy promises. */
  waitFor(lsn: number, w: DurabilityWaiter): void {
    this.#waitLsn.push(lsn);
    this.#waitOn.push(w);
  }

  /**
   * Finds room for a record of `bytes` in this turn's buffer and returns where it goes. Throws
   * (before anything is applied) when the log is failing or the disk cannot take the bytes.
   */
  #room(bytes: number): number {
    if (this.#failure !== null) throw new WalError(`write not applied: the write-ahead log cannot be written (${this.#failure})`);
    if (this.#batchAt >= 0) return this.#len; // room for the whole batch was made by batchBegin
    const end = this.#fileBytes + this.#len + bytes;
    if (end > this.#reservedEnd && this.#canReserve) this.#reserve(end);
    if (this.#len + bytes > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#len + bytes, 2 * this.#buf.length));
      this.#buf.copy(grown, 0, 0, this.#len);
      this.#buf = grown;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushTurn);
    }
    return this.#len;
  }

  /** Reserves disk blocks up to `end` (in chunks), so the turn's write cannot fail for space. */
  #reserve(end: number): void {
    let rc = reserve(this.#fd, this.#reservedEnd, Math.max(end - this.#reservedEnd, walReserveBytes));
    if (rc === 0) {
      this.#reservedEnd = Math.max(end, this.#reservedEnd + walReserveBytes);
      return;
    }
    if (rc === -1 || rc === 95) {
      // No native library, or a file system that cannot reserve: writes can still fail late,
      // and then the log stops taking writes until it can write again (see #flushTurn).
      this.#canReserve = false;
      return;
    }
    // Not a whole chunk left: the exact need may still fit.
    rc = reserve(this.#fd, this.#reservedEnd, end - this.#reservedEnd);
    if (rc !== 0) {
      this.errorsTotal++;
      throw new WalError(`write not applied: no room for the write-ahead log: ${errnoText(rc)}`);
    }
    this.#reservedEnd = end;
  }

  /** End of the turn: one write of every record logged in it. */
  #flushTurn = (): void => {
    this.#scheduled = false;
    if (this.#failure !== null || this.#closed) return;
    if (this.#len > 0 && !this.#write()) return;
    this.#afterWrite();
  };

  /** Writes #buf to the file; false (and the log enters its failing state) when the OS refuses. */
  #write(): boolean {
    const why = this.#writeOut();
    if (why !== null) this.#fail(why);
    return why === null;
  }

  /** Writes all of #buf (what the OS takes is accounted even when it then fails); null, or why it failed. */
  #writeOut(): string | null {
    try {
      while (this.#len > 0) this.#written(writeSync(this.#fd, this.#buf, 0, this.#len));
    } catch (e) {
      return `write ${this.currentName}: ${errorText(e)}`;
    }
    this.writesTotal++;
    return null;
  }

  #written(n: number): void {
    if (n === 0) return;
    this.#fileBytes += n;
    this.#writtenLsn += n;
    this.bytesTotal += n;
    this.sinceSnapshotBytes += n;
    if (n < this.#len) this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
    // A turn with a huge value grew the buffer: give the memory back once it is written.
    if (this.#len === 0 && this.#buf.length > walBufferBytesMax) this.#buf = Buffer.allocUnsafe(walBufferBytesInitial);
  }

  #afterWrite(): void {
    if (this.policy === "always") {
      if (!this.#syncing && this.#writtenLsn > this.#syncedLsn) this.#maybeSync();
    } else {
      this.#release(this.#writtenLsn);
      if (this.policy === "batch" && !this.#syncing && this.#writtenLsn - this.#syncedLsn >= this.#batchBytes) this.#startSync();
    }
    if (this.#fileBytes >= this.#fileBytesMax) this.rotate();
    if (this.sinceSnapshotBytes >= this.#fileBytesMax && this.onSnapshotDue !== null) this.onSnapshotDue();
  }

  /**
   * The OS refused a write: the records stay in #buf (their changes are in memory and their
   * replies are held), every new write is refused, and the write is retried until it succeeds.
   * With reservation this is only reached for I/O errors; without it, also for a full disk.
   */
  #fail(why: string): void {
    this.errorsTotal++;
    this.#failure = why;
    log.error(`write-ahead log failing, writes refused until it recovers: ${why}`);
    this.#retryTimer ??= setInterval(() => {
      if (this.#len > 0 && this.#writeOut() !== null) return;
      clearInterval(this.#retryTimer!);
      this.#retryTimer = null;
      this.#failure = null;
      log.info(`write-ahead log writable again: writes accepted`);
      this.#afterWrite();
    }, walRetryMs);
  }

  #startSync(): void {
    this.#syncing = true;
    const target = this.#writtenLsn;
    const fd = this.#fd;
    const started = performance.now();
    // Bun runs this on its thread pool: the event loop (and other clients' reads) go on meanwhile.
    fdatasyncAsync(fd, (err) => {
      this.#syncing = false;
      this.syncsTotal++;
      this.lastSyncMs = performance.now() - started;
      if (err) {
        // After a failed fdatasync the page cache may have dropped the data: nothing written since
        // the last good sync can be trusted to be on disk. Stopping is the only honest answer.
        log.error(`fdatasync ${walName(this.#index)} failed (${errorText(err)}): stopping, recovery will use what is on disk`);
        process.exit(70);
      }
      if (target > this.#syncedLsn) this.#syncedLsn = target;
      for (const old of this.#retired) closeSync(old);
      this.#retired.length = 0;
      if (this.policy === "always") {
        this.#releasedLast = this.#release(this.#syncedLsn);
        if (this.#writtenLsn > this.#syncedLsn && this.#waitHead < this.#waitLsn.length) this.#maybeSync();
      }
    });
  }

  /** Writers whose replies the last sync released: most will write again at once. */
  #releasedLast = 0;
  #delaying = false;
  #delayStart = 0;

  /**
   * Group commit with a short wait: when fewer writers wait than the last sync released, those
   * just released are probably sending their next write right now, and one sync a moment later
   * covers them too instead of leaving them for the sync after (at 50 one-deep clients: half the
   * syncs, a quarter more writes per second; bench/RESULTS.md). The wait polls the event loop and ends after
   * groupCommitWaitMs at most; a lone writer never waits (it is all the last sync released).
   */
  #maybeSync(): void {
    if (this.#delaying) return;
    if (this.#waitLsn.length - this.#waitHead >= this.#releasedLast) return this.#startSync();
    this.#delaying = true;
    this.#delayStart = performance.now();
    setImmediate(this.#delayCheck);
  }

  #delayCheck = (): void => {
    if (this.#closed || this.#syncing) {
      this.#delaying = false;
      return;
    }
    const waiting = this.#waitLsn.length - this.#waitHead;
    if (waiting < this.#releasedLast && performance.now() - this.#delayStart < groupCommitWaitMs) return void setImmediate(this.#delayCheck);
    this.#delaying = false;
    // Records of the turn in progress are written first, so the sync covers them as well.
    if (this.#len > 0 && this.#batchAt < 0 && this.#failure === null && !this.#write()) return;
    if (this.#writtenLsn > this.#syncedLsn) this.#startSync();
  };

  /**
   * Releases every waiter up to `lsn`, oldest first; returns how many. A released connection may
   * run more requests at once: new waiters (later lsns) go behind, and a release asked for from
   * inside (a SNAPSHOT rotating the log) is folded into this one rather than run nested.
   */
  #release(lsn: number): number {
    if (this.#releasing) {
      if (lsn > this.#releaseAgain) this.#releaseAgain = lsn;
      return 0;
    }
    this.#releasing = true;
    const lsns = this.#waitLsn;
    const on = this.#waitOn;
    let released = 0;
    try {
      for (;;) {
        while (this.#waitHead < lsns.length && lsns[this.#waitHead]! <= lsn) {
          released++;
          on[this.#waitHead++]!.onDurable(lsn);
        }
        if (this.#releaseAgain <= lsn) break;
        lsn = this.#releaseAgain;
      }
    } finally {
      this.#releasing = false;
      this.#releaseAgain = 0;
      if (this.#waitHead === lsns.length) {
        lsns.length = 0;
        on.length = 0;
        this.#waitHead = 0;
      } else if (this.#waitHead > 4096 && this.#waitHead * 2 > lsns.length) {
        // Under steady load the queue never empties: drop the released front now and then.
        lsns.splice(0, this.#waitHead);
        on.splice(0, this.#waitHead);
        this.#waitHead = 0;
      }
    }
    return released;
  }

  #releasing = false;
  #releaseAgain = 0;

  /**
   * Starts a new file: writes and syncs what is pending into the current one (synchronously —
   * this happens once per wal_max_bytes), then opens the next index. Returns the new index, or
   * -1 when the current file cannot be completed.
   */
  rotate(): number {
    if (this.#failure !== null || (this.#len > 0 && !this.#write())) return -1;
    const old = this.#fd;
    try {
      syncFile(old, this.currentName);
      ftruncateSync(old, this.#fileBytes); // gives back space reserved past the end
    } catch (e) {
      this.#fail(`completing ${this.currentName}: ${errorText(e)}`);
      return -1;
    }
    this.#syncedLsn = this.#writtenLsn;
    this.#release(this.#writtenLsn);
    if (this.#syncing) this.#retired.push(old);
    else closeSync(old);
    this.#index++;
    this.#fd = openSync(join(this.dir, walName(this.#index)), "a");
    syncDir(this.dir);
    this.#fileBytes = 0;
    this.#reservedEnd = 0;
    return this.#index;
  }

  /** Shutdown: writes and syncs everything, releases every held reply, closes the file. */
  close(): void {
    if (this.#closed) return;
    if (this.#retryTimer !== null) clearInterval(this.#retryTimer);
    if (this.#batchTimer !== null) clearInterval(this.#batchTimer);
    if (this.#failure === null) {
      if (this.#len > 0) this.#write();
      try {
        syncFile(this.#fd, this.currentName);
        ftruncateSync(this.#fd, this.#fileBytes);
        this.#syncedLsn = this.#writtenLsn;
        this.#release(this.#writtenLsn);
      } catch (e) {
        log.error(`closing ${this.currentName}: ${errorText(e)}`);
      }
    } else if (this.#len > 0) {
      log.error(`shutting down with ${this.#len} bytes of the write-ahead log unwritten (${this.#failure}): their replies were never sent`);
    }
    this.#closed = true;
    if (!this.#syncing) closeSync(this.#fd);
  }
}


