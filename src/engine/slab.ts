// Slab memory for entries: key and value bytes live in large shared pages, not one object each.
// This keeps a million small entries at ~block size each and gives the GC nothing to trace; pages
// are per size class, so emptied ones go back and sparse ones can be compacted.

import { assert } from "../assert.ts";
import { slabLargeBytesMin, slabPageBytes, slabPagesMax, slabInPlaceBlockBytesMin, slabSharedPagesAhead } from "../constants.ts";
import { blockIndexBits } from "./records.ts";
import { allocHugeAligned, prefault } from "../native/index.ts";

/**
 * Block sizes up to 128 bytes step by 4 from 8 (classes 0 … smallClassTop), above that four steps
 * per power of two. A record names its block by the block's index in its page (engine/records.ts),
 * so a class need not be a multiple of any unit: 4-byte steps waste at most 3 bytes of a small
 * entry (a 16-byte key with a 100-byte value takes 116, not the 120 that 8-byte steps gave it).
 */
const smallClassTop = 30;
const smallBytesMax = 128;

/** The class of a block holding `size` bytes (1 … slabLargeBytesMin - 1). */
export function sizeClass(size: number): number {
  if (size <= smallBytesMax) return size <= 8 ? 0 : ((size + 3) >> 2) - 2;
  const p = 31 - Math.clz32(size - 1); // size is in (2^p, 2^(p+1)]
  const shift = p - 2; // a step is 2^(p-2)
  return smallClassTop + (p - 7) * 4 + ((size - (1 << p) + (1 << shift) - 1) >> shift);
}

/** The block size of a class: the largest size that maps to it. */
export function classBytes(cls: number): number {
  if (cls <= smallClassTop) return (cls + 2) << 2;
  const q = cls - smallClassTop - 1;
  const p = 7 + (q >> 2);
  return (1 << p) + ((q & 3) + 1) * (1 << (p - 2));
}

/** classBytes(sizeClass(size)) without the class: what an entry of `size` bytes takes in the slab (every read of a record's position computes it). */
export function blockBytes(size: number): number {
  if (size <= smallBytesMax) return size <= 8 ? 8 : (size + 3) & ~3;
  return classBytes(sizeClass(size));
}

/** Size classes of slab blocks (every size below slabLargeBytesMin). */
const classCount = sizeClass(slabLargeBytesMin - 1) + 1;
// Entry records keep a block's index in its page in blockIndexBits bits (engine/records.ts): the
// smallest class must leave no page with more blocks than that.
assert(slabPageBytes / classBytes(0) <= 2 ** blockIndexBits, "slab: a page of the smallest class must have no more blocks than a record's position can index");

/** The error a write that needs a slab page past the cap gets (answered as a server error, not logged). */
export function slabFull(pagesMax: number): Error {
  return new Error(`keyspace full: the slab holds at most ${pagesMax} pages of ${slabPageBytes >> 20} MiB`);
}

/** Pages past this many (256 MiB of slab) are asked to be backed by transparent huge pages. */
const hugeFromPages = 64;

/**
 * A class's pages are compacted once at least this share of their blocks is free (and a whole
 * page's worth): moving entries costs a copy each, so a little slack is left alone.
 */
const compactFreeShareMin = 0.25;

/**
 * The memory of the slab's page number `held` (pages held before it). A large keyspace's reads land
 * on random slab lines: with 2 MiB pages they miss the TLB far less (in a VM a TLB miss walks two
 * page tables). A small one keeps 4 KiB pages, so that the partly filled page of each class holds
 * only the lines it uses.
 */
function pageMemory(held: number): Buffer {
  return held >= hugeFromPages ? allocHugeAligned(slabPageBytes) : Buffer.allocUnsafeSlow(slabPageBytes);
}

