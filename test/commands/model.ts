// The neutral form of the command cases: a request is an argument list, an outcome is what the
// command core answers (mirroring src/commands/reply.ts's Reply), and wire.ts spells both in each
// protocol's bytes. Nothing here knows a wire format.

/** The two protocols a connection can speak (its first byte decides: `*` is RESP). */
export type Protocol = "text" | "resp";

export const protocols: readonly Protocol[] = ["text", "resp"];

/** Arguments, the command name first. Strings are latin1: one char per byte. */
export type Args = readonly string[];

/**
 * A request: the same arguments for both protocols, or each protocol's own spelling of the same
 * request (text `INCR k 5` is RESP's `INCRBY k 5`). A protocol left out does not send the step.
 *
 * Names follow the command table's rows: `PEXPIRE` and `PTTL` are the text protocol's `EXPIRE` and
 * `TTL` (milliseconds); `EXPIRE` and `TTL` are RESP's seconds forms and have no text spelling.
 */
export type Request = Args | { readonly text?: Args; readonly resp?: Args };

/**
 * An expiry as a GET shows it: -1 (none), an absolute epoch ms, or `{ inMs }`: that many ms after
 * a moment within the case (exact on the engine's hand-moved clock, a window over TCP).
 */
export type Expiry = number | { readonly inMs: number };

/** What TTL/PTTL measure: -2 missing, -1 no expiry, the time left until `inMs` after the case began, or until an absolute time. */
export type Remaining = -2 | -1 | { readonly inMs: number } | { readonly atMs: number };

/** A live entry: the value and what the text protocol shows beside it. */
export interface Entry {
  readonly value: string;
  readonly version: number;
  readonly expiry: Expiry;
}

/** Why SET did not write (text: an error; RESP: nil). */
export type Refusal = "KeyExists" | "KeyMissing" | "VersionMismatch";

/** A refusal, named as src/commands/reply.ts names its Fail codes, plus a few of RESP's own. */
export type FailName =
  | "KeyTooLarge"
  | "EmptyKey"
  | "BadKey"
  | "Syntax"
  | "RepeatedOption"
  | "MissingOptionValue"
  | "BadEx"
  | "BadPxat"
  | "BadVer"
  | "ExWithPxat"
  | "NxWithXx"
  | "KeepttlWithExpiry"
  | "BadExpire"
  | "InvalidExpireTime"
  | "UnsupportedOption"
  | "ExpireNxAndOther"
  | "ExpireGtAndLt"
  | "BadDelta"
  | "NotAnInteger"
  | "Overflow"
  | "DecrementOverflow"
  | "NotAnIntegerArg"
  | "DbIndex"
  | "NoProto"
  | "WrongPass"
  | "ClientName"
  | "UnknownSubcommand"
  | "SubcommandArity"
  | "NotAFloat"
  | "FloatNanOrInfinity"
  | "StringTooLong"
  | "OffsetOutOfRange"
  | "BitOffset"
  | "BitValue"
  | "BitposBit"
  | "LcsLenAndIdx"
  | "LcsTooLarge"
  | "BitopNotOneKey"
  | "InvalidCursor"
  | "BadCount"
  | "NoSuchKey"
  | "SameObject"
  | "FreqNotTracked"
  | "IdleNotTracked";

export type Outcome =
  | { readonly k: "pong" }
  | { readonly k: "ok" }
  | { readonly k: "written"; readonly version: number }
  | { readonly k: "writtenAll"; readonly count: number }
  | { readonly k: "refused"; readonly why: Refusal }
  | { readonly k: "entry"; readonly entry: Entry }
  | { readonly k: "missing" }
  | { readonly k: "entries"; readonly items: readonly (readonly [key: string, entry: Entry | null])[] }
  | { readonly k: "deleted"; readonly n: number }
  | { readonly k: "existing"; readonly n: number }
  | { readonly k: "applied"; readonly done: boolean }
  | { readonly k: "integer"; readonly n: string }
  | { readonly k: "remaining"; readonly left: Remaining }
  | { readonly k: "fail"; readonly why: FailName; readonly arg?: string }
  | { readonly k: "unknownCommand" }
  | { readonly k: "arity" }
  | { readonly k: "bulk"; readonly value: string }
  | { readonly k: "nil" }
  | { readonly k: "stats" }
  | { readonly k: "hello"; readonly clientName: boolean }
  | { readonly k: "status"; readonly text: string }
  | { readonly k: "scanned"; readonly keys: readonly string[] }
  | { readonly k: "keyList"; readonly keys: readonly string[] }
  | { readonly k: "help" };

// ---- Outcome constructors, named as the Reply interface names them ----

