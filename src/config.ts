// osprey.toml (read with smol-toml), OSPREY_* environment variables and command-line flags →
// validated, frozen Config; and CONFIG REWRITE's edit of the file (`rewriteConfigFile`). Bad input never half-starts the server: every wrong key throws a
// ConfigError naming where the value came from, the key and what it expected.

import { notifyFlagsOf } from "./engine/notify.ts";
import { closeSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { syncDir, syncFile } from "./persistence/files.ts";
import { parse, TomlError } from "smol-toml";
import type { Config, LogLevel, SyncPolicy, TlsClientAuth, UserConfig } from "./config.types.ts";
import { connectionInputBytesMax, defaults, keyBytesMaxLimit, outputHardBytes, userNameBytesMax, usersMax, valueBytesMaxLimit } from "./constants.ts";
import { log } from "./log.ts";
import { evictionPolicies } from "./engine/eviction.ts";

/** Thrown for a config file that cannot be read or parsed, or a key with a wrong type or value. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** The key whose value is wrong, when one is (not for a file that cannot be read or parsed). */
  readonly key: string | null;
  constructor(message: string, options?: { cause?: unknown; key?: string }) {
    super(message, options);
    this.key = options?.key ?? null;
  }
}

/** Options of configFromObject. */
export interface ConfigOptions {
  /** Folder that relative data_dir and log_file resolve against; default process.cwd(). */
  baseDir?: string;
  /** Receives one message naming every unknown key; default log.warn. */
  warn?: (msg: string) => void;
}

type Key = keyof typeof defaults;
type Raw = Record<string, unknown>;

// Timers treat a delay above 2^31-1 ms as 1 ms, so a huge *_ms value would fire constantly.
const timerMsMax = 2 ** 31 - 1;
const intMax = Number.MAX_SAFE_INTEGER;
const intMax32 = 2 ** 31 - 1;
const syncPolicies: readonly SyncPolicy[] = ["os", "batch", "always"];
const logLevels: readonly LogLevel[] = ["DEBUG", "INFO", "WARN", "ERROR"];
const tlsClientAuths: readonly TlsClientAuth[] = ["no", "optional", "required"];

/**
 * Validate a parsed osprey.toml (or any plain object of its keys), fill missing keys from
 * `defaults` and return the frozen Config. Unknown keys are reported once through `warn`.
 */
