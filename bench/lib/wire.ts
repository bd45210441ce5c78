// Request templates and the incremental reply parser for the two protocols the bench speaks:
// Osprey's text protocol (docs/PROTOCOL.md) and RESP2, to measure Redis alike.

export type Protocol = "osprey" | "resp";

/** Operation codes stored per in-flight request (a Uint8Array slot each). */
export const OpGet = 0;
export const OpSet = 1;
export const OpIncr = 2;

/** Reply kinds the parser reports. */
export const ReplyOk = 0;
export const ReplyValue = 1;
export const ReplyNotFound = 2;
export const ReplyInt = 3;
export const ReplyErr = 4;
export const ReplyOther = 5;

/** Keys are a prefix and this many zero-padded decimal digits, like redis-benchmark's __rand_int__. */
export const keyDigitsCount = 12;

/** Largest keyspace the 12-digit keys and the integer key arithmetic support. */
export const keyspaceMax = 2 ** 31 - 1;

/** A complete request with a zeroed key; only the key digits change from one request to the next. */
export interface RequestTemplate {
  readonly bytes: Uint8Array;
  /** Offset of the first of the keyDigitsCount key digits. */
  readonly keyDigitsOffset: number;
}

/** Key prefix per operation: INCR uses its own keys (as redis-benchmark does) so SET data never breaks it. */
export function keyPrefixOf(op: number): string {
  return op === OpIncr ? "counter:" : "key:";
}

const encoder = new TextEncoder();

function respArray(parts: Uint8Array[]): Uint8Array {
  const chunks: Uint8Array[] = [encoder.encode(`*${parts.length}\r\n`)];
  for (const p of parts) chunks.push(encoder.encode(`$${p.length}\r\n`), p, encoder.encode("\r\n"));
  return concat(chunks);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Builds the request for `op` with key digits all zero and a value of `valueBytes` 'x' bytes. */
export function requestTemplate(protocol: Protocol, op: number, valueBytes: number): RequestTemplate {
  const prefix = keyPrefixOf(op);
  const key = encoder.encode(prefix + "0".repeat(keyDigitsCount));
  const value = new Uint8Array(valueBytes).fill(0x78);
  let bytes: Uint8Array;
  if (protocol === "resp") {
    const name = op === OpGet ? "GET" : op === OpSet ? "SET" : "INCR";
    const parts = [encoder.encode(name), key];
    if (op === OpSet) parts.push(value);
    bytes = respArray(parts);
  } else if (op === OpSet) {
    bytes = concat([encoder.encode(`SET `), key, encoder.encode(` ${valueBytes}\r\n`), value, encoder.encode("\r\n")]);
  } else {
    bytes = concat([encoder.encode(op === OpGet ? "GET " : "INCR "), key, encoder.encode("\r\n")]);
  }
  const keyOffset = indexOfBytes(bytes, key);
  return { bytes, keyDigitsOffset: keyOffset + prefix.length };
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("key not found in request template");
}

/** Writes `n` (0 ≤ n < 2^31) as keyDigitsCount zero-padded decimal digits at `offset`. */
export function writeKeyDigits(buf: Uint8Array, offset: number, n: number): void {
  for (let i = offset + keyDigitsCount - 1; i >= offset; i--) {
    const q = (n / 10) | 0;
    buf[i] = 48 + n - q * 10;
    n = q;
  }
}

/** Receives each complete reply; `line` holds the reply's first line (empty for value replies). */
export interface ReplySink {
  reply(kind: number, line: Uint8Array, lineStart: number, lineEnd: number): void;
}

/** Value replies are reported without their header line (keeping it would cost an allocation). */
const noLine = new Uint8Array(0);

/** A reply line longer than this (an enormous error message) is treated as a broken stream. */
const lineBytesMax = 64 * 1024;

/**
 * A resumable reply parser: feed it socket chunks in order, however they were split, and it
 * reports each complete reply once. Only a line split across chunks is copied (into a small
 * carry buffer); value bodies are skipped without being looked at.
 */
export class ReplyParser {
  readonly #resp: boolean;
  #carry = new Uint8Array(256);
  #carryLen = 0;
  /** Bytes of a value body (plus its \r\n) still to skip before the reply is complete. */
  #skip = 0;

  constructor(protocol: Protocol) {
    this.#resp = protocol === "resp";
  }

  /** Parses `chunk`; throws if the stream is not a reply stream of this protocol at all. */
  feed(chunk: Uint8Array, sink: ReplySink): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#skip > 0) {
        const take = this.#skip < n - i ? this.#skip : n - i;
        this.#skip -= take;
        i += take;
        if (this.#skip > 0) return;
        sink.reply(ReplyValue, noLine, 0, 0);
        continue;
      }
      const nl = chunk.indexOf(10, i);
      if (nl < 0) {
        this.#stash(chunk, i, n);
        return;
      }
      if (this.#carryLen > 0) {
        this.#stash(chunk, i, nl + 1);
        const len = this.#carryLen;
        this.#carryLen = 0;
        this.#line(this.#carry, 0, len, sink);
      } else {
        this.#line(chunk, i, nl + 1, sink);
      }
      i = nl + 1;
    }
  }

  #stash(chunk: Uint8Array, from: number, to: number): void {
    const need = this.#carryLen + (to - from);
    if (need > lineBytesMax) throw new Error(`reply line longer than ${lineBytesMax} bytes`);
    if (need > this.#carry.length) {
      const bigger = new Uint8Array(Math.max(need, this.#carry.length * 2));
      bigger.set(this.#carry.subarray(0, this.#carryLen));
      this.#carry = bigger;
    }
    this.#carry.set(chunk.subarray(from, to), this.#carryLen);
    this.#carryLen = need;
  }

  /** Handles one line [start, end) that ends with \n. */
  #line(b: Uint8Array, start: number, end: number, sink: ReplySink): void {
    const first = b[start]!;
    if (this.#resp) {
      if (first === 0x2b /* + */) return sink.reply(ReplyOk, b, start, end);
      if (first === 0x3a /* : */) return sink.reply(ReplyInt, b, start, end);
      if (first === 0x2d /* - */) return sink.reply(ReplyErr, b, start, end);
      if (first === 0x24 /* $ */) {
        if (b[start + 1] === 0x2d) return sink.reply(ReplyNotFound, b, start, end);
        return this.#startValue(b, start, end, start + 1, sink);
      }
      return sink.reply(ReplyOther, b, start, end);
    }
    if (first === 0x4f /* OK */) return sink.reply(ReplyOk, b, start, end);
    if (first === 0x56 /* VALUE <len> ... */) return this.#startValue(b, start, end, start + 6, sink);
    if (first === 0x4e /* NOT_FOUND */) return sink.reply(ReplyNotFound, b, start, end);
    if (first === 0x45 /* ERR */) return sink.reply(ReplyErr, b, start, end);
    if (first === 0x2d || (first >= 0x30 && first <= 0x39)) return sink.reply(ReplyInt, b, start, end);
    // An empty or unknown line: report it so the caller counts it as a protocol error.
    return sink.reply(ReplyOther, b, start, end);
  }

  /** Reads the body length at `digits` and arranges to skip the body and its \r\n. */
  #startValue(b: Uint8Array, start: number, end: number, digits: number, sink: ReplySink): void {
    let len = 0;
    let i = digits;
    for (; i < end; i++) {
      const c = b[i]!;
      if (c < 0x30 || c > 0x39) break;
      len = len * 10 + (c - 0x30);
    }
    if (i === digits) return sink.reply(ReplyOther, b, start, end);
    this.#skip = len + 2;
  }
}
