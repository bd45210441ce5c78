// The registry of live connections behind CLIENT LIST, INFO and KILL, and what RESET and HELLO
// change about a connection — over the engine, several connections sharing one server.

import { describe, expect, test } from "bun:test";
import { ManualClock, createContext, EngineClient } from "../commands/harness.ts";
import { pipeline, resp } from "./encode.ts";

const startMs = 1_800_000_000_000;

function server() {
  const clock = new ManualClock(startMs);
  const ctx = createContext({}, { clock });
  const connect = () => {
    const c = new EngineClient(ctx);
    const r = (...args: string[]) => c.send(resp(...args));
    return { c, r };
  };
  return { ctx, clock, connect };
}

/** CLIENT LIST's lines as maps of their fields (the bulk or verbatim string's text). */
function parseList(reply: string): Record<string, string>[] {
  const body = reply.replace(/^[$=]\d+\r\n(txt:)?/, "").replace(/\r\n$/, "");
  return body
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => Object.fromEntries(l.split(" ").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])));
}

const idOf = (reply: string) => Number(/^:(\d+)\r\n$/.exec(reply)![1]);

describe("CLIENT LIST and CLIENT INFO", () => {
  test("list every RESP connection with its id, name, flags, age, idle time, last command and protocol", () => {
    const { connect, clock } = server();
    const a = connect();
    const b = connect();
    const text = new EngineClient(a.c.ctx);
    expect(text.send("PING\r\n")).toBe("PONG\r\n"); // an Osprey-protocol client is no Redis client
    const idA = idOf(a.r("CLIENT", "ID"));
    const idB = idOf(b.r("HELLO", "3", "SETNAME", "worker").match(/\$2\r\nid\r\n(:\d+\r\n)/)![1]!);
    a.r("MULTI");
    a.r("SET", "k", "v");
    clock.advance(5000);
    const list = parseList(b.r("CLIENT", "LIST"));
    expect(list.map((l) => Number(l.id))).toEqual([idA, idB]);
    const [la, lb] = list as [Record<string, string>, Record<string, string>];
    expect([la.name, la.flags, la.multi, la.cmd, la.resp, la.age, la.idle]).toEqual(["", "x", "1", "set", "2", "5", "5"]);
    expect([lb.name, lb.flags, lb.multi, lb.cmd, lb.resp, lb.idle]).toEqual(["worker", "N", "-1", "client|list", "3", "0"]);
    expect(b.r("CLIENT", "INFO")).toStartWith("=");
    expect(parseList(b.r("CLIENT", "INFO"))).toEqual([{ ...lb, cmd: "client|info" }]);
    expect(a.r("CLIENT", "LIST", "ID", String(idB), "999")).toBe("+QUEUED\r\n"); // inside MULTI, as in Redis
    a.r("DISCARD");
    expect(parseList(a.r("CLIENT", "LIST", "ID", String(idB), "999")).map((l) => l.name)).toEqual(["worker"]);
  });

  test("CLIENT SETINFO, NO-EVICT and NO-TOUCH show as lib-name, lib-ver and flags e and T", () => {
    const { connect } = server();
    const { r } = connect();
    expect(r("CLIENT", "SETINFO", "LIB-NAME", "my-lib")).toBe("+OK\r\n");
    expect(r("CLIENT", "SETINFO", "lib-ver", "1.2.3")).toBe("+OK\r\n");
    expect(r("CLIENT", "SETINFO", "LIB-NAME", "has space")).toBe("-ERR LIB-NAME cannot contain spaces, newlines or special characters.\r\n");
    expect(r("CLIENT", "SETINFO", "colour", "red")).toBe("-ERR Unrecognized option 'colour'\r\n");
    expect(r("CLIENT", "NO-EVICT", "on")).toBe("+OK\r\n");
    expect(r("CLIENT", "NO-TOUCH", "ON")).toBe("+OK\r\n");
    const [me] = parseList(r("CLIENT", "INFO"));
    expect([me!["lib-name"], me!["lib-ver"], me!.flags]).toEqual(["my-lib", "1.2.3", "eT"]);
  });
});

describe("CLIENT KILL", () => {
  test("by id closes that connection, after what was queued for it; the killer's goes on", () => {
    const { connect } = server();
    const a = connect();
    const b = connect();
    const idB = idOf(b.r("CLIENT", "ID"));
    expect(a.r("CLIENT", "KILL", "ID", String(idB))).toBe(":1\r\n");
    expect([b.c.closed, a.c.closed]).toEqual([true, false]);
    expect(a.r("CLIENT", "KILL", "ID", String(idB))).toBe(":0\r\n"); // gone from the registry
    expect(parseList(a.r("CLIENT", "LIST"))).toHaveLength(1);
  });

  test("SKIPME no kills the caller too, after its reply; the old form by address answers OK", () => {
    const { connect } = server();
    const a = connect();
    const b = connect();
    a.r("PING");
    expect(b.r("CLIENT", "KILL", "ADDR", "?:0", "SKIPME", "no")).toBe(":2\r\n");
    expect([a.c.closed, b.c.closed]).toEqual([true, true]);
    const c = connect();
    expect(c.r("CLIENT", "KILL", "?:0")).toBe("+OK\r\n"); // the old form never skips the caller
    expect(c.c.closed).toBe(true);
  });
});

describe("RESET", () => {
  test("goes back to RESP2, drops the name, leaves MULTI and stops watching", () => {
    const { connect } = server();
    const a = connect();
    const other = connect();
    a.r("HELLO", "3", "SETNAME", "app");
    expect(a.r("GET", "missing")).toBe("_\r\n");
    a.r("WATCH", "w");
    a.r("MULTI");
    expect(a.r("SET", "q", "1")).toBe("+QUEUED\r\n");
    expect(a.r("RESET")).toBe("+RESET\r\n");
    expect(a.r("GET", "missing")).toBe("$-1\r\n");
    expect(a.r("CLIENT", "GETNAME")).toBe("$-1\r\n");
    expect(a.r("EXEC")).toBe("-ERR EXEC without MULTI\r\n");
    expect(a.r("GET", "q")).toBe("$-1\r\n");
    // The watch is gone: a write to w by another client does not abort the next transaction.
    other.r("SET", "w", "changed");
    expect(a.c.send(pipeline(["MULTI"], ["SET", "q", "2"], ["EXEC"]))).toBe("+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n");
  });
});
