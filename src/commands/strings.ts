// GET, SET, DEL, EXISTS: thin wrappers over the store. SET's options meet in `setGeneric`.

import type { TextParser } from "../protocol/text.ts";
import { nameCode, nameCodeOf } from "../protocol/text.ts";
import { ascii, type Writer } from "../protocol/writer.ts";
import { noExpiry } from "../engine/store.ts";
import { Err } from "../errors.ts";
import type { Context } from "./context.ts";
import { parseSmallInt, parseU64, reject, validKey } from "./args.ts";

const VALUE_ = ascii("VALUE ");
const OK_ = ascii("OK ");
const NOT_FOUND = ascii("NOT_FOUND\r\n");
const DELETED_1 = ascii("DELETED 1\r\n");
const DELETED_0 = ascii("DELETED 0\r\n");
const EXISTS_1 = ascii("EXISTS 1\r\n");
const EXISTS_0 = ascii("EXISTS 0\r\n");

/** Writes `VALUE <len> <version> <expiry_ms>\r\n<bytes>\r\n` for a live entry. */
export function writeValue(ctx: Context, out: Writer, id: number): void {
  const store = ctx.store;
  const len = store.valueLength(id);
  out.bytes(VALUE_);
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

export function get(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdGet++;
  const ks = p.starts[1]!;
  const ke = p.ends[1]!;
  if (!validKey(ctx, out, b, ks, ke)) return;
  const id = ctx.store.lookup(b, ks, ke, now);
  if (id < 0) out.bytes(NOT_FOUND);
  else writeValue(ctx, out, id);
}

const EX = nameCodeOf("EX");
const PXAT = nameCodeOf("PXAT");
const NX = nameCodeOf("NX");
const XX = nameCodeOf("XX");
const VER = nameCodeOf("VER");
const KEEPTTL = nameCodeOf("KEEPTTL");

const HAS_EX = 1;
const HAS_PXAT = 2;
const HAS_NX = 4;
const HAS_XX = 8;
const HAS_VER = 16;
const HAS_KEEPTTL = 32;

/** The options of one SET, parsed into module-level scratch: no allocation per request. */
let optFlags = 0;
let optExpiry = noExpiry;
let optVersion = 0;

/** Parses SET options from token 3 on; false (after replying) when they are invalid. */
function parseSetOptions(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number): boolean {
  optFlags = 0;
  optExpiry = noExpiry;
  optVersion = 0;
  for (let t = 3; t < p.argc; t++) {
    const s = p.starts[t]!;
    const e = p.ends[t]!;
    const code = nameCode(b, s, e);
    const flag = code === EX ? HAS_EX : code === PXAT ? HAS_PXAT : code === NX ? HAS_NX : code === XX ? HAS_XX : code === VER ? HAS_VER : code === KEEPTTL ? HAS_KEEPTTL : 0;
    if (flag === 0) return reject(ctx, out, Err.unknownOption);
    if ((optFlags & flag) !== 0) return reject(ctx, out, Err.repeatedOption);
    optFlags |= flag;
    if (flag === HAS_EX || flag === HAS_PXAT || flag === HAS_VER) {
      if (++t >= p.argc) return reject(ctx, out, Err.missingOptionValue);
      const vs = p.starts[t]!;
      const ve = p.ends[t]!;
      if (flag === HAS_VER) {
        optVersion = parseU64(b, vs, ve);
        if (Number.isNaN(optVersion)) return reject(ctx, out, Err.badVer);
      } else if (flag === HAS_EX) {
        const ms = parseSmallInt(b, vs, ve);
        if (Number.isNaN(ms) || ms <= 0) return reject(ctx, out, Err.badEx);
        optExpiry = now + ms;
      } else {
        const at = parseSmallInt(b, vs, ve);
        if (Number.isNaN(at)) return reject(ctx, out, Err.badPxat);
        // Any past time means "already expired"; clamp so -1 is never mistaken for "no expiry".
        optExpiry = at < 0 ? 0 : at;
      }
    }
  }
  if ((optFlags & (HAS_EX | HAS_PXAT)) === (HAS_EX | HAS_PXAT)) return reject(ctx, out, Err.exWithPxat);
  if ((optFlags & (HAS_NX | HAS_XX)) === (HAS_NX | HAS_XX)) return reject(ctx, out, Err.nxWithXx);
  if ((optFlags & HAS_KEEPTTL) !== 0 && (optFlags & (HAS_EX | HAS_PXAT)) !== 0) return reject(ctx, out, Err.keepttlWithExpiry);
  return true;
}

/** SET <key> <len> [EX ms | PXAT epoch_ms] [NX | XX] [VER n] [KEEPTTL] + payload → OK <version>. */
export function set(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdSet++;
  const ks = p.starts[1]!;
  const ke = p.ends[1]!;
  if (!validKey(ctx, out, b, ks, ke)) return;
  if (p.argc > 3 && !parseSetOptions(p, b, out, ctx, now)) return;
  if (p.argc === 3) {
    optFlags = 0;
    optExpiry = noExpiry;
  }
  const store = ctx.store;
  const id = store.lookup(b, ks, ke, now);
  if ((optFlags & HAS_NX) !== 0 && id >= 0) return void reject(ctx, out, Err.exists);
  if ((optFlags & HAS_XX) !== 0 && id < 0) return void reject(ctx, out, Err.nexists);
  const current = id < 0 ? 0 : store.version(id);
  if ((optFlags & HAS_VER) !== 0 && optVersion !== current) return void reject(ctx, out, Err.version);
  const expiry = (optFlags & HAS_KEEPTTL) !== 0 && id >= 0 ? store.expiry(id) : optExpiry;
  const version = current + 1;
  store.set(b, ks, ke, b, p.payloadStart, p.payloadEnd, expiry, version, id);
  out.bytes(OK_);
  out.int(version);
  out.crlf();
}

export function del(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdDel++;
  const ks = p.starts[1]!;
  const ke = p.ends[1]!;
  if (!validKey(ctx, out, b, ks, ke)) return;
  const id = ctx.store.lookup(b, ks, ke, now);
  if (id < 0) return out.bytes(DELETED_0);
  ctx.store.delete(id);
  out.bytes(DELETED_1);
}

export function exists(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdExists++;
  const ks = p.starts[1]!;
  const ke = p.ends[1]!;
  if (!validKey(ctx, out, b, ks, ke)) return;
  out.bytes(ctx.store.lookup(b, ks, ke, now) < 0 ? EXISTS_0 : EXISTS_1);
}

