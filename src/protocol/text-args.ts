// The text protocol's argument dialect: its key rule (keys are tokens, so no spaces or control
// bytes), SET's options (`EX ms`, `PXAT epoch_ms`, `NX`, `XX`, `VER n`, `KEEPTTL`: each at most
// once) and EXPIRE's time in milliseconds. What the options mean is the engine's (engine/ops.ts).

import { Fail } from "../commands/reply.ts";
import { type Dialect, type Session, valid } from "../commands/session.ts";
import { type ExpireOptions, SetFlag, type SetOptions } from "../engine/ops.ts";
import { parseSmallInt, parseU64 } from "../numbers.ts";
import { nameCode, nameCodeOf } from "./text.ts";

/** Why b[s..e) cannot be a key, or `valid`: 1 to max_key_bytes bytes, none a space, control byte or DEL. */
export function keyError(b: Uint8Array, s: number, e: number, keyBytesMax: number): Fail | typeof valid {
  if (e - s > keyBytesMax || e === s) return Fail.KeyTooLarge;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c <= 0x20 || c === 0x7f) return Fail.BadKey;
  }
  return valid;
}

const EX = nameCodeOf("EX");
const PXAT = nameCodeOf("PXAT");
const NX = nameCodeOf("NX");
const XX = nameCodeOf("XX");
const VER = nameCodeOf("VER");
const KEEPTTL = nameCodeOf("KEEPTTL");

// Which options were seen, to refuse repeats and bad combinations.
const SEEN_EX = 1;
const SEEN_PXAT = 2;
const SEEN_NX = 4;
const SEEN_XX = 8;
const SEEN_VER = 16;
const SEEN_KEEPTTL = 32;

function setOptions(r: Session, o: SetOptions): Fail | typeof valid {
  const p = r.p;
  const b = r.b;
  let seen = 0;
  for (let t = 3; t < p.argc; t++) {
    const code = nameCode(b, p.starts[t]!, p.ends[t]!);
    const flag = code === EX ? SEEN_EX : code === PXAT ? SEEN_PXAT : code === NX ? SEEN_NX : code === XX ? SEEN_XX : code === VER ? SEEN_VER : code === KEEPTTL ? SEEN_KEEPTTL : 0;
    if (flag === 0) return Fail.Syntax;
    if ((seen & flag) !== 0) return Fail.RepeatedOption;
    seen |= flag;
    if (flag === SEEN_NX) o.flags |= SetFlag.Nx;
    else if (flag === SEEN_XX) o.flags |= SetFlag.Xx;
    else if (flag === SEEN_KEEPTTL) o.flags |= SetFlag.KeepTtl;
    else {
      if (++t >= p.argc) return Fail.MissingOptionValue;
      const vs = p.starts[t]!;
      const ve = p.ends[t]!;
      if (flag === SEEN_VER) {
        o.version = parseU64(b, vs, ve);
        if (Number.isNaN(o.version)) return Fail.BadVer;
        o.flags |= SetFlag.Ver;
      } else if (flag === SEEN_EX) {
        const ms = parseSmallInt(b, vs, ve);
        if (Number.isNaN(ms) || ms <= 0) return Fail.BadEx;
        o.expiryMs = r.nowMs + ms;
      } else {
        const at = parseSmallInt(b, vs, ve);
        if (Number.isNaN(at)) return Fail.BadPxat;
        // Any past time means "already expired"; clamp so -1 is never mistaken for "no expiry".
        o.expiryMs = at < 0 ? 0 : at;
      }
    }
  }
  if ((seen & (SEEN_EX | SEEN_PXAT)) === (SEEN_EX | SEEN_PXAT)) return Fail.ExWithPxat;
  if ((seen & (SEEN_NX | SEEN_XX)) === (SEEN_NX | SEEN_XX)) return Fail.NxWithXx;
  if ((seen & SEEN_KEEPTTL) !== 0 && (seen & (SEEN_EX | SEEN_PXAT)) !== 0) return Fail.KeepttlWithExpiry;
  return valid;
}

/** `EXPIRE <key> <ms>`: no conditions; ms ≤ 0 is a time not in the future, which deletes. */
function expireOptions(r: Session, unitMs: number, baseMs: number, o: ExpireOptions): Fail | typeof valid {
  const ms = parseSmallInt(r.b, r.p.starts[2]!, r.p.ends[2]!);
  if (Number.isNaN(ms)) return Fail.BadExpire;
  o.flags = 0;
  o.atMs = baseMs + ms * unitMs;
  return valid;
}

/** The key rule on argument t of the request being run. */
function keyFail(r: Session, t: number, keyBytesMax: number): Fail | typeof valid {
  return keyError(r.b, r.p.starts[t]!, r.p.ends[t]!, keyBytesMax);
}

export const textDialect: Dialect = {
  keyFail,
  setOptions,
  expireOptions,
};
