// The live connections of one server, for CLIENT LIST, INFO and KILL, and the once-a-second sweep
// that closes idle ones (timeout) and ones that did not authenticate in time (auth_timeout): one
// entry per connection, made when it is accepted and dropped when it closes. Nothing here runs per
// request: what CLIENT LIST and the sweep look at is read from the connection's session when asked.

import type { Context } from "../commands/context.ts";
import type { Session } from "../commands/session.ts";
import { awaitingAuth, unauthenticatedSinceMs } from "../auth.ts";
import { Err, RespErr } from "../errors.ts";

/** What the registry needs of a connection (net/connection.ts's Connection). */
export interface ClientConnection {
  /** Null until the first byte chose the connection's protocol. */
  readonly session: Session | null;
  /** Bytes of unparsed input held for it (CLIENT LIST's qbuf). */
  readonly inputBytes: number;
  /** Closes it once what is queued for it has been sent (CLIENT KILL). */
  shutdown(): void;
  /** A request is held or replies are unsent: not idle, whatever its last request's time. */
  readonly busy: boolean;
  /** Closes it for the sweep, after `farewell` (in its protocol's words) when given. */
  expire(farewell: { readonly text: Uint8Array; readonly resp: Uint8Array } | null): void;
}

/** The address fields of Bun's TCP socket; a transport without them (tests) has no address. */
interface Addressed {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}

/** `ip:port` as Redis writes it (an IPv6 address in brackets). */
function formatAddr(ip: string | undefined, port: number | undefined): string {
  if (ip === undefined || ip === "") return "?:0";
  return ip.includes(":") ? `[${ip}]:${port ?? 0}` : `${ip}:${port ?? 0}`;
}

/** One connected client. */
export class ClientEntry {
  readonly addr: string;
  readonly laddr: string;

  constructor(
    readonly conn: ClientConnection,
    transport: object,
    /** Wall-clock ms of the accept (CLIENT LIST's age). */
    readonly createdMs: number,
    /** It had to authenticate when accepted (counted in `unauthenticated` until its session says otherwise). */
    readonly unauthenticatedAtOpen: boolean,
  ) {
    const t = transport as Addressed;
    this.addr = formatAddr(t.remoteAddress, t.remotePort);
    this.laddr = formatAddr(t.localAddress, t.localPort);
  }
}

/** Every live connection of one server, in the order they connected (as Redis lists them). */
export class ClientRegistry {
  readonly #entries = new Map<ClientConnection, ClientEntry>();
  /**
   * Connections that have not authenticated yet (max_unauthenticated_clients bounds them): counted
   * at accept, one less when AUTH succeeds, one more when RESET takes a session back (auth.ts).
   */
  unauthenticated = 0;

  add(conn: ClientConnection, transport: object, nowMs: number, unauthenticated: boolean): void {
    this.#entries.set(conn, new ClientEntry(conn, transport, nowMs, unauthenticated));
    if (unauthenticated) this.unauthenticated++;
  }

  remove(conn: ClientConnection): void {
    const e = this.#entries.get(conn);
    if (e === undefined) return;
    this.#entries.delete(conn);
    if (awaitingAuth(conn.session, e.unauthenticatedAtOpen)) this.unauthenticated--;
  }

  /**
   * One pass over every client (once a second, from the listener; no timer per client or request):
   * a connection still not authenticated `authTimeoutMs` after its accept (or its RESET) is told so
   * and closed; with `idleTimeoutMs` > 0 one whose last request is that old is closed, as Redis's
   * `timeout` — not a subscriber, a MONITOR, nor one holding a request (CLIENT PAUSE, an AUTH
   * check) or with replies still going out. 0 turns either off.
   */
  sweep(ctx: Context, nowMs: number, idleTimeoutMs: number, authTimeoutMs: number): void {
    if (idleTimeoutMs === 0 && authTimeoutMs === 0) return; // the default: nothing to look at
    for (const e of this.#entries.values()) {
      const c = e.conn;
      const s = c.session;
      if (authTimeoutMs > 0 && awaitingAuth(s, e.unauthenticatedAtOpen)) {
        const since = s === null ? e.createdMs : (unauthenticatedSinceMs(s) ?? e.createdMs);
        if (nowMs - since >= authTimeoutMs) {
          ctx.stats.authTimeoutsTotal++;
          c.expire(authTimedOut);
        }
        continue;
      }
      if (idleTimeoutMs === 0 || c.busy || (s !== null && (s.subscribed || s.monitor))) continue;
      const lastMs = s !== null && s.nowMs > 0 ? s.nowMs : e.createdMs;
      if (nowMs - lastMs >= idleTimeoutMs) {
        ctx.stats.idleTimeoutsTotal++;
        c.expire(null); // Redis closes an idle client without a word
      }
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  [Symbol.iterator](): IterableIterator<ClientEntry> {
    return this.#entries.values();
  }

  /** The entry of the connection running `s`. */
  of(s: Session): ClientEntry | undefined {
    for (const e of this.#entries.values()) if (e.conn.session === s) return e;
    return undefined;
  }
}

const registries = new WeakMap<Context, ClientRegistry>();

const authTimedOut = { text: Err.authTimeout, resp: RespErr.authTimeout };

/** The registry of the server `ctx` belongs to (several servers share a process in tests). */
export function clientsOf(ctx: Context): ClientRegistry {
  let r = registries.get(ctx);
  if (r === undefined) {
    r = new ClientRegistry();
    registries.set(ctx, r);
  }
  return r;
}
