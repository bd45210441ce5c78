// The command cases: one behaviour suite for every command row, option and error of PROTOCOL.md.
// Each case is request bytes and the literal reply bytes expected for them; runners feed the same
// cases to the engine directly (engine.test.ts) and to a real server over TCP (e2e/commands.tcp.test.ts).
//
// Every case names its own keys (no two cases share one), so all cases can run against one server.

/** What a step expects back: exact bytes, a pattern over the whole reply, or "" for no reply. */
export type Expected = string | RegExp;

export interface StepOptions {
  /** Wait this long after the reply before the next step (for relative expiry; keep it rare and short). */
  thenWaitMs?: number;
}

/** Request bytes (latin1: one char per byte) and the reply they must produce. */
export type Step = readonly [request: string, expected: Expected, options?: StepOptions];

export interface CommandCase {
  /** The behaviour, as a sentence. */
  readonly name: string;
  readonly steps: readonly Step[];
  /** The server must close the connection after the last step. */
  readonly closes?: boolean;
}

/** The limits the cases assume; runners start their server or engine with exactly these. */
export const caseConfig = { max_key_bytes: 256, max_value_bytes: 65536 } as const;

const valueBytesMax = caseConfig.max_value_bytes;
const keyBytesMax = caseConfig.max_key_bytes;

// Replies, spelled out as they travel on the wire.
const PONG = "PONG\r\n";
const OK = "OK\r\n";
const NOT_FOUND = "NOT_FOUND\r\n";
const DELETED_1 = "DELETED 1\r\n";
const DELETED_0 = "DELETED 0\r\n";
const EXISTS_1 = "EXISTS 1\r\n";
const EXISTS_0 = "EXISTS 0\r\n";
const TTL_MISSING = "-2\r\n";
const TTL_NONE = "-1\r\n";

const UNKNOWN_COMMAND = "ERR BADREQ unknown command\r\n";
const ARITY = "ERR BADREQ wrong number of arguments\r\n";
const LINE_TOO_LONG = "ERR BADREQ command line too long\r\n";
const BAD_TRAILER = "ERR BADREQ payload not followed by CRLF\r\n";
const BAD_LENGTH = "ERR BADREQ length is not a non-negative integer\r\n";
const BAD_EX = "ERR BADREQ EX needs a positive integer of milliseconds\r\n";
const BAD_PXAT = "ERR BADREQ PXAT needs an integer epoch in milliseconds\r\n";
const BAD_VER = "ERR BADREQ VER needs an unsigned integer\r\n";
const BAD_EXPIRE = "ERR BADREQ EXPIRE needs an integer of milliseconds\r\n";
const BAD_DELTA = "ERR BADREQ delta is not a signed 64-bit integer\r\n";
const UNKNOWN_OPTION = "ERR BADREQ unknown option\r\n";
const REPEATED_OPTION = "ERR BADREQ option given more than once\r\n";
const MISSING_OPTION_VALUE = "ERR BADREQ option needs a value\r\n";
const EX_WITH_PXAT = "ERR BADREQ EX and PXAT cannot be combined\r\n";
const NX_WITH_XX = "ERR BADREQ NX and XX cannot be combined\r\n";
const KEEPTTL_WITH_EXPIRY = "ERR BADREQ KEEPTTL cannot be combined with EX or PXAT\r\n";
const MSET_ODD = "ERR BADREQ MSET needs key and length pairs\r\n";
const BAD_KEY = "ERR BADREQ key contains invalid characters\r\n";
const KEY_TOO_LARGE = "ERR TOOLARGE key too large\r\n";
const VALUE_TOO_LARGE = "ERR TOOLARGE value too large\r\n";
const ERR_EXISTS = "ERR EXISTS key already exists\r\n";
const ERR_NEXISTS = "ERR NEXISTS key does not exist\r\n";
const ERR_VER = "ERR VER version mismatch\r\n";
const NOT_AN_INTEGER = "ERR TYPE value is not an integer\r\n";
const OVERFLOW = "ERR TYPE increment would overflow\r\n";

/** A far-future absolute expiry (2100-01-01) and a long-past one. */
const FUTURE_MS = 4102444800000;
const PAST_MS = 1000;

const I64_MAX = "9223372036854775807";
const I64_MIN = "-9223372036854775808";

/** `SET <key> <len> [options]` + payload + CRLF. */
function set(key: string, value: string, options = ""): string {
  return `SET ${key} ${value.length}${options === "" ? "" : ` ${options}`}\r\n${value}\r\n`;
}

/** `OK <version>`. */
function ok(version: number): string {
  return `OK ${version}\r\n`;
}

/** A GET reply for a live value. */
function value(bytes: string, version = 1, expiryMs = -1): string {
  return `VALUE ${bytes.length} ${version} ${expiryMs}\r\n${bytes}\r\n`;
}

/** A GET reply for a value with some expiry in the future (set relative to now). */
function valueExpiring(bytes: string, version = 1): RegExp {
  return new RegExp(`^VALUE ${bytes.length} ${version} \\d{13}\\r\\n${escape(bytes)}\\r\\n$`);
}

/** A bare integer line. */
function int(n: number | string): string {
  return `${n}\r\n`;
}

/** A TTL reply within a second below `ms` (the time the request took). */
function ttlNear(ms: number): RegExp {
  return new RegExp(`^(?:${Array.from({ length: 1001 }, (_, i) => ms - i).join("|")})\\r\\n$`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\\r\n]/g, (c) => (c === "\r" ? "\\r" : c === "\n" ? "\\n" : `\\${c}`));
}

