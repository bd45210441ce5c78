// Copying bytes between buffers without allocating: the one primitive every hot path shares.

const nativeCopy = Buffer.prototype.copy;

/**
 * Copies src[s..e) to dst at `at`. Short runs (keys, small numbers) go byte by byte; longer ones
 * use Buffer's native copy, which unlike `dst.set(src.subarray(…))` creates no view object, so
 * copying a value leaves no garbage behind.
 */
export function copyBytes(src: Uint8Array, s: number, e: number, dst: Uint8Array, at: number): void {
  const n = e - s;
  if (n <= 16) {
    for (let i = 0; i < n; i++) dst[at + i] = src[s + i]!;
    return;
  }
  nativeCopy.call(src, dst, at, s, e);
}

/** Little-endian u32 at `at`. */
export function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

const two32 = 4294967296;

/**
 * Little-endian signed 64-bit integer from a double holding an integer in i64's range (exact for
 * every such double, expiry times past 2^53 included): no BigInt, no allocation.
 */
export function putI64(b: Uint8Array, at: number, v: number): void {
  const hi = Math.floor(v / two32);
  putU32(b, at, v - hi * two32);
  putU32(b, at + 4, hi >>> 0);
}

/** A copy of `a` with room for `n` elements: token offset arrays grow by this as arguments arrive. */
export function grown(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const out = new Int32Array(n);
  out.set(a);
  return out;
}
