// Whole operations on the keyspace, with the semantics of docs/PROTOCOL.md, written once for every
// protocol: the version rule, SET's NX/XX/VER/KEEPTTL, the all-or-nothing multi-set, the counter
// path, conditional expiry. Command handlers parse arguments, call one of these, and encode the result.

import { InvariantError } from "../assert.ts";
import { isI64, parseI64 } from "../numbers.ts";
import { addLongDouble, formatLongDouble, isInfinite, type LongDouble, parseLongDouble, zero as zeroLongDouble } from "../long-double.ts";
import { Writer } from "../protocol/writer.ts";
import { noExpiry, type Store } from "./store.ts";
import { Event, Notify } from "./notify.ts";

/**
 * The version rule: a key that is not live (`id` < 0) starts at 1, and every successful write of a
 * live key adds 1. EXPIRE and PERSIST do not count as writes of the value.
 */
function nextVersion(store: Store, id: number): number {
  return id < 0 ? 1 : store.version(id) + 1;
}

/** SET's conditions and expiry, as bits of `SetOptions.flags`. */
export const enum SetFlag {
  /** Only if the key is not live. */
  Nx = 1,
  /** Only if the key is live. */
  Xx = 2,
  /** Only if the key's version (0 when not live) is `SetOptions.version`. */
  Ver = 4,
  /** Keep the live key's expiry instead of `expiryMs`. */
  KeepTtl = 8,
  /** The reply is the old value (RESP's SET … GET); read before the write. */
  Get = 16,
}

/** One SET's options, filled by a protocol's dialect. Reused: parsing a request allocates nothing. */
export class SetOptions {
  flags = 0;
  /** Absolute expiry in epoch ms, or noExpiry. */
  expiryMs = noExpiry;
  version = 0;

  reset(): this {
    this.flags = 0;
    this.expiryMs = noExpiry;
    this.version = 0;
    return this;
  }
}

/** Why `setGeneric` did not write: negative, so a version (≥ 1) and a refusal share one number. */
export const enum SetRefused {
  /** NX and the key is live. */
  KeyExists = -1,
  /** XX and the key is not live. */
  KeyMissing = -2,
  /** VER and the version differs. */
  VersionMismatch = -3,
}

/**
 * SET key = b[vs..ve) under `o`: the one place that decides whether a SET may write (NX, XX, VER)
 * and with what expiry (KEEPTTL) and version. The key is b[ks..ke). Returns the key's new version,
 * or why it did not write.
 */
export function setGeneric(store: Store, b: Uint8Array, ks: number, ke: number, vs: number, ve: number, o: SetOptions, nowMs: number): number {
  const id = store.lookup(b, ks, ke, nowMs);
  const flags = o.flags;
  if ((flags & SetFlag.Nx) !== 0 && id >= 0) return SetRefused.KeyExists;
  if ((flags & SetFlag.Xx) !== 0 && id < 0) return SetRefused.KeyMissing;
  if ((flags & SetFlag.Ver) !== 0 && o.version !== (id < 0 ? 0 : store.version(id))) return SetRefused.VersionMismatch;
  const expiry = (flags & SetFlag.KeepTtl) !== 0 && id >= 0 ? store.expiry(id) : o.expiryMs;
  const version = nextVersion(store, id);
  store.set(b, ks, ke, b, vs, ve, expiry, version, id);
  if (store.events !== null) {
    store.events.emit(Notify.String, Event.set, b, ks, ke);
    if ((flags & SetFlag.KeepTtl) === 0 && expiry !== noExpiry) store.events.emit(Notify.Generic, Event.expire, b, ks, ke);
  }
  return version;
}

/**
 * MSET: sets the (key, value) argument pairs from argument `first` on, with no expiry, all or
 * nothing — logged as one batch, so recovery sees every pair or none. The arguments were checked
 * already, room for every new entry is checked and the log makes room for the whole batch before
 * the first item is written: an item that still fails is a bug, which leaves memory holding part
 * of the MSET. It is never sealed as a shorter batch; it stops the server (InvariantError).
 */
