// The Osprey text protocol: a resumable, zero-copy request parser over Uint8Array input.
// It answers "need more bytes", "bad input" or "a command"; tokens are offsets into the input.

import { copyBytes, grown } from "../bytes.ts";
import { argsCountMax, lineBytesMax, payloadBytesMax } from "../constants.ts";
import { Err } from "../errors.ts";

/** What one call of `TextParser.parse` found. */
export const enum Parsed {
  /** The input ends inside a request: call again with more bytes from `next`. */
  NeedMore = 0,
  /** A whole request: tokens in `starts`/`ends`, payload in `payloadStart..payloadEnd`. */
  Command = 1,
  /** Bad input: reply `error`, continue from `next`, and close the connection if `close`. */
  Error = 2,
}

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;

/**
 * A handOff's move of token i (both parsers'): its bytes, src[base + starts[i] .. base + ends[i]),
 * copied to dst[w..), and the token pointed there. Returns where the next token goes.
 */
export function moveToken(starts: Int32Array, ends: Int32Array, i: number, src: Uint8Array, base: number, dst: Uint8Array, w: number): number {
  const s = base + starts[i]!;
  const e = base + ends[i]!;
  copyBytes(src, s, e, dst, w);
  starts[i] = w;
  ends[i] = w + e - s;
  return w + e - s;
}

/** What `parse` answers next after `prime` (a request handed off, see RespParser.handOff). */
const enum Primed {
  No,
  Command,
  BadTrailer,
}

/**
 * A command name as a number: each letter a base-27 digit (1..26), so names up to eleven letters
 * (27^11 < 2^53: PEXPIRETIME, INCRBYFLOAT) map one-to-one and dispatch needs no string. Returns
 * -1 for anything that cannot be a command name.
 */
export function nameCode(b: Uint8Array, s: number, e: number): number {
  if (e - s > nameLettersMax) return -1;
  let code = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]! | 0x20; // ASCII lower-case
    if (c < 97 || c > 122) return -1;
    code = code * 27 + (c - 96);
  }
  return code;
}

/** The longest name `nameCode` maps exactly. */
export const nameLettersMax = 11;

/** The code of a command name given as text (for building the command table). */
export function nameCodeOf(name: string): number {
  return nameCode(Buffer.from(name, "latin1"), 0, name.length);
}

/**
 * Where a command's payload lengths are (from the command table's text form): the token at `at`,
 * and with `step` > 0 every step-th token after it to the end of the line.
 */
export interface PayloadSpec {
  readonly at: number;
  readonly step: number;
}

