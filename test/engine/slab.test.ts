// Slab size classes, the page allocator (pages of one class, a free list per page), pages going
// back when they empty, and compaction's page marking.

import { describe, expect, test } from "bun:test";
import { slabLargeBytesMin, slabPageBytes, slabInPlaceBlockBytesMin, slabSharedPagesAhead } from "../../src/constants.ts";
import { InvariantError } from "../../src/assert.ts";
import { blockBytes, classBytes, isLarge, sizeClass, Slab } from "../../src/engine/slab.ts";
import { loadNative } from "../../src/native/index.ts";
import { ptr } from "bun:ffi";
import { residentBytes } from "../support/resident.ts";

describe("size classes", () => {
  test("sizeClass never decreases as the size grows", () => {
    let prev = sizeClass(1);
    for (let size = 2; size <= slabLargeBytesMin; size++) {
      const cls = sizeClass(size);
      expect(cls === prev || cls === prev + 1).toBe(true);
      prev = cls;
    }
  });

  test("every size fits its class's block and not the block of the class below", () => {
    for (let size = 1; size <= slabLargeBytesMin; size++) {
      const cls = sizeClass(size);
      if (classBytes(cls) < size) throw new Error(`size ${size}: class ${cls} holds only ${classBytes(cls)}`);
      if (cls > 1 && classBytes(cls - 1) >= size) throw new Error(`size ${size}: class ${cls - 1} would already hold it`);
    }
  });

  test("classBytes strictly increases and maps back to its own class", () => {
    const last = sizeClass(slabLargeBytesMin);
    for (let cls = 1; cls <= last; cls++) {
      expect(sizeClass(classBytes(cls))).toBe(cls);
      expect(classBytes(cls)).toBeGreaterThan(classBytes(cls - 1));
    }
  });

  test("sizes up to 8 take 8 bytes, up to 128 the next multiple of 4, and larger ones waste at most a quarter", () => {
    expect(classBytes(sizeClass(1))).toBe(8);
    expect(classBytes(sizeClass(9))).toBe(12);
    expect(classBytes(sizeClass(116))).toBe(116);
    expect(classBytes(sizeClass(117))).toBe(120);
    expect(classBytes(sizeClass(128))).toBe(128);
    expect(classBytes(sizeClass(129))).toBe(160);
    for (let size = 9; size <= 128; size++) expect(classBytes(sizeClass(size)) - size).toBeLessThan(4);
    for (let size = 129; size <= slabLargeBytesMin; size++) expect(classBytes(sizeClass(size))).toBeLessThanOrEqual(size * 1.25);
  });

  test("blockBytes is classBytes of the size's class at every size", () => {
    for (let size = 1; size < slabLargeBytesMin; size++) if (blockBytes(size) !== classBytes(sizeClass(size))) throw new Error(`size ${size}: blockBytes ${blockBytes(size)}, class ${classBytes(sizeClass(size))}`);
  });

  test("isLarge starts at slabLargeBytesMin", () => {
    expect(isLarge(slabLargeBytesMin - 1)).toBe(false);
    expect(isLarge(slabLargeBytesMin)).toBe(true);
  });
});

