// Every on-disk layout of Osprey, its encoder and its decoder side by side: WAL records (batch and
// clear included), the snapshot header and entry, MANIFEST.json and the file names. docs/FORMAT.md
// describes each byte by byte, and test/persistence/format-vectors.test.ts checks this module
// against that document's hex vectors, so the two cannot drift. Integers are little-endian and
// every checksum is CRC32C. Nothing here touches a file: wal.ts, snapshot.ts and recovery.ts do.

import { assert } from "../assert.ts";
import { copyBytes, putI64, putU32 } from "../bytes.ts";
import { keyBytesMaxLimit, valueBytesMaxLimit, walRecordBytesMax, walRecordFramingBytes } from "../constants.ts";
import { crc32c } from "../native/index.ts";

export { putI64, putU32 };

/** Bytes of the crc that ends every WAL record and snapshot entry. */
export const crcBytes = 4;
/** A header field that carries no expiry: the same -1 as on the wire. */
export const noExpiryMs = -1;

// ---- Integers ----

const two32 = 4294967296;

export function putU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
}

export function getU16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

export function getU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/**
 * Reads an i64 as a double: exact for every value a double holds (an expiry past 2^53 is one
 * already); other values beyond 2^53 are rounded (no version gets there).
 */
export function getI64(b: Uint8Array, at: number): number {
  return getU32(b, at) + (b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24)) * two32;
}

export function getU64(b: Uint8Array, at: number): number {
  return getU32(b, at) + getU32(b, at + 4) * two32;
}

// ---- WAL records ----
//
// magic u32 · format u16 · type u8 · key_len u32 · value_len u32 · expiry_ms i64 · version u64 ·
// key · value · crc u32 over every byte from the type to the end of the value.

/** "WPSO" on disk: the original's constant. */
export const walMagic = 0x4f535057;
/** The format field of WAL records and snapshot headers; readers refuse any other. */
export const formatVersion = 1;

/** Record types. 0–2 are the original's; 3–5 are ours (the original, and older Ospreys, skip types they do not know). */
export const enum RecordType {
  Set = 0,
  Del = 1,
  Expire = 2,
  /** An atomic group (MSET, EXEC): key_len 0, version = item count, value = the group's complete SET, DEL and EXPIRE records. */
  Batch = 3,
  /** Every key removed (FLUSHALL). */
  Clear = 4,
  /** A Batch whose items may also be CLEARs: an EXEC that ran FLUSHALL or FLUSHDB. */
  ClearBatch = 5,
}

/** Whether a record of this type holds items (a Batch or a ClearBatch), which must all check before any applies. */
export function isBatch(type: number): boolean {
  return type === RecordType.Batch || type === RecordType.ClearBatch;
}

const recordTypeOffset = 6;
const recordKeyLenOffset = 7;
const recordValueLenOffset = 11;
const recordExpiryOffset = 15;
const recordVersionOffset = 23;
/** magic u32 · format u16 · type u8 · key_len u32 · value_len u32 · expiry_ms i64 · version u64 */
export const recordHeaderBytes = 31;
/** Header plus the trailing crc: a record is this plus its key and value. */
export const recordOverheadBytes = recordHeaderBytes + crcBytes;
/** The CRC covers the record from its type byte to the end of its value. */
export const recordCrcStart = recordTypeOffset;

assert(recordOverheadBytes === walRecordFramingBytes, "constants.ts must size WAL records with the framing this format writes");

/** Bytes of a record with this key and value. */
export function recordBytes(keyLen: number, valueLen: number): number {
  return recordOverheadBytes + keyLen + valueLen;
}

/** Bytes of a batch record whose `count` items carry `dataBytes` of keys and values in all. */
export function batchRecordBytes(count: number, dataBytes: number): number {
  return recordOverheadBytes + count * recordOverheadBytes + dataBytes;
}

/**
 * Writes a record header at `at` and returns where the key goes; the value follows the key and
 * the crc the value (sealRecord).
 */
