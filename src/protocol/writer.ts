// The reply encoder: replies are appended to one growable buffer and leave in one socket write.
// Numbers are written as ASCII digits directly, so encoding a reply builds no strings.

import { copyBytes } from "../bytes.ts";
import { replyBufferBytesInitial } from "../constants.ts";

/** Encodes ASCII text once, for fixed reply fragments. */
export function ascii(text: string): Uint8Array {
  return Buffer.from(text, "latin1");
}

/** "00" to "99": the ASCII of each two-digit number at twice its value. */
const digitPairs = (() => {
  const t = new Uint8Array(200);
  for (let i = 0; i < 100; i++) {
    t[2 * i] = 48 + Math.floor(i / 10);
    t[2 * i + 1] = 48 + (i % 10);
  }
  return t;
})();

/** The largest number putUint31 writes. */
export const uint31Max = 0x7fffffff;

/** Digits of `v` (0 ≤ v ≤ uint31Max). */
export function digitsOf(v: number): number {
  return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 : v < 1000000 ? 6 : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/**
 * Writes n (0 ≤ n ≤ uint31Max) in decimal at buf[at..]; returns where it ends. Integer arithmetic,
 * two digits a step: a double division per digit cost a tenth of a text SET's time.
 */
export function putUint31(buf: Uint8Array, at: number, n: number): number {
  let v = n | 0;
  if (v < 10) {
    buf[at] = 48 + v;
    return at + 1;
  }
  const end = at + digitsOf(v);
  let i = end;
  while (v >= 100) {
    const q = (v / 100) | 0;
    const r = (v - q * 100) << 1;
    buf[--i] = digitPairs[r + 1]!;
    buf[--i] = digitPairs[r]!;
    v = q;
  }
  if (v >= 10) {
    const r = v << 1;
    buf[--i] = digitPairs[r + 1]!;
    buf[--i] = digitPairs[r]!;
  } else buf[--i] = 48 + v;
  return end;
}

export class Writer {
  buf: Buffer;
  len = 0;

  constructor(capacity = replyBufferBytesInitial) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 16));
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Appends pre-encoded bytes. */
  bytes(src: Uint8Array): void {
    this.range(src, 0, src.length);
  }

  /** Appends src[s..e). */
  range(src: Uint8Array, s: number, e: number): void {
    this.ensure(e - s);
    copyBytes(src, s, e, this.buf, this.len);
    this.len += e - s;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  crlf(): void {
    this.ensure(2);
    this.buf[this.len++] = 13;
    this.buf[this.len++] = 10;
  }

  /** Appends a safe integer (|n| < 2^53) in decimal. */
  int(n: number): void {
    this.ensure(17);
    const buf = this.buf;
    if (n < 0) {
      buf[this.len++] = 45;
      n = -n;
    }
    // Versions, counters and lengths are nearly always below 2^31 (see putUint31).
    if (n <= uint31Max) {
      this.len = putUint31(buf, this.len, n);
      return;
    }
    let digits = 1;
    for (let p = 10; p <= n; p *= 10) digits++;
    let at = this.len + digits;
    this.len = at;
    do {
      const q = Math.floor(n / 10);
      buf[--at] = 48 + (n - q * 10);
      n = q;
    } while (n > 0);
  }

  /** Appends ASCII text (STATS lines, big integers); not for hot paths. */
  text(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, "latin1");
  }

  reset(): void {
    this.len = 0;
  }
}
