// The write-ahead log: every change to the keyspace, encoded by the Store's MutationLog calls
// *before* the change is applied, in the record format of docs/FORMAT.md (format.ts), then
// appended, synced and rotated here. Which held connections a write releases is waiters.ts's;
// when "always" starts its fdatasync is group-commit.ts's.
//
// Durability order, per event-loop turn:
//   1. a command logs its records into #buf (room on disk was reserved first, so a full disk
//      refuses the write before it is applied) and applies them to memory;
//   2. its connection holds the reply (see Connection: "held") until this log says durable;
//   3. at the end of the turn (setImmediate) one write() appends every record of the turn (a
//      writev() when it logged large values by reference: see #refs);
//   4. "os"/"batch": replies go out now. "always": one fdatasync, run off the event loop, covers
//      every record written so far (group commit); replies go out when it returns.

import { closeSync, fdatasync as fdatasyncAsync, ftruncateSync, openSync, writeSync, writevSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.types.ts";
import { assert } from "../assert.ts";
import { fdWarnIntervalMs, walBufferBytesInitial, walBufferBytesMax, walRecordBytesMax, walRefsPerTurnMax, walReserveBytes, walReserveBytesMax, walRetryMs, walValueByRefBytesMin, walWritebackBytes } from "../constants.ts";
import type { MutationLog } from "../engine/store.ts";
import { isLargeBuffer, knownValueCrc, pinLargeBuffer, unpinLargeBuffer } from "../engine/large.ts";
import { log } from "../log.ts";
import { crc32c, crc32cExtend, fdatasync, reserve, startWriteback } from "../native/index.ts";
import { errnoText, errorText, syncDir, syncDirAsync, syncFile } from "./files.ts";
import { copyBytes, putU32 } from "../bytes.ts";
import {
  assertRecordLengths,
  batchItemsStart,
  batchRecordBytes,
  crcBytes,
  encodeClear,
  noExpiryMs,
  putRecordHeader,
  recordBytes,
  recordCrcStart,
  recordOverheadBytes,
  RecordType,
  sealBatch,
  sealRecord,
  walName,
} from "./format.ts";
import { GroupCommit } from "./group-commit.ts";
import { Histogram, latencyBoundsS } from "../histogram.ts";
import { WaiterQueue, type DurabilityWaiter } from "./waiters.ts";

export type { DurabilityWaiter };

/** ENOSPC, EFBIG (RLIMIT_FSIZE), EDQUOT: the reservations that fail for lack of room. */
const spaceErrnos: readonly number[] = [28, 27, 122];

/** Thrown by a logging call when the write cannot be logged: the command fails, nothing is applied. */
export class WalError extends Error {}

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
  /** Writeback of the current file was started up to this offset (see #afterWrite). */
  #writebackEnd: number;
  /** "os": the first file rotated without a sync (every later one was too), or -1. */
  #unsyncedFrom = -1;
  #canReserve = true;

  /** Records of this turn not yet written (large values logged by reference excepted, see #refs). */
  #buf = Buffer.allocUnsafe(walBufferBytesInitial);
  #len = 0;
  /**
   * Large values logged this turn by reference rather than copied into #buf: value i is
   * #refBufs[i][#refStarts[i]..#refEnds[i]) and belongs at #buf offset #refAts[i], between its
   * record's key and crc (which #buf holds). Only the keyspace's own large buffers are referenced
   * (engine/large.ts: their bytes never change, and a pinned one is not reused until unpinned), so
   * the turn's writev sends exactly the bytes that were logged: the file is byte for byte what
   * copying them would give.
   */
  #refBufs: Uint8Array[] = [];
  #refStarts: number[] = [];
  #refEnds: number[] = [];
  #refAts: number[] = [];
  /** Bytes of the referenced values: pending like #len, but not in #buf. */
  #refBytes = 0;
  /** Where the open batch record starts in #buf, or -1 when none is open. */
  #batchAt = -1;
  #batchCount = 0;
  #batchItems = 0;
  /** Where the open batch's items must end: batchBegin reserved room up to here. */
  #batchItemsEnd = 0;
  /** The open batch is an EXEC's group: #batchCount is an upper bound, sealed with #batchItems. */
  #group = false;
  /** Inside a group, an MSET's batch ends at this item count (-1: none open). */
  #innerItemsEnd = -1;
  /** The open group holds a CLEAR (FLUSHALL in the EXEC): it is sealed as a ClearBatch. */
  #groupClears = false;

  /** Log positions: bytes ever logged by this process, written to the file, covered by an fdatasync. */
  #writtenLsn = 0;
  #syncedLsn = 0;
  #syncing = false;
  #scheduled = false;
  /** See `refusal`. */
  #refusal: string | null = null;
  /** Why writing failed; while set, every logging call throws and the turn's bytes are retried. */
  #failure: string | null = null;
  #retryTimer: ReturnType<typeof setInterval> | null = null;
  #batchTimer: ReturnType<typeof setInterval> | null = null;
  /** Rotated-out files whose fd an in-flight sync still uses. */
  #retired: number[] = [];
  #closed = false;
  /** While a rotation fails (see rotate), why, how often in a row, when to try again, when it was last logged. */
  #rotateFailure: string | null = null;
  #rotateFailures = 0;
  #rotateRetryAtMs = 0;
  #rotateLoggedMs = -Infinity;

  #waiters = new WaiterQueue();
  #groupCommit: GroupCommit;

  /** Bytes logged since the last snapshot started; past snapshotDueBytes `onSnapshotDue` runs. */
  sinceSnapshotBytes = 0;
  /** Set by the Snapshotter (snapshotDueAfter): how much logged makes the next snapshot due. */
  snapshotDueBytes: number;
  onSnapshotDue: (() => void) | null = null;

  writesTotal = 0;
  syncsTotal = 0;
  lastSyncMs = 0;
  /** Every lastSyncMs, for /metrics (the rotation's and shutdown's own syncs are not in it). */
  readonly syncLatency = new Histogram(latencyBoundsS);
  bytesTotal = 0;
  errorsTotal = 0;
  rotateFailuresTotal = 0;

  /** Opens (appending to) wal-<index>, whose current size is `bytes` (0 to create it). */
  constructor(dir: string, config: Config, index: number, bytes: number) {
    this.dir = dir;
    this.policy = config.syncPolicy;
    this.#fileBytesMax = config.walBytesMax;
    this.snapshotDueBytes = config.walBytesMax;
    this.#batchBytes = config.batchFsyncBytes;
    this.#index = index;
    this.#fd = openSync(join(dir, walName(index)), "a");
    if (bytes === 0) syncDir(dir);
    this.#fileBytes = bytes;
    this.#reservedEnd = bytes;
    this.#writebackEnd = bytes;
    this.#groupCommit = new GroupCommit({
      waiting: () => this.#waiters.length,
      busy: () => this.#closed || this.#syncing,
      syncNow: () => this.#startSync(),
      syncAfterWait: () => {
        // Records of the turn in progress are written first, so the sync covers them as well.
        if (this.#len > 0 && this.#batchAt < 0 && this.#failure === null && !this.#write()) return;
        if (this.#writtenLsn > this.#syncedLsn) this.#startSync();
      },
    });
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
    return this.#fileBytes + this.#len + this.#refBytes;
  }

  /** Position after the last record logged: a connection that saw it grow holds its replies. */
  get appendedLsn(): number {
    return this.#writtenLsn + this.#len + this.#refBytes;
  }

  /** What replies may be released up to: synced for "always", written otherwise. */
  get durableLsn(): number {
    return this.policy === "always" ? this.#syncedLsn : this.#writtenLsn;
  }

  get failure(): string | null {
    return this.#failure;
  }

  // ---- MutationLog: called by the Store before it applies a change ----

  // Each record is encoded as format.ts's encodeSet/encodeDel/encodeExpire do, inline (see there).
  // Only SET checks lengths, as its key and value come from a request; DEL and EXPIRE log a key
  // the keyspace already holds, so within the limits (and a check there cost EXPIRE a third).

  set(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): void {
    const keyLen = ke - ks;
    const valueLen = ve - vs;
    assertRecordLengths(keyLen, valueLen);
    if (valueLen >= walValueByRefBytesMin && this.#batchAt < 0 && isLargeBuffer(vb)) {
      if (this.#refBufs.length >= walRefsPerTurnMax) this.#writeEarly();
      return this.#setByRef(kb, ks, ke, vb, vs, ve, expiryMs, version);
    }
    const at = this.#room(recordBytes(keyLen, valueLen));
    const b = this.#buf;
    const keyAt = putRecordHeader(b, at, RecordType.Set, keyLen, valueLen, expiryMs, version);
    copyBytes(kb, ks, ke, b, keyAt);
    copyBytes(vb, vs, ve, b, keyAt + keyLen);
    this.#len = sealRecord(b, at, keyAt + keyLen + valueLen);
  }

  /**
   * A SET whose large value stays where it is until the turn's write: #buf gets the header, the
   * key and the crc (computed over the value where it lies), the value is sent from its buffer.
   */
  #setByRef(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): void {
    const keyLen = ke - ks;
    const valueLen = ve - vs;
    const at = this.#room(recordBytes(keyLen, valueLen), recordBytes(keyLen, 0));
    const b = this.#buf;
    const keyAt = putRecordHeader(b, at, RecordType.Set, keyLen, valueLen, expiryMs, version);
    copyBytes(kb, ks, ke, b, keyAt);
    const keyEnd = keyAt + keyLen;
    const head = crc32c(b, at + recordCrcStart, keyEnd);
    // A value the connection read in has its crc register already (engine/large.ts noteValueCrc).
    const known = knownValueCrc(vb, vs, ve);
    putU32(b, keyEnd, known >= 0 ? crc32cExtend(head, valueLen, known) : crc32c(vb, vs, ve, head));
    pinLargeBuffer(vb);
    this.#refBufs.push(vb);
    this.#refStarts.push(vs);
    this.#refEnds.push(ve);
    this.#refAts.push(keyEnd);
    this.#refBytes += valueLen;
    this.#len = keyEnd + crcBytes;
  }

  del(kb: Uint8Array, ks: number, ke: number): void {
    const at = this.#room(recordBytes(ke - ks, 0));
    const b = this.#buf;
    const keyAt = putRecordHeader(b, at, RecordType.Del, ke - ks, 0, noExpiryMs, 0);
    copyBytes(kb, ks, ke, b, keyAt);
    this.#len = sealRecord(b, at, keyAt + (ke - ks));
  }

  expire(kb: Uint8Array, ks: number, ke: number, expiryMs: number, version: number): void {
    const at = this.#room(recordBytes(ke - ks, 0));
    const b = this.#buf;
    const keyAt = putRecordHeader(b, at, RecordType.Expire, ke - ks, 0, expiryMs, version);
    copyBytes(kb, ks, ke, b, keyAt);
    this.#len = sealRecord(b, at, keyAt + (ke - ks));
  }

  /**
   * FLUSHALL. Inside an EXEC's group the CLEAR is one of the group's items, room for it made by
   * groupBegin, and the group is then sealed as a ClearBatch; an MSET's batch never holds one.
   */
  clear(): void {
    assert(this.#batchAt < 0 || (this.#group && this.#innerItemsEnd < 0), "a clear was logged inside an MSET's batch, which holds only SETs");
    const at = this.#room(recordBytes(0, 0));
    this.#len = encodeClear(this.#buf, at);
    if (this.#group) this.#groupClears = true;
  }

  /**
   * Reserves room for the whole batch up front, so it is logged (and applied) entirely or not at
   * all. The engine brackets a batch with batchBegin/batchEnd and checks capacity before it, so
   * nothing can throw in between: a batch begun inside another is a bug, not a case to repair.
   */
  batchBegin(count: number, dataBytes: number): void {
    if (this.#group) {
      // An MSET inside an EXEC: its records join the group's batch, which reserved room for them.
      assert(this.#innerItemsEnd < 0, "a log batch was begun while another is open");
      assert(this.#len + batchRecordBytes(count, dataBytes) - recordOverheadBytes <= this.#batchItemsEnd, "a log batch inside a group is longer than the group reserved");
      this.#innerItemsEnd = this.#batchItems + count;
      return;
    }
    assert(this.#batchAt < 0, "a log batch was begun while another is open");
    const bytes = batchRecordBytes(count, dataBytes);
    assert(bytes <= walRecordBytesMax, "a log batch is longer than recovery accepts (walRecordBytesMax)");
    const at = this.#room(bytes);
    this.#batchAt = at;
    this.#batchCount = count;
    this.#batchItems = 0;
    this.#batchItemsEnd = at + bytes - crcBytes;
    this.#len = batchItemsStart(at);
  }

  batchEnd(): void {
    if (this.#group) {
      assert(this.#innerItemsEnd === this.#batchItems, "a log batch holds a different number of records than it was begun with");
      this.#innerItemsEnd = -1;
      return;
    }
    assert(this.#batchAt >= 0, "a log batch was ended without one open");
    assert(this.#batchItems === this.#batchCount, "a log batch holds a different number of records than it was begun with");
    this.#len = sealBatch(this.#buf, this.#batchAt, this.#len, this.#batchCount);
    this.#batchAt = -1;
  }

  /**
   * Opens an EXEC's group: one batch whose record count is not known until its commands ran.
   * Room for the bound (`countMax` records carrying `dataBytesMax` of keys and values) is made
   * now, so a full disk refuses the whole EXEC before anything is applied; groupEnd seals the
   * batch with the records actually logged. A batch must be complete within one call stack (the
   * turn's write never sees it open): EXEC runs its commands without yielding.
   */
  groupBegin(countMax: number, dataBytesMax: number): void {
    assert(this.#batchAt < 0, "a log group was begun while a batch or group is open");
    this.batchBegin(countMax, dataBytesMax);
    this.#group = true;
  }

  /** Seals the group with the records logged in it; a group that logged none leaves no bytes at all. */
  groupEnd(): void {
    assert(this.#group && this.#batchAt >= 0, "a log group was ended without one open");
    assert(this.#innerItemsEnd < 0, "a log group was ended inside one of its MSET batches");
    assert(this.#batchItems <= this.#batchCount, "a log group holds more records than it was begun with");
    if (this.#batchItems === 0) this.#len = this.#batchAt;
    else this.#len = sealBatch(this.#buf, this.#batchAt, this.#len, this.#batchItems, this.#groupClears ? RecordType.ClearBatch : RecordType.Batch);
    this.#batchAt = -1;
    this.#group = false;
    this.#groupClears = false;
  }

  // ---- Durability ----

  /** Calls `w.onDurable` once everything up to `lsn` is as durable as the sync policy promises. */
  waitFor(lsn: number, w: DurabilityWaiter): void {
    this.#waiters.push(lsn, w);
  }

  /**
   * Finds room for a record of `bytes` in the file and `bufBytes` of it in this turn's buffer
   * (less when its value is logged by reference), and returns where it goes in the buffer. Throws
   * (before anything is applied) when the log is failing or the disk cannot take the bytes.
   */
  #room(bytes: number, bufBytes = bytes): number {
    if (this.#failure !== null) throw new WalError(`write not applied: the write-ahead log cannot be written (${this.#failure})`);
    if (this.#batchAt >= 0) {
      // Room for the whole batch was made by batchBegin: an item beyond it would overrun the buffer.
      assert(this.#len + bytes <= this.#batchItemsEnd, "a log batch's records are longer than batchBegin announced");
      this.#batchItems++;
      return this.#len;
    }
    const end = this.#fileBytes + this.#len + this.#refBytes + bytes;
    if (end > this.#reservedEnd && this.#canReserve) this.#reserve(end);
    // A small write can fit in room reserved before a large one was refused: it is accepted, so
    // STATS must stop saying writes are refused (one null check per logged record).
    else if (this.#refusal !== null) this.#roomAgain();
    // Past the buffer's max, what the turn logged so far is written now rather than copied again.
    if (this.#len + bufBytes > this.#buf.length && this.#len + bufBytes > walBufferBytesMax && this.#len > 0) this.#writeEarly();
    if (this.#len + bufBytes > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#len + bufBytes, 2 * this.#buf.length));
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
    const chunk = Math.min(walReserveBytesMax, Math.max(walReserveBytes, Math.floor(this.#fileBytes / 8)));
    let rc = reserve(this.#fd, this.#reservedEnd, Math.max(end - this.#reservedEnd, chunk));
    if (rc === 0) {
      this.#reservedEnd = Math.max(end, this.#reservedEnd + chunk);
      if (this.#refusal !== null) this.#roomAgain();
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
      // Only a lack of space is "no room"; EIO or EROFS from the file system is named as such.
      const why = spaceErrnos.includes(rc) ? `no room for the write-ahead log: ${errnoText(rc)}` : `the write-ahead log cannot reserve room: ${errnoText(rc)}`;
      if (this.#refusal === null) log.warn(`write-ahead log refusing writes until a write can be reserved: ${why}`);
      this.#refusal = why;
      throw new WalError(`write not applied: ${why}`);
    }
    this.#reservedEnd = end;
    if (this.#refusal !== null) this.#roomAgain();
  }

  /** A reservation succeeded after refusals: writes are accepted again, and STATS says so. */
  #roomAgain(): void {
    log.info(`write-ahead log has room again (${this.#refusal} before): writes accepted`);
    this.#refusal = null;
  }

  /**
   * Why writes are being refused for lack of disk room (the last reservation failed), or null.
   * Unlike `failure` nothing is held: each refused write was answered and not applied.
   */
  get refusal(): string | null {
    return this.#refusal;
  }

  /** End of the turn: one write of every record logged in it. */
  #flushTurn = (): void => {
    this.#scheduled = false;
    if (this.#failure !== null || this.#closed) return;
    if (this.#len > 0 && !this.#write()) return;
    this.#afterWrite();
  };

  /**
   * Writes what this turn logged so far, in the middle of the turn (no batch is open: a batch's
   * room was made at its start). Its replies still wait for the turn's end (#afterWrite releases
   * them), so only the bytes' way to the file changes. Throws before the next record is applied
   * when the write fails; the records stay in #buf and are retried as any failed write is.
   */
  #writeEarly(): void {
    if (this.#failure !== null) return; // #room refuses the record
    assert(this.#batchAt < 0, "the WAL wrote in the middle of a batch");
    if (!this.#write()) throw new WalError(`write not applied: the write-ahead log cannot be written (${this.#failure})`);
  }

  /** Writes #buf to the file; false (and the log enters its failing state) when the OS refuses. */
  #write(): boolean {
    const why = this.#writeOut();
    if (why !== null) this.#fail(why);
    return why === null;
  }

  /** Writes all of #buf (what the OS takes is accounted even when it then fails); null, or why it failed. */
  #writeOut(): string | null {
    try {
      if (this.#refBufs.length > 0) this.#writeGathered();
      while (this.#len > 0) this.#written(writeSync(this.#fd, this.#buf, 0, this.#len));
    } catch (e) {
      return `write ${this.currentName}: ${errorText(e)}`;
    }
    this.writesTotal++;
    return null;
  }

  /**
   * Writes #buf with the referenced values in their places, in one writev. Whatever it leaves
   * unwritten (a short write, or all of it when it throws) is copied into #buf in order, so the
   * write is finished (or retried, see #fail) the usual way, without references.
   */
  #writeGathered(): void {
    const parts: Uint8Array[] = [];
    let from = 0;
    for (let i = 0; i < this.#refBufs.length; i++) {
      const refAt = this.#refAts[i]!;
      parts.push(this.#buf.subarray(from, refAt), this.#refBufs[i]!.subarray(this.#refStarts[i]!, this.#refEnds[i]!));
      from = refAt;
    }
    parts.push(this.#buf.subarray(from, this.#len));
    const total = this.#len + this.#refBytes;
    let n = 0;
    try {
      n = writevSync(this.#fd, parts);
    } finally {
      this.#ungather(parts, total, n);
    }
  }

  /** A writev of `parts` (`total` bytes) took `n`: accounts them, and keeps the rest, in order, in #buf alone. */
  #ungather(parts: Uint8Array[], total: number, n: number): void {
    assert(n >= 0 && n <= total, "writev() reported more bytes than it was given");
    for (const b of this.#refBufs) unpinLargeBuffer(b);
    this.#refBufs.length = this.#refStarts.length = this.#refEnds.length = this.#refAts.length = 0;
    this.#refBytes = 0;
    this.#len = 0;
    if (n < total) {
      const rest = Buffer.allocUnsafe(Math.max(total - n, walBufferBytesInitial));
      let skip = n;
      for (const part of parts) {
        if (skip >= part.length) {
          skip -= part.length;
          continue;
        }
        copyBytes(part, skip, part.length, rest, this.#len);
        this.#len += part.length - skip;
        skip = 0;
      }
      this.#buf = rest;
    }
    if (n > 0) this.#account(n);
  }

  /** `n` bytes reached the file. */
  #account(n: number): void {
    this.#fileBytes += n;
    this.#writtenLsn += n;
    this.bytesTotal += n;
    this.sinceSnapshotBytes += n;
  }

  #written(n: number): void {
    assert(n >= 0 && n <= this.#len, "write() reported more bytes than it was given");
    if (n === 0) return;
    this.#account(n);
    if (n < this.#len) this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
    // A turn with a huge value grew the buffer: give the memory back once it is written.
    if (this.#len === 0 && this.#buf.length > walBufferBytesMax) this.#buf = Buffer.allocUnsafe(walBufferBytesInitial);
  }

  #afterWrite(): void {
    // "batch": without a sync per write, dirty pages pile up until the rotation's fdatasync writes
    // them all while the event loop waits; started as the file grows, that sync finds little left
    // to do. "os" never syncs at rotation, so it leaves writeback to the kernel (see rotate()).
    if (this.policy === "batch" && this.#fileBytes - this.#writebackEnd >= walWritebackBytes) {
      startWriteback(this.#fd, this.#writebackEnd, this.#fileBytes - this.#writebackEnd);
      this.#writebackEnd = this.#fileBytes;
    }
    if (this.policy === "always") {
      if (!this.#syncing && this.#writtenLsn > this.#syncedLsn) this.#groupCommit.request();
    } else {
      this.#waiters.release(this.#writtenLsn);
      if (this.policy === "batch" && !this.#syncing && this.#writtenLsn - this.#syncedLsn >= this.#batchBytes) this.#startSync();
    }
    if (this.#fileBytes >= this.#fileBytesMax && performance.now() >= this.#rotateRetryAtMs) this.rotate();
    if (this.sinceSnapshotBytes >= this.snapshotDueBytes && this.onSnapshotDue !== null) this.onSnapshotDue();
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

  /**
   * An fdatasync of the log failed. The page cache may have dropped the data, and the kernel
   * reports the error once: nothing written since the last good sync can be trusted to be on disk,
   * and no later sync would say so. Stopping is the only honest answer (recovery uses what is on
   * disk); no reply waiting for this sync is sent.
   */
  #syncFailed(file: string, why: string): never {
    log.error(`fdatasync ${file} failed (${why}): stopping, recovery will use what is on disk`);
    process.exit(70);
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
      this.syncLatency.observe(this.lastSyncMs);
      if (err) this.#syncFailed(walName(this.#index), errorText(err));
      assert(target <= this.#writtenLsn, "a sync covered more of the log than was written");
      // A rotation meanwhile synced further already (synchronously): the position never goes back.
      if (target > this.#syncedLsn) this.#syncedLsn = target;
      for (const old of this.#retired) closeSync(old);
      this.#retired.length = 0;
      if (this.policy === "always") {
        this.#groupCommit.released(this.#waiters.release(this.#syncedLsn));
        if (this.#writtenLsn > this.#syncedLsn && this.#waiters.length > 0) this.#groupCommit.request();
      }
    });
  }

  /**
   * Starts a new file: writes and syncs what is pending into the current one (synchronously —
   * this happens once per wal_max_bytes), then opens the next index. Returns the new index, or
   * -1 when the current file cannot be completed or the next one cannot be created.
   *
   * The next file is created (and its directory entry synced) before the current one is touched:
   * when that fails (EMFILE, ENOSPC, EACCES…) the log goes on in the current file, past
   * wal_max_bytes, and a size-triggered rotation tries again after walRetryMs.
   */
  rotate(): number {
    if (this.#failure !== null || (this.#len > 0 && !this.#write())) return -1;
    const nextName = walName(this.#index + 1);
    let next = -1;
    try {
      next = openSync(join(this.dir, nextName), "a");
      // "os" promises nothing past the write(), so the new name need not be on disk before the
      // log goes on there: it is synced on the thread pool, not while the event loop waits (a
      // directory fsync flushes the disk's cache: 150 ms seen while large SETs stream in,
      // bench/RESULTS.md). A later directory sync (the next snapshot's manifest) covers it too.
      if (this.policy === "os") syncDirAsync(this.dir, this.#dirSynced);
      else syncDir(this.dir);
    } catch (e) {
      if (next >= 0) closeSync(next);
      this.#rotateFailed(`cannot create ${nextName}: ${errorText(e)}`, e);
      return -1;
    }
    const old = this.#fd;
    if (this.policy === "os") {
      // "os" promises nothing past the write(), so the finished file is left to the kernel's
      // writeback like the rest: a file the next snapshot deletes before the kernel got to it
      // never reaches the disk at all, as Redis's AOF increments under appendfsync no. Syncing it
      // here wrote every large value twice (log + snapshot) and halved large SETs (bench/RESULTS.md).
      // A clean shutdown syncs what is left (close()).
      if (this.#unsyncedFrom < 0) this.#unsyncedFrom = this.#index;
    } else {
      // Not a write to retry when it fails: the kernel reports a writeback error once, so a later
      // sync of this file would succeed over data that may be gone.
      const rc = fdatasync(old);
      if (rc !== 0) this.#syncFailed(this.currentName, errnoText(Math.abs(rc)));
      this.#syncedLsn = this.#writtenLsn;
    }
    try {
      ftruncateSync(old, this.#fileBytes); // gives back space reserved past the end
    } catch (e) {
      closeSync(next);
      this.#fail(`completing ${this.currentName}: ${errorText(e)}`);
      return -1;
    }
    this.#waiters.release(this.#writtenLsn);
    if (this.#syncing) this.#retired.push(old);
    else closeSync(old);
    this.#index++;
    this.#fd = next;
    this.#fileBytes = 0;
    this.#reservedEnd = 0;
    this.#writebackEnd = 0;
    if (this.#rotateFailure !== null) log.info(`write-ahead log rotated to ${nextName} after ${this.#rotateFailures} failed attempt(s)`);
    this.#rotateFailure = null;
    this.#rotateFailures = 0;
    return this.#index;
  }

  /** "os": the directory sync a rotation started is done (`err`: why it failed, which only the log hears). */
  readonly #dirSynced = (err: string | null): void => {
    if (err === null) return;
    this.errorsTotal++;
    log.warn(`write-ahead log: syncing ${this.dir} after a rotation failed (${err}); sync_policy "os" goes on`);
  };

  /** Why the last rotation failed while the log goes on in an oversized file; null once one succeeds. */
  get rotateFailure(): string | null {
    return this.#rotateFailure;
  }

  #rotateFailed(why: string, e: unknown): void {
    this.errorsTotal++;
    this.rotateFailuresTotal++;
    this.#rotateFailures++;
    this.#rotateFailure = why;
    this.#rotateRetryAtMs = performance.now() + walRetryMs;
    // The full path goes to the log only; `why` (STATS, replies) names the file.
    const path = (e as NodeJS.ErrnoException)?.path;
    const now = performance.now();
    if (now - this.#rotateLoggedMs < fdWarnIntervalMs) return;
    this.#rotateLoggedMs = now;
    log.error(`write-ahead log cannot rotate, writes go on in ${this.currentName} (${this.#rotateFailures} attempt(s), retried every ${walRetryMs} ms): ${why}${path ? ` (${path})` : ""}`);
  }

  /** "os": syncs the files rotated without a sync that no snapshot has deleted since. */
  #syncRotated(): void {
    if (this.#unsyncedFrom < 0) return;
    for (let i = this.#unsyncedFrom; i < this.#index; i++) {
      let fd = -1;
      try {
        fd = openSync(join(this.dir, walName(i)), "r");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // a snapshot covered it
        throw e;
      }
      try {
        syncFile(fd, walName(i));
      } finally {
        closeSync(fd);
      }
    }
    this.#unsyncedFrom = -1;
  }

  /** Shutdown: writes and syncs everything, releases every held reply, closes the file. */
  close(): void {
    if (this.#closed) return;
    if (this.#retryTimer !== null) clearInterval(this.#retryTimer);
    if (this.#batchTimer !== null) clearInterval(this.#batchTimer);
    if (this.#failure === null) {
      if (this.#len > 0) this.#write();
      try {
        this.#syncRotated();
        syncFile(this.#fd, this.currentName);
        // "os" synced its rotations' new names off the event loop: at shutdown they are made sure of.
        if (this.policy === "os") syncDir(this.dir);
        ftruncateSync(this.#fd, this.#fileBytes);
        this.#syncedLsn = this.#writtenLsn;
        this.#waiters.release(this.#writtenLsn);
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