export function configFromObject(raw: Raw, opts: ConfigOptions = {}): Config {
  const baseDir = opts.baseDir ?? process.cwd();
  const warn = opts.warn ?? ((msg: string) => log.warn(msg));
  const unknown = Object.keys(raw).filter((k) => !Object.hasOwn(defaults, k));
  if (unknown.length > 0) warn(`unknown config keys ignored: ${unknown.join(", ")}`);

  const { host, port } = listenAddr(raw, "listen_addr");
  const resp = string(raw, "resp_listen_addr") === "" ? null : listenAddr(raw, "resp_listen_addr");
  const dataDir = resolve(baseDir, nonEmptyString(raw, "data_dir"));
  const logFileRaw = string(raw, "log_file");
  const metrics = string(raw, "metrics_listen_addr") === "" ? null : listenAddr(raw, "metrics_listen_addr");
  const valueBytesMax = int(raw, "max_value_bytes", 1, valueBytesMaxLimit);
  const authPassword = string(raw, "auth_password");
  const users = usersOf(raw, authPassword !== "");
  if (authPassword !== "") {
    warn("auth_password is kept in plain text in the configuration: prefer a [[users]] entry named \"default\" with password_sha256 or password_hash (docs/OPERATIONS.md, Security)");
  }
  const tls = tlsOf(raw, baseDir);
  return Object.freeze({
    listenHost: host,
    listenPort: port,
    respListenHost: resp?.host ?? null,
    respListenPort: resp?.port ?? 0,
    clientsMax: int(raw, "max_clients", 1, intMax),
    keyBytesMax: int(raw, "max_key_bytes", 1, keyBytesMaxLimit),
    valueBytesMax,
    // At least what one connection may buffer, so one legal request (and its slack) always fits.
    clientInputBytesMax: int(raw, "client_input_bytes_max", connectionInputBytesMax(valueBytesMax), intMax),
    // At least one connection's own output limit, so a client alone can take any reply it may hold.
    clientOutputBytesMax: int(raw, "client_output_bytes_max", outputHardBytes, intMax),
    dataDir,
    walBytesMax: int(raw, "wal_max_bytes", 1024, intMax),
    syncPolicy: oneOf(raw, "sync_policy", syncPolicies, (s) => s.toLowerCase()),
    batchFsyncMs: int(raw, "batch_fsync_ms", 1, timerMsMax),
    batchFsyncBytes: int(raw, "batch_fsync_bytes", 1, intMax),
    snapshotEnable: bool(raw, "enable_snapshot"),
    snapshotFork: bool(raw, "snapshot_fork"),
    snapshotForkBytesMin: int(raw, "snapshot_fork_min_bytes", 0, intMax),
    snapshotBusyBytesPerSec: int(raw, "snapshot_busy_bytes_per_sec", 0, intMax),
    snapshotPauseMaxMs: int(raw, "snapshot_pause_max_ms", 0, timerMsMax),
    busyWarnMs: int(raw, "busy_warn_ms", 0, timerMsMax),
    sweepIntervalMs: int(raw, "sweep_interval_ms", 1, timerMsMax),
    sweepBatch: int(raw, "sweep_batch", 1, intMax),
    metricsEnable: bool(raw, "metrics_enable"),
    logLevel: oneOf(raw, "log_level", logLevels, (s) => s.toUpperCase()),
    logFile: logFileRaw === "" ? join(dataDir, "logs", "osprey.log") : resolve(baseDir, logFileRaw),
    slowlogThresholdMs: slowlogThreshold(int(raw, "slowlog_threshold_ms", -1, timerMsMax)),
    pubsubOutputBytesMax: int(raw, "pubsub_output_bytes_max", 1024, intMax),
    notifyKeyspaceEvents: notifyEvents(raw, "notify_keyspace_events"),
    metricsListenHost: metrics?.host ?? null,
    metricsListenPort: metrics?.port ?? 0,
    umask: umask(raw, "umask"),
    maxMemoryBytes: int(raw, "max_memory_bytes", 0, intMax),
    evictionPolicy: oneOf(raw, "eviction_policy", evictionPolicies, (s) => s.toLowerCase()),
    authPassword,
    users,
    aclFile: string(raw, "acl_file") === "" ? null : resolve(baseDir, string(raw, "acl_file")),
    protectedMode: bool(raw, "protected_mode"),
    ...tls,
    // Redis's timeout takes up to INT_MAX seconds; as milliseconds that still fits a double exactly.
    timeoutSeconds: int(raw, "timeout", 0, intMax32),
    unauthenticatedClientsMax: int(raw, "max_unauthenticated_clients", 1, intMax),
    authTimeoutSeconds: int(raw, "auth_timeout", 0, intMax32),
    authFailureDelayMs: int(raw, "auth_failure_delay_ms", 0, timerMsMax),
  });
}

/** notify_keyspace_events: Redis's flag letters, as CONFIG SET notify-keyspace-events takes them. */
function notifyEvents(raw: Raw, key: Key): string {
  const v = string(raw, key);
  return notifyFlagsOf(v) === null ? fail(key, "Redis's notify-keyspace-events letters (of KEg$lshzxetdmnA)", v) : v;
}

/** Where a key's value came from, as the error message names it. */
type Source = { kind: "file"; path: string } | { kind: "env"; name: string } | { kind: "flag"; name: string };

