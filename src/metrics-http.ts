// Prometheus metrics over HTTP (metrics_listen_addr): GET /metrics renders the one Metrics object
// that STATS and INFO use, in the Prometheus text exposition format (version 0.0.4).

import type { Server } from "bun";
import type { Context } from "./commands/context.ts";
import { statNames } from "./commands/context.ts";
import { listenFailure } from "./net/listener.ts";
import { collectMetrics, commandRuns, readLatency, type Histogram, type Metrics } from "./metrics.ts";
import { latencySampleEvery, slowlogRunRequestsMax, slowlogRunThresholdMsMin } from "./constants.ts";
import { commit, version } from "./version.ts";

/** The metrics endpoint, bound before recovery like the client ports; serve() gives it the keyspace. */
export interface MetricsEndpoint {
  readonly hostname: string;
  readonly port: number;
  serve(ctx: Context): void;
  stop(): void;
}

const contentType = "text/plain; version=0.0.4; charset=utf-8";

/** Binds metrics_listen_addr; throws ListenError (busy port, …) like the client ports. */
export function bindMetrics(hostname: string, port: number): MetricsEndpoint {
  let ctx: Context | null = null;
  let server: Server<undefined>;
  try {
    server = Bun.serve({
      hostname,
      port,
      // Scrapes are rare (every 15 s or so): collecting on each one is cheaper than keeping a copy.
      fetch(req) {
        const path = new URL(req.url).pathname;
        if (path !== "/metrics") return new Response("Osprey: metrics are at /metrics\n", { status: 404 });
        if (req.method !== "GET" && req.method !== "HEAD") return new Response("GET only\n", { status: 405 });
        if (ctx === null) return new Response("recovering\n", { status: 503 });
        return new Response(renderPrometheus(collectMetrics(ctx, Date.now())), { headers: { "content-type": contentType } });
      },
      error: () => new Response("metrics failed\n", { status: 500 }),
    });
  } catch (err) {
    throw listenFailure("metrics_listen_addr", hostname, port, err);
  }
  return {
    hostname: server.hostname ?? hostname,
    port: server.port ?? port,
    serve(context) {
      ctx = context;
    },
    stop() {
      void server.stop(true);
    },
  };
}

