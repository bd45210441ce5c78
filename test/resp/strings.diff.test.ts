// The string and bit command family against a real redis-server, side by side: the same command
// sequences (hand-written for every command, option and error, and generated from a seeded random
// model) go to Osprey and to Redis 7, and every reply must be the same bytes. TTL replies may
// differ by the clock between the two servers, within a tolerance. Both have the same value limit
// (max_value_bytes = proto-max-bulk-len = 1 MiB), so the limit errors are compared too.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { rng } from "../support/rng.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { resp } from "./encode.ts";
import { startRedis, type RedisServer } from "./redis.ts";

const valueBytesMax = 1024 * 1024;

let osprey: RunningServer;
let redis: RedisServer;
let ospreyClient: RawClient;
let redisClient: RawClient;

beforeAll(async () => {
  [osprey, redis] = await Promise.all([startServer({ max_value_bytes: valueBytesMax }), startRedis(["--proto-max-bulk-len", String(valueBytesMax)])]);
  [ospreyClient, redisClient] = await Promise.all([RawClient.connect(osprey.port), RawClient.connect(redis.port)]);
});

afterAll(async () => {
  ospreyClient?.close();
  redisClient?.close();
  await Promise.all([osprey?.stop(), redis?.stop()]);
});

type Command = readonly string[];

/** One whole RESP2 or RESP3 reply, as the bytes it came in (latin1). */
async function readReply(c: RawClient): Promise<string> {
  const line = await c.line();
  const n = Number(line.slice(1));
  if ((line[0] === "$" || line[0] === "=") && n >= 0) return `${line}\r\n${(await c.bytes(n + 2)).toString("latin1")}`;
  if ((line[0] === "*" || line[0] === "~" || line[0] === ">" || line[0] === "%") && n > 0) {
    let out = `${line}\r\n`;
    // A map's length counts pairs.
    for (let i = 0; i < (line[0] === "%" ? 2 * n : n); i++) out += await readReply(c);
    return out;
  }
  return `${line}\r\n`;
}

/** Sends the commands pipelined and reads one reply each. */
async function run(c: RawClient, commands: readonly Command[]): Promise<string[]> {
  await c.send(Buffer.concat(commands.map((args) => resp(...args))));
  const replies: string[] = [];
  for (let i = 0; i < commands.length; i++) replies.push(await readReply(c));
  return replies;
}

/**
 * TTL and PTTL count down on two clocks: equal when within a second of each other (PTTL: and of
 * the 1024 ms an expiry past 2^53 is held to). PEXPIRETIME past 2^53: within 1024 ms (docs/PROTOCOL.md).
 */
function sameReply(cmd: Command, a: string, b: string): boolean {
  if (a === b) return true;
  const name = cmd[0]!.toUpperCase();
  if (name === "PEXPIRETIME" && a[0] === ":" && b[0] === ":") {
    const [x, y] = [BigInt(a.slice(1, -2)), BigInt(b.slice(1, -2))];
    return y > 2n ** 53n && x - y <= 1024n && y - x <= 1024n;
  }
  if (name !== "TTL" && name !== "PTTL") return false;
  if (a[0] !== ":" || b[0] !== ":") return false;
  const [x, y] = [BigInt(a.slice(1, -2)), BigInt(b.slice(1, -2))];
  const tolerance = name === "TTL" ? 1n : y > 2n ** 53n ? 2024n : 1000n;
  return x >= 0n && y >= 0n && x - y <= tolerance && y - x <= tolerance;
}

const show = (s: string) => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);

/** Runs `commands` on both servers (keyspaces emptied first) and lists every reply that differs. */
async function compare(commands: readonly Command[]): Promise<string[]> {
  await Promise.all([run(ospreyClient, [["FLUSHALL"]]), run(redisClient, [["FLUSHALL"]])]);
  const [mine, theirs] = await Promise.all([run(ospreyClient, commands), run(redisClient, commands)]);
  const diffs: string[] = [];
  for (let i = 0; i < commands.length; i++) {
    if (!sameReply(commands[i]!, mine[i]!, theirs[i]!)) diffs.push(`#${i} ${show(commands[i]!.join(" "))}: osprey ${show(mine[i]!)}, redis ${show(theirs[i]!)}`);
  }
  return diffs;
}

/** Commands in redis-cli's spelling: split on spaces (none of these arguments hold one). */
const cmds = (...lines: string[]): Command[] => lines.map((l) => l.split(" ").map((a) => (a === '""' ? "" : a)));

const FUTURE_S = "4102444800";
const FUTURE_MS = "4102444800000";
const big = "x".repeat(valueBytesMax - 3);

/** Redis's LLONG_MAX ms, and a relative time that just fits under it from now (an hour of margin for the test's run). */
const I64_MAX = "9223372036854775807";
const nearMaxPx = String(2n ** 63n - 1n - BigInt(Date.now()) - 3_600_000n);

