// MULTI / EXEC / DISCARD / WATCH / UNWATCH, with Redis 7's semantics (RESP only: the text protocol
// has no transactions). After MULTI the dispatcher hands every request to `queueRequest`, which
// refuses what the dispatcher would refuse before running it (unknown command, arity, keys) and
// copies the rest into the session's Transaction. EXEC replays the queue through `dispatch`, back
// to back in one call (no other client runs meanwhile: the event loop does not yield), inside one
// WAL group, so its writes are one batch record — a FLUSHALL among them included, as a CLEAR item
// of a ClearBatch (docs/FORMAT.md): recovery shows all of an EXEC or none of it.

import { assert } from "../assert.ts";
import { copyBytes } from "../bytes.ts";
import {
  connectionBufferBytesKeepMax,
  counterTextBytesMax,
  floatTextBytesMax,
  multiArgOverheadBytes,
  multiQueueBytesMax,
  multiQueueCommandsMax,
  multiWatchBytesMax,
  multiWatchKeysMax,
  walRecordBytesMax,
} from "../constants.ts";
import { respError } from "../errors.ts";
import { batchRecordBytes } from "../persistence/format.ts";
import { clampIndex, intArg } from "./strings.ts";
import { keyspaceFull, noExpiry, type MutationLog, type Store } from "../engine/store.ts";
import type { Context } from "./context.ts";
import type { Session } from "./session.ts";
import { dispatch, Flag, keyCount, keysValid, oomRefused, respRouteTable, type Handler, type Routes } from "./table.ts";
import { quit, reset } from "./connection.ts";
import { flushall } from "./server.ts";
import { permitted } from "../auth.ts";
import { runClose } from "./timing.ts";

const TxErr = {
  nested: respError("MULTI calls can not be nested"),
  execWithoutMulti: respError("EXEC without MULTI"),
  discardWithoutMulti: respError("DISCARD without MULTI"),
  watchInsideMulti: respError("WATCH inside MULTI is not allowed"),
  execAbort: respError("-EXECABORT Transaction discarded because of previous errors."),
  /** EXEC of a queue with a command that adds data, at the memory limit (Redis's text). */
  execOom: respError("-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'."),
  /** Redis's text for its no-multi commands; Osprey's are those that cannot run inside one log batch (Flag.NoMulti). */
  notAllowed: respError("Command not allowed inside a transaction"),
  queueFull: respError(`MULTI queue full: at most ${multiQueueCommandsMax} commands and ${multiQueueBytesMax} bytes of arguments`),
  watchFull: respError(`too many watched keys: at most ${multiWatchKeysMax} keys and ${multiWatchBytesMax} bytes of them per connection`),
} as const;

/**
 * The parser's argument fields, which EXEC borrows to replay queued requests: every parse refills
 * them, so handlers read a queued request exactly as a parsed one (and stay monomorphic).
 */
interface ReplayArgs {
  argc: number;
  starts: Int32Array;
  ends: Int32Array;
  code: number;
}

/** One connection's transaction: the queued requests, copied out of the reused input, and its watches. */
export class Transaction {
  /** Every queued argument's bytes, back to back: one copy each, no object per argument. */
  #bytes = new Uint8Array(4096);
  #bytesLen = 0;
  /** Where each queued argument ends in #bytes; it starts where the previous one ended. */
  #argEnds = new Int32Array(64);
  #args = 0;
  /** Each queued request's first argument (index into #argEnds), and its name code. */
  #first = new Int32Array(16);
  #codes: number[] = [];
  /** Queue memory as the limits count it: argument bytes plus multiArgOverheadBytes each. */
  #cost = 0;
  /** A request was refused while queuing: EXEC answers EXECABORT and runs nothing. */
  failed = false;
  /** A write is queued: EXEC opens a log group, bounded by `logBound`. */
  writes = false;
  /** A Flag.Derives write is queued: `logBound` tracks the lengths of the keys it reads. */
  derives = false;
  /** A queued command may add data (Flag.Grows): at a memory limit the EXEC is admitted or refused whole. */
  grows = false;

  /** Watched keys (latin1) → the key's expiry when WATCH saw it live (noExpiry otherwise). */
  readonly watched = new Map<string, number>();
  /** Bytes of the watched keys, against multiWatchBytesMax. */
  watchedBytes = 0;
  /** A watched key was written, deleted or flushed since its WATCH: EXEC answers nil. */
  dirty = false;
  /** The keyspace's watch registry, while this transaction watches keys there. */
  watches: Watches | null = null;

