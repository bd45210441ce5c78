// SLOWLOG GET / LEN / RESET / HELP over the entries the dispatcher's timing (timing.ts) records: a
// bounded list per server, newest first, as Redis keeps it. An entry holds the request as Redis's
// does — its first slowlogArgsMax arguments, each cut at slowlogArgBytesMax bytes, passwords
// redacted (redact.ts) — with the client's address and name. Of a slow run of small requests it
// is the run's largest request. Only SLOWLOG shows argument values: the log file names the command.

import { mayRead } from "../auth.ts";
import { slowlogArgBytesMax, slowlogArgsMax, slowlogBytesMax, slowlogLenDefault } from "../constants.ts";
import { respError } from "../errors.ts";
import { clientsOf } from "../net/clients.ts";
import { nameCode, nameCodeOf } from "../protocol/text.ts";
import { perServer, type Context } from "./context.ts";
import { redactedRange, redactedText } from "./redact.ts";
import { wordAt, type Session } from "./session.ts";
import { subcommandArity, unknownSubcommand } from "./server.ts";
import type { Route } from "./table.ts";

/** One slow request (or run of requests). */
interface Entry {
  readonly id: number;
  readonly unixSeconds: number;
  readonly micros: number;
  /** The arguments as SLOWLOG shows them: cut, counted, redacted. */
  readonly args: readonly Buffer[];
  /** Which of `args` are keys, and whether each was kept whole (a cut key cannot be checked against a user's patterns). */
  readonly keys: readonly { readonly t: number; readonly whole: boolean }[];
  readonly addr: string;
  readonly name: Buffer;
  /** Bytes the entry keeps, counted against slowlogBytesMax. */
  readonly bytes: number;
}

const noName = Buffer.alloc(0);
const redacted = Buffer.from(redactedText);
/** Shown in place of the arguments of a request whose keys the reader may not read. */
const elided = Buffer.from("(elided)");

/** Whether argument t of a request of `argc` arguments to `route` is one of its keys. */
function isKey(route: Route, argc: number, t: number): boolean {
  if (route.keyFirst === 0 || t < route.keyFirst) return false;
  const last = route.keyLast < 0 ? argc + route.keyLast : route.keyLast;
  return t <= last && (t - route.keyFirst) % route.keyStep === 0;
}

/** The slowlog of one server: at most `maxLen` entries (slowlog-max-len) and slowlogBytesMax bytes, newest first. */
export class Slowlog {
  readonly #entries: Entry[] = [];
  #nextId = 0;
  #bytes = 0;
  maxLen = slowlogLenDefault;

  /**
   * Logs the request of `argc` arguments to `route` that session `s` ran, whose arguments lie at
   * `starts`/`ends` (at least min(argc, slowlogArgsMax) of them) in `input`; it took `ms`.
   */
  add(s: Session, route: Route, input: Uint8Array, starts: Int32Array, ends: Int32Array, argc: number, ms: number, ctx: Context): void {
    if (this.maxLen === 0) return;
    const kept = argc > slowlogArgsMax ? slowlogArgsMax : argc;
    const shown = kept < argc ? kept - 1 : kept;
    const hidden = redactedRange(route, argc, (t) => wordAt(input, starts[t]!, ends[t]!));
    const args: Buffer[] = [];
    const keys: { t: number; whole: boolean }[] = [];
    let bytes = 0;
    for (let t = 0; t < shown; t++) {
      let arg: Buffer;
      const len = ends[t]! - starts[t]!;
      if (hidden !== null && t >= hidden[0] && t < hidden[1]) arg = redacted;
      else if (len > slowlogArgBytesMax) {
        const head = input.subarray(starts[t]!, starts[t]! + slowlogArgBytesMax);
        arg = Buffer.concat([head, Buffer.from(`... (${len - slowlogArgBytesMax} more bytes)`)]);
      } else arg = Buffer.from(input.subarray(starts[t]!, ends[t]!));
      if (t > 0 && isKey(route, argc, t)) keys.push({ t, whole: len <= slowlogArgBytesMax });
      args.push(arg);
      bytes += arg.length;
    }
    if (shown < argc) args.push(Buffer.from(`... (${argc - shown} more arguments)`));
    const addr = clientsOf(ctx).of(s)?.addr ?? "";
    const name = s.name === null ? noName : Buffer.from(s.name);
    bytes += addr.length + name.length;
    const nowMs = ctx.clock.nowMs();
    this.#entries.unshift({ id: this.#nextId++, unixSeconds: Math.floor(nowMs / 1000), micros: Math.round(ms * 1000), args, keys, addr, name, bytes });
    this.#bytes += bytes;
    this.trim();
  }

