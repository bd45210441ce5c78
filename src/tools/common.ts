// What the offline tools share: their exit statuses, the data_dir lock (a tool refuses a directory
// a live server holds, and a server refuses one a tool holds), and the JSON form of keys and values.

import { existsSync, statSync, writeSync } from "node:fs";
import { lockDataDir } from "../persistence/lock.ts";

/** Exit statuses of the tools (docs/OPERATIONS.md lists them). */
export const exitStatus = {
  ok: 0,
  /** check: the only problem is a torn tail at the end of the newest WAL, which a plain start trims. */
  torn: 1,
  /** check, dump: damage a plain start refuses (`repair` salvages it). */
  damaged: 2,
  /** The tool could not do its work: a locked or missing directory, bad input, an I/O error. */
  failed: 3,
  /** Wrong arguments (EX_USAGE). */
  usage: 64,
} as const;

/** A tool stops with this message (on stderr) and exit status. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly status: number = exitStatus.failed,
  ) {
    super(message);
  }
}

/** Throws unless `dir` is an existing directory. */
export function requireDir(dir: string): void {
  if (!existsSync(dir)) throw new ToolError(`${dir}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new ToolError(`${dir}: not a directory`);
}

/**
 * Runs `work` holding dir's LOCK. The native lock is an exclusive flock (it has no shared mode),
 * so even the read-only tools hold it exclusively: two checks of one directory cannot run at once,
 * which costs nothing, and neither can a server start while one runs.
 */
export async function withLock<T>(dir: string, work: () => Promise<T> | T): Promise<T> {
  let lock: ReturnType<typeof lockDataDir>;
  try {
    lock = lockDataDir(dir);
  } catch (e) {
    throw new ToolError((e as Error).message.replace("refusing to start", "refusing to touch it"));
  }
  try {
    return await work();
  } finally {
    lock.release();
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Bytes as a JSON string and whether it is base64: UTF-8 text as itself, anything else in base64. */
export function textOrBase64(b: Uint8Array): { text: string; base64: boolean } {
  try {
    return { text: utf8.decode(b), base64: false };
  } catch {
    return { text: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64"), base64: true };
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to `fd` (1 stdout, 2 stderr) before returning, so nothing is lost when the
 * process exits right after, and a large output costs no more memory than the caller's chunk. A
 * full non-blocking pipe (EAGAIN) is waited out a millisecond at a time.
 */
export function print(text: string | Buffer, fd = 1): void {
  const b = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  for (let off = 0; off < b.length; ) {
    try {
      off += writeSync(fd, b, off, b.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
