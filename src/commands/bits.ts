// SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP (RESP only): a value read as a string of bits, bit 0 the most
// significant bit of its first byte, as Redis's bitops.c reads it — including the order in which
// Redis checks arguments, so the same request gets the same error (or none) from both.

import { BitOp, bitOp, setBit } from "../engine/ops.ts";
import type { Context } from "./context.ts";
import { Fail } from "./reply.ts";
import type { Session } from "./session.ts";
import { clampIndex, intArg, isWord } from "./strings.ts";

/** Set bits per byte value. */
const popcount = new Uint8Array(256);
for (let v = 1; v < 256; v++) popcount[v] = (v & 1) + popcount[v >> 1]!;

/** Whether argument t is `word` (upper-case ASCII), ignoring case. */
function isArg(s: Session, t: number, word: string): boolean {
  return isWord(s.b, s.p.starts[t]!, s.p.ends[t]!, word);
}

/** BIT (true), BYTE (false), or null for any other word: BITCOUNT's and BITPOS's unit. */
function unitArg(s: Session, t: number): boolean | null {
  if (isArg(s, t, "BIT")) return true;
  if (isArg(s, t, "BYTE")) return false;
  return null;
}

/** A bit offset: 0 ≤ offset < max_value_bytes × 8 (Redis: proto-max-bulk-len × 8), or -1 when refused. */
function bitOffset(s: Session, ctx: Context, t: number): number {
  const n = intArg(s, t);
  if (n === null || typeof n === "bigint" || n < 0 || Math.floor(n / 8) >= ctx.config.valueBytesMax) return -1;
  return n;
}

/** SETBIT key offset 0|1 → the bit's old value; the value grows with zero bytes to hold the bit. */
export function setbit(s: Session, ctx: Context): void {
  const offset = bitOffset(s, ctx, 2);
  if (offset < 0) return s.reply.fail(Fail.BitOffset);
  const on = intArg(s, 3);
  if (on === null || (on !== 0 && on !== 1)) return s.reply.fail(Fail.BitValue);
  const p = s.p;
  s.reply.integer(setBit(ctx.store, s.b, p.starts[1]!, p.ends[1]!, offset, on, s.nowMs));
}

/** GETBIT key offset → the bit, 0 past the end or when the key is missing. */
export function getbit(s: Session, ctx: Context): void {
  const offset = bitOffset(s, ctx, 2);
  if (offset < 0) return s.reply.fail(Fail.BitOffset);
  const p = s.p;
  const store = ctx.store;
  const id = store.read(s.b, p.starts[1]!, p.ends[1]!, s.nowMs);
  const at = Math.floor(offset / 8);
  if (id < 0 || at >= store.valueLength(id)) return s.reply.integer(0);
  const byte = store.buffer(id)[store.valueOffset(id) + at]!;
  s.reply.integer((byte >> (7 - (offset & 7))) & 1);
}

/**
 * Redis's range rule for BITCOUNT and BITPOS: negative indexes count from the end of `total`
 * (bytes or bits), both are clamped into [0, total - 1]; start > end afterwards is an empty range.
 */
function clampRange(start: number, end: number, total: number): [number, number] {
  if (start < 0) start = Math.max(0, total + start);
  if (end < 0) end = Math.max(0, total + end);
  if (end >= total) end = total - 1;
  return [start, end];
}

/** Set bits of buf[vs + bit first .. bit last] inclusive. */
function countBits(buf: Uint8Array, vs: number, first: number, last: number): number {
  const fb = first >> 3;
  const lb = last >> 3;
  let n = 0;
  for (let i = fb; i <= lb; i++) n += popcount[buf[vs + i]!]!;
  n -= popcount[buf[vs + fb]! & ~(0xff >> (first & 7)) & 0xff]!; // bits before `first` in its byte
  n -= popcount[buf[vs + lb]! & (0xff >> ((last & 7) + 1))]!; // bits after `last` in its byte
  return n;
}

/**
 * BITCOUNT key [start end [BYTE|BIT]] → set bits in the range (the whole value without one). A
 * missing key answers 0 before the arguments are read, as in Redis.
 */
