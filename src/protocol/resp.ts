// RESP requests (arrays of bulk strings, and inline commands: one line of words with Redis's
// quoting, as Redis takes them from telnet and redis-benchmark's PING_INLINE): a resumable, zero-copy parser over Uint8Array
// input. Same answers as TextParser ("need more", "bad input", "a command"); bad input always
// closes, as in Redis.

import { grown } from "../bytes.ts";
import { argsCountMax, inlineBytesMax, respHeaderDigitsMax, requestBytesMax } from "../constants.ts";
import { RespErr, respError } from "../errors.ts";
import { type KeysAhead, moveToken, nameCode, Parsed } from "./text.ts";

const STAR = 42;
const SPACE = 32;
const TAB = 9;
/** From #inline: an empty line, which is no request and gets no reply. */
const SKIP = -1;
const DOLLAR = 36;
const MINUS = 45;
const CR = 13;
const LF = 10;
const NUL = 0;
const DQUOTE = 34;
const SQUOTE = 39;
const BACKSLASH = 92;
/** From #split: a quote that does not close, or a closing quote followed by something other than a blank. */
const SPLIT_UNBALANCED = -1;
/** From #split: more arguments than argsCountMax. */
const SPLIT_TOO_MANY = -2;

/** C's isspace, as sdssplitargs separates arguments: space, \t, \n, \v, \f, \r. */
function isBlank(c: number): boolean {
  return c === SPACE || (c >= TAB && c <= CR);
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102));
}

