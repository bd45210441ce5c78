// SLOWLOG GET / LEN / RESET / HELP over the entries the dispatcher's timing (timing.ts) records: a
// bounded list per server, newest first, as Redis keeps it. An entry names the command (of a run,
// its largest request) and how many arguments it had; argument values are never kept, as Osprey's
// log never holds values.

import { slowlogLenDefault } from "../constants.ts";
import { respError } from "../errors.ts";
import { nameCode, nameCodeOf } from "../protocol/text.ts";
import { perServer, type Context } from "./context.ts";
import type { Session } from "./session.ts";
import { subcommandArity, unknownSubcommand } from "./server.ts";

/** One slow request (or run of requests). */
interface Entry {
  readonly id: number;
  readonly unixSeconds: number;
  readonly micros: number;
  readonly name: string;
  readonly argc: number;
}

/** The slowlog of one server: at most `maxLen` entries (slowlog-max-len), newest first. */
export class Slowlog {
  readonly #entries: Entry[] = [];
  #nextId = 0;
  maxLen = slowlogLenDefault;

  add(name: string, argc: number, ms: number, nowMs: number): void {
    if (this.maxLen === 0) return;
    this.#entries.unshift({ id: this.#nextId++, unixSeconds: Math.floor(nowMs / 1000), micros: Math.round(ms * 1000), name, argc });
    this.trim();
  }

  /** Drops the oldest entries past maxLen (also after CONFIG SET slowlog-max-len lowers it). */
  trim(): void {
    if (this.#entries.length > this.maxLen) this.#entries.length = this.maxLen;
  }

  get length(): number {
    return this.#entries.length;
  }

  newest(count: number): readonly Entry[] {
    return this.#entries.slice(0, count);
  }

  reset(): void {
    this.#entries.length = 0;
  }
}

/** The slowlog of the server `ctx` belongs to. */
export const slowlogOf: (ctx: Context) => Slowlog = perServer(() => new Slowlog());

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
      // The command's name; its other arguments are counted, never kept (values stay out of logs).
      r.arrayHeader(e.argc > 1 ? 2 : 1);
      r.bulkText(e.name);
      if (e.argc > 1) r.bulkText(`... (${e.argc - 1} more arguments)`);
      r.bulkText("");
      r.bulkText("");
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
