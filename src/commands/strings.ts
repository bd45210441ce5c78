// GET, SET, SETNX, GETDEL, MGET, MSET, DEL, EXISTS, and RESP's APPEND, STRLEN, GETRANGE/SUBSTR,
// SETRANGE, GETEX, GETSET, SETEX, PSETEX, MSETNX, INCRBYFLOAT, LCS: each parses its arguments,
// calls one engine operation and hands the result to the protocol's encoder. Keys were checked by
// the dispatcher.

import { Event, Notify } from "../engine/notify.ts";
import { deleteKey, setAll, setGeneric, SetFlag, SetOptions, SetRefused } from "../engine/ops.ts";
import { addToFloat, appendValue, FloatAdded, floatText, lcsTable, retime, setAllIfNone, setRange, tooLong } from "../engine/ops.ts";
import { noExpiry } from "../engine/store.ts";
import { lcsTableBytesMax } from "../constants.ts";
import { parseLongDouble } from "../long-double.ts";
import { parseI64 } from "../numbers.ts";
import { expiryFrom } from "../protocol/resp-args.ts";
import { nameCode, nameCodeOf } from "../protocol/text.ts";
import type { Context } from "./context.ts";
import { Fail } from "./reply.ts";
import type { Session } from "./session.ts";
import { valid } from "./session.ts";
import { mgetSliceBytes, mgetSliceKeys, readAheadKeysMax, replySliceBytes } from "../constants.ts";
import { longValue } from "./value-slices.ts";

export function get(s: Session, ctx: Context): void {
  const p = s.p;
  s.reply.entry(ctx.store, ctx.store.read(s.b, p.starts[1]!, p.ends[1]!, s.nowMs));
}

/** Parsed options of the SET being run: module scratch, so a request allocates nothing. */
const options = new SetOptions();

/** SET key value [options]: the protocol's dialect reads the options; setGeneric decides. */
export function set(s: Session, ctx: Context): void {
  const o = options.reset();
  if (s.p.argc > 3) {
    const why = s.dialect.setOptions(s, o);
    if (why !== valid) return s.reply.fail(why);
  }
  // SET … GET answers the old value, which the write is about to replace.
  const withGet = (o.flags & SetFlag.Get) !== 0;
  if (withGet) get(s, ctx);
  const version = writeValue(s, ctx, o);
  if (withGet) return;
  if (version > 0) s.reply.written(version);
  else s.reply.setRefused(version === SetRefused.KeyExists ? Fail.KeyExists : version === SetRefused.KeyMissing ? Fail.KeyMissing : Fail.VersionMismatch);
}

/** SETNX key value → 1 when set, 0 when the key was live. */
export function setnx(s: Session, ctx: Context): void {
  const o = options.reset();
  o.flags = SetFlag.Nx;
  s.reply.integer(writeValue(s, ctx, o) > 0 ? 1 : 0);
}

/** Returns the new version, or a negative SetRefused. */
function writeValue(s: Session, ctx: Context, o: SetOptions): number {
  const p = s.p;
  return setGeneric(ctx.store, s.b, p.starts[1]!, p.ends[1]!, p.starts[2]!, p.ends[2]!, o, s.nowMs);
}

/** GETDEL key → the value (then deleted) or nil. */
export function getdel(s: Session, ctx: Context): void {
  const p = s.p;
  const id = ctx.store.read(s.b, p.starts[1]!, p.ends[1]!, s.nowMs);
  s.reply.entry(ctx.store, id);
  if (id < 0) return;
  ctx.store.delete(id);
  ctx.store.events?.emit(Notify.Generic, Event.del, s.b, p.starts[1]!, p.ends[1]!);
}

/**
 * MGET key [key …]: an entry or a miss per key. Past mgetSliceKeys keys or mgetSliceBytes of reply
 * it stops and yields (`Session.suspendAt`); the connection runs it again from there once other
 * clients had their turn. So each slice's keys are read together, but other clients' writes may
 * land between slices (inside EXEC it runs whole). Stops, and drops the client, if the reply would
 * pass its output room.
 */
