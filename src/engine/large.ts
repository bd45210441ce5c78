// The buffers of large entries (key + value of slabLargeBytesMin or more, one buffer each): written
// once, by the store (or by a connection reading a large value, which a SET then adopts; such a
// buffer may hold a few bytes of the request behind the value), and never changed afterwards — a new value gets a new buffer. So the WAL may
// log such a value by reference (a writev from where it lies) instead of copying it, provided the
// buffer is not handed to another entry before that write: the WAL pins what it references, and so
// does a reply that copies a value in slices (commands/value-slices.ts). A
// buffer its entry let go of is kept as a spare for the next large entry of the same size once no
// log pins it, so a stream of same-size large SETs neither allocates nor faults in fresh pages.

import { assert } from "../assert.ts";
import { largeSpareBytesMax, largeSparesMax } from "../constants.ts";

/** Every large entry buffer ever handed out: bytes that never change while an entry holds them. */
const owned = new WeakSet<Uint8Array>();
/** Referenced by a log's unwritten turn or a reply still being written: how many times. */
const pinned = new WeakMap<Uint8Array, number>();
/** Let go of by their entry while pinned: spares once unpinned. */
const retiredWhilePinned = new WeakSet<Uint8Array>();
/** Buffers no entry and no log holds, oldest first. */
const spares: Buffer[] = [];
let spareBytes = 0;

/** Whether `b` is a large entry's buffer (see above: its bytes do not change until it is retired). */
export function isLargeBuffer(b: Uint8Array): boolean {
  return owned.has(b);
}

/** A buffer of exactly `bytes` for a new large entry: a spare of that size, or a new one. */
export function takeLargeBuffer(bytes: number): Buffer {
  for (let i = spares.length - 1; i >= 0; i--) {
    const b = spares[i]!;
    if (b.length !== bytes) continue;
    spares.splice(i, 1);
    spareBytes -= bytes;
    return b;
  }
  const b = Buffer.allocUnsafeSlow(bytes);
  owned.add(b);
  return b;
}

/** The entry holding `b` let go of it: a spare now, or once the log that references it has written it. */
export function retireLargeBuffer(b: Buffer): void {
  if (pinned.has(b)) retiredWhilePinned.add(b);
  else keepSpare(b);
}

/**
 * A log (or a reply written in slices) references `b` until it calls unpinLargeBuffer (after
 * writing it, or copying it away). Pins are counted: each is undone by one unpin.
 */
export function pinLargeBuffer(b: Uint8Array): void {
  pinned.set(b, (pinned.get(b) ?? 0) + 1);
}

export function unpinLargeBuffer(b: Uint8Array): void {
  const n = pinned.get(b);
  assert(n !== undefined, "a large buffer unpinned more often than pinned");
  if (n > 1) return void pinned.set(b, n - 1);
  pinned.delete(b);
  if (retiredWhilePinned.delete(b)) keepSpare(b as Buffer);
}

/**
 * A connection offers a request's key and value while the request runs, when they lie next to each
 * other (key, then value) in input no one else holds: a SET of exactly those bytes takes them as
 * its entry's buffer instead of copying them (`adoptInputBuffer`). Two kinds (net/connection.ts):
 * a large buffer the connection read a large value straight into (taken whole: it may hold a few
 * bytes of the request behind the value), or the buffer Bun made for one read that held the whole
 * request (a view of just the key and value is taken). Whatever the request does not take, the
 * connection withdraws.
 */
let offered: Uint8Array | null = null;
let offeredStart = 0;
let offeredEnd = 0;
let offeredWhole = false;

/** Offers b[start..end) (key then value); `whole`: b is a large buffer, taken as it is (start is 0). */
export function offerInputBuffer(b: Uint8Array, start: number, end: number, whole: boolean): void {
  assert(!whole || start === 0, "a whole buffer is offered with its key at 0");
  offered = b;
  offeredStart = start;
  offeredEnd = end;
  offeredWhole = whole;
}

/**
 * The entry buffer for key and value at b[start..end), when that is what is offered: the caller
 * owns it now (a large buffer, see isLargeBuffer) and it is offered no more. Null otherwise.
 */
export function adoptInputBuffer(b: Uint8Array, start: number, end: number): Buffer | null {
  if (offered === null || b !== offered || start !== offeredStart || end !== offeredEnd) return null;
  offered = null;
  if (offeredWhole) return b as Buffer;
  const own = Buffer.from(b.buffer, b.byteOffset + start, end - start);
  owned.add(own);
  return own;
}

/** The request is done: true when its offer was adopted, false when the bytes are still the caller's. */
export function withdrawInputBuffer(b: Uint8Array): boolean {
  if (offered !== b) return true;
  offered = null;
  return false;
}

/**
 * The raw crc register (native/index.ts copyCrc32c) over offered[valueStart..valueEnd), which the
 * connection computed while copying the value in: the WAL makes the record's crc from it
 * (`knownValueCrc`) instead of reading the value again. Set and cleared with the offer's request.
 */
let crcBuf: Uint8Array | null = null;
let crcStart = 0;
let crcEnd = 0;
let crcReg = 0;

export function noteValueCrc(b: Uint8Array | null, start: number, end: number, reg: number): void {
  crcBuf = b;
  crcStart = start;
  crcEnd = end;
  crcReg = reg;
}

/** The register noted for exactly b[start..end), or -1. */
export function knownValueCrc(b: Uint8Array, start: number, end: number): number {
  return b === crcBuf && start === crcStart && end === crcEnd ? crcReg : -1;
}

/** Bytes of spare buffers held now. */
export function spareLargeBytes(): number {
  return spareBytes;
}

/** Keeps `b` as a spare, giving up the oldest spares when over the bounds (they are garbage then). */
function keepSpare(b: Buffer): void {
  if (b.length > largeSpareBytesMax) return;
  spares.push(b);
  spareBytes += b.length;
  while (spareBytes > largeSpareBytesMax || spares.length > largeSparesMax) spareBytes -= spares.shift()!.length;
}
