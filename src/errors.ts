// The wire error codes of the Osprey protocol and every message the server sends with them, for
// both protocols, and how each protocol spells the command core's neutral failures (`Fail`).
// Each reply is encoded once at start-up, so answering an error allocates nothing.

import { assert } from "./assert.ts";
import { Fail } from "./commands/reply.ts";

/** The error codes of docs/PROTOCOL.md: `ERR <CODE> <message>`. */
export type ErrorCode = "BADREQ" | "TOOLARGE" | "EXISTS" | "NEXISTS" | "VER" | "TYPE" | "BUSY" | "OOM" | "INTERNAL" | "NOAUTH" | "NOPERM";

function reply(code: ErrorCode, message: string): Uint8Array {
  return Buffer.from(`ERR ${code} ${message}\r\n`, "latin1");
}

/** Every fixed error reply, pre-encoded. A sentence says when each is sent. */
export const Err = {
  /** The command name is not one Osprey knows. */
  unknownCommand: reply("BADREQ", "unknown command"),
  /** The command has too few or too many arguments. */
  arity: reply("BADREQ", "wrong number of arguments"),
  /** A command line exceeded the line limit; the connection is closed after this. */
  lineTooLong: reply("BADREQ", "command line too long"),
  /** A payload was not followed by CRLF; the connection is closed after this. */
  badTrailer: reply("BADREQ", "payload not followed by CRLF"),
  /** A length or number argument is not a non-negative integer. */
  badLength: reply("BADREQ", "length is not a non-negative integer"),
  /** EX was given zero, a negative or a non-integer number. */
  badEx: reply("BADREQ", "EX needs a positive integer of milliseconds"),
  /** PXAT was given a non-integer or out-of-range number. */
  badPxat: reply("BADREQ", "PXAT needs an integer epoch in milliseconds"),
  /** VER was given something other than an unsigned 64-bit integer. */
  badVer: reply("BADREQ", "VER needs an unsigned integer"),
  /** EXPIRE was given a non-integer or out-of-range number. */
  badExpire: reply("BADREQ", "EXPIRE needs an integer of milliseconds"),
  /** INCR/DECR was given a delta that is not a signed 64-bit integer. */
  badDelta: reply("BADREQ", "delta is not a signed 64-bit integer"),
  /** An option word of SET is not one Osprey knows. */
  unknownOption: reply("BADREQ", "unknown option"),
  /** A SET option was given twice. */
  repeatedOption: reply("BADREQ", "option given more than once"),
  /** A SET option that needs a number was last on the line. */
  missingOptionValue: reply("BADREQ", "option needs a value"),
  /** EX and PXAT together. */
  exWithPxat: reply("BADREQ", "EX and PXAT cannot be combined"),
  /** NX and XX together. */
  nxWithXx: reply("BADREQ", "NX and XX cannot be combined"),
  /** KEEPTTL together with EX or PXAT. */
  keepttlWithExpiry: reply("BADREQ", "KEEPTTL cannot be combined with EX or PXAT"),
  /** MSET with an odd number of arguments. */
  msetOdd: reply("BADREQ", "MSET needs key and length pairs"),
  /** A key holds a space, a control character or DEL. */
  badKey: reply("BADREQ", "key contains invalid characters"),
  /** STATS while metrics_enable = false. */
  metricsDisabled: reply("BADREQ", "STATS is disabled (metrics_enable = false)"),
  /** A key is empty or longer than max_key_bytes. An empty key cannot come off the wire. */
  keyTooLarge: reply("TOOLARGE", "key too large"),
  /** A value, or an MSET's payloads together, exceed the limit. The payload is discarded. */
  valueTooLarge: reply("TOOLARGE", "value too large"),
  /** SET NX on a live key. */
  exists: reply("EXISTS", "key already exists"),
  /** SET XX on a key that is not live. */
  nexists: reply("NEXISTS", "key does not exist"),
  /** SET VER n where the key's version (0 when not live) is not n. */
  version: reply("VER", "version mismatch"),
  /** INCR/DECR on a value that is not a signed 64-bit decimal integer. */
  notAnInteger: reply("TYPE", "value is not an integer"),
  /** INCR/DECR whose result falls outside the signed 64-bit range; nothing is written. */
  overflow: reply("TYPE", "increment would overflow"),
  /** A connection over max_clients; it is closed after this. */
  maxClients: reply("BUSY", "max clients reached"),
  /** An argument that must be an integer is not (SCAN's COUNT). */
  badNumber: reply("BADREQ", "argument is not an integer"),
  /** A SCAN cursor that is not an unsigned 64-bit decimal. */
  invalidCursor: reply("BADREQ", "invalid cursor"),
  /** SCAN COUNT of zero or less. */
  badCount: reply("BADREQ", "COUNT needs a positive integer"),
  /**
   * A write that needs memory while the keyspace is at max_memory_bytes and the policy cannot
   * evict (noeviction, or no key of its class is left); nothing was applied or logged.
   */
  oom: reply("OOM", "command not allowed: used memory is at max_memory_bytes and nothing can be evicted"),
  /** A refusal of a RESP-only keyspace command, which never reaches a text connection (the table's fallback). */
  respOnly: reply("BADREQ", "not available in the text protocol"),
  /** A command other than AUTH or QUIT before the connection authenticated. */
  noAuth: reply("NOAUTH", "authentication required"),
  /** AUTH with a wrong password, an unknown or a disabled user (one message, so names cannot be probed). */
  wrongPass: reply("NOAUTH", "invalid username or password"),
  /** AUTH while no auth_password and no [[users]] are configured. */
  noPassword: reply("BADREQ", "AUTH called but no password is configured"),
  /** A key the request names is outside the user's keys pattern. */
  noPermKey: reply("NOPERM", "no permission to access a key named in the request"),
  /** SCAN, DBSIZE, FLUSHALL, … from a user with a keys pattern: they reach keys the request does not name. */
  noPermKeyspace: reply("NOPERM", "no permission to run a command that reaches keys outside the user's pattern"),
  /** A connection accepted while max_unauthenticated_clients connections wait to authenticate; it is closed. */
  unauthenticatedMax: reply("BUSY", "too many connections waiting to authenticate (max_unauthenticated_clients)"),
  /** A connection that did not authenticate within auth_timeout seconds; it is closed. */
  authTimeout: reply("NOAUTH", "not authenticated within auth_timeout: closing the connection"),
} as const;

