// The command table: one row per command for every protocol — its flags, keys, stat counter,
// handler and how each protocol spells it (name, arity, payload framing, docs) — and the one
// dispatch path that checks arity and keys, counts stats, contains failures and feeds the slowlog.

import { assert, InvariantError } from "../assert.ts";
import { log } from "../log.ts";
import { Err, respError } from "../errors.ts";
import { nameCodeOf, nameLettersMax, type PayloadSpec } from "../protocol/text.ts";
import { WalError } from "../persistence/wal.ts";
import type { Context } from "./context.ts";
import { commandRowsMax, rowStats, Stat } from "./context.ts";
import type { Session } from "./session.ts";
import { valid } from "./session.ts";
import { backup, bgsave, config, dbsize, echo, flushall, info, lastsave, ping, shutdown, snapshot, stats } from "./server.ts";
import { acl, auth, client, hello, quit, reset, select, time } from "./connection.ts";
import { Perm, permitted } from "../auth.ts";
import { decr, decrby, incr } from "./counters.ts";
import { del, exists, get, getdel, mget, mset, set, setnx } from "./strings.ts";
import { append, getex, getrange, getset, incrbyfloat, lcs, msetnx, psetex, setex, setrange, strlen } from "./strings.ts";
import { bitcount, bitop, bitpos, getbit, setbit } from "./bits.ts";
import { expire, expireat, expiretime, persist, pexpire, pexpireat, pexpiretime, pttl, ttl } from "./ttl.ts";
import { copy, help, keys, object, randomkey, rename, renamenx, scan, type } from "./keyspace.ts";
import { commandCommand, scriptsFlush } from "./introspection.ts";
import { discard, exec, execOutOfMemory, multi, queueRequest, unwatch, watch } from "./transactions.ts";
import { entryOverheadBytesEstimate, evictBudgetMs, latencySampleEvery } from "../constants.ts";
import { Fail } from "./reply.ts";
import { aloneBegin, aloneEnd, ranInRun, requestTimed } from "./timing.ts";
import type { CommandRuns } from "../metrics.ts";
import { slowlog } from "./slowlog.ts";
import { latency } from "./latency.ts";
import { debug, save } from "./debug.ts";
import { feedMonitors, monitor } from "./monitor.ts";
import { tailOnly, ValueTail, writeTail } from "./value-slices.ts";
import { psubscribe, publish, pubsub, punsubscribe, subscribe, subscribedRefusal, unsubscribe } from "./pubsub.ts";

/** A command: reads its arguments from the session, calls the engine, hands the result to `s.reply`. */
export type Handler = (s: Session, ctx: Context) => void;

/**
 * What a command is, as bits of `Command.flags`. The dispatcher reads Grows (key checks), COMMAND
 * reports all of them to Redis clients, and permissions and eviction will decide by Read, Write,
 * Admin, Connection and Grows.
 */
export const enum Flag {
  /** Never changes the keyspace (apart from lazily removing expired keys). */
  Read = 1,
  /** May change the keyspace. */
  Write = 2,
  /** May add data: RESP checks its keys can be written; a memory limit will refuse it. */
  Grows = 4,
  /** Server administration: snapshots, configuration, statistics. */
  Admin = 8,
  /** About the connection itself (PING, HELLO, CLIENT, …), not the data. */
  Connection = 16,
  /** O(1) or O(log n) (Redis's "fast"). */
  Fast = 32,
  /** Allowed while loading and on a stale replica (Redis's "loading", "stale"; COMMAND only). */
  Loading = 64,
  /** Not allowed from scripts (Redis's "noscript"; COMMAND only). */
  NoScript = 128,
  /**
   * Refused inside MULTI ("Command not allowed inside a transaction"): an EXEC is one log batch,
   * which cannot hold a snapshot's rotation of the log, nor a backup or a shutdown. Osprey's own
   * rule, so COMMAND does not report it.
   */
  NoMulti = 256,
  /**
   * Its work is not bounded by its bytes in and out (FLUSHALL walks the keyspace, EXEC runs a
   * queue, a snapshot starts): the slowlog times it alone, not in a run (commands/timing.ts).
   * Osprey's own; COMMAND does not report it.
   */
  TimedAlone = 512,
  /**
   * A write that logs a value built from stored ones (APPEND, SETRANGE, SETBIT, BITOP, INCRBYFLOAT,
   * RENAME, RENAMENX, COPY), not one of its arguments: an EXEC's log bound reads the lengths of the
   * keys it reads from the keyspace (transactions.ts `logBound` has a rule for each). Osprey's own.
   */
  Derives = 1024,
  /**
   * Runs before the connection authenticated (Redis's "no-auth"): AUTH, HELLO, QUIT, RESET.
   * Osprey's own bit; COMMAND reports it as Redis does ("no_auth").
   */
  NoAuth = 2048,
  /**
   * Needs the admin permission although Redis does not flag it admin (FLUSHALL, FLUSHDB, INFO:
   * Redis's @dangerous). Osprey's own; COMMAND does not report it.
   */
  AdminToo = 4096,
  /**
   * Allowed in RESP2 subscribed mode ((P)(UN)SUBSCRIBE, PING, QUIT, RESET); every other command is
   * refused there with Redis's error. Osprey's own; COMMAND does not report it.
   */
  Subscribed = 8192,
  /**
   * Not logged by SLOWLOG itself (Redis's "skip_slowlog": EXEC): the requests it runs are logged
   * as their own.
   */
  SkipSlowlog = 16384,
}

/** How the text protocol spells a command. */
export interface TextForm {
  /** When the text name differs from the row's (Osprey's EXPIRE and TTL are in milliseconds). */
  readonly name?: string;
  /** Tokens including the name. */
  readonly argsMin: number;
  readonly argsMax: number;
  /**
   * Payload framing: the token at `at` (and every `step` tokens after it, when step > 0) is a
   * length, and that many bytes follow the line; the parser then points the token at the bytes.
   * So a handler sees `SET key value` in both protocols.
   */
  readonly payload?: { readonly at: number; readonly step: number };
  /** The arguments after the name, as HELP shows them. */
  readonly usage?: string;
  /** HELP's summary, when the RESP form's does not fit the text command (or there is none). */
  readonly summary?: string;
}

