// Recovery at start-up: MANIFEST.json → its snapshot → every WAL from `next_wal` on, in order.
// Nothing is skipped silently: the only damage repaired on its own is a torn or bad record at the
// very end of the newest WAL (a crash mid-append), and its bytes are kept in a `.broken` file.
// Anything else stops the server with the file and byte offset, unless `--repair` was given.
// The layouts are decoded by format.ts; docs/FORMAT.md ("Recovery") states these rules.

import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { recoveryProgressIntervalMs } from "../constants.ts";
import { noExpiry, type Store } from "../engine/store.ts";
import { log } from "../log.ts";
import { FileReader, syncDir, syncFile, writeFileAtomic } from "./files.ts";
import {
  announcedEntryBytes,
  announcedRecordBytes,
  brokenName,
  checkBatch,
  entryBytesMin,
  entryHeaderBytes,
  fileIndex,
  manifestName,
  newEntryView,
  newRecordView,
  parseEntry,
  parseManifest,
  parseRecord,
  parseSnapHeader,
  recordHeaderBytes,
  RecordType,
  snapHeaderBytes,
  walName,
  wholeRecordAfter,
  type Manifest,
  type RecordView,
} from "./format.ts";

/** Recovery refused to go on: the message names the file and byte offset. */
export class RecoveryError extends Error {}

export interface RecoveryResult {
  /** Index of the snapshot loaded, or 0. */
  snapIndex: number;
  /** The newest WAL file (appended to from here on), or 0 when there is none yet. */
  walIndex: number;
  walBytes: number;
  /** Index the next WAL file would have if none exists: the manifest's next_wal, else 1. */
  nextWalIndex: number;
  entriesLoaded: number;
  recordsReplayed: number;
  trimmedBytes: number;
  ms: number;
}

export interface RecoveryOptions {
  repair?: boolean;
  nowMs?: number;
}

export function recover(dir: string, store: Store, options: RecoveryOptions = {}): RecoveryResult {
  const started = performance.now();
  unknownTypesWarned = false;
  const now = options.nowMs ?? Date.now();
  const repair = options.repair === true;
  const progress = new Progress();
  const result: RecoveryResult = {
    snapIndex: 0,
    walIndex: 0,
    walBytes: 0,
    nextWalIndex: 1,
    entriesLoaded: 0,
    recordsReplayed: 0,
    trimmedBytes: 0,
    ms: 0,
  };
  if (!existsSync(dir)) return result;

  const manifestPath = join(dir, manifestName);
  let firstWal = 1;
  if (!existsSync(manifestPath)) firstWal = recoverWithoutManifest(dir, store, now, repair, progress, result);
  else {
    const manifest = readManifest(manifestPath);
    firstWal = fileIndex(manifest.next_wal, "wal");
    result.nextWalIndex = firstWal;
    const snapPath = join(dir, manifest.snap);
    if (!existsSync(snapPath)) {
      if (!repair) throw new RecoveryError(`${manifest.snap} is named by ${manifestName} but missing: refusing to start without it (--repair starts from the WALs alone)`);
      log.error(`repair: ${manifest.snap} is missing; recovering from the WALs alone`);
    } else {
      result.entriesLoaded = loadSnapshot(snapPath, manifest.snap, store, now, repair, progress);
      result.snapIndex = fileIndex(manifest.snap, "snap");
    }
  }

  const wals = readdirSync(dir)
    .map((name) => fileIndex(name, "wal"))
    .filter((i) => i >= 0)
    .sort((a, b) => a - b);
  const replay = wals.filter((i) => i >= firstWal);
  if (replay.length > 0 && existsSync(manifestPath) && replay[0] !== firstWal) {
    refuseOrRepair(repair, `${walName(firstWal)} is named by ${manifestName} as the next WAL but is missing`, () => {
      moveAside(dir, replay, 0);
      replay.length = 0;
    });
  }
  for (let i = 1; i < replay.length; i++) {
    if (replay[i] !== replay[i - 1]! + 1) {
      refuseOrRepair(repair, `${walName(replay[i - 1]! + 1)} is missing between ${walName(replay[i - 1]!)} and ${walName(replay[i]!)}`, () => {
        moveAside(dir, replay, i);
        replay.length = i;
      });
      break;
    }
  }
  for (let i = 0; i < replay.length; i++) {
    const index = replay[i]!;
    const newest = i === replay.length - 1;
    const outcome = replayWal(dir, index, newest, store, now, repair, progress);
    result.recordsReplayed += outcome.records;
    result.trimmedBytes += outcome.trimmed;
    if (outcome.stopped) {
      moveAside(dir, replay, i + 1);
      replay.length = i + 1;
      break;
    }
  }
  if (replay.length > 0) {
    result.walIndex = replay[replay.length - 1]!;
    result.walBytes = statSync(join(dir, walName(result.walIndex))).size;
  }
  result.ms = performance.now() - started;
  return result;
}

