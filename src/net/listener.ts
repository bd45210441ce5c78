// Bun.listen wiring: accepts clients up to max_clients, routes socket events to connections,
// watches for long event-loop turns, and shuts down gracefully.

import type { Socket, TCPSocketListener } from "bun";
import { busyWarnIntervalMs, shutdownFlushMs } from "../constants.ts";
import type { Context } from "../commands/context.ts";
import { Err } from "../errors.ts";
import { log } from "../log.ts";
import { Connection } from "./connection.ts";

type Client = Connection | null; // null: refused over max_clients, closing

/** Warns (at most once per busyWarnIntervalMs) when one turn of our work took longer than busy_warn_ms. */
export class BusyWatch {
  #thresholdMs: number;
  #lastWarnMs = 0;

  constructor(thresholdMs: number) {
    this.#thresholdMs = thresholdMs;
  }

  /** Call after a piece of work that started at `startedMs` (performance.now()). */
  check(what: string, startedMs: number): void {
    this.#report(`${what} took`, performance.now() - startedMs);
  }

  /** Call from a timer that fired `lateMs` after it was due: the loop was blocked that long. */
  late(lateMs: number): void {
    this.#report("a timer fired late by", lateMs);
  }

  #report(what: string, ms: number): void {
    const now = performance.now();
    if (ms <= this.#thresholdMs || now - this.#lastWarnMs < busyWarnIntervalMs) return;
    this.#lastWarnMs = now;
    log.warn(`event loop busy: ${what} ${ms.toFixed(1)}ms (busy_warn_ms = ${this.#thresholdMs})`);
  }
}

export interface Server {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting, flushes pending replies, closes every client; resolves when done. */
  shutdown(): Promise<void>;
}

/** Starts listening on the configured address. Throws when the address cannot be bound. */
export function listen(ctx: Context, busy: BusyWatch): Server {
  const connections = new Set<Connection>();
  let onAllClosed: (() => void) | null = null;

  const listener: TCPSocketListener<Client> = Bun.listen<Client>({
    hostname: ctx.config.listenHost,
    port: ctx.config.listenPort,
    socket: {
      binaryType: "uint8array",
      open(socket: Socket<Client>) {
        ctx.stats.connectionsTotal++;
        if (ctx.clients >= ctx.config.clientsMax) {
          ctx.stats.rejectedClientsTotal++;
          socket.data = null;
          socket.write(Err.maxClients);
          socket.end();
          return;
        }
        ctx.clients++;
        socket.setNoDelay(true);
        const conn = new Connection(socket, ctx);
        socket.data = conn;
        connections.add(conn);
      },
      data(socket: Socket<Client>, data: Uint8Array) {
        const started = performance.now();
        socket.data?.onData(data);
        busy.check("handling a read", started);
      },
      drain(socket: Socket<Client>) {
        socket.data?.onDrain();
      },
      close(socket: Socket<Client>) {
        const conn = socket.data;
        if (conn === null || conn === undefined) return;
        socket.data = null;
        conn.onClose();
        connections.delete(conn);
        ctx.clients--;
        if (connections.size === 0) onAllClosed?.();
      },
      error(_socket: Socket<Client>, error: Error) {
        log.debug(`socket error: ${error.message}`);
      },
    },
  });

  return {
    hostname: listener.hostname,
    port: listener.port,
    async shutdown() {
      listener.stop(false);
      if (connections.size === 0) return;
      const closed = new Promise<void>((resolve) => (onAllClosed = resolve));
      for (const conn of connections) conn.shutdown();
      await Promise.race([closed, Bun.sleep(shutdownFlushMs)]);
      listener.stop(true);
    },
  };
}
