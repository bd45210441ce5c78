// The keyspace's index: an open-addressing hash table from key bytes to entry id, grown by
// incremental rehashing. It holds only ids; keys, and the hash of each entry, belong to the store.

import { assert } from "../assert.ts";
import { adviseHuge, prefault } from "../native/index.ts";
import { field, recordWords } from "./records.ts";

// An id's hash is at hashes[id * Rec.Words] (this module's const enum: Bun inlines a const enum's
// members as literals only in the module that declares it).
const enum Rec {
  Words = 5,
}
assert(Rec.Words === recordWords && field.hash === 0, "hash table: an id's hash is word 0 of its record, recordWords words long");
import { entriesMax, loadFactorMax, rehashSlotsPerInsert, rehashSlotsPerStep, tableSlotsMin } from "../constants.ts";

/** Whether entry `id` holds the key kb[ks..ks+len). The table calls it only when the hashes match. */
export type KeyEquals = (id: number, kb: Uint8Array, ks: number, len: number) => boolean;

export interface HashTableOptions {
  /**
   * The store's entry records (engine/records.ts), whose first word is the key hash (from `hash`):
   * entry id's at records[id * recordWords]. The store owns and grows them; a record must hold its
   * id's hash before the id is inserted and until it is removed.
   */
  records: Int32Array;
  keyEquals: KeyEquals;
  /** Entries to make room for without resizing. */
  capacity?: number;
}

// A slot holds entry id + 1 in its low idBits bits, so a freshly allocated (zeroed) table is empty
// without a fill pass, and the top bits of the entry's hash above them (its tag): a probe compares
// the tag in the slot it already has and reads the entry's full hash (another cache line, a miss
// in a large table) only when the tags agree, 1 time in 16 for a slot of another key.
const EMPTY = 0;
/** In the old table during a resize: a key deleted before it was moved (its low bits hold no id + 1). */
const GONE = -1;
const idBits = 28;
const idMask = (1 << idBits) - 1;
assert(entriesMax + 1 < idMask, "hash table: entry id + 1 must fit a slot's low bits, below GONE's");

/** The slot that holds entry `id` whose key hash is `h`. */
function slotOf(id: number, h: number): number {
  return ((h >>> idBits) << idBits) | (id + 1);
}

/** The entry id a slot holds, or -1 for EMPTY and GONE. */
export function slotId(slot: number): number {
  const low = slot & idMask;
  return low === (GONE & idMask) ? -1 : low - 1;
}

/** Whether a slot holding an id may hold hash `h`'s key: its tag is h's (a slot of another key passes 1 time in 16). */
function tagMatches(slot: number, h: number): boolean {
  return (slot ^ h) >>> idBits === 0;
}

/**
 * FNV-1a over the key bytes with a per-table seed, finished with murmur3's mixer. native/osprey.c
 * (key_hash) computes the same while it decodes a snapshot.
 */
