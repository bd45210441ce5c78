// What every command function receives besides its request: the keyspace, limits and counters.
// One Context per server; the connection sets the per-request fields before each dispatch.

import type { Config } from "../config.types.ts";
import type { Store } from "../engine/store.ts";
import type { Persistence } from "../persistence/index.ts";
import type { Wal } from "../persistence/wal.ts";

/** Counters reported by STATS. Plain fields: incrementing them is the cheapest thing we can do. */
export class Stats {
  cmdGet = 0;
  cmdSet = 0;
  cmdDel = 0;
  cmdIncr = 0;
  cmdMget = 0;
  cmdMset = 0;
  cmdExpire = 0;
  cmdTtl = 0;
  cmdExists = 0;
  cmdOther = 0;
  errorsTotal = 0;
  connectionsTotal = 0;
  rejectedClientsTotal = 0;
  slowCommandsTotal = 0;
}

export interface Context {
  readonly store: Store;
  readonly config: Config;
  readonly stats: Stats;
  readonly startedMs: number;
  /** The write-ahead log, or null for a memory-only keyspace (engine tests). */
  readonly wal: Wal | null;
  readonly persistence: Persistence | null;
  /** Connected clients right now. */
  clients: number;
  /** Output bytes the current connection may still add before the hard limit. */
  outputRoom: number;
  /** Set by a command that stopped because its reply would pass `outputRoom`: disconnect. */
  outputOverflow: boolean;
}
