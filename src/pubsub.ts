// The Pub/Sub registry of one server: which sessions listen on which channels and patterns, and
// PUBLISH's fan-out, which encodes a message once per RESP version and hands the same bytes to
// every subscriber's connection (Session.deliver → net/connection.ts's output path and limits).
// Keyspace notifications publish through it too (setKeyspaceEvents).

import { copyBytes } from "./bytes.ts";
import { digitsOf, putUint31 } from "./protocol/writer.ts";
import type { Context } from "./commands/context.ts";
import type { Session } from "./commands/session.ts";
import { globMatch } from "./glob.ts";
import { Notify, type KeyEvents } from "./engine/notify.ts";

/** Channel and pattern names are binary: the registry keys them by their bytes read as latin1. */
export function nameKey(b: Uint8Array, s: number, e: number): string {
  return Buffer.from(b.buffer, b.byteOffset + s, e - s).toString("latin1");
}

/** What one session listens to (made at its first SUBSCRIBE; Session.pubsub). */
export class Subscriptions {
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();

  constructor(readonly registry: PubsubRegistry) {}

  get count(): number {
    return this.channels.size + this.patterns.size;
  }
}

/** A pattern and who listens to it; its bytes are kept for matching without conversions. */
interface Pattern {
  readonly bytes: Buffer;
  readonly subscribers: Set<Session>;
}

/** Frames of one message, one per RESP version, encoded on first need. */
class Frames {
  #v2: Buffer | null = null;
  #v3: Buffer | null = null;
  constructor(readonly parts: readonly Uint8Array[]) {}

  for(version: number): Buffer {
    if (version === 3) return (this.#v3 ??= encodeFrame(62, this.parts));
    return (this.#v2 ??= encodeFrame(42, this.parts));
  }
}

/** A channel name longer than this is not kept for the next PUBLISH's lookup (it would be copied each time). */
const channelKeyCacheBytesMax = 256;

/**
 * The frame of a message on channel b[cs..ce) (RESP2 `*`, RESP3 `>`): `message`, the channel, the
 * payload, as bulk strings, in one buffer of exactly its size; the channel is read where it is.
 */
function messageFrame(type: number, b: Uint8Array, cs: number, ce: number, message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + bulkBytes(MESSAGE.length) + bulkBytes(ce - cs) + bulkBytes(message.length));
  out[0] = type;
  let at = putLine(out, 1, 3);
  at = putBulk(out, at, MESSAGE, 0, MESSAGE.length);
  at = putBulk(out, at, b, cs, ce);
  putBulk(out, at, message, 0, message.length);
  return out;
}

const MESSAGE = Buffer.from("message");

/**
 * `<type><n>\r\n` then each part as a bulk string, in one buffer of exactly its size: the push
 * frame of a message (RESP2 `*`, RESP3 `>`). Digits and bytes are written in place: PUBLISH encodes
 * one frame per message, and building strings for the headers cost more than the rest of it.
 */
export function encodeFrame(type: number, parts: readonly Uint8Array[]): Buffer {
  let size = 1 + digitsOf(parts.length) + 2;
  for (const p of parts) size += bulkBytes(p.length);
  const out = Buffer.allocUnsafe(size);
  out[0] = type;
  let at = putLine(out, 1, parts.length);
  for (const p of parts) at = putBulk(out, at, p, 0, p.length);
  return out;
}

/** Bytes of a bulk string of n bytes: `$<n>\r\n<bytes>\r\n`. */
function bulkBytes(n: number): number {
  return 1 + digitsOf(n) + 2 + n + 2;
}

/** Writes src[s..e) as a bulk string at `at`; returns the end. */
function putBulk(out: Uint8Array, at: number, src: Uint8Array, s: number, e: number): number {
  out[at] = 36; // $
  at = putLine(out, at + 1, e - s);
  copyBytes(src, s, e, out, at);
  at += e - s;
  out[at] = 13;
  out[at + 1] = 10;
  return at + 2;
}

/** Writes n (lengths and counts: below 2^31) in decimal and CRLF at `at`; returns the end. */
function putLine(out: Uint8Array, at: number, n: number): number {
  at = putUint31(out, at, n);
  out[at] = 13;
  out[at + 1] = 10;
  return at + 2;
}

const PMESSAGE = Buffer.from("pmessage");

export class PubsubRegistry {
  /** The server's MONITOR connections (Context.monitors, the same array). */
  constructor(readonly monitors: Session[]) {}

