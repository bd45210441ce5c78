// The TypeScript client: one connection, one promise-returning method per command. Calls made
// while others are in flight are pipelined (written at once, in one socket write per tick) and
// their replies matched in order; a lost connection is re-established on the next call.

import type { Socket } from "bun";
import {
  BadRequestError,
  ClientClosedError,
  ConnectionError,
  OspreyError,
  ProtocolError,
  TimeoutError,
} from "./errors.ts";
import {
  lineReply,
  mgetReply,
  needMore,
  prefixedNumber,
  ReplyReader,
  scanReply,
  type ScanPage,
  statsReply,
  unexpected,
  valueReply,
  type Decoder,
  type Entry,
} from "./reply.ts";

/** How the client retries after losing its connection. */
export interface ReconnectOptions {
  /** Connection attempts before the waiting calls fail with ConnectionError (default 20). */
  attempts?: number;
  /** Wait before the second attempt; it doubles up to maxDelayMs (default 50). */
  delayMs?: number;
  /** Longest wait between attempts (default 1000). */
  maxDelayMs?: number;
}

/** Options of `connect`. */
export interface ConnectOptions {
  /** Server host (default "127.0.0.1"). */
  host?: string;
  /** Server port (default 7070). */
  port?: number;
  /** A call with no reply after this long fails with TimeoutError (default 10000; 0 = never). */
  timeoutMs?: number;
  /** One connection attempt fails after this long (default 5000). */
  connectTimeoutMs?: number;
  /** Reconnect after the connection is lost (default on); false: later calls fail with ConnectionError. */
  reconnect?: boolean | ReconnectOptions;
  /** Sent as `AUTH [user] password` first on every connection; a wrong one fails `connect()` with AuthenticationError. */
  password?: string;
  /** The user to authenticate as (default: the server's `default` user). */
  user?: string;
  /**
   * Connect over TLS: true verifies the server against the system's CAs; `{ ca }` against these
   * PEM certificates instead; `cert` + `key` (PEM) present a client certificate (mutual TLS).
   */
  tls?: boolean | { ca?: string; cert?: string; key?: string };
}

/** Options of `set`. */
export interface SetOptions {
  /** Expire this many milliseconds from now (a positive integer). */
  ex?: number;
  /** Expire at this Unix epoch time in milliseconds (a past time stores an already-expired key). */
  pxat?: number;
  /** Only if the key is not live, else KeyExistsError. */
  nx?: boolean;
  /** Only if the key is live, else KeyNotFoundError. */
  xx?: boolean;
  /** Only if the key's version is this (0 = the key is not live), else VersionMismatchError. */
  ver?: number | bigint;
  /** Keep the key's current expiry (without it, and without ex/pxat, SET clears the expiry). */
  keepTtl?: boolean;
}

/** Options of `scan` and `scanPage`. */
export interface ScanOptions {
  /** Only keys matching this Redis glob (`*`, `?`, `[a-z]`, `\\x`); one token: no spaces or control bytes. */
  match?: Bytes;
  /** How many keys a step should look at (a hint; default the server's, 10). */
  count?: number;
}

export type { ScanPage };

/** A key or value: text (sent as UTF-8) or bytes. */
export type Bytes = string | Uint8Array;

export type { Entry };

const CRLF = Buffer.from("\r\n");

/** A request written (or waiting to be written) and the decoder of its reply. */
interface Pending {
  bytes: Uint8Array;
  decode: Decoder<unknown>;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  sent: boolean;
  done: boolean;
}

/** Encodes a key, refusing what the protocol cannot carry (it would split the command line). */
function keyBytes(key: Bytes): Buffer {
  return tokenBytes(key, "key");
}

