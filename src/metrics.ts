// The server's numbers, gathered into one typed object: STATS (text protocol) and INFO (RESP)
// both render from it, each in its own format, so neither is derived from the other's text.

import type { Context } from "./commands/context.ts";
import { perServer, Stat } from "./commands/context.ts";
import { commands } from "./commands/table.ts";
import { type CommandLatency, Histogram, latencyBoundsS } from "./histogram.ts";
import { clientsOf } from "./net/clients.ts";

export { Histogram, latencyBoundsS };

/**
 * How long each socket read took to handle: parsing, running and answering every request it
 * carried. It uses the clock reads the busy_warn_ms check makes anyway, so requests themselves are
 * not timed one by one (commands/timing.ts explains why the clock is not read per request).
 */
export const readLatency = new Histogram(latencyBoundsS);

/** The listener reports each socket read it handled, with its duration. */
export function readHandled(ms: number): void {
  readLatency.observe(ms);
}

/** The runs of one command (see `commandRuns`): their durations, and the requests they held. */
export interface CommandRuns {
  readonly durations: Histogram;
  requests: number;
}

/**
 * Durations of the dispatcher's timing runs (commands/timing.ts), by the command that names the
 * run: its largest request, or a TimedAlone request, which is a run of its own. The clock is read
 * once per run, not per request, so this is not a per-request latency: a run holds one request
 * when the client waits for each reply, up to slowlogRunRequestsMax of a pipelined batch when it
 * does not, and every run is one request when slowlog_threshold_ms is below
 * slowlogRunThresholdMsMin. Keyed by the table row's name: at most one entry per command, made the
 * first time it names a run. Runs of unknown commands only are not recorded.
 */
export const commandRuns = new Map<string, CommandRuns>();

/**
 * The runs of the command called `name`, made the first time it names one. timing.ts keeps what
 * this returns on the command's route, so closing a run (at P=1, once per request) does not hash
 * the name again.
 */
export function runsOf(name: string): CommandRuns {
  let runs = commandRuns.get(name);
  if (runs === undefined) {
    runs = { durations: new Histogram(latencyBoundsS), requests: 0 };
    commandRuns.set(name, runs);
  }
  return runs;
}

/** timing.ts reports each run it closed: the command's runs (runsOf), its duration, the requests in it. */
export function runTimed(runs: CommandRuns, ms: number, requests: number): void {
  runs.durations.observe(ms);
  runs.requests += requests;
}

/**
 * INFO's instantaneous_ops_per_sec, as Redis computes it: requests per second over the last
 * samples taken on the server's background tick (about 100–200 ms apart, so over a few seconds).
 */
export class OpsMeter {
  static readonly samplesMax = 16;
  readonly #times = new Float64Array(OpsMeter.samplesMax);
  readonly #totals = new Float64Array(OpsMeter.samplesMax);
  #next = 0;
  #taken = 0;

