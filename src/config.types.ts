// The validated, frozen server configuration that every module receives.
// Field names are the osprey.toml keys in camelCase with units last.

import type { EvictionPolicy } from "./engine/eviction.ts";

export type SyncPolicy = "os" | "batch" | "always";
export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";
export type TlsClientAuth = "no" | "optional" | "required";

/** One `[[users]]` table of osprey.toml, validated. */
export interface UserConfig {
  readonly name: string;
  /** password_sha256: 64 hex digits, lower-case; null when password_hash is given instead. */
  readonly passwordSha256: string | null;
  /** password_hash: an argon2 or bcrypt string of Bun.password; null when password_sha256 is given. */
  readonly passwordHash: string | null;
  /** permissions, as bits of auth.ts's Perm (read 1, write 2, admin 4). */
  readonly permissions: number;
  /** keys: a glob the keys this user names must match; null when absent (every key). */
  readonly keys: string | null;
  /** enabled (default true): a disabled user cannot authenticate. */
  readonly enabled: boolean;
}

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
  /** snapshot_fork */
  readonly snapshotFork: boolean;
  /** snapshot_fork_min_bytes */
  readonly snapshotForkBytesMin: number;
  /** snapshot_busy_bytes_per_sec */
  readonly snapshotBusyBytesPerSec: number;
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
  /** slowlog_threshold_ms; Infinity when -1 (off) */
  readonly slowlogThresholdMs: number;
  /** metrics_listen_addr, split: where /metrics is served over HTTP; null when off (""). */
  readonly metricsListenHost: string | null;
  readonly metricsListenPort: number;
  /** umask, parsed: the mode bits cleared from every file and folder the server creates. */
  readonly umask: number;
  /** max_memory_bytes: the keyspace's memory limit (0 = none); CONFIG SET maxmemory changes the store's copy. */
  readonly maxMemoryBytes: number;
  /** eviction_policy */
  readonly evictionPolicy: EvictionPolicy;
  /** auth_password: the `default` user's password (Redis's requirepass); "" when none. */
  readonly authPassword: string;
  /** [[users]], in file order. */
  readonly users: readonly UserConfig[];
  /** acl_file, resolved to an absolute path; null when none. */
  readonly aclFile: string | null;
  /** protected_mode: refuse to listen beyond loopback while no password or user is configured. */
  readonly protectedMode: boolean;
  /** tls_listen_addr, split: a separate TLS port (then the others stay plain TCP); null when off. */
  readonly tlsListenHost: string | null;
  readonly tlsListenPort: number;
  /** tls_cert_file and tls_key_file, resolved to absolute paths; null when TLS is off. */
  readonly tlsCertFile: string | null;
  readonly tlsKeyFile: string | null;
  /** tls_ca_file, resolved; null when none. */
  readonly tlsCaFile: string | null;
  /** tls_client_auth */
  readonly tlsClientAuth: TlsClientAuth;
  /** timeout: idle seconds before a client is closed (0 = never); CONFIG SET timeout changes it. */
  readonly timeoutSeconds: number;
  /** max_unauthenticated_clients: connections waiting to authenticate, at most (with a password or users configured). */
  readonly unauthenticatedClientsMax: number;
  /** auth_timeout: seconds a connection has to authenticate (0 = no deadline). */
  readonly authTimeoutSeconds: number;
  /** auth_failure_delay_ms: the delay of each failed AUTH past the first few in a row on a connection (0 = none). */
  readonly authFailureDelayMs: number;
}