  /** Bytes of every queued argument (what a memory limit admits an EXEC for, about). */
  get queuedBytes(): number {
    return this.#bytesLen;
  }

  get commands(): number {
    return this.#codes.length;
  }

  /**
   * Copies the request in `s` into the queue; false (nothing queued) when it would pass a limit.
   * `clears`: it is FLUSHALL/FLUSHDB, a write without keys that logs one CLEAR.
   */
  push(s: Session, flags: number, keys: number, clears: boolean): boolean {
    const p = s.p;
    let bytes = 0;
    for (let t = 0; t < p.argc; t++) bytes += p.ends[t]! - p.starts[t]!;
    const cost = bytes + multiArgOverheadBytes * p.argc;
    if (this.#codes.length >= multiQueueCommandsMax || this.#cost + cost > multiQueueBytesMax) return false;
    this.#cost += cost;
    if (this.#bytesLen + bytes > this.#bytes.length) this.#bytes = grownTo(this.#bytes, this.#bytesLen, this.#bytesLen + bytes);
    if (this.#args + p.argc > this.#argEnds.length) this.#argEnds = grownTo(this.#argEnds, this.#args, this.#args + p.argc);
    const c = this.#codes.length;
    if (c === this.#first.length) this.#first = grownTo(this.#first, c, c + 1);
    this.#first[c] = this.#args;
    this.#codes.push(p.code);
    for (let t = 0; t < p.argc; t++) {
      copyBytes(s.b, p.starts[t]!, p.ends[t]!, this.#bytes, this.#bytesLen);
      this.#bytesLen += p.ends[t]! - p.starts[t]!;
      this.#argEnds[this.#args++] = this.#bytesLen;
    }
    if ((flags & Flag.Grows) !== 0) this.grows = true;
    if ((flags & Flag.Write) !== 0) {
      assert(keys > 0 || clears, "a write without keys was queued: its records cannot be bounded (mark it NoMulti)");
      this.writes = true;
      if ((flags & Flag.Derives) !== 0) this.derives = true;
    }
    return true;
  }

  /** Points `p` at queued request `c` (its arguments index `queueBytes`). */
  load(p: ReplayArgs, c: number): void {
    const first = this.#first[c]!;
    const end = c + 1 < this.#codes.length ? this.#first[c + 1]! : this.#args;
    const argc = end - first;
    if (p.starts.length < argc) {
      p.starts = new Int32Array(argc);
      p.ends = new Int32Array(argc);
    }
    let at = first === 0 ? 0 : this.#argEnds[first - 1]!;
    for (let t = 0; t < argc; t++) {
      p.starts[t] = at;
      at = this.#argEnds[first + t]!;
      p.ends[t] = at;
    }
    p.argc = argc;
    p.code = this.#codes[c]!;
  }

  get queueBytes(): Uint8Array {
    return this.#bytes;
  }

  /** Empties the queue for the next MULTI; a queue that grew large gives its memory back (as a connection's buffers do). */
  reset(): void {
    this.#bytesLen = 0;
    this.#args = 0;
    this.#codes.length = 0;
    this.#cost = 0;
    this.failed = false;
    this.writes = false;
    this.derives = false;
    this.grows = false;
    if (this.#bytes.length > connectionBufferBytesKeepMax) this.#bytes = new Uint8Array(4096);
    if (this.#argEnds.byteLength > connectionBufferBytesKeepMax) this.#argEnds = new Int32Array(64);
    if (this.#first.byteLength > connectionBufferBytesKeepMax) this.#first = new Int32Array(16);
  }

  /** Drops every watch (EXEC, DISCARD, UNWATCH). */
  unwatch(): void {
    if (this.watches !== null) this.watches.remove(this);
    this.watches = null;
    this.watched.clear();
    this.watchedBytes = 0;
    this.dirty = false;
  }

  /** The connection closed. */
  release(): void {
    this.unwatch();
    this.reset();
  }
}

/** A copy of a[0..used) in a typed array of at least `need` elements (doubling). */
function grownTo<T extends Uint8Array | Int32Array>(a: T, used: number, need: number): T {
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, 2 * a.length));
  b.set(a.subarray(0, used));
  return b;
}

/**
 * Who watches which key of one keyspace. While any key is watched it is the store's mutation
 * log, in front of the real one: every logged change (SET, DEL, EXPIRE, CLEAR — by any client, in
 * either protocol) marks the transactions watching its key, then goes on to the WAL. With no
 * watches it is not in the path at all, so writes pay nothing for WATCH.
 * Expiry is not logged: EXEC checks the expiry each watched key had when WATCH saw it (Redis 7).
 */
export class Watches implements MutationLog {
  readonly #store: Store;
  readonly #byKey = new Map<string, Set<Transaction>>();
  #inner: MutationLog | null = null;

  constructor(store: Store) {
    this.#store = store;
  }

  add(tx: Transaction, key: string): void {
    let watchers = this.#byKey.get(key);
    if (watchers === undefined) {
      watchers = new Set();
      this.#byKey.set(key, watchers);
    }
    watchers.add(tx);
    if (this.#inner === null) {
      this.#inner = this.#store.log;
      this.#store.setLog(this);
    }
  }

  remove(tx: Transaction): void {
    for (const key of tx.watched.keys()) {
      const watchers = this.#byKey.get(key);
      if (watchers === undefined) continue;
      watchers.delete(tx);
      if (watchers.size === 0) this.#byKey.delete(key);
    }
    if (this.#byKey.size === 0 && this.#inner !== null) {
      assert(this.#store.log === this, "the store's mutation log was replaced while keys were watched");
      this.#store.setLog(this.#inner);
      this.#inner = null;
    }
  }

  #touch(kb: Uint8Array, ks: number, ke: number): void {
    const watchers = this.#byKey.get(Buffer.from(kb.buffer, kb.byteOffset + ks, ke - ks).toString("latin1"));
    if (watchers !== undefined) for (const tx of watchers) tx.dirty = true;
  }

  set(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): void {
    this.#inner!.set(kb, ks, ke, vb, vs, ve, expiryMs, version);
    this.#touch(kb, ks, ke);
  }

  del(kb: Uint8Array, ks: number, ke: number): void {
    this.#inner!.del(kb, ks, ke);
    this.#touch(kb, ks, ke);
  }

  expire(kb: Uint8Array, ks: number, ke: number, expiryMs: number, version: number): void {
    this.#inner!.expire(kb, ks, ke, expiryMs, version);
    this.#touch(kb, ks, ke);
  }

  batchBegin(count: number, dataBytes: number): void {
    this.#inner!.batchBegin(count, dataBytes);
  }

  batchEnd(): void {
    this.#inner!.batchEnd();
  }

  groupBegin(countMax: number, dataBytesMax: number): void {
    this.#inner!.groupBegin(countMax, dataBytesMax);
  }

  groupEnd(): void {
    this.#inner!.groupEnd();
  }

  /** FLUSHALL changes the watched keys that exist (as Redis: a missing key stays unchanged). */
  clear(): void {
    this.#inner!.clear();
    for (const [key, watchers] of this.#byKey) {
      const k = Buffer.from(key, "latin1");
      if (this.#store.find(k, 0, k.length) >= 0) for (const tx of watchers) tx.dirty = true;
    }
  }
}

/** Each keyspace's watch registry, made on its first WATCH. */
const registries = new WeakMap<Store, Watches>();

/** Handlers that run at once inside MULTI, as in Redis. */
const immediate: ReadonlySet<Handler> = new Set<Handler>([exec, discard, multi, watch, quit, reset]);

/**
 * The dispatcher's path for a session in MULTI: refuses what `dispatch` would refuse before
 * running a request (an unknown command, a wrong arity, a bad key; and commands that cannot run
 * inside a transaction), marking the transaction failed, or queues the request and answers
 * QUEUED. False for the commands that run at once (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET):
 * `dispatch` runs those as usual.
 */
export function queueRequest(s: Session, routes: Routes, ctx: Context): boolean {
  const p = s.p;
  const tx = s.tx!;
  const route = routes.get(p.code);
  if (route === undefined) {
    s.reply.unknownCommand(s);
    tx.failed = true;
    return true;
  }
  // Every refusal below is a rejected call of the command (INFO commandstats), as Redis counts it.
  if (p.argc < route.argsMin || p.argc > route.argsMax || (route.paired && (p.argc & 1) === 0)) {
    s.reply.error(route.arityError);
    ctx.stats.rejected[route.index]++;
    tx.failed = true;
    if (route.run === exec) endTransaction(s, tx); // EXECABORT: the transaction is discarded
    return true;
  }
  // Permissions are checked when queued, as Redis does: a refused command aborts the EXEC.
  if (s.limits !== null && !permitted(s, route)) {
    ctx.stats.rejected[route.index]++;
    tx.failed = true;
    return true;
  }
  if (immediate.has(route.run)) return false;
  if ((route.flags & Flag.NoMulti) !== 0) {
    s.reply.error(TxErr.notAllowed);
    ctx.stats.rejected[route.index]++;
    tx.failed = true;
    return true;
  }
  if (route.keyFirst !== 0 && !keysValid(s, route, ctx)) {
    ctx.stats.rejected[route.index]++;
    tx.failed = true;
    return true;
  }
  // As Redis: at the memory limit a command that may add data is refused while queuing (EXEC then aborts).
  if ((route.flags & Flag.Grows) !== 0 && ctx.store.maxMemory !== 0 && oomRefused(s, ctx)) {
    ctx.stats.rejected[route.index]++;
    tx.failed = true;
    return true;
  }
  // After a refusal EXEC runs nothing: nothing more is copied, but Redis still answers QUEUED.
  if (!tx.failed && !tx.push(s, route.flags, keyCount(route.command, p.argc), route.run === flushall)) {
    s.reply.error(TxErr.queueFull);
    tx.reset(); // EXEC will run nothing: give the queue's memory back now
    tx.failed = true;
    return true;
  }
  s.reply.status("QUEUED");
  return true;
}

export function multi(s: Session): void {
  if (s.multi) return s.reply.error(TxErr.nested);
  s.tx ??= new Transaction();
  s.multi = true;
  s.reply.ok();
}

/** The dispatcher refused an EXEC for memory (see table.ts `runLimited`): Redis's answer, and the transaction is discarded. */
export function execOutOfMemory(s: Session): void {
  endTransaction(s, s.tx!);
  s.reply.error(TxErr.execOom);
}

export function discard(s: Session): void {
  if (!s.multi) return s.reply.error(TxErr.discardWithoutMulti);
  endTransaction(s, s.tx!);
  s.reply.ok();
}

/** Leaves MULTI without running anything: the queue and the watches are dropped. */
function endTransaction(s: Session, tx: Transaction): void {
  s.multi = false;
  tx.reset();
  tx.unwatch();
}

export function watch(s: Session, ctx: Context): void {
  if (s.multi) return s.reply.error(TxErr.watchInsideMulti);
  const tx = (s.tx ??= new Transaction());
  const store = ctx.store;
  let watches = registries.get(store);
  if (watches === undefined) {
    watches = new Watches(store);
    registries.set(store, watches);
  }
  assert(tx.watches === null || tx.watches === watches, "a transaction watches keys of two keyspaces");
  tx.watches = watches;
  const p = s.p;
  // Watches are memory a client controls until it ends them: bounded per connection, all or none.
  const fresh = new Set<string>();
  let bytes = 0;
  for (let t = 1; t < p.argc; t++) {
    const key = s.text(t);
    if (tx.watched.has(key) || fresh.has(key)) continue;
    fresh.add(key);
    bytes += key.length;
  }
  if (tx.watched.size + fresh.size > multiWatchKeysMax || tx.watchedBytes + bytes > multiWatchBytesMax) return s.reply.error(TxErr.watchFull);
  for (let t = 1; t < p.argc; t++) {
    const key = s.text(t);
    if (tx.watched.has(key)) continue;
    const id = store.lookup(s.b, p.starts[t]!, p.ends[t]!, s.nowMs);
    tx.watched.set(key, id < 0 ? noExpiry : store.expiry(id));
    tx.watchedBytes += key.length;
    watches.add(tx, key);
  }
  s.reply.ok();
}

export function unwatch(s: Session): void {
  s.tx?.unwatch();
  s.reply.ok();
}

/** Whether a watched key changed since its WATCH: written, deleted, flushed, or its expiry passed. */
function watchedChanged(tx: Transaction, nowMs: number): boolean {
  if (tx.dirty) return true;
  for (const at of tx.watched.values()) if (at !== noExpiry && at <= nowMs) return true;
  return false;
}

/**
 * Runs the queue back to back and answers an array of their replies (a runtime error is one
 * element; the rest still run). The writes are logged as one WAL group, whose room is made for
 * `logBound` before the first runs: a full disk (or keyspace) refuses the whole EXEC with nothing
 * changed, and so does a bound past what one batch record may hold (`TxErr.batchTooLarge`).
 */
export function exec(s: Session, ctx: Context): void {
  if (!s.multi) return s.reply.error(TxErr.execWithoutMulti);
  const tx = s.tx!;
  s.multi = false;
  // Watches end with the EXEC whatever it answers; dropping them first also spares the EXEC's own
  // writes the watch registry's path.
  const changed = watchedChanged(tx, s.nowMs);
  tx.unwatch();
  const p = s.p as ReplayArgs;
  const argc = p.argc;
  const code = p.code;
  const input = s.b;
  try {
    if (tx.failed) return s.reply.error(TxErr.execAbort);
    if (changed) return s.reply.arrayHeader(-1);
    const store = ctx.store;
    // The queue is read through the parser's fields, as the replay reads it.
    s.b = tx.queueBytes;
    if (tx.writes) {
      logBound(s, tx, ctx, respRouteTable);
      const bytes = batchRecordBytes(bound.records, bound.dataBytes);
      if (bytes > walRecordBytesMax) return s.reply.error(batchTooLarge(bytes));
      if (store.size + bound.records > store.entriesMax) throw keyspaceFull(store.entriesMax);
      store.groupBegin(bound.records, bound.dataBytes);
    }
    replay(s, tx, ctx, respRouteTable);
    if (tx.writes) store.groupEnd();
  } finally {
    // Only a broken invariant escapes dispatch; the request after the EXEC must still parse over the input.
    s.b = input;
    p.argc = argc;
    p.code = code;
    tx.reset();
  }
}

/** Redis answers an EXEC it cannot run (OOM, MISCONF) with EXECABORT naming why, and discards the transaction. */
function batchTooLarge(bytes: number): Uint8Array {
  return respError(
    `-EXECABORT Transaction discarded because of: its writes could log ${bytes} bytes, more than one log batch holds (${walRecordBytesMax}): split it`,
  );
}

/** What `logBound` found: at most this many records, carrying at most this many bytes of keys and values. */
const bound = { records: 0, dataBytes: 0 };

/**
 * Bounds what the queued writes of `tx` can log, into `bound`, reading the keyspace as it is when
 * EXEC starts. The one place that knows what each write logs; the WAL asserts the bound holds, so an
 * EXEC that logged more would stop the server rather than tear its batch.
 *
 * Why it is a bound (never below what the replay logs):
 * - A write that is not Flag.Derives logs at most one record per key it names, whose key is that
 *   argument and whose value is one of its arguments or a counter's decimal (≤ 20 bytes): so its
 *   keys' records, and its arguments' bytes plus 20 per key (each argument is a key or a value of at
 *   most one record). Afterwards each of its keys holds at most its longest argument (or 20 bytes).
 * - A Flag.Derives write logs a value built from stored ones. `lengths` holds, for every key the
 *   queue wrote so far, an upper bound of its length at this point of the replay; a key not written
 *   yet is bounded by its length now (expired or not: lazy expiry only shortens it). Each rule below
 *   logs at most what the command can log given those bounds, refuses exactly where the handler
 *   refuses before logging (so a refused request logs nothing in both), and raises the bound of the
 *   key it writes; a bound only grows, so a command that ends up not writing leaves a true bound.
 *   A value the rules build is at most max_value_bytes where the handler checks it against that.
 * Each EXEC pays one walk of its queue; the map exists only when a Flag.Derives write is queued.
 */
function logBound(s: Session, tx: Transaction, ctx: Context, routes: Routes): void {
  const p = s.p as ReplayArgs;
  const lengths = tx.derives ? new Map<string, number>() : null;
  const store = ctx.store;
  const valueMax = ctx.config.valueBytesMax;
  bound.records = 0;
  bound.dataBytes = 0;
  const lengthOf = (t: number): number => {
    const known = lengths!.get(s.text(t));
    if (known !== undefined) return known;
    const id = store.find(s.b, p.starts[t]!, p.ends[t]!);
    return id < 0 ? 0 : store.valueLength(id);
  };
  const raise = (t: number, length: number): void => {
    const key = s.text(t);
    lengths!.set(key, Math.max(length, lengths!.get(key) ?? lengthOf(t)));
  };
  const arg = (t: number): number => p.ends[t]! - p.starts[t]!;
  const log = (records: number, dataBytes: number): void => {
    bound.records += records;
    bound.dataBytes += dataBytes;
  };
  for (let c = 0; c < tx.commands; c++) {
    tx.load(p, c);
    const route = routes.get(p.code)!;
    if ((route.flags & Flag.Write) === 0) continue;
    if (route.run === flushall) {
      // One CLEAR, no key, no value. The keys' length bounds stay bounds: a clear only shortens them.
      log(1, 0);
      continue;
    }
    if ((route.flags & Flag.Derives) === 0) {
      const keys = keyCount(route.command, p.argc);
      let bytes = 0;
      let longest = counterTextBytesMax;
      for (let t = 1; t < p.argc; t++) {
        bytes += arg(t);
        longest = Math.max(longest, arg(t));
      }
      log(keys, bytes + keys * counterTextBytesMax);
      if (lengths !== null) {
        const last = route.keyLast < 0 ? p.argc + route.keyLast : route.keyLast;
        for (let t = route.keyFirst; t <= last; t += route.keyStep) raise(t, longest);
      }
      continue;
    }
    switch (route.command.name) {
      case "APPEND": {
        // Refused (nothing logged) when the result would pass max_value_bytes.
        const length = Math.min(lengthOf(1) + arg(2), valueMax);
        log(1, arg(1) + length);
        raise(1, length);
        break;
      }
      case "SETRANGE": {
        const offset = intArg(s, 2);
        if (offset === null || offset < 0 || arg(3) === 0) break; // refused, or an empty patch: nothing logged
        const end = clampIndex(offset) + arg(3);
        if (end > valueMax) break; // refused before anything is read
        const length = Math.max(lengthOf(1), end);
        log(1, arg(1) + length);
        raise(1, length);
        break;
      }
      case "SETBIT": {
        const offset = intArg(s, 2);
        if (offset === null || typeof offset === "bigint" || offset < 0 || Math.floor(offset / 8) >= valueMax) break; // refused
        const length = Math.max(lengthOf(1), Math.floor(offset / 8) + 1);
        log(1, arg(1) + length);
        raise(1, length);
        break;
      }
      case "INCRBYFLOAT": {
        const length = Math.min(floatTextBytesMax, valueMax);
        log(1, arg(1) + length);
        raise(1, length);
        break;
      }
      case "BITOP": {
        // One record at the destination (argument 2): the longest source's length, or its DEL.
        let longest = 0;
        for (let t = 3; t < p.argc; t++) longest = Math.max(longest, lengthOf(t));
        log(1, arg(2) + longest);
        raise(2, longest);
        break;
      }
      case "RENAME":
      case "RENAMENX":
        // The destination's SET of the source's value, then the source's DEL.
        log(2, arg(2) + lengthOf(1) + arg(1));
        raise(2, lengthOf(1));
        break;
      case "COPY":
        log(1, arg(2) + lengthOf(1));
        raise(2, lengthOf(1));
        break;
      default:
        assert(false, `${route.command.name} is marked Derives but has no rule in logBound`);
    }
  }
}

/** Dispatches each queued request in turn, with the parser's arguments and the input pointed at the queue (by `exec`). */
function replay(s: Session, tx: Transaction, ctx: Context, routes: Routes): void {
  const n = tx.commands;
  s.reply.arrayHeader(n);
  const p = s.p as ReplayArgs;
  const room = ctx.outputRoom;
  const replyStart = s.reply.len;
  s.canYield = false; // an EXEC runs whole: no other client between its commands
  try {
    // EXEC is timed alone, as a whole; the requests it runs are timed in runs inside it, closed
    // here while the queue still holds their arguments (SLOWLOG logs them, not the EXEC).
    for (let c = 0; c < n; c++) {
      tx.load(p, c);
      ctx.outputRoom = room - (s.reply.len - replyStart);
      dispatch(s, routes, ctx, p.ends[p.argc - 1]! - p.starts[0]!);
    }
    runClose(ctx);
  } finally {
    s.canYield = true;
  }
}
