// The wire error codes of the Osprey protocol and every message the server sends with them.
// Each reply is encoded once at start-up, so answering an error allocates nothing.

/** The error codes of PROTOCOL.md: `ERR <CODE> <message>`. */
export type ErrorCode = "BADREQ" | "TOOLARGE" | "EXISTS" | "NEXISTS" | "VER" | "TYPE" | "BUSY" | "INTERNAL";

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
} as const;

/** An `ERR INTERNAL` reply naming the cause, for failures that are not the client's fault. */
export function internalError(cause: string): Uint8Array {
  return reply("INTERNAL", cause.replace(/[\r\n]+/g, " "));
}
