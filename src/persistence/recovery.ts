// Recovery at start-up: MANIFEST.json → its snapshot → every WAL from `next_wal` on, in order.
// Nothing is skipped silently: the only damage repaired on its own is a torn or bad record at the
// very end of the newest WAL (a crash mid-append), and its bytes are kept in a `.broken` file.
// Anything else stops the server with the file and byte offset, unless `--repair` was given.

import { existsSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyBytesMaxLimit, msetPayloadBytesMax, valueBytesMaxLimit } from "../constants.ts";
import { noExpiry, type Store } from "../engine/store.ts";
import { log } from "../log.ts";
import { crc32c } from "../native/index.ts";
import { syncDir, FileReader } from "./files.ts";
import {
  entryHeaderBytes,
  fileIndex,
  formatVersion,
  getI64,
  getU16,
  getU32,
  getU64,
  manifestName,
  recordCrcStart,
  recordHeaderBytes,
  recordOverheadBytes,
  RecordType,
  snapHeaderBytes,
  snapMagic,
  walMagic,
  walName,
  type Manifest,
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

/** The largest record a reader accepts: a whole MSET batch. Anything bigger is damage, not data. */
const recordBytesMax = recordOverheadBytes + Math.max(valueBytesMaxLimit + keyBytesMaxLimit, 2 * msetPayloadBytesMax);

export function recover(dir: string, store: Store, options: RecoveryOptions = {}): RecoveryResult {
  const started = performance.now();
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
  if (existsSync(manifestPath)) {
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

function readManifest(path: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new RecoveryError(`${manifestName} is not valid JSON (${(e as Error).message}): refusing to start`);
  }
  if (typeof m?.snap !== "string" || fileIndex(m.snap, "snap") < 0 || typeof m.next_wal !== "string" || fileIndex(m.next_wal, "wal") < 0) {
    throw new RecoveryError(`${manifestName} does not name a snapshot and a next WAL: ${JSON.stringify(m)}`);
  }
  return m;
}

class Progress {
  #last = performance.now();
  items = 0;
  tick(what: string, offset: number, size: number): void {
    if ((++this.items & 0xffff) !== 0) return;
    const t = performance.now();
    if (t - this.#last < 1000) return;
    this.#last = t;
    log.info(`recovery: ${what} ${Math.round((100 * offset) / Math.max(1, size))}% (${this.items} items so far)`);
  }
}

function loadSnapshot(path: string, name: string, store: Store, now: number, repair: boolean, progress: Progress): number {
  const size = statSync(path).size;
  const r = new FileReader(path, size);
  try {
    if (!r.need(snapHeaderBytes) || getU32(r.buf, 0) !== snapMagic || getU16(r.buf, 4) !== formatVersion) {
      throw new RecoveryError(`${name}: not an Osprey snapshot (bad header at byte 0)`);
    }
    const count = getU64(r.buf, 6);
    r.pos += snapHeaderBytes;
    // Bounded by what the file can hold, so a damaged count cannot reserve memory for nothing.
    store.reserve(Math.min(count, Math.floor(size / (entryHeaderBytes + 5))));
    let loaded = 0;
    for (let n = 0; n < count; n++) {
      const at = r.offset;
      const why = readEntry(r);
      if (why !== null) {
        const message = `${name}: bad entry ${n + 1} of ${count} at byte ${at}: ${why}`;
        if (!repair) throw new RecoveryError(`${message}: refusing to start (--repair keeps the entries before it)`);
        log.error(`repair: ${message}; keeping the ${loaded} entries before it`);
        return loaded;
      }
      const b = r.buf;
      const p = r.pos;
      const keyLen = getU32(b, p);
      const valueLen = getU32(b, p + 4);
      const expiry = getI64(b, p + 8);
      const version = getU64(b, p + 16);
      const ks = p + entryHeaderBytes;
      const ke = ks + keyLen;
      if (expiry === noExpiry || expiry > now) {
        store.load(b, ks, ke, b, ke, ke + valueLen, expiry, version);
        loaded++;
      }
      r.pos = ke + valueLen + 4;
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

/** Checks the snapshot entry at the reader's position (leaving pos on it); null when it is whole and its crc matches. */
function readEntry(r: FileReader): string | null {
  if (!r.need(entryHeaderBytes)) return "the file ends inside the entry header";
  const keyLen = getU32(r.buf, r.pos);
  const valueLen = getU32(r.buf, r.pos + 4);
  if (keyLen === 0 || keyLen > keyBytesMaxLimit) return `key length ${keyLen} is out of range`;
  if (valueLen > valueBytesMaxLimit) return `value length ${valueLen} is out of range`;
  const total = entryHeaderBytes + keyLen + valueLen + 4;
  if (!r.need(total)) return `the file ends inside the entry (${total} bytes announced)`;
  const end = r.pos + total - 4;
  if (crc32c(r.buf, r.pos, end) !== getU32(r.buf, end)) return "crc mismatch";
  return null;
}

/** A parsed WAL record: offsets into the reader's buffer. */
interface Rec {
  type: number;
  keyStart: number;
  keyLen: number;
  valueStart: number;
  valueLen: number;
  expiry: number;
  version: number;
  bytes: number;
}

/** Parses the record at b[at..end); a reason string when it is torn or damaged. */
function parseRecord(b: Uint8Array, at: number, end: number, rec: Rec): string | null {
  if (end - at < recordHeaderBytes) return "the file ends inside a record header";
  if (getU32(b, at) !== walMagic) return "bad record magic";
  if (getU16(b, at + 4) !== formatVersion) return `unknown record format ${getU16(b, at + 4)}`;
  rec.type = b[at + 6]!;
  rec.keyLen = getU32(b, at + 7);
  rec.valueLen = getU32(b, at + 11);
  rec.bytes = recordOverheadBytes + rec.keyLen + rec.valueLen;
  if (rec.keyLen > keyBytesMaxLimit || rec.bytes > recordBytesMax) return `record lengths out of range (key ${rec.keyLen}, value ${rec.valueLen})`;
  if (end - at < rec.bytes) return `the file ends inside a record of ${rec.bytes} bytes`;
  const crcAt = at + rec.bytes - 4;
  if (crc32c(b, at + recordCrcStart, crcAt) !== getU32(b, crcAt)) return "crc mismatch";
  rec.expiry = getI64(b, at + 15);
  rec.version = getU64(b, at + 23);
  rec.keyStart = at + recordHeaderBytes;
  rec.valueStart = rec.keyStart + rec.keyLen;
  return null;
}

interface WalOutcome {
  records: number;
  trimmed: number;
  /** Replay stopped here under --repair: later WALs are set aside. */
  stopped: boolean;
}

let unknownTypesWarned = false;

function replayWal(dir: string, index: number, newest: boolean, store: Store, now: number, repair: boolean, progress: Progress): WalOutcome {
  const name = walName(index);
  const path = join(dir, name);
  const size = statSync(path).size;
  const r = new FileReader(path, size);
  const rec: Rec = { type: 0, keyStart: 0, keyLen: 0, valueStart: 0, valueLen: 0, expiry: 0, version: 0, bytes: 0 };
  const inner: Rec = { ...rec };
  let records = 0;
  try {
    while (r.remaining > 0) {
      const at = r.offset;
      // Load the header, then the whole record when its announced size is plausible and present.
      let loaded = Math.min(r.remaining, recordHeaderBytes);
      r.need(loaded);
      if (loaded === recordHeaderBytes && getU32(r.buf, r.pos) === walMagic) {
        const announced = recordOverheadBytes + getU32(r.buf, r.pos + 7) + getU32(r.buf, r.pos + 11);
        if (announced <= recordBytesMax && announced <= r.remaining && r.need(announced)) loaded = announced;
      }
      let why = parseRecord(r.buf, r.pos, r.pos + loaded, rec);
      if (why === null && rec.type === RecordType.Batch) why = applyBatch(r.buf, rec, inner, store, now, true);
      if (why !== null) {
        const tail = readTail(path, at, size);
        if (newest && !validRecordAfter(tail)) {
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

function applyRecord(b: Uint8Array, rec: Rec, inner: Rec, store: Store, now: number): void {
  const ks = rec.keyStart;
  const ke = ks + rec.keyLen;
  switch (rec.type) {
    case RecordType.Set: {
      if (rec.expiry === noExpiry || rec.expiry > now) {
        store.load(b, ks, ke, b, rec.valueStart, rec.valueStart + rec.valueLen, rec.expiry, rec.version);
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
      if (rec.expiry !== noExpiry && rec.expiry <= now) store.delete(id);
      else store.expireAt(id, rec.expiry);
      return;
    }
    case RecordType.Batch:
      applyBatch(b, rec, inner, store, now, false);
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

/**
 * A batch's value is its records, each whole. With `check` it only validates them (so a damaged
 * batch is refused before any of it applies); otherwise it applies them.
 */
function applyBatch(b: Uint8Array, rec: Rec, inner: Rec, store: Store, now: number, check: boolean): string | null {
  const end = rec.valueStart + rec.valueLen;
  let at = rec.valueStart;
  let n = 0;
  while (at < end) {
    const why = parseRecord(b, at, end, inner);
    if (why !== null) return `batch item ${n + 1}: ${why}`;
    if (inner.type !== RecordType.Set && inner.type !== RecordType.Del && inner.type !== RecordType.Expire) return `batch item ${n + 1} has type ${inner.type}`;
    if (!check) applyRecord(b, inner, inner, store, now);
    at += inner.bytes;
    n++;
  }
  if (n !== rec.version) return `batch holds ${n} records, its header says ${rec.version}`;
  return null;
}

/**
 * Whether a whole, crc-valid record starts in `tail` (the log from a bad record on) after its
 * first byte: then the damage is not a torn tail but something in the middle of the log. Records
 * nested in a torn batch do not count.
 */
function validRecordAfter(tail: Buffer): boolean {
  const end = tail.length;
  const rec: Rec = { type: 0, keyStart: 0, keyLen: 0, valueStart: 0, valueLen: 0, expiry: 0, version: 0, bytes: 0 };
  // A batch header that is itself intact: what lies inside its announced extent is its items.
  let nestedEnd = -1;
  if (end >= recordHeaderBytes && getU32(tail, 0) === walMagic && tail[6] === RecordType.Batch) {
    nestedEnd = recordOverheadBytes + getU32(tail, 7) + getU32(tail, 11);
  }
  let at = tail.indexOf(walMagicBytes, 1);
  while (at >= 0) {
    if (parseRecord(tail, at, end, rec) === null && (at >= nestedEnd || at + rec.bytes > nestedEnd - 4)) return true;
    at = tail.indexOf(walMagicBytes, at + 1);
  }
  return false;
}

const walMagicBytes = Buffer.from([0x57, 0x50, 0x53, 0x4f]); // walMagic, little-endian

/** Cuts path at `at`, keeping the cut bytes (`tail`) in `<name>.broken` (never overwriting an older one). */
function trimTail(path: string, name: string, at: number, tail: Buffer, why: string): void {
  let broken = `${path}.broken`;
  for (let i = 1; existsSync(broken); i++) broken = `${path}.broken.${i}`;
  writeFileSync(broken, tail);
  truncateSync(path, at);
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
    renameSync(join(dir, name), join(dir, `${name}.broken`));
    log.error(`repair: set ${name} aside as ${name}.broken`);
  }
  if (from < indexes.length) syncDir(dir);
}

function refuseOrRepair(repair: boolean, message: string, fix: () => void): void {
  if (!repair) throw new RecoveryError(`${message}: refusing to start (--repair recovers up to the gap)`);
  log.error(`repair: ${message}; recovering up to the gap`);
  fix();
}
