// DEBUG SLEEP / SET-ACTIVE-EXPIRE / RELOAD / OBJECT / DIGEST / HELP (admin only): what Redis's own
// test suite and operators' scripts call. And SAVE, which starts a snapshot (Osprey's RDB).

import { debugSleepMsMax } from "../constants.ts";
import { respError } from "../errors.ts";
import { nameCode, nameCodeOf } from "../protocol/text.ts";
import type { Context } from "./context.ts";
import type { Session } from "./session.ts";
import { valueEncoding } from "./keyspace.ts";
import { noExpiry } from "../engine/store.ts";

const SLEEP = nameCodeOf("SLEEP");
const RELOAD = nameCodeOf("RELOAD");
const OBJECT = nameCodeOf("OBJECT");
const DIGEST = nameCodeOf("DIGEST");
const HELP = nameCodeOf("HELP");
// Longer than a name code holds (11 letters): compared as text.
const setActiveExpire = "SET-ACTIVE-EXPIRE";

const help = [
  "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "DIGEST",
  "    Output a hex signature representing the current keyspace.",
  "OBJECT <key>",
  "    Show low level info about the <key> and associated value.",
  "RELOAD",
  "    Osprey's keyspace is always what its write-ahead log replays to: answers OK.",
  "SET-ACTIVE-EXPIRE <0|1>",
  "    Setting it to 0 disables expiring keys in the background when they are not",
  "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
  "    default.",
  "SLEEP <seconds>",
  "    Stop the server for <seconds>. Decimals allowed.",
  "HELP",
  "    Prints this help.",
];

const noSuchKey = respError("no such key");

/** DEBUG <subcommand> …: see `help`. */
export function debug(s: Session, ctx: Context): void {
  const p = s.p;
  const sub = nameCode(s.b, p.starts[1]!, p.ends[1]!);
  if (sub === SLEEP && p.argc === 3) return sleep(s);
  if (s.word(1) === setActiveExpire && p.argc === 3) {
    // Redis reads the flag with atoi: any non-zero number turns the sweep back on.
    ctx.activeExpire = atoi(s.text(2)) !== 0;
    return s.reply.ok();
  }
  // Nothing to save first or to read back: every acknowledged write is in the WAL already.
  if (sub === RELOAD && p.argc <= 3) return s.reply.ok();
  if (sub === OBJECT && p.argc === 3) return object(s, ctx);
  if (sub === DIGEST && p.argc === 2) return s.reply.status(digest(ctx, s.nowMs));
  if (sub === HELP && p.argc === 2) {
    s.reply.arrayHeader(help.length);
    for (const line of help) s.reply.status(line);
    return;
  }
  // Redis answers a wrong argument count and an unknown subcommand alike (addReplySubcommandSyntaxError).
  s.reply.error(respError(`unknown subcommand or wrong number of arguments for '${s.text(1).slice(0, 128)}'. Try DEBUG HELP.`));
}

/** DEBUG SLEEP seconds: blocks the whole server, as in Redis; at most debugSleepMsMax. */
function sleep(s: Session): void {
  const text = s.text(2);
  const seconds = /^\d{1,9}(\.\d{1,9})?$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds * 1000 <= debugSleepMsMax)) return s.reply.error(respError(`DEBUG SLEEP takes seconds from 0 to ${debugSleepMsMax / 1000}`));
  if (seconds > 0) Bun.sleepSync(seconds * 1000);
  s.reply.ok();
}

/** DEBUG OBJECT key: Redis's line; Osprey keeps no object header, so the address, refcount and LRU are fixed. */
function object(s: Session, ctx: Context): void {
  const store = ctx.store;
  const id = store.read(s.b, s.p.starts[2]!, s.p.ends[2]!, s.nowMs);
  if (id < 0) return s.reply.error(noSuchKey);
  s.reply.status(`Value at:0x0 refcount:1 encoding:${valueEncoding(store, id)} serializedlength:${store.valueLength(id)} lru:0 lru_seconds_idle:0`);
}

/**
 * DEBUG DIGEST: 40 hex digits that depend on every live key, its value and its expiry, and not on
 * their order (the XOR of one SHA-1 per key); forty zeros for an empty keyspace, as in Redis. It
 * walks the whole keyspace at once, like Redis's.
 */
function digest(ctx: Context, nowMs: number): string {
  const store = ctx.store;
  const sum = new Uint8Array(20);
  const expiry = new Float64Array(1);
  store.forEach((id) => {
    const at = store.expiry(id);
    if (at !== noExpiry && at <= nowMs) return;
    const b = store.buffer(id);
    const ks = store.keyOffset(id);
    const h = new Bun.CryptoHasher("sha1");
    h.update(b.subarray(ks, ks + store.keyLength(id)));
    h.update(Buffer.from([0]));
    h.update(b.subarray(ks + store.keyLength(id), ks + store.keyLength(id) + store.valueLength(id)));
    expiry[0] = at;
    h.update(new Uint8Array(expiry.buffer));
    const one = h.digest();
    for (let i = 0; i < 20; i++) sum[i]! ^= one[i]!;
  });
  return Buffer.from(sum).toString("hex");
}

/** SAVE: starts a snapshot, as BGSAVE; every acknowledged write is already in the WAL, so it does not wait for it. */
export function save(s: Session, ctx: Context): void {
  const snapshots = ctx.persistence?.snapshots;
  if (snapshots === undefined) return s.reply.error(respError("this server keeps no data on disk"));
  if (snapshots.running) return s.reply.error(respError("Background save already in progress"));
  const why = snapshots.start("SAVE");
  if (why === null) s.reply.ok();
  else s.reply.error(respError(why));
}

/** C's atoi: optional spaces and sign, then digits up to the first other character (0 when none). */
function atoi(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m === null ? 0 : Number.parseInt(m[1]!, 10);
}
