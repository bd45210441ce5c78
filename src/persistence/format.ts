// The on-disk formats of PROTOCOL.md ("Files in data_dir"), byte for byte: WAL records, snapshot
// entries, file names and the manifest. All integers little-endian; CRC32C throughout.

import { putI64, putU32 } from "../bytes.ts";
import { crc32c } from "../native/index.ts";

export { putI64, putU32 };

export const walMagic = 0x4f535057; // "WPSO" on disk: the original's constant
export const snapMagic = 0x4f535053;
export const formatVersion = 1;

/** Record types. 0–2 are the original's; 3 and 4 are ours (the original skips types it does not know). */
export const enum RecordType {
  Set = 0,
  Del = 1,
  Expire = 2,
  /** An atomic group (MSET): key_len 0, version = record count, value = the group's complete records. */
  Batch = 3,
  /** Every key removed (FLUSHALL). */
  Clear = 4,
}

/** magic u32 · format u16 · type u8 · key_len u32 · value_len u32 · expiry_ms i64 · version u64 */
export const recordHeaderBytes = 31;
/** Header plus the trailing crc: a record is this plus its key and value. */
export const recordOverheadBytes = recordHeaderBytes + 4;
/** The CRC covers the record from its type byte to the end of its value. */
export const recordCrcStart = 6;

/** magic u32 · format u16 · count u64 */
export const snapHeaderBytes = 14;
export const snapCountOffset = 6;
/** key_len u32 · value_len u32 · expiry_ms i64 · version u64, then key, value, crc u32 over all of it. */
export const entryHeaderBytes = 24;

const two32 = 4294967296;

/** Reads an i64 as a double; values beyond 2^53 lose precision (no live value gets there). */
export function getI64(b: Uint8Array, at: number): number {
  return getU32(b, at) + (b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24)) * two32;
}

export function getU64(b: Uint8Array, at: number): number {
  return getU32(b, at) + getU32(b, at + 4) * two32;
}

export function getU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export function putU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
}

export function getU16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

/** Writes a record header at `at`; the key and value follow at at+31, the crc after them. */
export function putRecordHeader(b: Uint8Array, at: number, type: RecordType, keyLen: number, valueLen: number, expiryMs: number, version: number): void {
  putU32(b, at, walMagic);
  putU16(b, at + 4, formatVersion);
  b[at + 6] = type;
  putU32(b, at + 7, keyLen);
  putU32(b, at + 11, valueLen);
  putI64(b, at + 15, expiryMs);
  putI64(b, at + 23, version);
}

/** Computes and appends the crc of the record starting at `at` whose value ends at `end`; returns the record's end. */
export function sealRecord(b: Uint8Array, at: number, end: number): number {
  putU32(b, end, crc32c(b, at + recordCrcStart, end));
  return end + 4;
}

export function walName(index: number): string {
  return `wal-${String(index).padStart(8, "0")}.oswal`;
}

export function snapName(index: number): string {
  return `snap-${String(index).padStart(8, "0")}.osnap`;
}

/** The index of a WAL or snapshot file name, or -1 when it is neither. */
export function fileIndex(name: string, kind: "wal" | "snap"): number {
  const m = kind === "wal" ? /^wal-(\d{8,})\.oswal$/.exec(name) : /^snap-(\d{8,})\.osnap$/.exec(name);
  return m === null ? -1 : Number(m[1]);
}

export interface Manifest {
  version: 1;
  snap: string;
  next_wal: string;
  created_ms: number;
}

export const manifestName = "MANIFEST.json";
