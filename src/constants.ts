// Every limit and built-in default of Osprey, in one place. Units go last in names.
// A limit here bounds something a client controls; each comment says what it costs. Relations
// between limits are asserted below the limits they relate, so a bad edit fails at start-up.

import { assert } from "./assert.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Longest command line (without its payload). Longer cannot be resynchronised: ERR BADREQ and close. */
export const lineBytesMax = 1 * MiB;

/** Most tokens on one line. A 1 MiB line of one-byte tokens has at most 512 Ki of them. */
export const argsCountMax = lineBytesMax / 2;

/**
 * Together, the payloads of one MSET may not exceed this or `max_value_bytes`, whichever is larger.
 * The whole request is buffered before it is applied (all-or-nothing), so this is its memory cost.
 */
export const msetPayloadBytesMax = 64 * MiB;

/**
 * Unsent replies above which the server stops parsing a client's input until the socket drains.
 * A client that pipelines without reading costs at most this (plus one reply) of server memory.
 */
export const outputSoftBytes = 4 * MiB;
/**
 * Pub/Sub messages and keyspace events for one client wait for the end of the event-loop turn, so
 * a turn's messages leave in one write; past this many queued bytes they are written at once
 * (a subscriber that reads must never near pubsub_output_bytes_max because of one turn).
 */
export const deliverFlushBytes = 64 * KiB;

/**
 * Unsent replies above which a client is disconnected, like Redis's client-output-buffer-limit.
 * Only one enormous reply (a large MGET) gets here, since parsing pauses at the soft limit.
 */
export const outputHardBytes = 512 * MiB;

/**
 * Unparsed input buffered for one client while it is paused (see outputSoftBytes). A request
 * in progress may need up to max_value_bytes + a line; beyond that plus this slack: disconnect.
 */
export const inputSlackBytes = 8 * MiB;

/** Initial capacity of the shared reply buffer; it grows to fit the largest batch of replies. */
export const replyBufferBytesInitial = 256 * KiB;

/**
 * A shared reply buffer that grew past this (one batch of huge replies) is given back once sent,
 * so one giant MGET does not pin its size for the server's life.
 */
export const replyBufferBytesKeepMax = 4 * outputSoftBytes;

/**
 * A connection's input buffer, or its buffer of held replies, larger than this is released once
 * empty: an idle client keeps at most this much, a client that sent one large value not that value.
 */
export const connectionBufferBytesKeepMax = 64 * KiB;

/**
 * Input buffers larger than connectionBufferBytesKeepMax that connections gave back (their large
 * request done) are kept for the next large request, up to this many bytes in all: a stream of
 * large SETs then takes a buffer that holds its whole request at once, instead of allocating one
 * and growing it (a copy per doubling) for every request. The cost is this much memory kept after
 * a burst of large requests.
 */
export const inputPoolBytesMax = 64 * MiB;
/** Largest input buffer the pool keeps (a quarter of it), so one giant request cannot take it all. */
export const inputPoolBufferBytesMax = inputPoolBytesMax / 4;

/**
 * Longest inline RESP command (a line without `*`, as telnet sends), as Redis's
 * PROTO_INLINE_MAX_SIZE. Longer without its LF: a protocol error, and the connection closes.
 */
export const inlineBytesMax = 64 * KiB;

/**
 * A RESP header line (`*<count>`, `$<length>`) holds a sign and at most this many digits, so every
 * number it announces is exact and the line is at most 19 bytes: anything longer is bad input at once.
 */
export const respHeaderDigitsMax = 15;

/** The most payload one request may carry: an MSET's values together, or one SET's value. */
export function payloadBytesMax(valueBytesMax: number): number {
  return Math.max(msetPayloadBytesMax, valueBytesMax);
}

/**
 * The largest request of either protocol: a full line, its CRLF and the largest payload. A RESP
 * request is bounded by the same, since the connection buffers a whole request before running it.
 */
export function requestBytesMax(valueBytesMax: number): number {
  return lineBytesMax + 2 + payloadBytesMax(valueBytesMax);
}

/**
 * Most input one connection may buffer: one whole request plus inputSlackBytes of pipelined input
 * behind it. Past it: disconnect.
 */
export function connectionInputBytesMax(valueBytesMax: number): number {
  return requestBytesMax(valueBytesMax) + inputSlackBytes;
}

/** "client disconnected: client_input_bytes_max / client_output_bytes_max reached" is logged at most this often. */
export const budgetWarnIntervalMs = 1000;

assert(inlineBytesMax <= lineBytesMax, "an inline RESP command must fit the longest command line");
assert(replyBufferBytesInitial <= replyBufferBytesKeepMax, "the reply buffer must not be released below its initial size");
assert(outputSoftBytes < outputHardBytes, "parsing must pause (soft limit) before a client is dropped (hard limit)");