export function putRecordHeader(b: Uint8Array, at: number, type: RecordType, keyLen: number, valueLen: number, expiryMs: number, version: number): number {
  putU32(b, at, walMagic);
  putU16(b, at + 4, formatVersion);
  b[at + recordTypeOffset] = type;
  putU32(b, at + recordKeyLenOffset, keyLen);
  putU32(b, at + recordValueLenOffset, valueLen);
  putI64(b, at + recordExpiryOffset, expiryMs);
  putI64(b, at + recordVersionOffset, version);
  return at + recordHeaderBytes;
}

/** Computes and appends the crc of the record starting at `at` whose value ends at `end`; returns the record's end. */
export function sealRecord(b: Uint8Array, at: number, end: number): number {
  putU32(b, end, crc32c(b, at + recordCrcStart, end));
  return end + crcBytes;
}

/**
 * Checks a SET, DEL or EXPIRE before it is encoded: a key or value beyond every limit a
 * configuration allows is a bug upstream, and is never logged (recovery would refuse it).
 */
export function assertRecordLengths(keyLen: number, valueLen: number): void {
  // One unsigned comparison tests 1 <= keyLen <= keyBytesMaxLimit, and the message is built only
  // on failure: this runs for every SET logged, and two assert calls cost it about 10 ns.
  if ((keyLen - 1) >>> 0 >= keyBytesMaxLimit || valueLen > valueBytesMaxLimit) {
    assert(false, `a WAL record's key of ${keyLen} bytes is outside 1..${keyBytesMaxLimit} or its value of ${valueLen} bytes is over ${valueBytesMaxLimit}`);
  }
}

// The encoders below are the reference for each record type (the test vectors check them). The
// WAL makes the same calls inline rather than calling these: JavaScriptCore does not inline a
// ten-argument call of this size, and on the WAL's hot path that extra call cost 20–40 ns a record.

/** Encodes a SET of key kb[ks..ke) = vb[vs..ve) at `at` (room for recordBytes is the caller's); returns its end. */
export function encodeSet(b: Uint8Array, at: number, kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): number {
  const keyLen = ke - ks;
  const valueLen = ve - vs;
  assertRecordLengths(keyLen, valueLen);
  const keyAt = putRecordHeader(b, at, RecordType.Set, keyLen, valueLen, expiryMs, version);
  copyBytes(kb, ks, ke, b, keyAt);
  copyBytes(vb, vs, ve, b, keyAt + keyLen);
  return sealRecord(b, at, keyAt + keyLen + valueLen);
}

/** Encodes a DEL of kb[ks..ke): expiry -1, version 0, as the original writes it. Returns its end. */
export function encodeDel(b: Uint8Array, at: number, kb: Uint8Array, ks: number, ke: number): number {
  assertRecordLengths(ke - ks, 0);
  const keyAt = putRecordHeader(b, at, RecordType.Del, ke - ks, 0, noExpiryMs, 0);
  copyBytes(kb, ks, ke, b, keyAt);
  return sealRecord(b, at, keyAt + (ke - ks));
}

/** Encodes an EXPIRE: the key's new absolute expiry (or -1) and its unchanged version. Returns its end. */
export function encodeExpire(b: Uint8Array, at: number, kb: Uint8Array, ks: number, ke: number, expiryMs: number, version: number): number {
  assertRecordLengths(ke - ks, 0);
  const keyAt = putRecordHeader(b, at, RecordType.Expire, ke - ks, 0, expiryMs, version);
  copyBytes(kb, ks, ke, b, keyAt);
  return sealRecord(b, at, keyAt + (ke - ks));
}

/** Encodes a clear (FLUSHALL): no key, no value, expiry -1, version 0. */
export function encodeClear(b: Uint8Array, at: number): number {
  putRecordHeader(b, at, RecordType.Clear, 0, 0, noExpiryMs, 0);
  return sealRecord(b, at, at + recordHeaderBytes);
}

