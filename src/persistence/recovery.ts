// Recovery at start-up: MANIFEST.json → its snapshot → every WAL from `next_wal` on, in order.
// Nothing is skipped silently: the only damage repaired on its own is a torn or bad record at the
// very end of the newest WAL (a crash mid-append), and its bytes are kept in a `.broken` file.
// Anything else stops the server with the file and byte offset, unless `--repair` was given: then
// damaged stretches are salvaged around (walk.ts), their bytes set aside in `.broken` files, and
// the repaired state written as a snapshot before any client is served, so the repair sticks.
// `check` runs the same code reading only. docs/FORMAT.md ("Recovery") states these rules.

import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import { assert } from "../assert.ts";
import { noExpiry, Store } from "../engine/store.ts";
import { log } from "../log.ts";
import { FileReader, syncDir, syncFile, writeFileAtomic } from "./files.ts";
import { brokenName, entryBytesMin, fileIndex, manifestName, parseManifest, parseRecord, RecordType, snapName, tmpName, walName, type Manifest, type RecordView } from "./format.ts";
import { Progress } from "./progress.ts";
import { lastSnapIndex, writeSnapshotNow } from "./snapshot.ts";
import { walkSnapshot, walkWal, type Damage } from "./walk.ts";

/** Recovery refused to go on: the message names the file and byte offset. */
export class RecoveryError extends Error {}

/** Something recovery found wrong. */
export interface Problem {
  /** "torn": a write cut short at the end of the newest WAL, which a plain start trims; "damage": anything else, which it refuses. */
  kind: "torn" | "damage";
  /** The file it is in (a base name). */
  file: string;
  /** What is wrong, naming the file and byte offset. */
  message: string;
  /** What `--repair` does about it (in check mode: would do). */
  action: string;
  /** The damaged bytes [start, end) of `file`, when the problem is in its contents. */
  start?: number;
  end?: number;
  /** Keys read from the damaged bytes (see walk.ts's Damage). */
  keys?: Buffer[];
  moreKeys?: number;
  /** False when a damaged length was used to read `keys` (see walk.ts's Damage). */
  keysExact?: boolean;
}

/** A snapshot or WAL file recovery read. */
export interface FileReport {
  name: string;
  bytes: number;
  /** Good entries (a snapshot) or records (a WAL) it holds. */
  items: number;
}

export interface RecoveryResult {
  /** Index of the snapshot loaded (after a repair: the one it wrote), or 0. */
  snapIndex: number;
  /** The newest WAL file (appended to from here on), or 0 when there is none yet. */
  walIndex: number;
  walBytes: number;
  /** Index the next WAL file would have if none exists: the manifest's next_wal, else 1. */
  nextWalIndex: number;
  entriesLoaded: number;
  recordsReplayed: number;
  trimmedBytes: number;
  ms: number;
  /** Every problem found, in the order met. */
  problems: Problem[];
  /** The files read, in order. */
  files: FileReport[];
  /** The manifest read, or null (missing or unreadable). */
  manifest: Manifest | null;
  /** The snapshot recovery read (loaded, or only checked when `loadSnapshot` is false), or null. */
  snapName: string | null;
}

/** What recovery applies entries and records to: a Store, or anything that keeps the same account (`osprey dump`'s). */
export type RecoveryTarget = Pick<Store, "reserve" | "loaded" | "load" | "find" | "delete" | "expireAt" | "clear">;

export interface RecoveryOptions {
  /** Salvage past damage instead of refusing, and write the repaired state before returning. */
  repair?: boolean;
  /**
   * Read only (the `check` and `dump` tools): meet every problem as `--repair` would, but record it
   * in `problems` instead of refusing or fixing it; nothing in the directory is changed.
   */
  check?: boolean;
  nowMs?: number;
  /**
   * false: the snapshot is read (and checked) but its entries are not given to the target, so only
   * the WALs' records are (`osprey dump` streams the snapshot itself afterwards). Default true.
   */
  loadSnapshot?: boolean;
}

type Mode = "start" | "repair" | "check";

