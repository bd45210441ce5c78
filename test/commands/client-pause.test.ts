// CLIENT PAUSE / UNPAUSE (WRITE and ALL, timeouts) and CLIENT REPLY ON|OFF|SKIP over the real
// Connection: what a pause holds, that held requests run in order once it ends, and which replies
// CLIENT REPLY drops.

import { describe, expect, test } from "bun:test";
import { createContext, EngineClient } from "./harness.ts";
import { pipeline, resp } from "../resp/encode.ts";

const OK = "+OK\r\n";
const bulk = (s: string) => `$${Buffer.byteLength(s, "latin1")}\r\n${s}\r\n`;
const int = (n: number) => `:${n}\r\n`;

function clients() {
  const ctx = createContext();
  const a = new EngineClient(ctx);
  const b = new EngineClient(ctx);
  return { ctx, a, b, r: (...args: string[]) => a.send(resp(...args)), r2: (...args: string[]) => b.send(resp(...args)) };
}

/** Waits until `check` holds, polling every few ms, for at most `ms`. */
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await Bun.sleep(5);
}

describe("CLIENT PAUSE", () => {
  test("WRITE holds writes, answers reads at once, and the held writes run in order after CLIENT UNPAUSE", async () => {
    const { ctx, r, b } = clients();
    r("SET", "k", "0");
    expect(r("CLIENT", "PAUSE", "60000", "WRITE")).toBe(OK);
    expect(b.send(pipeline(["GET", "k"], ["INCR", "k"], ["GET", "k"], ["INCR", "k"]))).toBe(bulk("0"));
    expect(ctx.pause.waiting).toBe(1);
    expect(r("INFO", "clients")).toContain("blocked_clients:1\r\n");
    expect(r("GET", "k")).toBe(bulk("0"));
    expect(b.transport.paused).toBe(true); // no more input is read while a request is held
    expect(r("CLIENT", "UNPAUSE")).toBe(OK);
    let out = "";
    await until(() => (out += b.transport.take()).length >= int(1).length + bulk("1").length + int(2).length);
    expect(out).toBe(int(1) + bulk("1") + int(2));
    expect(ctx.pause.waiting).toBe(0);
    expect(b.transport.paused).toBe(false);
  });

  test("ALL holds every request, the pausing client's too, until the timeout passes", async () => {
    const { r, b } = clients();
    const started = Date.now();
    expect(r("CLIENT", "PAUSE", "150")).toBe(OK);
    expect(b.send(resp("PING"))).toBe("");
    expect(r("GET", "k")).toBe("");
    let out = "";
    await until(() => (out += b.transport.take()) !== "");
    expect(out).toBe("+PONG\r\n");
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  test("an unknown command or a wrong arity is answered at once during a pause, as Redis checks them first", () => {
    const { ctx, r, b } = clients();
    r("CLIENT", "PAUSE", "60000", "ALL");
    expect(b.send(resp("NOSUCH"))).toBe("-ERR unknown command 'NOSUCH', with args beginning with: \r\n");
    expect(b.send(resp("GET"))).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(b.send(resp("CLIENT", "UNPAUSE"))).toBe(""); // ALL holds it too, as in Redis
    ctx.pause.end();
  });

  test("WRITE holds an EXEC with queued writes, not one of reads", async () => {
    const { r, b } = clients();
    r("SET", "k", "v");
    b.send(pipeline(["MULTI"], ["SET", "k", "w"]));
    r("CLIENT", "PAUSE", "60000", "WRITE");
    expect(b.send(resp("EXEC"))).toBe("");
    r("CLIENT", "UNPAUSE");
    let out = "";
    await until(() => (out += b.transport.take()) !== "");
    expect(out).toBe(`*1\r\n${OK}`);
  });

  test("a read-only transaction runs during a WRITE pause", () => {
    const { r, b } = clients();
    r("SET", "k", "v");
    r("CLIENT", "PAUSE", "60000", "WRITE");
    expect(b.send(pipeline(["MULTI"], ["GET", "k"], ["EXEC"]))).toBe(`${OK}+QUEUED\r\n*1\r\n${bulk("v")}`);
    r("CLIENT", "UNPAUSE");
  });

  test("the mode and timeout are checked as Redis checks them", () => {
    const { r } = clients();
    expect(r("CLIENT", "PAUSE", "10", "READ")).toBe("-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n");
    expect(r("CLIENT", "PAUSE", "x")).toBe("-ERR timeout is not an integer or out of range\r\n");
    expect(r("CLIENT", "PAUSE", "-1", "WRITE")).toBe("-ERR timeout is negative\r\n");
    expect(r("CLIENT", "PAUSE", "10", "WRITE", "x")).toBe("-ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.\r\n");
    expect(r("CLIENT", "PAUSE", "0", "WRITE")).toBe(OK);
    expect(r("SET", "k", "v")).toBe(OK); // a timeout of 0 pauses nothing
  });

  test("a text-protocol client's write is held as well, its payload intact, and runs after UNPAUSE", async () => {
    const { r, ctx } = clients();
    const text = new EngineClient(ctx);
    r("CLIENT", "PAUSE", "60000", "WRITE");
    expect(text.send("GET k\r\nSET k 5\r\nhello\r\nGET k\r\n")).toBe("NOT_FOUND\r\n");
    r("CLIENT", "UNPAUSE");
    let out = "";
    await until(() => (out += text.transport.take()).includes("hello"));
    expect(out).toBe("OK 1\r\nVALUE 5 1 -1\r\nhello\r\n");
  });

  test("input arriving a few bytes at a time behind a held write is kept and runs after it, in order", async () => {
    const { r, b } = clients();
    r("CLIENT", "PAUSE", "60000", "WRITE");
    expect(b.send(pipeline(["PING"], ["SET", "k", "v".repeat(100)], ["APPEND", "k", "w"], ["GET", "k"]), [3, 5, 7])).toBe("+PONG\r\n");
    r("CLIENT", "UNPAUSE");
    let out = "";
    await until(() => (out += b.transport.take()).endsWith("w\r\n"));
    expect(out).toBe(OK + int(101) + bulk(`${"v".repeat(100)}w`));
  });

  test("a held client that disconnects is forgotten", () => {
    const { ctx, r, b } = clients();
    r("CLIENT", "PAUSE", "60000", "WRITE");
    b.send(resp("SET", "k", "v"));
    expect(ctx.pause.waiting).toBe(1);
    b.connection.onClose();
    expect(ctx.pause.waiting).toBe(0);
    r("CLIENT", "UNPAUSE");
  });
});

describe("CLIENT REPLY", () => {
  test("OFF sends no reply, its own neither, until ON answers OK; the commands still run", () => {
    const { r } = clients();
    expect(r("CLIENT", "REPLY", "OFF")).toBe("");
    expect(r("SET", "k", "1")).toBe("");
    expect(r("INCR", "k")).toBe("");
    expect(r("CLIENT", "REPLY", "ON")).toBe(OK);
    expect(r("GET", "k")).toBe(bulk("2"));
  });

  test("SKIP drops the reply of the next request only", () => {
    const { a } = clients();
    expect(a.send(pipeline(["CLIENT", "REPLY", "SKIP"], ["SET", "k", "1"], ["GET", "k"], ["PING"]))).toBe(bulk("1") + "+PONG\r\n");
  });

  test("SKIP under OFF changes nothing, another word is a syntax error, and RESET turns replies back on", () => {
    const { a, r } = clients();
    expect(r("CLIENT", "REPLY", "MAYBE")).toBe("-ERR syntax error\r\n");
    expect(a.send(pipeline(["CLIENT", "REPLY", "OFF"], ["CLIENT", "REPLY", "SKIP"], ["PING"], ["RESET"], ["PING"]))).toBe("+RESET\r\n+PONG\r\n");
  });
});
