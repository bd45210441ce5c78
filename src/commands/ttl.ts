// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST. Expiry is stored absolute and none of these changes a
// key's version. Osprey's text protocol calls PEXPIRE and PTTL by the names EXPIRE and TTL: its
// times are milliseconds (see the command table).

import { ExpireOptions, expireKey, persistKey, ttlMs } from "../engine/ops.ts";
import { noExpiry } from "../engine/store.ts";
import { parseI64 } from "../numbers.ts";
import { expiryFrom } from "../protocol/resp-args.ts";
import { Fail } from "./reply.ts";
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
  const why = s.dialect.expireOptions(s, unitMs, options);
  if (why !== valid) return s.reply.fail(why);
  if (unitMs === 1000 && belowSecondsRange(s)) return s.reply.fail(Fail.InvalidExpireTime);
  const p = s.p;
  s.reply.applied(expireKey(ctx.store, s.b, p.starts[1]!, p.ends[1]!, options, s.nowMs));
}

/**
 * The EXPIREAT family: the dialect reads the conditions and checks the number; the time is then
 * taken as absolute (Redis's basetime 0) rather than from now.
 */
function expireAtTime(s: Session, ctx: Context, unitMs: number): void {
  const why = s.dialect.expireOptions(s, unitMs, options);
  if (why !== valid) return s.reply.fail(why);
  if (unitMs === 1000 && belowSecondsRange(s)) return s.reply.fail(Fail.InvalidExpireTime);
  const p = s.p;
  const value = parseI64(s.b, p.starts[2]!, p.ends[2]!)!;
  options.atMs = expiryFrom(value, unitMs, 0);
  if (Number.isNaN(options.atMs)) return s.reply.fail(Fail.InvalidExpireTime);
  s.reply.applied(expireKey(ctx.store, s.b, p.starts[1]!, p.ends[1]!, options, s.nowMs));
}

/** Seconds below LLONG_MIN / 1000 overflow Redis's conversion to ms, which it refuses as an invalid expire time. */
const secondsMin = -9223372036854775n;

function belowSecondsRange(s: Session): boolean {
  const value = parseI64(s.b, s.p.starts[2]!, s.p.ends[2]!);
  return typeof value === "bigint" && value < secondsMin;
}

/** EXPIRETIME key → the absolute expiry in Unix seconds (rounded half up, as Redis), -1 without expiry, -2 when missing. */
export function expiretime(s: Session, ctx: Context): void {
  const at = expiryOf(s, ctx);
  s.reply.integer(at < 0 ? at : Math.floor((at + 500) / 1000));
}

/** PEXPIRETIME key → the absolute expiry in Unix ms, -1 without expiry, -2 when missing. */
export function pexpiretime(s: Session, ctx: Context): void {
  s.reply.integer(expiryOf(s, ctx));
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
  const p = s.p;
  const ms = ttlMs(ctx.store, s.b, p.starts[1]!, p.ends[1]!, s.nowMs);
  s.reply.integer(ms < 0 ? ms : Math.floor((ms + 500) / 1000));
}

/** PTTL key (the text protocol's TTL) → milliseconds left, -1 without expiry, -2 when missing. */
export function pttl(s: Session, ctx: Context): void {
  const p = s.p;
  s.reply.integer(ttlMs(ctx.store, s.b, p.starts[1]!, p.ends[1]!, s.nowMs));
}

/** PERSIST key → applied when an expiry was removed. */
export function persist(s: Session, ctx: Context): void {
  const p = s.p;
  s.reply.applied(persistKey(ctx.store, s.b, p.starts[1]!, p.ends[1]!, s.nowMs));
}
