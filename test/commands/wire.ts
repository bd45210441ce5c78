// The two wire spellings of the neutral cases, written out here as literal bytes from
// docs/PROTOCOL.md, independently of the server's encoders and src/errors.ts: requests (text
// lines with payload framing, RESP arrays of bulk strings), the reply each outcome must be, and
// where one reply ends in a stream of them.

import type { Args, Entry, Expiry, FailName, Outcome, Protocol, Remaining } from "./model.ts";

// ---- Requests ----

/** The text protocol's spelling of a row name: PEXPIRE and PTTL are its EXPIRE and TTL (ms). */
function textName(name: string): string {
  const upper = name.toUpperCase();
  if (upper === "PEXPIRE" || upper === "PTTL") return name.slice(1);
  if (upper === "EXPIRE" || upper === "TTL") throw new Error(`${name} is RESP's seconds form: the text protocol's ms form is P${upper}`);
  return name;
}

/** A text token may not hold a space, tab or LF (the line splits there). */
function token(t: string): string {
  if (/[ \t\n]/.test(t) || t === "") throw new Error(`${JSON.stringify(t)} cannot be one text token`);
  return t;
}

/**
 * `NAME a b\r\n`; SET and MSET carry their values as payloads: `SET k <len> opts\r\n<value>\r\n`,
 * `MSET k1 <len1> k2 <len2>\r\n<v1><v2>\r\n`. A SET or MSET too short to have a value is a plain line.
 */
export function textRequest(args: Args): string {
  const name = textName(args[0]!);
  const upper = name.toUpperCase();
  if (upper === "SET" && args.length >= 3) {
    const [, key, value, ...options] = args;
    return `${[name, key!, String(value!.length), ...options].map(token).join(" ")}\r\n${value}\r\n`;
  }
  if (upper === "MSET" && args.length >= 3 && args.length % 2 === 1) {
    const line = [name];
    let payload = "";
    for (let i = 1; i < args.length; i += 2) {
      line.push(args[i]!, String(args[i + 1]!.length));
      payload += args[i + 1]!;
    }
    return `${line.map(token).join(" ")}\r\n${payload}\r\n`;
  }
  return `${[name, ...args.slice(1)].map(token).join(" ")}\r\n`;
}

/** `*<n>\r\n` then `$<len>\r\n<arg>\r\n` per argument. */
export function respRequest(args: Args): string {
  return `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`;
}

export function request(protocol: Protocol, args: Args): string {
  return protocol === "text" ? textRequest(args) : respRequest(args);
}

// ---- Expected replies ----

/** When the case began and now, on the clock the server reads: bounds of a relative expiry. */
export interface Times {
  readonly startMs: number;
  readonly nowMs: number;
}

/** Exact bytes, or a pattern whose captured groups `check` judges (a time within its window). */
export type Expected = string | { readonly re: RegExp; readonly check: (groups: readonly string[]) => string | undefined; readonly describe: string };

/** The text protocol's words for each refusal (docs/PROTOCOL.md 2.6). */
const textWords: Partial<Record<FailName, string>> = {
  KeyTooLarge: "ERR TOOLARGE key too large",
  BadKey: "ERR BADREQ key contains invalid characters",
  Syntax: "ERR BADREQ unknown option",
  RepeatedOption: "ERR BADREQ option given more than once",
  MissingOptionValue: "ERR BADREQ option needs a value",
  BadEx: "ERR BADREQ EX needs a positive integer of milliseconds",
  BadPxat: "ERR BADREQ PXAT needs an integer epoch in milliseconds",
  BadVer: "ERR BADREQ VER needs an unsigned integer",
  ExWithPxat: "ERR BADREQ EX and PXAT cannot be combined",
  NxWithXx: "ERR BADREQ NX and XX cannot be combined",
  KeepttlWithExpiry: "ERR BADREQ KEEPTTL cannot be combined with EX or PXAT",
  BadExpire: "ERR BADREQ EXPIRE needs an integer of milliseconds",
  BadDelta: "ERR BADREQ delta is not a signed 64-bit integer",
  NotAnInteger: "ERR TYPE value is not an integer",
  Overflow: "ERR TYPE increment would overflow",
  NotAnIntegerArg: "ERR BADREQ argument is not an integer",
  InvalidCursor: "ERR BADREQ invalid cursor",
  BadCount: "ERR BADREQ COUNT needs a positive integer",
};