export function recover(dir: string, store: RecoveryTarget, options: RecoveryOptions = {}): RecoveryResult {
  const started = performance.now();
  unknownTypesWarned = false;
  const now = options.nowMs ?? Date.now();
  const mode: Mode = options.check === true ? "check" : options.repair === true ? "repair" : "start";
  const result: RecoveryResult = {
    snapIndex: 0,
    walIndex: 0,
    walBytes: 0,
    nextWalIndex: 1,
    entriesLoaded: 0,
    recordsReplayed: 0,
    trimmedBytes: 0,
    ms: 0,
    problems: [],
    files: [],
    manifest: null,
    snapName: null,
  };
  if (!existsSync(dir)) return result;
  const r = new Recovery(dir, store, mode, now, result, options.loadSnapshot !== false);
  try {
    r.run();
  } finally {
    r.progress.done();
    store.loaded();
  }
  result.ms = performance.now() - started;
  return result;
}

class Recovery {
  readonly progress = new Progress();
  /** Snapshots found damaged: a repair sets them aside once its own snapshot replaces them. */
  readonly damagedSnaps: string[] = [];

  constructor(
    readonly dir: string,
    readonly store: RecoveryTarget,
    readonly mode: Mode,
    readonly now: number,
    readonly result: RecoveryResult,
    readonly loadsSnapshot: boolean,
  ) {}

  /** Whether this recovery may change the directory (a plain start trims torn tails; a repair fixes). */
  get writes(): boolean {
    return this.mode !== "check";
  }

  /**
   * A problem a plain start refuses: throws when starting; else records it (with what --repair
   * does about it, `action()`, called only then) and, when repairing, logs it. The caller then goes
   * on as a repair does, changing files only when `writes`.
   */
  refuse(p: Omit<Problem, "action" | "kind">, hint: string, action: () => string, fix?: () => void): void {
    if (this.mode === "start") throw new RecoveryError(`${p.message}: refusing to start (${hint})`);
    const problem: Problem = { kind: "damage", ...p, action: action() };
    this.result.problems.push(problem);
    if (this.mode === "repair") log.error(`repair: ${p.message}; ${problem.action}`);
    if (this.writes) fix?.();
  }

  run(): void {
    const { dir, result } = this;
    const manifestPath = join(dir, manifestName);
    let firstWal = 1;
    const read = existsSync(manifestPath) ? readManifest(manifestPath) : null;
    if (read === null || typeof read === "string") firstWal = this.withoutManifest(read);
    else {
      const manifest = read;
      result.manifest = manifest;
      firstWal = fileIndex(manifest.next_wal, "wal");
      result.nextWalIndex = firstWal;
      if (!existsSync(join(dir, manifest.snap))) {
        this.refuse({ file: manifest.snap, message: `${manifest.snap} is named by ${manifestName} but missing` }, "--repair starts from the WALs alone", () => "recovering from the WALs alone");
      } else {
        result.entriesLoaded = this.loadSnapshot(manifest.snap);
        result.snapIndex = fileIndex(manifest.snap, "snap");
      }
    }

    const replay = walIndexes(dir).filter((i) => i >= firstWal);
    if (replay.length > 0 && result.manifest !== null && replay[0] !== firstWal) {
      this.refuse({ file: walName(firstWal), message: `${walName(firstWal)} is named by ${manifestName} as the next WAL but is missing` }, "--repair recovers up to the gap", () => "recovering up to the gap", () => this.moveAside(replay, 0));
      replay.length = 0;
    }
    for (let i = 1; i < replay.length; i++) {
      if (replay[i] !== replay[i - 1]! + 1) {
        const missing = walName(replay[i - 1]! + 1);
        this.refuse({ file: missing, message: `${missing} is missing between ${walName(replay[i - 1]!)} and ${walName(replay[i]!)}` }, "--repair recovers up to the gap", () => "recovering up to the gap", () => this.moveAside(replay, i));
        replay.length = i;
        break;
      }
    }
    for (let i = 0; i < replay.length; i++) this.replayWal(replay[i]!, i === replay.length - 1);
    if (replay.length > 0) {
      result.walIndex = replay[replay.length - 1]!;
      result.walBytes = statSync(join(dir, walName(result.walIndex))).size;
    }
    if (this.mode === "repair" && result.problems.some((p) => p.kind === "damage")) this.settle();
  }

