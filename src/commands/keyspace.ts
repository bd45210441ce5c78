// The generic keyspace commands: SCAN (both protocols), KEYS, TYPE, RANDOMKEY, RENAME, RENAMENX,
// COPY, OBJECT, and the text protocol's HELP. Each parses its arguments, calls
// one engine operation (engine/ops.ts, engine/scan.ts) and hands the result to the encoder.

import { copyBytes } from "../bytes.ts";
import { keysReplySliceBytes, keysSliceMs, scanReplyBytesMax, randomKeyTriesMax } from "../constants.ts";
import { Copied, copyKey, Renamed, renameKey, sameKey } from "../engine/ops.ts";
import { keysSlice, ScanOptions, ScanResult, scanStep } from "../engine/scan.ts";
import type { Store } from "../engine/store.ts";
import { RespErr } from "../errors.ts";
import { parseI64 } from "../numbers.ts";
import { nameCode, nameCodeOf } from "../protocol/text.ts";
import type { Context } from "./context.ts";
import { Fail, type Reply } from "./reply.ts";
import type { Budget, BudgetHolder } from "../net/budget.ts";
import type { Session } from "./session.ts";
import { subcommandArity, unknownSubcommand } from "./server.ts";
import { commands } from "./table.ts";

const MATCH = nameCodeOf("MATCH");
const COUNT = nameCodeOf("COUNT");
const TYPE = nameCodeOf("TYPE");
const REPLACE = nameCodeOf("REPLACE");
const DB = nameCodeOf("DB");

const U64_MAX = (1n << 64n) - 1n;

/**
 * A SCAN cursor as Redis 7 reads one (C's strtoul, base 10): an optional sign and digits, nothing
 * else, not starting with a space; `-n` wraps (2^64 − n), an empty cursor is 0, past 2^64 − 1 is
 * refused. Only the low 32 bits can name a bucket (tables stay below 2^31 slots, constants.ts),
 * and masking them is what Redis does with the rest. NaN when invalid.
 */
export function parseCursor(b: Uint8Array, s: number, e: number): number {
  let i = s;
  const negative = i < e && b[i] === 45;
  if (i < e && (b[i] === 43 || b[i] === 45)) i++;
  if (i === e) return i === s ? 0 : Number.NaN; // "" is 0; a bare sign converts nothing
  let v = 0n;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c < 48 || c > 57) return Number.NaN;
    v = v * 10n + BigInt(c - 48);
    if (v > U64_MAX) return Number.NaN;
  }
  if (negative) v = (U64_MAX + 1n - v) & U64_MAX;
  return Number(v & 0xffffffffn);
}

const scanOptions = new ScanOptions();
const scanResult = new ScanResult();

/**
 * SCAN cursor [MATCH pattern] [COUNT n] [TYPE type], in both protocols: options in any order, the
 * last of a repeated one wins (Redis's grammar). Answers the next cursor and the keys of the step.
 */
export function scan(s: Session, ctx: Context): void {
  const p = s.p;
  const b = s.b;
  const cursor = parseCursor(b, p.starts[1]!, p.ends[1]!);
  if (Number.isNaN(cursor)) return s.reply.fail(Fail.InvalidCursor);
  const o = scanOptions.reset();
  for (let t = 2; t < p.argc; t += 2) {
    const code = nameCode(b, p.starts[t]!, p.ends[t]!);
    if (code !== COUNT && code !== MATCH && code !== TYPE) return s.reply.fail(Fail.Syntax);
    if (t + 1 >= p.argc) return s.reply.fail(Fail.MissingOptionValue);
    const vs = p.starts[t + 1]!;
    const ve = p.ends[t + 1]!;
    if (code === COUNT) {
      const n = parseI64(b, vs, ve);
      if (n === null) return s.reply.fail(Fail.NotAnIntegerArg);
      if (n < 1) return s.reply.fail(Fail.BadCount);
      o.count = Number(n);
    } else if (code === MATCH) {
      o.pattern = b;
      o.ps = vs;
      o.pe = ve;
    } else {
      o.noType = s.text(t + 1).toLowerCase() !== "string";
    }
  }
  const reply = s.reply;
  // Half the room left: a step stops at the end of the bucket that crosses its budget, so it ends
  // within the room unless one bucket alone is larger than half of it.
  const room = Math.min((ctx.outputRoom - scanHeaderBytes) / 2, scanReplyBytesMax);
  scanStep(ctx.store, cursor, o, s.nowMs, room, (len) => reply.keyBytes(len), scanResult);
  writeScan(s, ctx, scanResult.cursor, scanResult.ids);
}