/** One metric family: HELP and TYPE lines, then its samples. */
class Exposition {
  #out: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string): this {
    this.#out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, value: number, labels = ""): this {
    this.#out.push(`${name}${labels === "" ? "" : `{${labels}}`} ${formatValue(value)}`);
    return this;
  }

  /** A family with one unlabelled sample. */
  one(name: string, type: "counter" | "gauge", help: string, value: number): this {
    return this.family(name, type, help).sample(name, value);
  }

  histogram(name: string, help: string, h: Histogram): this {
    return this.family(name, "histogram", help).series(name, h, "");
  }

  /** The samples of one histogram series; `labels` (without braces) go before `le`. */
  series(name: string, h: Histogram, labels: string): this {
    const prefix = labels === "" ? "" : `${labels},`;
    let cumulative = 0;
    h.boundsS.forEach((le, i) => {
      cumulative += h.counts[i]!;
      this.sample(`${name}_bucket`, cumulative, `${prefix}le="${le}"`);
    });
    this.sample(`${name}_bucket`, h.count, `${prefix}le="+Inf"`);
    this.sample(`${name}_sum`, h.sumS, labels);
    return this.sample(`${name}_count`, h.count, labels);
  }

  text(): string {
    return this.#out.join("\n") + "\n";
  }
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** A label value with the three characters the format escapes. */
function label(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** The whole /metrics page. Names follow Prometheus conventions: base units (seconds, bytes), `_total` counters. */
export function renderPrometheus(m: Metrics): string {
  const e = new Exposition();
  e.family("osprey_build_info", "gauge", "Always 1; the labels say which Osprey runs (commit is empty when unknown).")
    .sample("osprey_build_info", 1, `version="${label(version)}",commit="${label(commit() ?? "")}"`);
  e.one("osprey_uptime_seconds", "gauge", "Seconds since the server started.", m.uptimeMs / 1000);

  e.one("osprey_connected_clients", "gauge", "Clients connected now.", m.clients);
  e.one("osprey_max_clients", "gauge", "The client limit in force (max_clients, lowered when descriptors are short).", m.maxClients);
  e.one("osprey_connections_total", "counter", "Connections accepted, refused ones included.", m.connectionsTotal);
  e.one("osprey_rejected_connections_total", "counter", "Connections refused because max_clients were connected.", m.rejectedClientsTotal);
  e.one("osprey_unauthenticated_clients", "gauge", "Connected clients that have not authenticated yet (max_unauthenticated_clients bounds them).", m.unauthenticatedClients);
  e.one("osprey_rejected_unauthenticated_connections_total", "counter", "Connections refused because max_unauthenticated_clients were waiting to authenticate.", m.rejectedUnauthenticatedTotal);
  e.one("osprey_auth_failures_total", "counter", "Failed AUTH and HELLO AUTH attempts.", m.authFailuresTotal);
  e.one("osprey_auth_timeouts_total", "counter", "Connections closed for not authenticating within auth_timeout.", m.authTimeoutsTotal);
  e.one("osprey_idle_timeouts_total", "counter", "Connections closed for being idle longer than timeout.", m.idleTimeoutsTotal);
  e.one("osprey_client_input_bytes", "gauge", "Unparsed input buffered by all clients (client_input_bytes_max bounds it).", m.clientInputBytes);
  e.one("osprey_input_limit_disconnects_total", "counter", "Clients disconnected to keep buffered input under client_input_bytes_max.", m.inputLimitDisconnectsTotal);

  e.family("osprey_commands_total", "counter", "Requests run, by command; other counts every command without a counter of its own (PING, INFO, …).");
  statNames.forEach((name, i) => e.sample("osprey_commands_total", m.commands[i]!, `command="${name}"`));
  e.sample("osprey_commands_total", m.commands[statNames.length]!, `command="other"`);
  e.one("osprey_error_replies_total", "counter", "Requests answered with an error, of every command.", m.errorsTotal);
  e.family("osprey_errors_total", "counter", "Error replies by kind: RESP's first word (ERR, WRONGTYPE, NOPERM, …), the text protocol's code (BADREQ, EXISTS, …).");
  for (const [kind, count] of m.errorKinds) e.sample("osprey_errors_total", count, `kind="${label(kind)}"`);
  // By command table row, as INFO commandstats names them (lower-case).
  e.family("osprey_command_calls_total", "counter", "Requests run, by command (INFO commandstats' calls); refused ones are in osprey_command_rejected_calls_total.");
  for (const c of m.perCommand) e.sample("osprey_command_calls_total", c.calls, `command="${label(c.name)}"`);
  e.family("osprey_command_failed_calls_total", "counter", "Requests that ran and answered an error, by command.");
  for (const c of m.perCommand) e.sample("osprey_command_failed_calls_total", c.failed, `command="${label(c.name)}"`);
  e.family("osprey_command_rejected_calls_total", "counter", "Requests refused before they ran (arity, permissions, subscribed mode, OOM), by command.");
  for (const c of m.perCommand) e.sample("osprey_command_rejected_calls_total", c.rejected, `command="${label(c.name)}"`);
  e.family(
    "osprey_command_latency_seconds",
    "histogram",
    `Latency of one request, by command, sampled: one request in ${latencySampleEvery} is timed alone (a clock read before and after it), and every admin or keyspace-walking one; _count is the samples, not the calls.`,
  );
  for (const c of m.perCommand) if (c.latency !== null) e.series("osprey_command_latency_seconds", c.latency.histogram, `command="${label(c.name)}"`);
  e.one("osprey_keyspace_hits_total", "counter", "Lookups of reading commands (GET, MGET, EXISTS, TTL, …) that found a live key, as Redis's keyspace_hits.", m.keyspaceHits);
  e.one("osprey_keyspace_misses_total", "counter", "Lookups of reading commands that found no live key, as Redis's keyspace_misses.", m.keyspaceMisses);
  e.one("osprey_slow_commands_total", "counter", "Requests (or runs of them) logged by the slowlog.", m.slowCommandsTotal);
  e.histogram(
    "osprey_read_handling_seconds",
    "Time to handle one socket read: parse, run and answer every request it carried (one request, or a pipelined batch).",
    readLatency,
  );
  // Sorted, so a series keeps its place from one scrape to the next.
  const runs = [...commandRuns].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  e.family(
    "osprey_command_run_seconds",
    "histogram",
    `Duration of a timing run of requests, by its largest request's command; not per request: the clock is read once per run (one request when the client waits for each reply, up to ${slowlogRunRequestsMax} of a pipelined batch; every request alone when slowlog_threshold_ms < ${slowlogRunThresholdMsMin}; admin and keyspace-walking commands always alone).`,
  );
  for (const [name, r] of runs) e.series("osprey_command_run_seconds", r.durations, `command="${label(name.toLowerCase())}"`);
  e.family("osprey_command_run_requests_total", "counter", "Requests in the runs of osprey_command_run_seconds with that label: divide its _sum by this for a mean per request.");
  for (const [name, r] of runs) e.sample("osprey_command_run_requests_total", r.requests, `command="${label(name.toLowerCase())}"`);

  e.one("osprey_keys", "gauge", "Keys in the keyspace.", m.keys);
  e.one("osprey_keys_with_expiry", "gauge", "Keys that have an expiry time.", m.keysWithExpiry);
  e.one("osprey_expired_keys_total", "counter", "Keys removed because they expired.", m.expiredTotal);
  e.one("osprey_evicted_keys_total", "counter", "Keys evicted to stay under max_memory_bytes.", m.evictedTotal);
  e.one("osprey_evicted_bytes_total", "counter", "Key and value bytes of the evicted keys.", m.evictedBytesTotal);
  e.one("osprey_oom_rejections_total", "counter", "Writes refused because memory is at max_memory_bytes.", m.oomRejectionsTotal);
  e.one("osprey_used_memory_bytes", "gauge", "Bytes the keyspace holds as max_memory_bytes counts them.", m.usedMemory);
  e.one("osprey_max_memory_bytes", "gauge", "max_memory_bytes in force; 0 means no limit.", m.maxMemory);
  e.one("osprey_data_bytes", "gauge", "Bytes of keys and values held.", m.dataBytes);
  e.one("osprey_memory_rss_bytes", "gauge", "Resident set size of the process.", m.memRssBytes);
  e.one("osprey_memory_heap_bytes", "gauge", "JavaScript heap in use.", m.memHeapBytes);
  e.family("osprey_sync_policy", "gauge", "1 for the sync_policy in force.").sample("osprey_sync_policy", 1, `policy="${label(m.syncPolicy)}"`);

  const d = m.durability;
  if (d !== null) {
    e.one("osprey_wal_current_bytes", "gauge", "Size of the WAL file being appended to.", d.walBytes);
    e.one("osprey_wal_written_bytes_total", "counter", "Bytes written to the WAL.", d.walWrittenBytesTotal);
    e.one("osprey_wal_writes_total", "counter", "write() calls to the WAL (one per event-loop turn with changes).", d.walWritesTotal);
    e.one("osprey_wal_syncs_total", "counter", "fdatasync calls on the WAL.", d.walSyncsTotal);
    e.one("osprey_wal_last_sync_seconds", "gauge", "Duration of the latest WAL fdatasync.", d.walLastSyncMs / 1000);
    e.histogram("osprey_wal_sync_seconds", "Duration of each WAL fdatasync run off the event loop (group commit under always, the batch timer and size under batch); a rotation's own sync is not included.", d.walSyncLatency);
    e.one("osprey_wal_errors_total", "counter", "WAL writes that failed (the log retries; writes are refused meanwhile).", d.walErrorsTotal);
    e.one("osprey_wal_failing", "gauge", "1 while the WAL cannot write or refuses writes for lack of room, else 0.", d.walFailure !== null || d.walRefusal !== null ? 1 : 0);
    e.one("osprey_wal_rotate_failures_total", "counter", "WAL rotations that failed (the log goes on in the current file).", d.walRotateFailuresTotal);
    e.one("osprey_snapshots_total", "counter", "Snapshots completed.", d.snapshotsTotal);
    e.one("osprey_snapshot_failures_total", "counter", "Snapshots that failed or could not start.", d.snapshotFailuresTotal);
    e.one("osprey_snapshot_in_progress", "gauge", "1 while a snapshot is being written.", d.snapshotInProgress ? 1 : 0);
    e.histogram("osprey_snapshot_duration_seconds", "Wall time of each completed snapshot, from start to manifest.", d.snapshotDurations);
    e.one("osprey_last_snapshot_timestamp_seconds", "gauge", "When the latest snapshot completed (Unix time), 0 before the first.", d.lastSnapshotMs / 1000);
    e.one("osprey_last_snapshot_duration_seconds", "gauge", "Wall time of the latest snapshot, from start to manifest.", d.lastSnapshotDurationMs / 1000);
    e.one("osprey_last_snapshot_work_seconds", "gauge", "Event-loop time the latest snapshot took, its slices added up.", d.lastSnapshotWorkMs / 1000);
    e.one("osprey_last_snapshot_longest_slice_seconds", "gauge", "Longest slice of the latest snapshot: the most it held requests back.", d.lastSnapshotLongestSliceMs / 1000);
    e.one("osprey_last_snapshot_keys", "gauge", "Keys in the latest snapshot.", d.lastSnapshotKeys);
    e.one("osprey_last_snapshot_bytes", "gauge", "Size of the latest snapshot file.", d.lastSnapshotBytes);
    e.one("osprey_backups_total", "counter", "Online backups (BACKUP) completed.", d.backupsTotal);
    e.one("osprey_backup_failures_total", "counter", "Online backups that failed after starting.", d.backupFailuresTotal);
    e.one("osprey_backup_in_progress", "gauge", "1 while an online backup is being copied.", d.backupInProgress ? 1 : 0);
    e.one("osprey_last_backup_timestamp_seconds", "gauge", "When the latest backup ended (Unix time), 0 before the first.", d.lastBackupMs / 1000);
    e.one("osprey_last_backup_duration_seconds", "gauge", "Wall time of the latest backup's copy.", d.lastBackupDurationMs / 1000);
    e.one("osprey_recovery_duration_seconds", "gauge", "Time start-up recovery took.", d.recoveryMs / 1000);
    e.one("osprey_recovery_keys_loaded", "gauge", "Keys recovery loaded from the snapshot.", d.recoveryKeysLoaded);
    e.one("osprey_recovery_records_replayed", "gauge", "WAL records recovery replayed.", d.recoveryRecordsReplayed);
    e.one("osprey_recovery_trimmed_bytes", "gauge", "Torn WAL bytes recovery cut off.", d.recoveryTrimmedBytes);
  }
  return e.text();
}
