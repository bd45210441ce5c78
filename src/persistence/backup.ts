// Online backups (`BACKUP <dir>`, and `osprey backup DEST`, which asks for one): a copy of data_dir
// that a server can start from, taken while this one goes on serving.
//
// The backup point is one event-loop turn. In it the WAL is rotated (so every record logged
// before is in a complete file that is never written again), MANIFEST.json is read, and the
// snapshot it names and every WAL from its next_wal to the one just completed are opened. The open
// descriptors keep those bytes readable even when a snapshot finishing meanwhile deletes the files,
// and none of them changes any more: the copy is of one consistent state, however long it takes.
//
// The copy runs off the event loop (Bun's thread pool), a chunk at a time. Durability order: every
// file written → fdatasync → BACKUP.json (what was copied) → MANIFEST.json last (tmp → fdatasync →
// rename → fsync dir). A copy cut short has no manifest, which a start refuses; docs/FORMAT.md
// ("Backups") describes BACKUP.json.

import { closeSync, fdatasync, fstatSync, mkdirSync, openSync, read, readdirSync, readFileSync, write } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { backupChunkBytes } from "../constants.ts";
import { log } from "../log.ts";
import { commit, version } from "../version.ts";
import { errorText, syncDir, writeFileAtomic } from "./files.ts";
import { backupManifestName, fileIndex, manifestName, parseManifest, serializeManifest, walName } from "./format.ts";
import type { Wal } from "./wal.ts";

/** Why a backup did not start: another runs or the server stops ("busy"), a bad destination ("dest"), the files ("io"). */
export interface BackupRefusal {
  kind: "busy" | "dest" | "io";
  why: string;
}

/** A file being copied: its name in both directories, the descriptor opened at the backup point, its size then. */
interface Source {
  name: string;
  fd: number;
  bytes: number;
}

export class Backups {
  readonly #dir: string;
  readonly #wal: Wal;
  #running = false;
  #stopped = false;

  backupsTotal = 0;
  failuresTotal = 0;
  /** The latest backup's destination (absolute), "" before the first. */
  lastDest = "";
  /** Why the latest backup failed, "" when it succeeded (or none ran). */
  lastError = "";
  /** When the latest backup completed (epoch ms), its wall time and bytes copied. */
  lastMs = 0;
  lastDurationMs = 0;
  lastBytes = 0;

