// File-system steps of durability: fsync of a directory, an atomic replace (tmp → fdatasync →
// rename → fsync dir), and a forward reader that keeps memory bounded on files of any size.

import { close, closeSync, fsync, fsyncSync, open, openSync, readSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { fileReadAheadBytesMin, fileReadChunkBytes } from "../constants.ts";
import { fdatasync, readAheadFile } from "../native/index.ts";
import { tmpName } from "./format.ts";

/** Names an errno the way a user can act on it: "ENOSPC (no space left on device)". */
export function errnoText(errno: number): string {
  const names: Record<number, string> = {
    5: "EIO (input/output error)",
    9: "EBADF (bad file descriptor)",
    13: "EACCES (permission denied)",
    21: "EISDIR (is a directory)",
    23: "ENFILE (too many open files in the system)",
    24: "EMFILE (too many open files: RLIMIT_NOFILE)",
    27: "EFBIG (file too large: RLIMIT_FSIZE or file system limit)",
    28: "ENOSPC (no space left on device)",
    30: "EROFS (read-only file system)",
    122: "EDQUOT (disk quota exceeded)",
  };
  return names[errno] ?? `errno ${errno}`;
}

/** The message of a Node/Bun fs error with its code, or of anything else. */
export function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.errno === "number") return errnoText(Math.abs(err.errno));
  return err instanceof Error ? err.message : String(e);
}

/** fdatasync that throws like the fs functions do. */
export function syncFile(fd: number, what: string): void {
  const rc = fdatasync(fd);
  if (rc !== 0) throw new Error(`fdatasync ${what}: ${errnoText(Math.abs(rc))}`);
}

/** Makes a directory's entries (created, renamed, deleted files) durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** syncDir on Bun's thread pool: `done` gets null, or why the directory could not be synced. */
export function syncDirAsync(dir: string, done: (err: string | null) => void): void {
  open(dir, "r", (err, fd) => {
    if (err) return done(errorText(err));
    fsync(fd, (syncErr) => close(fd, () => done(syncErr ? errorText(syncErr) : null)));
  });
}

/** Replaces `path` with `data` so that a crash leaves either the old or the new file whole. */
export function writeFileAtomic(path: string, data: Uint8Array): void {
  const tmp = tmpName(path);
  const fd = openSync(tmp, "w");
  try {
    let at = 0;
    while (at < data.length) at += writeSync(fd, data, at, data.length - at);
    syncFile(fd, tmp);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/**
 * Reads a file front to back through one buffer that grows only to the largest record asked for,
 * so a 10 GB snapshot needs no 10 GB of memory.
 */
export class FileReader {
  readonly path: string;
  readonly size: number;
  #fd: number;
  buf: Buffer;
  /** File offset of buf[0]. */
  #base = 0;
  /** Valid bytes in buf. */
  #len = 0;
  /** Current position as an index into buf; the file offset is `offset`. */
  pos = 0;

  constructor(path: string, size: number, chunkBytes = fileReadChunkBytes) {
    this.path = path;
    this.size = size;
    this.#fd = openSync(path, "r");
    this.buf = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(size, 64)));
    // A large file is read into the page cache ahead of us by a native thread, so the kernel's
    // work of reading it in is done on another core while this one decodes (fileReadAheadBytesMin).
    if (size >= fileReadAheadBytesMin) readAheadFile(this.#fd, 0, size);
  }

  get offset(): number {
    return this.#base + this.pos;
  }

  /** The end of the bytes loaded into buf: buf[pos..loadedEnd) is readable without loading. */
  get loadedEnd(): number {
    return this.#len;
  }

  get remaining(): number {
    return this.size - this.offset;
  }

  /** Ensures buf[pos..pos+n) is loaded; false when the file ends first. */
  need(n: number): boolean {
    if (this.pos + n <= this.#len) return true;
    if (this.offset + n > this.size) return false;
    const keep = this.#len - this.pos;
    if (n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(grown, 0, this.pos, this.#len);
      this.buf = grown;
    } else {
      this.buf.copy(this.buf, 0, this.pos, this.#len);
    }
    this.#base += this.pos;
    this.pos = 0;
    this.#len = keep;
    while (this.#len < n) {
      const got = readSync(this.#fd, this.buf, this.#len, this.buf.length - this.#len, this.#base + this.#len);
      if (got <= 0) return false;
      this.#len += got;
    }
    return true;
  }

  /** Moves to a file offset (forward or back). */
  seek(offset: number): void {
    if (offset >= this.#base && offset <= this.#base + this.#len) {
      this.pos = offset - this.#base;
      return;
    }
    this.#base = offset;
    this.#len = 0;
    this.pos = 0;
  }

  /**
   * The file offset of the first occurrence of `pattern` at or after file offset `from`, or -1.
   * Reads forward a chunk at a time (keeping pattern.length - 1 bytes of overlap), so a search
   * over a large file costs one chunk of memory; the position is left somewhere past `from`.
   */
  find(pattern: Uint8Array, from: number): number {
    this.seek(from);
    for (;;) {
      const want = Math.min(this.buf.length, this.size - this.offset);
      if (want < pattern.length || !this.need(want)) return -1;
      const i = this.buf.indexOf(pattern, this.pos);
      if (i >= 0 && i + pattern.length <= this.pos + want) return this.#base + i;
      if (this.offset + want >= this.size) return -1;
      this.seek(this.offset + want - (pattern.length - 1));
    }
  }

  close(): void {
    closeSync(this.#fd);
  }
}
