#!/usr/bin/env bun
// The server entry (`bun run src/server.ts [--config osprey.toml] [--repair]`): config, logging,
// recovery of the keyspace from data_dir, the WAL, active expiry, listening, and a clean exit on
// SIGINT/SIGTERM (every logged write flushed and synced before the last replies go out).

import { mkdirSync } from "node:fs";
import { defineCommand, runMain } from "citty";
import { sweepBudgetMs } from "./constants.ts";
import { ConfigError, loadConfig } from "./config.ts";
import type { Config } from "./config.types.ts";
import { Stats, systemClock, type Context } from "./commands/context.ts";
import { Store } from "./engine/store.ts";
import { stopOnBug } from "./fatal.ts";
import { version } from "./version.ts";
import { createLog, log, setLog } from "./log.ts";
import { BusyWatch, listen } from "./net/listener.ts";
import { InputBudget } from "./net/input-budget.ts";
import { countOpenFds, fitClients } from "./net/descriptors.ts";
import { raiseFileLimit } from "./native/index.ts";
import { DataDirLockedError, openPersistence, RecoveryError } from "./persistence/index.ts";
import { isToolName, runTool } from "./tools/index.ts";

/** Starts a server from a config; resolves once it listens. Used by main() and by in-process tests. */
export async function startServer(config: Config, options: { repair?: boolean } = {}) {
  const store = new Store();
  const limits = raiseFileLimit();
  // Recovery runs before the port opens: no client ever sees a half-loaded keyspace.
  const persistence = openPersistence(config, store, options);
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
    input: new InputBudget(config.clientInputBytesMax),
    clients: 0,
    outputRoom: 0,
    outputOverflow: false,
  };
  const busy = new BusyWatch(config.busyWarnMs);
  const server = listen(ctx, busy);

  // Active expiry, bounded per tick in keys (sweep_batch) and time (sweepBudgetMs). The tick also
  // notices a blocked event loop (GC, a long turn elsewhere): it fires late by that much.
  let due = performance.now() + config.sweepIntervalMs;
  const sweeper = setInterval(() => {
    const started = performance.now();
    busy.late(started - due);
    due = started + config.sweepIntervalMs;
    store.sweep(Date.now(), config.sweepBatch, started + sweepBudgetMs);
    store.maintain(started + sweepBudgetMs);
    busy.check("active expiry", started);
  }, config.sweepIntervalMs);

  return {
    ctx,
    hostname: server.hostname,
    port: server.port,
    resp: server.resp,
    async stop() {
      clearInterval(sweeper);
      const closed = server.shutdown(); // stops parsing; held replies wait for the WAL below
      persistence.close();
      await closed;
    },
  };
}

async function main(configPath: string | undefined, repair: boolean): Promise<void> {
  // `osprey check|dump|load|repair …`: an offline tool (src/tools/) instead of a server.
  if (isToolName(process.argv[2])) process.exit(await runTool(process.argv[2], process.argv.slice(3)));
  let config: Config | undefined;
  let failure: unknown;
  // Config warnings (unknown keys) wait until the log file is open, so they land in it too.
  const warnings: string[] = [];
  try {
    config = loadConfig(configPath, { warn: (msg) => warnings.push(msg) });
    mkdirSync(config.dataDir, { recursive: true });
    setLog(createLog(config));
  } catch (err) {
    failure = err;
  }
  for (const msg of warnings) log.warn(msg);
  if (config === undefined || failure !== undefined) {
    log.error(failure instanceof ConfigError ? `bad configuration: ${failure.message}` : `cannot start: ${(failure as Error).message}`);
    process.exit(1);
  }

  // Signal handlers go in before anything can see us listening: a supervisor that sends SIGTERM
  // the moment it reads the "listening" line must get a clean shutdown, not the default kill.
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal} received: closing ${server?.ctx.clients ?? 0} client(s) and exiting`);
    await server?.stop();
    log.info("bye");
    await log.close();
    process.exit(0);
  };
  // A bug found in a timer (expiry, snapshot slices, the log's flush) stops the server like one found in a request.
  process.on("uncaughtException", (err) => stopOnBug("uncaught exception", err));
  // SIGHUP (logrotate's postrotate) reopens the log file instead of killing the server, its default.
  process.on("SIGHUP", () => {
    const why = log.reopen?.() ?? null;
    if (why === null) log.info("SIGHUP received: log file reopened");
    else log.warn(`SIGHUP received: ${why}`);
  });
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  try {
    server = await startServer(config, { repair });
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      log.error(`cannot start: ${err.message}`);
      await log.close();
      process.exit(1);
    }
    if (err instanceof RecoveryError) {
      log.error(`cannot recover ${config.dataDir}: ${err.message}`);
      await log.close();
      process.exit(1);
    }
    log.error(`cannot listen on ${config.listenHost}:${config.listenPort}: ${(err as Error).message}`);
    await log.close();
    process.exit(1);
  }
  // The "listening" line comes last: whoever waits for it finds every port open.
  if (server.resp !== null) log.info(`RESP2-only port on ${server.resp.hostname}:${server.resp.port} (resp_listen_addr)`);
  log.info(`Osprey listening on ${server.hostname}:${server.port} (pid ${process.pid}, data_dir ${config.dataDir})`);
}

/** The `osprey` command line; the single-executable entry (src/executables/osprey.ts) runs it too. */
export const command = defineCommand({
  meta: { name: "osprey", version, description: "Osprey key-value server" },
  args: {
    config: { type: "string", alias: "c", description: "path to osprey.toml (default: built-in defaults)" },
    repair: {
      type: "boolean",
      description: "recover past damaged WAL records or snapshot entries by truncating there (the cut bytes are kept in .broken files)",
    },
  },
  run: ({ args }) => main(args.config, args.repair === true),
});

if (import.meta.main) void runMain(command);
