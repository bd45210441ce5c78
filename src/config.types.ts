// The validated, frozen server configuration that every module receives.
// Field names are the osprey.toml keys in camelCase with units last.

export type SyncPolicy = "os" | "batch" | "always";
export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";

export interface Config {
  /** listen_addr, split: host part ("127.0.0.1", "::1", "0.0.0.0"). */
  readonly listenHost: string;
  /** listen_addr, split: port part (0 = pick a free port). */
  readonly listenPort: number;
  /** resp_listen_addr, split: a second port that speaks only RESP2 (inline commands too); null when off. */
  readonly respListenHost: string | null;
  readonly respListenPort: number;
  /** max_clients */
  readonly clientsMax: number;
  /** max_key_bytes */
  readonly keyBytesMax: number;
  /** max_value_bytes */
  readonly valueBytesMax: number;
  /** client_input_bytes_max: unparsed input buffered by all connections together (their buffers' capacity). */
  readonly clientInputBytesMax: number;
  readonly clientOutputBytesMax: number;
  /** data_dir, resolved to an absolute path. */
  readonly dataDir: string;
  /** wal_max_bytes */
  readonly walBytesMax: number;
  /** sync_policy */
  readonly syncPolicy: SyncPolicy;
  /** batch_fsync_ms */
  readonly batchFsyncMs: number;
  /** batch_fsync_bytes */
  readonly batchFsyncBytes: number;
  /** enable_snapshot */
  readonly snapshotEnable: boolean;
  /** snapshot_pause_max_ms */
  readonly snapshotPauseMaxMs: number;
  /** busy_warn_ms */
  readonly busyWarnMs: number;
  /** sweep_interval_ms */
  readonly sweepIntervalMs: number;
  /** sweep_batch */
  readonly sweepBatch: number;
  /** metrics_enable */
  readonly metricsEnable: boolean;
  /** log_level */
  readonly logLevel: LogLevel;
  /** log_file, resolved to an absolute path; "" in the file means <data_dir>/logs/osprey.log. */
  readonly logFile: string;
  /** pubsub_output_bytes_max: a subscriber (or MONITOR) with more output unsent is disconnected. */
  readonly pubsubOutputBytesMax: number;
  /** notify_keyspace_events: Redis's flag letters (validated; "" is off). */
  readonly notifyKeyspaceEvents: string;
  /** slowlog_threshold_ms */
  readonly slowlogThresholdMs: number;
  /** metrics_listen_addr, split: where /metrics is served over HTTP; null when off (""). */
  readonly metricsListenHost: string | null;
  readonly metricsListenPort: number;
  /** umask, parsed: the mode bits cleared from every file and folder the server creates. */
  readonly umask: number;
}
