// The connection and server commands of RESP: PING, ECHO, QUIT, SELECT, HELLO, CLIENT, DBSIZE,
// FLUSHALL, INFO and CONFIG GET — what redis-cli, redis-benchmark and client libraries ask for.

import { arch, hostname, platform } from "node:os";
import type { RespParser } from "../../protocol/resp.ts";
import { nameCode, nameCodeOf } from "../../protocol/text.ts";
import type { Writer } from "../../protocol/writer.ts";
import { Resp, writeArrayHeader, writeBulk, writeBulkText, writeInteger } from "../../protocol/resp-writer.ts";
import { RespErr, respError } from "../../errors.ts";
import type { Context } from "../context.ts";
import { parseI64, reject } from "../args.ts";
import { statsLines } from "../admin.ts";

/** What a RESP connection remembers between its commands. */
export interface Session {
  /** Unique per connection, as Redis's client id. */
  readonly id: number;
  /** Set by CLIENT SETNAME or HELLO SETNAME; null when unnamed. */
  name: Buffer | null;
  /** Set by QUIT: the connection closes once this reply is sent. */
  closing: boolean;
}

/** The Redis version whose RESP2 behaviour Osprey follows; clients check it for features. */
export const redisVersion = "7.0.0";

export function ping(p: RespParser, b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  if (p.argc === 1) out.bytes(Resp.pong);
  else writeBulk(out, b, p.starts[1]!, p.ends[1]!);
}

export function echo(p: RespParser, b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  writeBulk(out, b, p.starts[1]!, p.ends[1]!);
}

export function quit(_p: RespParser, _b: Uint8Array, out: Writer, ctx: Context, _now: number, session: Session): void {
  ctx.stats.cmdOther++;
  session.closing = true;
  out.bytes(Resp.ok);
}

/** SELECT 0 → OK: Osprey has one keyspace, database 0. */
export function select(p: RespParser, b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  const index = parseI64(b, p.starts[1]!, p.ends[1]!);
  if (index === null || typeof index === "bigint" || index > 2 ** 31 - 1 || index < -(2 ** 31)) return void reject(ctx, out, RespErr.notAnInteger);
  if (index !== 0) return void reject(ctx, out, RespErr.dbIndex);
  out.bytes(Resp.ok);
}

export function dbsize(_p: RespParser, _b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  writeInteger(out, ctx.store.size);
}

const BGSAVE_STARTED = Buffer.from("+Background saving started\r\n");

/** BGSAVE [SCHEDULE]: starts an Osprey snapshot (the RDB's counterpart) in the background. */
export function bgsave(p: RespParser, b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  if (p.argc === 2 && nameCode(b, p.starts[1]!, p.ends[1]!) !== nameCodeOf("SCHEDULE")) return void reject(ctx, out, RespErr.syntax);
  const snapshots = ctx.persistence?.snapshots;
  if (snapshots === undefined) return void reject(ctx, out, respError("this server keeps no data on disk"));
  if (snapshots.running) return void reject(ctx, out, respError("Background save already in progress"));
  const why = snapshots.start("BGSAVE");
  if (why === null) out.bytes(BGSAVE_STARTED);
  else reject(ctx, out, respError(why));
}

/** LASTSAVE: Unix time (s) of the last completed snapshot, or of the start when there was none. */
export function lastsave(_p: RespParser, _b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  const ms = ctx.persistence?.snapshots.lastSnapshotMs || ctx.startedMs;
  writeInteger(out, Math.floor(ms / 1000));
}

const SYNC = nameCodeOf("SYNC");
const ASYNC = nameCodeOf("ASYNC");

/** FLUSHALL [SYNC|ASYNC] → OK. Both empty the keyspace at once, logged as one record. */
export function flushall(p: RespParser, b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  if (p.argc === 2) {
    const code = nameCode(b, p.starts[1]!, p.ends[1]!);
    if (code !== SYNC && code !== ASYNC) return void reject(ctx, out, RespErr.syntax);
  }
  ctx.store.clear();
  out.bytes(Resp.ok);
}

function text(b: Uint8Array, p: RespParser, t: number): string {
  return Buffer.from(b.buffer, b.byteOffset + p.starts[t]!, p.ends[t]! - p.starts[t]!).toString("latin1");
}

/** Redis 7's error for a subcommand it does not know. */
function unknownSubcommand(ctx: Context, out: Writer, p: RespParser, b: Uint8Array): void {
  reject(ctx, out, respError(`unknown subcommand '${text(b, p, 1).slice(0, 128)}'. Try ${text(b, p, 0).toUpperCase()} HELP.`));
}

function subcommandArity(ctx: Context, out: Writer, p: RespParser, b: Uint8Array): void {
  reject(ctx, out, respError(`wrong number of arguments for '${text(b, p, 0).toLowerCase()}|${text(b, p, 1).toLowerCase()}' command`));
}