/** An argument that must be one text-protocol token (a key, a SCAN pattern): 1+ bytes, no space, control byte or DEL. */
function tokenBytes(token: Bytes, what: string): Buffer {
  const b = typeof token === "string" ? Buffer.from(token, "utf8") : Buffer.from(token.buffer, token.byteOffset, token.byteLength);
  if (b.length === 0) throw new BadRequestError("BADREQ", `${what} is empty`);
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c <= 0x20 || c === 0x7f) throw new BadRequestError("BADREQ", `${what} contains invalid characters`);
  }
  return b;
}

/** A SCAN cursor as the server answered it: decimal digits. */
function cursorText(cursor: string | number | bigint): string {
  const text = String(cursor);
  if (!/^\d{1,20}$/.test(text)) throw new BadRequestError("BADREQ", "cursor must be a non-negative integer");
  return text;
}

function valueBytes(value: Bytes): Uint8Array {
  return typeof value === "string" ? Buffer.from(value, "utf8") : value;
}

/** An integer argument as decimal text; anything else is refused before it reaches the wire. */
function intText(n: number | bigint, what: string): string {
  if (typeof n === "bigint") return n.toString();
  if (!Number.isSafeInteger(n)) throw new BadRequestError("BADREQ", `${what} must be an integer`);
  return String(n);
}

function line(...parts: (string | Uint8Array)[]): Buffer {
  const chunks: Uint8Array[] = [];
  parts.forEach((p, i) => {
    if (i > 0) chunks.push(Buffer.from(" "));
    chunks.push(typeof p === "string" ? Buffer.from(p, "latin1") : p);
  });
  chunks.push(CRLF);
  return Buffer.concat(chunks);
}

const pong = lineReply((l) => (l === "PONG" ? ("PONG" as const) : unexpected(l)));
const okVersion = lineReply((l) => BigInt(prefixedNumber(l, "OK ")));
const deleted = lineReply((l) => prefixedNumber(l, "DELETED ") === 1);
const exists = lineReply((l) => prefixedNumber(l, "EXISTS ") === 1);
const expired = lineReply((l) => (l === "OK" ? true : l === "NOT_FOUND" ? false : unexpected(l)));
const ttlMs = lineReply((l) => (/^-?\d+$/.test(l) ? Number(l) : unexpected(l)));
const counter = lineReply((l) => (/^-?\d+$/.test(l) ? BigInt(l) : unexpected(l)));
const okCount = lineReply((l) => prefixedNumber(l, "OK "));
const authOk = lineReply((l) => (l === "OK" ? true : unexpected(l)));

/** A client of one Osprey server. Create it with `connect()`. */
export class OspreyClient {
  readonly host: string;
  readonly port: number;
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #reconnect: Required<ReconnectOptions> | null;

  #socket: Socket<undefined> | null = null;
  #connecting: Promise<void> | null = null;
  #closed = false;
  #reader = new ReplyReader();
  /** Requests in order: sent ones first, then those waiting for a connection. */
  #queue: Pending[] = [];
  #head = 0;
  /** Requests not yet handed to the socket, and bytes the socket did not take. */
  #unsent: Pending[] = [];
  #backlog: Uint8Array | null = null;
  #flushScheduled = false;
  /** Calls not yet settled, and who waits for that to reach 0 (close). */
  #outstanding = 0;
  #idle: (() => void)[] = [];
  /** The AUTH line sent first on every connection; null without a password. */
  readonly #auth: Uint8Array | null;
  readonly #tls: boolean | { ca?: string; cert?: string; key?: string };
  /** The reply to the current connection's AUTH, for open() to wait on. */
  #authed: Promise<unknown> | null = null;

  constructor(options: ConnectOptions = {}) {
    this.host = options.host ?? "127.0.0.1";
    this.port = options.port ?? 7070;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    const r = options.reconnect ?? true;
    this.#reconnect = r === false ? null : { attempts: 20, delayMs: 50, maxDelayMs: 1000, ...(r === true ? {} : r) };
    this.#tls = options.tls ?? false;
    const pw = options.password;
    this.#auth = pw === undefined ? null : options.user === undefined ? line("AUTH", tokenBytes(pw, "password")) : line("AUTH", tokenBytes(options.user, "user"), tokenBytes(pw, "password"));
  }