/** How RESP spells a command, and what COMMAND tells Redis clients about it. */
export interface RespForm {
  /** Redis's arity, including the name: n exactly, -n at least n. */
  readonly arity: number;
  readonly argsMax?: number;
  readonly group: string;
  readonly summary: string;
  readonly since: string;
  /**
   * The arguments after the name in Redis's usage notation (`key value [NX|XX] [EX seconds]`), for
   * COMMAND DOCS; optional, so a row without it is documented without arguments.
   */
  readonly args?: string;
}

export interface Command {
  /** Upper-case; RESP replies and errors use it lower-case, as Redis does. */
  readonly name: string;
  readonly flags: number;
  /** First key, last key (-1: the last argument), step; [0, 0, 0] without keys. */
  readonly keys: readonly [number, number, number];
  /** Arguments come in (key, value) pairs after the name (MSET). */
  readonly paired?: boolean;
  /** The STATS counter the dispatcher bumps. */
  readonly stat: Stat;
  readonly run: Handler;
  readonly text: TextForm | null;
  readonly resp: RespForm | null;
}

const noKeys = [0, 0, 0] as const;
const key1 = [1, 1, 1] as const;
const allKeys = [1, -1, 1] as const;
const pairKeys = [1, -1, 2] as const;
const key1and2 = [1, 2, 1] as const;
const keysFrom2 = [2, -1, 1] as const;
const unbounded = Number.MAX_SAFE_INTEGER;

const R = Flag.Read;
const RF = Flag.Read | Flag.Fast;
const W = Flag.Write;
const WF = Flag.Write | Flag.Fast;
const WG = Flag.Write | Flag.Grows;
const WGF = Flag.Write | Flag.Grows | Flag.Fast;
const C = Flag.Connection | Flag.Fast;
const CLS = Flag.Connection | Flag.Loading | Flag.Fast;
const TX = Flag.NoScript | Flag.Loading | Flag.Fast;
// These writes log a value built from the stored one (up to max_value_bytes): an EXEC bounds their
// records from the keyspace it runs on (transactions.ts `logBound`).
const WGX = Flag.Write | Flag.Grows | Flag.Derives;
// (P)(UN)SUBSCRIBE: allowed in subscribed mode. Inside EXEC they answer one push frame per
// channel after the array's count, as Redis does.
const PS = Flag.NoScript | Flag.Loading | Flag.Fast | Flag.Subscribed;