const sequences: Record<string, Command[]> = {
  "expiry times up to Redis's 64-bit overflow limits: SET EX/PX/EXAT/PXAT, SETEX, PSETEX, GETEX": cmds(
    `SET k v PXAT ${I64_MAX}`,
    "PEXPIRETIME k",
    "PTTL k",
    "TTL k",
    "SET k v PXAT 9223372036854770000",
    "PEXPIRETIME k",
    "EXPIRETIME k",
    "SET k v EXAT 9223372036854775",
    "EXPIRETIME k",
    "SET k v EXAT 9223372036854776",
    "SET k v PXAT 9223372036854775808",
    `SET k v PX ${I64_MAX}`,
    `SET k v PX ${nearMaxPx}`,
    "PTTL k",
    "SET k v EX 9223372036854775",
    "SET k v EX 9223372036854",
    "TTL k",
    "SET k v EX 10000000000000000",
    "SET k v EX -9999999999999999",
    "SET k v PXAT 4611686018427387905",
    "PEXPIRETIME k",
    "SET k v PXAT 9007199254740993",
    "PEXPIRETIME k",
    "GETEX k PXAT 9223372036854770000",
    "PEXPIRETIME k",
    "GETEX k EXAT 9223372036854775",
    "EXPIRETIME k",
    "GETEX k EXAT 9223372036854776",
    `GETEX k PX ${I64_MAX}`,
    `GETEX k PX ${nearMaxPx}`,
    "PTTL k",
    "GETEX k EX 10000000000000000",
    "SETEX k 9223372036854775 v",
    "SETEX k 9223372036854 v",
    "TTL k",
    `PSETEX k ${I64_MAX} v`,
    `PSETEX k ${nearMaxPx} v`,
    "PTTL k",
    "GET k",
  ),
  "SET with every option and combination": cmds(
    "SET k v",
    "SET k v NX",
    "SET k w XX",
    "SET n v XX",
    "GET n",
    "SET k a GET",
    "SET n a GET",
    "SET k b NX GET",
    "SET m b NX GET",
    "SET k c XX GET",
    "SET q c XX GET",
    "GET k",
    "SET k 1 EX 100",
    "TTL k",
    "SET k 1 PX 100000",
    "PTTL k",
    `SET k 1 EXAT ${FUTURE_S}`,
    "TTL k",
    `SET k 1 PXAT ${FUTURE_MS}`,
    "PTTL k",
    "SET k 2 KEEPTTL",
    "TTL k",
    "SET k 3 KEEPTTL GET",
    "SET k 4",
    "TTL k",
    "SET k 5 EX 10 EX 20",
    "TTL k",
    "SET k 6 XX EX 100 GET",
    "SET k 7 NX NX",
    "SET k 8 XX XX GET GET",
    "SET p 1 PXAT 1",
    "GET p",
    "SET p 1 EXAT 1 GET",
    "SET k 1 NX XX",
    "SET k 1 XX NX",
    "SET k 1 EX 10 PX 10",
    "SET k 1 PX 10 EXAT 10",
    "SET k 1 KEEPTTL EX 10",
    "SET k 1 EX 10 KEEPTTL",
    "SET k 1 PXAT 10 KEEPTTL",
    "SET k 1 EX",
    "SET k 1 GET EX",
    "SET k 1 FOO",
    "SET k 1 EX 0",
    "SET k 1 EX -1",
    "SET k 1 PX 0",
    "SET k 1 EXAT 0",
    "SET k 1 PXAT -5",
    "SET k 1 PX abc",
    "SET k 1 EX 1.5",
    "SET k 1 EX 0100",
    "SET k 1 EX 9223372036854775808",
    "SET k 1 NX EX abc",
    "GET k",
    "set k lower nx",
    "set k lower2 xx keepttl get",
    "GET k",
    "SET",
    "SET k",
  ),
  "APPEND and STRLEN": cmds(
    "APPEND a hello",
    "APPEND a _world",
    "GET a",
    "STRLEN a",
    "STRLEN missing",
    'APPEND e ""',
    "EXISTS e",
    "STRLEN e",
    "SET n 10",
    "APPEND n 5",
    "INCR n",
    "SET t v EX 100",
    "APPEND t w",
    "TTL t",
    "GET t",
    "APPEND a",
    "STRLEN",
    "STRLEN a b",
  ),
  "GETRANGE and SUBSTR with every index form": cmds(
    "SET s HelloWorld",
    "GETRANGE s 0 4",
    "GETRANGE s -3 -1",
    "GETRANGE s 0 -1",
    "GETRANGE s 5 100",
    "GETRANGE s 100 200",
    "GETRANGE s -100 2",
    "GETRANGE s -1 -5",
    "GETRANGE s 3 1",
    "GETRANGE s -1 3",
    "GETRANGE s 0 0",
    "GETRANGE s -9223372036854775808 9223372036854775807",
    "GETRANGE s -9223372036854775807 -9223372036854775808",
    "GETRANGE missing 0 -1",
    "GETRANGE s a 1",
    "GETRANGE s 0 b",
    "GETRANGE missing x 1",
    "GETRANGE s 0 9223372036854775808",
    "SUBSTR s 1 3",
    "SUBSTR s -2 -1",
    "SET e x",
    "SETRANGE e 0 y",
    'SET z ""',
    "GETRANGE z 0 -1",
    "GETRANGE z 0 0",
    "GETRANGE s 0",
    "SUBSTR s 0 1 2",
  ),
  "SETRANGE within, past the end and past the limit": cmds(
    "SETRANGE r 5 abc",
    "GET r",
    "STRLEN r",
    "SETRANGE r 0 XY",
    "GET r",
    "SETRANGE r 6 long-tail",
    "GET r",
    'SETRANGE r 3 ""',
    'SETRANGE missing 3 ""',
    "EXISTS missing",
    'SETRANGE missing 0 ""',
    "SETRANGE r -1 x",
    "SETRANGE r x x",
    "SETRANGE r 1.5 x",
    `SETRANGE r ${valueBytesMax - 1} x`,
    "STRLEN r",
    `SETRANGE big ${valueBytesMax} x`,
    `SETRANGE big ${valueBytesMax - 1} xy`,
    'SETRANGE big 99999999999 ""',
    "SETRANGE big 99999999999 x",
    "SETRANGE big 9223372036854775807 x",
    "SETRANGE big 9223372036854775808 x",
    "EXISTS big",
    "SET t v PX 100000",
    "SETRANGE t 1 w",
    "TTL t",
    "SET n 123",
    "SETRANGE n 1 9",
    "INCR n",
    "SETRANGE r 1",
  ),
  "APPEND and SETRANGE up to max_value_bytes": [
    ["SET", "big", big],
    ["APPEND", "big", "abc"],
    ["APPEND", "big", "d"],
    ["STRLEN", "big"],
    ["SETRANGE", "big", "10", "middle"],
    ["GETRANGE", "big", "0", "20"],
    ["APPEND", "big", ""],
    ["GETRANGE", "big", "-4", "-1"],
    ["SETRANGE", "big", String(valueBytesMax - 1), "Z"],
    ["GETRANGE", "big", "-2", "-1"],
    ["SETRANGE", "big", String(valueBytesMax - 1), "ZZ"],
    ["STRLEN", "big"],
  ],
  "GETEX with each option, in Redis's order of checks": cmds(
    "SET g v",
    "GETEX g",
    "TTL g",
    "GETEX g EX 100",
    "TTL g",
    "GETEX g PX 200000",
    "TTL g",
    `GETEX g EXAT ${FUTURE_S}`,
    "TTL g",
    `GETEX g PXAT ${FUTURE_MS}`,
    "TTL g",
    "GETEX g PERSIST",
    "TTL g",
    "GETEX g PERSIST PERSIST",
    "GETEX g EX 10 EX 100",
    "TTL g",
    "GETEX g EX 10 PX 10",
    "GETEX g PERSIST EX 10",
    "GETEX g EX 10 PERSIST",
    "GETEX g EX",
    "GETEX g KEEPTTL",
    "GETEX g NX",
    "GETEX g GET",
    "GETEX g FOO",
    "GETEX g EX abc",
    "GETEX g EX 0",
    "GETEX g PX -1",
    "GETEX g EXAT 0",
    "GETEX g EX 9223372036854775807",
    "GETEX missing",
    "GETEX missing EX abc",
    "GETEX missing EX 0",
    "GETEX missing FOO",
    "GETEX g EXAT 1",
    "EXISTS g",
    "SET h v",
    "GETEX h PXAT 1",
    "GET h",
    "getex h ex 100",
    "GETEX",
  ),
  "GETSET, SETEX and PSETEX": cmds(
    "GETSET a 1",
    "GETSET a 2",
    "GET a",
    "SET t v EX 100",
    "GETSET t w",
    "TTL t",
    "SETEX s 100 v",
    "TTL s",
    "GET s",
    "PSETEX p 100000 v",
    "PTTL p",
    "SETEX s 0 v",
    "SETEX s -5 v",
    "PSETEX p 0 v",
    "SETEX s abc v",
    "SETEX s 1.5 v",
    "PSETEX p 9223372036854775808 v",
    "SETEX s 9223372036854775807 v",
    "GET s",
    "SETEX s 100",
    "PSETEX p 1",
    "GETSET a",
  ),
  "MSETNX is all or nothing": cmds(
    "MSETNX a 1 b 2",
    "MGET a b",
    "MSETNX b 3 c 4",
    "MGET a b c",
    "MSETNX c 5 c 6",
    "GET c",
    "SET t v PXAT 1",
    "MSETNX t new",
    "GET t",
    "MSETNX d 1 e",
    "MSETNX d",
    "MSETNX",
    "EXISTS d e",
  ),
  "INCRBYFLOAT arithmetic and formatting": cmds(
    "INCRBYFLOAT f 10.5",
    "INCRBYFLOAT f 0.1",
    "INCRBYFLOAT f -5.05",
    "INCRBYFLOAT f 5.0e3",
    "INCRBYFLOAT f 2.0e-2",
    "INCRBYFLOAT f -10000",
    "INCRBYFLOAT g 0.1",
    "INCRBYFLOAT g 0.2",
    "INCRBYFLOAT h 1.1",
    "INCRBYFLOAT h -1.1",
    "SET i 1",
    "INCRBYFLOAT i -1.1",
    "INCRBYFLOAT j 3",
    "INCRBYFLOAT j 0x10",
    "INCRBYFLOAT j 0x1p-2",
    "INCRBYFLOAT j 1e308",
    "INCRBYFLOAT j -1e308",
    "INCRBYFLOAT l 1e4000",
    "INCRBYFLOAT l -1e4000",
    "INCRBYFLOAT m 1.23456789012345678901234567890",
    "INCRBYFLOAT m 1e-17",
    "INCRBYFLOAT m 1e-30",
    "INCRBYFLOAT n -0",
    "INCRBYFLOAT n 0.000003814697265625",
    "INCRBYFLOAT o 17179869184",
    "INCRBYFLOAT o .5",
    "INCRBYFLOAT o 5.",
    "INCRBYFLOAT o +2",
    "INCRBYFLOAT o 1E2",
    "INCRBYFLOAT x inf",
    "INCRBYFLOAT x -inf",
    "INCRBYFLOAT x Infinity",
    "INCRBYFLOAT x nan",
    "INCRBYFLOAT x abc",
    'INCRBYFLOAT x ""',
    "INCRBYFLOAT x 1e",
    "INCRBYFLOAT x 1e5000",
    "INCRBYFLOAT x 1e-5000",
    "INCRBYFLOAT x 0x",
    "INCRBYFLOAT x .",
    "INCRBYFLOAT x 1.2.3",
    "EXISTS x",
    "SET y hello",
    "INCRBYFLOAT y 1",
    'SET z ""',
    "INCRBYFLOAT z 1",
    "SET w 1e4932",
    "INCRBYFLOAT w 1e4932",
    "SET v 5",
    "INCRBYFLOAT v 1e-5000",
    "SET t 1.5 EX 100",
    "INCRBYFLOAT t 1",
    "TTL t",
    "SET u 007",
    "INCRBYFLOAT u 1",
    "SET u 1e2",
    "INCRBYFLOAT u 0",
    "INCRBYFLOAT u",
  ),
  "INCRBYFLOAT of values holding spaces and NULs": [
    ["INCRBYFLOAT", "a", " 1"],
    ["INCRBYFLOAT", "a", "1 "],
    ["INCRBYFLOAT", "a", "1\0garbage"],
    ["INCRBYFLOAT", "a", "\0"],
    ["SET", "b", "2\0x"],
    ["INCRBYFLOAT", "b", "1"],
    ["INCRBYFLOAT", "c", "1".repeat(5119)],
    ["INCRBYFLOAT", "c", "1".repeat(5120)],
    ["INCRBYFLOAT", "d", `0.${"0".repeat(5000)}1`],
  ],
  "LCS with every option": cmds(
    "MSET a ohmytext b mynewtext",
    "LCS a b",
    "LCS a b LEN",
    "LCS a b IDX",
    "LCS a b IDX WITHMATCHLEN",
    "LCS a b IDX MINMATCHLEN 4",
    "LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN",
    "LCS a b IDX MINMATCHLEN -5",
    "LCS a b IDX MINMATCHLEN 0 WITHMATCHLEN",
    "LCS a b LEN IDX",
    "LCS a b IDX LEN",
    "LCS a b MINMATCHLEN",
    "LCS a b MINMATCHLEN x",
    "LCS a b FOO",
    "LCS a b len idx",
    "LCS a missing",
    "LCS missing other IDX",
    "LCS a a",
    "LCS a a IDX WITHMATCHLEN",
    "MSET c ABCBDAB d BDCABA",
    "LCS c d",
    "LCS c d IDX WITHMATCHLEN",
    "LCS d c IDX",
    "LCS c d LEN LEN",
    "LCS a",
  ),
  "LCS refuses a table past its bound": [
    ["SET", "x", "ab".repeat(300)],
    ["SET", "y", "b".repeat(400)],
    ["LCS", "x", "y", "LEN"],
    ["APPEND", "y", "a".repeat(200)],
    ["LCS", "x", "y", "LEN"],
    ["LCS", "x", "x", "LEN"],
  ],
  "SETBIT and GETBIT": cmds(
    "SETBIT b 7 1",
    "GET b",
    "GETBIT b 7",
    "GETBIT b 6",
    "GETBIT b 100",
    "SETBIT b 7 1",
    "SETBIT b 7 0",
    "GET b",
    "STRLEN b",
    "SETBIT b 100 1",
    "STRLEN b",
    "GETBIT b 100",
    "SETBIT c 0 0",
    "GET c",
    "SETBIT b -1 1",
    "SETBIT b x 1",
    "SETBIT b 1 2",
    "SETBIT b 1 -1",
    "SETBIT b 1 x",
    `SETBIT b ${valueBytesMax * 8} 1`,
    `SETBIT b ${valueBytesMax * 8 - 1} 1`,
    "STRLEN b",
    "GETBIT b -1",
    "GETBIT b x",
    `GETBIT b ${valueBytesMax * 8}`,
    "GETBIT b 99999999999999999999",
    "GETBIT missing 3",
    "GETBIT missing -1",
    "SET t v EX 100",
    "SETBIT t 0 1",
    "TTL t",
    "GET t",
    "SETBIT b 1",
    "GETBIT b",
  ),
  "BITCOUNT with BYTE and BIT ranges": cmds(
    "SET s foobar",
    "BITCOUNT s",
    "BITCOUNT s 0 0",
    "BITCOUNT s 1 1",
    "BITCOUNT s 1 1 BYTE",
    "BITCOUNT s 5 30 BIT",
    "BITCOUNT s 0 -1 BIT",
    "BITCOUNT s -5 -1 BIT",
    "BITCOUNT s 7 7 BIT",
    "BITCOUNT s 8 8 bit",
    "BITCOUNT s 3 2",
    "BITCOUNT s -1 -2",
    "BITCOUNT s -1 -2 FOO",
    "BITCOUNT s -100 100",
    "BITCOUNT s 100 200",
    "BITCOUNT s 0",
    "BITCOUNT s 0 1 FOO",
    "BITCOUNT s 0 1 BIT extra",
    "BITCOUNT s a 1",
    "BITCOUNT s 0 b",
    "BITCOUNT missing",
    "BITCOUNT missing 0",
    "BITCOUNT missing a b c d",
    'SET e ""',
    "BITCOUNT e",
    "BITCOUNT e 0 -1",
    "BITCOUNT e 0 -1 BIT",
    "BITCOUNT",
  ),
  "BITPOS with BYTE and BIT ranges": [
    ["SET", "z", "\xff\xf0\x00"],
    ["BITPOS", "z", "0"],
    ["BITPOS", "z", "1"],
    ["SET", "o", "\x00\xff\xf0"],
    ["BITPOS", "o", "1", "0"],
    ["BITPOS", "o", "1", "2", "-1", "BYTE"],
    ["BITPOS", "o", "1", "7", "15", "BIT"],
    ["BITPOS", "o", "1", "7", "-3", "bit"],
    ["BITPOS", "o", "0", "8", "15", "BIT"],
    ["BITPOS", "o", "0", "8", "19", "BIT"],
    ["BITPOS", "o", "0", "1", "1"],
    ["BITPOS", "o", "0", "1"],
    ["BITPOS", "o", "0", "1", "-1"],
    ["SET", "f", "\xff\xff\xff"],
    ["BITPOS", "f", "0"],
    ["BITPOS", "f", "0", "1"],
    ["BITPOS", "f", "0", "0", "-1"],
    ["BITPOS", "f", "0", "3", "BIT"],
    ["BITPOS", "f", "0", "3", "10", "BIT"],
    ["BITPOS", "f", "1", "3", "10", "BIT"],
    ["BITPOS", "f", "1", "-1", "-2"],
    ["BITPOS", "f", "1", "100"],
    ["BITPOS", "f", "0", "100"],
    ["SET", "e", ""],
    ["BITPOS", "e", "0"],
    ["BITPOS", "e", "1"],
    ["BITPOS", "e", "0", "0"],
    ["BITPOS", "missing", "0"],
    ["BITPOS", "missing", "1"],
    ["BITPOS", "missing", "1", "x", "y", "z", "w"],
    ["BITPOS", "f", "2"],
    ["BITPOS", "f", "-1"],
    ["BITPOS", "f", "x"],
    ["BITPOS", "missing", "2"],
    ["BITPOS", "f", "1", "x"],
    ["BITPOS", "f", "1", "0", "x"],
    ["BITPOS", "f", "1", "0", "1", "FOO"],
    ["BITPOS", "f", "1", "0", "x", "FOO"],
    ["BITPOS", "f", "1", "0", "1", "BIT", "extra"],
    ["BITPOS", "f"],
  ],
  "BITOP with each operation, missing and shorter sources": [
    ["SET", "a", "\xff\x0f\x55"],
    ["SET", "b", "\x0f"],
    ["BITOP", "AND", "d", "a", "b"],
    ["GET", "d"],
    ["BITOP", "or", "d", "a", "b"],
    ["GET", "d"],
    ["BITOP", "XOR", "d", "a", "b", "a"],
    ["GET", "d"],
    ["BITOP", "NOT", "d", "a"],
    ["GET", "d"],
    ["BITOP", "AND", "d", "a", "missing"],
    ["GET", "d"],
    ["BITOP", "OR", "d", "missing", "a"],
    ["GET", "d"],
    ["SET", "e", ""],
    ["BITOP", "OR", "d", "missing", "e"],
    ["EXISTS", "d"],
    ["BITOP", "AND", "d", "missing"],
    ["BITOP", "NOT", "d", "e"],
    ["BITOP", "NOT", "d", "a", "b"],
    ["BITOP", "NAND", "d", "a"],
    ["BITOP", "AND", "d"],
    ["SET", "t", "v", "EX", "100"],
    ["BITOP", "AND", "t", "a"],
    ["TTL", "t"],
    ["BITOP", "XOR", "a", "a", "b"],
    ["GET", "a"],
  ],
};