  /** Records the requests counted so far at `nowMs` (a monotonic clock). */
  tick(nowMs: number, total: number): void {
    this.#times[this.#next] = nowMs;
    this.#totals[this.#next] = total;
    this.#next = (this.#next + 1) % OpsMeter.samplesMax;
    if (this.#taken < OpsMeter.samplesMax) this.#taken++;
  }

  /** Requests per second between the oldest and the newest sample; 0 before two samples. */
  get perSecond(): number {
    if (this.#taken < 2) return 0;
    const newest = (this.#next + OpsMeter.samplesMax - 1) % OpsMeter.samplesMax;
    const oldest = this.#taken < OpsMeter.samplesMax ? 0 : this.#next;
    const ms = this.#times[newest]! - this.#times[oldest]!;
    // A CONFIG RESETSTAT between the samples makes the difference negative: no rate until it is passed.
    const requests = this.#totals[newest]! - this.#totals[oldest]!;
    return ms <= 0 || requests < 0 ? 0 : Math.round((requests * 1000) / ms);
  }
}

/** The ops meter of the server `ctx` belongs to; the server's background tick feeds it. */
export const opsMeterOf: (ctx: Context) => OpsMeter = perServer(() => new OpsMeter());

/** One command table row's counters (INFO commandstats and latencystats, /metrics by command). */
export interface CommandMetrics {
  /** Lower-case, as Redis names commands in INFO. */
  readonly name: string;
  readonly calls: number;
  readonly failed: number;
  readonly rejected: number;
  /** The sampled latency (commands/timing.ts), or null before the first sample. */
  readonly latency: CommandLatency | null;
}

/** The rows that were called, refused or timed since the start (or CONFIG RESETSTAT), in table order. */
function commandMetrics(ctx: Context): CommandMetrics[] {
  const s = ctx.stats;
  const out: CommandMetrics[] = [];
  commands.forEach((c, i) => {
    const latency = s.latency[i] ?? null;
    if (s.calls[i] === 0 && s.failed[i] === 0 && s.rejected[i] === 0 && latency === null) return;
    out.push({ name: c.name.toLowerCase(), calls: s.calls[i]!, failed: s.failed[i]!, rejected: s.rejected[i]!, latency });
  });
  return out;
}

/** The write-ahead log, snapshots and recovery; null for a memory-only keyspace. */
export interface DurabilityMetrics {
  walCurrent: string;
  walBytes: number;
  walWrittenBytesTotal: number;
  walWritesTotal: number;
  walSyncsTotal: number;
  walLastSyncMs: number;
  /** Durations of the WAL's fdatasyncs run off the event loop (group commit, the batch timer). */
  walSyncLatency: Histogram;
  walErrorsTotal: number;
  /** null while the log writes; otherwise why writes are refused. */
  walFailure: string | null;
  /** null while writes fit; otherwise why the log refuses them for lack of room. */
  walRefusal: string | null;
  /** null while rotations succeed; otherwise why the last one failed (the log goes on in the current file). */
  walRotateFailure: string | null;
  walRotateFailuresTotal: number;
  snapshotsTotal: number;
  snapshotFailuresTotal: number;
  snapshotInProgress: boolean;
  lastSnapshotMs: number;
  lastSnapshotDurationMs: number;
  lastSnapshotWorkMs: number;
  lastSnapshotLongestSliceMs: number;
  lastSnapshotKeys: number;
  lastSnapshotBytes: number;
  /** Wall time of each completed snapshot, from start to manifest. */
  snapshotDurations: Histogram;
  backupInProgress: boolean;
  backupsTotal: number;
  backupFailuresTotal: number;
  lastBackupMs: number;
  lastBackupDurationMs: number;
  lastBackupBytes: number;
  /** The latest backup's destination, "" before the first; why it failed, "" when it did not. */
  lastBackupDest: string;
  lastBackupError: string;
  recoveryMs: number;
  recoveryKeysLoaded: number;
  recoveryRecordsReplayed: number;
  recoveryTrimmedBytes: number;
  /** Where CRC32C runs: the native library or the TypeScript fallback. */
  native: string;
}

export interface Metrics {
  uptimeMs: number;
  clients: number;
  maxClients: number;
  keys: number;
  keysWithExpiry: number;
  expiredTotal: number;
  evictedTotal: number;
  /** Bytes the keyspace holds as max_memory_bytes counts them (Store.usedMemory). */
  usedMemory: number;
  /** max_memory_bytes in force (CONFIG SET maxmemory changes it); 0 = no limit. */
  maxMemory: number;
  evictionPolicy: string;
  /** Key and value bytes (as allocated) of the evicted keys. */
  evictedBytesTotal: number;
  /** Writes refused with OOM (ERR OOM / -OOM). */
  oomRejectionsTotal: number;
  /** Requests per command table Stat (see Stats.commands). */
  commands: Float64Array;
  commandsTotal: number;
  /** Requests per second lately (OpsMeter). */
  opsPerSec: number;
  /** Per command table row that was used. */
  perCommand: CommandMetrics[];
  /** Error replies by kind, sorted by kind (INFO errorstats). */
  errorKinds: [kind: string, count: number][];
  /** Reading commands' lookups that found a live key, and that did not (Store.reads). */
  keyspaceHits: number;
  keyspaceMisses: number;
  /** CPU time of the process so far, in seconds. */
  cpuUserS: number;
  cpuSystemS: number;
  errorsTotal: number;
  connectionsTotal: number;
  rejectedClientsTotal: number;
  /** Connections that have not authenticated yet, and the authentication counters of Stats. */
  unauthenticatedClients: number;
  rejectedUnauthenticatedTotal: number;
  authFailuresTotal: number;
  authTimeoutsTotal: number;
  idleTimeoutsTotal: number;
  /** Unparsed input buffered by all clients (their buffers' capacity), and the clients dropped to bound it. */
  clientInputBytes: number;
  inputLimitDisconnectsTotal: number;
  clientOutputBytes: number;
  outputLimitDisconnectsTotal: number;
  slowCommandsTotal: number;
  durability: DurabilityMetrics | null;
  syncPolicy: string;
  dataBytes: number;
  memRssBytes: number;
  memHeapBytes: number;
}

/** Reads every number now. Not for hot paths: it asks the OS for the process's memory. */
export function collectMetrics(ctx: Context, nowMs: number): Metrics {
  const s = ctx.stats;
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    uptimeMs: nowMs - ctx.startedMs,
    clients: ctx.clients,
    maxClients: ctx.config.clientsMax,
    keys: ctx.store.size,
    keysWithExpiry: ctx.store.keysWithExpiry,
    expiredTotal: ctx.store.expiredTotal,
    evictedTotal: ctx.store.evictedTotal,
    usedMemory: ctx.store.usedMemory,
    maxMemory: ctx.store.maxMemory,
    evictionPolicy: ctx.store.evictionPolicy,
    evictedBytesTotal: ctx.store.evictedBytesTotal,
    oomRejectionsTotal: ctx.store.oomRejectionsTotal,
    commands: s.commands.slice(0, Stat.Other + 1),
    commandsTotal: s.commandsTotal,
    opsPerSec: opsMeterOf(ctx).perSecond,
    perCommand: commandMetrics(ctx),
    errorKinds: [...s.errorKinds].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    keyspaceHits: ctx.store.reads[0]!,
    keyspaceMisses: ctx.store.reads[1]!,
    cpuUserS: cpu.user / 1e6,
    cpuSystemS: cpu.system / 1e6,
    errorsTotal: s.errorsTotal,
    connectionsTotal: s.connectionsTotal,
    rejectedClientsTotal: s.rejectedClientsTotal,
    unauthenticatedClients: clientsOf(ctx).unauthenticated,
    rejectedUnauthenticatedTotal: s.rejectedUnauthenticatedTotal,
    authFailuresTotal: s.authFailuresTotal,
    authTimeoutsTotal: s.authTimeoutsTotal,
    idleTimeoutsTotal: s.idleTimeoutsTotal,
    clientInputBytes: ctx.input.bytes,
    inputLimitDisconnectsTotal: ctx.input.disconnectsTotal,
    clientOutputBytes: ctx.output.bytes,
    outputLimitDisconnectsTotal: ctx.output.disconnectsTotal,
    slowCommandsTotal: s.slowCommandsTotal,
    durability: durabilityMetrics(ctx),
    syncPolicy: ctx.config.syncPolicy,
    dataBytes: ctx.store.dataBytes,
    memRssBytes: mem.rss,
    memHeapBytes: mem.heapUsed,
  };
}

function durabilityMetrics(ctx: Context): DurabilityMetrics | null {
  const p = ctx.persistence;
  if (p === null) return null;
  const w = p.wal;
  const s = p.snapshots;
  return {
    walCurrent: w.currentName,
    walBytes: w.currentBytes,
    walWrittenBytesTotal: w.bytesTotal,
    walWritesTotal: w.writesTotal,
    walSyncsTotal: w.syncsTotal,
    walLastSyncMs: w.lastSyncMs,
    walSyncLatency: w.syncLatency,
    walErrorsTotal: w.errorsTotal,
    walFailure: w.failure,
    walRefusal: w.refusal,
    walRotateFailure: w.rotateFailure,
    walRotateFailuresTotal: w.rotateFailuresTotal,
    snapshotsTotal: s.snapshotsTotal,
    snapshotFailuresTotal: s.failuresTotal,
    snapshotInProgress: s.running,
    lastSnapshotMs: s.lastSnapshotMs,
    lastSnapshotDurationMs: s.lastWallMs,
    lastSnapshotWorkMs: s.lastWorkMs,
    lastSnapshotLongestSliceMs: s.lastLongestSliceMs,
    lastSnapshotKeys: s.lastEntries,
    lastSnapshotBytes: s.lastBytes,
    snapshotDurations: s.durations,
    backupInProgress: p.backups.running,
    backupsTotal: p.backups.backupsTotal,
    backupFailuresTotal: p.backups.failuresTotal,
    lastBackupMs: p.backups.lastMs,
    lastBackupDurationMs: p.backups.lastDurationMs,
    lastBackupBytes: p.backups.lastBytes,
    lastBackupDest: p.backups.lastDest,
    lastBackupError: p.backups.lastError,
    recoveryMs: p.recovery.ms,
    recoveryKeysLoaded: p.recovery.entriesLoaded,
    recoveryRecordsReplayed: p.recovery.recordsReplayed,
    recoveryTrimmedBytes: p.recovery.trimmedBytes,
    native: p.native,
  };
}

/**
 * A field of a rendered report: a name, a value, and whether the value is text (STATS quotes text,
 * INFO does not) rather than a number, possibly formatted to fixed decimals.
 */
export type Field = readonly [name: string, value: number | string, text?: true];

/**
 * The durability fields under their STATS names, in STATS order; without a log only the four that
 * have an obvious empty value. INFO's Persistence section shows the same list.
 */
export function durabilityFields(m: Metrics): Field[] {
  const d = m.durability;
  if (d === null) return [["wal_current", "", true], ["wal_bytes", 0], ["snapshots_total", 0], ["last_snapshot_ms", 0]];
  return [
    ["wal_current", d.walCurrent, true],
    ["wal_bytes", d.walBytes],
    ["wal_written_bytes_total", d.walWrittenBytesTotal],
    ["wal_writes_total", d.walWritesTotal],
    ["wal_syncs_total", d.walSyncsTotal],
    ["wal_last_sync_ms", d.walLastSyncMs.toFixed(3)],
    ["wal_errors_total", d.walErrorsTotal],
    ["wal_status", d.walFailure !== null ? `failing: ${d.walFailure}` : d.walRefusal !== null ? `refusing writes: ${d.walRefusal}` : d.walRotateFailure !== null ? `degraded: cannot rotate: ${d.walRotateFailure}` : "ok", true],
    ["wal_rotate_failures_total", d.walRotateFailuresTotal],
    ["snapshots_total", d.snapshotsTotal],
    ["snapshot_failures_total", d.snapshotFailuresTotal],
    ["snapshot_in_progress", d.snapshotInProgress ? 1 : 0],
    ["last_snapshot_ms", d.lastSnapshotMs],
    ["last_snapshot_duration_ms", d.lastSnapshotDurationMs.toFixed(1)],
    ["last_snapshot_work_ms", d.lastSnapshotWorkMs.toFixed(1)],
    ["last_snapshot_longest_slice_ms", d.lastSnapshotLongestSliceMs.toFixed(2)],
    ["last_snapshot_keys", d.lastSnapshotKeys],
    ["last_snapshot_bytes", d.lastSnapshotBytes],
    ["backup_in_progress", d.backupInProgress ? 1 : 0],
    ["backups_total", d.backupsTotal],
    ["backup_failures_total", d.backupFailuresTotal],
    ["last_backup_ms", d.lastBackupMs],
    ["last_backup_duration_ms", d.lastBackupDurationMs.toFixed(1)],
    ["last_backup_bytes", d.lastBackupBytes],
    ["last_backup_dest", d.lastBackupDest, true],
    ["last_backup_error", d.lastBackupError, true],
    ["recovery_ms", d.recoveryMs.toFixed(1)],
    ["recovery_keys_loaded", d.recoveryKeysLoaded],
    ["recovery_records_replayed", d.recoveryRecordsReplayed],
    ["recovery_trimmed_bytes", d.recoveryTrimmedBytes],
    ["native", d.native, true],
  ];
}