/** Values given on the command line; each overrides the environment and the file. */
export interface ConfigFlags {
  /** --listen: listen_addr. */
  listen?: string;
  /** --port: the port part of listen_addr (from --listen, the environment, the file or the default). */
  port?: string;
  /** --data-dir: data_dir. */
  dataDir?: string;
  /** --sync: sync_policy. */
  sync?: string;
}

/** Options of loadConfig. */
export interface LoadOptions {
  warn?: (msg: string) => void;
  /** The environment to read OSPREY_* variables from; default none (only the server passes process.env). */
  env?: Record<string, string | undefined>;
  flags?: ConfigFlags;
}

/** The environment variable of a config key: OSPREY_ and the key in capitals (OSPREY_LISTEN_ADDR). */
export function envName(key: string): string {
  return `OSPREY_${key.toUpperCase()}`;
}

/**
 * OSPREY_* variables that are not config keys but are read elsewhere: the config path, the native
 * library switch, osprey-cli's address, history and credentials, the tests' log.
 */
const envOthers = new Set(["OSPREY_CONFIG", "OSPREY_NATIVE", "OSPREY_ADDR", "OSPREY_CLI_HISTORY", "OSPREY_TEST_LOG", "OSPREY_USER", "OSPREY_PASSWORD"]);

/**
 * Read and validate the configuration: command-line flags over OSPREY_* environment variables over
 * the config file over the built-in defaults; `undefined` path means no file. Relative data_dir and
 * log_file resolve against process.cwd(), not the file's folder, as the original server did, so
 * `osprey -config /etc/osprey.toml` with data_dir = "./data" uses ./data.
 */
export function loadConfig(path: string | undefined, opts: LoadOptions = {}): Config {
  const warn = opts.warn ?? ((msg: string) => log.warn(msg));
  const raw: Raw = path === undefined ? {} : parseFile(path);
  const sources = new Map<string, Source>();
  if (path !== undefined) for (const k of Object.keys(raw)) sources.set(k, { kind: "file", path });
  const unknownInFile = path === undefined ? [] : Object.keys(raw).filter((k) => !Object.hasOwn(defaults, k));
  if (unknownInFile.length > 0) warn(`${path}: unknown config keys ignored: ${unknownInFile.join(", ")}`);
  for (const k of unknownInFile) delete raw[k];

  if (opts.env !== undefined) fromEnv(opts.env, raw, sources, warn);
  if (opts.flags !== undefined) fromFlags(opts.flags, raw, sources);
  try {
    return configFromObject(raw, { warn });
  } catch (err) {
    if (!(err instanceof ConfigError) || err.key === null) throw err;
    const source = sources.get(err.key);
    const where = source === undefined ? "built-in default" : source.kind === "file" ? source.path : source.name;
    throw new ConfigError(`${where}: ${err.message}`, { cause: err, key: err.key });
  }
}

/**
 * Copies OSPREY_<KEY> variables over `raw`. Values are text: a key whose default is a number or a
 * boolean gets one when the text is one, else the text itself, which validation then names. An
 * empty variable counts as unset.
 */
function fromEnv(env: Record<string, string | undefined>, raw: Raw, sources: Map<string, Source>, warn: (msg: string) => void): void {
  const known = new Map(Object.keys(defaults).map((k) => [envName(k), k as Key]));
  const unknown: string[] = [];
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith("OSPREY_") || text === undefined || text === "") continue;
    const key = known.get(name);
    if (key === undefined) {
      if (!envOthers.has(name) && !name.startsWith("OSPREY_TEST_")) unknown.push(name);
      continue;
    }
    raw[key] = typed(key, text);
    sources.set(key, { kind: "env", name });
  }
  if (unknown.length > 0) warn(`unknown OSPREY_* environment variables ignored: ${unknown.sort().join(", ")}`);
}

