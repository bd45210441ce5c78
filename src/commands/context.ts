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
}

/** The system clock. */
export const systemClock: Clock = { nowMs: () => Date.now() };

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
}
