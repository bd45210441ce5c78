// CRC32C (Castagnoli) in TypeScript, slice-by-8: what the WAL and snapshots use when the native
// library is not available. About a byte per cycle — fast enough not to be the bottleneck of a
// disk-bound WAL, well behind the CPU instruction the native library uses.

const poly = 0x82f63b78;

/** table[t][b]: the CRC of byte b followed by t zero bytes; the eight are used together per 8 bytes. */
const table = (() => {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) {
      const prev = t[(s - 1) * 256 + i]!;
      t[s * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

/** CRC32C of b[start..end), continuing from `seed` (0 to start a new one). Returns an unsigned 32-bit number. */
export function crc32cTs(b: Uint8Array, start: number, end: number, seed = 0): number {
  const t = table;
  let c = ~seed;
  let i = start;
  for (const last = end - 8; i <= last; i += 8) {
    const lo = (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) ^ c;
    c =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + b[i + 4]!]! ^
      t[512 + b[i + 5]!]! ^
      t[256 + b[i + 6]!]! ^
      t[b[i + 7]!]!;
  }
  for (; i < end; i++) c = (c >>> 8) ^ t[(c ^ b[i]!) & 0xff]!;
  return ~c >>> 0;
}

/** a · b modulo the polynomial, both reflected (bit 31 is x^0), as zlib's crc32_combine computes it. */
function multmodp(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ poly : b >>> 1;
  }
  return p >>> 0;
}

/**
 * crc32c(value, seed) from `reg0`, the raw register (no inversions) over the value's `n` bytes
 * from 0: the seed's register advanced over n zero bytes (x^(8n) · ~seed) plus reg0, inverted.
 * The native library's osprey_crc32c_extend, in TypeScript.
 */
export function crc32cExtendTs(seed: number, n: number, reg0: number): number {
  let x2n = 0x40000000; // x^1
  for (let k = 0; k < 3; k++) x2n = multmodp(x2n, x2n); // x^8: one byte
  let shift = 0x80000000; // x^0
  for (let m = n; m > 0; m = Math.floor(m / 2)) {
    if (m % 2 === 1) shift = multmodp(x2n, shift);
    x2n = multmodp(x2n, x2n);
  }
  return ~(multmodp(shift, ~seed >>> 0) ^ reg0) >>> 0;
}
