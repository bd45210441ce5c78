// Server commands: PING, ECHO, DBSIZE, FLUSHALL, STATS, INFO, SNAPSHOT, BACKUP, BGSAVE, LASTSAVE,
// SHUTDOWN and CONFIG GET / SET / RESETSTAT / REWRITE. STATS and INFO render the one Metrics
// object, each in its protocol's format.

import { arch, hostname, platform } from "node:os";
import { commit, version } from "../version.ts";
import { collectMetrics, durabilityFields, type CommandMetrics, type Field, type Metrics } from "../metrics.ts";
import type { CommandLatency } from "../histogram.ts";
import { nameCode, nameCodeOf } from "../protocol/text.ts";
import { Err } from "../errors.ts";
import { globMatchText } from "../glob.ts";
import { RespErr, respError } from "../errors.ts";
import type { Context } from "./context.ts";
import { perServer, statNames } from "./context.ts";
import { evictionPolicies } from "../engine/eviction.ts";
import { evictBudgetMs } from "../constants.ts";
import type { Session } from "./session.ts";
import { notifyFlagsOf, notifyFlagsText } from "../engine/notify.ts";
import { pubsubOf, setKeyspaceEvents } from "../pubsub.ts";
import { slowlogOf } from "./slowlog.ts";
import { slowlogLenMax } from "../constants.ts";
import type { Config } from "../config.types.ts";
import { RewriteError, rewriteConfigFile, slowlogThreshold, slowlogThresholdSetting } from "../config.ts";
import { errorText } from "../persistence/files.ts";
import { log } from "../log.ts";
import { latencyThresholdMs, setLatencyThresholdMs } from "./latency.ts";

/** The Redis version whose RESP behaviour Osprey follows; clients check it for features. */
export const redisVersion = "7.0.15";

/** PING [message] → PONG, or the message (RESP). */
export function ping(s: Session): void {
  // In RESP2 subscribed mode Redis answers PING with an array: ["pong", message or ""].
  if (s.subscribed && s.reply.version === 2) return pingSubscribed(s);
  if (s.p.argc === 1) s.reply.pong();
  else s.reply.bulk(s.b, s.p.starts[1]!, s.p.ends[1]!);
}

function pingSubscribed(s: Session): void {
  s.reply.arrayHeader(2);
  s.reply.bulkText("pong");
  if (s.p.argc === 1) s.reply.bulkText("");
  else s.reply.bulk(s.b, s.p.starts[1]!, s.p.ends[1]!);
}

export function echo(s: Session): void {
  s.reply.bulk(s.b, s.p.starts[1]!, s.p.ends[1]!);
}

export function dbsize(s: Session, ctx: Context): void {
  s.reply.integer(ctx.store.size);
}

const SYNC = nameCodeOf("SYNC");
const ASYNC = nameCodeOf("ASYNC");

/** FLUSHALL / FLUSHDB [SYNC|ASYNC] → OK. Both empty the keyspace at once, logged as one record. */
export function flushall(s: Session, ctx: Context): void {
  if (s.p.argc > 2) return s.reply.error(RespErr.syntax);
  if (s.p.argc === 2) {
    const code = nameCode(s.b, s.p.starts[1]!, s.p.ends[1]!);
    if (code !== SYNC && code !== ASYNC) return s.reply.error(RespErr.syntax);
  }
  ctx.store.clear();
  s.reply.ok();
}

/** SNAPSHOT (text protocol): starts one in the background → `OK snapshot started`; STATS shows when it is done. */
export function snapshot(s: Session, ctx: Context): void {
  const p = ctx.persistence;
  const why = p === null ? "this server keeps no data on disk" : p.snapshots.start("SNAPSHOT command");
  if (why === null) s.reply.status("OK snapshot started");
  else s.reply.error(Buffer.from(`ERR BUSY ${why}\r\n`, "latin1"));
}

/** The longest BACKUP destination accepted (Linux's PATH_MAX), checked before it is decoded. */
const backupPathBytesMax = 4096;

/**
 * BACKUP <dir> (text protocol): starts an online backup of data_dir into the absolute path <dir>
 * (new or empty) → `OK backup started`; STATS shows when it is done (persistence/backup.ts).
 */