/** Sets a client name as Redis does: empty clears it; bytes outside '!'..'~' are refused. */
function setName(ctx: Context, out: Writer, session: Session, b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i]! < 33 || b[i]! > 126) return reject(ctx, out, RespErr.clientName);
  session.name = e === s ? null : Buffer.from(b.subarray(s, e));
  return true;
}

const SETNAME = nameCodeOf("SETNAME");
const GETNAME = nameCodeOf("GETNAME");
const ID = nameCodeOf("ID");

/** CLIENT SETNAME name | GETNAME | ID. */
export function client(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, _now: number, session: Session): void {
  ctx.stats.cmdOther++;
  const sub = nameCode(b, p.starts[1]!, p.ends[1]!);
  if (sub === SETNAME) {
    if (p.argc !== 3) return subcommandArity(ctx, out, p, b);
    if (setName(ctx, out, session, b, p.starts[2]!, p.ends[2]!)) out.bytes(Resp.ok);
  } else if (sub === GETNAME || sub === ID) {
    if (p.argc !== 2) return subcommandArity(ctx, out, p, b);
    if (sub === ID) writeInteger(out, session.id);
    else if (session.name === null) out.bytes(Resp.nil);
    else writeBulk(out, session.name, 0, session.name.length);
  } else {
    unknownSubcommand(ctx, out, p, b);
  }
}

const AUTH = nameCodeOf("AUTH");

/**
 * HELLO [2 [AUTH user pass] [SETNAME name]] → the server's description. Only RESP2 is spoken:
 * HELLO 3 answers -NOPROTO, so clients fall back to RESP2 as they do with an old Redis.
 */
export function hello(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, _now: number, session: Session): void {
  ctx.stats.cmdOther++;
  let t = 1;
  if (p.argc >= 2) {
    const version = parseI64(b, p.starts[1]!, p.ends[1]!);
    if (version === null) return void reject(ctx, out, RespErr.helloVersion);
    if (version !== 2) return void reject(ctx, out, RespErr.noProto);
    t = 2;
  }
  let nameArg = -1;
  for (; t < p.argc; t++) {
    const code = nameCode(b, p.starts[t]!, p.ends[t]!);
    const more = p.argc - 1 - t;
    if (code === AUTH && more >= 2) {
      // Osprey has no users yet; like Redis's default user without a password, `default` gets in.
      if (text(b, p, t + 1) !== "default") return void reject(ctx, out, RespErr.wrongPass);
      t += 2;
    } else if (code === SETNAME && more >= 1) {
      nameArg = ++t;
    } else {
      return void reject(ctx, out, respError(`Syntax error in HELLO option '${text(b, p, t)}'`));
    }
  }
  if (nameArg >= 0 && !setName(ctx, out, session, b, p.starts[nameArg]!, p.ends[nameArg]!)) return;
  writeArrayHeader(out, 14);
  for (const [k, v] of [["server", "redis"], ["version", redisVersion]]) {
    writeBulkText(out, k!);
    writeBulkText(out, v!);
  }
  writeBulkText(out, "proto");
  writeInteger(out, 2);
  writeBulkText(out, "id");
  writeInteger(out, session.id);
  for (const [k, v] of [["mode", "standalone"], ["role", "master"]]) {
    writeBulkText(out, k!);
    writeBulkText(out, v!);
  }
  writeBulkText(out, "modules");
  out.bytes(Resp.emptyArray);
}

/** The parameters CONFIG GET knows, as Redis names them, from the running configuration. */
function configParams(ctx: Context): [string, string][] {
  const c = ctx.config;
  const fsync = c.syncPolicy === "always" ? "always" : c.syncPolicy === "batch" ? "everysec" : "no";
  return [
    ["bind", c.listenHost],
    ["maxclients", String(c.clientsMax)],
    ["proto-max-bulk-len", String(c.valueBytesMax)],
    ["databases", "1"],
    ["save", ""],
    // Every write goes through the write-ahead log: Redis's closest setting is an always-on AOF.
    ["appendonly", "yes"],
    ["appendfsync", fsync],
    ["dir", c.dataDir],
    ["maxmemory", "0"],
    ["maxmemory-policy", "noeviction"],
    ["timeout", "0"],
    ["slowlog-log-slower-than", String(c.slowlogThresholdMs * 1000)],
  ];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** A Redis glob (`*`, `?`, `[…]`, `\x`) as a case-insensitive RegExp, as CONFIG GET matches names. */
function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 1);
      if (close < 0) re += "\\[";
      else {
        let set = glob.slice(i + 1, close).replace(/\\/g, "\\\\");
        if (set.startsWith("^")) set = `^${set.slice(1)}`;
        re += `[${set}]`;
        i = close;
      }
    } else if (c === "\\" && i + 1 < glob.length) re += escapeRegExp(glob[++i]!);
    else re += escapeRegExp(c);
  }
  return new RegExp(`^${re}$`, "is");
}