export function mget(s: Session, ctx: Context): void {
  const p = s.p;
  const store = ctx.store;
  const reply = s.reply;
  const start = reply.len;
  let first = s.resumeArg;
  if (first === 0) {
    reply.entriesBegin(p.argc - 1);
    first = 1;
  }
  const sliceEnd = s.canYield ? Math.min(p.argc, first + mgetSliceKeys) : p.argc;
  for (let t = first; t < p.argc; t++) {
    if (t === sliceEnd || (s.canYield && reply.len - start >= mgetSliceBytes)) {
      s.suspendAt = t;
      return;
    }
    // In a large keyspace the next keys are looked up together first (Store.readAhead).
    if ((t - first) % readAheadKeysMax === 0 && store.readAheadPays) store.readAhead(s.b, p.starts, p.ends, t, Math.min(sliceEnd, t + readAheadKeysMax));
    const ks = p.starts[t]!;
    const ke = p.ends[t]!;
    const id = store.read(s.b, ks, ke, s.nowMs);
    if (reply.len - start + reply.keyedEntryBytes(ke - ks, id < 0 ? 0 : store.valueLength(id)) > ctx.outputRoom) {
      ctx.outputOverflow = true; // the client will be disconnected; do not build the rest
      reply.truncate(start);
      return;
    }
    reply.keyedEntry(store, id, s.b, ks, ke);
    if (s.suspendAt !== 0) {
      // A long value goes out in slices (value-slices.ts); the keys after it are read once it is written.
      if (t + 1 < p.argc) s.suspendAt = t + 1;
      return;
    }
  }
}

/** MSET key value [key value …]: all or nothing, one logged batch. */
export function mset(s: Session, ctx: Context): void {
  const p = s.p;
  const count = setAll(ctx.store, s.b, p.starts, p.ends, 1, p.argc, s.nowMs);
  s.reply.writtenAll(count);
}

/** DEL key [key …] → how many were live (a key named twice counts once). */
export function del(s: Session, ctx: Context): void {
  const p = s.p;
  let deleted = 0;
  for (let t = 1; t < p.argc; t++) if (deleteKey(ctx.store, s.b, p.starts[t]!, p.ends[t]!, s.nowMs)) deleted++;
  s.reply.deleted(deleted);
}

/** EXISTS key [key …] → how many are live, a key named twice counting twice (as Redis). */
export function exists(s: Session, ctx: Context): void {
  const p = s.p;
  let live = 0;
  for (let t = 1; t < p.argc; t++) if (ctx.store.read(s.b, p.starts[t]!, p.ends[t]!, s.nowMs) >= 0) live++;
  s.reply.existing(live);
}

// ---- The rest of Redis's string family (RESP only) ----

/** Argument t as a signed 64-bit integer, kept exact in order (bigint beyond 15 digits); null when it is not one. */
export function intArg(s: Session, t: number): number | bigint | null {
  return parseI64(s.b, s.p.starts[t]!, s.p.ends[t]!);
}

/** A 64-bit index as a number for arithmetic against value lengths (< 2^33): magnitudes past 2^40 act alike. */
export function clampIndex(n: number | bigint): number {
  if (typeof n === "number") return n;
  return n < 0n ? -(2 ** 40) : 2 ** 40;
}

/** APPEND key value → the new length. */
export function append(s: Session, ctx: Context): void {
  const p = s.p;
  const n = appendValue(ctx.store, s.b, p.starts[1]!, p.ends[1]!, p.starts[2]!, p.ends[2]!, ctx.config.valueBytesMax, s.nowMs);
  if (n === tooLong) return s.reply.fail(Fail.StringTooLong);
  s.reply.integer(n);
}

/** STRLEN key → the value's length, 0 when missing. */
export function strlen(s: Session, ctx: Context): void {
  const p = s.p;
  const id = ctx.store.read(s.b, p.starts[1]!, p.ends[1]!, s.nowMs);
  s.reply.integer(id < 0 ? 0 : ctx.store.valueLength(id));
}

/** GETRANGE (and SUBSTR) key start end → the bytes from start to end inclusive, negative indexes from the end (Redis's clamping). */
export function getrange(s: Session, ctx: Context): void {
  const start64 = intArg(s, 2);
  if (start64 === null) return s.reply.fail(Fail.NotAnIntegerArg);
  const end64 = intArg(s, 3);
  if (end64 === null) return s.reply.fail(Fail.NotAnIntegerArg);
  const p = s.p;
  const store = ctx.store;
  const id = store.read(s.b, p.starts[1]!, p.ends[1]!, s.nowMs);
  if (id < 0 || (start64 < 0 && end64 < 0 && start64 > end64)) return s.reply.bulk(s.b, 0, 0);
  const length = store.valueLength(id);
  let start = clampIndex(start64);
  let end = clampIndex(end64);
  if (start < 0) start = Math.max(0, length + start);
  if (end < 0) end = Math.max(0, length + end);
  if (end >= length) end = length - 1;
  if (start > end || length === 0) return s.reply.bulk(s.b, 0, 0);
  const vs = store.valueOffset(id);
  if (end + 1 - start > replySliceBytes) {
    s.reply.bulkHead(end + 1 - start);
    return void longValue(s, store.buffer(id), vs + start, vs + end + 1);
  }
  s.reply.bulk(store.buffer(id), vs + start, vs + end + 1);
}

