// Large values answered in slices. A value longer than replySliceBytes (up to max_value_bytes,
// 512 MiB) would take ~100 ms to copy into the reply in one go, stalling every other client. So
// the handler writes the answer's head and the first slice, does everything else it does (GETDEL
// deletes, GETEX re-times, GETSET writes) and yields (Session.suspendAt); the connection runs the
// request again on a later turn, which copies the next slice (`writeTail`, from table.ts `resume`),
// and so on until the value and its CRLF are written. Between slices other clients run, and the
// connection's output bounds pause it until the client has read what it was sent.
//
// The reply is the value as it was when the request read it: a value that long lives in its own
// large buffer, whose bytes never change while an entry holds it, and the tail pins the buffer
// (engine/large.ts) so that an overwrite or delete meanwhile cannot hand it to another entry.

import { assert } from "../assert.ts";
import { replySliceBytes } from "../constants.ts";
import { isLargeBuffer, pinLargeBuffer, unpinLargeBuffer } from "../engine/large.ts";
import type { Store } from "../engine/store.ts";
import type { Session } from "./session.ts";

/** `suspendAt` of a request whose handler is done: once its value's tail is written, so is the request. */
export const tailOnly = 0x7fffffff;

const CRLF = new Uint8Array([13, 10]);

/** The rest of a value being answered: b[at..end), then CRLF. Session.sliceState while it lasts. */
export class ValueTail {
  #pinned = true;

  constructor(
    readonly b: Uint8Array,
    public at: number,
    readonly end: number,
  ) {
    pinLargeBuffer(b);
  }

  /** The value is written, or the connection went away: the buffer may be reused. */
  release(): void {
    if (!this.#pinned) return;
    this.#pinned = false;
    unpinLargeBuffer(this.b);
  }
}

/**
 * After the head of an answer: b[from..to) and CRLF. In slices when `s` may yield (true: the
 * handler stops now, and the request goes on at `resumeAt` once the value is written — `tailOnly`
 * when nothing else follows, an MGET's next key otherwise); whole inside EXEC, which runs whole (false).
 */
export function longValue(s: Session, b: Uint8Array, from: number, to: number, resumeAt = tailOnly): boolean {
  if (!s.canYield) {
    s.reply.raw(b, from, to);
    s.reply.raw(CRLF, 0, 2);
    return false;
  }
  assert(isLargeBuffer(b), "a value answered in slices is not in a large buffer, whose bytes cannot change");
  assert(s.sliceState === null, "a request answers one value in slices at a time");
  s.reply.raw(b, from, from + replySliceBytes);
  s.sliceState = new ValueTail(b, from + replySliceBytes, to);
  s.suspendAt = resumeAt;
  return true;
}

/** `reply.entry` of live entry `id` whose value is longer than replySliceBytes: its head, then the value. */
export function longEntry(s: Session, store: Store, id: number): void {
  s.reply.entryHead(store, id);
  const vs = store.valueOffset(id);
  longValue(s, store.buffer(id), vs, vs + store.valueLength(id));
}

/** `reply.keyedEntry` of such an entry (an MGET item): the handler stops when it yields (`suspendAt` set). */
export function longKeyedEntry(s: Session, store: Store, id: number, b: Uint8Array, ks: number, ke: number): void {
  s.reply.keyedEntryHead(store, id, b, ks, ke);
  const vs = store.valueOffset(id);
  longValue(s, store.buffer(id), vs, vs + store.valueLength(id));
}

/**
 * Writes the next slice of the value `s` is answering (its sliceState is a ValueTail); true once
 * the value and its CRLF are all written, false when the request must yield again.
 */
export function writeTail(s: Session): boolean {
  const tail = s.sliceState as ValueTail;
  const n = Math.min(tail.end - tail.at, replySliceBytes);
  s.reply.raw(tail.b, tail.at, tail.at + n);
  tail.at += n;
  if (tail.at < tail.end) return false;
  s.reply.raw(CRLF, 0, 2);
  tail.release();
  s.sliceState = null;
  return true;
}
