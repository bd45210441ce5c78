// RESP over the engine: a Connection on an in-memory transport, fed RESP requests. Replies are
// checked byte for byte; an Osprey-protocol client on the same keyspace checks versions and expiry.

import { describe, expect, test } from "bun:test";
import { Stat } from "../../src/commands/context.ts";
import { nullLog, type MutationLog } from "../../src/engine/store.ts";
import { createContext, EngineClient } from "../commands/harness.ts";
import { pipeline, resp } from "./encode.ts";

const config = { max_key_bytes: 16, max_value_bytes: 4096 };

/** A RESP client and an Osprey-text client over one keyspace. */
function clients(log?: MutationLog) {
  const ctx = createContext(config, { log });
  const redis = new EngineClient(ctx);
  const osprey = new EngineClient(ctx);
  const r = (...args: string[]) => redis.send(resp(...args));
  const o = (line: string) => osprey.send(`${line}\r\n`);
  return { ctx, redis, osprey, r, o };
}

const OK = "+OK\r\n";
const NIL = "$-1\r\n";
const bulk = (s: string) => `$${Buffer.byteLength(s, "latin1")}\r\n${s}\r\n`;
const int = (n: number | string) => `:${n}\r\n`;
const err = (s: string) => `-ERR ${s}\r\n`;

describe("protocol detection", () => {
  test("a connection whose first byte is `*` speaks RESP for its whole life", () => {
    const { redis } = clients();
    expect(redis.send(resp("PING"))).toBe("+PONG\r\n");
    // A later line that is not an array is not Osprey text on this connection: it is a RESP
    // inline command, as Redis reads it.
    expect(redis.send("PING\r\n")).toBe("+PONG\r\n");
    expect(redis.send("SET k v\r\nGET k\r\n")).toBe("+OK\r\n$1\r\nv\r\n");
    expect(redis.closed).toBe(false);
  });

  test("any other first byte keeps the Osprey text protocol, where `*` is just an unknown command", () => {
    const { osprey } = clients();
    expect(osprey.send("PING\r\n")).toBe("PONG\r\n");
    expect(osprey.send(resp("PING"))).toStartWith("ERR BADREQ unknown command\r\n");
  });

  test("a RESP request arriving one byte at a time is answered once, when complete", () => {
    const { redis } = clients();
    const input = pipeline(["SET", "k", "hello"], ["GET", "k"]);
    expect(redis.send(input, [1])).toBe(OK + bulk("hello"));
  });
});