describe("the string family answers as Redis 7 does, byte for byte", () => {
  for (const [name, commands] of Object.entries(sequences)) {
    test(name, async () => {
      expect(await compare(commands)).toEqual([]);
    });
  }
});

describe("the string family answers as Redis 7 does in RESP3 too (HELLO 3 on both), byte for byte", () => {
  let resp2: [RawClient, RawClient];
  beforeAll(async () => {
    resp2 = [ospreyClient, redisClient];
    [ospreyClient, redisClient] = await Promise.all([RawClient.connect(osprey.port), RawClient.connect(redis.port)]);
    await Promise.all([run(ospreyClient, [["HELLO", "3"]]), run(redisClient, [["HELLO", "3"]])]);
    // Both really speak RESP3 now: a missing key is RESP3's null.
    expect(await Promise.all([run(ospreyClient, [["GET", "no-such-key"]]), run(redisClient, [["GET", "no-such-key"]])])).toEqual([["_\r\n"], ["_\r\n"]]);
  });
  afterAll(() => {
    ospreyClient.close();
    redisClient.close();
    [ospreyClient, redisClient] = resp2;
  });
  for (const [name, commands] of Object.entries(sequences)) {
    test(name, async () => {
      expect(await compare(commands)).toEqual([]);
    });
  }
});

