// One client connection: its input buffer, the parse → dispatch loop, and its unsent output.
// Replies of one read go out in one write; what the kernel does not take waits, in order, for drain.
// Replies that acknowledge writes are *held* until the WAL says those writes are durable (written,
// or synced under sync_policy "always"); everything after them on the connection waits behind.

import {
  connectionBufferBytesKeepMax,
  connectionInputBytesMax,
  inputPoolBufferBytesMax,
  inputPoolBytesMax,
  outputHardBytes,
  outputSoftBytes,
  slabLargeBytesMin,
  readAheadKeysMax,
  readLendSlackBytes,
  replyBufferBytesInitial,
  replyBufferBytesKeepMax,
  deliverFlushBytes,
} from "../constants.ts";
import { assert } from "../assert.ts";
import { copyBytes } from "../bytes.ts";
import { dispatch, respRouteTable, resume, textPayloads, textRouteTable, type Routes } from "../commands/table.ts";
import { Session } from "../commands/session.ts";
import { runBegin, runEnd } from "../commands/timing.ts";
import type { Context } from "../commands/context.ts";
import { log } from "../log.ts";
import { KeysAhead, Parsed, TextParser } from "../protocol/text.ts";
import { textDialect } from "../protocol/text-args.ts";
import { TextReply } from "../protocol/text-reply.ts";
import { RespParser } from "../protocol/resp.ts";
import { respDialect } from "../protocol/resp-args.ts";
import { RespReply } from "../protocol/resp-reply.ts";
import { Writer } from "../protocol/writer.ts";
import type { DurabilityWaiter } from "../persistence/wal.ts";
import type { BudgetHolder } from "./budget.ts";
import { clientsOf } from "./clients.ts";
import { PauseMode, type PauseWaiter } from "./pause.ts";
import { pauseHolds } from "../commands/connection.ts";
import { noteValueCrc, offerInputBuffer, retireLargeBuffer, takeLargeBuffer, withdrawInputBuffer } from "../engine/large.ts";
import { copyCrc32c } from "../native/index.ts";
import { authOf, type User } from "../auth.ts";

/** What a connection needs of its socket; Bun's TCP socket has exactly this shape. */
export interface Transport {
  /** Writes what the kernel takes now and returns how many bytes that was (-1 when closed). */
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  end(): void;
  pause(): void;
  resume(): void;
}

/**
 * Every connection encodes replies into this one buffer and writes it out before its handler
 * returns, so a thousand idle clients cost no reply memory at all.
 */
const shared = new Writer();

/**
 * Large input buffers connections gave back, for the next large request of known size to take
 * whole (see inputPoolBytesMax). A buffer here belongs to no connection: ctx.input counts it again
 * only once a connection takes it.
 */
const pool: Buffer[] = [];
let poolBytes = 0;

/** A pooled buffer of `min` bytes at least and no more than twice that (the smallest such), or null. */
function takePooled(min: number): Buffer | null {
  let best = -1;
  for (let i = 0; i < pool.length; i++) {
    const len = pool[i]!.length;
    if (len >= min && len <= 2 * min && (best < 0 || len < pool[best]!.length)) best = i;
  }
  if (best < 0) return null;
  const b = pool[best]!;
  pool[best] = pool[pool.length - 1]!;
  pool.pop();
  poolBytes -= b.length;
  return b;
}

/** Keeps a large buffer a connection no longer needs, while the pool has room for it. */
function givePooled(b: Buffer): void {
  if (b.length <= connectionBufferBytesKeepMax || b.length > inputPoolBufferBytesMax || poolBytes + b.length > inputPoolBytesMax) return;
  pool.push(b);
  poolBytes += b.length;
}

const ahead = new KeysAhead(readAheadKeysMax);

/**
 * Looks up the keys of the whole requests from `pos` together (Store.readAhead) when there are two
 * or more; returns where to do so next: where the scan stopped, or `end` when it found too few.
 */
function readAhead(ctx: Context, parser: Parser, buf: Uint8Array, pos: number, end: number): number {
  parser.keysAhead(buf, pos, end, ahead);
  if (ahead.n < 2) return end;
  ctx.store.readAhead(buf, ahead.starts, ahead.ends, 0, ahead.n);
  return ahead.end;
}

/** What the parsers share: "need more", "bad input" or "a command", and how to go on. */
interface Parser {
  parse(buf: Uint8Array, pos: number, end: number): Parsed;
  rebase(by: number): void;
  /** After a Command: the argument before its large value that may be moved next to it, or -1 (#offerRead). */
  lendable(): number;
  /**
   * A request awaiting a large value at its end, taken over by the connection (#handOff): the
   * value's length and place (after NeedMore), the buffer the request needs, the move into it,
   * and what the next parse answers once the value is in (RespParser.handOff says how).
   */
  valueBytes: number;
  valueAt: number;
  readonly lfEnds: boolean;
  handOffBytes(): number;
  handOff(src: Uint8Array, pos: number, dst: Uint8Array): number;
  prime(ok: boolean): void;
  keysAhead(buf: Uint8Array, pos: number, end: number, into: KeysAhead): void;
  argc: number;
  starts: Int32Array;
  ends: Int32Array;
  next: number;
  needBytes: number;
  error: Uint8Array;
  close: boolean;
}

