// The keyspace commands against the engine where the shared cases cannot reach: WATCH seeing a
// RENAME, COPY, UNLINK or FLUSHDB by another client; RENAME and COPY refused inside MULTI (their
// logged value is not in the request, so an EXEC's log bound cannot cover it); KEYS past the
// output room; SCAN's step bounded by its reply room; RANDOMKEY and FLUSHDB.

import { describe, expect, test } from "bun:test";
import { createContext, EngineClient } from "./harness.ts";
import { pipeline, resp } from "../resp/encode.ts";
import { keys, scan } from "../../src/commands/keyspace.ts";
import { Session } from "../../src/commands/session.ts";
import { RespParser } from "../../src/protocol/resp.ts";
import { respDialect } from "../../src/protocol/resp-args.ts";
import { RespReply } from "../../src/protocol/resp-reply.ts";
import { Parsed } from "../../src/protocol/text.ts";
import { Writer } from "../../src/protocol/writer.ts";

const OK = "+OK\r\n";
const QUEUED = "+QUEUED\r\n";
const NIL_ARRAY = "*-1\r\n";
const EXECABORT = "-EXECABORT Transaction discarded because of previous errors.\r\n";
const int = (n: number) => `:${n}\r\n`;
const bulk = (s: string) => `$${Buffer.byteLength(s, "latin1")}\r\n${s}\r\n`;

function clients() {
  const ctx = createContext({ max_key_bytes: 64 });
  const a = new EngineClient(ctx);
  const b = new EngineClient(ctx);
  return { ctx, a, r: (...args: string[]) => a.send(resp(...args)), r2: (...args: string[]) => b.send(resp(...args)) };
}

describe("WATCH sees the keyspace commands of other clients", () => {
  const changes: [what: string, setup: string[][], change: string[], watched: string][] = [
    ["RENAME away from a watched key", [["SET", "w", "1"]], ["RENAME", "w", "elsewhere"], "w"],
    ["RENAME onto a watched key", [["SET", "src", "1"]], ["RENAME", "src", "w"], "w"],
    ["RENAMENX onto a watched key", [["SET", "src", "1"]], ["RENAMENX", "src", "w"], "w"],
    ["COPY onto a watched key", [["SET", "src", "1"]], ["COPY", "src", "w"], "w"],
    ["UNLINK of a watched key", [["SET", "w", "1"]], ["UNLINK", "w"], "w"],
    ["FLUSHDB with a watched key live", [["SET", "w", "1"]], ["FLUSHDB"], "w"],
    ["EXPIREAT of a watched key", [["SET", "w", "1"]], ["EXPIREAT", "w", "4102444800"], "w"],
  ];
  for (const [what, setup, change, watched] of changes) {
    test(`${what} makes EXEC answer nil`, () => {
      const { r, r2 } = clients();
      for (const s of setup) r2(...s);
      expect(r("WATCH", watched)).toBe(OK);
      r2(...change);
      expect(r("MULTI")).toBe(OK);
      expect(r("SET", "after", "1")).toBe(QUEUED);
      expect(r("EXEC")).toBe(NIL_ARRAY);
      expect(r("EXISTS", "after")).toBe(int(0));
    });
  }

  test("a COPY from a watched key leaves the watch intact", () => {
    const { r, r2 } = clients();
    r2("SET", "w", "1");
    r("WATCH", "w");
    expect(r2("COPY", "w", "other")).toBe(int(1));
    r("MULTI");
    r("SET", "after", "1");
    expect(r("EXEC")).toBe(`*1\r\n${OK}`);
  });
});

