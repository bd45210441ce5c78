// The command cases: one behaviour suite for every command, option and error of docs/PROTOCOL.md,
// written once for both protocols. A step is a request as an argument list and one outcome in
// neutral form (model.ts); wire.ts spells both in each protocol's bytes. Where the grammars differ
// (text SET's EX is milliseconds and has VER, RESP's has EX seconds, PX, EXAT and GET; text
// INCR k 5 is RESP's INCRBY k 5; STATS is text-only, SETNX, GETDEL, PERSIST, … RESP-only), a step
// gives each protocol's request, or is marked for one protocol, or the case is.
//
// Runners: commands/engine.test.ts (the engine, one read and split reads, both protocols, a
// hand-moved clock) and e2e/commands.tcp.test.ts (real servers, both protocols). Every case names
// its own keys (no two cases share one), so all cases of a protocol can run against one server.
// The text protocol's framing and parser-limit cases are in text-framing.ts.

import {
  absent,
  applied,
  arity,
  bulk,
  type Case,
  caseConfig,
  deleted,
  entries,
  entry,
  existing,
  fail,
  hello,
  help,
  inMs,
  keyList,
  integer,
  item,
  missing,
  nil,
  ok,
  pipe,
  pong,
  refused,
  remaining,
  type Request,
  respOnly,
  scanned,
  stats,
  status,
  step,
  textOnly,
  unknownCommand,
  wait,
  written,
  writtenAll,
} from "./model.ts";

export { caseConfig };

/** A far-future absolute expiry (2100-01-01) and a long-past one. */
const FUTURE_MS = 4102444800000;
const FUTURE = String(FUTURE_MS);
const PAST_MS = 1000;
const PAST = String(PAST_MS);

const I64_MAX = "9223372036854775807";
const I64_MIN = "-9223372036854775808";

const key256 = "k".repeat(caseConfig.max_key_bytes);
const key257 = "K".repeat(caseConfig.max_key_bytes + 1);

/** SET with an expiry `ms` milliseconds from now: text `EX ms`, RESP `PX ms`; `options` follow. */
function setPx(key: string, value: string, ms: string, ...options: string[]): Request {
  return { text: ["SET", key, value, "EX", ms, ...options], resp: ["SET", key, value, "PX", ms, ...options] };
}

/** Add `delta`: text `INCR key delta`, RESP `INCRBY key delta`. */
function incrBy(key: string, delta: string, name = "INCR"): Request {
  return { text: [name, key, delta], resp: [`${name}BY`, key, delta] };
}

/** Subtract `delta`: text `DECR key delta`, RESP `DECRBY key delta`. */
function decrBy(key: string, delta: string, name = "DECR"): Request {
  return { text: [name, key, delta], resp: [`${name}BY`, key, delta] };
}

