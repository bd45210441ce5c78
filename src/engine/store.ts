// The keyspace: the only code that mutates it. Entry metadata in typed arrays, key+value bytes in
// slab pages (or own buffers when large), the expiry heap, and the hash table that indexes them.
//
// Keys and values arrive as (buffer, start, end) ranges of the request and are copied once into
// the slab; nothing on the lookup path turns bytes into strings or allocates.

import { assert } from "../assert.ts";
import { copyBytes } from "../bytes.ts";
import { entryHeaderBytes, putEntryHeader } from "../persistence/format.ts";
import { entriesMax, heapSlackItems, slabPageBytes } from "../constants.ts";
import { ExpiryHeap } from "./expiry.ts";
import { Event, Notify, type KeyEvents } from "./notify.ts";
import { HashTable } from "./hashtable.ts";
import { isLarge, sizeClass, Slab } from "./slab.ts";

/**
 * Receives every change to the keyspace in absolute form before it is applied: what the WAL
 * logs. Relative TTLs are already absolute, INCR arrives as a SET of its result, MSET is one batch.
 */
export interface MutationLog {
  set(key: Uint8Array, ks: number, ke: number, value: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): void;
  del(key: Uint8Array, ks: number, ke: number): void;
  expire(key: Uint8Array, ks: number, ke: number, expiryMs: number, version: number): void;
  /** `count` sets follow, carrying `dataBytes` of keys and values in all: the log can reserve room for all of them first. */
  batchBegin(count: number, dataBytes: number): void;
  batchEnd(): void;
  /**
   * An EXEC's writes follow, at most `countMax` records carrying at most `dataBytesMax`: the log
   * reserves room for the bound and keeps them as one batch (MSET batches inside it join it),
   * sealed by groupEnd with the records that came. No clear inside a group.
   */
  groupBegin(countMax: number, dataBytesMax: number): void;
  groupEnd(): void;
  /** Every key is removed (FLUSHALL). */
  clear(): void;
}

/** A log that keeps nothing: the keyspace before durability is wired in, and tests. */
export const nullLog: MutationLog = {
  set() {},
  del() {},
  expire() {},
  batchBegin() {},
  batchEnd() {},
  groupBegin() {},
  groupEnd() {},
  clear() {},
};


/** No expiry, as stored and as sent on the wire. */
export const noExpiry = -1;

/** Entry ids the metadata arrays start with (36 KiB); they double in place as the store grows. */
const idsInitial = 1024;

/** Most entries the keyspace can hold (defined with the other engine limits in constants.ts). */
export { entriesMax };

/** A typed array over a resizable buffer that can grow in place to `max` elements. */
function growable<T extends Int32Array | Float64Array>(make: new (b: ArrayBuffer) => T, bytesPer: number, n: number): T {
  return new make(new ArrayBuffer(n * bytesPer, { maxByteLength: entriesMax * bytesPer }));
}

export class Store {
  // Entry metadata, indexed by entry id. keyLen 0 marks a free id (keys are never empty).
  #hash: Int32Array; // the key's hash, for the table's probes, rehashing and deletion
  #keyLen: Int32Array;
  #valueLen: Int32Array;
  #page: Int32Array; // slab page, or -1 for an entry with its own buffer in #large
  #offset: Int32Array;
  #version: Float64Array; // exact up to 2^53, far beyond what increments can reach
  #expiry: Float64Array;
  #large: (Buffer | undefined)[] = [];
  #largeBytes = 0;
  #freeIds: number[] = [];
  #highWater = 0;

  /** Key → entry id. Reads #hash and compares keys through #isKey. */
  #table: HashTable;
  #slab = new Slab();
  #heap = new ExpiryHeap();
  #ttlCount = 0;
  #expiredTotal = 0;
  /**
   * Keyspace notifications (engine/notify.ts): null while notify-keyspace-events is off, which is
   * all a write and an expiry pay for them. Engine operations raise their events through it.
   */
  events: KeyEvents | null = null;
  #log: MutationLog;