/** RESP's words for each refusal, as Redis 7 spells them (docs/PROTOCOL.md 3.5). */
const respWords: Partial<Record<FailName, string>> = {
  KeyTooLarge: "-ERR key is longer than max_key_bytes",
  EmptyKey: "-ERR empty keys are not supported",
  Syntax: "-ERR syntax error",
  MissingOptionValue: "-ERR syntax error",
  ExWithPxat: "-ERR syntax error",
  NxWithXx: "-ERR syntax error",
  KeepttlWithExpiry: "-ERR syntax error",
  BadEx: "-ERR value is not an integer or out of range",
  BadPxat: "-ERR value is not an integer or out of range",
  BadExpire: "-ERR value is not an integer or out of range",
  BadDelta: "-ERR value is not an integer or out of range",
  NotAnInteger: "-ERR value is not an integer or out of range",
  NotAnIntegerArg: "-ERR value is not an integer or out of range",
  ExpireNxAndOther: "-ERR NX and XX, GT or LT options at the same time are not compatible",
  ExpireGtAndLt: "-ERR GT and LT options at the same time are not compatible",
  Overflow: "-ERR increment or decrement would overflow",
  DecrementOverflow: "-ERR decrement would overflow",
  DbIndex: "-ERR DB index is out of range",
  NoProto: "-NOPROTO unsupported protocol version",
  WrongPass: "-WRONGPASS invalid username-password pair or user is disabled.",
  ClientName: "-ERR Client names cannot contain spaces, newlines or special characters.",
  NotAFloat: "-ERR value is not a valid float",
  FloatNanOrInfinity: "-ERR increment would produce NaN or Infinity",
  StringTooLong: "-ERR string exceeds maximum allowed size (proto-max-bulk-len)",
  OffsetOutOfRange: "-ERR offset is out of range",
  BitOffset: "-ERR bit offset is not an integer or out of range",
  BitValue: "-ERR bit is not an integer or out of range",
  BitposBit: "-ERR The bit argument must be 1 or 0.",
  LcsLenAndIdx: "-ERR If you want both the length and indexes, please just use IDX.",
  LcsTooLarge: "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
  BitopNotOneKey: "-ERR BITOP NOT must be called with a single source key.",
  InvalidCursor: "-ERR invalid cursor",
  BadCount: "-ERR syntax error",
  NoSuchKey: "-ERR no such key",
  SameObject: "-ERR source and destination objects are the same",
  FreqNotTracked: "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
  IdleNotTracked: "-ERR idle time not tracked: Osprey keeps no access times",
};

const refusalWords = {
  KeyExists: "ERR EXISTS key already exists",
  KeyMissing: "ERR NEXISTS key does not exist",
  VersionMismatch: "ERR VER version mismatch",
} as const;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\\r\n\0]/g, (c) => (c === "\r" ? "\\r" : c === "\n" ? "\\n" : c === "\0" ? "\\0" : `\\${c}`));
}

/** [lo, hi] of an expiry: exact when absolute, else `inMs` after some moment between start and now. */
function expiryWindow(e: Expiry, t: Times): readonly [number, number] {
  return typeof e === "number" ? [e, e] : [t.startMs + e.inMs, t.nowMs + e.inMs];
}

/** [lo, hi] of the ms a TTL may report. */
function remainingWindow(left: Remaining, t: Times): readonly [number, number] {
  if (typeof left === "number") return [left, left];
  const at = "atMs" in left ? ([left.atMs, left.atMs] as const) : ([t.startMs + left.inMs, t.nowMs + left.inMs] as const);
  return [Math.max(1, at[0] - t.nowMs), at[1] - t.startMs];
}

/** `<prefix><number><suffix>` where the number must lie in [lo, hi]; exact when lo = hi. */
function numberIn(prefix: string, [lo, hi]: readonly [number, number], suffix: string, what: string): Expected {
  if (lo === hi) return `${prefix}${lo}${suffix}`;
  return {
    re: new RegExp(`^${escape(prefix)}(-?\\d+)${escape(suffix)}$`),
    check: ([got]) => {
      const n = Number(got);
      return n >= lo && n <= hi ? undefined : `${what} ${n} is outside [${lo}, ${hi}]`;
    },
    describe: `${prefix}<${what} in [${lo}, ${hi}]>${suffix}`,
  };
}

