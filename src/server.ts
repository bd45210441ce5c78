#!/usr/bin/env bun
// The server entry (`bun run src/server.ts [flags]`, the `osprey` executable): the command line,
// config, logging, then — in an order that fails fast — bind the ports, lock data_dir, recover the
// keyspace, accept clients; active expiry; signals (SIGINT/SIGTERM stop cleanly with every logged
// write synced, SIGHUP reopens the log and reloads what can change, SIGUSR1 starts a snapshot).

import { notifyFlagsOf } from "./engine/notify.ts";
import { setKeyspaceEvents } from "./pubsub.ts";
import { rssGcLimitFactor, rssGcStep, sweepBudgetMs } from "./constants.ts";
import { ConfigError, loadConfig, type ConfigFlags } from "./config.ts";
import type { Config } from "./config.types.ts";
import { Stats, systemClock, type Context } from "./commands/context.ts";
import { Pause } from "./net/pause.ts";
import { DataDirError, prepareDataDir } from "./datadir.ts";
import { Store } from "./engine/store.ts";
import { stopOnBug } from "./fatal.ts";
import { commit, version } from "./version.ts";
import { createLog, log, setLog } from "./log.ts";
import { bindMetrics, type MetricsEndpoint } from "./metrics-http.ts";
import { BusyWatch, bind, ListenError, TlsReloadError } from "./net/listener.ts";
import { inputBudget, outputBudget } from "./net/budget.ts";
import { countOpenFds, fitClients } from "./net/descriptors.ts";
import { raiseFileLimit } from "./native/index.ts";
import { DataDirLockedError, openPersistence, RecoveryError, type Persistence } from "./persistence/index.ts";
import { isToolName, runTool } from "./tools/index.ts";
import { loadAclFile } from "./auth.ts";
import { noteServerFacts } from "./commands/server.ts";
import { opsMeterOf } from "./metrics.ts";

/** Exit statuses: a clean stop, a server that cannot start (config, data_dir, port, lock, recovery), a wrong command line. */
const exitOk = 0;
const exitCannotStart = 1;
const exitUsage = 2;

