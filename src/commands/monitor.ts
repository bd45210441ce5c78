// MONITOR: the connection is shown every request the server dispatches after it, in Redis's line
// format (`+<seconds>.<micros> [0 <addr>] "name" "arg" …`), through the same delivery path and
// output bound as a Pub/Sub subscriber (pubsub_output_bytes_max).

import { pubsubOf } from "../pubsub.ts";
import { clientsOf } from "../net/clients.ts";
import type { Context } from "./context.ts";
import type { Session } from "./session.ts";

/** MONITOR → `+OK`, then a line per request of any client. */
export function monitor(s: Session, ctx: Context): void {
  s.reply.ok();
  pubsubOf(ctx).monitor(s);
}

/** The client address each session is shown with, looked up once (only while someone monitors). */
const addrs = new WeakMap<Session, string>();

/** Redis's quoting of an argument (sdscatrepr): `"…"` with `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b` and `\xHH`. */
function quoted(b: Uint8Array, s: number, e: number): string {
  let out = '"';
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c === 0x5c || c === 0x22) out += `\\${String.fromCharCode(c)}`;
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x07) out += "\\a";
    else if (c === 0x08) out += "\\b";
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return `${out}"`;
}

/** Which arguments MONITOR shows as `"(redacted)"`, as Redis does: AUTH's, and HELLO's after AUTH. */
export const enum Redact {
  None,
  /** AUTH: every argument. */
  All,
  /** HELLO: the user and password after its AUTH. */
  Hello,
}

const REDACTED = '"(redacted)"';

/** Where HELLO's AUTH user is (its password follows), read as HELLO reads its options; -1 when it has none. */
function helloAuthAt(s: Session): number {
  const argc = s.p.argc;
  for (let t = 2; t < argc; ) {
    const word = s.word(t);
    if (word === "AUTH" && t + 2 < argc) return t + 1;
    if (word === "SETNAME" && t + 1 < argc) t += 2;
    else return -1;
  }
  return -1;
}

/**
 * Shows the request `s` is running to every monitor (`ctx.monitors` is not empty). The line is
 * built once and delivered to each; arguments are shown as sent, as Redis shows them, passwords
 * redacted as Redis redacts them (`redact`).
 */
export function feedMonitors(s: Session, ctx: Context, redact: Redact): void {
  let addr = addrs.get(s);
  if (addr === undefined) {
    addr = clientsOf(ctx).of(s)?.addr ?? "?:0";
    addrs.set(s, addr);
  }
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  let line = `+${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, "0")} [0 ${addr}]`;
  const p = s.p;
  const hidden = redact === Redact.All ? 1 : redact === Redact.Hello ? helloAuthAt(s) : -1;
  const hideTo = redact === Redact.All ? p.argc : hidden + 2;
  for (let t = 0; t < p.argc; t++) line += ` ${hidden > 0 && t >= hidden && t < hideTo ? REDACTED : quoted(s.b, p.starts[t]!, p.ends[t]!)}`;
  const bytes = Buffer.from(`${line}\r\n`, "latin1");
  for (const m of [...ctx.monitors]) if (m !== s) m.deliver?.(bytes);
}