/** Redis's TTL in seconds: the ms left, rounded half up. */
function seconds(ms: number): number {
  return ms < 0 ? ms : Math.floor((ms + 500) / 1000);
}

function textEntry(head: string, e: Entry, t: Times): Expected {
  return numberIn(`${head}${e.value.length} ${e.version} `, expiryWindow(e.expiry, t), `\r\n${e.value}\r\n`, "expiry");
}

/** Several expectations, one after the other, as one: each part's check sees its own groups. */
function concat(parts: readonly Expected[]): Expected {
  if (parts.every((p) => typeof p === "string")) return parts.join("");
  const checks: ((groups: readonly string[]) => string | undefined)[] = [];
  let source = "";
  let at = 0;
  for (const p of parts) {
    if (typeof p === "string") {
      source += escape(p);
      continue;
    }
    const inner = p.re.source.slice(1, -1); // drop ^ and $
    const count = new RegExp(`${inner}|`).exec("")!.length - 1;
    const from = at;
    checks.push((groups) => p.check(groups.slice(from, from + count)));
    source += inner;
    at += count;
  }
  return {
    re: new RegExp(`^${source}$`),
    check: (groups) => checks.map((c) => c(groups)).find((why) => why !== undefined),
    describe: parts.map((p) => (typeof p === "string" ? p : p.describe)).join(""),
  };
}

/** Every field docs/PROTOCOL.md 2.9 requires of STATS, then END. */
const statsNumeric = ["uptime_ms", "clients", "keys", "expired_total", "evicted_total", "cmd_get", "cmd_set", "cmd_del", "cmd_incr", "wal_bytes", "mem_rss_bytes", "snapshots_total", "last_snapshot_ms"];
const statsReply = new RegExp(
  "^" +
    statsNumeric.map((f) => `(?=(?:[^\\r\\n]*\\r\\n)*?${f}=\\d+\\r\\n)`).join("") +
    `(?=(?:[^\\r\\n]*\\r\\n)*?wal_current="[^"\\r\\n]*"\\r\\n)` +
    "(?:[a-z_]+=[^\\r\\n]*\\r\\n)+END\\r\\n$",
);

/** The text protocol's reply to `args` that produced `out`. */
export function textReply(out: Outcome, args: Args, t: Times): Expected {
  switch (out.k) {
    case "pong":
      return "PONG\r\n";
    case "ok":
      return "OK\r\n";
    case "written":
      return `OK ${out.version}\r\n`;
    case "writtenAll":
      return `OK ${out.count}\r\n`;
    case "refused":
      return `${refusalWords[out.why]}\r\n`;
    case "entry":
      return textEntry("VALUE ", out.entry, t);
    case "missing":
      return "NOT_FOUND\r\n";
    case "entries":
      return concat(out.items.map(([key, e]) => (e === null ? `NOT_FOUND ${key}\r\n` : textEntry(`VALUE ${key} `, e, t))));
    case "deleted":
      return `DELETED ${out.n}\r\n`;
    case "existing":
      return `EXISTS ${out.n}\r\n`;
    case "applied":
      return out.done ? "OK\r\n" : "NOT_FOUND\r\n";
    case "integer":
      return `${out.n}\r\n`;
    case "remaining":
      return numberIn("", remainingWindow(out.left, t), "\r\n", "ms left");
    case "fail": {
      const words = textWords[out.why];
      if (words === undefined) throw new Error(`the text protocol has no words for ${out.why}`);
      return `${words}\r\n`;
    }
    case "unknownCommand":
      return "ERR BADREQ unknown command\r\n";
    case "arity":
      return "ERR BADREQ wrong number of arguments\r\n";
    case "stats":
      return { re: statsReply, check: () => undefined, describe: "STATS fields, then END" };
    case "status":
      return `${out.text}\r\n`;
    case "scanned":
      return keySet(/^CURSOR 0 (\d+)\r\n((?:KEY \d+\r\n[^\r\n]*\r\n)*)$/, /KEY \d+\r\n([^\r\n]*)\r\n/g, out.keys, "CURSOR 0 <n> and a KEY block per key");
    case "help":
      return { re: helpReply, check: () => undefined, describe: "a `NAME … - summary` line per command (SCAN's among them), then END" };
    case "bulk":
    case "nil":
    case "hello":
    case "keyList":
      throw new Error(`the text protocol has no ${out.k} reply (${args[0]})`);
  }
}

