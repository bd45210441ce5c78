#!/usr/bin/env bun
// The server entry (`bun run src/server.ts [--config osprey.toml]`): config, logging, keyspace,
// active expiry, listening, and a clean exit on SIGINT/SIGTERM.

import { mkdirSync } from "node:fs";
import { defineCommand, runMain } from "citty";
import { sweepBudgetMs } from "./constants.ts";
import { ConfigError, loadConfig } from "./config.ts";
import type { Config } from "./config.types.ts";
import { Stats, type Context } from "./commands/context.ts";
import { Store } from "./engine/store.ts";
import { createLog, log, setLog } from "./log.ts";
import { BusyWatch, listen } from "./net/listener.ts";

/** Starts a server from a config; resolves once it listens. Used by main() and by in-process tests. */
export async function startServer(config: Config) {
  const store = new Store();
  const ctx: Context = {
    store,
    config,
    stats: new Stats(),
    startedMs: Date.now(),
    clients: 0,
    outputRoom: 0,
    outputOverflow: false,
  };
  const busy = new BusyWatch(config.busyWarnMs);
  const server = listen(ctx, busy);

  // Active expiry, bounded per tick in keys (sweep_batch) and time (sweepBudgetMs).
  const sweeper = setInterval(() => {
    const started = performance.now();
    store.sweep(Date.now(), config.sweepBatch, started + sweepBudgetMs);
    busy.check("active expiry", started);
  }, config.sweepIntervalMs);

  return {
    ctx,
    hostname: server.hostname,
    port: server.port,
    async stop() {
      clearInterval(sweeper);
      await server.shutdown();
    },
  };
}

async function main(configPath: string | undefined): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(configPath);
    mkdirSync(config.dataDir, { recursive: true });
    setLog(createLog(config));
  } catch (err) {
    log.error(err instanceof ConfigError ? `bad configuration: ${err.message}` : `cannot start: ${(err as Error).message}`);
    process.exit(1);
  }

  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config);
  } catch (err) {
    log.error(`cannot listen on ${config.listenHost}:${config.listenPort}: ${(err as Error).message}`);
    await log.close();
    process.exit(1);
  }
  log.info(`Osprey listening on ${server.hostname}:${server.port} (pid ${process.pid}, data_dir ${config.dataDir})`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal} received: closing ${server.ctx.clients} client(s) and exiting`);
    await server.stop();
    log.info("bye");
    await log.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

const command = defineCommand({
  meta: { name: "osprey", description: "Osprey key-value server" },
  args: {
    config: { type: "string", alias: "c", description: "path to osprey.toml (default: built-in defaults)" },
  },
  run: ({ args }) => main(args.config),
});

if (import.meta.main) void runMain(command);