  constructor(dir: string, wal: Wal) {
    this.#dir = resolve(dir);
    this.#wal = wal;
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * Starts a backup into `dest` (absolute; missing or an empty directory); null when started, else
   * why not, in a sentence that may reach the client.
   */
  start(dest: string): BackupRefusal | null {
    if (this.#stopped) return { kind: "busy", why: "the server is shutting down" };
    if (this.#running) return { kind: "busy", why: "a backup is already in progress" };
    const refused = this.#prepare(dest);
    if (refused !== null) return { kind: "dest", why: refused };
    const why = this.#begin(resolve(dest));
    return why === null ? null : { kind: "io", why };
  }

  /** Creates `dest` when missing; null when it is usable, else why not. */
  #prepare(dest: string): string | null {
    if (!isAbsolute(dest)) return `the destination must be an absolute path, got ${JSON.stringify(dest)}`;
    const target = resolve(dest);
    const rel = relative(this.#dir, target);
    if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) return "the destination must be outside data_dir";
    try {
      mkdirSync(target, { recursive: true, mode: 0o700 });
      if (readdirSync(target).length > 0) return `${target} is not empty: a backup goes into a new or empty directory`;
    } catch (e) {
      return `cannot use ${target}: ${errorText(e)}`;
    }
    return null;
  }

  /** The backup point, then the copy in the background; null when started, else why not. */
  #begin(target: string): string | null {
    // The backup point: from here to `opened`, all in this turn.
    let manifest: ReturnType<typeof parseManifest>;
    try {
      manifest = parseManifest(readFileSync(join(this.#dir, manifestName), "utf8"));
    } catch (e) {
      return `cannot read ${manifestName}: ${errorText(e)}`;
    }
    if (typeof manifest === "string") return `${manifestName} ${manifest}`;
    const next = this.#wal.rotate();
    if (next < 0) return `the write-ahead log cannot be rotated (${this.#wal.failure ?? this.#wal.rotateFailure ?? "see the log"})`;
    const firstWal = fileIndex(manifest.next_wal, "wal");
    const names = [manifest.snap];
    for (let i = firstWal; i < next; i++) names.push(walName(i));
    const sources: Source[] = [];
    try {
      for (const name of names) {
        const fd = openSync(join(this.#dir, name), "r");
        sources.push({ name, fd, bytes: fstatSync(fd).size });
      }
    } catch (e) {
      for (const s of sources) closeSync(s.fd);
      return `cannot open a file to copy: ${errorText(e)}`;
    }
    this.#running = true;
    const point = walName(next - 1);
    log.info(`backup to ${target} started: ${manifest.snap} and the WALs ${manifest.next_wal} to ${point} (every write logged before this point)`);
    const started = performance.now();
    void this.#copyAll(target, sources, { version: 1, snap: manifest.snap, next_wal: manifest.next_wal, created_ms: Date.now() }).then(
      (bytes) => this.#done(target, started, bytes, null, point),
      (e) => this.#done(target, started, 0, errorText(e), point),
    ).finally(() => {
      for (const s of sources) closeSync(s.fd);
    });
    return null;
  }

  /** Shutdown: a backup in progress stops at its next chunk (its destination has no manifest). */
  stop(): void {
    this.#stopped = true;
  }

  async #copyAll(target: string, sources: Source[], manifest: Parameters<typeof serializeManifest>[0]): Promise<number> {
    const buf = Buffer.allocUnsafe(backupChunkBytes);
    let total = 0;
    for (const s of sources) {
      await copyFile(s, join(target, s.name), buf, () => this.#stopped);
      total += s.bytes;
    }
    const record = {
      version: 1,
      osprey_version: version,
      commit: commit() ?? "",
      source: this.#dir,
      created_ms: manifest.created_ms,
      snap: manifest.snap,
      wals: sources.slice(1).map((s) => s.name),
      files: sources.map((s) => ({ name: s.name, bytes: s.bytes })),
    };
    writeFileAtomic(join(target, backupManifestName), Buffer.from(JSON.stringify(record, null, 2) + "\n"));
    writeFileAtomic(join(target, manifestName), serializeManifest(manifest));
    syncDir(target);
    return total;
  }

  #done(target: string, startedMs: number, bytes: number, error: string | null, point: string): void {
    this.#running = false;
    this.lastDest = target;
    this.lastMs = Date.now();
    this.lastDurationMs = performance.now() - startedMs;
    this.lastBytes = bytes;
    if (error === null) {
      this.backupsTotal++;
      this.lastError = "";
      log.info(`backup to ${target} done: ${bytes} bytes up to ${point} in ${this.lastDurationMs.toFixed(0)} ms`);
    } else {
      this.failuresTotal++;
      this.lastError = error;
      log.error(`backup to ${target} failed (it has no ${manifestName}, so no server starts from it): ${error}`);
    }
  }
}

/** Copies `s.bytes` bytes of `s.fd` into a new file `path` and fdatasyncs it, off the event loop. */
async function copyFile(s: Source, path: string, buf: Buffer, stopped: () => boolean): Promise<void> {
  const out = openSync(path, "wx", 0o600);
  try {
    for (let pos = 0; pos < s.bytes; ) {
      if (stopped()) throw new Error("the server is shutting down");
      const n = await readAt(s.fd, buf, Math.min(buf.length, s.bytes - pos), pos);
      if (n === 0) throw new Error(`${s.name} ended at byte ${pos} of ${s.bytes}`);
      for (let off = 0; off < n; ) off += await writeAt(out, buf, off, n - off, pos + off);
      pos += n;
    }
    await new Promise<void>((ok, fail) => fdatasync(out, (err) => (err ? fail(err) : ok())));
  } finally {
    closeSync(out);
  }
}

function readAt(fd: number, buf: Buffer, len: number, pos: number): Promise<number> {
  return new Promise((ok, fail) => read(fd, buf, 0, len, pos, (err, n) => (err ? fail(err) : ok(n))));
}

function writeAt(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((ok, fail) => write(fd, buf, off, len, pos, (err, n) => (err ? fail(err) : ok(n))));
}
