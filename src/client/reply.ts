// Reading replies: an input buffer that grows as bytes arrive, and one decoder per reply shape
// (a line, a VALUE block, MGET's blocks, STATS's lines). A decoder answers "need more" until its
// whole reply is there, so replies split across TCP reads at any byte are read correctly.

import { ProtocolError, serverError, type ServerError } from "./errors.ts";

/** A live key as GET and MGET return it. */
export interface Entry {
  /** The value bytes (a Buffer: `.toString()` gives UTF-8 text). */
  value: Buffer;
  /** The key's version: 1 when created, +1 on every write. Unsigned 64-bit, hence bigint. */
  version: bigint;
  /** When the key expires, as Unix epoch milliseconds; null when it does not. */
  expiresAtMs: number | null;
}

/** Returned by a decoder while its reply is not all there yet. */
export const needMore: unique symbol = Symbol("needMore");

/** A decoder's answer: the result, a server error to reject with, or "need more bytes". */
export type Decoded<T> = T | ServerError | typeof needMore;

/** Reads one reply from `r`, or returns needMore without consuming anything it cannot finish. */
export type Decoder<T> = (r: ReplyReader) => Decoded<T>;

const CRLF = Buffer.from("\r\n");

/** Received, unread bytes in one growing buffer; appends and reads are amortised O(1). */
export class ReplyReader {
  #buf = Buffer.allocUnsafe(64 * 1024);
  #start = 0;
  #end = 0;