  /** Whether a connection is open now. */
  get connected(): boolean {
    return this.#socket !== null;
  }

  /** Opens the connection (one attempt); rejects with ConnectionError when the server cannot be reached. */
  async open(): Promise<void> {
    if (this.#closed) throw new ClientClosedError("client is closed");
    if (this.#connecting !== null) await this.#connecting;
    if (this.#socket !== null) return;
    const attempt = this.#connectOnce();
    this.#connecting = attempt.then(
      () => this.#flush(),
      () => {},
    ).finally(() => (this.#connecting = null));
    await attempt;
    if (this.#authed !== null) await this.#authed;
  }

  /** `PING` → "PONG". */
  ping(): Promise<"PONG"> {
    return this.#call(() => line("PING"), pong);
  }

  /** `GET key` → the entry, or null when the key is missing or expired. */
  get(key: Bytes): Promise<Entry | null> {
    return this.#call(() => line("GET", keyBytes(key)), valueReply);
  }

  /** `SET key value [options]` → the key's new version. */
  set(key: Bytes, value: Bytes, options: SetOptions = {}): Promise<bigint> {
    return this.#call(() => {
      const v = valueBytes(value);
      const parts: (string | Uint8Array)[] = ["SET", keyBytes(key), String(v.length)];
      if (options.ex !== undefined) parts.push("EX", intText(options.ex, "ex"));
      if (options.pxat !== undefined) parts.push("PXAT", intText(options.pxat, "pxat"));
      if (options.nx) parts.push("NX");
      if (options.xx) parts.push("XX");
      if (options.ver !== undefined) parts.push("VER", intText(options.ver, "ver"));
      if (options.keepTtl) parts.push("KEEPTTL");
      return Buffer.concat([line(...parts), v, CRLF]);
    }, okVersion);
  }

  /** `DEL key` → true when a live key was deleted. */
  del(key: Bytes): Promise<boolean> {
    return this.#call(() => line("DEL", keyBytes(key)), deleted);
  }

  /** `EXISTS key` → whether the key is live. */
  exists(key: Bytes): Promise<boolean> {
    return this.#call(() => line("EXISTS", keyBytes(key)), exists);
  }

  /** `EXPIRE key ms` → true, or false when the key is missing. `ms` ≤ 0 deletes it at once. */
  expire(key: Bytes, ms: number): Promise<boolean> {
    return this.#call(() => line("EXPIRE", keyBytes(key), intText(ms, "ms")), expired);
  }

  /** `TTL key` → remaining milliseconds; -1 when the key has no expiry, -2 when it is missing. */
  ttl(key: Bytes): Promise<number> {
    return this.#call(() => line("TTL", keyBytes(key)), ttlMs);
  }

  /** `INCR key [delta]` → the new value (signed 64-bit, hence bigint). */
  incr(key: Bytes, delta: number | bigint = 1): Promise<bigint> {
    return this.#call(() => line("INCR", keyBytes(key), intText(delta, "delta")), counter);
  }

  /** `DECR key [delta]` → the new value. */
  decr(key: Bytes, delta: number | bigint = 1): Promise<bigint> {
    return this.#call(() => line("DECR", keyBytes(key), intText(delta, "delta")), counter);
  }

  /** `MGET k1 k2 …` → one entry (or null when missing) per key, in order. */
  mget(...keys: Bytes[]): Promise<(Entry | null)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    // The decoder keeps the blocks read so far, so it belongs to this one request.
    let decoder: Decoder<(Entry | null)[]> | undefined;
    return this.#call(
      () => {
        const encoded = keys.map(keyBytes);
        decoder = mgetReply(encoded.map((k) => k.toString("latin1")));
        return line("MGET", ...encoded);
      },
      (r) => decoder!(r),
    );
  }

  /** `MSET k1 v1 k2 v2 …`, all or nothing → the number of keys written. */
  mset(entries: Record<string, Bytes> | Iterable<readonly [Bytes, Bytes]>): Promise<number> {
    const pairs: (readonly [Bytes, Bytes])[] =
      Symbol.iterator in entries ? [...(entries as Iterable<readonly [Bytes, Bytes]>)] : Object.entries(entries);
    if (pairs.length === 0) return Promise.reject(new BadRequestError("BADREQ", "MSET needs at least one key"));
    return this.#call(() => {
      const parts: (string | Uint8Array)[] = ["MSET"];
      const values = pairs.map(([k, v]) => {
        const bytes = valueBytes(v);
        parts.push(keyBytes(k), String(bytes.length));
        return bytes;
      });
      return Buffer.concat([line(...parts), ...values, CRLF]);
    }, okCount);
  }

  /**
   * One `SCAN cursor [MATCH pattern] [COUNT n]` step → the cursor to continue from ("0" when the
   * scan is done) and the keys of this step (possibly none, even before the end).
   */
  scanPage(cursor: string | number | bigint, options: ScanOptions = {}): Promise<ScanPage> {
    let decoder: Decoder<ScanPage> | undefined;
    return this.#call(
      () => {
        const parts: (string | Uint8Array)[] = ["SCAN", cursorText(cursor)];
        if (options.match !== undefined) parts.push("MATCH", tokenBytes(options.match, "pattern"));
        if (options.count !== undefined) parts.push("COUNT", intText(options.count, "count"));
        decoder = scanReply();
        return line(...parts);
      },
      (r) => decoder!(r),
    );
  }

  /**
   * Every key (matching `options.match`), one SCAN step at a time: a key live for the whole scan
   * is yielded at least once; one written or deleted meanwhile may be yielded or not, and a key
   * may come twice when the keyspace grew during the scan.
   */
  async *scan(options: ScanOptions = {}): AsyncGenerator<Buffer, void, undefined> {
    let cursor = "0";
    do {
      const page = await this.scanPage(cursor, options);
      cursor = page.cursor;
      yield* page.keys;
    } while (cursor !== "0");
  }

  /** `STATS` → the server's counters by name (quoted values without their quotes). */
  stats(): Promise<Record<string, string>> {
    return this.#call(() => line("STATS"), statsReply());
  }

  /** Waits for the replies of calls already made, then closes the connection. Later calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    // Calls still waiting for a connection that is not being made will never be sent.
    if (this.#socket === null && this.#connecting === null) this.#drop(new ClientClosedError("client closed"), true);
    if (this.#outstanding > 0) await new Promise<void>((r) => this.#idle.push(r));
    this.#socket?.end();
    this.#socket = null;
  }

  /** Closes the connection at once; calls still waiting fail with ClientClosedError. */
  destroy(): void {
    this.#closed = true;
    this.#drop(new ClientClosedError("client destroyed"), true);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // --- requests -----------------------------------------------------------------------------

  #call<T>(encode: () => Uint8Array, decode: Decoder<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ClientClosedError("client is closed"));
    let bytes: Uint8Array;
    try {
      bytes = encode();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        bytes,
        decode,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: undefined,
        sent: false,
        done: false,
      };
      if (this.#timeoutMs > 0) p.timer = setTimeout(() => this.#timedOut(p), this.#timeoutMs);
      this.#outstanding++;
      this.#queue.push(p);
      this.#unsent.push(p);
      this.#scheduleFlush();
    });
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      if (this.#socket !== null) this.#flush();
      else this.#ensureConnected();
    });
  }

  /** Hands every unsent request to the socket in one write; keeps what the kernel did not take. */
  #flush(): void {
    const socket = this.#socket;
    if (socket === null) return;
    if (this.#unsent.length > 0) {
      const chunks: Uint8Array[] = this.#backlog === null ? [] : [this.#backlog];
      for (const p of this.#unsent) {
        chunks.push(p.bytes);
        p.sent = true;
      }
      this.#unsent = [];
      this.#backlog = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    }
    if (this.#backlog === null) return;
    const n = socket.write(this.#backlog);
    if (n < 0) return; // closed: the close handler fails what was sent
    this.#backlog = n === this.#backlog.length ? null : this.#backlog.subarray(n);
  }

  #settle(p: Pending, result: unknown): void {
    if (p.done) return;
    p.done = true;
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
    if (--this.#outstanding === 0) for (const r of this.#idle.splice(0)) r();
  }

  /** Reads as many whole replies as are buffered, in request order. */
  #onData(data: Uint8Array): void {
    this.#reader.append(data);
    while (this.#head < this.#queue.length) {
      const p = this.#queue[this.#head]!;
      if (!p.sent) break;
      let result: unknown;
      try {
        result = p.decode(this.#reader);
      } catch (err) {
        // A reply we cannot read leaves the stream unsynchronised: give up on this connection.
        this.#drop(err instanceof OspreyError ? err : new ProtocolError(String(err)), false);
        return;
      }
      if (result === needMore) break;
      this.#head++;
      this.#settle(p, result);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#head === this.#queue.length && this.#reader.buffered > 0) {
      this.#drop(new ProtocolError("reply without a request"), false);
    }
  }

  #timedOut(p: Pending): void {
    if (p.done) return;
    if (!p.sent) {
      // Never written: take it out of the queue; the connection is unaffected.
      this.#unsent = this.#unsent.filter((q) => q !== p);
      const at = this.#queue.indexOf(p, this.#head);
      if (at >= 0) this.#queue.splice(at, 1);
      this.#settle(p, new TimeoutError(`no connection to ${this.host}:${this.port} within ${this.#timeoutMs} ms`));
      return;
    }
    this.#settle(p, new TimeoutError(`no reply from ${this.host}:${this.port} within ${this.#timeoutMs} ms`));
    // Replies can no longer be matched to requests with certainty: start afresh.
    this.#drop(new ConnectionError("connection closed after a request timed out"), false);
  }

  /**
   * Ends the connection. Requests already written fail with `err` (they may or may not have run);
   * unsent ones wait for the next connection, unless `all`.
   */
  #drop(err: Error, all: boolean): void {
    const socket = this.#socket;
    this.#socket = null;
    this.#backlog = null;
    this.#reader.clear();
    socket?.terminate();
    const failed = this.#queue.slice(this.#head).filter((p) => p.sent || all);
    this.#unsent = all ? [] : this.#unsent;
    this.#queue = this.#unsent.slice();
    this.#head = 0;
    for (const p of failed) this.#settle(p, err);
    if (this.#unsent.length > 0) this.#ensureConnected();
  }

  // --- connecting ---------------------------------------------------------------------------

  /** Connects (retrying when reconnect is on) and writes waiting requests; fails them if it cannot. */
  #ensureConnected(): void {
    if (this.#socket !== null || this.#connecting !== null || this.#closed) return;
    this.#connecting = this.#connectRetrying()
      .then(
        () => this.#flush(),
        (err: Error) => {
          // Not connected, so nothing was sent: every call in the queue was waiting for this.
          const waiting = this.#unsent;
          this.#unsent = [];
          this.#queue = [];
          this.#head = 0;
          for (const p of waiting) this.#settle(p, err);
        },
      )
      .finally(() => {
        this.#connecting = null;
        if (this.#unsent.length > 0 && this.#socket !== null) this.#flush();
      });
  }

  async #connectRetrying(): Promise<void> {
    const policy = this.#reconnect ?? { attempts: 1, delayMs: 0, maxDelayMs: 0 };
    let delay = policy.delayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#connectOnce();
      } catch (err) {
        if (attempt >= policy.attempts || this.#closed) throw err;
      }
      await Bun.sleep(delay);
      delay = Math.min(delay * 2, policy.maxDelayMs);
    }
  }

  async #connectOnce(): Promise<void> {
    const where = `${this.host}:${this.port}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let socket: Socket<undefined>;
    try {
      socket = await Promise.race([
        Bun.connect({
          hostname: this.host,
          port: this.port,
          ...(this.#tls === false ? {} : { tls: this.#tls }),
          socket: {
            data: (s, data) => {
              if (s === this.#socket) this.#onData(data);
            },
            drain: (s) => {
              if (s === this.#socket) this.#flush();
            },
            close: (s) => {
              if (s === this.#socket) this.#drop(new ConnectionError(`connection to ${where} closed`), false);
            },
            error: () => {},
          },
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ConnectionError(`cannot connect to ${where}: timed out`)), this.#connectTimeoutMs);
        }),
      ]);
    } catch (err) {
      if (err instanceof ConnectionError) throw err;
      throw new ConnectionError(`cannot connect to ${where}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    if (this.#closed) {
      socket.end();
      throw new ClientClosedError("client is closed");
    }
    socket.setNoDelay(true);
    this.#reader.clear();
    this.#socket = socket;
    if (this.#auth !== null) this.#authFirst(this.#auth);
  }

  /** Puts AUTH before every request waiting for this connection, so it is the first the server reads. */
  #authFirst(bytes: Uint8Array): void {
    const authed = new Promise((resolve, reject) => {
      const p: Pending = { bytes, decode: authOk, resolve, reject, timer: undefined, sent: false, done: false };
      this.#outstanding++;
      this.#queue.splice(this.#head, 0, p);
      this.#unsent.unshift(p);
    });
    // After a reconnect nobody awaits it: the calls behind it then fail with AuthenticationError themselves.
    authed.catch(() => {});
    this.#authed = authed;
  }
}