export const cases: readonly Case[] = [
  // PING and pipelining
  { name: "PING answers PONG", steps: [step(["PING"], pong)] },
  {
    name: "pipelined requests get one reply each, in request order",
    steps: [
      pipe(
        [["PING"], pong],
        [["SET", "fr:pipe", "a"], written(1)],
        [["GET", "fr:pipe"], entry("a")],
        [["DEL", "fr:pipe"], deleted(1)],
        [["GET", "fr:pipe"], missing],
        [["FOO"], unknownCommand],
        [["PING"], pong],
      ),
    ],
  },

  // GET
  { name: "GET of a missing key finds nothing", steps: [step(["GET", "get:missing"], missing)] },
  {
    name: "GET of a live key answers its value, at version 1 and without expiry after one SET",
    steps: [step(["SET", "get:hit", "hello"], written(1)), step(["GET", "get:hit"], entry("hello", 1, -1))],
  },
  {
    name: "GET of a key whose expiry has passed finds nothing",
    steps: [step(["SET", "get:expired", "v", "PXAT", PAST], written(1)), step(["GET", "get:expired"], missing)],
  },
  {
    name: "a key set to expire in 1 ms, or given PEXPIRE 1, is gone a few milliseconds later",
    steps: [
      step(setPx("get:ex1", "v", "1"), written(1)),
      pipe([["SET", "get:expire1", "v"], written(1)], [["PEXPIRE", "get:expire1", "1"], applied(true)]),
      wait(20),
      pipe([["GET", "get:ex1"], missing], [["PTTL", "get:ex1"], remaining(-2)], [["EXISTS", "get:ex1"], existing(0)], [["GET", "get:expire1"], missing]),
    ],
  },

  // SET values
  {
    name: "SET stores a value holding CR, LF and NUL bytes exactly",
    steps: [
      step(["SET", "set:binary", "a\r\nb\0\n\r\0"], written(1)),
      step(["GET", "set:binary"], entry("a\r\nb\0\n\r\0")),
      step(["SET", "set:binary2", "v\r\n1"], written(1)),
      step(["GET", "set:binary2"], entry("v\r\n1")),
    ],
  },
  {
    name: "SET of an empty value stores an empty value",
    steps: [step(["SET", "set:empty", ""], written(1)), step(["GET", "set:empty"], entry(""))],
  },
  {
    name: "a SET of exactly max_value_bytes is stored",
    steps: [step(["SET", "set:max", "m".repeat(caseConfig.max_value_bytes)], written(1)), step(["GET", "set:max"], entry("m".repeat(caseConfig.max_value_bytes)))],
  },

  // SET expiry options
  {
    name: "SET with a relative expiry in milliseconds (text EX, RESP PX) stores an expiry that far from now",
    steps: [step(setPx("opt:ex", "v", "100000"), written(1)), step(["PTTL", "opt:ex"], remaining(inMs(100000))), step(["GET", "opt:ex"], entry("v", 1, inMs(100000)))],
  },
  {
    name: "SET with PXAT in the future stores that absolute expiry",
    steps: [
      step(["SET", "opt:pxat", "v", "PXAT", FUTURE], written(1)),
      step(["GET", "opt:pxat"], entry("v", 1, FUTURE_MS)),
      step(["PTTL", "opt:pxat"], remaining({ atMs: FUTURE_MS })),
    ],
  },
  {
    name: "SET with PXAT in the past is written and stores an already-expired key",
    steps: [
      step(["SET", "opt:pxatpast", "v", "PXAT", PAST], written(1)),
      pipe([["EXISTS", "opt:pxatpast"], existing(0)], [["PTTL", "opt:pxatpast"], remaining(-2)]),
      step(["SET", "opt:pxat1", "v", "PXAT", "1"], written(1)),
      step(["GET", "opt:pxat1"], missing),
    ],
  },
  {
    name: "SET with PXAT in the past over a live key replaces it with an expired one",
    steps: [step(["SET", "opt:pxatover", "v"], written(1)), step(["SET", "opt:pxatover", "w", "PXAT", PAST], written(2)), step(["GET", "opt:pxatover"], missing)],
  },
  {
    name: "SET with PXAT -1 never stores a key without expiry: text stores an expired key, RESP refuses the time",
    steps: [
      textOnly(step(["SET", "opt:pxatneg", "v", "PXAT", "-1"], written(1))),
      respOnly(step(["SET", "opt:pxatneg", "v", "PXAT", "-1"], fail("InvalidExpireTime"))),
      pipe([["PTTL", "opt:pxatneg"], remaining(-2)], [["GET", "opt:pxatneg"], missing]),
    ],
  },
  {
    name: "SET without an expiry option or KEEPTTL clears the key's expiry",
    steps: [
      step(setPx("opt:clear", "v", "100000"), written(1)),
      step(["SET", "opt:clear", "w"], written(2)),
      pipe([["PTTL", "opt:clear"], remaining(-1)], [["GET", "opt:clear"], entry("w", 2, -1)]),
    ],
  },
  {
    name: "SET with KEEPTTL keeps the key's expiry",
    steps: [step(["SET", "opt:keepttl", "v", "PXAT", FUTURE], written(1)), step(["SET", "opt:keepttl", "w", "KEEPTTL"], written(2)), step(["GET", "opt:keepttl"], entry("w", 2, FUTURE_MS))],
  },
  {
    name: "SET with KEEPTTL on a missing key or a key without expiry stores no expiry",
    steps: [
      step(["SET", "opt:keepnone", "v", "KEEPTTL"], written(1)),
      step(["SET", "opt:keepnone", "w", "KEEPTTL"], written(2)),
      pipe([["PTTL", "opt:keepnone"], remaining(-1)], [["GET", "opt:keepnone"], entry("w", 2, -1)]),
    ],
  },
  {
    name: "SET EX in seconds keeps its TTL through a SET with KEEPTTL and loses it in a plain SET",
    only: "resp",
    steps: [
      step(["SET", "resp:keepttl", "1", "EX", "100"], written(1)),
      step(["SET", "resp:keepttl", "2", "KEEPTTL"], written(2)),
      step(["TTL", "resp:keepttl"], remaining(inMs(100000))),
      step(["SET", "resp:keepttl", "3"], written(3)),
      step(["TTL", "resp:keepttl"], remaining(-1)),
    ],
  },
  {
    name: "SET EX, PX, EXAT and PXAT store absolute expiry times",
    only: "resp",
    steps: [
      pipe([["SET", "resp:ex", "1", "EX", "100"], written(1)], [["SET", "resp:px", "1", "PX", "2500"], written(1)]),
      pipe([["SET", "resp:exat", "1", "EXAT", "4102444800"], written(1)], [["SET", "resp:pxat", "1", "PXAT", "4102444800123"], written(1)]),
      pipe(
        [["GET", "resp:ex"], entry("1", 1, inMs(100000))],
        [["GET", "resp:px"], entry("1", 1, inMs(2500))],
        [["GET", "resp:exat"], entry("1", 1, 4102444800000)],
        [["GET", "resp:pxat"], entry("1", 1, 4102444800123)],
      ),
    ],
  },

  // SET conditions
  {
    name: "SET with NX on a missing key creates it",
    steps: [step(["SET", "cond:nxnew", "v", "NX"], written(1)), step(["GET", "cond:nxnew"], entry("v"))],
  },
  {
    name: "SET with NX on a live key is refused and writes nothing",
    steps: [step(["SET", "cond:nxlive", "old"], written(1)), step(["SET", "cond:nxlive", "new", "NX"], refused("KeyExists")), step(["GET", "cond:nxlive"], entry("old", 1))],
  },
  {
    name: "SET with NX on an expired key creates it again at version 1",
    steps: [step(["SET", "cond:nxexpired", "old", "PXAT", PAST], written(1)), step(["SET", "cond:nxexpired", "new", "NX"], written(1)), step(["GET", "cond:nxexpired"], entry("new", 1))],
  },
  {
    name: "SET with XX on a missing key is refused and creates nothing",
    steps: [step(["SET", "cond:xxmissing", "v", "XX"], refused("KeyMissing")), step(["GET", "cond:xxmissing"], missing)],
  },
  {
    name: "SET with XX on a live key replaces it",
    steps: [step(["SET", "cond:xxlive", "old"], written(1)), step(["SET", "cond:xxlive", "new", "XX"], written(2)), step(["GET", "cond:xxlive"], entry("new", 2))],
  },
  {
    name: "SET's NX and XX are conditions in any letter case, refused ones writing nothing",
    steps: [
      step(["SET", "cond:case", "1", "XX"], refused("KeyMissing")),
      step(["SET", "cond:case", "1", "NX"], written(1)),
      step(["SET", "cond:case", "2", "nx"], refused("KeyExists")),
      step(["SET", "cond:case", "3", "xX"], written(2)),
      step(["GET", "cond:case"], entry("3", 2)),
    ],
  },
  {
    name: "SET with VER 0 on a missing key creates it (create only)",
    only: "text",
    steps: [step(["SET", "cond:ver0", "v", "VER", "0"], written(1)), step(["GET", "cond:ver0"], entry("v", 1))],
  },
  {
    name: "SET with VER 0 on a live key is refused for a version mismatch",
    only: "text",
    steps: [step(["SET", "cond:ver0live", "old"], written(1)), step(["SET", "cond:ver0live", "new", "VER", "0"], refused("VersionMismatch")), step(["GET", "cond:ver0live"], entry("old", 1))],
  },
  {
    name: "SET with VER 5 on a missing key is refused and creates nothing",
    only: "text",
    steps: [step(["SET", "cond:ver5", "v", "VER", "5"], refused("VersionMismatch")), step(["GET", "cond:ver5"], missing)],
  },
  {
    name: "SET with VER equal to the live key's version replaces it, and a stale VER is refused",
    only: "text",
    steps: [
      step(["SET", "cond:verlive", "a"], written(1)),
      step(["SET", "cond:verlive", "b", "VER", "1"], written(2)),
      step(["SET", "cond:verlive", "c", "VER", "1"], refused("VersionMismatch")),
      step(["SET", "cond:verlive", "d", "VER", "3"], refused("VersionMismatch")),
      step(["SET", "cond:verlive", "e", "VER", "2"], written(3)),
      step(["GET", "cond:verlive"], entry("e", 3)),
    ],
  },
  {
    name: "SET with VER of a valid unsigned 64-bit number no key has is refused",
    only: "text",
    steps: [
      step(["SET", "cond:verbig", "a"], written(1)),
      step(["SET", "cond:verbig", "b", "VER", "18446744073709551615"], refused("VersionMismatch")),
      step(["SET", "cond:verbig", "b", "VER", "9007199254740993"], refused("VersionMismatch")),
      step(["GET", "cond:verbig"], entry("a", 1)),
    ],
  },
  {
    name: "SET options combine: NX with a relative expiry, and XX with KEEPTTL (and VER in text)",
    steps: [
      step(setPx("cond:combo", "a", "100000", "NX"), written(1)),
      step({ text: ["SET", "cond:combo", "b", "XX", "VER", "1", "KEEPTTL"], resp: ["SET", "cond:combo", "b", "XX", "KEEPTTL"] }, written(2)),
      step(["PTTL", "cond:combo"], remaining(inMs(100000))),
      step(["GET", "cond:combo"], entry("b", 2, inMs(100000))),
    ],
  },
  {
    name: "SET with GET answers the old value, or nil when there was none, also when NX stops the write",
    only: "resp",
    steps: [
      step(["SET", "resp:setget", "1", "GET"], nil),
      step(["SET", "resp:setget", "2", "GET"], bulk("1")),
      step(["SET", "resp:setget", "3", "NX", "GET"], bulk("2")),
      step(["GET", "resp:setget"], entry("2", 2)),
    ],
  },

  // SET option errors
  {
    name: "SET with two expiry options together is refused and writes nothing",
    steps: [
      step({ text: ["SET", "bad:expxat", "v", "EX", "1000", "PXAT", FUTURE], resp: ["SET", "bad:expxat", "v", "PX", "1000", "PXAT", FUTURE] }, fail("ExWithPxat")),
      respOnly(step(["SET", "bad:expxat", "v", "EX", "10", "PX", "10"], fail("ExWithPxat"))),
      step(["GET", "bad:expxat"], missing),
    ],
  },
  {
    name: "SET with NX and XX together is refused and writes nothing",
    steps: [step(["SET", "bad:nxxx", "v", "NX", "XX"], fail("NxWithXx")), step(["GET", "bad:nxxx"], missing)],
  },
  {
    name: "SET with KEEPTTL and an expiry option together is refused and writes nothing",
    steps: [
      step({ text: ["SET", "bad:keepex", "v", "KEEPTTL", "EX", "1000"], resp: ["SET", "bad:keepex", "v", "KEEPTTL", "PX", "1000"] }, fail("KeepttlWithExpiry")),
      step(["SET", "bad:keepex", "v", "PXAT", FUTURE, "KEEPTTL"], fail("KeepttlWithExpiry")),
      respOnly(step(["SET", "bad:keepex", "v", "EX", "10", "KEEPTTL"], fail("KeepttlWithExpiry"))),
      step(["GET", "bad:keepex"], missing),
    ],
  },
  {
    name: "SET with an option given twice is refused in text and writes nothing",
    only: "text",
    steps: [
      step(["SET", "bad:repeat", "v", "NX", "NX"], fail("RepeatedOption")),
      step(["SET", "bad:repeat", "v", "EX", "1000", "EX", "2000"], fail("RepeatedOption")),
      step(["SET", "bad:repeat", "v", "KEEPTTL", "keepttl"], fail("RepeatedOption")),
      step(["GET", "bad:repeat"], missing),
    ],
  },
  {
    name: "SET with a repeated option is allowed in RESP and the last value wins, as in Redis",
    only: "resp",
    steps: [
      step(["SET", "resp:repeat", "1", "EX", "junk", "EX", "50"], written(1)),
      step(["TTL", "resp:repeat"], remaining(inMs(50000))),
      step(["SET", "resp:repeat", "2", "XX", "XX", "KEEPTTL", "KEEPTTL"], written(2)),
      step(["TTL", "resp:repeat"], remaining(inMs(50000))),
    ],
  },
  {
    name: "SET with an unknown option is refused and writes nothing",
    steps: [
      step(["SET", "bad:unknown", "v", "NX", "5"], fail("Syntax")),
      step(["SET", "bad:unknown", "v", "BOGUS"], fail("Syntax")),
      textOnly(step(["SET", "bad:unknown", "v", "PX", "1000"], fail("Syntax"))),
      textOnly(step(["SET", "bad:unknown", "v", "GET"], fail("Syntax"))),
      step(["GET", "bad:unknown"], missing),
    ],
  },
  {
    name: "SET with a relative expiry that is not an integer is refused and writes nothing",
    steps: [
      step(setPx("bad:ex", "v", "1.5"), fail("BadEx")),
      step(setPx("bad:ex", "v", "soon"), fail("BadEx")),
      step(setPx("bad:ex", "v", "1e3"), fail("BadEx")),
      step(setPx("bad:ex", "v", "99999999999999999999"), fail("BadEx")),
      step(setPx("bad:ex", "v", "-0"), fail("BadEx")),
      respOnly(step(["SET", "bad:ex", "v", "EX", "1e3"], fail("BadEx"))),
      step(["GET", "bad:ex"], missing),
    ],
  },
  {
    name: "SET with a relative expiry of zero or less is refused and writes nothing (text: not a positive EX; RESP: an invalid expire time)",
    steps: [
      textOnly(step(["SET", "bad:exzero", "v", "EX", "0"], fail("BadEx"))),
      textOnly(step(["SET", "bad:exzero", "v", "EX", "-5"], fail("BadEx"))),
      respOnly(step(["SET", "bad:exzero", "v", "EX", "0"], fail("InvalidExpireTime"))),
      respOnly(step(["SET", "bad:exzero", "v", "PX", "-5"], fail("InvalidExpireTime"))),
      // Past LLONG_MAX / 1000 seconds Redis refuses too (99999999999999 s, 1e17 ms, it accepts).
      respOnly(step(["SET", "bad:exzero", "v", "EX", "9223372036854776"], fail("InvalidExpireTime"))),
      step(["GET", "bad:exzero"], missing),
    ],
  },
  {
    name: "a SET with a bad option value and a bad combination is refused for the value in text and for the combination in RESP, writing nothing",
    steps: [
      textOnly(step(["SET", "bad:order", "v", "EX", "0", "NX", "XX"], fail("BadEx"))),
      respOnly(step(["SET", "bad:order", "v", "PX", "0", "NX", "XX"], fail("NxWithXx"))),
      step(["GET", "bad:order"], missing),
    ],
  },
  {
    name: "a time with a leading zero is accepted in text and refused in RESP, whose numbers are canonical",
    steps: [
      step(["SET", "opt:lead", "v"], written(1)),
      textOnly(pipe([["PEXPIRE", "opt:lead", "0100000"], applied(true)], [["SET", "opt:lead2", "v", "EX", "0100000"], written(1)], [["SET", "opt:lead3", "v", "PXAT", "0" + FUTURE], written(1)])),
      respOnly(pipe([["PEXPIRE", "opt:lead", "0100000"], fail("BadExpire")], [["SET", "opt:lead2", "v", "PX", "0100000"], fail("BadEx")], [["SET", "opt:lead3", "v", "PXAT", "0" + FUTURE], fail("BadPxat")])),
      textOnly(pipe([["GET", "opt:lead"], entry("v", 1, inMs(100000))], [["GET", "opt:lead2"], entry("v", 1, inMs(100000))], [["GET", "opt:lead3"], entry("v", 1, FUTURE_MS)])),
      respOnly(pipe([["GET", "opt:lead"], entry("v", 1, -1)], [["GET", "opt:lead2"], missing], [["GET", "opt:lead3"], missing])),
    ],
  },
  {
    name: "SET with PXAT that is not an integer is refused and writes nothing",
    steps: [
      step(["SET", "bad:pxat", "v", "PXAT", "tomorrow"], fail("BadPxat")),
      step(["SET", "bad:pxat", "v", "PXAT", "4102444800000.5"], fail("BadPxat")),
      step(["GET", "bad:pxat"], missing),
    ],
  },
  {
    name: "SET with VER that is not an unsigned 64-bit integer is refused and writes nothing",
    only: "text",
    steps: [
      step(["SET", "bad:ver", "v", "VER", "-1"], fail("BadVer")),
      step(["SET", "bad:ver", "v", "VER", "one"], fail("BadVer")),
      step(["SET", "bad:ver", "v", "VER", "18446744073709551616"], fail("BadVer")),
      step(["GET", "bad:ver"], missing),
    ],
  },
  {
    name: "SET with an option missing its value is refused and writes nothing",
    steps: [
      step(["SET", "bad:novalue", "v", "EX"], fail("MissingOptionValue")),
      step(["SET", "bad:novalue", "v", "PXAT"], fail("MissingOptionValue")),
      textOnly(step(["SET", "bad:novalue", "v", "NX", "VER"], fail("MissingOptionValue"))),
      respOnly(step(["SET", "bad:novalue", "v", "NX", "PX"], fail("MissingOptionValue"))),
      step(["GET", "bad:novalue"], missing),
    ],
  },

  // SETNX and GETDEL
  {
    name: "SETNX answers 1 when it wrote and 0 when the key was live",
    only: "resp",
    steps: [step(["SETNX", "resp:setnx", "1"], integer(1)), step(["SETNX", "resp:setnx", "2"], integer(0)), step(["GET", "resp:setnx"], entry("1", 1))],
  },
  {
    name: "GETDEL answers the value and removes the key",
    only: "resp",
    steps: [step(["SET", "resp:getdel", "1"], written(1)), step(["GETDEL", "resp:getdel"], entry("1")), step(["GETDEL", "resp:getdel"], missing), step(["GET", "resp:getdel"], missing)],
  },
  {
    name: "APPEND creates a missing key and adds to a live one, keeping its expiry, one version per write; STRLEN measures it",
    only: "resp",
    steps: [
      step(["APPEND", "str:append", "ab"], integer(2)),
      step(["APPEND", "str:append", "cde"], integer(5)),
      step(["GET", "str:append"], entry("abcde", 2)),
      pipe([["STRLEN", "str:append"], integer(5)], [["STRLEN", "str:append-missing"], integer(0)]),
      step(["PEXPIRE", "str:append", "100000"], applied(true)),
      step(["APPEND", "str:append", "f".repeat(200)], integer(205)),
      step(["GET", "str:append"], entry("abcde" + "f".repeat(200), 3, inMs(100000))),
    ],
  },
  {
    name: "APPEND and SETRANGE past max_value_bytes are refused and change nothing",
    only: "resp",
    steps: [
      step(["SET", "str:toolong", "x".repeat(caseConfig.max_value_bytes - 1)], written(1)),
      step(["APPEND", "str:toolong", "yz"], fail("StringTooLong")),
      step(["SETRANGE", "str:toolong", String(caseConfig.max_value_bytes - 1), "yz"], fail("StringTooLong")),
      step(["SETRANGE", "str:toolong-missing", String(caseConfig.max_value_bytes), "y"], fail("StringTooLong")),
      step(["APPEND", "str:toolong", "y"], integer(caseConfig.max_value_bytes)),
      pipe([["STRLEN", "str:toolong"], integer(caseConfig.max_value_bytes)], [["EXISTS", "str:toolong-missing"], existing(0)]),
    ],
  },
  {
    name: "GETRANGE and SUBSTR cut the value with Redis's index rules; a missing key is an empty string",
    only: "resp",
    steps: [
      step(["SET", "str:range", "HelloWorld"], written(1)),
      pipe([["GETRANGE", "str:range", "0", "4"], bulk("Hello")], [["GETRANGE", "str:range", "-5", "-1"], bulk("World")], [["SUBSTR", "str:range", "3", "100"], bulk("loWorld")]),
      pipe([["GETRANGE", "str:range", "5", "2"], bulk("")], [["GETRANGE", "str:range", "-1", "-5"], bulk("")], [["GETRANGE", "str:range-missing", "0", "-1"], bulk("")]),
      step(["GETRANGE", "str:range", "x", "1"], fail("NotAnIntegerArg")),
    ],
  },
  {
    name: "SETRANGE overwrites at an offset, zero-pads past the end, and writes nothing for an empty value",
    only: "resp",
    steps: [
      step(["SETRANGE", "str:setrange", "3", "ab"], integer(5)),
      step(["GET", "str:setrange"], entry("\0\0\0ab", 1)),
      step(["SETRANGE", "str:setrange", "0", "XY"], integer(5)),
      step(["GET", "str:setrange"], entry("XY\0ab", 2)),
      pipe([["SETRANGE", "str:setrange", "1", ""], integer(5)], [["SETRANGE", "str:setrange-missing", "1", ""], integer(0)], [["EXISTS", "str:setrange-missing"], existing(0)]),
      step(["GET", "str:setrange"], entry("XY\0ab", 2)),
      pipe([["SETRANGE", "str:setrange", "-1", "a"], fail("OffsetOutOfRange")], [["SETRANGE", "str:setrange", "a", "a"], fail("NotAnIntegerArg")]),
    ],
  },
  {
    name: "GETEX answers the value and sets, moves or removes its expiry without a new version",
    only: "resp",
    steps: [
      step(["SET", "str:getex", "v"], written(1)),
      step(["GETEX", "str:getex", "PX", "100000"], bulk("v")),
      step(["GET", "str:getex"], entry("v", 1, inMs(100000))),
      step(["GETEX", "str:getex", "PERSIST"], bulk("v")),
      step(["GET", "str:getex"], entry("v", 1, -1)),
      step(["GETEX", "str:getex", "PXAT", FUTURE], bulk("v")),
      step(["GET", "str:getex"], entry("v", 1, FUTURE_MS)),
      step(["GETEX", "str:getex", "EX", "0"], fail("InvalidExpireTime")),
      pipe([["GETEX", "str:getex", "KEEPTTL"], fail("Syntax")], [["GETEX", "str:getex-missing", "EX", "x"], nil]),
      step(["GETEX", "str:getex", "PXAT", PAST], bulk("v")),
      step(["GET", "str:getex"], missing),
    ],
  },
  {
    name: "GETSET answers the old value and sets the new one without expiry",
    only: "resp",
    steps: [
      step(["GETSET", "str:getset", "1"], nil),
      step(["SET", "str:getset", "2", "PX", "100000"], written(2)),
      step(["GETSET", "str:getset", "3"], bulk("2")),
      step(["GET", "str:getset"], entry("3", 3, -1)),
    ],
  },
  {
    name: "SETEX and PSETEX set a value with an expiry in seconds and milliseconds; a time that is not positive is refused",
    only: "resp",
    steps: [
      step(["SETEX", "str:setex", "100", "v"], written(1)),
      step(["GET", "str:setex"], entry("v", 1, inMs(100000))),
      step(["PSETEX", "str:setex", "200000", "w"], written(2)),
      step(["GET", "str:setex"], entry("w", 2, inMs(200000))),
      pipe([["SETEX", "str:setex", "0", "x"], fail("InvalidExpireTime")], [["PSETEX", "str:setex", "-1", "x"], fail("InvalidExpireTime")], [["SETEX", "str:setex", "1.5", "x"], fail("BadEx")]),
      step(["GET", "str:setex"], entry("w", 2, inMs(200000))),
    ],
  },
  {
    name: "INCRBYFLOAT adds in Redis's long double arithmetic, keeps the expiry, and refuses what is not a float",
    only: "resp",
    steps: [
      step(["INCRBYFLOAT", "str:float", "0.1"], bulk("0.1")),
      step(["INCRBYFLOAT", "str:float", "0.2"], bulk("0.3")),
      step(["PEXPIRE", "str:float", "100000"], applied(true)),
      step(["INCRBYFLOAT", "str:float", "-5e-1"], bulk("-0.2")),
      step(["GET", "str:float"], entry("-0.2", 3, inMs(100000))),
      pipe([["INCRBYFLOAT", "str:float", "abc"], fail("NotAFloat")], [["INCRBYFLOAT", "str:float", "inf"], fail("FloatNanOrInfinity")]),
      step(["SET", "str:float-text", "hello"], written(1)),
      step(["INCRBYFLOAT", "str:float-text", "1"], fail("NotAFloat")),
      step(["GET", "str:float"], entry("-0.2", 3, inMs(100000))),
    ],
  },
  {
    name: "LCS answers the longest common subsequence or its length; LEN with IDX is refused",
    only: "resp",
    steps: [
      step(["MSET", "str:lcs1", "ohmytext", "str:lcs2", "mynewtext"], writtenAll(2)),
      pipe([["LCS", "str:lcs1", "str:lcs2"], bulk("mytext")], [["LCS", "str:lcs1", "str:lcs2", "LEN"], integer(6)], [["LCS", "str:lcs1", "str:lcs-missing"], bulk("")]),
      pipe([["LCS", "str:lcs1", "str:lcs2", "LEN", "IDX"], fail("LcsLenAndIdx")], [["LCS", "str:lcs1", "str:lcs2", "FOO"], fail("Syntax")]),
    ],
  },
  {
    name: "LCS refuses two values whose length table would pass max_value_bytes",
    only: "resp",
    steps: [
      step(["MSET", "str:lcsbig1", "a".repeat(100), "str:lcsbig2", "a".repeat(100)], writtenAll(2)),
      step(["LCS", "str:lcsbig1", "str:lcsbig2", "LEN"], integer(100)),
      step(["APPEND", "str:lcsbig1", "a".repeat(100)], integer(200)),
      step(["LCS", "str:lcsbig1", "str:lcsbig1", "LEN"], fail("LcsTooLarge")),
    ],
  },
  {
    name: "SETBIT sets a bit and answers the old one, writing only when the value changes; GETBIT reads it",
    only: "resp",
    steps: [
      step(["SETBIT", "str:bit", "7", "1"], integer(0)),
      step(["GET", "str:bit"], entry("\x01", 1)),
      step(["SETBIT", "str:bit", "7", "1"], integer(1)),
      step(["GET", "str:bit"], entry("\x01", 1)),
      step(["SETBIT", "str:bit", "9", "1"], integer(0)),
      step(["GET", "str:bit"], entry("\x01\x40", 2)),
      pipe([["GETBIT", "str:bit", "9"], integer(1)], [["GETBIT", "str:bit", "8"], integer(0)], [["GETBIT", "str:bit", "1000"], integer(0)], [["GETBIT", "str:bit-missing", "0"], integer(0)]),
      pipe([["SETBIT", "str:bit", "-1", "1"], fail("BitOffset")], [["SETBIT", "str:bit", String(caseConfig.max_value_bytes * 8), "1"], fail("BitOffset")], [["SETBIT", "str:bit", "1", "2"], fail("BitValue")]),
      step(["GETBIT", "str:bit", "x"], fail("BitOffset")),
    ],
  },
  {
    name: "BITCOUNT counts set bits over byte or bit ranges, BITPOS finds the first set or clear one",
    only: "resp",
    steps: [
      step(["SET", "str:bits", "foobar"], written(1)),
      pipe([["BITCOUNT", "str:bits"], integer(26)], [["BITCOUNT", "str:bits", "1", "1"], integer(6)], [["BITCOUNT", "str:bits", "5", "30", "BIT"], integer(17)], [["BITCOUNT", "str:bits-missing"], integer(0)]),
      pipe([["BITCOUNT", "str:bits", "0"], fail("Syntax")], [["BITCOUNT", "str:bits", "0", "1", "WORD"], fail("Syntax")]),
      step(["SET", "str:bitpos", "\xff\xf0\x00"], written(1)),
      pipe([["BITPOS", "str:bitpos", "0"], integer(12)], [["BITPOS", "str:bitpos", "1", "1"], integer(8)], [["BITPOS", "str:bitpos", "1", "2", "-1"], integer(-1)], [["BITPOS", "str:bitpos", "0", "0", "11", "BIT"], integer(-1)]),
      pipe([["BITPOS", "str:bits-missing", "0"], integer(0)], [["BITPOS", "str:bits-missing", "1"], integer(-1)], [["BITPOS", "str:bitpos", "2"], fail("BitposBit")]),
    ],
  },
  {
    name: "BITOP stores the bitwise result of its sources at a new version without expiry, and deletes the destination when every source is empty",
    only: "resp",
    steps: [
      step(["MSET", "str:bitop1", "\xf0\x0f", "str:bitop2", "\xff"], writtenAll(2)),
      step(["SET", "str:bitop-dest", "old", "PX", "100000"], written(1)),
      step(["BITOP", "AND", "str:bitop-dest", "str:bitop1", "str:bitop2"], integer(2)),
      step(["GET", "str:bitop-dest"], entry("\xf0\x00", 2, -1)),
      step(["BITOP", "NOT", "str:bitop-dest", "str:bitop1"], integer(2)),
      step(["GET", "str:bitop-dest"], entry("\x0f\xf0", 3, -1)),
      pipe([["BITOP", "NOT", "str:bitop-dest", "str:bitop1", "str:bitop2"], fail("BitopNotOneKey")], [["BITOP", "NAND", "str:bitop-dest", "str:bitop1"], fail("Syntax")]),
      step(["BITOP", "OR", "str:bitop-dest", "str:bitop-missing"], integer(0)),
      step(["GET", "str:bitop-dest"], missing),
    ],
  },

  // Versions
  {
    name: "every successful write of a live key increments its version",
    steps: [
      step(["SET", "ver:bump", "5"], written(1)),
      step(["SET", "ver:bump", "6"], written(2)),
      step(["INCR", "ver:bump"], integer(7)),
      step(["MSET", "ver:bump", "9"], writtenAll(1)),
      step(["DECR", "ver:bump"], integer(8)),
      step(["GET", "ver:bump"], entry("8", 5)),
    ],
  },
  {
    name: "counting by a delta and MSET add 1 to the version as every write does, and PEXPIRE keeps it",
    steps: [
      step(["INCR", "ver:n"], integer(1)),
      step(incrBy("ver:n", "5"), integer(6)),
      step(["GET", "ver:n"], entry("6", 2)),
      pipe([["SET", "ver:a", "x"], written(1)], [["SET", "ver:a", "yy"], written(2)]),
      step(["MSET", "ver:a", "1", "ver:b", "2"], writtenAll(2)),
      step(["MGET", "ver:a", "ver:b"], entries(item("ver:a", "1", 3), item("ver:b", "2", 1))),
      step(["PEXPIRE", "ver:a", "100000"], applied(true)),
      step(["GET", "ver:a"], entry("1", 3, inMs(100000))),
      respOnly(step(["EXPIRE", "ver:b", "100"], applied(true))),
      respOnly(step(["GET", "ver:b"], entry("2", 1, inMs(100000)))),
    ],
  },
  {
    name: "a key's version restarts at 1 after DEL",
    steps: [pipe([["SET", "ver:del", "a"], written(1)], [["SET", "ver:del", "b"], written(2)]), step(["DEL", "ver:del"], deleted(1)), step(["SET", "ver:del", "c"], written(1)), step(["GET", "ver:del"], entry("c", 1))],
  },
  {
    name: "a key's version restarts at 1 after GETDEL",
    only: "resp",
    steps: [pipe([["SET", "ver:getdel", "a"], written(1)], [["SET", "ver:getdel", "b"], written(2)]), step(["GETDEL", "ver:getdel"], entry("b", 2)), step(["SET", "ver:getdel", "z"], written(1)), step(["GET", "ver:getdel"], entry("z", 1))],
  },
  {
    name: "a key's version restarts at 1 after it expires",
    steps: [
      pipe([["SET", "ver:expiry", "a"], written(1)], [["SET", "ver:expiry", "b"], written(2)]),
      step(["SET", "ver:expiry", "c", "PXAT", PAST], written(3)),
      step(["SET", "ver:expiry", "d"], written(1)),
      step(["GET", "ver:expiry"], entry("d", 1)),
    ],
  },
  {
    name: "a key's version restarts at 1 after PEXPIRE 0 removed it",
    steps: [
      pipe([["SET", "ver:expire0", "a"], written(1)], [["SET", "ver:expire0", "b"], written(2)]),
      step(["PEXPIRE", "ver:expire0", "0"], applied(true)),
      step(["INCR", "ver:expire0"], integer(1)),
      step(["GET", "ver:expire0"], entry("1", 1)),
    ],
  },

  // DEL and EXISTS
  {
    name: "DEL of a live key deletes 1 and the key is gone",
    steps: [step(["SET", "del:live", "v"], written(1)), step(["DEL", "del:live"], deleted(1)), pipe([["GET", "del:live"], missing], [["DEL", "del:live"], deleted(0)])],
  },
  { name: "DEL of a missing key deletes 0", steps: [step(["DEL", "del:missing"], deleted(0))] },
  {
    name: "DEL of an expired key deletes 0",
    steps: [step(["SET", "del:expired", "v", "PXAT", PAST], written(1)), step(["DEL", "del:expired"], deleted(0))],
  },
  {
    name: "EXISTS counts 1 for a live key and 0 for a missing or expired one",
    steps: [
      pipe([["SET", "exists:live", "v"], written(1)], [["SET", "exists:expired", "v", "PXAT", PAST], written(1)]),
      pipe([["EXISTS", "exists:live"], existing(1)], [["EXISTS", "exists:missing"], existing(0)], [["EXISTS", "exists:expired"], existing(0)]),
    ],
  },
  {
    name: "DEL counts the live keys it removed once each, and EXISTS counts a key named twice twice",
    only: "resp",
    steps: [
      step(["MSET", "multi:a", "1", "multi:b", "2"], writtenAll(2)),
      step(["EXISTS", "multi:a", "multi:a", "multi:b", "multi:zz"], existing(3)),
      step(["DEL", "multi:a", "multi:a", "multi:zz", "multi:b"], deleted(2)),
      step(["EXISTS", "multi:a", "multi:b"], existing(0)),
    ],
  },

  // Expiry: PEXPIRE (text EXPIRE), PTTL (text TTL), and RESP's seconds forms
  {
    name: "PEXPIRE sets a time to live and does not change the version",
    steps: [
      pipe([["SET", "exp:set", "v"], written(1)], [["SET", "exp:set", "w"], written(2)]),
      step(["PEXPIRE", "exp:set", "100000"], applied(true)),
      step(["PTTL", "exp:set"], remaining(inMs(100000))),
      step(["GET", "exp:set"], entry("w", 2, inMs(100000))),
      step(["MGET", "exp:set", "exp:setnone"], entries(item("exp:set", "w", 2, inMs(100000)), absent("exp:setnone"))),
    ],
  },
  {
    name: "PEXPIRE replaces an earlier expiry",
    steps: [step(setPx("exp:replace", "v", "100000"), written(1)), step(["PEXPIRE", "exp:replace", "5000000"], applied(true)), step(["PTTL", "exp:replace"], remaining(inMs(5000000)))],
  },
  {
    name: "an expiry time that is not in the future removes the key at once and is applied",
    steps: [
      pipe([["SET", "exp:zero", "v"], written(1)], [["SET", "exp:negative", "v"], written(1)]),
      pipe([["PEXPIRE", "exp:zero", "0"], applied(true)], [["PEXPIRE", "exp:negative", "-5"], applied(true)]),
      pipe([["EXISTS", "exp:zero"], existing(0)], [["GET", "exp:negative"], missing], [["PTTL", "exp:zero"], remaining(-2)]),
      respOnly(pipe([["SET", "exp:zero", "v"], written(1)], [["EXPIRE", "exp:zero", "0"], applied(true)], [["EXISTS", "exp:zero"], existing(0)])),
      respOnly(pipe([["SET", "exp:negative", "v"], written(1)], [["PEXPIRE", "exp:negative", "-100"], applied(true)], [["EXISTS", "exp:negative"], existing(0)])),
    ],
  },
  {
    name: "PEXPIRE of a missing or expired key is not applied",
    steps: [
      step(["PEXPIRE", "exp:missing", "1000"], applied(false)),
      step(["SET", "exp:expired", "v", "PXAT", PAST], written(1)),
      step(["PEXPIRE", "exp:expired", "1000"], applied(false)),
      respOnly(step(["EXPIRE", "exp:missing", "100"], applied(false))),
    ],
  },
  {
    name: "PEXPIRE with a time that is not an integer is refused and leaves the key unchanged",
    steps: [
      step(["SET", "exp:bad", "v"], written(1)),
      step(["PEXPIRE", "exp:bad", "soon"], fail("BadExpire")),
      step(["PEXPIRE", "exp:bad", "1.5"], fail("BadExpire")),
      respOnly(step(["EXPIRE", "exp:bad", "ten"], fail("BadExpire"))),
      pipe([["PTTL", "exp:bad"], remaining(-1)], [["GET", "exp:bad"], entry("v", 1)]),
    ],
  },
  {
    name: "EXPIRE sets a time to live in seconds, PEXPIRE in milliseconds",
    only: "resp",
    steps: [
      step(["SET", "resp:expire", "1"], written(1)),
      step(["EXPIRE", "resp:expire", "100"], applied(true)),
      step(["TTL", "resp:expire"], remaining(inMs(100000))),
      step(["PEXPIRE", "resp:expire", "5000"], applied(true)),
      step(["PTTL", "resp:expire"], remaining(inMs(5000))),
    ],
  },
  {
    name: "EXPIRE NX, XX, GT and LT are not applied when their condition fails, and bad combinations are refused",
    only: "resp",
    steps: [
      step(["SET", "resp:cond", "1"], written(1)),
      step(["EXPIRE", "resp:cond", "100", "XX"], applied(false)),
      step(["EXPIRE", "resp:cond", "100", "GT"], applied(false)),
      step(["EXPIRE", "resp:cond", "100", "NX"], applied(true)),
      step(["EXPIRE", "resp:cond", "200", "NX"], applied(false)),
      step(["EXPIRE", "resp:cond", "50", "GT"], applied(false)),
      step(["EXPIRE", "resp:cond", "200", "GT"], applied(true)),
      step(["EXPIRE", "resp:cond", "300", "LT"], applied(false)),
      step(["EXPIRE", "resp:cond", "10", "lt"], applied(true)),
      step(["TTL", "resp:cond"], remaining(inMs(10000))),
      step(["EXPIRE", "resp:cond", "10", "NX", "GT"], fail("ExpireNxAndOther")),
      step(["EXPIRE", "resp:cond", "10", "GT", "LT"], fail("ExpireGtAndLt")),
      step(["EXPIRE", "resp:cond", "10", "SOON"], fail("UnsupportedOption", "SOON")),
      step(["PEXPIRE", "resp:cond", "10", "2"], fail("UnsupportedOption", "2")),
      step(["TTL", "resp:cond"], remaining(inMs(10000))),
    ],
  },
  {
    name: "PTTL of a missing key is -2",
    steps: [step(["PTTL", "ttl:missing"], remaining(-2)), respOnly(step(["TTL", "ttl:missing"], remaining(-2)))],
  },
  {
    name: "PTTL of a key without expiry is -1",
    steps: [step(["SET", "ttl:none", "v"], written(1)), step(["PTTL", "ttl:none"], remaining(-1)), respOnly(step(["TTL", "ttl:none"], remaining(-1)))],
  },
  {
    name: "PTTL of a key with an expiry is the milliseconds left",
    steps: [step(setPx("ttl:some", "v", "30000"), written(1)), step(["PTTL", "ttl:some"], remaining(inMs(30000)))],
  },
  {
    name: "TTL rounds the seconds left half up, as Redis does",
    only: "resp",
    steps: [step(["SET", "ttl:round", "1", "PX", "100900"], written(1)), step(["TTL", "ttl:round"], remaining(inMs(100900))), step(["TTL", "ttl:round"], integer(101))],
  },
  {
    name: "PERSIST removes an expiry and answers 1, else 0",
    only: "resp",
    steps: [
      step(["SET", "resp:persist", "1", "EX", "100"], written(1)),
      step(["PERSIST", "resp:persist"], applied(true)),
      step(["TTL", "resp:persist"], remaining(-1)),
      step(["PERSIST", "resp:persist"], applied(false)),
      step(["PERSIST", "resp:persistzz"], applied(false)),
      step(["GET", "resp:persist"], entry("1", 1, -1)),
    ],
  },

  // Counters
  {
    name: "INCR of a missing key counts from 0 and creates the key at version 1 without expiry",
    steps: [step(["INCR", "incr:new"], integer(1)), pipe([["GET", "incr:new"], entry("1", 1)], [["PTTL", "incr:new"], remaining(-1)])],
  },
  {
    name: "DECR of a missing key counts from 0",
    steps: [step(["DECR", "incr:newdecr"], integer(-1)), step(["GET", "incr:newdecr"], entry("-1", 1))],
  },
  {
    name: "INCR and DECR add and subtract 1, and a delta when given (text INCR k d, RESP INCRBY k d)",
    steps: [
      step(["SET", "incr:delta", "10"], written(1)),
      pipe([["INCR", "incr:delta"], integer(11)], [incrBy("incr:delta", "5"), integer(16)], [["DECR", "incr:delta"], integer(15)], [decrBy("incr:delta", "20"), integer(-5)]),
      pipe([incrBy("incr:delta", "-10"), integer(-15)], [decrBy("incr:delta", "-15"), integer(0)], [incrBy("incr:delta", "0"), integer(0)]),
      step(["GET", "incr:delta"], entry("0", 8)),
    ],
  },
  {
    name: "INCR of a value that is not an integer is refused and changes nothing",
    steps: [
      step(["SET", "incr:text", "abc"], written(1)),
      pipe([["INCR", "incr:text"], fail("NotAnInteger")], [decrBy("incr:text", "2"), fail("NotAnInteger")]),
      step(["GET", "incr:text"], entry("abc", 1)),
    ],
  },
  {
    name: "INCR of a value that is not a canonical signed 64-bit decimal is refused",
    steps: [
      pipe(
        ...["007", "+1", " 1", "", "1.0", "-0", "9223372036854775808", "1\r\n"].map((v, i) => [["SET", `incr:nc${i + 1}`, v], written(1)] as const),
      ),
      pipe(...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => [["INCR", `incr:nc${i}`], fail("NotAnInteger")] as const)),
      step(["GET", "incr:nc1"], entry("007", 1)),
    ],
  },
  {
    name: "INCR with a delta that is not a signed 64-bit integer is refused and creates nothing",
    steps: [
      step(incrBy("incr:baddelta", "abc"), fail("BadDelta")),
      step(incrBy("incr:baddelta", "9223372036854775808"), fail("BadDelta")),
      step(decrBy("incr:baddelta", "1.5"), fail("BadDelta")),
      step(incrBy("incr:baddelta", "+1"), fail("BadDelta")),
      step(incrBy("incr:baddelta", "1.5"), fail("BadDelta")),
      step(["EXISTS", "incr:baddelta"], existing(0)),
    ],
  },
  {
    name: "INCR past the largest signed 64-bit integer is refused as an overflow and writes nothing",
    steps: [
      step(["SET", "incr:max", I64_MAX], written(1)),
      step(["INCR", "incr:max"], fail("Overflow")),
      pipe([incrBy("incr:max", I64_MAX), fail("Overflow")], [decrBy("incr:max", "-1"), fail("Overflow")]),
      step(["GET", "incr:max"], entry(I64_MAX, 1)),
    ],
  },
  {
    name: "DECR past the smallest signed 64-bit integer is refused as an overflow and writes nothing",
    steps: [
      step(["SET", "incr:min", I64_MIN], written(1)),
      pipe([["DECR", "incr:min"], fail("Overflow")], [incrBy("incr:min", "-1"), fail("Overflow")], [decrBy("incr:min", I64_MAX), fail("Overflow")]),
      step(["GET", "incr:min"], entry(I64_MIN, 1)),
    ],
  },
  {
    name: "subtracting -2^63 is refused and does not create the key (text: an overflow; RESP's DECRBY: before reading the key)",
    steps: [
      textOnly(step(["DECR", "incr:overmissing", I64_MIN], fail("Overflow"))),
      respOnly(step(["DECRBY", "incr:overmissing", I64_MIN], fail("DecrementOverflow"))),
      step(["EXISTS", "incr:overmissing"], existing(0)),
      respOnly(step(["SET", "incr:overlive", "0"], written(1))),
      respOnly(step(["DECRBY", "incr:overlive", I64_MIN], fail("DecrementOverflow"))),
      respOnly(step(["GET", "incr:overlive"], entry("0", 1))),
    ],
  },
  {
    name: "INCR and DECR are exact across the whole signed 64-bit range",
    steps: [
      step(["SET", "incr:edge1", "9223372036854775806"], written(1)),
      step(["INCR", "incr:edge1"], integer(I64_MAX)),
      step(["SET", "incr:edge2", "-9223372036854775807"], written(1)),
      step(["DECR", "incr:edge2"], integer(I64_MIN)),
      pipe(
        [incrBy("incr:edge3", I64_MAX), integer(I64_MAX)],
        [decrBy("incr:edge3", I64_MAX), integer(0)],
        [decrBy("incr:edge3", I64_MAX), integer("-9223372036854775807")],
        [["DECR", "incr:edge3"], integer(I64_MIN)],
      ),
      step(["SET", "incr:edge4", "9007199254740992"], written(1)),
      pipe([["INCR", "incr:edge4"], integer("9007199254740993")], [["INCR", "incr:edge4"], integer("9007199254740994")]),
      step(["SET", "incr:edge5", "999999999999999"], written(1)),
      pipe([["INCR", "incr:edge5"], integer("1000000000000000")], [["INCR", "incr:edge5"], integer("1000000000000001")], [decrBy("incr:edge5", "2000000000000000"), integer("-999999999999999")]),
      pipe([incrBy("incr:edge6", I64_MIN), integer(I64_MIN)], [incrBy("incr:edge6", I64_MAX), integer(-1)]),
      pipe([decrBy("incr:edge7", I64_MAX), integer("-9223372036854775807")], [["DECR", "incr:edge7"], integer(I64_MIN)], [["DECR", "incr:edge7"], fail("Overflow")]),
      step(["GET", "incr:edge7"], entry(I64_MIN, 2)),
    ],
  },
  {
    name: "INCR keeps the key's expiry and increments its version",
    steps: [
      step(["SET", "incr:ttl", "5", "PXAT", FUTURE], written(1)),
      step(["INCR", "incr:ttl"], integer(6)),
      step(["GET", "incr:ttl"], entry("6", 2, FUTURE_MS)),
      step(decrBy("incr:ttl", "10"), integer(-4)),
      step(["GET", "incr:ttl"], entry("-4", 3, FUTURE_MS)),
      respOnly(step(["SET", "incr:ttlsec", "1", "EX", "100"], written(1))),
      respOnly(step(["INCR", "incr:ttlsec"], integer(2))),
      respOnly(step(["TTL", "incr:ttlsec"], remaining(inMs(100000)))),
    ],
  },
  {
    name: "INCR of an expired key counts from 0, at version 1, without expiry",
    steps: [step(["SET", "incr:expired", "41", "PXAT", PAST], written(1)), step(["INCR", "incr:expired"], integer(1)), step(["GET", "incr:expired"], entry("1", 1, -1))],
  },

  // MGET
  {
    name: "MGET answers one item per key in request order, nothing for missing and expired keys",
    steps: [
      pipe([["SET", "mget:a", "hello"], written(1)], [["SET", "mget:c", "gone", "PXAT", PAST], written(1)]),
      step(["MGET", "mget:a", "mget:b", "mget:c", "mget:a"], entries(item("mget:a", "hello"), absent("mget:b"), absent("mget:c"), item("mget:a", "hello"))),
    ],
  },
  {
    name: "MGET shows each key's version and expiry and returns binary values exactly",
    steps: [
      pipe([["SET", "mget:v", "x"], written(1)], [["SET", "mget:v", "a\r\n\0b", "PXAT", FUTURE], written(2)]),
      step(["MGET", "mget:v"], entries(item("mget:v", "a\r\n\0b", 2, FUTURE_MS))),
    ],
  },
  {
    name: "MGET with an invalid or too long key answers one error and no blocks",
    only: "text",
    steps: [
      step(["SET", "mget:ok", "v"], written(1)),
      step(["MGET", "mget:ok", "mget:\x01bad"], fail("BadKey")),
      step(["MGET", "mget:ok", key257], fail("KeyTooLarge")),
      step(["PING"], pong),
    ],
  },

  // MSET
  {
    name: "MSET writes every pair",
    steps: [
      step(["MSET", "mset:a", "x", "mset:b", "y\r\nz"], writtenAll(2)),
      pipe([["GET", "mset:a"], entry("x", 1)], [["GET", "mset:b"], entry("y\r\nz", 1)]),
    ],
  },
  {
    name: "MSET increments versions of live keys and clears their expiry",
    steps: [
      step(setPx("mset:live", "old", "100000"), written(1)),
      step(["MSET", "mset:live", "new", "mset:fresh", "one"], writtenAll(2)),
      pipe([["GET", "mset:live"], entry("new", 2, -1)], [["GET", "mset:fresh"], entry("one", 1, -1)], [["PTTL", "mset:live"], remaining(-1)]),
    ],
  },
  {
    name: "MSET with empty values stores empty values",
    steps: [
      step(["MSET", "mset:e1", "", "mset:e2", ""], writtenAll(2)),
      pipe([["GET", "mset:e1"], entry("")], [["GET", "mset:e2"], entry("")]),
      step(["MGET", "mset:e1", "mset:e3", "mset:e2"], entries(item("mset:e1", ""), absent("mset:e3"), item("mset:e2", ""))),
    ],
  },
  {
    name: "MSET naming one key twice writes it twice: the last value wins and its version goes up by 2",
    steps: [step(["MSET", "mset:twice", "a", "mset:twice", "b"], writtenAll(2)), step(["GET", "mset:twice"], entry("b", 2))],
  },
  {
    name: "MSET with a key holding DEL in the middle is refused whole in text, where such a key is invalid",
    only: "text",
    steps: [
      step(["SET", "mset:bk1", "old"], written(1)),
      step(["MSET", "mset:bk1", "x", "mset:b\x7fk", "y", "mset:bk3", "z"], fail("BadKey")),
      pipe([["GET", "mset:bk1"], entry("old", 1)], [["GET", "mset:bk3"], missing]),
    ],
  },
  {
    name: "MSET with a too long key in the middle is refused and changes no key",
    steps: [
      step(["SET", "mset:lk1", "old"], written(1)),
      step(["MSET", "mset:lk1", "x", key257, "y", "mset:lk3", "z"], fail("KeyTooLarge")),
      pipe([["GET", "mset:lk1"], entry("old", 1)], [["GET", "mset:lk3"], missing]),
    ],
  },
  {
    name: "MSET with an empty key is refused and changes no key",
    only: "resp",
    steps: [step(["MSET", "mset:ek1", "1", "", "2"], fail("EmptyKey")), step(["EXISTS", "mset:ek1"], existing(0))],
  },
  {
    name: "MSET with a key and no value is refused for its number of arguments",
    only: "resp",
    steps: [step(["MSET", "mset:kv1", "1", "mset:kv2"], arity), step(["EXISTS", "mset:kv1", "mset:kv2"], existing(0))],
  },
  {
    name: "MSETNX writes every pair only when no key is live, else none",
    only: "resp",
    steps: [
      step(["MSETNX", "mset:nx1", "1", "mset:nx2", "2"], integer(1)),
      step(["MSETNX", "mset:nx2", "3", "mset:nx3", "4"], integer(0)),
      step(["MGET", "mset:nx1", "mset:nx2", "mset:nx3"], entries(item("mset:nx1", "1"), item("mset:nx2", "2"), absent("mset:nx3"))),
      step(["MSETNX", "mset:nx4", "1", "mset:nx5"], arity),
    ],
  },

  // Keys
  {
    name: "a key of exactly max_key_bytes is accepted",
    steps: [step(["SET", key256, "v"], written(1)), pipe([["GET", key256], entry("v")], [["EXISTS", key256], existing(1)])],
  },
  {
    name: "a key longer than max_key_bytes cannot be written; text refuses every command naming it, RESP reads it as missing",
    steps: [
      step(["SET", key257, "v"], fail("KeyTooLarge")),
      pipe([["INCR", key257], fail("KeyTooLarge")], [decrBy(key257, "2"), fail("KeyTooLarge")], [["MSET", key257, "v"], fail("KeyTooLarge")]),
      textOnly(pipe([["GET", key257], fail("KeyTooLarge")], [["DEL", key257], fail("KeyTooLarge")], [["EXISTS", key257], fail("KeyTooLarge")], [["PEXPIRE", key257, "10"], fail("KeyTooLarge")], [["PTTL", key257], fail("KeyTooLarge")], [["MGET", key257], fail("KeyTooLarge")])),
      respOnly(pipe([["GET", key257], missing], [["DEL", key257], deleted(0)], [["EXISTS", key257], existing(0)], [["PEXPIRE", key257, "10"], applied(false)], [["PTTL", key257], remaining(-2)], [["MGET", key257], entries(absent(key257))])),
      respOnly(pipe([["SETNX", key257, "v"], fail("KeyTooLarge")], [["INCRBY", key257, "1"], fail("KeyTooLarge")])),
      step(["PING"], pong),
    ],
  },
  {
    name: "the empty key cannot be written in RESP and reads as missing",
    only: "resp",
    steps: [
      pipe([["SET", "", "1"], fail("EmptyKey")], [["INCR", ""], fail("EmptyKey")], [["SETNX", "", "1"], fail("EmptyKey")]),
      pipe([["GET", ""], missing], [["DEL", "", key257], deleted(0)], [["EXISTS", ""], existing(0)]),
      pipe([["MGET", "", "resp:nonempty"], entries(absent(""), absent("resp:nonempty"))], [["PTTL", ""], remaining(-2)], [["GETDEL", ""], missing], [["PEXPIRE", "", "10"], applied(false)]),
    ],
  },
  {
    name: "a key holding a control character or DEL is refused as invalid in text",
    only: "text",
    steps: [
      step(["GET", "key:\x01ctl"], fail("BadKey")),
      step(["SET", "key:\x00nul", "v"], fail("BadKey")),
      step(["SET", "key:\x7fdel", "v"], fail("BadKey")),
      step(["GET", "key:cr\rx"], fail("BadKey")),
      pipe(
        [["DEL", "\x1b[0m"], fail("BadKey")],
        [["EXISTS", "\x1f"], fail("BadKey")],
        [["PEXPIRE", "a\x7f", "5"], fail("BadKey")],
        [["PTTL", "\x7f"], fail("BadKey")],
        [["INCR", "\x02"], fail("BadKey")],
        [["DECR", "\x03"], fail("BadKey")],
      ),
      step(["PING"], pong),
    ],
  },
  {
    name: "RESP keys may hold any bytes, spaces and control characters included",
    only: "resp",
    steps: ["with space", "tab\there", "\0\x01\x7f", "\r\n", "\xff\xfe", "resp:\x01ctl", "resp:cr\rx"].flatMap((key) => [step(["SET", key, key], written(1)), step(["GET", key], entry(key))]),
  },
  {
    name: "a key of UTF-8 bytes is accepted and kept exactly",
    steps: [
      step(["SET", "key:\xc3\xa9t\xc3\xa9:\xe2\x82\xac", "v"], written(1)),
      step(["GET", "key:\xc3\xa9t\xc3\xa9:\xe2\x82\xac"], entry("v")),
      step(["MGET", "key:\xc3\xa9t\xc3\xa9:\xe2\x82\xac"], entries(item("key:\xc3\xa9t\xc3\xa9:\xe2\x82\xac", "v"))),
      step(["GET", "key:\xc3\xa9t\xc3\xa9:\xe2\x82"], missing),
    ],
  },
  {
    name: "keys are case-sensitive",
    steps: [step(["SET", "key:Case", "v"], written(1)), pipe([["GET", "key:case"], missing], [["GET", "KEY:CASE"], missing], [["GET", "key:Case"], entry("v")])],
  },

  // Command names and arity
  {
    name: "an unknown command is refused and the connection stays usable",
    steps: [
      step(["FLY"], unknownCommand),
      pipe([["GETT", "cmd:unknown"], unknownCommand], [["G3T", "cmd:unknown"], unknownCommand], [["ABCDEFGHIJKLMNOP"], unknownCommand], [["\x01"], unknownCommand]),
      step(["FOO", "a", "b"], unknownCommand),
      step(["PING"], pong),
    ],
  },
  {
    name: "a command with the wrong number of arguments is refused for it",
    steps: [
      pipe([["GET"], arity], [["GET", "cmd:a", "cmd:b"], arity], [["DEL"], arity], [["EXISTS"], arity], [["PING", "a", "b"], arity]),
      pipe([["PEXPIRE", "cmd:a"], arity], [["PTTL"], arity], [["PTTL", "cmd:a", "cmd:b"], arity], [["INCR"], arity], [["DECR"], arity]),
      pipe([["MGET"], arity], [["MSET"], arity], [["SET"], arity], [["SET", "cmd:a"], arity]),
      textOnly(pipe([["PING", "x"], arity], [["DEL", "cmd:a", "cmd:b"], arity], [["EXISTS", "cmd:a", "cmd:b"], arity], [["PEXPIRE", "cmd:a", "1", "2"], arity], [["INCR", "cmd:a", "1", "2"], arity], [["DECR", "cmd:a", "1", "2"], arity], [["STATS", "now"], arity])),
      respOnly(pipe([["INCR", "cmd:a", "1"], arity], [["INCRBY", "cmd:a"], arity], [["SETNX", "cmd:a"], arity], [["GETDEL"], arity], [["ECHO"], arity], [["PERSIST"], arity], [["TTL"], arity])),
      pipe([["PING"], pong], [["EXISTS", "cmd:a"], existing(0)]),
    ],
  },
  {
    name: "the string and bit commands are refused with the wrong number of arguments",
    only: "resp",
    steps: [
      pipe([["APPEND", "cmd:s"], arity], [["STRLEN"], arity], [["GETRANGE", "cmd:s", "0"], arity], [["SUBSTR", "cmd:s", "0", "1", "2"], arity], [["SETRANGE", "cmd:s", "0"], arity], [["GETEX"], arity]),
      pipe([["GETSET", "cmd:s"], arity], [["SETEX", "cmd:s", "1"], arity], [["PSETEX", "cmd:s", "1"], arity], [["MSETNX", "cmd:s"], arity], [["INCRBYFLOAT", "cmd:s"], arity], [["LCS", "cmd:s"], arity]),
      pipe([["SETBIT", "cmd:s", "1"], arity], [["GETBIT", "cmd:s"], arity], [["BITCOUNT"], arity], [["BITPOS", "cmd:s"], arity], [["incrbyfloat", "cmd:s", "1", "2"], arity]),
      step(["EXISTS", "cmd:s"], existing(0)),
    ],
  },
  {
    name: "command names and option words are case-insensitive",
    steps: [
      pipe([["ping"], pong], [["pInG"], pong]),
      step({ text: ["set", "cmd:case", "v", "ex", "100000", "nx"], resp: ["set", "cmd:case", "v", "px", "100000", "nx"] }, written(1)),
      step({ text: ["Set", "cmd:case", "w", "Xx", "Ver", "1", "KeepTTL"], resp: ["Set", "cmd:case", "w", "Xx", "KeepTTL"] }, written(2)),
      step(["get", "cmd:case"], entry("w", 2, inMs(100000))),
      step(["pttl", "cmd:case"], remaining(inMs(100000))),
      pipe([["pexpire", "cmd:case", "200000"], applied(true)], [["exists", "cmd:case"], existing(1)]),
      pipe([["incr", "cmd:case2"], integer(1)], [decrBy("cmd:case2", "3", "decr"), integer(-2)], [incrBy("cmd:case2", "2", "Incr"), integer(0)]),
      pipe([["mset", "cmd:case3", "z"], writtenAll(1)], [["mget", "cmd:case3"], entries(item("cmd:case3", "z"))]),
      step({ text: ["sEt", "cmd:case4", "v", "pxat", FUTURE, "vEr", "0"], resp: ["sEt", "cmd:case4", "v", "pxat", FUTURE] }, written(1)),
      step(["del", "cmd:case4"], deleted(1)),
    ],
  },

  // Connection and server commands
  {
    name: "PING with a message echoes it, as ECHO does, and SELECT accepts only database 0",
    only: "resp",
    steps: [
      step(["PING", "hi there"], bulk("hi there")),
      step(["ECHO", "x"], bulk("x")),
      step(["SELECT", "0"], ok),
      step(["SELECT", "1"], fail("DbIndex")),
      step(["SELECT", "x"], fail("NotAnIntegerArg")),
    ],
  },
  {
    name: "HELLO 2 describes the server and may name the client; HELLO 4 and unknown users are refused",
    only: "resp",
    steps: [
      step(["HELLO", "2", "SETNAME", "app"], hello()),
      step(["CLIENT", "GETNAME"], bulk("app")),
      step(["HELLO", "4"], fail("NoProto")),
      step(["HELLO", "2", "AUTH", "default", "any"], hello()),
      step(["HELLO", "2", "AUTH", "alice", "pw"], fail("WrongPass")),
    ],
  },
  {
    name: "CLIENT SETNAME names the connection and GETNAME reads it back; a bad name and an unknown subcommand are refused",
    only: "resp",
    steps: [
      step(["CLIENT", "GETNAME"], nil),
      step(["CLIENT", "SETNAME", "worker-1"], ok),
      step(["CLIENT", "GETNAME"], bulk("worker-1")),
      step(["CLIENT", "SETNAME", "a b"], fail("ClientName")),
      step(["CLIENT", "GETNAME"], bulk("worker-1")),
      step(["CLIENT", "SETNAME", ""], ok),
      step(["CLIENT", "GETNAME"], nil),
      step(["CLIENT", "FOO"], fail("UnknownSubcommand", "FOO")),
      step(["CLIENT", "SETNAME"], fail("SubcommandArity", "setname")),
    ],
  },
  {
    name: "STATS answers name=value lines with every required field, then END",
    only: "text",
    steps: [step(["STATS"], stats)],
  },
  {
    name: "stats is case-insensitive too",
    only: "text",
    steps: [step(["stats"], stats)],
  },

  // Keyspace: SCAN (both protocols), HELP (text), and RESP's generic commands
  {
    name: "SCAN with MATCH answers every key matching the pattern, and a cursor of 0 when done",
    steps: [
      step(["MSET", "scan:a", "1", "scan:b", "2", "scan:c:1", "3", "scanx", "4"], writtenAll(4)),
      step(["SCAN", "0", "MATCH", "scan:*", "COUNT", "1000"], scanned("scan:a", "scan:b", "scan:c:1")),
      step(["SCAN", "0", "MATCH", "scan:[ab]", "COUNT", "1000"], scanned("scan:a", "scan:b")),
      step(["scan", "0", "count", "1000", "match", "scan?"], scanned("scanx")),
      step(["SCAN", "0", "MATCH", "scan:none*", "COUNT", "1000"], scanned()),
      step(["SCAN", "0", "MATCH", "scan:a", "COUNT", "1000", "TYPE", "string"], scanned("scan:a")),
      step(["SCAN", "0", "MATCH", "scan:a", "COUNT", "1000", "TYPE", "list"], scanned()),
    ],
  },
  {
    name: "SCAN refuses a bad cursor, a COUNT below 1 or not a number, an unknown option and an option without its value",
    steps: [
      pipe([["SCAN", "x"], fail("InvalidCursor")], [["SCAN", "1.5"], fail("InvalidCursor")], [["SCAN", "18446744073709551616"], fail("InvalidCursor")]),
      pipe([["SCAN", "0", "COUNT", "0"], fail("BadCount")], [["SCAN", "0", "COUNT", "-3"], fail("BadCount")], [["SCAN", "0", "COUNT", "ten"], fail("NotAnIntegerArg")]),
      pipe([["SCAN", "0", "FOO", "bar"], fail("Syntax")], [["SCAN", "0", "MATCH"], fail("MissingOptionValue")], [["SCAN"], arity]),
    ],
  },
  {
    name: "HELP lists every text command with its arguments, then END",
    only: "text",
    steps: [step(["HELP"], help), step(["help"], help)],
  },
  {
    name: "commands of Redis's other types (lists, hashes, sets, sorted sets, streams) are unknown commands",
    steps: [pipe([["LPUSH", "other:l", "a"], unknownCommand], [["HSET", "other:h", "f", "v"], unknownCommand], [["SADD", "other:s", "m"], unknownCommand], [["ZADD", "other:z", "1", "m"], unknownCommand], [["XADD", "other:x", "*", "f", "v"], unknownCommand])],
  },
  {
    name: "TYPE answers string for a live key and none otherwise; KEYS lists the matching keys",
    only: "resp",
    steps: [
      step(["SET", "type:a", "1"], written(1)),
      pipe([["TYPE", "type:a"], status("string")], [["TYPE", "type:missing"], status("none")], [["TYPE"], arity]),
      step(["SET", "type:b", "2"], written(1)),
      step(["KEYS", "type:*"], keyList("type:a", "type:b")),
      step(["KEYS", "type:[^a]"], keyList("type:b")),
      step(["KEYS", "type:none*"], keyList()),
    ],
  },
  {
    name: "RENAME moves the value and expiry to the new key, which gets the version of a write of it, and deletes the old key",
    only: "resp",
    steps: [
      step(["SET", "ren:src", "hello", "PX", "100000"], written(1)),
      step(["RENAME", "ren:src", "ren:dst"], ok),
      pipe([["EXISTS", "ren:src"], existing(0)], [["PTTL", "ren:dst"], remaining(inMs(100000))]),
      step(["GET", "ren:dst"], entry("hello", 1, inMs(100000))),
      step(["SET", "ren:other", "x"], written(1)),
      step(["SET", "ren:other", "y"], written(2)),
      step(["RENAME", "ren:dst", "ren:other"], ok),
      step(["GET", "ren:other"], entry("hello", 3, inMs(100000))),
      step(["RENAME", "ren:nokey", "ren:x"], fail("NoSuchKey")),
      step(["RENAME", "ren:other", "ren:other"], ok),
      step(["GET", "ren:other"], entry("hello", 3, inMs(100000))),
      pipe([["RENAME", "ren:other"], arity], [["RENAME", "ren:a", "ren:b", "ren:c"], arity]),
    ],
  },
  {
    name: "RENAMENX renames only onto a key that is not live",
    only: "resp",
    steps: [
      step(["MSET", "rnx:a", "1", "rnx:b", "2"], writtenAll(2)),
      step(["RENAMENX", "rnx:a", "rnx:b"], integer(0)),
      step(["RENAMENX", "rnx:a", "rnx:a"], integer(0)),
      step(["RENAMENX", "rnx:a", "rnx:c"], integer(1)),
      step(["GET", "rnx:c"], entry("1")),
      step(["RENAMENX", "rnx:a", "rnx:d"], fail("NoSuchKey")),
    ],
  },
  {
    name: "COPY copies the value and expiry, over a live key only with REPLACE; DB 0 is the only database",
    only: "resp",
    steps: [
      step(["SET", "copy:s", "v", "PXAT", FUTURE], written(1)),
      step(["COPY", "copy:s", "copy:d"], integer(1)),
      step(["GET", "copy:d"], entry("v", 1, FUTURE_MS)),
      step(["COPY", "copy:s", "copy:d"], integer(0)),
      step(["SET", "copy:s", "w"], written(2)),
      step(["COPY", "copy:s", "copy:d", "REPLACE"], integer(1)),
      step(["GET", "copy:d"], entry("w", 2)),
      step(["COPY", "copy:s", "copy:e", "DB", "0"], integer(1)),
      pipe([["COPY", "copy:nokey", "copy:f"], integer(0)], [["COPY", "copy:s", "copy:s"], fail("SameObject")], [["COPY", "copy:s", "copy:f", "DB", "x"], fail("NotAnIntegerArg")], [["COPY", "copy:s", "copy:f", "FOO"], fail("Syntax")]),
      pipe([["COPY", "copy:s", "copy:f", "DB"], fail("Syntax")], [["EXISTS", "copy:f"], existing(0)], [["COPY", "copy:s"], arity]),
    ],
  },
  {
    name: "UNLINK deletes like DEL and TOUCH counts live keys like EXISTS",
    only: "resp",
    steps: [
      step(["MSET", "unl:a", "1", "unl:b", "2"], writtenAll(2)),
      step(["TOUCH", "unl:a", "unl:a", "unl:b", "unl:none"], integer(3)),
      step(["UNLINK", "unl:a", "unl:a", "unl:none"], integer(1)),
      pipe([["EXISTS", "unl:a", "unl:b"], existing(1)], [["UNLINK"], arity], [["TOUCH"], arity]),
    ],
  },
  {
    name: "EXPIREAT and PEXPIREAT set an absolute expiry under NX|XX|GT|LT; EXPIRETIME and PEXPIRETIME read it",
    only: "resp",
    steps: [
      step(["SET", "eat:k", "1"], written(1)),
      pipe([["EXPIRETIME", "eat:k"], integer(-1)], [["PEXPIRETIME", "eat:k"], integer(-1)], [["EXPIRETIME", "eat:none"], integer(-2)]),
      step(["PEXPIREAT", "eat:k", FUTURE], applied(true)),
      pipe([["PEXPIRETIME", "eat:k"], integer(FUTURE_MS)], [["EXPIRETIME", "eat:k"], integer(FUTURE_MS / 1000)]),
      step(["EXPIREAT", "eat:k", String(FUTURE_MS / 1000 + 10), "NX"], applied(false)),
      step(["EXPIREAT", "eat:k", String(FUTURE_MS / 1000 + 10), "GT"], applied(true)),
      step(["PEXPIRETIME", "eat:k"], integer(FUTURE_MS + 10000)),
      step(["GET", "eat:k"], entry("1", 1, FUTURE_MS + 10000)),
      step(["EXPIREAT", "eat:k", "-9223372036854776"], fail("InvalidExpireTime")),
      step(["EXPIREAT", "eat:k", "x"], fail("BadExpire")),
      step(["EXPIREAT", "eat:k", "100", "FOO"], fail("UnsupportedOption", "FOO")),
      step(["EXPIREAT", "eat:k", PAST], applied(true)),
      step(["EXISTS", "eat:k"], existing(0)),
    ],
  },
  {
    name: "OBJECT ENCODING names the encoding Redis would use for the value; FREQ and IDLETIME are not tracked",
    only: "resp",
    steps: [
      step(["MSET", "obj:int", "12345", "obj:str", "hello", "obj:long", "x".repeat(45)], writtenAll(3)),
      pipe([["OBJECT", "ENCODING", "obj:int"], bulk("int")], [["OBJECT", "ENCODING", "obj:str"], bulk("embstr")], [["OBJECT", "ENCODING", "obj:long"], bulk("raw")], [["OBJECT", "ENCODING", "obj:none"], nil]),
      pipe([["OBJECT", "REFCOUNT", "obj:int"], integer(1)], [["OBJECT", "FREQ", "obj:str"], fail("FreqNotTracked")], [["OBJECT", "IDLETIME", "obj:str"], fail("IdleNotTracked")]),
      pipe([["OBJECT", "FOO", "obj:str"], fail("UnknownSubcommand", "FOO")], [["OBJECT", "ENCODING"], fail("SubcommandArity", "encoding")], [["OBJECT"], arity]),
    ],
  },
];