describe("Slab", () => {
  test("a freed block is reused by the next allocation of the same class", () => {
    const slab = new Slab();
    const a = slab.alloc(100);
    const b = slab.alloc(100);
    expect(b).not.toBe(a);
    slab.free(a, 100);
    expect(slab.alloc(97)).toBe(a); // 97 and 100 share a class
  });

  test("a freed block is not handed to another class", () => {
    const slab = new Slab();
    const a = slab.alloc(100);
    slab.free(a, 100);
    const c = slab.alloc(1000);
    expect(c).not.toBe(a);
    expect(slab.alloc(100)).toBe(a);
  });

  test("free lists hand back blocks last freed first and the bump pointer continues after them", () => {
    const slab = new Slab();
    const handles = [slab.alloc(40), slab.alloc(40), slab.alloc(40)];
    slab.free(handles[0]!, 40);
    slab.free(handles[2]!, 40);
    expect(slab.alloc(40)).toBe(handles[2]!);
    expect(slab.alloc(40)).toBe(handles[0]!);
    expect(slab.alloc(40)).toBe(handles[2]! + classBytes(sizeClass(40)));
  });

  test("bytesInUse counts whole blocks and drops them when freed", () => {
    const slab = new Slab();
    expect(slab.bytesInUse).toBe(0);
    const a = slab.alloc(129);
    const b = slab.alloc(3);
    expect(slab.bytesInUse).toBe(160 + 8);
    slab.free(a, 129);
    expect(slab.bytesInUse).toBe(8);
    slab.free(b, 3);
    expect(slab.bytesInUse).toBe(0);
    // One page per class, each kept while it is its class's current page.
    expect(slab.bytesReserved).toBe(2 * slabPageBytes);
  });

  test("blocks never straddle pages and a full page starts a new one", () => {
    const slab = new Slab();
    const size = slabLargeBytesMin - 1;
    const block = classBytes(sizeClass(size));
    const perPage = Math.floor(slabPageBytes / block);
    const seen = new Set<number>();
    for (let i = 0; i < 2 * perPage + 1; i++) {
      const h = slab.alloc(size);
      expect(seen.has(h)).toBe(false);
      seen.add(h);
      const offset = h % slabPageBytes;
      expect(offset + block).toBeLessThanOrEqual(slabPageBytes);
    }
    expect(slab.pages.length).toBe(3);
    for (const page of slab.pages) expect(page!.length).toBe(slabPageBytes);
  });

  test("blocks of different sizes do not overlap", () => {
    const slab = new Slab();
    const spans: [number, number][] = [];
    let seed = 7;
    for (let i = 0; i < 3000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const size = 1 + (seed % 5000);
      const h = slab.alloc(size);
      spans.push([h, h + classBytes(sizeClass(size))]);
    }
    spans.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  });
});

/** Handles of `n` blocks of `size` bytes. */
function fill(slab: Slab, size: number, n: number): number[] {
  return Array.from({ length: n }, () => slab.alloc(size));
}

const pageOf = (h: number) => Math.floor(h / slabPageBytes);

