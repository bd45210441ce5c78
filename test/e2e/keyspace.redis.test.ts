// The keyspace commands against a real redis-server, side by side: the same requests go to Osprey
// (RESP) and to Redis 7, and the replies must be the same bytes — except SCAN and KEYS, whose
// order is each server's hash order (compared as sets, SCAN iterated to its end), and TTLs,
// read off two clocks (compared within a tolerance). Hand-written sequences cover every command,
// option and error; a seeded random model then mixes them over a few keys. Everything runs twice:
// in RESP2, and in RESP3 after HELLO 3 on both servers.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { rng } from "../support/rng.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { resp } from "../resp/encode.ts";
import { startRedis, type RedisServer } from "../resp/redis.ts";

let osprey: RunningServer;
let redis: RedisServer;
let o: RawClient;
let r: RawClient;

beforeAll(async () => {
  // DEBUG SET-ACTIVE-EXPIRE is compared too: Redis 7.0 refuses DEBUG unless enabled.
  [osprey, redis] = await Promise.all([startServer(), startRedis(["--enable-debug-command", "yes"])]);
  [o, r] = await Promise.all([RawClient.connect(osprey.port), RawClient.connect(redis.port)]);
});

afterAll(async () => {
  o?.close();
  r?.close();
  await Promise.all([osprey?.stop(), redis?.stop()]);
});

/** A RESP2 or RESP3 value as read: its raw bytes, and its parts (aggregate items, or the scalar's text). */
interface Value {
  raw: string;
  type: string;
  text: string;
  items: Value[];
}

async function readValue(c: RawClient): Promise<Value> {
  const line = await c.line();
  const type = line[0]!;
  const rest = line.slice(1);
  if ((type === "$" || type === "=") && Number(rest) >= 0) {
    const body = (await c.bytes(Number(rest) + 2)).toString("latin1");
    return { raw: `${line}\r\n${body}`, type, text: body.slice(0, -2), items: [] };
  }
  if ((type === "*" || type === "~" || type === ">" || type === "%") && Number(rest) > 0) {
    const items: Value[] = [];
    // A map's length counts pairs.
    for (let i = 0; i < (type === "%" ? 2 : 1) * Number(rest); i++) items.push(await readValue(c));
    return { raw: `${line}\r\n${items.map((v) => v.raw).join("")}`, type, text: rest, items };
  }
  return { raw: `${line}\r\n`, type, text: rest, items: [] };
}

async function both(args: string[]): Promise<[Value, Value]> {
  const req = resp(...args);
  await Promise.all([o.send(req), r.send(req)]);
  return Promise.all([readValue(o), readValue(r)]);
}

/** Every key a full SCAN with these options answers (iterated until cursor 0), sorted. */
async function scanAll(c: RawClient, options: string[]): Promise<string[]> {
  const seen = new Set<string>();
  let cursor = "0";
  for (let i = 0; i < 100000; i++) {
    await c.send(resp("SCAN", cursor, ...options));
    const v = await readValue(c);
    if (v.type !== "*") throw new Error(`SCAN answered ${JSON.stringify(v.raw)}`);
    cursor = v.items[0]!.text;
    for (const k of v.items[1]!.items) seen.add(k.text);
    if (cursor === "0") return [...seen].sort();
  }
  throw new Error("SCAN did not end");
}