/** Starts a server from a config; resolves once it accepts clients. Used by main() and by in-process tests. */
export async function startServer(config: Config, options: { repair?: boolean; configFile?: string } = {}) {
  const store = new Store();
  const limits = raiseFileLimit();
  // 1. The ports first: a busy one is reported now, not after a recovery of many seconds. Clients
  //    that connect meanwhile wait in the accept queue until step 4.
  const bound = bind(config);
  let metrics: MetricsEndpoint | null = null;
  let persistence: Persistence;
  try {
    if (config.metricsListenHost !== null) metrics = bindMetrics(config.metricsListenHost, config.metricsListenPort);
    // 2 and 3. The data_dir lock (before anything is read: a second server stops here), then recovery.
    persistence = openPersistence(config, store, options);
  } catch (err) {
    bound.close();
    metrics?.stop();
    throw err;
  }
  applyMemoryLimit(store, config);
  // Counted once the LOCK, the log and the WAL are open: what clients may take is the rest, less a
  // reserve, so the server's own files always find a descriptor. The lowered limit is the one
  // enforced and reported (STATS, INFO, CONFIG GET maxclients), as Redis does.
  const fit = fitClients(config.clientsMax, limits, countOpenFds());
  if (fit.warning !== null) {
    log.warn(fit.warning);
    config = { ...config, clientsMax: fit.clientsMax };
  }
  const ctx: Context = {
    store,
    config,
    stats: new Stats(),
    clock: systemClock,
    startedMs: Date.now(),
    wal: persistence.wal,
    persistence,
    input: inputBudget(config.clientInputBytesMax),
    output: outputBudget(config.clientOutputBytesMax),
    clients: 0,
    outputRoom: 0,
    outputOverflow: false,
    pause: new Pause(systemClock.nowMs),
    monitors: [],
    shutdown: null,
    notifyFlags: notifyFlagsOf(config.notifyKeyspaceEvents)!,
    pubsubOutputBytesMax: config.pubsubOutputBytesMax,
    activeExpire: true,
  };
  setKeyspaceEvents(ctx, ctx.notifyFlags);
  // acl_file's users, before any client is accepted: a file that does not load stops the start-up.
  try {
    const n = loadAclFile(ctx);
    if (n !== null) log.info(`${n} user(s) loaded from acl_file ${config.aclFile}`);
  } catch (err) {
    bound.close();
    metrics?.stop();
    persistence.close();
    throw err;
  }
  const busy = new BusyWatch(config.busyWarnMs);
  // 4. Accept, in the same turn recovery ended in: nothing ran against a half-loaded keyspace.
  const server = bound.serve(ctx, busy);
  noteServerFacts(ctx, { configFile: options.configFile ?? null, tcpPort: server.port });
  const ops = opsMeterOf(ctx);
  metrics?.serve(ctx);

  // Active expiry, bounded per tick in keys (sweep_batch) and time (sweepBudgetMs). The tick also
  // notices a blocked event loop (GC, a long turn elsewhere): it fires late by that much.
  const guardRss = rssGuard(store);
  let due = performance.now() + config.sweepIntervalMs;
  const sweeper = setInterval(() => {
    const started = performance.now();
    busy.late(started - due);
    due = started + config.sweepIntervalMs;
    ops.tick(started, ctx.stats.commandsTotal);
    if (ctx.activeExpire) store.sweep(Date.now(), config.sweepBatch, started + sweepBudgetMs);
    store.evictIfOver(started + sweepBudgetMs);
    store.maintain(started + sweepBudgetMs);
    guardRss();
    busy.check("active expiry", started);
  }, config.sweepIntervalMs);

  return {
    ctx,
    hostname: server.hostname,
    port: server.port,
    resp: server.resp,
    tls: server.tls,
    metrics: metrics === null ? null : { hostname: metrics.hostname, port: metrics.port },
    /**
     * Applies the settings that can change while running (`reloadable`: log_level,
     * slowlog_threshold_ms, timeout, the authentication limits): the context's config is replaced
     * whole, so every reader sees one consistent Config.
     */
    reconfigure(next: Pick<Config, (typeof reloadable)[number]>) {
      const changed: Partial<Config> = {};
      for (const f of reloadable) (changed as Record<string, unknown>)[f] = next[f];
      (ctx as { config: Config }).config = Object.freeze({ ...ctx.config, ...changed });
      log.reconfigure?.(next);
    },
    /** SIGHUP's TLS step (net/listener.ts reloadTls): what changed, "" when nothing did; throws TlsReloadError. */
    reloadTls: () => server.reloadTls(),
    async stop() {
      clearInterval(sweeper);
      metrics?.stop();
      const closed = server.shutdown(); // stops parsing; held replies wait for the WAL below
      persistence.close();
      await closed;
    },
  };
}

/**
 * The RSS guard under max_memory_bytes (docs/ARCHITECTURE.md, "Memory"): writes at the limit
 * leave request garbage that JSC collects only when its own heuristics say so, by which time RSS
 * can be well past the limit (1.3-2.9 × the bound in bench/eviction.sh). Each tick reads the
 * process's RSS (~14 µs: /proc/self/statm) and, when it is past its baseline (the runtime and its
 * buffers, measured at start) plus rssGcLimitFactor × the limit, runs a full GC (7-12 ms for 300k
 * keys). When the GC cannot get RSS under that line (what holds it is not only garbage: 50
 * clients' buffers and the JIT's code are ~10% of a 64 MiB limit; a snapshot's), the next GC waits
 * until RSS has grown rssGcStep of the limit past where this one left it: a server over the line
 * for other reasons does not collect every tick, and garbage can never pile up more than a step.
 * (A backoff in time instead, 1 s doubling to 5 s, let P=1 SETs add 7 MiB/s of garbage meanwhile:
 * peaks 1.02-1.07 × the bound at 64 MiB, against 0.99-1.00 with the step.)
 */
function rssGuard(store: Store): () => void {
  const baseRss = Math.max(0, process.memoryUsage.rss() - store.usedMemory);
  /** RSS left by the last GC that could not get under the line (0: none did). */
  let floor = 0;
  return () => {
    if (store.maxMemory === 0) return;
    const rss = process.memoryUsage.rss();
    const line = baseRss + store.maxMemory * rssGcLimitFactor;
    if (rss <= line) {
      floor = 0;
      return;
    }
    if (rss < floor + store.maxMemory * rssGcStep) return;
    Bun.gc(true);
    const after = process.memoryUsage.rss();
    floor = after <= line ? 0 : after;
  };
}