/** Every command Osprey speaks, in either protocol (at most commandRowsMax, asserted below). */
export const commands: readonly Command[] = [
  // Connection
  { name: "PING", flags: C | Flag.Subscribed, keys: noKeys, stat: Stat.Other, run: ping, text: { argsMin: 1, argsMax: 1 }, resp: { arity: -1, argsMax: 2, group: "connection", summary: "Returns the server's liveliness response.", since: "1.0.0", args: "[message]" } },
  { name: "ECHO", flags: C, keys: noKeys, stat: Stat.Other, run: echo, text: null, resp: { arity: 2, group: "connection", summary: "Returns the given string.", since: "1.0.0", args: "message" } },
  { name: "QUIT", flags: C | Flag.NoAuth | Flag.Subscribed, keys: noKeys, stat: Stat.Other, run: quit, text: { argsMin: 1, argsMax: 1 }, resp: { arity: -1, group: "connection", summary: "Closes the connection.", since: "1.0.0" } },
  { name: "SELECT", flags: CLS, keys: noKeys, stat: Stat.Other, run: select, text: null, resp: { arity: 2, group: "connection", summary: "Changes the selected database (only 0 exists).", since: "1.0.0", args: "index" } },
  { name: "AUTH", flags: CLS | Flag.NoScript | Flag.NoAuth, keys: noKeys, stat: Stat.Other, run: auth, text: { argsMin: 2, argsMax: 3, usage: "[user] <password>", summary: "Authenticates the connection as a user (default: the auth_password user)." }, resp: { arity: -2, group: "connection", summary: "Authenticates the connection.", since: "1.0.0", args: "[username] password" } },
  { name: "ACL", flags: Flag.Connection | Flag.Loading | Flag.NoScript, keys: noKeys, stat: Stat.Other, run: acl, text: null, resp: { arity: -2, group: "server", summary: "ACL WHOAMI, CAT, HELP; for admins LIST, USERS, SETUSER, DELUSER: the connection's user, the permissions, and the users.", since: "6.0.0" } },
  { name: "HELLO", flags: CLS | Flag.NoScript | Flag.NoAuth, keys: noKeys, stat: Stat.Other, run: hello, text: null, resp: { arity: -1, group: "connection", summary: "Handshakes with the Redis server.", since: "6.0.0", args: "[protover [AUTH username password] [SETNAME clientname]]" } },
  { name: "CLIENT", flags: Flag.Connection | Flag.Loading | Flag.NoScript, keys: noKeys, stat: Stat.Other, run: client, text: null, resp: { arity: -2, group: "connection", summary: "A container for client connection commands.", since: "2.4.0" } },
  // Strings
  { name: "GET", flags: RF, keys: key1, stat: Stat.Get, run: get, text: { argsMin: 2, argsMax: 2, usage: "<key>" }, resp: { arity: 2, group: "string", summary: "Returns the string value of a key.", since: "1.0.0", args: "key" } },
  { name: "SET", flags: WG, keys: key1, stat: Stat.Set, run: set, text: { argsMin: 3, argsMax: 11, payload: { at: 2, step: 0 }, usage: "<key> <len> [EX ms|PXAT epoch_ms] [NX|XX] [VER n] [KEEPTTL], then the value" }, resp: { arity: -3, group: "string", summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", since: "1.0.0", args: "key value [condition: NX|XX] [GET] [expiration: EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]" } },
  { name: "SETNX", flags: WGF, keys: key1, stat: Stat.Set, run: setnx, text: null, resp: { arity: 3, group: "string", summary: "Set the string value of a key only when the key doesn't exist.", since: "1.0.0", args: "key value" } },
  { name: "GETDEL", flags: WF, keys: key1, stat: Stat.Del, run: getdel, text: null, resp: { arity: 2, group: "string", summary: "Returns the string value of a key after deleting the key.", since: "6.2.0", args: "key" } },
  { name: "MGET", flags: RF, keys: allKeys, stat: Stat.Mget, run: mget, text: { argsMin: 2, argsMax: unbounded, usage: "<key> [<key> ...]" }, resp: { arity: -2, group: "string", summary: "Atomically returns the string values of one or more keys.", since: "1.0.0", args: "key [key ...]" } },
  { name: "MSET", flags: WG, keys: pairKeys, paired: true, stat: Stat.Mset, run: mset, text: { argsMin: 3, argsMax: unbounded, payload: { at: 2, step: 2 }, usage: "<key> <len> [<key> <len> ...], then the values back to back" }, resp: { arity: -3, group: "string", summary: "Atomically creates or modifies the string values of one or more keys.", since: "1.0.1", args: "key value [key value ...]" } },
  { name: "INCR", flags: WGF, keys: key1, stat: Stat.Incr, run: incr, text: { argsMin: 2, argsMax: 3, usage: "<key> [delta]", summary: "Adds delta (default 1) to the integer value of a key. Uses 0 as initial value if the key doesn't exist." }, resp: { arity: 2, group: "string", summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", since: "1.0.0", args: "key" } },
  { name: "DECR", flags: WGF, keys: key1, stat: Stat.Incr, run: decr, text: { argsMin: 2, argsMax: 3, usage: "<key> [delta]", summary: "Subtracts delta (default 1) from the integer value of a key. Uses 0 as initial value if the key doesn't exist." }, resp: { arity: 2, group: "string", summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", since: "1.0.0", args: "key" } },
  { name: "INCRBY", flags: WGF, keys: key1, stat: Stat.Incr, run: incr, text: null, resp: { arity: 3, group: "string", summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", since: "1.0.0", args: "key increment" } },
  { name: "DECRBY", flags: WGF, keys: key1, stat: Stat.Incr, run: decrby, text: null, resp: { arity: 3, group: "string", summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", since: "1.0.0", args: "key decrement" } },
  { name: "APPEND", flags: WGX | Flag.Fast, keys: key1, stat: Stat.Set, run: append, text: null, resp: { arity: 3, group: "string", summary: "Append a value to a key", since: "2.0.0" } },
  { name: "STRLEN", flags: RF, keys: key1, stat: Stat.Get, run: strlen, text: null, resp: { arity: 2, group: "string", summary: "Get the length of the value stored in a key", since: "2.2.0" } },
  { name: "GETRANGE", flags: R, keys: key1, stat: Stat.Get, run: getrange, text: null, resp: { arity: 4, group: "string", summary: "Get a substring of the string stored at a key", since: "2.4.0" } },
  { name: "SUBSTR", flags: R, keys: key1, stat: Stat.Get, run: getrange, text: null, resp: { arity: 4, group: "string", summary: "Get a substring of the string stored at a key", since: "1.0.0" } },
  { name: "SETRANGE", flags: WGX, keys: key1, stat: Stat.Set, run: setrange, text: null, resp: { arity: 4, group: "string", summary: "Overwrite part of a string at key starting at the specified offset", since: "2.2.0" } },
  { name: "GETEX", flags: WF, keys: key1, stat: Stat.Get, run: getex, text: null, resp: { arity: -2, group: "string", summary: "Get the value of a key and optionally set its expiration", since: "6.2.0" } },
  { name: "GETSET", flags: WGF, keys: key1, stat: Stat.Set, run: getset, text: null, resp: { arity: 3, group: "string", summary: "Set the string value of a key and return its old value", since: "1.0.0" } },
  { name: "SETEX", flags: WG, keys: key1, stat: Stat.Set, run: setex, text: null, resp: { arity: 4, group: "string", summary: "Set the value and expiration of a key", since: "2.0.0" } },
  { name: "PSETEX", flags: WG, keys: key1, stat: Stat.Set, run: psetex, text: null, resp: { arity: 4, group: "string", summary: "Set the value and expiration in milliseconds of a key", since: "2.6.0" } },
  { name: "MSETNX", flags: WG, keys: pairKeys, paired: true, stat: Stat.Mset, run: msetnx, text: null, resp: { arity: -3, group: "string", summary: "Set multiple keys to multiple values, only if none of the keys exist", since: "1.0.1" } },
  { name: "INCRBYFLOAT", flags: WGX | Flag.Fast, keys: key1, stat: Stat.Incr, run: incrbyfloat, text: null, resp: { arity: 3, group: "string", summary: "Increment the float value of a key by the given amount", since: "2.6.0" } },
  { name: "LCS", flags: R, keys: key1and2, stat: Stat.Get, run: lcs, text: null, resp: { arity: -3, group: "string", summary: "Find longest common substring", since: "7.0.0" } },
  // Bits (bits.ts)
  { name: "SETBIT", flags: WGX, keys: key1, stat: Stat.Set, run: setbit, text: null, resp: { arity: 4, group: "bitmap", summary: "Sets or clears the bit at offset in the string value stored at key", since: "2.2.0" } },
  { name: "GETBIT", flags: RF, keys: key1, stat: Stat.Get, run: getbit, text: null, resp: { arity: 3, group: "bitmap", summary: "Returns the bit value at offset in the string value stored at key", since: "2.2.0" } },
  { name: "BITCOUNT", flags: R, keys: key1, stat: Stat.Get, run: bitcount, text: null, resp: { arity: -2, group: "bitmap", summary: "Count set bits in a string", since: "2.6.0" } },
  { name: "BITPOS", flags: R, keys: key1, stat: Stat.Get, run: bitpos, text: null, resp: { arity: -3, group: "bitmap", summary: "Find first bit set or clear in a string", since: "2.8.7" } },
  { name: "BITOP", flags: WGX, keys: keysFrom2, stat: Stat.Set, run: bitop, text: null, resp: { arity: -4, group: "bitmap", summary: "Perform bitwise operations between strings", since: "2.6.0" } },
  // Keys
  { name: "DEL", flags: W, keys: allKeys, stat: Stat.Del, run: del, text: { argsMin: 2, argsMax: 2, usage: "<key>", summary: "Deletes a key." }, resp: { arity: -2, group: "generic", summary: "Deletes one or more keys.", since: "1.0.0", args: "key [key ...]" } },
  { name: "EXISTS", flags: RF, keys: allKeys, stat: Stat.Exists, run: exists, text: { argsMin: 2, argsMax: 2, usage: "<key>", summary: "Determines whether a key exists." }, resp: { arity: -2, group: "generic", summary: "Determines whether one or more keys exist.", since: "1.0.0", args: "key [key ...]" } },
  { name: "EXPIRE", flags: WF, keys: key1, stat: Stat.Expire, run: expire, text: null, resp: { arity: -3, group: "generic", summary: "Sets the expiration time of a key in seconds.", since: "1.0.0", args: "key seconds [condition: NX|XX|GT|LT]" } },
  { name: "PEXPIRE", flags: WF, keys: key1, stat: Stat.Expire, run: pexpire, text: { name: "EXPIRE", argsMin: 3, argsMax: 3, usage: "<key> <ms>" }, resp: { arity: -3, group: "generic", summary: "Sets the expiration time of a key in milliseconds.", since: "2.6.0", args: "key milliseconds [condition: NX|XX|GT|LT]" } },
  { name: "TTL", flags: RF, keys: key1, stat: Stat.Ttl, run: ttl, text: null, resp: { arity: 2, group: "generic", summary: "Returns the expiration time in seconds of a key.", since: "1.0.0", args: "key" } },
  { name: "PTTL", flags: RF, keys: key1, stat: Stat.Ttl, run: pttl, text: { name: "TTL", argsMin: 2, argsMax: 2, usage: "<key>" }, resp: { arity: 2, group: "generic", summary: "Returns the expiration time in milliseconds of a key.", since: "2.6.0", args: "key" } },
  { name: "PERSIST", flags: WF, keys: key1, stat: Stat.Expire, run: persist, text: null, resp: { arity: 2, group: "generic", summary: "Removes the expiration time of a key.", since: "2.2.0", args: "key" } },
  // Server
  { name: "DBSIZE", flags: RF, keys: noKeys, stat: Stat.Other, run: dbsize, text: null, resp: { arity: 1, group: "server", summary: "Returns the number of keys in the database.", since: "1.0.0" } },
  { name: "FLUSHALL", flags: W | Flag.TimedAlone | Flag.AdminToo, keys: noKeys, stat: Stat.Other, run: flushall, text: null, resp: { arity: -1, group: "server", summary: "Removes all keys from all databases.", since: "1.0.0", args: "[flush-type: ASYNC|SYNC]" } },
  { name: "STATS", flags: Flag.Admin | Flag.TimedAlone, keys: noKeys, stat: Stat.Other, run: stats, text: { argsMin: 1, argsMax: 1, summary: "Returns the server's counters as name=value lines, then END." }, resp: null },
  { name: "INFO", flags: Flag.Loading | Flag.TimedAlone | Flag.AdminToo, keys: noKeys, stat: Stat.Other, run: info, text: null, resp: { arity: -1, group: "server", summary: "Returns information and statistics about the server.", since: "1.0.0", args: "[section [section ...]]" } },
  { name: "SNAPSHOT", flags: Flag.Admin | Flag.TimedAlone, keys: noKeys, stat: Stat.Other, run: snapshot, text: { argsMin: 1, argsMax: 1, summary: "Starts a snapshot of the keyspace in the background." }, resp: null },
  { name: "BACKUP", flags: Flag.Admin | Flag.NoMulti | Flag.TimedAlone, keys: noKeys, stat: Stat.Other, run: backup, text: { argsMin: 2, argsMax: 2, usage: "<dir>", summary: "Starts an online backup of data_dir into a new or empty directory (an absolute path)." }, resp: null },
  { name: "BGSAVE", flags: Flag.Admin | Flag.NoScript | Flag.NoMulti | Flag.TimedAlone, keys: noKeys, stat: Stat.Other, run: bgsave, text: null, resp: { arity: -1, argsMax: 2, group: "server", summary: "Starts an Osprey snapshot in the background.", since: "1.0.0", args: "[SCHEDULE]" } },
  { name: "LASTSAVE", flags: CLS, keys: noKeys, stat: Stat.Other, run: lastsave, text: null, resp: { arity: 1, group: "server", summary: "Returns the Unix time of the last completed snapshot.", since: "1.0.0" } },
  { name: "CONFIG", flags: Flag.Admin | Flag.Loading | Flag.NoScript, keys: noKeys, stat: Stat.Other, run: config, text: null, resp: { arity: -2, group: "server", summary: "CONFIG GET: the values of configuration parameters.", since: "2.0.0", args: "GET parameter [parameter ...]" } },
  // Transactions (RESP only; transactions.ts)
  { name: "MULTI", flags: TX, keys: noKeys, stat: Stat.Other, run: multi, text: null, resp: { arity: 1, group: "transactions", summary: "Starts a transaction.", since: "1.2.0" } },
  { name: "EXEC", flags: Flag.NoScript | Flag.Loading | Flag.TimedAlone | Flag.SkipSlowlog, keys: noKeys, stat: Stat.Other, run: exec, text: null, resp: { arity: 1, group: "transactions", summary: "Executes all commands in a transaction.", since: "1.2.0" } },
  { name: "DISCARD", flags: TX, keys: noKeys, stat: Stat.Other, run: discard, text: null, resp: { arity: 1, group: "transactions", summary: "Discards a transaction.", since: "2.0.0" } },
  { name: "WATCH", flags: TX, keys: allKeys, stat: Stat.Other, run: watch, text: null, resp: { arity: -2, group: "transactions", summary: "Monitors changes to keys to determine the execution of a transaction.", since: "2.2.0", args: "key [key ...]" } },
  { name: "UNWATCH", flags: TX, keys: noKeys, stat: Stat.Other, run: unwatch, text: null, resp: { arity: 1, group: "transactions", summary: "Forgets about watched keys of a transaction.", since: "2.2.0" } },
  { name: "COMMAND", flags: Flag.Connection | Flag.Loading, keys: noKeys, stat: Stat.Other, run: commandCommand, text: null, resp: { arity: -1, group: "server", summary: "Returns detailed information about all commands.", since: "2.8.13" } },
  // Keyspace (keyspace.ts, ttl.ts). RENAME, RENAMENX and COPY log a value the request does not
  // carry: an EXEC bounds it from the source's length (Flag.Derives).
  { name: "SCAN", flags: R | Flag.TimedAlone, keys: noKeys, stat: Stat.Other, run: scan, text: { argsMin: 2, argsMax: 8, usage: "<cursor> [MATCH pattern] [COUNT n] [TYPE type]", summary: "Iterates over the key names: CURSOR <next> <count>, then a KEY block per key." }, resp: { arity: -2, group: "generic", summary: "Iterates over the key names in the database.", since: "2.8.0" } },
  { name: "KEYS", flags: R | Flag.TimedAlone, keys: noKeys, stat: Stat.Other, run: keys, text: null, resp: { arity: 2, group: "generic", summary: "Returns all key names that match a pattern.", since: "1.0.0" } },
  { name: "TYPE", flags: RF, keys: key1, stat: Stat.Other, run: type, text: null, resp: { arity: 2, group: "generic", summary: "Determines the type of value stored at a key.", since: "1.0.0" } },
  { name: "RANDOMKEY", flags: R, keys: noKeys, stat: Stat.Other, run: randomkey, text: null, resp: { arity: 1, group: "generic", summary: "Returns a random key name from the database.", since: "1.0.0" } },
  { name: "RENAME", flags: WG | Flag.Derives, keys: [1, 2, 1], stat: Stat.Other, run: rename, text: null, resp: { arity: 3, group: "generic", summary: "Renames a key and overwrites the destination.", since: "1.0.0" } },
  { name: "RENAMENX", flags: WGF | Flag.Derives, keys: [1, 2, 1], stat: Stat.Other, run: renamenx, text: null, resp: { arity: 3, group: "generic", summary: "Renames a key only when the target key name doesn't exist.", since: "1.0.0" } },
  { name: "COPY", flags: WG | Flag.Derives, keys: [1, 2, 1], stat: Stat.Other, run: copy, text: null, resp: { arity: -3, group: "generic", summary: "Copies the value of a key to a new key.", since: "6.2.0" } },
  { name: "UNLINK", flags: WF, keys: allKeys, stat: Stat.Del, run: del, text: null, resp: { arity: -2, group: "generic", summary: "Asynchronously deletes one or more keys.", since: "4.0.0" } },
  { name: "TOUCH", flags: RF, keys: allKeys, stat: Stat.Exists, run: exists, text: null, resp: { arity: -2, group: "generic", summary: "Returns the number of existing keys out of those specified after updating the time they were last accessed.", since: "3.2.1" } },
  { name: "EXPIREAT", flags: WF, keys: key1, stat: Stat.Expire, run: expireat, text: null, resp: { arity: -3, group: "generic", summary: "Sets the expiration time of a key to a Unix timestamp.", since: "1.2.0" } },
  { name: "PEXPIREAT", flags: WF, keys: key1, stat: Stat.Expire, run: pexpireat, text: null, resp: { arity: -3, group: "generic", summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.", since: "2.6.0" } },
  { name: "EXPIRETIME", flags: RF, keys: key1, stat: Stat.Ttl, run: expiretime, text: null, resp: { arity: 2, group: "generic", summary: "Returns the expiration time of a key as a Unix timestamp.", since: "7.0.0" } },
  { name: "PEXPIRETIME", flags: RF, keys: key1, stat: Stat.Ttl, run: pexpiretime, text: null, resp: { arity: 2, group: "generic", summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.", since: "7.0.0" } },
  { name: "OBJECT", flags: R, keys: noKeys, stat: Stat.Other, run: object, text: null, resp: { arity: -2, group: "generic", summary: "A container for object introspection commands.", since: "1.2.3" } },
  { name: "FLUSHDB", flags: W | Flag.TimedAlone | Flag.AdminToo, keys: noKeys, stat: Stat.Other, run: flushall, text: null, resp: { arity: -1, group: "server", summary: "Removes all keys from the current database.", since: "1.0.0" } },
  { name: "HELP", flags: C, keys: noKeys, stat: Stat.Other, run: help, text: { argsMin: 1, argsMax: 1, summary: "Lists the commands of the text protocol, one a line, then END." }, resp: null },
  // Connection state and introspection (connection.ts, introspection.ts)
  { name: "RESET", flags: CLS | Flag.NoScript | Flag.NoAuth | Flag.Subscribed, keys: noKeys, stat: Stat.Other, run: reset, text: null, resp: { arity: 1, group: "connection", summary: "Resets the connection.", since: "6.2.0" } },
  { name: "TIME", flags: Flag.Loading | Flag.Fast, keys: noKeys, stat: Stat.Other, run: time, text: null, resp: { arity: 1, group: "server", summary: "Returns the server time.", since: "2.6.0" } },
  { name: "FUNCTION", flags: Flag.NoScript, keys: noKeys, stat: Stat.Other, run: scriptsFlush, text: null, resp: { arity: -2, group: "scripting", summary: "FUNCTION FLUSH: Osprey has no functions to delete.", since: "7.0.0", args: "FLUSH [flush-type: ASYNC|SYNC]" } },
  { name: "SCRIPT", flags: Flag.NoScript, keys: noKeys, stat: Stat.Other, run: scriptsFlush, text: null, resp: { arity: -2, group: "scripting", summary: "SCRIPT FLUSH: Osprey has no scripts to remove.", since: "2.6.0", args: "FLUSH [flush-type: ASYNC|SYNC]" } },
  { name: "MONITOR", flags: Flag.Admin | Flag.Loading | Flag.NoScript, keys: noKeys, stat: Stat.Other, run: monitor, text: null, resp: { arity: 1, group: "server", summary: "Listens for all requests received by the server in real-time.", since: "1.0.0" } },
  { name: "SHUTDOWN", flags: Flag.Admin | Flag.Loading | Flag.NoScript | Flag.NoMulti, keys: noKeys, stat: Stat.Other, run: shutdown, text: null, resp: { arity: -1, group: "server", summary: "Stops the server cleanly (as SIGTERM).", since: "1.0.0", args: "[NOSAVE|SAVE] [NOW] [FORCE]" } },
  { name: "SLOWLOG", flags: Flag.Admin | Flag.Loading, keys: noKeys, stat: Stat.Other, run: slowlog, text: null, resp: { arity: -2, group: "server", summary: "A container for slow log commands.", since: "2.2.12" } },
  { name: "LATENCY", flags: Flag.Admin | Flag.Loading | Flag.NoScript, keys: noKeys, stat: Stat.Other, run: latency, text: null, resp: { arity: -2, group: "server", summary: "A container for latency diagnostics commands (LATEST, HISTORY, RESET, DOCTOR).", since: "2.8.13" } },
  { name: "DEBUG", flags: Flag.Admin | Flag.NoScript | Flag.Loading | Flag.TimedAlone, keys: noKeys, stat: Stat.Other, run: debug, text: null, resp: { arity: -2, group: "server", summary: "DEBUG SLEEP, SET-ACTIVE-EXPIRE, RELOAD, OBJECT, DIGEST: what Redis's tests use.", since: "1.0.0" } },
  { name: "SAVE", flags: Flag.Admin | Flag.NoScript | Flag.NoMulti | Flag.TimedAlone, keys: noKeys, stat: Stat.Other, run: save, text: null, resp: { arity: 1, group: "server", summary: "Starts an Osprey snapshot (every acknowledged write is already in the WAL).", since: "1.0.0" } },
  // Pub/Sub (RESP only; pubsub.ts)
  { name: "SUBSCRIBE", flags: PS, keys: noKeys, stat: Stat.Other, run: subscribe, text: null, resp: { arity: -2, group: "pubsub", summary: "Listens for messages published to channels.", since: "2.0.0", args: "channel [channel ...]" } },
  { name: "UNSUBSCRIBE", flags: PS, keys: noKeys, stat: Stat.Other, run: unsubscribe, text: null, resp: { arity: -1, group: "pubsub", summary: "Stops listening to messages posted to channels.", since: "2.0.0", args: "[channel [channel ...]]" } },
  { name: "PSUBSCRIBE", flags: PS, keys: noKeys, stat: Stat.Other, run: psubscribe, text: null, resp: { arity: -2, group: "pubsub", summary: "Listens for messages published to channels that match one or more patterns.", since: "2.0.0", args: "pattern [pattern ...]" } },
  { name: "PUNSUBSCRIBE", flags: PS, keys: noKeys, stat: Stat.Other, run: punsubscribe, text: null, resp: { arity: -1, group: "pubsub", summary: "Stops listening to messages published to channels that match one or more patterns.", since: "2.0.0", args: "[pattern [pattern ...]]" } },
  { name: "PUBLISH", flags: Flag.Loading | Flag.Fast, keys: noKeys, stat: Stat.Other, run: publish, text: null, resp: { arity: 3, group: "pubsub", summary: "Posts a message to a channel.", since: "2.0.0", args: "channel message" } },
  { name: "PUBSUB", flags: Flag.Loading, keys: noKeys, stat: Stat.Other, run: pubsub, text: null, resp: { arity: -2, group: "pubsub", summary: "A container for Pub/Sub commands.", since: "2.8.0" } },
];

assert(commands.length <= commandRowsMax, "more command rows than Stats.calls holds: raise commandRowsMax");

/**
 * A command as one protocol sees it: the name it is called by there and the argument counts it
 * accepts. Built once per protocol from `commands`.
 */
export class Route {
  // What dispatch reads on every request, copied out of the row: every Route has one shape, so
  // those reads stay monomorphic (rows are literals of several shapes).
  readonly run: Handler;
  readonly stat: Stat;
  readonly flags: number;
  readonly paired: boolean;
  readonly keyFirst: number;
  readonly keyLast: number;
  readonly keyStep: number;
  /** The permissions (auth.ts Perm) a user needs to run it, from its Read, Write, Admin and AdminToo flags. */
  readonly need: number;
  /** Runs before the connection authenticated (Flag.NoAuth). */
  readonly noAuth: boolean;
  /** Reaches keys it does not name (reads or writes without key positions: SCAN, DBSIZE, FLUSHALL): refused to a user with a key pattern. */
  readonly keyless: boolean;
  /** The row's place in `commands`: its counter in `Stats.calls`. */
  readonly index: number;
  /** Its timing runs for /metrics (commands/timing.ts), from the first one closed. */
  runs: CommandRuns | null = null;

  constructor(
    readonly command: Command,
    /** As the slowlog names it: the text name upper-case, the RESP name lower-case. */
    readonly name: string,
    readonly argsMin: number,
    readonly argsMax: number,
    /** The protocol's reply for a wrong number of arguments, encoded once. */
    readonly arityError: Uint8Array,
    readonly payload: TextForm["payload"] | undefined,
  ) {
    this.run = command.run;
    this.stat = command.stat;
    this.flags = command.flags;
    this.paired = command.paired === true;
    this.keyFirst = command.keys[0];
    this.keyLast = command.keys[1];
    this.keyStep = command.keys[2];
    const f = command.flags;
    this.need = ((f & Flag.Read) !== 0 ? Perm.Read : 0) | ((f & Flag.Write) !== 0 ? Perm.Write : 0) | ((f & (Flag.Admin | Flag.AdminToo)) !== 0 ? Perm.Admin : 0);
    this.noAuth = (f & Flag.NoAuth) !== 0;
    this.keyless = (f & (Flag.Read | Flag.Write)) !== 0 && this.keyFirst === 0;
    this.index = commands.indexOf(command);
    rowStats[this.index] = command.stat;
  }

  /** Keys a request of `argc` arguments names (for the slowlog). */
  keyCount(argc: number): number {
    return keyCount(this.command, argc);
  }
}

/** name code → Route, for one protocol. */
export type Routes = ReadonlyMap<number, Route>;

/** A row's name code: every name must have its own (a name `nameCode` cannot map would route every unmappable request to it). */
function routeCode(routes: Map<number, Route>, name: string): number {
  const code = nameCodeOf(name);
  assert(code >= 0 && !routes.has(code), `command name ${name} has no code of its own (letters only, at most ${nameLettersMax})`);
  return code;
}

/** The text protocol's routes; `arityError` is its one fixed reply. */
export function textRoutes(arityError: Uint8Array): Routes {
  const routes = new Map<number, Route>();
  for (const command of commands) {
    const t = command.text;
    if (t === null) continue;
    const name = t.name ?? command.name;
    routes.set(routeCode(routes, name), new Route(command, name, t.argsMin, t.argsMax, arityError, t.payload));
  }
  return routes;
}

/** RESP's routes; `arityError(name)` encodes Redis's per-command message. */
export function respRoutes(arityError: (name: string) => Uint8Array): Routes {
  const routes = new Map<number, Route>();
  for (const command of commands) {
    const r = command.resp;
    if (r === null) continue;
    const name = command.name.toLowerCase();
    const argsMin = r.arity > 0 ? r.arity : -r.arity;
    const argsMax = r.argsMax ?? (r.arity > 0 ? r.arity : unbounded);
    const route = new Route(command, name, argsMin, argsMax, arityError(name), undefined);
    if (name.length > nameLettersMax) longRoutes.set(name, route);
    else routes.set(routeCode(routes, name), route);
  }
  return routes;
}

/**
 * RESP commands whose names are longer than a name code holds (PUNSUBSCRIBE), by lower-case name.
 * Looked up only for a request whose name has no code, so known commands never pay for it.
 */
const longRoutes = new Map<string, Route>();
const longNameBytesMax = 16;

function longRoute(s: Session): Route | undefined {
  const p = s.p;
  if (p.ends[0]! - p.starts[0]! > longNameBytesMax) return undefined;
  return longRoutes.get(s.text(0).toLowerCase());
}

/** The routes of each protocol, built once. */
export const textRouteTable: Routes = textRoutes(Err.arity);
// Redis answers a malformed EXEC with EXECABORT naming the error, and discards the transaction.
export const respRouteTable: Routes = respRoutes((name) =>
  respError(`${name === "exec" ? "-EXECABORT Transaction discarded because of: " : ""}wrong number of arguments for '${name}' command`),
);

/** The text parser's table: the name codes of commands that carry a payload, and where their lengths are. */
export const textPayloads: ReadonlyMap<number, PayloadSpec> = new Map(
  [...textRouteTable].flatMap(([code, route]) => (route.payload === undefined ? [] : [[code, route.payload] as const])),
);

/**
 * Runs the request parsed into `s.p`, writing exactly one reply (MGET's items count as one). The
 * one path of both protocols: route by name, arity, the stat counter, the protocol's key rule,
 * the handler with its failures contained, the slowlog's timing. `requestBytes` is the request's
 * size on the wire (its timing run is bounded by bytes).
 */
export function dispatch(s: Session, routes: Routes, ctx: Context, requestBytes: number): void {
  const p = s.p;
  const route = routes.get(p.code) ?? (p.code < 0 && routes === respRouteTable ? longRoute(s) : undefined);
  if (route !== undefined && (route.flags & Flag.TimedAlone) !== 0) {
    const calls = ctx.stats.calls[route.index]!;
    const startMs = aloneBegin(ctx);
    execute(s, routes, route, ctx);
    const ms = aloneEnd(s, route, startMs, ctx);
    if (ctx.stats.calls[route.index] !== calls) requestTimed(ctx.stats, route.index, ms);
    return;
  }
  const mark = s.reply.len;
  // The one cost of per-command latency on this path: a countdown (commands/timing.ts).
  if (--sampleCountdown !== 0) execute(s, routes, route, ctx);
  else executeSampled(s, routes, route, ctx);
  ranInRun(s, route, requestBytes + s.reply.len - mark, ctx);
}

/** Requests until the next one is timed alone for its command's latency (latencySampleEvery). */
let sampleCountdown = latencySampleEvery;

/** The sampled request: a clock read before and after; recorded when it ran as a call (not refused, not queued by MULTI). */
function executeSampled(s: Session, routes: Routes, route: Route | undefined, ctx: Context): void {
  sampleCountdown = latencySampleEvery;
  if (route === undefined) return execute(s, routes, route, ctx);
  const calls = ctx.stats.calls[route.index]!;
  const startMs = performance.now();
  execute(s, routes, route, ctx);
  const ms = performance.now() - startMs;
  if (ctx.stats.calls[route.index] !== calls) requestTimed(ctx.stats, route.index, ms);
}

/**
 * Runs again a request whose handler yielded (`Session.suspendAt`), from `s.resumeArg`: its arity,
 * keys and stat were checked and counted on its first run.
 */
export function resume(s: Session, routes: Routes, ctx: Context, requestBytes: number): void {
  const route = routes.get(s.p.code) ?? longRoute(s)!;
  const mark = s.reply.len;
  // A value answered in slices is written first; the handler goes on only if it had more to do.
  if (s.sliceState instanceof ValueTail) {
    if (!writeTail(s)) s.suspendAt = s.resumeArg;
    else if (s.resumeArg !== tailOnly) run(s, route, ctx);
  } else run(s, route, ctx);
  ranInRun(s, route, requestBytes + s.reply.len - mark, ctx);
}

function execute(s: Session, routes: Routes, route: Route | undefined, ctx: Context): void {
  if (s.multi && queueRequest(s, routes, ctx)) return;
  const p = s.p;
  const stats = ctx.stats;
  if (route === undefined) s.reply.unknownCommand(s);
  else if (p.argc < route.argsMin || p.argc > route.argsMax) {
    stats.rejected[route.index]++;
    s.reply.error(route.arityError);
  } else if (s.limits !== null && !permitted(s, route)) stats.rejected[route.index]++;
  else if (s.subscribed && (route.flags & Flag.Subscribed) === 0 && s.reply.version === 2) {
    stats.rejected[route.index]++;
    s.reply.error(subscribedRefusal(route.name));
  } else {
    stats.calls[route.index]++;
    if (ctx.monitors.length !== 0) feedMonitors(s, ctx, route);
    // A call that answered an error of its own is a failed call (INFO commandstats): one counter read before, one compare after.
    const errors = stats.errorsTotal;
    if (route.paired && (p.argc & 1) === 0) s.reply.error(route.arityError);
    else if (route.keyFirst === 0 || keysValid(s, route, ctx)) {
      // Without a memory limit this one comparison is all max_memory_bytes costs a request.
      if (ctx.store.maxMemory === 0) run(s, route, ctx);
      else runLimited(s, route, ctx);
    }
    if (stats.errorsTotal !== errors && stats.errorsTotal !== stats.errorsSeen) {
      stats.failed[route.index]++;
      stats.errorsSeen = stats.errorsTotal;
    }
  }
}

/**
 * Runs a request under max_memory_bytes: the one place that decides what the limit refuses. A
 * command that may add data (Flag.Grows, or an EXEC with one queued) first makes room for about
 * its arguments (an EXEC: what its queue can log), evicting by the policy; when it cannot,
 * it is refused before anything is applied or logged. Reads, DEL, EXPIRE, FLUSHALL and the rest
 * always run, so memory can be freed. Commands an EXEC replays were admitted with it (inGroup).
 */
function runLimited(s: Session, route: Route, ctx: Context): void {
  const store = ctx.store;
  const needBytes = (route.flags & Flag.Grows) !== 0 ? writeBytesEstimate(s) : route.run === exec && s.multi && s.tx!.grows ? s.tx!.queuedBytes + s.tx!.commands * entryOverheadBytesEstimate : -1;
  if (needBytes < 0 || store.inGroup) return run(s, route, ctx);
  if (!store.makeRoom(needBytes, performance.now() + evictBudgetMs)) {
    store.oomRejected();
    if (route.run === exec) execOutOfMemory(s);
    else s.reply.fail(Fail.Oom);
    // Refused before it ran: a rejected call, not a call, as Redis counts an OOM (its error is not a failure).
    const stats = ctx.stats;
    stats.calls[route.index]--;
    stats.rejected[route.index]++;
    stats.errorsSeen = stats.errorsTotal;
    return;
  }
  run(s, route, ctx);
  // What the estimate missed (rounding to a block size, the table or an array doubling).
  store.evictIfOver(performance.now() + evictBudgetMs);
}

/** What a write is expected to add: its arguments' bytes and one entry's metadata and table share. */
function writeBytesEstimate(s: Session): number {
  const p = s.p;
  let bytes = entryOverheadBytesEstimate;
  for (let t = 1; t < p.argc; t++) bytes += p.ends[t]! - p.starts[t]!;
  return bytes;
}

/**
 * MULTI's queueing of a command that may add data, at a limit: makes room for its arguments' bytes
 * (as `runLimited` does for its request) or refuses with OOM (counted); true when refused.
 */
export function oomRefused(s: Session, ctx: Context): boolean {
  if (ctx.store.makeRoom(writeBytesEstimate(s), performance.now() + evictBudgetMs)) return false;
  ctx.store.oomRejected();
  s.reply.fail(Fail.Oom);
  return true;
}

/** Checks every key the request names against the protocol's key rule; replies and returns false at the first bad one. */
export function keysValid(s: Session, route: Route, ctx: Context): boolean {
  const p = s.p;
  const step = route.keyStep;
  const end = route.keyLast < 0 ? p.argc + route.keyLast : route.keyLast;
  const grows = (route.flags & Flag.Grows) !== 0;
  const max = ctx.config.keyBytesMax;
  for (let t = route.keyFirst; t <= end; t += step) {
    const why = s.dialect.keyFail(s, t, max, grows);
    if (why !== valid) {
      s.reply.fail(why);
      return false;
    }
  }
  return true;
}

/** Keys a request of `argc` arguments names, for the slowlog (and a transaction's log bound). */
export function keyCount(cmd: Command, argc: number): number {
  const [first, last, step] = cmd.keys;
  if (first === 0) return 0;
  const end = last < 0 ? argc + last : last;
  return end < first ? 0 : Math.floor((end - first) / step) + 1;
}

/**
 * Runs a handler. A throw that is not an invariant is a resource limit (keyspace full, disk full
 * under the log), never the client's input: its partial reply is dropped, the cause logged and
 * answered, and the connection goes on. A broken invariant is not answered: it propagates and
 * stops the server (see net/listener.ts).
 */
function run(s: Session, route: Route, ctx: Context): void {
  const mark = s.reply.len;
  try {
    route.run(s, ctx);
  } catch (err) {
    failed(s, route, mark, err);
  }
}

/** A handler threw: rethrow an invariant, answer anything else as ERR INTERNAL (out of `run`, which stays small). */
function failed(s: Session, route: Route, mark: number, err: unknown): void {
  if (err instanceof InvariantError) throw err;
  s.reply.truncate(mark);
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof WalError) walRefusal(route.name, message);
  else log.error(`${route.name} failed: ${err instanceof Error ? (err.stack ?? message) : message}`);
  s.reply.internal(message);
}

let walRefusals = 0;
let walRefusalLoggedMs = -Infinity;

/** A full disk refuses every write: log the first and then a count once a second, not a line each. */
function walRefusal(name: string, message: string): void {
  walRefusals++;
  const t = performance.now();
  if (t - walRefusalLoggedMs < 1000) return;
  walRefusalLoggedMs = t;
  log.error(`${walRefusals} write(s) refused (last: ${name}): ${message}`);
  walRefusals = 0;
}