export function backup(s: Session, ctx: Context): void {
  const backups = ctx.persistence?.backups;
  if (backups === undefined) return s.reply.error(Buffer.from("ERR BADREQ this server keeps no data on disk\r\n", "latin1"));
  const start = s.p.starts[1]!;
  const end = s.p.ends[1]!;
  if (end - start > backupPathBytesMax) return s.reply.error(Buffer.from(`ERR BADREQ the destination is longer than ${backupPathBytesMax} bytes\r\n`, "latin1"));
  let dest: string;
  try {
    dest = utf8Strict.decode(s.b.subarray(start, end));
  } catch {
    return s.reply.error(Buffer.from("ERR BADREQ the destination is not valid UTF-8\r\n", "latin1"));
  }
  const refused = backups.start(dest);
  if (refused === null) return s.reply.status("OK backup started");
  const code = refused.kind === "busy" ? "BUSY" : refused.kind === "dest" ? "BADREQ" : "INTERNAL";
  // Reply lines are ASCII: any other character of a path the reason names becomes "?".
  s.reply.error(Buffer.from(`ERR ${code} ${refused.why.replace(/[^\x20-\x7e]/g, "?")}\r\n`, "latin1"));
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const BGSAVE_STARTED = "Background saving started";

/** BGSAVE [SCHEDULE] (RESP): starts an Osprey snapshot (the RDB's counterpart) in the background. */
export function bgsave(s: Session, ctx: Context): void {
  if (s.p.argc === 2 && nameCode(s.b, s.p.starts[1]!, s.p.ends[1]!) !== nameCodeOf("SCHEDULE")) return s.reply.error(RespErr.syntax);
  const snapshots = ctx.persistence?.snapshots;
  if (snapshots === undefined) return s.reply.error(respError("this server keeps no data on disk"));
  if (snapshots.running) return s.reply.error(respError("Background save already in progress"));
  const why = snapshots.start("BGSAVE");
  if (why === null) s.reply.status(BGSAVE_STARTED);
  else s.reply.error(respError(why));
}

/** LASTSAVE: Unix time (s) of the last completed snapshot, or of the start when there was none. */
export function lastsave(s: Session, ctx: Context): void {
  const ms = ctx.persistence?.snapshots.lastSnapshotMs || ctx.startedMs;
  s.reply.integer(Math.floor(ms / 1000));
}

/** `cmd_<name>` per command counter, as both STATS and INFO's Stats section list them. */
function commandFields(m: Metrics): Field[] {
  return statNames.map((name, i): Field => [`cmd_${name}`, m.commands[i]!]);
}

/** The memory limit's fields under their STATS names (INFO's Memory section shows them too). */
function memoryFields(m: Metrics): Field[] {
  return [
    ["used_memory", m.usedMemory],
    ["max_memory", m.maxMemory],
    ["eviction_policy", m.evictionPolicy, true],
    ["evicted_bytes_total", m.evictedBytesTotal],
    ["oom_rejections_total", m.oomRejectionsTotal],
  ];
}

/** Authentication and client-timeout fields, under their STATS names (INFO's Stats section shows them too). */
function authFields(m: Metrics): Field[] {
  return [
    ["unauthenticated_clients", m.unauthenticatedClients],
    ["rejected_unauthenticated_total", m.rejectedUnauthenticatedTotal],
    ["auth_failures_total", m.authFailuresTotal],
    ["auth_timeouts_total", m.authTimeoutsTotal],
    ["idle_timeouts_total", m.idleTimeoutsTotal],
  ];
}

/** The STATS report, in its documented order. */
function statsFields(m: Metrics, ctx: Context): Field[] {
  const pubsub = pubsubOf(ctx);
  return [
    ["uptime_ms", m.uptimeMs],
    ["clients", m.clients],
    ["max_clients", m.maxClients],
    ["keys", m.keys],
    ["expired_total", m.expiredTotal],
    ["evicted_total", m.evictedTotal],
    ...memoryFields(m),
    ...commandFields(m),
    ["errors_total", m.errorsTotal],
    ["connections_total", m.connectionsTotal],
    ["rejected_clients_total", m.rejectedClientsTotal],
    ...authFields(m),
    ["client_input_bytes", m.clientInputBytes],
    ["input_limit_disconnects_total", m.inputLimitDisconnectsTotal],
    ["client_output_bytes", m.clientOutputBytes],
    ["output_limit_disconnects_total", m.outputLimitDisconnectsTotal],
    ["slow_commands_total", m.slowCommandsTotal],
    ["keyspace_hits", m.keyspaceHits],
    ["keyspace_misses", m.keyspaceMisses],
    ["ops_per_sec", m.opsPerSec],
    ["pubsub_channels", pubsub.channelCount],
    ["pubsub_patterns", pubsub.patternCount],
    ["pubsub_messages_total", pubsub.messagesDelivered],
    ...durabilityFields(m),
    ["sync_policy", m.syncPolicy, true],
    ["data_bytes", m.dataBytes],
    ["mem_rss_bytes", m.memRssBytes],
    ["mem_heap_bytes", m.memHeapBytes],
    ["version", version, true],
    // Empty when unknown (an npm install without git); `osprey --version` says the same.
    ["commit", commit() ?? "", true],
  ];
}

/** STATS (text protocol): `name=value` lines (text values quoted), then END. */
export function stats(s: Session, ctx: Context): void {
  if (!ctx.config.metricsEnable) return s.reply.error(Err.metricsDisabled);
  for (const [name, value, text] of statsFields(collectMetrics(ctx, s.nowMs), ctx)) {
    s.reply.status(text === true ? `${name}="${String(value).replace(/"/g, "'")}"` : `${name}=${value}`);
  }
  s.reply.status("END");
}

/** The INFO sections, in Redis's order; each is `# Title` and `field:value` lines. */
function infoSections(m: Metrics, ctx: Context): [string, Field[]][] {
  const uptimeS = Math.floor(m.uptimeMs / 1000);
  return [
    ["Server", [
      ["redis_version", redisVersion],
      ["osprey_version", version],
      ["osprey_commit", commit() ?? ""],
      ["redis_mode", "standalone"],
      ["server_name", "osprey"],
      ["os", `${platform()} ${arch()}`],
      ["arch_bits", 64],
      ["multiplexing_api", "bun"],
      ["bun_version", process.versions.bun ?? ""],
      ["process_id", process.pid],
      ["tcp_port", serverFacts.get(ctx)?.tcpPort ?? ctx.config.listenPort],
      ["hostname", hostname()],
      ["uptime_in_seconds", uptimeS],
      ["uptime_in_days", Math.floor(uptimeS / 86400)],
    ]],
    ["Clients", [
      ["connected_clients", m.clients],
      ["maxclients", m.maxClients],
      ["blocked_clients", ctx.pause.waiting],
    ]],
    ["Memory", [
      // used_memory is the keyspace as max_memory_bytes counts it, what maxmemory is compared with (as in Redis).
      ["used_memory", m.usedMemory],
      ["used_memory_human", `${(m.usedMemory / 1048576).toFixed(2)}M`],
      ["used_memory_rss", m.memRssBytes],
      ["used_memory_dataset", m.dataBytes],
      ["mem_heap_bytes", m.memHeapBytes],
      ["maxmemory", m.maxMemory],
      ["maxmemory_policy", m.evictionPolicy],
      ["max_memory", m.maxMemory],
      ["eviction_policy", m.evictionPolicy],
      ["evicted_total", m.evictedTotal],
      ["evicted_bytes_total", m.evictedBytesTotal],
      ["oom_rejections_total", m.oomRejectionsTotal],
    ]],
    ["Persistence", [
      ["loading", 0],
      ["async_loading", 0],
      // Redis's names where an Osprey number means the same: a snapshot is Osprey's RDB, the WAL its always-on AOF.
      ...redisPersistenceFields(m, ctx),
      // Every durability field of STATS (WAL, snapshots, recovery), as STATS names them.
      ...durabilityFields(m),
      ["sync_policy", m.syncPolicy],
    ]],
    ["Stats", [
      ["total_connections_received", m.connectionsTotal],
      ["total_commands_processed", m.commandsTotal],
      ["instantaneous_ops_per_sec", m.opsPerSec],
      ["rejected_connections", m.rejectedClientsTotal],
      // Redis's name for failed AUTH attempts, then Osprey's authentication fields as STATS names them.
      ["acl_access_denied_auth", m.authFailuresTotal],
      ...authFields(m),
      ["expired_keys", m.expiredTotal],
      ["evicted_keys", m.evictedTotal],
      ["keyspace_hits", m.keyspaceHits],
      ["keyspace_misses", m.keyspaceMisses],
      ["total_error_replies", m.errorsTotal],
      ["slow_commands_total", m.slowCommandsTotal],
      ...commandFields(m),
      ["pubsub_channels", pubsubOf(ctx).channelCount],
      ["pubsub_patterns", pubsubOf(ctx).patternCount],
    ]],
    ["Replication", [
      ["role", "master"],
      ["connected_slaves", 0],
      ["master_repl_offset", 0],
    ]],
    ["CPU", [
      ["used_cpu_sys", m.cpuSystemS.toFixed(6)],
      ["used_cpu_user", m.cpuUserS.toFixed(6)],
      // The snapshot child's CPU is not collected (Bun has no getrusage(RUSAGE_CHILDREN)): 0, as Redis shows before its first fork.
      ["used_cpu_sys_children", "0.000000"],
      ["used_cpu_user_children", "0.000000"],
    ]],
    ["Modules", []],
    ["Commandstats", m.perCommand.filter((c) => c.calls + c.failed + c.rejected > 0).map(commandstat)],
    ["Errorstats", m.errorKinds.map(([kind, count]): Field => [`errorstat_${kind}`, `count=${count}`])],
    ["Latencystats", m.perCommand.flatMap((c) => (c.latency === null ? [] : [latencystat(c.name, c.latency, latencyPercentilesOf(ctx))]))],
    ["Cluster", [["cluster_enabled", 0]]],
    ["Keyspace", m.keys > 0 ? [["db0", `keys=${m.keys},expires=${m.keysWithExpiry},avg_ttl=0`]] : []],
  ];
}

/** INFO persistence's rdb_* and aof_* fields that Osprey's snapshots and WAL answer honestly. */
function redisPersistenceFields(m: Metrics, ctx: Context): Field[] {
  const d = m.durability;
  const lastSaveMs = d === null || d.lastSnapshotMs === 0 ? ctx.startedMs : d.lastSnapshotMs;
  return [
    ["rdb_bgsave_in_progress", d?.snapshotInProgress === true ? 1 : 0],
    ["rdb_last_save_time", Math.floor(lastSaveMs / 1000)],
    ["rdb_last_bgsave_time_sec", d === null || d.snapshotsTotal === 0 ? -1 : Math.round(d.lastSnapshotDurationMs / 1000)],
    ["rdb_saves", d?.snapshotsTotal ?? 0],
    ["aof_enabled", d === null ? 0 : 1],
    ["aof_last_write_status", d !== null && (d.walFailure !== null || d.walRefusal !== null) ? "err" : "ok"],
  ];
}

/**
 * Redis's commandstats line. `usec` is estimated from the sampled latency (commands/timing.ts): the
 * sampled mean times the calls; 0 until the command's first sample.
 */
function commandstat(c: CommandMetrics): Field {
  const perCall = c.latency === null || c.latency.samples === 0 ? 0 : c.latency.sumUs / c.latency.samples;
  return [`cmdstat_${c.name}`, `calls=${c.calls},usec=${Math.round(perCall * c.calls)},usec_per_call=${perCall.toFixed(2)},rejected_calls=${c.rejected},failed_calls=${c.failed}`];
}

/** Redis's latencystats line: the configured percentiles of the sampled latency, in microseconds. */
function latencystat(name: string, latency: CommandLatency, percentiles: readonly number[]): Field {
  return [`latency_percentiles_usec_${name}`, percentiles.map((p) => `p${percentileName(p)}=${latency.percentileUs(p).toFixed(3)}`).join(",")];
}

/** A percentile as Redis names it in latencystats and CONFIG GET: 50, 99.9 (%g). */
function percentileName(p: number): string {
  return String(Number(p.toPrecision(6)));
}

/** Sections `INFO` and `INFO default` show: all but commandstats and latencystats, as in Redis. */
const defaultSections = new Set(["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"]);

/** INFO [section …] → a bulk string of the sections asked for (any case); `all` and `everything` are every section. */
export function info(s: Session, ctx: Context): void {
  const wanted = new Set<string>();
  for (let t = 1; t < s.p.argc; t++) wanted.add(s.text(t).toLowerCase());
  const all = wanted.has("all") || wanted.has("everything");
  const defaults = wanted.size === 0 || wanted.has("default");
  const parts: string[] = [];
  for (const [title, fields] of infoSections(collectMetrics(ctx, s.nowMs), ctx)) {
    const name = title.toLowerCase();
    if (!all && !(defaults && defaultSections.has(name)) && !wanted.has(name) && !(name === "modules" && wanted.has("module_list"))) continue;
    parts.push(`# ${title}\r\n${fields.map(([k, v]) => `${k}:${v}\r\n`).join("")}`);
  }
  s.reply.verbatimText(parts.join("\r\n"));
}

const shutdownWords = new Set(["NOSAVE", "SAVE", "NOW", "FORCE", "ABORT"]);
const shutdownFailed = respError("Errors trying to SHUTDOWN. Check logs.");

/**
 * SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]: a clean stop, as SIGTERM (clients closed after what is
 * queued for them, every logged write synced). SAVE and NOSAVE stop alike: the WAL already holds
 * every write. On success nothing is answered, as in Redis: the connection closes.
 */
export function shutdown(s: Session, ctx: Context): void {
  const words = new Set<string>();
  for (let t = 1; t < s.p.argc; t++) {
    const w = s.word(t);
    if (!shutdownWords.has(w)) return s.reply.error(RespErr.syntax);
    words.add(w);
  }
  if (words.has("SAVE") && words.has("NOSAVE")) return s.reply.error(RespErr.syntax);
  if (words.has("ABORT")) return s.reply.error(words.size === 1 ? respError("No shutdown in progress.") : RespErr.syntax);
  const stop = ctx.shutdown;
  if (stop === null) return s.reply.error(shutdownFailed);
  s.closing = true;
  // After this turn: the server's stop closes every connection, this one included.
  setImmediate(() => stop("SHUTDOWN"));
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
    ["maxmemory", String(ctx.store.maxMemory)],
    ["maxmemory-policy", ctx.store.evictionPolicy],
    ["timeout", String(c.timeoutSeconds)],
    ["slowlog-log-slower-than", String(slowlogMicros(slowlogThresholdSetting(c.slowlogThresholdMs)))],
    ["notify-keyspace-events", notifyFlagsText(ctx.notifyFlags)],
    ["slowlog-max-len", String(slowlogOf(ctx).maxLen)],
    // Per-command latency is always tracked, by sampling (commands/timing.ts).
    ["latency-tracking", "yes"],
    ["latency-tracking-info-percentiles", latencyPercentilesOf(ctx).map(percentileName).join(" ")],
    ["latency-monitor-threshold", String(latencyThresholdMs)],
  ];
}