  /** Appends bytes received from the socket. */
  append(data: Uint8Array): void {
    const n = data.length;
    if (this.#end + n > this.#buf.length) {
      const live = this.#end - this.#start;
      if (live + n > this.#buf.length / 2) {
        const grown = Buffer.allocUnsafe(Math.max(2 * this.#buf.length, 2 * (live + n)));
        this.#buf.copy(grown, 0, this.#start, this.#end);
        this.#buf = grown;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(data, this.#end);
    this.#end += n;
  }

  /** Forgets everything unread (after the connection is lost). */
  clear(): void {
    this.#start = this.#end = 0;
  }

  get buffered(): number {
    return this.#end - this.#start;
  }

  /** The next line without its CRLF, not consumed; null when no whole line is buffered. */
  peekLine(): { text: string; next: number } | null {
    const i = this.#buf.indexOf(CRLF, this.#start);
    if (i < 0 || i >= this.#end) return null;
    return { text: this.#buf.toString("latin1", this.#start, i), next: i + 2 - this.#start };
  }

  /** Consumes the next line; null when no whole line is buffered. */
  line(): string | null {
    const l = this.peekLine();
    if (l !== null) this.#start += l.next;
    return l?.text ?? null;
  }

  /**
   * When `skip` + `n` + 2 bytes are buffered: consumes them and returns a copy of the n bytes after
   * `skip` (checking the CRLF after them). Otherwise returns null and consumes nothing.
   */
  body(skip: number, n: number): Buffer | null {
    if (this.#end - this.#start < skip + n + 2) return null;
    const s = this.#start + skip;
    if (this.#buf[s + n] !== 13 || this.#buf[s + n + 1] !== 10) throw new ProtocolError("value not followed by CRLF");
    const out = Buffer.from(this.#buf.subarray(s, s + n));
    this.#start = s + n + 2;
    return out;
  }
}

function integer(text: string, what: string): number {
  if (!/^-?\d+$/.test(text)) throw new ProtocolError(`expected ${what}, got ${JSON.stringify(text)}`);
  return Number(text);
}

function bigInteger(text: string, what: string): bigint {
  if (!/^-?\d+$/.test(text)) throw new ProtocolError(`expected ${what}, got ${JSON.stringify(text)}`);
  return BigInt(text);
}

/** The error for an `ERR …` line, or null for any other line. */
function errorLine(line: string): ServerError | null {
  return line.startsWith("ERR ") ? serverError(line.slice(4)) : null;
}

/** A one-line reply mapped by `map` (which throws ProtocolError on a line it does not expect). */
export function lineReply<T>(map: (line: string) => T): Decoder<T> {
  return (r) => {
    const line = r.line();
    if (line === null) return needMore;
    return errorLine(line) ?? map(line);
  };
}

/** Throws the ProtocolError for a reply line that does not fit the request. */
export function unexpected(line: string): never {
  throw new ProtocolError(`unexpected reply ${JSON.stringify(line.slice(0, 200))}`);
}

/** `<prefix><integer>` as a number, e.g. "OK 3" with prefix "OK ". */
export function prefixedNumber(line: string, prefix: string): number {
  if (!line.startsWith(prefix)) unexpected(line);
  return integer(line.slice(prefix.length), "an integer");
}

/** Parses `<version> <expiry_ms>` fields of a VALUE header into an Entry (value filled in later). */
function entryOf(value: Buffer, version: string, expiry: string): Entry {
  const expiresAtMs = integer(expiry, "an expiry");
  return { value, version: bigInteger(version, "a version"), expiresAtMs: expiresAtMs < 0 ? null : expiresAtMs };
}

/** GET's reply: `VALUE <len> <version> <expiry_ms>` + bytes, or NOT_FOUND (null). */
export const valueReply: Decoder<Entry | null> = (r) => {
  const head = r.peekLine();
  if (head === null) return needMore;
  const line = head.text;
  if (line === "NOT_FOUND") {
    r.line();
    return null;
  }
  const err = errorLine(line);
  if (err !== null) {
    r.line();
    return err;
  }
  const m = /^VALUE (\d+) (\d+) (-?\d+)$/.exec(line);
  if (m === null) unexpected(line);
  const value = r.body(head.next, Number(m[1]));
  if (value === null) return needMore;
  return entryOf(value, m[2]!, m[3]!);
};

/**
 * MGET's reply: one block per key, no terminator. It keeps the blocks read so far, so a long
 * reply arriving in many reads is scanned once. An error line (e.g. a bad key) ends it.
 */
export function mgetReply(keys: readonly string[]): Decoder<(Entry | null)[]> {
  const out: (Entry | null)[] = [];
  return (r) => {
    while (out.length < keys.length) {
      const head = r.peekLine();
      if (head === null) return needMore;
      const line = head.text;
      const err = out.length === 0 ? errorLine(line) : null;
      if (err !== null) {
        r.line();
        return err;
      }
      const key = keys[out.length]!;
      if (line.startsWith("NOT_FOUND ")) {
        if (line.slice(10) !== key) unexpected(line);
        r.line();
        out.push(null);
        continue;
      }
      const m = /^VALUE (\S+) (\d+) (\d+) (-?\d+)$/.exec(line);
      if (m === null || m[1] !== key) unexpected(line);
      const value = r.body(head.next, Number(m[2]));
      if (value === null) return needMore;
      out.push(entryOf(value, m[3]!, m[4]!));
    }
    return out;
  };
}

/** STATS's reply: `name=value` lines then END. Quoted values ("…") lose their quotes. */
export function statsReply(): Decoder<Record<string, string>> {
  const fields: Record<string, string> = {};
  let first = true;
  return (r) => {
    for (;;) {
      const line = r.line();
      if (line === null) return needMore;
      if (first) {
        first = false;
        const err = errorLine(line);
        if (err !== null) return err;
      }
      if (line === "END") return fields;
      const eq = line.indexOf("=");
      if (eq <= 0) unexpected(line);
      let value = line.slice(eq + 1);
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      fields[line.slice(0, eq)] = value;
    }
  };
}

/** One SCAN step's answer: the cursor to continue from ("0" when the scan is done) and its keys. */
export interface ScanPage {
  cursor: string;
  keys: Buffer[];
}

/** SCAN's reply: `CURSOR <next> <count>`, then `count` blocks of `KEY <len>` + the key's bytes. */
export function scanReply(): Decoder<ScanPage> {
  let page: ScanPage | null = null;
  let count = 0;
  return (r) => {
    if (page === null) {
      const line = r.line();
      if (line === null) return needMore;
      const err = errorLine(line);
      if (err !== null) return err;
      const m = /^CURSOR (\d+) (\d+)$/.exec(line);
      if (m === null) unexpected(line);
      page = { cursor: m[1]!, keys: [] };
      count = Number(m[2]);
    }
    while (page.keys.length < count) {
      const head = r.peekLine();
      if (head === null) return needMore;
      const m = /^KEY (\d+)$/.exec(head.text);
      if (m === null) unexpected(head.text);
      const key = r.body(head.next, Number(m[1]));
      if (key === null) return needMore;
      page.keys.push(key);
    }
    return page;
  };
}