/** A random argument list over a few keys, covering every command of the family and its options. */
function randomCommand(next: () => number): Command {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const int = (lo: number, hi: number) => String(lo + Math.floor(next() * (hi - lo + 1)));
  const key = () => pick(["k1", "k2", "k3", "k4"]);
  const value = () => pick(["", "a", "hello", "12", "-7", "3.5", "1e3", "0x1f", "\x00\xff", "foobar", "\xff\xf0\x00", "ohmytext", "mynewtext", "9223372036854775807"]);
  const float = () => pick(["1", "-1", "0.1", "2.5e2", "-3.75", "1e-3", "0x10", "abc", "1e400", "-0.2", "100000000000000000000"]);
  const index = () => pick(["0", "1", "-1", "-3", "5", "100", int(-20, 20)]);
  const unit = () => pick([[], [], ["BYTE"], ["BIT"]]);
  switch (Math.floor(next() * 22)) {
    case 0: {
      const opts = [pick([[], ["NX"], ["XX"]]), pick([[], [], ["GET"]]), pick([[], ["EX", "1000"], ["PX", "900000"], ["EXAT", "4102444800"], ["PXAT", "1"], ["KEEPTTL"]])].flat();
      return ["SET", key(), value(), ...opts];
    }
    case 1:
      return ["GET", key()];
    case 2:
      return ["APPEND", key(), value()];
    case 3:
      return ["STRLEN", key()];
    case 4:
      return [pick(["GETRANGE", "SUBSTR"]), key(), index(), index()];
    case 5:
      return ["SETRANGE", key(), int(0, 12), value()];
    case 6:
      return ["GETEX", key(), ...pick([[], ["EX", "1000"], ["PX", "900000"], ["PERSIST"], ["EXAT", "1"], ["EX", "0"]])];
    case 7:
      return ["GETSET", key(), value()];
    case 8:
      return [pick(["SETEX", "PSETEX"]), key(), pick(["1000", "0", "-1"]), value()];
    case 9:
      return next() < 0.5 ? ["MSETNX", key(), value(), key(), value()] : ["MSET", key(), value()];
    case 10:
    case 11:
      return ["INCRBYFLOAT", key(), float()];
    case 12:
      return ["INCRBY", key(), int(-5, 5)];
    case 13:
      return ["LCS", key(), key(), ...pick([[], ["LEN"], ["IDX"], ["IDX", "WITHMATCHLEN"], ["IDX", "MINMATCHLEN", "2"]])];
    case 14:
      return ["SETBIT", key(), int(0, 40), pick(["0", "1"])];
    case 15:
      return ["GETBIT", key(), int(0, 40)];
    case 16:
      return ["BITCOUNT", key(), ...(next() < 0.3 ? [] : [index(), index(), ...unit()])];
    case 17: {
      const range = pick([[], [index()], [index(), index()], [index(), index(), pick(["BYTE", "BIT"])]]);
      return ["BITPOS", key(), pick(["0", "1"]), ...range];
    }
    case 18:
      return ["DEL", key()];
    case 19:
      return ["TTL", key()];
    case 20:
      return ["EXISTS", key(), key()];
    default:
      return ["GETDEL", key()];
  }
}

