// allocHugeAligned: the buffers the slab takes once it is large start on a 2 MiB boundary (so all
// of each can be transparent huge pages), are as long as asked, and are the caller's alone. A
// large store's entry records ask for huge pages too (where the kernel has them at all).

import { expect, test } from "bun:test";
import { ptr } from "bun:ffi";
import { adviseHuge, allocHugeAligned, collapse, loadNative } from "../../src/native/index.ts";
import { slabPageBytes } from "../../src/constants.ts";
import { existsSync, readFileSync } from "node:fs";
import { hugeKbAt } from "../support/resident.ts";
import { Store } from "../../src/engine/store.ts";

const thpSetting = "/sys/kernel/mm/transparent_hugepage/enabled";

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

const thpOff = !existsSync(thpSetting) || readFileSync(thpSetting, "latin1").includes("[never]");

test.skipIf(thpOff)("a store with room for 2M ids has its entry records on huge pages once faulted in", async () => {
  const store = new Store();
  store.reserve(1 << 21); // 48 MiB of records, faulted in by the native prefault thread
  const records = store.snapshotLayout().records;
  const deadline = Date.now() + 20_000;
  while (hugeKbAt(ptr(records)) < 16 * 1024 && Date.now() < deadline) await Bun.sleep(50);
  expect(hugeKbAt(ptr(records))).toBeGreaterThanOrEqual(16 * 1024);
}, 30_000);

test.skipIf(thpOff)("collapse puts memory that was faulted in 4 KiB pages back on huge pages (a snapshot child's split)", async () => {
  expect(loadNative()).toBe(true);
  const bytes = 16 * 1024 * 1024;
  // Memory the allocator hands out again may still be on huge pages from an earlier test of this
  // process (slab pages made ahead are faulted in, and freed memory is kept a while): such a
  // buffer is kept aside and a fresh one taken, so that this one starts on 4 KiB pages.
  const aside: Uint8Array[] = [];
  let whole = new Uint8Array(0);
  let buf = new Int32Array(0);
  for (let tries = 0; tries < 8; tries++) {
    whole = new Uint8Array(bytes + twoMiB);
    whole.fill(7); // faulted in without the huge-page advice: 4 KiB pages, unless reused (above)
    // The 2 MiB-aligned 16 MiB inside, advised afterwards, is a mapping of its own (madvise splits
    // it off), so smaps' AnonHugePages for it counts this memory and nothing a test run left beside it.
    buf = new Int32Array(whole.buffer, (twoMiB - (ptr(whole) % twoMiB)) % twoMiB, bytes / 4);
    expect(adviseHuge(buf)).toBe(0);
    if (hugeKbAt(ptr(buf)) === 0) break;
    aside.push(whole);
  }
  expect(hugeKbAt(ptr(buf))).toBe(0);
  expect(collapse([[buf, bytes]])).toBe(0);
  const deadline = Date.now() + 20_000;
  while (hugeKbAt(ptr(buf)) < bytes / 1024 && Date.now() < deadline) await Bun.sleep(50);
  // All eight 2 MiB pages, and what they hold unchanged.
  expect(hugeKbAt(ptr(buf))).toBe(bytes / 1024);
  expect(whole.every((b) => b === 7)).toBe(true);
}, 30_000);
