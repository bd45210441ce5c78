// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST. Expiry is stored absolute and none of these changes a
// key's version. Osprey's text protocol calls PEXPIRE and PTTL by the names EXPIRE and TTL: its
// times are milliseconds (see the command table).

import { ExpireOptions, expireKey, persistKey, ttlMs } from "../engine/ops.ts";
import { noExpiry } from "../engine/store.ts";
import { respError } from "../errors.ts";
import type { Context } from "./context.ts";
import type { Session } from "./session.ts";
import { valid } from "./session.ts";

const options = new ExpireOptions();

/** EXPIRE key seconds [NX|XX|GT|LT]. */
export function expire(s: Session, ctx: Context): void {
  expireIn(s, ctx, 1000);
}

/** PEXPIRE key ms [NX|XX|GT|LT] (the text protocol's EXPIRE key ms). */
export function pexpire(s: Session, ctx: Context): void {
  expireIn(s, ctx, 1);
}

/** EXPIREAT key unix-seconds [NX|XX|GT|LT] (RESP). */
export function expireat(s: Session, ctx: Context): void {
  expireAtTime(s, ctx, 1000);
}

/** PEXPIREAT key unix-ms [NX|XX|GT|LT] (RESP). */
export function pexpireat(s: Session, ctx: Context): void {
  expireAtTime(s, ctx, 1);
}

/** Applied when the expiry was set or the key deleted (a time not in the future); not when missing or a condition refused. */
function expireIn(s: Session, ctx: Context, unitMs: number): void {
  expireFrom(s, ctx, unitMs, s.nowMs);
}

/** The EXPIREAT family: the time is absolute (Redis's basetime 0) rather than from now. */
function expireAtTime(s: Session, ctx: Context, unitMs: number): void {
  expireFrom(s, ctx, unitMs, 0);
}

function expireFrom(s: Session, ctx: Context, unitMs: number, baseMs: number): void {
  const why = s.dialect.expireOptions(s, unitMs, baseMs, options);
  if (why !== valid) return s.reply.fail(why);
  const p = s.p;
  s.reply.applied(expireKey(ctx.store, s.b, p.starts[1]!, p.ends[1]!, options, s.nowMs));
}

// Expiry times past 2^53 ms (RESP allows up to 2^63) are doubles that no longer hold every integer.
// Osprey reports such a time as the shortest decimal that names its double — the client's own
// number whenever it had about 16 significant digits or fewer — and computes the replies from that
// decimal exactly, with C's 64-bit wrap-around where Redis's arithmetic has it, so PEXPIRETIME,
// PTTL, EXPIRETIME and TTL agree with each other (docs/PROTOCOL.md).

/** The decimal Osprey reports for a stored expiry past 2^53. */
function reportedMs(at: number): bigint {
  return BigInt(String(at));
}

/** An integer reply of any 64-bit value: the encoder writes exact digits only up to 2^53. */
function integerReply(s: Session, v: bigint): void {
  if (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)) return s.reply.integer(Number(v));
  const digits = Buffer.from(v.toString(), "latin1");
  s.reply.integerText(digits, 0, digits.length);
}

/** Redis's (ms + 500) / 1000 in C's signed 64-bit arithmetic: the sum wraps, the division truncates. */
function roundedSeconds(ms: bigint): bigint {
  return BigInt.asIntN(64, ms + 500n) / 1000n;
}

/** EXPIRETIME key → the absolute expiry in Unix seconds (rounded half up, as Redis), -1 without expiry, -2 when missing. */
export function expiretime(s: Session, ctx: Context): void {
  const at = expiryOf(s, ctx);
  if (at <= Number.MAX_SAFE_INTEGER - 500) s.reply.integer(at < 0 ? at : Math.floor((at + 500) / 1000));
  else integerReply(s, roundedSeconds(reportedMs(at)));
}

/** PEXPIRETIME key → the absolute expiry in Unix ms, -1 without expiry, -2 when missing. */
export function pexpiretime(s: Session, ctx: Context): void {
  const at = expiryOf(s, ctx);
  if (at <= Number.MAX_SAFE_INTEGER) s.reply.integer(at);
  else integerReply(s, reportedMs(at));
}

function expiryOf(s: Session, ctx: Context): number {
  const p = s.p;
  const id = ctx.store.read(s.b, p.starts[1]!, p.ends[1]!, s.nowMs);
  if (id < 0) return -2;
  const at = ctx.store.expiry(id);
  return at === noExpiry ? -1 : at;
}

/** TTL key → seconds left (rounded half up, as Redis), -1 without expiry, -2 when missing. */
export function ttl(s: Session, ctx: Context): void {
  const ms = ttlOf(s, ctx);
  if (typeof ms === "bigint") integerReply(s, roundedSeconds(ms));
  else s.reply.integer(ms < 0 ? ms : Math.floor((ms + 500) / 1000));
}

/** PTTL key (the text protocol's TTL) → milliseconds left, -1 without expiry, -2 when missing. */
export function pttl(s: Session, ctx: Context): void {
  const ms = ttlOf(s, ctx);
  if (typeof ms === "bigint") integerReply(s, ms);
  else s.reply.integer(ms);
}

/** Milliseconds left (or -1, -2), as a bigint computed exactly when the expiry is past 2^53. */
function ttlOf(s: Session, ctx: Context): number | bigint {
  const p = s.p;
  const ms = ttlMs(ctx.store, s.b, p.starts[1]!, p.ends[1]!, s.nowMs);
  if (ms <= Number.MAX_SAFE_INTEGER - 500) return ms;
  return reportedMs(ctx.store.expiry(ctx.store.lookup(s.b, p.starts[1]!, p.ends[1]!, s.nowMs))) - BigInt(s.nowMs);
}

/** PERSIST key → applied when an expiry was removed. */
export function persist(s: Session, ctx: Context): void {
  const p = s.p;
  s.reply.applied(persistKey(ctx.store, s.b, p.starts[1]!, p.ends[1]!, s.nowMs));
}