  constructor(options: { log?: MutationLog; capacity?: number } = {}) {
    this.#log = options.log ?? nullLog;
    const ids = Math.min(entriesMax, Math.max(idsInitial, options.capacity ?? 0));
    this.#hash = growable(Int32Array, 4, ids);
    this.#keyLen = growable(Int32Array, 4, ids);
    this.#valueLen = growable(Int32Array, 4, ids);
    this.#page = growable(Int32Array, 4, ids);
    this.#offset = growable(Int32Array, 4, ids);
    this.#version = growable(Float64Array, 8, ids);
    this.#expiry = growable(Float64Array, 8, ids);
    this.#table = new HashTable({
      hashes: this.#hash,
      keyEquals: (id, kb, ks, len) => this.#isKey(id, kb, ks, len),
      capacity: options.capacity,
    });
  }

  /** Replaces the mutation log (the WAL, once recovery is done; WATCH's observer while keys are watched). */
  setLog(log: MutationLog): void {
    this.#log = log;
  }

  /** The mutation log in use. */
  get log(): MutationLog {
    return this.#log;
  }

  /** Entries held, including expired ones not yet removed. */
  get size(): number {
    return this.#table.count;
  }

  /** Keys removed because their expiry passed, lazily or by the sweeper. */
  get expiredTotal(): number {
    return this.#expiredTotal;
  }

  /** Entries with an expiry, including expired ones not yet removed (INFO keyspace's `expires`). */
  get keysWithExpiry(): number {
    return this.#ttlCount;
  }

  /** Bytes of key and value data held (slab blocks plus large buffers), for STATS. */
  get dataBytes(): number {
    return this.#slab.bytesInUse + this.#largeBytes;
  }

  /** The entry id of a key whether or not it has expired, or -1. */
  find(kb: Uint8Array, ks: number, ke: number): number {
    return this.#table.find(kb, ks, ke);
  }

  /** Background work for idle moments (the sweeper's tick): moves resize slots until `deadlineMs`. */
  maintain(deadlineMs: number): void {
    this.#table.maintain(deadlineMs);
  }

  /** The entry id of a live key, or -1. A key found expired is removed on the way (lazy expiry). */
  lookup(kb: Uint8Array, ks: number, ke: number, nowMs: number): number {
    const id = this.find(kb, ks, ke);
    if (id < 0) return -1;
    const at = this.#expiry[id]!;
    if (at !== noExpiry && at <= nowMs) {
      this.#removeExpired(id);
      return -1;
    }
    return id;
  }

  version(id: number): number {
    return this.#version[id]!;
  }

  expiry(id: number): number {
    return this.#expiry[id]!;
  }

  valueLength(id: number): number {
    return this.#valueLen[id]!;
  }

  keyLength(id: number): number {
    return this.#keyLen[id]!;
  }

  /** The buffer holding the entry's key then value bytes: a shared slab page, or its own when large. */
  buffer(id: number): Buffer {
    const page = this.#page[id]!;
    return page >= 0 ? this.#slab.pages[page]! : this.#large[id]!;
  }

  /** Where the entry's key starts in `buffer(id)`; its value follows the key. */
  keyOffset(id: number): number {
    return this.#offset[id]!;
  }

  /** Where the entry's value starts in `buffer(id)`. */
  valueOffset(id: number): number {
    return this.#offset[id]! + this.#keyLen[id]!;
  }

  /**
   * Writes key = value with an absolute expiry and version; `id` is the key's current entry or -1.
   * Logs the absolute record first, then applies it. Returns the entry id.
   */
  set(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number, id: number): number {
    // Not asserted here, unlike `apply`: this is every SET's path, and its id comes straight from
    // `find` or `lookup` of the same key (without the assert a store-only SET loop ran a few % faster).
    this.#log.set(kb, ks, ke, vb, vs, ve, expiryMs, version);
    if (id < 0) return this.load(kb, ks, ke, vb, vs, ve, expiryMs, version);
    return this.#overwrite(kb, ks, ke, vb, vs, ve, expiryMs, version, id);
  }

  /** Applies a SET without logging it: recovery replaying the log. */
  apply(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number, id: number): number {
    assert(id < 0 || this.#isEntry(id), "store: SET over an entry id that holds no key");
    if (id < 0) return this.load(kb, ks, ke, vb, vs, ve, expiryMs, version);
    return this.#overwrite(kb, ks, ke, vb, vs, ve, expiryMs, version, id);
  }

  /**
   * A SET that looks the key up itself, without logging: recovery's, and the one path that adds
   * entries (`set` and `apply` come here for a new key). One hash and one probe serve both the
   * lookup and the insert, which is most of the cost of loading a snapshot (each probe of a large
   * table is a cache miss): the probe that misses ends at the free slot the new entry goes to.
   * Returns the entry id.
   */
  load(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): number {
    const table = this.#table;
    const h = table.hash(kb, ks, ke);
    const found = table.findOrSlot(h, kb, ks, ke - ks);
    if (found >= 0) return this.#overwrite(kb, ks, ke, vb, vs, ve, expiryMs, version, found);
    // Written inline rather than in a helper: that call cost loading 1M keys a few percent (measured).
    const keyLen = ke - ks;
    const valueLen = ve - vs;
    const id = this.#newId();
    this.#hash[id] = h;
    this.#keyLen[id] = keyLen;
    this.#valueLen[id] = valueLen;
    this.#expiry[id] = noExpiry;
    this.#place(id, keyLen + valueLen);
    table.insertAt(-1 - found, id);
    const dst = this.buffer(id);
    const at = this.#offset[id]!;
    // Key and value adjacent in the source (a snapshot or WAL record): one copy.
    if (vb === kb && vs === ke) copyBytes(kb, ks, ve, dst, at);
    else {
      copyBytes(kb, ks, ke, dst, at);
      copyBytes(vb, vs, ve, dst, at + keyLen);
    }
    this.#version[id] = version;
    this.#setExpiry(id, expiryMs);
    return id;
  }

  /** Writes a new value (and expiry and version) into entry `id`, which holds the key already. */
  #overwrite(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number, id: number): number {
    const keyLen = ke - ks;
    const valueLen = ve - vs;
    if (!this.#fits(id, keyLen + valueLen)) {
      this.#release(id);
      this.#valueLen[id] = valueLen;
      this.#place(id, keyLen + valueLen);
      copyBytes(kb, ks, ke, this.buffer(id), this.#offset[id]!);
    } else {
      this.#valueLen[id] = valueLen;
    }
    copyBytes(vb, vs, ve, this.buffer(id), this.#offset[id]! + keyLen);
    this.#version[id] = version;
    this.#setExpiry(id, expiryMs);
    return id;
  }

  /** Deletes a live entry, logging it. */
  delete(id: number): void {
    assert(this.#isEntry(id), "store: DEL of an entry id that holds no key");
    const buf = this.buffer(id);
    const ks = this.#offset[id]!;
    this.#log.del(buf, ks, ks + this.#keyLen[id]!);
    this.#remove(id);
  }

  /** Sets a live entry's absolute expiry (or noExpiry), keeping its version; logs it. */
  expireAt(id: number, expiryMs: number): void {
    assert(this.#isEntry(id), "store: EXPIRE of an entry id that holds no key");
    const buf = this.buffer(id);
    const ks = this.#offset[id]!;
    this.#log.expire(buf, ks, ks + this.#keyLen[id]!, expiryMs, this.#version[id]!);
    this.#setExpiry(id, expiryMs);
  }

  /**
   * Rewrites part of live entry `id`'s value (APPEND, SETRANGE, SETBIT): src[s..e) lands at
   * offset `at`, bytes between the old end and `at` become zeros, and the value is
   * max(old length, at + e - s) long; the entry gets `version` and keeps its expiry. Logged, as
   * every write, as a SET of the whole new value before it counts. When the new value still fits
   * the entry's block it is patched in place — the bytes it covers are saved first and put back if
   * the log refuses — so the value is copied once (into the log) besides the patch; otherwise it
   * is built in a new block (a second copy) and the old block is freed once the log took it.
   */
  patch(id: number, at: number, src: Uint8Array, s: number, e: number, version: number): void {
    assert(this.#isEntry(id), "store: a patch of an entry id that holds no key");
    const keyLen = this.#keyLen[id]!;
    const oldLen = this.#valueLen[id]!;
    const newLen = Math.max(oldLen, at + e - s);
    const expiry = this.#expiry[id]!;
    if (this.#fits(id, keyLen + newLen)) {
      const buf = this.buffer(id);
      const ks = this.#offset[id]!;
      const vs = ks + keyLen;
      const coveredEnd = Math.min(oldLen, at + e - s);
      const saved = at < coveredEnd ? new Uint8Array(buf.subarray(vs + at, vs + coveredEnd)) : null;
      if (oldLen < at) buf.fill(0, vs + oldLen, vs + at);
      copyBytes(src, s, e, buf, vs + at);
      try {
        this.#log.set(buf, ks, vs, buf, vs, vs + newLen, expiry, version);
      } catch (err) {
        if (saved !== null) copyBytes(saved, 0, saved.length, buf, vs + at);
        throw err;
      }
      this.#valueLen[id] = newLen;
      this.#version[id] = version;
      return;
    }
    const bytes = keyLen + newLen;
    const large = isLarge(bytes);
    const handle = large ? -1 : this.#slab.alloc(bytes);
    const page = large ? -1 : Math.floor(handle / slabPageBytes);
    const dst = large ? Buffer.allocUnsafeSlow(bytes) : this.#slab.pages[page]!;
    const ks = large ? 0 : handle - page * slabPageBytes;
    const vs = ks + keyLen;
    const from = this.#offset[id]!;
    copyBytes(this.buffer(id), from, from + keyLen + oldLen, dst, ks);
    if (oldLen < at) dst.fill(0, vs + oldLen, vs + at);
    copyBytes(src, s, e, dst, vs + at);
    try {
      this.#log.set(dst, ks, vs, dst, vs, vs + newLen, expiry, version);
    } catch (err) {
      if (!large) this.#slab.free(handle, bytes);
      throw err;
    }
    this.#release(id);
    this.#valueLen[id] = newLen;
    this.#page[id] = page;
    this.#offset[id] = ks;
    if (large) {
      this.#large[id] = dst;
      this.#largeBytes += bytes;
    }
    this.#version[id] = version;
  }

  /** Brackets several `set`s that must be logged (and so recovered) all or none: MSET. */
  batchBegin(count: number, dataBytes: number): void {
    this.#log.batchBegin(count, dataBytes);
  }

  batchEnd(): void {
    this.#log.batchEnd();
  }

  /** Brackets every write of an EXEC, so it is logged (and so recovered) all or none. */
  groupBegin(countMax: number, dataBytesMax: number): void {
    this.#log.groupBegin(countMax, dataBytesMax);
  }

  groupEnd(): void {
    this.#log.groupEnd();
  }

  /**
   * Sizes an empty store for `count` entries at once (recovery knows the snapshot's count), so
   * loading it never resizes the table or the metadata arrays.
   */
  reserve(count: number): void {
    if (this.#table.count !== 0 || this.#table.resizing) return;
    this.#table.reserve(count);
    while (this.#keyLen.length < Math.min(count, entriesMax)) this.#growIds();
  }

  /** Removes every key (FLUSHALL), logging it; memory goes back to what an empty store holds. */
  clear(): void {
    this.#log.clear();
    this.#table.clear();
    const ids = idsInitial;
    for (const a of [this.#hash, this.#keyLen, this.#valueLen, this.#page, this.#offset, this.#version, this.#expiry]) {
      (a.buffer as ArrayBuffer).resize(ids * a.BYTES_PER_ELEMENT);
      a.fill(0);
    }
    this.#large = [];
    this.#largeBytes = 0;
    this.#freeIds = [];
    this.#highWater = 0;
    this.#slab = new Slab();
    this.#heap.clear();
    this.#ttlCount = 0;
  }

  /**
   * Active expiry: removes keys whose time has passed, oldest first, at most `keysMax` of them and
   * not past `deadlineMs` (checked every 32 keys). Returns how many were removed.
   */
  sweep(nowMs: number, keysMax: number, deadlineMs: number): number {
    const heap = this.#heap;
    let removed = 0;
    let examined = 0;
    while (heap.size > 0 && heap.peekAt() <= nowMs && examined < keysMax) {
      const id = heap.peekId();
      const at = heap.peekAt();
      heap.pop();
      examined++;
      // Stale items (re-set, deleted, id reused) are skipped unless the entry really is due now.
      if (this.#keyLen[id] !== 0 && this.#expiry[id] === at) {
        this.#removeExpired(id);
        removed++;
      }
      if ((examined & 31) === 0 && performance.now() > deadlineMs) break;
    }
    return removed;
  }

  /**
   * One SCAN step over the index (HashTable.scan): `visit` gets the ids of the cursor's home
   * bucket, expired or not, and must not change the keyspace. Returns the next cursor, 0 at the end.
   */
  scan(cursor: number, visit: (id: number) => void): number {
    return this.#table.scan(cursor, visit);
  }

  /** Whether the index is doubling (its old table still being moved over): for tests of SCAN across a rehash. */
  get resizing(): boolean {
    return this.#table.resizing;
  }

  /** Whether entry `id` has expired by `nowMs`; it is then removed (lazy expiry, as `lookup`). */
  expireIfDue(id: number, nowMs: number): boolean {
    const at = this.#expiry[id]!;
    if (at === noExpiry || at > nowMs) return false;
    this.#removeExpired(id);
    return true;
  }

  /**
   * A random live entry's id, or -1 when none was found: expired entries met on the way are removed,
   * at most `triesMax` of them, so a keyspace full of expired keys cannot stall the call.
   */
  randomLive(nowMs: number, triesMax: number): number {
    for (let n = 0; n < triesMax; n++) {
      const id = this.#table.randomId(Math.random());
      if (id < 0 || !this.expireIfDue(id, nowMs)) return id;
    }
    return -1;
  }

  /** Entry ids are below this; with `hasEntry`, a walk over ids that survives changes between steps (snapshots). */
  get idLimit(): number {
    return this.#highWater;
  }

  hasEntry(id: number): boolean {
    return id < this.#highWater && this.#keyLen[id] !== 0;
  }

  /**
   * Snapshot encoding of entry `id` into dst at `at` (the layout is persistence/format.ts's, the
   * crc the caller's). Returns the bytes written. Lives here so
   * the hot loop of a snapshot reads the metadata arrays directly.
   */
  encodeEntry(id: number, dst: Uint8Array, at: number): number {
    const keyLen = this.#keyLen[id]!;
    const valueLen = this.#valueLen[id]!;
    const keyAt = putEntryHeader(dst, at, keyLen, valueLen, this.#expiry[id]!, this.#version[id]!);
    const off = this.#offset[id]!;
    const page = this.#page[id]!;
    copyBytes(page >= 0 ? this.#slab.pages[page]! : this.#large[id]!, off, off + keyLen + valueLen, dst, keyAt);
    return keyAt - at + keyLen + valueLen;
  }

  /** Bytes `encodeEntry` writes for `id`. */
  entryBytes(id: number): number {
    return entryHeaderBytes + this.#keyLen[id]! + this.#valueLen[id]!;
  }

  /** Calls `visit` with every entry id (expired or not). For snapshots and tests. */
  forEach(visit: (id: number) => void): void {
    for (let id = 0; id < this.#highWater; id++) if (this.#keyLen[id] !== 0) visit(id);
  }

  /** Whether `id` is an entry id in use: checked before a write trusts an id a caller passed in. */
  #isEntry(id: number): boolean {
    return id >= 0 && id < this.#highWater && this.#keyLen[id]! !== 0;
  }

  /** Whether entry `id` holds the key kb[ks..ks+len); the table has compared the hashes, so length first, bytes last. */
  #isKey(id: number, kb: Uint8Array, ks: number, len: number): boolean {
    if (this.#keyLen[id] !== len) return false;
    const buf = this.buffer(id);
    const off = this.#offset[id]!;
    for (let i = 0; i < len; i++) if (buf[off + i] !== kb[ks + i]) return false;
    return true;
  }

  #setExpiry(id: number, expiryMs: number): void {
    const before = this.#expiry[id]!;
    this.#expiry[id] = expiryMs;
    if (before !== noExpiry) this.#ttlCount--;
    if (expiryMs === noExpiry) return;
    this.#ttlCount++;
    if (expiryMs === before) return; // the heap already holds this item
    this.#heap.push(expiryMs, id);
    if (this.#heap.size > 2 * this.#ttlCount + heapSlackItems) this.#rebuildHeap();
  }

  /** Drops stale heap items when they outnumber live TTLs, so rewriting TTLs cannot grow it unbounded. */
  #rebuildHeap(): void {
    this.#heap.clear();
    this.forEach((id) => {
      const at = this.#expiry[id]!;
      if (at !== noExpiry) this.#heap.push(at, id);
    });
  }

  #removeExpired(id: number): void {
    this.#expiredTotal++;
    if (this.events !== null) {
      const ks = this.keyOffset(id);
      this.events.emit(Notify.Expired, Event.expired, this.buffer(id), ks, ks + this.keyLength(id));
    }
    this.#remove(id);
  }

  #remove(id: number): void {
    this.#table.remove(id);
    if (this.#expiry[id] !== noExpiry) this.#ttlCount--;
    this.#release(id);
    this.#keyLen[id] = 0;
    this.#freeIds.push(id);
  }

  #fits(id: number, bytes: number): boolean {
    const page = this.#page[id]!;
    const now = this.#keyLen[id]! + this.#valueLen[id]!;
    if (page >= 0) return !isLarge(bytes) && sizeClass(now) === sizeClass(bytes);
    return isLarge(bytes) && this.#large[id]!.byteLength === bytes;
  }

  #place(id: number, bytes: number): void {
    if (isLarge(bytes)) {
      this.#page[id] = -1;
      this.#offset[id] = 0;
      this.#large[id] = Buffer.allocUnsafeSlow(bytes);
      this.#largeBytes += bytes;
      return;
    }
    const handle = this.#slab.alloc(bytes);
    const page = Math.floor(handle / slabPageBytes);
    this.#page[id] = page;
    this.#offset[id] = handle - page * slabPageBytes;
  }

  #release(id: number): void {
    const page = this.#page[id]!;
    if (page < 0) {
      this.#largeBytes -= this.#large[id]!.byteLength;
      this.#large[id] = undefined;
      return;
    }
    this.#slab.free(page * slabPageBytes + this.#offset[id]!, this.#keyLen[id]! + this.#valueLen[id]!);
  }

  #newId(): number {
    if (this.#freeIds.length > 0) return this.#freeIds.pop()!;
    if (this.#highWater === this.#keyLen.length) this.#growIds();
    return this.#highWater++;
  }

  /** Grows every metadata array in place (resizable buffers: no copy, no pause). */
  #growIds(): void {
    const n = this.#keyLen.length * 2;
    if (n > entriesMax) throw new Error(`keyspace full: at most ${entriesMax} entries`);
    for (const a of [this.#hash, this.#keyLen, this.#valueLen, this.#page, this.#offset, this.#version, this.#expiry]) {
      (a.buffer as ArrayBuffer).resize(n * a.BYTES_PER_ELEMENT);
    }
  }
}