function hexValue(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

/** What `parse` answers next after `prime`. */
const enum Primed {
  No,
  Command,
  BadCrlf,
}

/** From `header`: the line is not complete yet (outside the range of any 15-digit number). */
const HEADER_NEED = -1e16;
/** From `header`: the line is not a (signed) decimal ended by CRLF. */
const HEADER_BAD = -2e16;

/**
 * One parser per RESP connection. A request may arrive in any number of reads and the connection
 * moves unparsed input between calls, so everything it keeps is relative to the request's start:
 * how many bytes are parsed, how many arguments were announced and found, and the length of the
 * bulk string whose bytes it waits for. Each call resumes there, so input fed a byte at a time
 * costs linear time (a header line of at most 19 bytes is re-read, never a bulk string).
 */
export class RespParser {
  /** Number of arguments of the last command; argument i is `starts[i]..ends[i]` of the input. */
  argc = 0;
  starts = new Int32Array(16);
  ends = new Int32Array(16);
  /** `nameCode` of argument 0. */
  code = -1;
  /** Where parsing continues: after the command or the error, or the start of the request in progress. */
  next = 0;
  /** With NeedMore: bytes from `next` the request in progress needs in all, when known (0 otherwise). */
  needBytes = 0;
  /**
   * With NeedMore and needBytes > 0: the length of the last argument, whose bytes are awaited, and
   * where they start, from `next`. The connection may take such a request over (`handOff`): it
   * reads the rest of a large value straight into the buffer that value will live in.
   */
  valueBytes = 0;
  valueAt = 0;
  /** A bulk string ends only at CRLF (the text protocol's payload also at LF). */
  readonly lfEnds = false;
  /** With Error: the reply to send. */
  error: Uint8Array = RespErr.invalidMultibulkLength;
  /** With Error: always true; a RESP stream cannot be resynchronised after bad input. */
  close = false;

  #valueBytesMax: number;
  #requestBytesMax: number;
  #count = -1; // arguments the request in progress announced; -1 until its `*` line is read
  #at = 0; // bytes of the request in progress already parsed
  #bulk = -1; // length of the bulk string whose `$` line was read and whose bytes are awaited
  #headerEnd = 0; // set by #header: where the line after the header starts
  #unquotedTo = 0; // set by #unquote: where the line goes on after a quoted argument
  #primed = Primed.No; // set by `prime`: what the next `parse` answers, without reading

  constructor(limits: { valueBytesMax: number }) {
    this.#valueBytesMax = limits.valueBytesMax;
    this.#requestBytesMax = requestBytesMax(limits.valueBytesMax);
  }

  /**
   * Fills `into` with the key (argument 1) of each whole array request from `pos`, up to
   * `into.max`, by its framing alone (`*argc`, then `$len` and the bytes of each argument). An
   * inline command, a request not whole yet or anything not framed as the parser would frame it
   * ends the scan. Reads only; the parser's state is not touched.
   */
  keysAhead(buf: Uint8Array, pos: number, end: number, into: KeysAhead): void {
    let n = 0;
    scan: while (n < into.max && pos < end && buf[pos] === STAR) {
      let i = pos + 1;
      let argc = 0;
      for (const first = i; i < end && buf[i]! >= 48 && buf[i]! <= 57; i++) {
        argc = argc * 10 + buf[i]! - 48;
        if (i - first >= respHeaderDigitsMax || argc > argsCountMax) break scan;
      }
      if (i + 1 >= end || buf[i] !== CR || buf[i + 1] !== LF) break;
      i += 2;
      let keyStart = -1;
      let keyEnd = -1;
      for (let a = 0; a < argc; a++) {
        if (i >= end || buf[i] !== DOLLAR) break scan;
        let len = 0;
        const first = ++i;
        for (; i < end && buf[i]! >= 48 && buf[i]! <= 57; i++) {
          len = len * 10 + buf[i]! - 48;
          if (i - first >= respHeaderDigitsMax) break scan;
        }
        if (i === first || i + 1 >= end || buf[i] !== CR || buf[i + 1] !== LF) break scan;
        i += 2;
        if (a === 1) {
          keyStart = i;
          keyEnd = i + len;
        }
        i += len + 2;
        if (i > end) break scan;
      }
      if (keyStart >= 0) {
        into.starts[n] = keyStart;
        into.ends[n++] = keyEnd;
      }
      pos = i;
    }
    into.n = n;
    into.end = pos;
  }

  /** Parses one request from `buf[pos..end)`; `pos` is where the previous call said to continue. */
  parse(buf: Uint8Array, pos: number, end: number): Parsed {
    this.needBytes = 0;
    this.valueBytes = 0;
    if (this.#primed !== Primed.No) return this.#primedAnswer(buf, end);
    // Most requests arrive whole: read them with locals alone. Anything else (a request cut short,
    // bad input, more arguments than the slots hold) is left to the resumable path below, which
    // starts over from `pos` and gives every answer its own way.
    if (this.#count < 0 && this.#at === 0 && pos < end && buf[pos] === STAR && this.#whole(buf, pos, end)) return Parsed.Command;
    for (;;) {
      let at = pos + this.#at;
      if (this.#count < 0) {
        if (at >= end) return this.#needMore(pos, 0);
        if (this.#at > 0 || buf[at] !== STAR) {
          const inline = this.#inline(buf, pos, end);
          if (inline !== SKIP) return inline;
          pos = this.next; // an empty line: no request, no reply
          continue;
        }
        const count = this.#header(buf, at, end);
        if (count === HEADER_NEED) return this.#needMore(pos, 0);
        if (count === HEADER_BAD || count > argsCountMax) return this.#fail(RespErr.invalidMultibulkLength, end);
        if (count <= 0) {
          pos = this.#headerEnd; // `*0` and `*-1` are no request at all: no reply, as in Redis
          continue;
        }
        at = this.#headerEnd;
        this.#count = count;
        this.#at = at - pos;
        this.argc = 0;
      }
      while (this.argc < this.#count) {
        if (this.#bulk < 0) {
          if (at >= end) return this.#needMore(pos, 0);
          if (buf[at] !== DOLLAR) return this.#fail(respError(`Protocol error: expected '$', got '${String.fromCharCode(buf[at]!)}'`), end);
          const len = this.#header(buf, at, end);
          if (len === HEADER_NEED) return this.#needMore(pos, 0);
          if (len < 0 || len > this.#valueBytesMax) return this.#fail(RespErr.invalidBulkLength, end);
          at = this.#headerEnd;
          if (at - pos + len + 2 > this.#requestBytesMax) return this.#fail(RespErr.requestTooLarge, end);
          this.#bulk = len;
          this.#at = at - pos;
        }
        const bulkEnd = at + this.#bulk;
        if (bulkEnd + 2 > end) {
          // Only the last argument's end is the end of the request; before it, growth is the connection's call.
          if (this.argc !== this.#count - 1) return this.#needMore(pos, 0);
          this.valueBytes = this.#bulk;
          this.valueAt = at - pos;
          return this.#needMore(pos, bulkEnd + 2 - pos);
        }
        if (buf[bulkEnd] !== CR || buf[bulkEnd + 1] !== LF) return this.#fail(RespErr.bulkNotCrlf, end);
        if (this.argc === this.starts.length) this.#growArgs();
        this.starts[this.argc] = at - pos;
        this.ends[this.argc] = bulkEnd - pos;
        this.argc++;
        at = bulkEnd + 2;
        this.#bulk = -1;
        this.#at = at - pos;
      }
      // Offsets were kept relative to the request's start; now they index this buffer.
      for (let i = 0; i < this.argc; i++) {
        this.starts[i] += pos;
        this.ends[i] += pos;
      }
      this.code = nameCode(buf, this.starts[0]!, this.ends[0]!);
      this.#count = -1;
      this.#at = 0;
      this.next = at;
      return Parsed.Command;
    }
  }

  /**
   * After a Command: the argument before the last (a SET's key), when there are at least three;
   * only framing lies between it and the last, so it may be moved right before the last (see
   * Connection #offerRead). -1 otherwise.
   */
  lendable(): number {
    return this.argc >= 3 ? this.argc - 2 : -1;
  }

  /**
   * After NeedMore with valueBytes > 0: the bytes a handed-off request needs in `handOff`'s
   * buffer — its parsed arguments and the awaited last one, without headers or CRLFs.
   */
  handOffBytes(): number {
    let n = this.valueBytes;
    for (let i = 0; i < this.argc; i++) n += this.ends[i]! - this.starts[i]!;
    return n;
  }

  /**
   * The request in progress at src[pos..) (NeedMore with valueBytes > 0) leaves this parser: its
   * parsed arguments are copied into `dst` (handOffBytes long) and the caller fills in the last
   * one, at the offset returned, valueBytes long, then calls `prime`. The layout lets a SET's
   * store adopt `dst` as the entry's buffer: the argument before the last (SET's key) comes first,
   * the last (the value) right after it, the others behind. `starts`/`ends` index `dst` from here.
   */
  handOff(src: Uint8Array, pos: number, dst: Uint8Array): number {
    const argc = this.argc;
    if (argc === this.starts.length) this.#growArgs();
    const starts = this.starts;
    const ends = this.ends;
    let w = argc > 0 ? moveToken(starts, ends, argc - 1, src, pos, dst, 0) : 0;
    const valueAt = w;
    w += this.valueBytes;
    for (let i = 0; i < argc - 1; i++) w = moveToken(starts, ends, i, src, pos, dst, w);
    starts[argc] = valueAt;
    ends[argc] = valueAt + this.valueBytes;
    this.argc = argc + 1;
    this.#count = -1;
    this.#at = 0;
    this.#bulk = -1;
    return valueAt;
  }

  /**
   * The handed-off request is complete (`ok`), or its value was not followed by CRLF: the next
   * `parse` (of the handOff buffer) answers the command, or the error a parse would have given.
   */
  prime(ok: boolean): void {
    this.#primed = ok ? Primed.Command : Primed.BadCrlf;
  }

  #primedAnswer(buf: Uint8Array, end: number): Parsed {
    const primed = this.#primed;
    this.#primed = Primed.No;
    if (primed === Primed.BadCrlf) return this.#fail(RespErr.bulkNotCrlf, end);
    this.code = nameCode(buf, this.starts[0]!, this.ends[0]!);
    this.next = end;
    return Parsed.Command;
  }

  /**
   * The last command's bytes moved by `by` in the input (a suspended request kept for its next
   * slice): its arguments and `next` follow them, so it runs again without being parsed again.
   */
  rebase(by: number): void {
    for (let i = 0; i < this.argc; i++) {
      this.starts[i] += by;
      this.ends[i] += by;
    }
    this.next += by;
  }

  /**
   * An inline command: the line from `pos` to LF, split into arguments as Redis's sdssplitargs
   * splits it. `#at` remembers how much of the line was already scanned. Returns Command, SKIP for
   * an empty line, NeedMore, or Error for a line longer than Redis allows or unbalanced quotes.
   */
  #inline(buf: Uint8Array, pos: number, end: number): Parsed | typeof SKIP {
    const lf = buf.indexOf(LF, pos + this.#at);
    if (lf < 0 || lf >= end) {
      if (end - pos > inlineBytesMax) return this.#fail(RespErr.inlineTooBig, end);
      this.#at = end - pos;
      return this.#needMore(pos, 0);
    }
    this.#at = 0;
    this.next = lf + 1;
    const lineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
    const argc = this.#split(buf, pos, lineEnd);
    if (argc < 0) return this.#fail(argc === SPLIT_UNBALANCED ? RespErr.unbalancedQuotes : RespErr.invalidMultibulkLength, lf + 1);
    if (argc === 0) return SKIP;
    this.argc = argc;
    this.code = nameCode(buf, this.starts[0]!, this.ends[0]!);
    return Parsed.Command;
  }

  /**
   * Splits buf[from..to) into arguments as Redis's sdssplitargs does: blanks separate them; in
   * double quotes `\n \r \t \b \a \xHH` and `\<any>` are escapes, in single quotes only `\'`;
   * a closing quote must be followed by a blank or the end; a NUL ends the line. A quoted argument
   * is unescaped in place (it never grows), so arguments stay offsets into the input. Returns the
   * count, SPLIT_UNBALANCED, or SPLIT_TOO_MANY.
   */
  #split(buf: Uint8Array, from: number, to: number): number {
    let argc = 0;
    let i = from;
    for (;;) {
      while (i < to && isBlank(buf[i]!)) i++;
      if (i >= to || buf[i] === NUL) return argc;
      if (argc === argsCountMax) return SPLIT_TOO_MANY;
      if (argc === this.starts.length) this.#growArgs();
      const start = i;
      // A plain word (the common case) is left where it is: nothing is copied.
      // Every byte that ends a plain word (NUL, blanks, quotes) is at most 39: one compare for the rest.
      for (; i < to; i++) {
        const c = buf[i]!;
        if (c <= SQUOTE && (c === DQUOTE || c === SQUOTE || c === NUL || isBlank(c))) break;
      }
      let end = i;
      if (i < to && (buf[i] === DQUOTE || buf[i] === SQUOTE)) {
        end = this.#unquote(buf, i, to);
        if (end < 0) return end;
        i = this.#unquotedTo;
      }
      this.starts[argc] = start;
      this.ends[argc] = end;
      argc++;
    }
  }

  /**
   * The rest of an argument from the quote at buf[i], unescaped in place: returns where its bytes
   * end (or SPLIT_UNBALANCED); `#unquotedTo` is where the line goes on after it.
   */
  #unquote(buf: Uint8Array, i: number, to: number): number {
    let w = i; // where the next byte of the argument goes
    let quote = 0; // the open quote, or 0
    for (;;) {
      if (i >= to || buf[i] === NUL) {
        if (quote !== 0) return SPLIT_UNBALANCED;
        break;
      }
      const c = buf[i]!;
      if (quote !== 0) {
        // Double quotes take \xHH and C escapes; single quotes only \'. Either closes the same way.
        if (quote === DQUOTE && c === BACKSLASH && i + 3 < to && buf[i + 1] === 120 && isHex(buf[i + 2]) && isHex(buf[i + 3])) {
          buf[w++] = hexValue(buf[i + 2]!) * 16 + hexValue(buf[i + 3]!);
          i += 4;
        } else if (quote === DQUOTE && c === BACKSLASH && i + 1 < to) {
          const e = buf[i + 1]!;
          buf[w++] = e === 110 ? LF : e === 114 ? CR : e === 116 ? TAB : e === 98 ? 8 : e === 97 ? 7 : e;
          i += 2;
        } else if (quote === SQUOTE && c === BACKSLASH && i + 1 < to && buf[i + 1] === SQUOTE) {
          buf[w++] = SQUOTE;
          i += 2;
        } else if (c === quote) {
          // A closing quote must end the argument.
          if (i + 1 < to && buf[i + 1] !== NUL && !isBlank(buf[i + 1]!)) return SPLIT_UNBALANCED;
          i++;
          break;
        } else {
          buf[w++] = c;
          i++;
        }
      } else if (isBlank(c)) {
        break;
      } else if (c === DQUOTE || c === SQUOTE) {
        quote = c;
        i++;
      } else {
        buf[w++] = c;
        i++;
      }
    }
    this.#unquotedTo = i;
    return w;
  }

  /**
   * A whole, well-formed request `*<n>` of bulk strings at buf[pos..end), parsed in one pass
   * without touching the resumable state; false (nothing kept) for anything else.
   */
  #whole(buf: Uint8Array, pos: number, end: number): boolean {
    let at = pos + 1;
    let count = 0;
    let stop = Math.min(end, at + respHeaderDigitsMax);
    for (; at < stop; at++) {
      const d = buf[at]! - 48;
      if (d < 0 || d > 9) break;
      count = count * 10 + d;
    }
    if (at === pos + 1 || at + 1 >= end || buf[at] !== CR || buf[at + 1] !== LF || count === 0 || count > this.starts.length) return false;
    at += 2;
    const starts = this.starts;
    const ends = this.ends;
    const valueMax = this.#valueBytesMax;
    for (let i = 0; i < count; i++) {
      if (at >= end || buf[at] !== DOLLAR) return false;
      const from = ++at;
      let len = 0;
      stop = Math.min(end, at + respHeaderDigitsMax);
      for (; at < stop; at++) {
        const d = buf[at]! - 48;
        if (d < 0 || d > 9) break;
        len = len * 10 + d;
      }
      if (at === from || at + 1 >= end || buf[at] !== CR || buf[at + 1] !== LF || len > valueMax) return false;
      at += 2;
      const bulkEnd = at + len;
      if (bulkEnd + 2 > end || buf[bulkEnd] !== CR || buf[bulkEnd + 1] !== LF || bulkEnd + 2 - pos > this.#requestBytesMax) return false;
      starts[i] = at;
      ends[i] = bulkEnd;
      at = bulkEnd + 2;
    }
    this.argc = count;
    this.code = nameCode(buf, starts[0]!, ends[0]!);
    this.next = at;
    return true;
  }

  /**
   * Reads the number on the header line at `at` (after its `*` or `$`). Returns it, HEADER_NEED or
   * HEADER_BAD; on success `#headerEnd` is the first byte after the line's CRLF.
   */
  #header(buf: Uint8Array, at: number, end: number): number {
    let i = at + 1;
    const neg = i < end && buf[i] === MINUS;
    if (neg) i++;
    const digitsFrom = i;
    let n = 0;
    for (; i < end; i++) {
      const c = buf[i]!;
      if (c === CR) {
        if (i === digitsFrom) return HEADER_BAD;
        if (i + 1 === end) return HEADER_NEED;
        if (buf[i + 1] !== LF) return HEADER_BAD;
        this.#headerEnd = i + 2;
        return neg ? -n : n;
      }
      const d = c - 48;
      if (d < 0 || d > 9 || i - digitsFrom >= respHeaderDigitsMax) return HEADER_BAD;
      n = n * 10 + d;
    }
    return HEADER_NEED;
  }

  #needMore(pos: number, needBytes: number): Parsed {
    this.next = pos;
    this.needBytes = needBytes;
    return Parsed.NeedMore;
  }

  #fail(reply: Uint8Array, next: number): Parsed {
    this.error = reply;
    this.close = true;
    this.next = next;
    this.#count = -1;
    this.#at = 0;
    this.#bulk = -1;
    return Parsed.Error;
  }

  /** Argument slots grow as arguments arrive, never by what a `*` line announces. */
  #growArgs(): void {
    const n = Math.min(this.starts.length * 2, argsCountMax);
    this.starts = grown(this.starts, n);
    this.ends = grown(this.ends, n);
  }
}
