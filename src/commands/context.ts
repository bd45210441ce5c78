// What every command receives besides its request: the keyspace, limits, counters and the clock.
// One Context per server; the connection sets the per-request fields before each dispatch.

import type { Config } from "../config.types.ts";
import type { Store } from "../engine/store.ts";
import type { Persistence } from "../persistence/index.ts";
import type { Wal } from "../persistence/wal.ts";
import type { Budget } from "../net/budget.ts";
import type { Pause } from "../net/pause.ts";
import type { Session } from "./session.ts";
import type { CommandLatency } from "../histogram.ts";
import { errorKindsMax } from "../constants.ts";

/** The per-command counters of STATS (`cmd_<name>`), one per command table row's `stat`. */
export const enum Stat {
  Get,
  Set,
  Del,
  Incr,
  Mget,
  Mset,
  Expire,
  Ttl,
  Exists,
  /** Every other command (PING, STATS, INFO, …): counted in INFO's total only. */
  Other,
}

/** Rows the command table may have (asserted there): the size of `Stats.calls`. */
export const commandRowsMax = 256;

/** STATS names of the Stat counters, in Stat order (Other has none of its own). */
export const statNames = ["get", "set", "del", "incr", "mget", "mset", "expire", "ttl", "exists"] as const;

/** Each command table row's Stat, by `Route.index`: filled once by commands/table.ts. */
export const rowStats = new Uint8Array(commandRowsMax);

/** Counters the server keeps. Plain fields and one array: incrementing them is the cheapest thing we can do. */
export class Stats {
  /**
   * Requests per command table row (INFO commandstats' calls), by `Route.index`: the one counter
   * the dispatcher bumps per request, once it passed its arity check; STATS' per-Stat counts are
   * sums of it (`commands`).
   */
  readonly calls = new Float64Array(commandRowsMax);
  /**
   * Requests refused before they ran — arity, permissions, subscribed mode, the memory limit — by
   * row (INFO commandstats' rejected_calls); not counted in `calls`, as Redis counts them.
   */
  readonly rejected = new Float64Array(commandRowsMax);
  /** Calls that answered an error, by row (commandstats' failed_calls). */
  readonly failed = new Float64Array(commandRowsMax);
  /**
   * `errorsTotal` when a call last counted as failed: a command that runs others (EXEC) is not
   * failed by their errors, only by one of its own after them (Redis's prev_err_count).
   */
  errorsSeen = 0;
  /** Sampled latency per row (commands/timing.ts), made the first time a row is timed. */
  readonly latency: (CommandLatency | undefined)[] = [];
  /** Error replies by kind (INFO errorstats): RESP's first word (ERR, WRONGTYPE, …), the text protocol's code. */
  readonly errorKinds = new Map<string, number>();
  errorsTotal = 0;
  connectionsTotal = 0;
  rejectedClientsTotal = 0;
  slowCommandsTotal = 0;
  /** Failed AUTH and HELLO AUTH attempts (Redis's acl_access_denied_auth). */
  authFailuresTotal = 0;
  /** Connections refused because max_unauthenticated_clients were waiting to authenticate. */
  rejectedUnauthenticatedTotal = 0;
  /** Connections closed for not authenticating within auth_timeout. */
  authTimeoutsTotal = 0;
  /** Connections closed for being idle longer than timeout. */
  idleTimeoutsTotal = 0;

  /** An error reply was written: counted in total and by its kind. */
  errorReplied(bytes: Uint8Array): void {
    this.errorsTotal++;
    const kind = errorKind(bytes);
    const n = this.errorKinds.get(kind);
    if (n !== undefined) this.errorKinds.set(kind, n + 1);
    else if (this.errorKinds.size < errorKindsMax) this.errorKinds.set(kind, 1);
  }

  /** CONFIG RESETSTAT: every counter back to 0. */
  reset(): void {
    this.calls.fill(0);
    this.rejected.fill(0);
    this.failed.fill(0);
    this.errorsSeen = 0;
    this.latency.length = 0;
    this.errorKinds.clear();
    this.errorsTotal = 0;
    this.connectionsTotal = 0;
    this.rejectedClientsTotal = 0;
    this.slowCommandsTotal = 0;
    this.authFailuresTotal = 0;
    this.rejectedUnauthenticatedTotal = 0;
    this.authTimeoutsTotal = 0;
    this.idleTimeoutsTotal = 0;
  }

  /** Requests per Stat (STATS' cmd_* fields): the calls of the rows counted under each. */
  get commands(): Float64Array {
    const out = new Float64Array(Stat.Other + 1);
    for (let i = 0; i < commandRowsMax; i++) out[rowStats[i]!]! += this.calls[i]!;
    return out;
  }

  /** Every command counted, of every kind (INFO's total_commands_processed). */
  get commandsTotal(): number {
    let n = 0;
    for (const c of this.calls) n += c;
    return n;
  }
}

const errorKindCache = new WeakMap<Uint8Array, string>();

/**
 * The kind of an error reply, as INFO errorstats names it: for RESP (`-KIND message`) the word after
 * the dash when a space follows it within 32 bytes, else ERR (Redis's rule); for the text protocol
 * (`ERR CODE message`) the code. Pre-encoded replies are read once.
 */
