// One connection's side of the command core: the request being run (its arguments as offsets into
// the input), the protocol's reply encoder and argument dialect, and what the client set about
// itself (name, id, closing). Handlers receive it; they never see which protocol it is.

import type { Reply } from "./reply.ts";
import type { Fail } from "./reply.ts";
import type { ExpireOptions, SetOptions } from "../engine/ops.ts";
import type { Transaction } from "./transactions.ts";
import type { User } from "../auth.ts";
import type { Subscriptions } from "../pubsub.ts";

/** A parsed request: argument i is b[starts[i]..ends[i]); `code` is argument 0's nameCode. */
export interface Args {
  readonly argc: number;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly code: number;
}

/** Returned by a Dialect check that found nothing wrong. */
export const valid = -1;

/**
 * The argument grammar a protocol gives the few commands whose grammar differs between protocols
 * (SET's options: milliseconds and VER in Osprey's, Redis's EX seconds and GET in RESP; EXPIRE's
 * time and conditions), and its key rule. What the arguments then mean is the engine's, once.
 */
export interface Dialect {
  /**
   * Whether argument t of the request being run may be a key here: `valid` or why not. `grows` is
   * true for commands that may create a key (RESP checks only those: a key that cannot be written
   * is simply missing).
   */
  keyFail(r: Session, t: number, keyBytesMax: number, grows: boolean): Fail | typeof valid;
  /** SET's options from argument 3 on into `o`, with relative times made absolute at nowMs. */
  setOptions(r: Session, o: SetOptions): Fail | typeof valid;
  /**
   * The EXPIRE family: the time at argument 2 in `unitMs` from `baseMs` (now for EXPIRE, 0 for
   * EXPIREAT), absolute in `o.atMs`, and conditions from 3 on.
   */
  expireOptions(r: Session, unitMs: number, baseMs: number, o: ExpireOptions): Fail | typeof valid;
}

let nextClientId = 1;

/** CLIENT REPLY's state, as bits of `Session.replyMode` (Redis's CLIENT_REPLY_OFF, _SKIP_NEXT, _SKIP). */
export const enum ReplyMode {
  /** CLIENT REPLY OFF: no reply is sent until CLIENT REPLY ON. */
  Off = 1,
  /** CLIENT REPLY SKIP ran: the next request's reply is dropped. */
  SkipNext = 2,
  /** This request's reply is dropped. */
  Skip = 4,
  /**
   * This request answered Pub/Sub confirmations, which Redis sends whatever CLIENT REPLY says (its
   * CLIENT_PUSHING): its reply is kept. Set only while another bit is, so `replyRan` clears it.
   */
  Pushing = 8,
}

/** What a connection runs its requests through; one per connection, reused for every request. */
export class Session {
  /** Unique per connection, as Redis's client id. */
  readonly id = nextClientId++;
  /** Set by CLIENT SETNAME or HELLO SETNAME; null when unnamed. */
  name: Buffer | null = null;
  /** Set by CLIENT SETINFO LIB-NAME / LIB-VER (what client library this is); shown by CLIENT LIST. */
  libName = "";
  libVer = "";
  /** CLIENT NO-EVICT and NO-TOUCH: remembered and shown as Redis does (Osprey neither evicts nor tracks access times yet). */
  noEvict = false;
  noTouch = false;
  /** Set by QUIT: the connection closes once this reply is sent. */
  closing = false;
  /** The input holding the request being run. */
  b: Uint8Array = new Uint8Array(0);
  /** Wall-clock time of the request (read once per batch of requests). */
  nowMs = 0;
  /** Set by a dialect with a Fail whose message names an argument: that argument's index. */
  failArg = 0;
  /**
   * Between MULTI and EXEC/DISCARD: the dispatcher queues requests instead of running them. The
   * one thing a request outside a transaction pays for transactions is reading this.
   */
  multi = false;
  /** The queue and watches of MULTI/WATCH (transactions.ts), made on first use and reused. */
  tx: Transaction | null = null;
  /**
   * A handler whose reply is large (MGET) may stop after a slice and yield the event loop to other
   * clients: it sets `suspendAt` to the argument it will go on from, and the connection runs it
   * again with `resumeArg` set to that (0: a request's first run). False while EXEC replays its
   * queue, which must run whole.
   */
  canYield = true;
  /**
   * What this connection may do (auth.ts): null when it may do everything — no password is
   * configured, or its user has every permission on every key — which is the one thing the
   * dispatcher reads about authentication per request. Set when the connection opens and by AUTH.
   */
  limits: User | null = null;
  /** The user the connection is authenticated as (ACL WHOAMI). */
  userName = "default";
  suspendAt = 0;
  resumeArg = 0;
  /**
   * What a yielded handler keeps between its slices besides its arguments (KEYS: the keys found so
   * far), given back if the connection closes before the last slice ran.
   */
  sliceState: { release(): void } | null = null;
  /**
   * Set with `suspendAt` by a handler waiting for work off the event loop (AUTH's Bun.password
   * check, its delay after repeated failures): the request runs again once this settles, not on the
   * next turn. Null otherwise.
   */
  until: Promise<unknown> | null = null;
  /** CLIENT REPLY OFF / SKIP (ReplyMode bits): 0 unless set, and the connection checks only that. */
  replyMode = 0;
  /**
   * Subscribed to at least one channel or pattern. In RESP2 that is subscribed mode: the
   * dispatcher then allows only (P)(UN)SUBSCRIBE, PING, QUIT and RESET. It reads this flag once
   * per request, and the mode's rule only when it is set.
   */
  subscribed = false;
  /** Ran MONITOR: every request dispatched is shown to it (pubsub.ts); its output is bounded as a subscriber's. */
  monitor = false;
  /** Channels and patterns listened to (pubsub.ts), made at the first SUBSCRIBE or MONITOR. */
  pubsub: Subscriptions | null = null;
  /**
   * Sends pre-encoded bytes (a pub/sub message, a keyspace event) to this session's client through
   * its connection's output path and limits; set by the connection (null: nothing can be delivered).
   */
  deliver: ((bytes: Uint8Array) => void) | null = null;

