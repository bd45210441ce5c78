// Slab size classes and the page allocator with per-class free lists.

import { describe, expect, test } from "bun:test";
import { slabLargeBytesMin, slabPageBytes } from "../../src/constants.ts";
import { classBytes, isLarge, sizeClass, Slab } from "../../src/engine/slab.ts";

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

  test("small sizes round up to 8 bytes and larger ones waste at most a quarter", () => {
    expect(classBytes(sizeClass(1))).toBe(8);
    expect(classBytes(sizeClass(9))).toBe(16);
    expect(classBytes(sizeClass(128))).toBe(128);
    expect(classBytes(sizeClass(129))).toBe(160);
    for (let size = 129; size <= slabLargeBytesMin; size++) expect(classBytes(sizeClass(size))).toBeLessThanOrEqual(size * 1.25);
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
    expect(slab.bytesReserved).toBe(slabPageBytes);
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
    for (const page of slab.pages) expect(page.length).toBe(slabPageBytes);
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
