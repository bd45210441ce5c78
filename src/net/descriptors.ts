// File descriptors and max_clients. Every client is a descriptor, and so is every file the server
// opens: when clients may take them all, accept() spins on EMFILE and the WAL cannot rotate. At
// start-up the soft limit is raised to the hard one, and max_clients is lowered (as Redis does)
// when it still does not fit with the server's own descriptors and a reserve (fdReserveCount).

import { readdirSync } from "node:fs";
import { fdOwnCountFallback, fdReserveCount } from "../constants.ts";
import type { FileLimits } from "../native/index.ts";

/** The client limit the server enforces, and the warning to log when it is below max_clients. */
export interface ClientFit {
  clientsMax: number;
  warning: string | null;
}

/**
 * Fits `requested` clients into the descriptor limit, next to `ownFds` already open and the
 * reserve. Never below 1: a server that refuses every client would only look broken.
 */
export function fitClients(requested: number, limits: FileLimits | null, ownFds: number): ClientFit {
  if (limits === null) return { clientsMax: requested, warning: null };
  const needed = requested + ownFds + fdReserveCount;
  if (needed <= limits.soft) return { clientsMax: requested, warning: null };
  const clientsMax = Math.max(1, limits.soft - ownFds - fdReserveCount);
  const hard = limits.hard > limits.soft ? `, hard limit ${limits.hard} (could not raise it)` : limits.raised ? "" : " (no native library to raise it)";
  return {
    clientsMax,
    warning:
      `descriptor limit too low: max_clients = ${requested} needs ${needed} file descriptors ` +
      `(${requested} clients + ${ownFds} open now + ${fdReserveCount} reserved for the WAL, snapshots, listeners and refusals), ` +
      `but RLIMIT_NOFILE is ${limits.soft}${hard}; max_clients lowered to ${clientsMax}. Raise it with ulimit -n or LimitNOFILE=.`,
  };
}

/** Descriptors this process has open now (Linux: /proc/self/fd, less the one the listing itself uses). */
export function countOpenFds(): number {
  try {
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return fdOwnCountFallback;
  }
}