  readonly #channels = new Map<string, Set<Session>>();
  readonly #patterns = new Map<string, Pattern>();
  /** Messages delivered, counted per receiving subscription (INFO's pubsub counts). */
  messagesDelivered = 0;

  /** Subscribes `s` to a channel; false when it already was. */
  subscribe(s: Session, channel: string): boolean {
    const subs = (s.pubsub ??= new Subscriptions(this));
    if (subs.channels.has(channel)) return false;
    subs.channels.add(channel);
    let set = this.#channels.get(channel);
    if (set === undefined) this.#channels.set(channel, (set = new Set()));
    set.add(s);
    s.subscribed = true;
    return true;
  }

  unsubscribe(s: Session, channel: string): boolean {
    const subs = s.pubsub;
    if (subs === null || !subs.channels.delete(channel)) return false;
    const set = this.#channels.get(channel)!;
    set.delete(s);
    if (set.size === 0) this.#channels.delete(channel);
    s.subscribed = subs.count > 0;
    return true;
  }

  psubscribe(s: Session, pattern: string): boolean {
    const subs = (s.pubsub ??= new Subscriptions(this));
    if (subs.patterns.has(pattern)) return false;
    subs.patterns.add(pattern);
    let p = this.#patterns.get(pattern);
    if (p === undefined) this.#patterns.set(pattern, (p = { bytes: Buffer.from(pattern, "latin1"), subscribers: new Set() }));
    p.subscribers.add(s);
    s.subscribed = true;
    return true;
  }

  punsubscribe(s: Session, pattern: string): boolean {
    const subs = s.pubsub;
    if (subs === null || !subs.patterns.delete(pattern)) return false;
    const p = this.#patterns.get(pattern)!;
    p.subscribers.delete(s);
    if (p.subscribers.size === 0) this.#patterns.delete(pattern);
    s.subscribed = subs.count > 0;
    return true;
  }

  /** Drops every subscription of `s` (connection closed, RESET). */
  release(s: Session): void {
    const subs = s.pubsub;
    if (subs === null) return;
    if (s.monitor) {
      s.monitor = false;
      this.monitors.splice(this.monitors.indexOf(s), 1);
    }
    for (const c of [...subs.channels]) this.unsubscribe(s, c);
    for (const p of [...subs.patterns]) this.punsubscribe(s, p);
  }

  /**
   * Sends `message` on channel b[cs..ce) to every subscriber of the channel and of every matching
   * pattern; returns how many subscriptions received it (PUBLISH's reply).
   */
  publish(b: Uint8Array, cs: number, ce: number, message: Uint8Array): number {
    let receivers = 0;
    const set = this.#channels.get(this.#keyOf(b, cs, ce));
    if (set !== undefined) {
      // One frame per RESP version, encoded when the first subscriber speaking it is reached.
      let v2: Buffer | null = null;
      let v3: Buffer | null = null;
      for (const s of set) {
        const frame = s.reply.version === 3 ? (v3 ??= messageFrame(62, b, cs, ce, message)) : (v2 ??= messageFrame(42, b, cs, ce, message));
        s.deliver?.(frame);
        receivers++;
      }
    }
    if (this.#patterns.size === 0) {
      this.messagesDelivered += receivers;
      return receivers;
    }
    const channel = b.subarray(cs, ce);
    for (const p of this.#patterns.values()) {
      if (!globMatch(p.bytes, 0, p.bytes.length, b, cs, ce)) continue;
      const frames = new Frames([PMESSAGE, p.bytes, channel, message]);
      for (const s of p.subscribers) {
        s.deliver?.(frames.for(s.reply.version));
        receivers++;
      }
    }
    this.messagesDelivered += receivers;
    return receivers;
  }

