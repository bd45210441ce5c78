// The RESP command table (name → handler, Redis arity, flags, docs), its dispatch, COMMAND, and
// the per-connection session that the connection runs requests through once it chose RESP.

import type { Writer } from "../../protocol/writer.ts";
import { RespParser } from "../../protocol/resp.ts";
import { nameCodeOf } from "../../protocol/text.ts";
import { Resp, writeArrayHeader, writeBulkText, writeInteger } from "../../protocol/resp-writer.ts";
import { respError, respInternalError } from "../../errors.ts";
import type { Context } from "../context.ts";
import { reject } from "../args.ts";
import { commandDone, commandFailed } from "../table.ts";
import { bgsave, client, config, dbsize, echo, flushall, hello, info, lastsave, ping, quit, select, type Session } from "./admin.ts";
import { decr, decrby, incr, incrby } from "./counters.ts";
import { del, exists, get, getdel, mget, mset, set, setnx } from "./strings.ts";
import { expire, persist, pexpire, pttl, ttl } from "./ttl.ts";

export type RespHandler = (p: RespParser, b: Uint8Array, out: Writer, ctx: Context, nowMs: number, session: Session) => void;

export interface RespCommand {
  /** Lower-case, as Redis names commands in replies and errors. */
  readonly name: string;
  /** Arguments including the name: Redis's arity (n exact, -n at least n), plus a maximum. */
  readonly arity: number;
  readonly argsMax: number;
  /** Redis's command flags, for COMMAND. */
  readonly flags: readonly string[];
  /** First key, last key (-1: the last argument), step; 0, 0, 0 without keys. */
  readonly keys: readonly [number, number, number];
  readonly group: string;
  readonly summary: string;
  readonly since: string;
  readonly run: RespHandler;
  /** Keys the request names, for the slow log. */
  readonly keyCount: (argc: number) => number;
  /** `-ERR wrong number of arguments for '<name>' command`, encoded once. */
  readonly arityError: Uint8Array;
}

const one = () => 1;
const none = () => 0;
const many = (argc: number) => argc - 1;
const pairs = (argc: number) => (argc - 1) >> 1;
const unbounded = Number.MAX_SAFE_INTEGER;

type Spec = Omit<RespCommand, "arityError" | "argsMax" | "keyCount"> & { argsMax?: number; keyCount?: (argc: number) => number };

function command(spec: Spec): RespCommand {
  const argsMax = spec.argsMax ?? (spec.arity > 0 ? spec.arity : unbounded);
  const keyCount = spec.keyCount ?? (spec.keys[0] === 0 ? none : one);
  return { ...spec, argsMax, keyCount, arityError: respError(`wrong number of arguments for '${spec.name}' command`) };
}

const W = ["write"];
const WD = ["write", "denyoom"];
const RF = ["readonly", "fast"];
const WF = ["write", "denyoom", "fast"];
const key1: [number, number, number] = [1, 1, 1];
const noKeys: [number, number, number] = [0, 0, 0];

