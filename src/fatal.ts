// What happens when Osprey finds a bug in itself: a broken invariant (InvariantError) or any
// exception that escaped the request path. The server stops at once and loudly — the cause and
// stack in the log, exit status 70 — rather than answer with a keyspace or log it cannot trust.
// Nothing more is written to the WAL: replies of records not yet written were never sent.

import { writeSync } from "node:fs";
import { log } from "./log.ts";

/** Exit status of a server stopped by a bug (EX_SOFTWARE). */
export const bugExitCode = 70;

let stopping = false;

/** Logs `err` (found `where`) and ends the process; the log file is flushed first, for at most a second. */
export function stopOnBug(where: string, err: unknown): void {
  if (stopping) return;
  stopping = true;
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  const line = `stopping: a bug in Osprey (${where}): ${text}`;
  try {
    log.error(line);
  } catch {
    writeSync(2, `${line}\n`);
  }
  setTimeout(() => process.exit(bugExitCode), 1000).unref();
  void log.close().finally(() => process.exit(bugExitCode));
}