/** A parameter CONFIG SET may change while running: why a value is refused (Redis's words; null: valid), and how it applies. */
interface Setter {
  check(value: string, ctx: Context): string | null;
  apply(ctx: Context, value: string): void;
  /**
   * Its osprey.toml key, when it has one, and the value CONFIG REWRITE writes there once it was
   * set (`value` is what CONFIG SET was given, after `apply`).
   */
  readonly file?: { readonly key: string; toml(ctx: Context, value: string): string | number };
}

/** What CONFIG SET may change, by Redis's name. */
const configSetters: ReadonlyMap<string, Setter> = new Map([
  [
    // The memory limit (Redis's units: 100mb, 1gb, …); lowering it evicts down to it now.
    "maxmemory",
    {
      check: (value: string) => (parseMemory(value) < 0 ? "argument must be a memory value" : null),
      apply: (ctx: Context, value: string) => {
        ctx.store.setMemoryLimit(parseMemory(value), ctx.store.evictionPolicy);
        ctx.store.evictIfOver(performance.now() + evictBudgetMs);
      },
      file: { key: "max_memory_bytes", toml: (ctx: Context) => ctx.store.maxMemory },
    },
  ],
  [
    "maxmemory-policy",
    {
      check: (value: string) =>
        evictionPolicies.some((c) => c === value.toLowerCase()) ? null : `argument(s) must be one of the following: ${evictionPolicies.join(", ")}`,
      apply: (ctx: Context, value: string) => {
        ctx.store.setMemoryLimit(ctx.store.maxMemory, evictionPolicies.find((c) => c === value.toLowerCase())!);
        ctx.store.evictIfOver(performance.now() + evictBudgetMs);
      },
      file: { key: "eviction_policy", toml: (ctx: Context) => ctx.store.evictionPolicy },
    },
  ],
  [
    // Up to what the server started with: max_clients, already lowered to what the descriptor
    // limit leaves (net/descriptors.ts), so a higher value could not be served.
    "maxclients",
    {
      check: (value: string, ctx: Context) => {
        const max = clientsMaxAtStart(ctx);
        const n = wholeNumber(value, max);
        return n === null || n < 1 ? `argument must be between 1 and ${max} inclusive` : null;
      },
      apply: (ctx: Context, value: string) => {
        (ctx as { config: Config }).config = Object.freeze({ ...ctx.config, clientsMax: Number(value) });
      },
      file: { key: "max_clients", toml: (ctx: Context) => ctx.config.clientsMax },
    },
  ],
  [
    // Seconds of idleness before a client is closed (0: never), as Redis's; the sweep reads it each second.
    "timeout",
    {
      check: (value: string) => {
        if (!/^-?\d{1,20}$/.test(value)) return "argument couldn't be parsed into an integer";
        return wholeNumber(value, timerMsMax) === null ? `argument must be between 0 and ${timerMsMax} inclusive` : null;
      },
      apply: (ctx: Context, value: string) => {
        (ctx as { config: Config }).config = Object.freeze({ ...ctx.config, timeoutSeconds: wholeNumber(value, timerMsMax)! });
      },
      file: { key: "timeout", toml: (ctx: Context) => ctx.config.timeoutSeconds },
    },
  ],
  [
    "notify-keyspace-events",
    {
      check: (value: string) => (notifyFlagsOf(value) === null ? "Invalid event class character. Use 'Ag$lshzxeKEtmdn'." : null),
      apply: (ctx: Context, value: string) => setKeyspaceEvents(ctx, notifyFlagsOf(value)!),
      // As given: CONFIG GET's spelling drops an `n` after `A`, which the flags keep.
      file: { key: "notify_keyspace_events", toml: (_ctx: Context, value: string) => value },
    },
  ],
  [
    // Microseconds, as Redis counts them; Osprey times in whole milliseconds, so a value is rounded up
    // (CONFIG GET then shows the milliseconds × 1000). -1 turns the slowlog (and the log's slow lines) off, as in Redis.
    "slowlog-log-slower-than",
    {
      check: (value: string) => (value === "-1" || wholeNumber(value, timerMsMax * 1000) !== null ? null : "argument must be between -1 and 2147483647000 inclusive"),
      apply: (ctx: Context, value: string) => {
        const ms = value === "-1" ? -1 : Math.ceil(wholeNumber(value, timerMsMax * 1000)! / 1000);
        (ctx as { config: Config }).config = Object.freeze({ ...ctx.config, slowlogThresholdMs: slowlogThreshold(ms) });
      },
      file: { key: "slowlog_threshold_ms", toml: (ctx: Context) => slowlogThresholdSetting(ctx.config.slowlogThresholdMs) },
    },
  ],
  [
    "slowlog-max-len",
    {
      check: (value: string) => (wholeNumber(value, slowlogLenMax) === null ? `argument must be between 0 and ${slowlogLenMax} inclusive` : null),
      apply: (ctx: Context, value: string) => {
        const log = slowlogOf(ctx);
        log.maxLen = wholeNumber(value, slowlogLenMax)!;
        log.trim();
      },
    },
  ],
  [
    // Space-separated percentiles from 0 to 100 (Redis's default "50 99 99.9"); INFO latencystats shows them.
    "latency-tracking-info-percentiles",
    {
      check: (value: string) => (percentilesOf(value) === null ? "latency-tracking-info-percentiles: percentiles must be numbers from 0 to 100" : null),
      apply: (ctx: Context, value: string) => void latencyPercentiles.set(ctx, percentilesOf(value)!),
    },
  ],
  [
    // Milliseconds; 0 turns LATENCY's monitor off (commands/latency.ts).
    "latency-monitor-threshold",
    {
      check: (value: string) => (wholeNumber(value, timerMsMax) === null ? `argument must be between 0 and ${timerMsMax} inclusive` : null),
      apply: (_ctx: Context, value: string) => setLatencyThresholdMs(wholeNumber(value, timerMsMax)!),
    },
  ],
]);

