// Test support: how much of a buffer's memory is resident, read from /proc/self/pagemap (one
// 64-bit entry per 4 KiB page; bit 63 says present, bit 62 swapped). Exact for the buffer itself,
// where the process's RSS moves with everything else a test run allocates and frees.

import { ptr } from "bun:ffi";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";

const pageBytes = 4096;

/** Bytes of whole 4 KiB pages within the first `bytes` of `view` that are resident now. */
export function residentBytes(view: Uint8Array | Int32Array, bytes = view.byteLength): number {
  const from = Math.ceil(ptr(view) / pageBytes);
  const to = Math.floor((ptr(view) + Math.min(bytes, view.byteLength)) / pageBytes);
  if (to <= from) return 0;
  const entries = Buffer.alloc((to - from) * 8);
  const fd = openSync("/proc/self/pagemap", "r");
  try {
    readSync(fd, entries, 0, entries.length, from * 8);
  } finally {
    closeSync(fd);
  }
  let present = 0;
  for (let i = 0; i < to - from; i++) if ((entries[i * 8 + 7]! & 0x80) !== 0) present++;
  return present * pageBytes;
}

/** AnonHugePages of the mapping of /proc/self/smaps that holds `address`, in kB (-1 when none does). */
export function hugeKbAt(address: number): number {
  const lines = readFileSync("/proc/self/smaps", "latin1").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(lines[i]!);
    if (m === null || address < parseInt(m[1]!, 16) || address >= parseInt(m[2]!, 16)) continue;
    for (let j = i + 1; j < lines.length && !/^[0-9a-f]+-/.test(lines[j]!); j++) {
      const h = /^AnonHugePages:\s+(\d+) kB/.exec(lines[j]!);
      if (h !== null) return Number(h[1]);
    }
  }
  return -1;
}