  /**
   * No MANIFEST.json, or one that cannot be read (`problem` says why). Every data_dir gets one when
   * it is first opened, so a directory that holds a snapshot, or WALs that no longer start at
   * wal-00000001 (older ones were compacted into a snapshot), lost it — and an unreadable one is
   * damage whatever the directory holds: starting from what is left could silently drop data, so a
   * plain start refuses. `--repair` rebuilds the state from the newest snapshot that checks whole
   * (else the newest, salvaged) and every WAL present, in order: records are absolute, so replaying
   * WALs the snapshot already covers changes nothing. A directory without a manifest, without
   * snapshots and with WALs from wal-00000001 on (a new one, or one written by the original Osprey)
   * is replayed whole, as before. Returns the first WAL to replay.
   */
  withoutManifest(problem: string | null): number {
    const { dir, result } = this;
    const names = readdirSync(dir);
    const snaps = names.filter((n) => fileIndex(n, "snap") >= 0).sort((a, b) => fileIndex(a, "snap") - fileIndex(b, "snap"));
    const wals = walIndexes(dir);
    const firstWal = wals.length > 0 ? wals[0]! : 1;
    if (problem === null && snaps.length === 0 && firstWal === 1) return 1;
    const found = [...snaps, ...(wals.length > 0 ? [`${walName(wals[0]!)} … ${walName(wals[wals.length - 1]!)}`] : [])].join(", ");
    const what = problem === null ? `${manifestName} is missing` : `${manifestName} ${problem}`;
    let chosen: string | undefined;
    this.refuse(
      { file: manifestName, message: found === "" ? what : `${what} but the directory holds ${found}` },
      `--repair rebuilds the manifest from the newest snapshot and the WALs`,
      () => {
        const passed: string[] = [];
        chosen = snaps.length > 1 ? newestWhole(dir, snaps, passed) : snaps[0];
        this.damagedSnaps.push(...passed);
        const skipped = passed.length > 0 ? ` (${passed.join(", ")} did not check whole)` : "";
        return `rebuilding the state from ${chosen ?? "no snapshot"}${skipped} and ${wals.length} WAL file(s) from ${walName(firstWal)} on`;
      },
    );
    if (chosen !== undefined) {
      result.entriesLoaded = this.loadSnapshot(chosen);
      result.snapIndex = fileIndex(chosen, "snap");
    }
    result.nextWalIndex = firstWal;
    return firstWal;
  }

  /** Loads a snapshot: strictly at a plain start, salvaging every entry that checks otherwise. */
  loadSnapshot(name: string): number {
    const { store, now } = this;
    const path = join(this.dir, name);
    let loaded = 0;
    this.result.snapName = name;
    const load = this.loadsSnapshot;
    // A Store takes each key's hash from the walk, which computes it natively with the crc.
    const hashed = store instanceof Store ? store : null;
    const walk = walkSnapshot(path, {
      salvage: this.mode !== "start",
      // Bounded by what the file can hold, so a damaged count cannot reserve memory for nothing.
      header: (count, size) => store.reserve(Math.min(Math.max(count, 0), Math.floor(size / entryBytesMin))),
      hashSeed: hashed?.hashSeed,
      bulk: (hashes, at, stride, n) => hashed?.touchHomes(hashes, at, stride, n),
      entry: (b, e, hash) => {
        if (!load || (e.expiryMs !== noExpiry && e.expiryMs <= now)) return;
        const ke = e.keyStart + e.keyLen;
        if (hashed !== null) hashed.loadHashed(hash, b, e.keyStart, ke, b, ke, ke + e.valueLen, e.expiryMs, e.version);
        else store.load(b, e.keyStart, ke, b, ke, ke + e.valueLen, e.expiryMs, e.version);
        loaded++;
      },
      tick: (offset, size, items) => this.progress.tick(`loading ${name}`, offset, size, items),
    });
    this.result.files.push({ name, bytes: walk.size, items: walk.entries });
    if (walk.damage.length === 0) return loaded;
    if (this.mode === "start") {
      const d = walk.damage[0]!;
      const hint = walk.count < 0 ? "--repair keeps every entry after the header that checks" : "--repair keeps every entry that checks";
      throw new RecoveryError(`${name}: ${d.why}: refusing to start (${hint})`);
    }
    this.damagedSnaps.push(name);
    for (const d of walk.damage) {
      this.refuse({ file: name, message: `${name}: ${d.why}`, ...range(d) }, "", () => `${describeLoss(d, "entries")}; the entries around it are kept`);
    }
    if (this.mode === "repair") log.error(`repair: ${name}: kept ${walk.entries} entries that check (${loaded} live)`);
    return loaded;
  }

