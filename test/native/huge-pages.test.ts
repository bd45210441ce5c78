// allocHugeAligned: the buffers the slab takes once it is large start on a 2 MiB boundary (so all
// of each can be transparent huge pages), are as long as asked, and are the caller's alone.

import { expect, test } from "bun:test";
import { ptr } from "bun:ffi";
import { allocHugeAligned, loadNative } from "../../src/native/index.ts";
import { slabPageBytes } from "../../src/constants.ts";

const twoMiB = 2 * 1024 * 1024;

test("a huge-aligned slab page starts on a 2 MiB boundary, is slabPageBytes long and shares no memory with the next", () => {
  expect(loadNative()).toBe(true);
  const pages = Array.from({ length: 4 }, () => allocHugeAligned(slabPageBytes));
  for (const p of pages) {
    expect(p.length).toBe(slabPageBytes);
    expect(ptr(p) % twoMiB).toBe(0);
  }
  pages.forEach((p, i) => p.fill(i + 1));
  pages.forEach((p, i) => {
    expect(p[0]).toBe(i + 1);
    expect(p[p.length - 1]).toBe(i + 1);
  });
});

test("a size that is not a multiple of 2 MiB gets a plain buffer of that size", () => {
  const b = allocHugeAligned(twoMiB + 4096);
  expect(b.length).toBe(twoMiB + 4096);
});
