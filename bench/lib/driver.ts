// Closed-loop load: N TCP connections, each keeping exactly `pipeline` requests in flight,
// timing every reply from its request's send time. Built to spend as little CPU as possible.

import type { Socket, SocketHandler } from "bun";
import { Histogram } from "./histogram.ts";
import {
  OpGet,
  OpIncr,
  OpSet,
  ReplyErr,
  ReplyInt,
  ReplyNotFound,
  ReplyOk,
  ReplyParser,
  ReplyValue,
  requestTemplate,
  writeKeyDigits,
  type Protocol,
  type ReplySink,
  type RequestTemplate,
} from "./wire.ts";

export type Op = "get" | "set" | "mixed" | "incr";

/** Share of GETs in the "mixed" workload; the rest are SETs. */
export const mixedGetShare = 0.8;

export interface Target {
  readonly host: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** Connect over TLS, checking the server against these PEM CA certificates (or the system's, with `true`); absent: plain TCP. */
  readonly tls?: true | { readonly ca: string };
}

/** Connections waiting for their TLS handshake: what to call when it ends (null: it succeeded). */
const handshakes = new WeakMap<Conn, (err: Error | null) => void>();

export interface Workload {
  readonly op: Op;
  readonly valueBytes: number;
  /** Keys are indexes 0..keyspace-1. */
  readonly keyspace: number;
  readonly clients: number;
  /** Requests each connection keeps in flight. */
  readonly pipeline: number;
  /** Visit each key once, in order, then finish (preloading) instead of random keys forever. */
  readonly sequential?: boolean;
}

/** Counters every connection adds into; the caller folds and resets `interval` as it likes. */
export class LoadStats {
  /** Latencies of replies since the caller last reset it (its count is the ops done). */
  readonly interval = new Histogram();
  getHits = 0;
  getMisses = 0;
  /** Error replies, unexpected replies and lost connections. Never reset: errors spoil a run. */
  errors = 0;
  firstError = "";

  noteError(message: string): void {
    this.errors++;
    if (this.firstError === "") this.firstError = message;
  }
}

const opNames = ["GET", "SET", "INCR"];
const kindNames = ["OK", "VALUE", "NOT_FOUND", "integer", "ERR", "unrecognised"];
const decoder = new TextDecoder();

/** One connection: its batch buffer, the FIFO of in-flight requests, and the reply parser. */
class Conn implements ReplySink {
  readonly #load: Load;
  readonly #stats: LoadStats;
  readonly #parser: ReplyParser;
  socket: Socket<Conn> | null = null;
  /** Request bytes for one whole batch, rewritten in place (key digits, or whole requests if mixed). */
  readonly #batch: Uint8Array;
  /** A short write leaves #batch[#pendingFrom, #pendingTo) unsent until the socket drains. */
  #pendingFrom = 0;
  #pendingTo = 0;
  readonly #capacity: number;
  readonly #sentMs: Float64Array;
  readonly #sentOp: Uint8Array;
  #head = 0;
  inFlight = 0;
  #nowMs = 0;
  #dead = false;
  readonly #mixed: boolean;
  readonly #op: number;
  readonly #template: RequestTemplate;
  readonly #templates: RequestTemplate[];
  readonly #keyspace: number;
  readonly #sequential: boolean;

  constructor(load: Load, templates: RequestTemplate[], protocol: Protocol) {
    const w = load.workload;
    this.#load = load;
    this.#stats = load.stats;
    this.#parser = new ReplyParser(protocol);
    this.#capacity = w.pipeline;
    this.#sentMs = new Float64Array(w.pipeline);
    this.#sentOp = new Uint8Array(w.pipeline);
    this.#mixed = w.op === "mixed";
    this.#op = w.op === "get" ? OpGet : w.op === "incr" ? OpIncr : OpSet;
    this.#templates = templates;
    this.#template = templates[this.#op]!;
    this.#keyspace = w.keyspace;
    this.#sequential = w.sequential === true;
    const longest = Math.max(...templates.map((t) => t.bytes.length));
    this.#batch = new Uint8Array(longest * w.pipeline);
    if (!this.#mixed) {
      // Every slot of the batch holds the same request; sending only rewrites key digits.
      const t = this.#template.bytes;
      for (let i = 0; i < w.pipeline; i++) this.#batch.set(t, i * t.length);
    }
  }