  replayWal(index: number, newest: boolean): void {
    const { store, now, result } = this;
    const name = walName(index);
    const path = join(this.dir, name);
    const hashed = store instanceof Store ? store : null;
    const walk = walkWal(path, {
      salvage: this.mode !== "start",
      newest,
      hashSeed: hashed?.hashSeed,
      bulk: (hashes, at, stride, n) => hashed?.touchHomes(hashes, at, stride, n),
      record: (b, rec, inner, hash) => {
        // A SET decoded natively comes with its key's hash; everything else goes the general way.
        if (hash !== null && hashed !== null && rec.type === RecordType.Set && (rec.expiryMs === noExpiry || rec.expiryMs > now)) {
          hashed.loadHashed(hash, b, rec.keyStart, rec.keyStart + rec.keyLen, b, rec.valueStart, rec.valueStart + rec.valueLen, rec.expiryMs, rec.version);
        } else applyRecord(b, rec, inner, store, now);
      },
      tick: (offset, size, items) => this.progress.tick(`replaying ${name}`, offset, size, items),
    });
    result.recordsReplayed += walk.records;
    result.files.push({ name, bytes: walk.size, items: walk.records });
    if (this.mode === "start" && walk.damage.length > 0) {
      const d = walk.damage[0]!;
      throw new RecoveryError(`${name}: ${d.why} with ${walk.size - d.start} bytes after it: refusing to start (--repair skips the damaged bytes and keeps every good record after them)`);
    }
    for (const d of walk.damage) {
      this.refuse({ file: name, message: `${name}: ${d.why}`, ...range(d) }, "", () => `${describeLoss(d, "records")}; every good record after it is kept`);
    }
    // The tail first: cutting stretches out before it would move its offset.
    const torn = walk.torn;
    if (torn !== null) {
      const bytes = walk.size - torn.start;
      result.trimmedBytes += bytes;
      result.problems.push({ kind: "torn", file: name, message: `${name}: ${torn.why}, ${bytes} bytes to the end of the newest WAL`, action: "trimmed (kept in a .broken file), as a plain start does", ...range(torn) });
      if (this.writes) trimTail(path, name, torn.start, torn.cause);
    }
    if (this.writes && walk.damage.length > 0) this.cutOut(path, walk.damage);
  }