/**
 * Sets max_memory_bytes once recovery is done. A data dir recovered above the limit is brought
 * under it by the policy now, each eviction logged as a delete, so the server never starts above
 * its limit; under noeviction it starts as it is and refuses writes until memory is freed.
 */
function applyMemoryLimit(store: Store, config: Config): void {
  store.setMemoryLimit(config.maxMemoryBytes, config.evictionPolicy);
  if (config.maxMemoryBytes === 0 || store.usedMemory <= config.maxMemoryBytes) return;
  const before = store.evictedTotal;
  while (store.usedMemory > config.maxMemoryBytes && store.makeRoom(0, Infinity)) {}
  const evicted = store.evictedTotal - before;
  const state = store.usedMemory > config.maxMemoryBytes ? "still over it: writes that need memory are refused" : "now under it";
  log.warn(`recovered keyspace holds more than max_memory_bytes (${config.maxMemoryBytes}): ${evicted} key(s) evicted by ${config.evictionPolicy}, ${state}`);
}

type Running = Awaited<ReturnType<typeof startServer>>;

/** The server's flags: each takes a value except --repair, --help and --version. */
const valueFlags: Record<string, keyof ParsedArgs> = {
  "--config": "config",
  "-c": "config",
  "--port": "port",
  "-p": "port",
  "--listen": "listen",
  "--data-dir": "dataDir",
  "--sync": "sync",
};

interface ParsedArgs extends ConfigFlags {
  config?: string;
  repair?: boolean;
  help?: boolean;
  version?: boolean;
}

/** A wrong command line; the message is one line, printed with a hint to --help. */
class UsageError extends Error {}

/** Parses the server's argv (without the executable); throws UsageError for anything unknown. */
export function parseServerArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const field = valueFlags[name];
    if (field !== undefined) {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      (out as Record<string, string>)[field] = v;
      continue;
    }
    if (eq > 0) throw new UsageError(name === "--repair" || name === "--help" || name === "--version" ? `${name} takes no value` : `unknown option ${name}`);
    if (arg === "--repair") out.repair = true;
    else if (arg === "--help" || arg === "-h") out.help = true;
    else if (arg === "--version" || arg === "-v") out.version = true;
    else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
  }
  return out;
}

/** `osprey --help`: plain text, so it reads the same in a terminal, a pipe and a man-page grep. */
export function helpText(): string {
  return `osprey ${version}: Osprey key-value server

Usage: osprey [options]
       osprey check|dump|load|repair …   offline tools for a data_dir (docs/OPERATIONS.md)
       osprey backup DEST [ADDR]         online backup of a running server into DEST

Options:
  -c, --config FILE    read settings from FILE (osprey.toml); default: built-in defaults
  -p, --port PORT      listen on PORT (keeps the host of listen_addr); 0 picks a free port
      --listen ADDR    listen_addr: "host:port", "[::1]:port", ":port" for every IPv4 interface
      --data-dir DIR   data_dir: WAL, snapshots, MANIFEST.json, logs/
      --sync POLICY    sync_policy: os, batch or always
      --repair         recover past damaged WAL records or snapshot entries: every record and entry
                       that checks is kept, damaged bytes go to .broken files, the result is
                       snapshotted before clients are served
  -h, --help           print this and exit
  -v, --version        print the version and exit

Every config key can also be set with an environment variable named after it in capitals:
OSPREY_LISTEN_ADDR, OSPREY_DATA_DIR, OSPREY_SYNC_POLICY, OSPREY_METRICS_LISTEN_ADDR, ... and
OSPREY_CONFIG names the config file. A flag wins over the environment, the environment over the
file, the file over the defaults.

Signals: SIGTERM/SIGINT stop cleanly; SIGHUP reopens the log file, reloads log_level,
slowlog_threshold_ms, timeout and the authentication limits, and reads the TLS certificate files
again; SIGUSR1 starts a snapshot. Documentation: docs/OPERATIONS.md.
`;
}