/** Active expiry spends at most this long per sweeper tick, so it never stalls clients. */
export const sweepBudgetMs = 2;

/** Values at least this large get their own allocation instead of a slab block. */
export const slabLargeBytesMin = 64 * KiB;

/**
 * A read that holds one whole request with a large last value lends its bytes to that value's entry
 * (net/connection.ts #offerRead) only when it holds at most this much besides the key and value:
 * the entry keeps the whole read's memory alive, so what it holds beyond its own bytes stays small
 * (at most 1/16 over, at the smallest large value).
 */
export const readLendSlackBytes = slabLargeBytesMin / 16;
/**
 * Buffers of large entries that were overwritten or deleted are kept, up to this many bytes and
 * this many buffers, for the next large entry of the same size (engine/large.ts): a stream of
 * same-size large SETs then allocates nothing and faults in no fresh pages. The cost is this much
 * memory kept after large entries go, outside used_memory.
 */
export const largeSpareBytesMax = 64 * MiB;
export const largeSparesMax = 64;

/** Size of one slab page, from which small entries (key + value) of one size class are carved. */
export const slabPageBytes = 4 * MiB;
/**
 * While a snapshot child shares the slab, blocks of this size or more are still written in place:
 * the copy-on-write is about what is written. An entry in a smaller block moves to a fresh block
 * when written (Slab.share): in place, a SET of a few bytes would copy a whole 4 KiB memory page.
 */
export const slabInPlaceBlockBytesMin = 4 * KiB;
/**
 * While a snapshot child shares the slab, every overwrite of a small entry takes a block in a page
 * made since, so new pages are needed at the write rate (a 4 MiB page every ~0.2 s at 160k SETs a
 * second of 100 B). Once the slab is on huge pages (256 MiB), this many are kept made ahead and
 * faulted in by a thread (Slab.prefaultAhead): the kernel's zeroing of a fresh page, 2 MiB at a time
 * (~1 ms on this VM), then happens on another core, not in the SET that first writes there.
 */
export const slabSharedPagesAhead = 2;
/**
 * Recovery of a snapshot of at least this many entries has the memory it fills faulted in by
 * other threads (Store.reserve): the table and records at once, and slab pages this many ahead
 * of need, 16 MiB that a smaller load would mostly not use (each is let go when loading ends).
 */
export const prefaultEntriesMin = 1_000_000;
export const prefaultPagesAhead = 4;
/**
 * Prefault jobs in flight at once (native/index.ts `prefault`): each keeps its memory referenced
 * until its thread is done, as the thread writes into it. Recovery has at most prefaultPagesAhead
 * slab pages and the table and records in flight; a job past this is not started (a hint).
 */
export const prefaultJobsMax = 64;
/**
 * The huge pages a snapshot child's copy-on-write split (records, table slots) are put back once no
 * child has run for this long (Store.maintain): collapsing holds the process's page faults while
 * each 2 MiB is copied, so it waits for snapshots that run back to back to stop.
 */
export const collapseQuietMs = 5000;
/**
 * Most slab pages held at once: 8191 × 4 MiB, 32 GiB less a page, of small entries (key + value
 * under slabLargeBytesMin; large values have buffers of their own and do not count). An entry's
 * record keeps where its bytes are as one 32-bit slab position (engine/records.ts): 13 bits of
 * page, 19 of the block's index in it. A write that could need a page past this is refused before it is logged
 * ("keyspace full: the slab holds at most …"); deletes and overwrites into freed blocks still run.
 */
export const slabPagesMax = 8191;

/**
 * Slab pages and large buffers let go (deletes, evictions, compaction, FLUSHALL) before the
 * sweeper's tick asks the runtime for a full GC, which is what returns their memory. JSC collects
 * on its own too, but on an idle server only after many seconds. A full GC of a server holding 1M
 * keys took 7-10 ms here (the data is in buffers, not objects), a stall of the event loop.
 */
export const gcHintBytesMin = 16 * MiB;
/** At most one such GC per this long, so a server under churn spends at most ~0.2% of its time in them. */
export const gcHintIntervalMs = 5000;

/**
 * Under max_memory_bytes the sweeper's tick runs a GC when the process's RSS is past its baseline
 * (the runtime and its buffers, measured at start) plus this many times the limit (server.ts
 * `rssGuard`): below 1.15, the bound the memory limit aims at for RSS under sustained eviction,
 * so that the garbage made between two ticks (SETs at 250k/s here) still fits under it, and above
 * 1.0 by enough that RSS at the limit (baseline + used memory, which counts a little the baseline
 * already held) is not over it before any garbage: at 1.05 it was, and the guard ran a GC every tick.
 */