  /** Tops the pipeline up to `pipeline` requests in flight, in one socket write. */
  refill(): void {
    if (this.#pendingTo !== 0 || this.#load.stopping || this.socket === null || this.#dead) return;
    let room = this.#capacity - this.inFlight;
    if (room === 0) return;
    const now = performance.now();
    const buf = this.#batch;
    const sentMs = this.#sentMs;
    const sentOp = this.#sentOp;
    const capacity = this.#capacity;
    let tail = this.#head + this.inFlight;
    if (tail >= capacity) tail -= capacity;
    let off = 0;
    for (; room > 0; room--) {
      let key: number;
      if (this.#sequential) {
        if (this.#load.nextKey >= this.#keyspace) break;
        key = this.#load.nextKey++;
      } else {
        key = (Math.random() * this.#keyspace) | 0;
      }
      let op = this.#op;
      if (this.#mixed) {
        op = Math.random() < mixedGetShare ? OpGet : OpSet;
        const t = this.#templates[op]!;
        buf.set(t.bytes, off);
        writeKeyDigits(buf, off + t.keyDigitsOffset, key);
        off += t.bytes.length;
      } else {
        writeKeyDigits(buf, off + this.#template.keyDigitsOffset, key);
        off += this.#template.bytes.length;
      }
      sentMs[tail] = now;
      sentOp[tail] = op;
      tail = tail + 1 === capacity ? 0 : tail + 1;
      this.inFlight++;
    }
    if (off > 0) this.#write(0, off);
  }

  /** Bun's write sends what the kernel takes and drops the rest: keep the rest for `drain`. */
  #write(from: number, to: number): void {
    const written = this.socket!.write(this.#batch, from, to - from);
    if (written === to - from) {
      this.#pendingFrom = this.#pendingTo = 0;
    } else if (written < 0) {
      this.#pendingFrom = this.#pendingTo = 0; // closed: the close handler reports it
    } else {
      this.#pendingFrom = from + written;
      this.#pendingTo = to;
    }
  }

  onDrain(): void {
    if (this.#pendingTo === 0) return;
    this.#write(this.#pendingFrom, this.#pendingTo);
    if (this.#pendingTo === 0) this.refill();
  }

  onData(chunk: Uint8Array): void {
    this.#nowMs = performance.now();
    try {
      this.#parser.feed(chunk, this);
    } catch (err) {
      this.#fail(`bad reply stream: ${(err as Error).message}`);
      return;
    }
    this.refill();
  }

  markDead(): void {
    this.#dead = true;
  }

  onClose(): void {
    this.#fail("connection closed by the server");
  }

  onError(err: Error): void {
    this.#fail(`socket error: ${err.message}`);
  }

  #fail(message: string): void {
    if (this.#dead || this.#load.stopping) return;
    this.#stats.noteError(message);
    this.#load.lost(this);
  }

  reply(kind: number, line: Uint8Array, lineStart: number, lineEnd: number): void {
    if (this.inFlight === 0) throw new Error("a reply arrived with no request in flight");
    const h = this.#head;
    const op = this.#sentOp[h]!;
    this.#stats.interval.record((this.#nowMs - this.#sentMs[h]!) * 1000);
    this.#head = h + 1 === this.#capacity ? 0 : h + 1;
    this.inFlight--;
    if (op === OpGet) {
      if (kind === ReplyValue) this.#stats.getHits++;
      else if (kind === ReplyNotFound) this.#stats.getMisses++;
      else this.#unexpected(op, kind, line, lineStart, lineEnd);
    } else if (kind !== (op === OpSet ? ReplyOk : ReplyInt)) {
      this.#unexpected(op, kind, line, lineStart, lineEnd);
    }
    if (this.#sequential && this.inFlight === 0 && this.#load.nextKey >= this.#keyspace) {
      this.#load.finished(this);
    }
  }

  #unexpected(op: number, kind: number, line: Uint8Array, start: number, end: number): void {
    if (this.#stats.firstError !== "") return void this.#stats.errors++;
    const text = end > start ? decoder.decode(line.subarray(start, end)).trimEnd() : "";
    const what = kind === ReplyErr ? text : `unexpected ${kindNames[kind]} reply ${JSON.stringify(text)}`;
    this.#stats.noteError(`${opNames[op]}: ${what}`);
  }
}

const handlers: SocketHandler<Conn> = {
  data(socket, chunk) {
    socket.data.onData(chunk);
  },
  drain(socket) {
    socket.data.onDrain();
  },
  close(socket) {
    socket.data.socket = null;
    socket.data.onClose();
  },
  error(socket, err) {
    socket.data.onError(err);
  },
  // TLS only: a TLS socket takes no request bytes before its handshake ends.
  handshake(socket, ok, err) {
    handshakes.get(socket.data)?.(ok ? null : (err ?? new Error("TLS handshake failed")));
  },
};

/** A running load: its connections, shared counters, and (for sequential loads) completion. */
export class Load {
  readonly stats = new LoadStats();
  readonly workload: Workload;
  readonly target: Target;
  stopping = false;
  /** Next key index for sequential loads. */
  nextKey = 0;
  readonly #conns: Conn[] = [];
  #finishedCount = 0;
  #resolve!: () => void;
  #reject!: (err: Error) => void;
  /**
   * Resolves when a sequential load has every key acknowledged; rejects as soon as a
   * connection is lost or the reply stream breaks (for any load).
   */
  readonly done: Promise<void>;

  private constructor(target: Target, workload: Workload) {
    this.target = target;
    this.workload = workload;
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.done.catch(() => {}); // callers that never await `done` must not crash on it
  }

  /** Opens every connection, then starts all of them sending at once. */
  static async start(target: Target, workload: Workload): Promise<Load> {
    const load = new Load(target, workload);
    const templates = [OpGet, OpSet, OpIncr].map((op) => requestTemplate(target.protocol, op, workload.valueBytes));
    const conns = Array.from({ length: workload.clients }, () => new Conn(load, templates, target.protocol));
    try {
      await Promise.all(
        conns.map(async (conn) => {
          const tls = target.tls;
          const shaken = tls === undefined ? null : new Promise<void>((resolve, reject) => handshakes.set(conn, (err) => (err === null ? resolve() : reject(err))));
          conn.socket = await Bun.connect({ hostname: target.host, port: target.port, data: conn, socket: handlers, ...(tls === undefined ? {} : { tls }) });
          conn.socket.setNoDelay(true);
          await shaken;
        }),
      );
    } catch (err) {
      for (const c of conns) c.socket?.end();
      throw new Error(`cannot connect to ${target.host}:${target.port}: ${(err as Error).message}`);
    }
    load.#conns.push(...conns);
    for (const c of conns) c.refill();
    if (workload.sequential) {
      // A connection that got no keys at all (tiny keyspace) is finished from the start.
      for (const c of conns) if (c.inFlight === 0) load.finished(c);
    }
    return load;
  }

  /** Called by a connection whose sequential share is complete. */
  finished(_conn: Conn): void {
    if (++this.#finishedCount === this.#conns.length) this.#resolve();
  }

  /** Called when a connection can no longer be used; the error is already counted. */
  lost(conn: Conn): void {
    conn.markDead();
    conn.socket?.terminate();
    this.#reject(new Error(this.stats.firstError || "connection lost"));
  }

  /** Stops sending and closes every connection. Replies still in flight are not counted. */
  stop(): void {
    this.stopping = true;
    for (const c of this.#conns) c.socket?.end();
  }

  /** Requests sent whose replies have not arrived yet, across all connections. */
  inFlight(): number {
    return this.#conns.reduce((n, c) => n + c.inFlight, 0);
  }
}

export interface FillOptions {
  /** Keys 0..keyspace-1 are each SET once. */
  readonly keyspace: number;
  readonly valueBytes: number;
  readonly clients?: number;
  readonly pipeline?: number;
  /** Print "filled n/N keys" to stderr once a second. */
  readonly progress?: boolean;
}

/** Connections and depth for filling a keyspace: deep pipelines make it cheap for both sides. */
const fillClientsDefault = 4;
const fillPipelineDefault = 256;

/**
 * SETs every key of the keyspace once with deep pipelines (so later GETs hit) and returns how
 * long it took. Throws on any error reply or lost connection.
 */
export async function fillKeyspace(target: Target, options: FillOptions): Promise<{ elapsedMs: number }> {
  const started = performance.now();
  const load = await Load.start(target, {
    op: "set",
    valueBytes: options.valueBytes,
    keyspace: options.keyspace,
    clients: Math.min(options.clients ?? fillClientsDefault, options.keyspace),
    pipeline: options.pipeline ?? fillPipelineDefault,
    sequential: true,
  });
  const timer = options.progress
    ? setInterval(() => process.stderr.write(`  filled ${load.nextKey - load.inFlight()}/${options.keyspace} keys\n`), 1000)
    : undefined;
  try {
    await load.done;
  } finally {
    clearInterval(timer);
    load.stop();
  }
  if (load.stats.errors > 0) {
    throw new Error(`${load.stats.errors} errors while filling the keyspace; first: ${load.stats.firstError}`);
  }
  return { elapsedMs: performance.now() - started };
}
