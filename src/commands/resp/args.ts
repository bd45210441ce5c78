// What RESP commands share about their arguments: which keys may be written, and expiry times.
// Numbers come from ../args.ts, so both protocols read integers the same way.

import type { Writer } from "../../protocol/writer.ts";
import { RespErr } from "../../errors.ts";
import type { Context } from "../context.ts";
import { reject } from "../args.ts";

/**
 * Whether b[s..e) may be written as a key; rejects it otherwise. RESP keys are any bytes (Redis
 * clients send binary keys), 1 to max_key_bytes of them: the keyspace marks free entries by key
 * length 0, and max_key_bytes bounds what every lookup copies and compares. Reads need no check:
 * a key that cannot be written is simply missing.
 */
export function writableKey(ctx: Context, out: Writer, b: Uint8Array, s: number, e: number): boolean {
  if (e === s) return reject(ctx, out, RespErr.emptyKey);
  if (e - s > ctx.config.keyBytesMax) return reject(ctx, out, RespErr.keyTooLarge);
  return true;
}

/**
 * An absolute expiry in ms from an integer argument `value` in units of `unitMs`, relative to
 * `baseMs` (0 for EXAT/PXAT). NaN when it is beyond what expiry times hold exactly (2^53 ms,
 * about 285,000 years; Redis allows up to 2^63), -Infinity for a bigint far in the past.
 */
export function expiryFrom(value: number | bigint, unitMs: number, baseMs: number): number {
  if (typeof value === "bigint") return value < 0n ? Number.NEGATIVE_INFINITY : Number.NaN;
  const ms = value * unitMs + baseMs;
  return ms > Number.MAX_SAFE_INTEGER ? Number.NaN : ms;
}