export const rssGcLimitFactor = 1.1;
/** After a guard's GC that could not get RSS under its line, the next waits until RSS grew this share of the limit past where that one left it. */
export const rssGcStep = 1 / 32;

/** Largest max_value_bytes a config may set (as Redis's proto-max-bulk-len). */
export const valueBytesMaxLimit = 512 * MiB;

/** Largest max_key_bytes a config may set. Keys are copied and compared on every access. */
export const keyBytesMaxLimit = 64 * KiB;

/** On SIGINT/SIGTERM, how long to wait for pending replies to flush before exiting anyway. */
export const shutdownFlushMs = 2000;

/** Warnings about long event-loop turns are logged at most this often. */
export const busyWarnIntervalMs = 1000;

/**
 * The slowlog times requests in runs (commands/timing.ts): the clock is read once a run holds this
 * many requests or this many bytes in and out. Such a run is ~10 µs of work here, 100 times below
 * the smallest threshold that uses runs.
 */
export const slowlogRunRequestsMax = 32;
export const slowlogRunBytesMax = 64 * KiB;
/** Below this slowlog_threshold_ms every request is timed on its own (a run cannot be told from its requests). */
export const slowlogRunThresholdMsMin = 1;
/** SLOWLOG's entries kept at start (Redis's slowlog-max-len default); CONFIG SET slowlog-max-len changes it. */
export const slowlogLenDefault = 128;
/** The most SLOWLOG entries CONFIG SET slowlog-max-len may ask for. */
export const slowlogLenMax = 100_000;
/**
 * A SLOWLOG entry keeps at most this many arguments (Redis's SLOWLOG_ENTRY_MAX_ARGC): past it the
 * last one kept says how many more there were.
 */
export const slowlogArgsMax = 32;
/** …and at most this many bytes of each (Redis's SLOWLOG_ENTRY_MAX_STRING), then how many more there were. */
export const slowlogArgBytesMax = 128;
/**
 * The argument bytes all SLOWLOG entries together keep: past it the oldest entries go, whatever
 * slowlog-max-len allows (an entry holds up to ~5 KiB of arguments, so 100,000 could hold 500 MiB).
 */
export const slowlogBytesMax = 16 * MiB;
/**
 * Per-command latency (INFO latencystats, commandstats' usec, /metrics' osprey_command_latency_seconds)
 * is sampled: one request in this many is timed alone, with a clock read before and after it. A
 * read costs about a fifth of a GET here, so timing every request would cost ~40% of the GET loop;
 * one in 64 costs under 1%, and a command called a few thousand times a second still gets tens of
 * samples a second. Commands timed alone anyway (Flag.TimedAlone) are recorded on every call.
 */
export const latencySampleEvery = 64;
/** Distinct error kinds INFO errorstats keeps (Redis's ERROR_STATS_NUMBER); later new kinds are not listed. */
export const errorKindsMax = 128;
/** Entries LATENCY HISTORY keeps per event (Redis's LATENCY_TS_LEN). */
export const latencyHistoryLen = 160;
/** The longest DEBUG SLEEP: it blocks every client, so a typo must not stop the server for hours. */
export const debugSleepMsMax = 60_000;
assert(Number.isInteger(latencySampleEvery) && latencySampleEvery >= 1, "latencySampleEvery counts requests: a positive integer");

/**
 * An MGET yields the event loop to other clients after a slice of this many keys or reply bytes
 * (about a millisecond of lookups or copying here), so one large MGET cannot stall everyone.
 */
export const mgetSliceKeys = 4096;
export const mgetSliceBytes = 1 * MiB;
/**
 * A value longer than this (GET, GETRANGE, an MGET item, …: up to max_value_bytes, 512 MiB) is
 * copied into the reply this many bytes at a time, the request yielding the event loop between
 * slices (about a millisecond of copying each), so answering it cannot stall other clients.
 */
export const replySliceBytes = 4 * MiB;

/**
 * A KEYS walks the keyspace in slices and yields the event loop between them: a slice visits at
 * most keysSliceBucketsMax home buckets and stops once keysSliceMs passed, the clock read every
 * keysSliceCheckBuckets buckets (a few hundred µs of walking). Its reply, written once the walk is
 * done, goes out keysReplySliceBytes at a time, yielding between those too: short keys make that
 * about 20,000 bulk strings, a millisecond or so of encoding.
 */
export const keysSliceMs = 1;
export const keysSliceBucketsMax = 65536;
export const keysSliceCheckBuckets = 1024;
export const keysReplySliceBytes = 256 * KiB;