describe("Slab pages coming back", () => {
  const size = 1000; // class 1024: 4096 blocks a page
  const perPage = slabPageBytes / classBytes(sizeClass(size));

  test("a page whose last block is freed is released, except its class's current page", () => {
    const slab = new Slab();
    const hs = fill(slab, size, 3 * perPage);
    expect(slab.bytesReserved).toBe(3 * slabPageBytes);
    for (const h of hs.slice(0, perPage)) slab.free(h, size); // all of page 0
    expect(slab.bytesReserved).toBe(2 * slabPageBytes);
    expect(slab.pages[pageOf(hs[0]!)]).toBeNull();
    expect(slab.takeReleasedBytes()).toBe(slabPageBytes);
    expect(slab.takeReleasedBytes()).toBe(0);
    for (const h of hs.slice(2 * perPage)) slab.free(h, size); // all of page 2, the current one
    expect(slab.bytesReserved).toBe(2 * slabPageBytes);
    // A released slot is reused by the next new page.
    fill(slab, size, perPage + 1);
    expect(slab.bytesReserved).toBe(3 * slabPageBytes);
    expect(slab.pages.length).toBe(3);
  });

  test("a freed block on a full page is reused before any new page is taken", () => {
    const slab = new Slab();
    const hs = fill(slab, size, 2 * perPage);
    slab.free(hs[5]!, size);
    expect(slab.alloc(size)).toBe(hs[5]!);
    expect(slab.bytesReserved).toBe(2 * slabPageBytes);
  });

  test("while shared with a snapshot child, blocks come only from pages made since, and freed ones wait until unshared", () => {
    const slab = new Slab();
    const hs = fill(slab, size, perPage + 10); // page 0 full, page 1 (current) with room
    slab.free(hs[5]!, size); // a free block on page 0
    slab.share();
    expect(slab.isShared(0)).toBe(true);
    expect(slab.isShared(1)).toBe(true);
    const h = slab.alloc(size);
    expect(pageOf(h)).toBe(2); // neither the current page's room nor page 0's free block
    expect(slab.isShared(2)).toBe(false);
    slab.free(hs[perPage]!, size); // a block of shared page 1, freed meanwhile
    expect(pageOf(slab.alloc(size))).toBe(2);
    slab.unshare();
    expect(slab.isShared(0)).toBe(false);
    fill(slab, size, perPage - 2); // fills page 2
    // Unshared, the freed blocks of the old pages are taken again before any new page.
    expect([hs[5], hs[perPage]]).toContain(slab.alloc(size));
    expect(slab.bytesReserved).toBe(3 * slabPageBytes);
  });

  test("pages of blocks a memory page or larger are not shared with a snapshot child: their blocks are taken and reused as before", () => {
    const slab = new Slab();
    const big = slabInPlaceBlockBytesMin; // its class's blocks are at least a 4 KiB memory page
    const bigs = fill(slab, big, 3);
    const small = fill(slab, size, 2);
    slab.share();
    expect(slab.isShared(pageOf(bigs[0]!))).toBe(false);
    expect(slab.isShared(pageOf(small[0]!))).toBe(true);
    // The big class's current page keeps taking blocks, and a block freed meanwhile is reused at once.
    expect(pageOf(slab.alloc(big))).toBe(pageOf(bigs[0]!));
    slab.free(bigs[1]!, big);
    expect(slab.alloc(big)).toBe(bigs[1]!);
    // The small class still goes to a page made since.
    expect(pageOf(slab.alloc(size))).not.toBe(pageOf(small[0]!));
    slab.unshare();
  });

  test("planning marks nothing until a page's worth was freed, nor when the class has little room to spare", () => {
    const slab = new Slab();
    const hs = fill(slab, size, 4 * perPage);
    for (let i = 0; i < perPage / 2; i++) slab.free(hs[i * 2]!, size); // half of page 0: 1/8 of the class
    expect(slab.planCompaction()).toBe(0);
    for (let i = perPage / 2; i < perPage; i++) slab.free(hs[i * 2]!, size); // half of pages 0 and 1: 1/4, two pages' worth
    expect(slab.planCompaction()).toBeGreaterThan(0);
  });

  test("compaction marks the sparsest pages the rest have room for, allocation avoids them, and moving their blocks out releases them", () => {
    const slab = new Slab();
    const hs = fill(slab, size, 4 * perPage);
    const live = new Set(hs);
    // Every other block of every page: each page half full, two pages' worth free.
    for (let i = 0; i < hs.length; i += 2) {
      slab.free(hs[i]!, size);
      live.delete(hs[i]!);
    }
    expect(slab.planCompaction()).toBe(2);
    const marked = [0, 1, 2, 3].filter((p) => slab.isMoving(p));
    expect(marked.length).toBe(2);
    expect(slab.bytesInUse).toBe(2 * perPage * classBytes(sizeClass(size)));
    slab.takeReleasedBytes();
    for (const h of [...live]) {
      if (!slab.isMoving(pageOf(h))) continue;
      const to = slab.alloc(size);
      expect(slab.isMoving(pageOf(to))).toBe(false);
      slab.free(h, size);
      live.delete(h);
      live.add(to);
    }
    expect(slab.movingPages).toBe(0);
    slab.endCompaction();
    expect(slab.bytesReserved).toBe(2 * slabPageBytes);
    expect(slab.takeReleasedBytes()).toBe(2 * slabPageBytes);
    expect(new Set([...live].map(pageOf)).size).toBe(2);
    // The pages left are full: the next block starts a new page.
    slab.alloc(size);
    expect(slab.bytesReserved).toBe(3 * slabPageBytes);
  });

  test("ending a compaction with a block left on a marked page is an invariant failure", () => {
    const slab = new Slab();
    const hs = fill(slab, size, 4 * perPage);
    for (let i = 0; i < hs.length; i += 2) slab.free(hs[i]!, size);
    expect(slab.planCompaction()).toBeGreaterThan(0);
    expect(() => slab.endCompaction()).toThrow(InvariantError);
  });
});

describe("Slab pages and huge pages", () => {
  test("the 65th page and later start on a 2 MiB boundary, so all of each can be a huge page", () => {
    expect(loadNative()).toBe(true);
    const slab = new Slab();
    const size = 60_000;
    const perPage = Math.floor(slabPageBytes / classBytes(sizeClass(size)));
    // Blocks are handed out, never written: the pages' memory stays untouched and not resident.
    for (let i = 0; i < perPage * 66; i++) slab.alloc(size);
    expect(slab.pages.length).toBe(66);
    for (const p of [64, 65]) expect(ptr(slab.pages[p]!) % (2 * 1024 * 1024)).toBe(0);
    for (const p of slab.pages) expect(p!.length).toBe(slabPageBytes);
  });
});