/**
 * No MANIFEST.json. Every data_dir gets one when it is first opened, so a directory that holds a
 * snapshot, or WALs that no longer start at wal-00000001 (older ones were compacted into a
 * snapshot), lost its manifest: starting from what is left would silently drop data, so recovery
 * refuses. `--repair` rebuilds the state from the newest snapshot and every WAL present (records
 * are absolute, so replaying WALs the snapshot already covers changes nothing), and the server
 * then writes a manifest for it. A directory without snapshots and with WALs from wal-00000001 on
 * (a new one, or one written by the original Osprey) is replayed whole, as before. Returns the
 * first WAL to replay.
 */
function recoverWithoutManifest(dir: string, store: Store, now: number, repair: boolean, progress: Progress, result: RecoveryResult): number {
  const names = readdirSync(dir);
  const snaps = names.filter((n) => fileIndex(n, "snap") >= 0).sort((a, b) => fileIndex(a, "snap") - fileIndex(b, "snap"));
  const wals = names.map((n) => fileIndex(n, "wal")).filter((i) => i >= 0).sort((a, b) => a - b);
  const firstWal = wals.length > 0 ? wals[0]! : 1;
  if (snaps.length === 0 && firstWal === 1) return 1;
  const found = [...snaps, ...(wals.length > 0 ? [`${walName(wals[0]!)} … ${walName(wals[wals.length - 1]!)}`] : [])].join(", ");
  if (!repair) {
    throw new RecoveryError(`${manifestName} is missing but the directory holds ${found}: refusing to start from part of the data (--repair rebuilds the manifest from the newest snapshot and the WALs)`);
  }
  const newest = snaps[snaps.length - 1];
  if (newest !== undefined) {
    result.entriesLoaded = loadSnapshot(join(dir, newest), newest, store, now, repair, progress);
    result.snapIndex = fileIndex(newest, "snap");
  }
  log.error(`repair: ${manifestName} is missing; rebuilding the state from ${newest ?? "no snapshot"} and ${wals.length} WAL file(s) from ${walName(firstWal)} on`);
  result.nextWalIndex = firstWal;
  return firstWal;
}

function readManifest(path: string): Manifest {
  const m = parseManifest(readFileSync(path, "utf8"));
  if (typeof m === "string") throw new RecoveryError(`${manifestName} ${m}: refusing to start`);
  return m;
}