/** Where a batch begun at `at` holds its first item: its items are encoded there back to back. */
export function batchItemsStart(at: number): number {
  return at + recordHeaderBytes;
}

/**
 * Completes the batch begun at `at` whose items end at `end`; returns the batch's end. `type` is
 * ClearBatch when a CLEAR is among the items, else Batch.
 */
export function sealBatch(b: Uint8Array, at: number, end: number, count: number, type: RecordType.Batch | RecordType.ClearBatch = RecordType.Batch): number {
  putRecordHeader(b, at, type, 0, end - batchItemsStart(at), noExpiryMs, count);
  return sealRecord(b, at, end);
}

/** A decoded WAL record: its fields, and offsets of its key and value in the buffer it came from. */
export interface RecordView {
  type: number;
  keyStart: number;
  keyLen: number;
  valueStart: number;
  valueLen: number;
  expiryMs: number;
  version: number;
  /** The whole record's length, crc included. */
  bytes: number;
}

/** A view to decode into, reused record after record so decoding allocates nothing. */
export function newRecordView(): RecordView {
  return { type: 0, keyStart: 0, keyLen: 0, valueStart: 0, valueLen: 0, expiryMs: 0, version: 0, bytes: 0 };
}

/**
 * The length the record header at b[at..at+31) announces, or 0 when it does not start with the
 * magic or its lengths are beyond the limits. Readers load that much before decoding the record,
 * so a damaged length is never read (nor allocated) for.
 */
export function announcedRecordBytes(b: Uint8Array, at: number): number {
  if (getU32(b, at) !== walMagic) return 0;
  const keyLen = getU32(b, at + recordKeyLenOffset);
  const bytes = recordBytes(keyLen, getU32(b, at + recordValueLenOffset));
  return keyLen > keyBytesMaxLimit || bytes > walRecordBytesMax ? 0 : bytes;
}

/**
 * Decodes the record at b[at..end) into `rec`: null when it is whole and its crc matches, else why
 * not. Lengths are checked against the limits before anything is read past the header.
 */
export function parseRecord(b: Uint8Array, at: number, end: number, rec: RecordView): string | null {
  if (end - at < recordHeaderBytes) return "the file ends inside a record header";
  if (getU32(b, at) !== walMagic) return "bad record magic";
  if (getU16(b, at + 4) !== formatVersion) return `unknown record format ${getU16(b, at + 4)}`;
  rec.type = b[at + recordTypeOffset]!;
  rec.keyLen = getU32(b, at + recordKeyLenOffset);
  rec.valueLen = getU32(b, at + recordValueLenOffset);
  rec.bytes = recordBytes(rec.keyLen, rec.valueLen);
  if (rec.keyLen > keyBytesMaxLimit || rec.bytes > walRecordBytesMax) return `record lengths out of range (key ${rec.keyLen}, value ${rec.valueLen})`;
  if (end - at < rec.bytes) return `the file ends inside a record of ${rec.bytes} bytes`;
  const crcAt = at + rec.bytes - crcBytes;
  if (crc32c(b, at + recordCrcStart, crcAt) !== getU32(b, crcAt)) return "crc mismatch";
  // Whole and checked, yet not a record Osprey writes: the keyspace marks free entries by key
  // length 0, so loading an empty key would corrupt it.
  if (rec.keyLen === 0 && recordHasKey(rec.type)) return "a record with an empty key";
  rec.expiryMs = getI64(b, at + recordExpiryOffset);
  rec.version = getU64(b, at + recordVersionOffset);
  rec.keyStart = at + recordHeaderBytes;
  rec.valueStart = rec.keyStart + rec.keyLen;
  return null;
}

/**
 * Checks the items of a decoded batch record (each whole, each a SET, DEL or EXPIRE — or a CLEAR in
 * a ClearBatch — as many as its version says); null when the batch may be applied. `item` is
 * scratch space.
 */