describe("Slab pages made ahead of need (recovery, and while a snapshot child shares the slab)", () => {
  const size = 1000;
  const perPage = slabPageBytes / classBytes(sizeClass(size));

  test("new pages taken from the spare ones are resident before a block of them is written, and ending lets go of those left", async () => {
    expect(loadNative()).toBe(true);
    const slab = new Slab();
    slab.prefaultAhead(4);
    expect(slab.bytesReserved).toBe(0);
    // Blocks are handed out, never written: only the native thread's faulting makes the pages resident.
    fill(slab, size, 2 * perPage);
    expect(slab.bytesReserved).toBe(2 * slabPageBytes);
    const deadline = Date.now() + 20_000;
    const resident = () => residentBytes(slab.pages[0]!) + residentBytes(slab.pages[1]!);
    while (resident() < 1.9 * slabPageBytes && Date.now() < deadline) await Bun.sleep(20);
    expect(resident()).toBeGreaterThanOrEqual(1.9 * slabPageBytes);
    // Still four ahead: the two taken were replaced, and go when loading ends.
    slab.prefaultAhead(0);
    expect(slab.takeReleasedBytes()).toBe(4 * slabPageBytes);
    fill(slab, size, perPage);
    expect(slab.bytesReserved).toBe(3 * slabPageBytes);
  }, 30_000);

  test("while a slab on huge pages shares pages of small blocks with a snapshot child, the next pages are made ahead and resident before a block of them is written; unshared, those left go", async () => {
    expect(loadNative()).toBe(true);
    const slab = new Slab();
    const small = 3000; // below slabInPlaceBlockBytesMin: its pages are shared
    const perSmallPage = Math.floor(slabPageBytes / classBytes(sizeClass(small)));
    // 64 pages (256 MiB): blocks handed out, never written, so their memory is never resident.
    fill(slab, small, 64 * perSmallPage);
    expect(slab.bytesReserved).toBe(64 * slabPageBytes);
    slab.share();
    // Every overwrite now needs a block of a page made since: that page is a spare, faulted in.
    fill(slab, small, 1);
    const taken = slab.pages[64]!;
    const deadline = Date.now() + 20_000;
    while (residentBytes(taken) < 0.95 * slabPageBytes && Date.now() < deadline) await Bun.sleep(20);
    expect(residentBytes(taken)).toBeGreaterThanOrEqual(0.95 * slabPageBytes);
    expect(slab.takeReleasedBytes()).toBe(0);
    slab.unshare();
    expect(slab.takeReleasedBytes()).toBe(slabSharedPagesAhead * slabPageBytes);
  }, 30_000);

  test("a small slab, or one whose shared pages are all of large blocks, makes none ahead; recovery's own pages ahead outlast a share", () => {
    const tiny = new Slab();
    fill(tiny, size, perPage + 1);
    tiny.share();
    tiny.unshare();
    expect(tiny.takeReleasedBytes()).toBe(0);

    const large = new Slab();
    fill(large, slabInPlaceBlockBytesMin, 64 * Math.floor(slabPageBytes / classBytes(sizeClass(slabInPlaceBlockBytesMin))));
    large.share();
    large.unshare();
    expect(large.takeReleasedBytes()).toBe(0);

    const recovering = new Slab();
    recovering.prefaultAhead(slabSharedPagesAhead + 1);
    fill(recovering, size, 64 * perPage);
    recovering.share();
    recovering.unshare();
    expect(recovering.takeReleasedBytes()).toBe(0);
    recovering.prefaultAhead(0);
    expect(recovering.takeReleasedBytes()).toBe((slabSharedPagesAhead + 1) * slabPageBytes);
  });

  test("spare pages never take the slab past pagesMax", () => {
    const slab = new Slab(3);
    slab.prefaultAhead(8);
    fill(slab, size, 2 * perPage);
    slab.prefaultAhead(0);
    // Two held, so at most one could be spare.
    expect(slab.takeReleasedBytes()).toBe(slabPageBytes);
    fill(slab, size, perPage);
    expect(slab.bytesReserved).toBe(3 * slabPageBytes);
    expect(() => fill(slab, size, perPage)).toThrow();
  });
});