/** Runs the `osprey` command line; `argv` is without the executable and script. */
export async function main(argv: readonly string[]): Promise<void> {
  // Offline tools (`osprey check|dump|load|repair …`, src/tools/) are dispatched here, before any server flag is parsed.
  if (isToolName(argv[0])) process.exit(await runTool(argv[0], argv.slice(1)));

  let args: ParsedArgs;
  try {
    args = parseServerArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`osprey: ${err.message} (osprey --help lists the options)\n`);
    process.exit(exitUsage);
  }
  if (args.help === true) {
    process.stdout.write(helpText());
    process.exit(exitOk);
  }
  if (args.version === true) {
    process.stdout.write(`${version}\n`);
    process.exit(exitOk);
  }
  const configPath = args.config ?? (process.env.OSPREY_CONFIG || undefined);
  const flags: ConfigFlags = { listen: args.listen, port: args.port, dataDir: args.dataDir, sync: args.sync };
  const load = (warn: (msg: string) => void) => loadConfig(configPath, { warn, env: process.env, flags });

  let config: Config | undefined;
  let failure: unknown;
  // Config warnings (unknown keys) wait until the log file is open, so they land in it too.
  const warnings: string[] = [];
  try {
    config = load((msg) => warnings.push(msg));
    // Before the first file is created: WAL, snapshots, LOCK, the log and their folders are private.
    process.umask(config.umask);
    prepareDataDir(config.dataDir);
    setLog(createLog(config));
  } catch (err) {
    failure = err;
  }
  for (const msg of warnings) log.warn(msg);
  if (config === undefined || failure !== undefined) {
    const e = failure as NodeJS.ErrnoException;
    if (e instanceof ConfigError) log.error(`bad configuration: ${e.message}`);
    else if (e instanceof DataDirError) log.error(`cannot start: ${e.message}`);
    else log.error(`cannot start: ${e.code === undefined ? "" : `${e.code} `}${e.message}`);
    await log.close();
    process.exit(exitCannotStart);
  }
  const loaded = config;

  // Signal handlers go in before anything can see us listening: a supervisor that sends SIGTERM
  // the moment it reads the "listening" line must get a clean shutdown, not the default kill.
  let server: Running | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal} received: closing ${server?.ctx.clients ?? 0} client(s) and exiting`);
    await server?.stop();
    log.info("bye");
    await log.close();
    process.exit(exitOk);
  };
  // A bug found in a timer (expiry, snapshot slices, the log's flush) stops the server like one found in a request.
  process.on("uncaughtException", (err) => stopOnBug("uncaught exception", err));
  // SIGHUP (logrotate's postrotate) reopens the log file instead of killing the server, its default,
  // and reloads the config for what can change while running.
  process.on("SIGHUP", () => {
    const why = log.reopen?.() ?? null;
    if (why === null) log.info("SIGHUP received: log file reopened");
    else log.warn(`SIGHUP received: ${why}`);
    if (server !== undefined) reload(server, loaded, () => load((msg) => log.warn(`SIGHUP: ${msg}`)));
  });
  // SIGUSR1: a snapshot now (before an upgrade or a backup), as the SNAPSHOT command does.
  process.on("SIGUSR1", () => {
    const snapshots = server?.ctx.persistence?.snapshots;
    const why = snapshots === undefined ? "the server is still starting" : snapshots.start("SIGUSR1");
    if (why !== null) log.warn(`SIGUSR1 received: snapshot not started: ${why}`);
  });
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  const known = commit();
  log.info(`Osprey ${version}${known === null ? "" : ` (commit ${known})`} starting: pid ${process.pid}, data_dir ${config.dataDir}`);
  try {
    server = await startServer(config, { repair: args.repair === true, configFile: configPath });
  } catch (err) {
    if (err instanceof ListenError || err instanceof DataDirLockedError) log.error(`cannot start: ${err.message}`);
    else if (err instanceof RecoveryError) log.error(`cannot recover ${config.dataDir}: ${err.message}`);
    else log.error(`cannot start: ${(err as Error).message}`);
    await log.close();
    process.exit(exitCannotStart);
  }
  server.ctx.shutdown = (why) => void stop(why);
  // The "listening" line comes last: whoever waits for it finds every port open.
  if (server.resp !== null) log.info(`RESP2-only port on ${server.resp.hostname}:${server.resp.port} (resp_listen_addr)`);
  if (server.tls !== null) log.info(`TLS port on ${server.tls.hostname}:${server.tls.port} (tls_listen_addr)`);
  if (server.metrics !== null) log.info(`Prometheus metrics on http://${server.metrics.hostname}:${server.metrics.port}/metrics (metrics_listen_addr)`);
  log.info(`Osprey listening on ${server.hostname}:${server.port} (pid ${process.pid}, data_dir ${config.dataDir})`);
}

