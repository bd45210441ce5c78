// RESP's reply encoder, RESP2 or RESP3 per connection (HELLO switches): the command core's results
// as Redis answers them (bulk strings, nil, integers, `+OK`, `-ERR …`; in RESP3 also maps, sets,
// nulls, doubles, booleans, big numbers, verbatim strings and push frames). Lengths and numbers are
// written as ASCII digits directly; nothing here builds a string on a hot path, and the version
// costs nothing per reply: the shapes that differ are pre-encoded byte arrays swapped by HELLO.

import { Fail, type Reply } from "../commands/reply.ts";
import type { Session } from "../commands/session.ts";
import type { Store } from "../engine/store.ts";
import { respError, respFail, respInternalError } from "../errors.ts";
import { replySliceBytes } from "../constants.ts";
import { longEntry } from "../commands/value-slices.ts";
import { ReplyBase } from "./reply-base.ts";
import { ascii } from "./writer.ts";

const OK = ascii("+OK\r\n");
const PONG = ascii("+PONG\r\n");
const NIL = ascii("$-1\r\n");
const NIL_ARRAY = ascii("*-1\r\n");
/** RESP3's one null, for a missing bulk string and a missing array alike. */
const NULL3 = ascii("_\r\n");
const TRUE3 = ascii("#t\r\n");
const FALSE3 = ascii("#f\r\n");
const ZERO = ascii(":0\r\n");
const ONE = ascii(":1\r\n");

/** Bytes of the bulk string of a value of `len` bytes (an upper bound): `$`, digits, CRLF, bytes, CRLF. */
export function bulkBytes(len: number): number {
  return 1 + 16 + 2 + len + 2;
}

export class RespReply extends ReplyBase implements Reply {
  /** `invalid expire time in '<command>' command`, per command name code: built once each. */
  readonly #invalidExpire = new Map<number, Uint8Array>();

  /** The protocol version spoken: 2 until HELLO 3, back to 2 on HELLO 2 or RESET. */
  #version: 2 | 3 = 2;
  /** What a missing value is in the version spoken: `$-1` in RESP2, `_` in RESP3. */
  #nil: Uint8Array = NIL;
  /** What a missing array is: `*-1` in RESP2, `_` in RESP3. */
  #nilArray: Uint8Array = NIL_ARRAY;

  get version(): 2 | 3 {
    return this.#version;
  }

  /** Switches the encoding for every later reply (HELLO, RESET). */
  setVersion(version: 2 | 3): void {
    this.#version = version;
    this.#nil = version === 3 ? NULL3 : NIL;
    this.#nilArray = version === 3 ? NULL3 : NIL_ARRAY;
  }

  ok(): void {
    this.out.bytes(OK);
  }

  pong(): void {
    this.out.bytes(PONG);
  }

