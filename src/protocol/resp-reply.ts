// RESP2's reply encoder: the command core's results as Redis answers them (bulk strings, nil,
// integers, `+OK`, `-ERR …`). Lengths and numbers are written as ASCII digits directly; nothing
// here builds a string on a hot path.

import { Fail, type Reply } from "../commands/reply.ts";
import type { Session } from "../commands/session.ts";
import type { Store } from "../engine/store.ts";
import { respError, respFail, respInternalError } from "../errors.ts";
import { ReplyBase } from "./reply-base.ts";
import { ascii } from "./writer.ts";

const OK = ascii("+OK\r\n");
const PONG = ascii("+PONG\r\n");
const NIL = ascii("$-1\r\n");
const ZERO = ascii(":0\r\n");
const ONE = ascii(":1\r\n");

/** Bytes of the bulk string of a value of `len` bytes (an upper bound): `$`, digits, CRLF, bytes, CRLF. */
export function bulkBytes(len: number): number {
  return 1 + 16 + 2 + len + 2;
}

export class RespReply extends ReplyBase implements Reply {
  /** `invalid expire time in '<command>' command`, per command name code: built once each. */
  readonly #invalidExpire = new Map<number, Uint8Array>();

  /** The session whose replies this encodes (set once, right after both are made). */
  session!: Session;

  ok(): void {
    this.out.bytes(OK);
  }

  pong(): void {
    this.out.bytes(PONG);
  }

  entry(store: Store, id: number): void {
    if (id < 0) return this.out.bytes(NIL);
    const vs = store.valueOffset(id);
    this.bulk(store.buffer(id), vs, vs + store.valueLength(id));
  }

  entriesBegin(count: number): void {
    this.arrayHeader(count);
  }

  keyedEntry(store: Store, id: number): void {
    this.entry(store, id);
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
    this.out.bytes(NIL);
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
    this.out.bytes(NIL);
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

  arrayHeader(n: number): void {
    const out = this.out;
    out.byte(42);
    out.int(n);
    out.crlf();
  }

  /** RESP2 has no maps: a flat array of keys and values. */
  mapHeader(n: number): void {
    this.arrayHeader(2 * n);
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