  /**
   * --repair: moves each damaged stretch of a WAL to its own `.broken` file and rewrites the WAL
   * without them. Order: every `.broken` copy is whole on disk first, then the WAL is replaced the
   * atomic way (tmp → fdatasync → rename → fsync dir): a crash leaves the bytes in one place or both.
   */
  cutOut(path: string, damage: Damage[]): void {
    const name = basename(path);
    const size = statSync(path).size;
    const r = new FileReader(path, size);
    try {
      for (const d of damage) {
        const broken = freeBrokenName(path);
        writeFileAtomic(broken, copyRange(r, d.start, d.end));
        log.error(`repair: ${name}: bytes ${d.start}..${d.end} moved to ${basename(broken)}`);
      }
      const tmp = tmpName(path);
      const fd = openSync(tmp, "w");
      try {
        let from = 0;
        let pos = 0;
        for (const stretch of [...damage, { start: size, end: size }]) {
          for (let at = from; at < stretch.start; ) {
            const n = Math.min(stretch.start - at, r.buf.length);
            r.seek(at);
            r.need(n);
            pos += writeAll(fd, r.buf, r.pos, n, pos);
            at += n;
          }
          from = stretch.end;
        }
        syncFile(fd, tmp);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
      syncDir(this.dir);
    } finally {
      r.close();
    }
  }

  /**
   * Makes a repair stick: the repaired state is written as the next snapshot, with a manifest
   * naming it and a new, empty WAL, before the server serves anyone; a later plain start then
   * loads that and finds none of the damage. Damaged snapshots it replaces are set aside as
   * `.broken` (a snapshot's clean-up would delete them, and they are the evidence).
   */
  settle(): void {
    const { dir, result, store } = this;
    if (!(store instanceof Store) || !this.loadsSnapshot) return assert(false, "a repair writes the Store it recovered the whole state into");
    const snapIndex = lastSnapIndex(dir) + 1;
    const nextWal = result.walIndex > 0 ? result.walIndex + 1 : result.nextWalIndex;
    const entries = writeSnapshotNow(dir, store, snapIndex, nextWal, this.now);
    for (const snap of this.damagedSnaps) {
      const broken = freeBrokenName(join(dir, snap));
      renameSync(join(dir, snap), broken);
      log.error(`repair: set ${snap} aside as ${basename(broken)}`);
    }
    if (this.damagedSnaps.length > 0) syncDir(dir);
    log.info(`repair: the repaired state (${entries} keys) is written to ${snapName(snapIndex)} and ${manifestName}; the WAL continues in ${walName(nextWal)}, so the next start needs no --repair`);
    result.snapIndex = snapIndex;
    result.walIndex = 0;
    result.walBytes = 0;
    result.nextWalIndex = nextWal;
  }

  /** --repair: WALs after a gap are renamed `.broken`, not deleted. */
  moveAside(indexes: number[], from: number): void {
    for (let i = from; i < indexes.length; i++) {
      const name = walName(indexes[i]!);
      const broken = freeBrokenName(join(this.dir, name));
      renameSync(join(this.dir, name), broken);
      log.error(`repair: set ${name} aside as ${basename(broken)}`);
    }
    if (from < indexes.length) syncDir(this.dir);
  }
}

/** The WAL indexes present in `dir`, ascending. */
function walIndexes(dir: string): number[] {
  return readdirSync(dir)
    .map((name) => fileIndex(name, "wal"))
    .filter((i) => i >= 0)
    .sort((a, b) => a - b);
}

/** The newest of `snaps` (ascending) that checks whole, else the newest; those passed over go in `passed`. */
function newestWhole(dir: string, snaps: string[], passed: string[]): string {
  for (let i = snaps.length - 1; i >= 0; i--) {
    if (walkSnapshot(join(dir, snaps[i]!), { salvage: true }).damage.length === 0) return snaps[i]!;
    passed.push(snaps[i]!);
  }
  passed.length = 0;
  return snaps[snaps.length - 1]!;
}

/** The manifest at `path`, or why it cannot be used (it is unreadable, not JSON, or names no files). */
function readManifest(path: string): Manifest | string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return `cannot be read (${(e as Error).message})`;
  }
  return parseManifest(text);
}

function range(d: Damage): Pick<Problem, "start" | "end" | "keys" | "moreKeys" | "keysExact"> {
  return { start: d.start, end: d.end, keys: d.keys, moreKeys: d.moreKeys, keysExact: d.keysExact };
}

/** "bytes 120..181 skipped; keys lost: \"a\", \"b\"" — the keys when readable, else only the range. */
function describeLoss(d: Damage, what: "entries" | "records"): string {
  const bytes = d.end > d.start ? `bytes ${d.start}..${d.end} skipped` : "nothing to skip";
  if (d.keys.length === 0) return d.end > d.start ? `${bytes}; no key readable in them` : bytes;
  const more = d.moreKeys > 0 ? ` and ${d.moreKeys} more` : "";
  const caveat = d.keysExact ? "" : " (read with a damaged length: a key may be cut short or run on)";
  return `${bytes}; ${what === "entries" ? "keys lost" : "keys whose change is lost"}: ${d.keys.map(formatKey).join(", ")}${more}${caveat}`;
}