export function errorKind(bytes: Uint8Array): string {
  let kind = errorKindCache.get(bytes);
  if (kind === undefined) {
    kind = readErrorKind(bytes);
    errorKindCache.set(bytes, kind);
  }
  return kind;
}

function readErrorKind(bytes: Uint8Array): string {
  let start = 1;
  if (bytes[0] !== 0x2d) {
    start = bytes.indexOf(0x20) + 1;
    if (start === 0) return "ERR";
  }
  const end = Math.min(bytes.length, start + 32);
  let i = start;
  while (i < end && bytes[i] !== 0x20) i++;
  if (i === start || i === end) return "ERR";
  const kind = String.fromCharCode(...bytes.subarray(start, i));
  // It names an INFO field and a Prometheus label: anything unusual is counted as ERR.
  return /^[A-Za-z0-9_-]+$/.test(kind) ? kind : "ERR";
}

/**
 * A value kept per server (per Context) and made on first use: for state a module owns — the
 * slowlog, LATENCY's events, the ops meter — without a field on every Context.
 */
export function perServer<T>(make: () => T): (ctx: Context) => T {
  const values = new WeakMap<Context, T>();
  return (ctx) => {
    let value = values.get(ctx);
    if (value === undefined) {
      value = make();
      values.set(ctx, value);
    }
    return value;
  };
}

/** Where time comes from: the real clocks in the server, a hand-moved one in tests. */
export interface Clock {
  /** Wall-clock epoch milliseconds (expiry times, TTLs). */
  nowMs(): number;
  /**
   * The wall clock at `monoMs`, a performance.now() reading the caller already has: a batch of
   * requests reads one clock, not two (a read costs ~65 ns here, a tenth of a request at P=1).
   */
  wallAt(monoMs: number): number;
}

/**
 * How often the system clock's wallAt checks itself against Date.now(): a step of the wall clock
 * (NTP, an operator) shows in expiry times within this.
 */
const wallCheckMs = 100;
/** How far (ms) the estimate may sit from Date.now() before it is taken again: Date.now() is whole ms, read a moment later. */
const wallSlackMs = 1;

/** The system clock. */
export const systemClock: Clock = (() => {
  // performance.timeOrigin + performance.now() is the wall clock to the microsecond (timeOrigin is
  // the wall clock at process start); `correctionMs` follows steps of the system clock since.
  let correctionMs = 0;
  let checkedAtMs = -Infinity;
  // Read once: the property is a call into the runtime on every read, and it never changes.
  const originMs = performance.timeOrigin;
  return {
    nowMs: () => Date.now(),
    wallAt(monoMs: number): number {
      let wall = originMs + monoMs + correctionMs;
      if (monoMs - checkedAtMs >= wallCheckMs) {
        checkedAtMs = monoMs;
        const now = Date.now();
        if (wall < now - wallSlackMs || wall >= now + 1 + wallSlackMs) {
          correctionMs += now + 0.5 - wall;
          wall = now + 0.5;
        }
      }
      // Whole milliseconds, as Date.now() gives: expiry compares and TTLs stay integral.
      return Math.floor(wall);
    },
  };
})();

export interface Context {
  readonly store: Store;
  readonly config: Config;
  readonly stats: Stats;
  readonly clock: Clock;
  readonly startedMs: number;
  /** The write-ahead log, or null for a memory-only keyspace (engine tests). */
  readonly wal: Wal | null;
  readonly persistence: Persistence | null;
  /** Unparsed input of all connections together, against client_input_bytes_max. */
  readonly input: Budget;
  /** Unsent replies of all connections together, against client_output_bytes_max. */
  readonly output: Budget;
  /** Connected clients right now. */
  clients: number;
  /** Output bytes the current connection may still add before the hard limit. */
  outputRoom: number;
  /** Set by a command that stopped because its reply would pass `outputRoom`: disconnect. */
  outputOverflow: boolean;
  /** CLIENT PAUSE: connections check its mode before each request. */
  readonly pause: Pause;
  /**
   * notify-keyspace-events as flag bits (engine/notify.ts); 0 (the default) is off, and then the
   * one check each write pays. CONFIG SET changes it.
   */
  notifyFlags: number;
  /**
   * Connections that ran MONITOR: each request dispatched is shown to them. Empty is the one check a
   * request pays for MONITOR.
   */
  readonly monitors: Session[];
  /**
   * Stops the server cleanly, as SIGTERM does (SHUTDOWN); set by the server's entry point, null
   * where there is no process to stop (engine tests, in-process benchmarks).
   */
  shutdown: ((why: string) => void) | null;
  /** pubsub_output_bytes_max: unsent output a subscriber may have before it is dropped (CONFIG SET changes it). */
  pubsubOutputBytesMax: number;
  /**
   * Whether the active expiry sweep runs (the default); `DEBUG SET-ACTIVE-EXPIRE 0` stops it, as
   * Redis's test suite asks, and keys then expire only when read.
   */
  activeExpire: boolean;
}