const respBulk = (s: string) => `$${s.length}\r\n${s}\r\n`;

/** HELP's lines: every text command's name, its arguments and a summary, SCAN's among them, then END. */
const helpReply = /^(?=(?:[^\r\n]*\r\n)*?SCAN <cursor> [^\r\n]* - [^\r\n]+\r\n)(?:[A-Z]+(?: [^\r\n]*)? - [^\r\n]+\r\n)+END\r\n$/;

/** A reply listing keys in any order: `whole` captures the count and the items, `item` each key. */
function keySet(whole: RegExp, item: RegExp, keys: readonly string[], describe: string): Expected {
  const want = [...keys].sort();
  return {
    re: whole,
    check: ([count, items]) => {
      const got = [...items!.matchAll(item)].map((m) => m[1]!).sort();
      if (Number(count) !== got.length) return `the count ${count} is not the ${got.length} keys listed`;
      return JSON.stringify(got) === JSON.stringify(want) ? undefined : `keys ${JSON.stringify(got)} are not ${JSON.stringify(want)}`;
    },
    describe: `${describe}: ${JSON.stringify(want)} in any order`,
  };
}

/** RESP's reply to `args` that produced `out`. */
export function respReply(out: Outcome, args: Args, t: Times): Expected {
  const name = args[0]!;
  switch (out.k) {
    case "pong":
      return "+PONG\r\n";
    case "ok":
    case "written":
    case "writtenAll":
      return "+OK\r\n";
    case "refused":
    case "missing":
    case "nil":
      return "$-1\r\n";
    case "entry":
      return respBulk(out.entry.value);
    case "bulk":
      return respBulk(out.value);
    case "entries":
      return `*${out.items.length}\r\n${out.items.map(([, e]) => (e === null ? "$-1\r\n" : respBulk(e.value))).join("")}`;
    case "deleted":
    case "existing":
      return `:${out.n}\r\n`;
    case "applied":
      return out.done ? ":1\r\n" : ":0\r\n";
    case "integer":
      return `:${out.n}\r\n`;
    case "remaining": {
      const [lo, hi] = remainingWindow(out.left, t);
      return name.toUpperCase() === "TTL" ? numberIn(":", [seconds(lo), seconds(hi)], "\r\n", "seconds left") : numberIn(":", [lo, hi], "\r\n", "ms left");
    }
    case "fail":
      return `${respFailWords(out.why, out.arg, args)}\r\n`;
    case "unknownCommand": {
      let quoted = "";
      for (const a of args.slice(1)) {
        if (quoted.length >= 128) break;
        quoted += `'${a.slice(0, 128 - quoted.length)}' `;
      }
      return `-ERR unknown command '${name.slice(0, 128)}', with args beginning with: ${quoted}\r\n`;
    }
    case "arity":
      return `-ERR wrong number of arguments for '${name.toLowerCase()}' command\r\n`;
    case "hello":
      return {
        re: /^\*14\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n\$6\r\n7\.0\.15\r\n\$5\r\nproto\r\n:2\r\n\$2\r\nid\r\n:(\d+)\r\n\$4\r\nmode\r\n\$10\r\nstandalone\r\n\$4\r\nrole\r\n\$6\r\nmaster\r\n\$7\r\nmodules\r\n\*0\r\n$/,
        check: ([id]) => (Number(id) > 0 ? undefined : `client id ${id} is not positive`),
        describe: "HELLO's 14 fields of a Redis 7.0.15 standalone master speaking RESP2",
      };
    case "status":
      return `+${out.text}\r\n`;
    case "scanned":
      return keySet(/^\*2\r\n\$1\r\n0\r\n\*(\d+)\r\n((?:\$\d+\r\n[^\r\n]*\r\n)*)$/, /\$\d+\r\n([^\r\n]*)\r\n/g, out.keys, "*2, cursor 0 and an array of the keys");
    case "keyList":
      return keySet(/^\*(\d+)\r\n((?:\$\d+\r\n[^\r\n]*\r\n)*)$/, /\$\d+\r\n([^\r\n]*)\r\n/g, out.keys, "an array of the keys");
    case "stats":
    case "help":
      throw new Error(`RESP has no ${out.k} reply (${name})`);
  }
}