function typed(key: Key, text: string): unknown {
  const d = defaults[key];
  if (typeof d === "number" && /^-?\d+$/.test(text)) {
    const n = BigInt(text);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  if (typeof d === "boolean" && (text === "true" || text === "false")) return text === "true";
  return text;
}

function fromFlags(flags: ConfigFlags, raw: Raw, sources: Map<string, Source>): void {
  const set = (key: Key, value: string, name: string) => {
    raw[key] = value;
    sources.set(key, { kind: "flag", name });
  };
  if (flags.listen !== undefined) set("listen_addr", flags.listen, "--listen");
  if (flags.dataDir !== undefined) set("data_dir", flags.dataDir, "--data-dir");
  if (flags.sync !== undefined) set("sync_policy", flags.sync, "--sync");
  if (flags.port !== undefined) {
    const port = flags.port;
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
      throw new ConfigError(`--port: expected an integer from 0 to 65535, got ${JSON.stringify(port)}`, { key: "listen_addr" });
    }
    // The host comes from wherever listen_addr does; an unusable one is reported under its own source.
    const base = value(raw, "listen_addr");
    const m = typeof base === "string" ? /^(.*):\d{1,5}$/.exec(base) : null;
    if (m === null) return;
    raw.listen_addr = `${m[1]}:${port}`;
    if (!sources.has("listen_addr")) sources.set("listen_addr", { kind: "flag", name: "--port" });
  }
}

function parseFile(path: string): Raw {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "ENOENT" ? "no such file" : e.message;
    throw new ConfigError(`${path}: cannot read config file: ${why}`, { cause: err });
  }
  try {
    // "asNeeded" keeps integers beyond 2^53 exact (as bigint) so the range check can name them.
    return parse(text, { integersAsBigInt: "asNeeded" });
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const [first = "", ...rest] = err.message.split("\n");
    const reason = first.replace(/^Invalid TOML document: /, "");
    const where = `line ${err.line}, column ${err.column}`;
    throw new ConfigError(`${path}: invalid TOML at ${where}: ${reason}\n${rest.join("\n")}`, { cause: err });
  }
}

/** The key's value, or its built-in default when absent. */
function value(raw: Raw, key: Key): unknown {
  const v = raw[key];
  return v === undefined ? defaults[key] : v;
}

function fail(key: Key, expected: string, got: unknown): never {
  throw new ConfigError(`${key}: expected ${expected}, got ${show(got)}`, { key });
}

/** Render a value the way the user wrote it, so the message can be matched to the file. */
function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a date";
  if (typeof v === "object" && v !== null) return "a table";
  return String(v);
}

function describeRange(min: number, max: number): string {
  if (max < intMax) return `an integer from ${min} to ${max}`;
  if (min === 0) return "a non-negative integer";
  if (min === 1) return "a positive integer";
  return `an integer of at least ${min}`;
}

/**
 * slowlog_threshold_ms as the server compares it: -1 (Redis's "off" for slowlog-log-slower-than)
 * becomes Infinity, which no duration reaches.
 */
export function slowlogThreshold(ms: number): number {
  return ms < 0 ? Number.POSITIVE_INFINITY : ms;
}

/** The other way: slowlog_threshold_ms as it is written (CONFIG GET, CONFIG REWRITE), -1 when off. */
export function slowlogThresholdSetting(ms: number): number {
  return ms === Number.POSITIVE_INFINITY ? -1 : ms;
}

function int(raw: Raw, key: Key, min: number, max: number): number {
  const v = value(raw, key);
  // smol-toml gives numbers for safe integers and bigints beyond; both are accepted in range.
  if (typeof v === "bigint" && v >= BigInt(min) && v <= BigInt(max)) return Number(v);
  if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
  return fail(key, describeRange(min, max), v);
}

function bool(raw: Raw, key: Key): boolean {
  const v = value(raw, key);
  return typeof v === "boolean" ? v : fail(key, "true or false", v);
}

function string(raw: Raw, key: Key): string {
  const v = value(raw, key);
  return typeof v === "string" ? v : fail(key, "a string", v);
}

function nonEmptyString(raw: Raw, key: Key): string {
  const v = value(raw, key);
  return typeof v === "string" && v !== "" ? v : fail(key, "a non-empty string", v);
}