describe("inside MULTI", () => {
  test("FLUSHDB is queued and runs in the EXEC, after the commands before it and before those after it", () => {
    const { r } = clients();
    r("SET", "a", "1");
    r("MULTI");
    expect(r("SET", "b", "2")).toBe("+QUEUED\r\n");
    expect(r("FLUSHDB")).toBe("+QUEUED\r\n");
    expect(r("EXISTS", "a", "b")).toBe("+QUEUED\r\n");
    expect(r("SET", "c", "3")).toBe("+QUEUED\r\n");
    expect(r("EXEC")).toBe(`*4\r\n${OK}${OK}${int(0)}${OK}`);
    expect(r("DBSIZE")).toBe(int(1));
  });

  test("RENAME, RENAMENX and COPY queue and run in the EXEC, each reading what the one before it wrote", () => {
    const { r } = clients();
    r("SET", "a", "1");
    r("MULTI");
    expect(r("APPEND", "a", "23")).toBe("+QUEUED\r\n");
    expect(r("RENAME", "a", "b")).toBe("+QUEUED\r\n");
    expect(r("COPY", "b", "c")).toBe("+QUEUED\r\n");
    expect(r("RENAMENX", "c", "b")).toBe("+QUEUED\r\n");
    expect(r("RENAMENX", "c", "d")).toBe("+QUEUED\r\n");
    expect(r("RENAME", "a", "e")).toBe("+QUEUED\r\n");
    expect(r("EXEC")).toBe(`*6\r\n${int(3)}+OK\r\n${int(1)}${int(0)}${int(1)}-ERR no such key\r\n`);
    expect(r("MGET", "a", "b", "c", "d")).toBe(`*4\r\n$-1\r\n${bulk("123")}$-1\r\n${bulk("123")}`);
  });

  test("UNLINK, TOUCH, TYPE, SCAN, KEYS and the EXPIREAT family queue and run in the EXEC", () => {
    const { r } = clients();
    r("SET", "a", "1");
    r("SET", "b", "2");
    r("MULTI");
    for (const cmd of [["UNLINK", "b"], ["TOUCH", "a", "b"], ["TYPE", "a"], ["KEYS", "a"], ["SCAN", "0", "MATCH", "a"], ["PEXPIREAT", "a", "4102444800000"], ["PEXPIRETIME", "a"]]) {
      expect(r(...cmd)).toBe(QUEUED);
    }
    expect(r("EXEC")).toBe(`*7\r\n${int(1)}${int(1)}+string\r\n*1\r\n${bulk("a")}*2\r\n${bulk("0")}*1\r\n${bulk("a")}${int(1)}${int(4102444800000)}`);
  });
});

/** Runs one RESP request's handler directly with the output room given (the connection sets it per request). */
function runWithRoom(ctx: ReturnType<typeof createContext>, handler: (s: Session, c: typeof ctx) => void, room: number, ...args: string[]): string {
  const out = new Writer();
  const reply = new RespReply(out, ctx.stats);
  const s = new Session(new RespParser({ valueBytesMax: 1 << 20 }), reply, respDialect);
  const request = resp(...args);
  expect((s.p as RespParser).parse(request, 0, request.length)).toBe(Parsed.Command);
  s.b = request;
  s.nowMs = Date.now();
  ctx.outputRoom = room;
  ctx.outputOverflow = false;
  handler(s, ctx);
  return out.buf.toString("latin1", 0, out.len);
}

describe("bounded replies", () => {
  test("KEYS whose reply would pass the output room builds nothing and drops the client", () => {
    const { ctx, r } = clients();
    for (let i = 0; i < 200; i++) r("SET", `key:${i}`, "v");
    expect(runWithRoom(ctx, keys, 1000, "KEYS", "*")).toBe("");
    expect(ctx.outputOverflow).toBe(true);
    expect(runWithRoom(ctx, keys, 1 << 20, "KEYS", "*")).toStartWith("*200\r\n");
    expect(ctx.outputOverflow).toBe(false);
  });

  test("SCAN with a huge COUNT answers what fits its room and a cursor to go on from", () => {
    const { ctx, r } = clients();
    for (let i = 0; i < 2000; i++) r("SET", `key:${i}`, "v");
    const out = runWithRoom(ctx, scan, 2000, "SCAN", "0", "COUNT", "1000000");
    const m = /^\*2\r\n\$\d+\r\n(\d+)\r\n\*(\d+)\r\n/.exec(out)!;
    expect(Number(m[1])).not.toBe(0);
    expect(Number(m[2])).toBeGreaterThan(0);
    expect(out.length).toBeLessThan(2000);
    expect(ctx.outputOverflow).toBe(false);
  });

  test("SCAN with no room even for one bucket's keys writes nothing and drops the client", () => {
    const { ctx, r } = clients();
    for (let i = 0; i < 100; i++) r("SET", `key:${i}`, "v");
    expect(runWithRoom(ctx, scan, 40, "SCAN", "0", "COUNT", "100")).toBe("");
    expect(ctx.outputOverflow).toBe(true);
  });
});

describe("RANDOMKEY and FLUSHDB", () => {
  test("RANDOMKEY answers one of the live keys, nil when there are none; FLUSHDB empties the keyspace", () => {
    const { a, r } = clients();
    expect(r("RANDOMKEY")).toBe("$-1\r\n");
    a.send(pipeline(["SET", "x", "1"], ["SET", "y", "2"]));
    for (let i = 0; i < 20; i++) expect([bulk("x"), bulk("y")]).toContain(r("RANDOMKEY"));
    expect(r("FLUSHDB")).toBe(OK);
    expect(r("DBSIZE")).toBe(int(0));
    expect(r("RANDOMKEY")).toBe("$-1\r\n");
  });
});
