// INCR and DECR: exact signed 64-bit arithmetic, logged as a SET of the result, TTL kept.
// Small operands stay on the number fast path; anything near the 64-bit edges goes through BigInt.

import type { TextParser } from "../protocol/text.ts";
import { Writer } from "../protocol/writer.ts";
import { noExpiry } from "../engine/store.ts";
import { Err } from "../errors.ts";
import type { Context } from "./context.ts";
import { isI64, parseI64, reject, validKey } from "./args.ts";

/** After `addToCounter` answers Counted.Done: the new value's decimal text, in `counterText.buf[0..len)`. */
export const counterText = new Writer(32);

/** How `addToCounter` ended. */
export const enum Counted {
  Done,
  /** The stored value is not the canonical decimal form of a signed 64-bit integer. */
  NotAnInteger,
  /** The result falls outside the signed 64-bit range; nothing was written. */
  Overflow,
}

export function incr(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  counter(p, b, out, ctx, now, 1);
}

export function decr(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  counter(p, b, out, ctx, now, -1);
}

function counter(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number, sign: 1 | -1): void {
  ctx.stats.cmdIncr++;
  const ks = p.starts[1]!;
  const ke = p.ends[1]!;
  if (!validKey(ctx, out, b, ks, ke)) return;
  const delta = p.argc === 3 ? parseI64(b, p.starts[2]!, p.ends[2]!) : 1;
  if (delta === null) return void reject(ctx, out, Err.badDelta);
  const counted = addToCounter(ctx, b, ks, ke, delta, sign, now);
  if (counted === Counted.NotAnInteger) return void reject(ctx, out, Err.notAnInteger);
  if (counted === Counted.Overflow) return void reject(ctx, out, Err.overflow);
  out.range(counterText.buf, 0, counterText.len);
  out.crlf();
}

/**
 * Adds sign × delta to the integer at key b[ks..ke) (a missing key counts as 0), keeping its
 * expiry; the store logs it as a SET of the result. The one counter path of both protocols.
 */
export function addToCounter(ctx: Context, b: Uint8Array, ks: number, ke: number, delta: number | bigint, sign: 1 | -1, now: number): Counted {
  const store = ctx.store;
  const id = store.lookup(b, ks, ke, now);
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
    result.int(current + sign * delta); // both below 10^15: the sum is exact
  } else {
    const sum = BigInt(current) + BigInt(sign) * BigInt(delta);
    if (!isI64(sum)) return Counted.Overflow;
    result.text(sum.toString());
  }
  const expiry = id >= 0 ? store.expiry(id) : noExpiry;
  const version = id >= 0 ? store.version(id) + 1 : 1;
  store.set(b, ks, ke, result.buf, 0, result.len, expiry, version, id);
  return Counted.Done;
}