/**
 * NOPERM for a command the user's permissions do not cover, naming it (text: `ERR NOPERM no
 * permission to run 'SET'`; RESP: Redis's words). Built when refused, never on a hot path.
 */
export function noPermCommand(text: boolean, name: string): Uint8Array {
  return text ? reply("NOPERM", `no permission to run '${name}'`) : respError(`-NOPERM this user has no permissions to run the '${name}' command`);
}

/** An `ERR INTERNAL` reply naming the cause, for failures that are not the client's fault. */
export function internalError(cause: string): Uint8Array {
  return reply("INTERNAL", publicCause(cause).replace(/[\r\n]+/g, " "));
}

// An absolute path: a slash, then segments up to the last one, which is kept.
const absolutePath = /(?<![\w.])\/(?:[^\s'"/:,()]+\/)*([^\s'"/:,()]+)/g;

/**
 * A cause as a client may see it: every absolute path cut to its base name (the fs errors of
 * Node and Bun name the full path), since where data_dir lies is the operator's business. The
 * log keeps the full text.
 */
export function publicCause(cause: string): string {
  return cause.replace(absolutePath, "$1");
}

/**
 * A RESP error reply `-<message>\r\n`. CR and LF in the message become spaces, as Redis does. A
 * message naming its own error code (Redis's `-NOPROTO …`) starts with '-'; others get `ERR `.
 */
export function respError(message: string): Uint8Array {
  const line = message.replace(/[\r\n]/g, " ");
  return Buffer.from(line.startsWith("-") ? `${line}\r\n` : `-ERR ${line}\r\n`, "latin1");
}

/** The fixed error replies of RESP connections, with Redis's texts where Redis has the error. */
export const RespErr = {
  /** A write that needs memory at maxmemory with nothing evictable (Redis's text); nothing was applied. */
  oom: respError("-OOM command not allowed when used memory > 'maxmemory'."),
  /** A `*` line that is not an integer, or announces more than argsCountMax arguments; closes. */
  invalidMultibulkLength: respError("Protocol error: invalid multibulk length"),
  /** An inline command line longer than Redis allows (64 KiB). */
  inlineTooBig: respError("Protocol error: too big inline request"),
  /** max_clients reached, on the RESP-only port (Redis's text); the connection is then closed. */
  maxClients: respError("max number of clients reached"),
  /** A `$` line that is not an integer, is negative or over max_value_bytes; closes. */
  invalidBulkLength: respError("Protocol error: invalid bulk length"),
  /** A bulk string not followed by CRLF; closes (Redis skips two bytes without looking). */
  bulkNotCrlf: respError("Protocol error: bulk string not followed by CRLF"),
  /** A request larger than the largest Osprey request (a full line plus the MSET payload limit); closes. */
  requestTooLarge: respError("Protocol error: request too large"),
  /** An option that does not fit the command (SET, FLUSHALL). */
  syntax: respError("syntax error"),
  /** An argument or a stored value that is not a signed 64-bit integer. */
  notAnInteger: respError("value is not an integer or out of range"),
  /** INCR/DECR/INCRBY/DECRBY whose result leaves the signed 64-bit range; nothing is written. */
  overflow: respError("increment or decrement would overflow"),
  /** DECRBY of -2^63, whose negation does not exist. */
  decrementOverflow: respError("decrement would overflow"),
  /** SELECT of a database other than 0: Osprey has one keyspace. */
  dbIndex: respError("DB index is out of range"),
  /** HELLO with a protocol version other than 2 or 3. */
  noProto: respError("-NOPROTO unsupported protocol version"),
  /** HELLO whose version is not a number. */
  helloVersion: respError("Protocol version is not an integer or out of range"),
  /** AUTH or HELLO AUTH with a wrong password, an unknown or a disabled user (Redis's text). */
  wrongPass: respError("-WRONGPASS invalid username-password pair or user is disabled."),
  /** A command other than AUTH, HELLO, QUIT or RESET before the connection authenticated. */
  noAuth: respError("-NOAUTH Authentication required."),
  /** HELLO without AUTH before the connection authenticated (Redis's text). */
  helloNoAuth: respError("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"),
  /** AUTH <password> while the default user has no password (Redis's text). */
  noPassword: respError("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"),
  /** A key outside the user's keys pattern (Redis's text). */
  noPermKey: respError("-NOPERM this user has no permissions to access one of the keys used as arguments"),
  /** SCAN, KEYS, DBSIZE, FLUSHALL, … from a user with a keys pattern (Osprey's rule; Redis would not filter them). */
  noPermKeyspace: respError("-NOPERM this user has a key pattern and this command reaches keys outside it"),
  /** A connection accepted on resp_listen_addr while max_unauthenticated_clients wait to authenticate; it is closed. */
  unauthenticatedMax: respError("max number of unauthenticated clients reached"),
  /** A connection that did not authenticate within auth_timeout seconds; it is closed. */
  authTimeout: respError("-NOAUTH Authentication not completed within auth_timeout, closing the connection."),
  /** CLIENT SETNAME with a byte outside '!'..'~'. */
  clientName: respError("Client names cannot contain spaces, newlines or special characters."),
  /** EXPIRE with NX and another condition. */
  expireNxAndOther: respError("NX and XX, GT or LT options at the same time are not compatible"),
  /** EXPIRE with GT and LT. */
  expireGtAndLt: respError("GT and LT options at the same time are not compatible"),
  /** A write to the empty key: the keyspace marks free entries by key length 0. */
  emptyKey: respError("empty keys are not supported"),
  /** A write to a key longer than max_key_bytes. */
  keyTooLarge: respError("key is longer than max_key_bytes"),
  /** INCRBYFLOAT's increment or stored value is not a float. */
  notAFloat: respError("value is not a valid float"),
  /** INCRBYFLOAT whose result would be NaN or an infinity; nothing is written. */
  floatNanOrInfinity: respError("increment would produce NaN or Infinity"),
  /** APPEND/SETRANGE past max_value_bytes, which CONFIG GET reports as proto-max-bulk-len (Redis's text). */
  stringTooLong: respError("string exceeds maximum allowed size (proto-max-bulk-len)"),
  /** SETRANGE with a negative offset. */
  offsetOutOfRange: respError("offset is out of range"),
  /** SETBIT/GETBIT offset not an integer, negative, or at or past max_value_bytes × 8. */
  bitOffset: respError("bit offset is not an integer or out of range"),
  /** SETBIT's bit not 0 or 1. */
  bitValue: respError("bit is not an integer or out of range"),
  /** BITPOS's bit not 0 or 1. */
  bitposBit: respError("The bit argument must be 1 or 0."),
  /** LCS with LEN and IDX together. */
  lcsLenAndIdx: respError("If you want both the length and indexes, please just use IDX."),
  /** LCS whose table would pass min(max_value_bytes, lcsTableBytesMax) (Redis's text names proto-max-bulk-len). */
  lcsTooLarge: respError("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"),
  /** BITOP NOT with more than one source key. */
  bitopNotOneKey: respError("BITOP NOT must be called with a single source key."),
  /** SCAN with a cursor that is not an unsigned 64-bit decimal. */
  invalidCursor: respError("invalid cursor"),
  /** RENAME/RENAMENX of a key that is not live. */
  noSuchKey: respError("no such key"),
  /** COPY of a key onto itself. */
  sameObject: respError("source and destination objects are the same"),
  /** OBJECT FREQ: Osprey has no LFU policy (Redis's words for maxmemory-policy noeviction). */
  freqNotTracked: respError("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
  /** OBJECT IDLETIME: Osprey keeps no access times (Redis would estimate one). */
  idleNotTracked: respError("idle time not tracked: Osprey keeps no access times"),
  /** SELECT of an integer outside the 32-bit range (Redis's text, typo included). */
  selectRange: respError("value is out of range, value must between -2147483648 and 2147483647"),
  /** CLIENT LIST ID with an id that is not a positive integer. */
  invalidClientId: respError("Invalid client ID"),
  /** CLIENT KILL ID with an id that is not a positive integer. */
  clientIdPositive: respError("client-id should be greater than 0"),
  /** CLIENT KILL ip:port (the old form) matching no client. */
  noSuchClient: respError("No such client"),
  /** CLIENT PAUSE with a mode other than WRITE or ALL. */
  pauseMode: respError("CLIENT PAUSE mode must be WRITE or ALL"),
  /** CLIENT PAUSE with a timeout that is not a 64-bit integer. */
  timeoutNotInteger: respError("timeout is not an integer or out of range"),
  /** CLIENT PAUSE with a negative timeout. */
  timeoutNegative: respError("timeout is negative"),
  /** An inline request whose quotes do not close (or a closing quote not followed by a space); closes. */
  unbalancedQuotes: respError("Protocol error: unbalanced quotes in request"),
} as const;

/** A RESP `-ERR INTERNAL <cause>` reply, for failures that are not the client's fault. */
export function respInternalError(cause: string): Uint8Array {
  return respError(`INTERNAL ${publicCause(cause)}`);
}

/** The text protocol's reply for each Fail, indexed by it. */
export const textFail: readonly Uint8Array[] = failTable({
  [Fail.KeyTooLarge]: Err.keyTooLarge,
  [Fail.EmptyKey]: Err.keyTooLarge,
  [Fail.BadKey]: Err.badKey,
  [Fail.Syntax]: Err.unknownOption,
  [Fail.RepeatedOption]: Err.repeatedOption,
  [Fail.MissingOptionValue]: Err.missingOptionValue,
  [Fail.BadEx]: Err.badEx,
  [Fail.BadPxat]: Err.badPxat,
  [Fail.BadVer]: Err.badVer,
  [Fail.ExWithPxat]: Err.exWithPxat,
  [Fail.NxWithXx]: Err.nxWithXx,
  [Fail.KeepttlWithExpiry]: Err.keepttlWithExpiry,
  [Fail.BadExpire]: Err.badExpire,
  // Text EXPIRE times have at most 15 digits, so they never pass 2^53 ms: the fallback only.
  [Fail.InvalidExpireTime]: Err.badExpire,
  [Fail.UnsupportedOption]: Err.unknownOption,
  [Fail.ExpireNxAndOther]: Err.unknownOption,
  [Fail.ExpireGtAndLt]: Err.unknownOption,
  [Fail.BadDelta]: Err.badDelta,
  [Fail.NotAnInteger]: Err.notAnInteger,
  [Fail.Overflow]: Err.overflow,
  [Fail.DecrementOverflow]: Err.overflow,
  [Fail.KeyExists]: Err.exists,
  [Fail.KeyMissing]: Err.nexists,
  [Fail.VersionMismatch]: Err.version,
  [Fail.NotAnIntegerArg]: Err.badNumber,
  // The string and bit family beyond GET/SET is RESP-only (text: null in the table): fallbacks.
  [Fail.NotAFloat]: Err.badNumber,
  [Fail.FloatNanOrInfinity]: Err.overflow,
  [Fail.StringTooLong]: Err.valueTooLarge,
  [Fail.OffsetOutOfRange]: Err.badLength,
  [Fail.BitOffset]: Err.badLength,
  [Fail.BitValue]: Err.badNumber,
  [Fail.BitposBit]: Err.badNumber,
  [Fail.LcsLenAndIdx]: Err.unknownOption,
  [Fail.LcsTooLarge]: Err.valueTooLarge,
  [Fail.BitopNotOneKey]: Err.badNumber,
  [Fail.InvalidCursor]: Err.invalidCursor,
  [Fail.BadCount]: Err.badCount,
  [Fail.NoSuchKey]: Err.respOnly,
  [Fail.SameObject]: Err.respOnly,
  [Fail.FreqNotTracked]: Err.respOnly,
  [Fail.IdleNotTracked]: Err.respOnly,
  [Fail.Oom]: Err.oom,
  [Fail.NoAuth]: Err.noAuth,
  [Fail.WrongPass]: Err.wrongPass,
  [Fail.NoPassword]: Err.noPassword,
  [Fail.NoPermKey]: Err.noPermKey,
  [Fail.NoPermKeyspace]: Err.noPermKeyspace,
});

/**
 * RESP's reply for each Fail, indexed by it, with Redis's texts. Two depend on the request and are
 * built by the RESP encoder instead: InvalidExpireTime names the command, UnsupportedOption the
 * option. KeyExists, KeyMissing and VersionMismatch are answered nil by `setRefused`, not as errors.
 */
export const respFail: readonly Uint8Array[] = failTable({
  [Fail.KeyTooLarge]: RespErr.keyTooLarge,
  [Fail.EmptyKey]: RespErr.emptyKey,
  [Fail.BadKey]: RespErr.syntax,
  [Fail.Syntax]: RespErr.syntax,
  [Fail.RepeatedOption]: RespErr.syntax,
  [Fail.MissingOptionValue]: RespErr.syntax,
  [Fail.BadEx]: RespErr.notAnInteger,
  [Fail.BadPxat]: RespErr.notAnInteger,
  [Fail.BadVer]: RespErr.syntax,
  [Fail.ExWithPxat]: RespErr.syntax,
  [Fail.NxWithXx]: RespErr.syntax,
  [Fail.KeepttlWithExpiry]: RespErr.syntax,
  [Fail.BadExpire]: RespErr.notAnInteger,
  [Fail.InvalidExpireTime]: respError("invalid expire time"),
  [Fail.UnsupportedOption]: respError("Unsupported option"),
  [Fail.ExpireNxAndOther]: RespErr.expireNxAndOther,
  [Fail.ExpireGtAndLt]: RespErr.expireGtAndLt,
  [Fail.BadDelta]: RespErr.notAnInteger,
  [Fail.NotAnInteger]: RespErr.notAnInteger,
  [Fail.Overflow]: RespErr.overflow,
  [Fail.DecrementOverflow]: RespErr.decrementOverflow,
  [Fail.KeyExists]: RespErr.syntax,
  [Fail.KeyMissing]: RespErr.syntax,
  [Fail.VersionMismatch]: RespErr.syntax,
  [Fail.NotAnIntegerArg]: RespErr.notAnInteger,
  [Fail.NotAFloat]: RespErr.notAFloat,
  [Fail.FloatNanOrInfinity]: RespErr.floatNanOrInfinity,
  [Fail.StringTooLong]: RespErr.stringTooLong,
  [Fail.OffsetOutOfRange]: RespErr.offsetOutOfRange,
  [Fail.BitOffset]: RespErr.bitOffset,
  [Fail.BitValue]: RespErr.bitValue,
  [Fail.BitposBit]: RespErr.bitposBit,
  [Fail.LcsLenAndIdx]: RespErr.lcsLenAndIdx,
  [Fail.LcsTooLarge]: RespErr.lcsTooLarge,
  [Fail.BitopNotOneKey]: RespErr.bitopNotOneKey,
  [Fail.InvalidCursor]: RespErr.invalidCursor,
  [Fail.BadCount]: RespErr.syntax,
  [Fail.NoSuchKey]: RespErr.noSuchKey,
  [Fail.SameObject]: RespErr.sameObject,
  [Fail.FreqNotTracked]: RespErr.freqNotTracked,
  [Fail.IdleNotTracked]: RespErr.idleNotTracked,
  [Fail.Oom]: RespErr.oom,
  [Fail.NoAuth]: RespErr.noAuth,
  [Fail.WrongPass]: RespErr.wrongPass,
  [Fail.NoPassword]: RespErr.noPassword,
  [Fail.NoPermKey]: RespErr.noPermKey,
  [Fail.NoPermKeyspace]: RespErr.noPermKeyspace,
});

/** Every Fail must have a reply: a table missing one fails at start-up, not on the first such request. */
function failTable(byFail: Record<Fail, Uint8Array>): Uint8Array[] {
  const table: Uint8Array[] = [];
  for (const [k, v] of Object.entries(byFail)) table[Number(k)] = v;
  for (let i = 0; i < table.length; i++) assert(table[i] !== undefined, `error table has no reply for Fail ${i}`);
  return table;
}