describe("a seeded random sequence of string commands answers as Redis 7 does", () => {
  for (const seed of [1, 2, 3, 4]) {
    test(`seed ${seed}: 500 commands, then every key`, async () => {
      const next = rng(seed);
      const commands: Command[] = [];
      for (let i = 0; i < 500; i++) commands.push(randomCommand(next));
      commands.push(["MGET", "k1", "k2", "k3", "k4"]);
      expect(await compare(commands)).toEqual([]);
    });
  }
});

describe("transactions of the string family answer as Redis 7 does", () => {
  test("APPEND, SETRANGE, SETBIT, INCRBYFLOAT and BITOP queue inside MULTI and run in the EXEC, each reading what the one before it wrote", async () => {
    const commands = cmds(
      "SET a 10",
      "SET b xyz",
      "MULTI",
      "APPEND a 5",
      "INCRBYFLOAT a 0.5",
      "APPEND a 00",
      "SETRANGE a 1 9",
      "SETBIT a 3 1",
      "BITOP OR c a b",
      "SETRANGE d 10 x",
      "APPEND d yz",
      "INCRBYFLOAT n 1.5",
      "GET a",
      "GET c",
      "EXEC",
      "GET a",
      "GET c",
      "GET d",
      "STRLEN d",
      "MULTI",
      "GETSET g 1",
      "SETEX s 100 v",
      "MSETNX m 1 n 2",
      "GETEX s PERSIST",
      "STRLEN s",
      "GETRANGE s 0 0",
      "EXEC",
    );
    expect(await compare(commands)).toEqual([]);
  });

  test("a runtime error of one of them inside EXEC is one element, and the others still run", async () => {
    const commands = cmds("SET a x", "MULTI", "INCRBYFLOAT a 1", "SETBIT a -1 1", "SETRANGE a -1 x", "APPEND a y", "BITOP FOO a a", "EXEC", "GET a");
    expect(await compare(commands)).toEqual([]);
  });
});

