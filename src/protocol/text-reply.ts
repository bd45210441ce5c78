// The text protocol's reply encoder: the command core's results in Osprey's own words
// (`VALUE <len> <version> <expiry_ms>`, `OK <version>`, `DELETED 1`, `ERR <CODE> …`).

import { assert } from "../assert.ts";
import type { Fail, Reply } from "../commands/reply.ts";
import type { Session } from "../commands/session.ts";
import type { Store } from "../engine/store.ts";
import { Err, internalError, textFail } from "../errors.ts";
import { replySliceBytes } from "../constants.ts";
import { longEntry, longKeyedEntry } from "../commands/value-slices.ts";
import { ReplyBase } from "./reply-base.ts";
import { ascii } from "./writer.ts";

const OK = ascii("OK\r\n");
const OK_ = ascii("OK ");
const PONG = ascii("PONG\r\n");
const VALUE_ = ascii("VALUE ");
const NOT_FOUND = ascii("NOT_FOUND\r\n");
const NOT_FOUND_ = ascii("NOT_FOUND ");
const DELETED_ = ascii("DELETED ");
const EXISTS_ = ascii("EXISTS ");
const CURSOR_ = ascii("CURSOR ");
const KEY_ = ascii("KEY ");

export class TextReply extends ReplyBase implements Reply {

  ok(): void {
    this.out.bytes(OK);
  }

  pong(): void {
    this.out.bytes(PONG);
  }

  /** `VALUE <len> <version> <expiry_ms>\r\n<bytes>\r\n`, or `NOT_FOUND`; a long value in slices (value-slices.ts). */
  entry(store: Store, id: number): void {
    const out = this.out;
    if (id < 0) return out.bytes(NOT_FOUND);
    const len = store.valueLength(id);
    if (len > replySliceBytes) return longEntry(this.session, store, id);
    out.bytes(VALUE_);
    this.#entryTail(store, id, len);
  }

  /** `VALUE <len> <version> <expiry_ms>\r\n` of a live entry: what `entry` writes before its bytes. */
  entryHead(store: Store, id: number): void {
    this.out.bytes(VALUE_);
    this.#head(store, id, store.valueLength(id));
  }

  entriesBegin(): void {}

  /** `VALUE <key> <len> <version> <expiry_ms>\r\n<bytes>\r\n`, or `NOT_FOUND <key>`. */
  keyedEntry(store: Store, id: number, b: Uint8Array, ks: number, ke: number): void {
    const out = this.out;
    if (id >= 0 && store.valueLength(id) > replySliceBytes) return longKeyedEntry(this.session, store, id, b, ks, ke);
    out.bytes(id < 0 ? NOT_FOUND_ : VALUE_);
    out.range(b, ks, ke);
    if (id < 0) return out.crlf();
    out.byte(32);
    this.#entryTail(store, id, store.valueLength(id));
  }

  /** `VALUE <key> <len> <version> <expiry_ms>\r\n` of a live entry. */
  keyedEntryHead(store: Store, id: number, b: Uint8Array, ks: number, ke: number): void {
    const out = this.out;
    out.bytes(VALUE_);
    out.range(b, ks, ke);
    out.byte(32);
    this.#head(store, id, store.valueLength(id));
  }

  keyedEntryBytes(keyLen: number, valueLen: number): number {
    return 6 + keyLen + 1 + 16 + 1 + 20 + 1 + 20 + 2 + valueLen + 2;
  }

  /** `<len> <version> <expiry_ms>\r\n<bytes>\r\n` of a live entry whose value is `len` bytes. */
  #entryTail(store: Store, id: number, len: number): void {
    const out = this.out;
    this.#head(store, id, len);
    const vs = store.valueOffset(id);
    out.range(store.buffer(id), vs, vs + len);
    out.crlf();
  }

  /** `<len> <version> <expiry_ms>\r\n`. */
  #head(store: Store, id: number, len: number): void {
    const out = this.out;
    out.int(len);
    out.byte(32);
    out.int(store.version(id));
    out.byte(32);
    const at = store.expiry(id);
    // Past 2^53 (an expiry RESP's PEXPIREAT set) the writer's digits would be wrong: its shortest decimal.
    if (at <= Number.MAX_SAFE_INTEGER) out.int(at);
    else out.text(String(at));
    out.crlf();
  }

  written(version: number): void {
    this.#counted(OK_, version);
  }

  writtenAll(count: number): void {
    this.#counted(OK_, count);
  }

  setRefused(why: Fail.KeyExists | Fail.KeyMissing | Fail.VersionMismatch): void {
    this.fail(why);
  }

  deleted(count: number): void {
    this.#counted(DELETED_, count);
  }

  existing(count: number): void {
    this.#counted(EXISTS_, count);
  }

  /** `<word> <n>\r\n`. */
  #counted(word: Uint8Array, n: number): void {
    const out = this.out;
    out.bytes(word);
    out.int(n);
    out.crlf();
  }

  applied(done: boolean): void {
    this.out.bytes(done ? OK : NOT_FOUND);
  }

  integer(n: number): void {
    this.out.int(n);
    this.out.crlf();
  }

  integerText(b: Uint8Array, s: number, e: number): void {
    this.out.range(b, s, e);
    this.out.crlf();
  }

  fail(why: Fail): void {
    this.error(textFail[why]!);
  }

  unknownCommand(_s: Session): void {
    this.error(Err.unknownCommand);
  }

  internal(cause: string): void {
    this.error(internalError(cause));
  }

  status(text: string): void {
    this.out.text(text);
    this.out.crlf();
  }

  nil(): void {
    this.out.bytes(NOT_FOUND);
  }

  bulk(): void {
    noTextForm("a bulk string");
  }

  bulkText(): void {
    noTextForm("a bulk string");
  }

  bulkHead(): void {
    noTextForm("a bulk string");
  }

  arrayHeader(): void {
    noTextForm("an array");
  }

  mapHeader(): void {
    noTextForm("a map");
  }

  /** `CURSOR <next> <count>`; `count` KEY blocks follow. */
  scanned(cursor: number, count: number): void {
    const out = this.out;
    out.bytes(CURSOR_);
    out.int(cursor);
    out.byte(32);
    out.int(count);
    out.crlf();
  }

  /** `KEY <len>` CRLF, the key's bytes, CRLF: a key set over RESP may hold any byte. */
  key(store: Store, id: number): void {
    const out = this.out;
    const len = store.keyLength(id);
    const ks = store.keyOffset(id);
    out.bytes(KEY_);
    out.int(len);
    out.crlf();
    out.range(store.buffer(id), ks, ks + len);
    out.crlf();
  }

  keyBytes(keyLen: number): number {
    return 4 + 16 + 2 + keyLen + 2;
  }

  /** The text protocol is not RESP. */
  get version(): number {
    return 0;
  }

  setVersion(): void {
    noTextForm("a RESP version");
  }

  setHeader(): void {
    noTextForm("a set");
  }

  pushHeader(): void {
    noTextForm("a push frame");
  }

  nilArray(): void {
    noTextForm("a missing array");
  }

  double(): void {
    noTextForm("a double");
  }

  boolean(): void {
    noTextForm("a boolean");
  }

  bigNumber(): void {
    noTextForm("a big number");
  }

  verbatimText(): void {
    noTextForm("a verbatim string");
  }
}

/** The command table routes only commands with a text form here; one that replies in a RESP-only shape is a bug. */
function noTextForm(shape: string): never {
  assert(false, `the text protocol has no form for ${shape}: a RESP-only reply reached a text connection`);
}
