// MONITOR: the connection is shown every request the server dispatches after it, in Redis's line
// format (`+<seconds>.<micros> [0 <addr>] "name" "arg" …`), through the same delivery path and
// output bound as a Pub/Sub subscriber (pubsub_output_bytes_max).

import { pubsubOf } from "../pubsub.ts";
import { clientsOf } from "../net/clients.ts";
import type { Context } from "./context.ts";
import type { Session } from "./session.ts";
import type { Route } from "./table.ts";
import { redactedRange, redactedText } from "./redact.ts";

const REDACTED = `"${redactedText}"`;

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

/**
 * Shows the request `s` is running to every monitor (`ctx.monitors` is not empty). The line is
 * built once and delivered to each; arguments are shown as sent, as Redis shows them, passwords
 * redacted as Redis redacts them (redact.ts).
 */
export function feedMonitors(s: Session, ctx: Context, route: Route): void {
  let addr = addrs.get(s);
  if (addr === undefined) {
    addr = clientsOf(ctx).of(s)?.addr ?? "?:0";
    addrs.set(s, addr);
  }
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  let line = `+${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, "0")} [0 ${addr}]`;
  const p = s.p;
  const hidden = redactedRange(route, p.argc, (t) => s.word(t));
  for (let t = 0; t < p.argc; t++) line += ` ${hidden !== null && t >= hidden[0] && t < hidden[1] ? REDACTED : quoted(s.b, p.starts[t]!, p.ends[t]!)}`;
  const bytes = Buffer.from(`${line}\r\n`, "latin1");
  for (const m of [...ctx.monitors]) if (m !== s) m.deliver?.(bytes);
}
