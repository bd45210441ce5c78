// The reply encoder: replies are appended to one growable buffer and leave in one socket write.
// Numbers are written as ASCII digits directly, so encoding a reply builds no strings.

import { copyBytes } from "../bytes.ts";
import { replyBufferBytesInitial } from "../constants.ts";

/** Encodes ASCII text once, for fixed reply fragments. */
export function ascii(text: string): Uint8Array {
  return Buffer.from(text, "latin1");
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