/** Every command a RESP connection speaks. */
export const respCommands: readonly RespCommand[] = [
  command({ name: "ping", arity: -1, argsMax: 2, flags: ["fast"], keys: noKeys, group: "connection", summary: "Returns the server's liveliness response.", since: "1.0.0", run: ping }),
  command({ name: "echo", arity: 2, flags: ["fast"], keys: noKeys, group: "connection", summary: "Returns the given string.", since: "1.0.0", run: echo }),
  command({ name: "quit", arity: -1, flags: ["fast"], keys: noKeys, group: "connection", summary: "Closes the connection.", since: "1.0.0", run: quit }),
  command({ name: "select", arity: 2, flags: ["loading", "stale", "fast"], keys: noKeys, group: "connection", summary: "Changes the selected database (only 0 exists).", since: "1.0.0", run: select }),
  command({ name: "hello", arity: -1, flags: ["noscript", "loading", "stale", "fast"], keys: noKeys, group: "connection", summary: "Handshakes with the server (RESP2 only).", since: "6.0.0", run: hello }),
  command({ name: "client", arity: -2, flags: ["noscript", "loading", "stale"], keys: noKeys, group: "connection", summary: "CLIENT SETNAME, GETNAME and ID.", since: "2.4.0", run: client }),
  command({ name: "get", arity: 2, flags: RF, keys: key1, group: "string", summary: "Returns the string value of a key.", since: "1.0.0", run: get }),
  command({ name: "set", arity: -3, flags: WD, keys: key1, group: "string", summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", since: "1.0.0", run: set }),
  command({ name: "setnx", arity: 3, flags: WF, keys: key1, group: "string", summary: "Set the string value of a key only when the key doesn't exist.", since: "1.0.0", run: setnx }),
  command({ name: "getdel", arity: 2, flags: ["write", "fast"], keys: key1, group: "string", summary: "Returns the string value of a key after deleting the key.", since: "6.2.0", run: getdel }),
  command({ name: "mget", arity: -2, flags: RF, keys: [1, -1, 1], group: "string", summary: "Atomically returns the string values of one or more keys.", since: "1.0.0", run: mget, keyCount: many }),
  command({ name: "mset", arity: -3, flags: WD, keys: [1, -1, 2], group: "string", summary: "Atomically creates or modifies the string values of one or more keys.", since: "1.0.1", run: mset, keyCount: pairs }),
  command({ name: "incr", arity: 2, flags: WF, keys: key1, group: "string", summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", since: "1.0.0", run: incr }),
  command({ name: "decr", arity: 2, flags: WF, keys: key1, group: "string", summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", since: "1.0.0", run: decr }),
  command({ name: "incrby", arity: 3, flags: WF, keys: key1, group: "string", summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", since: "1.0.0", run: incrby }),
  command({ name: "decrby", arity: 3, flags: WF, keys: key1, group: "string", summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", since: "1.0.0", run: decrby }),
  command({ name: "del", arity: -2, flags: W, keys: [1, -1, 1], group: "generic", summary: "Deletes one or more keys.", since: "1.0.0", run: del, keyCount: many }),
  command({ name: "exists", arity: -2, flags: RF, keys: [1, -1, 1], group: "generic", summary: "Determines whether one or more keys exist.", since: "1.0.0", run: exists, keyCount: many }),
  command({ name: "expire", arity: -3, flags: ["write", "fast"], keys: key1, group: "generic", summary: "Sets the expiration time of a key in seconds.", since: "1.0.0", run: expire }),
  command({ name: "pexpire", arity: -3, flags: ["write", "fast"], keys: key1, group: "generic", summary: "Sets the expiration time of a key in milliseconds.", since: "2.6.0", run: pexpire }),
  command({ name: "ttl", arity: 2, flags: RF, keys: key1, group: "generic", summary: "Returns the expiration time in seconds of a key.", since: "1.0.0", run: ttl }),
  command({ name: "pttl", arity: 2, flags: RF, keys: key1, group: "generic", summary: "Returns the expiration time in milliseconds of a key.", since: "2.6.0", run: pttl }),
  command({ name: "persist", arity: 2, flags: ["write", "fast"], keys: key1, group: "generic", summary: "Removes the expiration time of a key.", since: "2.2.0", run: persist }),
  command({ name: "dbsize", arity: 1, flags: RF, keys: noKeys, group: "server", summary: "Returns the number of keys in the database.", since: "1.0.0", run: dbsize }),
  command({ name: "bgsave", arity: -1, argsMax: 2, flags: ["admin", "noscript"], keys: noKeys, group: "server", summary: "Starts an Osprey snapshot in the background.", since: "1.0.0", run: bgsave }),
  command({ name: "lastsave", arity: 1, flags: ["loading", "stale", "fast"], keys: noKeys, group: "server", summary: "Returns the Unix time of the last completed snapshot.", since: "1.0.0", run: lastsave }),
  command({ name: "flushall", arity: -1, argsMax: 2, flags: W, keys: noKeys, group: "server", summary: "Removes all keys from all databases.", since: "1.0.0", run: flushall }),
  command({ name: "info", arity: -1, flags: ["loading", "stale"], keys: noKeys, group: "server", summary: "Returns information and statistics about the server.", since: "1.0.0", run: info }),
  command({ name: "config", arity: -2, flags: ["admin", "noscript", "loading", "stale"], keys: noKeys, group: "server", summary: "CONFIG GET: the values of configuration parameters.", since: "2.0.0", run: config }),
  command({ name: "command", arity: -1, flags: ["loading", "stale"], keys: noKeys, group: "server", summary: "Returns detailed information about all commands.", since: "2.8.13", run: commandCommand }),
];

const byCode = new Map<number, RespCommand>(respCommands.map((c) => [nameCodeOf(c.name), c]));
const byName = new Map<string, RespCommand>(respCommands.map((c) => [c.name, c]));

/** Redis's reply to an unknown command: its name and the start of its arguments, quoted. */
function unknownCommand(p: RespParser, b: Uint8Array): Uint8Array {
  const arg = (t: number, max: number) => Buffer.from(b.buffer, b.byteOffset + p.starts[t]!, Math.min(max, p.ends[t]! - p.starts[t]!)).toString("latin1");
  let args = "";
  for (let t = 1; t < p.argc && args.length < 128; t++) args += `'${arg(t, 128 - args.length)}' `;
  return respError(`unknown command '${arg(0, 128)}', with args beginning with: ${args}`);
}

/**
 * Runs one parsed RESP request, writing exactly one reply: the RESP twin of ../table.ts `dispatch`,
 * with the same clock, slowlog and failure handling (a throwing command answers -ERR INTERNAL).
 */
export function respDispatch(session: RespSession, b: Uint8Array, out: Writer, ctx: Context, nowMs: number, sinceMs: number): number {
  const p = session.parser;
  const cmd = byCode.get(p.code);
  if (cmd === undefined) reject(ctx, out, unknownCommand(p, b));
  else if (p.argc < (cmd.arity > 0 ? cmd.arity : -cmd.arity) || p.argc > cmd.argsMax) reject(ctx, out, cmd.arityError);
  else {
    const mark = out.len;
    try {
      cmd.run(p, b, out, ctx, nowMs, session);
    } catch (err) {
      commandFailed(cmd.name, err, out, mark, ctx, respInternalError);
    }
  }
  return commandDone(ctx, sinceMs, cmd, p.argc);
}

let nextClientId = 1;

/** A RESP connection's protocol: its parser, what it remembers, and how it runs a parsed request. */
export class RespSession implements Session {
  readonly parser: RespParser;
  readonly id = nextClientId++;
  name: Buffer | null = null;
  closing = false;

  constructor(ctx: Context) {
    this.parser = new RespParser({ valueBytesMax: ctx.config.valueBytesMax });
  }

  run(b: Uint8Array, out: Writer, ctx: Context, nowMs: number, sinceMs: number): number {
    return respDispatch(this, b, out, ctx, nowMs, sinceMs);
  }
}

function writeCommandInfo(out: Writer, c: RespCommand): void {
  writeArrayHeader(out, 10);
  writeBulkText(out, c.name);
  writeInteger(out, c.arity);
  writeArrayHeader(out, c.flags.length);
  for (const f of c.flags) {
    out.byte(43);
    out.text(f);
    out.crlf();
  }
  for (const k of c.keys) writeInteger(out, k);
  writeArrayHeader(out, 1);
  out.text(`+@${c.group}\r\n`);
  out.bytes(Resp.emptyArray); // tips
  out.bytes(Resp.emptyArray); // key specs
  out.bytes(Resp.emptyArray); // subcommands
}

function writeCommandDocs(out: Writer, c: RespCommand): void {
  writeBulkText(out, c.name);
  writeArrayHeader(out, 6);
  for (const [k, v] of [["summary", c.summary], ["since", c.since], ["group", c.group]] as const) {
    writeBulkText(out, k);
    writeBulkText(out, v);
  }
}

/** COMMAND [COUNT | LIST | INFO name… | DOCS [name…]]: what redis-cli asks for its help and hints. */
function commandCommand(p: RespParser, b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  const arg = (t: number) => Buffer.from(b.buffer, b.byteOffset + p.starts[t]!, p.ends[t]! - p.starts[t]!).toString("latin1");
  const sub = p.argc > 1 ? arg(1).toLowerCase() : "";
  const named = (from: number) => {
    const list: (RespCommand | undefined)[] = [];
    for (let t = from; t < p.argc; t++) list.push(byName.get(arg(t).toLowerCase()));
    return list;
  };
  if (p.argc === 1) {
    writeArrayHeader(out, respCommands.length);
    for (const c of respCommands) writeCommandInfo(out, c);
  } else if (sub === "count" && p.argc === 2) {
    writeInteger(out, respCommands.length);
  } else if (sub === "list" && p.argc === 2) {
    writeArrayHeader(out, respCommands.length);
    for (const c of respCommands) writeBulkText(out, c.name);
  } else if (sub === "info") {
    const list = p.argc === 2 ? respCommands : named(2);
    writeArrayHeader(out, list.length);
    for (const c of list) {
      if (c === undefined) out.bytes(Resp.nil);
      else writeCommandInfo(out, c);
    }
  } else if (sub === "docs") {
    const list = (p.argc === 2 ? respCommands : named(2)).filter((c) => c !== undefined);
    writeArrayHeader(out, list.length * 2);
    for (const c of list) writeCommandDocs(out, c);
  } else {
    reject(ctx, out, respError(`unknown subcommand '${arg(1).slice(0, 128)}'. Try COMMAND HELP.`));
  }
}