export function checkBatch(b: Uint8Array, batch: RecordView, item: RecordView): string | null {
  const end = batch.valueStart + batch.valueLen;
  const clears = batch.type === RecordType.ClearBatch;
  let n = 0;
  for (let at = batch.valueStart; at < end; at += item.bytes) {
    const why = parseRecord(b, at, end, item);
    if (why !== null) return `batch item ${n + 1}: ${why}`;
    if (!recordHasKey(item.type) && !(clears && item.type === RecordType.Clear)) return `batch item ${n + 1} has type ${item.type}`;
    n++;
  }
  if (n !== batch.version) return `batch holds ${n} records, its header says ${batch.version}`;
  return null;
}

/** walMagic as it appears on disk (little-endian): what a reader resynchronising on records looks for. */
export const walMagicBytes = new Uint8Array([0x57, 0x50, 0x53, 0x4f]);

/**
 * Salvage's reading of a damaged record header at b[at..at+31): its type, key and value lengths
 * and offsets, without checking the magic, format or crc (any of which may be what is damaged).
 * Returns the extent the header announces, or 0 when its lengths are beyond the limits — then
 * none of `rec` but the lengths is meaningful. The caller must have loaded the 31 header bytes.
 */
export function peekRecordHeader(b: Uint8Array, at: number, rec: RecordView): number {
  rec.type = b[at + recordTypeOffset]!;
  rec.keyLen = getU32(b, at + recordKeyLenOffset);
  rec.valueLen = getU32(b, at + recordValueLenOffset);
  rec.keyStart = at + recordHeaderBytes;
  rec.valueStart = rec.keyStart + rec.keyLen;
  rec.bytes = recordBytes(rec.keyLen, rec.valueLen);
  return rec.keyLen > keyBytesMaxLimit || rec.bytes > walRecordBytesMax ? 0 : rec.bytes;
}

/** Whether a record of this type names one key (SET, DEL, EXPIRE), so salvage can report it. */
export function recordHasKey(type: number): boolean {
  return type === RecordType.Set || type === RecordType.Del || type === RecordType.Expire;
}

/**
 * Whether a whole, crc-valid record starts in `tail` (the log from a bad record on) after its
 * first byte: then the damage is not a torn tail but something in the middle of the log. Items of
 * an intact batch header at the start do not count: they are the torn batch itself.
 */
export function wholeRecordAfter(tail: Buffer): boolean {
  const end = tail.length;
  const rec = newRecordView();
  let nestedEnd = -1;
  if (end >= recordHeaderBytes && getU32(tail, 0) === walMagic && isBatch(tail[recordTypeOffset]!)) {
    nestedEnd = recordBytes(getU32(tail, recordKeyLenOffset), getU32(tail, recordValueLenOffset));
  }
  let at = tail.indexOf(walMagicBytes, 1);
  while (at >= 0) {
    if (parseRecord(tail, at, end, rec) === null && (at >= nestedEnd || at + rec.bytes > nestedEnd - crcBytes)) return true;
    at = tail.indexOf(walMagicBytes, at + 1);
  }
  return false;
}

// ---- Snapshots ----
//
// header: magic u32 · format u16 · count u64; then `count` entries:
// key_len u32 · value_len u32 · expiry_ms i64 · version u64 · key · value · crc u32 over the entry before it.

export const snapMagic = 0x4f535053;
/** magic u32 · format u16 · count u64 */
export const snapHeaderBytes = 14;
/** Where the count sits in the header: written last, once the entries are known. */
export const snapCountOffset = 6;
export const snapCountBytes = 8;

const entryValueLenOffset = 4;
const entryExpiryOffset = 8;
const entryVersionOffset = 16;
/** key_len u32 · value_len u32 · expiry_ms i64 · version u64, then key, value, crc u32 over all of it. */
export const entryHeaderBytes = 24;
/** The shortest entry (a one-byte key, no value): bounds how many entries a file of some size can hold. */
export const entryBytesMin = entryHeaderBytes + 1 + crcBytes;