  entry(store: Store, id: number): void {
    if (id < 0) return this.out.bytes(this.#nil);
    const len = store.valueLength(id);
    if (len > replySliceBytes) return longEntry(this.session, store, id);
    const vs = store.valueOffset(id);
    this.bulk(store.buffer(id), vs, vs + len);
  }

  entriesBegin(count: number): void {
    this.arrayHeader(count);
  }

  keyedEntry(store: Store, id: number): void {
    this.entry(store, id);
  }

  /** `$<len>\r\n` of a live entry: what `entry` writes before its bytes. */
  entryHead(store: Store, id: number): void {
    this.bulkHead(store.valueLength(id));
  }

  keyedEntryHead(store: Store, id: number): void {
    this.bulkHead(store.valueLength(id));
  }

  /** `$<len>\r\n`: a bulk string's bytes and CRLF follow. */
  bulkHead(len: number): void {
    const out = this.out;
    out.byte(36);
    out.int(len);
    out.crlf();
  }

  keyedEntryBytes(_keyLen: number, valueLen: number): number {
    return bulkBytes(valueLen);
  }

  written(): void {
    this.out.bytes(OK);
  }

  writtenAll(): void {
    this.out.bytes(OK);
  }

  /** Redis answers a SET that NX or XX refused with nil; it is not an error. */
  setRefused(): void {
    this.out.bytes(this.#nil);
  }

  deleted(count: number): void {
    this.integer(count);
  }

  existing(count: number): void {
    this.integer(count);
  }

  applied(done: boolean): void {
    this.out.bytes(done ? ONE : ZERO);
  }

  integer(n: number): void {
    const out = this.out;
    out.byte(58);
    out.int(n);
    out.crlf();
  }

  integerText(b: Uint8Array, s: number, e: number): void {
    const out = this.out;
    out.byte(58);
    out.range(b, s, e);
    out.crlf();
  }

  /** Two Fails name part of the request in Redis's message: the command, or the option refused. */
  fail(why: Fail): void {
    const s = this.session;
    if (why === Fail.InvalidExpireTime) {
      let bytes = this.#invalidExpire.get(s.p.code);
      if (bytes === undefined) {
        bytes = respError(`invalid expire time in '${s.text(0).toLowerCase()}' command`);
        this.#invalidExpire.set(s.p.code, bytes);
      }
      return this.error(bytes);
    }
    if (why === Fail.UnsupportedOption) return this.error(respError(`Unsupported option ${s.text(s.failArg)}`));
    this.error(respFail[why]!);
  }

  /** Redis's reply to an unknown command: its name and the start of its arguments, quoted. */
  unknownCommand(s: Session): void {
    const p = s.p;
    const arg = (t: number, max: number) => s.text(t).slice(0, max);
    let args = "";
    for (let t = 1; t < p.argc && args.length < 128; t++) args += `'${arg(t, 128 - args.length)}' `;
    this.error(respError(`unknown command '${arg(0, 128)}', with args beginning with: ${args}`));
  }

  internal(cause: string): void {
    this.error(respInternalError(cause));
  }

  status(text: string): void {
    const out = this.out;
    out.byte(43);
    out.text(text);
    out.crlf();
  }

  nil(): void {
    this.out.bytes(this.#nil);
  }

  /** `$<len>\r\n<b[s..e)>\r\n`. */
  bulk(b: Uint8Array, s: number, e: number): void {
    const out = this.out;
    out.byte(36);
    out.int(e - s);
    out.crlf();
    out.range(b, s, e);
    out.crlf();
  }

  bulkText(text: string): void {
    const out = this.out;
    out.byte(36);
    out.int(Buffer.byteLength(text, "latin1"));
    out.crlf();
    out.text(text);
    out.crlf();
  }

  /** `*<n>`; a negative n is the missing array (EXEC aborted by WATCH): `*-1`, or `_` in RESP3. */
  arrayHeader(n: number): void {
    if (n < 0) return this.out.bytes(this.#nilArray);
    this.#header(42, n);
  }

  /** RESP3 `%<n>`; RESP2 has no maps: a flat array of keys and values. */
  mapHeader(n: number): void {
    if (this.#version === 3) this.#header(37, n);
    else this.#header(42, 2 * n);
  }

  /** RESP3 `~<n>`; an array in RESP2. */
  setHeader(n: number): void {
    this.#header(this.#version === 3 ? 126 : 42, n);
  }

  /** RESP3 `><n>`: an out-of-band push frame; RESP2 sends pushes as arrays (pub/sub messages). */
  pushHeader(n: number): void {
    this.#header(this.#version === 3 ? 62 : 42, n);
  }

  /** A missing array: `*-1` in RESP2, `_` in RESP3. */
  nilArray(): void {
    this.out.bytes(this.#nilArray);
  }

  /**
   * RESP3 `,<x>` (`inf`, `-inf`, `nan` as Redis writes them); RESP2 a bulk string of the same
   * text. `text` is Redis's formatting of x when the caller has it (as Redis keeps a score's text).
   */
  double(x: number, text?: string): void {
    const t = text ?? doubleText(x);
    if (this.#version === 3) {
      const out = this.out;
      out.byte(44);
      out.text(t);
      out.crlf();
    } else {
      this.bulkText(t);
    }
  }

  /** RESP3 `#t` / `#f`; RESP2 `:1` / `:0`, as Redis answers booleans to RESP2 clients. */
  boolean(b: boolean): void {
    if (this.#version === 3) this.out.bytes(b ? TRUE3 : FALSE3);
    else this.out.bytes(b ? ONE : ZERO);
  }

  /** RESP3 `(<digits>`; a bulk string of the digits in RESP2. `digits` is a decimal integer of any size. */
  bigNumber(digits: string): void {
    if (this.#version === 3) {
      const out = this.out;
      out.byte(40);
      out.text(digits);
      out.crlf();
    } else {
      this.bulkText(digits);
    }
  }

  /** RESP3 `=<len>\r\ntxt:<text>` (INFO, CLIENT LIST); a bulk string in RESP2. `format` is 3 letters. */
  verbatimText(text: string, format = "txt"): void {
    if (this.#version !== 3) return this.bulkText(text);
    const out = this.out;
    out.byte(61);
    out.int(Buffer.byteLength(text, "latin1") + 4);
    out.crlf();
    out.text(format);
    out.byte(58);
    out.text(text);
    out.crlf();
  }

  #header(type: number, n: number): void {
    const out = this.out;
    out.byte(type);
    out.int(n);
    out.crlf();
  }

  /** Redis's SCAN reply: `*2`, the cursor as a bulk string, then an array of the keys. */
  scanned(cursor: number, count: number): void {
    this.arrayHeader(2);
    this.bulkText(String(cursor));
    this.arrayHeader(count);
  }

  key(store: Store, id: number): void {
    const ks = store.keyOffset(id);
    this.bulk(store.buffer(id), ks, ks + store.keyLength(id));
  }

  keyBytes(keyLen: number): number {
    return bulkBytes(keyLen);
  }
}

/** A double as Redis 7.0 writes it in replies: C's `%.17g`, and `inf`, `-inf`, `nan`. */
export function doubleText(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Number.POSITIVE_INFINITY) return "inf";
  if (x === Number.NEGATIVE_INFINITY) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [digits, exp] = significant17(Math.abs(x));
  const sign = x < 0 ? "-" : "";
  const trimmed = digits.replace(/0+$/, "");
  if (exp < -4 || exp >= 17) {
    const mantissa = trimmed.length > 1 ? `${trimmed[0]}.${trimmed.slice(1)}` : trimmed;
    return `${sign}${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${trimmed}`;
  const whole = digits.slice(0, exp + 1);
  const fraction = digits.slice(exp + 1).replace(/0+$/, "");
  return fraction === "" ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/**
 * The 17 significant decimal digits of a positive finite double, rounded half to even from its
 * exact binary value as printf does (JavaScript's toPrecision rounds ties up), and the decimal
 * exponent of the first digit.
 */
function significant17(x: number): [string, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const mantissa = biased === 0 ? bits & 0xfffffffffffffn : (bits & 0xfffffffffffffn) | (1n << 52n);
  const exp2 = (biased === 0 ? 1 : biased) - 1075; // x = mantissa * 2^exp2, exactly
  let exp10 = Math.floor(Math.log10(x));
  for (;;) {
    const shift = 16 - exp10; // digits = round(x * 10^shift)
    let num = mantissa * (exp2 > 0 ? 1n << BigInt(exp2) : 1n);
    let den = exp2 < 0 ? 1n << BigInt(-exp2) : 1n;
    if (shift >= 0) num *= 10n ** BigInt(shift);
    else den *= 10n ** BigInt(-shift);
    let q = num / den;
    const twice = 2n * (num % den);
    if (twice > den || (twice === den && (q & 1n) === 1n)) q++;
    // log10 may be off by one near powers of ten; rounding may carry into an 18th digit.
    if (q < 10n ** 16n) exp10--;
    else if (q >= 10n ** 17n) exp10++;
    else return [q.toString(), exp10];
  }
}