class Progress {
  #last = performance.now();
  items = 0;
  tick(what: string, offset: number, size: number): void {
    if ((++this.items & 0xffff) !== 0) return;
    const t = performance.now();
    if (t - this.#last < recoveryProgressIntervalMs) return;
    this.#last = t;
    log.info(`recovery: ${what} ${Math.round((100 * offset) / Math.max(1, size))}% (${this.items} items so far)`);
  }
}

function loadSnapshot(path: string, name: string, store: Store, now: number, repair: boolean, progress: Progress): number {
  const size = statSync(path).size;
  const r = new FileReader(path, size);
  try {
    const count = r.need(snapHeaderBytes) ? parseSnapHeader(r.buf, r.pos, r.pos + snapHeaderBytes) : -1;
    if (count < 0) throw new RecoveryError(`${name}: not an Osprey snapshot (bad header at byte 0)`);
    r.pos += snapHeaderBytes;
    // Bounded by what the file can hold, so a damaged count cannot reserve memory for nothing.
    store.reserve(Math.min(count, Math.floor(size / entryBytesMin)));
    const e = newEntryView();
    let loaded = 0;
    for (let n = 0; n < count; n++) {
      const at = r.offset;
      const why = parseEntry(r.buf, r.pos, r.pos + loadEntry(r), e);
      if (why !== null) {
        const message = `${name}: bad entry ${n + 1} of ${count} at byte ${at}: ${why}`;
        if (!repair) throw new RecoveryError(`${message}: refusing to start (--repair keeps the entries before it)`);
        log.error(`repair: ${message}; keeping the ${loaded} entries before it`);
        return loaded;
      }
      if (e.expiryMs === noExpiry || e.expiryMs > now) {
        const ke = e.keyStart + e.keyLen;
        store.load(r.buf, e.keyStart, ke, r.buf, ke, ke + e.valueLen, e.expiryMs, e.version);
        loaded++;
      }
      r.pos += e.bytes;
      progress.tick(`loading ${name}`, r.offset, size);
    }
    if (r.remaining !== 0) {
      const message = `${name}: ${r.remaining} unexpected bytes after the last of ${count} entries, at byte ${r.offset}`;
      if (!repair) throw new RecoveryError(`${message}: refusing to start`);
      log.error(`repair: ${message}; ignored`);
    }
    return loaded;
  } finally {
    r.close();
  }
}

/**
 * Loads the snapshot entry at the reader's position and returns its length; when the file cannot
 * hold it, returns how much of it is loaded (0, or its header), and parseEntry says what is missing.
 */
function loadEntry(r: FileReader): number {
  if (!r.need(entryHeaderBytes)) return 0;
  const announced = announcedEntryBytes(r.buf, r.pos);
  // Lengths out of range are parseEntry's to name from the header; they are never loaded.
  if (announced === 0) return entryHeaderBytes;
  return r.need(announced) ? announced : entryHeaderBytes;
}

interface WalOutcome {
  records: number;
  trimmed: number;
  /** Replay stopped here under --repair: later WALs are set aside. */
  stopped: boolean;
}

/** Record types this version does not know are warned about once per recovery, not once per record. */
let unknownTypesWarned = false;

function replayWal(dir: string, index: number, newest: boolean, store: Store, now: number, repair: boolean, progress: Progress): WalOutcome {
  const name = walName(index);
  const path = join(dir, name);
  const size = statSync(path).size;
  const r = new FileReader(path, size);
  const rec = newRecordView();
  const inner = newRecordView();
  let records = 0;
  try {
    while (r.remaining > 0) {
      const at = r.offset;
      // Load the header, then the whole record when its announced size is plausible and present.
      let loaded = Math.min(r.remaining, recordHeaderBytes);
      r.need(loaded);
      if (loaded === recordHeaderBytes) {
        const announced = announcedRecordBytes(r.buf, r.pos);
        if (announced > 0 && announced <= r.remaining && r.need(announced)) loaded = announced;
      }
      let why = parseRecord(r.buf, r.pos, r.pos + loaded, rec);
      // A damaged batch is refused before any of it applies.
      if (why === null && rec.type === RecordType.Batch) why = checkBatch(r.buf, rec, inner);
      if (why !== null) {
        const tail = readTail(path, at, size);
        if (newest && !wholeRecordAfter(tail)) {
          trimTail(path, name, at, tail, why);
          return { records, trimmed: tail.length, stopped: false };
        }
        const message = `${name}: bad record at byte ${at} (${why}) with ${tail.length} bytes after it`;
        if (!repair) throw new RecoveryError(`${message}: refusing to start (--repair truncates the log there)`);
        log.error(`repair: ${message}; truncating the log there and setting later WALs aside`);
        trimTail(path, name, at, tail, why);
        return { records, trimmed: tail.length, stopped: true };
      }
      applyRecord(r.buf, rec, inner, store, now);
      records++;
      r.pos += rec.bytes;
      progress.tick(`replaying ${name}`, r.offset, size);
    }
    return { records, trimmed: 0, stopped: false };
  } finally {
    r.close();
  }
}

function applyRecord(b: Uint8Array, rec: RecordView, inner: RecordView, store: Store, now: number): void {
  const ks = rec.keyStart;
  const ke = ks + rec.keyLen;
  switch (rec.type) {
    case RecordType.Set: {
      if (rec.expiryMs === noExpiry || rec.expiryMs > now) {
        store.load(b, ks, ke, b, rec.valueStart, rec.valueStart + rec.valueLen, rec.expiryMs, rec.version);
        return;
      }
      const id = store.find(b, ks, ke);
      if (id >= 0) store.delete(id);
      return;
    }
    case RecordType.Del: {
      const id = store.find(b, ks, ke);
      if (id >= 0) store.delete(id);
      return;
    }
    case RecordType.Expire: {
      const id = store.find(b, ks, ke);
      if (id < 0) return;
      if (rec.expiryMs !== noExpiry && rec.expiryMs <= now) store.delete(id);
      else store.expireAt(id, rec.expiryMs);
      return;
    }
    case RecordType.Batch:
      applyBatch(b, rec, inner, store, now);
      return;
    case RecordType.Clear:
      store.clear();
      return;
    default:
      if (!unknownTypesWarned) {
        unknownTypesWarned = true;
        log.warn(`recovery: skipping WAL records of unknown type ${rec.type} (written by a newer Osprey?)`);
      }
  }
}

/** Applies the items of a batch that checkBatch passed: its value holds them back to back. */
function applyBatch(b: Uint8Array, batch: RecordView, item: RecordView, store: Store, now: number): void {
  const end = batch.valueStart + batch.valueLen;
  for (let at = batch.valueStart; at < end; at += item.bytes) {
    parseRecord(b, at, end, item);
    applyRecord(b, item, item, store, now);
  }
}

/**
 * Cuts path at `at`, keeping the cut bytes (`tail`) in `<name>.broken` (never overwriting an older
 * one). Order: the copy is whole on disk (tmp → fdatasync → rename → fsync dir) before the cut, and
 * the cut is synced before recovery goes on — a crash in between leaves the bytes in one place or both.
 */
function trimTail(path: string, name: string, at: number, tail: Buffer, why: string): void {
  const broken = freeBrokenName(path);
  writeFileAtomic(broken, tail);
  const fd = openSync(path, "r+");
  try {
    ftruncateSync(fd, at);
    syncFile(fd, name);
  } finally {
    closeSync(fd);
  }
  syncDir(join(path, ".."));
  log.warn(`recovery: trimmed ${tail.length} bytes from the end of ${name} at byte ${at} (${why}); they are kept in ${broken.slice(broken.lastIndexOf("/") + 1)}`);
}

function readTail(path: string, at: number, size: number): Buffer {
  const r = new FileReader(path, size);
  try {
    r.seek(at);
    r.need(size - at);
    return Buffer.from(r.buf.subarray(r.pos, r.pos + (size - at)));
  } finally {
    r.close();
  }
}

/** --repair: WALs after the point where replay stopped are renamed `.broken`, not deleted. */
function moveAside(dir: string, indexes: number[], from: number): void {
  for (let i = from; i < indexes.length; i++) {
    const name = walName(indexes[i]!);
    const broken = freeBrokenName(join(dir, name));
    renameSync(join(dir, name), broken);
    log.error(`repair: set ${name} aside as ${basename(broken)}`);
  }
  if (from < indexes.length) syncDir(dir);
}

/** The first `<path>.broken`, `.broken.1`, … that does not exist: an older one is never overwritten. */
function freeBrokenName(path: string): string {
  let broken = brokenName(path);
  for (let i = 1; existsSync(broken); i++) broken = brokenName(path, i);
  return broken;
}

function refuseOrRepair(repair: boolean, message: string, fix: () => void): void {
  if (!repair) throw new RecoveryError(`${message}: refusing to start (--repair recovers up to the gap)`);
  log.error(`repair: ${message}; recovering up to the gap`);
  fix();
}
