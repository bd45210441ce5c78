// INCRBYFLOAT's arithmetic as Redis does it on x86-64: C's `long double` (the 80-bit extended
// format, a 64-bit significand), read as glibc's strtold reads it and written as `%.17Lf` with the
// trailing zeros cut (Redis's ld2string, LD_STR_HUMAN). Exact in BigInt, so `0.1 + 0.2` answers
// what Redis answers ("0.3"), not what a double would ("0.30000000000000004").

/** A finite extended-precision value: (-1)^neg × m × 2^e, m < 2^64; or an infinity (m < 0). */
export interface LongDouble {
  readonly neg: boolean;
  readonly m: bigint;
  readonly e: number;
}

const significandBits = 64;
/** The smallest exponent of the last significand bit: subnormals are multiples of 2^-16445. */
const quantumExp = -16445;
/** Values at or above 2^16384 do not exist (the largest is (2^64 - 1) × 2^16320). */
const overflowExp = 16384;
/** Redis's MAX_LONG_DOUBLE_CHARS: a longer text is not a float (string2ld), nor is a longer result. */
export const longDoubleCharsMax = 5 * 1024;

const INF: LongDouble = { neg: false, m: -1n, e: 0 };
const NEG_INF: LongDouble = { neg: true, m: -1n, e: 0 };
export const zero: LongDouble = { neg: false, m: 0n, e: 0 };

