// Bun.listen wiring: accepts clients up to max_clients, routes socket events to connections,
// watches for long event-loop turns, pauses accepting when descriptors run out, and shuts down
// gracefully.

import type { Socket, TCPSocketListener } from "bun";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { acceptPauseMs, acceptProbeMs, busyWarnIntervalMs, clientSweepMs, fdWarnIntervalMs, shutdownFlushMs } from "../constants.ts";
import { authConfigured, authOf } from "../auth.ts";
import { assert } from "../assert.ts";
import type { Config } from "../config.types.ts";
import type { Context } from "../commands/context.ts";
import { readHandled } from "../metrics.ts";
import { Err, RespErr } from "../errors.ts";
import { log } from "../log.ts";
import { Connection } from "./connection.ts";
import { ReadBatch } from "./reads.ts";
import { clientsOf } from "./clients.ts";
import { stopOnBug } from "../fatal.ts";

type Client = Connection | null; // null: refused over max_clients, closing

/** Warns (at most once per busyWarnIntervalMs) when one turn of our work took longer than busy_warn_ms. */
export class BusyWatch {
  #thresholdMs: number;
  #lastWarnMs = 0;

  constructor(thresholdMs: number) {
    this.#thresholdMs = thresholdMs;
  }

  /**
   * Call after a piece of work that started at `startedMs` (performance.now()); returns how long it
   * took. Under the threshold — every read but a stalled one — it only subtracts and compares: at
   * P=1 it runs once per request, and a clock read or a string built here cost as much as parsing.
   */
  check(what: string, startedMs: number, endedMs = performance.now()): number {
    const ms = endedMs - startedMs;
    if (ms > this.#thresholdMs) this.#report(what, " took", ms);
    return ms;
  }

  /** Call from a timer that fired `lateMs` after it was due: the loop was blocked that long. */
  late(lateMs: number): void {
    if (lateMs > this.#thresholdMs) this.#report("a timer fired late by", "", lateMs);
  }

  #report(what: string, verb: string, ms: number): void {
    const now = performance.now();
    if (now - this.#lastWarnMs < busyWarnIntervalMs) return;
    this.#lastWarnMs = now;
    log.warn(`event loop busy: ${what}${verb} ${ms.toFixed(1)}ms (busy_warn_ms = ${this.#thresholdMs})`);
  }
}

export interface Server {
  readonly hostname: string;
  readonly port: number;
  /** The RESP-only listener (resp_listen_addr), when configured. */
  readonly resp: { readonly hostname: string; readonly port: number } | null;
  /** The TLS listener (tls_listen_addr), when configured; otherwise TLS, when on, is on the other ports. */
  readonly tls: { readonly hostname: string; readonly port: number } | null;
  /**
   * Reads tls_cert_file, tls_key_file and tls_ca_file again (SIGHUP) and, when they changed and
   * check out, listens with them: new connections get the new certificate, connected ones keep
   * theirs. Returns what changed ("" when nothing did); throws TlsReloadError, keeping the old
   * certificate, when a file cannot be read or the certificate and key are not a valid pair.
   */
  reloadTls(): string;
  /** Stops accepting, flushes pending replies, closes every client; resolves when done. */
  shutdown(): Promise<void>;
}

/** A TLS reload that was refused; the running certificate stays. */
export class TlsReloadError extends Error {}

/** Listening sockets bound before recovery; serve() hands them the recovered keyspace. */
export interface Bound {
  readonly hostname: string;
  readonly port: number;
  readonly resp: { readonly hostname: string; readonly port: number } | null;
  readonly tls: { readonly hostname: string; readonly port: number } | null;
  /** Starts serving clients (queued ones included) with `ctx`; call in the same turn as recovery ends. */
  serve(ctx: Context, busy: BusyWatch): Server;
  /** Closes the sockets without serving (start-up failed after binding). */
  close(): void;
}

/** An address could not be bound; the message names it, its config key, the cause and what to do. */
export class ListenError extends Error {}

/**
 * The message for a failed bind: Bun says only "Failed to listen at <host>" and leaves the errno
 * in `code`, which is what tells a busy port from a missing interface or a privileged port.
 */
export function listenFailure(key: string, hostname: string, port: number, err: unknown): ListenError {
  const e = err as NodeJS.ErrnoException;
  const where = `cannot listen on ${hostname.includes(":") ? `[${hostname}]` : hostname}:${port} (${key})`;
  const why: Record<string, string> = {
    EADDRINUSE: `the address is in use by another process (EADDRINUSE). Stop that process (\`ss -ltnp 'sport = :${port}'\` shows it) or choose another port (--port, --listen, OSPREY_${key.toUpperCase()} or ${key})`,
    EADDRNOTAVAIL: `no network interface of this machine has that address (EADDRNOTAVAIL). Use one of its addresses, 127.0.0.1, or 0.0.0.0 for all`,
    EACCES: `permission denied (EACCES): ports below 1024 need root or CAP_NET_BIND_SERVICE. Choose a port from 1024 up`,
  };
  const text = typeof e?.code === "string" ? why[e.code] ?? `${e.code}: ${e.message}` : `${(err as Error).message} (is "${hostname}" a local address or a name that resolves?)`;
  return new ListenError(`${where}: ${text}`, { cause: err });
}

/** Whether a host is a loopback address (127.0.0.0/8, ::1, localhost): reachable only from this machine. */
function loopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./i.test(host);
}

/**
 * Protected mode (Redis's): with no password and no user configured, a listen address beyond
 * loopback would let anyone who reaches it read and erase everything, so the server refuses to
 * start and says how to fix it. Null when starting is fine.
 */
export function protectedModeRefusal(config: Pick<Config, "listenHost" | "respListenHost" | "tlsListenHost" | "protectedMode" | "authPassword" | "users" | "aclFile">): string | null {
  if (!config.protectedMode || authConfigured(config)) return null;
  const addrs = [[config.listenHost, "listen_addr"], [config.respListenHost, "resp_listen_addr"], [config.tlsListenHost, "tls_listen_addr"]];
  const open = addrs.filter(([h]) => h !== null && !loopback(h)) as [string, string][];
  if (open.length === 0) return null;
  const [host, key] = open[0]!;
  return `protected mode: ${key} is ${host}, beyond loopback, and no password or user is configured, so anyone who reaches the port could read and erase every key. Set auth_password or add [[users]] (docs/OPERATIONS.md, Security), listen on 127.0.0.1, or opt out with protected_mode = false`;
}

type BindConfig = Pick<
  Config,
  | "listenHost"
  | "listenPort"
  | "respListenHost"
  | "respListenPort"
  | "tlsListenHost"
  | "tlsListenPort"
  | "protectedMode"
  | "authPassword"
  | "users"
  | "aclFile"
  | "tlsCertFile"
  | "tlsKeyFile"
  | "tlsCaFile"
  | "tlsClientAuth"
>;

interface TlsOptions {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
}

/**
 * Bun.listen's `tls` from tls_cert_file, tls_key_file, tls_ca_file and tls_client_auth; null when
 * TLS is off. The files are read now, so a missing or unreadable one stops the start-up (or a
 * reload, with `fail`) naming it. "required" refuses, during the handshake, a client without a
 * certificate from the CA; "optional" asks for one and refuses only a certificate that does not
 * verify (`handshake` below).
 */
function tlsOptions(config: BindConfig, fail: (msg: string) => Error = (msg) => new ListenError(msg)): TlsOptions | null {
  if (config.tlsCertFile === null || config.tlsKeyFile === null) return null;
  const read = (key: string, path: string): string => {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw fail(`cannot read ${key} ${path}: ${(err as Error).message}`);
    }
  };
  const cert = read("tls_cert_file", config.tlsCertFile);
  const key = read("tls_key_file", config.tlsKeyFile);
  const ca = config.tlsCaFile === null ? undefined : read("tls_ca_file", config.tlsCaFile);
  const asks = config.tlsClientAuth !== "no";
  return { cert, key, ...(ca === undefined ? {} : { ca }), requestCert: asks, rejectUnauthorized: config.tlsClientAuth === "required" };
}