/** Built-in defaults: the seed's osprey.toml, except that we listen on loopback only. */
export const defaults = {
  listen_addr: "127.0.0.1:7070",
  resp_listen_addr: "",
  max_clients: 10000,
  max_key_bytes: 256,
  max_value_bytes: 16 * MiB,
  // Input buffered by all clients together (unfinished requests). One connection may hold about
  // 73 MiB (connectionInputBytesMax), so without a global bound 65 slow MSETs took 4.2 GiB; 1 GiB
  // still fits one maximal request even at the largest max_value_bytes (asserted below).
  client_input_bytes_max: 1024 * MiB,
  // Replies the sockets have not taken, all clients together. One client may hold outputHardBytes
  // (512 MiB) before it is dropped; without a sum, clients that never read could hold that each.
  // Never below outputHardBytes (config.ts), so one client can always take what its own limit allows.
  client_output_bytes_max: 1024 * MiB,
  data_dir: "./data",
  wal_max_bytes: 256 * MiB,
  sync_policy: "batch",
  batch_fsync_ms: 100,
  batch_fsync_bytes: 1 * MiB,
  enable_snapshot: true,
  // Snapshots written by a forked child from a copy-on-write image (as Redis's BGSAVE), so the
  // event loop only pays for the fork; false (or no native library): in slices on the event loop.
  snapshot_fork: true,
  // ... but a keyspace lighter than this (snapshotWeightBytes) is written in slices on the event
  // loop anyway: a few ms of work there, where after a fork the server faults once on every page
  // it then writes (16 KiB SETs over 1,000 keys: 5-14% more SETs a second, bench/RESULTS.md).
  snapshot_fork_min_bytes: 32 * MiB,
  // While the server is busy (its event loop running a quarter of the time or more), a forked
  // snapshot writes at most this much a second: it costs clients less spread out (native/osprey.c
  // pace_wait); 0 = never paced.
  snapshot_busy_bytes_per_sec: 256 * MiB,
  snapshot_pause_max_ms: 500,
  busy_warn_ms: 50,
  sweep_interval_ms: 200,
  sweep_batch: 1000,
  metrics_enable: true,
  log_level: "INFO",
  log_file: "",
  slowlog_threshold_ms: 50,
  // Bytes the keyspace may hold (docs/ARCHITECTURE.md, "Memory" says what counts); 0 = no limit.
  max_memory_bytes: 0,
  // What happens at the limit: noeviction refuses writes (ERR OOM); the others evict (Redis's
  // names, plus allkeys-osprey / volatile-osprey).
  eviction_policy: "noeviction",
  // Unsent output a subscriber may hold before it is dropped: Redis's client-output-buffer-limit
  // pubsub hard limit (32mb). A subscriber that stops reading cannot make PUBLISH queue more.
  pubsub_output_bytes_max: 32 * MiB,
  // Keyspace notifications (Redis's notify-keyspace-events letters): off, as in Redis.
  notify_keyspace_events: "",
  // Prometheus /metrics over HTTP: off unless set; a bare port (":9187" or "9187") means loopback.
  metrics_listen_addr: "",
  // Files the server creates are private to its user (0600, folders 0700) unless this is loosened.
  umask: "077",
  // The `default` user's password, like Redis's requirepass; "" = none. Kept in plain text in the
  // file, so start-up warns and suggests a [[users]] entry with a hash instead.
  auth_password: "",
  // [[users]] tables: name, password_sha256 or password_hash, permissions, keys, enabled.
  users: [] as readonly unknown[],
  // Where ACL SAVE writes the users (and ACL LOAD reads them); when the file exists at start-up its
  // users replace those above. "" = none: users made with ACL SETUSER last until a restart.
  acl_file: "",
  // With no password and no user, a listen address beyond loopback refuses to start.
  protected_mode: true,
  // TLS on listen_addr and resp_listen_addr: a PEM certificate chain and its private key; "" = off.
  tls_cert_file: "",
  tls_key_file: "",
  // A separate TLS address ("host:port"): TLS there only, the other ports plain; "" = TLS on them.
  tls_listen_addr: "",
  // PEM CA certificates that client certificates must chain to (mutual TLS); "" = none.
  tls_ca_file: "",
  // Whether clients must present a certificate: "no", "optional" (checked when sent) or "required".
  tls_client_auth: "no",
  // Seconds a client may stay idle before it is closed (Redis's timeout); 0 = never. Subscribers,
  // MONITOR and clients with a request held (CLIENT PAUSE) are not timed out. CONFIG SET timeout changes it.
  timeout: 0,
  // With a password or users configured: connections that have not authenticated yet, at most.
  // The next one is refused, so a flood of idle sockets cannot take every max_clients slot.
  max_unauthenticated_clients: 1000,
  // Seconds a connection has to authenticate, from its accept (or its RESET); 0 = no deadline.
  auth_timeout: 10,
  // After 3 failed AUTH attempts in a row on a connection, each further failure is answered this
  // many ms late (other clients are served meanwhile), slowing down password guessing; 0 = off.
  auth_failure_delay_ms: 200,
} as const;