/** Exactly `n` payload bytes that would be commands if the server read them as lines. */
function commandLookingBytes(n: number): string {
  const s = "PING\r\nSET x 1\r\n".repeat(Math.ceil(n / 15));
  return s.slice(0, n);
}

const statsFieldsNumeric = ["uptime_ms", "clients", "keys", "expired_total", "evicted_total", "cmd_get", "cmd_set", "cmd_del", "cmd_incr", "wal_bytes", "mem_rss_bytes", "snapshots_total", "last_snapshot_ms"];

/** `name=value` lines holding every field PROTOCOL.md requires, then END. */
const STATS_REPLY = new RegExp(
  "^" +
    statsFieldsNumeric.map((f) => `(?=(?:[^\\r\\n]*\\r\\n)*?${f}=\\d+\\r\\n)`).join("") +
    `(?=(?:[^\\r\\n]*\\r\\n)*?wal_current="[^"\\r\\n]*"\\r\\n)` +
    "(?:[a-z_]+=[^\\r\\n]*\\r\\n)+END\\r\\n$",
);

const key256 = "k".repeat(keyBytesMax);
const key257 = "K".repeat(keyBytesMax + 1);

export const cases: readonly CommandCase[] = [
  // PING
  { name: "PING answers PONG", steps: [["PING\r\n", PONG]] },

  // Framing
  {
    name: "a bare LF ends a request just as CRLF does",
    steps: [
      ["PING\n", PONG],
      ["GET fr:lf\n", NOT_FOUND],
    ],
  },
  {
    name: "empty and blank lines get no reply",
    steps: [
      ["\r\n\n  \t \r\n\n", ""],
      ["\r\nPING\r\n\r\n", PONG],
    ],
  },
  {
    name: "tabs and runs of spaces separate tokens",
    steps: [
      ["SET\t fr:tab \t 3\t \r\nabc\r\n", ok(1)],
      ["\t GET  fr:tab\t\r\n", value("abc")],
    ],
  },
  {
    name: "pipelined requests get one reply each, in request order",
    steps: [["PING\r\n" + set("fr:pipe", "a") + "GET fr:pipe\r\nDEL fr:pipe\r\nGET fr:pipe\r\nFOO\r\nPING\r\n", PONG + ok(1) + value("a") + DELETED_1 + NOT_FOUND + UNKNOWN_COMMAND + PONG]],
  },
  {
    name: "a request split across several reads gets its reply once it is complete",
    steps: [
      ["SET fr:split 5\r\nhe", ""],
      ["l", ""],
      ["lo\r", ""],
      ["\n", ok(1)],
      ["GE", ""],
      ["T fr:split\r", ""],
      ["\n", value("hello")],
    ],
  },
  {
    name: "a command line longer than 1 MiB is answered ERR BADREQ and the connection is closed",
    steps: [[`GET ${"x".repeat(1024 * 1024 + 1)}`, LINE_TOO_LONG]],
    closes: true,
  },

  // GET
  { name: "GET of a missing key answers NOT_FOUND", steps: [["GET get:missing\r\n", NOT_FOUND]] },
  {
    name: "GET of a live key answers VALUE with length, version and expiry, then the bytes",
    steps: [
      [set("get:hit", "hello"), ok(1)],
      ["GET get:hit\r\n", value("hello", 1, -1)],
    ],
  },
  {
    name: "GET of a key whose expiry has passed answers NOT_FOUND",
    steps: [
      [set("get:expired", "v", `PXAT ${PAST_MS}`), ok(1)],
      ["GET get:expired\r\n", NOT_FOUND],
    ],
  },
  {
    name: "a key set with EX 1 or given EXPIRE 1 is gone a few milliseconds later",
    steps: [
      [set("get:ex1", "v", "EX 1"), ok(1)],
      [set("get:expire1", "v") + "EXPIRE get:expire1 1\r\n", ok(1) + OK, { thenWaitMs: 20 }],
      ["GET get:ex1\r\nTTL get:ex1\r\nEXISTS get:ex1\r\nGET get:expire1\r\n", NOT_FOUND + TTL_MISSING + EXISTS_0 + NOT_FOUND],
    ],
  },

  // SET payloads and lengths
  {
    name: "SET stores a payload holding CR, LF and NUL bytes exactly",
    steps: [
      [set("set:binary", "a\r\nb\0\n\r\0"), ok(1)],
      ["GET set:binary\r\n", value("a\r\nb\0\n\r\0")],
    ],
  },
  {
    name: "SET with a zero-length payload stores an empty value",
    steps: [
      ["SET set:empty 0\r\n\r\n", ok(1)],
      ["GET set:empty\r\n", value("")],
    ],
  },
  {
    name: "a SET payload followed by a bare LF is accepted",
    steps: [["SET set:lf 3\r\nabc\nGET set:lf\r\n", ok(1) + value("abc")]],
  },
  {
    name: "a SET payload not followed by CRLF is answered ERR BADREQ and the connection is closed",
    steps: [["SET set:trailer 3\r\nabcdef\r\n", BAD_TRAILER]],
    closes: true,
  },
  {
    name: "a SET whose length is not a non-negative integer answers ERR BADREQ and the connection stays usable",
    steps: [
      ["SET set:badlen abc\r\n", BAD_LENGTH],
      ["SET set:badlen -1\r\n", BAD_LENGTH],
      ["SET set:badlen 1.5\r\n", BAD_LENGTH],
      ["PING\r\nGET set:badlen\r\n", PONG + NOT_FOUND],
    ],
  },
  {
    name: "a SET of exactly max_value_bytes is stored",
    steps: [
      [set("set:max", "m".repeat(valueBytesMax)), ok(1)],
      ["GET set:max\r\n", value("m".repeat(valueBytesMax))],
    ],
  },
  {
    name: "a SET announcing more than max_value_bytes answers ERR TOOLARGE at once, its payload is discarded and the connection stays usable",
    steps: [
      [`SET set:big ${valueBytesMax + 1}\r\n`, VALUE_TOO_LARGE],
      [commandLookingBytes(30000), ""],
      [commandLookingBytes(valueBytesMax + 1 - 30000) + "\r\n", ""],
      ["GET set:big\r\nPING\r\n", NOT_FOUND + PONG],
    ],
  },

  // SET expiry options
  {
    name: "SET with EX stores an expiry that many milliseconds from now",
    steps: [
      [set("opt:ex", "v", "EX 100000"), ok(1)],
      ["TTL opt:ex\r\n", ttlNear(100000)],
      ["GET opt:ex\r\n", valueExpiring("v")],
    ],
  },
  {
    name: "SET with PXAT in the future stores that absolute expiry",
    steps: [
      [set("opt:pxat", "v", `PXAT ${FUTURE_MS}`), ok(1)],
      ["GET opt:pxat\r\n", value("v", 1, FUTURE_MS)],
      ["TTL opt:pxat\r\n", /^\d{10,13}\r\n$/],
    ],
  },
  {
    name: "SET with PXAT in the past answers OK and stores an already-expired key",
    steps: [
      [set("opt:pxatpast", "v", `PXAT ${PAST_MS}`), ok(1)],
      ["EXISTS opt:pxatpast\r\nTTL opt:pxatpast\r\n", EXISTS_0 + TTL_MISSING],
    ],
  },
  {
    name: "SET with PXAT in the past over a live key replaces it with an expired one",
    steps: [
      [set("opt:pxatover", "v"), ok(1)],
      [set("opt:pxatover", "w", `PXAT ${PAST_MS}`), ok(2)],
      ["GET opt:pxatover\r\n", NOT_FOUND],
    ],
  },
  {
    name: "SET with PXAT -1, a time in the past, never stores a key without expiry",
    steps: [
      [set("opt:pxatneg", "v", "PXAT -1"), /^(?:OK 1|ERR BADREQ [^\r\n]+)\r\n$/],
      ["TTL opt:pxatneg\r\nGET opt:pxatneg\r\n", TTL_MISSING + NOT_FOUND],
    ],
  },
  {
    name: "SET without EX, PXAT or KEEPTTL clears the key's expiry",
    steps: [
      [set("opt:clear", "v", "EX 100000"), ok(1)],
      [set("opt:clear", "w"), ok(2)],
      ["TTL opt:clear\r\nGET opt:clear\r\n", TTL_NONE + value("w", 2, -1)],
    ],
  },
  {
    name: "SET with KEEPTTL keeps the key's expiry",
    steps: [
      [set("opt:keepttl", "v", `PXAT ${FUTURE_MS}`), ok(1)],
      [set("opt:keepttl", "w", "KEEPTTL"), ok(2)],
      ["GET opt:keepttl\r\n", value("w", 2, FUTURE_MS)],
    ],
  },
  {
    name: "SET with KEEPTTL on a missing key or a key without expiry stores no expiry",
    steps: [
      [set("opt:keepnone", "v", "KEEPTTL"), ok(1)],
      [set("opt:keepnone", "w", "KEEPTTL"), ok(2)],
      ["TTL opt:keepnone\r\nGET opt:keepnone\r\n", TTL_NONE + value("w", 2, -1)],
    ],
  },

  // SET conditions
  {
    name: "SET with NX on a missing key creates it",
    steps: [
      [set("cond:nxnew", "v", "NX"), ok(1)],
      ["GET cond:nxnew\r\n", value("v")],
    ],
  },
  {
    name: "SET with NX on a live key answers ERR EXISTS and leaves the key unchanged",
    steps: [
      [set("cond:nxlive", "old"), ok(1)],
      [set("cond:nxlive", "new", "NX"), ERR_EXISTS],
      ["GET cond:nxlive\r\n", value("old", 1)],
    ],
  },
  {
    name: "SET with NX on an expired key creates it again at version 1",
    steps: [
      [set("cond:nxexpired", "old", `PXAT ${PAST_MS}`), ok(1)],
      [set("cond:nxexpired", "new", "NX"), ok(1)],
      ["GET cond:nxexpired\r\n", value("new", 1)],
    ],
  },
  {
    name: "SET with XX on a missing key answers ERR NEXISTS and creates nothing",
    steps: [
      [set("cond:xxmissing", "v", "XX"), ERR_NEXISTS],
      ["GET cond:xxmissing\r\n", NOT_FOUND],
    ],
  },
  {
    name: "SET with XX on a live key replaces it",
    steps: [
      [set("cond:xxlive", "old"), ok(1)],
      [set("cond:xxlive", "new", "XX"), ok(2)],
      ["GET cond:xxlive\r\n", value("new", 2)],
    ],
  },
  {
    name: "SET with VER 0 on a missing key creates it (create only)",
    steps: [
      [set("cond:ver0", "v", "VER 0"), ok(1)],
      ["GET cond:ver0\r\n", value("v", 1)],
    ],
  },
  {
    name: "SET with VER 0 on a live key answers ERR VER",
    steps: [
      [set("cond:ver0live", "old"), ok(1)],
      [set("cond:ver0live", "new", "VER 0"), ERR_VER],
      ["GET cond:ver0live\r\n", value("old", 1)],
    ],
  },
  {
    name: "SET with VER 5 on a missing key answers ERR VER and creates nothing",
    steps: [
      [set("cond:ver5", "v", "VER 5"), ERR_VER],
      ["GET cond:ver5\r\n", NOT_FOUND],
    ],
  },
  {
    name: "SET with VER equal to the live key's version replaces it, and a stale VER answers ERR VER",
    steps: [
      [set("cond:verlive", "a"), ok(1)],
      [set("cond:verlive", "b", "VER 1"), ok(2)],
      [set("cond:verlive", "c", "VER 1"), ERR_VER],
      [set("cond:verlive", "d", "VER 3"), ERR_VER],
      [set("cond:verlive", "e", "VER 2"), ok(3)],
      ["GET cond:verlive\r\n", value("e", 3)],
    ],
  },
  {
    name: "SET with VER of a valid unsigned 64-bit number no key has answers ERR VER",
    steps: [
      [set("cond:verbig", "a"), ok(1)],
      [set("cond:verbig", "b", "VER 18446744073709551615"), ERR_VER],
      [set("cond:verbig", "b", "VER 9007199254740993"), ERR_VER],
      ["GET cond:verbig\r\n", value("a", 1)],
    ],
  },
  {
    name: "SET options combine: NX with EX, and XX with VER and KEEPTTL",
    steps: [
      [set("cond:combo", "a", "NX EX 100000"), ok(1)],
      [set("cond:combo", "b", "XX VER 1 KEEPTTL"), ok(2)],
      ["TTL cond:combo\r\n", ttlNear(100000)],
      ["GET cond:combo\r\n", valueExpiring("b", 2)],
    ],
  },

  // SET option errors
  {
    name: "SET with EX and PXAT together answers ERR BADREQ and writes nothing",
    steps: [
      [set("bad:expxat", "v", `EX 1000 PXAT ${FUTURE_MS}`), EX_WITH_PXAT],
      ["GET bad:expxat\r\n", NOT_FOUND],
    ],
  },
  {
    name: "SET with NX and XX together answers ERR BADREQ and writes nothing",
    steps: [
      [set("bad:nxxx", "v", "NX XX"), NX_WITH_XX],
      ["GET bad:nxxx\r\n", NOT_FOUND],
    ],
  },
  {
    name: "SET with KEEPTTL and EX or PXAT together answers ERR BADREQ and writes nothing",
    steps: [
      [set("bad:keepex", "v", "KEEPTTL EX 1000"), KEEPTTL_WITH_EXPIRY],
      [set("bad:keepex", "v", `PXAT ${FUTURE_MS} KEEPTTL`), KEEPTTL_WITH_EXPIRY],
      ["GET bad:keepex\r\n", NOT_FOUND],
    ],
  },
  {
    name: "SET with an option given twice answers ERR BADREQ and writes nothing",
    steps: [
      [set("bad:repeat", "v", "NX NX"), REPEATED_OPTION],
      [set("bad:repeat", "v", "EX 1000 EX 2000"), REPEATED_OPTION],
      [set("bad:repeat", "v", "KEEPTTL keepttl"), REPEATED_OPTION],
      ["GET bad:repeat\r\n", NOT_FOUND],
    ],
  },
  {
    name: "SET with an unknown option answers ERR BADREQ and writes nothing",
    steps: [
      [set("bad:unknown", "v", "PX 1000"), UNKNOWN_OPTION],
      [set("bad:unknown", "v", "NX 5"), UNKNOWN_OPTION],
      [set("bad:unknown", "v", "GET"), UNKNOWN_OPTION],
      ["GET bad:unknown\r\n", NOT_FOUND],
    ],
  },
  {
    name: "SET with EX that is zero, negative or not an integer answers ERR BADREQ and writes nothing",
    steps: [
      [set("bad:ex", "v", "EX 0"), BAD_EX],
      [set("bad:ex", "v", "EX -5"), BAD_EX],
      [set("bad:ex", "v", "EX 1.5"), BAD_EX],
      [set("bad:ex", "v", "EX soon"), BAD_EX],
      [set("bad:ex", "v", "EX 99999999999999999999"), BAD_EX],
      ["GET bad:ex\r\n", NOT_FOUND],
    ],
  },
  {
    name: "SET with PXAT that is not an integer answers ERR BADREQ and writes nothing",
    steps: [
      [set("bad:pxat", "v", "PXAT tomorrow"), BAD_PXAT],
      [set("bad:pxat", "v", "PXAT 4102444800000.5"), BAD_PXAT],
      ["GET bad:pxat\r\n", NOT_FOUND],
    ],
  },
  {
    name: "SET with VER that is not an unsigned 64-bit integer answers ERR BADREQ and writes nothing",
    steps: [
      [set("bad:ver", "v", "VER -1"), BAD_VER],
      [set("bad:ver", "v", "VER one"), BAD_VER],
      [set("bad:ver", "v", "VER 18446744073709551616"), BAD_VER],
      ["GET bad:ver\r\n", NOT_FOUND],
    ],
  },
  {
    name: "SET with an option missing its value answers ERR BADREQ and writes nothing",
    steps: [
      [set("bad:novalue", "v", "EX"), MISSING_OPTION_VALUE],
      [set("bad:novalue", "v", "PXAT"), MISSING_OPTION_VALUE],
      [set("bad:novalue", "v", "NX VER"), MISSING_OPTION_VALUE],
      ["GET bad:novalue\r\n", NOT_FOUND],
    ],
  },

  // Versions
  {
    name: "every successful write of a live key increments its version",
    steps: [
      [set("ver:bump", "5"), ok(1)],
      [set("ver:bump", "6"), ok(2)],
      ["INCR ver:bump\r\n", int(7)],
      ["MSET ver:bump 1\r\n9\r\n", ok(1)],
      ["DECR ver:bump\r\n", int(8)],
      ["GET ver:bump\r\n", value("8", 5)],
    ],
  },
  {
    name: "a key's version restarts at 1 after DEL",
    steps: [
      [set("ver:del", "a") + set("ver:del", "b"), ok(1) + ok(2)],
      ["DEL ver:del\r\n", DELETED_1],
      [set("ver:del", "c"), ok(1)],
    ],
  },
  {
    name: "a key's version restarts at 1 after it expires",
    steps: [
      [set("ver:expiry", "a") + set("ver:expiry", "b"), ok(1) + ok(2)],
      [set("ver:expiry", "c", `PXAT ${PAST_MS}`), ok(3)],
      [set("ver:expiry", "d"), ok(1)],
      ["GET ver:expiry\r\n", value("d", 1)],
    ],
  },
  {
    name: "a key's version restarts at 1 after EXPIRE 0 removed it",
    steps: [
      [set("ver:expire0", "a") + set("ver:expire0", "b"), ok(1) + ok(2)],
      ["EXPIRE ver:expire0 0\r\n", OK],
      ["INCR ver:expire0\r\n", int(1)],
      ["GET ver:expire0\r\n", value("1", 1)],
    ],
  },

  // DEL and EXISTS
  {
    name: "DEL of a live key answers DELETED 1 and the key is gone",
    steps: [
      [set("del:live", "v"), ok(1)],
      ["DEL del:live\r\n", DELETED_1],
      ["GET del:live\r\nDEL del:live\r\n", NOT_FOUND + DELETED_0],
    ],
  },
  { name: "DEL of a missing key answers DELETED 0", steps: [["DEL del:missing\r\n", DELETED_0]] },
  {
    name: "DEL of an expired key answers DELETED 0",
    steps: [
      [set("del:expired", "v", `PXAT ${PAST_MS}`), ok(1)],
      ["DEL del:expired\r\n", DELETED_0],
    ],
  },
  {
    name: "EXISTS answers 1 for a live key and 0 for a missing or expired one",
    steps: [
      [set("exists:live", "v") + set("exists:expired", "v", `PXAT ${PAST_MS}`), ok(1) + ok(1)],
      ["EXISTS exists:live\r\nEXISTS exists:missing\r\nEXISTS exists:expired\r\n", EXISTS_1 + EXISTS_0 + EXISTS_0],
    ],
  },

  // EXPIRE and TTL
  {
    name: "EXPIRE sets a TTL and does not change the version",
    steps: [
      [set("exp:set", "v") + set("exp:set", "w"), ok(1) + ok(2)],
      ["EXPIRE exp:set 100000\r\n", OK],
      ["TTL exp:set\r\n", ttlNear(100000)],
      ["GET exp:set\r\n", valueExpiring("w", 2)],
    ],
  },
  {
    name: "EXPIRE replaces an earlier expiry",
    steps: [
      [set("exp:replace", "v", "EX 100000"), ok(1)],
      ["EXPIRE exp:replace 5000000\r\n", OK],
      ["TTL exp:replace\r\n", ttlNear(5000000)],
    ],
  },
  {
    name: "EXPIRE with zero or negative milliseconds removes the key at once",
    steps: [
      [set("exp:zero", "v") + set("exp:negative", "v"), ok(1) + ok(1)],
      ["EXPIRE exp:zero 0\r\nEXPIRE exp:negative -5\r\n", OK + OK],
      ["EXISTS exp:zero\r\nGET exp:negative\r\nTTL exp:zero\r\n", EXISTS_0 + NOT_FOUND + TTL_MISSING],
    ],
  },
  {
    name: "EXPIRE of a missing or expired key answers NOT_FOUND",
    steps: [
      ["EXPIRE exp:missing 1000\r\n", NOT_FOUND],
      [set("exp:expired", "v", `PXAT ${PAST_MS}`), ok(1)],
      ["EXPIRE exp:expired 1000\r\n", NOT_FOUND],
    ],
  },
  {
    name: "EXPIRE with milliseconds that are not an integer answers ERR BADREQ and leaves the key unchanged",
    steps: [
      [set("exp:bad", "v"), ok(1)],
      ["EXPIRE exp:bad soon\r\n", BAD_EXPIRE],
      ["EXPIRE exp:bad 1.5\r\n", BAD_EXPIRE],
      ["TTL exp:bad\r\nGET exp:bad\r\n", TTL_NONE + value("v", 1)],
    ],
  },
  { name: "TTL of a missing key answers -2", steps: [["TTL ttl:missing\r\n", TTL_MISSING]] },
  {
    name: "TTL of a key without expiry answers -1",
    steps: [
      [set("ttl:none", "v"), ok(1)],
      ["TTL ttl:none\r\n", TTL_NONE],
    ],
  },
  {
    name: "TTL of a key with an expiry answers the milliseconds left",
    steps: [
      [set("ttl:some", "v", "EX 30000"), ok(1)],
      ["TTL ttl:some\r\n", ttlNear(30000)],
    ],
  },

  // INCR and DECR
  {
    name: "INCR of a missing key counts from 0 and creates the key at version 1",
    steps: [
      ["INCR incr:new\r\n", int(1)],
      ["GET incr:new\r\nTTL incr:new\r\n", value("1", 1) + TTL_NONE],
    ],
  },
  {
    name: "DECR of a missing key counts from 0",
    steps: [
      ["DECR incr:newdecr\r\n", int(-1)],
      ["GET incr:newdecr\r\n", value("-1", 1)],
    ],
  },
  {
    name: "INCR and DECR add and subtract 1 by default and an explicit delta when given",
    steps: [
      [set("incr:delta", "10"), ok(1)],
      ["INCR incr:delta\r\nINCR incr:delta 5\r\nDECR incr:delta\r\nDECR incr:delta 20\r\n", int(11) + int(16) + int(15) + int(-5)],
      ["INCR incr:delta -10\r\nDECR incr:delta -15\r\nINCR incr:delta 0\r\n", int(-15) + int(0) + int(0)],
      ["GET incr:delta\r\n", value("0", 8)],
    ],
  },
  {
    name: "INCR of a value that is not an integer answers ERR TYPE and changes nothing",
    steps: [
      [set("incr:text", "abc"), ok(1)],
      ["INCR incr:text\r\nDECR incr:text 2\r\n", NOT_AN_INTEGER + NOT_AN_INTEGER],
      ["GET incr:text\r\n", value("abc", 1)],
    ],
  },
  {
    name: "INCR of a value that is not a canonical signed 64-bit decimal answers ERR TYPE",
    steps: [
      [
        set("incr:nc1", "007") + set("incr:nc2", "+1") + set("incr:nc3", " 1") + set("incr:nc4", "") + set("incr:nc5", "1.0") + set("incr:nc6", "-0") + set("incr:nc7", "9223372036854775808") + set("incr:nc8", "1\r\n"),
        ok(1).repeat(8),
      ],
      ["INCR incr:nc1\r\nINCR incr:nc2\r\nINCR incr:nc3\r\nINCR incr:nc4\r\nINCR incr:nc5\r\nINCR incr:nc6\r\nINCR incr:nc7\r\nINCR incr:nc8\r\n", NOT_AN_INTEGER.repeat(8)],
      ["GET incr:nc1\r\n", value("007", 1)],
    ],
  },
  {
    name: "INCR with a delta that is not a signed 64-bit integer answers ERR BADREQ and creates nothing",
    steps: [
      ["INCR incr:baddelta abc\r\n", BAD_DELTA],
      ["INCR incr:baddelta 9223372036854775808\r\n", BAD_DELTA],
      ["DECR incr:baddelta 1.5\r\n", BAD_DELTA],
      ["INCR incr:baddelta +1\r\n", BAD_DELTA],
      ["EXISTS incr:baddelta\r\n", EXISTS_0],
    ],
  },
  {
    name: "INCR past the largest signed 64-bit integer answers ERR TYPE and writes nothing",
    steps: [
      [set("incr:max", I64_MAX), ok(1)],
      ["INCR incr:max\r\n", OVERFLOW],
      ["INCR incr:max 9223372036854775807\r\nDECR incr:max -1\r\n", OVERFLOW + OVERFLOW],
      ["GET incr:max\r\n", value(I64_MAX, 1)],
    ],
  },
  {
    name: "DECR past the smallest signed 64-bit integer answers ERR TYPE and writes nothing",
    steps: [
      [set("incr:min", I64_MIN), ok(1)],
      ["DECR incr:min\r\nINCR incr:min -1\r\nDECR incr:min 9223372036854775807\r\n", OVERFLOW + OVERFLOW + OVERFLOW],
      ["GET incr:min\r\n", value(I64_MIN, 1)],
    ],
  },
  {
    name: "an overflowing DECR of a missing key does not create it",
    steps: [
      [`DECR incr:overmissing ${I64_MIN}\r\n`, OVERFLOW],
      ["EXISTS incr:overmissing\r\n", EXISTS_0],
    ],
  },
  {
    name: "INCR and DECR are exact across the whole signed 64-bit range",
    steps: [
      [set("incr:edge1", "9223372036854775806"), ok(1)],
      ["INCR incr:edge1\r\n", int(I64_MAX)],
      [set("incr:edge2", "-9223372036854775807"), ok(1)],
      ["DECR incr:edge2\r\n", int(I64_MIN)],
      [`INCR incr:edge3 ${I64_MAX}\r\nDECR incr:edge3 ${I64_MAX}\r\nDECR incr:edge3 ${I64_MAX}\r\nDECR incr:edge3\r\n`, int(I64_MAX) + int(0) + int("-9223372036854775807") + int(I64_MIN)],
      [set("incr:edge4", "9007199254740992"), ok(1)],
      ["INCR incr:edge4\r\nINCR incr:edge4\r\n", int("9007199254740993") + int("9007199254740994")],
      [set("incr:edge5", "999999999999999"), ok(1)],
      ["INCR incr:edge5\r\nINCR incr:edge5\r\nDECR incr:edge5 2000000000000000\r\n", int("1000000000000000") + int("1000000000000001") + int("-999999999999999")],
      [`INCR incr:edge6 ${I64_MIN}\r\nINCR incr:edge6 ${I64_MAX}\r\n`, int(I64_MIN) + int(-1)],
    ],
  },
  {
    name: "INCR keeps the key's expiry and increments its version",
    steps: [
      [set("incr:ttl", "5", `PXAT ${FUTURE_MS}`), ok(1)],
      ["INCR incr:ttl\r\n", int(6)],
      ["GET incr:ttl\r\n", value("6", 2, FUTURE_MS)],
      ["DECR incr:ttl 10\r\n", int(-4)],
      ["GET incr:ttl\r\n", value("-4", 3, FUTURE_MS)],
    ],
  },
  {
    name: "INCR of an expired key counts from 0, at version 1, without expiry",
    steps: [
      [set("incr:expired", "41", `PXAT ${PAST_MS}`), ok(1)],
      ["INCR incr:expired\r\n", int(1)],
      ["GET incr:expired\r\n", value("1", 1, -1)],
    ],
  },

  // MGET
  {
    name: "MGET answers one block per key in request order, NOT_FOUND for missing and expired keys",
    steps: [
      [set("mget:a", "hello") + set("mget:c", "gone", `PXAT ${PAST_MS}`), ok(1) + ok(1)],
      ["MGET mget:a mget:b mget:c mget:a\r\n", "VALUE mget:a 5 1 -1\r\nhello\r\nNOT_FOUND mget:b\r\nNOT_FOUND mget:c\r\nVALUE mget:a 5 1 -1\r\nhello\r\n"],
    ],
  },
  {
    name: "MGET shows each key's version and expiry and returns binary values exactly",
    steps: [
      [set("mget:v", "x") + set("mget:v", "a\r\n\0b", `PXAT ${FUTURE_MS}`), ok(1) + ok(2)],
      ["MGET mget:v\r\n", `VALUE mget:v 5 2 ${FUTURE_MS}\r\na\r\n\0b\r\n`],
    ],
  },
  {
    name: "MGET with an invalid or too long key answers one error and no blocks",
    steps: [
      [set("mget:ok", "v"), ok(1)],
      ["MGET mget:ok mget:\x01bad\r\n", BAD_KEY],
      [`MGET mget:ok ${key257}\r\n`, KEY_TOO_LARGE],
      ["PING\r\n", PONG],
    ],
  },

  // MSET
  {
    name: "MSET writes every pair and answers OK with the count",
    steps: [
      ["MSET mset:a 1 mset:b 4\r\nxy\r\nz\r\n", ok(2)],
      ["GET mset:a\r\nGET mset:b\r\n", value("x", 1) + value("y\r\nz", 1)],
    ],
  },
  {
    name: "MSET increments versions of live keys and clears their expiry",
    steps: [
      [set("mset:live", "old", "EX 100000"), ok(1)],
      ["MSET mset:live 3 mset:fresh 3\r\nnewone\r\n", ok(2)],
      ["GET mset:live\r\nGET mset:fresh\r\nTTL mset:live\r\n", value("new", 2, -1) + value("one", 1, -1) + TTL_NONE],
    ],
  },
  {
    name: "MSET with zero-length values stores empty values",
    steps: [
      ["MSET mset:e1 0 mset:e2 0\r\n\r\n", ok(2)],
      ["GET mset:e1\r\nGET mset:e2\r\n", value("") + value("")],
    ],
  },
  {
    name: "MSET naming one key twice keeps the last value",
    steps: [
      ["MSET mset:twice 1 mset:twice 1\r\nab\r\n", ok(2)],
      ["GET mset:twice\r\n", /^VALUE 1 [12] -1\r\nb\r\n$/],
    ],
  },
  {
    name: "MSET with an invalid key in the middle answers one error and changes no key",
    steps: [
      [set("mset:bk1", "old"), ok(1)],
      ["MSET mset:bk1 1 mset:b\x7fk 1 mset:bk3 1\r\nxyz\r\n", BAD_KEY],
      ["GET mset:bk1\r\nGET mset:bk3\r\n", value("old", 1) + NOT_FOUND],
    ],
  },
  {
    name: "MSET with a too long key in the middle answers ERR TOOLARGE and changes no key",
    steps: [
      [set("mset:lk1", "old"), ok(1)],
      [`MSET mset:lk1 1 ${key257} 1 mset:lk3 1\r\nxyz\r\n`, KEY_TOO_LARGE],
      ["GET mset:lk1\r\nGET mset:lk3\r\n", value("old", 1) + NOT_FOUND],
    ],
  },
  {
    name: "MSET with an oversize value in the middle answers ERR TOOLARGE at once, changes no key and the connection stays usable",
    steps: [
      [set("mset:big1", "old"), ok(1)],
      [`MSET mset:big1 1 mset:big2 ${valueBytesMax + 1} mset:big3 1\r\n`, VALUE_TOO_LARGE],
      ["n" + commandLookingBytes(valueBytesMax + 1) + "m", ""],
      ["\r\n", ""],
      ["GET mset:big1\r\nGET mset:big2\r\nGET mset:big3\r\n", value("old", 1) + NOT_FOUND + NOT_FOUND],
    ],
  },
  {
    name: "MSET with an odd argument count answers ERR BADREQ and the connection stays usable",
    steps: [
      ["MSET mset:odd 1 mset:odd2\r\n", MSET_ODD],
      ["MSET mset:odd\r\n", MSET_ODD],
      ["PING\r\nGET mset:odd\r\n", PONG + NOT_FOUND],
    ],
  },
  {
    name: "MSET with a length that is not a non-negative integer answers ERR BADREQ",
    steps: [
      ["MSET mset:badlen x\r\n", BAD_LENGTH],
      ["MSET mset:badlen 1 mset:badlen2 -1\r\n", BAD_LENGTH],
      ["GET mset:badlen\r\n", NOT_FOUND],
    ],
  },

  // Keys
  {
    name: "a key of exactly max_key_bytes is accepted",
    steps: [
      [set(key256, "v"), ok(1)],
      [`GET ${key256}\r\nEXISTS ${key256}\r\n`, value("v") + EXISTS_1],
    ],
  },
  {
    name: "a key longer than max_key_bytes answers ERR TOOLARGE key too large in every command",
    steps: [
      [`GET ${key257}\r\n`, KEY_TOO_LARGE],
      [set(key257, "v"), KEY_TOO_LARGE],
      [`DEL ${key257}\r\nEXISTS ${key257}\r\nEXPIRE ${key257} 10\r\nTTL ${key257}\r\n`, KEY_TOO_LARGE.repeat(4)],
      [`INCR ${key257}\r\nDECR ${key257} 2\r\nMGET ${key257}\r\n`, KEY_TOO_LARGE.repeat(3)],
      [`MSET ${key257} 1\r\nv\r\n`, KEY_TOO_LARGE],
      ["PING\r\n", PONG],
    ],
  },
  {
    name: "a key holding a control character or DEL answers ERR BADREQ key contains invalid characters",
    steps: [
      ["GET key:\x01ctl\r\n", BAD_KEY],
      [set("key:\x00nul", "v"), BAD_KEY],
      [set("key:\x7fdel", "v"), BAD_KEY],
      ["GET key:cr\rx\r\n", BAD_KEY],
      ["DEL \x1b[0m\r\nEXISTS \x1f\r\nEXPIRE a\x7f 5\r\nTTL \x7f\r\nINCR \x02\r\nDECR \x03\r\n", BAD_KEY.repeat(6)],
      ["PING\r\n", PONG],
    ],
  },
  {
    name: "a key of UTF-8 bytes is accepted and kept exactly",
    steps: [
      [set("key:\xc3\xa9t\xc3\xa9:\xe2\x82\xac", "v"), ok(1)],
      ["GET key:\xc3\xa9t\xc3\xa9:\xe2\x82\xac\r\n", value("v")],
      ["MGET key:\xc3\xa9t\xc3\xa9:\xe2\x82\xac\r\n", "VALUE key:\xc3\xa9t\xc3\xa9:\xe2\x82\xac 1 1 -1\r\nv\r\n"],
      ["GET key:\xc3\xa9t\xc3\xa9:\xe2\x82\r\n", NOT_FOUND],
    ],
  },
  {
    name: "keys are case-sensitive",
    steps: [
      [set("key:Case", "v"), ok(1)],
      ["GET key:case\r\nGET KEY:CASE\r\nGET key:Case\r\n", NOT_FOUND + NOT_FOUND + value("v")],
    ],
  },

  // Command names and arity
  {
    name: "an unknown command answers ERR BADREQ unknown command and the connection stays usable",
    steps: [
      ["FLY\r\n", UNKNOWN_COMMAND],
      ["GETT cmd:unknown\r\nG3T cmd:unknown\r\nABCDEFGHIJKLMNOP\r\n\x01\r\n", UNKNOWN_COMMAND.repeat(4)],
      ["PING\r\n", PONG],
    ],
  },
  {
    name: "a command with the wrong number of arguments answers ERR BADREQ wrong number of arguments",
    steps: [
      ["PING x\r\nGET\r\nGET cmd:a cmd:b\r\nDEL\r\nDEL cmd:a cmd:b\r\nEXISTS\r\nEXISTS cmd:a cmd:b\r\n", ARITY.repeat(7)],
      ["EXPIRE cmd:a\r\nEXPIRE cmd:a 1 2\r\nTTL\r\nTTL cmd:a cmd:b\r\nINCR\r\nINCR cmd:a 1 2\r\nDECR\r\nDECR cmd:a 1 2\r\n", ARITY.repeat(8)],
      ["MGET\r\nMSET\r\nSTATS now\r\nSET\r\nSET cmd:a\r\n", ARITY.repeat(5)],
      ["SET cmd:a 1 EX 1 PXAT 1 NX XX VER 1 KEEPTTL\r\nv\r\n", ARITY],
      ["PING\r\nEXISTS cmd:a\r\n", PONG + EXISTS_0],
    ],
  },
  {
    name: "command names and option words are case-insensitive",
    steps: [
      ["ping\r\npInG\r\n", PONG + PONG],
      [set("cmd:case", "v", "ex 100000 nx").replace("SET", "set"), ok(1)],
      [set("cmd:case", "w", "Xx Ver 1 KeepTTL").replace("SET", "Set"), ok(2)],
      ["get cmd:case\r\n", valueExpiring("w", 2)],
      ["ttl cmd:case\r\n", ttlNear(100000)],
      ["expire cmd:case 200000\r\nexists cmd:case\r\n", OK + EXISTS_1],
      ["incr cmd:case2\r\ndecr cmd:case2 3\r\nIncr cmd:case2 2\r\n", int(1) + int(-2) + int(0)],
      ["mset cmd:case3 1\r\nz\r\nmget cmd:case3\r\n", ok(1) + "VALUE cmd:case3 1 1 -1\r\nz\r\n"],
      [set("cmd:case4", "v", `pxat ${FUTURE_MS} vEr 0`).replace("SET", "sEt"), ok(1)],
      ["del cmd:case4\r\n", DELETED_1],
    ],
  },

  // STATS
  {
    name: "STATS answers name=value lines with every required field, then END",
    steps: [["STATS\r\n", STATS_REPLY]],
  },
  {
    name: "stats is case-insensitive too",
    steps: [["stats\r\n", STATS_REPLY]],
  },
];
