// Bun.listen wiring: accepts clients up to max_clients, routes socket events to connections,
// watches for long event-loop turns, and shuts down gracefully.

import type { Socket, TCPSocketListener } from "bun";
import { busyWarnIntervalMs, shutdownFlushMs } from "../constants.ts";
import type { Context } from "../commands/context.ts";
import { Err, RespErr } from "../errors.ts";
import { log } from "../log.ts";
import { Connection } from "./connection.ts";
import { stopOnBug } from "../fatal.ts";

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
  /** The RESP-only listener (resp_listen_addr), when configured. */
  readonly resp: { readonly hostname: string; readonly port: number } | null;
  /** Stops accepting, flushes pending replies, closes every client; resolves when done. */
  shutdown(): Promise<void>;
}

/**
 * Starts listening on listen_addr (Osprey text, or RESP2 when a client's first byte is `*`) and,
 * when configured, on resp_listen_addr (RESP2 only). Throws when an address cannot be bound.
 * Both share one client count, one max_clients and one shutdown.
 */
export function listen(ctx: Context, busy: BusyWatch): Server {
  const connections = new Set<Connection>();
  let onAllClosed: (() => void) | null = null;

  const open = (hostname: string, port: number, respOnly: boolean): TCPSocketListener<Client> =>
    Bun.listen<Client>({
      hostname,
      port,
      socket: {
        binaryType: "uint8array",
        open(socket: Socket<Client>) {
          ctx.stats.connectionsTotal++;
          if (ctx.clients >= ctx.config.clientsMax) {
            ctx.stats.rejectedClientsTotal++;
            socket.data = null;
            socket.write(respOnly ? RespErr.maxClients : Err.maxClients);
            socket.end();
            return;
          }
          ctx.clients++;
          socket.setNoDelay(true);
          const conn = new Connection(socket, ctx, respOnly);
          socket.data = conn;
          connections.add(conn);
        },
        data(socket: Socket<Client>, data: Uint8Array) {
          const started = performance.now();
          // Commands contain their own resource failures: whatever escapes a connection is a bug.
          try {
            socket.data?.onData(data);
          } catch (err) {
            return stopOnBug("handling a read", err);
          }
          busy.check("handling a read", started);
        },
        drain(socket: Socket<Client>) {
          try {
            socket.data?.onDrain();
          } catch (err) {
            stopOnBug("sending replies", err);
          }
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

  const listener = open(ctx.config.listenHost, ctx.config.listenPort, false);
  let respListener: TCPSocketListener<Client> | null = null;
  if (ctx.config.respListenHost !== null) {
    try {
      respListener = open(ctx.config.respListenHost, ctx.config.respListenPort, true);
    } catch (err) {
      listener.stop(true);
      throw new Error(`resp_listen_addr ${ctx.config.respListenHost}:${ctx.config.respListenPort}: ${(err as Error).message}`);
    }
  }
  const listeners = respListener === null ? [listener] : [listener, respListener];

  return {
    hostname: listener.hostname,
    port: listener.port,
    resp: respListener === null ? null : { hostname: respListener.hostname, port: respListener.port },
    async shutdown() {
      for (const l of listeners) l.stop(false);
      if (connections.size === 0) return;
      const closed = new Promise<void>((resolve) => (onAllClosed = resolve));
      for (const conn of connections) conn.shutdown();
      await Promise.race([closed, Bun.sleep(shutdownFlushMs)]);
      for (const l of listeners) l.stop(true);
    },
  };
}
