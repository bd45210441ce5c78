// MULTI / EXEC / DISCARD / WATCH / UNWATCH, with Redis 7's semantics (RESP only: the text protocol
// has no transactions). After MULTI the dispatcher hands every request to `queueRequest`, which
// refuses what the dispatcher would refuse before running it (unknown command, arity, keys) and
// copies the rest into the session's Transaction. EXEC replays the queue through `dispatch`, back
// to back in one call (no other client runs meanwhile: the event loop does not yield), inside one
// WAL group, so its writes are one batch record: recovery shows all of an EXEC or none of it.

import { assert } from "../assert.ts";
import { copyBytes } from "../bytes.ts";
import {
  connectionBufferBytesKeepMax,
  counterTextBytesMax,
  entriesMax,
  multiArgOverheadBytes,
  multiQueueBytesMax,
  multiQueueCommandsMax,
  multiWatchBytesMax,
  multiWatchKeysMax,
} from "../constants.ts";
import { respError } from "../errors.ts";
import { noExpiry, type MutationLog, type Store } from "../engine/store.ts";
import type { Context } from "./context.ts";
import type { Session } from "./session.ts";
import { dispatch, Flag, keyCount, keysValid, respRouteTable, type Handler, type Routes } from "./table.ts";
import { quit, reset } from "./connection.ts";
import { permitted } from "../auth.ts";

const TxErr = {
  nested: respError("MULTI calls can not be nested"),
  execWithoutMulti: respError("EXEC without MULTI"),
  discardWithoutMulti: respError("DISCARD without MULTI"),
  watchInsideMulti: respError("WATCH inside MULTI is not allowed"),
  execAbort: respError("-EXECABORT Transaction discarded because of previous errors."),
  /** Redis's text for its no-multi commands; Osprey's are those whose log record cannot join a batch. */
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
  /** What the queued writes can log at most: records, and their keys' and values' bytes. */
  recordsMax = 0;
  dataBytesMax = 0;

  /** Watched keys (latin1) → the key's expiry when WATCH saw it live (noExpiry otherwise). */
  readonly watched = new Map<string, number>();
  /** Bytes of the watched keys, against multiWatchBytesMax. */
  watchedBytes = 0;
  /** A watched key was written, deleted or flushed since its WATCH: EXEC answers nil. */
  dirty = false;
  /** The keyspace's watch registry, while this transaction watches keys there. */
  watches: Watches | null = null;

  get commands(): number {
    return this.#codes.length;
  }

  /** Copies the request in `s` into the queue; false (nothing queued) when it would pass a limit. */
  push(s: Session, flags: number, keys: number): boolean {
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
    if ((flags & Flag.Write) !== 0) {
      // A write logs at most one record per key it names; its key is that argument and its value
      // one of the arguments or a counter's decimal. So the arguments bound what it can log.
      assert(keys > 0, "a write without keys was queued: its records cannot be bounded (mark it NoMulti)");
      this.recordsMax += keys;
      this.dataBytesMax += bytes - (p.ends[0]! - p.starts[0]!) + keys * counterTextBytesMax;
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
    this.recordsMax = 0;
    this.dataBytesMax = 0;
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
  if (p.argc < route.argsMin || p.argc > route.argsMax || (route.paired && (p.argc & 1) === 0)) {
    s.reply.error(route.arityError);
    tx.failed = true;
    if (route.run === exec) endTransaction(s, tx); // EXECABORT: the transaction is discarded
    return true;
  }
  // Permissions are checked when queued, as Redis does: a refused command aborts the EXEC.
  if (s.limits !== null && !permitted(s, route)) {
    tx.failed = true;
    return true;
  }
  if (immediate.has(route.run)) return false;
  if ((route.flags & Flag.NoMulti) !== 0) {
    s.reply.error(TxErr.notAllowed);
    tx.failed = true;
    return true;
  }
  if (route.keyFirst !== 0 && !keysValid(s, route, ctx)) {
    tx.failed = true;
    return true;
  }
  // After a refusal EXEC runs nothing: nothing more is copied, but Redis still answers QUEUED.
  if (!tx.failed && !tx.push(s, route.flags, keyCount(route.command, p.argc))) {
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
 * element; the rest still run). The writes are logged as one WAL group, whose room was made
 * before the first runs: a full disk (or keyspace) refuses the whole EXEC with nothing changed.
 */
export function exec(s: Session, ctx: Context): void {
  if (!s.multi) return s.reply.error(TxErr.execWithoutMulti);
  const tx = s.tx!;
  s.multi = false;
  // Watches end with the EXEC whatever it answers; dropping them first also spares the EXEC's own
  // writes the watch registry's path.
  const changed = watchedChanged(tx, s.nowMs);
  tx.unwatch();
  try {
    if (tx.failed) return s.reply.error(TxErr.execAbort);
    if (changed) return s.reply.arrayHeader(-1);
    const store = ctx.store;
    const grouped = tx.recordsMax > 0;
    if (grouped) {
      if (store.size + tx.recordsMax > entriesMax) throw new Error(`keyspace full: at most ${entriesMax} entries`);
      store.groupBegin(tx.recordsMax, tx.dataBytesMax);
    }
    replay(s, tx, ctx, respRouteTable);
    if (grouped) store.groupEnd();
  } finally {
    tx.reset();
  }
}

/** Dispatches each queued request in turn, with the parser's arguments and the input pointed at the queue. */
function replay(s: Session, tx: Transaction, ctx: Context, routes: Routes): void {
  const n = tx.commands;
  s.reply.arrayHeader(n);
  const p = s.p as ReplayArgs;
  const argc = p.argc;
  const code = p.code;
  const input = s.b;
  const room = ctx.outputRoom;
  const replyStart = s.reply.len;
  s.b = tx.queueBytes;
  s.canYield = false; // an EXEC runs whole: no other client between its commands
  try {
    // EXEC is timed alone, as a whole; the requests it runs count as runs inside it.
    for (let c = 0; c < n; c++) {
      tx.load(p, c);
      ctx.outputRoom = room - (s.reply.len - replyStart);
      dispatch(s, routes, ctx, p.ends[p.argc - 1]! - p.starts[0]!);
    }
  } finally {
    // Only a broken invariant escapes dispatch; the request after the EXEC must still parse over the input.
    s.b = input;
    s.canYield = true;
    p.argc = argc;
    p.code = code;
  }
}
