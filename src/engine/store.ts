// The keyspace: the only code that mutates it. Entry metadata in typed arrays, key+value bytes in
// slab pages (or own buffers when large), the expiry heap, and the hash table that indexes them.
//
// Keys and values arrive as (buffer, start, end) ranges of the request and are copied once into
// the slab; nothing on the lookup path turns bytes into strings or allocates.

import { adviseHuge, collapse, prefault, waitForPrefaults, type SnapshotLayout } from "../native/index.ts";
import { assert } from "../assert.ts";
import { copyBytes } from "../bytes.ts";
import { entryHeaderBytes, putEntryHeader } from "../persistence/format.ts";
import { entriesMax, evictKeysPerCallMax, gcHintBytesMin, gcHintIntervalMs, heapSlackItems, collapseQuietMs, prefaultEntriesMin, prefaultPagesAhead, readAheadEntriesMin, readAheadKeysMax, slabPageBytes } from "../constants.ts";
import { ExpiryHeap } from "./expiry.ts";
import {
  DecayTuner,
  EvictionPool,
  FrequencySketch,
  lfuDecayed,
  lfuDecayedPer,
  lfuIncrement,
  lfuInitial,
  policyShape,
  Rank,
  samplesPerEviction,
  type EvictionPolicy,
  type PolicyShape,
} from "./eviction.ts";
import { Event, Notify, type KeyEvents } from "./notify.ts";
import { HashTable } from "./hashtable.ts";
import { adoptInputBuffer, retireLargeBuffer, takeLargeBuffer } from "./large.ts";
import { field, indexMask, ownBuffer, pageShift, recordBytes, recordWords, versionApart, versionInRecordMax } from "./records.ts";
import { blockBytes, isLarge, sizeClass, Slab, slabFull } from "./slab.ts";

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
   * sealed by groupEnd with the records that came (a clear among them: FLUSHALL in the EXEC).
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


/** No expiry, as the snapshot and WAL formats and the wire say it. */
export const noExpiry = -1;

/**
 * No expiry as `#expiry` holds it: 0, what fresh memory holds, so the pages of the expiry array
 * are never touched (never resident) for entries without one, and a keyspace without TTLs costs
 * 8 bytes an entry less (docs/ARCHITECTURE.md, "Memory"). An absolute expiry of 0 ms (long past)
 * is held as the smallest double above 0 instead, which every comparison with a clock treats the same.
 */
const noExpiryHeld = 0;
const zeroMsHeld = Number.MIN_VALUE;

/** An expiry (noExpiry or ms) as `#expiry` and the expiry heap hold it. */
function heldExpiry(ms: number): number {
  return ms === noExpiry ? noExpiryHeld : ms === 0 ? zeroMsHeld : ms;
}

/** What `#expiry` holds, as an expiry (noExpiry or ms). */
function shownExpiry(at: number): number {
  return at === noExpiryHeld ? noExpiry : at === zeroMsHeld ? 0 : at;
}

/** Entry ids the metadata starts with (33 KiB); it doubles in place as the store grows. */
const idsInitial = 1024;

/** Bytes per entry id of the metadata: the record (engine/records.ts), expiry (8), stamp (4), LFU (1); versions held apart add 8 once some key has one. */
const metadataBytesPerId = recordBytes + 8 + 4 + 1;

/**
 * Once the records have room for this many ids (24 MiB), the rest of their reserved range asks for
 * huge pages: each lookup reads its entry's record at random, and with 4 KiB pages at 10M keys
 * every one of those reads missed the TLB (a two-level page walk in a VM).
 */
const hugeRecordIdsMin = 1 << 20;
/**
 * allkeys-osprey: at admission, a victim's sketch count halves for every this many times the
 * keyspace's size of accesses it went unread (a key whose popularity was in the past does not
 * keep out the keys asked for now: the shifting trace of bench/hitratio.ts).
 */
const admissionFadeFactor = 1;
/** Widest window of consecutive slots one eviction sample walks (a table far emptier than its load factor: it never shrinks). */
const sampleWindowSlotsMax = 64;
/** Windows one eviction draws before random draws make up the samples it lacks. */
const sampleWindowsMax = 4;
/** Sampling rounds one eviction may take when every pooled candidate turned out stale. */
const victimRoundsMax = 16;
/** What one slot of a JS array of ids or buffers costs (a pointer or a small integer). */
const listSlotBytes = 8;

// The record's layout (engine/records.ts) as this module's own const enum: Bun inlines a const
// enum's members as literals only within the module that declares it, and the hot paths index the
// records with them. Checked against records.ts below.
const enum R {
  /** 32-bit words per record: id * Words + field is a field's Int32 index. */
  Words = 5,
  Hash = 0,
  KeyLen = 1,
  ValueLen = 2,
  Pos = 3,
  Version = 4,
  /** The version word of a record whose version is held in #versionsApart. */
  VersionApart = -1,
  /** The largest version the record's word holds itself (as unsigned). */
  VersionInRecordMax = 4294967294,
  /** The position of an entry with its own buffer (offset 0 in it). */
  Own = -524288,
  /** A slab position's page is pos >>> PageShift, its block's index in the page pos & IndexMask. */
  PageShift = 19,
  IndexMask = 0x7ffff,
}
assert(
  R.Words === recordWords && R.Hash === field.hash && R.KeyLen === field.keyLen && R.ValueLen === field.valueLen && R.Pos === field.pos &&
    R.Version === field.version && R.VersionApart === versionApart && R.VersionInRecordMax === versionInRecordMax && R.Own === ownBuffer && R.PageShift === pageShift && R.IndexMask === indexMask,
  "store: the record layout below must match engine/records.ts",
);

/** A slab handle (page * slabPageBytes + offset) of a block of `block` bytes as a record's position: page, then the block's index in it. */
function posOf(handle: number, block: number): number {
  const page = Math.floor(handle / slabPageBytes);
  return (page << R.PageShift) | ((handle - page * slabPageBytes) / block);
}

/** The slab handle of a record's position (not R.Own) whose block is `block` bytes. */
function handleOf(pos: number, block: number): number {
  return (pos >>> R.PageShift) * slabPageBytes + (pos & R.IndexMask) * block;
}

/** Most entries the keyspace can hold (defined with the other engine limits in constants.ts). */
export { entriesMax };

/** A typed array over a resizable buffer that can grow in place to `max` elements. */
function growable<T extends Int32Array | Float64Array | Uint32Array | Uint8Array>(make: new (b: ArrayBuffer) => T, bytesPer: number, n: number): T {
  return new make(new ArrayBuffer(n * bytesPer, { maxByteLength: entriesMax * bytesPer }));
}

/** The error a write that would add an entry past the store's limit throws (answered as a server error, not logged). */
export function keyspaceFull(max: number): Error {
  return new Error(`keyspace full: at most ${max} entries`);
}