const latencyPercentiles = new WeakMap<Context, readonly number[]>();
const latencyPercentilesDefault = [50, 99, 99.9] as const;

/** The percentiles INFO latencystats shows (CONFIG SET latency-tracking-info-percentiles). */
function latencyPercentilesOf(ctx: Context): readonly number[] {
  return latencyPercentiles.get(ctx) ?? latencyPercentilesDefault;
}

/** "50 99 99.9" → [50, 99, 99.9]; null when a word is not a number from 0 to 100 (an empty list is allowed, as in Redis). */
function percentilesOf(text: string): number[] | null {
  const words = text.split(" ").filter((w) => w !== "");
  if (words.length > 16) return null;
  const ps = words.map((w) => (/^\d{1,3}(\.\d{1,6})?$/.test(w) ? Number(w) : Number.NaN));
  return ps.every((p) => p >= 0 && p <= 100) ? ps : null;
}

const timerMsMax = 2 ** 31 - 1;

const startClientsMax = new WeakMap<Context, number>();

/** max_clients as the server started (before any CONFIG SET maxclients). */
function clientsMaxAtStart(ctx: Context): number {
  let n = startClientsMax.get(ctx);
  if (n === undefined) {
    n = ctx.config.clientsMax;
    startClientsMax.set(ctx, n);
  }
  return n;
}

