// GET, SET, SETNX, GETDEL, DEL, EXISTS, MGET, MSET over RESP, with Redis's replies. Writes go
// through the store exactly as the Osprey commands' do: versions count on, the log sees each one.

import type { RespParser } from "../../protocol/resp.ts";
import { nameCode, nameCodeOf } from "../../protocol/text.ts";
import type { Writer } from "../../protocol/writer.ts";
import { bulkBytes, Resp, writeArrayHeader, writeBulk, writeInteger } from "../../protocol/resp-writer.ts";
import { noExpiry } from "../../engine/store.ts";
import { RespErr, respError } from "../../errors.ts";
import type { Context } from "../context.ts";
import { parseI64, reject } from "../args.ts";
import { expiryFrom, writableKey } from "./args.ts";

/** Writes the live entry's value as a bulk string. */
function writeValue(ctx: Context, out: Writer, id: number): void {
  const store = ctx.store;
  const vs = store.valueOffset(id);
  writeBulk(out, store.buffer(id), vs, vs + store.valueLength(id));
}

export function get(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdGet++;
  const id = ctx.store.lookup(b, p.starts[1]!, p.ends[1]!, now);
  if (id < 0) out.bytes(Resp.nil);
  else writeValue(ctx, out, id);
}

const EX = nameCodeOf("EX");
const PX = nameCodeOf("PX");
const EXAT = nameCodeOf("EXAT");
const PXAT = nameCodeOf("PXAT");
const NX = nameCodeOf("NX");
const XX = nameCodeOf("XX");
const KEEPTTL = nameCodeOf("KEEPTTL");
const GET = nameCodeOf("GET");

const HAS_NX = 1;
const HAS_XX = 2;
const HAS_GET = 4;
const HAS_KEEPTTL = 8;
const HAS_EX = 16;
const HAS_PX = 32;
const HAS_EXAT = 64;
const HAS_PXAT = 128;
const HAS_EXPIRY = HAS_EX | HAS_PX | HAS_EXAT | HAS_PXAT;

/** The options of one SET, parsed into module-level scratch: no allocation per request. */
let optFlags = 0;
let optExpiry = noExpiry;

/**
 * Parses SET's options from argument 3 on as Redis's parseExtendedStringArgumentsOrReply does:
 * NX/XX exclude each other, KEEPTTL and the four expiry options exclude each other, but one option
 * may repeat (the last value wins, and only it is checked). False (after replying) when invalid.
 */
function parseSetOptions(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): boolean {
  optFlags = 0;
  optExpiry = noExpiry;
  let expiryArg = -1;
  for (let t = 3; t < p.argc; t++) {
    const code = nameCode(b, p.starts[t]!, p.ends[t]!);
    const hasNext = t + 1 < p.argc;
    const others = optFlags & HAS_EXPIRY;
    let flag = 0;
    if (code === NX && (optFlags & HAS_XX) === 0) flag = HAS_NX;
    else if (code === XX && (optFlags & HAS_NX) === 0) flag = HAS_XX;
    else if (code === GET) flag = HAS_GET;
    else if (code === KEEPTTL && others === 0) flag = HAS_KEEPTTL;
    else if (code === EX && (optFlags & HAS_KEEPTTL) === 0 && (others & ~HAS_EX) === 0 && hasNext) flag = HAS_EX;
    else if (code === PX && (optFlags & HAS_KEEPTTL) === 0 && (others & ~HAS_PX) === 0 && hasNext) flag = HAS_PX;
    else if (code === EXAT && (optFlags & HAS_KEEPTTL) === 0 && (others & ~HAS_EXAT) === 0 && hasNext) flag = HAS_EXAT;
    else if (code === PXAT && (optFlags & HAS_KEEPTTL) === 0 && (others & ~HAS_PXAT) === 0 && hasNext) flag = HAS_PXAT;
    else return reject(ctx, out, RespErr.syntax);
    optFlags |= flag;
    if ((flag & HAS_EXPIRY) !== 0) expiryArg = ++t;
  }
  if (expiryArg < 0) return true;
  const value = parseI64(b, p.starts[expiryArg]!, p.ends[expiryArg]!);
  if (value === null) return reject(ctx, out, RespErr.notAnInteger);
  const seconds = (optFlags & (HAS_EX | HAS_EXAT)) !== 0;
  const relative = (optFlags & (HAS_EX | HAS_PX)) !== 0;
  optExpiry = value > 0 ? expiryFrom(value, seconds ? 1000 : 1, relative ? now : 0) : Number.NaN;
  // Redis: "invalid expire time in 'set' command" for zero, negative or overflowing times.
  if (!(optExpiry > 0)) return reject(ctx, out, invalidExpireSet);
  return true;
}