assert(defaults.client_input_bytes_max >= connectionInputBytesMax(valueBytesMaxLimit), "the default client_input_bytes_max must fit one maximal request at any max_value_bytes");
assert(defaults.client_output_bytes_max >= outputHardBytes, "the default client_output_bytes_max must fit one client's own output limit");

// ---- Authentication ----

/** [[users]] tables at most: each is a map entry and, with password_hash, an argon2/bcrypt check per AUTH. */
export const usersMax = 1000;
/** A user name's bytes at most (Redis has no limit; ACL LIST lines and log lines stay short). */
export const userNameBytesMax = 128;
/** Failed AUTH attempts in a row a connection makes before auth_failure_delay_ms applies (a typo or two costs nothing). */
export const authFailuresFreeCount = 3;
/**
 * How often the client sweep (timeout, auth_timeout) looks at every connection: one pass over the
 * client registry (10,000 clients: well under a millisecond), no timer per client or request.
 * A deadline is therefore met up to this late.
 */
export const clientSweepMs = 1000;

// ---- Descriptors ----

/**
 * Descriptors kept free beyond max_clients and what the server holds once its files are open:
 * the listeners (2), a WAL rotation (the next file and the one an in-flight fdatasync still
 * holds), a snapshot (its .tmp, the manifest's .tmp, a directory fsync), refused clients between
 * their accept and their close, and Bun's own (its thread pool, DNS). Without them the server's
 * own open() fails with EMFILE once clients take every descriptor, and a WAL that cannot rotate
 * grows without bound.
 */
export const fdReserveCount = 32;
/** Descriptors assumed open at start-up where /proc/self/fd cannot be counted (stdio, event loop, LOCK, log, WAL). */
export const fdOwnCountFallback = 16;
/**
 * How often the listener checks that one descriptor can still be opened. Bun's accept loop,
 * when accept() fails with EMFILE, leaves the connection queued and the listening socket ready,
 * so the event loop spins at 100% CPU: this check is what notices it and pauses accepting.
 */
export const acceptProbeMs = 100;
/** Accepting stays paused at least this long once descriptors ran out (the queued connections are refused). */
export const acceptPauseMs = 1000;
/** "Out of descriptors" is logged at most this often; the line counts the pauses in between. */
export const fdWarnIntervalMs = 10_000;
assert(acceptProbeMs < acceptPauseMs, "the descriptor check must run more often than a pause lasts, or resuming would wait for it");

// ---- Durability ----

/**
 * The WAL reserves disk space at least this far ahead, so a full disk refuses a write before it
 * is applied; the chunk grows to 1/8 of the current file, up to walReserveBytesMax, so that a
 * log written at hundreds of MB/s makes a few fallocate calls a second, not hundreds (256 KiB
 * SETs: 1,724 in 6 s cost ~2.5% of the loop). What is reserved past the end is given back at rotation.
 */
export const walReserveBytes = 1 * MiB;
export const walReserveBytesMax = 16 * MiB;
assert(walReserveBytesMax >= walReserveBytes, "the WAL's reservation chunk cannot shrink below its minimum");
/**
 * The WAL's buffer for one turn's records. It grows up to walBufferBytesMax; a turn that logs more
 * writes what it holds and goes on from the start (only a single record longer than the max grows
 * it further, back to the initial size once written): growing it every busy turn cost a copy of
 * everything logged so far and page faults on the new memory (16 KiB SETs, 50 clients, P=16: ~13 MiB a turn).
 */
export const walBufferBytesInitial = 1 * MiB;
export const walBufferBytesMax = 8 * MiB;
assert(walBufferBytesMax >= walBufferBytesInitial, "the WAL buffer's shrink threshold must not be below its initial size, or it would shrink after every turn");
/**
 * A SET whose value is at least this long, and lies in a buffer the keyspace never changes once
 * logged (its own buffer for a large entry), is written to the WAL from that buffer by writev
 * instead of being copied into the turn's buffer. Shorter values cost less to copy than an iovec.
 */
export const walValueByRefBytesMin = 32 * KiB;
/**
 * sync_policy "os" and "batch": the WAL starts writeback of each this many bytes it wrote
 * (sync_file_range, no waiting), so a rotation's fdatasync does not find wal_max_bytes dirty.
 */
export const walWritebackBytes = 8 * MiB;
/** Values logged by reference in one writev at most (two iovecs each, well under IOV_MAX = 1024); past it the WAL writes what it holds and goes on. */
export const walRefsPerTurnMax = 256;
assert(replySliceBytes >= slabLargeBytesMin, "a value answered in slices must have its own large buffer, which never changes while pinned");
assert(walValueByRefBytesMin <= slabLargeBytesMin, "a value long enough to get its own buffer in the keyspace must be long enough to be logged by reference");
/**
 * sync_policy "always": longest a sync waits for writers the previous sync just released (they
 * answer within a loopback round trip). Bounds the latency the wait can add.
 */
