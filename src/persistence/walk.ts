// Reading a snapshot entry by entry and a WAL record by record, in one of two ways: strictly (the
// first problem ends the walk — a plain start, which refuses it) or salvaging (a damaged stretch is
// stepped over by resynchronising on the next entry or record that checks, and every good one after
// it is kept — `--repair` and the offline `check`). What the bytes mean is format.ts's; what to do
// about the damage found (refuse, trim, cut out, report) is recovery.ts's.

import { statSync } from "node:fs";
import { keyBytesMaxLimit, salvageKeysListedMax, snapBulkEntriesMax, valueBytesMaxLimit, walRecordBytesMax } from "../constants.ts";
import { hashKey } from "../engine/hashtable.ts";
import { snapEntries, walRecords } from "../native/index.ts";
import { FileReader } from "./files.ts";
import {
  announcedEntryBytes,
  announcedRecordBytes,
  checkBatch,
  crcBytes,
  entryBytesMin,
  entryHeaderBytes,
  isBatch,
  newEntryView,
  newRecordView,
  parseEntry,
  parseRecord,
  parseSnapHeader,
  peekEntryHeader,
  peekRecordHeader,
  recordHasKey,
  recordHeaderBytes,
  RecordType,
  snapHeaderBytes,
  walMagicBytes,
  wholeRecordAfter,
  type EntryView,
  type RecordView,
} from "./format.ts";

/** A damaged stretch of a file: bytes [start, end) and the keys that could be read from them. */
export interface Damage {
  start: number;
  end: number;
  /** What was wrong at `start`, with the byte offset: "bad record at byte 210 (crc mismatch)". */
  why: string;
  /** Just the reason, without the offset: "crc mismatch". */
  cause: string;
  /**
   * Keys of the entries or records in the damaged bytes, as read from them (the damage may be in
   * a key itself), at most salvageKeysListedMax; `moreKeys` counts the rest. Empty when no header
   * in the stretch was readable: then only the byte range says what was lost.
   */
  keys: Buffer[];
  moreKeys: number;
  /**
   * Whether the headers read for `keys` account for the stretch exactly (each one's lengths lead
   * to the next, the last to `end`, or past it where the file ends). When not, a length was what
   * was damaged, and a key read with it may be cut short or run on into the bytes after it.
   */
  keysExact: boolean;
}

/** Called every so often with how far a walk got, for progress lines. */
export type Tick = (offset: number, size: number, items: number) => void;

export interface SnapshotWalk {
  /** The count in the header, or -1 when the header is bad. */
  count: number;
  /** Good entries walked (expired ones included: dropping them is the caller's). */
  entries: number;
  size: number;
  damage: Damage[];
}

export interface SnapshotWalkOptions {
  salvage: boolean;
  /** Once the header is read, with its count (-1 when bad). */
  header?: (count: number, size: number) => void;
  /**
   * Each good entry, decoded into `e` over `b` (valid only during the call); `hash` is its key's
   * hash under `hashSeed` (engine/hashtable.ts's), or 0 when no seed was given.
   */
  entry?: (b: Buffer, e: EntryView, hash: number) => void;
  /** The seed of the hash table the entries go to: the walk hashes each key (natively, with the crc). */
  hashSeed?: number;
  /**
   * Before the `entry` calls of a bulk of `n` entries decoded at once, their hashes: `hashes[at +
   * i * stride]` for i < n. The store starts fetching the table slots they will probe.
   */
  bulk?: (hashes: Int32Array, at: number, stride: number, n: number) => void;
  tick?: Tick;
}

/** Scratch for the native bulk decoders: offset, (type,) key length, value length, hash per entry or record; expiry, version. */
const bulkInts = new Int32Array(snapBulkEntriesMax * 5);
const bulkNums = new Float64Array(snapBulkEntriesMax * 2);