const ttlCommands = new Set(["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]);

/** Sends `args` to both and asserts the replies agree (SCAN/KEYS as sets, TTLs within a tolerance). */
async function same(args: string[], label = ""): Promise<void> {
  const name = args[0]!.toUpperCase();
  const what = `${label}${args.join(" ")}`;
  if (name === "SCAN" && args[1] === "ALL") {
    const opts = args.slice(2);
    const [a, b] = await Promise.all([scanAll(o, opts), scanAll(r, opts)]);
    expect(a, what).toEqual(b);
    return;
  }
  const [a, b] = await both(args);
  if (name === "KEYS" && a.type === "*" && b.type === "*") {
    expect(a.items.map((v) => v.text).sort(), what).toEqual(b.items.map((v) => v.text).sort());
    return;
  }
  if (name === "SCAN" && a.type === "*" && b.type === "*") {
    // A step's cursor and keys are each server's own: only the shape and that the keys exist can agree.
    expect(a.items.length, what).toBe(2);
    return;
  }
  if (ttlCommands.has(name) && a.type === ":" && b.type === ":" && Number(b.text) >= 0) {
    // Milliseconds: the two clocks, and past 2^53 the 1024 ms an expiry is held to (docs/PROTOCOL.md).
    const tolerance = name === "PTTL" || name === "PEXPIRETIME" ? (BigInt(b.text) > 2n ** 53n ? 2500n : 1500n) : 2n;
    const diff = BigInt(a.text) - BigInt(b.text);
    expect(diff <= tolerance && -diff <= tolerance, `${what}: ${a.text} vs ${b.text}`).toBe(true);
    return;
  }
  expect(a.raw, what).toBe(b.raw);
}

/** Reconnects both clients speaking RESP `proto` (HELLO 3 for RESP3; its reply, which names each server, is read and dropped). */
async function speak(proto: 2 | 3): Promise<void> {
  o?.close();
  r?.close();
  [o, r] = await Promise.all([RawClient.connect(osprey.port), RawClient.connect(redis.port)]);
  if (proto !== 3) return;
  await both(["HELLO", "3"]);
  // Both really speak RESP3 now: a missing key is RESP3's null.
  const [a, b] = await both(["GET", "no-such-key"]);
  expect([a.raw, b.raw]).toEqual(["_\r\n", "_\r\n"]);
}

async function sequence(lines: string[][]): Promise<void> {
  await same(["FLUSHALL"]);
  for (const args of lines) await same(args);
}

const longValue = "v".repeat(50);

for (const proto of [2, 3] as const) {
  describe(`keyspace commands answer as Redis 7 does (RESP${proto})`, () => {
    beforeAll(() => speak(proto));

    test("SCAN, with MATCH, COUNT and TYPE, and its cursor and option errors", async () => {
      const keys = Array.from({ length: 60 }, (_, i) => [`key:${i}`, String(i)]).flat();
      await sequence([
        ["MSET", ...keys, "other", "x", "a*b", "1", "a\\b", "2", "a[b", "3"],
        ["SCAN", "ALL"],
        ["SCAN", "ALL", "COUNT", "3"],
        ["SCAN", "ALL", "MATCH", "key:1*"],
        ["SCAN", "ALL", "MATCH", "key:[2-3]?", "COUNT", "7"],
        ["SCAN", "ALL", "MATCH", "*", "COUNT", "1000"],
        ["SCAN", "ALL", "MATCH", "a\\*b"],
        ["SCAN", "ALL", "MATCH", "a\\\\b"],
        ["SCAN", "ALL", "MATCH", "a[[]b"],
        ["SCAN", "ALL", "TYPE", "string"],
        ["SCAN", "ALL", "TYPE", "STRING", "MATCH", "o*"],
        ["SCAN", "ALL", "TYPE", "list"],
        ["SCAN", "ALL", "TYPE", "nosuchtype"],
        ["SCAN", "0", "COUNT", "5"],
        ["SCAN", "abc"],
        ["SCAN", "1.5"],
        ["SCAN", " 1"],
        ["SCAN", "18446744073709551616"],
        ["SCAN", "0", "COUNT", "0"],
        ["SCAN", "0", "COUNT", "-1"],
        ["SCAN", "0", "COUNT", "x"],
        ["SCAN", "0", "COUNT"],
        ["SCAN", "0", "MATCH"],
        ["SCAN", "0", "FOO", "bar"],
        ["SCAN"],
        ["SCAN", "0", "MATCH", "nomatch*", "COUNT", "10000"],
      ]);
    });

    test("SCAN over thousands of keys, while the index doubles, answers every key", async () => {
      await same(["FLUSHALL"]);
      for (let batch = 0; batch < 5; batch++) {
        await same(["MSET", ...Array.from({ length: 1000 }, (_, i) => [`many:${batch}:${i}`, "v"]).flat()]);
        await same(["SCAN", "ALL", "COUNT", "10"]);
        await same(["SCAN", "ALL", "MATCH", `many:${batch}:1*`, "COUNT", "100"]);
      }
      await same(["DBSIZE"]);
    });

    test("KEYS with Redis's glob rules: *, ?, classes, ranges, negation, escapes", async () => {
      await sequence([
        ["MSET", "hello", "1", "hallo", "1", "hxllo", "1", "hllo", "1", "heeeello", "1", "h\\llo", "1", "h-llo", "1", "H]llo", "1", "a^b", "1"],
        ["KEYS", "*"],
        ["KEYS", "h?llo"],
        ["KEYS", "h*llo"],
        ["KEYS", "h[ae]llo"],
        ["KEYS", "h[^e]llo"],
        ["KEYS", "h[a-b]llo"],
        ["KEYS", "h[b-a]llo"],
        ["KEYS", "h[a-]llo"],
        ["KEYS", "h[-]llo"],
        ["KEYS", "h\\\\llo"],
        ["KEYS", "h[\\\\]llo"],
        ["KEYS", "\\h*"],
        ["KEYS", "H[]]llo"],
        ["KEYS", "H]*"],
        ["KEYS", "h[ae"],
        ["KEYS", "a[^]b"],
        ["KEYS", "a^b"],
        ["KEYS", "**llo"],
        ["KEYS", "h*l*o*"],
        ["KEYS", "*\\"],
        ["KEYS", "nomatch"],
        ["SET", "a".repeat(250), "1"],
        ["KEYS", "a*".repeat(250)],
        ["KEYS", "a*".repeat(251)],
        ["KEYS"],
        ["KEYS", "a", "b"],
      ]);
    });

    test("TYPE, RANDOMKEY, DBSIZE, TOUCH, UNLINK, FLUSHDB and FLUSHALL", async () => {
      await sequence([
        ["RANDOMKEY"],
        ["DBSIZE"],
        ["SET", "only", "1"],
        ["RANDOMKEY"],
        ["TYPE", "only"],
        ["TYPE", "missing"],
        ["TYPE"],
        ["DBSIZE"],
        ["DBSIZE", "x"],
        ["MSET", "a", "1", "b", "2", "c", "3"],
        ["TOUCH", "a", "a", "b", "nokey"],
        ["TOUCH"],
        ["UNLINK", "a", "a", "nokey", "b"],
        ["UNLINK"],
        ["EXISTS", "a", "b", "c"],
        ["FLUSHDB", "x"],
        ["FLUSHDB", "SYNC", "x"],
        ["FLUSHALL", "ASYNC", "x"],
        ["FLUSHDB", "async"],
        ["DBSIZE"],
        ["SET", "a", "1"],
        ["FLUSHDB", "SYNC"],
        ["SET", "a", "1"],
        ["FLUSHDB"],
        ["SET", "a", "1"],
        ["FLUSHALL", "sync"],
        ["DBSIZE"],
      ]);
    });

    test("RENAME and RENAMENX move the value and its expiry, with Redis's errors", async () => {
      await sequence([
        ["RENAME", "nokey", "x"],
        ["RENAMENX", "nokey", "x"],
        ["SET", "src", "hello", "EX", "1000"],
        ["RENAME", "src", "src"],
        ["RENAMENX", "src", "src"],
        ["RENAME", "src", "dst"],
        ["EXISTS", "src"],
        ["GET", "dst"],
        ["TTL", "dst"],
        ["SET", "other", "1"],
        ["RENAMENX", "dst", "other"],
        ["GET", "other"],
        ["RENAME", "dst", "other"],
        ["GET", "other"],
        ["TTL", "other"],
        ["EXISTS", "dst"],
        ["SET", "plain", "2"],
        ["RENAMENX", "plain", "fresh"],
        ["TTL", "fresh"],
        ["RENAME", "a"],
        ["RENAME", "a", "b", "c"],
        ["RENAMENX", "a"],
      ]);
    });

    test("COPY with REPLACE and DB, with Redis's errors", async () => {
      await sequence([
        ["COPY", "nokey", "x"],
        ["SET", "s", "value", "PX", "500000"],
        ["COPY", "s", "s"],
        ["COPY", "s", "d"],
        ["GET", "d"],
        ["PTTL", "d"],
        ["COPY", "s", "d"],
        ["SET", "s", "newer"],
        ["COPY", "s", "d", "REPLACE"],
        ["GET", "d"],
        ["TTL", "d"],
        ["COPY", "s", "d", "DB", "0", "REPLACE"],
        ["COPY", "s", "e", "db", "0"],
        ["COPY", "s", "f", "DB"],
        ["COPY", "s", "f", "DB", "x"],
        ["COPY", "s", "f", "FOO"],
        ["COPY", "s", "s", "FOO"],
        ["COPY", "s", "s", "REPLACE"],
        ["COPY", "s"],
        ["EXISTS", "f"],
      ]);
    });

    test("EXPIREAT, PEXPIREAT, EXPIRETIME, PEXPIRETIME and the expire family's conditions and ranges", async () => {
      const at = Math.floor(Date.now() / 1000) + 10000;
      await sequence([
        ["EXPIRETIME", "nokey"],
        ["PEXPIRETIME", "nokey"],
        ["SET", "k", "1"],
        ["EXPIRETIME", "k"],
        ["PEXPIRETIME", "k"],
        ["EXPIREAT", "nokey", String(at)],
        ["EXPIREAT", "k", String(at)],
        ["EXPIRETIME", "k"],
        ["PEXPIRETIME", "k"],
        ["EXPIREAT", "k", String(at + 10), "NX"],
        ["EXPIREAT", "k", String(at + 10), "XX"],
        ["EXPIREAT", "k", String(at + 5), "GT"],
        ["EXPIREAT", "k", String(at + 20), "GT"],
        ["EXPIREAT", "k", String(at + 30), "LT"],
        ["EXPIREAT", "k", String(at + 1), "LT"],
        ["EXPIRETIME", "k"],
        ["PEXPIREAT", "k", String(at * 1000 + 123)],
        ["PEXPIRETIME", "k"],
        ["EXPIRETIME", "k"],
        ["PEXPIREAT", "k", String(at * 1000), "NX", "XX"],
        ["PEXPIREAT", "k", String(at * 1000), "GT", "LT"],
        ["PEXPIREAT", "k", String(at * 1000), "FOO"],
        ["PEXPIREAT", "k", "abc"],
        ["EXPIREAT", "k", "1.5"],
        ["EXPIREAT", "k"],
        ["EXPIRETIME"],
        ["PERSIST", "k"],
        ["EXPIRETIME", "k"],
        ["EXPIRE", "k", "-9223372036854776"],
        ["EXPIRE", "k", "-9223372036854775808"],
        ["EXPIREAT", "k", "-9223372036854776"],
        ["EXPIRE", "k", "9223372036854775807"],
        ["PEXPIRE", "k", "9223372036854775807"],
        ["EXPIREAT", "k", "9223372036854775807"],
        ["EXISTS", "k"],
        ["SET", "persisted", "1"],
        ["PERSIST", "persisted"],
        ["PERSIST", "nokey"],
        ["EXPIREAT", "persisted", "1"],
        ["EXISTS", "persisted"],
        ["SET", "k", "1"],
        ["PEXPIREAT", "k", "-5"],
        ["EXISTS", "k"],
        ["SET", "k", "1"],
        ["EXPIRE", "k", "-9223372036854775"],
        ["EXISTS", "k"],
        ["SET", "k", "1", "EX", "100"],
        ["EXPIRE", "k", "0", "LT"],
        ["EXISTS", "k"],
      ]);
    });

    test("expire times past 2^53 ms up to Redis's 64-bit overflow limits, and the replies about them", async () => {
      // A relative time that just fits under LLONG_MAX ms from now (an hour of margin), in ms and in seconds.
      const nearMaxMs = String(2n ** 63n - 1n - BigInt(Date.now()) - 3_600_000n);
      const nearMaxS = String((2n ** 63n - 1n - BigInt(Date.now())) / 1000n - 3600n);
      await sequence([
        ["SET", "k", "1"],
        ["PEXPIREAT", "k", "9223372036854770000"],
        ["PEXPIRETIME", "k"],
        ["EXPIRETIME", "k"],
        ["PTTL", "k"],
        ["TTL", "k"],
        ["PEXPIREAT", "k", "9223372036854775807"],
        ["PEXPIRETIME", "k"],
        ["TTL", "k"],
        ["EXPIREAT", "k", "9223372036854775"],
        ["EXPIRETIME", "k"],
        ["PEXPIRETIME", "k"],
        ["EXPIREAT", "k", "9223372036854776"],
        ["PEXPIREAT", "k", "9223372036854775808"],
        ["PEXPIREAT", "k", "4611686018427387905"],
        ["PEXPIRETIME", "k"],
        ["EXPIREAT", "k", "1000000000000000"],
        ["EXPIRETIME", "k"],
        ["PEXPIREAT", "k", "1000000000000000"],
        ["PEXPIRETIME", "k"],
        ["PEXPIRE", "k", nearMaxMs],
        ["PTTL", "k"],
        ["EXPIRE", "k", nearMaxS],
        ["TTL", "k"],
        ["PEXPIRE", "k", "9223372036854770000"],
        ["PEXPIRE", "k", "9223372036854775807"],
        ["EXPIRE", "k", "9223370399119966"],
        ["EXPIRE", "k", "9223372036854776"],
        ["EXPIRE", "k", "10000000000000000"],
        ["EXPIRE", "k", "18446744073709561"],
        ["EXPIRE", "k", "-9223372036854776"],
        ["EXPIRE", "k", "-9999999999999999"],
        ["TTL", "k"],
        ["PEXPIREAT", "k", "9223372036854770000", "GT"],
        ["PEXPIREAT", "k", "9223372036854000000", "LT"],
        ["PEXPIRETIME", "k"],
        ["PERSIST", "k"],
        ["PEXPIRETIME", "k"],
        ["PEXPIREAT", "k", "-9223372036854770000"],
        ["EXISTS", "k"],
        ["SET", "k", "1"],
        ["PEXPIREAT", "k", "-9223372036854775808"],
        ["EXISTS", "k"],
        ["SET", "k", "1"],
        ["EXPIREAT", "k", "-9223372036854775"],
        ["EXISTS", "k"],
      ]);
    });

    test("DEBUG SET-ACTIVE-EXPIRE 0 leaves expired keys counted until a read removes them; other DEBUG subcommands are Redis's syntax error", async () => {
      await sequence([
        ["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
        ["PSETEX", "a", "100", "v"],
        ["PSETEX", "b", "100", "v"],
        ["SET", "c", "v"],
      ]);
      await Bun.sleep(600); // several sweeps' worth (sweep_interval_ms 200; Redis: 10 per second)
      for (const args of [["DBSIZE"], ["GET", "a"], ["DBSIZE"], ["MGET", "a", "b", "c"], ["DBSIZE"], ["DEBUG", "set-active-expire", "1"], ["DEBUG", "SET-ACTIVE-EXPIRE"], ["DEBUG", "NOSUCH", "x"]]) await same(args);
      await same(["PSETEX", "d", "50", "v"]);
      await Bun.sleep(1500);
      await same(["DBSIZE"]);
    });

    test("OBJECT ENCODING, REFCOUNT, FREQ and HELP, and its subcommand errors", async () => {
      await sequence([
        ["MSET", "small", "7", "int", "123456789", "neg", "-42", "zero", "0", "lead", "0123", "plus", "+1", "big", "99999999999999999999", "word", "hello"],
        ["SET", "long", longValue],
        ["SET", "edge", "x".repeat(44)],
        ["SET", "edge2", "x".repeat(45)],
        ...["small", "int", "neg", "zero", "lead", "plus", "big", "word", "long", "edge", "edge2", "nokey"].map((k) => ["OBJECT", "ENCODING", k]),
        ...["small", "int", "neg", "zero", "word", "nokey"].map((k) => ["OBJECT", "REFCOUNT", k]),
        ["SET", "k9999", "9999"],
        ["SET", "k10000", "10000"],
        ["OBJECT", "REFCOUNT", "k9999"],
        ["OBJECT", "REFCOUNT", "k10000"],
        ["OBJECT", "FREQ", "word"],
        ["OBJECT", "FREQ", "nokey"],
        ["OBJECT", "IDLETIME", "nokey"],
        ["OBJECT", "HELP"],
        ["object", "help"],
        ["OBJECT", "HELP", "x"],
        ["OBJECT", "ENCODING"],
        ["OBJECT", "ENCODING", "a", "b"],
        ["OBJECT", "FOO", "a"],
        ["OBJECT"],
      ]);
    });

    test("commands of Redis's other types are unknown commands", async () => {
      // Redis knows these commands: Osprey must answer its unknown-command error, which names them.
      for (const args of [["LPUSH", "l", "a"], ["HSET", "h", "f", "v"], ["SADD", "s", "m"], ["ZADD", "z", "1", "m"], ["XADD", "x", "*", "f", "v"]]) {
        await o.send(resp(...args));
        const v = await readValue(o);
        expect(v.raw).toBe(`-ERR unknown command '${args[0]}', with args beginning with: ${args.slice(1).map((a) => `'${a}' `).join("")}\r\n`);
      }
    });
  });

  describe(`a seeded random mix of keyspace commands answers as Redis 7 does (RESP${proto})`, () => {
    beforeAll(() => speak(proto));

    const keys = ["k0", "k1", "k2", "k3", "k10", "x"];
    const values = ["1", "42", "-7", "0123", "hello", longValue, "9999", "10000", ""];
    const conditions = ["", "", "NX", "XX", "GT", "LT"];
    const patterns = ["*", "k*", "k?", "k[0-2]", "k[^1]*", "*1*", "\\k1", "x"];

    for (const seed of [1, 2, 3]) {
      test(`seed ${seed}: 300 commands`, async () => {
        const next = rng(seed);
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
        const nowS = Math.floor(Date.now() / 1000);
        const gen = (): string[] => {
          const k = pick(keys);
          const cond = pick(conditions);
          const withCond = (args: string[]) => (cond === "" ? args : [...args, cond]);
          switch (Math.floor(next() * 22)) {
            case 0:
            case 1:
              return ["SET", k, pick(values)];
            case 2:
              return ["SET", k, pick(values), "EX", String(100 + Math.floor(next() * 1000))];
            case 3:
              return ["DEL", k, pick(keys)];
            case 4:
              return ["UNLINK", k];
            case 5:
              return ["RENAME", k, pick(keys)];
            case 6:
              return ["RENAMENX", k, pick(keys)];
            case 7:
              return next() < 0.5 ? ["COPY", k, pick(keys)] : ["COPY", k, pick(keys), "REPLACE"];
            case 8:
              return withCond(["EXPIRE", k, String(next() < 0.1 ? -1 : 100 + Math.floor(next() * 1000))]);
            case 9:
              return withCond(["PEXPIRE", k, String(100000 + Math.floor(next() * 1000000))]);
            case 10:
              return withCond(["EXPIREAT", k, String(next() < 0.1 ? 1 : nowS + 200 + Math.floor(next() * 1000))]);
            case 11:
              return withCond(["PEXPIREAT", k, String((nowS + 200) * 1000 + Math.floor(next() * 1000000))]);
            case 12:
              return ["PERSIST", k];
            case 13:
              return [pick(["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]), k];
            case 14:
              return ["TYPE", k];
            case 15:
              return ["EXISTS", k, pick(keys)];
            case 16:
              return ["TOUCH", k, pick(keys)];
            case 17:
              return ["GET", k];
            case 18:
              return ["OBJECT", "ENCODING", k];
            case 19:
              return ["KEYS", pick(patterns)];
            case 20:
              return ["SCAN", "ALL", "MATCH", pick(patterns), "COUNT", String(1 + Math.floor(next() * 5))];
            default:
              return ["DBSIZE"];
          }
        };
        await same(["FLUSHALL"]);
        for (let i = 0; i < 300; i++) await same(gen(), `seed ${seed} #${i}: `);
      });
    }
  });
}
