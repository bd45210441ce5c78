// Entry metadata as one interleaved record per entry id (docs/ARCHITECTURE.md, "Memory"): the
// fields a lookup reads (the hash the table's probe compares, key and value lengths, where the
// bytes are) and the version a write sets share one 20-byte record, so a GET at 10M keys takes one
// cache miss for its metadata instead of one per field. The buffer is page-aligned: a record
// straddles two cache lines at 4 of every 16 ids, the 16 bytes a GET reads at 3 of 16. One
// ArrayBuffer, seen as Int32.
//
// The version is 32 bits in the record: every version a key reaches below 2^32 - 1 (4 billion
// writes of one key). One that reaches it is held apart, exact to 2^53 as the protocol promises,
// in a Float64 per id that exists only once some key needs it (the record holds versionApart).
// 4 bytes a key less: 114 MiB at 30M keys.
//
// Kept apart, because without TTLs or eviction they are never written and so never resident: the
// expiry (Float64 per id), the eviction stamp (Uint32 per id) and the LFU counter (Uint8 per id),
// in engine/store.ts.

import { slabPagesMax } from "../constants.ts";
import { assert } from "../assert.ts";

/** 32-bit words per record; id * recordWords is a record's first word. native/osprey.c has the same layout. */
export const recordWords = 5;
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
  /** The version (read as unsigned) up to versionInRecordMax, else versionApart. */
  version: 4,
} as const;

/** A record's version word for a version of 2^32 - 1 or more, which is held apart (exact). */
export const versionApart = -1;
/** The versions a record's word holds itself: 0 … versionInRecordMax. */
export const versionInRecordMax = 2 ** 32 - 2;

/**
 * A slab position: the block's page and the block's index in that page, page << blockIndexBits |
 * index, as an int32's bits. The block's byte offset is index × blockBytes(key length + value
 * length) (engine/slab.ts): an entry always sits in a block of its size's class, so the record
 * already holds what the offset needs, and classes need not be multiples of a unit. The smallest
 * class (8 bytes) puts at most 2^19 blocks in a 4 MiB page, so 19 bits of index leave 13 of page:
 * at most slabPagesMax pages (constants.ts), 32 GiB. An entry in a buffer of its own holds
 * ownBuffer: page 8191 (past slabPagesMax), index 0, where its key starts in its buffer.
 */
export const blockIndexBits = 19;
export const ownBuffer = (2 ** (32 - blockIndexBits) - 1) << blockIndexBits;
/** A position's page is pos >>> pageShift, its block index pos & indexMask. */
export const pageShift = blockIndexBits;
export const indexMask = (1 << pageShift) - 1;

assert(slabPagesMax <= 2 ** (32 - pageShift) - 1 && ownBuffer >>> pageShift === 2 ** (32 - pageShift) - 1 && (ownBuffer & indexMask) === 0, "records: ownBuffer must be a page past slabPagesMax, at index 0");