const invalidExpireSet = respError("invalid expire time in 'set' command");

/**
 * SET with the options parsed: writes key = value unless NX/XX forbid it. With GET the reply is
 * the old value (nil when missing) whether or not the write happens; without it, OK or nil.
 */
function setGeneric(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number, okReply: Uint8Array, abortReply: Uint8Array): void {
  const ks = p.starts[1]!;
  const ke = p.ends[1]!;
  if (!writableKey(ctx, out, b, ks, ke)) return;
  const store = ctx.store;
  const id = store.lookup(b, ks, ke, now);
  const withGet = (optFlags & HAS_GET) !== 0;
  if (withGet) {
    if (id < 0) out.bytes(Resp.nil);
    else writeValue(ctx, out, id);
  }
  if (((optFlags & HAS_NX) !== 0 && id >= 0) || ((optFlags & HAS_XX) !== 0 && id < 0)) {
    if (!withGet) out.bytes(abortReply);
    return;
  }
  const expiry = (optFlags & HAS_KEEPTTL) !== 0 && id >= 0 ? store.expiry(id) : optExpiry;
  const version = id < 0 ? 1 : store.version(id) + 1;
  store.set(b, ks, ke, b, p.starts[2]!, p.ends[2]!, expiry, version, id);
  if (!withGet) out.bytes(okReply);
}

/** SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] → OK, nil, or the old value. */
export function set(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdSet++;
  if (!parseSetOptions(p, b, out, ctx, now)) return;
  setGeneric(p, b, out, ctx, now, Resp.ok, Resp.nil);
}

/** SETNX key value → 1 when set, 0 when the key was live. */
export function setnx(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdSet++;
  optFlags = HAS_NX;
  optExpiry = noExpiry;
  setGeneric(p, b, out, ctx, now, Resp.one, Resp.zero);
}

/** GETDEL key → the value (then deleted) or nil. Counted as a DEL: it is a write. */
export function getdel(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdDel++;
  const id = ctx.store.lookup(b, p.starts[1]!, p.ends[1]!, now);
  if (id < 0) return out.bytes(Resp.nil);
  writeValue(ctx, out, id);
  ctx.store.delete(id);
}

/** DEL key [key …] → how many were live (a key named twice counts once). */
export function del(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdDel++;
  let deleted = 0;
  for (let t = 1; t < p.argc; t++) {
    const id = ctx.store.lookup(b, p.starts[t]!, p.ends[t]!, now);
    if (id < 0) continue;
    ctx.store.delete(id);
    deleted++;
  }
  writeInteger(out, deleted);
}

/** EXISTS key [key …] → how many are live, a key named twice counting twice (as Redis). */
export function exists(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdExists++;
  let live = 0;
  for (let t = 1; t < p.argc; t++) if (ctx.store.lookup(b, p.starts[t]!, p.ends[t]!, now) >= 0) live++;
  writeInteger(out, live);
}

/** MGET key [key …] → an array of values, nil for each missing key. */
export function mget(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdMget++;
  const store = ctx.store;
  const start = out.len;
  writeArrayHeader(out, p.argc - 1);
  for (let t = 1; t < p.argc; t++) {
    const id = store.lookup(b, p.starts[t]!, p.ends[t]!, now);
    if (id < 0) {
      out.bytes(Resp.nil);
      continue;
    }
    if (out.len - start + bulkBytes(store.valueLength(id)) > ctx.outputRoom) {
      ctx.outputOverflow = true; // the client will be disconnected; do not build the rest
      out.len = start;
      return;
    }
    writeValue(ctx, out, id);
  }
}

const msetArity = respError("wrong number of arguments for 'mset' command");

/** MSET key value [key value …] → OK: every key checked first, then one logged batch. */
export function mset(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdMset++;
  if ((p.argc & 1) === 0) return void reject(ctx, out, msetArity);
  for (let t = 1; t < p.argc; t += 2) if (!writableKey(ctx, out, b, p.starts[t]!, p.ends[t]!)) return;
  const store = ctx.store;
  let dataBytes = 0;
  for (let t = 1; t < p.argc; t++) dataBytes += p.ends[t]! - p.starts[t]!;
  store.batchBegin((p.argc - 1) >> 1, dataBytes);
  for (let t = 1; t < p.argc; t += 2) {
    const ks = p.starts[t]!;
    const ke = p.ends[t]!;
    const id = store.lookup(b, ks, ke, now);
    const version = id < 0 ? 1 : store.version(id) + 1;
    store.set(b, ks, ke, b, p.starts[t + 1]!, p.ends[t + 1]!, noExpiry, version, id);
  }
  store.batchEnd();
  out.bytes(Resp.ok);
}
