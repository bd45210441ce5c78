// The live connections of one server, for CLIENT LIST, INFO and KILL: one entry per connection,
// made when it is accepted and dropped when it closes. Nothing here runs per request: what CLIENT
// LIST shows is read from the connection's session when asked.

import type { Context } from "../commands/context.ts";
import type { Session } from "../commands/session.ts";

/** What the registry needs of a connection (net/connection.ts's Connection). */
export interface ClientConnection {
  /** Null until the first byte chose the connection's protocol. */
  readonly session: Session | null;
  /** Bytes of unparsed input held for it (CLIENT LIST's qbuf). */
  readonly inputBytes: number;
  /** Closes it once what is queued for it has been sent (CLIENT KILL). */
  shutdown(): void;
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
  ) {
    const t = transport as Addressed;
    this.addr = formatAddr(t.remoteAddress, t.remotePort);
    this.laddr = formatAddr(t.localAddress, t.localPort);
  }
}

/** Every live connection of one server, in the order they connected (as Redis lists them). */
export class ClientRegistry {
  readonly #entries = new Map<ClientConnection, ClientEntry>();

  add(conn: ClientConnection, transport: object, nowMs: number): void {
    this.#entries.set(conn, new ClientEntry(conn, transport, nowMs));
  }

  remove(conn: ClientConnection): void {
    this.#entries.delete(conn);
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

/** The registry of the server `ctx` belongs to (several servers share a process in tests). */
export function clientsOf(ctx: Context): ClientRegistry {
  let r = registries.get(ctx);
  if (r === undefined) {
    r = new ClientRegistry();
    registries.set(ctx, r);
  }
  return r;
}