/** SETRANGE key offset value → the new length; a negative offset or a result past max_value_bytes is refused. */
export function setrange(s: Session, ctx: Context): void {
  const offset = intArg(s, 2);
  if (offset === null) return s.reply.fail(Fail.NotAnIntegerArg);
  if (offset < 0) return s.reply.fail(Fail.OffsetOutOfRange);
  const p = s.p;
  const n = setRange(ctx.store, s.b, p.starts[1]!, p.ends[1]!, clampIndex(offset), p.starts[3]!, p.ends[3]!, ctx.config.valueBytesMax, s.nowMs);
  if (n === tooLong) return s.reply.fail(Fail.StringTooLong);
  s.reply.integer(n);
}

/** Whether b[s..e) is `word` (upper-case ASCII), ignoring case: option words longer than a name code holds. */
export function isWord(b: Uint8Array, s: number, e: number, word: string): boolean {
  if (e - s !== word.length) return false;
  for (let i = 0; i < word.length; i++) if ((b[s + i]! & 0xdf) !== word.charCodeAt(i)) return false;
  return true;
}

const EX = nameCodeOf("EX");
const PX = nameCodeOf("PX");
const EXAT = nameCodeOf("EXAT");
const PXAT = nameCodeOf("PXAT");
const PERSIST = nameCodeOf("PERSIST");

/**
 * GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST] → the value (nil when missing), then its expiry
 * changes: Redis's order is options (syntax), the key, then the time's value — so a missing key
 * answers nil whatever its time says. A time not in the future deletes the key.
 */
export function getex(s: Session, ctx: Context): void {
  const p = s.p;
  const b = s.b;
  let option = -1; // the expiry option's name code (last one wins), or PERSIST
  let valueArg = -1;
  for (let t = 2; t < p.argc; t++) {
    const code = nameCode(b, p.starts[t]!, p.ends[t]!);
    const isTime = code === EX || code === PX || code === EXAT || code === PXAT;
    if (isTime && t + 1 < p.argc && (option < 0 || option === code)) {
      option = code;
      valueArg = ++t;
    } else if (code === PERSIST && (option < 0 || option === PERSIST)) option = PERSIST;
    else return s.reply.fail(Fail.Syntax);
  }
  const store = ctx.store;
  const id = store.read(b, p.starts[1]!, p.ends[1]!, s.nowMs);
  if (id < 0) return s.reply.nil();
  let atMs = noExpiry;
  if (valueArg >= 0) {
    const value = intArg(s, valueArg);
    if (value === null) return s.reply.fail(Fail.NotAnIntegerArg);
    atMs = value > 0 ? expiryFrom(value, option === EX || option === EXAT ? 1000 : 1, option === EX || option === PX ? s.nowMs : 0) : Number.NaN;
    if (!(atMs > 0)) return s.reply.fail(Fail.InvalidExpireTime);
  }
  s.reply.entry(store, id);
  if (option >= 0) retime(store, id, atMs, s.nowMs);
}

/** GETSET key value → the old value (or nil); the key is then set, its expiry cleared, as SET … GET. */
export function getset(s: Session, ctx: Context): void {
  get(s, ctx);
  writeValue(s, ctx, options.reset());
}

/** SETEX key seconds value. */
export function setex(s: Session, ctx: Context): void {
  setWithExpiry(s, ctx, 1000);
}

/** PSETEX key milliseconds value. */
export function psetex(s: Session, ctx: Context): void {
  setWithExpiry(s, ctx, 1);
}

/** SET key value EX|PX time, as Redis's setGenericCommand serves SETEX and PSETEX: the time is checked first. */
function setWithExpiry(s: Session, ctx: Context, unitMs: number): void {
  const value = intArg(s, 2);
  if (value === null) return s.reply.fail(Fail.BadEx);
  const o = options.reset();
  o.expiryMs = value > 0 ? expiryFrom(value, unitMs, s.nowMs) : Number.NaN;
  if (!(o.expiryMs > 0)) return s.reply.fail(Fail.InvalidExpireTime);
  const p = s.p;
  s.reply.written(setGeneric(ctx.store, s.b, p.starts[1]!, p.ends[1]!, p.starts[3]!, p.ends[3]!, o, s.nowMs));
}

/** MSETNX key value [key value …] → 1 when every pair was written (one logged batch), 0 when any key was live and nothing was. */
export function msetnx(s: Session, ctx: Context): void {
  const p = s.p;
  s.reply.integer(setAllIfNone(ctx.store, s.b, p.starts, p.ends, 1, p.argc, s.nowMs) ? 1 : 0);
}

