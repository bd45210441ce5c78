// RESP's argument dialect, as Redis 7 reads arguments: keys are any bytes (only keys that may be
// created are checked), SET's options `NX|XX`, `GET`, `EX s|PX ms|EXAT s|PXAT ms|KEEPTTL` (one may
// repeat, the last value wins), and the EXPIRE family's time with NX/XX/GT/LT.

import { Fail } from "../commands/reply.ts";
import { type Dialect, type Session, valid } from "../commands/session.ts";
import { ExpireFlag, type ExpireOptions, SetFlag, type SetOptions } from "../engine/ops.ts";
import { expiryMsMax } from "../constants.ts";
import { parseI64 } from "../numbers.ts";
import { nameCode, nameCodeOf } from "./text.ts";

/**
 * Whether b[s..e) may be written as a key. RESP keys are any bytes (Redis clients send binary
 * keys), 1 to max_key_bytes of them: the keyspace marks free entries by key length 0, and
 * max_key_bytes bounds what every lookup copies and compares. Reads need no check: a key that
 * cannot be written is simply missing.
 */
function keyFail(r: Session, t: number, keyBytesMax: number, grows: boolean): Fail | typeof valid {
  if (!grows) return valid;
  const len = r.p.ends[t]! - r.p.starts[t]!;
  if (len === 0) return Fail.EmptyKey;
  if (len > keyBytesMax) return Fail.KeyTooLarge;
  return valid;
}

const i64Max = (1n << 63n) - 1n;
const i64Min = -(1n << 63n);

/**
 * An absolute expiry in ms from an integer argument `value` in units of `unitMs` (1 or 1000),
 * relative to `baseMs` (0 for EXAT/PXAT/EXPIREAT), with Redis 7's overflow rules: seconds beyond
 * LLONG_MAX / 1000 either way, or a sum past LLONG_MAX, are NaN (Redis's "invalid expire time").
 * A time past 2^53 ms is rounded to the nearest double (docs/PROTOCOL.md: it is held to within
 * 1024 ms), and never past expiryMsMax.
 */
export function expiryFrom(value: number | bigint, unitMs: number, baseMs: number): number {
  if (typeof value === "number" && Math.abs(value) * unitMs + baseMs <= Number.MAX_SAFE_INTEGER) return value * unitMs + baseMs;
  let ms = BigInt(value);
  if (unitMs !== 1) {
    if (ms > i64Max / 1000n || ms < i64Min / 1000n) return Number.NaN;
    ms *= BigInt(unitMs);
  }
  const base = BigInt(baseMs);
  if (ms > i64Max - base) return Number.NaN;
  return Math.min(Number(ms + base), expiryMsMax);
}

const EX = nameCodeOf("EX");
const PX = nameCodeOf("PX");
const EXAT = nameCodeOf("EXAT");
const PXAT = nameCodeOf("PXAT");
const NX = nameCodeOf("NX");
const XX = nameCodeOf("XX");
const KEEPTTL = nameCodeOf("KEEPTTL");
const GET = nameCodeOf("GET");

// The expiry option seen last, for parsing its value once the scan is done.
const HAS_EX = 1;
const HAS_PX = 2;
const HAS_EXAT = 4;
const HAS_PXAT = 8;

/**
 * SET's options from argument 3 on, as Redis's parseExtendedStringArgumentsOrReply reads them:
 * NX/XX exclude each other, KEEPTTL and the four expiry options exclude each other, but one option
 * may repeat (the last value wins, and only it is checked).
 */
function setOptions(r: Session, o: SetOptions): Fail | typeof valid {
  const p = r.p;
  const b = r.b;
  let expiry = 0;
  let expiryArg = -1;
  for (let t = 3; t < p.argc; t++) {
    const code = nameCode(b, p.starts[t]!, p.ends[t]!);
    const hasNext = t + 1 < p.argc;
    const keepTtl = (o.flags & SetFlag.KeepTtl) !== 0;
    let seen = 0;
    if (code === NX && (o.flags & SetFlag.Xx) === 0) o.flags |= SetFlag.Nx;
    else if (code === XX && (o.flags & SetFlag.Nx) === 0) o.flags |= SetFlag.Xx;
    else if (code === GET) o.flags |= SetFlag.Get;
    else if (code === KEEPTTL && expiry === 0) o.flags |= SetFlag.KeepTtl;
    else if (code === EX && !keepTtl && (expiry & ~HAS_EX) === 0 && hasNext) seen = HAS_EX;
    else if (code === PX && !keepTtl && (expiry & ~HAS_PX) === 0 && hasNext) seen = HAS_PX;
    else if (code === EXAT && !keepTtl && (expiry & ~HAS_EXAT) === 0 && hasNext) seen = HAS_EXAT;
    else if (code === PXAT && !keepTtl && (expiry & ~HAS_PXAT) === 0 && hasNext) seen = HAS_PXAT;
    else return Fail.Syntax;
    if (seen !== 0) {
      expiry = seen;
      expiryArg = ++t;
    }
  }
  if (expiryArg < 0) return valid;
  const value = parseI64(b, p.starts[expiryArg]!, p.ends[expiryArg]!);
  if (value === null) return Fail.BadEx;
  const seconds = (expiry & (HAS_EX | HAS_EXAT)) !== 0;
  const relative = (expiry & (HAS_EX | HAS_PX)) !== 0;
  o.expiryMs = value > 0 ? expiryFrom(value, seconds ? 1000 : 1, relative ? r.nowMs : 0) : Number.NaN;
  // Redis: "invalid expire time in 'set' command" for zero, negative or overflowing times.
  if (!(o.expiryMs > 0)) return Fail.InvalidExpireTime;
  return valid;
}

const GT = nameCodeOf("GT");
const LT = nameCodeOf("LT");

/** The EXPIRE family's time [NX|XX|GT|LT]: conditions are read (and checked) before the time, as Redis. */
function expireOptions(r: Session, unitMs: number, baseMs: number, o: ExpireOptions): Fail | typeof valid {
  const p = r.p;
  const b = r.b;
  let flags = 0;
  for (let t = 3; t < p.argc; t++) {
    const code = nameCode(b, p.starts[t]!, p.ends[t]!);
    if (code === NX) flags |= ExpireFlag.Nx;
    else if (code === XX) flags |= ExpireFlag.Xx;
    else if (code === GT) flags |= ExpireFlag.Gt;
    else if (code === LT) flags |= ExpireFlag.Lt;
    else {
      r.failArg = t;
      return Fail.UnsupportedOption;
    }
  }
  if ((flags & ExpireFlag.Nx) !== 0 && (flags & (ExpireFlag.Xx | ExpireFlag.Gt | ExpireFlag.Lt)) !== 0) return Fail.ExpireNxAndOther;
  if ((flags & (ExpireFlag.Gt | ExpireFlag.Lt)) === (ExpireFlag.Gt | ExpireFlag.Lt)) return Fail.ExpireGtAndLt;
  const value = parseI64(b, p.starts[2]!, p.ends[2]!);
  if (value === null) return Fail.BadExpire;
  const when = expiryFrom(value, unitMs, baseMs);
  if (Number.isNaN(when)) return Fail.InvalidExpireTime;
  o.flags = flags;
  o.atMs = when;
  return valid;
}

export const respDialect: Dialect = { keyFail, setOptions, expireOptions };