/** Writes a snapshot header for `count` entries at `at`; returns where the first entry goes. */
export function putSnapHeader(b: Uint8Array, at: number, count: number): number {
  putU32(b, at, snapMagic);
  putU16(b, at + 4, formatVersion);
  putI64(b, at + snapCountOffset, count);
  return at + snapHeaderBytes;
}

/** The entry count of the snapshot header at b[at..end), or -1 when it is not one. */
export function parseSnapHeader(b: Uint8Array, at: number, end: number): number {
  if (end - at < snapHeaderBytes || getU32(b, at) !== snapMagic || getU16(b, at + 4) !== formatVersion) return -1;
  return getU64(b, at + snapCountOffset);
}

/** Bytes of a snapshot entry with this key and value, crc included. */
export function entryBytes(keyLen: number, valueLen: number): number {
  return entryHeaderBytes + keyLen + valueLen + crcBytes;
}

/**
 * Writes an entry header at `at`; the key and value follow at the returned offset and the crc
 * after them (sealEntry). Store.encodeEntry writes this same layout from its metadata arrays.
 */
export function putEntryHeader(b: Uint8Array, at: number, keyLen: number, valueLen: number, expiryMs: number, version: number): number {
  putU32(b, at, keyLen);
  putU32(b, at + entryValueLenOffset, valueLen);
  putI64(b, at + entryExpiryOffset, expiryMs);
  putI64(b, at + entryVersionOffset, version);
  return at + entryHeaderBytes;
}

/** Appends the crc of the entry b[at..end); returns the entry's end. */
export function sealEntry(b: Uint8Array, at: number, end: number): number {
  putU32(b, end, crc32c(b, at, end));
  return end + crcBytes;
}

/** Encodes a whole entry (header, key, value, crc) at `at`; returns its end. */
export function encodeEntry(b: Uint8Array, at: number, kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): number {
  const keyAt = putEntryHeader(b, at, ke - ks, ve - vs, expiryMs, version);
  copyBytes(kb, ks, ke, b, keyAt);
  copyBytes(vb, vs, ve, b, keyAt + (ke - ks));
  return sealEntry(b, at, keyAt + (ke - ks) + (ve - vs));
}

/** A decoded snapshot entry, with offsets of its key and value in the buffer it came from. */
export interface EntryView {
  keyStart: number;
  keyLen: number;
  valueStart: number;
  valueLen: number;
  expiryMs: number;
  version: number;
  /** The whole entry's length, crc included. */
  bytes: number;
}

export function newEntryView(): EntryView {
  return { keyStart: 0, keyLen: 0, valueStart: 0, valueLen: 0, expiryMs: 0, version: 0, bytes: 0 };
}

/** The length the entry header at b[at..at+24) announces, or 0 when its lengths are out of range. */
export function announcedEntryBytes(b: Uint8Array, at: number): number {
  const keyLen = getU32(b, at);
  const valueLen = getU32(b, at + entryValueLenOffset);
  return entryLengthsError(keyLen, valueLen) === null ? entryBytes(keyLen, valueLen) : 0;
}

/**
 * Salvage's reading of a damaged entry header at b[at..at+24): lengths and offsets without the
 * crc check. Returns the extent it announces, or 0 when its lengths are out of range.
 */
export function peekEntryHeader(b: Uint8Array, at: number, e: EntryView): number {
  e.keyLen = getU32(b, at);
  e.valueLen = getU32(b, at + entryValueLenOffset);
  e.keyStart = at + entryHeaderBytes;
  e.valueStart = e.keyStart + e.keyLen;
  e.bytes = entryBytes(e.keyLen, e.valueLen);
  return entryLengthsError(e.keyLen, e.valueLen) === null ? e.bytes : 0;
}