describe("SET answers as Redis 7 does for every order of up to three options", () => {
  const words: string[][] = [["NX"], ["XX"], ["GET"], ["KEEPTTL"], ["EX", "100"], ["PX", "100000"], ["EXAT", FUTURE_S], ["PXAT", "1"], ["EX", "0"], ["PX", "x"], ["get"], ["FOO"]];
  const orders: string[][][] = [[]];
  for (let n = 0; n < 3; n++) {
    for (const order of orders.filter((o) => o.length === n)) for (const w of words) orders.push([...order, w]);
  }
  for (const live of [false, true]) {
    test(`on a ${live ? "live key with an expiry" : "missing key"}: ${orders.length} SETs, each followed by GET and TTL`, async () => {
      const commands: Command[] = [];
      for (const order of orders) {
        commands.push(live ? ["SET", "k", "old", "EX", "500"] : ["DEL", "k"], ["SET", "k", "new", ...order.flat()], ["GET", "k"], ["TTL", "k"]);
      }
      expect(await compare(commands)).toEqual([]);
    });
  }
});

describe("seeded random arguments for the commands with the most arithmetic answer as Redis 7 does", () => {
  const pickFrom = (next: () => number) => <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const digits = (next: () => number, n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join("");

  test("INCRBYFLOAT: 600 increments in decimal, exponent and hex forms, near the range's edges too", async () => {
    const next = rng(11);
    const pick = pickFrom(next);
    const number = () => {
      const sign = pick(["", "", "-", "+"]);
      const mantissa = pick([digits(next, 1 + Math.floor(next() * 20)), `${digits(next, 1 + Math.floor(next() * 5))}.${digits(next, Math.floor(next() * 25))}`, `.${digits(next, 1 + Math.floor(next() * 8))}`]);
      const exponent = pick(["", "", `e${Math.floor(next() * 40) - 20}`, `E+${Math.floor(next() * 5)}`, `e${pick(["4931", "4932", "4933", "-4940", "-4951", "-4960", "308", "-308"])}`]);
      const hex = `0x${Math.floor(next() * 0xffffff).toString(16)}${pick(["", `p${Math.floor(next() * 80) - 40}`, ".8p1"])}`;
      return next() < 0.15 ? sign + hex : sign + mantissa + exponent;
    };
    const commands: Command[] = [];
    for (let i = 0; i < 600; i++) {
      const key = pick(["f1", "f2", "f3"]);
      commands.push(next() < 0.1 ? ["SET", key, number()] : ["INCRBYFLOAT", key, number()]);
    }
    commands.push(["MGET", "f1", "f2", "f3"]);
    expect(await compare(commands)).toEqual([]);
  });

  test("LCS: 300 pairs of short strings over small alphabets, with every reply form", async () => {
    const next = rng(12);
    const pick = pickFrom(next);
    const text = () => Array.from({ length: Math.floor(next() * 30) }, () => pick(["a", "b", "c"].slice(0, 2 + Math.floor(next() * 2)))).join("");
    const commands: Command[] = [];
    for (let i = 0; i < 300; i++) {
      commands.push(["MSET", "l1", text(), "l2", text()]);
      commands.push(["LCS", "l1", "l2", ...pick([[], ["LEN"], ["IDX"], ["IDX", "WITHMATCHLEN"], ["IDX", "MINMATCHLEN", String(Math.floor(next() * 4))], ["WITHMATCHLEN", "IDX", "MINMATCHLEN", "2"]])]);
    }
    expect(await compare(commands)).toEqual([]);
  });

  test("BITCOUNT and BITPOS: 800 random ranges over random bytes", async () => {
    const next = rng(13);
    const pick = pickFrom(next);
    const commands: Command[] = [];
    const index = () => String(Math.floor(next() * 60) - 30);
    for (let i = 0; i < 800; i++) {
      if (i % 20 === 0) {
        const bytes = Array.from({ length: Math.floor(next() * 6) }, () => String.fromCharCode(pick([0, 255, Math.floor(next() * 256)])));
        commands.push(["SET", "b", bytes.join("")]);
      }
      const range = pick([[], [index()], [index(), index()], [index(), index(), pick(["BIT", "BYTE"])]]);
      commands.push(next() < 0.4 ? ["BITCOUNT", "b", ...range.slice(0, range.length === 1 ? 0 : 3)] : ["BITPOS", "b", pick(["0", "1"]), ...range]);
    }
    expect(await compare(commands)).toEqual([]);
  });

  test("BITOP: 300 operations over random values of different lengths", async () => {
    const next = rng(15);
    const pick = pickFrom(next);
    const commands: Command[] = [];
    const keys = ["o1", "o2", "o3", "o4"];
    for (let i = 0; i < 300; i++) {
      if (next() < 0.3) {
        const bytes = Array.from({ length: Math.floor(next() * 40) }, () => String.fromCharCode(Math.floor(next() * 256)));
        commands.push(["SET", pick(keys), bytes.join("")]);
      }
      const op = pick(["AND", "OR", "XOR", "NOT"]);
      const sources = op === "NOT" ? [pick(keys)] : Array.from({ length: 1 + Math.floor(next() * 4) }, () => pick([...keys, "none"]));
      commands.push(["BITOP", op, pick(keys), ...sources], ["GET", pick(keys)]);
    }
    commands.push(["MGET", ...keys]);
    expect(await compare(commands)).toEqual([]);
  });

  test("APPEND, SETRANGE and SETBIT on values that grow past 64 KiB, where a value moves to a buffer of its own", async () => {
    const next = rng(14);
    const pick = pickFrom(next);
    const commands: Command[] = [];
    for (let i = 0; i < 300; i++) {
      const key = pick(["g1", "g2"]);
      const chunk = "xyz".repeat(1 + Math.floor(next() * 3000));
      commands.push(
        pick([
          ["APPEND", key, chunk],
          ["SETRANGE", key, String(Math.floor(next() * 90_000)), chunk.slice(0, 100)],
          ["SETBIT", key, String(Math.floor(next() * 800_000)), pick(["0", "1"])],
          ["STRLEN", key],
          ["GETRANGE", key, String(Math.floor(next() * 90_000)), String(Math.floor(next() * 90_000))],
        ]),
      );
      if (next() < 0.02) commands.push(["DEL", key]);
    }
    commands.push(["GET", "g1"], ["GET", "g2"]);
    expect(await compare(commands)).toEqual([]);
  });
});