/** A decimal integer from 0 to `max`, or null. */
/** slowlog-log-slower-than of a slowlog_threshold_ms setting: microseconds, or -1 (off) as it is. */
function slowlogMicros(ms: number): number {
  return ms < 0 ? ms : ms * 1000;
}

function wholeNumber(text: string, max: number): number | null {
  if (!/^\d{1,16}$/.test(text)) return null;
  const n = Number(text);
  return n <= max ? n : null;
}

/**
 * CONFIG SET name value [name value …]: all or nothing, as Redis checks every pair before applying
 * any. Parameters CONFIG GET shows but that are fixed at start-up are refused as immutable.
 */
function configSet(s: Session, ctx: Context): void {
  const p = s.p;
  if (p.argc < 4) return subcommandArity(s);
  if ((p.argc & 1) !== 0) return s.reply.error(RespErr.syntax);
  clientsMaxAtStart(ctx); // noted before anything can change it
  const known = new Set(configParams(ctx).map(([n]) => n));
  const seen = new Set<string>();
  for (let t = 2; t < p.argc; t += 2) {
    const name = s.text(t).toLowerCase();
    if (!known.has(name)) return s.reply.error(respError(`Unknown option or number of arguments for CONFIG SET - '${s.text(t)}'`));
    const setter = configSetters.get(name);
    const why = seen.has(name) ? "duplicate parameter" : setter === undefined ? "can't set immutable config" : setter.check(s.text(t + 1), ctx);
    if (why !== null) return s.reply.error(respError(`CONFIG SET failed (possibly related to argument '${s.text(t)}') - ${why}`));
    seen.add(name);
  }
  for (let t = 2; t < p.argc; t += 2) {
    const setter = configSetters.get(s.text(t).toLowerCase())!;
    setter.apply(ctx, s.text(t + 1));
    if (setter.file !== undefined) setAtRunTime(ctx).set(setter.file.key, setter.file.toml(ctx, s.text(t + 1)));
  }
  s.reply.ok();
}

