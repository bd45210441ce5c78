// The command table: name → handler, arity and flags, and the one function that dispatches to it.

import { log } from "../log.ts";
import type { TextParser } from "../protocol/text.ts";
import { nameCodeOf } from "../protocol/text.ts";
import type { Writer } from "../protocol/writer.ts";
import { Err, internalError } from "../errors.ts";
import type { Context } from "./context.ts";
import { reject } from "./args.ts";
import { ping, snapshot, stats } from "./admin.ts";
import { WalError } from "../persistence/wal.ts";
import { decr, incr } from "./counters.ts";
import { mget, mset } from "./multi.ts";
import { del, exists, get, set } from "./strings.ts";
import { expire, ttl } from "./ttl.ts";

export type Handler = (p: TextParser, b: Uint8Array, out: Writer, ctx: Context, nowMs: number) => void;

/** Read commands never change the keyspace (apart from lazily removing expired keys). */
export const enum Flag {
  Read = 1,
  Write = 2,
  Admin = 4,
}

export interface Command {
  readonly name: string;
  /** Tokens including the command name. */
  readonly argsMin: number;
  readonly argsMax: number;
  readonly flags: number;
  readonly run: Handler;
  /** Keys the request names, for the slow log. */
  readonly keyCount: (argc: number) => number;
}

const one = () => 1;
const none = () => 0;
const many = (argc: number) => argc - 1;
const pairs = (argc: number) => (argc - 1) >> 1;
const unbounded = Number.MAX_SAFE_INTEGER;

/** Every command Osprey speaks. */
export const commands: readonly Command[] = [
  { name: "PING", argsMin: 1, argsMax: 1, flags: Flag.Read, run: ping, keyCount: none },
  { name: "GET", argsMin: 2, argsMax: 2, flags: Flag.Read, run: get, keyCount: one },
  { name: "SET", argsMin: 3, argsMax: 11, flags: Flag.Write, run: set, keyCount: one },
  { name: "DEL", argsMin: 2, argsMax: 2, flags: Flag.Write, run: del, keyCount: one },
  { name: "EXISTS", argsMin: 2, argsMax: 2, flags: Flag.Read, run: exists, keyCount: one },
  { name: "EXPIRE", argsMin: 3, argsMax: 3, flags: Flag.Write, run: expire, keyCount: one },
  { name: "TTL", argsMin: 2, argsMax: 2, flags: Flag.Read, run: ttl, keyCount: one },
  { name: "INCR", argsMin: 2, argsMax: 3, flags: Flag.Write, run: incr, keyCount: one },
  { name: "DECR", argsMin: 2, argsMax: 3, flags: Flag.Write, run: decr, keyCount: one },
  { name: "MGET", argsMin: 2, argsMax: unbounded, flags: Flag.Read, run: mget, keyCount: many },
  { name: "MSET", argsMin: 3, argsMax: unbounded, flags: Flag.Write, run: mset, keyCount: pairs },
  { name: "STATS", argsMin: 1, argsMax: 1, flags: Flag.Admin, run: stats, keyCount: none },
  { name: "SNAPSHOT", argsMin: 1, argsMax: 1, flags: Flag.Admin, run: snapshot, keyCount: none },
];

const byCode = new Map<number, Command>(commands.map((c) => [nameCodeOf(c.name), c]));

/**
 * Runs one parsed request at `nowMs` (wall clock, read once per batch of requests), writing exactly
 * one reply (or, for MGET, one block per key). `sinceMs` is the monotonic time the previous request
 * finished (or the batch began); the return value is this one's finish time, so timing the slowlog
 * costs one clock read per request, not two. Parsing the request counts towards its time.
 */
export function dispatch(p: TextParser, b: Uint8Array, out: Writer, ctx: Context, nowMs: number, sinceMs: number): number {
  const cmd = byCode.get(p.code);
  if (cmd === undefined) reject(ctx, out, Err.unknownCommand);
  else if (p.argc < cmd.argsMin || p.argc > cmd.argsMax) reject(ctx, out, Err.arity);
  else {
    const mark = out.len;
    try {
      cmd.run(p, b, out, ctx, nowMs);
    } catch (err) {
      commandFailed(cmd.name, err, out, mark, ctx, internalError);
    }
  }
  return commandDone(ctx, sinceMs, cmd, p.argc);
}

/**
 * A command threw: a bug or a resource limit (keyspace full, disk full under the log), never the
 * client's input. Drops its partial reply, logs the cause and answers `reply(cause)`; the
 * connection goes on. Shared by the dispatch of every protocol.
 */
export function commandFailed(name: string, err: unknown, out: Writer, mark: number, ctx: Context, reply: (cause: string) => Uint8Array): void {
  out.len = mark;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof WalError) walRefusal(name, message);
  else log.error(`${name} failed: ${err instanceof Error ? (err.stack ?? message) : message}`);
  reject(ctx, out, reply(message));
}

let walRefusals = 0;
let walRefusalLoggedMs = -Infinity;

/** A full disk refuses every write: log the first and then a count once a second, not a line each. */
function walRefusal(name: string, message: string): void {
  walRefusals++;
  const t = performance.now();
  if (t - walRefusalLoggedMs < 1000) return;
  walRefusalLoggedMs = t;
  log.error(`${walRefusals} write(s) refused (last: ${name}): ${message}`);
  walRefusals = 0;
}

/** Ends a request that began at `sinceMs` (monotonic): slowlog when it took long. Returns the finish time. */
export function commandDone(ctx: Context, sinceMs: number, cmd: { readonly name: string; keyCount(argc: number): number } | undefined, argc: number): number {
  const doneMs = performance.now();
  if (doneMs - sinceMs >= ctx.config.slowlogThresholdMs && cmd !== undefined) {
    ctx.stats.slowCommandsTotal++;
    log.slow(cmd.name, cmd.keyCount(argc), doneMs - sinceMs);
  }
  return doneMs;
}