/** Walks the snapshot at `path`; see SnapshotWalk. */
export function walkSnapshot(path: string, opts: SnapshotWalkOptions): SnapshotWalk {
  const size = statSync(path).size;
  const r = new FileReader(path, size);
  const walk: SnapshotWalk = { count: -1, entries: 0, size, damage: [] };
  const e = newEntryView();
  try {
    const count = r.need(snapHeaderBytes) ? parseSnapHeader(r.buf, r.pos, r.pos + snapHeaderBytes) : -1;
    walk.count = count;
    opts.header?.(count, size);
    if (count < 0) {
      walk.damage.push({ start: 0, end: Math.min(size, snapHeaderBytes), why: "not an Osprey snapshot (bad header at byte 0)", cause: "bad header", keys: [], moreKeys: 0, keysExact: false });
      if (!opts.salvage) return walk;
    }
    r.seek(Math.min(size, snapHeaderBytes));
    // Strict: exactly `count` entries and nothing after them. Salvaging: every entry that checks,
    // to the end of the file, whatever the count says.
    const seed = opts.hashSeed;
    for (let n = 0; opts.salvage ? r.remaining > 0 : n < count; n++) {
      // The entries already in the read buffer that check are decoded natively in bulk (crc,
      // lengths and hash in one call); the loop below reads only the one that stopped it: cut off
      // by the end of the buffer (it loads more), or bad (it names what is wrong).
      const bulk = snapEntries(r.buf, r.pos, r.loadedEnd, keyBytesMaxLimit, valueBytesMaxLimit, seed ?? 0, bulkInts, bulkNums);
      if (bulk > 0) {
        const take = opts.salvage ? bulk : Math.min(bulk, count - n);
        if (seed !== undefined) opts.bulk?.(bulkInts, 3, 4, take);
        for (let i = 0; i < take; i++) {
          const q = i * 4;
          e.keyStart = bulkInts[q]! + entryHeaderBytes;
          e.keyLen = bulkInts[q + 1]!;
          e.valueLen = bulkInts[q + 2]!;
          e.valueStart = e.keyStart + e.keyLen;
          e.bytes = entryHeaderBytes + e.keyLen + e.valueLen + crcBytes;
          e.expiryMs = bulkNums[i * 2]!;
          e.version = bulkNums[i * 2 + 1]!;
          opts.entry?.(r.buf, e, seed === undefined ? 0 : bulkInts[q + 3]!);
          if ((++walk.entries & 0xffff) === 0) opts.tick?.(r.offset, size, walk.entries);
        }
        r.pos = e.keyStart - entryHeaderBytes + e.bytes;
        n += take - 1;
        continue;
      }
      const at = r.offset;
      // Loaded first, in a statement of its own: loading moves r.pos (and may replace r.buf), so
      // they must be read after it — as arguments beside the call they were read before.
      const loaded = loadEntry(r);
      const why = parseEntry(r.buf, r.pos, r.pos + loaded, e);
      if (why !== null) {
        const entryNo = walk.entries + walk.damage.length + 1;
        const what = `bad entry ${entryNo}${count >= 0 ? ` of ${count}` : ""} at byte ${at}: ${why}`;
        if (!opts.salvage) {
          walk.damage.push({ start: at, end: size, why: what, cause: why, keys: [], moreKeys: 0, keysExact: false });
          return walk;
        }
        const end = resyncEntry(r, at);
        walk.damage.push({ start: at, end, why: what, cause: why, ...entryKeys(r, at, end) });
        r.seek(end);
        continue;
      }
      opts.entry?.(r.buf, e, seed === undefined ? 0 : hashKey(r.buf, e.keyStart, e.valueStart, seed));
      walk.entries++;
      r.pos += e.bytes;
      if ((walk.entries & 0xffff) === 0) opts.tick?.(r.offset, size, walk.entries);
    }
    if (!opts.salvage && r.remaining !== 0) {
      walk.damage.push({ start: r.offset, end: size, why: `${r.remaining} unexpected bytes after the last of ${count} entries, at byte ${r.offset}`, cause: "unexpected bytes", keys: [], moreKeys: 0, keysExact: false });
    } else if (opts.salvage && count >= 0 && walk.damage.length === 0 && walk.entries !== count) {
      // Every byte checks but entries are missing (a file cut at an entry boundary) or extra.
      walk.damage.push({ start: size, end: size, why: `the header counts ${count} entries but the file holds ${walk.entries}`, cause: "entry count", keys: [], moreKeys: 0, keysExact: false });
    }
    return walk;
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

function entryAt(r: FileReader, at: number, e: EntryView): boolean {
  r.seek(at);
  const loaded = loadEntry(r);
  return parseEntry(r.buf, r.pos, r.pos + loaded, e) === null;
}

/**
 * Where good entries resume after a bad one at `at`: where its own header says it ends, when an
 * entry that checks (or the end of the file) is there — the damage was inside it, and anything
 * that looks like an entry within its value is its value — else the next byte offset at which an
 * entry checks (its header's lengths were what was damaged), else the end of the file.
 */
function resyncEntry(r: FileReader, at: number): number {
  const e = newEntryView();
  r.seek(at);
  if (r.need(entryHeaderBytes)) {
    const extent = peekEntryHeader(r.buf, r.pos, e);
    if (extent > 0 && at + extent <= r.size && (at + extent === r.size || entryAt(r, at + extent, e))) return at + extent;
  }
  // Entries have no magic: every offset is a candidate, and a random one passes the length
  // checks rarely and the crc almost never.
  for (let q = at + 1; q + entryBytesMin <= r.size; q++) if (entryAt(r, q, e)) return q;
  return r.size;
}

/** The keys readable in the damaged entries of [start, end): each header whose lengths fit, in turn. */
function entryKeys(r: FileReader, start: number, end: number): { keys: Buffer[]; moreKeys: number; keysExact: boolean } {
  const found = new KeyList();
  const e = newEntryView();
  let c = start;
  while (c + entryHeaderBytes <= end) {
    r.seek(c);
    r.need(entryHeaderBytes);
    const extent = peekEntryHeader(r.buf, r.pos, e);
    if (extent === 0) break;
    if (c + entryHeaderBytes + e.keyLen <= end && r.need(entryHeaderBytes + e.keyLen)) found.add(r.buf, r.pos + entryHeaderBytes, e.keyLen);
    c += extent;
  }
  // A header whose record the file ends inside was cut short, not misread.
  return found.result(c === end || (end === r.size && c > end));
}

export interface WalWalk {
  /** Good records walked (a batch counts once). */
  records: number;
  size: number;
  /** Damage in the middle of the log (a plain start refuses it). */
  damage: Damage[];
  /** A bad stretch reaching the end of the newest WAL with no good record after it: a write cut short by a crash. */
  torn: Damage | null;
}

export interface WalWalkOptions {
  salvage: boolean;
  /** Whether this is the newest WAL: only there can a bad end be a torn tail. */
  newest: boolean;
  /**
   * Each good record (a batch checked whole), decoded into `rec` over `b`; `inner` is scratch for
   * its items. `hash` is the key's hash under `hashSeed` when the record was decoded natively (a
   * SET, DEL or EXPIRE), else null.
   */
  record?: (b: Buffer, rec: RecordView, inner: RecordView, hash: number | null) => void;
  /** The seed of the hash table the records go to (see SnapshotWalkOptions.hashSeed). */
  hashSeed?: number;
  /** Before the `record` calls of a bulk decoded at once, their hashes (see SnapshotWalkOptions.bulk). */
  bulk?: (hashes: Int32Array, at: number, stride: number, n: number) => void;
  tick?: Tick;
}

/** Walks the WAL at `path`; see WalWalk. */
export function walkWal(path: string, opts: WalWalkOptions): WalWalk {
  const size = statSync(path).size;
  const r = new FileReader(path, size);
  const rec = newRecordView();
  const inner = newRecordView();
  const walk: WalWalk = { records: 0, size, damage: [], torn: null };
  const seed = opts.hashSeed;
  try {
    while (r.remaining > 0) {
      // As walkSnapshot: the records in the read buffer that check are decoded natively in bulk,
      // and the one that stopped that (cut off, bad, or a batch or clear) is read below.
      const bulk = walRecords(r.buf, r.pos, r.loadedEnd, keyBytesMaxLimit, walRecordBytesMax, seed ?? 0, bulkInts, bulkNums);
      if (bulk > 0) {
        if (seed !== undefined) opts.bulk?.(bulkInts, 4, 5, bulk);
        for (let i = 0; i < bulk; i++) {
          const q = i * 5;
          rec.type = bulkInts[q + 1]!;
          rec.keyStart = bulkInts[q]! + recordHeaderBytes;
          rec.keyLen = bulkInts[q + 2]!;
          rec.valueLen = bulkInts[q + 3]!;
          rec.valueStart = rec.keyStart + rec.keyLen;
          rec.bytes = recordHeaderBytes + rec.keyLen + rec.valueLen + crcBytes;
          rec.expiryMs = bulkNums[i * 2]!;
          rec.version = bulkNums[i * 2 + 1]!;
          opts.record?.(r.buf, rec, inner, seed === undefined ? null : bulkInts[q + 4]!);
          if ((++walk.records & 0xffff) === 0) opts.tick?.(r.offset, size, walk.records);
        }
        r.pos = rec.keyStart - recordHeaderBytes + rec.bytes;
        continue;
      }
      const at = r.offset;
      const why = readRecord(r, rec, inner);
      if (why === null) {
        opts.record?.(r.buf, rec, inner, null);
        walk.records++;
        r.pos += rec.bytes;
        if ((walk.records & 0xffff) === 0) opts.tick?.(r.offset, size, walk.records);
        continue;
      }
      const what = `bad record at byte ${at} (${why})`;
      if (!opts.salvage) {
        // docs/FORMAT.md's rule for a plain start: torn only when no whole record starts after it.
        const d: Damage = { start: at, end: size, why: what, cause: why, keys: [], moreKeys: 0, keysExact: false };
        if (opts.newest && !wholeRecordAfter(readBytes(r, at, size))) walk.torn = d;
        else walk.damage.push(d);
        return walk;
      }
      const end = resyncRecord(r, at);
      const d: Damage = { start: at, end, why: what, cause: why, ...recordKeys(r, at, end) };
      if (end === size && opts.newest) walk.torn = d;
      else walk.damage.push(d);
      r.seek(end);
    }
    return walk;
  } finally {
    r.close();
  }
}

/**
 * Loads the record at the reader's position — its header, then the whole record when the size it
 * announces is plausible and present — and decodes it into `rec`: null when it checks (a batch's
 * items included), else why not.
 */
function readRecord(r: FileReader, rec: RecordView, inner: RecordView): string | null {
  let loaded = Math.min(r.remaining, recordHeaderBytes);
  r.need(loaded);
  if (loaded === recordHeaderBytes) {
    const announced = announcedRecordBytes(r.buf, r.pos);
    if (announced > 0 && announced <= r.remaining && r.need(announced)) loaded = announced;
  }
  const why = parseRecord(r.buf, r.pos, r.pos + loaded, rec);
  // A damaged batch is refused before any of it applies.
  if (why === null && isBatch(rec.type)) return checkBatch(r.buf, rec, inner);
  return why;
}

function recordAt(r: FileReader, at: number, rec: RecordView, inner: RecordView): boolean {
  r.seek(at);
  return readRecord(r, rec, inner) === null;
}

/** A copy of the file's bytes [from, to). */
function readBytes(r: FileReader, from: number, to: number): Buffer {
  r.seek(from);
  r.need(to - from);
  return Buffer.from(r.buf.subarray(r.pos, r.pos + (to - from)));
}

/**
 * Where good records resume after a bad one at `at`. First, the items of a batch are never taken
 * for records of their own (that would apply part of an MSET): the records that chain from the
 * end of the bad header on, each checking, are its items. Then: where the bad header says the
 * record ends, when a record that checks (or the end of the file) is there and it is not one of
 * those items — the damage was inside the record; else the next record magic, outside the items,
 * at which a record checks (the header's lengths were damaged); else the end of the file.
 */
function resyncRecord(r: FileReader, at: number): number {
  const rec = newRecordView();
  const inner = newRecordView();
  let extent = 0;
  r.seek(at);
  if (r.need(recordHeaderBytes)) extent = peekRecordHeader(r.buf, r.pos, rec);
  if (at + extent > r.size) extent = 0;
  const items: number[] = [];
  let itemsEnd = at + recordHeaderBytes;
  while (itemsEnd < r.size && recordAt(r, itemsEnd, rec, inner)) {
    items.push(itemsEnd);
    itemsEnd += rec.bytes;
  }
  if (extent > 0) {
    const next = at + extent;
    if ((next === r.size || recordAt(r, next, rec, inner)) && !items.includes(next)) return next;
  }
  for (let q = r.find(walMagicBytes, at + 1); q >= 0; q = r.find(walMagicBytes, q + 1)) {
    if (items.length > 0 && q >= items[0]! && q < itemsEnd) {
      q = itemsEnd - 1;
      continue;
    }
    if (recordAt(r, q, rec, inner)) return q;
  }
  return r.size;
}

/**
 * The keys readable in the damaged records of [start, end): each header whose lengths fit, in
 * turn; a batch's (or a header with no key's) items one by one.
 */
function recordKeys(r: FileReader, start: number, end: number): { keys: Buffer[]; moreKeys: number; keysExact: boolean } {
  const found = new KeyList();
  const rec = newRecordView();
  const item = newRecordView();
  let c = start;
  while (c + recordHeaderBytes <= end) {
    r.seek(c);
    r.need(recordHeaderBytes);
    const extent = peekRecordHeader(r.buf, r.pos, rec);
    if (extent === 0) break;
    if (rec.keyLen > 0) {
      if (c + recordHeaderBytes + rec.keyLen <= end && r.need(recordHeaderBytes + rec.keyLen)) found.add(r.buf, r.pos + recordHeaderBytes, rec.keyLen);
    } else {
      const itemsEnd = Math.min(end, c + extent - crcBytes);
      for (let i = c + recordHeaderBytes; i + recordHeaderBytes <= itemsEnd; ) {
        r.seek(i);
        r.need(recordHeaderBytes);
        const itemExtent = peekRecordHeader(r.buf, r.pos, item);
        if (itemExtent > 0 && item.type === RecordType.Clear && item.keyLen === 0) {
          i += itemExtent; // a ClearBatch's CLEAR: no key to name
          continue;
        }
        if (itemExtent === 0 || !recordHasKey(item.type) || item.keyLen === 0) break;
        if (i + recordHeaderBytes + item.keyLen <= itemsEnd && r.need(recordHeaderBytes + item.keyLen)) found.add(r.buf, r.pos + recordHeaderBytes, item.keyLen);
        i += itemExtent;
      }
    }
    c += extent;
  }
  // A header whose record the file ends inside was cut short, not misread.
  return found.result(c === end || (end === r.size && c > end));
}

/** Keys found in damaged bytes: the first salvageKeysListedMax copied, the rest counted. */
class KeyList {
  readonly #keys: Buffer[] = [];
  #more = 0;
  add(b: Buffer, at: number, len: number): void {
    if (this.#keys.length < salvageKeysListedMax) this.#keys.push(Buffer.from(b.subarray(at, at + len)));
    else this.#more++;
  }
  result(exact: boolean): { keys: Buffer[]; moreKeys: number; keysExact: boolean } {
    return { keys: this.#keys, moreKeys: this.#more, keysExact: exact };
  }
}
