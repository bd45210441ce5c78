// The data_dir's LOCK file: one server per data directory. Two servers appending to the same WAL
// and deleting each other's files lose acknowledged writes, so the second one refuses to start,
// before it reads anything, naming the directory and the holder's PID.

import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { lockFile } from "../native/index.ts";

/** The lock file's name in data_dir; it holds the PID of the server that has it. */
export const lockName = "LOCK";

const EWOULDBLOCK = 11;

/** Another server holds data_dir. */
export class DataDirLockedError extends Error {}

/** A held lock: released when the server closes (or by the kernel, when the process dies). */
export interface DataDirLock {
  release(): void;
}

/**
 * Takes data_dir's lock: an flock through the native library; without it, the PID written in
 * LOCK, honoured while that process is alive (a check-then-write with a small race, which the
 * native build does not have). Throws DataDirLockedError when another server has it.
 */
export function lockDataDir(dir: string): DataDirLock {
  const path = join(dir, lockName);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  try {
    const rc = lockFile(fd);
    if (rc === EWOULDBLOCK) throw locked(dir, holderPid(path));
    if (rc > 0) throw new Error(`cannot lock ${path}: errno ${rc}`);
    if (rc < 0) {
      const pid = holderPid(path);
      if (pid !== null && pid !== process.pid && alive(pid)) throw locked(dir, pid);
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0, "latin1");
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      // Emptied first, so the PID fallback never mistakes a later process with our PID for us.
      ftruncateSync(fd, 0);
      closeSync(fd);
    },
  };
}

function locked(dir: string, pid: number | null): DataDirLockedError {
  const who = pid === null ? "another Osprey server" : `another Osprey server (pid ${pid})`;
  return new DataDirLockedError(`data_dir ${dir} is in use by ${who}: refusing to start. Stop that server, or give this one its own data_dir.`);
}

/** The PID recorded in LOCK, or null when it holds none. */
function holderPid(path: string): number | null {
  const text = readFileSync(path, "latin1").trim();
  return /^\d+$/.test(text) ? Number(text) : null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
