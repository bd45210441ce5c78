// INCR, DECR, INCRBY, DECRBY over RESP: the Osprey counter path (exact 64-bit, TTL kept, logged
// as a SET of the result) with Redis's replies and error texts.

import type { RespParser } from "../../protocol/resp.ts";
import type { Writer } from "../../protocol/writer.ts";
import { RespErr } from "../../errors.ts";
import type { Context } from "../context.ts";
import { parseI64, reject } from "../args.ts";
import { addToCounter, Counted, counterText } from "../counters.ts";
import { writableKey } from "./args.ts";

const I64_MIN = -(2n ** 63n);

export function incr(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  counter(p, b, out, ctx, now, 1, 1);
}

export function decr(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  counter(p, b, out, ctx, now, 1, -1);
}

export function incrby(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  const delta = parseI64(b, p.starts[2]!, p.ends[2]!);
  if (delta === null) return void countedError(ctx, out, RespErr.notAnInteger);
  counter(p, b, out, ctx, now, delta, 1);
}

export function decrby(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  const delta = parseI64(b, p.starts[2]!, p.ends[2]!);
  if (delta === null) return void countedError(ctx, out, RespErr.notAnInteger);
  if (delta === I64_MIN) return void countedError(ctx, out, RespErr.decrementOverflow);
  counter(p, b, out, ctx, now, delta, -1);
}

function countedError(ctx: Context, out: Writer, reply: Uint8Array): void {
  ctx.stats.cmdIncr++;
  reject(ctx, out, reply);
}

function counter(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number, delta: number | bigint, sign: 1 | -1): void {
  ctx.stats.cmdIncr++;
  const ks = p.starts[1]!;
  const ke = p.ends[1]!;
  if (!writableKey(ctx, out, b, ks, ke)) return;
  const counted = addToCounter(ctx, b, ks, ke, delta, sign, now);
  if (counted === Counted.NotAnInteger) return void reject(ctx, out, RespErr.notAnInteger);
  if (counted === Counted.Overflow) return void reject(ctx, out, RespErr.overflow);
  out.byte(58);
  out.range(counterText.buf, 0, counterText.len);
  out.crlf();
}
