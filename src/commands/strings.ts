// GET, SET, SETNX, GETDEL, MGET, MSET, DEL, EXISTS: each parses its arguments, calls one engine
// operation and hands the result to the protocol's encoder. Keys were checked by the dispatcher.

import { deleteKey, setAll, setGeneric, SetFlag, SetOptions, SetRefused } from "../engine/ops.ts";
import type { Context } from "./context.ts";
import { Fail } from "./reply.ts";
import type { Session } from "./session.ts";
import { valid } from "./session.ts";
import { mgetSliceBytes, mgetSliceKeys } from "../constants.ts";

export function get(s: Session, ctx: Context): void {
  const p = s.p;
  s.reply.entry(ctx.store, ctx.store.lookup(s.b, p.starts[1]!, p.ends[1]!, s.nowMs));
}

/** Parsed options of the SET being run: module scratch, so a request allocates nothing. */
const options = new SetOptions();

/** SET key value [options]: the protocol's dialect reads the options; setGeneric decides. */
export function set(s: Session, ctx: Context): void {
  const o = options.reset();
  if (s.p.argc > 3) {
    const why = s.dialect.setOptions(s, o);
    if (why !== valid) return s.reply.fail(why);
  }
  // SET … GET answers the old value, which the write is about to replace.
  const withGet = (o.flags & SetFlag.Get) !== 0;
  if (withGet) get(s, ctx);
  const version = writeValue(s, ctx, o);
  if (withGet) return;
  if (version > 0) s.reply.written(version);
  else s.reply.setRefused(version === SetRefused.KeyExists ? Fail.KeyExists : version === SetRefused.KeyMissing ? Fail.KeyMissing : Fail.VersionMismatch);
}

/** SETNX key value → 1 when set, 0 when the key was live. */
export function setnx(s: Session, ctx: Context): void {
  const o = options.reset();
  o.flags = SetFlag.Nx;
  s.reply.integer(writeValue(s, ctx, o) > 0 ? 1 : 0);
}

/** Returns the new version, or a negative SetRefused. */
function writeValue(s: Session, ctx: Context, o: SetOptions): number {
  const p = s.p;
  return setGeneric(ctx.store, s.b, p.starts[1]!, p.ends[1]!, p.starts[2]!, p.ends[2]!, o, s.nowMs);
}

/** GETDEL key → the value (then deleted) or nil. */
export function getdel(s: Session, ctx: Context): void {
  const p = s.p;
  const id = ctx.store.lookup(s.b, p.starts[1]!, p.ends[1]!, s.nowMs);
  s.reply.entry(ctx.store, id);
  if (id >= 0) ctx.store.delete(id);
}

/**
 * MGET key [key …]: an entry or a miss per key. Past mgetSliceKeys keys or mgetSliceBytes of reply
 * it stops and yields (`Session.suspendAt`); the connection runs it again from there once other
 * clients had their turn. So each slice's keys are read together, but other clients' writes may
 * land between slices (inside EXEC it runs whole). Stops, and drops the client, if the reply would
 * pass its output room.
 */
export function mget(s: Session, ctx: Context): void {
  const p = s.p;
  const store = ctx.store;
  const reply = s.reply;
  const start = reply.len;
  let first = s.resumeArg;
  if (first === 0) {
    reply.entriesBegin(p.argc - 1);
    first = 1;
  }
  const sliceEnd = s.canYield ? Math.min(p.argc, first + mgetSliceKeys) : p.argc;
  for (let t = first; t < p.argc; t++) {
    if (t === sliceEnd || (s.canYield && reply.len - start >= mgetSliceBytes)) {
      s.suspendAt = t;
      return;
    }
    const ks = p.starts[t]!;
    const ke = p.ends[t]!;
    const id = store.lookup(s.b, ks, ke, s.nowMs);
    if (reply.len - start + reply.keyedEntryBytes(ke - ks, id < 0 ? 0 : store.valueLength(id)) > ctx.outputRoom) {
      ctx.outputOverflow = true; // the client will be disconnected; do not build the rest
      reply.truncate(start);
      return;
    }
    reply.keyedEntry(store, id, s.b, ks, ke);
  }
}

/** MSET key value [key value …]: all or nothing, one logged batch. */
export function mset(s: Session, ctx: Context): void {
  const p = s.p;
  const count = setAll(ctx.store, s.b, p.starts, p.ends, 1, p.argc, s.nowMs);
  s.reply.writtenAll(count);
}

/** DEL key [key …] → how many were live (a key named twice counts once). */
export function del(s: Session, ctx: Context): void {
  const p = s.p;
  let deleted = 0;
  for (let t = 1; t < p.argc; t++) if (deleteKey(ctx.store, s.b, p.starts[t]!, p.ends[t]!, s.nowMs)) deleted++;
  s.reply.deleted(deleted);
}

/** EXISTS key [key …] → how many are live, a key named twice counting twice (as Redis). */
export function exists(s: Session, ctx: Context): void {
  const p = s.p;
  let live = 0;
  for (let t = 1; t < p.argc; t++) if (ctx.store.lookup(s.b, p.starts[t]!, p.ends[t]!, s.nowMs) >= 0) live++;
  s.reply.existing(live);
}
