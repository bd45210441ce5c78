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
