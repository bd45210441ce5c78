// What every command receives besides its request: the keyspace, limits, counters and the clock.
// One Context per server; the connection sets the per-request fields before each dispatch.

import type { Config } from "../config.types.ts";
import type { Store } from "../engine/store.ts";
import type { Persistence } from "../persistence/index.ts";
import type { Wal } from "../persistence/wal.ts";
import type { Budget } from "../net/budget.ts";
import type { Pause } from "../net/pause.ts";
import type { Session } from "./session.ts";

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

  /** CONFIG RESETSTAT: every counter back to 0. */
  reset(): void {
    this.calls.fill(0);
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
  return {
    nowMs: () => Date.now(),
    wallAt(monoMs: number): number {
      let wall = performance.timeOrigin + monoMs + correctionMs;
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