  /** Drops the oldest entries past maxLen (also after CONFIG SET slowlog-max-len lowers it) or past slowlogBytesMax. */
  trim(): void {
    const entries = this.#entries;
    while (entries.length > this.maxLen || (this.#bytes > slowlogBytesMax && entries.length > 1)) this.#bytes -= entries.pop()!.bytes;
  }

  get length(): number {
    return this.#entries.length;
  }

  newest(count: number): readonly Entry[] {
    return this.#entries.slice(0, count);
  }

  reset(): void {
    this.#entries.length = 0;
    this.#bytes = 0;
  }
}

/** The slowlog of the server `ctx` belongs to. */
export const slowlogOf: (ctx: Context) => Slowlog = perServer(() => new Slowlog());

/** Whether reader `s` may see an entry's argument values: it may read every key the entry shows. */
function mayReadAll(s: Session, e: Entry): boolean {
  for (const k of e.keys) if (!mayRead(s, k.whole ? e.args[k.t]! : null)) return false;
  return true;
}

const GET = nameCodeOf("GET");
const LEN = nameCodeOf("LEN");
const RESET = nameCodeOf("RESET");
const HELP = nameCodeOf("HELP");

const help = [
  "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "GET [<count>]",
  "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
  "    Entries are made of:",
  "    id, timestamp, time in microseconds, arguments array, client IP and port,",
  "    client name",
  "LEN",
  "    Return the length of the slowlog.",
  "RESET",
  "    Reset the slowlog.",
  "HELP",
  "    Prints this help.",
];

const badCount = respError("count should be greater than or equal to -1");

/** SLOWLOG GET [count] | LEN | RESET | HELP. */
export function slowlog(s: Session, ctx: Context): void {
  const p = s.p;
  const r = s.reply;
  const log = slowlogOf(ctx);
  const code = nameCode(s.b, p.starts[1]!, p.ends[1]!);
  if (code === GET) {
    if (p.argc > 3) return subcommandArity(s);
    let count = 10;
    if (p.argc === 3) {
      const text = s.text(2);
      count = /^-?\d{1,18}$/.test(text) ? Number(text) : Number.NaN;
      if (!(count >= -1)) return r.error(badCount);
      if (count === -1) count = log.length;
    }
    const entries = log.newest(count);
    r.arrayHeader(entries.length);
    for (const e of entries) {
      r.arrayHeader(6);
      r.integer(e.id);
      r.integer(e.unixSeconds);
      r.integer(e.micros);
      const args = e.args;
      const shown = mayReadAll(s, e);
      r.arrayHeader(args.length);
      for (let t = 0; t < args.length; t++) {
        const arg = t === 0 || shown ? args[t]! : elided;
        r.bulk(arg, 0, arg.length);
      }
      r.bulkText(e.addr);
      r.bulk(e.name, 0, e.name.length);
    }
  } else if (code === LEN && p.argc === 2) {
    r.integer(log.length);
  } else if (code === RESET && p.argc === 2) {
    log.reset();
    r.ok();
  } else if (code === HELP && p.argc === 2) {
    r.arrayHeader(help.length);
    for (const line of help) r.status(line);
  } else if (code === LEN || code === RESET || code === HELP) {
    subcommandArity(s);
  } else {
    unknownSubcommand(s);
  }
}