export function bitcount(s: Session, ctx: Context): void {
  const p = s.p;
  const store = ctx.store;
  const id = store.read(s.b, p.starts[1]!, p.ends[1]!, s.nowMs);
  if (id < 0) return s.reply.integer(0);
  const length = store.valueLength(id);
  if (p.argc === 3 || p.argc > 5) return s.reply.fail(Fail.Syntax);
  let first = 0;
  let last = length * 8 - 1;
  if (p.argc >= 4) {
    const start64 = intArg(s, 2);
    if (start64 === null) return s.reply.fail(Fail.NotAnIntegerArg);
    const end64 = intArg(s, 3);
    if (end64 === null) return s.reply.fail(Fail.NotAnIntegerArg);
    if (start64 < 0 && end64 < 0 && start64 > end64) return s.reply.integer(0);
    const bits = p.argc === 5 ? unitArg(s, 4) : false;
    if (bits === null) return s.reply.fail(Fail.Syntax);
    const [start, end] = clampRange(clampIndex(start64), clampIndex(end64), bits ? length * 8 : length);
    if (start > end) return s.reply.integer(0);
    first = bits ? start : start * 8;
    last = bits ? end : end * 8 + 7;
  }
  if (first > last) return s.reply.integer(0);
  s.reply.integer(countBits(store.buffer(id), store.valueOffset(id), first, last));
}

/** The first bit equal to `bit` in bits [first..last] of buf[vs..], or -1. */
function findBit(buf: Uint8Array, vs: number, first: number, last: number, bit: number): number {
  const skip = bit === 1 ? 0 : 0xff; // a byte with no bit of interest
  let i = first;
  while (i <= last) {
    if ((i & 7) === 0 && i + 7 <= last && buf[vs + (i >> 3)] === skip) {
      i += 8;
      continue;
    }
    if (((buf[vs + (i >> 3)]! >> (7 - (i & 7))) & 1) === bit) return i;
    i++;
  }
  return -1;
}

/**
 * BITPOS key 0|1 [start [end [BYTE|BIT]]] → the first bit set to the one asked for in the range,
 * or -1. A missing key is all zeros (0 for a clear bit, -1 for a set one). Looking for a clear bit
 * without an end counts the value as followed by zeros, so it answers the bit after the value.
 */
export function bitpos(s: Session, ctx: Context): void {
  const bit = intArg(s, 2);
  if (bit === null) return s.reply.fail(Fail.NotAnIntegerArg);
  if (bit !== 0 && bit !== 1) return s.reply.fail(Fail.BitposBit);
  const p = s.p;
  const store = ctx.store;
  const id = store.read(s.b, p.starts[1]!, p.ends[1]!, s.nowMs);
  if (id < 0) return s.reply.integer(bit === 1 ? -1 : 0);
  const length = store.valueLength(id);
  if (p.argc > 6) return s.reply.fail(Fail.Syntax);
  let first = 0;
  let last = length * 8 - 1;
  const endGiven = p.argc >= 5;
  if (p.argc >= 4) {
    const start64 = intArg(s, 3);
    if (start64 === null) return s.reply.fail(Fail.NotAnIntegerArg);
    const bits = p.argc === 6 ? unitArg(s, 5) : false;
    if (bits === null) return s.reply.fail(Fail.Syntax);
    let end: number | bigint = bits ? length * 8 + 7 : length - 1;
    if (endGiven) {
      const end64 = intArg(s, 4);
      if (end64 === null) return s.reply.fail(Fail.NotAnIntegerArg);
      end = end64;
    }
    const [start, e] = clampRange(clampIndex(start64), clampIndex(end), bits ? length * 8 : length);
    if (start > e) return s.reply.integer(-1);
    first = bits ? start : start * 8;
    last = bits ? e : e * 8 + 7;
  }
  if (first > last) return s.reply.integer(-1);
  const found = findBit(store.buffer(id), store.valueOffset(id), first, last, bit);
  if (found >= 0) return s.reply.integer(found);
  s.reply.integer(bit === 0 && !endGiven ? last + 1 : -1);
}

/**
 * BITOP AND|OR|XOR|NOT destkey key [key …] → the length of the result stored at destkey (the
 * longest source's); 0, and destkey deleted, when every source is empty or missing. NOT takes
 * exactly one source.
 */
export function bitop(s: Session, ctx: Context): void {
  const op = isArg(s, 1, "AND") ? BitOp.And : isArg(s, 1, "OR") ? BitOp.Or : isArg(s, 1, "XOR") ? BitOp.Xor : isArg(s, 1, "NOT") ? BitOp.Not : -1;
  if (op === -1) return s.reply.fail(Fail.Syntax);
  const p = s.p;
  if (op === BitOp.Not && p.argc !== 4) return s.reply.fail(Fail.BitopNotOneKey);
  s.reply.integer(bitOp(ctx.store, s.b, p.starts, p.ends, 2, 3, p.argc, op, s.nowMs));
}