/** A key for a message: JSON-quoted when it is UTF-8, else 0x and hex. */
export function formatKey(key: Uint8Array): string {
  try {
    return JSON.stringify(new TextDecoder("utf-8", { fatal: true }).decode(key));
  } catch {
    return `0x${Buffer.from(key).toString("hex")}`;
  }
}

/** Record types this version does not know are warned about once per recovery, not once per record. */
let unknownTypesWarned = false;

function applyRecord(b: Uint8Array, rec: RecordView, inner: RecordView, store: RecoveryTarget, now: number): void {
  const ks = rec.keyStart;
  const ke = ks + rec.keyLen;
  switch (rec.type) {
    case RecordType.Set: {
      if (rec.expiryMs === noExpiry || rec.expiryMs > now) {
        store.load(b, ks, ke, b, rec.valueStart, rec.valueStart + rec.valueLen, rec.expiryMs, rec.version);
        return;
      }
      const id = store.find(b, ks, ke);
      if (id >= 0) store.delete(id);
      return;
    }
    case RecordType.Del: {
      const id = store.find(b, ks, ke);
      if (id >= 0) store.delete(id);
      return;
    }
    case RecordType.Expire: {
      const id = store.find(b, ks, ke);
      if (id < 0) return;
      if (rec.expiryMs !== noExpiry && rec.expiryMs <= now) store.delete(id);
      else store.expireAt(id, rec.expiryMs);
      return;
    }
    case RecordType.Batch:
    case RecordType.ClearBatch:
      applyBatch(b, rec, inner, store, now);
      return;
    case RecordType.Clear:
      store.clear();
      return;
    default:
      if (!unknownTypesWarned) {
        unknownTypesWarned = true;
        log.warn(`recovery: skipping WAL records of unknown type ${rec.type} (written by a newer Osprey?)`);
      }
  }
}

/** Applies the items of a batch that checkBatch passed, in order (a ClearBatch's CLEARs included): its value holds them back to back. */
function applyBatch(b: Uint8Array, batch: RecordView, item: RecordView, store: RecoveryTarget, now: number): void {
  const end = batch.valueStart + batch.valueLen;
  for (let at = batch.valueStart; at < end; at += item.bytes) {
    parseRecord(b, at, end, item);
    applyRecord(b, item, item, store, now);
  }
}

/**
 * Cuts path at `at`, keeping the cut bytes in `<name>.broken` (never overwriting an older one).
 * Order: the copy is whole on disk (tmp → fdatasync → rename → fsync dir) before the cut, and the
 * cut is synced before recovery goes on — a crash in between leaves the bytes in one place or both.
 */
function trimTail(path: string, name: string, at: number, why: string): void {
  const size = statSync(path).size;
  const r = new FileReader(path, size);
  let tail: Buffer;
  try {
    tail = copyRange(r, at, size);
  } finally {
    r.close();
  }
  const broken = freeBrokenName(path);
  writeFileAtomic(broken, tail);
  const fd = openSync(path, "r+");
  try {
    ftruncateSync(fd, at);
    syncFile(fd, name);
  } finally {
    closeSync(fd);
  }
  syncDir(join(path, ".."));
  log.warn(`recovery: trimmed ${tail.length} bytes from the end of ${name} at byte ${at} (${why}); they are kept in ${basename(broken)}`);
}

/** A copy of the file's bytes [from, to). */
function copyRange(r: FileReader, from: number, to: number): Buffer {
  r.seek(from);
  r.need(to - from);
  return Buffer.from(r.buf.subarray(r.pos, r.pos + (to - from)));
}

function writeAll(fd: number, b: Buffer, at: number, n: number, pos: number): number {
  for (let off = 0; off < n; ) off += writeSync(fd, b, at + off, n - off, pos + off);
  return n;
}

/** The first `<path>.broken`, `.broken.1`, … that does not exist: an older one is never overwritten. */
function freeBrokenName(path: string): string {
  let broken = brokenName(path);
  for (let i = 1; existsSync(broken); i++) broken = brokenName(path, i);
  return broken;
}