  // The last channel published to, as bytes and as its map key: publishing to the same channel
  // again (the common case) makes no string.
  #lastName: Uint8Array = new Uint8Array(0);
  #lastKey = "";

  #keyOf(b: Uint8Array, cs: number, ce: number): string {
    const last = this.#lastName;
    const n = ce - cs;
    if (n === last.length) {
      let i = 0;
      while (i < n && b[cs + i] === last[i]) i++;
      if (i === n) return this.#lastKey;
    }
    const key = nameKey(b, cs, ce);
    if (n <= channelKeyCacheBytesMax) {
      this.#lastName = Uint8Array.prototype.slice.call(b, cs, ce);
      this.#lastKey = key;
    }
    return key;
  }

  /** Active channels (with at least one subscriber), for PUBSUB CHANNELS. */
  channels(): IterableIterator<string> {
    return this.#channels.keys();
  }

  /** Subscribers of one channel (PUBSUB NUMSUB). */
  subscriberCount(channel: string): number {
    return this.#channels.get(channel)?.size ?? 0;
  }

  /** MONITOR: `s` is shown every later request (its release ends that). */
  monitor(s: Session): void {
    s.pubsub ??= new Subscriptions(this);
    if (s.monitor) return;
    s.monitor = true;
    this.monitors.push(s);
  }

  /** Distinct patterns subscribed to (PUBSUB NUMPAT, INFO's pubsub_patterns). */
  get patternCount(): number {
    return this.#patterns.size;
  }

  get channelCount(): number {
    return this.#channels.size;
  }
}

const registries = new WeakMap<Context, PubsubRegistry>();

/** The registry of the server `ctx` belongs to (several servers share a process in tests). */
export function pubsubOf(ctx: Context): PubsubRegistry {
  let r = registries.get(ctx);
  if (r === undefined) {
    r = new PubsubRegistry(ctx.monitors);
    registries.set(ctx, r);
  }
  return r;
}

const keyspacePrefix = Buffer.from("__keyspace@0__:");
const keyeventPrefix = Buffer.from("__keyevent@0__:");

/**
 * Keyspace notifications as Redis sends them: for an event of an enabled class, a message on
 * `__keyspace@0__:<key>` carrying the event name (K) and one on `__keyevent@0__:<event>` carrying
 * the key (E).
 */
class KeyspaceNotifier implements KeyEvents {
  constructor(
    readonly registry: PubsubRegistry,
    readonly flags: number,
  ) {}

  emit(type: number, event: Uint8Array, b: Uint8Array, ks: number, ke: number): void {
    if ((this.flags & type) === 0) return;
    const key = b.subarray(ks, ke);
    if ((this.flags & Notify.Keyspace) !== 0) {
      const channel = Buffer.concat([keyspacePrefix, key]);
      this.registry.publish(channel, 0, channel.length, event);
    }
    if ((this.flags & Notify.Keyevent) !== 0) {
      const channel = Buffer.concat([keyeventPrefix, event]);
      this.registry.publish(channel, 0, channel.length, Buffer.from(key));
    }
  }
}

/**
 * Sets notify-keyspace-events to `flags`: the store raises events only when some class and some
 * channel kind (K or E) are on, as Redis publishes nothing otherwise.
 */
export function setKeyspaceEvents(ctx: Context, flags: number): void {
  ctx.notifyFlags = flags;
  const channels = flags & (Notify.Keyspace | Notify.Keyevent);
  const classes = flags & ~(Notify.Keyspace | Notify.Keyevent);
  ctx.store.events = channels !== 0 && classes !== 0 ? new KeyspaceNotifier(pubsubOf(ctx), flags) : null;
}