/**
 * Checks a certificate chain and key before they replace working ones (Bun.listen would take a
 * broken pair and fail every handshake): the first certificate parses, the key parses and is that
 * certificate's, a CA bundle parses. Returns the certificate, for the log line.
 */
function checkTls(tls: TlsOptions): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(tls.cert);
  } catch (err) {
    throw new TlsReloadError(`tls_cert_file holds no certificate that can be read: ${(err as Error).message}`);
  }
  let key;
  try {
    key = createPrivateKey(tls.key);
  } catch (err) {
    throw new TlsReloadError(`tls_key_file holds no private key that can be read: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) throw new TlsReloadError("tls_key_file is not the key of the certificate in tls_cert_file");
  if (tls.ca !== undefined) {
    try {
      new X509Certificate(tls.ca);
    } catch (err) {
      throw new TlsReloadError(`tls_ca_file holds no certificate that can be read: ${(err as Error).message}`);
    }
  }
  return cert;
}

/**
 * Binds listen_addr (Osprey text, or RESP2 when a client's first byte is `*`) and, when
 * configured, resp_listen_addr (RESP2 only) and tls_listen_addr (as listen_addr, over TLS: the
 * other two then stay plain TCP; without it TLS, when on, is on both), before recovery, so that a
 * busy port is reported at once and not after replaying the data. Throws ListenError when an
 * address cannot be bound. Clients that connect meanwhile wait in the kernel's accept queue:
 * recovery runs synchronously, so the event loop accepts nothing until serve() has the recovered
 * keyspace. Every port shares one client count, one max_clients and one shutdown.
 */
export function bind(config: BindConfig): Bound {
  const refusal = protectedModeRefusal(config);
  if (refusal !== null) throw new ListenError(refusal);
  let tls = tlsOptions(config);
  const connections = new Set<Connection>();
  let onAllClosed: (() => void) | null = null;
  let ctx: Context | null = null;
  let busy: BusyWatch | null = null;
  let reads: ReadBatch | null = null;

  /** One read of `conn`, run (now or after the poll: net/reads.ts). */
  const runRead = (conn: Connection, data: Uint8Array): void => {
    // One clock read starts the batch: the connection takes it for its wall clock and timing
    // runs, and hands back the one it read at the end.
    const started = performance.now();
    let ended: number;
    // Commands contain their own resource failures: whatever escapes a connection is a bug.
    try {
      ended = conn.onData(data, started);
    } catch (err) {
      return stopOnBug("handling a read", err);
    }
    readHandled(busy!.check("handling a read", started, ended));
  };

  const open = (hostname: string, port: number, respOnly: boolean, secure: boolean): TCPSocketListener<Client> =>
    Bun.listen<Client>({
      hostname,
      port,
      ...(tls === null || !secure ? {} : { tls }),
      socket: {
        binaryType: "uint8array",
        open(socket: Socket<Client>) {
          assert(ctx !== null, "a client was accepted before recovery finished: recovery must not yield to the event loop");
          ctx.stats.connectionsTotal++;
          // clientsMax is max_clients, lowered at start-up to what the descriptor limit leaves after
          // the server's reserve: refusing here is what keeps descriptors for the WAL and snapshots.
          if (ctx.clients >= ctx.config.clientsMax) {
            ctx.stats.rejectedClientsTotal++;
            socket.data = null;
            socket.write(respOnly ? RespErr.maxClients : Err.maxClients);
            socket.end();
            return;
          }
          // Connections waiting to authenticate are bounded apart, so idle sockets that never AUTH
          // cannot take the slots of clients that do (auth_timeout closes them after a while too).
          if (clientsOf(ctx).unauthenticated >= ctx.config.unauthenticatedClientsMax && authOf(ctx).required) {
            ctx.stats.rejectedUnauthenticatedTotal++;
            socket.data = null;
            socket.write(respOnly ? RespErr.unauthenticatedMax : Err.unauthenticatedMax);
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
          const conn = socket.data;
          if (conn !== null && conn !== undefined) reads!.read(conn, data);
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
          // What the client sent before it closed runs first (it may be held for the poll's batch).
          reads?.flush();
          socket.data = null;
          conn.onClose();
          connections.delete(conn);
          ctx!.clients--;
          if (connections.size === 0) onAllClosed?.();
        },
        // tls_client_auth = "optional": a client may send no certificate, but one it sends must verify.
        handshake(socket: Socket<Client>, _success: boolean, authorizationError: Error | null) {
          if (tls === null || !tls.requestCert || tls.rejectUnauthorized || authorizationError === null) return;
          const peer = socket.getPeerCertificate() as { subject?: unknown } | undefined;
          if (peer?.subject !== undefined) socket.end();
        },
        error(_socket: Socket<Client>, error: Error) {
          log.debug(`socket error: ${error.message}`);
        },
      },
    });

  // With tls_listen_addr, TLS is on that port only; without it, on every port (when configured).
  const plainSecure = config.tlsListenHost === null;
  const ports: Port[] = [];
  const bindPort = (key: string, hostname: string, port: number, respOnly: boolean, secure: boolean): Port => {
    try {
      const listener = open(hostname, port, respOnly, secure);
      const p: Port = { hostname: listener.hostname, port: listener.port, respOnly, secure, listener };
      ports.push(p);
      return p;
    } catch (err) {
      for (const p of ports) p.listener?.stop(true);
      throw listenFailure(key, hostname, port, err);
    }
  };
  const main = bindPort("listen_addr", config.listenHost, config.listenPort, false, plainSecure);
  const respPort = config.respListenHost === null ? null : bindPort("resp_listen_addr", config.respListenHost, config.respListenPort, true, plainSecure);
  const tlsPort = config.tlsListenHost === null ? null : bindPort("tls_listen_addr", config.tlsListenHost, config.tlsListenPort, false, true);
  const resp = respPort === null ? null : { hostname: respPort.hostname, port: respPort.port };
  const tlsAddr = tlsPort === null ? null : { hostname: tlsPort.hostname, port: tlsPort.port };
  const listener = { hostname: main.hostname, port: main.port };

  return {
    hostname: listener.hostname,
    port: listener.port,
    resp,
    tls: tlsAddr,
    close() {
      for (const p of ports) p.listener?.stop(true);
    },
    serve(context: Context, watch: BusyWatch): Server {
      ctx = context;
      busy = watch;
      reads = new ReadBatch(context.store, runRead);
      const guard = new AcceptGuard(ports, open, context);
      // One pass over the clients a second for timeout and auth_timeout (both read at each pass:
      // CONFIG SET timeout applies at the next one).
      const sweeper = setInterval(() => {
        const c = context.config;
        clientsOf(context).sweep(context, context.clock.nowMs(), c.timeoutSeconds * 1000, authOf(context).required ? c.authTimeoutSeconds * 1000 : 0);
      }, clientSweepMs);
      sweeper.unref();
      return {
        hostname: listener.hostname,
        port: listener.port,
        resp,
        tls: tlsAddr,
        reloadTls(): string {
          if (tls === null) return "";
          const next = tlsOptions(config, (msg) => new TlsReloadError(msg))!;
          const changed = (["cert", "key", "ca"] as const).filter((k) => next[k] !== tls![k]);
          if (changed.length === 0) return "";
          const cert = checkTls(next);
          const previous = tls;
          tls = next;
          try {
            guard.relisten();
          } catch (err) {
            tls = previous;
            throw new TlsReloadError(`cannot listen with the new certificate (trying again in ${acceptPauseMs} ms with the previous one): ${(err as Error).message}`);
          }
          const files = changed.map((k) => `tls_${k}_file`).join(", ");
          return `${files} reloaded: certificate ${cert.subject.replace(/\n/g, ", ")}, valid until ${cert.validTo}`;
        },
        async shutdown() {
          // Reads already taken from the sockets and held for the poll's batch run, as they would have at once.
          reads?.flush();
          clearInterval(sweeper);
          guard.stop();
          for (const p of ports) p.listener?.stop(false);
          if (connections.size === 0) return;
          const closed = new Promise<void>((resolve) => (onAllClosed = resolve));
          for (const conn of connections) conn.shutdown();
          await Promise.race([closed, Bun.sleep(shutdownFlushMs)]);
          for (const p of ports) p.listener?.stop(true);
          for (const l of guard.paused) l.stop(true); // their clients, accepted before a pause
        },
      };
    },
  };
}

/** A listening address; `listener` is null while accepting is paused. */
interface Port {
  readonly hostname: string;
  readonly port: number;
  readonly respOnly: boolean;
  /** It speaks TLS (when TLS is configured). */
  readonly secure: boolean;
  listener: TCPSocketListener<Client> | null;
}

type Open = (hostname: string, port: number, respOnly: boolean, secure: boolean) => TCPSocketListener<Client>;

const EMFILE = "EMFILE";
const ENFILE = "ENFILE";

/** False when this process (EMFILE) or the system (ENFILE) has no descriptor left to open. */
function descriptorFree(): boolean {
  try {
    closeSync(openSync("/dev/null", "r"));
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code !== EMFILE && code !== ENFILE;
  }
}

/**
 * Keeps the event loop from spinning when accept() runs out of descriptors. Bun.listen gives no
 * sign of it (no callback, no error): the connection stays queued, the listening socket stays
 * readable, and the loop retries accept() at 100% CPU (measured: a whole core while 200 sockets
 * waited under `prlimit --nofile=64`). The refusal over max_clients normally keeps a reserve free;
 * when something still uses every descriptor, this notices (one descriptor cannot be opened),
 * closes the listening sockets — the queued connections are refused, connected clients go on —
 * and listens again on the same addresses once a descriptor is free and acceptPauseMs passed.
 */
class AcceptGuard {
  readonly #ports: Port[];
  readonly #open: Open;
  readonly #ctx: Context;
  readonly #timer: ReturnType<typeof setInterval>;
  /** Listeners closed by a pause: their connected clients are closed with them at shutdown. */
  readonly paused: TCPSocketListener<Client>[] = [];
  #pausedAtMs = -1;
  #lastWarnMs = -Infinity;
  #unreported = 0;

  constructor(ports: Port[], open: Open, ctx: Context) {
    this.#ports = ports;
    this.#open = open;
    this.#ctx = ctx;
    this.#timer = setInterval(() => this.#check(), acceptProbeMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * Listens again on every address with what `open` now reads (a reloaded TLS certificate): each
   * new listener is opened as the old one closes, in one turn, and the old one stops accepting only
   * (its clients go on; shutdown closes them). Skipped while descriptors ran out (the pause listens
   * again with the new settings). Throws when an address cannot be listened on again; the pause's
   * check then retries it.
   */
  relisten(): void {
    if (this.#pausedAtMs >= 0) return;
    for (const p of this.#ports) {
      if (p.listener === null || !p.secure) continue;
      const old = p.listener;
      old.stop(false);
      if (!this.paused.includes(old)) this.paused.push(old);
      p.listener = null;
      try {
        p.listener = this.#open(p.hostname, p.port, p.respOnly, p.secure);
      } catch (err) {
        this.#pausedAtMs = performance.now(); // #check listens again after a pause, with what `open` reads then
        throw err;
      }
    }
  }

  #check(): void {
    const now = performance.now();
    if (this.#pausedAtMs < 0) {
      if (descriptorFree()) return;
      for (const p of this.#ports) {
        if (p.listener === null) continue;
        p.listener.stop(false);
        if (!this.paused.includes(p.listener)) this.paused.push(p.listener);
        p.listener = null;
      }
      this.#pausedAtMs = now;
      this.#warn(now, `out of file descriptors (EMFILE/ENFILE): not accepting clients for ${acceptPauseMs} ms; ${this.#ctx.clients} connected, max_clients ${this.#ctx.config.clientsMax}`);
      return;
    }
    if (now - this.#pausedAtMs < acceptPauseMs || !descriptorFree()) return;
    for (const p of this.#ports) {
      if (p.listener !== null) continue;
      try {
        p.listener = this.#open(p.hostname, p.port, p.respOnly, p.secure);
      } catch (err) {
        this.#pausedAtMs = now; // try again after another pause
        this.#warn(now, `cannot listen again on ${p.hostname}:${p.port} after running out of descriptors: ${(err as Error).message}`);
        return;
      }
    }
    this.#pausedAtMs = -1;
    log.debug("descriptors free again: accepting clients");
  }

  /** Logs at most once per fdWarnIntervalMs, counting the occurrences it did not log. */
  #warn(now: number, msg: string): void {
    if (now - this.#lastWarnMs < fdWarnIntervalMs) {
      this.#unreported++;
      return;
    }
    const more = this.#unreported > 0 ? ` (${this.#unreported} more since the last such line)` : "";
    this.#lastWarnMs = now;
    this.#unreported = 0;
    log.warn(msg + more);
  }
}