/** Writes a step's reply; one that would still pass the output room (its first bucket alone) drops the client, as MGET's. */
function writeScan(s: Session, ctx: Context, cursor: number, ids: readonly number[]): void {
  const store = ctx.store;
  let bytes = scanHeaderBytes;
  for (const id of ids) bytes += s.reply.keyBytes(store.keyLength(id));
  if (bytes > ctx.outputRoom) {
    ctx.outputOverflow = true;
    return;
  }
  s.reply.scanned(cursor, ids.length);
  for (const id of ids) s.reply.key(store, id);
}

/** An upper bound of `scanned`'s header in either protocol. */
const scanHeaderBytes = 64;

/** Ids of live matching keys found in the current slice of KEYS (reused). */
const keysFound: number[] = [];

/** An upper bound of KEYS's array header in either RESP version. */
const keysHeaderBytes = 16;

/**
 * KEYS pattern → every live key that matches, in no order. The keyspace is walked in slices of
 * about a millisecond (engine/scan.ts `keysSlice`), yielding the event loop between them; the keys
 * found are copied into a `KeysWalk` (their ids may be reused meanwhile), and once the last slice
 * ran the reply — whose array header announces its count — is written, keysReplySliceBytes at a
 * time, yielding between those too. Each key is visited once; a key is answered when it was live at
 * its slice, so another client's writes may land between slices (a FLUSHALL meanwhile starts the
 * walk again). Inside EXEC it runs whole. A reply that would pass the connection's output room — or
 * keys held past client_output_bytes_max with every client's unsent replies — is not built: the
 * client is disconnected, as for a giant MGET.
 */
export function keys(s: Session, ctx: Context): void {
  const p = s.p;
  const reply = s.reply;
  const store = ctx.store;
  let walk = s.resumeArg === 0 ? null : (s.sliceState as KeysWalk);
  if (walk !== null) {
    if (walk.evicted) return keysOverflow(s, ctx);
    if (walk.writing) return keysWrite(s, walk);
    // A clear shrank the table under the cursor: keys set since could be visited twice. The walk begins again.
    if (walk.clears !== store.clears) walk.restart(store.clears);
  }
  const room = ctx.outputRoom - keysHeaderBytes;
  let bytes = walk === null ? 0 : walk.replyBytes;
  keysFound.length = 0;
  const deadlineMs = s.canYield ? performance.now() + keysSliceMs : Number.POSITIVE_INFINITY;
  const cursor = keysSlice(store, walk === null ? 0 : walk.cursor, s.b, p.starts[1]!, p.ends[1]!, s.nowMs, deadlineMs, (id) => {
    bytes += reply.keyBytes(store.keyLength(id));
    keysFound.push(id);
    return bytes <= room;
  });
  if (cursor < 0) return keysOverflow(s, ctx);
  if (cursor === 0 && walk === null) {
    // Done in one slice (inside EXEC, or a small keyspace): the ids are still those of the keys.
    reply.arrayHeader(keysFound.length);
    for (const id of keysFound) reply.key(store, id);
    keysFound.length = 0;
    return;
  }
  walk ??= new KeysWalk(ctx.output, store.clears);
  s.sliceState = walk;
  const added = walk.add(store, keysFound);
  keysFound.length = 0;
  if (!added) return keysOverflow(s, ctx);
  walk.replyBytes = bytes;
  walk.cursor = cursor;
  if (cursor !== 0) {
    s.suspendAt = 1;
    return;
  }
  reply.arrayHeader(walk.count);
  walk.writing = true;
  keysWrite(s, walk);
}