function oneOf<T extends string>(raw: Raw, key: Key, choices: readonly T[], fold: (s: string) => string): T {
  const v = value(raw, key);
  const folded = typeof v === "string" ? fold(v) : undefined;
  const hit = choices.find((c) => c === folded);
  return hit ?? fail(key, `one of ${choices.join(", ")}`, v);
}

/**
 * Split listen_addr into host and port: "host:port", "[v6]:port", or ":port" for every IPv4
 * interface (as Go's net.Listen, which the original used, reads it). A bare v6 host is ambiguous.
 */
function listenAddr(raw: Raw, key: "listen_addr" | "resp_listen_addr" | "metrics_listen_addr" | "tls_listen_addr"): { host: string; port: number } {
  let v = value(raw, key);
  // The metrics endpoint is for a scraper on this host unless told otherwise: a bare port is loopback.
  if (key === "metrics_listen_addr" && typeof v === "string" && /^:?\d{1,5}$/.test(v)) v = `127.0.0.1:${v.replace(":", "")}`;
  const expected = `"host:port" with port 0-65535 (IPv6 as "[::1]:7070")`;
  if (typeof v !== "string") return fail(key, expected, v);
  const m = /^(?:\[([^\s\[\]]+)\]|([^\s:\[\]]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return fail(key, expected, v);
  const host = m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]!);
  if (m[1] !== undefined && !host.includes(":")) return fail(key, expected, v);
  return { host, port };
}

/** umask: three octal digits (an optional leading 0), the bits cleared from new files' and folders' modes. */
function umask(raw: Raw, key: Key): number {
  const v = value(raw, key);
  if (typeof v === "string" && /^0?[0-7]{3}$/.test(v)) return parseInt(v, 8);
  return fail(key, `three octal digits such as "077" or "027"`, v);
}

/**
 * TLS: tls_cert_file and tls_key_file together or neither; a CA file when client certificates are
 * asked for (tls_client_auth other than "no"), and client auth only with TLS on. The files are read
 * when the server binds, which names a missing or unreadable one.
 */
function tlsOf(raw: Raw, baseDir: string): Pick<Config, "tlsCertFile" | "tlsKeyFile" | "tlsCaFile" | "tlsClientAuth" | "tlsListenHost" | "tlsListenPort"> {
  const cert = string(raw, "tls_cert_file");
  const listen = string(raw, "tls_listen_addr") === "" ? null : listenAddr(raw, "tls_listen_addr");
  const key = string(raw, "tls_key_file");
  const ca = string(raw, "tls_ca_file");
  const clientAuth = oneOf(raw, "tls_client_auth", tlsClientAuths, (s) => s.toLowerCase());
  if ((cert === "") !== (key === "")) fail(cert === "" ? "tls_cert_file" : "tls_key_file", "a file next to " + (cert === "" ? "tls_key_file" : "tls_cert_file") + " (TLS needs both)", "");
  if (listen !== null && cert === "") fail("tls_listen_addr", `"" while TLS is off (tls_cert_file and tls_key_file unset)`, string(raw, "tls_listen_addr"));
  if (clientAuth !== "no" && cert === "") fail("tls_client_auth", `"no" while TLS is off (tls_cert_file and tls_key_file unset)`, clientAuth);
  if (clientAuth !== "no" && ca === "") fail("tls_ca_file", `the CA file client certificates are checked against (tls_client_auth = "${clientAuth}")`, ca);
  return {
    tlsCertFile: cert === "" ? null : resolve(baseDir, cert),
    tlsKeyFile: key === "" ? null : resolve(baseDir, key),
    tlsCaFile: ca === "" ? null : resolve(baseDir, ca),
    tlsClientAuth: clientAuth,
    tlsListenHost: listen?.host ?? null,
    tlsListenPort: listen?.port ?? 0,
  };
}

const userKeys = new Set(["name", "password_sha256", "password_hash", "permissions", "keys", "enabled"]);
const permissionBits: Readonly<Record<string, number>> = { read: 1, write: 2, admin: 4 };

