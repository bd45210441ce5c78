// SCAN and KEYS over the keyspace: which ids a SCAN step answers (Redis's scanGenericCommand on
// top of the index's reverse-binary cursor, engine/hashtable.ts) and which a slice of KEYS finds
// (the same cursor, so a KEYS can yield between slices), both filtered by a glob (glob.ts).

import { keysSliceBucketsMax, keysSliceCheckBuckets, scanBucketsPerStepMin } from "../constants.ts";
import { globMatch, globMatchesAll } from "../glob.ts";
import { noExpiry, type Store } from "./store.ts";

/** One SCAN's options, filled by the handler. Reused: a SCAN allocates nothing per request. */
export class ScanOptions {
  /** The MATCH pattern p[ps..pe), or null for none. */
  pattern: Uint8Array | null = null;
  ps = 0;
  pe = 0;
  /** COUNT: how many keys to aim for (Redis's default 10). */
  count = 10;
  /** TYPE given and not "string" (case-insensitive): no Osprey key can match. */
  noType = false;

  reset(): this {
    this.pattern = null;
    this.ps = 0;
    this.pe = 0;
    this.count = 10;
    this.noType = false;
    return this;
  }
}

/** The ids a SCAN step answers, in `ids[0..count)`; reused between calls. */
export class ScanResult {
  ids: number[] = [];
  /** The cursor to continue from; 0 when the scan is done. */
  cursor = 0;
}

/** The bucket ids of one step land here (module scratch, so the visitor allocates nothing). */
let collecting: number[] = [];
function collect(id: number): void {
  collecting.push(id);
}

/**
 * One SCAN step from `cursor`: visits home buckets until `o.count` ids were collected, `count × 10`
 * buckets (Redis's bound; at least scanBucketsPerStepMin) were visited or the keys' reply would
 * pass `replyBytesMax` (`keyBytes` of each); then drops the ids that fail MATCH or
 * TYPE and those whose expiry passed (removing them, as Redis does). A bucket is always taken
 * whole, so the cursor's guarantee holds: every key live for the whole scan is answered at least
 * once. Writes into `r`.
 */
export function scanStep(store: Store, cursor: number, o: ScanOptions, nowMs: number, replyBytesMax: number, keyBytes: (keyLen: number) => number, r: ScanResult): void {
  const ids = r.ids;
  ids.length = 0;
  collecting = ids;
  let iterations = Math.max(scanBucketsPerStepMin, Math.min(o.count * 10, Number.MAX_SAFE_INTEGER));
  let bytes = 0;
  let seen = 0;
  do {
    cursor = store.scan(cursor, collect);
    for (; seen < ids.length; seen++) bytes += keyBytes(store.keyLength(ids[seen]!));
  } while (cursor !== 0 && iterations-- > 0 && ids.length < o.count && bytes < replyBytesMax);
  r.cursor = cursor;
  const p = o.pattern;
  const matchAll = p === null || globMatchesAll(p, o.ps, o.pe);
  let kept = 0;
  for (const id of ids) {
    if (o.noType) continue;
    if (!matchAll && !keyMatches(store, id, p!, o.ps, o.pe)) continue;
    if (store.expireIfDue(id, nowMs)) continue;
    ids[kept++] = id;
  }
  ids.length = kept;
}

function keyMatches(store: Store, id: number, p: Uint8Array, ps: number, pe: number): boolean {
  const ks = store.keyOffset(id);
  return globMatch(p, ps, pe, store.buffer(id), ks, ks + store.keyLength(id));
}

const byId = (a: number, b: number): number => a - b;

/** The bucket visitor of keysSlice: collects into `sliceIds` (module scratch, so a slice allocates nothing per bucket). */
let sliceIds: number[] = [];
function collectSlice(id: number): void {
  sliceIds.push(id);
}

/**
 * One slice of KEYS pattern: visits home buckets from `cursor` — SCAN's reverse-binary cursor, so a
 * key present from the first slice to the last is visited exactly once whatever the table does in
 * between, as long as it is not cleared (it then shrinks: the caller starts again) — until the walk
 * ends, `keysSliceBucketsMax` buckets were visited or `deadlineMs` passed (checked every
 * keysSliceCheckBuckets), and calls `found` with the id of every live key matching p[ps..pe)
 * (expired ones are skipped, not removed, as Redis 7.0's KEYS). Returns the cursor to go on from
 * (0 when the walk is done), or -1 as soon as `found` answers false. `found` must not change the table.
 */
export function keysSlice(store: Store, cursor: number, p: Uint8Array, ps: number, pe: number, nowMs: number, deadlineMs: number, found: (id: number) => boolean): number {
  const matchAll = globMatchesAll(p, ps, pe);
  const ids = sliceIds;
  const bucketsMax = deadlineMs === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : keysSliceBucketsMax;
  let buckets = 0;
  do {
    ids.length = 0;
    const end = buckets + keysSliceCheckBuckets;
    do cursor = store.scan(cursor, collectSlice);
    while (cursor !== 0 && ++buckets < end);
    // The cursor's buckets are spread over the table: in id order, the entries' metadata and key
    // bytes are read closer to in sequence than in bucket order.
    ids.sort(byId);
    for (const id of ids) {
      const at = store.expiry(id);
      if (at !== noExpiry && at <= nowMs) continue;
      if (!matchAll && !keyMatches(store, id, p, ps, pe)) continue;
      if (!found(id)) return -1;
    }
  } while (cursor !== 0 && buckets < bucketsMax && performance.now() < deadlineMs);
  ids.length = 0;
  return cursor;
}
