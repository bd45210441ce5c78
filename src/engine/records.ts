// Entry metadata as one interleaved record per entry id (docs/ARCHITECTURE.md, "Memory"): the
// fields a lookup reads (the hash the table's probe compares, key and value lengths, where the
// bytes are) and the version a write sets share one 32-byte record, so a GET at 10M keys takes one
// cache miss for its metadata instead of one per field (a record never straddles two lines: 32
// divides 64 and the buffer is page-aligned). One ArrayBuffer, seen as Int32 (most fields),
// Uint32 (the eviction stamp) and Float64 (the version, exact up to 2^53).
//
// Kept apart, because without TTLs or eviction they are never written and so never resident: the
// expiry (Float64 per id) and the LFU counter (Uint8 per id), in engine/store.ts.

/** 32-bit words per record; id << recordShift is a record's first word. native/osprey.c has the same layout. */
export const recordWords = 8;
export const recordShift = 3;
export const recordBytes = recordWords * 4;

/** Word offsets in a record (Int32 view, except Stamp: Uint32 view). */
export const enum Field {
  /** The key's hash, for the table's probes, rehashing and deletion. */
  Hash = 0,
  /** 0 marks a free id (keys are never empty). */
  KeyLen = 1,
  ValueLen = 2,
  /** Slab page, or -1 for an entry with its own buffer. */
  Page = 3,
  /** Where the key starts in the page (or own buffer); the value follows it. */
  Offset = 4,
  /** The logical clock at the entry's last access (eviction), 0 until eviction was ever on. */
  Stamp = 5,
}

/** Float64 index of a record's version: words 6 and 7, (id << versionShift) | versionSlot. */
export const versionShift = 2;
export const versionSlot = 3;
