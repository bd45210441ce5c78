// EXPIRE and TTL. Expiry is stored absolute; EXPIRE never changes a key's version.

import type { TextParser } from "../protocol/text.ts";
import { ascii, type Writer } from "../protocol/writer.ts";
import { noExpiry } from "../engine/store.ts";
import { Err } from "../errors.ts";
import type { Context } from "./context.ts";
import { parseSmallInt, reject, validKey } from "./args.ts";

const OK = ascii("OK\r\n");
const NOT_FOUND = ascii("NOT_FOUND\r\n");
const MISSING = ascii("-2\r\n");
const PERSISTENT = ascii("-1\r\n");

/** EXPIRE <key> <ms>: ms ≤ 0 removes the key at once (logged as a DEL). */
export function expire(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdExpire++;
  const ks = p.starts[1]!;
  const ke = p.ends[1]!;
  if (!validKey(ctx, out, b, ks, ke)) return;
  const ms = parseSmallInt(b, p.starts[2]!, p.ends[2]!);
  if (Number.isNaN(ms)) return void reject(ctx, out, Err.badExpire);
  const id = ctx.store.lookup(b, ks, ke, now);
  if (id < 0) return out.bytes(NOT_FOUND);
  if (ms <= 0) ctx.store.delete(id);
  else ctx.store.expireAt(id, now + ms);
  out.bytes(OK);
}

/** TTL <key>: remaining ms, -1 without expiry, -2 when missing. */
export function ttl(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdTtl++;
  const ks = p.starts[1]!;
  const ke = p.ends[1]!;
  if (!validKey(ctx, out, b, ks, ke)) return;
  const id = ctx.store.lookup(b, ks, ke, now);
  if (id < 0) return out.bytes(MISSING);
  const at = ctx.store.expiry(id);
  if (at === noExpiry) return out.bytes(PERSISTENT);
  out.int(at - now);
  out.crlf();
}