/** The RESP errors whose words name part of the request. */
function respFailWords(why: FailName, arg: string | undefined, args: Args): string {
  switch (why) {
    case "InvalidExpireTime":
      return `-ERR invalid expire time in '${args[0]!.toLowerCase()}' command`;
    case "UnsupportedOption":
      return `-ERR Unsupported option ${arg}`;
    case "UnknownSubcommand":
      return `-ERR unknown subcommand '${arg}'. Try ${args[0]!.toUpperCase()} HELP.`;
    case "SubcommandArity":
      return `-ERR wrong number of arguments for '${args[0]!.toLowerCase()}|${arg}' command`;
  }
  const words = respWords[why];
  if (words === undefined) throw new Error(`RESP has no words for ${why}`);
  return words;
}

export function reply(protocol: Protocol, out: Outcome, args: Args, t: Times): Expected {
  return protocol === "text" ? textReply(out, args, t) : respReply(out, args, t);
}

// ---- Where a reply ends ----

/**
 * The end of the text reply to `args` that starts at `pos`, or -1 when more bytes are needed. A
 * reply is a line, except a VALUE header (its bytes follow), MGET (a block per key) and STATS (to END).
 */
export function textReplyEnd(buf: string, pos: number, args: Args): number {
  const name = textName(args[0]!).toUpperCase();
  const lineEnd = (at: number) => {
    const i = buf.indexOf("\r\n", at);
    return i < 0 ? -1 : i + 2;
  };
  const first = lineEnd(pos);
  if (first < 0) return -1;
  const line = buf.slice(pos, first - 2);
  if (line.startsWith("ERR ")) return first;
  if (name === "STATS" || name === "HELP") {
    for (let at = pos; ; ) {
      const end = lineEnd(at);
      if (end < 0) return -1;
      if (buf.slice(at, end) === "END\r\n") return end;
      at = end;
    }
  }
  const block = (at: number, keyed: boolean): number => {
    const end = lineEnd(at);
    if (end < 0) return -1;
    const m = (keyed ? /^VALUE \S+ (\d+) \d+ -?\d+$/ : /^VALUE (\d+) \d+ -?\d+$/).exec(buf.slice(at, end - 2));
    if (m === null) return end;
    const bytesEnd = end + Number(m[1]) + 2;
    return bytesEnd <= buf.length ? bytesEnd : -1;
  };
  const scanHead = /^CURSOR \d+ (\d+)$/.exec(line);
  if (name === "SCAN" && scanHead !== null) {
    let at = first;
    for (let i = 0; i < Number(scanHead[1]); i++) {
      const end = lineEnd(at);
      if (end < 0) return -1;
      const len = Number(/^KEY (\d+)$/.exec(buf.slice(at, end - 2))?.[1] ?? 0);
      at = end + len + 2;
      if (at > buf.length) return -1;
    }
    return at;
  }
  if (name === "MGET") {
    let at = pos;
    for (let i = 1; i < args.length; i++) {
      at = block(at, true);
      if (at < 0) return -1;
    }
    return at;
  }
  return block(pos, false);
}

/** The end of the RESP value that starts at `pos`, or -1 when more bytes are needed. */
export function respReplyEnd(buf: string, pos: number): number {
  const i = buf.indexOf("\r\n", pos);
  if (i < 0) return -1;
  const type = buf[pos];
  const n = Number(buf.slice(pos + 1, i));
  if (type === "$" && n >= 0) return i + 2 + n + 2 <= buf.length ? i + 2 + n + 2 : -1;
  if (type === "*" && n > 0) {
    let at = i + 2;
    for (let k = 0; k < n; k++) {
      at = respReplyEnd(buf, at);
      if (at < 0) return -1;
    }
    return at;
  }
  return i + 2;
}

export function replyEnd(protocol: Protocol, buf: string, pos: number, args: Args): number {
  return protocol === "text" ? textReplyEnd(buf, pos, args) : respReplyEnd(buf, pos);
}

/** Why `got` is not the `expected` reply, or undefined when it is. */
export function mismatch(got: string, expected: Expected): string | undefined {
  if (typeof expected === "string") return got === expected ? undefined : `expected ${JSON.stringify(expected.slice(0, 300))}`;
  const m = expected.re.exec(got);
  if (m === null) return `expected ${expected.describe.slice(0, 300)}`;
  return expected.check(m.slice(1));
}