export class Store {
  // Entry metadata, indexed by entry id: one 20-byte record per id (engine/records.ts) in one
  // buffer, #rec[id * R.Words + field]. Key length 0 marks a free id (keys are never empty). The
  // position R.Own: an entry with its own buffer in #large; else a slab position (records.ts: page
  // and block index). The version: `version` and #setVersion.
  #rec: Int32Array;
  /**
   * Versions past R.VersionInRecordMax (4 billion writes of one key: a counter INCRed 200k times a
   * second for six hours), by id, exact to 2^53; the record holds R.VersionApart. null until some
   * key has one; then grown and cleared with the other metadata. Stale where an id's record holds
   * its version itself.
   */
  #versionsApart: Float64Array | null = null;
  /** Apart from the records: without TTLs it is never written, so never resident. */
  #expiry: Float64Array;
  /** Redis's logarithmic LFU counter, decayed by the accesses since #stamp. */
  #lfu: Uint8Array;
  /**
   * The logical clock at the entry's last access (LRU, LFU decay, the pool's staleness check; see
   * #touch), 0 until eviction was ever on: apart from the records so that, as #lfu, it is never
   * written (never resident) on a server that never evicts.
   */
  #stamp: Uint32Array;
  #large: (Buffer | undefined)[] = [];
  #largeBytes = 0;
  /** A large buffer `#setLarge` filled already: the next large `#place` takes it instead of a new one. */
  #adopt: Buffer | null = null;
  /** Whether the last `#place` took `#adopt`: the entry's key and value are in place already. */
  #adopted = false;
  #freeIds: number[] = [];
  #highWater = 0;

  /** Key → entry id. Reads #hash and compares keys through #isKey. */
  #table: HashTable;
  #slab: Slab;
  #heap = new ExpiryHeap();
  #ttlCount = 0;
  #expiredTotal = 0;
  /**
   * Keyspace notifications (engine/notify.ts): null while notify-keyspace-events is off, which is
   * all a write and an expiry pay for them. Engine operations raise their events through it.
   */
  events: KeyEvents | null = null;
  /** How many times the keyspace was cleared (FLUSHALL): a KEYS walking it in slices starts again when this changes. */
  clears = 0;
  #log: MutationLog;

  // Memory limit and eviction (docs/ARCHITECTURE.md, "Memory"). 0 = no limit: then nothing below
  // runs, and the only cost on the request path is the `#tracking` test in `lookup`.
  #maxMemory = 0;
  #policy: EvictionPolicy = "noeviction";
  #shape: PolicyShape = policyShape("noeviction");
  /** Whether accesses update the eviction metadata: a limit is set and the policy evicts. */
  #tracking = false;
  /**
   * Whether #tracking was ever on: until then every entry's stamp is 0 (the clock has not moved)
   * and its LFU counter lfuInitial, so neither array is written (nor resident) per entry.
   */
  #tracked = false;
  /** Counts accesses (uint32, wrapping): ages are differences, so the wrap does no harm. */
  #clock = 0;
  #sketch: FrequencySketch | null = null;
  /** allkeys-osprey and volatile-osprey: the shadow caches that choose how fast LFU counters decay. */
  #tuner: DecayTuner | null = null;
  /** The hash of the key the last access looked up, while the sketch is on (computed once for it and the tuner). */
  #touchedHash = 0;
  #pool = new EvictionPool();
  /** The entry the last insert created, while it is a candidate for admission (allkeys-osprey). */
  #lastInserted = -1;
  /** Inside an EXEC's log group: evictions wait until it ends (a group holds only its own records). */
  #grouped = false;
  #evictedTotal = 0;
  #evictedBytesTotal = 0;
  #oomRejectionsTotal = 0;

  // Memory coming back (docs/ARCHITECTURE.md, "Memory"): compaction of sparse slab pages and the GC hint, both on the tick.
  /** Where compaction's walk over entry ids goes on, or -1 when none is under way. */
  #compactCursor = -1;
  /** Page and large-buffer bytes let go since the last GC hint. */
  #releasedBytes = 0;
  #gcAtMs = -Infinity;
  /** `#releasedBytes` when the tick last looked, and when it last saw it grow. */
  #releasedSeen = 0;
  #releasedAtMs = -Infinity;

  /**
   * Most entries this store holds (entriesMax; a smaller figure only for tests, which cannot fill
   * 2^27 keys; so is a smaller slabPagesMax). A write that would add one more is refused before it is logged (`set`, and the
   * callers that add several: MSET, RENAME, EXEC check `size` against it first).
   */
  readonly entriesMax: number;

  constructor(options: { log?: MutationLog; capacity?: number; entriesMax?: number; slabPagesMax?: number } = {}) {
    this.#log = options.log ?? nullLog;
    this.entriesMax = Math.min(entriesMax, options.entriesMax ?? entriesMax);
    this.#slab = new Slab(options.slabPagesMax);
    const ids = Math.min(entriesMax, Math.max(idsInitial, options.capacity ?? 0));
    const records = new ArrayBuffer(ids * recordBytes, { maxByteLength: entriesMax * recordBytes });
    this.#rec = new Int32Array(records);
    this.#expiry = growable(Float64Array, 8, ids);
    this.#lfu = growable(Uint8Array, 1, ids);
    this.#stamp = growable(Uint32Array, 4, ids);
    this.#table = new HashTable({
      records: this.#rec,
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

  /** Bytes of slab pages held, used or not: what compaction brings down to about `dataBytes`' slab part. */
  get slabBytesReserved(): number {
    return this.#slab.bytesReserved;
  }

  /** The entry id of a key whether or not it has expired, or -1. */
  find(kb: Uint8Array, ks: number, ke: number): number {
    return this.#table.find(kb, ks, ke);
  }

  /**
   * Background work for idle moments (the sweeper's tick), until `deadlineMs`: moves resize slots,
   * then compacts sparse slab pages (#compact), then lets the runtime collect what was released.
   */
  maintain(deadlineMs: number): void {
    if (performance.now() >= this.#collapseAtMs) this.#collapseSplit();
    this.#table.maintain(deadlineMs);
    this.#compact(deadlineMs);
    this.#collect();
  }

  /** Whether a compaction pass is under way (slab pages marked, entries being moved off them). */
  get compacting(): boolean {
    return this.#compactCursor >= 0;
  }

  /**
   * One slice of slab compaction: when none is under way, asks the slab to mark its sparse pages;
   * then walks entry ids from where the last slice stopped and moves every entry found on a marked
   * page to a block elsewhere (same id, new page and offset; nothing is logged, as no key or value
   * changes). Entries written meanwhile never land on a marked page, so one walk empties them all.
   * Readers take page and offset from the metadata when they copy (replies, the WAL, snapshot
   * slices), all within one turn, so a move between two turns is invisible to them.
   */
  #compact(deadlineMs: number): void {
    const slab = this.#slab;
    if (this.#compactCursor < 0) {
      if (slab.planCompaction() === 0) return;
      this.#compactCursor = 0;
    }
    const rec = this.#rec;
    let id = this.#compactCursor;
    for (; id < this.#highWater && slab.movingPages > 0; id++) {
      const pos = rec[id * R.Words + R.Pos]!;
      if (pos !== R.Own && rec[id * R.Words + R.KeyLen] !== 0 && slab.isMoving(pos >>> R.PageShift) && !this.#move(id)) {
        // No block to move to (the page cap, every page of the class shared with a snapshot child): stop here.
        slab.cancelCompaction();
        break;
      }
      if ((id & 255) === 255 && performance.now() > deadlineMs) {
        this.#compactCursor = id + 1;
        return;
      }
    }
    this.#compactCursor = -1;
    slab.endCompaction();
  }

  /** Moves entry `id`'s key and value to a new slab block (never on a page being emptied) and frees the old one; false when no block can be had. */
  #move(id: number): boolean {
    const slab = this.#slab;
    const bytes = this.#rec[id * R.Words + R.KeyLen]! + this.#rec[id * R.Words + R.ValueLen]!;
    const from = this.#rec[id * R.Words + R.Pos]!;
    const fromOffset = this.keyOffset(id);
    // At the page cap with no room elsewhere in the class (pages shared with a snapshot child): the entry stays.
    if (!slab.canAlloc(bytes)) return false;
    const block = blockBytes(bytes);
    const to = posOf(slab.alloc(bytes), block);
    copyBytes(slab.pages[from >>> R.PageShift]!, fromOffset, fromOffset + bytes, slab.pages[to >>> R.PageShift]!, (to & R.IndexMask) * block);
    this.#rec[id * R.Words + R.Pos] = to;
    slab.free(handleOf(from, block), bytes);
    return true;
  }

