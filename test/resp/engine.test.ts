// RESP over the engine, for what is not one command's rule: protocol detection, keyspace-wide and
// per-connection commands (DBSIZE, FLUSHALL, client names), QUIT and protocol errors, INFO, CONFIG
// and COMMAND, and the engine behind RESP (its mutation log, failures, stats). Each command's own
// behaviour is a case of test/commands/cases.ts, which runs in both protocols.

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
  return { ctx, redis, osprey, r };
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

describe("connection and server commands", () => {
  test("DBSIZE counts every key, whatever bytes it holds, and FLUSHALL removes them all", () => {
    const { r } = clients();
    for (const key of ["with space", "tab\there", "\0\x01\x7f", "\r\n", "\xff\xfe"]) expect(r("SET", key, key)).toBe(OK);
    expect(r("DBSIZE")).toBe(int(5));
    expect(r("FLUSHALL", "bogus")).toBe(err("syntax error"));
    expect(r("DBSIZE")).toBe(int(5));
    expect(r("FLUSHALL")).toBe(OK);
    expect(r("DBSIZE")).toBe(int(0));
    r("MSET", "a", "1", "b", "2");
    expect(r("DBSIZE")).toBe(int(2));
    expect(r("FLUSHALL", "ASYNC")).toBe(OK);
    expect(r("DBSIZE")).toBe(int(0));
  });

  test("a key written after FLUSHALL starts again at version 1", () => {
    const { r, osprey } = clients();
    r("SET", "a", "1");
    r("SET", "a", "2");
    expect(osprey.send("GET a\r\n")).toBe("VALUE 1 2 -1\r\n2\r\n");
    expect(r("FLUSHALL")).toBe(OK);
    expect(osprey.send("GET a\r\n")).toBe("NOT_FOUND\r\n");
    r("SET", "a", "3");
    expect(osprey.send("GET a\r\n")).toBe("VALUE 1 1 -1\r\n3\r\n");
  });

  test("a client name belongs to its connection: another connection's stays unset", () => {
    const ctx = createContext(config);
    const one = new EngineClient(ctx);
    const two = new EngineClient(ctx);
    expect(one.send(resp("CLIENT", "SETNAME", "worker-1"))).toBe(OK);
    expect(one.send(resp("CLIENT", "GETNAME"))).toBe(bulk("worker-1"));
    expect(two.send(resp("CLIENT", "GETNAME"))).toBe(NIL);
    expect(two.send(resp("CLIENT", "SETNAME", "worker-2"))).toBe(OK);
    expect(one.send(resp("CLIENT", "GETNAME"))).toBe(bulk("worker-1"));
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
    // CONFIG SET takes the memory limit's two parameters only; others get Redis's unknown-option error.
    expect(r("CONFIG", "SET", "nosuch-param", "x")).toBe(err("Unknown option or number of arguments for CONFIG SET - 'nosuch-param'"));
    expect(r("CONFIG", "SET", "maxmemory", "1mb", "maxmemory-policy", "allkeys-lfu")).toBe("+OK\r\n");
    expect(r("CONFIG", "GET", "MAXMEMORY*")).toBe(`*4\r\n${bulk("maxmemory")}${bulk("1048576")}${bulk("maxmemory-policy")}${bulk("allkeys-lfu")}`);
    expect(r("CONFIG", "SET", "save", "")).toBe(err("CONFIG SET failed (possibly related to argument 'save') - can't set immutable config"));
    // This in-process server was started from no config file (test/e2e/config-rewrite.test.ts writes one back).
    expect(r("CONFIG", "REWRITE")).toBe(err("The server is running without a config file"));
    expect(r("CONFIG", "NOSUCH")).toBe(err("unknown subcommand 'NOSUCH'. Try CONFIG HELP."));
  });

  test("COMMAND COUNT, INFO and DOCS describe every command of the table", () => {
    const { r } = clients();
    const count = Number(r("COMMAND", "COUNT").slice(1));
    expect(count).toBeGreaterThan(25);
    expect(r("COMMAND")).toStartWith(`*${count}\r\n`);
    // Redis 7.0.15's exact bytes for GET: flags, key positions, ACL categories, tips, one key spec.
    const keySpec = `*6\r\n${bulk("flags")}*2\r\n+RO\r\n+access\r\n${bulk("begin_search")}*4\r\n${bulk("type")}${bulk("index")}${bulk("spec")}*2\r\n${bulk("index")}:1\r\n${bulk("find_keys")}*4\r\n${bulk("type")}${bulk("range")}${bulk("spec")}*6\r\n${bulk("lastkey")}:0\r\n${bulk("keystep")}:1\r\n${bulk("limit")}:0\r\n`;
    expect(r("COMMAND", "INFO", "get", "nope")).toBe(`*2\r\n*10\r\n${bulk("get")}:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n${keySpec}*0\r\n${NIL}`);
    const keyArg = `*6\r\n${bulk("name")}${bulk("key")}${bulk("type")}${bulk("key")}${bulk("key_spec_index")}:0\r\n`;
    expect(r("COMMAND", "DOCS", "get")).toBe(`*2\r\n${bulk("get")}*8\r\n${bulk("summary")}${bulk("Returns the string value of a key.")}${bulk("since")}${bulk("1.0.0")}${bulk("group")}${bulk("string")}${bulk("arguments")}*1\r\n${keyArg}`);
  });
});

describe("COMMAND LIST FILTERBY", () => {
  test("ACLCAT and PATTERN pick commands of the table; a module has none", () => {
    const { r } = clients();
    const names = (reply: string) => [...reply.matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]).sort();
    expect(names(r("COMMAND", "LIST", "FILTERBY", "ACLCAT", "transaction"))).toEqual(["discard", "exec", "multi", "unwatch", "watch"]);
    expect(names(r("COMMAND", "LIST", "FILTERBY", "PATTERN", "*expire"))).toEqual(["expire", "pexpire"]);
    expect(names(r("COMMAND", "LIST", "FILTERBY", "PATTERN", "[bad"))).toEqual([]);
    expect(r("COMMAND", "LIST", "FILTERBY", "MODULE", "search")).toBe("*0\r\n");
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
      groupBegin: (countMax, bytes) => events.push(`group ${countMax} ${bytes}`),
      groupEnd: () => events.push("group end"),
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