const GET = nameCodeOf("GET");

/** CONFIG GET pattern [pattern …] → name, value pairs of the matching parameters. */
export function config(p: RespParser, b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  if (nameCode(b, p.starts[1]!, p.ends[1]!) !== GET) return unknownSubcommand(ctx, out, p, b);
  if (p.argc < 3) return subcommandArity(ctx, out, p, b);
  const params = configParams(ctx);
  const matched = new Set<number>();
  for (let t = 2; t < p.argc; t++) {
    let re: RegExp;
    try {
      re = globToRegExp(text(b, p, t));
    } catch {
      continue; // a pattern we cannot translate matches nothing
    }
    params.forEach(([name], i) => {
      if (re.test(name)) matched.add(i);
    });
  }
  writeArrayHeader(out, matched.size * 2);
  for (const i of [...matched].sort((x, y) => x - y)) {
    writeBulkText(out, params[i]![0]);
    writeBulkText(out, params[i]![1]);
  }
}

/** The INFO sections, in Redis's order; each is `# Title` and `field:value` lines. */
function infoSections(ctx: Context, now: number): Map<string, [string, string | number][]> {
  const osprey = Object.fromEntries(statsLines(ctx, now)) as Record<string, string | number>;
  const unquote = (v: string | number) => (typeof v === "string" ? v.replace(/^"(.*)"$/, "$1") : v);
  const s = ctx.stats;
  const uptimeS = Math.floor((now - ctx.startedMs) / 1000);
  const commands = s.cmdGet + s.cmdSet + s.cmdDel + s.cmdIncr + s.cmdMget + s.cmdMset + s.cmdExpire + s.cmdTtl + s.cmdExists + s.cmdOther;
  const rss = Number(osprey.mem_rss_bytes);
  const sections = new Map<string, [string, string | number][]>([
    ["Server", [
      ["redis_version", redisVersion],
      ["redis_mode", "standalone"],
      ["server_name", "osprey"],
      ["os", `${platform()} ${arch()}`],
      ["arch_bits", 64],
      ["multiplexing_api", "bun"],
      ["bun_version", process.versions.bun ?? ""],
      ["process_id", process.pid],
      ["hostname", hostname()],
      ["uptime_in_seconds", uptimeS],
      ["uptime_in_days", Math.floor(uptimeS / 86400)],
    ]],
    ["Clients", [
      ["connected_clients", ctx.clients],
      ["maxclients", ctx.config.clientsMax],
      ["blocked_clients", 0],
    ]],
    ["Memory", [
      ["used_memory", rss],
      ["used_memory_human", `${(rss / 1048576).toFixed(2)}M`],
      ["used_memory_rss", rss],
      ["used_memory_dataset", osprey.data_bytes!],
      ["mem_heap_bytes", osprey.mem_heap_bytes!],
      ["maxmemory", 0],
      ["maxmemory_policy", "noeviction"],
    ]],
    ["Persistence", [
      ["loading", 0],
      ["async_loading", 0],
      // Every durability field of STATS (WAL, snapshots, recovery), as STATS names them.
      ...Object.entries(osprey)
        .filter(([k]) => /^(wal_|snapshot|last_snapshot|recovery_|sync_policy|native)/.test(k))
        .map(([k, v]): [string, string | number] => [k, unquote(v)]),
    ]],
    ["Stats", [
      ["total_connections_received", s.connectionsTotal],
      ["total_commands_processed", commands],
      ["rejected_connections", s.rejectedClientsTotal],
      ["expired_keys", ctx.store.expiredTotal],
      ["evicted_keys", 0],
      ["total_error_replies", s.errorsTotal],
      ["slow_commands_total", s.slowCommandsTotal],
      ...(Object.entries(osprey).filter(([k]) => k.startsWith("cmd_")) as [string, string | number][]),
    ]],
    ["Keyspace", ctx.store.size > 0 ? [["db0", `keys=${ctx.store.size},expires=${ctx.store.keysWithExpiry},avg_ttl=0`]] : []],
  ]);
  return sections;
}

/** INFO [section …] → a bulk string of sections; none, `default`, `all` or `everything` mean all. */
export function info(p: RespParser, b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdOther++;
  const sections = infoSections(ctx, now);
  const wanted = new Set<string>();
  for (let t = 1; t < p.argc; t++) wanted.add(text(b, p, t).toLowerCase());
  const all = wanted.size === 0 || wanted.has("default") || wanted.has("all") || wanted.has("everything");
  const parts: string[] = [];
  for (const [title, fields] of sections) {
    if (!all && !wanted.has(title.toLowerCase())) continue;
    parts.push(`# ${title}\r\n${fields.map(([k, v]) => `${k}:${v}\r\n`).join("")}`);
  }
  writeBulkText(out, parts.join("\r\n"));
}