  /**
   * Bun frees an ArrayBuffer's memory only when the GC collects it, and an idle server allocates
   * nothing that would start a collection: once enough pages, large buffers and hash-table slot
   * arrays (a doubling done) were let go, the tick asks for one, at most every gcHintIntervalMs.
   * Less than gcHintBytesMin, but a slab page or more, is collected too once nothing more has been
   * let go for that long: the tail of a burst of deletes or evictions (the last pages a compaction
   * empties) would otherwise stay resident until the runtime collects on its own, which an idle
   * server may never do.
   */
  #collect(): void {
    this.#releasedBytes += this.#slab.takeReleasedBytes() + this.#table.takeReleasedBytes();
    if (this.#releasedBytes < slabPageBytes) return;
    const now = performance.now();
    if (this.#releasedBytes !== this.#releasedSeen) {
      this.#releasedSeen = this.#releasedBytes;
      this.#releasedAtMs = now;
    }
    if (now - this.#gcAtMs < gcHintIntervalMs) return;
    if (this.#releasedBytes < gcHintBytesMin && now - this.#releasedAtMs < gcHintIntervalMs) return;
    this.#gcAtMs = now;
    this.#releasedBytes = 0;
    this.#releasedSeen = 0;
    Bun.gc(true);
  }

  /** The entry id of a live key, or -1. A key found expired is removed on the way (lazy expiry). */
  lookup(kb: Uint8Array, ks: number, ke: number, nowMs: number): number {
    const id = this.find(kb, ks, ke);
    if (this.#tracking) this.#touch(id, kb, ks, ke);
    // No key has an expiry: the expiry array's line (one more cache miss at P=1) need not be read.
    if (id < 0 || this.#ttlCount === 0) return id;
    const at = this.#expiry[id]!;
    if (at !== noExpiryHeld && at <= nowMs) {
      this.#removeExpired(id);
      return -1;
    }
    return id;
  }

  /**
   * What the lookups of reading commands found, as Redis counts keyspace_hits and keyspace_misses:
   * [hits, misses]. Only `read` counts; a write's lookup does not, as in Redis.
   */
  readonly reads = new Float64Array(2);

  /** `lookup` for a command that reads the key (GET, MGET, EXISTS, TTL, …): also counts a hit or a miss. */
  read(kb: Uint8Array, ks: number, ke: number, nowMs: number): number {
    const id = this.lookup(kb, ks, ke, nowMs);
    // The shadow caches model reads, where hits are defined; a write after a miss is no second request.
    if (this.#tuner !== null) this.#tuner.access(this.#touchedHash, this.size, this.#sketch!);
    // A miss is -1, whose sign bit picks the misses' slot: counting costs one increment and no branch.
    this.reads[id >>> 31]!++;
    return id;
  }

  version(id: number): number {
    const v = this.#rec[id * R.Words + R.Version]!;
    return v !== R.VersionApart ? v >>> 0 : this.#versionsApart![id]!;
  }

  /** Sets entry `id`'s version (0 … 2^53): in its record, or apart when the record's word cannot hold it. */
  #setVersion(id: number, version: number): void {
    if (version <= R.VersionInRecordMax) this.#rec[id * R.Words + R.Version] = version;
    else this.#setVersionApart(id, version);
  }

  #setVersionApart(id: number, version: number): void {
    if (this.#versionsApart === null) this.#versionsApart = growable(Float64Array, 8, this.#idCapacity);
    this.#versionsApart[id] = version;
    this.#rec[id * R.Words + R.Version] = R.VersionApart;
  }

  expiry(id: number): number {
    return shownExpiry(this.#expiry[id]!);
  }

  valueLength(id: number): number {
    return this.#rec[id * R.Words + R.ValueLen]!;
  }

  keyLength(id: number): number {
    return this.#rec[id * R.Words + R.KeyLen]!;
  }

  /** The buffer holding the entry's key then value bytes: a shared slab page, or its own when large. */
  buffer(id: number): Buffer {
    const pos = this.#rec[id * R.Words + R.Pos]!;
    return pos !== R.Own ? this.#slab.pages[pos >>> R.PageShift]! : this.#large[id]!;
  }

  /** Where the entry's key starts in `buffer(id)` (0 in its own buffer: R.Own's index is 0); its value follows the key. */
  keyOffset(id: number): number {
    const r = id * R.Words;
    return (this.#rec[r + R.Pos]! & R.IndexMask) * blockBytes(this.#rec[r + R.KeyLen]! + this.#rec[r + R.ValueLen]!);
  }

  /** Where the entry's value starts in `buffer(id)`. */
  valueOffset(id: number): number {
    const r = id * R.Words;
    const keyLen = this.#rec[r + R.KeyLen]!;
    return (this.#rec[r + R.Pos]! & R.IndexMask) * blockBytes(keyLen + this.#rec[r + R.ValueLen]!) + keyLen;
  }

  /**
   * Writes key = value with an absolute expiry and version; `id` is the key's current entry or -1.
   * Logs the absolute record first, then applies it. Returns the entry id.
   */
  set(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number, id: number): number {
    // Not asserted here, unlike `apply`: this is every SET's path, and its id comes straight from
    // `find` or `lookup` of the same key (without the assert a store-only SET loop ran a few % faster).
    // A new key past the limit is refused here, before the log: the write must not be logged and then fail.
    if (id < 0 && this.size >= this.entriesMax) throw keyspaceFull(this.entriesMax);
    const bytes = ke - ks + ve - vs;
    if (isLarge(bytes)) return this.#setLarge(kb, ks, ke, vb, vs, ve, expiryMs, version, id);
    // At the slab's page cap, a write that needs a block must be sure of one before it is logged.
    if (this.#slab.full && !(id >= 0 && this.#fits(id, bytes)) && !this.#slab.canAlloc(bytes)) throw slabFull(this.#slab.pagesMax);
    this.#log.set(kb, ks, ke, vb, vs, ve, expiryMs, version);
    if (id >= 0) return this.#overwrite(kb, ks, ke, vb, vs, ve, expiryMs, version, id);
    // notify-keyspace-events' `n`: a key is added (Redis raises it in dbAdd, before the command's own event).
    this.events?.emit(Notify.New, Event.new, kb, ks, ke);
    return this.load(kb, ks, ke, vb, vs, ve, expiryMs, version);
  }

  /**
   * A SET of a large entry: its key and value are copied once, into a buffer of their own (a spare
   * of that size or a new one, engine/large.ts) — or none, when the connection read them into one
   * already (adoptInputBuffer) — which is logged from there (the log may keep a
   * reference, as the buffer never changes) and then becomes the entry's. When the log refuses,
   * the buffer goes back to the spares.
   */
  #setLarge(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number, id: number): number {
    const keyLen = ke - ks;
    const bytes = keyLen + ve - vs;
    // Key and value the connection offered as they lie in its input (engine/large.ts) are taken
    // as the entry's buffer, not copied.
    const adopted = kb === vb && vs === ke ? adoptInputBuffer(vb, ks, ve) : null;
    const own = adopted ?? takeLargeBuffer(bytes);
    if (adopted === null) {
      copyBytes(kb, ks, ke, own, 0);
      copyBytes(vb, vs, ve, own, keyLen);
    }
    try {
      this.#log.set(own, 0, keyLen, own, keyLen, bytes, expiryMs, version);
    } catch (err) {
      retireLargeBuffer(own);
      throw err;
    }
    this.#adopt = own;
    return id < 0 ? this.load(own, 0, keyLen, own, keyLen, bytes, expiryMs, version) : this.#overwrite(own, 0, keyLen, own, keyLen, bytes, expiryMs, version, id);
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
    return this.loadHashed(this.#table.hash(kb, ks, ke), kb, ks, ke, vb, vs, ve, expiryMs, version);
  }

  /** The seed of the key hash (`hashKey` with it gives what `loadHashed` expects). */
  get hashSeed(): number {
    return this.#table.seed;
  }

  /** `load` of a key whose hash `h` (hashKey under `hashSeed`) the caller computed: a snapshot's loader, which hashes natively. */
  loadHashed(h: number, kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): number {
    const table = this.#table;
    const found = table.findOrSlot(h, kb, ks, ke - ks);
    if (found >= 0) return this.#overwrite(kb, ks, ke, vb, vs, ve, expiryMs, version, found);
    // Written inline rather than in a helper: that call cost loading 1M keys a few percent (measured).
    const keyLen = ke - ks;
    const valueLen = ve - vs;
    const id = this.#newId();
    this.#rec[id * R.Words + R.Hash] = h;
    this.#rec[id * R.Words + R.KeyLen] = keyLen;
    this.#rec[id * R.Words + R.ValueLen] = valueLen;
    // A new id's expiry is noExpiryHeld already (fresh memory, or reset by #remove), and its
    // eviction metadata is written only once eviction has been on: untouched pages stay out of RSS.
    if (this.#tracked) {
      this.#stamp[id] = this.#clock;
      this.#lfu[id] = lfuInitial;
    }
    this.#lastInserted = id;
    this.#place(id, keyLen + valueLen);
    table.insertAt(-1 - found, id);
    const dst = this.buffer(id);
    const at = this.keyOffset(id);
    // Key and value adjacent in the source (a snapshot or WAL record): one copy; none when the
    // source is the entry's own new buffer (#setLarge).
    if (this.#adopted) this.#adopted = false;
    else if (vb === kb && vs === ke) copyBytes(kb, ks, ve, dst, at);
    else {
      copyBytes(kb, ks, ke, dst, at);
      copyBytes(vb, vs, ve, dst, at + keyLen);
    }
    this.#setVersion(id, version);
    if (expiryMs !== noExpiry) this.#setExpiry(id, expiryMs);
    return id;
  }

  /** Writes a new value (and expiry and version) into entry `id`, which holds the key already. */
  #overwrite(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number, id: number): number {
    const keyLen = ke - ks;
    const valueLen = ve - vs;
    if (!this.#fits(id, keyLen + valueLen)) {
      this.#release(id);
      this.#rec[id * R.Words + R.ValueLen] = valueLen;
      this.#place(id, keyLen + valueLen);
      if (this.#adopted) {
        // #setLarge's buffer, adopted: key and value are in place already.
        this.#adopted = false;
        this.#setVersion(id, version);
        this.#setExpiry(id, expiryMs);
        return id;
      }
      copyBytes(kb, ks, ke, this.buffer(id), this.keyOffset(id));
    } else {
      this.#rec[id * R.Words + R.ValueLen] = valueLen;
    }
    copyBytes(vb, vs, ve, this.buffer(id), this.keyOffset(id) + keyLen);
    this.#setVersion(id, version);
    this.#setExpiry(id, expiryMs);
    return id;
  }

  /** Deletes a live entry, logging it. */
  delete(id: number): void {
    assert(this.#isEntry(id), "store: DEL of an entry id that holds no key");
    const buf = this.buffer(id);
    const ks = this.keyOffset(id);
    this.#log.del(buf, ks, ks + this.#rec[id * R.Words + R.KeyLen]!);
    this.#remove(id);
  }

  /** Sets a live entry's absolute expiry (or noExpiry), keeping its version; logs it. */
  expireAt(id: number, expiryMs: number): void {
    assert(this.#isEntry(id), "store: EXPIRE of an entry id that holds no key");
    const buf = this.buffer(id);
    const ks = this.keyOffset(id);
    this.#log.expire(buf, ks, ks + this.#rec[id * R.Words + R.KeyLen]!, expiryMs, this.version(id));
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
    const keyLen = this.#rec[id * R.Words + R.KeyLen]!;
    const oldLen = this.#rec[id * R.Words + R.ValueLen]!;
    const newLen = Math.max(oldLen, at + e - s);
    const expiry = shownExpiry(this.#expiry[id]!);
    if (this.#fits(id, keyLen + newLen)) {
      const buf = this.buffer(id);
      const ks = this.keyOffset(id);
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
      this.#rec[id * R.Words + R.ValueLen] = newLen;
      this.#setVersion(id, version);
      return;
    }
    const bytes = keyLen + newLen;
    const large = isLarge(bytes);
    const handle = large ? -1 : this.#slab.alloc(bytes);
    const page = large ? -1 : Math.floor(handle / slabPageBytes);
    const dst = large ? takeLargeBuffer(bytes) : this.#slab.pages[page]!;
    const ks = large ? 0 : handle - page * slabPageBytes;
    const vs = ks + keyLen;
    const from = this.keyOffset(id);
    copyBytes(this.buffer(id), from, from + keyLen + oldLen, dst, ks);
    if (oldLen < at) dst.fill(0, vs + oldLen, vs + at);
    copyBytes(src, s, e, dst, vs + at);
    try {
      this.#log.set(dst, ks, vs, dst, vs, vs + newLen, expiry, version);
    } catch (err) {
      if (large) retireLargeBuffer(dst);
      else this.#slab.free(handle, bytes);
      throw err;
    }
    this.#release(id);
    this.#rec[id * R.Words + R.ValueLen] = newLen;
    this.#rec[id * R.Words + R.Pos] = large ? R.Own : posOf(handle, blockBytes(bytes));
    if (large) {
      this.#large[id] = dst;
      this.#largeBytes += bytes;
    }
    this.#setVersion(id, version);
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
    this.#grouped = true;
  }

  groupEnd(): void {
    this.#grouped = false;
    this.#log.groupEnd();
  }

  /**
   * Sizes an empty store for `count` entries at once (recovery knows the snapshot's count), so
   * loading it never resizes the table or the metadata arrays, and has the memory the load fills
   * faulted in by other threads as it goes (native `prefault`): the table's slots and the records
   * of `count` ids now, slab pages a few ahead of need until `loaded`. A fresh page is zeroed by
   * the kernel on its first write, which was 41% of a 10M-key recovery's CPU samples.
   */
  reserve(count: number): void {
    if (this.#table.count !== 0 || this.#table.resizing) return;
    this.#table.reserve(count);
    const ids = Math.min(count, entriesMax);
    while (this.#idCapacity < ids) this.#growIds();
    prefault([[this.#rec, ids * recordBytes]]);
    if (count >= prefaultEntriesMin) this.#slab.prefaultAhead(prefaultPagesAhead);
  }

  /** What the last `touchHomes` read, kept so that its reads are not optimised away. */
  touched = 0;

  /** Starts fetching the table slots that keys of these hashes will probe (HashTable.touchHomes): a bulk load calls it before inserting them. */
  touchHomes(hashes: Int32Array, at: number, stride: number, n: number): void {
    this.touched = this.#table.touchHomes(hashes, at, stride, n);
  }

  /** Whether a batch's lookups gain from `readAhead` first: a keyspace too large to stay in cache. */
  get readAheadPays(): boolean {
    return this.size >= readAheadEntriesMin;
  }

  readonly #aheadHashes = new Int32Array(readAheadKeysMax);
  readonly #aheadIds = new Int32Array(readAheadKeysMax);

  /**
   * Before a batch of lookups of the keys kb[starts[i]..ends[i]) for `from` ≤ i < `to` (at most
   * readAheadKeysMax: a pipelined read's keys, or an MGET's): reads each one's table slot, then
   * each one's record, then the first and last bytes of each one's slab block, so that the batch
   * waits for its cache misses three times in all instead of three times a key (the reads of one
   * pass do not depend on one another, and the CPU overlaps them). Changes nothing; the lookups
   * that follow find those lines in cache.
   */
  readAhead(kb: Uint8Array, starts: Int32Array, ends: Int32Array, from: number, to: number): void {
    const n = to - from;
    const hashes = this.#aheadHashes;
    for (let i = 0; i < n; i++) hashes[i] = this.#table.hash(kb, starts[from + i]!, ends[from + i]!);
    this.readAheadHashed(hashes, n);
  }

  /** The hash of key kb[ks..ke), as the table keeps it (for `readAheadHashed`). */
  hash(kb: Uint8Array, ks: number, ke: number): number {
    return this.#table.hash(kb, ks, ke);
  }

  /** readAhead's passes, for keys whose hashes (`hash`) the caller has: hashes[0..n), from several reads' buffers. */
  readAheadHashed(hashes: Int32Array, n: number): void {
    assert(n <= readAheadKeysMax, "store: readAhead of more keys than readAheadKeysMax");
    const ids = this.#aheadIds;
    let x = this.#table.candidates(hashes, ids, n);
    const rec = this.#rec;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (id >= 0) x ^= rec[id * R.Words + R.Pos]!;
    }
    const pages = this.#slab.pages;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (id < 0) continue;
      const r = id * R.Words;
      const pos = rec[r + R.Pos]!;
      if (pos === R.Own || rec[r] !== hashes[i]) continue;
      const len = rec[r + R.KeyLen]! + rec[r + R.ValueLen]!;
      const page = pages[pos >>> R.PageShift]!;
      const at = (pos & R.IndexMask) * blockBytes(len);
      x ^= page[at]! ^ page[at + len - 1]!;
    }
    this.touched = x;
  }

  /** Loading is over: spare slab pages made ahead of it (see `reserve`) go. */
  loaded(): void {
    this.#slab.prefaultAhead(0);
  }

  /** Removes every key (FLUSHALL), logging it; memory goes back to what an empty store holds. */
  clear(): void {
    this.#log.clear();
    this.clears++;
    this.#table.clear();
    const ids = idsInitial;
    // Shrinking the records makes their memory past the new end inaccessible: no thread may be touching it.
    waitForPrefaults();
    for (const a of this.#metadata()) {
      (a.buffer as ArrayBuffer).resize(ids * Store.#bytesPerId(a));
      a.fill(0);
    }
    this.#versionsApart = null;
    this.#releasedBytes += this.#slab.bytesReserved + this.#largeBytes;
    this.#large = [];
    this.#largeBytes = 0;
    this.#freeIds = [];
    this.#highWater = 0;
    this.#slab = new Slab(this.#slab.pagesMax);
    this.#compactCursor = -1;
    this.#heap.clear();
    this.#ttlCount = 0;
    this.#pool.clear();
    this.#lastInserted = -1;
    // Frequencies of keys that no longer exist would only mislead admission.
    if (this.#sketch !== null) {
      this.#sketch = new FrequencySketch(0);
      this.#tuner = new DecayTuner();
    }
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
      if (this.#rec[id * R.Words + R.KeyLen] !== 0 && this.#expiry[id] === at) {
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
    if (at === noExpiryHeld || at > nowMs) return false;
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
    return id < this.#highWater && this.#rec[id * R.Words + R.KeyLen] !== 0;
  }

  /**
   * Snapshot encoding of entry `id` into dst at `at` (the layout is persistence/format.ts's, the
   * crc the caller's). Returns the bytes written. Lives here so
   * the hot loop of a snapshot reads the metadata arrays directly.
   */
  encodeEntry(id: number, dst: Uint8Array, at: number): number {
    const keyLen = this.#rec[id * R.Words + R.KeyLen]!;
    const valueLen = this.#rec[id * R.Words + R.ValueLen]!;
    const keyAt = putEntryHeader(dst, at, keyLen, valueLen, shownExpiry(this.#expiry[id]!), this.version(id));
    const off = this.keyOffset(id);
    copyBytes(this.buffer(id), off, off + keyLen + valueLen, dst, keyAt);
    return keyAt - at + keyLen + valueLen;
  }

  /**
   * Where every entry's metadata and bytes are, for a snapshot written by a forked child
   * (native forkSnapshot): valid only until the store next changes, so it is taken and handed to
   * the fork in one synchronous step. The entries with their own buffers are listed by id.
   */
  snapshotLayout(): SnapshotLayout {
    const limit = this.#highWater;
    const ids: number[] = [];
    const large: Uint8Array[] = [];
    if (this.#largeBytes > 0) {
      const rec = this.#rec;
      for (let id = 0; id < limit; id++) {
        if (rec[id * R.Words + R.Pos] === R.Own && rec[id * R.Words + R.KeyLen] !== 0) {
          ids.push(id);
          large.push(this.#large[id]!);
        }
      }
    }
    return {
      records: this.#rec,
      versionsApart: this.#versionsApart,
      expiry: this.#expiry,
      idLimit: limit,
      pages: this.#slab.pages,
      largeIds: Int32Array.from(ids),
      large,
    };
  }

  /**
   * A forked snapshot child shares the keyspace's memory from now on (true) or no longer (false):
   * meanwhile overwrites move entries into fresh slab pages instead of writing into shared ones.
   */
  shareWithChild(on: boolean): void {
    // The child's copy-on-write split the huge pages the parent wrote meanwhile: records (every
    // SET) and table slots (inserts); slab pages shared with it are never written (Slab.share).
    // They are put back (#collapseSplit) once no child has run for collapseQuietMs.
    this.#collapseAtMs = on || this.#idCapacity < hugeRecordIdsMin ? Infinity : performance.now() + collapseQuietMs;
    // Not under max_memory_bytes: the fresh pages outlive the child (bench/eviction.sh, 64 MiB with
    // snapshots every few seconds: peak RSS 1.29 × the bound against 1.06 × without), while the
    // pages copy-on-write duplicates go back when the child exits. RSS that follows the limit comes first.
    if (on && this.#maxMemory > 0) return;
    if (on) this.#slab.share();
    else this.#slab.unshare();
  }

  /** When the huge pages a snapshot child split are to be put back (shareWithChild), or Infinity. */
  #collapseAtMs = Infinity;

  /**
   * Asks the kernel, from a thread (native osprey_collapse), to put the records and the table's
   * slots back on huge pages. Not at once when the child exits: each 2 MiB collapsed holds the
   * process's page faults while it is copied (~160 ms in all for 10M keys), and while snapshots
   * ran back to back, collapsing after each one cost SETs p99 (1.1-2.0 → 1.5-2.0 ms).
   */
  #collapseSplit(): void {
    this.#collapseAtMs = Infinity;
    collapse([[this.#rec, this.#highWater * recordBytes], ...this.#table.hugeSlots()]);
  }

  /** Bytes `encodeEntry` writes for `id`. */
  entryBytes(id: number): number {
    return entryHeaderBytes + this.#rec[id * R.Words + R.KeyLen]! + this.#rec[id * R.Words + R.ValueLen]!;
  }

  /** Calls `visit` with every entry id (expired or not). For snapshots and tests. */
  forEach(visit: (id: number) => void): void {
    for (let id = 0; id < this.#highWater; id++) if (this.#rec[id * R.Words + R.KeyLen] !== 0) visit(id);
  }

  // ---- Memory limit and eviction ----

  /**
   * Bytes the keyspace holds, as max_memory_bytes counts them (docs/ARCHITECTURE.md, "Memory"):
   * key and value bytes as allocated (slab blocks at their class size, large buffers), every
   * metadata array at its capacity, the id lists, the hash table (both tables while it doubles),
   * the expiry heap at its capacity and the frequency sketch. O(1): each part is kept as it changes.
   */
  get usedMemory(): number {
    return (
      this.#slab.bytesInUse +
      this.#largeBytes +
      this.#idCapacity * (metadataBytesPerId + (this.#versionsApart === null ? 0 : 8)) +
      (this.#large.length + this.#freeIds.length) * listSlotBytes +
      this.#table.bytes +
      this.#heap.bytes +
      (this.#sketch === null ? 0 : this.#sketch.bytes + this.#tuner!.bytes)
    );
  }

  /** The osprey policies' decay tuner (its adopted setting, its shadows' keys and bytes), or null under other policies. */
  get decayTuner(): DecayTuner | null {
    return this.#tuner;
  }

  /** max_memory_bytes in force; 0 = no limit. */
  get maxMemory(): number {
    return this.#maxMemory;
  }

  get evictionPolicy(): EvictionPolicy {
    return this.#policy;
  }

  get evictedTotal(): number {
    return this.#evictedTotal;
  }

  get evictedBytesTotal(): number {
    return this.#evictedBytesTotal;
  }

  get oomRejectionsTotal(): number {
    return this.#oomRejectionsTotal;
  }

  /** Inside an EXEC's log group (its commands were admitted as a whole). */
  get inGroup(): boolean {
    return this.#grouped;
  }

  /** Sets the limit (0 = none) and the policy; takes effect at the next write or background tick. */
  setMemoryLimit(maxBytes: number, policy: EvictionPolicy): void {
    assert(Number.isSafeInteger(maxBytes) && maxBytes >= 0, "store: max_memory_bytes must be a non-negative integer");
    this.#maxMemory = maxBytes;
    this.#policy = policy;
    this.#shape = policyShape(policy);
    this.#tracking = maxBytes !== 0 && this.#shape.rank !== Rank.None;
    if (this.#tracking && !this.#tracked) {
      this.#tracked = true;
      this.#lfu.fill(lfuInitial, 0, this.#highWater);
    }
    this.#pool.clear();
    if (this.#tracking && this.#shape.rank === Rank.Osprey) {
      this.#sketch ??= new FrequencySketch(this.size);
      this.#tuner ??= new DecayTuner();
    } else {
      this.#sketch = null;
      this.#tuner = null;
    }
  }

  /** A write was refused for memory: counted here with the rest of the memory numbers. */
  oomRejected(): void {
    this.#oomRejectionsTotal++;
  }

  /**
   * Makes room for a write of about `needBytes` under the limit, evicting by the policy (each
   * eviction logged as a delete) at most evictKeysPerCallMax keys and not past `deadlineMs`.
   * True when the write may go ahead: it fits, or eviction is under way and goes on in the
   * background tick (as Redis lets a command run while its eviction loop is still working). False
   * when it cannot fit: the policy is noeviction, nothing evictable is left, or the write alone is
   * larger than the limit. Call only with a limit set.
   */
  makeRoom(needBytes: number, deadlineMs: number): boolean {
    const limit = this.#maxMemory;
    if (this.usedMemory + needBytes <= limit) return true;
    if (this.#shape.rank === Rank.None || needBytes > limit || this.#grouped) return false;
    if (this.#sketch !== null) {
      // TinyLFU admits or rejects the newcomer itself, so the osprey policies evict after the write
      // (evictIfOver, with the new key as the candidate); before it they only check that a victim exists.
      // Exactly, not by a sample: volatile-osprey's random draw from the expiry heap can meet only
      // stale items (up to 2/3 of the heap may be) and would refuse a write with victims left.
      if (needBytes > 0) return this.#shape.volatile ? this.#ttlCount > 0 : this.size > 0;
      this.#sketch.fit(this.size);
    }
    for (let n = 0; this.usedMemory + needBytes > limit; n++) {
      if (n >= evictKeysPerCallMax || ((n & 31) === 31 && performance.now() > deadlineMs)) return true;
      if (!this.#evictOne()) return false;
    }
    return true;
  }

  /** After a write, or from the background tick: evicts while over the limit (bounded as makeRoom). */
  evictIfOver(deadlineMs: number): void {
    if (this.#maxMemory === 0 || this.#grouped || this.usedMemory <= this.#maxMemory) return;
    this.makeRoom(0, deadlineMs);
  }

  /** Records an access of key kb[ks..ke) (entry `id`, or -1 for a miss): the clock, LFU counter, sketch. */
  #touch(id: number, kb: Uint8Array, ks: number, ke: number): void {
    const clock = (this.#clock = (this.#clock + 1) >>> 0);
    const sketch = this.#sketch;
    if (sketch !== null) sketch.add((this.#touchedHash = id >= 0 ? this.#rec[id * R.Words + R.Hash]! : this.#table.hash(kb, ks, ke)));
    if (id < 0) return;
    if (this.#shape.rank === Rank.Lfu || this.#shape.rank === Rank.Osprey) {
      const c = this.#decayedLfu(id, (clock - this.#stamp[id]!) >>> 0);
      this.#lfu[id] = lfuIncrement(c, Math.random());
    }
    this.#stamp[id] = clock;
  }

  /** How good a victim entry `id` is under the policy's rank: higher evicts first. */
  #score(id: number): number {
    const idle = (this.#clock - this.#stamp[id]!) >>> 0;
    switch (this.#shape.rank) {
      case Rank.Lfu:
      case Rank.Osprey: // victims by the key's own counter; the sketch decides admission
        return (255 - this.#decayedLfu(id, idle)) * 2 ** 32 + idle;
      default:
        return idle;
    }
  }

  /** Entry `id`'s LFU counter after `idle` accesses: Redis's slow decay, or under the osprey policies the tuner's. */
  #decayedLfu(id: number, idle: number): number {
    const factor = this.#tuner === null ? Infinity : this.#tuner.factor;
    if (factor === Infinity) return lfuDecayed(this.#lfu[id]!, idle);
    return lfuDecayedPer(this.#lfu[id]!, idle, Math.max(1, this.size * factor));
  }

  /**
   * allkeys-osprey: the sketch's count of entry `id`, halved for every admissionFadeFactor × the
   * keyspace's size of accesses it went unread, so a hot set that moved on cannot keep new keys out.
   */
  #fadedEstimate(id: number, idle: number): number {
    const fade = Math.min(31, Math.floor(idle / Math.max(1, this.size * admissionFadeFactor)));
    return this.#sketch!.estimate(this.#rec[id * R.Words + R.Hash]!) >>> fade;
  }

  /** A candidate entry of the policy's class (any key, or keys with an expiry), or -1 when none. */
  #sample(): number {
    if (!this.#shape.volatile) return this.#table.randomId(Math.random());
    for (let tries = 0; tries < 16; tries++) {
      const at = this.#heap.randomIndex(Math.random());
      if (at < 0) return -1;
      const id = this.#heap.idAt(at);
      // Heap items may be stale (deleted, re-set, id reused): only a live entry with this expiry counts.
      if (this.#rec[id * R.Words + R.KeyLen] !== 0 && this.#expiry[id] === this.#heap.atAt(at)) return id;
    }
    return -1;
  }

  /** Picks and removes one victim, logged as a delete; false when the policy finds none. */
  #evictOne(): boolean {
    const rank = this.#shape.rank;
    let id = rank === Rank.Random ? this.#sample() : rank === Rank.Ttl ? this.#soonestExpiring() : this.#pooledVictim();
    if (id < 0) return false;
    if (rank === Rank.Osprey) id = this.#admission(id);
    const bytes = this.#entryAllocatedBytes(id);
    // notify-keyspace-events' `e`: raised while the key's bytes are still there, as for `expired`.
    if (this.events !== null) {
      const ks = this.keyOffset(id);
      this.events.emit(Notify.Evicted, Event.evicted, this.buffer(id), ks, ks + this.keyLength(id));
    }
    this.delete(id);
    this.#evictedTotal++;
    this.#evictedBytesTotal += bytes;
    return true;
  }

  /**
   * TinyLFU's admission: the key just inserted competes with the victim the LFU ranking chose,
   * and the one the sketch (which counts misses too, so it knows keys the cache does not hold)
   * saw asked for less often goes; on a tie the newcomer stays, as LFU would keep it. So a scan of
   * keys read once cannot push out keys read often. A victim that wins is not put back in the pool:
   * the pool would offer the same strong key to every newcomer after it, and keep them all out.
   */
  #admission(victim: number): number {
    // The newcomer stays the candidate until the next insert: it must count at least as much as every victim it displaces.
    const cand = this.#lastInserted;
    if (cand < 0 || cand === victim || this.#rec[cand * R.Words + R.KeyLen] === 0) return victim;
    if (this.#shape.volatile && this.#expiry[cand] === noExpiryHeld) return victim;
    const sketch = this.#sketch!;
    if (sketch.estimate(this.#rec[cand * R.Words + R.Hash]!) >= this.#fadedEstimate(victim, (this.#clock - this.#stamp[victim]!) >>> 0)) return victim;
    this.#lastInserted = -1;
    return cand;
  }

  /** Redis's sampled approximation with a pool: sample a few keys, keep the best victims seen, take the best still valid. */
  #pooledVictim(): number {
    const pool = this.#pool;
    // Every pooled candidate can turn out stale (read since it was pooled): sample again, as Redis's
    // eviction loop does, a bounded number of rounds.
    for (let round = 0; round < victimRoundsMax; round++) {
      if (this.#shape.volatile) {
        for (let n = 0; n < samplesPerEviction; n++) {
          const id = this.#sample();
          if (id < 0) break;
          pool.offer(id, this.#score(id), this.#stamp[id]!);
        }
      } else this.#sampleConsecutive(pool);
      while (pool.size > 0) {
        const id = pool.ids[0]!;
        const stamp = pool.stamps[0]!;
        pool.take(0);
        // Touched, deleted or reused since it was pooled: its score no longer holds.
        if (this.#rec[id * R.Words + R.KeyLen] === 0 || this.#stamp[id] !== stamp) continue;
        if (this.#shape.volatile && this.#expiry[id] === noExpiryHeld) continue;
        return id;
      }
      if (this.size === 0) break;
    }
    return -1;
  }

  /**
   * allkeys-*: offers the pool the ids held in a window of consecutive slots of the hash table from
   * a random one, the window as wide as is expected to hold samplesPerEviction ids (as Redis's
   * dictGetSomeKeys walks neighbouring buckets: one random draw, slots that share cache lines).
   * A window of fixed width offers every id as likely; walking on until enough ids were found did
   * not: it favoured the ids right after empty runs, evicting them widened the runs, and after 5M
   * evicting SETs at load 0.33 the table had holes of ~40k slots (probes grew long, and samples
   * walked them). Windows are drawn until enough ids were offered, then random draws make up the rest.
   */
  #sampleConsecutive(pool: EvictionPool): void {
    const table = this.#table;
    const span = table.slotSpan;
    const size = this.size;
    if (size === 0) return;
    const width = Math.min(sampleWindowSlotsMax, Math.ceil((samplesPerEviction * span) / size));
    let found = 0;
    for (let w = 0; found < samplesPerEviction && w < sampleWindowsMax; w++) {
      let at = Math.floor(Math.random() * span);
      for (let n = 0; n < width; n++) {
        const id = table.idAt(at);
        if (id >= 0) {
          pool.offer(id, this.#score(id), this.#stamp[id]!);
          found++;
        }
        if (++at === span) at = 0;
      }
    }
    for (let n = found; n < samplesPerEviction; n++) {
      const id = table.randomId(Math.random());
      if (id < 0) break;
      pool.offer(id, this.#score(id), this.#stamp[id]!);
    }
  }

  /** volatile-ttl: the live entry whose expiry comes first (exact, from the expiry heap), or -1. */
  #soonestExpiring(): number {
    const heap = this.#heap;
    while (heap.size > 0) {
      const id = heap.peekId();
      if (this.#rec[id * R.Words + R.KeyLen] !== 0 && this.#expiry[id] === heap.peekAt()) return id;
      heap.pop();
    }
    return -1;
  }

  /** Key and value bytes entry `id` holds as allocated (what evicting it gives back to the data). */
  #entryAllocatedBytes(id: number): number {
    return this.#rec[id * R.Words + R.Pos] !== R.Own ? blockBytes(this.#rec[id * R.Words + R.KeyLen]! + this.#rec[id * R.Words + R.ValueLen]!) : this.#large[id]!.byteLength;
  }

  /**
   * Refuses, before anything is logged, a batch of `writes` SETs carrying `dataBytes` of keys and
   * values that may add `newEntries` entries (MSET, RENAME), when the keyspace's entry limit or the
   * slab's page cap could stop one of them half way: a batch that fails after it began is a bug.
   */
  checkRoom(newEntries: number, writes: number, dataBytes: number): void {
    if (this.size + newEntries > this.entriesMax) throw keyspaceFull(this.entriesMax);
    const slab = this.#slab;
    if (slab.pagesLeft < slab.pagesNeededMax(writes, dataBytes)) throw slabFull(slab.pagesMax);
  }

  /** Whether `id` is an entry id in use: checked before a write trusts an id a caller passed in. */
  #isEntry(id: number): boolean {
    return id >= 0 && id < this.#highWater && this.#rec[id * R.Words + R.KeyLen]! !== 0;
  }

  /** Whether entry `id` holds the key kb[ks..ks+len); the table has compared the hashes, so length first, bytes last. */
  #isKey(id: number, kb: Uint8Array, ks: number, len: number): boolean {
    if (this.#rec[id * R.Words + R.KeyLen] !== len) return false;
    const buf = this.buffer(id);
    const off = this.keyOffset(id);
    for (let i = 0; i < len; i++) if (buf[off + i] !== kb[ks + i]) return false;
    return true;
  }

  #setExpiry(id: number, expiryMs: number): void {
    const at = heldExpiry(expiryMs);
    const before = this.#expiry[id]!;
    if (before !== noExpiryHeld) this.#ttlCount--;
    if (at === noExpiryHeld) {
      if (before !== noExpiryHeld) this.#expiry[id] = noExpiryHeld;
      return;
    }
    this.#expiry[id] = at;
    this.#ttlCount++;
    if (at === before) return; // the heap already holds this item
    this.#heap.push(at, id);
    if (this.#heap.size > 2 * this.#ttlCount + heapSlackItems) this.#rebuildHeap();
  }

  /** Drops stale heap items when they outnumber live TTLs, so rewriting TTLs cannot grow it unbounded. */
  #rebuildHeap(): void {
    this.#heap.clear();
    this.forEach((id) => {
      const at = this.#expiry[id]!;
      if (at !== noExpiryHeld) this.#heap.push(at, id);
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
    if (this.#expiry[id] !== noExpiryHeld) {
      this.#ttlCount--;
      this.#expiry[id] = noExpiryHeld; // as a new id's, which `load` relies on
    }
    this.#release(id);
    this.#rec[id * R.Words + R.KeyLen] = 0;
    this.#freeIds.push(id);
  }

  #fits(id: number, bytes: number): boolean {
    const pos = this.#rec[id * R.Words + R.Pos]!;
    const now = this.#rec[id * R.Words + R.KeyLen]! + this.#rec[id * R.Words + R.ValueLen]!;
    // A large entry's buffer never changes once written (engine/large.ts): a new value gets a new one.
    // A page shared with a snapshot child is not written into: the entry moves (Slab.share).
    return pos !== R.Own && !isLarge(bytes) && sizeClass(now) === sizeClass(bytes) && !this.#slab.isShared(pos >>> R.PageShift);
  }

  #place(id: number, bytes: number): void {
    if (isLarge(bytes)) {
      this.#rec[id * R.Words + R.Pos] = R.Own;
      const adopt = this.#adopt;
      this.#adopt = null;
      this.#adopted = adopt !== null && adopt.length >= bytes;
      const b = this.#adopted ? adopt! : takeLargeBuffer(bytes);
      this.#large[id] = b;
      this.#largeBytes += b.byteLength;
      return;
    }
    this.#rec[id * R.Words + R.Pos] = posOf(this.#slab.alloc(bytes), blockBytes(bytes));
  }

  #release(id: number): void {
    const pos = this.#rec[id * R.Words + R.Pos]!;
    if (pos === R.Own) {
      const b = this.#large[id]!;
      this.#largeBytes -= b.byteLength;
      this.#releasedBytes += b.byteLength;
      this.#large[id] = undefined;
      retireLargeBuffer(b);
      return;
    }
    const bytes = this.#rec[id * R.Words + R.KeyLen]! + this.#rec[id * R.Words + R.ValueLen]!;
    this.#slab.free(handleOf(pos, blockBytes(bytes)), bytes);
  }

  #newId(): number {
    if (this.#freeIds.length > 0) return this.#freeIds.pop()!;
    if (this.#highWater === this.#idCapacity) this.#growIds();
    return this.#highWater++;
  }

  /** Entry ids the metadata has room for. */
  get #idCapacity(): number {
    return this.#lfu.length;
  }

  /** Every array indexed by entry id (the records through one of their views). */
  #metadata(): (Int32Array | Float64Array | Uint32Array | Uint8Array)[] {
    const all = [this.#rec, this.#expiry, this.#stamp, this.#lfu];
    if (this.#versionsApart !== null) all.push(this.#versionsApart);
    return all;
  }

  /** Bytes per entry id of a metadata array (#metadata's). */
  static #bytesPerId(a: Int32Array | Float64Array | Uint32Array | Uint8Array): number {
    return a instanceof Int32Array ? recordBytes : a.BYTES_PER_ELEMENT;
  }

  /** Grows every metadata array in place (resizable buffers: no copy, no pause). */
  #growIds(): void {
    const n = this.#idCapacity * 2;
    if (n > entriesMax) throw keyspaceFull(entriesMax);
    for (const a of this.#metadata()) {
      (a.buffer as ArrayBuffer).resize(n * Store.#bytesPerId(a));
    }
    // Capacity doubles: this is the doubling that reaches hugeRecordIdsMin.
    if (n >= hugeRecordIdsMin && n / 2 < hugeRecordIdsMin) adviseHuge(this.#rec, entriesMax * recordBytes);
  }
}