/**
 * Pages of one size class each, carved by a bump pointer, with a free list per page. A page whose
 * last block is freed goes back to the runtime at once (its slot is reused by the next new page);
 * pages left sparse by deletes and evictions are emptied by compaction (`planCompaction`, then the
 * store moves the entries of the pages it marked, then `endCompaction`), so the memory held follows
 * the data instead of its peak. See docs/ARCHITECTURE.md, "Memory".
 */
export class Slab {
  /** Pages by index, each `slabPageBytes` long; null once released (until a new page takes the slot). Blocks never straddle pages. */
  readonly pages: (Buffer | null)[] = [];
  #pageClass: number[] = [];
  /** Live blocks of each page. */
  #pageUsed: number[] = [];
  /** Bytes of each page handed out by its bump pointer: blocks below it are live or on its free list. */
  #pageBump: number[] = [];
  /** Offsets of the freed blocks of each page. */
  #pageFree: number[][] = [];
  /** Pages being emptied by compaction: nothing is allocated in them and their freed blocks are not kept. */
  #moving: boolean[] = [];
  #inPartial: boolean[] = [];
  /** Pages a forked snapshot child shares (see `share`): nothing new is written into them. */
  #shared: boolean[] = [];
  #sharing = false;
  /** Per class: the page allocations go to, or -1. */
  #current: number[] = [];
  /** Per class: pages other than the current one that have a free block. */
  #partial: number[][] = [];
  /** Per class: blocks live in its pages. */
  #classLive: number[] = [];
  #freeSlots: number[] = [];
  #pageCount = 0;
  #movingCount = 0;
  #bytesInUse = 0;
  /** Page bytes released since the last `takeReleasedBytes` (the store's hint to run the GC). */
  #released = 0;
  /** Block bytes freed since compaction was last planned: planning is skipped while little was freed. */
  #freedSincePlan = 0;
  /** Pages made ahead of need (`prefaultAhead`), taken in order by the next new pages; `#spareAt` is the next one. */
  #spare: Buffer[] = [];
  #spareAt = 0;
  #ahead = 0;
  /** What `prefaultAhead` last asked for; `#ahead` is at least slabSharedPagesAhead while `#aheadForChild`. */
  #aheadAsked = 0;
  /** Pages of small blocks of a slab on huge pages are shared with a child (`share`): pages are kept made ahead. */
  #aheadForChild = false;
  /** Most pages held at once (slabPagesMax; fewer only in tests). */
  readonly pagesMax: number;
  /** Whether pagesMax pages are held: a block then comes only from a page that has room (canAlloc). */
  full = false;

  constructor(pagesMax = slabPagesMax) {
    assert(Number.isInteger(pagesMax) && pagesMax >= 1 && pagesMax <= slabPagesMax, "slab: pagesMax must be within slabPagesMax");
    this.pagesMax = pagesMax;
  }

  /** Pages that can still be made. */
  get pagesLeft(): number {
    return this.pagesMax - this.#pageCount;
  }

  /**
   * Most pages `writes` allocations carrying `dataBytes` in all can make: a block is at most its
   * size + 7 (8 bytes for 1, 4-byte steps to 128 bytes) or 1.25 × its size (above), and each class may start a
   * new page once more than its bytes fill.
   */
  pagesNeededMax(writes: number, dataBytes: number): number {
    return Math.min(writes, Math.ceil((dataBytes * 1.25 + writes * 8) / slabPageBytes) + classCount);
  }