/** osprey.toml keys CONFIG SET changed since the start, with the values CONFIG REWRITE writes. */
const setAtRunTime = perServer(() => new Map<string, string | number>());

/** What a server knows of how it was started, for CONFIG REWRITE and INFO (set by the entry point). */
export interface ServerFacts {
  /** The config file it was started with, or null. */
  readonly configFile: string | null;
  /** The port listen_addr is bound to (listen_addr may say 0). */
  readonly tcpPort: number;
}

const serverFacts = new WeakMap<Context, ServerFacts>();

export function noteServerFacts(ctx: Context, facts: ServerFacts): void {
  serverFacts.set(ctx, facts);
}

const noConfigFile = respError("The server is running without a config file");

/**
 * CONFIG REWRITE: writes the keys CONFIG SET changed back into the config file the server was
 * started with, keeping every other line, comment and blank as it is (config.ts `rewriteConfigFile`,
 * atomically). The reply never names the path; the log does.
 */
function configRewrite(s: Session, ctx: Context): void {
  const file = serverFacts.get(ctx)?.configFile ?? null;
  if (file === null) return s.reply.error(noConfigFile);
  const changes = setAtRunTime(ctx);
  try {
    rewriteConfigFile(file, changes);
  } catch (err) {
    log.warn(`CONFIG REWRITE of ${file} failed: ${errorText(err)}`);
    // Both kinds of message are free of paths: RewriteError's by construction, errorText's (errno text) too.
    return s.reply.error(respError(`Rewriting config file: ${err instanceof RewriteError ? err.message : errorText(err)}`));
  }
  log.info(`CONFIG REWRITE: ${changes.size === 0 ? "nothing set at run time" : [...changes.keys()].join(", ")} written to ${file}`);
  s.reply.ok();
}