export const groupCommitWaitMs = 0.2;
/** How often a WAL that failed to write tries again (writes are refused meanwhile). */
export const walRetryMs = 1000;
assert(groupCommitWaitMs > 0 && groupCommitWaitMs < walRetryMs, "the group-commit wait must be a short positive pause, far below the retry interval");
/**
 * Released waiters (connections whose replies went out) are dropped from the front of the queue
 * once at least this many have piled up and they are most of it: under steady load the queue
 * never empties, and compacting every time would copy it on every sync.
 */
export const waitQueueCompactCount = 4096;
/** Longest a snapshot slice runs before letting clients in; snapshot_pause_max_ms caps it further. */
export const snapshotSliceMs = 2;
/** Shortest slice even when snapshot_pause_max_ms asks for less: below it the walk makes no headway between turns. */
export const snapshotSliceMsMin = 0.5;
/**
 * What one entry weighs for snapshot_fork_min_bytes besides its key and value bytes: its fixed
 * cost in the event loop's writer, as bytes of copying (~110 ns an entry against ~0.33 ns a byte
 * here: 500k entries of 100 B took 73 ms of slices, 1,000 of 16 KiB 5.3 ms).
 */
export const snapshotEntryWeightBytes = 320;
/** How often the event loop asks whether a snapshot's forked child is done (one waitpid WNOHANG). */
export const snapshotChildPollMs = 5;
/**
 * A paced snapshot child (snapshot_busy_bytes_per_sec) goes on at full speed once the WAL has grown
 * by this share of the keyspace's data bytes since it started (and at least snapshotUnpaceBytesMin):
 * each overwrite of an entry under slabInPlaceBlockBytesMin meanwhile holds a fresh slab block until
 * the child ends, so pacing a write-heavy load costs memory and speed (SET 16 KiB over 512 MiB of
 * keys: 0.63× unpaced, measured while 16 KiB blocks still moved too).
 */
export const snapshotUnpaceShare = 1 / 8;
export const snapshotUnpaceBytesMin = 16 * MiB;
/**
 * Longest a snapshot's child runs under SCHED_IDLE (only on cores nothing else wants) before the
 * server raises it to SCHED_OTHER at nice 19, which the scheduler never starves: on a machine kept
 * busy by other work, the snapshot must still end, or the WAL since the last one grows without
 * bound. A 10M-key snapshot took 3–6 s under SCHED_IDLE on the 2-core bench box under load.
 */
export const snapshotIdleMaxMs = 10_000;
assert(snapshotSliceMs >= snapshotSliceMsMin, "the snapshot slice must not be shorter than its minimum");
/** A snapshot that failed (could not create its file, rotate the WAL, write or sync) is tried again, when due, after this long. */
export const snapshotRetryMs = 5000;
/** Snapshot entries are encoded into a buffer of this size and written when it fills (in slices on the event loop: two such writes out at once). */
export const snapshotChunkBytes = 1 * MiB;
/**
 * What a forked snapshot child writes at once (the start of the same buffer). Small: a write is a
 * system call the kernel (PREEMPT_NONE here) does not preempt, and a client the server is waiting
 * on cannot run on that core until it returns (1 MiB → 128 KiB, with the child's writeback steps
 * in native/osprey.c: bench/RESULTS.md, session 13).
 */
export const snapshotChildWriteBytes = 128 * KiB;
assert(snapshotChildWriteBytes <= snapshotChunkBytes, "the child writes from the start of the snapshot's chunk");

/**
 * An online backup copies files through one buffer of this size, a read and a write per chunk on
 * Bun's thread pool: the memory a backup holds, whatever the size of data_dir.
 */
export const backupChunkBytes = 1 * MiB;

// ---- Engine ----

/**
 * Most entries the keyspace can hold; one more is refused with "keyspace full". Entry metadata
 * lives in resizable ArrayBuffers reserved up to this size (37 bytes an entry), so growing them
 * neither copies nor pauses, and untouched pages cost no memory.
 */
export const entriesMax = 1 << 27;
/**
 * The hash table doubles before more than this fraction of its slots is used. Linear probing
 * stays short below it (at 0.6 a hit takes under 2 probes on average, a miss under 4); above it,
 * misses slow down sharply.
 */
export const loadFactorMax = 0.6;
/**
 * A pipelined read's keys are looked up together first (Store.readAhead), at most this many at a
 * time (twice a pipeline of 16), once the keyspace holds at least readAheadEntriesMin entries.
 * Below that the table, records and blocks a lookup touches mostly stay in cache and the extra
 * pass costs more than it saves (in process: +14% a GET at 1,000 keys, -4% at 20,000, -45% at 1M).
 */