describe("strings", () => {
  test("SET and GET answer OK and the value; missing keys are nil", () => {
    const { r } = clients();
    expect(r("GET", "a")).toBe(NIL);
    expect(r("SET", "a", "v\r\n1")).toBe(OK);
    expect(r("GET", "a")).toBe(bulk("v\r\n1"));
  });

  test("versions count on as in the Osprey protocol: new key 1, each write +1, fresh after a delete", () => {
    const { r, o } = clients();
    r("SET", "a", "x");
    r("SET", "a", "yy");
    expect(o("GET a")).toBe("VALUE 2 2 -1\r\nyy\r\n");
    r("INCR", "n");
    r("INCRBY", "n", "5");
    expect(o("GET n")).toBe("VALUE 1 2 -1\r\n6\r\n");
    r("MSET", "a", "1", "b", "2");
    expect(o("MGET a b")).toBe("VALUE a 1 3 -1\r\n1\r\nVALUE b 1 1 -1\r\n2\r\n");
    r("EXPIRE", "a", "100");
    expect(o("GET a")).toMatch(/^VALUE 1 3 \d+\r\n1\r\n$/);
    r("GETDEL", "a");
    r("SET", "a", "z");
    expect(o("GET a")).toBe("VALUE 1 1 -1\r\nz\r\n");
  });

  test("SET NX and XX answer nil when their condition fails and write nothing", () => {
    const { r } = clients();
    expect(r("SET", "a", "1", "XX")).toBe(NIL);
    expect(r("SET", "a", "1", "NX")).toBe(OK);
    expect(r("SET", "a", "2", "nx")).toBe(NIL);
    expect(r("SET", "a", "3", "XX")).toBe(OK);
    expect(r("GET", "a")).toBe(bulk("3"));
  });

  test("SET GET answers the old value (nil when missing), also when NX stops the write", () => {
    const { r } = clients();
    expect(r("SET", "a", "1", "GET")).toBe(NIL);
    expect(r("SET", "a", "2", "GET")).toBe(bulk("1"));
    expect(r("SET", "a", "3", "NX", "GET")).toBe(bulk("2"));
    expect(r("GET", "a")).toBe(bulk("2"));
  });

  test("SET EX, PX, EXAT and PXAT store absolute expiry times", () => {
    const { r, o } = clients();
    const before = Date.now();
    r("SET", "a", "1", "EX", "100");
    r("SET", "b", "1", "PX", "2500");
    r("SET", "c", "1", "EXAT", "4102444800");
    r("SET", "d", "1", "PXAT", "4102444800123");
    const expiry = (k: string) => Number(/^VALUE \d+ \d+ (-?\d+)/.exec(o(`GET ${k}`))![1]);
    expect(expiry("a") - before).toBeGreaterThanOrEqual(100_000);
    expect(expiry("a") - before).toBeLessThan(101_000);
    expect(expiry("b") - before).toBeGreaterThanOrEqual(2500);
    expect(expiry("b") - before).toBeLessThan(3500);
    expect(expiry("c")).toBe(4102444800000);
    expect(expiry("d")).toBe(4102444800123);
  });

  test("SET without expiry options clears the expiry; KEEPTTL keeps it", () => {
    const { r } = clients();
    r("SET", "a", "1", "EX", "100");
    expect(r("SET", "a", "2", "KEEPTTL")).toBe(OK);
    expect(r("TTL", "a")).toBe(int(100));
    r("SET", "a", "3");
    expect(r("TTL", "a")).toBe(int(-1));
  });

  test("SET with a PXAT in the past answers OK and leaves no key", () => {
    const { r } = clients();
    expect(r("SET", "a", "1", "PXAT", "1")).toBe(OK);
    expect(r("GET", "a")).toBe(NIL);
  });

  test("SET's option errors have Redis's texts", () => {
    const { r } = clients();
    expect(r("SET", "a", "1", "NX", "XX")).toBe(err("syntax error"));
    expect(r("SET", "a", "1", "EX", "10", "PX", "10")).toBe(err("syntax error"));
    expect(r("SET", "a", "1", "EX", "10", "KEEPTTL")).toBe(err("syntax error"));
    expect(r("SET", "a", "1", "EX")).toBe(err("syntax error"));
    expect(r("SET", "a", "1", "BOGUS")).toBe(err("syntax error"));
    expect(r("SET", "a", "1", "EX", "0")).toBe(err("invalid expire time in 'set' command"));
    expect(r("SET", "a", "1", "PX", "-5")).toBe(err("invalid expire time in 'set' command"));
    expect(r("SET", "a", "1", "EX", "1e3")).toBe(err("value is not an integer or out of range"));
    expect(r("SET", "a", "1", "EX", "99999999999999")).toBe(err("invalid expire time in 'set' command"));
    expect(r("SET", "a")).toBe(err("wrong number of arguments for 'set' command"));
    expect(r("GET", "a")).toBe(NIL);
  });

  test("a repeated expiry option is allowed and the last value wins, as in Redis", () => {
    const { r } = clients();
    expect(r("SET", "a", "1", "EX", "junk", "EX", "50")).toBe(OK);
    expect(r("TTL", "a")).toBe(int(50));
  });

  test("SETNX answers 1 when it wrote and 0 when the key was live", () => {
    const { r } = clients();
    expect(r("SETNX", "a", "1")).toBe(int(1));
    expect(r("SETNX", "a", "2")).toBe(int(0));
    expect(r("GET", "a")).toBe(bulk("1"));
  });

  test("GETDEL answers the value and removes the key", () => {
    const { r } = clients();
    r("SET", "a", "1");
    expect(r("GETDEL", "a")).toBe(bulk("1"));
    expect(r("GETDEL", "a")).toBe(NIL);
  });

  test("DEL counts the live keys it removed; EXISTS counts a key named twice twice", () => {
    const { r } = clients();
    r("MSET", "a", "1", "b", "2");
    expect(r("EXISTS", "a", "a", "b", "zz")).toBe(int(3));
    expect(r("DEL", "a", "a", "zz", "b")).toBe(int(2));
    expect(r("EXISTS", "a", "b")).toBe(int(0));
  });

  test("MGET answers an array with nil for missing keys; MSET needs key-value pairs", () => {
    const { r } = clients();
    expect(r("MSET", "a", "1", "b", "")).toBe(OK);
    expect(r("MGET", "a", "zz", "b")).toBe(`*3\r\n${bulk("1")}${NIL}${bulk("")}`);
    expect(r("MSET", "a", "1", "b")).toBe(err("wrong number of arguments for 'mset' command"));
  });

  test("MSET with one bad key writes none of its keys", () => {
    const { r } = clients();
    expect(r("MSET", "a", "1", "", "2")).toBe(err("empty keys are not supported"));
    expect(r("EXISTS", "a")).toBe(int(0));
  });
});