/**
 * [[users]]: an array of tables, each with a unique printable `name`, exactly one of
 * `password_sha256` (64 hex digits) and `password_hash` (Bun.password's argon2 or bcrypt string),
 * `permissions` (a list of "read", "write", "admin"), an optional `keys` glob and `enabled`. A
 * user named "default" cannot be given next to auth_password, which defines that user.
 */
function usersOf(raw: Raw, hasAuthPassword: boolean): readonly UserConfig[] {
  const v = value(raw, "users");
  if (!Array.isArray(v)) return fail("users", "an array of [[users]] tables", v);
  if (v.length > usersMax) return fail("users", `at most ${usersMax} users`, `${v.length} users`);
  const names = new Set<string>();
  const users = v.map((t: unknown, i: number): UserConfig => {
    const where = `users[${i}]`;
    const bad = (what: string, got: unknown): never => {
      throw new ConfigError(`${where}: expected ${what}, got ${show(got)}`, { key: "users" });
    };
    if (typeof t !== "object" || t === null || Array.isArray(t) || t instanceof Date) return bad("a table", t);
    const u = t as Raw;
    const unknown = Object.keys(u).filter((k) => !userKeys.has(k));
    if (unknown.length > 0) bad(`only ${[...userKeys].join(", ")}`, unknown.join(", "));
    const name = u.name;
    if (typeof name !== "string" || !/^[!-~]+$/.test(name) || name.length > userNameBytesMax) {
      bad(`a name of 1 to ${userNameBytesMax} printable characters without spaces`, name);
    }
    const n = name as string;
    if (names.has(n)) bad("a name no other user has", n);
    if (n === "default" && hasAuthPassword) bad("no user named \"default\" next to auth_password (which is that user's password)", n);
    names.add(n);
    const sha = u.password_sha256;
    const hash = u.password_hash;
    if ((sha === undefined) === (hash === undefined)) bad("exactly one of password_sha256 and password_hash", sha === undefined ? "neither" : "both");
    if (sha !== undefined && (typeof sha !== "string" || !/^[0-9a-fA-F]{64}$/.test(sha))) bad("password_sha256 as 64 hex digits (sha256sum of the password)", sha);
    if (hash !== undefined && (typeof hash !== "string" || !/^\$(argon2(id|i|d)\$|2[abxy]?\$)/.test(hash))) bad("password_hash as an argon2 or bcrypt string from Bun.password.hash", hash);
    const perms = u.permissions;
    if (!Array.isArray(perms) || perms.some((p) => typeof p !== "string" || !Object.hasOwn(permissionBits, p))) {
      bad(`permissions as a list of ${Object.keys(permissionBits).map((p) => JSON.stringify(p)).join(", ")}`, perms);
    }
    const keys = u.keys;
    if (keys !== undefined && (typeof keys !== "string" || keys === "")) bad("keys as a non-empty glob such as \"app:*\"", keys);
    const enabled = u.enabled ?? true;
    if (typeof enabled !== "boolean") bad("enabled as true or false", enabled);
    return Object.freeze({
      name: n,
      passwordSha256: typeof sha === "string" ? sha.toLowerCase() : null,
      passwordHash: typeof hash === "string" ? hash : null,
      permissions: (perms as string[]).reduce((bits, p) => bits | permissionBits[p]!, 0),
      keys: typeof keys === "string" ? keys : null,
      enabled: enabled as boolean,
    });
  });
  return Object.freeze(users);
}

/** CONFIG REWRITE could not edit the file safely; the message names no path (it is sent to clients). */
export class RewriteError extends Error {
  override name = "RewriteError";
}

// A top-level `key = value` line: indentation, the key (bare or quoted), `=`, a one-line value
// (a basic string with escapes, a literal string, or a bare number/boolean), then spaces and an
// optional comment, all kept but the value.
const valuePattern = String.raw`"(?:[^"\\\r\n]|\\.)*"|'[^'\r\n]*'|[^\s#"'\[{]+`;