/** Writes the next keysReplySliceBytes of a finished walk's keys; yields unless that was the last of them. */
function keysWrite(s: Session, walk: KeysWalk): void {
  if (!walk.writeKeys(s.reply, keysReplySliceBytes)) {
    s.suspendAt = 1;
    return;
  }
  walk.release();
  s.sliceState = null;
}

function keysOverflow(s: Session, ctx: Context): void {
  s.sliceState?.release();
  s.sliceState = null;
  keysFound.length = 0;
  ctx.outputOverflow = true;
}

/**
 * The keys a KEYS found in its earlier slices, copied back to back, and where its walk goes on.
 * Their memory is unsent reply in all but name, so it is counted in client_output_bytes_max's
 * budget as a holder of its own: a walk that would pass it is refused (its client disconnected),
 * and one another client's growth evicts gives its keys back at once and ends at its next slice.
 */
class KeysWalk implements BudgetHolder {
  cursor = 0;
  /** Reply bytes of the keys collected (`Reply.keyBytes` each). */
  replyBytes = 0;
  /** Keys collected. */
  count = 0;
  /** Set when the output budget disconnected this walk: its keys are gone. */
  evicted = false;
  /** The walk is done and its keys are being written, from key `#next` on. */
  writing = false;
  #next = 0;
  #nextAt = 0;
  #bytes = new Uint8Array(0);
  #len = 0;
  /** Where each collected key ends in #bytes; it starts where the previous one ended. */
  #ends = new Int32Array(0);
  /** Bytes counted in the budget: the capacity of both arrays. */
  #held = 0;

  constructor(
    readonly budget: Budget,
    /** `Store.clears` when the walk (re)began. */
    public clears: number,
  ) {}

  get inputBytes(): number {
    return 0;
  }

  get outputBytes(): number {
    return this.#held;
  }