describe("keys", () => {
  test("keys may hold any bytes, spaces and control characters included", () => {
    const { r } = clients();
    for (const key of ["with space", "tab\there", "\0\x01\x7f", "\r\n", "\xff\xfe"]) {
      expect(r("SET", key, key)).toBe(OK);
      expect(r("GET", key)).toBe(bulk(key));
    }
    expect(r("DBSIZE")).toBe(int(5));
  });

  test("an empty or over-long key cannot be written and reads as missing", () => {
    const { r } = clients();
    const long = "k".repeat(config.max_key_bytes + 1);
    expect(r("SET", "", "1")).toBe(err("empty keys are not supported"));
    expect(r("SET", long, "1")).toBe(err("key is longer than max_key_bytes"));
    expect(r("INCR", long)).toBe(err("key is longer than max_key_bytes"));
    expect(r("SET", "k".repeat(config.max_key_bytes), "1")).toBe(OK);
    expect(r("GET", "")).toBe(NIL);
    expect(r("GET", long)).toBe(NIL);
    expect(r("DEL", "", long)).toBe(int(0));
  });
});

describe("expiry", () => {
  test("EXPIRE sets an expiry in seconds and PEXPIRE in milliseconds; a missing key answers 0", () => {
    const { r } = clients();
    r("SET", "a", "1");
    expect(r("EXPIRE", "a", "100")).toBe(int(1));
    expect(r("TTL", "a")).toBe(int(100));
    expect(r("PEXPIRE", "a", "5000")).toBe(int(1));
    expect(Number(r("PTTL", "a").slice(1))).toBeGreaterThan(4000);
    expect(r("EXPIRE", "zz", "100")).toBe(int(0));
  });

  test("EXPIRE with a time that is not in the future deletes the key and answers 1", () => {
    const { r } = clients();
    r("MSET", "a", "1", "b", "1");
    expect(r("EXPIRE", "a", "0")).toBe(int(1));
    expect(r("PEXPIRE", "b", "-100")).toBe(int(1));
    expect(r("EXISTS", "a", "b")).toBe(int(0));
  });

  test("EXPIRE NX, XX, GT and LT answer 0 when their condition fails", () => {
    const { r } = clients();
    r("SET", "a", "1");
    expect(r("EXPIRE", "a", "100", "XX")).toBe(int(0));
    expect(r("EXPIRE", "a", "100", "GT")).toBe(int(0));
    expect(r("EXPIRE", "a", "100", "NX")).toBe(int(1));
    expect(r("EXPIRE", "a", "200", "NX")).toBe(int(0));
    expect(r("EXPIRE", "a", "50", "GT")).toBe(int(0));
    expect(r("EXPIRE", "a", "200", "GT")).toBe(int(1));
    expect(r("EXPIRE", "a", "300", "LT")).toBe(int(0));
    expect(r("EXPIRE", "a", "10", "lt")).toBe(int(1));
    expect(r("TTL", "a")).toBe(int(10));
    expect(r("EXPIRE", "a", "10", "NX", "GT")).toBe(err("NX and XX, GT or LT options at the same time are not compatible"));
    expect(r("EXPIRE", "a", "10", "GT", "LT")).toBe(err("GT and LT options at the same time are not compatible"));
    expect(r("EXPIRE", "a", "10", "SOON")).toBe(err("Unsupported option SOON"));
    expect(r("EXPIRE", "a", "ten")).toBe(err("value is not an integer or out of range"));
  });

  test("TTL answers -2 for a missing key, -1 without expiry, and rounds seconds half up as Redis", () => {
    const { r } = clients();
    expect(r("TTL", "a")).toBe(int(-2));
    expect(r("PTTL", "a")).toBe(int(-2));
    r("SET", "a", "1");
    expect(r("TTL", "a")).toBe(int(-1));
    expect(r("PTTL", "a")).toBe(int(-1));
    r("SET", "a", "1", "PXAT", String(Date.now() + 100_900));
    expect(r("TTL", "a")).toBe(int(101)); // 100.9 s left (less a few ms): rounds to 101
  });

  test("PERSIST removes an expiry and answers 1, else 0", () => {
    const { r } = clients();
    r("SET", "a", "1", "EX", "100");
    expect(r("PERSIST", "a")).toBe(int(1));
    expect(r("TTL", "a")).toBe(int(-1));
    expect(r("PERSIST", "a")).toBe(int(0));
    expect(r("PERSIST", "zz")).toBe(int(0));
  });
});

