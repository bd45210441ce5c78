// The native library (native/osprey.c) through bun:ffi: hardware CRC32C, fdatasync, disk
// reservation and the descriptor limit. Loaded once, at first use; when it cannot be built or
// loaded, one warning is logged and TypeScript (and Bun's own fdatasync) take over, so Osprey
// always starts.

import { dlopen, FFIType, ptr } from "bun:ffi";
import { fdatasyncSync, readFileSync } from "node:fs";
import { log } from "../log.ts";
import { copyBytes } from "../bytes.ts";
import { crc32cExtendTs, crc32cTs } from "./crc32c.ts";
import { buildNative, nativeLibrary, nativeStale } from "./build.ts";
import { recordWords } from "../engine/records.ts";
import { prefaultJobsMax } from "../constants.ts";

const symbols = {
  osprey_crc32c: { args: [FFIType.ptr, FFIType.u32, FFIType.u32], returns: FFIType.u32 },
  osprey_crc32c_at: { args: [FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.u32], returns: FFIType.u32 },
  osprey_crc32c_hardware: { args: [], returns: FFIType.i32 },
  osprey_copy_crc32c: { args: [FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.ptr, FFIType.u32, FFIType.u32], returns: FFIType.u32 },
  osprey_crc32c_extend: { args: [FFIType.u32, FFIType.u32, FFIType.u32], returns: FFIType.u32 },
  osprey_wal_records: { args: [FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.u32, FFIType.f64, FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  osprey_snap_entries: { args: [FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.u32, FFIType.u32, FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  osprey_fdatasync: { args: [FFIType.i32], returns: FFIType.i32 },
  osprey_advise_huge: { args: [FFIType.ptr, FFIType.f64], returns: FFIType.i32 },
  osprey_prefault: { args: [FFIType.ptr, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  osprey_collapse: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  osprey_read_ahead: { args: [FFIType.i32, FFIType.f64, FFIType.f64], returns: FFIType.i32 },
  osprey_reserve: { args: [FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 },
  osprey_writeback: { args: [FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 },
  osprey_ignore_sigxfsz: { args: [], returns: FFIType.void },
  osprey_lock: { args: [FFIType.i32], returns: FFIType.i32 },
  osprey_nofile_raise: { args: [], returns: FFIType.i32 },
  osprey_nofile_hard: { args: [], returns: FFIType.i32 },
  osprey_snapshot_fork: { args: [FFIType.ptr, FFIType.f64, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  osprey_can_unidle: { args: [], returns: FFIType.i32 },
  osprey_snapshot_unidle: { args: [FFIType.i32], returns: FFIType.i32 },
  osprey_snapshot_unpace: { args: [], returns: FFIType.void },
  osprey_child_status: { args: [FFIType.i32], returns: FFIType.i32 },
} as const;

type Lib = ReturnType<typeof dlopen<typeof symbols>>["symbols"];

let explicitPath: string | null = null;
let lib: Lib | null = null;
let loaded = false;
let why = "";

/** Uses the library at `path` instead of build/native (a compiled executable embeds its own). Call before first use. */
export function useLibrary(path: string): void {
  explicitPath = path;
  loaded = false;
  lib = null;
}

/** Loads (building first when stale) the library; false, with the reason in `nativeStatus()`, when it cannot. */
export function loadNative(): boolean {
  if (loaded) return lib !== null;
  loaded = true;
  if (process.env.OSPREY_NATIVE === "off") {
    why = "turned off by OSPREY_NATIVE=off";
    log.warn(`native library unavailable, using TypeScript CRC32C and Bun's fdatasync: ${why}`);
    return false;
  }
  let path = explicitPath;
  if (path === null) {
    path = nativeLibrary;
    if (nativeStale()) {
      const err = buildNative();
      if (err !== null) why = err;
    }
  }
  try {
    lib = dlopen(path, symbols).symbols;
    lib.osprey_ignore_sigxfsz();
    why = "";
  } catch (e) {
    lib = null;
    why = why || `cannot load ${path}: ${(e as Error).message}`;
    log.warn(`native library unavailable, using TypeScript CRC32C and Bun's fdatasync: ${why}`);
  }
  return lib !== null;
}

/** "native (hardware crc32c)", "native (table crc32c)" or "typescript (…why…)", for the log and STATS. */
export function nativeStatus(): string {
  if (!loaded) loadNative();
  if (lib === null) return `typescript (${why})`;
  return lib.osprey_crc32c_hardware() ? "native (hardware crc32c)" : "native (table crc32c)";
}

// Below this many bytes the FFI call costs more than the TypeScript loop it replaces.
const ffiBytesMin = 64;

/**
 * CRC32C of b[start..end), continuing from `seed`. The native call gets the array itself plus the
 * offset: a subarray per call would cost more than the call.
 */
export function crc32c(b: Uint8Array, start: number, end: number, seed = 0): number {
  const n = end - start;
  if (lib === null || n < ffiBytesMin) return crc32cTs(b, start, end, seed);
  return lib.osprey_crc32c_at(b, start, n, seed) >>> 0;
}

/**
 * Copies src[start..end) to dst[at..) and returns the raw CRC register `reg` advanced over those
 * bytes (no inversions: start a value at 0 and chain its chunks), in one pass when native.
 * crc32cExtend makes the value's crc32c after a seed of it.
 */
export function copyCrc32c(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number, reg: number): number {
  const n = end - start;
  if (lib === null || n < ffiBytesMin) {
    copyBytes(src, start, end, dst, at);
    return ~crc32cTs(src, start, end, ~reg) >>> 0;
  }
  return lib.osprey_copy_crc32c(src, start, n, dst, at, reg) >>> 0;
}

/** crc32c(value, seed) from `reg0`, copyCrc32c's register over the value's `n` bytes from 0. */
export function crc32cExtend(seed: number, n: number, reg0: number): number {
  if (lib === null) return crc32cExtendTs(seed, n, reg0);
  return lib.osprey_crc32c_extend(seed, n, reg0) >>> 0;
}

/** The TypeScript CRC, for tests comparing both. */
export { crc32cTs };

/** The native CRC, or null without the library (tests, bench). */
export function crc32cNative(b: Uint8Array, start: number, end: number, seed = 0): number | null {
  if (!loaded) loadNative();
  if (lib === null) return null;
  return lib.osprey_crc32c_at(b, start, end - start, seed) >>> 0;
}

/**
 * Decodes in one native call the whole, good snapshot entries of b[start..end), at most
 * `ints.length / 4` (and `nums.length / 2`) of them: for entry i, ints[4i..4i+3] = its offset in
 * b, key length, value length and key hash under `seed` (engine/hashtable.ts's hash), nums[2i] and
 * nums[2i+1] = its expiry and version. It stops at the first entry cut off by `end` or that does
 * not check (lengths past the maxima, crc): the caller reads that one itself. Returns how many it
 * decoded, or -1 without the native library.
 */
export function snapEntries(b: Uint8Array, start: number, end: number, keyMax: number, valueMax: number, seed: number, ints: Int32Array, nums: Float64Array): number {
  if (!loaded) loadNative();
  if (lib === null) return -1;
  const max = Math.min(ints.length >> 2, nums.length >> 1);
  return lib.osprey_snap_entries(b, start, end, keyMax, valueMax, seed, ints, nums, max);
}

/**
 * WAL replay's `snapEntries`: decodes the whole, good SET, DEL and EXPIRE records of b[start..end)
 * in one native call, at most `ints.length / 5` (and `nums.length / 2`): for record i,
 * ints[5i..5i+4] = its offset, type, key length, value length and key hash under `seed`, nums[2i]
 * and nums[2i+1] = its expiry and version. It stops at the first record cut off by `end`, that does
 * not check, or of another type (a batch or a clear): the caller reads that one itself. Returns how
 * many it decoded, or -1 without the native library.
 */
export function walRecords(b: Uint8Array, start: number, end: number, keyMax: number, recordMax: number, seed: number, ints: Int32Array, nums: Float64Array): number {
  if (!loaded) loadNative();
  if (lib === null) return -1;
  const max = Math.min(Math.floor(ints.length / 5), nums.length >> 1);
  return lib.osprey_wal_records(b, start, end, keyMax, recordMax, seed, ints, nums, max);
}

/**
 * Asks for transparent huge pages behind the first `bytes` of `a`'s memory (not yet touched; by
 * default all of it — more than its length for a resizable buffer's reserved range): 0, an errno,
 * or -1 without the native library or on a platform without the advice. A hint: nothing depends on it.
 */
export function adviseHuge(a: Int32Array, bytes = a.byteLength): number {
  if (!loaded) loadNative();
  if (lib === null || a.byteLength === 0) return -1;
  return lib.osprey_advise_huge(a, bytes);
}

/**
 * Faults in the first `bytes` of each view, in order, from a thread of the native library's own,
 * and returns at once (osprey_prefault): so that filling fresh memory (recovery) does not wait
 * while the kernel zeroes each page on first touch. The thread writes into the memory (an atomic
 * add of zero, which changes no byte), so the views are held here until it says it is done: a
 * view the caller lets go meanwhile is freed only after that. Returns 0 when the thread was
 * started, an errno, or -1 without the native library, on a platform without threads for it, or
 * with prefaultJobsMax jobs in flight. A hint: nothing depends on it.
 */
export function prefault(ranges: readonly (readonly [Uint8Array | Int32Array, number])[]): number {
  if (!loaded) loadNative();
  if (lib === null) return -1;
  const pairs = rangePairs(ranges);
  if (pairs === null) return 0;
  sweepPrefaults();
  const slot = prefaultHeld.indexOf(null);
  if (slot < 0) return -1;
  prefaultDone[slot] = 0;
  const rc = lib.osprey_prefault(pairs, pairs.length / 2, ptr(prefaultDone, slot * 4));
  if (rc !== 0) {
    prefaultDone[slot] = 1;
    return rc;
  }
  prefaultHeld[slot] = ranges.map(([view]) => view);
  if (prefaultSweep === null) {
    prefaultSweep = setInterval(sweepPrefaults, prefaultSweepMs);
    prefaultSweep.unref();
  }
  return 0;
}

/** Per prefault job slot: 1 once its thread is done (the thread stores it), 0 while it runs. Off the JS heap's movable space, as a thread writes it. */
const prefaultDone = new Int32Array(Buffer.allocUnsafeSlow(prefaultJobsMax * 4).buffer, 0, prefaultJobsMax).fill(1);
/** Per slot: the views its thread writes into, held until it is done; null for a free slot. */
const prefaultHeld: ((Uint8Array | Int32Array)[] | null)[] = new Array(prefaultJobsMax).fill(null);
/** Lets go of the views of prefault jobs that finished, while any are in flight. */
let prefaultSweep: ReturnType<typeof setInterval> | null = null;
const prefaultSweepMs = 100;

/** Lets go of the views of finished jobs; returns how many are still running. */
function sweepPrefaults(): number {
  let running = 0;
  for (let i = 0; i < prefaultJobsMax; i++) {
    if (prefaultHeld[i] === null) continue;
    if (Atomics.load(prefaultDone, i) === 1) prefaultHeld[i] = null;
    else running++;
  }
  if (running === 0 && prefaultSweep !== null) {
    clearInterval(prefaultSweep);
    prefaultSweep = null;
  }
  return running;
}

/** Prefault jobs whose threads have not finished yet (tests wait for them). */
export function prefaultsRunning(): number {
  return sweepPrefaults();
}

/**
 * Waits until no prefault thread runs. Holding a view keeps its memory allocated but not mapped:
 * a resizable buffer shrunk makes the memory past its new end inaccessible (PROT_NONE), where a
 * thread's touch would crash the process. So whoever shrinks one that may be prefaulted calls this
 * first (FLUSHALL, Store.clear); the jobs are recovery's, long over by then but for a FLUSHALL
 * sent the moment a large recovery ends.
 */
export function waitForPrefaults(): void {
  while (prefaultsRunning() > 0) Bun.sleepSync(1);
}

/**
 * Asks the kernel to put the first `bytes` of each view back on transparent huge pages, from a
 * thread of the native library's own, and returns at once (osprey_collapse): after a snapshot
 * child's copy-on-write split them. Same contract as `prefault`: a hint, returning 0 when the
 * thread was started, an errno, or -1 without the native library or the advice.
 */
export function collapse(ranges: readonly (readonly [Uint8Array | Int32Array, number])[]): number {
  if (!loaded) loadNative();
  if (lib === null) return -1;
  const pairs = rangePairs(ranges);
  return pairs === null ? 0 : lib.osprey_collapse(pairs, pairs.length / 2);
}

/**
 * Reads [from, from + len) of the open file `fd` into the page cache from a thread of the native
 * library's own, ahead of a reader that goes through it front to back (osprey_read_ahead), and
 * returns at once; the thread reads through a descriptor of its own. A hint, as `prefault`: 0 when
 * the thread was started, an errno, or -1 without the native library or readahead.
 */
export function readAheadFile(fd: number, from: number, len: number): number {
  if (!loaded) loadNative();
  if (lib === null) return -1;
  return lib.osprey_read_ahead(fd, from, len);
}

/** `prefault` and `collapse`: the non-empty views as (address, length) pairs for the native thread, or null when none is. */
function rangePairs(ranges: readonly (readonly [Uint8Array | Int32Array, number])[]): Float64Array | null {
  const some = ranges.filter(([view, bytes]) => bytes > 0 && view.byteLength > 0);
  if (some.length === 0) return null;
  const pairs = new Float64Array(some.length * 2);
  some.forEach(([view, bytes], i) => {
    pairs[2 * i] = ptr(view);
    pairs[2 * i + 1] = Math.min(bytes, view.byteLength);
  });
  return pairs;
}

/** Transparent huge pages are 2 MiB here (x86-64 and arm64 with 4 KiB base pages). */
const hugePageBytes = 2 * 1024 * 1024;

/**
 * An uninitialised buffer of `bytes` (a multiple of 2 MiB) that starts on a 2 MiB boundary, its
 * memory advised to be backed by transparent huge pages, so that all of it can be (an unaligned
 * 4 MiB buffer holds only one whole huge page). It is a view into an allocation 2 MiB larger,
 * whose unused ends are never touched and so never resident. Without the native library, a plain
 * buffer: nothing depends on the advice.
 */
export function allocHugeAligned(bytes: number): Buffer {
  if (!loaded) loadNative();
  if (lib === null || bytes % hugePageBytes !== 0) return Buffer.allocUnsafeSlow(bytes);
  const whole = Buffer.allocUnsafeSlow(bytes + hugePageBytes);
  const skip = (hugePageBytes - (ptr(whole) % hugePageBytes)) % hugePageBytes;
  const page = whole.subarray(skip, skip + bytes);
  lib.osprey_advise_huge(page, bytes);
  return page;
}

/** fdatasync(fd): 0 or the errno. Off the event loop, call it from a worker. */
export function fdatasync(fd: number): number {
  if (lib !== null) return lib.osprey_fdatasync(fd);
  try {
    fdatasyncSync(fd);
    return 0;
  } catch (e) {
    return (e as NodeJS.ErrnoException).errno ? -(e as NodeJS.ErrnoException).errno! : 5;
  }
}

/** Reserves disk space for [offset, offset+len) without growing the file: 0, an errno, or -1 when not supported here. */
export function reserve(fd: number, offset: number, len: number): number {
  if (lib === null) return -1;
  return lib.osprey_reserve(fd, offset, len);
}

/**
 * Starts writing [offset, offset+len) of `fd` to disk without waiting (sync_file_range WRITE): 0,
 * an errno, or -1 without the native library. A hint only; an fdatasync still decides durability.
 */
export function startWriteback(fd: number, offset: number, len: number): number {
  if (lib === null) return -1;
  return lib.osprey_writeback(fd, offset, len);
}

/**
 * An exclusive, non-blocking flock on `fd`: 0, an errno (EWOULDBLOCK: someone holds it), or -1
 * without the native library (the caller falls back to the PID in the file).
 */
export function lockFile(fd: number): number {
  if (!loadNative() || lib === null) return -1;
  return lib.osprey_lock(fd);
}

/** The descriptor limits of this process: `soft` is what open() and accept() run into. */
export interface FileLimits {
  soft: number;
  hard: number;
  /** Whether the soft limit could be raised here (false without the native library). */
  raised: boolean;
}

/**
 * Raises the soft RLIMIT_NOFILE to the hard limit and reports both. Without the native library
 * nothing is raised (Bun cannot call setrlimit) and the limits are read from /proc/self/limits;
 * null when even that is not there (not Linux), and the caller cannot check max_clients.
 */
export function raiseFileLimit(): FileLimits | null {
  if (loadNative() && lib !== null) {
    const soft = lib.osprey_nofile_raise();
    const hard = lib.osprey_nofile_hard();
    if (soft > 0 && hard > 0) return { soft, hard, raised: true };
  }
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "latin1"));
    if (m === null) return null;
    const n = (t: string) => (t === "unlimited" ? 2 ** 31 - 1 : Number(t));
    return { soft: n(m[1]!), hard: n(m[2]!), raised: false };
  } catch {
    return null;
  }
}

/**
 * Where a keyspace image lives, for a forked child to walk (Store.snapshotLayout fills it): the
 * metadata arrays indexed by entry id, the slab pages, and the entries with buffers of their own,
 * by ascending id.
 */
export interface SnapshotLayout {
  /** The entry records (engine/records.ts): recordWords words per id; osprey.c reads the same fields. */
  records: Int32Array;
  /** Versions a record's word cannot hold (its word is versionApart), by id; null when no key has one. */
  versionsApart: Float64Array | null;
  expiry: Float64Array;
  idLimit: number;
  /** null (or a hole): a page given back, which no entry uses. */
  pages: readonly (Uint8Array | null | undefined)[];
  largeIds: Int32Array;
  large: readonly Uint8Array[];
}

/** The descriptor's slots, as native/osprey.c's SD_* enum numbers them. */
const enum Sd {
  Fd,
  Records,
  RecordWords,
  Expiry,
  IdLimit,
  Pages,
  PageCount,
  LargeIds,
  LargePtrs,
  LargeCount,
  Chunk,
  ChunkBytes,
  ChunkStart,
  Parent,
  PaceBytesPerSec,
  VersionsApart,
  Slots,
}

/**
 * What the child does once the file is whole and synced (native/osprey.c publish): in directory
 * `dirFd`, rename `tmp` to `name`, fsync the directory, then write `manifest` to `manifestTmp`,
 * fdatasync it, rename it to `manifestName` and fsync the directory again.
 */
export interface SnapshotPublish {
  dirFd: number;
  tmp: string;
  name: string;
  manifestTmp: string;
  manifestName: string;
  manifest: Uint8Array;
}

/** The publishing descriptor's slots, as native/osprey.c's PD_* enum numbers them. */
const enum Pd {
  DirFd,
  Tmp,
  Name,
  ManifestTmp,
  Manifest,
  ManifestBytes,
  ManifestLen,
  Slots,
}

/** A file name as the C side reads it: UTF-8, NUL-terminated. */
function cString(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

/** How the child runs once forked (forkSnapshot). */
export interface SnapshotChildOptions {
  /** Rename the file and write the manifest once it is synced. */
  publish?: SnapshotPublish;
  /** Run under SCHED_IDLE (raise it later with unidleChild); else at nice 19 under SCHED_OTHER. */
  idle?: boolean;
  /** While this process is busy, write at most this many bytes a second (0 or absent: never paced). */
  paceBytesPerSec?: number;
}

/** Whether snapshots can be written by a forked child here (the native library, on Linux). */
export function canForkSnapshots(): boolean {
  return process.platform === "linux" && loadNative() && lib !== null;
}

/**
 * Forks a child that writes the snapshot of `layout` to the open file `fd`, after the header
 * already in `chunk[0..chunkStart)`, leaving out entries expired at `nowMs`; it syncs the file's
 * data, publishes it as `options.publish` says (when given) and exits 0 when done. Returns the child's pid,
 * or -errno. Every address is taken here, in
 * the same synchronous call as the fork: nothing can move or free the memory in between.
 */
export function forkSnapshot(fd: number, layout: SnapshotLayout, chunk: Uint8Array, chunkStart: number, nowMs: number, options: SnapshotChildOptions = {}): number {
  if (!canForkSnapshots()) return -38; // ENOSYS
  const pages = new Float64Array(Math.max(1, layout.pages.length));
  for (let i = 0; i < layout.pages.length; i++) {
    const p = layout.pages[i];
    pages[i] = p === undefined || p === null ? 0 : ptr(p);
  }
  const large = new Float64Array(Math.max(1, layout.large.length));
  for (let i = 0; i < layout.large.length; i++) large[i] = ptr(layout.large[i]!);
  const largeIds = layout.largeIds.length > 0 ? layout.largeIds : new Int32Array(1);
  const d = new Float64Array(Sd.Slots);
  d[Sd.Fd] = fd;
  d[Sd.Records] = ptr(layout.records);
  d[Sd.RecordWords] = recordWords;
  d[Sd.Expiry] = ptr(layout.expiry);
  d[Sd.IdLimit] = layout.idLimit;
  d[Sd.Pages] = ptr(pages);
  d[Sd.PageCount] = layout.pages.length;
  d[Sd.LargeIds] = ptr(largeIds);
  d[Sd.LargePtrs] = ptr(large);
  d[Sd.LargeCount] = layout.large.length;
  d[Sd.Chunk] = ptr(chunk);
  d[Sd.ChunkBytes] = chunk.length;
  d[Sd.ChunkStart] = chunkStart;
  d[Sd.Parent] = process.pid;
  d[Sd.PaceBytesPerSec] = options.paceBytesPerSec ?? 0;
  d[Sd.VersionsApart] = layout.versionsApart === null ? 0 : ptr(layout.versionsApart);
  const idle = options.idle === true ? 1 : 0;
  const publish = options.publish;
  if (publish === undefined) return lib!.osprey_snapshot_fork(d, nowMs, null, idle);
  // Held in locals until the call returns: the child reads them in its copy of this memory.
  const names = [cString(publish.tmp), cString(publish.name), cString(publish.manifestTmp), cString(publish.manifestName)];
  const manifest = publish.manifest.length > 0 ? publish.manifest : new Uint8Array(1);
  const p = new Float64Array(Pd.Slots);
  p[Pd.DirFd] = publish.dirFd;
  p[Pd.Tmp] = ptr(names[0]!);
  p[Pd.Name] = ptr(names[1]!);
  p[Pd.ManifestTmp] = ptr(names[2]!);
  p[Pd.Manifest] = ptr(names[3]!);
  p[Pd.ManifestBytes] = ptr(manifest);
  p[Pd.ManifestLen] = publish.manifest.length;
  return lib!.osprey_snapshot_fork(d, nowMs, p, idle);
}

/**
 * Whether a child forked with `idle` can later be raised back to SCHED_OTHER (unidleChild): the
 * kernel allows leaving SCHED_IDLE only to root or with an RLIMIT_NICE of at least 1.
 */
export function canUnidleChildren(): boolean {
  return canForkSnapshots() && lib!.osprey_can_unidle() === 1;
}

/** Raises child `pid` from SCHED_IDLE to SCHED_OTHER at nice 19; 0, or the errno. */
export function unidleChild(pid: number): number {
  if (lib === null) return 38; // ENOSYS
  return lib.osprey_snapshot_unidle(pid);
}

/** Lets the running snapshot child write at full speed from now on, whatever its pace (osprey_snapshot_unpace). */
export function unpaceChild(): void {
  lib?.osprey_snapshot_unpace();
}

/** A forked child's state without waiting: -1 running, 0–255 its exit status, 256 + signal, -2 gone. */
export function childStatus(pid: number): number {
  if (lib === null) return -2;
  return lib.osprey_child_status(pid);
}
