// PING and STATS.

import type { TextParser } from "../protocol/text.ts";
import { ascii, type Writer } from "../protocol/writer.ts";
import { Err } from "../errors.ts";
import type { Context } from "./context.ts";
import { reject } from "./args.ts";

const PONG = ascii("PONG\r\n");

export function ping(_p: TextParser, _b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  out.bytes(PONG);
}

const SNAPSHOT_STARTED = ascii("OK snapshot started\r\n");

/** SNAPSHOT: starts one in the background → `OK snapshot started`; STATS shows when it is done. */
export function snapshot(_p: TextParser, _b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  const p = ctx.persistence;
  const why = p === null ? "this server keeps no data on disk" : p.snapshots.start("SNAPSHOT command");
  if (why === null) out.bytes(SNAPSHOT_STARTED);
  else reject(ctx, out, ascii(`ERR BUSY ${why}\r\n`));
}

/** Durability fields: the WAL, sync and snapshot counters, recovery. */
function persistenceLines(ctx: Context): [string, string | number][] {
  const p = ctx.persistence;
  if (p === null) return [["wal_current", '""'], ["wal_bytes", 0], ["snapshots_total", 0], ["last_snapshot_ms", 0]];
  const w = p.wal;
  const s = p.snapshots;
  return [
    ["wal_current", `"${w.currentName}"`],
    ["wal_bytes", w.currentBytes],
    ["wal_written_bytes_total", w.bytesTotal],
    ["wal_writes_total", w.writesTotal],
    ["wal_syncs_total", w.syncsTotal],
    ["wal_last_sync_ms", w.lastSyncMs.toFixed(3)],
    ["wal_errors_total", w.errorsTotal],
    ["wal_status", w.failure === null ? '"ok"' : `"failing: ${w.failure.replace(/"/g, "'")}"`],
    ["snapshots_total", s.snapshotsTotal],
    ["snapshot_failures_total", s.failuresTotal],
    ["snapshot_in_progress", s.running ? 1 : 0],
    ["last_snapshot_ms", s.lastSnapshotMs],
    ["last_snapshot_duration_ms", s.lastWallMs.toFixed(1)],
    ["last_snapshot_work_ms", s.lastWorkMs.toFixed(1)],
    ["last_snapshot_longest_slice_ms", s.lastLongestSliceMs.toFixed(2)],
    ["last_snapshot_keys", s.lastEntries],
    ["last_snapshot_bytes", s.lastBytes],
    ["recovery_ms", p.recovery.ms.toFixed(1)],
    ["recovery_keys_loaded", p.recovery.entriesLoaded],
    ["recovery_records_replayed", p.recovery.recordsReplayed],
    ["recovery_trimmed_bytes", p.recovery.trimmedBytes],
    ["native", `"${p.native}"`],
  ];
}

export function statsLines(ctx: Context, now: number): [string, string | number][] {
  const s = ctx.stats;
  const mem = process.memoryUsage();
  return [
    ["uptime_ms", now - ctx.startedMs],
    ["clients", ctx.clients],
    ["keys", ctx.store.size],
    ["expired_total", ctx.store.expiredTotal],
    ["evicted_total", 0],
    ["cmd_get", s.cmdGet],
    ["cmd_set", s.cmdSet],
    ["cmd_del", s.cmdDel],
    ["cmd_incr", s.cmdIncr],
    ["cmd_mget", s.cmdMget],
    ["cmd_mset", s.cmdMset],
    ["cmd_expire", s.cmdExpire],
    ["cmd_ttl", s.cmdTtl],
    ["cmd_exists", s.cmdExists],
    ["errors_total", s.errorsTotal],
    ["connections_total", s.connectionsTotal],
    ["rejected_clients_total", s.rejectedClientsTotal],
    ["slow_commands_total", s.slowCommandsTotal],
    ...persistenceLines(ctx),
    ["sync_policy", `"${ctx.config.syncPolicy}"`],
    ["data_bytes", ctx.store.dataBytes],
    ["mem_rss_bytes", mem.rss],
    ["mem_heap_bytes", mem.heapUsed],
  ];
}

export function stats(_p: TextParser, _b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdOther++;
  if (!ctx.config.metricsEnable) return void reject(ctx, out, Err.metricsDisabled);
  for (const [name, value] of statsLines(ctx, now)) out.text(`${name}=${value}\r\n`);
  out.text("END\r\n");
}