  /** Whether `alloc(size)` would succeed: there is room in a page of its class that takes blocks, or a page can be made. */
  canAlloc(size: number): boolean {
    if (!this.full) return true;
    const cls = sizeClass(size);
    const bytes = classBytes(cls);
    const p = this.#current[cls] ?? -1;
    if (p >= 0 && this.#shared[p] !== true && (this.#pageFree[p]!.length > 0 || this.#pageBump[p]! + bytes <= slabPageBytes)) return true;
    const partial = this.#partial[cls] ?? [];
    for (let at = partial.length - 1; at >= 0; at--) if (!this.#sharing || this.#shared[partial[at]!] !== true) return true;
    return false;
  }

  /**
   * Allocates a block of at least `size` bytes (< slabLargeBytesMin); returns page * pageBytes + offset.
   * Throws slabFull when it needs a new page and pagesMax are held (nothing changed then).
   */
  alloc(size: number): number {
    const cls = sizeClass(size);
    const bytes = classBytes(cls);
    let p = this.#current[cls] ?? -1;
    if (p < 0 || this.#shared[p] === true || (this.#pageFree[p]!.length === 0 && this.#pageBump[p]! + bytes > slabPageBytes)) p = this.#nextPage(cls, bytes);
    this.#pageUsed[p]!++;
    this.#classLive[cls]!++;
    this.#bytesInUse += bytes;
    const free = this.#pageFree[p]!;
    if (free.length > 0) return p * slabPageBytes + free.pop()!;
    const off = this.#pageBump[p]!;
    this.#pageBump[p] = off + bytes;
    return p * slabPageBytes + off;
  }

  /** Returns a block of the given requested size: to its page's free list, or with its page when that empties. */
  free(handle: number, size: number): void {
    const p = Math.floor(handle / slabPageBytes);
    const cls = this.#pageClass[p]!;
    const bytes = classBytes(cls);
    this.#bytesInUse -= bytes;
    this.#freedSincePlan += bytes;
    this.#classLive[cls]!--;
    const used = --this.#pageUsed[p]!;
    if (used === 0 && (this.#moving[p] || this.#current[cls] !== p)) return this.#release(p);
    if (this.#moving[p]) return;
    this.#pageFree[p]!.push(handle - p * slabPageBytes);
    if (this.#current[cls] !== p && !this.#inPartial[p]) {
      this.#inPartial[p] = true;
      this.#partial[cls]!.push(p);
    }
  }

  /**
   * A forked snapshot child shares every page held now, copy-on-write: the first write into each
   * 4 KiB of one copies it (and its 4 KiB of RSS) in this process. Until `unshare`, blocks come only
   * from pages made after this call, so a SET during a snapshot costs its own block in a fresh page
   * (the store moves the entry there, `isShared`) instead of a 4 KiB copy: random 100-byte SETs over
   * 10M keys copied a page per SET. Freed blocks of shared pages are kept on their free lists
   * (those lists are not in the pages) and reused after `unshare`. Pages of blocks of
   * slabInPlaceBlockBytesMin or more are not shared: writing one of their blocks copies about the
   * memory pages it writes, where a fresh block costs as many new pages and leaves its old ones to
   * empty (SET 16 KiB over 512 MiB of keys: 1.3-2.2 GB of RSS against 0.8-0.9 GB). A huge page of
   * theirs is split where written and not put back: such a value spans whole pages of its own.
   */
  share(): void {
    this.#sharing = true;
    let small = false;
    for (let p = 0; p < this.pages.length; p++) {
      this.#shared[p] = this.pages[p] !== null && classBytes(this.#pageClass[p]!) < slabInPlaceBlockBytesMin;
      if (this.#shared[p]) small = true;
    }
    // Overwrites of small entries now each take a block in a fresh page: in a slab on huge pages,
    // keep pages ready. A small slab's fresh pages fault 4 KiB at a time, and pages made ahead for
    // each of its snapshots would be 8 MiB of garbage each time (snapshots back to back: hundreds).
    if (small && this.#pageCount >= hugeFromPages) {
      this.#aheadForChild = true;
      this.prefaultAhead(this.#aheadAsked);
    }
  }

  /** The child is gone: every page takes blocks again. */
  unshare(): void {
    if (!this.#sharing) return;
    this.#sharing = false;
    this.#shared.fill(false);
    if (this.#aheadForChild) {
      this.#aheadForChild = false;
      this.prefaultAhead(this.#aheadAsked);
    }
  }

  /** Whether page `p` is shared with a snapshot child (a write into it would copy its memory). */
  isShared(p: number): boolean {
    return this.#shared[p] === true;
  }

  /** Bytes held by live blocks (including rounding up to the class size). */
  get bytesInUse(): number {
    return this.#bytesInUse;
  }

  /** Bytes of all pages held, used or not. */
  get bytesReserved(): number {
    return this.#pageCount * slabPageBytes;
  }

  /** Whether page `p` is being emptied: the store moves the entries it finds there. */
  isMoving(p: number): boolean {
    return this.#moving[p] === true;
  }

  /** Pages being emptied by compaction. */
  get movingPages(): number {
    return this.#movingCount;
  }

  /** Page bytes released since the last call (so the caller can ask the runtime to collect them). */
  takeReleasedBytes(): number {
    const n = this.#released;
    this.#released = 0;
    return n;
  }

  /**
   * Marks for emptying, in every class with at least compactFreeShareMin of its blocks free and a
   * page's worth of them, the sparsest pages whose live blocks the class's other pages have room
   * for. Allocation avoids marked pages from now on. Returns how many were marked; the caller then
   * moves every entry on a marked page (`isMoving`) with `alloc` + `free`, and the last move
   * releases the page.
   */
  planCompaction(): number {
    assert(this.#movingCount === 0, "slab: compaction planned while one is under way");
    if (this.#freedSincePlan < slabPageBytes) return 0;
    this.#freedSincePlan = 0;
    const byClass: number[][] = [];
    for (let p = 0; p < this.pages.length; p++) if (this.pages[p] !== null) (byClass[this.#pageClass[p]!] ??= []).push(p);
    for (let cls = 0; cls < byClass.length; cls++) {
      const pages = byClass[cls];
      if (pages === undefined || pages.length < 2) continue;
      const perPage = Math.floor(slabPageBytes / classBytes(cls));
      const blocks = pages.length * perPage;
      const free = blocks - this.#classLive[cls]!;
      if (free < perPage || free < blocks * compactFreeShareMin) continue;
      pages.sort((a, b) => this.#pageUsed[a]! - this.#pageUsed[b]!);
      // The sparsest pages go while the rest have room for what they hold.
      let moved = 0;
      let room = free;
      let m = 0;
      while (m < pages.length - 1) {
        const used = this.#pageUsed[pages[m]!]!;
        const roomLeft = room - (perPage - used); // the page's own free blocks no longer count as room
        if (moved + used > roomLeft) break;
        moved += used;
        room = roomLeft;
        m++;
      }
      for (let i = 0; i < m; i++) this.#markMoving(pages[i]!, cls);
    }
    return this.#movingCount;
  }

  /** The store moved every entry off the marked pages: they were released as they emptied. */
  endCompaction(): void {
    assert(this.#movingCount === 0, "slab: compaction ended with entries left on a page being emptied");
  }

  /**
   * Stops a compaction with entries left on marked pages (no block to move them to: the page cap).
   * The pages are ordinary again: the next block freed on one puts it back among its class's
   * partial pages; the blocks freed on them while marked were not kept, and come back when their
   * page empties and is released.
   */
  cancelCompaction(): void {
    for (let p = 0; p < this.pages.length; p++) this.#moving[p] = false;
    this.#movingCount = 0;
  }

  #markMoving(p: number, cls: number): void {
    this.#moving[p] = true;
    this.#movingCount++;
    this.#pageFree[p] = [];
    if (this.#current[cls] === p) this.#current[cls] = -1;
    if (this.#inPartial[p]) this.#dropPartial(p, cls);
    if (this.#pageUsed[p] === 0) this.#release(p);
  }

  /** The page the next block of class `cls` comes from when the current one is full: a partial page, or a new one. */
  #nextPage(cls: number, bytes: number): number {
    const partial = (this.#partial[cls] ??= []);
    let p: number;
    // While shared, a partial page only if made since (rare: they fill up before they free).
    let at = partial.length - 1;
    if (this.#sharing) while (at >= 0 && this.#shared[partial[at]!] === true) at--;
    if (at >= 0) {
      p = partial[at]!;
      partial.splice(at, 1);
      this.#inPartial[p] = false;
    } else {
      p = this.#newPage(cls);
    }
    // The full page it replaces rejoins `partial` when one of its blocks is freed.
    this.#current[cls] = p;
    assert(this.#pageFree[p]!.length > 0 || this.#pageBump[p]! + bytes <= slabPageBytes, "slab: a page chosen for room has none");
    return p;
  }

  #newPage(cls: number): number {
    if (this.#pageCount >= this.pagesMax) throw slabFull(this.pagesMax);
    const p = this.#freeSlots.length > 0 ? this.#freeSlots.pop()! : this.pages.length;
    this.pages[p] = this.#spareAt < this.#spare.length ? this.#spare[this.#spareAt++]! : pageMemory(this.#pageCount);
    this.#pageClass[p] = cls;
    this.#pageUsed[p] = 0;
    this.#pageBump[p] = 0;
    this.#pageFree[p] = [];
    this.#moving[p] = false;
    this.#inPartial[p] = false;
    this.#shared[p] = false;
    this.#classLive[cls] ??= 0;
    this.#pageCount++;
    this.full = this.#pageCount >= this.pagesMax;
    if (this.#ahead > 0) this.#topUpSpare();
    return p;
  }

  /**
   * Keeps `n` pages made ahead of need (0: none, letting go of those left), which new pages take in
   * order, each faulted in by a thread of the native library's own as it is made (`prefault`):
   * recovery fills a page in ~16 ms here, and the kernel's zeroing of the next one on its first
   * write then happens on the other core, not in the loader's writes. While a slab on huge pages
   * shares pages of small blocks with a snapshot child (`share`), at least slabSharedPagesAhead.
   */
  prefaultAhead(n: number): void {
    this.#aheadAsked = n;
    this.#ahead = this.#aheadForChild ? Math.max(n, slabSharedPagesAhead) : n;
    if (this.#ahead === 0) this.#dropSpare();
    else this.#topUpSpare();
  }

  /** Lets go of the spare pages no new page took. */
  #dropSpare(): void {
    this.#released += (this.#spare.length - this.#spareAt) * slabPageBytes;
    this.#spare = [];
    this.#spareAt = 0;
  }

  #topUpSpare(): void {
    if (this.#spareAt > 64) {
      this.#spare = this.#spare.slice(this.#spareAt);
      this.#spareAt = 0;
    }
    for (let spare = this.#spare.length - this.#spareAt; spare < this.#ahead && this.#pageCount + spare < this.pagesMax; spare++) {
      const page = pageMemory(this.#pageCount + spare);
      this.#spare.push(page);
      prefault([[page, slabPageBytes]]);
    }
  }

  #release(p: number): void {
    const cls = this.#pageClass[p]!;
    if (this.#moving[p]) {
      this.#moving[p] = false;
      this.#movingCount--;
    }
    if (this.#inPartial[p]) this.#dropPartial(p, cls);
    if (this.#current[cls] === p) this.#current[cls] = -1;
    this.pages[p] = null;
    this.#shared[p] = false;
    this.#pageFree[p] = [];
    this.#pageBump[p] = 0;
    this.#pageCount--;
    this.full = false;
    this.#released += slabPageBytes;
    this.#freeSlots.push(p);
  }

  #dropPartial(p: number, cls: number): void {
    const list = this.#partial[cls]!;
    list.splice(list.indexOf(p), 1);
    this.#inPartial[p] = false;
  }
}

/** True when an entry of this many bytes lives outside the slab, in its own buffer. */
export function isLarge(size: number): boolean {
  return size >= slabLargeBytesMin;
}