/**
 * CONFIG REWRITE: writes `changes` (osprey.toml key → value) into the config file at `path`,
 * changing only those keys' values and keeping every other byte — comments, blank lines, order,
 * the other keys. A key the file does not set yet is added at the end of its top-level keys
 * (before the first `[table]` or `[[array]]`). The result is parsed again and must hold exactly the
 * old settings with the changes, or nothing is written. Written atomically: a temporary file in the
 * same folder with the file's mode, fdatasync, rename over the file (the target of a symlink),
 * fsync of the folder.
 */
export function rewriteConfigFile(path: string, changes: ReadonlyMap<string, string | number>): void {
  const target = realpathSync(path);
  const text = readFileSync(target, "utf8");
  const before = parseForRewrite(text, "the config file as it is now");
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text.split(/\r?\n/);
  // Top-level keys end at the first table header; arrays of tables ([[users]]) come after them.
  let topEnd = lines.findIndex((l) => /^\s*\[\[?\s*[\w."' -]+\s*\]\]?\s*(#.*)?$/.test(l));
  if (topEnd < 0) topEnd = lines.length;
  const added: string[] = [];
  for (const [key, value] of changes) {
    if (!Object.hasOwn(defaults, key)) throw new RewriteError(`${key} is not a config key`);
    const rendered = typeof value === "number" ? String(value) : JSON.stringify(value);
    const keyPattern = `(?:${key}|"${key}"|'${key}')`;
    const re = new RegExp(`^(\\s*${keyPattern}\\s*=\\s*)(${valuePattern})(\\s*(?:#.*)?)$`);
    const at = lines.findIndex((l, i) => i < topEnd && re.test(l));
    if (at >= 0) lines[at] = lines[at]!.replace(re, (_m, head: string, _v: string, tail: string) => `${head}${rendered}${tail}`);
    else if (Object.hasOwn(before, key)) throw new RewriteError(`cannot find the line that sets ${key} (a value on several lines?): edit the file by hand`);
    else added.push(`${key} = ${rendered}`);
  }
  if (added.length > 0) {
    // After the last non-blank top-level line, so a trailing blank line or a table keeps its place.
    let at = topEnd;
    while (at > 0 && lines[at - 1]!.trim() === "") at--;
    lines.splice(at, 0, ...added);
  }
  const out = lines.join(eol);
  const after = parseForRewrite(out, "the rewritten file");
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const expected = changes.has(key) ? changes.get(key) : before[key];
    if (!sameTomlValue(after[key], expected)) throw new RewriteError(`the rewritten file would not keep ${key}: nothing was written`);
  }
  writeConfigAtomic(target, out);
}

function parseForRewrite(text: string, what: string): Raw {
  try {
    return parse(text, { integersAsBigInt: "asNeeded" }) as Raw;
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    throw new RewriteError(`${what} is not valid TOML (line ${err.line}, column ${err.column})`);
  }
}

/** Equal as parsed TOML values (numbers and bigints alike, arrays and tables by content). */
function sameTomlValue(a: unknown, b: unknown): boolean {
  if ((typeof a === "number" || typeof a === "bigint") && (typeof b === "number" || typeof b === "bigint")) return BigInt(a) === BigInt(b);
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameTomlValue(v, b[i]));
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => sameTomlValue((a as Raw)[k], (b as Raw)[k]));
  }
  return a === b;
}

/** tmp file (the original's mode) → fdatasync → rename → fsync of the folder: a crash leaves the old file or the new one. */
function writeConfigAtomic(target: string, text: string): void {
  const tmp = `${target}.rewrite.tmp`;
  const fd = openSync(tmp, "w", statSync(target).mode & 0o7777);
  try {
    writeFileSync(fd, text);
    syncFile(fd, "the rewritten config file");
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, target);
  syncDir(dirname(target));
}