/**
 * How a connection reads requests and runs them: its parser, its session (reply encoder and
 * argument dialect) and its protocol's routes into the one command table. Chosen once, by the
 * first byte the client sends: `*` is RESP2 (Redis clients), anything else the Osprey text protocol.
 */
interface Protocol {
  readonly parser: Parser;
  readonly session: Session;
  readonly routes: Routes;
}


/** `limits`: what the connection started as when it was accepted (auth.ts Auth.connectLimits). */
function textProtocol(ctx: Context, limits: User | null): Protocol {
  const parser = new TextParser({ valueBytesMax: ctx.config.valueBytesMax }, textPayloads);
  const session = new Session(parser, new TextReply(shared, ctx.stats), textDialect);
  session.limits = limits;
  return { parser, session, routes: textRouteTable };
}

function respProtocol(ctx: Context, limits: User | null): Protocol {
  const parser = new RespParser({ valueBytesMax: ctx.config.valueBytesMax });
  const reply = new RespReply(shared, ctx.stats);
  const session = new Session(parser, reply, respDialect);
  session.limits = limits;
  return { parser, session, routes: respRouteTable };
}

const STAR = 42;
const CR = 13;
const LF = 10;

const enum State {
  Open,
  /** A reply that must end the connection is queued: no more parsing; end once flushed. */
  Closing,
  Closed,
}

// Connections with messages queued by `deliver` this turn; written in one microtask after it.
const delivering: Connection[] = [];

function deliverLater(conn: Connection): void {
  if (delivering.push(conn) === 1) setImmediate(deliverAll);
}

function deliverAll(): void {
  // A write cannot queue more deliveries, but read the length each time anyway.
  for (let i = 0; i < delivering.length; i++) delivering[i]!.sendDelivered();
  delivering.length = 0;
}

export class Connection implements DurabilityWaiter, BudgetHolder, PauseWaiter {
  #t: Transport;
  #ctx: Context;
  #protocol: Protocol | null = null; // chosen by the first byte received
  #in: Buffer | null = null; // unparsed input is #in[0..#inLen)
  #inLen = 0;
  #inBytesMax: number;
  /** The buffer Bun made for the read being processed in place (a new one each read, ours alone); else null. */
  #fresh: Uint8Array | null = null;
  /**
   * A request whose last argument is a large value (RESP's last bulk string, the text protocol's
   * SET payload), taken over from the parser while that value arrives (RespParser.handOff): its
   * bytes are copied from each read straight into this buffer, a large buffer as the keyspace's
   * entries have (engine/large.ts), which a SET then adopts as its entry's. So a large value is
   * copied once between the socket's read and the keyspace, not into the input buffer first
   * (which grows, and moves what it holds) and then again.
   * Counted in ctx.input, as input is; null when no request is handed off.
   */
  #direct: Buffer | null = null;
  /** Where the value starts in #direct, where its next byte goes, and where it ends. */
  #directStart = 0;
  #directAt = 0;
  #directEnd = 0;
  /** Bytes of the CRLF after the value seen (2: the request is complete); -1: something else came. */
  #directCrlf = 0;
  /** The raw crc register over the value's bytes so far, computed as they are copied (copyCrc32c). */
  #directCrc = 0;
  #pending: Uint8Array[] = []; // unsent output, oldest first
  #pendingHead = 0; // bytes of #pending[0] already sent
  /** Unsent output bytes: #pending's plus #held's. Changed only through #addPending / #dropOutput (ctx.output counts them). */
  #pendingBytes = 0;
  /** Output waiting for the WAL to reach #holdLsn; sent, in order, by onDurable. */
  #held: Buffer | null = null;
  #heldLen = 0;
  #holdLsn = 0;
  /** The WAL's appended position when this connection last looked: growth means it logged writes. */
  #lsnMark = 0;
  #paused = false; // parsing stopped because unsent output passed the soft limit
  /**
   * A request whose handler yielded after a slice: it goes on from this argument (0: none); -1: a
   * request CLIENT PAUSE holds, parsed and not yet run. Either is at #in[0].
   */
  #resumeArg = 0;
  #resumeScheduled = false;
  /** The yielded request waits for a promise (Session.until: an AUTH's hash check), not for a turn. */
  #awaiting = false;
  /** Session.limits as accepted: what the first byte's session starts as. */
  readonly #connectLimits: User | null;
  #socketPaused = false;
  #state = State.Open;
  /** `deliver` queued output on this idle connection, to be written when the turn is over (deliverAll). */
  #queued = false;
  /** When the last batch's requests were done (performance.now()), for onData's caller. */
  #endedMs = 0;
  /** Inside #process: the shared reply buffer holds this connection's replies (see deliver). */
  #processing = false;