/** Settings SIGHUP applies at once; every other key is only read at start-up (TLS certificate files are read again too). */
const reloadable = ["logLevel", "slowlogThresholdMs", "timeoutSeconds", "unauthenticatedClientsMax", "authTimeoutSeconds", "authFailureDelayMs"] as const;

/** Config fields whose osprey.toml key is not the field's name in snake_case. */
const keyNames: Partial<Record<keyof Config, string>> = {
  listenHost: "listen_addr",
  listenPort: "listen_addr",
  respListenHost: "resp_listen_addr",
  respListenPort: "resp_listen_addr",
  tlsListenHost: "tls_listen_addr",
  tlsListenPort: "tls_listen_addr",
  metricsListenHost: "metrics_listen_addr",
  metricsListenPort: "metrics_listen_addr",
  clientsMax: "max_clients",
  keyBytesMax: "max_key_bytes",
  valueBytesMax: "max_value_bytes",
  walBytesMax: "wal_max_bytes",
  snapshotEnable: "enable_snapshot",
  timeoutSeconds: "timeout",
  unauthenticatedClientsMax: "max_unauthenticated_clients",
  authTimeoutSeconds: "auth_timeout",
};

/** The osprey.toml key of a Config field, for the lines SIGHUP logs. */
function keyOf(field: keyof Config): string {
  return keyNames[field] ?? field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * SIGHUP's reload: reads the config again (flags and environment as at start-up), applies the
 * reloadable settings and logs each change; changed keys that need a restart are named. A config
 * that no longer validates changes nothing.
 */
function reload(server: Running, started: Config, read: () => Config): void {
  reloadTls(server);
  let next: Config;
  try {
    next = read();
  } catch (err) {
    log.warn(`SIGHUP: configuration not reloaded, nothing changed: ${(err as Error).message}`);
    return;
  }
  const now = server.ctx.config;
  const applied: string[] = [];
  for (const f of reloadable) if (next[f] !== now[f]) applied.push(`${keyOf(f)} ${now[f]} → ${next[f]}`);
  if (applied.length > 0) {
    server.reconfigure(next);
    log.info(`SIGHUP: configuration reloaded: ${applied.join(", ")}`);
  }
  const restart = new Set<string>();
  for (const f of Object.keys(next) as (keyof Config)[]) {
    if ((reloadable as readonly string[]).includes(f)) continue;
    // [[users]] is a fresh array on every read: compare its contents.
    if (f === "users" ? JSON.stringify(next.users) !== JSON.stringify(started.users) : next[f] !== started[f]) restart.add(keyOf(f));
  }
  if (restart.size > 0) log.warn(`SIGHUP: changed in the configuration but only read at start-up, restart to apply: ${[...restart].join(", ")}`);
  if (applied.length === 0 && restart.size === 0) log.info("SIGHUP: configuration unchanged");
}

/**
 * SIGHUP's certificate rotation: the TLS files are read again at their configured paths; changed
 * and valid ones serve new connections (connected clients keep theirs), a bad one is refused and
 * the running certificate stays.
 */
function reloadTls(server: Running): void {
  if (server.ctx.config.tlsCertFile === null) return;
  try {
    const changed = server.reloadTls();
    log.info(changed === "" ? "SIGHUP: TLS certificate files unchanged" : `SIGHUP: ${changed}`);
  } catch (err) {
    if (!(err instanceof TlsReloadError)) throw err;
    log.error(`SIGHUP: TLS certificate not reloaded, the running one stays: ${err.message}`);
  }
}

if (import.meta.main) void main(process.argv.slice(2));