/** INCRBYFLOAT key increment → the new value's text, in Redis's long double arithmetic and formatting. */
export function incrbyfloat(s: Session, ctx: Context): void {
  const p = s.p;
  const incr = parseLongDouble(s.b, p.starts[2]!, p.ends[2]!);
  if (incr === null) return s.reply.fail(Fail.NotAFloat);
  const added = addToFloat(ctx.store, s.b, p.starts[1]!, p.ends[1]!, incr, ctx.config.valueBytesMax, s.nowMs);
  if (added === FloatAdded.NotAFloat) return s.reply.fail(Fail.NotAFloat);
  if (added === FloatAdded.NanOrInfinity) return s.reply.fail(Fail.FloatNanOrInfinity);
  if (added === FloatAdded.TooLong) return s.reply.fail(Fail.StringTooLong);
  s.reply.bulk(floatText.buf, 0, floatText.len);
}

/**
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN] → the longest common subsequence of
 * the two values (missing keys are empty), its length (LEN), or its matching ranges (IDX), as
 * Redis 7.0 walks them back from the end. The (n+1) × (m+1) table is bounded before it is made.
 */
export function lcs(s: Session, ctx: Context): void {
  const p = s.p;
  const b = s.b;
  let getLen = false;
  let getIdx = false;
  let withMatchLen = false;
  let minMatchLen = 0;
  for (let t = 3; t < p.argc; t++) {
    const ws = p.starts[t]!;
    const we = p.ends[t]!;
    if (isWord(b, ws, we, "IDX")) getIdx = true;
    else if (isWord(b, ws, we, "LEN")) getLen = true;
    else if (isWord(b, ws, we, "WITHMATCHLEN")) withMatchLen = true;
    else if (isWord(b, ws, we, "MINMATCHLEN") && t + 1 < p.argc) {
      const n = intArg(s, ++t);
      if (n === null) return s.reply.fail(Fail.NotAnIntegerArg);
      minMatchLen = n < 0 ? 0 : clampIndex(n);
    } else return s.reply.fail(Fail.Syntax);
  }
  if (getLen && getIdx) return s.reply.fail(Fail.LcsLenAndIdx);
  const store = ctx.store;
  const ia = store.read(b, p.starts[1]!, p.ends[1]!, s.nowMs);
  const ic = store.read(b, p.starts[2]!, p.ends[2]!, s.nowMs);
  const n = ia < 0 ? 0 : store.valueLength(ia);
  const m = ic < 0 ? 0 : store.valueLength(ic);
  if ((n + 1) * (m + 1) * 4 > Math.min(ctx.config.valueBytesMax, lcsTableBytesMax)) return s.reply.fail(Fail.LcsTooLarge);
  const a = ia < 0 ? b : store.buffer(ia);
  const as = ia < 0 ? 0 : store.valueOffset(ia);
  const c = ic < 0 ? b : store.buffer(ic);
  const cs = ic < 0 ? 0 : store.valueOffset(ic);
  const lengths = new Uint32Array((n + 1) * (m + 1));
  lcsTable(a, as, n, c, cs, m, lengths);
  const w = m + 1;
  const total = lengths[n * w + m]!;
  if (getLen) return s.reply.integer(total);
  // Walk back from the end: each maximal diagonal run is a match range [a0..a1] ~ [c0..c1].
  const text = getIdx ? null : Buffer.allocUnsafe(total);
  const ranges: number[] = [];
  let k = total;
  let i = n;
  let j = m;
  let a0 = -1;
  let a1 = 0;
  let c0 = 0;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[as + i - 1] === c[cs + j - 1]) {
      if (text !== null) text[k - 1] = a[as + i - 1]!;
      if (a0 < 0) {
        a0 = a1 = i - 1;
        c0 = j - 1;
      } else {
        a0--;
        c0--;
      }
      if (a0 === 0 || c0 === 0) emit = true;
      k--;
      i--;
      j--;
    } else {
      if (lengths[(i - 1) * w + j]! > lengths[i * w + j - 1]!) i--;
      else j--;
      if (a0 >= 0) emit = true;
    }
    if (emit) {
      const len = a1 - a0 + 1;
      if (minMatchLen === 0 || len >= minMatchLen) ranges.push(a0, a1, c0, c0 + len - 1);
      a0 = -1;
    }
  }
  if (text !== null) return s.reply.bulk(text, 0, total);
  const reply = s.reply;
  reply.mapHeader(2);
  reply.bulkText("matches");
  reply.arrayHeader(ranges.length / 4);
  for (let r = 0; r < ranges.length; r += 4) {
    const len = ranges[r + 1]! - ranges[r]! + 1;
    reply.arrayHeader(withMatchLen ? 3 : 2);
    reply.arrayHeader(2);
    reply.integer(ranges[r]!);
    reply.integer(ranges[r + 1]!);
    reply.arrayHeader(2);
    reply.integer(ranges[r + 2]!);
    reply.integer(ranges[r + 3]!);
    if (withMatchLen) reply.integer(len);
  }
  reply.bulkText("len");
  reply.integer(total);
}
