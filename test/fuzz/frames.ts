// The protocol fuzzer's inputs: a valid request for every command of src/commands/table.ts in
// each protocol that has it, with random arguments, and the mutations that turn valid frames into
// hostile ones (bit flips, truncation, huge and negative lengths, splices, inserted bytes).

import { commands } from "../../src/commands/table.ts";

/** The fuzzer's random source: numbers in [0, 1), from test/support/rng.ts. */
export type Random = () => number;

export type Protocol = "text" | "resp";

/** The value limit the fuzzed server runs with: small, so over-limit values are cheap to send. */
export const fuzzValueBytesMax = 4096;

const keyPool = Array.from({ length: 40 }, (_, i) => `k${i}`);
const numbers = ["0", "1", "-1", "7", "1000", "100000", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551615", "abc", "1.5", "", "+5", "05", "-0", "4102444800000", "1e3"];
const hostileLengths = ["-1", "-5", "-9223372036854775808", "999999999999999", "9999999999999999999", "18446744073709551616", "2147483648", "4097", "4096", "0", "00000000000000001", "1x", " ", "+3"];

export function pick<T>(r: Random, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function int(r: Random, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

function bytes(r: Random, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** A value: mostly short printable text, sometimes binary, sometimes past the value limit. */
function value(r: Random): Buffer {
  const u = r();
  if (u < 0.6) return Buffer.from(`v${int(r, 0, 99999)}`);
  if (u < 0.9) return bytes(r, int(r, 0, 64));
  if (u < 0.97) return bytes(r, int(r, 65, 2000));
  return Buffer.alloc(fuzzValueBytesMax + int(r, 1, 100), 0x61);
}

/** A key valid in both protocols most of the time; sometimes too long, empty or with bytes text refuses. */
function key(r: Random): Buffer {
  const u = r();
  if (u < 0.85) return Buffer.from(pick(r, keyPool));
  if (u < 0.9) return Buffer.from("x".repeat(int(r, 257, 400)));
  if (u < 0.93) return Buffer.alloc(0);
  return bytes(r, int(r, 1, 12));
}

function keys(r: Random, n: number): Buffer[] {
  return Array.from({ length: n }, () => key(r));
}

const s = (x: string) => Buffer.from(x);
const channelPool = ["news", "sports", "__keyspace@0__:a", "__keyevent@0__:set", "c\u00ff"];
const patternPool = ["*", "n*", "__key*__:*", "[ns]*", "\\", "news"];

/** RESP arguments after the name, per command: every row of the table with a RESP form has one. */
const respArgs: Record<string, (r: Random) => Buffer[]> = {
  PING: (r) => (r() < 0.7 ? [] : [value(r)]),
  ECHO: (r) => [value(r)],
  QUIT: () => [],
  SELECT: (r) => [s(pick(r, ["0", "1", "-1", "x", "4294967296"]))],
  HELLO: (r) => pick(r, [[], [s("2")], [s("3")], [s("2"), s("SETNAME"), s("fz")], [s("2"), s("AUTH"), s("default"), s("pw")], [s("x")]]),
  AUTH: (r) => pick(r, [[value(r)], [s("default"), value(r)], [s("nobody"), value(r)], [s("a"), s("b"), s("c")]]),
  ACL: (r) => pick(r, [[s("WHOAMI")], [s("LIST")], [s("USERS")], [s("WHOAMI"), s("x")], [s("SETUSER"), s("u")], []]),
  CLIENT: (r) => pick(r, [[s("SETNAME"), s(pick(r, ["fz", "a b", ""]))], [s("GETNAME")], [s("ID")], [s("LIST")], [s("INFO")], [s("KILL"), s("ID"), s(pick(r, numbers))], [s("KILL"), s("127.0.0.1:1")], [s("SETINFO"), s(pick(r, ["LIB-NAME", "LIB-VER", "X"])), value(r)], [s("NO-EVICT"), s(pick(r, ["on", "off", "x"]))], [s("HELP")], []]),
  GET: (r) => [key(r)],
  SET: (r) => {
    const args = [key(r), value(r)];
    const n = int(r, 0, 3);
    for (let i = 0; i < n; i++) {
      const o = pick(r, ["NX", "XX", "GET", "EX", "PX", "EXAT", "PXAT", "KEEPTTL", "BOGUS"]);
      args.push(s(o));
      if (o.length <= 4 && o !== "GET" && o !== "NX" && o !== "XX") args.push(s(pick(r, numbers)));
    }
    return args;
  },
  SETNX: (r) => [key(r), value(r)],
  GETDEL: (r) => [key(r)],
  MGET: (r) => keys(r, int(r, 1, 8)),
  MSET: (r) => keys(r, int(r, 1, 4)).flatMap((k) => [k, value(r)]),
  INCR: (r) => [key(r)],
  DECR: (r) => [key(r)],
  INCRBY: (r) => [key(r), s(pick(r, numbers))],
  DECRBY: (r) => [key(r), s(pick(r, numbers))],
  APPEND: (r) => [key(r), value(r)],
  STRLEN: (r) => [key(r)],
  GETRANGE: (r) => [key(r), s(pick(r, numbers)), s(pick(r, numbers))],
  SUBSTR: (r) => [key(r), s(pick(r, numbers)), s(pick(r, numbers))],
  SETRANGE: (r) => [key(r), s(pick(r, [...numbers, "4095", "4096", "536870911"])), value(r)],
  GETEX: (r) => [key(r), ...pick(r, [[], [s("PERSIST")], [s("EX"), s(pick(r, numbers))], [s("PX"), s(pick(r, numbers))], [s("EXAT"), s(pick(r, numbers))], [s("PXAT"), s(pick(r, numbers))], [s("EX")], [s("BOGUS")]])],
  GETSET: (r) => [key(r), value(r)],
  SETEX: (r) => [key(r), s(pick(r, numbers)), value(r)],
  PSETEX: (r) => [key(r), s(pick(r, numbers)), value(r)],
  MSETNX: (r) => keys(r, int(r, 1, 4)).flatMap((k) => [k, value(r)]),
  INCRBYFLOAT: (r) => [key(r), s(pick(r, [...numbers, "0.1", "-1.5e3", "inf", "nan", "1e400", "0x1p3", "3.0000000000000000001"]))],
  LCS: (r) => [key(r), key(r), ...pick(r, [[], [s("LEN")], [s("IDX")], [s("IDX"), s("MINMATCHLEN"), s(pick(r, numbers))], [s("IDX"), s("WITHMATCHLEN")], [s("BOGUS")]])],
  SETBIT: (r) => [key(r), s(pick(r, [...numbers, "32767", "32768", "4294967295", "4294967296"])), s(pick(r, ["0", "1", "2", "-1", "x"]))],
  GETBIT: (r) => [key(r), s(pick(r, [...numbers, "4294967296"]))],
  BITCOUNT: (r) => [key(r), ...pick(r, [[], [s(pick(r, numbers)), s(pick(r, numbers))], [s(pick(r, numbers)), s(pick(r, numbers)), s(pick(r, ["BYTE", "BIT", "WORD"]))], [s("1")]])],
  BITPOS: (r) => [key(r), s(pick(r, ["0", "1", "2"])), ...pick(r, [[], [s(pick(r, numbers))], [s(pick(r, numbers)), s(pick(r, numbers)), s(pick(r, ["BYTE", "BIT", "X"]))]])],
  SCAN: (r) => [s(pick(r, ["0", "1", "17", "18446744073709551615", "18446744073709551616", "-1", "x"])), ...pick(r, [[], [s("MATCH"), s(pick(r, ["*", "k1*", "[a-", "\\", "k?"]))], [s("COUNT"), s(pick(r, numbers))], [s("TYPE"), s(pick(r, ["string", "list"]))], [s("MATCH")], [s("BOGUS"), s("1")]])],
  KEYS: (r) => [s(pick(r, ["*", "k1*", "[a-", "\\", "k?", "*[^k]*", ""]))],
  TYPE: (r) => [key(r)],
  RANDOMKEY: () => [],
  RENAME: (r) => [key(r), key(r)],
  RENAMENX: (r) => [key(r), key(r)],
  COPY: (r) => [key(r), key(r), ...pick(r, [[], [s("REPLACE")], [s("DB"), s(pick(r, ["0", "1", "x"]))], [s("BOGUS")]])],
  UNLINK: (r) => keys(r, int(r, 1, 4)),
  TOUCH: (r) => keys(r, int(r, 1, 4)),
  EXPIREAT: (r) => [key(r), s(pick(r, numbers)), ...(r() < 0.3 ? [s(pick(r, ["NX", "XX", "GT", "LT", "ZZ"]))] : [])],
  PEXPIREAT: (r) => [key(r), s(pick(r, numbers)), ...(r() < 0.3 ? [s(pick(r, ["NX", "XX", "GT", "LT"]))] : [])],
  EXPIRETIME: (r) => [key(r)],
  PEXPIRETIME: (r) => [key(r)],
  OBJECT: (r) => pick(r, [[s("ENCODING"), key(r)], [s("REFCOUNT"), key(r)], [s("FREQ"), key(r)], [s("IDLETIME"), key(r)], [s("HELP")], [s("NOPE"), key(r)], [s("ENCODING")]]),
  FLUSHDB: (r) => pick(r, [[], [s("SYNC")], [s("ASYNC")], [s("NOW")]]),
  BITOP: (r) => [s(pick(r, ["AND", "OR", "XOR", "NOT", "NAND"])), key(r), ...keys(r, int(r, 1, 3))],
  DEL: (r) => keys(r, int(r, 1, 4)),
  EXISTS: (r) => keys(r, int(r, 1, 4)),
  EXPIRE: (r) => [key(r), s(pick(r, numbers)), ...(r() < 0.3 ? [s(pick(r, ["NX", "XX", "GT", "LT", "ZZ"]))] : [])],
  PEXPIRE: (r) => [key(r), s(pick(r, numbers)), ...(r() < 0.3 ? [s(pick(r, ["NX", "XX", "GT", "LT"]))] : [])],
  TTL: (r) => [key(r)],
  PTTL: (r) => [key(r)],
  PERSIST: (r) => [key(r)],
  DBSIZE: () => [],
  FLUSHALL: (r) => pick(r, [[], [s("SYNC")], [s("ASYNC")], [s("NOW")]]),
  INFO: (r) => pick(r, [[], [s("persistence")], [s("server"), s("keyspace")], [s("nosuch")]]),
  BGSAVE: (r) => pick(r, [[], [s("SCHEDULE")], [s("X")]]),
  LASTSAVE: () => [],
  CONFIG: (r) => pick(r, [[s("GET"), s(pick(r, ["*", "max*", "dir", "[ab]*", "\\"]))], [s("SET"), s("x"), s("y")], [s("GET")], [s("SET"), s("notify-keyspace-events"), s(pick(r, ["KEA", "", "Ex", "Q"]))], [s("SET"), s("slowlog-max-len"), s(pick(r, ["0", "5", "-1"]))], [s("RESETSTAT")], [s("RESETSTAT"), s("x")], [s("REWRITE"), s("x")], [s("SET"), s("latency-tracking-info-percentiles"), s(pick(r, ["50 99", "", "101", "a b"]))]]),
  MULTI: () => [],
  EXEC: () => [],
  DISCARD: () => [],
  WATCH: (r) => keys(r, int(r, 1, 3)),
  UNWATCH: () => [],
  RESET: () => [],
  TIME: (r) => (r() < 0.9 ? [] : [s("x")]),
  FUNCTION: (r) => pick(r, [[s("FLUSH")], [s("FLUSH"), s(pick(r, ["ASYNC", "SYNC", "NOW"]))], [s("LIST")], []]),
  SCRIPT: (r) => pick(r, [[s("FLUSH")], [s("FLUSH"), s(pick(r, ["ASYNC", "SYNC", "NOW"]))], [s("EXISTS"), s("abc")]]),
  COMMAND: (r) => pick(r, [[s("COUNT")], [s("INFO"), s("get"), s("nosuch")], [s("DOCS"), s("set")], [s("LIST")], [s("NOPE")]]),
  SUBSCRIBE: (r) => Array.from({ length: int(r, 1, 3) }, () => (r() < 0.8 ? s(pick(r, channelPool)) : value(r))),
  UNSUBSCRIBE: (r) => Array.from({ length: int(r, 0, 2) }, () => s(pick(r, channelPool))),
  PSUBSCRIBE: (r) => Array.from({ length: int(r, 1, 2) }, () => s(pick(r, patternPool))),
  PUNSUBSCRIBE: (r) => Array.from({ length: int(r, 0, 2) }, () => s(pick(r, patternPool))),
  MONITOR: () => [],
  // Only refused forms: a SHUTDOWN that works would stop the server under test.
  SHUTDOWN: (r) => pick(r, [[s("ABORT")], [s("SAVE"), s("NOSAVE"), s("NOW")], [s("NOSAVE"), s("BOGUS"), s("NOW")], [s("FORCE"), s("x"), s("y")]]),
  SLOWLOG: (r) => pick(r, [[s("GET")], [s("GET"), s(pick(r, ["0", "1", "-1", "-2", "x", "99999999999999999999"]))], [s("LEN")], [s("RESET")], [s("HELP")], [s("NOPE")], []]),
  LATENCY: (r) => pick(r, [[s("LATEST")], [s("HISTORY"), s(pick(r, ["command", "nosuch"]))], [s("RESET")], [s("RESET"), s("command"), s("x")], [s("DOCTOR")], [s("HELP")], [s("NOPE")], [s("HISTORY")]]),
  // Only short or refused forms: a long DEBUG SLEEP would stall the server under test.
  DEBUG: (r) => pick(r, [[s("SLEEP"), s(pick(r, ["0", "0.001", "x", "-1", "99999"]))], [s("OBJECT"), key(r)], [s("DIGEST")], [s("RELOAD")], [s("HELP")], [s("SET-ACTIVE-EXPIRE"), s(pick(r, ["0", "1", "2", "x"]))], [s("SET-ACTIVE-EXPIRE")], [s("NOPE")], [s("OBJECT")]]),
  SAVE: (r) => pick(r, [[], [s("x")]]),
  PUBLISH: (r) => [r() < 0.8 ? s(pick(r, channelPool)) : value(r), value(r)],
  PUBSUB: (r) => pick(r, [[s("CHANNELS")], [s("CHANNELS"), s(pick(r, patternPool))], [s("NUMSUB"), s(pick(r, channelPool))], [s("NUMPAT")], [s("HELP")], [s("NOPE")], []]),
};

/** Text requests, per text name: every row of the table with a text form has one. */
const textFrames: Record<string, (r: Random) => Buffer> = {
  PING: () => s("PING\r\n"),
  GET: (r) => Buffer.concat([s("GET "), key(r), s(eol(r))]),
  SET: (r) => {
    const v = value(r);
    const opts = Array.from({ length: int(r, 0, 3) }, () => {
      const o = pick(r, ["EX", "PXAT", "NX", "XX", "VER", "KEEPTTL", "BOGUS"]);
      return o === "EX" || o === "PXAT" || o === "VER" ? `${o} ${pick(r, numbers) || "1"}` : o;
    });
    return Buffer.concat([s("SET "), key(r), s(` ${v.length}${opts.map((o) => " " + o).join("")}${eol(r)}`), v, s(eol(r))]);
  },
  MGET: (r) => Buffer.concat([s("MGET"), ...keys(r, int(r, 1, 8)).flatMap((k) => [s(" "), k]), s(eol(r))]),
  MSET: (r) => {
    const pairs = keys(r, int(r, 1, 4)).map((k) => [k, value(r)] as const);
    return Buffer.concat([s("MSET"), ...pairs.flatMap(([k, v]) => [s(" "), k, s(` ${v.length}`)]), s("\r\n"), ...pairs.map(([, v]) => v), s(eol(r))]);
  },
  INCR: (r) => Buffer.concat([s("INCR "), key(r), s(r() < 0.5 ? "" : ` ${pick(r, numbers) || "1"}`), s(eol(r))]),
  DECR: (r) => Buffer.concat([s("DECR "), key(r), s(r() < 0.5 ? "" : ` ${pick(r, numbers) || "1"}`), s(eol(r))]),
  DEL: (r) => Buffer.concat([s("DEL "), key(r), s(eol(r))]),
  EXISTS: (r) => Buffer.concat([s("EXISTS "), key(r), s(eol(r))]),
  EXPIRE: (r) => Buffer.concat([s("EXPIRE "), key(r), s(` ${pick(r, numbers) || "5"}`), s(eol(r))]),
  TTL: (r) => Buffer.concat([s("TTL "), key(r), s(eol(r))]),
  STATS: () => s("STATS\r\n"),
  QUIT: () => s("QUIT\r\n"),
  AUTH: (r) => s(pick(r, ["AUTH pw\r\n", "AUTH default pw\r\n", "AUTH\r\n", "AUTH a b c\r\n"])),
  HELP: (r) => s(pick(r, ["HELP\r\n", "HELP SET\r\n"])),
  SCAN: (r) => s(`SCAN ${pick(r, ["0", "1", "17", "18446744073709551616", "-1", "x"])}${pick(r, ["", " MATCH k1*", " MATCH [a-", " COUNT 5", " COUNT 0", " TYPE string", " MATCH", " BOGUS 1"])}${eol(r)}`),
  SNAPSHOT: () => s("SNAPSHOT\r\n"),
  // Only forms refused before the file system is touched: a fuzzer must not write directories.
  BACKUP: (r) => s(pick(r, ["BACKUP\r\n", "BACKUP relative/copy\r\n", "BACKUP ./x\r\n", "BACKUP a b\r\n", `BACKUP ${"x".repeat(5000)}\r\n`])),
};

function eol(r: Random): string {
  return r() < 0.85 ? "\r\n" : "\n";
}

/** The names the fuzzer sends in each protocol, taken from the command table. */
export const respNames: readonly string[] = commands.filter((c) => c.resp !== null).map((c) => c.name);
export const textNames: readonly string[] = [...new Set(commands.filter((c) => c.text !== null).map((c) => c.text!.name ?? c.name))];

for (const n of respNames) if (!(n in respArgs)) throw new Error(`the fuzzer has no RESP arguments for ${n}: add them to test/fuzz/frames.ts`);
for (const n of textNames) if (!(n in textFrames)) throw new Error(`the fuzzer has no text request for ${n}: add it to test/fuzz/frames.ts`);

/** QUIT ends the connection and with it the batch: sent rarely so batches run long. */
function respName(r: Random): string {
  const n = pick(r, respNames);
  return n === "QUIT" && r() < 0.9 ? "PING" : n;
}

export function encodeResp(args: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [s(`*${args.length}\r\n`)];
  for (const a of args) parts.push(s(`$${a.length}\r\n`), a, s("\r\n"));
  return Buffer.concat(parts);
}

/** One valid request (valid framing; its arguments may still be refused), and its command name. */
export function validFrame(r: Random, protocol: Protocol): { name: string; bytes: Buffer } {
  if (protocol === "resp") {
    const name = respName(r);
    const spelled = r() < 0.2 ? name.toLowerCase() : name;
    if (r() < 0.03) {
      // an inline command, which a RESP connection also takes
      return { name, bytes: s(`${spelled}${respArgs[name]!(r).map((a) => " " + a.toString("latin1").replace(/[\r\n]/g, "")).join("")}\r\n`) };
    }
    return { name, bytes: encodeResp([s(spelled), ...respArgs[name]!(r)]) };
  }
  const picked = pick(r, textNames);
  const name = picked === "QUIT" && r() < 0.9 ? "PING" : picked; // QUIT ends the batch, as in RESP
  const u = r();
  if (u < 0.02) return { name: "(unknown)", bytes: s(`${pick(r, ["MULTI", "FOO", "GETDEL", "\x00\x01"])} a\r\n`) };
  if (u < 0.03) return { name: "(blank)", bytes: s(pick(r, ["\r\n", " \t \r\n", "\n"])) };
  return { name, bytes: textFrames[name]!(r) };
}

/** The kinds of damage a frame can take. */
export const mutations = ["bitflip", "truncate", "length", "splice", "insert", "duplicate"] as const;
export type Mutation = (typeof mutations)[number];

/** Damages `frame`: `other` is another valid frame for splices. */
export function mutate(r: Random, frame: Buffer, other: Buffer, kind: Mutation): Buffer {
  switch (kind) {
    case "bitflip": {
      const out = Buffer.from(frame);
      const n = int(r, 1, 3);
      for (let i = 0; i < n && out.length > 0; i++) out[int(r, 0, out.length - 1)]! ^= 1 << int(r, 0, 7);
      return out;
    }
    case "truncate":
      return frame.subarray(0, int(r, 0, Math.max(0, frame.length - 1)));
    case "length": {
      // Replace one length or number token with a hostile one.
      const text = frame.toString("latin1");
      const spots = [...text.matchAll(/\d+/g)];
      if (spots.length === 0) return frame;
      const m = pick(r, spots);
      return Buffer.concat([frame.subarray(0, m.index), s(pick(r, hostileLengths)), frame.subarray(m.index! + m[0].length)]);
    }
    case "splice":
      return Buffer.concat([frame.subarray(0, int(r, 0, frame.length)), other.subarray(int(r, 0, other.length))]);
    case "insert": {
      const at = int(r, 0, frame.length);
      const junk = r() < 0.5 ? bytes(r, int(r, 1, 16)) : s(pick(r, ["\r\n", "\n", "*", "$", "\r", "\x00", "*-1\r\n", "$-1\r\n", "*0\r\n"]));
      return Buffer.concat([frame.subarray(0, at), junk, frame.subarray(at)]);
    }
    case "duplicate": {
      const a = int(r, 0, frame.length);
      const b = int(r, a, frame.length);
      return Buffer.concat([frame.subarray(0, b), frame.subarray(a, b), frame.subarray(b)]);
    }
  }
}
