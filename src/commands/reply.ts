// What a command answers, said once for every protocol: the Reply interface each protocol's
// encoder implements, and the protocol-neutral failures (`Fail`) each encoder spells its own way.

import type { Store } from "../engine/store.ts";
import type { Session } from "./session.ts";

/**
 * Why a command was refused, independent of the wire. Each protocol's encoder maps a Fail to its
 * own error text (see errors.ts: `textFail` and `respFail`), so a handler never writes an error
 * string and a rule checked once is refused identically, in each protocol's words, on both wires.
 */
export const enum Fail {
  /** A key is longer than max_key_bytes (or empty, in the text protocol, where it cannot happen). */
  KeyTooLarge,
  /** A key to be written is empty (RESP): the keyspace marks free entries by key length 0. */
  EmptyKey,
  /** A key holds a space, a control character or DEL (the text protocol's token rule). */
  BadKey,
  /** An option word the command does not know, or options that do not fit together (RESP: syntax error). */
  Syntax,
  /** An option was given twice (text protocol; RESP lets the last one win). */
  RepeatedOption,
  /** An option that needs a value was last. */
  MissingOptionValue,
  /** SET EX/PX with zero, a negative or a non-integer number. */
  BadEx,
  /** SET PXAT/EXAT with a non-integer number. */
  BadPxat,
  /** SET VER with something other than an unsigned 64-bit integer. */
  BadVer,
  /** EX with PXAT (text protocol). */
  ExWithPxat,
  /** NX with XX. */
  NxWithXx,
  /** KEEPTTL with an expiry option. */
  KeepttlWithExpiry,
  /** An expiry time that is not an integer (EXPIRE family). */
  BadExpire,
  /** An expiry time Redis refuses: past 64-bit milliseconds (its overflow checks), or not positive for SET. */
  InvalidExpireTime,
  /** An EXPIRE option word RESP does not know; the message names it (`Session.failArg`). */
  UnsupportedOption,
  /** EXPIRE with NX and another condition. */
  ExpireNxAndOther,
  /** EXPIRE with GT and LT. */
  ExpireGtAndLt,
  /** A counter delta that is not a signed 64-bit integer. */
  BadDelta,
  /** A counter whose stored value is not the canonical decimal of a signed 64-bit integer. */
  NotAnInteger,
  /** A counter whose result would leave the signed 64-bit range; nothing was written. */
  Overflow,
  /** DECRBY of -2^63, whose negation does not exist (Redis refuses it before reading the key). */
  DecrementOverflow,
  /** SET NX on a live key (text protocol: an error; RESP: a nil reply, see `setRefused`). */
  KeyExists,
  /** SET XX on a key that is not live. */
  KeyMissing,
  /** SET VER n where the key's version (0 when not live) is not n. */
  VersionMismatch,
  /** An argument that must be a 64-bit integer is not (SELECT, HELLO's version, …). */
  NotAnIntegerArg,
  /** INCRBYFLOAT's increment or stored value is not a float as Redis reads one (strtold). */
  NotAFloat,
  /** INCRBYFLOAT whose result would be NaN or an infinity; nothing was written. */
  FloatNanOrInfinity,
  /** APPEND or SETRANGE whose result would be longer than max_value_bytes (Redis's proto-max-bulk-len). */
  StringTooLong,
  /** SETRANGE with a negative offset. */
  OffsetOutOfRange,
  /** SETBIT/GETBIT with an offset that is not an integer, negative, or at or past max_value_bytes × 8. */
  BitOffset,
  /** SETBIT with a bit other than 0 or 1. */
  BitValue,
  /** BITPOS looking for a bit other than 0 or 1. */
  BitposBit,
  /** LCS with both LEN and IDX. */
  LcsLenAndIdx,
  /** LCS whose table of (n+1) × (m+1) lengths would pass its memory bound (constants.ts lcsTableBytesMax). */
  LcsTooLarge,
  /** BITOP NOT with other than one source key. */
  BitopNotOneKey,
  /** A SCAN cursor that is not an unsigned 64-bit decimal. */
  InvalidCursor,
  /** SCAN COUNT below 1. */
  BadCount,
  /** RENAME/RENAMENX of a key that is not live. */
  NoSuchKey,
  /** COPY of a key onto itself. */
  SameObject,
  /** OBJECT FREQ: no LFU policy, so access frequency is not tracked (Redis's words). */
  FreqNotTracked,
  /** OBJECT IDLETIME: Osprey keeps no access times. */
  IdleNotTracked,
  /** A write that needs memory while the keyspace is at max_memory_bytes and nothing can be evicted. */
  Oom,
  /** A command other than AUTH, HELLO, QUIT or RESET before the connection authenticated. */
  NoAuth,
  /** AUTH or HELLO AUTH with a wrong password, an unknown user or a disabled one: one answer for all three. */
  WrongPass,
  /** AUTH while no password or user is configured. */
  NoPassword,
  /** A key the request names is outside the user's `keys` pattern. */
  NoPermKey,
  /** A command that reaches keys it does not name (SCAN, KEYS, FLUSHALL, …), from a user with a `keys` pattern. */
  NoPermKeyspace,
}

/**
 * The reply encoder of one connection: every command hands it a protocol-neutral result and the
 * encoder writes it in its protocol's form. Where the two protocols answer the same result in
 * different shapes (an entry is `VALUE len version expiry` + bytes in Osprey's protocol, a bulk
 * string in RESP) the difference lives here, never in a handler.
 *
 * Generic shapes (`bulk`, `arrayHeader`, `mapHeader`) exist only in RESP; the text encoder asserts
 * they are never used, which the command table guarantees by not routing RESP-only rows to it.
 */