export const pong: Outcome = { k: "pong" };
export const ok: Outcome = { k: "ok" };
export const missing: Outcome = { k: "missing" };
export const unknownCommand: Outcome = { k: "unknownCommand" };
export const arity: Outcome = { k: "arity" };
export const nil: Outcome = { k: "nil" };
export const stats: Outcome = { k: "stats" };
export const written = (version: number): Outcome => ({ k: "written", version });
export const writtenAll = (count: number): Outcome => ({ k: "writtenAll", count });
export const refused = (why: Refusal): Outcome => ({ k: "refused", why });
export const entry = (value: string, version = 1, expiry: Expiry = -1): Outcome => ({ k: "entry", entry: { value, version, expiry } });
export const entries = (...items: (readonly [string, Entry | null])[]): Outcome => ({ k: "entries", items });
/** One MGET item of a live key. */
export const item = (key: string, value: string, version = 1, expiry: Expiry = -1): readonly [string, Entry] => [key, { value, version, expiry }];
/** One MGET item of a key that is not live. */
export const absent = (key: string): readonly [string, null] => [key, null];
export const deleted = (n: number): Outcome => ({ k: "deleted", n });
export const existing = (n: number): Outcome => ({ k: "existing", n });
export const applied = (done: boolean): Outcome => ({ k: "applied", done });
export const integer = (n: number | string): Outcome => ({ k: "integer", n: String(n) });
export const remaining = (left: Remaining): Outcome => ({ k: "remaining", left });
export const fail = (why: FailName, arg?: string): Outcome => ({ k: "fail", why, arg });
export const bulk = (value: string): Outcome => ({ k: "bulk", value });
export const hello = (clientName = false): Outcome => ({ k: "hello", clientName });
/** A status line: text `<text>`, RESP `+<text>` (TYPE). */
export const status = (text: string): Outcome => ({ k: "status", text });
/** A SCAN step that ends the scan (cursor 0) answering exactly these keys, in any order. */
export const scanned = (...keys: string[]): Outcome => ({ k: "scanned", keys });
/** KEYS's array of exactly these keys, in any order (RESP). */
export const keyList = (...keys: string[]): Outcome => ({ k: "keyList", keys });
/** The text protocol's HELP: one line per command, then END. */
export const help: Outcome = { k: "help" };
/** An expiry `ms` after a moment within the case. */
export const inMs = (ms: number): { readonly inMs: number } => ({ inMs: ms });

/** One request and its outcome; `only` limits it to one protocol. */
export interface Exchange {
  readonly req: Request;
  readonly out: Outcome;
  readonly only?: Protocol;
}

/** Requests sent together in one write (and, on the engine, one read), or a pause of the clock. */
export type Step = { readonly send: readonly Exchange[] } | { readonly waitMs: number };

export interface Case {
  /** The behaviour, as a sentence. */
  readonly name: string;
  readonly steps: readonly Step[];
  /** The case holds for one protocol only. */
  readonly only?: Protocol;
}

/** One request and its outcome, sent alone. */
export function step(req: Request, out: Outcome): Step {
  return { send: [{ req, out }] };
}

/** Requests pipelined in one write: [request, outcome] pairs, or exchanges. */
export function pipe(...exchanges: (readonly [Request, Outcome] | Exchange)[]): Step {
  return { send: exchanges.map((x) => (Array.isArray(x) ? { req: x[0], out: x[1] } : (x as Exchange))) };
}

/** A step of the text protocol only. */
export function textOnly(s: Step): Step {
  return only("text", s);
}

/** A step of RESP only. */
export function respOnly(s: Step): Step {
  return only("resp", s);
}

function only(protocol: Protocol, s: Step): Step {
  if (!("send" in s)) return s;
  return { send: s.send.map((x) => ({ ...x, only: protocol })) };
}

/** Let `ms` pass: the engine moves its clock, the TCP runners sleep. */
export function wait(ms: number): Step {
  return { waitMs: ms };
}

/** The request as `protocol` sends it, or undefined when it has no spelling there. */
export function requestFor(req: Request, protocol: Protocol): Args | undefined {
  if (Array.isArray(req)) return req as Args;
  return (req as { text?: Args; resp?: Args })[protocol];
}

/** The exchanges of a step that `protocol` sends. */
export function exchangesFor(s: Step, protocol: Protocol): { args: Args; out: Outcome }[] {
  if (!("send" in s)) return [];
  const out: { args: Args; out: Outcome }[] = [];
  for (const x of s.send) {
    if (x.only !== undefined && x.only !== protocol) continue;
    const args = requestFor(x.req, protocol);
    if (args !== undefined) out.push({ args, out: x.out });
  }
  return out;
}

/** Whether a case has something to send in `protocol`. */
export function caseRunsIn(c: Case, protocol: Protocol): boolean {
  if (c.only !== undefined && c.only !== protocol) return false;
  return c.steps.some((s) => exchangesFor(s, protocol).length > 0);
}

/** The limits the cases assume; runners start their server or engine with exactly these. */
export const caseConfig = { max_key_bytes: 256, max_value_bytes: 65536 } as const;