/** Parses a non-negative decimal of at most 15 digits (exact as a number); -1 otherwise. */
export function parseLength(b: Uint8Array, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The keys of the whole requests at the front of a read, found by a parser's light pre-scan
 * (`keysAhead`) so that a large keyspace can look them up together first (Store.readAhead). The
 * scan reads framing only; whatever it cannot frame at once (an incomplete request, bad input, an
 * MSET) ends it, and the parser proper then sees the same bytes as ever: a wrong guess costs a
 * wasted read of memory, never a different answer.
 */
export class KeysAhead {
  /** Key i is `starts[i]..ends[i]` of the input: each request's first argument after its name. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  n = 0;
  /** Where the scan stopped: the start of the first request it did not take. */
  end = 0;

  constructor(readonly max: number) {
    this.starts = new Int32Array(max);
    this.ends = new Int32Array(max);
  }
}

/**
 * One parser per connection. It keeps only what it needs to resume: how much of a partial line it
 * has already scanned, and how much of an oversize payload it still has to discard.
 */
export class TextParser {
  /** Number of tokens in the last command; token i is `starts[i]..ends[i]` of the input. */
  argc = 0;
  starts = new Int32Array(16);
  ends = new Int32Array(16);
  /** `nameCode` of token 0. */
  code = -1;
  /**
   * A command with a payload: every payload, back to back. Each length token is then pointed at
   * its payload's bytes, so `SET k 5` + `hello` reads as the tokens `SET k hello`.
   */
  payloadStart = 0;
  payloadEnd = 0;
  /** Where parsing continues: after the command, the error, or what NeedMore let go of. */
  next = 0;
  /** With NeedMore: bytes from `next` that the request in progress needs in all, when known. */
  needBytes = 0;
  /**
   * With NeedMore and needBytes > 0 for a SET (or an MSET of one pair): the length of its payload, whose bytes are awaited,
   * and where it starts, from `next` (0 otherwise). As RespParser's: the connection may take such a
   * request over (`handOff`) and read the payload straight into the buffer it will live in.
   */
  valueBytes = 0;
  valueAt = 0;
  /** A payload ends at LF or CRLF (2.1); RESP's bulk strings only at CRLF. */
  readonly lfEnds = true;
  /** With Error: the reply to send. */
  error: Uint8Array = Err.unknownCommand;
  /** With Error: whether the connection must be closed after the reply (cannot resynchronise). */
  close = false;

  #valueBytesMax: number;
  #msetBytesMax: number;
  // The commands with a payload, as parallel arrays: a couple of comparisons beat a Map lookup per request.
  #payloadCodes: number[];
  #payloadSpecs: PayloadSpec[];
  #scanned = 0; // bytes after `next` already known to hold no LF
  #discard = 0; // bytes of an oversize payload still to drop
  #discardTrailer = false; // after them, its CRLF
  #valueToken = 0; // with valueBytes > 0: the token pointed at the awaited payload
  #primed = Primed.No; // set by `prime`: what the next `parse` answers, without reading

  /** `payloads`: name code → payload framing, for the commands that carry one (the command table's). */
  constructor(limits: { valueBytesMax: number }, payloads: ReadonlyMap<number, PayloadSpec>) {
    this.#valueBytesMax = limits.valueBytesMax;
    this.#msetBytesMax = payloadBytesMax(limits.valueBytesMax);
    this.#payloadCodes = [...payloads.keys()];
    this.#payloadSpecs = [...payloads.values()];
  }

  #payloadOf(code: number): PayloadSpec | undefined {
    const codes = this.#payloadCodes;
    for (let i = 0; i < codes.length; i++) if (codes[i] === code) return this.#payloadSpecs[i];
    return undefined;
  }

  /** Parses one request from `buf[pos..end)`. `buf.length` must equal `end` (the LF search relies on it). */
  parse(buf: Uint8Array, pos: number, end: number): Parsed {
    this.needBytes = 0;
    this.valueBytes = 0;
    if (this.#primed !== Primed.No) return this.#primedAnswer(end);
    for (;;) {
      if (this.#discard > 0 || this.#discardTrailer) {
        pos = this.#skipDiscarded(buf, pos, end);
        if (pos < 0) return this.#fail(Err.badTrailer, end, true);
        if (this.#discard > 0 || this.#discardTrailer) {
          this.next = pos;
          return Parsed.NeedMore;
        }
      }
      const lf = buf.indexOf(LF, pos + this.#scanned);
      if (lf < 0) {
        // A line of exactly the limit may have its CR here and its LF still to come.
        const have = end - pos;
        if (have > lineBytesMax + 1 || (have === lineBytesMax + 1 && buf[end - 1] !== CR)) {
          return this.#fail(Err.lineTooLong, end, true);
        }
        this.#scanned = end - pos;
        this.next = pos;
        return Parsed.NeedMore;
      }
      const lineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      if (lineEnd - pos > lineBytesMax) return this.#fail(Err.lineTooLong, end, true);
      this.#scanned = 0;
      if (!this.#tokenize(buf, pos, lineEnd)) return this.#fail(Err.arity, lf + 1, false);
      if (this.argc === 0) {
        pos = lf + 1; // an empty line gets no reply
        continue;
      }
      this.code = nameCode(buf, this.starts[0]!, this.ends[0]!);
      const spec = this.#payloadOf(this.code);
      if (spec !== undefined) {
        // One length (SET): it must be there. Repeated (MSET): the line must end on a length.
        if (spec.step === 0 && this.argc > spec.at) return this.#framePayload(buf, pos, lf + 1, end, spec.at, spec.at + 1, 1);
        if (spec.step > 0 && this.argc >= spec.at) {
          if ((this.argc - spec.at) % spec.step !== 1 % spec.step) return this.#fail(Err.msetOdd, lf + 1, false);
          return this.#framePayload(buf, pos, lf + 1, end, spec.at, this.argc, spec.step);
        }
      }
      this.payloadStart = this.payloadEnd = lf + 1;
      this.next = lf + 1;
      return Parsed.Command;
    }
  }

  /**
   * Fills `into` with the key (second token) of each whole request from `pos`, up to `into.max`:
   * lines, and a SET's payload skipped by its length. An MSET, or a line that is not whole or not
   * framed as the parser would frame it, ends the scan. Reads only; the parser's state is not touched.
   */
  keysAhead(buf: Uint8Array, pos: number, end: number, into: KeysAhead): void {
    let n = 0;
    while (n < into.max && pos < end) {
      const lf = buf.indexOf(LF, pos);
      if (lf < 0 || lf - pos > lineBytesMax) break;
      const lineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      // Tokens 0 (the name), 1 (the key) and, for a payload, the length at its spec's place.
      let i = pos;
      while (i < lineEnd && (buf[i] === SPACE || buf[i] === TAB)) i++;
      const nameStart = i;
      while (i < lineEnd && buf[i] !== SPACE && buf[i] !== TAB) i++;
      const nameEnd = i;
      while (i < lineEnd && (buf[i] === SPACE || buf[i] === TAB)) i++;
      const keyStart = i;
      while (i < lineEnd && buf[i] !== SPACE && buf[i] !== TAB) i++;
      const keyEnd = i;
      let next = lf + 1;
      const spec = this.#payloadOf(nameCode(buf, nameStart, nameEnd));
      if (spec !== undefined) {
        if (spec.step !== 0 || spec.at !== 2) break;
        while (i < lineEnd && (buf[i] === SPACE || buf[i] === TAB)) i++;
        const lenStart = i;
        while (i < lineEnd && buf[i] !== SPACE && buf[i] !== TAB) i++;
        const len = parseLength(buf, lenStart, i);
        if (len < 0 || next + len >= end) break;
        next += len + (buf[next + len] === CR ? 2 : 1);
        if (next > end) break;
      }
      if (keyEnd > keyStart) {
        into.starts[n] = keyStart;
        into.ends[n++] = keyEnd;
      }
      pos = next;
    }
    into.n = n;
    into.end = pos;
  }

  /**
   * After a Command: 1 (the key) for `SET key len` or `MSET key len` and nothing more, whose key
   * has only the length token and the line's end between it and the payload, so it may be moved
   * right before the payload (see Connection #offerRead). -1 otherwise.
   */
  lendable(): number {
    return this.argc === 3 && this.starts[2] === this.payloadStart && this.ends[2] === this.payloadEnd && this.payloadEnd > this.payloadStart ? 1 : -1;
  }

  /** Splits a line on spaces and tabs. False when it has more tokens than argsCountMax. */
  #tokenize(buf: Uint8Array, s: number, e: number): boolean {
    let argc = 0;
    let i = s;
    for (;;) {
      while (i < e && (buf[i] === SPACE || buf[i] === TAB)) i++;
      if (i >= e) break;
      const start = i;
      while (i < e && buf[i] !== SPACE && buf[i] !== TAB) i++;
      if (argc === this.starts.length) {
        if (argc >= argsCountMax) return false;
        this.#growTokens();
      }
      this.starts[argc] = start;
      this.ends[argc] = i;
      argc++;
    }
    this.argc = argc;
    return true;
  }

  /**
   * SET and MSET: the lengths at tokens first, first+step, … (before `last`) announce payload
   * bytes after the line. Oversize announcements are refused now and their bytes dropped as they stream in.
   */
  #framePayload(buf: Uint8Array, pos: number, body: number, end: number, first: number, last: number, step: number): Parsed {
    let total = 0;
    let tooLarge = false;
    for (let t = first; t < last; t += step) {
      const len = parseLength(buf, this.starts[t]!, this.ends[t]!);
      if (len < 0) return this.#fail(Err.badLength, body, false);
      if (len > this.#valueBytesMax) tooLarge = true;
      // Point the length token at its payload. Harmless if the payload is not all here yet: the
      // line is tokenized again when more bytes arrive.
      this.starts[t] = body + total;
      this.ends[t] = body + total + len;
      total += len;
    }
    if (tooLarge || total > this.#msetBytesMax) {
      this.#discard = total;
      this.#discardTrailer = true;
      return this.#fail(Err.valueTooLarge, body, false);
    }
    const payloadEnd = body + total;
    if (end <= payloadEnd || (buf[payloadEnd] === CR && end === payloadEnd + 1)) {
      this.next = pos;
      this.#scanned = body - 1 - pos; // the line's LF is known; resume the search right at it
      this.needBytes = payloadEnd + 2 - pos;
      if (last === first + 1) {
        // One payload (SET, or an MSET of one pair): it ends the request, and may be handed off.
        this.valueBytes = total;
        this.valueAt = body - pos;
        this.#valueToken = first;
      }
      return Parsed.NeedMore;
    }
    let after: number;
    if (buf[payloadEnd] === LF) after = payloadEnd + 1;
    else if (buf[payloadEnd] === CR && buf[payloadEnd + 1] === LF) after = payloadEnd + 2;
    else return this.#fail(Err.badTrailer, end, true);
    this.payloadStart = body;
    this.payloadEnd = payloadEnd;
    this.next = after;
    return Parsed.Command;
  }

  /**
   * After NeedMore with valueBytes > 0: the bytes a handed-off request needs in `handOff`'s
   * buffer — its tokens and the awaited payload, without the line's spaces or the trailer.
   */
  handOffBytes(): number {
    let n = this.valueBytes;
    for (let i = 0; i < this.argc; i++) if (i !== this.#valueToken) n += this.ends[i]! - this.starts[i]!;
    return n;
  }

  /**
   * The SET in progress (NeedMore with valueBytes > 0) leaves this parser, as RespParser.handOff
   * does: its tokens are copied into `dst` (handOffBytes long), the key first and the payload's
   * room right after it (where the caller puts the payload, at the offset returned), the other
   * tokens behind; then the caller calls `prime`. Tokens index `dst` from here. `pos` is unused:
   * this parser's tokens index the input itself.
   */
  handOff(src: Uint8Array, _pos: number, dst: Uint8Array): number {
    const vt = this.#valueToken;
    const starts = this.starts;
    const ends = this.ends;
    let w = moveToken(starts, ends, vt - 1, src, 0, dst, 0);
    const valueAt = w;
    w += this.valueBytes;
    for (let i = 0; i < this.argc; i++) if (i !== vt && i !== vt - 1) w = moveToken(starts, ends, i, src, 0, dst, w);
    starts[vt] = valueAt;
    ends[vt] = valueAt + this.valueBytes;
    this.#scanned = 0;
    return valueAt;
  }

  /** The handed-off SET is complete (`ok`), or its payload was followed by neither LF nor CRLF. */
  prime(ok: boolean): void {
    this.#primed = ok ? Primed.Command : Primed.BadTrailer;
  }

  #primedAnswer(end: number): Parsed {
    const primed = this.#primed;
    this.#primed = Primed.No;
    if (primed === Primed.BadTrailer) return this.#fail(Err.badTrailer, end, true);
    const vt = this.#valueToken;
    // `code` is still the SET's, from the parse that handed it off.
    this.payloadStart = this.starts[vt]!;
    this.payloadEnd = this.ends[vt]!;
    this.next = end;
    return Parsed.Command;
  }

  /** Drops oversize payload bytes, then their CRLF (or LF). Returns the new position, -1 on a bad trailer. */
  #skipDiscarded(buf: Uint8Array, pos: number, end: number): number {
    const n = Math.min(this.#discard, end - pos);
    this.#discard -= n;
    pos += n;
    if (this.#discard > 0 || pos === end) return pos;
    if (buf[pos] === LF) {
      this.#discardTrailer = false;
      return pos + 1;
    }
    if (buf[pos] !== CR) return -1;
    if (pos + 1 === end) return pos; // wait for the LF
    this.#discardTrailer = false;
    return buf[pos + 1] === LF ? pos + 2 : -1;
  }

  /**
   * The last command's bytes moved by `by` in the input (a suspended request kept for its next
   * slice): its tokens and `next` follow them, so it runs again without being parsed again.
   */
  rebase(by: number): void {
    for (let i = 0; i < this.argc; i++) {
      this.starts[i] += by;
      this.ends[i] += by;
    }
    this.payloadStart += by;
    this.payloadEnd += by;
    this.next += by;
  }

  #fail(reply: Uint8Array, next: number, close: boolean): Parsed {
    this.error = reply;
    this.close = close;
    this.next = next;
    this.#scanned = 0;
    if (close) {
      this.#discard = 0;
      this.#discardTrailer = false;
    }
    return Parsed.Error;
  }

  #growTokens(): void {
    const n = Math.min(this.starts.length * 2, argsCountMax);
    this.starts = grown(this.starts, n);
    this.ends = grown(this.ends, n);
  }
}