export interface Reply {
  /** The session whose replies this encodes (its constructor sets it). */
  session: Session;
  /** Bytes written so far into the shared reply buffer (for output-room checks and rollback). */
  readonly len: number;
  /** Drops everything written after `len` (a command that stops half-way). */
  truncate(len: number): void;

  // ---- Results of the command core ----
  /** A success without data: text `OK`, RESP `+OK`. */
  ok(): void;
  /** PING without an argument: text `PONG`, RESP `+PONG`. */
  pong(): void;
  /**
   * A live entry (`id` ≥ 0) or a missing key (`id` < 0): GET's answer. A value longer than
   * replySliceBytes is answered in slices (commands/value-slices.ts): the session then yields, and
   * its handler must write nothing more.
   */
  entry(store: Store, id: number): void;
  /** What `entry` writes of live entry `id` before its value's bytes (then `raw` the bytes and CRLF). */
  entryHead(store: Store, id: number): void;
  /** What `keyedEntry` writes of live entry `id` before its value's bytes. */
  keyedEntryHead(store: Store, id: number, b: Uint8Array, ks: number, ke: number): void;
  /** Bytes as they are: the rest of an answer whose head was written (a large value in slices). */
  raw(b: Uint8Array, s: number, e: number): void;
  /** MGET's items follow: text writes nothing, RESP an array header. */
  entriesBegin(count: number): void;
  /** One MGET item for the key b[ks..ke): text repeats the key, RESP writes a bulk string or nil; a long value as `entry`. */
  keyedEntry(store: Store, id: number, b: Uint8Array, ks: number, ke: number): void;
  /** An upper bound of what `keyedEntry` writes for a key and value of these lengths. */
  keyedEntryBytes(keyLen: number, valueLen: number): number;
  /** SET wrote the key, which now has `version`: text `OK <version>`, RESP `+OK`. */
  written(version: number): void;
  /** MSET wrote all `count` keys: text `OK <count>`, RESP `+OK`. */
  writtenAll(count: number): void;
  /** SET did not write because NX, XX or VER refused it: text an error, RESP nil. */
  setRefused(why: Fail.KeyExists | Fail.KeyMissing | Fail.VersionMismatch): void;
  /** How many keys were deleted: text `DELETED n`, RESP `:n`. */
  deleted(count: number): void;
  /** How many of the named keys are live: text `EXISTS n`, RESP `:n`. */
  existing(count: number): void;
  /** Whether a key-level change applied (EXPIRE): text `OK` / `NOT_FOUND`, RESP `:1` / `:0`. */
  applied(done: boolean): void;
  /** An integer: text a bare decimal line, RESP `:n`. */
  integer(n: number): void;
  /** An integer already in decimal at b[s..e) (a counter's result). */
  integerText(b: Uint8Array, s: number, e: number): void;
  /** A refusal; counted in errors_total. */
  fail(why: Fail): void;
  /** A pre-encoded error reply of this protocol (admin commands, dynamic texts); counted. */
  error(bytes: Uint8Array): void;
  /** The request names no command this protocol knows; counted. */
  unknownCommand(s: Session): void;
  /** A command failed inside the server (disk full under the log, keyspace full); counted. */
  internal(cause: string): void;

  // ---- Generic shapes ----
  /** A status line: text `<text>`, RESP `+<text>`. */
  status(text: string): void;
  /** A nil: text `NOT_FOUND`, RESP `$-1`. */
  nil(): void;
  /** A bulk string of b[s..e) (RESP only). */
  bulk(b: Uint8Array, s: number, e: number): void;
  /** A bulk string's header for `len` bytes (RESP only): the bytes and CRLF follow through `raw`. */
  bulkHead(len: number): void;
  /** A bulk string of latin1 text (RESP only; not for hot paths). */
  bulkText(text: string): void;
  /** An array of `n` elements follows (RESP only). */
  arrayHeader(n: number): void;
  /** A map of `n` pairs follows (RESP only; a flat array of 2n in RESP2). */
  mapHeader(n: number): void;

  // ---- Keyspace listings (SCAN, KEYS, RANDOMKEY) ----
  /** A SCAN step's reply follows: the next cursor, then `count` keys (text `CURSOR <next> <count>`, RESP `*2`, the cursor, `*count`). */
  scanned(cursor: number, count: number): void;
  /** The key of live entry `id` (text `KEY <len>` CRLF, the bytes, CRLF; RESP a bulk string). */
  key(store: Store, id: number): void;
  /** An upper bound of what `key` writes for a key of `keyLen` bytes. */
  keyBytes(keyLen: number): number;
  // ---- RESP3 shapes (RESP only; each has Redis's RESP2 form when RESP2 is spoken) ----
  /** The RESP version spoken: 2 or 3 (set by HELLO, back to 2 by RESET); 0 for the text protocol. */
  readonly version: number;
  /** Switches the RESP version for every later reply on the connection (RESP only). */
  setVersion(version: 2 | 3): void;
  /** A set of `n` elements follows: `~n` in RESP3, an array in RESP2. */
  setHeader(n: number): void;
  /** A push frame of `n` elements follows: `>n` in RESP3, an array in RESP2. */
  pushHeader(n: number): void;
  /** A missing array: `_` in RESP3, `*-1` in RESP2. */
  nilArray(): void;
  /** A double: `,x` in RESP3, a bulk string of its text in RESP2 (`text` overrides Redis's `%.17g`). */
  double(x: number, text?: string): void;
  /** A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2. */
  boolean(b: boolean): void;
  /** An integer of any size in decimal: `(digits` in RESP3, a bulk string in RESP2. */
  bigNumber(digits: string): void;
  /** Text meant for humans (INFO, CLIENT LIST): a verbatim string `=len txt:…` in RESP3, a bulk string in RESP2. */
  verbatimText(text: string, format?: string): void;
}