const GET = nameCodeOf("GET");
const SET = nameCodeOf("SET");
const RESETSTAT = nameCodeOf("RESETSTAT");
const REWRITE = nameCodeOf("REWRITE");

/** Redis 7's error for a subcommand it does not know. */
export function unknownSubcommand(s: Session): void {
  s.reply.error(respError(`unknown subcommand '${s.text(1).slice(0, 128)}'. Try ${s.text(0).toUpperCase()} HELP.`));
}

/** Redis 7's arity error for a subcommand (`'client|setname'`). */
export function subcommandArity(s: Session): void {
  s.reply.error(respError(`wrong number of arguments for '${s.text(0).toLowerCase()}|${s.text(1).toLowerCase()}' command`));
}

/** CONFIG GET pattern [pattern …] → name, value pairs of the matching parameters. */
export function config(s: Session, ctx: Context): void {
  const p = s.p;
  const sub = nameCode(s.b, p.starts[1]!, p.ends[1]!);
  if (sub === SET) return configSet(s, ctx);
  if (sub === RESETSTAT) {
    if (p.argc !== 2) return subcommandArity(s);
    ctx.stats.reset();
    ctx.store.reads.fill(0);
    return s.reply.ok();
  }
  if (sub === REWRITE) {
    if (p.argc !== 2) return subcommandArity(s);
    return configRewrite(s, ctx);
  }
  if (sub !== GET) return unknownSubcommand(s);
  if (p.argc < 3) return subcommandArity(s);
  const params = configParams(ctx);
  const matched = new Set<number>();
  for (let t = 2; t < p.argc; t++) {
    const pattern = s.text(t);
    params.forEach(([name], i) => {
      // Redis matches parameter names without regard to case.
      if (globMatchText(pattern, name, true)) matched.add(i);
    });
  }
  s.reply.mapHeader(matched.size);
  for (const i of [...matched].sort((x, y) => x - y)) {
    s.reply.bulkText(params[i]![0]);
    s.reply.bulkText(params[i]![1]);
  }
}

/** Redis's memory units (memtoull): k, m, g are powers of 1000, kb, mb, gb of 1024. */
const memoryUnits: Record<string, number> = { "": 1, b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };

/** A Redis memory value ("100mb", "0", "1gb") in bytes, or -1. */
export function parseMemory(text: string): number {
  const m = /^(\d{1,16})([a-z]*)$/i.exec(text);
  const unit = m === null ? undefined : memoryUnits[m[2]!.toLowerCase()];
  if (m === null || unit === undefined) return -1;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : -1;
}


