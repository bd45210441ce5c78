// CRC32C throughput: the native library (CPU instructions) against the TypeScript slice-by-8
// fallback, over buffers of WAL-record and snapshot-chunk sizes. `bun run bench/crc.ts`

import { crc32cNative, crc32cTs, loadNative, nativeStatus } from "../src/native/index.ts";

loadNative();
console.log(`native: ${nativeStatus()}`);
const total = 256 << 20;
for (const size of [128, 4096, 1 << 20, 64 << 20]) {
  const buf = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
  const reps = Math.max(1, Math.floor(total / size));
  const row: string[] = [];
  for (const [name, f] of [
    ["native", (b: Uint8Array) => crc32cNative(b, 0, b.length)!],
    ["typescript", (b: Uint8Array) => crc32cTs(b, 0, b.length)],
  ] as const) {
    let x = 0;
    for (let r = 0; r < Math.min(reps, 100); r++) x ^= f(buf); // warm up
    const t = performance.now();
    for (let r = 0; r < reps; r++) x ^= f(buf);
    const s = (performance.now() - t) / 1000;
    row.push(`${name} ${((reps * size) / s / 1e9).toFixed(2)} GB/s`);
    if (x === 0.5) console.log(x);
  }
  console.log(`${String(size).padStart(9)} B: ${row.join(", ")}`);
}
