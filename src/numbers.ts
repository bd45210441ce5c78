// Integers read straight from bytes (request arguments, stored counter values), as both protocols
// and the engine read them. Everything returns a sentinel instead of throwing, so bad input stays
// on the fast path.

/** Not a valid integer, from the parsers below. */
export const INVALID = Number.NaN;

/**
 * A signed decimal of at most 15 digits (so exact as a number), optional leading '-'.
 * NaN when malformed or longer.
 */
export function parseSmallInt(b: Uint8Array, s: number, e: number): number {
  const neg = e > s && b[s] === 45;
  const from = neg ? s + 1 : s;
  if (e <= from || e - from > 15) return INVALID;
  let n = 0;
  for (let i = from; i < e; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return INVALID;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** True when a bigint fits a signed 64-bit integer. */
export function isI64(n: bigint): boolean {
  return n >= I64_MIN && n <= I64_MAX;
}

/**
 * A signed 64-bit integer in canonical decimal ("-?[1-9][0-9]*" or "0", as Redis accepts):
 * a number when it has at most 15 digits, a bigint when longer, null when malformed or out of range.
 */
export function parseI64(b: Uint8Array, s: number, e: number): number | bigint | null {
  const neg = e > s && b[s] === 45;
  const from = neg ? s + 1 : s;
  const digits = e - from;
  if (digits <= 0 || digits > 19) return null;
  if (b[from] === 48 && (digits > 1 || neg)) return null; // leading zero or "-0"
  let n = 0;
  for (let i = from; i < e; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return null;
    if (digits <= 15) n = n * 10 + d;
  }
  if (digits <= 15) return neg ? -n : n;
  const big = BigInt(Buffer.from(b.buffer, b.byteOffset + s, e - s).toString("latin1"));
  return isI64(big) ? big : null;
}

/**
 * An unsigned 64-bit integer (VER). Returns the number when ≤ 2^53, Infinity for a valid larger
 * u64 (no stored version can be that large), NaN when malformed or above 2^64-1.
 */
export function parseU64(b: Uint8Array, s: number, e: number): number {
  const digits = e - s;
  if (digits <= 0 || digits > 20) return INVALID;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return INVALID;
    n = n * 10 + d;
  }
  if (n <= Number.MAX_SAFE_INTEGER) return n;
  const big = BigInt(Buffer.from(b.buffer, b.byteOffset + s, digits).toString("latin1"));
  return big <= 2n ** 64n - 1n ? Infinity : INVALID;
}