export const readAheadKeysMax = 32;
export const readAheadEntriesMin = 1 << 16;
/**
 * In such a keyspace a read of at most readBatchReadBytesMax bytes (a request or a few, not a
 * large value) is held until the event loop's poll has handed over all of its reads, so that their
 * first keys are looked up together (net/reads.ts); at most readBatchBytesMax bytes are held.
 */
export const readBatchReadBytesMax = 4096;
export const readBatchBytesMax = 1 << 20;
/** Slots of an empty hash table (4 KiB of Int32): small stores never resize while they are tiny. */
export const tableSlotsMin = 1024;
/**
 * Old-table slots moved into the new one per insert while the table doubles. Enough that the old
 * table is empty long before the new one fills (asserted below), few enough to cost no latency.
 */
export const rehashSlotsPerInsert = 16;
/** Old-table slots `maintain` moves between two looks at the clock. */
export const rehashSlotsPerStep = 4096;
/**
 * Most keys one write evicts before it runs (about a millisecond of work); the background tick
 * (sweep_interval_ms) goes on from there, as Redis's eviction loop does, so one huge SET cannot
 * stall the event loop evicting millions of small keys.
 */
export const evictKeysPerCallMax = 1024;
/**
 * What a new entry costs besides its key and value, as a write's room is estimated before it runs:
 * its metadata (37 bytes per id) and its share of the hash table and id lists.
 */
export const entryOverheadBytesEstimate = 64;
/** Time one write's eviction may take, checked every 32 keys, alongside evictKeysPerCallMax. */
export const evictBudgetMs = 1;

/**
 * The latest expiry a key can hold, in epoch ms: expiry times are doubles (one Float64Array slot
 * per entry, an i64 on disk), and 2^63 - 1024 is the largest double below 2^63, where Redis's
 * LLONG_MAX ms ends. A later time Redis accepts (up to 2^63 - 1) is held as this one.
 */
export const expiryMsMax = 2 ** 63 - 1024;

/**
 * Stale expiry-heap items tolerated beyond twice the live TTLs before the heap is rebuilt: a
 * rebuild walks every entry, so it must be rare, but rewriting TTLs must not grow the heap unbounded.
 */
export const heapSlackItems = 4096;

// A slot holds entry id + 1 in an Int32Array and -1 marks a tombstone, so every id + 1 must be a
// positive int32; table indexes are masked with `&`, so the largest table must stay below 2^31 slots.
assert(entriesMax + 1 < 2 ** 31, "entriesMax: entry id + 1 must fit an Int32 slot");
assert(loadFactorMax > 0 && loadFactorMax < 1, "loadFactorMax: the table must always keep an empty slot to end probe chains");
assert(2 ** Math.ceil(Math.log2(entriesMax / loadFactorMax + 1)) <= 2 ** 30, "entriesMax / loadFactorMax: the largest table must stay below 2^31 slots");
assert(Number.isInteger(Math.log2(tableSlotsMin)), "tableSlotsMin must be a power of two (indexes are masked)");
// The old table (S slots, at most S × loadFactorMax + 1 entries when doubling starts) is drained after
// S / rehashSlotsPerInsert inserts; by then the new table (2S slots) must still be under its load factor.
assert(loadFactorMax + 1 / rehashSlotsPerInsert < 2 * loadFactorMax, "rehashSlotsPerInsert: the old table must be drained before the new one fills");
assert(heapSlackItems > 0, "heapSlackItems must be positive, or every TTL rewrite would rebuild the heap");
/**
 * Most reply bytes one SCAN step collects keys for (it stops after the bucket that passes it and
 * answers a cursor to go on from): a SCAN with a huge COUNT costs the server and the client a
 * bounded reply, where Redis would build the whole keyspace into one.
 */
export const scanReplyBytesMax = 4 * MiB;
/**
 * Home buckets one SCAN step may visit at least, whatever its COUNT (Redis visits COUNT × 10): the
 * table never shrinks below 1024 slots nor after deletes, so a sparse table would otherwise take
 * many steps that answer nothing. Visiting an empty bucket costs one slot read.
 */
export const scanBucketsPerStepMin = 16384;
/** Expired keys RANDOMKEY removes while looking for a live one before it answers nil. */
export const randomKeyTriesMax = 1000;
/**
 * Recovery reads files through one buffer of this size (grown only for a larger record), so a
 * snapshot of any size costs this much memory to read, not its size.
 */
export const fileReadChunkBytes = 8 * MiB;
/**
 * A file read front to back (a snapshot or WAL at recovery, the tools) at least this large is
 * read into the page cache ahead of the reader by a native thread (native/osprey.c
 * osprey_read_ahead): after a crash the snapshot is not cached, its writer having dropped it.
 */
