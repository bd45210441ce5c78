// RESP2 reply encoding on top of Writer: integers, bulk strings, arrays and fixed replies.
// Lengths and numbers are written as ASCII digits directly; nothing here builds a string on a hot path.

import { ascii, type Writer } from "./writer.ts";

/** Fixed replies, encoded once. */
export const Resp = {
  ok: ascii("+OK\r\n"),
  pong: ascii("+PONG\r\n"),
  nil: ascii("$-1\r\n"),
  zero: ascii(":0\r\n"),
  one: ascii(":1\r\n"),
  minusOne: ascii(":-1\r\n"),
  minusTwo: ascii(":-2\r\n"),
  emptyArray: ascii("*0\r\n"),
} as const;

/** `:<n>\r\n` for a safe integer. */
export function writeInteger(out: Writer, n: number): void {
  out.byte(58);
  out.int(n);
  out.crlf();
}

/** `$<len>\r\n<src[s..e)>\r\n`. */
export function writeBulk(out: Writer, src: Uint8Array, s: number, e: number): void {
  out.byte(36);
  out.int(e - s);
  out.crlf();
  out.range(src, s, e);
  out.crlf();
}

/** A bulk string of latin1 text (INFO, CONFIG, COMMAND: not for hot paths). */
export function writeBulkText(out: Writer, text: string): void {
  out.byte(36);
  out.int(Buffer.byteLength(text, "latin1"));
  out.crlf();
  out.text(text);
  out.crlf();
}

/** `*<n>\r\n`: n elements follow. */
export function writeArrayHeader(out: Writer, n: number): void {
  out.byte(42);
  out.int(n);
  out.crlf();
}

/** Bytes of the reply `writeBulk` writes for a value of `len` bytes (an upper bound). */
export function bulkBytes(len: number): number {
  return 1 + 16 + 2 + len + 2;
}
