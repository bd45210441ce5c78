// Slab memory for entries: key and value bytes live in large shared pages, not one object each.
// This keeps a million small entries at ~block size each and gives the GC nothing to trace.

import { slabLargeBytesMin, slabPageBytes } from "../constants.ts";

/** Smallest class for sizes up to 128 bytes: 8-byte steps; above that four steps per power of two. */
export function sizeClass(size: number): number {
  if (size <= 128) return (size + 7) >> 3;
  const p = 31 - Math.clz32(size - 1); // size is in (2^p, 2^(p+1)]
  const step = 1 << (p - 2);
  return 16 + (p - 7) * 4 + Math.ceil((size - (1 << p)) / step);
}

/** The block size of a class: the largest size that maps to it. */
export function classBytes(cls: number): number {
  if (cls <= 16) return cls << 3;
  const q = cls - 17;
  const p = 7 + (q >> 2);
  return (1 << p) + ((q & 3) + 1) * (1 << (p - 2));
}

/**
 * A bump allocator over fixed pages with one free list per size class. Freed blocks are reused by
 * later entries of the same class; pages are never returned (like memcached's slabs).
 */
export class Slab {
  /** Pages, each `slabPageBytes` long. Blocks never straddle pages. */
  readonly pages: Buffer[] = [];
  #bump = slabPageBytes; // offset of the next free byte in the last page (full: forces a new page)
  #free: number[][] = [];
  #bytesInUse = 0;

  /** Allocates a block of at least `size` bytes (< slabLargeBytesMin); returns page * pageBytes + offset. */
  alloc(size: number): number {
    const cls = sizeClass(size);
    const list = this.#free[cls];
    const bytes = classBytes(cls);
    this.#bytesInUse += bytes;
    if (list !== undefined && list.length > 0) return list.pop()!;
    if (this.#bump + bytes > slabPageBytes) {
      this.pages.push(Buffer.allocUnsafeSlow(slabPageBytes));
      this.#bump = 0;
    }
    const handle = (this.pages.length - 1) * slabPageBytes + this.#bump;
    this.#bump += bytes;
    return handle;
  }

  /** Returns a block of the given requested size to its class's free list. */
  free(handle: number, size: number): void {
    const cls = sizeClass(size);
    this.#bytesInUse -= classBytes(cls);
    (this.#free[cls] ??= []).push(handle);
  }

  /** Bytes held by live blocks (including rounding up to the class size). */
  get bytesInUse(): number {
    return this.#bytesInUse;
  }

  /** Bytes of all pages, used or not. */
  get bytesReserved(): number {
    return this.pages.length * slabPageBytes;
  }
}

/** True when an entry of this many bytes lives outside the slab, in its own buffer. */
export function isLarge(size: number): boolean {
  return size >= slabLargeBytesMin;
}