export function setAll(store: Store, b: Uint8Array, starts: Int32Array, ends: Int32Array, first: number, argc: number, nowMs: number): number {
  const count = (argc - first) >> 1;
  let dataBytes = 0;
  for (let t = first; t < argc; t++) dataBytes += ends[t]! - starts[t]!;
  store.checkRoom(count, count, dataBytes);
  store.batchBegin(count, dataBytes);
  try {
    for (let t = first; t < argc; t += 2) {
      const ks = starts[t]!;
      const ke = ends[t]!;
      const id = store.lookup(b, ks, ke, nowMs);
      store.set(b, ks, ke, b, starts[t + 1]!, ends[t + 1]!, noExpiry, nextVersion(store, id), id);
    }
  } catch (err) {
    throw new InvariantError(`an MSET item failed after its batch began, leaving part of it in memory: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  store.batchEnd();
  if (store.events !== null) for (let t = first; t < argc; t += 2) store.events.emit(Notify.String, Event.set, b, starts[t]!, ends[t]!);
  return count;
}

/** Deletes the key b[ks..ke) if it is live; true when it was. */
export function deleteKey(store: Store, b: Uint8Array, ks: number, ke: number, nowMs: number): boolean {
  const id = store.lookup(b, ks, ke, nowMs);
  if (id < 0) return false;
  store.delete(id);
  store.events?.emit(Notify.Generic, Event.del, b, ks, ke);
  return true;
}

/** How `addToCounter` ended. */
export const enum Counted {
  Done,
  /** The stored value is not the canonical decimal form of a signed 64-bit integer. */
  NotAnInteger,
  /** The result falls outside the signed 64-bit range; nothing was written. */
  Overflow,
}

/** After `addToCounter` answered Done: the new value's decimal text, in `counterText.buf[0..len)`. */
export const counterText = new Writer(32);

/**
 * Adds sign × delta to the integer at key b[ks..ke) (a missing key counts as 0), keeping its
 * expiry; the store logs it as a SET of the result. Small operands stay on the number path
 * (both below 10^15, so the sum is exact); anything near the 64-bit edges goes through BigInt.
 */
export function addToCounter(store: Store, b: Uint8Array, ks: number, ke: number, delta: number | bigint, sign: 1 | -1, nowMs: number): Counted {
  const id = store.lookup(b, ks, ke, nowMs);
  let current: number | bigint = 0;
  if (id >= 0) {
    const vs = store.valueOffset(id);
    const parsed = parseI64(store.buffer(id), vs, vs + store.valueLength(id));
    if (parsed === null) return Counted.NotAnInteger;
    current = parsed;
  }
  const result = counterText;
  result.reset();
  if (typeof current === "number" && typeof delta === "number") {
    result.int(current + sign * delta);
  } else {
    const sum = BigInt(current) + BigInt(sign) * BigInt(delta);
    if (!isI64(sum)) return Counted.Overflow;
    result.text(sum.toString());
  }
  const expiry = id >= 0 ? store.expiry(id) : noExpiry;
  store.set(b, ks, ke, result.buf, 0, result.len, expiry, nextVersion(store, id), id);
  store.events?.emit(Notify.String, Event.incrby, b, ks, ke);
  return Counted.Done;
}

/** EXPIRE's conditions, as bits of `ExpireOptions.flags` (Redis 7's NX, XX, GT, LT). */
export const enum ExpireFlag {
  /** Only if the key has no expiry. */
  Nx = 1,
  /** Only if the key has an expiry. */
  Xx = 2,
  /** Only if the new expiry is later than the current one (no expiry counts as never). */
  Gt = 4,
  /** Only if the new expiry is earlier than the current one. */
  Lt = 8,
}

/** One EXPIRE's time and conditions, filled by a protocol's dialect. Reused. */
export class ExpireOptions {
  flags = 0;
  /** The new absolute expiry in epoch ms. */
  atMs = 0;
}

/**
 * Sets the live key b[ks..ke)'s expiry to `o.atMs` under its conditions, keeping its version; a
 * time not in the future deletes the key (logged as a DEL). False when the key is not live or a
 * condition refused.
 */
export function expireKey(store: Store, b: Uint8Array, ks: number, ke: number, o: ExpireOptions, nowMs: number): boolean {
  const id = store.lookup(b, ks, ke, nowMs);
  if (id < 0) return false;
  const current = store.expiry(id);
  const flags = o.flags;
  const when = o.atMs;
  if ((flags & ExpireFlag.Nx) !== 0 && current !== noExpiry) return false;
  if ((flags & ExpireFlag.Xx) !== 0 && current === noExpiry) return false;
  // A key without expiry counts as expiring never: GT always fails on it, LT always passes.
  if ((flags & ExpireFlag.Gt) !== 0 && (current === noExpiry || when <= current)) return false;
  if ((flags & ExpireFlag.Lt) !== 0 && current !== noExpiry && when >= current) return false;
  if (when <= nowMs) store.delete(id);
  else store.expireAt(id, when);
  store.events?.emit(Notify.Generic, when <= nowMs ? Event.del : Event.expire, b, ks, ke);
  return true;
}

/** Removes the live key's expiry; false when it is not live or has none. */
export function persistKey(store: Store, b: Uint8Array, ks: number, ke: number, nowMs: number): boolean {
  const id = store.lookup(b, ks, ke, nowMs);
  if (id < 0 || store.expiry(id) === noExpiry) return false;
  store.expireAt(id, noExpiry);
  store.events?.emit(Notify.Generic, Event.persist, b, ks, ke);
  return true;
}

/** TTL in ms of the key b[ks..ke): -2 when not live, -1 without expiry. */
export function ttlMs(store: Store, b: Uint8Array, ks: number, ke: number, nowMs: number): number {
  const id = store.read(b, ks, ke, nowMs);
  if (id < 0) return -2;
  const at = store.expiry(id);
  return at === noExpiry ? -1 : Math.max(0, at - nowMs);
}

/** Why a patching write (APPEND, SETRANGE) did not write: its result would pass max_value_bytes. */
export const tooLong = -1;

/**
 * APPEND: adds b[vs..ve) to the end of the key b[ks..ke)'s value, keeping its expiry; a key that is
 * not live is created with it. Returns the new length, or `tooLong` (nothing written) when it would
 * pass `valueBytesMax`. An append that fits the entry's block costs one copy of the whole value
 * (into the log); one that moves it, two (Store.patch).
 */
export function appendValue(store: Store, b: Uint8Array, ks: number, ke: number, vs: number, ve: number, valueBytesMax: number, nowMs: number): number {
  const id = store.lookup(b, ks, ke, nowMs);
  if (id < 0) {
    store.set(b, ks, ke, b, vs, ve, noExpiry, 1, id);
    store.events?.emit(Notify.String, Event.append, b, ks, ke);
    return ve - vs;
  }
  const length = store.valueLength(id);
  if (length + (ve - vs) > valueBytesMax) return tooLong;
  store.patch(id, length, b, vs, ve, nextVersion(store, id));
  store.events?.emit(Notify.String, Event.append, b, ks, ke);
  return length + (ve - vs);
}

/**
 * SETRANGE: writes b[vs..ve) at `offset` (≥ 0) of the key's value, zero-padding it when shorter,
 * keeping its expiry. Redis's order: an empty patch writes nothing and answers the length (0 for a
 * missing key, which stays missing); then the result's length is checked. Returns the new length
 * or `tooLong`.
 */
export function setRange(store: Store, b: Uint8Array, ks: number, ke: number, offset: number, vs: number, ve: number, valueBytesMax: number, nowMs: number): number {
  const id = store.lookup(b, ks, ke, nowMs);
  if (ve === vs) return id < 0 ? 0 : store.valueLength(id);
  if (offset + (ve - vs) > valueBytesMax) return tooLong;
  const length = id < 0 ? createPadded(store, b, ks, ke, offset, b, vs, ve) : patched(store, id, offset, b, vs, ve);
  store.events?.emit(Notify.String, Event.setrange, b, ks, ke);
  return length;
}

function patched(store: Store, id: number, offset: number, b: Uint8Array, vs: number, ve: number): number {
  store.patch(id, offset, b, vs, ve, nextVersion(store, id));
  return store.valueLength(id);
}

/** A new key whose value is `at` zero bytes then src[s..e), at version 1 without expiry. Returns its length. */
function createPadded(store: Store, b: Uint8Array, ks: number, ke: number, at: number, src: Uint8Array, s: number, e: number): number {
  const value = Buffer.alloc(at + e - s);
  value.set(src.subarray(s, e), at);
  store.set(b, ks, ke, value, 0, value.length, noExpiry, 1, -1);
  return value.length;
}

/** SETBIT's one-byte patch. */
const bitByte = new Uint8Array(1);

/**
 * SETBIT: sets bit `offset` (0 is the most significant bit of the first byte) of the key's value
 * to `on`, growing it with zero bytes as needed and keeping its expiry. Returns the bit's old value.
 * Writes (and bumps the version) only when the value changes, as Redis counts a change.
 */
export function setBit(store: Store, b: Uint8Array, ks: number, ke: number, offset: number, on: 0 | 1, nowMs: number): 0 | 1 {
  const id = store.lookup(b, ks, ke, nowMs);
  const at = Math.floor(offset / 8);
  const mask = 0x80 >> (offset & 7);
  const length = id < 0 ? 0 : store.valueLength(id);
  const old = at < length ? store.buffer(id)[store.valueOffset(id) + at]! : 0;
  const was = (old & mask) !== 0 ? 1 : 0;
  if (at < length && was === on) return was;
  bitByte[0] = on === 1 ? old | mask : old & ~mask;
  if (id < 0) createPadded(store, b, ks, ke, at, bitByte, 0, 1);
  else store.patch(id, at, bitByte, 0, 1, nextVersion(store, id));
  store.events?.emit(Notify.String, Event.setbit, b, ks, ke);
  return was;
}

/**
 * MSETNX: like `setAll` (one logged batch, all or nothing), but only when none of the keys is
 * live; otherwise nothing is written. True when it wrote.
 */
export function setAllIfNone(store: Store, b: Uint8Array, starts: Int32Array, ends: Int32Array, first: number, argc: number, nowMs: number): boolean {
  for (let t = first; t < argc; t += 2) if (store.lookup(b, starts[t]!, ends[t]!, nowMs) >= 0) return false;
  setAll(store, b, starts, ends, first, argc, nowMs);
  return true;
}

/** How `addToFloat` ended. */
export const enum FloatAdded {
  Done,
  /** The stored value is not a float as Redis reads one. */
  NotAFloat,
  /** The sum is NaN or an infinity; nothing was written. */
  NanOrInfinity,
  /** The sum's text would be longer than max_value_bytes; nothing was written. */
  TooLong,
}

/** After `addToFloat` answered Done: the new value's text, in `floatText.buf[0..len)`. */
export const floatText = new Writer(64);

/**
 * INCRBYFLOAT: adds `incr` to the float at key b[ks..ke) (a missing key counts as 0) in Redis's
 * long double arithmetic, keeping its expiry; the store logs it as a SET of the result's text.
 */
export function addToFloat(store: Store, b: Uint8Array, ks: number, ke: number, incr: LongDouble, valueBytesMax: number, nowMs: number): FloatAdded {
  const id = store.lookup(b, ks, ke, nowMs);
  let current = zeroLongDouble;
  if (id >= 0) {
    const vs = store.valueOffset(id);
    const parsed = parseLongDouble(store.buffer(id), vs, vs + store.valueLength(id));
    if (parsed === null) return FloatAdded.NotAFloat;
    current = parsed;
  }
  const sum = addLongDouble(current, incr);
  if (sum === null || isInfinite(sum)) return FloatAdded.NanOrInfinity;
  const text = formatLongDouble(sum);
  if (text.length > valueBytesMax) return FloatAdded.TooLong;
  floatText.reset();
  floatText.text(text);
  store.set(b, ks, ke, floatText.buf, 0, floatText.len, id >= 0 ? store.expiry(id) : noExpiry, nextVersion(store, id), id);
  store.events?.emit(Notify.String, Event.incrbyfloat, b, ks, ke);
  return FloatAdded.Done;
}

/**
 * GETEX's expiry change of the live entry `id`: a time not in the future deletes it (logged as a
 * DEL), noExpiry removes its expiry if it has one, anything else sets it. Keeps the version.
 */
export function retime(store: Store, id: number, atMs: number, nowMs: number): void {
  const events = store.events;
  const ks = events === null ? 0 : store.keyOffset(id);
  const key = events === null ? null : Buffer.from(store.buffer(id).subarray(ks, ks + store.keyLength(id))); // a DEL frees its bytes
  if (atMs === noExpiry) {
    if (store.expiry(id) === noExpiry) return;
    store.expireAt(id, noExpiry);
    events?.emit(Notify.Generic, Event.persist, key!, 0, key!.length);
  } else if (atMs <= nowMs) {
    store.delete(id);
    events?.emit(Notify.Generic, Event.del, key!, 0, key!.length);
  } else {
    store.expireAt(id, atMs);
    events?.emit(Notify.Generic, Event.expire, key!, 0, key!.length);
  }
}

/**
 * LCS's table: lengths[i × (m+1) + j] = the length of the longest common subsequence of
 * a[as..as+i) and c[cs..cs+j), for the n × m bytes given. `lengths` holds (n+1) × (m+1) cells.
 */
export function lcsTable(a: Uint8Array, as: number, n: number, c: Uint8Array, cs: number, m: number, lengths: Uint32Array): void {
  const w = m + 1;
  for (let j = 0; j <= m; j++) lengths[j] = 0;
  for (let i = 1; i <= n; i++) {
    const row = i * w;
    const up = row - w;
    const ai = a[as + i - 1];
    lengths[row] = 0;
    for (let j = 1; j <= m; j++) {
      if (ai === c[cs + j - 1]) lengths[row + j] = lengths[up + j - 1]! + 1;
      else {
        const l1 = lengths[up + j]!;
        const l2 = lengths[row + j - 1]!;
        lengths[row + j] = l1 > l2 ? l1 : l2;
      }
    }
  }
}

/** BITOP's operations. */
export const enum BitOp {
  And,
  Or,
  Xor,
  Not,
}

/**
 * BITOP: sets the key at argument `dest` to the bitwise `op` of the values of the keys from
 * argument `first` to `argc` (missing keys are empty; shorter values count as zero-padded to the
 * longest), without expiry. When every source is empty the destination is deleted instead.
 * Returns the result's length.
 */
export function bitOp(store: Store, b: Uint8Array, starts: Int32Array, ends: Int32Array, dest: number, first: number, argc: number, op: BitOp, nowMs: number): number {
  const ids: number[] = [];
  let longest = 0;
  for (let t = first; t < argc; t++) {
    const id = store.read(b, starts[t]!, ends[t]!, nowMs);
    ids.push(id);
    if (id >= 0) longest = Math.max(longest, store.valueLength(id));
  }
  const ds = starts[dest]!;
  const de = ends[dest]!;
  const target = store.lookup(b, ds, de, nowMs);
  if (longest === 0) {
    if (target >= 0) {
      store.delete(target);
      store.events?.emit(Notify.Generic, Event.del, b, ds, de);
    }
    return 0;
  }
  const result = Buffer.alloc(longest); // zeros: what a shorter or missing source contributes
  for (const [i, id] of ids.entries()) {
    const length = id < 0 ? 0 : store.valueLength(id);
    const src = id < 0 ? result : store.buffer(id);
    const vs = id < 0 ? 0 : store.valueOffset(id);
    if (i === 0) {
      for (let j = 0; j < length; j++) result[j] = src[vs + j]!;
      if (op === BitOp.Not) for (let j = 0; j < longest; j++) result[j] = ~result[j]!;
      continue;
    }
    if (op === BitOp.And) {
      for (let j = 0; j < length; j++) result[j] = result[j]! & src[vs + j]!;
      result.fill(0, length);
    } else if (op === BitOp.Or) for (let j = 0; j < length; j++) result[j] = result[j]! | src[vs + j]!;
    else for (let j = 0; j < length; j++) result[j] = result[j]! ^ src[vs + j]!;
  }
  store.set(b, ds, de, result, 0, longest, noExpiry, nextVersion(store, target), target);
  store.events?.emit(Notify.String, Event.set, b, ds, de);
  return longest;
}

/** How `renameKey` ended. */
export const enum Renamed {
  Done,
  /** The source is not live. */
  NoSuchKey,
  /** Source and destination are the same key (live): nothing changes. */
  SameKey,
  /** RENAMENX and the destination is live: nothing changes. */
  DestinationExists,
}

/** Whether b[as..ae) and b[bs..be) hold the same bytes. */
function sameBytes(b: Uint8Array, as: number, ae: number, bs: number, be: number): boolean {
  if (ae - as !== be - bs) return false;
  for (let i = 0; i < ae - as; i++) if (b[as + i] !== b[bs + i]) return false;
  return true;
}

/**
 * RENAME (RENAMENX when `nx`) the live key b[ss..se) to b[ds..de): the destination gets the
 * source's value and expiry, and the version of a write of it (1 when it was not live); the
 * source is deleted. Logged as one batch — the destination's SET, then the source's DEL — so
 * recovery sees the rename whole or not at all. Room for both records is made first; an item
 * that still fails is a bug (InvariantError), as in `setAll`.
 */
export function renameKey(store: Store, b: Uint8Array, ss: number, se: number, ds: number, de: number, nx: boolean, nowMs: number): Renamed {
  const src = store.lookup(b, ss, se, nowMs);
  if (src < 0) return Renamed.NoSuchKey;
  if (sameBytes(b, ss, se, ds, de)) return Renamed.SameKey;
  const dst = store.lookup(b, ds, de, nowMs);
  if (dst >= 0 && nx) return Renamed.DestinationExists;
  const buf = store.buffer(src);
  const vs = store.valueOffset(src);
  const ve = vs + store.valueLength(src);
  store.checkRoom(dst < 0 ? 1 : 0, 1, de - ds + (ve - vs));
  store.batchBegin(2, de - ds + (ve - vs) + (se - ss));
  try {
    // The source's bytes stay where they are until its DEL: writing the destination never moves them.
    store.set(b, ds, de, buf, vs, ve, store.expiry(src), nextVersion(store, dst), dst);
    store.delete(src);
  } catch (err) {
    throw new InvariantError(`a RENAME failed after its batch began, leaving part of it in memory: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  store.batchEnd();
  if (store.events !== null) {
    store.events.emit(Notify.Generic, Event.renameFrom, b, ss, se);
    store.events.emit(Notify.Generic, Event.renameTo, b, ds, de);
  }
  return Renamed.Done;
}

/** How `copyKey` ended. */
export const enum Copied {
  Done,
  /** The source is not live. */
  NoSource,
  /** The destination is live and REPLACE was not given. */
  DestinationExists,
}

/**
 * COPY the live key b[ss..se) to b[ds..de) (over a live destination only with `replace`): the
 * destination gets the source's value and expiry and the version of a write of it; one SET record.
 * The caller has refused a copy onto the same key.
 */
export function copyKey(store: Store, b: Uint8Array, ss: number, se: number, ds: number, de: number, replace: boolean, nowMs: number): Copied {
  const src = store.read(b, ss, se, nowMs);
  if (src < 0) return Copied.NoSource;
  const dst = store.lookup(b, ds, de, nowMs);
  if (dst >= 0 && !replace) return Copied.DestinationExists;
  const vs = store.valueOffset(src);
  store.set(b, ds, de, store.buffer(src), vs, vs + store.valueLength(src), store.expiry(src), nextVersion(store, dst), dst);
  store.events?.emit(Notify.Generic, Event.copyTo, b, ds, de);
  return Copied.Done;
}

/** Whether b[as..ae) and b[bs..be) are the same key (COPY refuses copying a key onto itself). */
export function sameKey(b: Uint8Array, as: number, ae: number, bs: number, be: number): boolean {
  return sameBytes(b, as, ae, bs, be);
}