/**
 * Connects to an Osprey server and resolves once connected (rejects with ConnectionError when it
 * cannot be reached). `address` may be "host:port", a port number, or the options.
 */
export async function connect(address: string | number | ConnectOptions = {}): Promise<OspreyClient> {
  const options = typeof address === "object" ? address : parseAddress(String(address));
  const client = new OspreyClient(options);
  await client.open();
  return client;
}

/** What an address names: where, and for a URL whether TLS is on and whom to AUTH as. */
export interface ParsedAddress {
  host: string;
  port: number;
  tls?: true;
  user?: string;
  password?: string;
}

/**
 * "host:port", "[::1]:port", "host" or "port" → host and port (defaults 127.0.0.1:7070). URLs
 * too: `osprey://[user[:password]@]host:port`, and `osprey+tls://…` or `tls://…` for TLS (the
 * server's certificate is then checked against the system's CAs; pass `tls: { ca }` for your own).
 */
export function parseAddress(address: string): ParsedAddress {
  const url = /^(osprey|osprey\+tls|tls):\/\/(?:([^@/]*)@)?([^@/?#]*)\/?$/i.exec(address.trim());
  if (url === null) return hostPort(address);
  const at: ParsedAddress = hostPort(url[3]!);
  if (url[1]!.toLowerCase() !== "osprey") at.tls = true;
  if (url[2] !== undefined) {
    const colon = url[2].indexOf(":");
    const user = decodeURIComponent(colon < 0 ? url[2] : url[2].slice(0, colon));
    if (user !== "") at.user = user;
    if (colon >= 0) at.password = decodeURIComponent(url[2].slice(colon + 1));
  }
  return at;
}

function hostPort(address: string): { host: string; port: number } {
  const a = address.trim();
  let host = "127.0.0.1";
  let portText = "7070";
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(a);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2] ?? portText;
  } else if (/^\d+$/.test(a)) {
    portText = a;
  } else {
    const colon = a.lastIndexOf(":");
    if (colon >= 0 && a.indexOf(":") === colon) {
      host = a.slice(0, colon) || host;
      portText = a.slice(colon + 1);
    } else if (a !== "") {
      host = a;
    }
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new ConnectionError(`bad address ${JSON.stringify(address)}: port must be 1-65535`);
  return { host, port };
}