  /** `respOnly`: the connection came in on resp_listen_addr and speaks RESP2 whatever its first byte. */
  constructor(transport: Transport, ctx: Context, respOnly = false) {
    this.#t = transport;
    this.#ctx = ctx;
    this.#connectLimits = authOf(ctx).connectLimits;
    if (respOnly) this.#protocol = this.#chosen(respProtocol(ctx, this.#connectLimits));
    this.#inBytesMax = connectionInputBytesMax(ctx.config.valueBytesMax);
    clientsOf(ctx).add(this, transport, ctx.clock.nowMs(), this.#connectLimits?.authenticated === false);
  }

  /** Not idle (client timeout): a request is held (CLIENT PAUSE, a slice, an AUTH check) or replies are unsent. */
  get busy(): boolean {
    return this.#resumeArg !== 0 || this.#pendingBytes > 0;
  }

  /**
   * Closed by the client sweep (net/clients.ts: timeout, auth_timeout): `farewell` in the
   * connection's protocol (text before the first byte on listen_addr) goes out after what is
   * queued, then the socket ends.
   */
  expire(farewell: { readonly text: Uint8Array; readonly resp: Uint8Array } | null): void {
    if (this.#state !== State.Open) return;
    if (farewell !== null) {
      const session = this.#protocol?.session;
      if (session === undefined) this.#t.write(farewell.text);
      else this.deliver(session.reply.version === 0 ? farewell.text : farewell.resp);
    }
    this.shutdown();
  }

  /** The session of its protocol; null until the first byte chose one (CLIENT LIST reads it). */
  get session(): Session | null {
    return this.#protocol?.session ?? null;
  }

  /** Capacity of the input buffer: what ctx.input (client_input_bytes_max) counts for this client. */
  get inputBytes(): number {
    return (this.#in?.length ?? 0) + (this.#direct?.length ?? 0);
  }

  /** Unsent replies: what ctx.output (client_output_bytes_max) counts for this client. */
  get outputBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Dropped by ctx.input or ctx.output to make room for another client. Runs inside that client's
   * read or flush, so the shared reply buffer (holding its replies) is left alone, unlike #abort.
   */
  evict(): void {
    this.#dropOutput();
    this.#end();
  }

  /**
   * The first key of a read about to be handed to `onData`, found by this connection's parser
   * (`keysAhead`, into `into`, whose capacity is 1): true when the read starts with a whole request
   * that has one. False when the read does not start at a request's beginning (a request cut
   * short before it waits), or the protocol is not chosen yet (Listener's batch of reads, net/reads.ts).
   */
  firstKey(data: Uint8Array, into: KeysAhead): boolean {
    const protocol = this.#protocol;
    if (protocol === null || this.#state !== State.Open || this.#inLen > 0 || this.#direct !== null || this.#resumeArg !== 0) return false;
    protocol.parser.keysAhead(data, 0, data.length, into);
    return into.n > 0;
  }

  /**
   * Bytes arrived at `startedMs` (the caller's performance.now()): parse and run every whole
   * request in them, then write all replies at once. Returns the clock read when the requests were
   * done (`startedMs` when none ran), so the caller times the read without reading it again.
   * `data` becomes the connection's, as Bun makes a new buffer for each read: a large value in it
   * may become an entry's buffer (#offerRead), so the caller must not use it again.
   */
  onData(data: Uint8Array, startedMs = performance.now()): number {
    if (this.#state !== State.Open) return startedMs;
    shared.reset();
    this.#markLsn();
    this.#endedMs = startedMs;
    let from = 0;
    if (this.#direct !== null) {
      from = this.#feedDirect(data, 0, data.length, startedMs);
      // The value is not complete yet: nothing ran, nothing to answer.
      if (this.#direct !== null) return startedMs;
    }
    if (from < data.length && this.#state === State.Open && this.#inLen > 0 && !this.#paused) from = this.#completeBuffered(data, from, startedMs);
    if (from < data.length && this.#state === State.Open) {
      if (this.#inLen === 0 && !this.#paused) {
        this.#fresh = data;
        const pos = this.#process(data, from, data.length, startedMs);
        this.#fresh = null;
        if (pos < data.length && this.#state === State.Open && !this.#handOff(data, pos, data.length, startedMs)) this.#keep(data, pos);
      } else if (!this.#append(from === 0 ? data : data.subarray(from))) {
        return this.#endedMs;
      }
    }
    this.#pump();
    return this.#endedMs;
  }

  /**
   * A request cut short by the last read waits in the input buffer, and this read holds the rest
   * of it and more: only that rest is appended and the request run from there; the caller then
   * parses the read's other requests where they lie, as if nothing had been buffered. So a stream
   * of pipelined values that cross read boundaries is not copied into the input buffer whole, read
   * after read (16 KiB SETs at depth 16: one copy of each value fewer). Returns where the rest of
   * `data` starts; `from` when the request's length is not known, or this read does not finish it.
   */
  #completeBuffered(data: Uint8Array, from: number, startedMs: number): number {
    const need = this.#protocol!.parser.needBytes - this.#inLen;
    if (need <= 0 || need >= data.length - from || this.#resumeArg !== 0) return from;
    if (!this.#append(data.subarray(from, from + need))) return data.length;
    const pos = this.#process(this.#in!.subarray(0, this.#inLen), 0, this.#inLen, startedMs);
    if (this.#state === State.Open) this.#consume(pos);
    return from + need;
  }

  /** The socket can take more: send what waits, then resume parsing if we had stopped. */
  onDrain(): void {
    if (this.#state === State.Closed) return;
    if (!this.#sendPending()) return;
    if (this.#state === State.Closing) {
      if (this.#pendingBytes === 0) this.#end();
      return;
    }
    if (!this.#paused) return;
    shared.reset();
    this.#markLsn();
    this.#pump(true);
  }

  /** The WAL reached `lsn`: held replies go out (behind anything already queued), parsing may resume. */
  onDurable(lsn: number): void {
    if (this.#holdLsn === 0 || lsn < this.#holdLsn || this.#state === State.Closed) return;
    this.#holdLsn = 0;
    const held = this.#held!;
    const len = this.#heldLen;
    this.#heldLen = 0;
    if (len > 0) {
      let sent = 0;
      if (this.#pending.length === 0) {
        sent = this.#t.write(held, 0, len);
        if (sent < 0) return this.onClose();
        this.#addPending(-sent);
      }
      if (sent < len) this.#pending.push(Buffer.from(held.subarray(sent, len)));
    }
    if (held.length > connectionBufferBytesKeepMax) this.#held = null;
    if (this.#pendingBytes > 0) return; // drain continues from here
    if (this.#state === State.Closing) return this.#end();
    if (!this.#paused) return;
    shared.reset();
    this.#markLsn();
    this.#pump(true);
  }

  /** The socket is gone; drop everything. */
  onClose(): void {
    this.#state = State.Closed;
    if (this.#resumeArg < 0) this.#ctx.pause.forget(this);
    this.#resumeArg = 0;
    clientsOf(this.#ctx).remove(this);
    this.#protocol?.session.release();
    this.#dropOutput();
    this.#held = null;
    this.#releaseInput();
  }

  /** Graceful shutdown: stop parsing, flush what is queued, then close. */
  shutdown(): void {
    if (this.#state !== State.Open) return;
    this.#state = State.Closing;
    if (this.#pendingBytes === 0) this.#end();
  }

  /**
   * Delivery from outside this connection's own requests (PUBLISH by another client, a keyspace
   * event, MONITOR): pre-encoded `bytes`, which the caller may hand to many connections and never
   * changes, join this client's output in order — behind held replies, through ctx.output
   * (client_output_bytes_max). A subscriber or monitor whose unsent output would pass
   * pubsub_output_bytes_max (any other client: the per-connection hard limit) is disconnected, as
   * Redis's `client-output-buffer-limit pubsub` does. While this connection runs its own request
   * (it published to itself), the bytes go into the shared reply buffer, after what it has answered.
   */
  readonly deliver = (bytes: Uint8Array): void => {
    if (this.#state !== State.Open) return;
    if (this.#processing) return shared.bytes(bytes);
    const session = this.#protocol!.session;
    const limit = session.subscribed || session.monitor ? this.#ctx.pubsubOutputBytesMax : outputHardBytes;
    if (this.#pendingBytes + bytes.length > limit) {
      log.warn(`client disconnected: more than ${limit} bytes of pub/sub output unsent`);
      this.evict();
      this.#protocol!.session.release(); // its subscriptions end now, not when the socket's close arrives
      return;
    }
    if (this.#holdLsn !== 0) {
      if (!this.#hold(bytes, bytes.length)) this.evict();
      return;
    }
    // Queued, and written once the work of this turn is done (deliverLater): every message a turn
    // brings this client (a PUBLISH pipeline, many publishers) leaves in one write, as Redis writes
    // a client's buffer once per event-loop iteration. A queue that waits for drain goes on drain.
    // A turn that brings more than deliverFlushBytes writes them then, so a subscriber that reads
    // is never near its limit because of one turn's messages.
    const idle = this.#pending.length === 0;
    if (!this.#addPending(bytes.length)) return this.evict();
    this.#pending.push(bytes); // the frame is never changed
    if (this.#queued) {
      if (this.#pendingBytes >= Math.min(deliverFlushBytes, limit >> 1)) this.#writeQueued();
    } else if (idle) {
      this.#queued = true;
      deliverLater(this);
    }
  };

  /** The turn is over: writes what `deliver` queued in it. */
  sendDelivered(): void {
    if (this.#queued) this.#writeQueued();
  }

  /** Writes the queue `deliver` started on an idle connection, merged into one write. */
  #writeQueued(): void {
    this.#queued = false;
    if (this.#state === State.Closed || this.#pending.length === 0) return;
    if (this.#pending.length > 1) {
      let total = 0;
      for (const chunk of this.#pending) total += chunk.length;
      const merged = Buffer.allocUnsafe(total);
      let at = 0;
      for (const chunk of this.#pending) {
        copyBytes(chunk, 0, chunk.length, merged, at);
        at += chunk.length;
      }
      this.#pending = [merged];
    }
    if (this.#sendPending() && this.#state === State.Closing && this.#pendingBytes === 0) this.#end();
  }

  /** The protocol picked for this connection; its session delivers through `deliver`. */
  #chosen(protocol: Protocol): Protocol {
    protocol.session.deliver = this.deliver;
    return protocol;
  }

  /** Parses and dispatches requests in buf[pos..end) until input or output room runs out. */
  #process(buf: Uint8Array, pos: number, end: number, startedMs: number): number {
    const out = shared;
    const ctx = this.#ctx;
    if (pos >= end) return pos;
    const protocol = (this.#protocol ??= this.#chosen(buf[pos] === STAR ? respProtocol(ctx, this.#connectLimits) : textProtocol(ctx, this.#connectLimits)));
    const parser = protocol.parser;
    const session = protocol.session;
    const routes = protocol.routes;
    // A clock read costs ~65 ns here: a batch reads the monotonic clock when it starts (the
    // caller's reading, which also gives the wall clock) and when it ends, plus once per run of
    // requests (commands/timing.ts).
    session.b = buf;
    session.nowMs = ctx.clock.wallAt(startedMs);
    runBegin(startedMs);
    this.#processing = true;
    // In a large keyspace the keys of the requests ahead are looked up together first, every
    // readAheadKeysMax requests (Store.readAhead): their cache misses then overlap.
    let aheadAt = ctx.store.readAheadPays ? pos : end;
    while (pos < end) {
      if (out.len + this.#pendingBytes > outputSoftBytes) {
        this.#paused = true;
        break;
      }
      // A yielded request, still parsed (rebased to the input's start), runs its next slice.
      const resuming = this.#resumeArg > 0;
      if (resuming) {
        session.resumeArg = this.#resumeArg;
        this.#resumeArg = 0;
      } else if (this.#resumeArg === 0) {
        if (pos >= aheadAt) aheadAt = readAhead(ctx, parser, buf, pos, end);
        const parsed = parser.parse(buf, pos, end);
        if (parsed === Parsed.NeedMore) {
          pos = parser.next;
          break;
        }
        if (parsed === Parsed.Error) {
          session.reply.error(parser.error);
          pos = parser.next;
          if (parser.close) {
            this.#state = State.Closing;
            break;
          }
          continue;
        }
        // The one check a request pays for CLIENT PAUSE.
        if (ctx.pause.mode !== PauseMode.Off && this.#holdForPause(session, routes, parser, pos)) break;
      } else if (this.#holdForPause(session, routes, parser, pos)) break; // still held by the pause
      else this.#resumeArg = 0;
      ctx.outputRoom = outputHardBytes - out.len - this.#pendingBytes;
      ctx.outputOverflow = false;
      const mark = session.reply.len;
      // Two compares for most requests: is this read (nearly) all one large request?
      const lent = buf === this.#fresh && buf.length >= slabLargeBytesMin && parser.next - pos + readLendSlackBytes > buf.length && this.#offerRead(buf, parser);
      if (resuming) {
        resume(session, routes, ctx, parser.next - pos);
        session.resumeArg = 0;
      } else dispatch(session, routes, ctx, parser.next - pos);
      if (lent) withdrawInputBuffer(buf);
      if (session.replyMode !== 0) session.replyRan(mark);
      if (this.#afterRequest(session, parser, pos)) break;
      pos = parser.next;
    }
    this.#processing = false;
    this.#endedMs = runEnd(ctx);
    return pos;
  }

  /**
   * Whether CLIENT PAUSE holds the request parsed at `pos` (it stays parsed, at the input's start,
   * as a yielded request does: `#resumeArg` is -1 until the pause lets it run). Requests behind it
   * wait behind it, so the connection's order is kept.
   */
  #holdForPause(session: Session, routes: Routes, parser: Parser, pos: number): boolean {
    const pause = this.#ctx.pause;
    if (!pause.inForce(session.nowMs) || !pauseHolds(session, routes, pause.mode)) {
      if (this.#resumeArg < 0) pause.forget(this);
      return false;
    }
    if (this.#resumeArg === 0) parser.rebase(-pos);
    this.#resumeArg = -1;
    pause.wait(this);
    return true;
  }

  /** CLIENT PAUSE ended or eased: the held request runs if it may now, then what queued behind it. */
  pauseEnded(): void {
    if (this.#state !== State.Open || this.#resumeArg >= 0) return;
    shared.reset();
    this.#markLsn();
    this.#pump(true);
  }

  /**
   * After a request that began at `pos`: true when processing must stop — the client is closing
   * or was dropped, or the handler yielded (its request stays at `pos`, which the caller keeps as
   * the start of the input, so its offsets are rebased to 0).
   */
  #afterRequest(session: Session, parser: Parser, pos: number): boolean {
    if (session.suspendAt > 0) {
      this.#resumeArg = session.suspendAt;
      session.suspendAt = 0;
      parser.rebase(-pos);
      if (session.until !== null) {
        this.#awaiting = true;
        void session.until.then(this.#settled, this.#settled);
        session.until = null;
      }
      return true;
    }
    if (session.closing) {
      this.#state = State.Closing;
      return true;
    }
    if (this.#ctx.outputOverflow) {
      log.warn(`client disconnected: its replies would exceed ${outputHardBytes} bytes unsent`);
      this.#abort();
      return true;
    }
    return false;
  }

  /**
   * Runs buffered input and flushes, as long as progress is possible. A yielded request's next
   * slice runs only from an event of its own (`mayResume`: drain, durable, its scheduled turn),
   * never in the same turn it yielded in, and at most once per call.
   */
  #pump(mayResume = false): void {
    for (;;) {
      if (!this.#paused && this.#inLen > 0 && this.#state === State.Open && (this.#resumeArg === 0 || (mayResume && !this.#awaiting))) {
        mayResume = false;
        const started = performance.now();
        const pos = this.#process(this.#in!.subarray(0, this.#inLen), 0, this.#inLen, started);
        if (pos < this.#inLen && this.#state === State.Open && this.#handOff(this.#in!, pos, this.#inLen, started)) {
          // All that was buffered went to the handed-off request (or the client was dropped).
          if (this.#in !== null) this.#consume(this.#inLen);
        } else this.#consume(pos);
      }
      this.#flush();
      if (this.#state !== State.Open) return;
      // Everything went out at once: nothing will drain, so carry on parsing now.
      if (this.#paused && this.#pendingBytes === 0) {
        this.#paused = false;
        if (this.#inLen > 0) continue;
      }
      break;
    }
    // A handler yielded: its next slice runs after other clients' events (or on drain, when paused).
    if (this.#resumeArg > 0 && !this.#paused && !this.#resumeScheduled && !this.#awaiting) {
      this.#resumeScheduled = true;
      setImmediate(this.#resumeSlice);
    }
    // Reading stops while replies back up, and while a yielded (or paused) request waits: input
    // arriving then would only pile up behind it.
    const stopReading = this.#paused || this.#resumeArg !== 0;
    if (stopReading !== this.#socketPaused) {
      this.#socketPaused = stopReading;
      if (stopReading) this.#t.pause();
      else this.#t.resume();
    }
  }

  /** What a suspended request waited for settled: it runs again (as a slice does on its turn). */
  readonly #settled = (): void => {
    this.#awaiting = false;
    this.#resumeSlice();
  };

  readonly #resumeSlice = (): void => {
    this.#resumeScheduled = false;
    if (this.#state !== State.Open || this.#resumeArg <= 0 || this.#paused) return;
    shared.reset();
    this.#markLsn();
    this.#pump(true);
  };

  /** Sends the shared reply buffer, queuing whatever the kernel does not take. */
  #flush(): void {
    const out = shared;
    const wal = this.#ctx.wal;
    if (wal !== null && wal.appendedLsn !== this.#lsnMark) {
      // This batch logged writes: its replies (and all later ones) wait until they are durable.
      this.#lsnMark = wal.appendedLsn;
      this.#holdLsn = this.#lsnMark;
      wal.waitFor(this.#holdLsn, this);
    }
    if (out.len > 0 && this.#state !== State.Closed && this.#holdLsn !== 0) {
      if (!this.#hold(out.buf, out.len)) return this.#abort();
    } else if (out.len > 0 && this.#state !== State.Closed) {
      let sent = 0;
      if (this.#pendingBytes === 0) {
        sent = this.#t.write(out.buf, 0, out.len);
        if (sent < 0) return this.onClose();
      }
      if (sent < out.len) {
        if (!this.#addPending(out.len - sent)) return this.#abort();
        this.#pending.push(Buffer.from(out.buf.subarray(sent, out.len)));
      }
    }
    out.reset();
    if (out.buf.length > replyBufferBytesKeepMax) shared.buf = Buffer.allocUnsafe(replyBufferBytesInitial);
    if (this.#state === State.Closing && this.#pendingBytes === 0) this.#end();
  }

  /** Notes where the WAL is before running requests: if it grows, they logged writes (see #flush). */
  #markLsn(): void {
    if (this.#ctx.wal !== null) this.#lsnMark = this.#ctx.wal.appendedLsn;
  }

  /** Appends src[0..len) to the held output (one reusable buffer per connection); false when the client was dropped for ctx.output. */
  #hold(src: Uint8Array, len: number): boolean {
    if (!this.#addPending(len)) return false;
    const need = this.#heldLen + len;
    if (this.#held === null || this.#held.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * (this.#held?.length ?? 0), 4096));
      if (this.#heldLen > 0) this.#held!.copy(grown, 0, 0, this.#heldLen);
      this.#held = grown;
    }
    this.#held.set(src.subarray(0, len), this.#heldLen);
    this.#heldLen = need;
    return true;
  }

  /**
   * Unsent output changes by `delta` bytes, counted in ctx.output. Growth past
   * client_output_bytes_max disconnects the client holding the most; false when that is this one
   * (the caller drops it).
   */
  #addPending(delta: number): boolean {
    const from = this.#pendingBytes;
    const to = from + delta;
    if (delta > 0 && !this.#ctx.output.grow(this, from, to)) return false;
    if (delta < 0) this.#ctx.output.shrink(this, from, to);
    this.#pendingBytes = to;
    return true;
  }

  /** Discards every unsent reply (queued and held) and gives its bytes back to ctx.output. */
  #dropOutput(): void {
    if (this.#pendingBytes > 0) this.#ctx.output.shrink(this, this.#pendingBytes, 0);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#heldLen = 0;
    this.#holdLsn = 0;
  }

  /** Writes queued output in order; true when all of it went out. */
  #sendPending(): boolean {
    while (this.#pending.length > 0) {
      const chunk = this.#pending[0]!;
      const left = chunk.length - this.#pendingHead;
      const sent = this.#t.write(chunk, this.#pendingHead, left);
      if (sent < 0) {
        this.onClose();
        return false;
      }
      this.#addPending(-sent);
      if (sent < left) {
        this.#pendingHead += sent;
        return false;
      }
      this.#pending.shift();
      this.#pendingHead = 0;
    }
    return true;
  }

  /**
   * After #process stopped at `pos` for want of bytes: when the request there awaits a large last
   * argument, takes it over (see #direct) with what of it is in src[pos..end), and returns true
   * (those bytes are the connection's no more). False, with nothing done, otherwise.
   */
  #handOff(src: Uint8Array, pos: number, end: number, startedMs: number): boolean {
    const parser = this.#protocol!.parser;
    if (parser.needBytes === 0 || parser.valueBytes < slabLargeBytesMin || this.#paused || this.#resumeArg !== 0) return false;
    const bytes = parser.handOffBytes();
    const held = this.inputBytes;
    const b = takeLargeBuffer(bytes);
    if (!this.#ctx.input.grow(this, held, held + b.length)) {
      retireLargeBuffer(b);
      this.#abort();
      return true;
    }
    const valueFrom = pos + parser.valueAt;
    this.#directStart = parser.handOff(src, pos, b);
    this.#directAt = this.#directStart;
    this.#directEnd = this.#directAt + parser.valueBytes;
    this.#directCrlf = 0;
    this.#directCrc = 0;
    this.#direct = b;
    this.#feedDirect(src, valueFrom, end, startedMs);
    return true;
  }

  /**
   * Copies src[from..end) into the handed-off request's value, up to its end and CRLF; when the
   * request is complete (or the CRLF is wrong) runs it. Returns where src's next request starts.
   */
  #feedDirect(src: Uint8Array, from: number, end: number, startedMs: number): number {
    const b = this.#direct!;
    const take = Math.min(end - from, this.#directEnd - this.#directAt);
    if (take > 0) {
      this.#directCrc = copyCrc32c(src, from, from + take, b, this.#directAt, this.#directCrc);
      this.#directAt += take;
      from += take;
    }
    while (this.#directAt === this.#directEnd && this.#directCrlf >= 0 && this.#directCrlf < 2 && from < end) {
      if (this.#directCrlf === 0 && src[from] === LF && this.#protocol!.parser.lfEnds) {
        this.#directCrlf = 2; // the text protocol's lone LF
        from++;
      } else if (src[from] !== (this.#directCrlf === 0 ? CR : LF)) this.#directCrlf = -1;
      else {
        this.#directCrlf++;
        from++;
      }
    }
    if (this.#directAt === this.#directEnd && (this.#directCrlf === 2 || this.#directCrlf < 0)) this.#runDirect(startedMs);
    return from;
  }

  /**
   * Runs the handed-off request from its buffer, offered for a SET to adopt. What the request did
   * not take goes back to the spares; a request that could not run now (CLIENT PAUSE, replies
   * backed up) or yielded is kept as the input buffer's start, as one read in place would be.
   */
  #runDirect(startedMs: number): void {
    const b = this.#direct!;
    this.#direct = null;
    const held = this.inputBytes;
    this.#ctx.input.shrink(this, held + b.length, held);
    this.#protocol!.parser.prime(this.#directCrlf === 2);
    offerInputBuffer(b, 0, this.#directEnd, true);
    noteValueCrc(b, this.#directStart, this.#directEnd, this.#directCrc);
    const pos = this.#process(b, 0, b.length, startedMs);
    noteValueCrc(null, 0, 0, 0);
    const adopted = withdrawInputBuffer(b);
    if (pos < b.length && this.#state === State.Open) {
      assert(!adopted, "a request kept for later had its buffer adopted");
      this.#keep(b, pos);
    }
    if (!adopted) retireLargeBuffer(b);
  }

  /**
   * The request just parsed is (nearly) all of the read Bun made for it, and its last argument is a
   * large value: the argument before it (a SET's key) is moved right before the value, over its
   * own bytes and the framing between them, and the two are offered as they lie (engine/large.ts),
   * for a SET to take as its entry's buffer. Bun's buffer is new for each read and nothing else
   * holds it, so the value is then not copied at all between the socket and the keyspace. Only
   * when the read holds at most readLendSlackBytes besides them (the entry keeps all of it alive).
   */
  #offerRead(buf: Uint8Array, parser: Parser): boolean {
    const k = parser.lendable();
    if (k < 0) return false;
    const starts = parser.starts;
    const ends = parser.ends;
    const ks = starts[k]!;
    const keyLen = ends[k]! - ks;
    const vs = starts[k + 1]!;
    const ve = ends[k + 1]!;
    // The whole allocation stays alive with the entry: it is what must be (nearly) key and value.
    if (ve - vs < slabLargeBytesMin || buf.buffer.byteLength - keyLen - (ve - vs) > readLendSlackBytes) return false;
    assert(ends[k]! <= vs, "a lent key lies after its value");
    buf.copyWithin(vs - keyLen, ks, ks + keyLen);
    starts[k] = vs - keyLen;
    ends[k] = vs;
    offerInputBuffer(buf, vs - keyLen, ve, false);
    return true;
  }

  /** Keeps data[pos..) as the start of the (empty) input buffer. */
  #keep(data: Uint8Array, pos: number): void {
    if (!this.#reserve(data.length - pos)) return;
    copyBytes(data, pos, data.length, this.#in!, 0);
    this.#inLen = data.length - pos;
  }

  /** Appends to buffered input; false (and the client is dropped) past the input limit. */
  #append(data: Uint8Array): boolean {
    const need = this.#inLen + data.length;
    if (need > this.#inBytesMax) {
      log.warn(`client disconnected: more than ${this.#inBytesMax} bytes of unparsed input`);
      this.#abort();
      return false;
    }
    if (!this.#reserve(need)) return false;
    this.#in!.set(data, this.#inLen);
    this.#inLen = need;
    return true;
  }

  /**
   * Makes room for `bytes` of input. Capacity doubles (up to what the request in progress needs),
   * so a large payload in small reads is copied a bounded number of times, yet memory follows the
   * bytes that actually arrived: announcing 16 MiB and sending nothing reserves nothing.
   * Every growth is asked of ctx.input first; false when this client was dropped for it instead.
   */
  #reserve(bytes: number): boolean {
    const have = this.#in?.length ?? 0;
    if (have >= bytes) return true;
    const held = this.inputBytes;
    const needed = this.#protocol?.parser.needBytes ?? 0;
    const doubled = needed > 0 ? Math.min(2 * have, needed) : 2 * have;
    const size = Math.min(this.#inBytesMax, Math.max(bytes, doubled, 4096));
    // A large request of known size takes a pooled buffer that holds all of it, when there is one:
    // memory that exists already, so nothing is reserved on the client's word alone.
    const pooled = needed > size && needed > connectionBufferBytesKeepMax && needed <= this.#inBytesMax ? takePooled(needed) : null;
    if (!this.#ctx.input.grow(this, held, held - have + (pooled?.length ?? size))) {
      if (pooled !== null) givePooled(pooled);
      this.#abort();
      return false;
    }
    const grown = pooled ?? Buffer.allocUnsafe(size);
    if (this.#in !== null && this.#inLen > 0) this.#in.copy(grown, 0, 0, this.#inLen);
    if (this.#in !== null) givePooled(this.#in);
    this.#in = grown;
    return true;
  }

  /** Gives the input buffer (to the pool when large) and a handed-off request's back, and their bytes to ctx.input. */
  #releaseInput(): void {
    if (this.#in !== null) this.#releaseIn();
    this.#inLen = 0;
    if (this.#direct !== null) {
      this.#ctx.input.shrink(this, this.#direct.length, 0);
      retireLargeBuffer(this.#direct);
      this.#direct = null;
    }
  }

  /** Gives only the input buffer back (to the pool when large). */
  #releaseIn(): void {
    const held = this.inputBytes;
    this.#ctx.input.shrink(this, held, held - this.#in!.length);
    givePooled(this.#in!);
    this.#in = null;
    this.#inLen = 0;
  }

  /** Drops the first `pos` buffered bytes; releases a large buffer once it is empty. */
  #consume(pos: number): void {
    const buf = this.#in!;
    if (pos >= this.#inLen) {
      this.#inLen = 0;
      if (buf.length > connectionBufferBytesKeepMax) this.#releaseIn();
      return;
    }
    if (pos > 0) buf.copyWithin(0, pos, this.#inLen);
    this.#inLen -= pos;
  }

  /** Closes the socket; unparsed input is worthless now, so its buffer goes back at once. */
  #end(): void {
    this.#state = State.Closed;
    if (this.#resumeArg < 0) this.#ctx.pause.forget(this);
    clientsOf(this.#ctx).remove(this);
    this.#releaseInput();
    this.#t.end();
  }

  /** Drops the client at once: its queued output is discarded. */
  #abort(): void {
    this.#dropOutput();
    shared.reset();
    this.#end();
  }
}
