// osprey.toml (read with smol-toml) → validated, frozen Config. Bad input never half-starts the
// server: every wrong key throws a ConfigError naming the key and what it expected.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import type { Config, LogLevel, SyncPolicy } from "./config.types.ts";
import { connectionInputBytesMax, defaults, keyBytesMaxLimit, outputHardBytes, valueBytesMaxLimit } from "./constants.ts";
import { log } from "./log.ts";

/** Thrown for a config file that cannot be read or parsed, or a key with a wrong type or value. */
export class ConfigError extends Error {
  override name = "ConfigError";
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
const syncPolicies: readonly SyncPolicy[] = ["os", "batch", "always"];
const logLevels: readonly LogLevel[] = ["DEBUG", "INFO", "WARN", "ERROR"];

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
  const valueBytesMax = int(raw, "max_value_bytes", 1, valueBytesMaxLimit);
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
    snapshotPauseMaxMs: int(raw, "snapshot_pause_max_ms", 0, timerMsMax),
    busyWarnMs: int(raw, "busy_warn_ms", 0, timerMsMax),
    sweepIntervalMs: int(raw, "sweep_interval_ms", 1, timerMsMax),
    sweepBatch: int(raw, "sweep_batch", 1, intMax),
    metricsEnable: bool(raw, "metrics_enable"),
    logLevel: oneOf(raw, "log_level", logLevels, (s) => s.toUpperCase()),
    logFile: logFileRaw === "" ? join(dataDir, "logs", "osprey.log") : resolve(baseDir, logFileRaw),
    slowlogThresholdMs: int(raw, "slowlog_threshold_ms", 0, timerMsMax),
  });
}

/**
 * Read and validate a config file; `undefined` gives the built-in defaults without touching disk.
 * Relative data_dir and log_file resolve against process.cwd(), not the file's folder, as the
 * original server did, so `osprey -config /etc/osprey.toml` with data_dir = "./data" uses ./data.
 */
export function loadConfig(path: string | undefined, opts: { warn?: (msg: string) => void } = {}): Config {
  if (path === undefined) return configFromObject({}, opts);
  const warn = opts.warn ?? ((msg: string) => log.warn(msg));
  const raw = parseFile(path);
  try {
    return configFromObject(raw, { warn: (msg) => warn(`${path}: ${msg}`) });
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${path}: ${err.message}`, { cause: err });
    throw err;
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
  throw new ConfigError(`${key}: expected ${expected}, got ${show(got)}`);
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
function listenAddr(raw: Raw, key: "listen_addr" | "resp_listen_addr"): { host: string; port: number } {
  const v = value(raw, key);
  const expected = `"host:port" with port 0-65535 (IPv6 as "[::1]:7070")`;
  if (typeof v !== "string") return fail(key, expected, v);
  const m = /^(?:\[([^\s\[\]]+)\]|([^\s:\[\]]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return fail(key, expected, v);
  const host = m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]!);
  if (m[1] !== undefined && !host.includes(":")) return fail(key, expected, v);
  return { host, port };
}
