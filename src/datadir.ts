// data_dir checked before anything else uses it: a path that is a file, a parent that cannot be
// created, a folder this user may not write get a sentence saying what is wrong and what to do,
// never the raw errno text (`EEXIST: file already exists, mkdir …`).

import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";

/** data_dir cannot be used; the message names it, the cause and the fix. */
export class DataDirError extends Error {}

/** Creates data_dir (its mode is what the umask leaves: 0700 by default) when missing; throws DataDirError when it cannot be used. */
export function prepareDataDir(dir: string): void {
  const st = statOrNull(dir);
  if (st !== null && !st.isDirectory()) {
    throw new DataDirError(`data_dir ${dir} is a file, not a directory: point data_dir (--data-dir, OSPREY_DATA_DIR) at a directory, or move the file away`);
  }
  if (st === null) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new DataDirError(`cannot create data_dir ${dir}: ${why(e, dir)}`);
    }
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new DataDirError(`data_dir ${dir} is not writable by this user (uid ${process.getuid?.() ?? "?"}): ${why(e, dir)}`);
  }
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    // ENOTDIR: a parent is a file; EACCES: a parent cannot be searched. Both are reported as such.
    throw new DataDirError(`data_dir ${path} cannot be used: ${why(e, path)}`);
  }
}

/** What an fs error means for data_dir, with what to do about it. */
function why(e: unknown, dir: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return `permission denied: give the server's user write access (chown or chmod), or choose another data_dir`;
    case "ENOTDIR":
      return `a parent of it is a file, not a directory (under ${dirname(dir)})`;
    case "EEXIST":
      return `a parent of it is a file, not a directory`;
    case "EROFS":
      return `the file system is read-only`;
    case "ENOSPC":
      return `no space left on the device`;
    default:
      return code ?? (e as Error).message;
  }
}