describe("counters", () => {
  test("INCR, DECR, INCRBY and DECRBY answer the new value; a missing key counts as 0", () => {
    const { r } = clients();
    expect(r("INCR", "n")).toBe(int(1));
    expect(r("INCRBY", "n", "41")).toBe(int(42));
    expect(r("DECR", "n")).toBe(int(41));
    expect(r("DECRBY", "n", "50")).toBe(int(-9));
    expect(r("GET", "n")).toBe(bulk("-9"));
  });

  test("counters are exact over the whole signed 64-bit range and refuse to overflow", () => {
    const { r } = clients();
    r("SET", "n", "9223372036854775806");
    expect(r("INCR", "n")).toBe(int("9223372036854775807"));
    expect(r("INCR", "n")).toBe(err("increment or decrement would overflow"));
    expect(r("GET", "n")).toBe(bulk("9223372036854775807"));
    expect(r("DECRBY", "m", "9223372036854775807")).toBe(int("-9223372036854775807"));
    expect(r("DECR", "m")).toBe(int("-9223372036854775808"));
    expect(r("DECR", "m")).toBe(err("increment or decrement would overflow"));
    expect(r("DECRBY", "m", "-9223372036854775808")).toBe(err("decrement would overflow"));
  });

  test("a value or increment that is not a 64-bit integer is refused with Redis's text", () => {
    const { r } = clients();
    r("SET", "s", "abc");
    expect(r("INCR", "s")).toBe(err("value is not an integer or out of range"));
    expect(r("INCRBY", "n", "1.5")).toBe(err("value is not an integer or out of range"));
    expect(r("INCRBY", "n", "9223372036854775808")).toBe(err("value is not an integer or out of range"));
  });

  test("INCR keeps the key's expiry", () => {
    const { r } = clients();
    r("SET", "n", "1", "EX", "100");
    r("INCR", "n");
    expect(r("TTL", "n")).toBe(int(100));
  });
});

