// EXPIRE, PEXPIRE, TTL, PTTL, PERSIST over RESP, as Redis 7 answers them. Expiry is stored
// absolute; none of these changes a key's version.

import type { RespParser } from "../../protocol/resp.ts";
import { nameCode, nameCodeOf } from "../../protocol/text.ts";
import type { Writer } from "../../protocol/writer.ts";
import { Resp, writeInteger } from "../../protocol/resp-writer.ts";
import { noExpiry } from "../../engine/store.ts";
import { RespErr, respError } from "../../errors.ts";
import type { Context } from "../context.ts";
import { parseI64, reject } from "../args.ts";
import { expiryFrom } from "./args.ts";

const NX = nameCodeOf("NX");
const XX = nameCodeOf("XX");
const GT = nameCodeOf("GT");
const LT = nameCodeOf("LT");

const invalidExpire = { expire: respError("invalid expire time in 'expire' command"), pexpire: respError("invalid expire time in 'pexpire' command") };

export function expire(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  expireGeneric(p, b, out, ctx, now, 1000, invalidExpire.expire);
}

export function pexpire(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  expireGeneric(p, b, out, ctx, now, 1, invalidExpire.pexpire);
}

/**
 * EXPIRE/PEXPIRE key time [NX|XX|GT|LT] → 1 when the expiry was set (or the key deleted because
 * the time is not in the future), 0 when the key is missing or a condition failed.
 */
function expireGeneric(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number, unitMs: number, invalid: Uint8Array): void {
  ctx.stats.cmdExpire++;
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  for (let t = 3; t < p.argc; t++) {
    const code = nameCode(b, p.starts[t]!, p.ends[t]!);
    if (code === NX) nx = true;
    else if (code === XX) xx = true;
    else if (code === GT) gt = true;
    else if (code === LT) lt = true;
    else return void reject(ctx, out, respError(`Unsupported option ${Buffer.from(b.subarray(p.starts[t]!, p.ends[t]!)).toString("latin1")}`));
  }
  if (nx && (xx || gt || lt)) return void reject(ctx, out, RespErr.expireNxAndOther);
  if (gt && lt) return void reject(ctx, out, RespErr.expireGtAndLt);
  const value = parseI64(b, p.starts[2]!, p.ends[2]!);
  if (value === null) return void reject(ctx, out, RespErr.notAnInteger);
  const when = expiryFrom(value, unitMs, now);
  if (Number.isNaN(when)) return void reject(ctx, out, invalid);
  const store = ctx.store;
  const id = store.lookup(b, p.starts[1]!, p.ends[1]!, now);
  if (id < 0) return out.bytes(Resp.zero);
  const current = store.expiry(id);
  // A key without expiry counts as expiring never: GT always fails on it, LT always passes.
  if ((nx && current !== noExpiry) || (xx && current === noExpiry)) return out.bytes(Resp.zero);
  if ((gt && (current === noExpiry || when <= current)) || (lt && current !== noExpiry && when >= current)) return out.bytes(Resp.zero);
  if (when <= now) store.delete(id);
  else store.expireAt(id, when);
  out.bytes(Resp.one);
}

export function ttl(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ttlGeneric(p, b, out, ctx, now, false);
}

export function pttl(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ttlGeneric(p, b, out, ctx, now, true);
}

/** TTL/PTTL key → -2 missing, -1 no expiry, else what remains (seconds rounded half up, as Redis). */
function ttlGeneric(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number, inMs: boolean): void {
  ctx.stats.cmdTtl++;
  const id = ctx.store.lookup(b, p.starts[1]!, p.ends[1]!, now);
  if (id < 0) return out.bytes(Resp.minusTwo);
  const at = ctx.store.expiry(id);
  if (at === noExpiry) return out.bytes(Resp.minusOne);
  const left = Math.max(0, at - now);
  writeInteger(out, inMs ? left : Math.floor((left + 500) / 1000));
}

/** PERSIST key → 1 when an expiry was removed, 0 when the key is missing or has none. */
export function persist(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdExpire++;
  const id = ctx.store.lookup(b, p.starts[1]!, p.ends[1]!, now);
  if (id < 0 || ctx.store.expiry(id) === noExpiry) return out.bytes(Resp.zero);
  ctx.store.expireAt(id, noExpiry);
  out.bytes(Resp.one);
}
