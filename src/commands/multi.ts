// MGET and MSET. MSET validates every key before writing any, then logs the writes as one batch.

import { parseLength, type TextParser } from "../protocol/text.ts";
import { ascii, type Writer } from "../protocol/writer.ts";
import { noExpiry } from "../engine/store.ts";
import { keyError, reject } from "./args.ts";
import type { Context } from "./context.ts";

const VALUE_ = ascii("VALUE ");
const NOT_FOUND_ = ascii("NOT_FOUND ");
const OK_ = ascii("OK ");

/** Bytes of the reply block for one key, header included (an upper bound). */
function blockBytes(keyLen: number, valueLen: number): number {
  return 6 + keyLen + 1 + 16 + 1 + 20 + 1 + 20 + 2 + valueLen + 2;
}

/** MGET k1 k2 …: per key `VALUE <key> <len> <version> <expiry>` + bytes, or `NOT_FOUND <key>`. */
export function mget(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdMget++;
  for (let t = 1; t < p.argc; t++) {
    const err = keyError(b, p.starts[t]!, p.ends[t]!, ctx.config.keyBytesMax);
    if (err !== null) return void reject(ctx, out, err);
  }
  const store = ctx.store;
  const start = out.len;
  for (let t = 1; t < p.argc; t++) {
    const ks = p.starts[t]!;
    const ke = p.ends[t]!;
    const id = store.lookup(b, ks, ke, now);
    const len = id < 0 ? 0 : store.valueLength(id);
    if (out.len - start + blockBytes(ke - ks, len) > ctx.outputRoom) {
      ctx.outputOverflow = true; // the client will be disconnected; do not build the rest
      out.len = start;
      return;
    }
    if (id < 0) {
      out.bytes(NOT_FOUND_);
      out.range(b, ks, ke);
      out.crlf();
      continue;
    }
    out.bytes(VALUE_);
    out.range(b, ks, ke);
    out.byte(32);
    out.int(len);
    out.byte(32);
    out.int(store.version(id));
    out.byte(32);
    out.int(store.expiry(id));
    out.crlf();
    const vs = store.valueOffset(id);
    out.range(store.buffer(id), vs, vs + len);
    out.crlf();
  }
}

/** MSET k1 len1 k2 len2 … + payloads: all or nothing, one logged batch → OK <count>. */
export function mset(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdMset++;
  const count = (p.argc - 1) >> 1;
  for (let t = 1; t < p.argc; t += 2) {
    const err = keyError(b, p.starts[t]!, p.ends[t]!, ctx.config.keyBytesMax);
    if (err !== null) return void reject(ctx, out, err);
  }
  const store = ctx.store;
  let keyBytes = 0;
  for (let t = 1; t < p.argc; t += 2) keyBytes += p.ends[t]! - p.starts[t]!;
  store.batchBegin(count, keyBytes + p.payloadEnd - p.payloadStart);
  let vs = p.payloadStart;
  for (let t = 1; t < p.argc; t += 2) {
    const ks = p.starts[t]!;
    const ke = p.ends[t]!;
    // The parser already checked every length token.
    const ve = vs + parseLength(b, p.starts[t + 1]!, p.ends[t + 1]!);
    const id = store.lookup(b, ks, ke, now);
    const version = id < 0 ? 1 : store.version(id) + 1;
    store.set(b, ks, ke, b, vs, ve, noExpiry, version, id);
    vs = ve;
  }
  store.batchEnd();
  out.bytes(OK_);
  out.int(count);
  out.crlf();
}