describe("connection and server commands", () => {
  test("PING, ECHO, SELECT 0, DBSIZE and FLUSHALL", () => {
    const { r } = clients();
    expect(r("PING")).toBe("+PONG\r\n");
    expect(r("PING", "hi there")).toBe(bulk("hi there"));
    expect(r("ECHO", "x")).toBe(bulk("x"));
    expect(r("SELECT", "0")).toBe(OK);
    expect(r("SELECT", "1")).toBe(err("DB index is out of range"));
    expect(r("SELECT", "x")).toBe(err("value is not an integer or out of range"));
    r("MSET", "a", "1", "b", "2");
    expect(r("DBSIZE")).toBe(int(2));
    expect(r("FLUSHALL", "bogus")).toBe(err("syntax error"));
    expect(r("FLUSHALL")).toBe(OK);
    expect(r("DBSIZE")).toBe(int(0));
    expect(r("FLUSHALL", "ASYNC")).toBe(OK);
  });

  test("unknown commands and wrong arity have Redis's texts and keep the connection", () => {
    const { r, redis } = clients();
    expect(r("FOO", "a", "b")).toBe(err("unknown command 'FOO', with args beginning with: 'a' 'b' "));
    expect(r("GET")).toBe(err("wrong number of arguments for 'get' command"));
    expect(r("PING", "a", "b")).toBe(err("wrong number of arguments for 'ping' command"));
    expect(redis.closed).toBe(false);
  });

  test("HELLO 2 describes the server; HELLO 3 is refused with NOPROTO", () => {
    const { r } = clients();
    const hello = r("HELLO", "2", "SETNAME", "app");
    expect(hello).toStartWith(`*14\r\n${bulk("server")}${bulk("redis")}${bulk("version")}`);
    expect(hello).toContain(`${bulk("proto")}:2\r\n`);
    expect(r("CLIENT", "GETNAME")).toBe(bulk("app"));
    expect(r("HELLO", "3")).toBe("-NOPROTO unsupported protocol version\r\n");
    expect(r("HELLO", "2", "AUTH", "default", "any")).toStartWith("*14\r\n");
    expect(r("HELLO", "2", "AUTH", "alice", "pw")).toBe("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  });

  test("CLIENT SETNAME and GETNAME keep a name per connection", () => {
    const ctx = createContext(config);
    const one = new EngineClient(ctx);
    const two = new EngineClient(ctx);
    expect(one.send(resp("CLIENT", "GETNAME"))).toBe(NIL);
    expect(one.send(resp("CLIENT", "SETNAME", "worker-1"))).toBe(OK);
    expect(one.send(resp("CLIENT", "GETNAME"))).toBe(bulk("worker-1"));
    expect(two.send(resp("CLIENT", "GETNAME"))).toBe(NIL);
    expect(one.send(resp("CLIENT", "SETNAME", "a b"))).toBe(err("Client names cannot contain spaces, newlines or special characters."));
    expect(one.send(resp("CLIENT", "KILL"))).toBe(err("unknown subcommand 'KILL'. Try CLIENT HELP."));
  });

  test("QUIT answers OK and closes; requests after it in the same read are not run", () => {
    const { redis, ctx } = clients();
    expect(redis.send(pipeline(["QUIT"], ["SET", "a", "1"]))).toBe(OK);
    expect(redis.closed).toBe(true);
    expect(ctx.store.size).toBe(0);
  });

  test("a protocol error is answered after the replies before it, then the connection closes", () => {
    const { redis } = clients();
    expect(redis.send(Buffer.concat([resp("PING"), Buffer.from("*1\r\n$99999\r\n")]))).toBe(`+PONG\r\n${err("Protocol error: invalid bulk length")}`);
    expect(redis.closed).toBe(true);
  });

  test("INFO has the server, clients, memory, persistence, stats and keyspace sections", () => {
    const { r } = clients();
    r("SET", "a", "1", "EX", "100");
    r("SET", "b", "1");
    const info = r("INFO");
    for (const section of ["Server", "Clients", "Memory", "Persistence", "Stats", "Keyspace"]) expect(info).toContain(`# ${section}\r\n`);
    expect(info).toContain("loading:0\r\n");
    expect(info).toContain("db0:keys=2,expires=1,avg_ttl=0\r\n");
    const keyspace = r("INFO", "keyspace");
    expect(keyspace).toBe(bulk("# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n"));
  });

  test("CONFIG GET matches parameter names by glob, case-insensitively", () => {
    const { r } = clients();
    expect(r("CONFIG", "GET", "save")).toBe(`*2\r\n${bulk("save")}${bulk("")}`);
    expect(r("CONFIG", "GET", "MAXMEMORY*")).toBe(`*4\r\n${bulk("maxmemory")}${bulk("0")}${bulk("maxmemory-policy")}${bulk("noeviction")}`);
    expect(r("CONFIG", "GET", "proto-max-bulk-len")).toBe(`*2\r\n${bulk("proto-max-bulk-len")}${bulk("4096")}`);
    expect(r("CONFIG", "GET", "nothing-like-this")).toBe("*0\r\n");
    expect(r("CONFIG", "GET")).toBe(err("wrong number of arguments for 'config|get' command"));
    expect(r("CONFIG", "SET", "save", "")).toBe(err("unknown subcommand 'SET'. Try CONFIG HELP."));
  });

  test("COMMAND COUNT, INFO and DOCS describe every command of the table", () => {
    const { r } = clients();
    const count = Number(r("COMMAND", "COUNT").slice(1));
    expect(count).toBeGreaterThan(25);
    expect(r("COMMAND")).toStartWith(`*${count}\r\n`);
    expect(r("COMMAND", "INFO", "get", "nope")).toBe(`*2\r\n*10\r\n${bulk("get")}:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*1\r\n+@string\r\n*0\r\n*0\r\n*0\r\n${NIL}`);
    expect(r("COMMAND", "DOCS", "get")).toBe(`*2\r\n${bulk("get")}*6\r\n${bulk("summary")}${bulk("Returns the string value of a key.")}${bulk("since")}${bulk("1.0.0")}${bulk("group")}${bulk("string")}`);
  });
});

describe("the engine behind RESP", () => {
  test("every RESP write reaches the mutation log in absolute form", () => {
    const events: string[] = [];
    const text = (b: Uint8Array, s: number, e: number) => Buffer.from(b.subarray(s, e)).toString("latin1");
    const log: MutationLog = {
      set: (kb, ks, ke, vb, vs, ve, expiry, version) => events.push(`set ${text(kb, ks, ke)}=${text(vb, vs, ve)} ${expiry === -1 ? -1 : "abs"} v${version}`),
      del: (kb, ks, ke) => events.push(`del ${text(kb, ks, ke)}`),
      expire: (kb, ks, ke, expiry, version) => events.push(`expire ${text(kb, ks, ke)} ${expiry === -1 ? -1 : expiry > Date.now() ? "future" : "past"} v${version}`),
      batchBegin: (count, bytes) => events.push(`batch ${count} ${bytes}`),
      batchEnd: () => events.push("end"),
      clear: () => events.push("clear"),
    };
    const { r } = clients(log);
    r("SET", "a", "1", "EX", "10");
    r("INCR", "a");
    r("MSET", "b", "22", "c", "3");
    r("EXPIRE", "b", "100");
    r("PERSIST", "b");
    r("DEL", "c");
    r("GETDEL", "b");
    r("SETNX", "d", "x");
    r("FLUSHALL");
    expect(events).toEqual([
      "set a=1 abs v1",
      "set a=2 abs v2",
      "batch 2 5",
      "set b=22 -1 v1",
      "set c=3 -1 v1",
      "end",
      "expire b future v1",
      "expire b -1 v1",
      "del c",
      "del b",
      "set d=x -1 v1",
      "clear",
    ]);
  });

  test("a write whose log append throws answers -ERR INTERNAL with the cause, changes nothing, and the connection goes on", () => {
    let failing = true;
    const log: MutationLog = {
      ...nullLog,
      set() {
        if (failing) throw new Error("no space left on device");
      },
    };
    const { r, redis, ctx } = clients(log);
    expect(r("SET", "k", "v", "GET")).toBe(err("INTERNAL no space left on device"));
    expect(r("GET", "k")).toBe(NIL);
    failing = false;
    expect(r("SET", "k", "v")).toBe(OK);
    expect(redis.closed).toBe(false);
    expect(ctx.stats.errorsTotal).toBe(1);
  });

  test("RESP commands count in the same stats as Osprey's", () => {
    const { r, ctx } = clients();
    r("SET", "a", "1");
    r("GET", "a");
    r("MGET", "a", "b");
    r("INCR", "n");
    r("DEL", "a");
    r("EXISTS", "a");
    r("TTL", "a");
    r("EXPIRE", "n", "10");
    r("MSET", "a", "1");
    r("NOPE");
    const s = ctx.stats;
    const c = s.commands;
    expect([c[Stat.Set], c[Stat.Get], c[Stat.Mget], c[Stat.Incr], c[Stat.Del], c[Stat.Exists], c[Stat.Ttl], c[Stat.Expire], c[Stat.Mset], s.errorsTotal]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });
});
