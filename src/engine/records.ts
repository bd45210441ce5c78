// Entry metadata as one interleaved record per entry id (docs/ARCHITECTURE.md, "Memory"): the
// fields a lookup reads (the hash the table's probe compares, key and value lengths, where the
// bytes are) and the version a write sets share one 24-byte record, so a GET at 10M keys takes one
// cache miss for its metadata instead of one per field. A 24-byte record straddles two cache lines
// at 2 of every 8 ids (the buffer is page-aligned); the 16 bytes a GET reads come first and cross
// a line at 1 id in 8 only. One ArrayBuffer, seen as Int32 (the four words) and Float64 (the
// version, exact up to 2^53).
//
// Kept apart, because without TTLs or eviction they are never written and so never resident: the
// expiry (Float64 per id), the eviction stamp (Uint32 per id) and the LFU counter (Uint8 per id),
// in engine/store.ts.

import { slabPageBytes, slabPagesMax } from "../constants.ts";
import { assert } from "../assert.ts";

/** 32-bit words per record; id * recordWords is a record's first word. native/osprey.c has the same layout. */
export const recordWords = 6;
export const recordBytes = recordWords * 4;

/** Word offsets in a record (Int32 view). */
export const field = {
  /** The key's hash, for the table's probes, rehashing and deletion. */
  hash: 0,
  /** 0 marks a free id (keys are never empty). */
  keyLen: 1,
  valueLen: 2,
  /** Where the key starts (the value follows it): a slab position, or ownBuffer (below). */
  pos: 3,
} as const;

/** Float64 index of a record's version: words 4 and 5, id * versionStride + versionSlot. */
export const versionStride = 3;
export const versionSlot = 2;

/**
 * A slab position: the block's offset in the whole slab in 8-byte units (page * slabPageBytes +
 * offset, over 8), as an int32's bits; its page is pos >>> pageShift, its offset (pos & unitMask)
 * << 3. Every slab class is a multiple of 8 bytes and pages are carved from 0, so blocks start at
 * multiples of 8 (slab.ts asserts it); 32 bits of 8-byte units reach 32 GiB, which is why the slab
 * holds at most slabPagesMax pages (constants.ts). An entry in a buffer of its own holds
 * ownBuffer: page 8191 (past slabPagesMax), offset 0, where its key starts in its buffer.
 */
export const ownBuffer = (2 ** 13 - 1) << 19;
/** log2 of a page's 8-byte units: a position's page is pos >>> pageShift. */
export const pageShift = 19;
export const unitMask = (1 << pageShift) - 1;

assert(slabPageBytes === 8 << pageShift, "records: a slab position packs a page's offset in 8-byte units into pageShift bits");
assert(slabPagesMax <= 2 ** (32 - pageShift) - 1 && ownBuffer >>> pageShift === 2 ** (32 - pageShift) - 1 && (ownBuffer & unitMask) === 0, "records: ownBuffer must be a page past slabPagesMax, at offset 0");