export function isInfinite(x: LongDouble): boolean {
  return x.m < 0n;
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * The long double nearest to (num / den) × 2^exp2 (num ≥ 0, den > 0), ties to even, with
 * subnormals and overflow to infinity as the hardware rounds them.
 */
function round(neg: boolean, num: bigint, den: bigint, exp2: number): LongDouble {
  if (num === 0n) return { neg, m: 0n, e: 0 };
  // Pick e so that num/den × 2^(exp2 - e) lies in [2^63, 2^64), then never below the subnormal quantum.
  let e = exp2 + bitLength(num) - bitLength(den) - significandBits;
  const quotient = (at: number) => {
    const shift = exp2 - at;
    const n = shift >= 0 ? num << BigInt(shift) : num;
    const d = shift >= 0 ? den : den << BigInt(-shift);
    return [n / d, n % d, d] as const;
  };
  let [q, r, d] = quotient(e);
  if (q >= 1n << 64n) [q, r, d] = quotient(++e);
  else if (q < 1n << 63n) [q, r, d] = quotient(--e);
  if (e < quantumExp) {
    e = quantumExp;
    [q, r, d] = quotient(e);
  }
  const twice = 2n * r;
  if (twice > d || (twice === d && (q & 1n) === 1n)) q += 1n;
  if (q === 1n << 64n) {
    q = 1n << 63n;
    e++;
  }
  if (q !== 0n && bitLength(q) + e > overflowExp) return neg ? NEG_INF : INF;
  return { neg, m: q, e };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** Whether b[s..e) spells `word` (lower-case ASCII) case-insensitively. */
function isWord(b: Uint8Array, s: number, e: number, word: string): boolean {
  if (e - s !== word.length) return false;
  for (let i = 0; i < word.length; i++) if ((b[s + i]! | 32) !== word.charCodeAt(i)) return false;
  return true;
}

/**
 * An exponent part at b[i..e): `letter` (lower-case code), an optional sign and decimal digits,
 * saturated far beyond any value that could still be finite and nonzero. Without digits there is
 * none (strtold stops before the letter): [0, i].
 */
function readExponent(b: Uint8Array, i: number, e: number, letter: number): [exponent: number, end: number] {
  if (i >= e || (b[i]! | 32) !== letter) return [0, i];
  let j = i + 1;
  let neg = false;
  if (j < e && (b[j] === 43 || b[j] === 45)) neg = b[j++] === 45;
  const digits = j;
  let n = 0;
  for (; j < e && isDigit(b[j]!); j++) n = Math.min(n * 10 + b[j]! - 48, 1e9);
  if (j === digits) return [0, i];
  return [neg ? -n : n, j];
}

/** The latin1 text of b[s..e). */
function latin1(b: Uint8Array, s: number, e: number): string {
  return Buffer.from(b.buffer, b.byteOffset + s, e - s).toString("latin1");
}

/**
 * b[s..e) as Redis's string2ld reads it: strtold, which must use the whole text (a NUL ends it
 * early, so a value holding one is not a float), with no leading space; NaN, and a result that
 * overflows or underflows to zero, are not floats. Infinities are ("inf", "infinity"). Null when
 * it is not a float.
 */
export function parseLongDouble(b: Uint8Array, s: number, e: number): LongDouble | null {
  if (e - s === 0 || e - s >= longDoubleCharsMax) return null;
  let i = s;
  let neg = false;
  if (i < e && (b[i] === 43 || b[i] === 45)) neg = b[i++] === 45;
  if (isWord(b, i, e, "inf") || isWord(b, i, e, "infinity")) return neg ? NEG_INF : INF;
  if (i + 1 < e && b[i] === 48 && (b[i + 1]! | 32) === 120 && i + 2 < e) {
    const hex = parseHex(b, i + 2, e, neg);
    if (hex !== undefined) return hex;
  }
  // Decimal: digits [. digits] [e|E [sign] digits], at least one digit before the exponent.
  const start = i;
  while (i < e && isDigit(b[i]!)) i++;
  let text = latin1(b, start, i);
  let scale = 0;
  if (i < e && b[i] === 46) {
    const f = ++i;
    while (i < e && isDigit(b[i]!)) i++;
    text += latin1(b, f, i);
    scale = i - f;
  }
  if (text.length === 0) return null;
  const [exponent, end] = readExponent(b, i, e, 101);
  if (end !== e) return null;
  const exp10 = exponent - scale;
  const digits = BigInt(text);
  if (digits === 0n) return { neg, m: 0n, e: 0 };
  // The value is below 10^(magnitude): decide overflow and underflow before building powers of ten.
  const magnitude = digits.toString().length + exp10;
  if (magnitude > 4934) return null; // beyond 1.19e4932: strtold's ERANGE to HUGE_VAL
  if (magnitude < -4952) return null; // below half the least subnormal (3.6e-4951): ERANGE to zero
  const x = exp10 >= 0 ? round(neg, digits * 10n ** BigInt(exp10), 1n, 0) : round(neg, digits, 10n ** BigInt(-exp10), 0);
  if (isInfinite(x) || x.m === 0n) return null;
  return x;
}

/** Hexadecimal after `0x`: hexdigits [. hexdigits] [p [sign] digits]; undefined when it is not one (strtold then reads the `0`). */
function parseHex(b: Uint8Array, i: number, e: number, neg: boolean): LongDouble | null | undefined {
  let n = 0n;
  let count = 0;
  let scale = 0;
  while (i < e && hexValue(b[i]!) >= 0) {
    n = (n << 4n) | BigInt(hexValue(b[i++]!));
    count++;
  }
  if (i < e && b[i] === 46) {
    i++;
    while (i < e && hexValue(b[i]!) >= 0) {
      n = (n << 4n) | BigInt(hexValue(b[i++]!));
      count++;
      scale += 4;
    }
  }
  if (count === 0) return undefined;
  const [exponent, end] = readExponent(b, i, e, 112);
  if (end !== e) return null;
  const exp2 = exponent - scale;
  if (n === 0n) return { neg, m: 0n, e: 0 };
  if (bitLength(n) + exp2 > overflowExp + 1 || bitLength(n) + exp2 < quantumExp - 1) return null;
  const x = round(neg, n, 1n, exp2);
  if (isInfinite(x) || x.m === 0n) return null;
  return x;
}

/** a + b rounded to a long double; null for NaN (infinities of opposite signs). */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | null {
  if (isInfinite(a) || isInfinite(b)) {
    if (isInfinite(a) && isInfinite(b) && a.neg !== b.neg) return null;
    return isInfinite(a) ? a : b;
  }
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const sa = (a.neg ? -a.m : a.m) << BigInt(a.e - e);
  const sb = (b.neg ? -b.m : b.m) << BigInt(b.e - e);
  const sum = sa + sb;
  return round(sum < 0n, sum < 0n ? -sum : sum, 1n, e);
}

/**
 * `%.17Lf` with the trailing zeros (and a bare point) removed, and "-0" written "0": Redis's
 * LD_STR_HUMAN. The value is finite. glibc rounds the 17th decimal half to even on exact ties.
 */
export function formatLongDouble(x: LongDouble): string {
  const scaled = x.m * 10n ** 17n;
  let n: bigint;
  if (x.e >= 0) n = scaled << BigInt(x.e);
  else {
    const d = 1n << BigInt(-x.e);
    n = scaled / d;
    const twice = 2n * (scaled % d);
    if (twice > d || (twice === d && (n & 1n) === 1n)) n += 1n;
  }
  const digits = n.toString().padStart(18, "0");
  const whole = digits.slice(0, -17);
  const fraction = digits.slice(-17).replace(/0+$/, "");
  const text = (x.neg ? "-" : "") + whole + (fraction.length > 0 ? `.${fraction}` : "");
  return text === "-0" ? "0" : text;
}