export const fileReadAheadBytesMin = 64 * MiB;
/**
 * Snapshot entries decoded per native call while loading (persistence/walk.ts): the call's cost
 * is spread over this many, and its scratch arrays cost 24 bytes an entry (96 KiB).
 */
export const snapBulkEntriesMax = 4096;
/** Recovery logs its progress at most this often, so a large data_dir shows it is not stuck. */
export const recoveryProgressIntervalMs = 1000;
/** On a terminal, recovery's in-place status line is redrawn at most this often. */
export const recoveryProgressTtyMs = 250;
/**
 * Salvage (`--repair`, `osprey check`) names the keys it finds in a damaged stretch of a file, up
 * to this many per stretch (the rest are counted), so a log line stays readable however much is lost.
 */
export const salvageKeysListedMax = 100;
/** `osprey dump` hands stdout this much JSON at a time, so its output costs this much memory whatever the keyspace. */
export const dumpChunkBytes = 1 * MiB;
/** `osprey load` refuses an input line longer than this (a 512 MiB value is 683 MiB in base64). */
export const loadLineBytesMax = 1024 * MiB;
/** A WAL record's bytes besides its key and value: a 31-byte header and a 4-byte crc (format.ts asserts it). */
export const walRecordFramingBytes = 35;
/**
 * The largest WAL record a request can produce: an MSET batch, holding a record per key (framing,
 * key, value) inside its own framing, keys and values at most one request's line and payloads.
 */
export const walBatchBytesMax =
  walRecordFramingBytes + (argsCountMax / 2) * walRecordFramingBytes + lineBytesMax + payloadBytesMax(valueBytesMaxLimit);
/**
 * The largest WAL record recovery accepts; a length beyond it is damage, never an allocation. It
 * must hold every record the server writes, or an acknowledged write would stop the next start.
 */
export const walRecordBytesMax = walBatchBytesMax;
assert(walRecordBytesMax >= walRecordFramingBytes + keyBytesMaxLimit + valueBytesMaxLimit, "recovery must accept the largest SET the server can log, not only the largest MSET");
assert(fileReadChunkBytes >= walRecordFramingBytes, "the read chunk must hold at least a record header");

/**
 * Most commands one MULTI may queue, and most bytes its queue may hold (each argument's bytes plus
 * `multiArgOverheadBytes` for where it lies). A queue is server memory a client controls until its
 * EXEC: past either limit the command is refused and the transaction aborted (EXECABORT).
 */
export const multiQueueCommandsMax = 10_000;
export const multiQueueBytesMax = 32 * MiB;
/**
 * Most keys one connection may watch, and most bytes of them: watches last until EXEC, DISCARD or
 * UNWATCH, so they are memory a client controls too. Past either WATCH is refused, adding none.
 */
export const multiWatchKeysMax = 10_000;
export const multiWatchBytesMax = 1 * MiB;
/** What the queue counts per argument besides its bytes: its end offset (int32) and its share of its request's index and name, rounded up. */
export const multiArgOverheadBytes = 8;
/** Longest value a counter logs: the decimal of -2^63 is 20 bytes. */
export const counterTextBytesMax = 20;
/**
 * Longest value INCRBYFLOAT logs: a finite long double is below 2^16384 ≈ 1.19e4932, so its
 * `%.17Lf` text has at most 4933 integer digits, a point, 17 decimals and a sign (4952 bytes).
 */
export const floatTextBytesMax = 4952;
/**
 * An EXEC logs one batch record, whose size is reserved before it runs from a bound computed at
 * EXEC (commands/transactions.ts `logBound`); one past walRecordBytesMax is refused with nothing run.
 * A queue of writes that log only their arguments never gets there: each logs at most one record
 * per key it names, whose key is that argument and whose value is one of its arguments or a
 * counter's decimal. Keys are at most every argument, so its bound is at most framing + per argument
 * (framing + counter value) + the queue's bytes, which recovery accepts. Only writes that log a
 * stored value (APPEND, RENAME, COPY, …: up to max_value_bytes each) can be refused.
 */
export const multiBatchBytesMax =
  walRecordFramingBytes + (multiQueueBytesMax / multiArgOverheadBytes) * (walRecordFramingBytes + counterTextBytesMax) + multiQueueBytesMax;
assert(multiBatchBytesMax <= walRecordBytesMax, "an EXEC's batch record must stay within what recovery accepts (walRecordBytesMax)");

/**
 * Most bytes of the table LCS fills ((n+1) × (m+1) 32-bit lengths, O(n·m) time too): past it, or
 * past max_value_bytes (Redis's bound is proto-max-bulk-len), LCS is refused before allocating.
 * 64 MiB is 16M cells, about 100 ms of one core that no other client gets.
 */
export const lcsTableBytesMax = 64 * MiB;