  constructor(
    /** The request being run (the protocol's parser, which holds its arguments). */
    readonly p: Args,
    readonly reply: Reply,
    readonly dialect: Dialect,
  ) {
    reply.session = this;
  }

  /**
   * RESET: the connection as it was when it connected — RESP2, no name, out of MULTI, nothing
   * watched (Redis's resetCommand). The id stays.
   */
  reset(): void {
    if (this.reply.version !== 0) this.reply.setVersion(2);
    this.name = null;
    this.noEvict = false;
    this.noTouch = false;
    this.replyMode = 0;
    this.multi = false;
    this.tx?.release();
    this.pubsub?.registry.release(this);
  }

  /**
   * After a request run under CLIENT REPLY OFF or SKIP: drops its reply (written from `mark` on),
   * then, once the request is whole (not a slice that yielded), moves SKIP on by one request.
   */
  replyRan(mark: number): void {
    const pushing = (this.replyMode & ReplyMode.Pushing) !== 0;
    const mode = this.replyMode & ~ReplyMode.Pushing;
    this.replyMode = mode;
    if ((mode & (ReplyMode.Off | ReplyMode.Skip)) !== 0 && !pushing) this.reply.truncate(mark);
    if (this.suspendAt > 0) return;
    this.replyMode = (mode & ReplyMode.SkipNext) !== 0 ? (mode & ~ReplyMode.SkipNext) | ReplyMode.Skip : mode & ~ReplyMode.Skip;
  }

  /** The connection is gone: its watches must stop observing the keyspace. */
  release(): void {
    this.multi = false;
    this.sliceState?.release();
    this.sliceState = null;
    this.tx?.release();
    this.pubsub?.registry.release(this);
    this.deliver = null;
  }

  /** Argument t upper-cased, for matching a subcommand or option word (see `wordAt`). */
  word(t: number): string {
    return wordAt(this.b, this.p.starts[t]!, this.p.ends[t]!);
  }

  /** Argument t as latin1 text: for admin commands and error messages, never a hot path. */
  text(t: number): string {
    return textAt(this.b, this.p.starts[t]!, this.p.ends[t]!);
  }
}

/** b[s..e) as latin1 text. */
export function textAt(b: Uint8Array, s: number, e: number): string {
  return Buffer.from(b.buffer, b.byteOffset + s, e - s).toString("latin1");
}

/**
 * b[s..e) upper-cased, for matching a keyword; "" when it is longer than any keyword (32 bytes),
 * so matching never copies a large argument.
 */
export function wordAt(b: Uint8Array, s: number, e: number): string {
  return e - s > 32 ? "" : textAt(b, s, e).toUpperCase();
}
