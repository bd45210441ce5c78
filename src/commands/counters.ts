// INCR, DECR, INCRBY, DECRBY: the engine's counter path (exact signed 64-bit, expiry kept, logged
// as a SET of the result). The text protocol's INCR/DECR take an optional delta; RESP's INCRBY and
// DECRBY a required one: the same handler reads it when present.

import { addToCounter, Counted, counterText } from "../engine/ops.ts";
import { parseI64 } from "../numbers.ts";
import type { Context } from "./context.ts";
import { Fail } from "./reply.ts";
import type { Session } from "./session.ts";

const I64_MIN = -(2n ** 63n);

export function incr(s: Session, ctx: Context): void {
  count(s, ctx, 1, false);
}

export function decr(s: Session, ctx: Context): void {
  count(s, ctx, -1, false);
}

/** DECRBY refuses a delta of -2^63 before reading the key, as Redis does: its negation does not exist. */
export function decrby(s: Session, ctx: Context): void {
  count(s, ctx, -1, true);
}

function count(s: Session, ctx: Context, sign: 1 | -1, refuseMin: boolean): void {
  const p = s.p;
  const delta = p.argc === 3 ? parseI64(s.b, p.starts[2]!, p.ends[2]!) : 1;
  if (delta === null) return s.reply.fail(Fail.BadDelta);
  if (refuseMin && delta === I64_MIN) return s.reply.fail(Fail.DecrementOverflow);
  const counted = addToCounter(ctx.store, s.b, p.starts[1]!, p.ends[1]!, delta, sign, s.nowMs);
  if (counted === Counted.NotAnInteger) return s.reply.fail(Fail.NotAnInteger);
  if (counted === Counted.Overflow) return s.reply.fail(Fail.Overflow);
  s.reply.integerText(counterText.buf, 0, counterText.len);
}