export function hashKey(b: Uint8Array, s: number, e: number, seed: number): number {
  let h = seed;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The power-of-two slot count that holds `entries` under the load factor. */
function slotsFor(entries: number): number {
  return Math.max(tableSlotsMin, 2 ** Math.ceil(Math.log2(Math.min(entries, entriesMax) / loadFactorMax + 1)));
}

/** Random slots randomId tries before it takes the first held one after a random slot: at load 0.1 all miss 1 time in 850. */
const randomSlotTries = 64;

/** Slots of a probe chain `candidates` looks at: four share a 16-byte run, nearly always one cache line. */
const candidateSlotsMax = 4;

/** Tables this large ask for huge pages: each probe is a random access, which then misses the TLB less. */
const hugeSlotsMin = 1 << 20;

/** A zeroed slot array of `n` slots (huge pages asked for when large). */
function newSlots(n: number): Int32Array {
  const slots = new Int32Array(n);
  if (n >= hugeSlotsMin) adviseHuge(slots);
  return slots;
}

/** The first free slot of the probe chain that starts at `h`'s home. */
function freeSlot(slots: Int32Array, mask: number, h: number): number {
  let i = h & mask;
  while (slots[i] !== EMPTY) i = (i + 1) & mask;
  return i;
}

/** Reverses the 32 bits of v. */
function reverseBits(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return ((v >>> 16) | (v << 16)) >>> 0;
}

/** The cursor after v under `mask`: v's masked bits incremented from the top down (0 after the last). */
function nextCursor(v: number, mask: number): number {
  return reverseBits((reverseBits((v | ~mask) >>> 0) + 1) >>> 0);
}

/** The first id held in `slots` from `start` on (wrapping), skipping slots below `below`; -1 when none. */
function firstHeld(slots: Int32Array, mask: number, start: number, below: number): number {
  for (let n = 0, i = start; n < slots.length; n++, i = (i + 1) & mask) {
    const id = slotId(slots[i]!);
    if (id >= 0 && i >= below) return id;
  }
  return -1;
}

/**
 * Linear probing with backward-shift deletion. While the table doubles, the previous table stays
 * beside the new one and is moved over a few slots per insert and in idle moments (`maintain`),
 * so a million keys never stop the server for a rehash.
 */
export class HashTable {
  #slots: Int32Array;
  #mask: number;
  /** While the table doubles, the previous table: its slots below #cursor have been moved to #slots. */
  #old: Int32Array | null = null;
  #oldMask = 0;
  #cursor = 0;
  #count = 0;
  /** See takeReleasedBytes. */
  #released = 0;
  readonly #seed = (Math.random() * 0x7fffffff) | 0;
  /** The store's records: an id's hash is word 0 of its record (field.hash). */
  readonly #hashes: Int32Array;
  readonly #keyEquals: KeyEquals;

  constructor(options: HashTableOptions) {
    this.#hashes = options.records;
    this.#keyEquals = options.keyEquals;
    this.#slots = newSlots(slotsFor(options.capacity ?? 0));
    this.#mask = this.#slots.length - 1;
  }

  /** Ids held, in either table. */
  get count(): number {
    return this.#count;
  }

  /** Slots of the current (newest) table. */
  get slotsCount(): number {
    return this.#slots.length;
  }

  /** Bytes of the slot arrays, both tables while doubling (what max_memory_bytes counts). */
  get bytes(): number {
    return this.#slots.byteLength + (this.#old === null ? 0 : this.#old.byteLength);
  }

  /** Whether a doubling is in progress (the old table is still being moved over). */
  get resizing(): boolean {
    return this.#old !== null;
  }

  /** The seed `hash` mixes in (a snapshot's loader hashes keys itself, with `hashKey`). */
  get seed(): number {
    return this.#seed;
  }

  /** The hash of key kb[ks..ke), as stored in `hashes` and passed to `findOrSlot`. */
  hash(kb: Uint8Array, ks: number, ke: number): number {
    return hashKey(kb, ks, ke, this.#seed);
  }

  /** The entry id holding key kb[ks..ke), or -1. */
  find(kb: Uint8Array, ks: number, ke: number): number {
    const found = this.findOrSlot(hashKey(kb, ks, ke, this.#seed), kb, ks, ke - ks);
    return found < 0 ? -1 : found;
  }

  /**
   * One probe for both questions recovery asks: the entry id holding the key (≥ 0), or, when no
   * entry does, -1 - slot for the free slot of the current table where it belongs, to pass to
   * `insertAt` before anything else changes the table.
   */
  findOrSlot(h: number, kb: Uint8Array, ks: number, len: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const hashes = this.#hashes;
    let i = h & mask;
    for (; ; i = (i + 1) & mask) {
      const slot = slots[i]!;
      if (slot === EMPTY) break;
      if (!tagMatches(slot, h)) continue;
      const id = (slot & idMask) - 1;
      if (hashes[id * Rec.Words] === h && this.#keyEquals(id, kb, ks, len)) return id;
    }
    if (this.#old !== null) {
      const id = this.#findOld(h, kb, ks, len);
      if (id >= 0) return id;
    }
    return -1 - i;
  }

  /**
   * Reads the home slot of each of `n` hashes (`hashes[at + i * stride]`), so that the inserts of
   * a bulk load that follow find them in cache: these reads do not depend on one another, so the
   * CPU overlaps their misses, where an insert's probe waits for its own. Returns what it read,
   * folded, only so that the reads are not optimised away.
   */
  touchHomes(hashes: Int32Array, at: number, stride: number, n: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    let x = 0;
    for (let i = 0; i < n; i++) x ^= slots[hashes[at + i * stride]! & mask]!;
    return x;
  }

  /**
   * For each of `n` hashes, the id in the first slot of its probe chain whose tag agrees (-1 when
   * the chain's first slots hold none), written to `ids`: a batch of lookups reads these first, all
   * together, so that their misses overlap (Store.readAhead). A candidate, not an answer: the key
   * is not compared, and a chain longer than a few slots is not followed.
   */
  candidates(hashes: Int32Array, ids: Int32Array, n: number): number {
    // First every home slot, none depending on another; then the chains, now in cache.
    const x = this.touchHomes(hashes, 0, 1, n);
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = 0; i < n; i++) {
      const h = hashes[i]!;
      let id = -1;
      for (let j = 0, at = h & mask; j < candidateSlotsMax; j++, at = (at + 1) & mask) {
        const slot = slots[at]!;
        if (slot === EMPTY) break;
        if (tagMatches(slot, h)) {
          id = (slot & idMask) - 1;
          break;
        }
      }
      ids[i] = id;
    }
    return x;
  }

  /** The slot arrays on huge pages (newSlots), as [view, bytes], for Store.shareWithChild's collapse. */
  hugeSlots(): [Int32Array, number][] {
    return this.#slots.length >= hugeSlotsMin ? [[this.#slots, this.#slots.byteLength]] : [];
  }

  /**
   * The one insert path: puts `id` in free `slot` of the current table (from `findOrSlot`), then
   * moves some of the old table, or starts doubling once the load factor is passed.
   */
  insertAt(slot: number, id: number): void {
    assert(id >= 0 && id < entriesMax, "hash table: entry id out of range");
    assert(this.#slots[slot] === EMPTY, "hash table: insert into a slot that is not free");
    this.#slots[slot] = slotOf(id, this.#hashes[id * Rec.Words]!);
    this.#count++;
    // An empty slot must remain, or the next probe would never end; the load factor guarantees it.
    assert(this.#count < this.#slots.length, "hash table: no free slot left");
    if (this.#old !== null) this.#rehashStep(rehashSlotsPerInsert);
    else if (this.#count > this.#slots.length * loadFactorMax) this.#startResize();
  }

  /** Removes `id` (whose hash is still in `hashes`) from whichever table holds it. */
  remove(id: number): void {
    const h = this.#hashes[id * Rec.Words]!;
    const slots = this.#slots;
    const mask = this.#mask;
    let hole = h & mask;
    const held = slotOf(id, h);
    for (; slots[hole] !== held; hole = (hole + 1) & mask) {
      if (slots[hole] === EMPTY) {
        this.#removeOld(id, h);
        this.#count--;
        return;
      }
    }
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const other = slots[j]!;
      if (other === EMPTY) break;
      const home = this.#hashes[((other & idMask) - 1) * Rec.Words]! & mask;
      // `other` may move into the hole only if its home is not cyclically within (hole, j].
      const homeInRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!homeInRange) {
        slots[hole] = other;
        hole = j;
      }
    }
    slots[hole] = EMPTY;
    this.#count--;
  }

  /** Background work for idle moments: moves old-table slots until `deadlineMs` or the resize is done. */
  maintain(deadlineMs: number): void {
    while (this.#old !== null && performance.now() < deadlineMs) this.#rehashStep(rehashSlotsPerStep);
  }

  /** Sizes an empty table for `count` entries at once, so filling it never resizes. */
  reserve(count: number): void {
    if (this.#count !== 0 || this.#old !== null) return;
    const slots = slotsFor(count);
    if (slots <= this.#slots.length) return;
    this.#slots = newSlots(slots);
    this.#mask = slots - 1;
    // Loading probes the whole table at random from its first key: fault it in from another thread.
    prefault([[this.#slots, this.#slots.byteLength]]);
  }

  /** Empties the table and gives back its memory (FLUSHALL); the seed stays. */
  clear(): void {
    this.#released += this.bytes;
    this.#slots = new Int32Array(tableSlotsMin);
    this.#mask = tableSlotsMin - 1;
    this.#old = null;
    this.#oldMask = 0;
    this.#cursor = 0;
    this.#count = 0;
  }

  /**
   * One step of a SCAN: calls `visit` with every id whose home bucket is the cursor's, and returns
   * the next cursor (0 when the scan is done). The cursor counts home buckets in reverse-binary
   * order, as Redis's dictScan: the ids whose home is bucket b of a table of 2^n slots are exactly
   * those whose home is b or b + 2^n in one of 2^(n+1), so a cursor taken under one size is valid
   * under any other, and every id present from the first step to the last is visited at least once
   * whatever the table does between steps. In an open-addressing table the ids of home b are the
   * ones hashing to b in the probe run from b to the next empty slot (linear probing and
   * backward-shift deletion never move an id before its home nor across an empty slot). While the
   * table doubles, the old table's bucket and each of its expansions in the new one are visited;
   * old slots below the rehash cursor were moved to the new table and are skipped there. `visit`
   * must not change the table.
   */
  scan(cursor: number, visit: (id: number) => void): number {
    let v = cursor >>> 0;
    if (this.#old === null) {
      const m = this.#mask;
      this.#visitHome(this.#slots, m, v & m, 0, visit);
      return nextCursor(v, m);
    }
    const m0 = this.#oldMask;
    const m1 = this.#mask;
    this.#visitHome(this.#old, m0, v & m0, this.#cursor, visit);
    // Incrementing under the larger mask walks the expansions (the bits m0 lacks) first; once they
    // are back to zero the carry has incremented the smaller cursor: that is the next cursor.
    do {
      this.#visitHome(this.#slots, m1, v & m1, 0, visit);
      v = nextCursor(v, m1);
    } while ((v & (m0 ^ m1)) !== 0);
    return v;
  }

  /** Calls `visit` with the ids of `slots` whose home is `home`, skipping slots below `below` (moved). */
  #visitHome(slots: Int32Array, mask: number, home: number, below: number, visit: (id: number) => void): void {
    const hashes = this.#hashes;
    for (let i = home; slots[i] !== EMPTY; i = (i + 1) & mask) {
      const id = slotId(slots[i]!);
      if (id >= 0 && i >= below && (hashes[id * Rec.Words]! & mask) === home) visit(id);
    }
  }

  /**
   * Some id, or -1 when the table is empty, every id as likely (`r` in [0, 1) picks the first slot
   * tried). Only in a nearly empty table, when randomSlotTries slots all miss, is it the first held
   * slot after a random one, which favours an id after a long empty run.
   */
  randomId(r: number): number {
    if (this.#count === 0) return -1;
    // Random slots until one holds an id, so every id is as likely. The first held slot after one
    // random slot (the fallback) favours the ids behind long empty runs, and evicting by it widened
    // those runs: after 5M evicting SETs at load 0.33 the table had holes of ~40k slots, and the
    // walks over them cost more than the rest of the eviction.
    const span = this.slotSpan;
    for (let t = 0, x = r; t < randomSlotTries; t++, x = Math.random()) {
      const id = this.idAt(Math.floor(x * span));
      if (id >= 0) return id;
    }
    const old = this.#old;
    const total = this.#slots.length + (old === null ? 0 : old.length);
    const at = Math.floor(r * total);
    if (old !== null && at >= this.#slots.length) {
      const id = firstHeld(old, this.#oldMask, at - this.#slots.length, this.#cursor);
      return id >= 0 ? id : firstHeld(this.#slots, this.#mask, 0, 0);
    }
    const id = firstHeld(this.#slots, this.#mask, at, 0);
    return id >= 0 || old === null ? id : firstHeld(old, this.#oldMask, 0, this.#cursor);
  }

  /**
   * The size of the index space of `idAt`: every slot of the current table, and while doubling the
   * old table's too. Eviction samples consecutive indexes of it, as Redis's dictGetSomeKeys walks
   * consecutive buckets (neighbouring slots share cache lines). Layout-agnostic on purpose: a
   * caller knows only that indexes 0..slotSpan-1 each hold one id or none.
   */
  get slotSpan(): number {
    return this.#slots.length + (this.#old === null ? 0 : this.#old.length);
  }

  /** The id held at index `i` of the `slotSpan` space, or -1 (an empty slot, or an old slot already moved). */
  idAt(i: number): number {
    const n = this.#slots.length;
    if (i < n) return slotId(this.#slots[i]!);
    const old = this.#old;
    assert(old !== null && i - n < old.length, "hash table: slot index past the slot span");
    const at = i - n;
    return at < this.#cursor ? -1 : slotId(old[at]!); // moved already; EMPTY and GONE hold none
  }

  /** Looks a key up in the table being moved; slots below the cursor were moved already. */
  #findOld(h: number, kb: Uint8Array, ks: number, len: number): number {
    const old = this.#old!;
    const mask = this.#oldMask;
    const hashes = this.#hashes;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const slot = old[i]!;
      if (slot === EMPTY) return -1;
      if (slot === GONE || i < this.#cursor || !tagMatches(slot, h)) continue;
      const id = (slot & idMask) - 1;
      if (hashes[id * Rec.Words] === h && this.#keyEquals(id, kb, ks, len)) return id;
    }
  }

  /**
   * In the old table a deleted key leaves a tombstone: shifting would move keys across the cursor.
   * The id must be there, at or past the cursor; anywhere else the two tables disagree with the store.
   */
  #removeOld(id: number, h: number): void {
    const old = this.#old;
    assert(old !== null, "hash table: removing an entry id that is in no table");
    const mask = this.#oldMask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const at = old[i]!;
      assert(at !== EMPTY, "hash table: removing an entry id that is in no table");
      if (at === slotOf(id, h) && i >= this.#cursor) {
        old[i] = GONE;
        return;
      }
    }
  }

  /** Starts doubling the table; entries move over incrementally (see #old). */
  #startResize(): void {
    this.#old = this.#slots;
    this.#oldMask = this.#mask;
    this.#cursor = 0;
    this.#slots = newSlots(this.#slots.length * 2);
    this.#mask = this.#slots.length - 1;
  }

  /** Moves up to `count` old slots into the new table; drops the old table when done. */
  #rehashStep(count: number): void {
    const old = this.#old!;
    const slots = this.#slots;
    const mask = this.#mask;
    const hashes = this.#hashes;
    const end = Math.min(old.length, this.#cursor + count);
    for (let i = this.#cursor; i < end; i++) {
      const slot = old[i]!;
      if (slot !== EMPTY && slot !== GONE) slots[freeSlot(slots, mask, hashes[((slot & idMask) - 1) * Rec.Words]!)] = slot;
    }
    this.#cursor = end;
    if (end === old.length) {
      this.#old = null;
      this.#released += old.byteLength;
    }
  }

  /**
   * Bytes of slot arrays let go (a doubling done, a clear) since the last call: garbage until the
   * runtime collects it, so the store counts it with the pages it released (its GC hint).
   */
  takeReleasedBytes(): number {
    const n = this.#released;
    this.#released = 0;
    return n;
  }
}