function entryLengthsError(keyLen: number, valueLen: number): string | null {
  if (keyLen === 0 || keyLen > keyBytesMaxLimit) return `key length ${keyLen} is out of range`;
  if (valueLen > valueBytesMaxLimit) return `value length ${valueLen} is out of range`;
  return null;
}

/** Decodes the entry at b[at..end) into `e`: null when it is whole and its crc matches, else why not. */
export function parseEntry(b: Uint8Array, at: number, end: number, e: EntryView): string | null {
  if (end - at < entryHeaderBytes) return "the file ends inside the entry header";
  e.keyLen = getU32(b, at);
  e.valueLen = getU32(b, at + entryValueLenOffset);
  const lengthsWhy = entryLengthsError(e.keyLen, e.valueLen);
  if (lengthsWhy !== null) return lengthsWhy;
  e.bytes = entryBytes(e.keyLen, e.valueLen);
  if (end - at < e.bytes) return `the file ends inside the entry (${e.bytes} bytes announced)`;
  const crcAt = at + e.bytes - crcBytes;
  if (crc32c(b, at, crcAt) !== getU32(b, crcAt)) return "crc mismatch";
  e.expiryMs = getI64(b, at + entryExpiryOffset);
  e.version = getU64(b, at + entryVersionOffset);
  e.keyStart = at + entryHeaderBytes;
  e.valueStart = e.keyStart + e.keyLen;
  return null;
}

// ---- MANIFEST.json ----

export const manifestName = "MANIFEST.json";

/** What an online backup copied (persistence/backup.ts); written into the backup only, never read by recovery. */
export const backupManifestName = "BACKUP.json";

/** Which snapshot recovery loads and the WAL it replays from; snake_case as the original writes it. */
export interface Manifest {
  version: 1;
  snap: string;
  next_wal: string;
  created_ms: number;
}

/** The manifest's bytes: compact JSON, keys in this order, as the original writes them. */
export function serializeManifest(m: Manifest): Buffer {
  return Buffer.from(JSON.stringify({ version: m.version, snap: m.snap, next_wal: m.next_wal, created_ms: m.created_ms }));
}

/**
 * Reads a manifest; a string says why it is not one. Only `snap` and `next_wal` are required
 * (each must be a well-formed file name): `version` and `created_ms` are informational.
 */
export function parseManifest(text: string): Manifest | string {
  let m: Partial<Manifest> | null;
  try {
    m = JSON.parse(text);
  } catch (e) {
    return `is not valid JSON (${(e as Error).message})`;
  }
  if (typeof m?.snap !== "string" || fileIndex(m.snap, "snap") < 0 || typeof m.next_wal !== "string" || fileIndex(m.next_wal, "wal") < 0) {
    return `does not name a snapshot and a next WAL: ${JSON.stringify(m)}`;
  }
  return { version: 1, snap: m.snap, next_wal: m.next_wal, created_ms: typeof m.created_ms === "number" ? m.created_ms : 0 };
}

// ---- File names ----

export function walName(index: number): string {
  return `wal-${String(index).padStart(8, "0")}.oswal`;
}

export function snapName(index: number): string {
  return `snap-${String(index).padStart(8, "0")}.osnap`;
}

/** The index of a WAL or snapshot file name, or -1 when it is neither (a .tmp or .broken file is neither). */
export function fileIndex(name: string, kind: "wal" | "snap"): number {
  const m = kind === "wal" ? /^wal-(\d{8,})\.oswal$/.exec(name) : /^snap-(\d{8,})\.osnap$/.exec(name);
  return m === null ? -1 : Number(m[1]);
}

/** A file being written, renamed to `name` once it is whole and synced. */
export function tmpName(name: string): string {
  return `${name}.tmp`;
}

/**
 * Where recovery keeps bytes it cut from `name` or a file it set aside: `<name>.broken`, then
 * `.broken.1`, `.broken.2`, … (the `n`th) so an older one is never overwritten.
 */
export function brokenName(name: string, n = 0): string {
  return n === 0 ? `${name}.broken` : `${name}.broken.${n}`;
}