  /** Copies the keys of `ids`; false when the output budget refuses the room (the walk then holds nothing). */
  add(store: Store, ids: readonly number[]): boolean {
    let need = 0;
    for (const id of ids) need += store.keyLength(id);
    if (this.#len + need > this.#bytes.length || this.count + ids.length > this.#ends.length) {
      // Not zero-filled: every byte and end is written before it is read (a walk of millions of
      // keys grows these to tens of MiB, and clearing them cost a slice).
      const bytes = Buffer.allocUnsafe(Math.max(2 * this.#bytes.length, this.#len + need, 4096));
      const endsCount = Math.max(2 * this.#ends.length, this.count + ids.length, 1024);
      const ends = new Int32Array(Buffer.allocUnsafeSlow(4 * endsCount).buffer, 0, endsCount);
      const held = bytes.byteLength + ends.byteLength;
      if (!this.budget.grow(this, this.#held, held)) {
        this.release();
        return false;
      }
      this.#held = held;
      bytes.set(this.#bytes.subarray(0, this.#len));
      ends.set(this.#ends.subarray(0, this.count));
      this.#bytes = bytes;
      this.#ends = ends;
    }
    for (const id of ids) {
      const ks = store.keyOffset(id);
      const len = store.keyLength(id);
      copyBytes(store.buffer(id), ks, ks + len, this.#bytes, this.#len);
      this.#len += len;
      this.#ends[this.count++] = this.#len;
    }
    return true;
  }

  /** Forgets the keys collected and walks again from the start (the keyspace was cleared); the memory is kept. */
  restart(clears: number): void {
    this.clears = clears;
    this.cursor = 0;
    this.replyBytes = 0;
    this.count = 0;
    this.#len = 0;
  }

  /** Writes keys from where the last call stopped until `bytesMax` of reply were written; true once every key is. */
  writeKeys(reply: Reply, bytesMax: number): boolean {
    const start = reply.len;
    let i = this.#next;
    let at = this.#nextAt;
    for (; i < this.count && reply.len - start < bytesMax; i++) {
      const end = this.#ends[i]!;
      reply.bulk(this.#bytes, at, end);
      at = end;
    }
    this.#next = i;
    this.#nextAt = at;
    return i === this.count;
  }

  /** Gives the keys' memory back to the budget (the walk ended, or its connection closed). */
  release(): void {
    if (this.#held > 0) this.budget.shrink(this, this.#held, 0);
    this.#held = 0;
    this.#bytes = new Uint8Array(0);
    this.#ends = new Int32Array(0);
    this.#len = 0;
    this.count = 0;
    this.writing = false;
    this.#next = 0;
    this.#nextAt = 0;
  }

  /** The output budget chose this walk to disconnect: its memory goes back now, and the next slice ends the KEYS. */
  evict(): void {
    this.evicted = true;
    this.release();
  }
}

/** TYPE key → `string`, or `none` when not live: Osprey holds strings only. */
export function type(s: Session, ctx: Context): void {
  const p = s.p;
  s.reply.status(ctx.store.read(s.b, p.starts[1]!, p.ends[1]!, s.nowMs) >= 0 ? "string" : "none");
}

/** RANDOMKEY → a live key, or nil when there is none. */
export function randomkey(s: Session, ctx: Context): void {
  const id = ctx.store.randomLive(s.nowMs, randomKeyTriesMax);
  if (id < 0) s.reply.nil();
  else s.reply.key(ctx.store, id);
}

/** RENAME key newkey → OK; `no such key` when the source is not live. */
export function rename(s: Session, ctx: Context): void {
  const done = renameFrom(s, ctx, false);
  if (done === Renamed.NoSuchKey) s.reply.fail(Fail.NoSuchKey);
  else s.reply.ok();
}

/** RENAMENX key newkey → 1 renamed, 0 the destination is live (or is the source). */
export function renamenx(s: Session, ctx: Context): void {
  const done = renameFrom(s, ctx, true);
  if (done === Renamed.NoSuchKey) s.reply.fail(Fail.NoSuchKey);
  else s.reply.integer(done === Renamed.Done ? 1 : 0);
}

function renameFrom(s: Session, ctx: Context, nx: boolean): Renamed {
  const p = s.p;
  return renameKey(ctx.store, s.b, p.starts[1]!, p.ends[1]!, p.starts[2]!, p.ends[2]!, nx, s.nowMs);
}

/** COPY source destination [DB 0] [REPLACE] → 1 copied, 0 no source or a live destination. */
export function copy(s: Session, ctx: Context): void {
  const p = s.p;
  const b = s.b;
  let replace = false;
  for (let t = 3; t < p.argc; t++) {
    const code = nameCode(b, p.starts[t]!, p.ends[t]!);
    if (code === REPLACE) replace = true;
    else if (code === DB && t + 1 < p.argc) {
      t++;
      const db = parseI64(b, p.starts[t]!, p.ends[t]!);
      if (db === null) return s.reply.fail(Fail.NotAnIntegerArg);
      if (db !== 0) return s.reply.error(RespErr.dbIndex);
    } else return s.reply.fail(Fail.Syntax);
  }
  if (sameKey(b, p.starts[1]!, p.ends[1]!, p.starts[2]!, p.ends[2]!)) return s.reply.fail(Fail.SameObject);
  const done = copyKey(ctx.store, b, p.starts[1]!, p.ends[1]!, p.starts[2]!, p.ends[2]!, replace, s.nowMs);
  s.reply.integer(done === Copied.Done ? 1 : 0);
}

const ENCODING = nameCodeOf("ENCODING");
const REFCOUNT = nameCodeOf("REFCOUNT");
const IDLETIME = nameCodeOf("IDLETIME");
const FREQ = nameCodeOf("FREQ");
const HELP = nameCodeOf("HELP");

/** OBJECT HELP, as Redis 7.0 words it. */
const objectHelp = [
  "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "ENCODING <key>",
  "    Return the kind of internal representation used in order to store the value",
  "    associated with a <key>.",
  "FREQ <key>",
  "    Return the access frequency index of the <key>. The returned integer is",
  "    proportional to the logarithm of the recent access frequency of the key.",
  "IDLETIME <key>",
  "    Return the idle time of the <key>, that is the approximated number of",
  "    seconds elapsed since the last access to the key.",
  "REFCOUNT <key>",
  "    Return the number of references of the value associated with the specified",
  "    <key>.",
  "HELP",
  "    Prints this help.",
];

/** Redis shares one object for each of the integers 0..9999 (OBJ_SHARED_INTEGERS), with this refcount. */
const sharedIntegersMax = 9999;
const sharedRefcount = 2147483647;

/**
 * OBJECT ENCODING|REFCOUNT|FREQ|IDLETIME key, OBJECT HELP. A missing key is nil. ENCODING and
 * REFCOUNT answer what Redis would for a value SET with these bytes; FREQ answers Redis's error
 * for a policy without LFU (Osprey's is noeviction); IDLETIME is refused: no access times are kept.
 */
export function object(s: Session, ctx: Context): void {
  const p = s.p;
  const sub = nameCode(s.b, p.starts[1]!, p.ends[1]!);
  if (sub === HELP) {
    if (p.argc !== 2) return subcommandArity(s);
    s.reply.arrayHeader(objectHelp.length);
    for (const line of objectHelp) s.reply.status(line);
    return;
  }
  if (sub !== ENCODING && sub !== REFCOUNT && sub !== IDLETIME && sub !== FREQ) return unknownSubcommand(s);
  if (p.argc !== 3) return subcommandArity(s);
  const store = ctx.store;
  const id = store.read(s.b, p.starts[2]!, p.ends[2]!, s.nowMs);
  if (id < 0) return s.reply.nil();
  if (sub === FREQ) return s.reply.fail(Fail.FreqNotTracked);
  if (sub === IDLETIME) return s.reply.fail(Fail.IdleNotTracked);
  const n = integerValue(store, id);
  if (sub === REFCOUNT) return s.reply.integer(n !== null && n >= 0 && n <= sharedIntegersMax ? sharedRefcount : 1);
  s.reply.bulkText(valueEncoding(store, id));
}

/** The encoding Redis would give entry `id`'s value (OBJECT ENCODING, DEBUG OBJECT). */
export function valueEncoding(store: Store, id: number): string {
  return integerValue(store, id) !== null ? "int" : store.valueLength(id) <= embstrBytesMax ? "embstr" : "raw";
}

/** Redis keeps a string of up to 44 bytes in one allocation with its header (OBJ_ENCODING_EMBSTR_SIZE_LIMIT). */
const embstrBytesMax = 44;

/** The value as Redis's `int` encoding would hold it: a canonical signed 64-bit decimal of at most 20 bytes, else null. */
function integerValue(store: Store, id: number): number | bigint | null {
  const len = store.valueLength(id);
  if (len === 0 || len > 20) return null;
  const vs = store.valueOffset(id);
  return parseI64(store.buffer(id), vs, vs + len);
}

/**
 * HELP (text protocol): one line per text command, `<NAME> <arguments> - <summary>`, from the
 * command table, then `END`.
 */
export function help(s: Session): void {
  for (const c of commands) {
    const t = c.text;
    if (t === null) continue;
    const name = t.name ?? c.name;
    s.reply.status(`${t.usage === undefined ? name : `${name} ${t.usage}`} - ${t.summary ?? c.resp?.summary ?? ""}`);
  }
  s.reply.status("END");
}
