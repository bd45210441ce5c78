// EXPIRE, PEXPIRE, TTL, PTTL, PERSIST. Expiry is stored absolute and none of these changes a
// key's version. Osprey's text protocol calls PEXPIRE and PTTL by the names EXPIRE and TTL: its
// times are milliseconds (see the command table).

import { ExpireOptions, expireKey, persistKey, ttlMs } from "../engine/ops.ts";
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

/** Applied when the expiry was set or the key deleted (a time not in the future); not when missing or a condition refused. */
function expireIn(s: Session, ctx: Context, unitMs: number): void {
  const why = s.dialect.expireOptions(s, unitMs, options);
  if (why !== valid) return s.reply.fail(why);
  const p = s.p;
  s.reply.applied(expireKey(ctx.store, s.b, p.starts[1]!, p.ends[1]!, options, s.nowMs));
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
